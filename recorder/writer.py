"""Writes a recording (format in recorder.schema) so that nothing is lost or misreported.

Guarantees:
- The file is written as `<out>.partial` and renamed to `<out>` only after every byte was
  written, flushed, read back and checked; `--overwrite` therefore keeps the old `<out>`
  until its successor is complete.
- Statistics live in memory and are saved at checkpoints, every `checkpoint_seconds`
  (default 60) and when a run stops on an error or Ctrl-C: an interruption (kill -9, power
  loss) loses at most the samples recorded since the last checkpoint, which `--resume`
  records again. A checkpoint is a whole new file beside the partial one,
  `<out>.partial.slot0` or `.slot1`, alternating, reached from the partial file through an
  HDF5 external link; the partial file names the valid slot only after that file is on
  disk, so a crash while saving leaves the other slot intact. Per-sample rows and raw
  tensors are written once, where they stay, as their batch finishes.
- Every write goes straight to the operating system (no HDF5 chunk cache or sieve buffer),
  compressed chunks are written whole with CRC-32s kept beside them, and the free space is
  checked before each write: a full disk stops the run with one clear error while the
  partial file still reads as incomplete at its last checkpoint.
Bytes written: per-sample rows and raw chunks once, the statistics once at the end (into the
partial file, which never held the slots, so nothing is copied or compacted) plus once per
checkpoint (compressed). A run of D seconds writes about its final size plus
floor(D / checkpoint_seconds) times the statistics: within 2x of the file for runs shorter
than twice the interval.
"""

from __future__ import annotations

import concurrent.futures
import datetime as dt
import errno
import functools
import json
import math
import os
import resource
import shutil
import signal
import threading
import time
import zlib
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np

from models import TOOL_VERSION
from recorder import schema as S
from recorder.adapters import RecorderError
from recorder.stats import HistogramSpec, LayerStats

MAX_SPIKE_MISMATCH = 1e-6  # share of replayed spikes allowed to differ (float ties exactly at V_th)
COMPRESSION_LEVEL = 1
MAX_CHUNK_BYTES = 256 * 2**20
SPACE_MARGIN = 2 * 2**20  # kept free for HDF5's own metadata


class DiskFullError(RecorderError):
    """The disk (or the file-size limit) has no room for the next write. `saved` (samples in
    the partial file) is filled in once the run has saved what it could."""

    def __init__(self, problem: str, partial: Path | None = None, saved: int | None = None):
        super().__init__(problem)
        self.problem, self.partial, self.saved = problem, partial, saved

    def __str__(self) -> str:
        if self.partial is None:
            return f"{self.problem}; nothing was recorded: free space and run again"
        kept = f"{self.saved} finished samples" if self.saved is not None else "its last checkpoint"
        return (f"{self.problem}; {self.partial.name} keeps {kept}, marked incomplete: free space and run "
                "again with --resume")


@dataclass(frozen=True)
class LayerMeta:
    """One recorded layer: module path, class, neuron parameters, neuron shape (C, H, W)."""

    index: int
    name: str
    class_name: str
    params: dict
    shape: tuple[int, int, int]
    adapter: str = ""


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

    @property
    def kinds(self) -> tuple[str, ...]:
        return (S.R_U, S.R_S) + ((S.R_H,) if self.keep_h else ()) + ((S.R_X,) if self.keep_x else ())


def _json(value) -> str:
    return json.dumps(value, sort_keys=True)


def _dims(dataset: h5py.Dataset, dims) -> h5py.Dataset:
    dataset.attrs[S.A_DIMS] = list(dims)
    return dataset


def encode_chunk(array: np.ndarray) -> bytes:
    """The stored bytes of one chunk of a dataset with HDF5's shuffle and deflate filters:
    the bytes of the elements transposed (shuffle), then zlib at COMPRESSION_LEVEL."""
    data = np.ascontiguousarray(array).view(np.uint8)
    itemsize = array.dtype.itemsize
    if itemsize > 1:
        data = data.reshape(-1, itemsize).T
    return zlib.compress(data.tobytes(), COMPRESSION_LEVEL)


def stored(kind: str, array: np.ndarray, plan: RawPlan, T: int) -> np.ndarray:
    """A raw tensor [T, C, H, W] in its stored dtype and layout."""
    if kind == S.R_S:
        spikes = np.asarray(array) > 0
        return np.packbits(spikes.reshape(T, -1), axis=1) if plan.spikes == "packed" else spikes
    return np.asarray(array).astype(plan.u_dtype)


