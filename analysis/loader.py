"""Turn a recording into the inputs of the measures: per-layer arrays and run metadata."""

from __future__ import annotations

import threading
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from analysis.firing import n_sfr
from recorder.reader import LayerInfo, RecordingFormatError, open_recording


class IncompleteRecordingWarning(UserWarning):
    """The recording was interrupted; numbers cover only its finished samples."""


class AnalysisError(ValueError):
    """A request the data cannot answer; the one-line message names the problem and the fix."""


class LayerData:
    """One layer's online statistics (sums over samples). stats: spike_count [T,C,H,W],
    hist [T,C,B+2], u_count, u_sum, u_sumsq, qe_sum, nonfinite [T,C]; nsfr [T,C,H,W].

    Read from the file when first used, so a page that shows one layer of a paper-scale
    recording (SEW-ResNet-18: 20 layers) reads that layer only. The file must still be the
    one that was loaded (same size and modification time), else AnalysisError."""

    def __init__(self, info: LayerInfo, path: Path, n_done: int, stamp: tuple[int, int]):
        self.info, self._path, self._n_done, self._stamp = info, path, n_done, stamp
        self._stats: dict[str, np.ndarray] | None = None
        self._nsfr: np.ndarray | None = None
        self._lock = threading.Lock()

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        del state["_lock"]
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()

    @property
    def stats(self) -> dict[str, np.ndarray]:
        with self._lock:
            if self._stats is None:
                if _stamp(self._path) != self._stamp:
                    raise AnalysisError(f"{self._path.name} changed on disk since it was loaded; load it again")
                try:
                    with open_recording(self._path) as rec:
                        self._stats = rec.stats(self.info.index)
                except RecordingFormatError as exc:
                    raise AnalysisError(str(exc)) from None
            return self._stats

    @property
    def nsfr(self) -> np.ndarray:
        stats = self.stats
        with self._lock:
            if self._nsfr is None:
                self._nsfr = n_sfr(stats["spike_count"], self._n_done)
            return self._nsfr

    @property
    def loaded(self) -> bool:
        """Whether the statistics have been read from the file yet."""
        return self._stats is not None


@dataclass
class Run:
    """A loaded recording. warnings: human-readable notes (e.g. an incomplete run)."""

    path: Path
    name: str
    complete: bool
    n_samples: int
    T: int
    accuracy: float
    labels: np.ndarray
    sample_indices: np.ndarray
    layers: list[LayerData]
    input_event_sum: np.ndarray
    model: dict
    data: dict
    settings: dict
    raw_count: int
    warnings: list[str] = field(default_factory=list)

    @property
    def model_description(self) -> str:
        """One line on the recorded model: architecture, attention, where the checkpoint came
        from and, with ASA, how its masks were taken (results of batch mode depend on the
        batch size, so it is named)."""
        model = self.model
        parts = [str(model.get("arch", "?")), f"attention {model.get('arch_args', {}).get('attention', '-')}"]
        authors = model.get("authors")
        if isinstance(authors, dict):
            parts.append(f"authors' arch {authors.get('arch')} ({authors.get('arch_file')})")
        mode = model.get("asa_mask_mode")
        if mode == "batch":
            parts.append(f"ASA masks per batch of {model.get('batch_size', '?')} (the authors' code)")
        elif mode == "sample":
            parts.append("ASA masks per sample (the paper)")
        return " · ".join(parts)

    def layer(self, key: int | str) -> LayerData:
        """By index or module path; a clear error names the layers that exist."""
        for layer in self.layers:
            if key == layer.info.index or key == layer.info.name or (isinstance(key, str) and key.isdigit()
                                                                      and int(key) == layer.info.index):
                return layer
        raise AnalysisError(f"layer {key!r} does not exist in {self.name}; layers: "
                            + ", ".join(f"{l.info.index}={l.info.name}" for l in self.layers))

    def channel(self, layer: int | str, channel: int) -> int:
        data = self.layer(layer)
        if not 0 <= channel < data.info.shape[0]:
            raise AnalysisError(f"channel {channel} does not exist in layer {data.info.name} "
                                f"(channels 0..{data.info.shape[0] - 1})")
        return channel

    def raw(self, layer: int | str, kind: str) -> np.ndarray:
        """Raw tensors of the raw samples (see recorder.reader.Recording.raw)."""
        info = self.layer(layer).info
        with open_recording(self.path) as rec:
            try:
                return rec.raw(info.index, kind)
            except KeyError as exc:
                raise AnalysisError(str(exc).strip("'\"")) from None


def _stamp(path: Path) -> tuple[int, int]:
    st = path.stat()
    return st.st_size, st.st_mtime_ns


def load_run(path: str | Path, strict: bool = False, name: str | None = None) -> Run:
    """Load a recording's statistics. An incomplete recording loads with a warning (also
    issued as IncompleteRecordingWarning), or raises AnalysisError when strict."""
    path = Path(path)
    try:
        with open_recording(path) as rec:
            return _load(rec, path, strict, name)
    except RecordingFormatError as exc:
        raise AnalysisError(str(exc)) from None


def _load(rec, path: Path, strict: bool, name: str | None) -> Run:
    notes = []
    if not rec.complete:
        note = (f"{path.name} is an incomplete recording ({rec.n_done} of {rec.n_total} samples); "
                "numbers cover the finished samples only")
        if strict:
            raise AnalysisError(note + "; finish it with `python -m recorder record ... --resume`")
        warnings.warn(note, IncompleteRecordingWarning, stacklevel=3)
        notes.append(note)
    if rec.n_done == 0:
        raise AnalysisError(f"{path.name} holds no recorded samples yet")
    stamp = _stamp(path)
    layers = [LayerData(info, path, rec.n_done, stamp) for info in rec.layers]
    return Run(path=path, name=name or path.stem, complete=rec.complete, n_samples=rec.n_done, T=rec.T,
               accuracy=rec.accuracy, labels=rec.labels(), sample_indices=rec.sample_indices(), layers=layers,
               input_event_sum=rec.input_event_sum(), model=rec.model, data=rec.data, settings=rec.settings,
               raw_count=rec.raw_count(), warnings=notes)


def check_same_data(a: Run, b: Run) -> None:
    """Raise AnalysisError unless the two runs recorded the same samples of the same data."""
    for key, what in (("T", "T"), ("source", "data source"), ("split", "split"), ("size", "frame size"),
                      ("dt_ms", "frame length dt"), ("classes", "classes")):
        if a.data.get(key) != b.data.get(key):
            raise AnalysisError(f"cannot compare {a.name} and {b.name}: different {what} "
                                f"({a.data.get(key)} vs {b.data.get(key)}); record both on the same data")
    if a.n_samples != b.n_samples or not np.array_equal(a.sample_indices, b.sample_indices) \
            or not np.array_equal(a.labels, b.labels):
        raise AnalysisError(f"cannot compare {a.name} and {b.name}: they recorded different samples "
                            f"({a.n_samples} vs {b.n_samples}); record both with the same sample selection")
