"""Prove the CUDA path on a machine with a GPU (scripts/gpu_check.sh runs this):

1. the statistics computed on the GPU (PyTorch) equal the CPU's (numba kernel) bit for bit,
   for the same captured U and S of every layer of the paper's 3-layer net with ASA-1;
2. the overhead of recording on the GPU: plain inference vs statistics only vs statistics
   plus raw tensors for 10% of the samples, in one run;
3. how far a whole recording on the GPU is from one on the CPU (convolutions differ in their
   last bits between cuDNN and the CPU, so spikes near threshold may differ: reported, not
   asserted).

    .venv/bin/python -m recorder.gpu_check [--samples 256] [--device cuda]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from events.frames import FrameSettings
from events.synthetic import synthetic_frames
from models.registry import build_model
from recorder.capture import Capture, find_neuron_layers
from recorder.reader import open_recording
from recorder.recorder import Recorder
from recorder.stats import HistogramSpec, LayerStats
from recorder.writer import RawPlan


def statistics_agree(model, x: torch.Tensor, device: torch.device) -> list[str]:
    """The problems found comparing GPU and CPU statistics of the same U and S (empty: none)."""
    layers = find_neuron_layers(model)
    with Capture(layers) as cap, torch.no_grad():
        model(x)
        traces = cap.take()
    problems = []
    for name, module, adapter in layers:
        u, s = traces[name]["u"], traces[name]["s"]
        u5 = u if u.dim() == 5 else u.reshape(*u.shape[:3], 1, 1)
        s5 = s if s.dim() == 5 else s.reshape(*s.shape[:3], 1, 1)
        stats = LayerStats(u5.shape[0], tuple(u5.shape[2:]), adapter.params(module)["v_threshold"], HistogramSpec())
        cpu, cpu_miss = stats.batch_sums_kernel(u5.cpu(), s5.cpu())
        gpu, gpu_miss = stats.batch_sums_torch(u5.to(device), s5.to(device))
        for key in cpu:
            if not np.array_equal(cpu[key], gpu[key]):
                problems.append(f"{name} {key}: GPU and CPU differ")
        if cpu_miss != gpu_miss:
            problems.append(f"{name}: spike mismatch count {gpu_miss} (GPU) vs {cpu_miss} (CPU)")
    return problems


def timed(model, x: torch.Tensor, labels: np.ndarray, batch: int, mode: str, out: Path) -> float:
    n = x.shape[1]
    plan = list(range(n))
    if x.is_cuda:
        torch.cuda.synchronize()
    started = time.perf_counter()
    if mode == "plain":
        with torch.no_grad():
            for i in range(0, n, batch):
                model(x[:, i:i + batch])
    else:
        raw = RawPlan(tuple(range(0, n, 10))) if mode == "raw" else RawPlan()
        with Recorder(model, out, sample_indices=plan, T=x.shape[0], raw=raw, overwrite=True) as rec:
            for i in range(0, n, batch):
                rec.record_batch(x[:, i:i + batch], labels[i:i + batch], plan[i:i + batch])
    if x.is_cuda:
        torch.cuda.synchronize()
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m recorder.gpu_check", description=__doc__.split("\n\n")[0])
    p.add_argument("--samples", type=int, default=256)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--device", default="cuda")
    args = p.parse_args(argv)
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        print("error: no CUDA GPU here; this check needs one (use --device cpu only to try the script)", file=sys.stderr)
        return 2
    device = torch.device(args.device)
    torch.manual_seed(0)
    frames = FrameSettings(T=10, dt_ms=30.0)
    data = synthetic_frames(-(-args.samples // 5), seed=0, frames=frames)
    x = torch.from_numpy(data.frames[: args.samples]).transpose(0, 1).contiguous()
    labels = data.labels[: args.samples]
    model = build_model("lif_snn3", T=10, num_classes=5, input_size=32, attention="asa1").eval()
    print(f"device: {torch.cuda.get_device_name(device) if device.type == 'cuda' else 'cpu'}; torch {torch.__version__}")
    problems = statistics_agree(model, x[:, : args.batch_size], device)
    print("1. statistics on the GPU vs the CPU, same U and S: " + ("bit-identical" if not problems else
                                                                   "DIFFER: " + "; ".join(problems)))
    gpu_model, xg = model.to(device), x.to(device)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        timed(gpu_model, xg, labels, args.batch_size, "stats", tmp / "warm.h5")  # kernels, cuDNN autotuning
        seconds = {mode: timed(gpu_model, xg, labels, args.batch_size, mode, tmp / f"{mode}.h5")
                   for mode in ("plain", "stats", "raw")}
        print(f"2. {args.samples} samples on {device}: plain {seconds['plain']:.2f} s; statistics only "
              f"{seconds['stats'] / seconds['plain']:.3f}x; with raw tensors for 10% {seconds['raw'] / seconds['plain']:.3f}x")
        cpu_model = model.cpu()
        timed(cpu_model, x[:, :64], labels[:64], args.batch_size, "stats", tmp / "cpu.h5")
        timed(gpu_model.to(device), xg[:, :64], labels[:64], args.batch_size, "stats", tmp / "gpu.h5")
        with open_recording(tmp / "cpu.h5") as a, open_recording(tmp / "gpu.h5") as b:
            for info in a.layers:
                ca, cb = a.stats(info.index)["spike_count"], b.stats(info.index)["spike_count"]
                print(f"3. {info.name}: spikes {int(ca.sum())} (CPU) vs {int(cb.sum())} (GPU), "
                      f"{int(np.abs(ca - cb).sum())} neuron-timesteps differ")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
