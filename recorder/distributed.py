"""Recording across processes, GPUs and machines with torchrun: one run, one file.

    torchrun --nproc_per_node K [--nnodes N --rdzv-endpoint HOST:PORT ...] -m recorder record ...

Every rank records a contiguous share of the samples. Shares fall on whole batches, so each
batch is the batch one process would see: the fixed-point sums, rounded per batch, and (with
the authors' batch-coupled ASA) the outputs are those of a single process. The ranks move in
lockstep, one batch each per step; per step they send rank 0 their per-sample rows and then
their compressed raw chunks, one (sample, layer) at a time, so rank 0's memory does not grow
with the number of ranks or samples. Statistics stay on each rank and are summed exactly
(int64 all_reduce) at checkpoints and at the end. Only rank 0 touches the output file: no
shared file system is needed. gloo on CPUs, nccl on GPUs (one GPU per rank, LOCAL_RANK).

A rank that fails (an unreadable event file, a full disk on rank 0) stops every rank with
the same one-line error; a rank that dies breaks the collectives, and every survivor ends
with one line. The partial file keeps the last checkpoint; --resume with the same number of
processes continues it.
"""

from __future__ import annotations

import datetime
import math
import os
import signal
import threading
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
import torch.distributed as dist
from torch.utils.data import DataLoader, Dataset

from recorder.adapters import RecorderError
from recorder.recorder import Recorder

TIMEOUT_S = float(os.environ.get("SNNR_DIST_TIMEOUT_S", "600"))


@dataclass(frozen=True)
class World:
    rank: int
    size: int
    device: torch.device

    @property
    def main(self) -> bool:
        return self.rank == 0


def launched() -> bool:
    """Whether this process is one of several (torchrun, or an initialised process group)."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_world_size() > 1
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def main_process() -> bool:
    """True outside torchrun, and on rank 0 under it (RANK from torchrun's environment)."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank() == 0
    return int(os.environ.get("RANK", "0")) == 0


def join(device_name: str) -> World:
    """Join the process group torchrun set up (gloo on CPUs, nccl on GPUs): one device per rank."""
    local = int(os.environ.get("LOCAL_RANK", "0"))
    cuda = device_name.startswith("cuda") or (device_name == "auto" and torch.cuda.is_available())
    if cuda and not torch.cuda.is_available():
        raise RecorderError(f"device {device_name}: no usable CUDA GPU on this machine; use --device cpu")
    if not dist.is_initialized():
        try:
            dist.init_process_group("nccl" if cuda else "gloo", timeout=datetime.timedelta(seconds=TIMEOUT_S))
        except (RuntimeError, ValueError) as exc:
            raise RecorderError(f"cannot join the other processes ({str(exc).splitlines()[0]}); start the run "
                                "with torchrun") from None
    if cuda:
        torch.cuda.set_device(local)
    _stop_on_sigterm()
    return World(dist.get_rank(), dist.get_world_size(), torch.device(f"cuda:{local}") if cuda else torch.device("cpu"))


class PeerStopped(RecorderError):
    """Another process of the run ended (torchrun stops the rest with SIGTERM)."""


def _stop_on_sigterm() -> None:
    """torchrun ends the other workers with SIGTERM when one fails: stop with one line."""
    rank = os.environ.get("RANK", "?")

    def stop(signum, frame):
        raise PeerStopped(f"rank {rank}: lost the other processes (another rank ended and torchrun stopped this "
                          "one); the recording keeps its last checkpoint: run the same command again with --resume")
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, stop)