def encode_raw(raw: list, plan: RawPlan, T: int) -> list[tuple[int, dict[int, dict[str, bytes]], bytes]]:
    """Raw items (row, {layer index: {kind: array [T, C, H, W]}}, input frames [T, P, H, W])
    as the compressed chunks they are stored as (done by whichever process recorded them),
    compressed on every core (zlib releases the GIL)."""
    arrays = [stored(kind, arr, plan, T) for _, layers, _ in raw for kinds in layers.values()
              for kind, arr in kinds.items()] + [np.asarray(frames, np.float32) for *_, frames in raw]
    chunks = iter(_encoder().map(encode_chunk, arrays) if len(arrays) > 1 else map(encode_chunk, arrays))
    layer_chunks = [{li: {kind: next(chunks) for kind in kinds} for li, kinds in layers.items()} for _, layers, _ in raw]
    return [(row, layers, next(chunks)) for (row, *_), layers in zip(raw, layer_chunks)]


@functools.cache
def _encoder() -> concurrent.futures.ThreadPoolExecutor:
    return concurrent.futures.ThreadPoolExecutor(max_workers=max(1, len(os.sched_getaffinity(0))),
                                                 thread_name_prefix="raw-encoder")


def _chunk_shape(shape: tuple[int, ...], itemsize: int) -> tuple[int, ...]:
    """One chunk for the whole array unless it is over MAX_CHUNK_BYTES; then leading
    dimensions are cut to 1 until a chunk fits."""
    chunks = [max(1, int(s)) for s in shape]
    for i in range(len(chunks) - 1):
        if int(np.prod(chunks)) * itemsize <= MAX_CHUNK_BYTES:
            break
        chunks[i] = 1
    return tuple(chunks)


def _early_dcpl() -> h5py.h5p.PropDCID:
    """Contiguous datasets whose space is allocated at creation, so later writes never need
    new space. No fill values are written (that would write every row twice): the writer
    knows which rows it wrote and verifies that before it finishes."""
    dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
    dcpl.set_alloc_time(h5py.h5d.ALLOC_TIME_EARLY)
    dcpl.set_fill_time(h5py.h5d.FILL_TIME_NEVER)
    return dcpl


def free_bytes(folder: Path, file_size: int) -> int:
    """Bytes the next writes may take: free disk space, and the process's file-size limit."""
    free = shutil.disk_usage(folder).free
    soft, _ = resource.getrlimit(resource.RLIMIT_FSIZE)
    if soft != resource.RLIM_INFINITY:
        free = min(free, soft - file_size)
    return free


def open_h5(path: Path, create: bool) -> h5py.File:
    """An HDF5 file whose writes go straight to the operating system: no chunk cache and no
    sieve buffer hold data that could fail to write later, unseen."""
    fapl = h5py.h5p.create(h5py.h5p.FILE_ACCESS)
    fapl.set_sieve_buf_size(0)
    mdc = fapl.get_cache()
    fapl.set_cache(mdc[0], mdc[1], 0, mdc[3])
    fapl.set_fclose_degree(h5py.h5f.CLOSE_STRONG)
    name = str(path).encode()
    try:
        fid = (h5py.h5f.create(name, h5py.h5f.ACC_TRUNC, fapl=fapl) if create
               else h5py.h5f.open(name, h5py.h5f.ACC_RDWR, fapl=fapl))
    except (OSError, RuntimeError) as exc:
        reason = str(exc).split("(")[0].strip() or type(exc).__name__
        raise RecorderError(f"{path}: cannot write the recording ({reason}); choose a writable path") from None
    return h5py.File(fid)


def _is_space_error(exc: BaseException) -> bool:
    text = str(exc)
    return getattr(exc, "errno", None) in (errno.ENOSPC, errno.EFBIG, errno.EDQUOT) or any(
        s in text for s in ("No space left", "errno = 28", "errno = 27", "File too large", "Disk quota"))


