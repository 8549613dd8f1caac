"""The Recorder: a context manager that hooks a model's neuron layers and streams what
they do, batch by batch, into a recording file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn

from recorder.adapters import RecorderError
from recorder.capture import Capture, find_neuron_layers
from recorder.stats import HistogramSpec
from recorder.writer import MAX_SPIKE_MISMATCH, LayerMeta, RawPlan, RecordingWriter, _AlreadyComplete


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
    lost to a kill); batch_size: stored, and checked on resume.
    """

    def __init__(self, model: nn.Module, path: str | Path, *, sample_indices: list[int], T: int,
                 spec: HistogramSpec = HistogramSpec(), raw: RawPlan = RawPlan(), model_info: dict | None = None,
                 data_info: dict | None = None, layers: tuple[str, ...] = (), overwrite: bool = False,
                 resume: bool = False, shard: str | None = None, batch_size: int | None = None,
                 checkpoint_seconds: float = 60.0):
        self.model = model
        self.neurons = find_neuron_layers(model, layers)
        self.resume, self.overwrite = resume, overwrite
        self.writer = RecordingWriter(Path(path), n_total=len(sample_indices), sample_indices=sample_indices,
                                      spec=spec, raw=raw, model_info=model_info or {}, data_info=data_info or {},
                                      T=T, shard=shard, batch_size=batch_size, checkpoint_seconds=checkpoint_seconds)
        self.capture = Capture(self.neurons, keep_x=raw.keep_x, keep_h=raw.keep_h)
        self.T = T
        self.already_complete = False

    @property
    def n_done(self) -> int:
        """Samples already recorded (after a resume, where to continue)."""
        return self.writer.n_done

    @property
    def path(self) -> Path:
        return self.writer.path

    def __enter__(self) -> "Recorder":
        if self.resume:
            try:
                self.writer.resume()
            except _AlreadyComplete:
                self.already_complete = True  # the partial file was complete: published, nothing to do
                return self
        else:
            self.writer.create(self.overwrite)
        try:
            self.capture.__enter__()
        except BaseException:
            self.writer.abort()
            raise
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if self.already_complete:
            return
        try:
            self.capture.__exit__(exc_type, exc, tb)
        finally:
            if exc_type is None:
                try:
                    self.writer.finish()
                except BaseException:
                    self.writer.abort()
                    raise
            else:
                never_started = not self.resume and not self.writer.started
                self.writer.abort(exc)
                if never_started:
                    self.writer.discard()  # no half-written file for a run that never got going

    def record_batch(self, frames: torch.Tensor, labels, indices) -> torch.Tensor:
        """Run the model on frames [T, N, ...] (multi-step) and record the batch; returns its output."""
        self.capture.take()
        with torch.no_grad():
            outputs = self.model(frames)
        self.commit(frames, outputs, labels, indices)
        return outputs

    def commit(self, frames: torch.Tensor, outputs: torch.Tensor, labels, indices) -> None:
        """Record what the hooks captured since the last commit: frames [T, N, P, H, W] the input,
        outputs [N, classes], labels [N], indices [N] dataset indices."""
        traces = self.capture.take()
        missing = [name for name, _, _ in self.neurons if name not in traces]
        if missing:
            raise RecorderError(f"layers {missing[:3]} did not run in this batch; every recorded layer must run every batch")
        names = [name for name in self.capture.order if name in traces]
        ordered = [self._neuron_shape(traces[name]) for name in names]
        frames_np = frames.detach().cpu().numpy()
        writer = self.writer
        if not writer.started:
            by_name = {n: (m, a) for n, m, a in self.neurons}
            metas = [LayerMeta(i, name, type(by_name[name][0]).__name__, by_name[name][1].params(by_name[name][0]),
                               tuple(tr["u"].shape[2:])) for i, (name, tr) in enumerate(zip(names, ordered))]
            writer.start(metas, (frames.shape[0], *frames.shape[2:]))
        writer.ensure_input_shape((frames.shape[0], *frames.shape[2:]))
        for meta, tr in zip(writer.layers, ordered):
            if tr["u"].shape[0] != self.T or tuple(tr["u"].shape[2:]) != meta.shape:
                raise RecorderError(f"layer {meta.name}: got [T={tr['u'].shape[0]}, N, {list(tr['u'].shape[2:])}], "
                                    f"recording expects [T={self.T}, N, {list(meta.shape)}]; keep T and input size fixed")
        start, stop = writer.next_rows()
        n = len(indices)
        expected = writer.sample_indices[start:start + n]
        if [int(i) for i in indices] != expected or start + n > stop:
            raise RecorderError(f"batch holds samples {list(indices)[:4]}..., expected {expected[:4]}...; "
                                "record samples in the planned order")
        sums = []
        for meta, st, tr in zip(writer.layers, writer.stats, ordered):
            batch, mismatch = st.batch_sums(tr["u"], tr["s"])
            if mismatch > MAX_SPIKE_MISMATCH * tr["s"].numel() + 1:
                raise RecorderError(
                    f"layer {meta.name} ({meta.class_name}): the replayed U does not reproduce {mismatch} of "
                    f"{tr['s'].numel()} spikes; its dynamics are not Heaviside(U - V_th) - register a NeuronAdapter")
            sums.append(batch)
        per_sample = np.stack([tr["s"].sum(dim=tuple(range(2, tr["s"].dim()))).T.cpu().numpy() for tr in ordered], axis=1)
        predictions = outputs.detach().argmax(dim=1).cpu().numpy()
        raw = [(start + pos, {meta.index: {kind: tr[kind][:, pos].cpu().numpy() for kind in writer.raw.kinds}
                              for meta, tr in zip(writer.layers, ordered)}, frames_np[:, pos])
               for pos, idx in enumerate(indices) if int(idx) in writer.raw_rows]
        writer.write_rows(start, np.asarray(labels), predictions, per_sample, raw)
        for st, batch in zip(writer.stats, sums):
            st.add(batch)
        writer.add_input(frames_np)
        writer.advance(0, n)
    @staticmethod
    def _neuron_shape(trace: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """[T, N, C, H, W] views: a fully connected layer [T, N, F] becomes C = F, H = W = 1;
        more than two trailing dimensions are folded into H."""
        out = {}
        for key, t in trace.items():
            T, N = t.shape[:2]
            rest = t.shape[2:]
            if len(rest) == 1:
                out[key] = t.reshape(T, N, rest[0], 1, 1)
            elif len(rest) == 2:
                out[key] = t.reshape(T, N, rest[0], rest[1], 1)
            else:
                out[key] = t.reshape(T, N, rest[0], -1, rest[-1])
        return out
