"""Read a recording: validation against the schema (recorder.validate), metadata, statistics,
raw tensors. Complete files and the partial files of interrupted runs read alike; numbers
cover the samples recorded up to the file's last checkpoint."""

from __future__ import annotations

import functools
import json
import math
import os
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np

from recorder import schema as S
from recorder.validate import RecordingFormatError, _input_location, _stats_location, check, probe

__all__ = ["LayerInfo", "Recording", "RecordingFormatError", "open_recording"]


def from_fixed(values: np.ndarray, scale: float) -> np.ndarray:
    """Real values (float64) of the int64 fixed-point sums the recorder stores (schema:
    FIXED_POINT_SCALE; a version-1 file names its own scale)."""
    return np.asarray(values, dtype=np.float64) / scale


def _reads(method):
    """Data that cannot be read (a damaged chunk, a truncated file) becomes one clear
    RecordingFormatError instead of h5py's or numpy's exception."""
    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except RecordingFormatError:
            raise
        except (OSError, RuntimeError, ValueError, TypeError, IndexError) as exc:
            first = str(exc).strip().splitlines()[0][:160] if str(exc).strip() else type(exc).__name__
            raise RecordingFormatError(f"{self.path}: damaged recording, reading {method.__name__.strip('_')} failed "
                                       f"({first}); record it again") from None
    return wrapper


@dataclass(frozen=True)
class LayerInfo:
    """A recorded spiking layer. shape: (C, H, W); v_reset None = soft reset."""

    index: int
    name: str
    class_name: str
    v_threshold: float
    v_reset: float | None
    tau: float
    beta: float
    decay_input: bool
    shape: tuple[int, int, int]
    hist_edges: np.ndarray
    adapter: str = ""
    neuron: dict | None = None

    @property
    def neurons(self) -> int:
        return int(np.prod(self.shape))


PROBE_TIMEOUT_S = float(os.environ.get("SNNR_PROBE_TIMEOUT_S", "60"))
_probed: dict[tuple, str | None] = {}


def probe_isolated(path: Path) -> str | None:
    """recorder.validate.probe in the 'hdf5' worker, once per file version (path, size,
    modification time): the problem when the file hangs or crashes the HDF5 library, or
    what probe found; None when all is well."""
    from events.isolated import CRASHED, worker

    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    if key not in _probed:
        outcome, problem = worker("hdf5").run(probe, str(path), timeout=PROBE_TIMEOUT_S)
        _probed[key] = problem if outcome == "ok" else (
            "reading its structure crashed the HDF5 library" if outcome == CRASHED else
            f"reading its structure did not end within {PROBE_TIMEOUT_S:g} s (a damaged attribute or index)")
    return _probed[key]


