"""Writes a recording (format in recorder.schema): creation, per-batch checkpoints that
survive interruption, resume, and completion."""

from __future__ import annotations

import datetime as dt
import json
import math
import os
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np

from models import TOOL_VERSION
from recorder import schema as S
from recorder.adapters import RecorderError
from recorder.stats import HistogramSpec, LayerStats

MAX_SPIKE_MISMATCH = 1e-6  # share of replayed spikes allowed to differ (float ties exactly at V_th)
COMPRESSION = {"compression": "gzip", "compression_opts": 1, "shuffle": True}


@dataclass(frozen=True)
class LayerMeta:
    """One recorded layer: module path, class, neuron parameters, neuron shape (C, H, W)."""

    index: int
    name: str
    class_name: str
    params: dict
    shape: tuple[int, int, int]


@dataclass(frozen=True)
class RawPlan:
    """Which samples (dataset indices) keep raw tensors, and how they are stored."""

    indices: tuple[int, ...] = ()
    u_dtype: str = "float32"
    spikes: str = "bool"  # or "packed"
    keep_h: bool = False
    keep_x: bool = False

    def __post_init__(self):
        if self.u_dtype not in ("float16", "float32"):
            raise ValueError(f"raw U dtype must be float16 or float32, got {self.u_dtype}")
        if self.spikes not in ("bool", "packed"):
            raise ValueError(f"spike storage must be 'bool' or 'packed', got {self.spikes}")


def _json(value) -> str:
    return json.dumps(value, sort_keys=True)


def _dims(dataset: h5py.Dataset, dims) -> None:
    dataset.attrs[S.A_DIMS] = list(dims)


def open_for_writing(path: Path, mode: str) -> h5py.File:
    try:
        return h5py.File(path, mode)
    except (OSError, PermissionError) as exc:
        reason = str(exc).split("(")[0].strip() or type(exc).__name__
        raise RecorderError(f"{path}: cannot write the recording ({reason}); choose a writable path") from None


