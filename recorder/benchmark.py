"""Benchmark: the cost of recording compared with plain inference, the bytes it writes, and
whether peak memory grows with the number of samples. Every configuration runs in its own
process (so that its peak RSS and its bytes written are its own), one after the other, in
this one invocation; ratios compare runs of the same invocation.

    .venv/bin/python -m recorder.benchmark [--samples 200] [--T 10] [--batch-size 32]
    .venv/bin/python -m recorder.benchmark --paper [--samples 8]

Default: the paper's 3-layer LIF-SNN (widths 64/128/128, 2 x 32 x 32 input, 5 classes) with
ASA-1, random fixed weights; data: the project's synthetic DVS recordings read from disk.
--paper: the paper's sizes instead: arch A at T = 60 on 2 x 128 x 128 recordings
down-sampled to 32 x 32; the 5-layer PLIF net at 128 x 128 (T = 20); SEW-ResNet-18 at
128 x 128 (T = 16). Modes: plain inference; online statistics only; statistics plus raw U
and S for 10% of the samples. Each at 1x and 4x the number of samples. Bytes written are
what the process passed to write() while recording (/proc/self/io wchar), against the final
file's size. The numba kernel's one-time compilation (or cache load) is done before the
clock starts and printed apart.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
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
# name: (architecture arguments, sensor side of the recordings, frame side, T)
CONFIGS = {
    "default": (dict(arch="lif_snn3", attention="asa1", input_size=32), 32, 32, None),
    "arch A, T=60, 128->32": (dict(arch="lif_snn3", attention="asa1", input_size=32), 128, 32, 60),
    "PLIF-SNN-5, 128x128": (dict(arch="plif_snn5", attention="asa1", input_size=128), 128, 128, 20),
    "SEW-ResNet-18, 128x128": (dict(arch="sew_resnet18", attention="asa1", input_size=128), 128, 128, 16),
}


def written_bytes() -> int:
    """Bytes this process has passed to write() so far (Linux /proc/self/io)."""
    for line in Path("/proc/self/io").read_text().splitlines():
        if line.startswith("wchar:"):
            return int(line.split()[1])
    return 0


def child(mode: str, n: int, data: Path, ckpt: Path, out: Path, batch_size: int, T: int, size: int) -> dict:
    torch.set_num_threads(2)
    model, meta = load_checkpoint(ckpt)
    ds = EventFolderDataset(data, FrameSettings(T, meta["frames"]["dt_ms"], (size, size)))
    plan = list(range(n))
    loader = DataLoader(Indexed(ds, plan), batch_size=batch_size)
    warm = time.perf_counter()
    if mode != "plain":  # compile (or load from numba's cache) the statistics kernel once per process
        import numpy as np

        from recorder.kernels import run_layer_sums, run_replay_sums
        one = np.zeros((1, 1, 1, 1, 1), np.float32)
        run_layer_sums(one, one, np.linspace(-1, 1, 5), 4, 0.3, 2.0**24)
        run_replay_sums(one, one, one[0], {"kind": "lif", "tau": 2.0, "decay_input": True, "v_reset": 0.0,
                                           "v_threshold": 0.3}, np.linspace(-1, 1, 5), 4, 2.0**24, [0])
    warm = time.perf_counter() - warm
    before = written_bytes()
    started = time.perf_counter()
    if mode == "plain":
        with torch.no_grad():
            for x, _, _ in loader:
                model(x.transpose(0, 1))
    else:
        raw = RawPlan(tuple(range(0, n, 10))) if mode == "stats+raw10%" else RawPlan()
        with Recorder(model, out, sample_indices=plan, T=T, raw=raw, overwrite=True, batch_size=batch_size) as rec:
            for x, y, idx in loader:
                rec.record_batch(x.transpose(0, 1), y.numpy(), idx.tolist())
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "kernel_warmup_s": warm, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "file_mb": out.stat().st_size / 2**20 if out.exists() else 0.0,
            "written_mb": (written_bytes() - before) / 2**20 if mode != "plain" else 0.0}


def run_config(name: str, samples: int, T_default: int, batch_size: int, tmp: Path, rounds: int = 1) -> dict:
    """Run every mode at 1x and 4x, `rounds` times interleaved (mode by mode, round by round,
    so that a busy spell of the machine hits every mode alike); print each run, then the
    medians' ratios."""
    arch_args, sensor, size, T = CONFIGS[name]
    T = T or T_default
    syn = SyntheticSettings(size=sensor)
    per_class = -(-4 * samples // len(syn.classes))
    data = tmp / f"data{sensor}"
    if not data.exists():
        print(f"writing {per_class * len(syn.classes)} synthetic {sensor} x {sensor} recordings ...", flush=True)
        write_dataset(data, per_class, seed=0, settings=syn)
    torch.manual_seed(0)
    args = dict(arch_args)
    model = build_model(args.pop("arch"), T=T, num_classes=len(syn.classes), **args)
    ckpt = tmp / "m.pt"
    save_checkpoint(ckpt, model, {"frames": {"T": T, "dt_ms": 300.0 / T}})
    runs: dict[tuple[str, int], list[dict]] = {}
    print(f"== {name}: {model.ARCH}, T={T}, {size} x {size} frames, batch {batch_size}, {rounds} round(s)", flush=True)
    for round_ in range(rounds):
        for scale in (1, 4):
            for mode in MODES:
                n = scale * samples
                cmd = [sys.executable, "-m", "recorder.benchmark", "--T", str(T), "--batch-size", str(batch_size),
                       "--child", mode, str(n), str(data), str(ckpt), str(size)]
                done = subprocess.run(cmd, capture_output=True, text=True, check=True)
                r = json.loads(done.stdout.strip().splitlines()[-1])
                runs.setdefault((mode, scale), []).append(r)
                extra = (f"  file {r['file_mb']:7.2f} MB  written {r['written_mb']:7.2f} MB "
                         f"({r['written_mb'] / max(r['file_mb'], 1e-9):.2f}x the file)  kernel load "
                         f"{r['kernel_warmup_s']:.2f} s" if mode != "plain" else "")
                print(f"round {round_ + 1}  {mode:<14} {n:5d} samples  {r['seconds']:8.2f} s  "
                      f"{n / r['seconds']:7.2f} samples/s  peak RSS {r['peak_rss_mb']:7.1f} MB{extra}", flush=True)
    results = {key: {k: statistics.median(r[k] for r in rs) for k in rs[0]} for key, rs in runs.items()}
    for scale in (1, 4):
        plain = results[("plain", scale)]["seconds"]
        print(f"{scale}x ({scale * samples} samples, medians): statistics-only / plain = "
              f"{results[('stats', scale)]['seconds'] / plain:.3f}   statistics+raw 10% / plain = "
              f"{results[('stats+raw10%', scale)]['seconds'] / plain:.3f}   plain {scale * samples / plain:.2f} "
              f"samples/s")
    for mode in MODES:
        ratio = results[(mode, 4)]["peak_rss_mb"] / results[(mode, 1)]["peak_rss_mb"]
        print(f"peak memory 4x / 1x ({mode}): {ratio:.3f}  ({results[(mode, 1)]['peak_rss_mb']:.0f} -> "
              f"{results[(mode, 4)]['peak_rss_mb']:.0f} MB)")
    return results


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m recorder.benchmark", description=__doc__.split("\n\n")[0])
    p.add_argument("--samples", type=int, default=None, help="samples at 1x (default 200; 8 with --paper)")
    p.add_argument("--T", type=int, default=10)
    p.add_argument("--batch-size", type=int, default=None, help="default 32; 4 with --paper")
    p.add_argument("--paper", action="store_true", help="the paper's sizes (see above)")
    p.add_argument("--rounds", type=int, default=3, help="interleaved rounds; ratios of medians (default 3)")
    p.add_argument("--child", nargs=5, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        mode, n, data, ckpt, size = args.child
        with tempfile.TemporaryDirectory() as tmp:
            print(json.dumps(child(mode, int(n), Path(data), Path(ckpt), Path(tmp) / "run.h5", args.batch_size or 32,
                                   args.T, int(size))))
        return 0
    samples = args.samples or (8 if args.paper else 200)
    batch = args.batch_size or (4 if args.paper else 32)
    names = [n for n in CONFIGS if n != "default"] if args.paper else ["default"]
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            run_config(name, samples, args.T, batch, Path(tmp), max(1, args.rounds))
            print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