class RecordingWriter:
    """Owns the partial file of one recording.

    sample_indices: the dataset index of every planned row, in recording order. shares:
    contiguous (start, stop) row ranges recorded in order, one per process (default: one).
    Use: create(overwrite) or resume(); start(layers, input_shape) after the first batch
    shows the layer shapes; write_rows(...) and advance(share, n) per batch; set_totals(...)
    before checkpoint() (when checkpoint_due()) and before finish(); abort() on an error.
    """

    def __init__(self, path: Path, *, n_total: int, sample_indices: list[int], spec: HistogramSpec,
                 raw: RawPlan, model_info: dict, data_info: dict, T: int, shard: str | None = None,
                 shares: list[tuple[int, int]] | None = None, batch_size: int | None = None,
                 checkpoint_seconds: float = 60.0):
        self.path, self.n_total, self.spec, self.raw, self.T = Path(path), n_total, spec, raw, T
        self.partial = S.partial_path(self.path)
        self.sample_indices = [int(i) for i in sample_indices]
        if len(self.sample_indices) != n_total:
            raise RecorderError(f"the plan lists {len(self.sample_indices)} samples for {n_total} rows")
        self.shares = [tuple(s) for s in (shares or [(0, n_total)])]
        if self.shares[0][0] != 0 or self.shares[-1][1] != n_total or any(
                a[1] != b[0] for a, b in zip(self.shares, self.shares[1:])) or any(a > b for a, b in self.shares):
            raise RecorderError(f"shares {self.shares} do not cover rows 0..{n_total} in order")
        if checkpoint_seconds < 0:
            raise RecorderError(f"checkpoint interval must be >= 0 seconds, got {checkpoint_seconds}")
        planned = set(raw.indices)
        self.raw_rows = {idx: row for row, idx in enumerate(i for i in self.sample_indices if i in planned)}
        self.raw_sample_rows = [pos for pos, idx in enumerate(self.sample_indices) if idx in planned]
        self.file: h5py.File | None = None
        self.layers: list[LayerMeta] = []
        self.stats: list[LayerStats] = []
        self.event_sum: np.ndarray | None = None
        self.active: np.ndarray | None = None
        self.base: list[dict[str, np.ndarray]] = []
        self.base_input: tuple[np.ndarray, np.ndarray] | None = None
        self.shares_done = [0] * len(self.shares)
        self.rows_written = np.zeros(n_total, bool)
        self.slot = -1
        self.failed = False
        self.checkpoint_seconds = checkpoint_seconds
        self._last_checkpoint = time.monotonic()
        self.model_info, self.data_info, self.shard = model_info, data_info, shard
        self.settings = {"histogram": {"lo": spec.lo, "hi": spec.hi, "bins": spec.bins, "bin_width_vth": spec.width},
                         "fixed_point_scale": S.FIXED_POINT_SCALE, "fixed_point_rounding": "each value",
                         "raw": {"indices": list(raw.indices), "u_dtype": raw.u_dtype, "spikes": raw.spikes,
                                 "h": raw.keep_h, "x": raw.keep_x}, "T": T,
                         "shares": [list(s) for s in self.shares], "batch_size": batch_size}
        self.timing = {"checkpoint_seconds": checkpoint_seconds}

    # -- progress ----------------------------------------------------------------------
    @property
    def n_done(self) -> int:
        return sum(self.shares_done)

    @property
    def started(self) -> bool:
        return self.file is not None and S.LAYERS in self.file

    def next_rows(self, share: int = 0) -> tuple[int, int]:
        """(first row not yet recorded, end) of a share."""
        start, stop = self.shares[share]
        return start + self.shares_done[share], stop

    def advance(self, share: int, count: int) -> None:
        """Mark `count` more rows of `share` as recorded (their data is written and their
        statistics counted in the totals the next checkpoint receives)."""
        self.shares_done[share] += count
        if self.shares_done[share] > self.shares[share][1] - self.shares[share][0]:
            raise RecorderError(f"share {share} recorded more rows than it has")

    def checkpoint_due(self) -> bool:
        return time.monotonic() - self._last_checkpoint >= self.checkpoint_seconds

    def set_totals(self, sums: list[dict[str, np.ndarray]], event_sum: np.ndarray, active: np.ndarray) -> None:
        """The statistics to write: what the file held when this run started (a resume) plus
        `sums`, the statistics recorded since (by every process)."""
        for st, base, add in zip(self.stats, self.base, sums):
            for name in st.arrays:
                st.arrays[name] = base[name] + add[name]
        self.event_sum, self.active = self.base_input[0] + event_sum, self.base_input[1] + active

    # -- space and errors --------------------------------------------------------------
    def _file_size(self) -> int:
        """Bytes of the partial file and its slot files (what counts against a file-size limit
        is the largest; the sum is the safe side)."""
        slots = sum(p.stat().st_size for p in self._slot_files())
        try:
            return slots + (int(self.file.id.get_filesize()) if self.file is not None else 0)
        except (OSError, RuntimeError, ValueError):
            return slots + (os.path.getsize(self.partial) if self.partial.exists() else 0)

    def _slot_files(self) -> list[Path]:
        return [p for p in (S.slot_path(self.partial, 0), S.slot_path(self.partial, 1)) if p.exists()]

    def _remove_slot_files(self) -> None:
        for slot in (0, 1):
            S.slot_path(self.partial, slot).unlink(missing_ok=True)

    def ensure_space(self, nbytes: int, what: str) -> None:
        """Raise DiskFullError unless `nbytes` (plus a margin for metadata) fit."""
        need = int(nbytes) + SPACE_MARGIN + int(nbytes) // 50
        free = free_bytes(self.partial.parent, self._file_size())
        if free < need:
            raise DiskFullError(f"disk full: {what} needs {need / 2**20:.1f} MB but {max(free, 0) / 2**20:.1f} MB "
                                f"are free on {self.partial.parent} (or under the file-size limit)",
                                self.partial if self.started else None)

    def _saved_samples(self) -> int:
        try:
            return int(self.file.attrs[S.A_DONE]) if self.file is not None else 0
        except (OSError, RuntimeError, KeyError, ValueError):
            return 0

    def _io(self, what: str):
        writer = self

        class Guard:
            def __enter__(self):
                return None

            def __exit__(self, exc_type, exc, tb):
                if exc is None or isinstance(exc, RecorderError) or not isinstance(exc, (OSError, RuntimeError)):
                    return False
                writer.failed = True
                if _is_space_error(exc):
                    raise DiskFullError(f"disk full while writing {what}", writer.partial) from None
                first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                raise RecorderError(f"writing {what} of {writer.partial.name} failed ({first[:200]}); the file keeps "
                                    "its last checkpoint, marked incomplete: fix the cause and run again with --resume") from None
        return Guard()

    # -- creation ----------------------------------------------------------------------
    def create(self, overwrite: bool) -> None:
        if self.partial.exists() and not overwrite:
            raise RecorderError(f"{self.partial}: an interrupted recording of {self.path.name} exists; pass --resume "
                                "to continue it or --overwrite to start again")
        if self.path.exists() and not overwrite:
            raise RecorderError(f"{self.path}: the file exists; pass --overwrite to replace it (the old file is kept "
                                "until the new one is complete)")
        if not self.path.parent.is_dir():
            raise RecorderError(f"{self.path}: folder {self.path.parent} does not exist; create it first")
        if self.path.exists() and not self.path.is_file():
            raise RecorderError(f"{self.path}: is not a file; choose another output path")
        if not os.access(self.path.parent, os.W_OK):
            raise RecorderError(f"{self.path}: folder {self.path.parent} is not writable; choose a writable path")
        _catch_file_size_signal()
        self.partial.unlink(missing_ok=True)
        self._remove_slot_files()
        f = self.file = open_h5(self.partial, create=True)
        try:
            self._create_header(f)
        except BaseException:
            self.abort(save=False)
            self.discard()
            raise

    def _create_header(self, f: h5py.File) -> None:
        self.ensure_space(0, "creating the recording")
        with self._io("the header"):
            f.attrs.update({
                S.A_FORMAT: S.FORMAT, S.A_VERSION: S.FORMAT_VERSION, S.A_COMPLETE: False, S.A_DONE: 0,
                S.A_TOTAL: self.n_total, S.A_SLOT: -1, S.A_SHARES_DONE: _json(self.shares_done),
                S.A_TOOL: TOOL_VERSION, S.A_CREATED: dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
                S.A_MODEL: _json(self.model_info), S.A_DATA: _json(self.data_info),
                S.A_SETTINGS: _json(self.settings),
            })
            if self.shard:
                f.attrs[S.A_SHARD] = self.shard
            f.flush()

    def start(self, layers: list[LayerMeta], input_shape: tuple[int, ...]) -> None:
        """Lay out every dataset (fixed sizes; the small ones take their space now)."""
        f, n, T, k = self.file, self.n_total, self.T, len(self.raw_rows)
        self.layers = layers
        self.stats = [LayerStats(T, l.shape, l.params["v_threshold"], self.spec) for l in layers]
        self.event_sum = np.zeros(input_shape, np.float64)
        self.active = np.zeros(input_shape, np.int64)
        self._keep_base()
        kinds = self.raw.kinds
        early = n * (8 * 3 + 4 * len(layers) * T) + k * 8 * (2 + len(kinds)) * (len(layers) + 1)
        self.ensure_space(early, "laying out the recording")
        dcpl = _early_dcpl()
        with self._io("the layout"):
            g = f.create_group(S.SAMPLES)
            for name, shape, dtype, fill in ((S.S_INDEX, (n,), "i8", -1), (S.S_LABEL, (n,), "i8", -1),
                                             (S.S_PREDICTION, (n,), "i8", -1), (S.S_SPIKES, (n, len(layers), T), "i4", 0)):
                _dims(g.create_dataset(name, shape, dtype=dtype, fillvalue=fill, dcpl=dcpl), S.SAMPLE_DIMS[name])
            g[S.S_INDEX][:] = np.asarray(self.sample_indices, dtype=np.int64)
            for meta in layers:
                lg = f.create_group(S.layer_group(meta.index))
                v_reset = meta.params["v_reset"]
                lg.attrs.update({S.L_NAME: meta.name, S.L_INDEX: meta.index, S.L_CLASS: meta.class_name,
                                 S.L_VTH: meta.params["v_threshold"], S.L_VRESET: math.nan if v_reset is None else v_reset,
                                 S.L_TAU: meta.params["tau"], S.L_BETA: meta.params["beta"],
                                 S.L_DECAY: meta.params["decay_input"], S.L_SHAPE: list(meta.shape),
                                 S.L_EDGES: self.spec.edges(meta.params["v_threshold"])})
                if meta.adapter:
                    lg.attrs[S.L_ADAPTER] = meta.adapter
                    lg.attrs[S.L_NEURON] = json.dumps(meta.params, default=str)
                if k:
                    self._raw_group(lg.create_group(S.RAW), meta, kinds, dcpl)
            if k:
                rig = f.create_group(S.RAW_INPUT)
                _dims(rig.create_dataset(S.R_SAMPLE, (k,), dtype="i8", dcpl=dcpl), ("raw_sample",))[:] = \
                    np.asarray(self.raw_sample_rows, np.int64)
                dims = S.input_dims(len(input_shape))
                _dims(rig.create_dataset(S.RI_FRAMES, (k, *input_shape), dtype="f4", chunks=(1, *input_shape),
                                         compression="gzip", compression_opts=COMPRESSION_LEVEL, shuffle=True),
                      ("raw_sample", *dims))
                crc = _dims(rig.create_dataset(S.R_CRC, (k, 1), dtype="u4", fillvalue=0, dcpl=dcpl), ("raw_sample", "kind"))
                crc.attrs[S.A_KINDS] = [S.RI_FRAMES]
            f.flush()

    def _raw_group(self, rg: h5py.Group, meta: LayerMeta, kinds: tuple[str, ...], dcpl) -> None:
        k, T = len(self.raw_rows), self.T
        _dims(rg.create_dataset(S.R_SAMPLE, (k,), dtype="i8", dcpl=dcpl), ("raw_sample",))[:] = \
            np.asarray(self.raw_sample_rows, np.int64)
        for kind in kinds:
            if kind == S.R_S and self.raw.spikes == "packed":
                nbytes = math.ceil(int(np.prod(meta.shape)) / 8)
                shape, dtype, dims = (k, T, nbytes), "u1", S.PACKED_DIMS
            else:
                shape, dtype, dims = (k, T, *meta.shape), ("bool" if kind == S.R_S else self.raw.u_dtype), S.RAW_DIMS
            _dims(rg.create_dataset(kind, shape, dtype=dtype, chunks=(1, *shape[1:]), compression="gzip",
                                    compression_opts=COMPRESSION_LEVEL, shuffle=True), dims)
        crc = _dims(rg.create_dataset(S.R_CRC, (k, len(kinds)), dtype="u4", fillvalue=0, dcpl=dcpl),
                    ("raw_sample", "kind"))
        crc.attrs[S.A_KINDS] = list(kinds)

    # -- per batch ---------------------------------------------------------------------
    def write_rows(self, start: int, labels: np.ndarray, predictions: np.ndarray, spike_counts: np.ndarray,
                   encoded: list[tuple[int, dict[int, dict[str, bytes]], bytes]] = ()) -> None:
        """Write rows start .. start + n of the per-sample arrays (labels, predictions [n],
        spike_counts [n, L, T]) and the raw chunks of those rows (see encode_raw)."""
        n = len(labels)
        stop = start + n
        raw = encoded
        nbytes = sum(len(frames) + sum(len(c) for kinds in layers.values() for c in kinds.values())
                     for _, layers, frames in encoded)
        self.ensure_space(nbytes, f"writing {len(raw)} raw samples")
        with self._io("per-sample rows"):
            g = self.file[S.SAMPLES]
            values = ((S.S_LABEL, np.asarray(labels, np.int64)), (S.S_PREDICTION, np.asarray(predictions, np.int64)),
                      (S.S_SPIKES, np.asarray(spike_counts, np.int32)))
            for name, value in values:
                g[name][start:stop] = value
            for name, value in values:  # read back: what was written is what is there
                if not np.array_equal(g[name][start:stop], value):
                    raise RecorderError(f"per-sample rows {start}..{stop} of {name} read back differently; the "
                                        "storage is failing")
        self.rows_written[start:stop] = True
        for row, layers, frames in encoded:
            for li, kinds in layers.items():
                self.write_raw_layer(row, li, kinds, checked=True)
            self.write_raw_input(row, frames, checked=True)

    def write_raw_layer(self, row: int, layer: int, kinds: dict[str, bytes], checked: bool = False) -> None:
        """The compressed raw chunks {kind: bytes} of one layer of the sample in `row`."""
        if not checked:
            self.ensure_space(sum(len(b) for b in kinds.values()), "writing raw tensors")
        with self._io("raw tensors"):
            raw_row = self.raw_rows[self.sample_indices[row]]
            rg = self.file[S.layer_group(layer)][S.RAW]
            crcs = []
            for kind in self.raw.kinds:
                self._write_chunk(rg[kind], raw_row, kinds[kind])
                crcs.append(zlib.crc32(kinds[kind]))
            rg[S.R_CRC][raw_row] = np.asarray(crcs, np.uint32)

    def write_raw_input(self, row: int, frames: bytes, checked: bool = False) -> None:
        """The compressed input frames of the raw sample in `row`."""
        if not checked:
            self.ensure_space(len(frames), "writing raw input frames")
        with self._io("raw tensors"):
            raw_row = self.raw_rows[self.sample_indices[row]]
            rig = self.file[S.RAW_INPUT]
            self._write_chunk(rig[S.RI_FRAMES], raw_row, frames)
            rig[S.R_CRC][raw_row] = np.asarray([zlib.crc32(frames)], np.uint32)

    @staticmethod
    def _write_chunk(ds: h5py.Dataset, row: int, data: bytes) -> None:
        offset = (row,) + (0,) * (ds.ndim - 1)
        ds.id.write_direct_chunk(offset, data, filter_mask=0)
        _, back = ds.id.read_direct_chunk(offset)
        if zlib.crc32(back) != zlib.crc32(data):
            raise RecorderError(f"{ds.name} row {row} read back differently after writing; the storage is failing")

    # -- checkpoints -------------------------------------------------------------------
    def _stat_arrays(self, final: bool) -> list[tuple[str, dict[str, np.ndarray]]]:
        """(group path, {name: array}) of every statistic: in its final place in the recording
        or (not `final`) in a checkpoint slot's file."""
        inputs = {S.I_EVENT_SUM: self.event_sum, S.I_ACTIVE: self.active}
        where = S.stats_group if final else S.layer_group
        return [(where(meta.index), st.arrays) for meta, st in zip(self.layers, self.stats)] + [(S.INPUT, inputs)]

    def _write_stats(self, f: h5py.File, final: bool) -> None:
        """Write every statistic compressed into `f`: the recording (`final`) or a slot file."""
        parts = self._stat_arrays(final)
        encoded = []
        for group, arrays in parts:
            for name, arr in arrays.items():
                chunks = _chunk_shape(arr.shape, arr.dtype.itemsize)
                blocks = [(offset, encode_chunk(arr[tuple(slice(o, o + c) for o, c in zip(offset, chunks))]))
                          for offset in np.ndindex(*[-(-s // c) for s, c in zip(arr.shape, chunks)])]
                blocks = [(tuple(o * c for o, c in zip(offset, chunks)), data) for offset, data in blocks]
                encoded.append((f"{group}/{name}", arr, chunks, blocks))
        self.ensure_space(sum(len(d) for *_, blocks in encoded for _, d in blocks), "writing the statistics")
        for path, arr, chunks, blocks in encoded:
            if path in f:
                ds = f[path]
            else:
                dims = S.STAT_DIMS.get(path.rsplit("/", 1)[1]) or S.input_dims(arr.ndim)
                ds = _dims(f.create_dataset(path, arr.shape, dtype=arr.dtype, chunks=chunks, compression="gzip",
                                            compression_opts=COMPRESSION_LEVEL, shuffle=True), dims)
            for offset, data in blocks:
                ds.id.write_direct_chunk(offset, data, filter_mask=0)

    def checkpoint(self) -> None:
        """Statistics and progress into a new file for the spare slot, on disk, then named valid."""
        if self.file is None or not self.started or self.failed:
            return
        slot = 1 - self.slot if self.slot in (0, 1) else 0
        path = S.slot_path(self.partial, slot)
        with self._io("a checkpoint"):
            path.unlink(missing_ok=True)
            with open_h5(path, create=True) as g:
                self._write_stats(g, final=False)
                g.attrs[S.A_DONE] = self.n_done  # the slot carries its own counters: one commit point below
                g.attrs[S.A_SHARES_DONE] = _json(self.shares_done)
                _sync(g)
            _fsync_dir(path.parent)
            link = S.checkpoint_group(slot)
            if link not in self.file:
                self.file[link] = h5py.ExternalLink(path.name, "/")
            self.file.attrs[S.A_SLOT] = slot  # the commit: this slot, with its counters, is the valid one
            self.file.attrs[S.A_DONE] = self.n_done
            self.file.attrs[S.A_SHARES_DONE] = _json(self.shares_done)
            self._sync()
        self.slot = slot
        self._last_checkpoint = time.monotonic()

    def _sync(self) -> None:
        _sync(self.file)

    # -- resume ------------------------------------------------------------------------
    def resume(self) -> None:
        """Reopen the partial file of the same plan at its last checkpoint."""
        from recorder.reader import RecordingFormatError, open_recording

        if not self.partial.exists():
            there = f"{self.path.name} exists, but " if self.path.exists() else ""
            raise RecorderError(f"{self.path}: {there}there is no interrupted recording {self.partial.name} to "
                                "continue; record without --resume (with --overwrite to replace a file)")
        try:
            rec = open_recording(self.partial)
        except RecordingFormatError as exc:
            raise RecorderError(f"cannot resume: {exc}; start again with --overwrite") from None
        with rec:
            if rec.complete:
                self._publish()
                self._remove_slot_files()
                raise _AlreadyComplete()
            mismatch = [what for what, mine, theirs in (("model", self.model_info, rec.model),
                                                         ("data", self.data_info, rec.data),
                                                         ("settings", self.settings, rec.settings))
                        if _json(mine) != _json(theirs)]
            if mismatch or rec.n_total != self.n_total:
                details = _difference(self.settings, rec.settings) if mismatch == ["settings"] else ""
                raise RecorderError(f"{self.partial}: cannot resume, the {', '.join(mismatch) or 'sample count'} "
                                    f"differ from this run's{details}; use the same command line as the interrupted run")
        _catch_file_size_signal()
        f = self.file = open_h5(self.partial, create=False)
        self.slot = int(f.attrs[S.A_SLOT])
        saved = None
        if self.slot >= 0:
            with h5py.File(S.slot_path(self.partial, self.slot), "r") as g:
                saved = ({k: g[k][...] for k in _visit_datasets(g)}, json.loads(g.attrs[S.A_SHARES_DONE]))
        self.shares_done = saved[1] if saved else [0] * len(self.shares)
        for (start, _), done in zip(self.shares, self.shares_done):
            self.rows_written[start:start + done] = True
        if str(f.attrs.get(S.A_SHARD, "")) != str(self.shard or "") or (
                S.SAMPLES in f and f[S.SAMPLES][S.S_INDEX][...].tolist() != self.sample_indices):
            f.close()
            self.file = None
            raise RecorderError(f"{self.partial}: cannot resume, it records other samples (shard or sample list) "
                                "than this run; use the same command line as the interrupted run")
        if S.LAYERS not in f:
            return  # interrupted before the first batch: start() will lay it out
        self.layers = []
        for key in sorted(f[S.LAYERS]):
            lg = f[S.LAYERS][key]
            v_reset = float(lg.attrs[S.L_VRESET])
            params = {"v_threshold": float(lg.attrs[S.L_VTH]), "v_reset": None if math.isnan(v_reset) else v_reset,
                      "tau": float(lg.attrs[S.L_TAU]), "beta": float(lg.attrs[S.L_BETA]),
                      "decay_input": bool(lg.attrs[S.L_DECAY])}
            if S.L_NEURON in lg.attrs:
                params = {**json.loads(str(lg.attrs[S.L_NEURON])), **params}
            self.layers.append(LayerMeta(int(lg.attrs[S.L_INDEX]), str(lg.attrs[S.L_NAME]), str(lg.attrs[S.L_CLASS]),
                                         params, tuple(int(v) for v in lg.attrs[S.L_SHAPE]),
                                         str(lg.attrs.get(S.L_ADAPTER, ""))))
        self.stats = [LayerStats(self.T, m.shape, m.params["v_threshold"], self.spec) for m in self.layers]
        if self.slot < 0:
            return  # interrupted before the first checkpoint: everything starts again at zero
        arrays = saved[0]
        for meta, st in zip(self.layers, self.stats):
            for name in st.arrays:
                st.arrays[name] = arrays[f"{S.layer_group(meta.index)}/{name}"]
        self.event_sum, self.active = arrays[f"{S.INPUT}/{S.I_EVENT_SUM}"], arrays[f"{S.INPUT}/{S.I_ACTIVE}"]
        self._keep_base()

    def ensure_input_shape(self, input_shape: tuple[int, ...]) -> None:
        """After a resume from before the first checkpoint, the input sums start at zero."""
        if self.event_sum is None:
            self.event_sum = np.zeros(input_shape, np.float64)
            self.active = np.zeros(input_shape, np.int64)
            self._keep_base()

    def _keep_base(self) -> None:
        """What the file holds now is the base that later sums are added to."""
        self.base = [{k: v.copy() for k, v in st.arrays.items()} for st in self.stats]
        self.base_input = (self.event_sum.copy(), self.active.copy())

    # -- the end -----------------------------------------------------------------------
    def finish(self) -> Path:
        """Write the final statistics into the partial file, verify everything, mark it
        complete, publish it under its name (atomically replacing an older one) and remove
        the slot files. Until the partial file reads as complete, its last checkpoint stays
        valid."""
        if self.n_done != self.n_total:
            raise RecorderError(f"{self.partial.name}: {self.n_done} of {self.n_total} samples recorded; not finished")
        if not self.started:
            raise RecorderError(f"{self.partial.name}: nothing was recorded")
        f = self.file
        self.ensure_space(sum(a.nbytes for _, arrays in self._stat_arrays(True) for a in arrays.values()),
                          "writing the final statistics")
        with self._io("the final statistics"):
            self._write_stats(f, final=True)
            f.flush()
        with self._io("the verification"):
            self._complete()
            for slot in (0, 1):
                if S.checkpoint_group(slot) in f:
                    del f[S.checkpoint_group(slot)]
            self._sync()
            f.close()
        self.file = None
        path = self._publish()
        self._remove_slot_files()
        return path

    def _complete(self) -> None:
        """Verify, then mark the open file complete: from here it reads as complete."""
        f = self.file
        self._verify()
        f.attrs[S.A_DONE] = self.n_done
        f.attrs[S.A_SHARES_DONE] = _json(self.shares_done)
        f.attrs[S.A_SLOT] = -1
        f.attrs[S.A_COMPLETE] = True
        self._sync()

    def _verify(self) -> None:
        """Read back what the file holds and compare it with what was meant: statistics with
        memory, raw chunks with their CRC-32s, and the progress counters."""
        f = self.file
        for group, arrays in self._stat_arrays(True):
            for name, arr in arrays.items():
                back = f[f"{group}/{name}"][...]
                if back.dtype != arr.dtype or back.shape != arr.shape or back.tobytes() != arr.tobytes():
                    raise RecorderError(f"{group}/{name} reads back differently from what was written; the storage "
                                        "is failing, the file stays incomplete")
        if not self.rows_written.all():
            raise RecorderError(f"{int((~self.rows_written).sum())} samples were never written; the file stays "
                                "incomplete")
        for kinds_group in [f[S.layer_group(m.index)][S.RAW] for m in self.layers if S.RAW in f[S.layer_group(m.index)]] \
                + ([f[S.RAW_INPUT]] if S.RAW_INPUT in f else []):
            crcs = kinds_group[S.R_CRC][...]
            kinds = list(kinds_group[S.R_CRC].attrs[S.A_KINDS])
            for column, kind in enumerate(kinds):
                ds = kinds_group[kind]
                for row in range(ds.shape[0]):
                    _, data = ds.id.read_direct_chunk((row,) + (0,) * (ds.ndim - 1))
                    if zlib.crc32(data) != int(crcs[row, column]):
                        raise RecorderError(f"{ds.name} row {row} does not match its CRC-32; the storage is failing, "
                                            "the file stays incomplete")

    def _publish(self) -> Path:
        fd = os.open(self.partial, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(self.partial, self.path)
        _fsync_dir(self.path.parent)
        return self.path

    def abort(self, error: BaseException | None = None, save: bool = True) -> None:
        """After an error or interruption: checkpoint what is finished (when `save`, and
        unless writing is what failed), then close. The partial file stays, readable and
        incomplete; a DiskFullError `error` learns how many samples it keeps."""
        if self.file is None:
            return
        try:
            if save and not self.failed and self.started and self.base:
                try:
                    self.checkpoint()
                except RecorderError:
                    pass  # the last good checkpoint stays valid
        finally:
            if isinstance(error, DiskFullError):
                error.saved = self._saved_samples()
            try:
                self.file.close()
            except (OSError, RuntimeError):
                pass
            self.file = None

    def discard(self) -> None:
        """Remove the partial file (and slot files) of a run that recorded nothing."""
        self.partial.unlink(missing_ok=True)
        self._remove_slot_files()


class _AlreadyComplete(Exception):
    """A resumed partial file was complete already; it has been published."""


def _difference(mine: dict, theirs: dict) -> str:
    keys = sorted(k for k in set(mine) | set(theirs) if _json(mine.get(k)) != _json(theirs.get(k)))
    return f" ({', '.join(f'{k}: {theirs.get(k)} then, {mine.get(k)} now' for k in keys[:3])})" if keys else ""


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _catch_file_size_signal() -> None:
    """A process over its file-size limit gets SIGXFSZ, which kills it by default; ignored,
    the write fails with EFBIG and the recording stops with a clear error instead."""
    if threading.current_thread() is threading.main_thread() and hasattr(signal, "SIGXFSZ"):
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)


def _sync(f: h5py.File) -> None:
    """Flush HDF5's buffers of `f` and have the operating system put the file on disk."""
    f.flush()
    try:
        os.fsync(f.id.get_vfd_handle())
    except (OSError, ValueError, TypeError):
        pass  # a driver without a file descriptor: HDF5's flush is what there is


def _visit_datasets(g: h5py.Group) -> list[str]:
    names: list[str] = []
    g.visititems(lambda name, obj: names.append(name) if isinstance(obj, h5py.Dataset) else None)
    return names
