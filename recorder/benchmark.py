"""Benchmark: the cost of recording compared with plain inference, and whether peak memory
grows with the number of samples. Every configuration runs in its own process (so that its
peak RSS is its own), one after the other, in this one invocation; ratios compare runs of
the same invocation.

    .venv/bin/python -m recorder.benchmark [--samples 200] [--T 10] [--batch-size 32]

Model: the paper's 3-layer LIF-SNN (widths 64/128/128, 2 x 32 x 32 input, 5 classes) with
ASA-1, random fixed weights; data: the project's synthetic DVS recordings read from disk.
Modes: plain inference; online statistics only; statistics plus raw U and S for 10% of
the samples. Each at 1x and 4x the number of samples. The one-time compilation (or cache
load) of the numba statistics kernel is done before the clock starts and printed apart.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
from torch.utils.data import DataLoader

from events.dataset import EventFolderDataset
from events.frames import FrameSettings
from events.synthetic import SyntheticSettings, write_dataset
from models.checkpoint import load_checkpoint, save_checkpoint
from models.registry import build_model
from recorder.api import Indexed
from recorder.recorder import Recorder
from recorder.writer import RawPlan

MODES = ("plain", "stats", "stats+raw10%")


def child(mode: str, n: int, data: Path, ckpt: Path, out: Path, batch_size: int, T: int) -> dict:
    torch.set_num_threads(2)
    model, _ = load_checkpoint(ckpt)
    ds = EventFolderDataset(data, FrameSettings(T, 300.0 / T))
    plan = list(range(n))
    loader = DataLoader(Indexed(ds, plan), batch_size=batch_size)
    warm = time.perf_counter()
    if mode != "plain":  # compile (or load from numba's cache) the statistics kernel once per process
        import numpy as np

        from recorder.kernels import run_layer_sums
        run_layer_sums(np.zeros((1, 1, 1, 1), np.float32), np.zeros((1, 1, 1, 1), np.float32), np.linspace(-1, 1, 5), 4, 0.3)
    warm = time.perf_counter() - warm
    started = time.perf_counter()
    if mode == "plain":
        with torch.no_grad():
            for x, _, _ in loader:
                model(x.transpose(0, 1))
    else:
        raw = RawPlan(tuple(range(0, n, 10))) if mode == "stats+raw10%" else RawPlan()
        with Recorder(model, out, sample_indices=plan, T=T, raw=raw, overwrite=True) as rec:
            for x, y, idx in loader:
                rec.record_batch(x.transpose(0, 1), y.numpy(), idx.tolist())
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "kernel_warmup_s": warm, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "file_mb": out.stat().st_size / 2**20 if out.exists() else 0.0}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m recorder.benchmark", description=__doc__.split("\n\n")[0])
    p.add_argument("--samples", type=int, default=200, help="samples at 1x (4x is four times as many)")
    p.add_argument("--T", type=int, default=10)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        mode, n, data, ckpt = args.child
        with tempfile.TemporaryDirectory() as tmp:
            print(json.dumps(child(mode, int(n), Path(data), Path(ckpt), Path(tmp) / "run.h5", args.batch_size, args.T)))
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        classes = SyntheticSettings().classes
        per_class = -(-4 * args.samples // len(classes))
        print(f"writing {per_class * len(classes)} synthetic recordings ...", flush=True)
        write_dataset(tmp / "data", per_class, seed=0)
        torch.manual_seed(0)
        model = build_model("lif_snn3", T=args.T, num_classes=len(classes), input_size=32, attention="asa1")
        save_checkpoint(tmp / "m.pt", model, {"frames": {"T": args.T, "dt_ms": 300.0 / args.T}})
        results = {}
        for scale in (1, 4):
            for mode in MODES:
                n = scale * args.samples
                cmd = [sys.executable, "-m", "recorder.benchmark", "--T", str(args.T), "--batch-size",
                       str(args.batch_size), "--child", mode, str(n), str(tmp / "data"), str(tmp / "m.pt")]
                done = subprocess.run(cmd, capture_output=True, text=True, check=True)
                results[(mode, scale)] = json.loads(done.stdout.strip().splitlines()[-1])
                r = results[(mode, scale)]
                print(f"{mode:<14} {n:5d} samples  {r['seconds']:7.2f} s  {1000 * r['seconds'] / n:6.2f} ms/sample  "
                      f"peak RSS {r['peak_rss_mb']:7.1f} MB  file {r['file_mb']:6.1f} MB  "
                      f"(kernel warm-up {r['kernel_warmup_s']:.2f} s, not timed)", flush=True)
    print()
    for scale in (1, 4):
        plain = results[("plain", scale)]["seconds"]
        print(f"{scale}x: statistics-only / plain = {results[('stats', scale)]['seconds'] / plain:.3f}   "
              f"statistics+raw 10% / plain = {results[('stats+raw10%', scale)]['seconds'] / plain:.3f}")
    for mode in MODES:
        ratio = results[(mode, 4)]["peak_rss_mb"] / results[(mode, 1)]["peak_rss_mb"]
        print(f"peak memory 4x / 1x ({mode}): {ratio:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
