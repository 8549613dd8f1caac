"""The Recorder: a context manager that hooks a model's neuron layers and streams what
they do, batch by batch, into a recording file."""

from __future__ import annotations

import signal
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from recorder.adapters import RecorderError
from recorder.capture import Capture, find_neuron_layers
from recorder.stats import HistogramSpec, LayerStats
from recorder.writer import MAX_SPIKE_MISMATCH, LayerMeta, RawPlan, RecordingWriter, _AlreadyComplete, encode_raw


@contextmanager
def interrupts_deferred():
    """Hold Ctrl-C (SIGINT) until the block is done, so that it cannot split it."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught = []
    previous = signal.signal(signal.SIGINT, lambda *a: caught.append(a))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        if caught:
            raise KeyboardInterrupt


@dataclass
class BatchResult:
    """What one process measured on one batch: rows start .. start + n of the plan, their
    labels, predictions and spike counts [n, L, T], and the compressed raw chunks of its raw
    samples (see recorder.writer.encode_raw); sums, event_sum, active: its statistics, added
    to the process's own sums (accept) only once its rows are written."""

    start: int
    labels: np.ndarray
    predictions: np.ndarray
    spike_counts: np.ndarray
    raw: list
    sums: list = None
    event_sum: np.ndarray | None = None
    active: np.ndarray | None = None


