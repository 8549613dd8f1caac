"""Turn a recording into the inputs of the measures: per-layer arrays and run metadata."""

from __future__ import annotations

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


@dataclass
class LayerData:
    """One layer's online statistics (sums over samples). stats: spike_count [T,C,H,W],
    hist [T,C,B+2], u_count, u_sum, u_sumsq, qe_sum, nonfinite [T,C]; nsfr [T,C,H,W]."""

    info: LayerInfo
    stats: dict[str, np.ndarray]
    nsfr: np.ndarray


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
    layers = []
    for info in rec.layers:
        stats = rec.stats(info.index)
        layers.append(LayerData(info, stats, n_sfr(stats["spike_count"], rec.n_done)))
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
