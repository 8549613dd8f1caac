"""Read a recording: validation of format and version, metadata, statistics, raw tensors."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np

from recorder import schema as S
from recorder.stats import from_fixed


class RecordingFormatError(ValueError):
    """A file that is not a readable recording of a supported version."""


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

    @property
    def neurons(self) -> int:
        return int(np.prod(self.shape))


class Recording:
    """An open recording (use as a context manager, or call close())."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        if not self.path.is_file():
            raise RecordingFormatError(f"{self.path}: file does not exist")
        try:
            self.file = h5py.File(self.path, "r")
        except OSError as exc:
            raise RecordingFormatError(f"{self.path}: not a readable HDF5 file ({str(exc).split('(')[0].strip()}); "
                                       "it is corrupt, truncated or of another kind") from None
        try:
            self._validate()
        except BaseException:
            self.file.close()
            raise

    def _validate(self) -> None:
        attrs = self.file.attrs
        if attrs.get(S.A_FORMAT) != S.FORMAT:
            raise RecordingFormatError(f"{self.path}: not a recording of this tool (HDF5 without format '{S.FORMAT}')")
        version = int(attrs.get(S.A_VERSION, -1))
        if version not in S.SUPPORTED_VERSIONS:
            raise RecordingFormatError(
                f"{self.path}: recording format version {version} is not supported (this tool reads "
                f"{', '.join(map(str, S.SUPPORTED_VERSIONS))}); use a matching version of the tool")

    def __enter__(self) -> "Recording":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self.file.close()

    # -- metadata ----------------------------------------------------------------------
    def _json_attr(self, key: str) -> dict:
        return json.loads(self.file.attrs[key])

    @property
    def complete(self) -> bool:
        return bool(self.file.attrs[S.A_COMPLETE])

    @property
    def n_done(self) -> int:
        return int(self.file.attrs[S.A_DONE])

    @property
    def n_total(self) -> int:
        return int(self.file.attrs[S.A_TOTAL])

    @property
    def model(self) -> dict:
        return self._json_attr(S.A_MODEL)

    @property
    def data(self) -> dict:
        return self._json_attr(S.A_DATA)

    @property
    def settings(self) -> dict:
        return self._json_attr(S.A_SETTINGS)

    @property
    def T(self) -> int:
        return int(self.settings["T"])

    @property
    def layers(self) -> list[LayerInfo]:
        if S.LAYERS not in self.file:
            return []
        out = []
        for key in sorted(self.file[S.LAYERS]):
            a = self.file[S.LAYERS][key].attrs
            v_reset = float(a[S.L_VRESET])
            out.append(LayerInfo(int(a[S.L_INDEX]), str(a[S.L_NAME]), str(a[S.L_CLASS]), float(a[S.L_VTH]),
                                 None if math.isnan(v_reset) else v_reset, float(a[S.L_TAU]), float(a[S.L_BETA]),
                                 bool(a[S.L_DECAY]), tuple(int(v) for v in a[S.L_SHAPE]), np.asarray(a["hist_edges"])))
        return out

    def layer(self, key: int | str) -> LayerInfo:
        """A layer by index or module path; a clear error names the valid ones."""
        for info in self.layers:
            if key == info.index or key == info.name:
                return info
        raise KeyError(f"no layer {key!r} in {self.path.name}; layers: {', '.join(l.name for l in self.layers)}")

    # -- per sample --------------------------------------------------------------------
    def _samples(self, name: str) -> np.ndarray:
        if S.SAMPLES not in self.file:
            return np.zeros((0,), np.int64)
        return self.file[S.SAMPLES][name][: self.n_done]

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
    def accuracy(self) -> float:
        labels = self.labels()
        return float(np.mean(self.predictions() == labels)) if len(labels) else math.nan

    # -- statistics --------------------------------------------------------------------
    def stats(self, layer: int | str) -> dict[str, np.ndarray]:
        """Online statistics of a layer over the completed samples: spike_count [T,C,H,W],
        hist [T,C,B], u_count/nonfinite [T,C] (int), u_sum/u_sumsq/qe_sum [T,C] (float64)."""
        info = self.layer(layer)
        group = self.file[S.stats_group(info.index, int(self.file.attrs[S.A_SLOT]))]
        scale = float(self.settings.get("fixed_point_scale", S.FIXED_POINT_SCALE))
        return {name: (from_fixed(group[name][...], scale) if name in S.FIXED_POINT_STATS else group[name][...])
                for name in group}

    def input_event_sum(self) -> np.ndarray:
        """[T, P, H, W] sum over samples of the input frames."""
        return self.file[S.INPUT][S.I_EVENT_SUM][...]

    def input_active_count(self) -> np.ndarray:
        return self.file[S.INPUT][S.I_ACTIVE][...]

    def nasfr(self) -> float:
        """Neuron-weighted mean spike firing rate over all layers, timesteps and samples."""
        spikes = sum(int(self.stats(l.index)["spike_count"].sum()) for l in self.layers)
        slots = sum(l.neurons for l in self.layers) * self.T * self.n_done
        return spikes / slots if slots else math.nan

    # -- raw tensors -------------------------------------------------------------------
    def raw_count(self) -> int:
        """How many raw samples the completed part of the recording holds."""
        planned = set(int(i) for i in self.settings["raw"]["indices"])
        return sum(1 for i in self.sample_indices() if int(i) in planned)

    def raw_samples(self) -> np.ndarray:
        """Rows into the per-sample arrays of the samples that have raw tensors."""
        if S.RAW_INPUT not in self.file:
            return np.zeros((0,), np.int64)
        return self.file[S.RAW_INPUT][S.R_SAMPLE][: self.raw_count()]

    def raw(self, layer: int | str, kind: str) -> np.ndarray:
        """Raw tensors of the raw samples: kind 'u', 'h', 'x' -> float [K, T, C, H, W];
        's' -> bool [K, T, C, H, W] (unpacked when stored bit-packed)."""
        info = self.layer(layer)
        group = self.file[S.layer_group(info.index)]
        if S.RAW not in group or kind not in group[S.RAW]:
            raise KeyError(f"{self.path.name}: layer {info.name} has no raw '{kind}' (record with the matching option)")
        k = self.raw_count()
        data = group[S.RAW][kind][:k]
        if kind == "s" and data.dtype == np.uint8:
            n = info.neurons
            data = np.unpackbits(data, axis=2)[:, :, :n].astype(bool).reshape(k, self.T, *info.shape)
        return data

    def raw_input(self) -> np.ndarray:
        """[K, T, P, H, W] input frames of the raw samples."""
        if S.RAW_INPUT not in self.file:
            return np.zeros((0,), np.float32)
        return self.file[S.RAW_INPUT][S.RI_FRAMES][: self.raw_count()]


def open_recording(path: str | Path) -> Recording:
    return Recording(path)