class Recording:
    """An open recording (use as a context manager, or call close()). Every file is first
    probed in a worker process (see probe), so that no damage can hang or crash this one."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        if not self.path.is_file():
            partial = S.partial_path(self.path)
            hint = (f"; an interrupted recording of it is at {partial.name} (open that, or finish it with "
                    "`python -m recorder record ... --resume`)" if partial.is_file() else "")
            raise RecordingFormatError(f"{self.path}: file does not exist{hint}")
        problem = probe_isolated(self.path)
        if problem and problem.startswith("reading its structure"):  # other problems: found again below, in detail
            raise RecordingFormatError(f"{self.path}: damaged recording, {problem}; it cannot be read safely: "
                                       "record it again")
        try:
            self.file = h5py.File(self.path, "r")
        except OSError as exc:
            raise RecordingFormatError(f"{self.path}: not a readable HDF5 file ({str(exc).split('(')[0].strip()}); "
                                       "it is corrupt, truncated or of another kind") from None
        try:
            self._validate()
        except BaseException as exc:
            self.file.close()
            if isinstance(exc, (OSError, RuntimeError, ValueError, TypeError, KeyError)) \
                    and not isinstance(exc, RecordingFormatError):
                first = str(exc).strip().splitlines()[0][:160] if str(exc).strip() else type(exc).__name__
                raise RecordingFormatError(f"{self.path}: damaged recording ({first}); it cannot be read safely: "
                                           "record it again") from None
            raise

    def _validate(self) -> None:
        attrs = self.file.attrs
        if attrs.get(S.A_FORMAT) != S.FORMAT:
            raise RecordingFormatError(f"{self.path}: not a recording of this tool (HDF5 without format '{S.FORMAT}')")
        version = attrs.get(S.A_VERSION, -1)
        if version not in S.SUPPORTED_VERSIONS:
            raise RecordingFormatError(
                f"{self.path}: recording format version {version} is not supported (this tool reads "
                f"{', '.join(map(str, S.SUPPORTED_VERSIONS))}); use a matching version of the tool")
        try:
            self._facts = check(self.file)
        except (ValueError, KeyError, TypeError, OSError, RuntimeError) as exc:
            raise RecordingFormatError(f"{self.path}: damaged recording, {str(exc).strip(chr(39))}; it cannot be "
                                       "read safely: record it again") from None
        self._done_rows = np.concatenate([np.arange(a, a + d, dtype=np.int64) for (a, _), d in
                                          zip(self._facts["shares"], self._facts["shares_done"])] or
                                         [np.zeros(0, np.int64)])

    def __enter__(self) -> "Recording":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self.file.close()

    # -- metadata ----------------------------------------------------------------------
    @property
    def version(self) -> int:
        return self._facts["version"]

    @property
    def complete(self) -> bool:
        return self._facts["complete"]

    @property
    def n_done(self) -> int:
        return self._facts["done"]

    @property
    def n_total(self) -> int:
        return self._facts["total"]

    @property
    def model(self) -> dict:
        return self._facts["model"]

    @property
    def data(self) -> dict:
        return self._facts["data"]

    @property
    def settings(self) -> dict:
        return self._facts["settings"]

    @property
    def T(self) -> int:
        return self._facts["T"]

    @property
    @_reads
    def layers(self) -> list[LayerInfo]:
        if S.LAYERS not in self.file:
            return []
        out = []
        for key in sorted(self.file[S.LAYERS]):
            a = self.file[S.LAYERS][key].attrs
            v_reset = float(a[S.L_VRESET])
            out.append(LayerInfo(int(a[S.L_INDEX]), str(a[S.L_NAME]), str(a[S.L_CLASS]), float(a[S.L_VTH]),
                                 None if math.isnan(v_reset) else v_reset, float(a[S.L_TAU]), float(a[S.L_BETA]),
                                 bool(a[S.L_DECAY]), tuple(int(v) for v in a[S.L_SHAPE]), np.asarray(a[S.L_EDGES]),
                                 str(a.get(S.L_ADAPTER, "")),
                                 json.loads(str(a[S.L_NEURON])) if S.L_NEURON in a else None))
        return out

    def layer(self, key: int | str) -> LayerInfo:
        """A layer by index or module path; a clear error names the valid ones."""
        for info in self.layers:
            if key == info.index or key == info.name:
                return info
        raise KeyError(f"no layer {key!r} in {self.path.name}; layers: {', '.join(l.name for l in self.layers)}")

    # -- per sample --------------------------------------------------------------------
    def done_rows(self) -> np.ndarray:
        """Rows of the per-sample arrays that hold recorded samples, in order."""
        return self._done_rows

    @_reads
    def _samples(self, name: str) -> np.ndarray:
        if S.SAMPLES not in self.file:
            return np.zeros((0,), np.int64)
        rows = self._done_rows
        ds = self.file[S.SAMPLES][name]
        if len(rows) and rows[-1] == len(rows) - 1:
            return ds[: len(rows)]
        return ds[...][rows]

    def sample_indices(self) -> np.ndarray:
        return self._samples(S.S_INDEX)

    def labels(self) -> np.ndarray:
        return self._samples(S.S_LABEL)

    def predictions(self) -> np.ndarray:
        return self._samples(S.S_PREDICTION)

    def sample_spike_counts(self) -> np.ndarray:
        """[N, L, T] spikes per sample, layer and timestep."""
        return self._samples(S.S_SPIKES)

    @property
    def labelled(self) -> int:
        """How many recorded samples have a label (-1 marks unlabelled data)."""
        return int((self.labels() >= 0).sum())

    @property
    def accuracy(self) -> float:
        """Share of labelled samples predicted right; NaN when no sample has a label."""
        labels = self.labels()
        known = labels >= 0
        return float(np.mean(self.predictions()[known] == labels[known])) if known.any() else math.nan

    # -- statistics --------------------------------------------------------------------
    @_reads
    def stats(self, layer: int | str) -> dict[str, np.ndarray]:
        """Online statistics of a layer over the recorded samples: spike_count [T,C,H,W],
        hist [T,C,B], u_count/nonfinite [T,C] (int), u_sum/u_sumsq/qe_sum [T,C] (float64)."""
        info = self.layer(layer)
        location = _stats_location(self._facts)
        scale = float(self.settings.get("fixed_point_scale", S.FIXED_POINT_SCALE))
        if location is None:  # nothing saved yet
            C = info.shape[0]
            zeros = {S.ST_SPIKES: (self.T, *info.shape), S.ST_HIST: (self.T, C, self._facts["bins"] + 2)}
            return {name: np.zeros(zeros.get(name, (self.T, C)), np.float64 if name in S.FIXED_POINT_STATS else np.int64)
                    for name in S.LAYER_STATS}
        group = self.file[location(info.index)]
        return {name: (from_fixed(group[name][...], scale) if name in S.FIXED_POINT_STATS else group[name][...])
                for name in S.LAYER_STATS}

    @_reads
    def stat_sums(self, layer: int | str) -> dict[str, np.ndarray]:
        """The stored sums of a layer as they are (int64, fixed point for real sums), for
        exact addition of shards."""
        info = self.layer(layer)
        location = _stats_location(self._facts)
        if location is None:
            raise KeyError(f"{self.path.name} holds no saved statistics yet")
        group = self.file[location(info.index)]
        return {name: group[name][...] for name in S.LAYER_STATS}

    @_reads
    def _input(self, name: str) -> np.ndarray:
        if _stats_location(self._facts) is None:
            raise KeyError(f"{self.path.name} holds no saved input statistics yet")
        return self.file[f"{_input_location(self._facts)}/{name}"][...]

    def input_event_sum(self) -> np.ndarray:
        """[T, P, H, W] sum over samples of the input frames."""
        return self._input(S.I_EVENT_SUM)

    def input_active_count(self) -> np.ndarray:
        return self._input(S.I_ACTIVE)

    @_reads
    def nasfr(self) -> float:
        """Neuron-weighted mean spike firing rate over all layers, timesteps and samples."""
        spikes = sum(int(self.stats(l.index)["spike_count"].sum()) for l in self.layers)
        slots = sum(l.neurons for l in self.layers) * self.T * self.n_done
        return spikes / slots if slots else math.nan

    # -- raw tensors -------------------------------------------------------------------
    @_reads
    def _raw_rows(self) -> np.ndarray:
        """Rows of the raw datasets whose samples are recorded."""
        if S.RAW_INPUT not in self.file:
            return np.zeros((0,), np.int64)
        sample_rows = self.file[S.RAW_INPUT][S.R_SAMPLE][...]
        if self.version == 1:
            return np.arange(self.raw_count(), dtype=np.int64)
        return np.flatnonzero(np.isin(sample_rows, self._done_rows))

    @_reads
    def raw_count(self) -> int:
        """How many raw samples the recorded part of the recording holds."""
        planned = set(int(i) for i in self.settings["raw"]["indices"])
        return sum(1 for i in self.sample_indices() if int(i) in planned)

    @_reads
    def raw_samples(self) -> np.ndarray:
        """Positions, among the recorded samples, of the samples that have raw tensors."""
        if S.RAW_INPUT not in self.file:
            return np.zeros((0,), np.int64)
        rows = self.file[S.RAW_INPUT][S.R_SAMPLE][...][self._raw_rows()]
        return np.searchsorted(self._done_rows, rows)

    def _read_raw_rows(self, ds: h5py.Dataset, select: slice) -> np.ndarray:
        rows = self._raw_rows()[select]
        if len(rows) and rows[-1] - rows[0] == len(rows) - 1:
            return ds[int(rows[0]): int(rows[-1]) + 1]
        return np.stack([ds[int(r)] for r in rows]) if len(rows) else ds[:0]

    @_reads
    def raw(self, layer: int | str, kind: str, select: slice = slice(None)) -> np.ndarray:
        """Raw tensors of the raw samples (or the `select` slice of them): kind 'u', 'h', 'x'
        -> float [K, T, C, H, W]; 's' -> bool [K, T, C, H, W] (unpacked when bit-packed)."""
        info = self.layer(layer)
        group = self.file[S.layer_group(info.index)]
        if S.RAW not in group or kind not in group[S.RAW]:
            raise KeyError(f"{self.path.name}: layer {info.name} has no raw '{kind}' (record with the matching option)")
        data = self._read_raw_rows(group[S.RAW][kind], select)
        if kind == "s" and data.dtype == np.uint8:
            data = np.unpackbits(data, axis=2)[:, :, :info.neurons].astype(bool).reshape(len(data), self.T, *info.shape)
        return data

    @_reads
    def raw_input(self, select: slice = slice(None)) -> np.ndarray:
        """[K, T, P, H, W] input frames of the raw samples (or the `select` slice of them)."""
        if S.RAW_INPUT not in self.file:
            return np.zeros((0,), np.float32)
        return self._read_raw_rows(self.file[S.RAW_INPUT][S.RI_FRAMES], select)


def open_recording(path: str | Path) -> Recording:
    return Recording(path)
