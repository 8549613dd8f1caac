"""Train a model of the zoo on event data and write a checkpoint plus a JSON of metrics.

    python -m models.train --data ../shared/data/nmnist-small --arch lif_snn3 \
        --attention asa1 --T 10 --dt-ms 30 --widths 16 32 32 --hidden 128 \
        --epochs 4 --out runs/nmnist_asa1.pt

--data takes a folder data set (see events.dataset) or 'synthetic' (the project's
generator). The JSON (same path, .json) holds test accuracy, NASFR, per-layer firing
rates and the loss per epoch. CPU by default; CUDA is used when present.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset
from tqdm import tqdm

from events.dataset import EventFolderDataset, has_split, materialize, split_by_recording
from events.frames import FrameSettings
from events.limits import check_limit
from events.synthetic import SyntheticSettings, synthetic_frames
from events.types import EventFileError
from models import TOOL_VERSION
from models.attention import KINDS
from models.base import ModelShapeError, ZooModel, resolve_device
from models.checkpoint import save_checkpoint
from models.firing import tally_spikes
from models.registry import ARCHS, build_model

IN_MEMORY_LIMIT_BYTES = 2 << 30


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m models.train", description=__doc__.split("\n\n")[0])
    p.add_argument("--data", required=True, help="folder data set, or 'synthetic'")
    p.add_argument("--out", required=True, type=Path, help="checkpoint path (.pt); metrics go to the same path with .json")
    p.add_argument("--arch", default="lif_snn3", choices=[a for a in ARCHS if a != "nir"])
    p.add_argument("--attention", default="none", choices=list(KINDS))
    p.add_argument("--reduction", type=int, default=1, help="ASA-1 temporal reduction r")
    p.add_argument("--T", type=int, default=10, help="timesteps (frames per sample)")
    p.add_argument("--dt-ms", type=float, default=None, help="frame length in ms (t_lat = T x dt; default 30, or "
                   "--window-ms / T)")
    p.add_argument("--window-ms", type=float, default=None,
                   help="cut every recording into windows of this length (= T x dt), each a sample; windows never "
                        "cross recordings, and held-out recordings are held out whole")
    p.add_argument("--stride-ms", type=float, default=None,
                   help="start a window every this many ms (default: --window-ms, back to back; implies windows)")
    p.add_argument("--size", type=int, default=None, help="down-sample frames to size x size (default: sensor size)")
    p.add_argument("--sensor-size", type=int, nargs=2, metavar=("W", "H"), help="for event files that do not store it")
    p.add_argument("--widths", type=int, nargs=3, default=None, help="lif_snn3 conv widths (default 64 128 128)")
    p.add_argument("--hidden", type=int, default=None, help="lif_snn3/plif_snn5 hidden units of the first FC layer")
    p.add_argument("--channels", type=int, default=None, help="plif_snn5 conv channels")
    p.add_argument("--train-split", default="train", help="sub-folder with training data, if the folder has one")
    p.add_argument("--test-split", default="test", help="sub-folder with test data, if the folder has one")
    p.add_argument("--test-fraction", type=float, default=0.2, help="held-out share when the folder has no splits")
    p.add_argument("--max-per-class", type=int, default=None, help="use at most this many training files per class")
    p.add_argument("--synthetic-per-class", type=int, default=60, help="synthetic training samples per class")
    p.add_argument("--epochs", type=int, default=6)
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--lr", type=float, default=2e-4, help="Adam learning rate (the paper's rectangular surrogate dies at 1e-3)")
    p.add_argument("--loss", choices=["mse", "ce"], default="mse", help="MSE on one-hot (paper) or cross-entropy")
    p.add_argument("--seed", type=int, default=0, help="training seed: initial weights and batch order")
    p.add_argument("--seeds", type=int, nargs="+", metavar="SEED",
                   help="train one replicate per seed, OUT_seedK.pt each (one after another; one process per GPU "
                        "when there are several); they share the data split (--data-seed)")
    p.add_argument("--data-seed", type=int, default=None,
                   help="seed of the train/test split and of synthetic data (default: --seed, or the first of --seeds)")
    p.add_argument("--device", default="auto", help="auto (CUDA when present, else CPU), cpu, cuda, cuda:1 ...")
    p.add_argument("--threads", type=int, default=None, help="CPU threads for torch")
    p.add_argument("--no-progress", action="store_true")
    return p.parse_args(argv)


def data_seed(args) -> int:
    """The seed of the data split and synthetic data: --data-seed, else --seed."""
    return args.seed if getattr(args, "data_seed", None) is None else args.data_seed


def frame_settings(args) -> tuple[FrameSettings, bool]:
    """(frames, whether recordings are cut into windows) from --T, --dt-ms, --window-ms, --stride-ms."""
    dt_ms = args.dt_ms
    if args.window_ms is not None:
        if not args.window_ms > 0:
            raise ValueError(f"--window-ms must be > 0, got {args.window_ms}")
        if dt_ms is not None and abs(args.T * dt_ms - args.window_ms) > 1e-6:
            raise ValueError(f"--window-ms {args.window_ms:g} must equal T x dt = {args.T} x {dt_ms:g} = "
                             f"{args.T * dt_ms:g} ms; give one of them")
        dt_ms = args.window_ms / args.T
    if args.stride_ms is not None and not args.stride_ms > 0:
        raise ValueError(f"--stride-ms must be > 0, got {args.stride_ms}")
    frames = FrameSettings(args.T, 30.0 if dt_ms is None else dt_ms, (args.size, args.size) if args.size else None)
    return frames, args.window_ms is not None or args.stride_ms is not None


def load_data(args, frames: FrameSettings, windows: bool = False) -> tuple[Dataset, Dataset, list[str], dict]:
    """(train, test, class names, provenance) for --data; without train/test sub-folders the
    recordings are split (per class, seeded), and windows of one recording stay on one side."""
    if args.data == "synthetic":
        syn = SyntheticSettings()
        seed = data_seed(args)
        train = synthetic_frames(args.synthetic_per_class, seed, frames, syn)
        test = synthetic_frames(max(4, args.synthetic_per_class // 4), seed + 1, frames, syn)
        info = {"source": "synthetic", "generator": {"size": syn.size, "duration_ms": syn.duration_ms,
                "noise_hz": syn.noise_hz, "seed_train": seed, "seed_test": seed + 1}}
        return train, test, train.classes, info
    sensor = tuple(args.sensor_size) if args.sensor_size else None
    root = Path(args.data)
    has_splits = has_split(root, args.train_split) and has_split(root, args.test_split)
    cut = {"windows": windows, "stride_ms": args.stride_ms}
    if has_splits:
        train = EventFolderDataset(root, frames, args.train_split, sensor, max_per_class=args.max_per_class, **cut)
        test = EventFolderDataset(root, frames, args.test_split, sensor, **cut)
        if train.classes != test.classes:
            raise EventFileError(f"{root}: train and test class folders differ ({train.classes} vs {test.classes})")
        held_out = []
    else:
        files = EventFolderDataset(root, frames, None, sensor, max_per_class=args.max_per_class)
        if not files.labelled:
            raise EventFileError(f"{root}: event files without class sub-folders have no labels; training needs "
                                 "one sub-folder per class")
        train_files, test_files = split_by_recording(files, args.test_fraction, data_seed(args))
        train = EventFolderDataset(root, frames, None, sensor, max_per_class=args.max_per_class, recordings=train_files, **cut)
        test = EventFolderDataset(root, frames, None, sensor, recordings=test_files, **cut)
        held_out = files.relative(test_files)
    info = {"source": str(root.resolve()), "train_split": args.train_split if has_splits else None,
            "test_split": args.test_split if has_splits else None, "max_per_class": args.max_per_class,
            "windows": {"window_ms": frames.window_us / 1e3, "stride_ms": args.stride_ms} if windows else None,
            "test_recordings": held_out, "train_recordings_count": len(train.recordings),
            "test_recordings_count": len(test.recordings)}
    return train, test, train.classes, info


def describe_data(train_ds: Dataset, test_ds: Dataset, info: dict, frames: FrameSettings, windows: bool) -> None:
    """Say, before training, what the samples are: windows or first t_lat of each recording,
    how many per class, and which recordings are held out."""
    if not isinstance(train_ds, EventFolderDataset):
        return
    unit = f"windows of {frames.window_us / 1e3:g} ms" if windows else f"samples (the first {frames.window_us / 1e3:g} ms of each recording)"
    split = ("the train/test sub-folders" if info.get("train_split") else
             f"recordings held out whole per class ({info['test_recordings_count']} test recordings)")
    print(f"data: {len(train_ds)} training and {len(test_ds)} test {unit}; split by {split}", file=sys.stderr)
    print("training " + ", ".join(f"{name}: {n}" for name, n in train_ds.per_class().items()), file=sys.stderr)
    note = train_ds.coverage_note()
    if note:
        print(f"note: {note}", file=sys.stderr)


def maybe_in_memory(ds: Dataset, frames_shape: tuple[int, ...], progress: bool) -> Dataset:
    if hasattr(ds, "frames"):
        return ds
    return materialize(ds, progress) if len(ds) * int(np.prod(frames_shape)) * 4 < IN_MEMORY_LIMIT_BYTES else ds


def model_args(args, n_classes: int, sample_shape: tuple[int, ...]) -> dict:
    T, channels, height, width = sample_shape
    if height != width:
        raise ModelShapeError(f"frames are {height}x{width}; the models need square input, use --size")
    out = {"T": T, "num_classes": n_classes, "in_channels": channels, "input_size": height,
           "attention": args.attention, "reduction": args.reduction}
    for key in ("widths", "hidden", "channels"):
        if getattr(args, key) is not None:
            out[key] = getattr(args, key)
    return out


def evaluate(model: ZooModel, loader: DataLoader, device: torch.device, progress: bool) -> dict:
    """Accuracy and firing rates on a loader (no gradients)."""
    model.eval()
    correct = total = 0
    with torch.no_grad(), tally_spikes(model) as tally:
        for x, y in tqdm(loader, desc="test", disable=not progress, leave=False):
            out = model(x.transpose(0, 1).to(device))
            correct += int((out.argmax(1).cpu() == y).sum())
            total += len(y)
    return {"test_accuracy": correct / max(total, 1), "nasfr": tally.nasfr(),
            "layer_firing_rates": tally.layer_rates(), "test_samples": total}


def check_output(path: Path) -> None:
    """Fail before training, not after, when the checkpoint cannot be written."""
    folder = path.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / f".{path.name}.probe"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise OSError(f"{path}: cannot write the checkpoint there ({exc.strerror or exc}); choose a writable --out") from None
    if path.exists() and not path.is_file():
        raise OSError(f"{path}: is not a file; choose another --out")


def check_args(args) -> None:
    problems = [m for bad, m in ((args.epochs < 1, f"--epochs must be at least 1, got {args.epochs}"),
                                 (args.batch_size < 1, f"--batch-size must be at least 1, got {args.batch_size}"),
                                 (not args.lr > 0, f"--lr must be > 0, got {args.lr}"),
                                 (not 0 < args.test_fraction < 1, f"--test-fraction must be in (0, 1), got {args.test_fraction}"),
                                 (args.T < 1, f"--T must be at least 1, got {args.T}"),
                                 (args.dt_ms is not None and not args.dt_ms > 0, f"--dt-ms must be > 0 ms, got {args.dt_ms}"),
                                 (args.size is not None and args.size < 1, f"--size must be positive, got {args.size}"))
                if bad]
    if problems:
        raise ValueError(problems[0])
    check_limit("T", args.T, f"--T {args.T} asks for")


def train(args) -> dict:
    check_args(args)
    check_output(args.out)
    torch.manual_seed(args.seed)
    np.random.seed(args.seed)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    frames, windows = frame_settings(args)
    progress = not args.no_progress
    train_ds, test_ds, classes, data_info = load_data(args, frames, windows)
    if len(train_ds) < 1 or len(test_ds) < 1:
        raise EventFileError(f"{args.data}: {len(train_ds)} training and {len(test_ds)} test samples; training needs "
                             "at least one of each (add recordings, or give a folder with train/ and test/ splits)")
    describe_data(train_ds, test_ds, data_info, frames, windows)
    sample_shape = tuple(train_ds[0][0].shape)
    train_ds, test_ds = maybe_in_memory(train_ds, sample_shape, progress), maybe_in_memory(test_ds, sample_shape, progress)
    model = build_model(args.arch, **model_args(args, len(classes), sample_shape)).to(device)
    gen = torch.Generator().manual_seed(args.seed)
    train_loader = DataLoader(train_ds, batch_size=args.batch_size, shuffle=True, generator=gen)
    test_loader = DataLoader(test_ds, batch_size=args.batch_size)
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=max(args.epochs, 1))
    history, started = [], time.time()
    for epoch in range(args.epochs):
        model.train()
        loss_sum = correct = seen = 0
        bar = tqdm(train_loader, desc=f"epoch {epoch + 1}/{args.epochs}", disable=not progress)
        for x, y in bar:
            x, y = x.transpose(0, 1).to(device), y.to(device)
            out = model(x)
            loss = (F.mse_loss(out, F.one_hot(y, len(classes)).float()) if args.loss == "mse"
                    else F.cross_entropy(out, y))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            loss_sum += loss.item() * len(y)
            correct += int((out.argmax(1) == y).sum())
            seen += len(y)
            bar.set_postfix(loss=f"{loss_sum / seen:.4f}", acc=f"{correct / seen:.3f}")
        scheduler.step()
        history.append({"epoch": epoch + 1, "train_loss": loss_sum / seen, "train_accuracy": correct / seen})
    metrics = evaluate(model, test_loader, device, progress)
    metrics.update({"history": history, "train_samples": len(train_ds), "seconds": round(time.time() - started, 1),
                    "parameters": sum(p.numel() for p in model.parameters())})
    meta = {
        "tool_version": TOOL_VERSION, "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "data": {**data_info, "classes": classes},
        "frames": {"T": frames.T, "dt_ms": frames.dt_ms, "size": list(sample_shape[2:]), "binary": frames.binary,
                   "windows": data_info.get("windows")},
        "training": {"epochs": args.epochs, "batch_size": args.batch_size, "lr": args.lr, "loss": args.loss,
                     "seed": args.seed, "data_seed": data_seed(args), "device": str(device),
                     "optimizer": "adam+cosine"},
        "metrics": metrics,
    }
    save_checkpoint(args.out, model.cpu(), meta)
    args.out.with_suffix(".json").write_text(json.dumps({"checkpoint": str(args.out), "arch": model.ARCH,
                                                         "arch_args": model.arch_args, **meta}, indent=2))
    return metrics


def replicate_args(args) -> list[argparse.Namespace]:
    """One set of arguments per --seeds entry: OUT_seedK.pt, the same data seed for all."""
    if len(set(args.seeds)) != len(args.seeds):
        raise ValueError(f"--seeds must differ, got {args.seeds}")
    shared = args.seeds[0] if args.data_seed is None else args.data_seed
    return [argparse.Namespace(**{**vars(args), "seed": seed, "seeds": None, "data_seed": shared,
                                  "out": args.out.with_name(f"{args.out.stem}_seed{seed}{args.out.suffix or '.pt'}")})
            for seed in args.seeds]


def _train_on(job: tuple[argparse.Namespace, str]) -> dict:
    args, device = job
    args.device = device
    return train(args)


def train_replicates(args) -> list[dict]:
    """Train every replicate of --seeds: one after another, or one process per GPU when
    CUDA has several (each replicate on its own device, as many at a time as GPUs)."""
    jobs = replicate_args(args)
    for job in jobs:
        check_output(job.out)
    device = resolve_device(args.device)
    gpus = torch.cuda.device_count() if device.type == "cuda" and args.device in ("auto", "cuda") else 0
    if gpus > 1:
        import multiprocessing as mp  # noqa: PLC0415
        from concurrent.futures import ProcessPoolExecutor  # noqa: PLC0415

        with ProcessPoolExecutor(gpus, mp_context=mp.get_context("spawn")) as pool:
            return list(pool.map(_train_on, [(job, f"cuda:{i % gpus}") for i, job in enumerate(jobs)]))
    results = []
    for job in jobs:
        print(f"replicate seed {job.seed} -> {job.out}", file=sys.stderr)
        results.append(train(job))
    return results


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.seeds:
        try:
            results = train_replicates(args)
        except KeyboardInterrupt:
            print("interrupted: the replicates finished so far are written", file=sys.stderr)
            return 130
        except (EventFileError, ModelShapeError, ValueError, OSError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        accs = np.array([m["test_accuracy"] for m in results])
        for job, m in zip(replicate_args(args), results):
            print(f"seed {job.seed}: test accuracy {m['test_accuracy']:.4f}  NASFR {m['nasfr']:.4f} -> {job.out}")
        print(f"{len(accs)} replicates: test accuracy {accs.mean():.4f} ± {accs.std(ddof=1) if len(accs) > 1 else 0:.4f} "
              "(mean ± sd)")
        return 0
    try:
        metrics = train(args)
    except KeyboardInterrupt:
        print(f"interrupted: nothing was written to {args.out}", file=sys.stderr)
        return 130
    except (EventFileError, ModelShapeError, ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"test accuracy {metrics['test_accuracy']:.4f}  NASFR {metrics['nasfr']:.4f}  "
          f"({metrics['seconds']} s) -> {args.out} and {args.out.with_suffix('.json')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
