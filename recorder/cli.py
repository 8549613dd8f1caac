"""Command line: record a checkpoint on data, show a recording, merge shards.

    python -m recorder record --checkpoint CKPT --data DATA --out RUN.h5 [options]
    python -m recorder info RUN.h5
    python -m recorder merge --out RUN.h5 SHARD0.h5 SHARD1.h5 ...
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset
from tqdm import tqdm

from events.dataset import EventFolderDataset, has_split
from events.frames import FrameSettings
from events.synthetic import SyntheticSettings, synthetic_frames
from events.types import EventFileError
from models.authors import authors_model_from_payload
from models.base import ModelShapeError, ZooModel, resolve_device
from models.checkpoint import CheckpointError, file_sha256, is_project_checkpoint, load_file, model_from_payload
from recorder.adapters import RecorderError
from recorder.merge import merge_shards
from recorder.reader import RecordingFormatError, open_recording
from recorder.recorder import Recorder
from recorder.stats import HistogramSpec
from recorder.writer import RawPlan


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m recorder", description="Record spiking layers to HDF5.")
    sub = p.add_subparsers(dest="command", required=True)
    r = sub.add_parser("record", help="run a checkpoint on data and record every spiking layer")
    r.add_argument("--checkpoint", required=True, type=Path, help="project checkpoint, or an authors' arch-A state_dict")
    r.add_argument("--data", required=True, help="folder data set, or 'synthetic'")
    r.add_argument("--out", required=True, type=Path)
    r.add_argument("--split", default="test", help="sub-folder to record when the folder has splits (default test)")
    r.add_argument("--T", type=int, help="timesteps (authors' checkpoints; must match a project checkpoint)")
    r.add_argument("--dt-ms", type=float, help="frame length in ms (default: the checkpoint's)")
    r.add_argument("--size", type=int, help="frame size (default: the model's input size)")
    r.add_argument("--sensor-size", type=int, nargs=2, metavar=("W", "H"))
    r.add_argument("--classes", type=int, help="number of classes (authors' checkpoints)")
    r.add_argument("--max-samples", type=int, help="record at most this many samples")
    r.add_argument("--synthetic-per-class", type=int, default=20, help="synthetic test samples per class")
    r.add_argument("--synthetic-seed", type=int, default=1)
    raw = r.add_mutually_exclusive_group()
    raw.add_argument("--raw-per-class", type=int, help="keep raw tensors of the first K samples of each class")
    raw.add_argument("--raw-indices", type=int, nargs="+", help="keep raw tensors of these dataset indices")
    raw.add_argument("--raw-fraction", type=float, help="keep raw tensors of this share of samples (evenly spaced)")
    r.add_argument("--raw-h", action="store_true", help="also keep H (after reset)")
    r.add_argument("--raw-x", action="store_true", help="also keep X (the neurons' input)")
    r.add_argument("--u-dtype", choices=["float32", "float16"], default="float32")
    r.add_argument("--spikes", choices=["bool", "packed"], default="bool", help="raw spike storage")
    r.add_argument("--layers", nargs="+", default=(), help="glob patterns of module paths to record (default all)")
    r.add_argument("--hist-range", type=float, nargs=2, default=(-4.0, 4.0), metavar=("LO", "HI"), help="in units of V_th")
    r.add_argument("--hist-bins", type=int, default=160)
    r.add_argument("--batch-size", type=int, default=32)
    r.add_argument("--device", default="auto")
    r.add_argument("--shard", help="record shard i of n ('i/n'), a contiguous share of the samples")
    mode = r.add_mutually_exclusive_group()
    mode.add_argument("--overwrite", action="store_true", help="replace an existing output file")
    mode.add_argument("--resume", action="store_true", help="continue an interrupted recording")
    r.add_argument("--no-progress", action="store_true")
    i = sub.add_parser("info", help="print a summary of a recording")
    i.add_argument("path", type=Path)
    m = sub.add_parser("merge", help="merge shards into one recording")
    m.add_argument("--out", required=True, type=Path)
    m.add_argument("--overwrite", action="store_true")
    m.add_argument("shards", nargs="+", type=Path)
    return p


class Indexed(Dataset):
    """Items (frames, label, dataset index) for a list of indices."""

    def __init__(self, base: Dataset, indices: list[int]):
        self.base, self.indices = base, indices

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, i):
        frames, label = self.base[self.indices[i]]
        return frames, label, self.indices[i]


def load_model(args) -> tuple[ZooModel, dict, dict]:
    """(model, model info, frame defaults) from --checkpoint."""
    payload = load_file(args.checkpoint)
    digest = file_sha256(args.checkpoint)
    if is_project_checkpoint(payload):
        model, meta = model_from_payload(payload, args.checkpoint)
        frames = meta.get("frames", {})
        kind = "project"
    else:
        model = authors_model_from_payload(payload, args.checkpoint, T=args.T, num_classes=args.classes)
        frames, kind = {}, "authors-arch-A"
    info = {"arch": model.ARCH, "arch_args": model.arch_args, "checkpoint": args.checkpoint.name,
            "checkpoint_sha256": digest, "checkpoint_kind": kind}
    return model, info, frames


def frame_settings(args, model: ZooModel, defaults: dict) -> FrameSettings:
    T, _, height, _ = model.expected_input
    if args.T is not None and args.T != T:
        raise RecorderError(f"the checkpoint's model takes T={T} frames; --T {args.T} does not fit it")
    dt_ms = args.dt_ms if args.dt_ms is not None else defaults.get("dt_ms")
    if dt_ms is None:
        raise RecorderError("the checkpoint does not say how long a frame is; give --dt-ms")
    size = args.size or height
    return FrameSettings(T, float(dt_ms), (size, size), bool(defaults.get("binary", False)))


def load_data(args, frames: FrameSettings) -> tuple[Dataset, np.ndarray, dict]:
    if args.data == "synthetic":
        syn = SyntheticSettings()
        ds = synthetic_frames(args.synthetic_per_class, args.synthetic_seed, frames, syn)
        info = {"source": "synthetic", "seed": args.synthetic_seed, "per_class": args.synthetic_per_class,
                "classes": ds.classes, "sensor_size": [syn.size, syn.size]}
        return ds, ds.labels, info
    root = Path(args.data)
    split = args.split if has_split(root, args.split) else None
    ds = EventFolderDataset(root, frames, split, tuple(args.sensor_size) if args.sensor_size else None)
    info = {"source": str(root.resolve()), "split": split, "classes": ds.classes,
            "sensor_size": list(args.sensor_size) if args.sensor_size else None}
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
        problems.append(f"size {got[2]}x{got[3]} vs {height}x{width} (use --size {height})")
    if problems:
        raise RecorderError(f"data {data_name} does not fit the checkpoint: {', '.join(problems)} (data vs model)")


def plan_samples(n: int, shard: str | None) -> list[int]:
    if not shard:
        return list(range(n))
    try:
        i, k = (int(v) for v in shard.split("/"))
        assert 0 <= i < k
    except (ValueError, AssertionError):
        raise RecorderError(f"--shard must be 'i/n' with 0 <= i < n, got {shard!r}") from None
    return list(range(i * n // k, (i + 1) * n // k))


def plan_raw(args, labels: np.ndarray) -> tuple[int, ...]:
    n = len(labels)
    if args.raw_indices:
        bad = [i for i in args.raw_indices if not 0 <= i < n]
        if bad:
            raise RecorderError(f"--raw-indices {bad} are outside the {n} recorded samples")
        return tuple(sorted(set(args.raw_indices)))
    if args.raw_per_class:
        chosen = [np.flatnonzero(labels == c)[: args.raw_per_class] for c in np.unique(labels)]
        return tuple(sorted(int(i) for c in chosen for i in c))
    if args.raw_fraction:
        if not 0 < args.raw_fraction <= 1:
            raise RecorderError(f"--raw-fraction must be in (0, 1], got {args.raw_fraction}")
        return tuple(int(i) for i in np.unique(np.floor(np.arange(0, n, 1 / args.raw_fraction)).astype(int)))
    return ()


def record(args, progress=None) -> Path:
    """Run `record` for parsed arguments; progress(done, total) is called after each batch."""
    model, model_info, defaults = load_model(args)
    frames = frame_settings(args, model, defaults)
    dataset, labels, data_info = load_data(args, frames)
    n = len(dataset) if args.max_samples is None else min(len(dataset), args.max_samples)
    check_fit(model, dataset[0][0], args.data)
    data_info.update({"T": frames.T, "dt_ms": frames.dt_ms, "size": list(frames.size), "n_samples": n})
    device = resolve_device(args.device)
    model = model.to(device).eval()
    plan = plan_samples(n, args.shard)
    raw = RawPlan(plan_raw(args, labels[:n]), args.u_dtype, args.spikes, args.raw_h, args.raw_x)
    spec = HistogramSpec(args.hist_range[0], args.hist_range[1], args.hist_bins)
    with Recorder(model, args.out, sample_indices=plan, T=frames.T, spec=spec, raw=raw, model_info=model_info,
                  data_info=data_info, layers=tuple(args.layers), overwrite=args.overwrite, resume=args.resume,
                  shard=args.shard) as rec:
        todo = Indexed(dataset, plan[rec.n_done:])
        loader = DataLoader(todo, batch_size=args.batch_size)
        with tqdm(desc=f"recording {args.out.name}", unit="sample", total=len(plan), initial=rec.n_done,
                  disable=args.no_progress) as bar:
            for x, y, idx in loader:
                rec.record_batch(x.transpose(0, 1).to(device), y.numpy(), idx.tolist())
                bar.update(len(idx))
                if progress is not None:
                    progress(rec.n_done, len(plan))
    return args.out


def info_text(path: Path) -> str:
    with open_recording(path) as rec:
        lines = [f"{path}: {'complete' if rec.complete else 'INCOMPLETE'} recording, format version "
                 f"{int(rec.file.attrs['format_version'])}, tool {rec.file.attrs['tool_version']}",
                 f"model: {rec.model.get('arch')} {rec.model.get('arch_args', {}).get('attention', '')} "
                 f"(checkpoint {rec.model.get('checkpoint')}, sha256 {str(rec.model.get('checkpoint_sha256'))[:12]})",
                 f"data: {rec.data.get('source')} split={rec.data.get('split')} T={rec.data.get('T')} "
                 f"dt={rec.data.get('dt_ms')} ms size={rec.data.get('size')}",
                 f"samples: {rec.n_done} of {rec.n_total} recorded; raw tensors for {rec.raw_count()}",
                 f"accuracy: {rec.accuracy:.4f}   NASFR: {rec.nasfr():.4f}",
                 f"histogram: {rec.settings['histogram']['bins']} bins of {rec.settings['histogram']['bin_width_vth']:.4g} V_th",
                 "layers:"]
        for layer in rec.layers:
            stats = rec.stats(layer.index)
            rate = stats["spike_count"].sum() / max(layer.neurons * rec.T * rec.n_done, 1)
            nonfinite = int(stats["nonfinite"].sum())
            lines.append(f"  {layer.index:2d} {layer.name:<24} {layer.class_name:<18} C,H,W={layer.shape}  "
                         f"V_th={layer.v_threshold:g} beta={layer.beta:.3g}  firing rate {rate:.4f}"
                         + (f"  non-finite U: {nonfinite}" if nonfinite else ""))
        return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "record":
            out = record(args)
            print(info_text(out))
        elif args.command == "info":
            print(info_text(args.path))
        else:
            out = merge_shards(args.shards, args.out, args.overwrite)
            print(info_text(out))
    except KeyboardInterrupt:
        print(f"interrupted: {args.out} keeps every finished batch; continue with --resume", file=sys.stderr)
        return 130
    except (RecorderError, RecordingFormatError, CheckpointError, EventFileError, ModelShapeError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0