class RecordingWriter:
    """Owns the open HDF5 file during a recording.

    Layout is created at `start(layers, input_shape)` (after the first batch shows the
    layer shapes); `commit(...)` writes one batch and flips the complete statistics slot.
    """

    def __init__(self, path: Path, *, n_total: int, sample_indices: list[int], spec: HistogramSpec,
                 raw: RawPlan, model_info: dict, data_info: dict, T: int, shard: str | None = None):
        self.path, self.n_total, self.spec, self.raw, self.T = Path(path), n_total, spec, raw, T
        self.sample_indices = list(sample_indices)
        planned = set(raw.indices)
        self.raw_rows = {idx: row for row, idx in enumerate(i for i in self.sample_indices if i in planned)}
        self.file: h5py.File | None = None
        self.layers: list[LayerMeta] = []
        self.stats: list[LayerStats] = []
        self.event_sum: np.ndarray | None = None
        self.active: np.ndarray | None = None
        self.n_done, self.slot = 0, 0
        self.model_info, self.data_info, self.shard = model_info, data_info, shard
        self.settings = {"histogram": {"lo": spec.lo, "hi": spec.hi, "bins": spec.bins, "bin_width_vth": spec.width},
                         "fixed_point_scale": S.FIXED_POINT_SCALE,
                         "raw": {"indices": list(raw.indices), "u_dtype": raw.u_dtype, "spikes": raw.spikes,
                                 "h": raw.keep_h, "x": raw.keep_x}, "T": T}

    # -- creation -------------------------------------------------------------------
    def create(self, overwrite: bool) -> None:
        if self.path.exists() and not overwrite:
            raise RecorderError(f"{self.path}: the file exists; pass --overwrite to replace it or --resume to continue it")
        if not self.path.parent.is_dir():
            raise RecorderError(f"{self.path}: folder {self.path.parent} does not exist; create it first")
        f = open_for_writing(self.path, "w")
        f.attrs.update({
            S.A_FORMAT: S.FORMAT, S.A_VERSION: S.FORMAT_VERSION, S.A_COMPLETE: False, S.A_DONE: 0,
            S.A_TOTAL: self.n_total, S.A_SLOT: 0, S.A_TOOL: TOOL_VERSION,
            S.A_CREATED: dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            S.A_MODEL: _json(self.model_info), S.A_DATA: _json(self.data_info), S.A_SETTINGS: _json(self.settings),
        })
        if self.shard:
            f.attrs["shard"] = self.shard
        f.flush()
        self.file = f

    def start(self, layers: list[LayerMeta], input_shape: tuple[int, ...]) -> None:
        """Create every dataset (fixed sizes: nothing is resized later)."""
        f, n, T = self.file, self.n_total, self.T
        self.layers = layers
        self.stats = [LayerStats(T, l.shape, l.params["v_threshold"], self.spec) for l in layers]
        g = f.create_group(S.SAMPLES)
        for name, shape, dtype in ((S.S_INDEX, (n,), "i8"), (S.S_LABEL, (n,), "i8"), (S.S_PREDICTION, (n,), "i8"),
                                   (S.S_SPIKES, (n, len(layers), T), "i4")):
            _dims(g.create_dataset(name, shape, dtype=dtype, fillvalue=-1 if name != S.S_SPIKES else 0), S.SAMPLE_DIMS[name])
        g[S.S_INDEX][:] = np.asarray(self.sample_indices, dtype=np.int64)
        gi = f.create_group(S.INPUT)
        self.event_sum = np.zeros(input_shape, np.float64)
        self.active = np.zeros(input_shape, np.int64)
        input_dims = S.input_dims(len(input_shape))
        _dims(gi.create_dataset(S.I_EVENT_SUM, input_shape, dtype="f8"), input_dims)
        _dims(gi.create_dataset(S.I_ACTIVE, input_shape, dtype="i8"), input_dims)
        k = len(self.raw_rows)
        for meta, stats in zip(layers, self.stats):
            lg = f.create_group(S.layer_group(meta.index))
            v_reset = meta.params["v_reset"]
            lg.attrs.update({S.L_NAME: meta.name, S.L_INDEX: meta.index, S.L_CLASS: meta.class_name,
                             S.L_VTH: meta.params["v_threshold"], S.L_VRESET: math.nan if v_reset is None else v_reset,
                             S.L_TAU: meta.params["tau"], S.L_BETA: meta.params["beta"],
                             S.L_DECAY: meta.params["decay_input"], S.L_SHAPE: list(meta.shape),
                             "hist_edges": self.spec.edges(meta.params["v_threshold"])})
            for slot in (0, 1):
                sg = f.create_group(S.stats_group(meta.index, slot))
                for name, arr in stats.arrays.items():
                    _dims(sg.create_dataset(name, arr.shape, dtype="i8"), S.STAT_DIMS[name])
            if k:
                rg = lg.create_group(S.RAW)
                _dims(rg.create_dataset(S.R_SAMPLE, (k,), dtype="i8"), ("raw_sample",))
                full = (k, T, *meta.shape)
                chunk = (1, T, *meta.shape)
                _dims(rg.create_dataset(S.R_U, full, dtype=self.raw.u_dtype, chunks=chunk, **COMPRESSION), S.RAW_DIMS)
                if self.raw.spikes == "bool":
                    _dims(rg.create_dataset(S.R_S, full, dtype="bool", chunks=chunk, **COMPRESSION), S.RAW_DIMS)
                else:
                    nbytes = math.ceil(int(np.prod(meta.shape)) / 8)
                    _dims(rg.create_dataset(S.R_S, (k, T, nbytes), dtype="u1", chunks=(1, T, nbytes), **COMPRESSION),
                          S.PACKED_DIMS)
                if self.raw.keep_h:
                    _dims(rg.create_dataset(S.R_H, full, dtype=self.raw.u_dtype, chunks=chunk, **COMPRESSION), S.RAW_DIMS)
                if self.raw.keep_x:
                    _dims(rg.create_dataset(S.R_X, full, dtype=self.raw.u_dtype, chunks=chunk, **COMPRESSION), S.RAW_DIMS)
        if k:
            rig = f.create_group(S.RAW_INPUT)
            _dims(rig.create_dataset(S.R_SAMPLE, (k,), dtype="i8"), ("raw_sample",))
            _dims(rig.create_dataset(S.RI_FRAMES, (k, *input_shape), dtype="f4", chunks=(1, *input_shape), **COMPRESSION),
                  ("raw_sample", *input_dims))
        f.flush()

    # -- per batch ------------------------------------------------------------------
    def commit(self, traces: list[dict], frames: np.ndarray, labels: np.ndarray, predictions: np.ndarray,
               indices: list[int]) -> None:
        """Write one batch. traces[i] holds layer i's tensors u, s (h, x) [T, N, C, H, W];
        frames: input [T, N, P, H, W] (numpy); labels, predictions [N]; indices: dataset indices."""
        f, n = self.file, len(indices)
        start = self.n_done
        expected = self.sample_indices[start:start + n]
        if list(indices) != expected:
            raise RecorderError(f"batch holds samples {list(indices)[:4]}..., expected {expected[:4]}...; "
                                "record samples in the planned order")
        sums = []
        for meta, st, tr in zip(self.layers, self.stats, traces):
            batch, mismatch = st.batch_sums(tr["u"], tr["s"])
            if mismatch > MAX_SPIKE_MISMATCH * tr["s"].numel() + 1:
                raise RecorderError(
                    f"layer {meta.name} ({meta.class_name}): the replayed U does not reproduce {mismatch} of "
                    f"{tr['s'].numel()} spikes; its dynamics are not Heaviside(U - V_th) - register a NeuronAdapter")
            sums.append(batch)
        per_sample = np.stack([tr["s"].sum(dim=tuple(range(2, tr["s"].dim()))).T.cpu().numpy() for tr in traces], axis=1)
        self.event_sum += frames.sum(axis=1, dtype=np.float64)
        self.active += (frames > 0).sum(axis=1)
        g = f[S.SAMPLES]
        g[S.S_LABEL][start:start + n] = labels
        g[S.S_PREDICTION][start:start + n] = predictions
        g[S.S_SPIKES][start:start + n] = per_sample.astype(np.int32)
        self._write_raw(traces, frames, indices)
        for st, batch in zip(self.stats, sums):
            st.add(batch)
        self._write_state(start + n)

    def _write_raw(self, traces, frames, indices) -> None:
        rows = [(pos, self.raw_rows[idx]) for pos, idx in enumerate(indices) if idx in self.raw_rows]
        if not rows:
            return
        f = self.file
        for meta, tr in zip(self.layers, traces):
            rg = f[S.layer_group(meta.index)][S.RAW]
            for pos, row in rows:
                rg[S.R_SAMPLE][row] = self.n_done + pos
                rg[S.R_U][row] = tr["u"][:, pos].cpu().numpy().astype(self.raw.u_dtype)
                spikes = tr["s"][:, pos].cpu().numpy() > 0
                rg[S.R_S][row] = spikes if self.raw.spikes == "bool" else np.packbits(spikes.reshape(self.T, -1), axis=1)
                if self.raw.keep_h:
                    rg[S.R_H][row] = tr["h"][:, pos].cpu().numpy().astype(self.raw.u_dtype)
                if self.raw.keep_x:
                    rg[S.R_X][row] = tr["x"][:, pos].cpu().numpy().astype(self.raw.u_dtype)
        for pos, row in rows:
            f[S.RAW_INPUT][S.R_SAMPLE][row] = self.n_done + pos
            f[S.RAW_INPUT][S.RI_FRAMES][row] = frames[:, pos]

    def _write_state(self, n_done: int) -> None:
        """Statistics into the spare slot, flush, then point to it: an interruption at any
        moment leaves the previous complete slot in place."""
        f, slot = self.file, 1 - self.slot
        for meta, st in zip(self.layers, self.stats):
            sg = f[S.stats_group(meta.index, slot)]
            for name, arr in st.arrays.items():
                sg[name][...] = arr
        f[S.INPUT][S.I_EVENT_SUM][...] = self.event_sum
        f[S.INPUT][S.I_ACTIVE][...] = self.active
        f.flush()
        f.attrs[S.A_SLOT] = slot
        f.attrs[S.A_DONE] = n_done
        f.flush()
        self.slot, self.n_done = slot, n_done

    # -- resume and end ---------------------------------------------------------------
    def resume(self) -> None:
        """Reopen an incomplete recording of the same plan and load its statistics."""
        from recorder.reader import open_recording

        with open_recording(self.path) as rec:
            if rec.complete:
                raise RecorderError(f"{self.path}: the recording is already complete; nothing to resume")
            mismatch = [what for what, mine, theirs in (("model", self.model_info, rec.model),
                                                         ("data", self.data_info, rec.data),
                                                         ("settings", self.settings, rec.settings))
                        if _json(mine) != _json(theirs)]
            if mismatch or rec.n_total != self.n_total:
                raise RecorderError(f"{self.path}: cannot resume, the {', '.join(mismatch) or 'sample count'} "
                                    "differ from this run's; use the same command line as the interrupted run")
        f = self.file = open_for_writing(self.path, "r+")
        self.n_done, self.slot = int(f.attrs[S.A_DONE]), int(f.attrs[S.A_SLOT])
        if S.LAYERS not in f:
            return  # interrupted before the first batch: start() will lay it out
        self.layers = []
        for key in sorted(f[S.LAYERS]):
            lg = f[S.LAYERS][key]
            v_reset = float(lg.attrs[S.L_VRESET])
            params = {"v_threshold": float(lg.attrs[S.L_VTH]), "v_reset": None if math.isnan(v_reset) else v_reset,
                      "tau": float(lg.attrs[S.L_TAU]), "beta": float(lg.attrs[S.L_BETA]),
                      "decay_input": bool(lg.attrs[S.L_DECAY])}
            self.layers.append(LayerMeta(int(lg.attrs[S.L_INDEX]), str(lg.attrs[S.L_NAME]), str(lg.attrs[S.L_CLASS]),
                                         params, tuple(int(v) for v in lg.attrs[S.L_SHAPE])))
        self.stats = []
        for meta in self.layers:
            st = LayerStats(self.T, meta.shape, meta.params["v_threshold"], self.spec)
            sg = f[S.stats_group(meta.index, self.slot)]
            for name in st.arrays:
                st.arrays[name] = sg[name][...]
            self.stats.append(st)
        self.event_sum = f[S.INPUT][S.I_EVENT_SUM][...]
        self.active = f[S.INPUT][S.I_ACTIVE][...]

    @property
    def started(self) -> bool:
        return self.file is not None and S.LAYERS in self.file

    def close(self, complete: bool) -> None:
        """Close the file; a complete recording is then compacted (see `compact`)."""
        if self.file is None:
            return
        done = bool(complete and self.n_done == self.n_total)
        try:
            self.file.attrs[S.A_COMPLETE] = done
            self.file.flush()
        finally:
            self.file.close()
            self.file = None
        if done:
            compact(self.path)


def compact(path: Path) -> None:
    """Rewrite a complete recording without its stale statistics slot and with every
    dataset compressed (they no longer need in-place updates), then replace it atomically."""
    tmp = path.with_name(f".{path.name}.compact.tmp")
    try:
        with h5py.File(path, "r") as src, h5py.File(tmp, "w") as dst:
            dst.attrs.update(dict(src.attrs))
            stale = S.STATS.format(slot=1 - int(src.attrs[S.A_SLOT]))

            def copy(group_src: h5py.Group, group_dst: h5py.Group) -> None:
                for key, obj in group_src.items():
                    if key == stale:
                        continue
                    if isinstance(obj, h5py.Group):
                        sub = group_dst.create_group(key)
                        sub.attrs.update(dict(obj.attrs))
                        copy(obj, sub)
                    elif obj.compression is None and obj.size > 64:
                        ds = group_dst.create_dataset(key, data=obj[...], **COMPRESSION)
                        ds.attrs.update(dict(obj.attrs))
                    else:
                        group_src.copy(obj, group_dst, name=key)

            copy(src, dst)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