def shares(n: int, size: int, batch: int) -> list[tuple[int, int]]:
    """Contiguous row ranges, one per rank, on whole batches; rank 0's is never empty."""
    batches = -(-n // batch)
    bounds = [min(math.ceil(i * batches / size) * batch, n) for i in range(size + 1)]
    return [(bounds[i], bounds[i + 1]) for i in range(size)]


def _steps(share: tuple[int, int], done: int, batch: int) -> int:
    return -(-(share[1] - share[0] - done) // batch)


class Lockstep:
    """The collectives of one recording; every rank calls the same ones in the same order."""

    def __init__(self, world: World):
        self.world = world

    def _call(self, what: str, fn, *args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except (RuntimeError, dist.DistBackendError, ConnectionError) as exc:
            first = str(exc).strip().splitlines()[0][:160] if str(exc).strip() else type(exc).__name__
            raise RecorderError(f"rank {self.world.rank}: lost the other processes while {what} ({first}); another "
                                "rank stopped: the recording keeps its last checkpoint, run the same command with "
                                "--resume") from None

    def broadcast(self, value, what: str):
        box = [value]
        self._call(what, dist.broadcast_object_list, box, src=0)
        return box[0]

    def gather(self, value, what: str) -> list | None:
        out = [None] * self.world.size if self.world.main else None
        self._call(what, dist.gather_object, value, out, dst=0)
        return out

    def sum_arrays(self, arrays: list[np.ndarray], what: str) -> list[np.ndarray]:
        """Exact sums over ranks of int64 / float64 arrays (float64 only holds whole counts here)."""
        out = []
        for arr in arrays:
            t = torch.from_numpy(np.array(arr, copy=True)).to(self.world.device)  # all_reduce works in place
            self._call(what, dist.all_reduce, t, op=dist.ReduceOp.SUM)
            out.append(t.cpu().numpy())
        return out


def _error(rank: int, exc: BaseException) -> str:
    return f"rank {rank}: {str(exc).splitlines()[0] if str(exc).strip() else type(exc).__name__}"


def record_lockstep(rec: Recorder, world: World, dataset: Dataset, plan: list[int], row_shares: list[tuple[int, int]],
                    batch_size: int, device: torch.device, progress: Callable[[int, int], None] | None = None,
                    bar=None) -> None:
    """Record this rank's share in lockstep with the others; rank 0 writes (rec.writer).
    Every rank calls the same collectives in the same order on every path: an error on any
    rank becomes the step's status, which every rank then raises."""
    from recorder.api import Indexed

    link = Lockstep(world)
    done, layout = link.broadcast((list(rec.writer.shares_done), rec.layout()) if world.main else None,
                                  "agreeing on the progress")
    if layout is not None:
        rec.ensure_local(*layout)
    start, stop = row_shares[world.rank]
    row = start + done[world.rank]
    steps = max(_steps(s, d, batch_size) for s, d in zip(row_shares, done))
    loader = iter(DataLoader(Indexed(dataset, plan[row:stop]), batch_size=batch_size))
    for _ in range(steps):
        result, error = None, None
        try:
            batch = next(loader, None)
            if batch is not None:
                x, y, idx = batch
                rec.capture.take()
                frames = x.transpose(0, 1).to(device)
                with torch.no_grad():
                    outputs = rec.model(frames)
                result = rec.measure(frames, outputs, y.numpy(), idx.tolist(), row, stop)
                row += len(idx)
        except Exception as exc:  # any failure on this rank stops every rank, with this line
            error = _error(world.rank, exc)
        head = None if result is None else (result.start, result.labels, result.predictions, result.spike_counts,
                                             len(result.raw))
        heads = link.gather((error, head), "sending per-sample rows")
        verdict = None
        if world.main:
            status = next((e for e, _ in heads if e), None) or _write_rows(rec, heads)
            verdict = (status, max((h[4] for _, h in heads if h), default=0), len(rec.layers), rec.layout())
        status, raw_count, layers, layout = link.broadcast(verdict, "agreeing on the step")
        if status:
            raise RecorderError(status)
        if layout is not None:
            rec.ensure_local(*layout)
        status = _move_raw(rec, link, world, result, raw_count, layers)
        try:
            if result is not None:
                rec.accept(result)
            accepted = None
        except Exception as exc:
            accepted = _error(world.rank, exc)
        errors = link.gather(accepted, "counting the step")
        verdict = None
        if world.main:
            status = status or next((e for e in errors if e), None)
            if status is None:
                try:
                    for rank, (_, h) in enumerate(heads):
                        if h is not None:
                            rec.writer.advance(rank, len(h[1]))
                except Exception as exc:
                    status = _error(0, exc)
            verdict = (status, status is None and rec.writer.checkpoint_due())
        status, due = link.broadcast(verdict, "closing the step")
        if status:
            raise RecorderError(status)
        if due:
            totals = reduce_totals(rec, link)
            saved = None
            if world.main:
                try:
                    rec.sync_totals(totals)
                    rec.writer.checkpoint()
                except Exception as exc:
                    saved = _error(0, exc)
            saved = link.broadcast(saved, "saving a checkpoint")
            if saved:
                raise RecorderError(saved)
        if world.main:
            if bar is not None:
                bar.update(rec.writer.n_done - bar.n)
            if progress is not None:
                progress(rec.writer.n_done, rec.writer.n_total)
    totals = reduce_totals(rec, link)
    if world.main:
        rec.sync_totals(totals)


def finish_together(world: World, failure: BaseException | None) -> None:
    """After rank 0 has (or has not) published the file, every rank learns the outcome."""
    message = Lockstep(world).broadcast(None if failure is None else str(failure) or type(failure).__name__,
                                        "finishing")
    if failure is not None:
        raise failure
    if message:
        raise RecorderError(f"rank 0 could not finish the recording: {message}")


def _write_rows(rec: Recorder, heads: list) -> str | None:
    """Rank 0 writes every rank's per-sample rows of this step; an error becomes the status."""
    try:
        for _, head in heads:
            if head is not None:
                start, labels, predictions, spikes, _ = head
                rec.writer.write_rows(start, labels, predictions, spikes, [])
        return None
    except Exception as exc:
        return _error(0, exc)


def _move_raw(rec: Recorder, link: Lockstep, world: World, result, raw_count: int, layers: int) -> str | None:
    """Raw chunks to rank 0, one (sample, layer) at a time; rank 0 returns an error as the status."""
    status = None
    mine = result.raw if result is not None else []
    for i in range(raw_count):
        item = mine[i] if i < len(mine) else None
        for part in range(layers + 1):  # every layer, then the input frames
            piece = None
            if item is not None:
                row, by_layer, frames = item
                piece = (row, part, by_layer[part] if part < layers else frames)
            pieces = link.gather(piece, "sending raw tensors")
            if world.main and status is None:
                try:
                    for p in (p for p in pieces if p is not None):
                        if p[1] < layers:
                            rec.writer.write_raw_layer(p[0], p[1], p[2])
                        else:
                            rec.writer.write_raw_input(p[0], p[2])
                except Exception as exc:
                    status = _error(0, exc)
    return status


def reduce_totals(rec: Recorder, link: Lockstep):
    """Every rank's sums added up (an all_reduce each); rank 0 gets them for the writer.
    Every rank holds sums of the same layout (Recorder.ensure_local), zeros if it measured nothing."""
    sums, event_sum, active = rec.local_sums()
    names = list(sums[0]) if sums else []
    flat = [layer[name] for layer in sums for name in names] + [event_sum, active]
    total = link.sum_arrays(flat, "adding up the statistics")
    per_layer = [dict(zip(names, total[i * len(names):(i + 1) * len(names)])) for i in range(len(sums))]
    return per_layer, total[-2], total[-1]
