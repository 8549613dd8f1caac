"""Record a checkpoint on a data set: the one Python API behind `python -m recorder record`
and the dashboard's Inspect page.

    from recorder.api import RecordSettings, record
    record(RecordSettings(checkpoint="run.pt", data="../shared/data/nmnist-small", out="run.h5"))
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset
from tqdm import tqdm

from events.dataset import EventFolderDataset, has_split
from events.frames import FrameSettings
from events.limits import check_limit
from events.synthetic import SyntheticSettings, synthetic_frames
from models.authors import AuthorsOptions
from models.base import ZooModel, resolve_device
from models.loader import LoadedModel, load_model_file
from recorder import distributed
from recorder.adapters import RecorderError
from recorder.recorder import Recorder
from recorder.stats import HistogramSpec
from recorder.writer import RawPlan


@dataclass(frozen=True)
class RecordSettings:
    """Everything one recording needs; the fields are the record CLI's options.

    checkpoint: a project checkpoint or an authors' file. data: a folder data set or
    "synthetic". T, classes, size: what an authors' file does not fix (size also sets the
    frame size: one side, or (height, width)). asa_mask: "batch" or "sample" (None: the
    default of the checkpoint's kind, see models.loader). raw_*: which samples keep raw U
    and S. shard: "i/n", a contiguous share of the samples.
    """

    checkpoint: Path
    data: str
    out: Path
    split: str = "test"
    window_ms: float | None = None
    stride_ms: float | None = None
    T: int | None = None
    dt_ms: float | None = None
    size: tuple[int, ...] | None = None
    sensor_size: tuple[int, int] | None = None
    classes: int | None = None
    asa_mask: str | None = None
    max_samples: int | None = None
    synthetic_per_class: int = 20
    synthetic_seed: int = 1
    raw_per_class: int | None = None
    raw_indices: tuple[int, ...] | None = None
    raw_fraction: float | None = None
    raw_h: bool = False
    raw_x: bool = False
    u_dtype: str = "float32"
    spikes: str = "bool"
    layers: tuple[str, ...] = ()
    hist_range: tuple[float, float] = (-4.0, 4.0)
    hist_bins: int = 160
    batch_size: int = 32
    device: str = "auto"
    shard: str | None = None
    overwrite: bool = False
    resume: bool = False
    checkpoint_seconds: float = 60.0
    nir_dt: float = 1e-4
    progress_bar: bool = False
    extra_model_info: dict = field(default_factory=dict)

    def __post_init__(self):
        object.__setattr__(self, "checkpoint", Path(self.checkpoint))
        object.__setattr__(self, "out", Path(self.out))
        problems = [message for bad, message in (
            (self.dt_ms is not None and not self.dt_ms > 0, f"--dt-ms must be > 0 ms, got {self.dt_ms}"),
            (self.window_ms is not None and not self.window_ms > 0, f"--window-ms must be > 0 ms, got {self.window_ms}"),
            (self.stride_ms is not None and not self.stride_ms > 0, f"--stride-ms must be > 0 ms, got {self.stride_ms}"),
            (self.T is not None and self.T < 1, f"--T must be at least 1, got {self.T}"),
            (self.batch_size < 1, f"--batch-size must be at least 1, got {self.batch_size}"),
            (self.max_samples is not None and self.max_samples < 1, f"--max-samples must be at least 1, got {self.max_samples}"),
            (self.hist_bins < 1, f"--hist-bins must be at least 1, got {self.hist_bins}"),
            (not self.hist_range[1] > self.hist_range[0], f"--hist-range LO HI needs LO < HI, got {list(self.hist_range)}"),
            (any(not math.isfinite(v) for v in self.hist_range), f"--hist-range must be finite, got {list(self.hist_range)}"),
            (self.raw_per_class is not None and self.raw_per_class < 1, f"--raw-per-class must be at least 1, got {self.raw_per_class}"),
            (self.raw_fraction is not None and not 0 < self.raw_fraction <= 1, f"--raw-fraction must be in (0, 1], got {self.raw_fraction}"),
            (not self.checkpoint_seconds >= 0, f"--checkpoint-seconds must be >= 0, got {self.checkpoint_seconds}"),
            (not self.nir_dt > 0, f"--nir-dt must be > 0 seconds, got {self.nir_dt}"),
            (self.synthetic_per_class < 1, f"--synthetic-per-class must be at least 1, got {self.synthetic_per_class}"),
            (self.sensor_size is not None and min(self.sensor_size) < 1, f"--sensor-size W H must be positive, got {self.sensor_size}"),
            (self.size is not None and (not 1 <= len(self.size) <= 2 or min(self.size) < 1),
             f"--size takes one side or height and width, all positive, got {self.size}"),
        ) if bad]
        if problems:
            raise RecorderError(problems[0])
        check_limit("hist_bins", self.hist_bins, f"--hist-bins {self.hist_bins} asks for")
        if self.T is not None:
            check_limit("T", self.T, f"--T {self.T} asks for")
        if self.sensor_size is not None:
            check_limit("sensor", max(self.sensor_size), f"--sensor-size {self.sensor_size[0]} {self.sensor_size[1]} has a side of")


class Indexed(Dataset):
    """Items (frames, label, dataset index) for a list of indices."""

    def __init__(self, base: Dataset, indices: list[int]):
        self.base, self.indices = base, indices

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, i):
        frames, label = self.base[self.indices[i]]
        return frames, label, self.indices[i]


def _hw(size: tuple[int, ...] | None) -> tuple[int, int] | None:
    if size is None:
        return None
    if len(size) == 1:
        return int(size[0]), int(size[0])
    if len(size) == 2:
        return int(size[0]), int(size[1])
    raise RecorderError(f"size must be one side or height and width, got {list(size)}")


def load_model(settings: RecordSettings) -> LoadedModel:
    """The checkpoint as a model, with what the recording stores about it."""
    hw = _hw(settings.size)
    authors = AuthorsOptions(T=settings.T, num_classes=settings.classes,
                             input_size=hw if hw is None or hw[0] != hw[1] else hw[0])
    return load_model_file(settings.checkpoint, authors, settings.asa_mask, nir_dt=settings.nir_dt)


def frame_settings(settings: RecordSettings, model: ZooModel, defaults: dict) -> FrameSettings:
    T, _, height, width = model.expected_input
    if settings.T is not None and settings.T != T:
        raise RecorderError(f"the checkpoint's model takes T={T} frames; --T {settings.T} does not fit it")
    dt_ms = settings.dt_ms if settings.dt_ms is not None else defaults.get("dt_ms")
    if dt_ms is None and settings.window_ms is not None:
        dt_ms = settings.window_ms / T
    if dt_ms is None:
        raise RecorderError("the checkpoint does not say how long a frame is; give --dt-ms (or --window-ms)")
    if settings.window_ms is not None and abs(T * dt_ms - settings.window_ms) > 1e-6:
        raise RecorderError(f"--window-ms {settings.window_ms:g} must equal the model's T x dt = {T} x {dt_ms:g} = "
                            f"{T * dt_ms:g} ms")
    size = _hw(settings.size) or (height, width)
    return FrameSettings(T, float(dt_ms), size, bool(defaults.get("binary", False)))


def choose_recordings(settings: RecordSettings, frames: FrameSettings, trained_on: dict,
                      class_names: list[str] | None = None) -> tuple[EventFolderDataset, dict]:
    """The data set to record and why: the named split, the recordings the checkpoint held out
    from training in this folder, or every file (with a warning when the checkpoint was
    trained on this folder)."""
    root = Path(settings.data)
    sensor = tuple(settings.sensor_size) if settings.sensor_size else None
    cut = {"windows": settings.window_ms is not None or settings.stride_ms is not None, "stride_ms": settings.stride_ms,
           "class_names": class_names}
    same_folder = (isinstance(trained_on, dict) and root.is_dir()
                   and str(trained_on.get("source")) == str(root.resolve()))
    held_out = trained_on.get("test_recordings") if same_folder else None
    warning = None
    if settings.split != "all" and has_split(root, settings.split):
        ds = EventFolderDataset(root, frames, settings.split, sensor, **cut)
        why, split = f"its '{settings.split}' split", settings.split
    elif settings.split == "test" and held_out:
        folder = EventFolderDataset(root, frames, None, sensor, class_names=class_names)
        ds = EventFolderDataset(root, frames, None, sensor, recordings=[folder.root / p for p in held_out], **cut)
        why, split = f"the {len(held_out)} recordings the checkpoint held out from training", "held-out"
    else:
        ds = EventFolderDataset(root, frames, None, sensor, **cut)
        why = "every recording (--split all)" if settings.split == "all" else \
            f"every recording (it has no '{settings.split}' sub-folder)"
        split = None
        if same_folder:
            warning = ("the checkpoint was trained on this folder, so these recordings include its training data; "
                       "record a held-out split (a test/ sub-folder, or the recordings train held out)")
    info = {"source": str(root.resolve()), "split": split, "classes": ds.classes,
            "sensor_size": list(settings.sensor_size) if settings.sensor_size else None,
            "recordings": len(ds.recordings), "chosen": why,
            "windows": {"window_ms": frames.window_us / 1e3, "stride_ms": settings.stride_ms} if cut["windows"] else None}
    if ds.label_note:
        warning = "; ".join(w for w in (warning, ds.label_note) if w)
    if not ds.labelled:
        info["labels"] = "none"
    return ds, {**info, "warning": warning}


def load_data(settings: RecordSettings, frames: FrameSettings, trained_on: dict | None = None
              ) -> tuple[Dataset, np.ndarray, dict]:
    if settings.data == "synthetic":
        syn = SyntheticSettings()
        ds = synthetic_frames(settings.synthetic_per_class, settings.synthetic_seed, frames, syn)
        info = {"source": "synthetic", "seed": settings.synthetic_seed, "per_class": settings.synthetic_per_class,
                "classes": ds.classes, "sensor_size": [syn.size, syn.size], "chosen": "the project's synthetic set"}
        return ds, ds.labels, info
    trained_on = trained_on or {}
    names = trained_on.get("classes") if isinstance(trained_on.get("classes"), list) else None
    ds, info = choose_recordings(settings, frames, trained_on, names)
    return ds, ds.labels, info


def check_fit(model: ZooModel, sample: torch.Tensor, data_name: str) -> None:
    T, channels, height, width = model.expected_input
    got = tuple(sample.shape)
    problems = []
    if got[0] != T:
        problems.append(f"T {got[0]} vs {T}")
    if got[1] != channels:
        problems.append(f"channels {got[1]} vs {channels}")
    if got[2:] != (height, width):
        hint = f"--size {height}" if height == width else f"--size {height} {width}"
        problems.append(f"size {got[2]}x{got[3]} vs {height}x{width} (use {hint})")
    if problems:
        raise RecorderError(f"data {data_name} does not fit the checkpoint: {', '.join(problems)} (data vs model)")


def plan_samples(n: int, shard: str | None, align: int = 1) -> list[int]:
    """The dataset indices a run records: all n, or shard i of k (contiguous). align: shard
    boundaries fall on multiples of it (batch-mode ASA needs whole batches, so that every
    sample meets the same batch as in one process)."""
    if not shard:
        return list(range(n))
    try:
        i, k = (int(v) for v in shard.split("/"))
        assert 0 <= i < k
    except (ValueError, AssertionError):
        raise RecorderError(f"--shard must be 'i/n' with 0 <= i < n, got {shard!r}") from None
    batches = -(-n // align)
    start, stop = i * batches // k * align, (i + 1) * batches // k * align
    return list(range(min(start, n), min(stop, n)))


def plan_raw(settings: RecordSettings, labels: np.ndarray) -> tuple[int, ...]:
    n = len(labels)
    if settings.raw_indices:
        bad = [i for i in settings.raw_indices if not 0 <= i < n]
        if bad:
            raise RecorderError(f"--raw-indices {bad} are outside the {n} recorded samples")
        return tuple(sorted(set(settings.raw_indices)))
    if settings.raw_per_class:
        chosen = [np.flatnonzero(labels == c)[: settings.raw_per_class] for c in np.unique(labels)]
        return tuple(sorted(int(i) for c in chosen for i in c))
    if settings.raw_fraction:
        if not 0 < settings.raw_fraction <= 1:
            raise RecorderError(f"--raw-fraction must be in (0, 1], got {settings.raw_fraction}")
        return tuple(int(i) for i in np.unique(np.floor(np.arange(0, n, 1 / settings.raw_fraction)).astype(int)))
    return ()


def fit_warnings(model: ZooModel, data_info: dict, labels: np.ndarray) -> list[str]:
    """What makes the recording's numbers misleading without stopping it: a model whose
    class count differs from the data's."""
    out = []
    model_classes = model.arch_args.get("num_classes")
    data_classes = len(data_info.get("classes") or []) or (int(labels.max()) + 1 if len(labels) else 0)
    if model_classes is not None and data_classes and model_classes != data_classes:
        out.append(f"the model has {model_classes} output classes but the data has {data_classes}; accuracy compares "
                   "predictions with labels of another class set (check the checkpoint and the data)")
    return out


def record(settings: RecordSettings, progress: Callable[[int, int], None] | None = None,
           loaded: LoadedModel | None = None, warn: Callable[[str], None] | None = None,
           say: Callable[[str], None] | None = None) -> Path:
    """Record `settings.checkpoint` on `settings.data` into `settings.out`; returns the path.
    progress(done, total) is called after each batch. loaded: the checkpoint already
    opened by load_model(settings), to avoid reading it twice. warn(message) hears of
    anything that makes the numbers misleading (also stored in the recording's data);
    say(message) of what is recorded and why."""
    world = None
    if distributed.launched():
        world = distributed.join(settings.device)
        device = world.device
    else:
        try:
            device = resolve_device(settings.device)
        except ValueError as exc:
            raise RecorderError(str(exc)) from None
    loaded = loaded or load_model(settings)
    model = loaded.model
    frames = frame_settings(settings, model, loaded.frames)
    dataset, labels, data_info = load_data(settings, frames, loaded.meta.get("data"))
    tell = say or (lambda m: None)
    if isinstance(dataset, EventFolderDataset):
        tell(f"recording {data_info['chosen']} of {data_info['source']}: {data_info['recordings']} recordings, "
             f"{len(dataset)} {'windows' if data_info.get('windows') else 'samples'}")
        note = dataset.coverage_note()
        if note:
            tell(f"note: {note}")
    n = len(dataset) if settings.max_samples is None else min(len(dataset), settings.max_samples)
    check_fit(model, dataset[0][0], settings.data)
    data_info.update({"T": frames.T, "dt_ms": frames.dt_ms, "size": list(frames.size), "n_samples": n})
    notes = [w for w in [data_info.pop("warning", None)] if w] + fit_warnings(model, data_info, labels[:n])
    if notes:
        data_info["warnings"] = notes
    for note in notes:
        (warn or (lambda m: None))(note)
    model_info = {**loaded.info, **settings.extra_model_info, "batch_size": settings.batch_size}
    model = model.to(device).eval()
    batch_mode = loaded.mask_mode == "batch"
    plan = plan_samples(n, settings.shard, settings.batch_size if batch_mode else 1)
    raw = RawPlan(plan_raw(settings, labels[:n]), settings.u_dtype, settings.spikes, settings.raw_h, settings.raw_x)
    spec = HistogramSpec(settings.hist_range[0], settings.hist_range[1], settings.hist_bins)
    common = dict(sample_indices=plan, T=frames.T, spec=spec, raw=raw, model_info=model_info, data_info=data_info,
                  layers=tuple(settings.layers), overwrite=settings.overwrite, resume=settings.resume,
                  shard=settings.shard, batch_size=settings.batch_size, checkpoint_seconds=settings.checkpoint_seconds)
    if world is not None:
        return _record_distributed(model, settings, dataset, plan, world, common, progress)
    with Recorder(model, settings.out, **common) as rec:
        todo = Indexed(dataset, plan[rec.n_done:])
        loader = DataLoader(todo, batch_size=settings.batch_size)
        with tqdm(desc=f"recording {settings.out.name}", unit="sample", total=len(plan), initial=rec.n_done,
                  disable=not settings.progress_bar) as bar:
            for x, y, idx in loader:
                rec.record_batch(x.transpose(0, 1).to(device), y.numpy(), idx.tolist())
                bar.update(len(idx))
                if progress is not None:
                    progress(rec.n_done, len(plan))
    return settings.out


def _record_distributed(model, settings: RecordSettings, dataset: Dataset, plan: list[int], world, common: dict,
                        progress) -> Path:
    """Every rank records its share; rank 0 writes the one file (see recorder.distributed)."""
    row_shares = distributed.shares(len(plan), world.size, settings.batch_size)
    rec = Recorder(model, settings.out, **common, shares=row_shares, writes=world.main)
    rec.distributed = True
    link = distributed.Lockstep(world)
    try:
        rec.__enter__()
        opened = None
    except BaseException as exc:  # e.g. rank 0 finds the output file already there
        opened = exc
    problems = link.gather(None if opened is None else f"rank {world.rank}: {opened}", "opening the recording")
    verdict = link.broadcast((next((p for p in problems if p), None), rec.already_complete) if world.main else None,
                             "opening the recording")
    if opened is not None:
        raise opened
    if verdict[0]:
        rec.__exit__(None, None, None)
        raise RecorderError(f"the recording could not start: {verdict[0]}")
    failure = None
    try:
        if not verdict[1]:
            with tqdm(desc=f"recording {settings.out.name} on {world.size} processes", unit="sample",
                      total=len(plan), disable=not (settings.progress_bar and world.main)) as bar:
                distributed.record_lockstep(rec, world, dataset, plan, row_shares, settings.batch_size,
                                            world.device, progress, bar)
    except BaseException as exc:  # every rank stops together in the lockstep (or was interrupted)
        rec.__exit__(type(exc), exc, exc.__traceback__)
        raise
    try:
        rec.__exit__(None, None, None)  # rank 0 verifies and publishes the file
    except BaseException as exc:
        failure = exc
    distributed.finish_together(world, failure)
    return settings.out