class Recorder:
    """Record a model over a planned sequence of samples.

    model: any nn.Module with SpikingJelly neurons (or registered adapters); input
    [T, N, ...] in multi-step mode, or called once per timestep in single-step mode.
    sample_indices: the dataset indices this run records, in order (a shard's share).
    layers: glob patterns of module paths to record (default: every neuron layer).
    The file is written as `<path>.partial` and appears at `path` only when complete (see
    recorder.writer). On exit the hooks are removed (also on error); an interrupted run
    keeps its partial file, which resume=True continues from `n_done`.
    checkpoint_seconds: how often the statistics are saved (at most this much recording is
    lost to a kill); batch_size: stored, and checked on resume. shares and writes: set by
    recorder.distributed, where every process measures and only rank 0 writes.
    """

    def __init__(self, model: nn.Module, path: str | Path, *, sample_indices: list[int], T: int,
                 spec: HistogramSpec = HistogramSpec(), raw: RawPlan = RawPlan(), model_info: dict | None = None,
                 data_info: dict | None = None, layers: tuple[str, ...] = (), overwrite: bool = False,
                 resume: bool = False, shard: str | None = None, batch_size: int | None = None,
                 checkpoint_seconds: float = 60.0, shares: list[tuple[int, int]] | None = None,
                 writes: bool = True):
        self.model = model
        self.neurons = find_neuron_layers(model, layers)
        self.resume, self.overwrite = resume, overwrite
        self.sample_indices = [int(i) for i in sample_indices]
        self.raw_plan, self.raw_set = raw, set(raw.indices)
        self.spec, self.T = spec, T
        self.writer = RecordingWriter(Path(path), n_total=len(sample_indices), sample_indices=sample_indices,
                                      spec=spec, raw=raw, model_info=model_info or {}, data_info=data_info or {},
                                      T=T, shard=shard, batch_size=batch_size, checkpoint_seconds=checkpoint_seconds,
                                      shares=shares) if writes else None
        self.capture = Capture(self.neurons, keep_x=raw.keep_x, keep_h=raw.keep_h)
        self.layers: list[LayerMeta] = []
        self.local: list[LayerStats] = []
        self.local_input: tuple[np.ndarray, np.ndarray] | None = None
        self.already_complete = False
        self.distributed = False

    @property
    def n_done(self) -> int:
        """Samples already recorded (after a resume, where to continue)."""
        return self.writer.n_done

    @property
    def path(self) -> Path:
        return self.writer.path

    def __enter__(self) -> "Recorder":
        if self.writer is not None:
            if self.resume:
                try:
                    self.writer.resume()
                except _AlreadyComplete:
                    self.already_complete = True  # the partial file was complete: published, nothing to do
                    return self
                self.layers = list(self.writer.layers)
            else:
                self.writer.create(self.overwrite)
        try:
            self.capture.__enter__()
        except BaseException:
            if self.writer is not None:
                self.writer.abort(save=False)
            raise
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if self.already_complete:
            return
        try:
            self.capture.__exit__(exc_type, exc, tb)
        finally:
            if self.writer is None:
                return
            if exc_type is None:
                try:
                    if not self.distributed:  # under torchrun the lockstep hands over every rank's sums
                        self.sync_totals()
                    self.writer.finish()
                except BaseException:
                    self.writer.abort(save=False)
                    raise
            else:
                never_started = not self.resume and not self.writer.started
                if not self.distributed and self.writer.started:
                    self.sync_totals()
                self.writer.abort(exc, save=not self.distributed)
                if never_started:
                    self.writer.discard()  # no half-written file for a run that never got going

    # -- statistics --------------------------------------------------------------------
    def local_sums(self) -> tuple[list[dict[str, np.ndarray]], np.ndarray, np.ndarray]:
        """This process's sums since the run started: per layer, and of the input."""
        return [st.arrays for st in self.local], self.local_input[0], self.local_input[1]

    def sync_totals(self, sums=None) -> None:
        """Hand the writer what it must write: the file's statistics at the start plus
        `sums` (default: this process's own, the whole story in a single process)."""
        if self.writer is None or not self.writer.started or self.local_input is None:
            return
        self.writer.set_totals(*(sums or self.local_sums()))

    # -- per batch ---------------------------------------------------------------------
    def record_batch(self, frames: torch.Tensor, labels, indices) -> torch.Tensor:
        """Run the model on frames [T, N, ...] (multi-step) and record the batch; returns its output."""
        self.capture.take()
        with torch.no_grad():
            outputs = self.model(frames)
        self.commit(frames, outputs, labels, indices)
        return outputs

    def commit(self, frames: torch.Tensor, outputs: torch.Tensor, labels, indices) -> None:
        """Record what the hooks captured since the last commit: frames [T, N, P, H, W] the input,
        outputs [N, classes], labels [N], indices [N] dataset indices (single process)."""
        writer = self.writer
        start, stop = writer.next_rows()
        result = self.measure(frames, outputs, labels, indices, start, stop)
        writer.write_rows(result.start, result.labels, result.predictions, result.spike_counts, result.raw)
        with interrupts_deferred():  # the sums and the progress move together, or not at all
            self.accept(result)
            writer.advance(0, len(result.labels))
        if writer.checkpoint_due():
            self.sync_totals()
            writer.checkpoint()

    def ensure_local(self, layers: list[LayerMeta], input_shape: tuple[int, ...]) -> None:
        """Zero sums of the given layout, for a process that has not measured a batch yet."""
        if not self.layers:
            self.layers = list(layers)
        if not self.local:
            self.local = [LayerStats(self.T, m.shape, m.params["v_threshold"], self.spec) for m in self.layers]
            self.local_input = (np.zeros(input_shape, np.float64), np.zeros(input_shape, np.int64))

    def layout(self) -> tuple[list[LayerMeta], tuple[int, ...]] | None:
        """(layers, input shape) once known, to hand to processes that have not measured yet."""
        if self.local_input is not None:
            return self.layers, tuple(self.local_input[0].shape)
        if self.writer is not None and self.writer.layers and self.writer.event_sum is not None:
            return self.writer.layers, tuple(self.writer.event_sum.shape)
        return None

    def accept(self, result: BatchResult) -> None:
        """Count a written batch in this process's sums (all layers, or none on an error)."""
        for st, batch in zip(self.local, result.sums):
            st.check(batch)
        for st, batch in zip(self.local, result.sums):
            st.add(batch)
        self.local_input[0][...] += result.event_sum
        self.local_input[1][...] += result.active

    def measure(self, frames: torch.Tensor, outputs: torch.Tensor, labels, indices, start: int,
                stop: int) -> BatchResult:
        """The batch's rows start .. start + n (which must end by `stop`) and statistics."""
        traces = self.capture.take()
        missing = [name for name, _, _ in self.neurons if name not in traces]
        if missing:
            raise RecorderError(f"layers {missing[:3]} did not run in this batch; every recorded layer must run every batch")
        names = [name for name in self.capture.order if name in traces]
        ordered = [self._neuron_shape(traces[name]) for name in names]
        frames_np = frames.detach().cpu().numpy()
        input_shape = (frames.shape[0], *frames.shape[2:])
        if not self.layers:
            by_name = {n: (m, a) for n, m, a in self.neurons}
            self.layers = [LayerMeta(i, name, type(by_name[name][0]).__name__, by_name[name][1].params(by_name[name][0]),
                                     tuple(tr["s"].shape[2:]), by_name[name][1].name)
                           for i, (name, tr) in enumerate(zip(names, ordered))]
        if self.writer is not None and not self.writer.started:
            self.writer.start(self.layers, input_shape)
        if self.writer is not None:
            self.writer.ensure_input_shape(input_shape)
        self.ensure_local(self.layers, input_shape)
        for meta, tr in zip(self.layers, ordered):
            if tr["s"].shape[0] != self.T or tuple(tr["s"].shape[2:]) != meta.shape:
                raise RecorderError(f"layer {meta.name}: got [T={tr['s'].shape[0]}, N, {list(tr['s'].shape[2:])}], "
                                    f"recording expects [T={self.T}, N, {list(meta.shape)}]; keep T and input size fixed")
        n = len(indices)
        expected = self.sample_indices[start:start + n]
        if [int(i) for i in indices] != expected or start + n > stop:
            raise RecorderError(f"batch holds samples {list(indices)[:4]}..., expected {expected[:4]}...; "
                                "record samples in the planned order")
        raw_positions = [pos for pos, idx in enumerate(indices) if int(idx) in self.raw_set]
        sums = []
        for meta, st, tr in zip(self.layers, self.local, ordered):
            if "dynamics" in tr:  # U (and H) replayed by the kernel
                batch, mismatch, u_raw, h_raw = st.batch_sums_replay(tr["x"], tr["s"], tr["v0"], tr["dynamics"],
                                                                    raw_positions)
                tr["u_raw"], tr["h_raw"] = u_raw, h_raw
            else:
                batch, mismatch = st.batch_sums(tr["u"], tr["s"])
            if mismatch > MAX_SPIKE_MISMATCH * tr["s"].numel() + 1:
                raise RecorderError(
                    f"layer {meta.name} ({meta.class_name}): the replayed U does not reproduce {mismatch} of "
                    f"{tr['s'].numel()} spikes; its dynamics are not Heaviside(U - V_th) - register a NeuronAdapter")
            sums.append(batch)
        per_sample = np.stack([tr["s"].sum(dim=tuple(range(2, tr["s"].dim()))).T.cpu().numpy() for tr in ordered], axis=1)
        predictions = outputs.detach().argmax(dim=1).cpu().numpy()

        def raw_tensor(tr: dict, kind: str, j: int, pos: int) -> np.ndarray:
            if kind in ("u", "h") and f"{kind}_raw" in tr:
                return tr[f"{kind}_raw"][j]
            return tr[kind][:, pos].cpu().numpy()

        raw = [(start + pos, {meta.index: {kind: raw_tensor(tr, kind, j, pos) for kind in self.raw_plan.kinds}
                              for meta, tr in zip(self.layers, ordered)}, frames_np[:, pos])
               for j, pos in enumerate(raw_positions)]
        encoded = encode_raw(raw, self.raw_plan, self.T)
        return BatchResult(start, np.asarray(labels, np.int64), predictions.astype(np.int64),
                           per_sample.astype(np.int32), encoded, sums, frames_np.sum(axis=1, dtype=np.float64),
                           (frames_np > 0).sum(axis=1))

    @staticmethod
    def _neuron_shape(trace: dict) -> dict:
        """[T, N, C, H, W] views (v0: [N, C, H, W]): a fully connected layer [T, N, F] becomes
        C = F, H = W = 1; more than two trailing dimensions are folded into H."""
        def five(t: torch.Tensor, lead: int) -> torch.Tensor:
            rest = t.shape[lead:]
            if len(rest) == 1:
                return t.reshape(*t.shape[:lead], rest[0], 1, 1)
            if len(rest) == 2:
                return t.reshape(*t.shape[:lead], rest[0], rest[1], 1)
            return t.reshape(*t.shape[:lead], rest[0], -1, rest[-1])
        return {key: (t if key == "dynamics" else five(t, 1 if key == "v0" else 2)) for key, t in trace.items()}
