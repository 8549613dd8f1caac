"""Make the authors' reference files: run BICLab/ASA-SNN's own model and training code and
save what it produces. Run in a throw-away environment, never by the tests (see README.md
beside this file):

    python generate.py --authors-repo /path/to/ASA-SNN --out sj-0.0.0.0.12

For every case it builds their DVSGestureNet (models/Net.py = arch A, Net2.py = B, Net3.py
= C, Net4.py = D), trains it for a few short epochs on seeded synthetic event frames with their
`apis.train.train`, saves the weights as their `apis.run` does
(`torch.save(model.state_dict(), path)`) and then, in eval mode on fixed inputs, stores:

  inputs          [N, T, 2, H, W] uint8 event counts (their input layout)
  out_batch       [N, classes] float32, one forward pass over the whole batch
  out_single      [N, classes] float32, each sample alone (see below)
  layers          their module paths of the spiking layers, in forward order
  s_batch_<i>     bit-packed spikes [T, N, ...] of layer i (np.packbits of the flat bools)
  s_single_<i>    the same, each sample alone
  x_batch_<i>     float32 input current of layer i's neurons [T, 1, ...] (after attention), of
                  the first sample of the batch (one sample keeps the files small)
  shape_<i>       the unpacked shape of layer i's tensors

Their ASA cannot run a batch of one (`map_add.squeeze()`), so "each sample alone" is their
forward pass on a batch of two copies of the sample: the union of the top-k masks over two
identical samples is that sample's own mask, which is the paper's per-sample ASA.

Nothing of their code is copied here; it is imported from their checkout.
"""

from __future__ import annotations

import argparse
import datetime
import json
import platform
import subprocess
import sys
from pathlib import Path

import numpy as np

# name: (arch, attention, reduction, T, classes, constructor keyword arguments)
CASES = {
    "a_none": ("A", "no", 1, 6, 5, {"conv_configs": [(2, 8, 3), (8, 16, 3), (16, 16, 3)]}),
    "a_asa_r1": ("A", "ASA", 1, 6, 5, {"conv_configs": [(2, 8, 3), (8, 16, 3), (16, 16, 3)]}),
    "a_asa_r2": ("A", "ASA", 2, 6, 5, {"conv_configs": [(2, 8, 3), (8, 16, 3), (16, 16, 3)]}),
    "d_asa_r4": ("D", "ASA", 4, 8, 4, {}),
    "b_none": ("B", "no", 1, 5, 3, {"channels": 1, "conv_configs": [(2, 8, 3, 1), (8, 8, 3, 1), (8, 8, 3, 1),
                                                                      (8, 8, 3, 1), (8, 16, 3, 1)]}),
    "b_asa": ("B", "ASA", 1, 5, 3, {"channels": 1, "conv_configs": [(2, 8, 3, 1), (8, 8, 3, 1), (8, 8, 3, 1),
                                                                     (8, 8, 3, 1), (8, 16, 3, 1)]}),
    "c_asa": ("C", "ASA", 1, 5, 3, {"channels": 1, "conv_configs": [(2, 8, 3, 1), (8, 8, 3, 1), (8, 8, 3, 1),
                                                                     (8, 8, 3, 1), (8, 16, 3, 1)]}),
}
SIZE = 32          # input side: arch A/D hard-code an 8 x 8 map before the head (32 / 4)
N_EVAL = 4         # samples of the fixed evaluation batch
N_TRAIN = 32
BACKGROUND = 0.2  # events per pixel and frame off the object
EPOCHS = 8
# Trained for seconds, the 5-layer nets (threshold 1, tau 2) fall silent after their first
# layers. After training, each layer in forward order whose firing rate on the training
# inputs is under MIN_RATE gets its BatchNorm weight (conv layers) or Linear weight (head)
# multiplied by 1.5 until it reaches it (a change of weights, not of their code), so that
# every layer of the reference fires.
MIN_RATE = 0.02


def frames(n: int, T: int, classes: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Poisson event counts [n, T, 2, SIZE, SIZE]: sparse background noise and a bright
    8 x 8 square whose path depends on the class."""
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % classes
    rate = np.full((n, T, 2, SIZE, SIZE), BACKGROUND)
    for i, label in enumerate(labels):
        for t in range(T):
            r = 4 + (label * 5 + t * 2) % (SIZE - 12)
            c = 4 + (label * 3 + t * (1 + label % 2)) % (SIZE - 12)
            rate[i, t, label % 2, r:r + 8, c:c + 8] = 1.2
            rate[i, t, 1 - label % 2, r + 2:r + 6, c + 2:c + 6] = 0.6
    return rng.poisson(rate).astype(np.uint8), labels


def neuron_containers(model, arch: str):
    """(their module path, module) of every spiking layer, in forward order."""
    inner = (lambda i: f"ConvAttLIFs.{i}.0.spike") if arch in "BC" else (lambda i: f"ConvAttLIFs.{i}.spike")
    head = (lambda i: f"FCs.{i}.1.spike") if arch in "BC" else (lambda i: f"FCs.{i}.spike")
    paths = [inner(i) for i in range(len(model.ConvAttLIFs))] + [head(i) for i in range(len(model.FCs))]
    modules = dict(model.named_modules())
    return [(p, modules[p]) for p in paths]


def scaled_weight(model, arch: str, layer: int):
    """The weight that sets the drive of spiking layer `layer`: its BatchNorm's (conv
    layers) or its Linear's (head)."""
    convs = len(model.ConvAttLIFs)
    if layer < convs:
        block = model.ConvAttLIFs[layer][0] if arch in "BC" else model.ConvAttLIFs[layer]
        return block.bn[0].weight
    head = model.FCs[layer - convs]
    return head[1].fc.weight if arch in "BC" else head.linear[0].weight


def calibrate(model, arch, x, functional, torch) -> list[float]:
    """Scale each silent layer's drive (see MIN_RATE); returns the factor per layer."""
    gains = []
    for layer in range(len(neuron_containers(model, arch))):
        gain = 1.0
        for _ in range(30):
            _, spikes, _ = run_eval(model, arch, x, functional, torch)
            if float(spikes[layer].float().mean()) >= MIN_RATE:
                break
            with torch.no_grad():
                scaled_weight(model, arch, layer).mul_(1.5)
            gain *= 1.5
        gains.append(round(gain, 4))
    return gains


def run_eval(model, arch, x, functional, torch):
    """Their forward on x [N, T, 2, H, W]: (outputs, spikes per layer, currents per layer)."""
    currents = {}
    handles = [m.register_forward_pre_hook(lambda mod, args, p=p: currents.__setitem__(p, args[0].detach().clone()))
               for p, m in neuron_containers(model, arch)]
    try:
        functional.reset_net(model)
        with torch.no_grad():
            out, firing = model(x)
        functional.reset_net(model)
    finally:
        for h in handles:
            h.remove()
    return out, [f.detach() for f in firing], [currents[p] for p, _ in neuron_containers(model, arch)]


def make_case(name: str, out_dir: Path, torch, nn, functional, parser, train_fn) -> dict:
    arch, attention, reduction, T, classes, kwargs = CASES[name]
    argv = ["-arch", arch, "-T", str(T), "-attention", attention, "-reduction", str(reduction),
            "-num_classes", str(classes), "-ps", "00011", "-lr", "1e-3", "-num_epochs", str(EPOCHS), "-dataset", "gesture"]
    args = parser.parse_args(argv)
    args.device = torch.device("cpu")
    torch.manual_seed(sum(map(ord, name)))
    module = {"A": "models.Net", "B": "models.Net2", "C": "models.Net3", "D": "models.Net4"}[arch]
    net_cls = __import__(module, fromlist=["DVSGestureNet"]).DVSGestureNet
    model = net_cls(args, **kwargs)
    # As their model.create_net does (its scheduler call fails on torch >= 2.7, so it is not called).
    args.model = model
    args.optimizer = torch.optim.Adam(model.parameters(), lr=args.lr, betas=args.betas, eps=args.eps,
                                      weight_decay=args.weight_decay)
    xs, ys = frames(N_TRAIN, T, classes, seed=1)
    dataset = torch.utils.data.TensorDataset(torch.from_numpy(xs).float(), torch.from_numpy(ys).long())
    args.train_loader = torch.utils.data.DataLoader(dataset, batch_size=8, shuffle=False)
    args.train_dataset = dataset
    for args.epoch in range(args.num_epochs):
        model.train()
        train_fn(args)
    model.eval()
    gains = calibrate(model, arch, torch.from_numpy(xs[:8]).float(), functional, torch)
    torch.save(model.state_dict(), out_dir / f"{name}.pth")  # what their apis.run writes
    if name == "a_asa_r1":  # the pre-trained layout their apis.run reads: {"net": DataParallel's keys}
        torch.save({"net": nn.DataParallel(model).state_dict()}, out_dir / f"{name}.net_dataparallel.pth")

    x_np, labels = frames(N_EVAL, T, classes, seed=2)
    x = torch.from_numpy(x_np).float()
    out_b, s_b, x_b = run_eval(model, arch, x, functional, torch)
    singles = [run_eval(model, arch, x[i:i + 1].repeat(2, 1, 1, 1, 1), functional, torch) for i in range(N_EVAL)]
    out_s = torch.cat([o[:1] for o, _, _ in singles])
    arrays = {"inputs": x_np, "labels": labels, "out_batch": out_b.numpy().astype(np.float32),
              "out_single": out_s.numpy().astype(np.float32),
              "layers": np.array([p for p, _ in neuron_containers(model, arch)])}
    for i, (sb, xb) in enumerate(zip(s_b, x_b)):
        s_single = torch.cat([s[i][:, :1] for _, s, _ in singles], dim=1)
        arrays[f"shape_{i}"] = np.array(sb.shape)
        arrays[f"s_batch_{i}"] = np.packbits(sb.numpy().astype(bool).ravel())
        arrays[f"s_single_{i}"] = np.packbits(s_single.numpy().astype(bool).ravel())
        arrays[f"x_batch_{i}"] = xb[:, :1].numpy().astype(np.float32)
    np.savez_compressed(out_dir / f"{name}.npz", **arrays)
    rates = [round(float(s.float().mean()), 4) for s in s_b]
    spikes_differ = sum(int((sb != torch.cat([s[i][:, :1] for _, s, _ in singles], dim=1)).sum())
                        for i, sb in enumerate(s_b))
    print(f"{name}: arch {arch}, attention {attention}, r {reduction}, T {T}, firing rates {rates}, "
          f"spikes that differ between batch and single: {spikes_differ}")
    return {"arch": arch, "argv": argv, "constructor_kwargs": kwargs, "input_size": [2, SIZE, SIZE],
            "gains_after_training": gains, "parameters": int(sum(p.numel() for p in model.parameters())), "firing_rates": rates,
            "spikes_batch_vs_single_differ": spikes_differ}


def main() -> None:
    cli = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    cli.add_argument("--authors-repo", required=True, type=Path, help="a checkout of github.com/BICLab/ASA-SNN")
    cli.add_argument("--out", required=True, type=Path)
    cli.add_argument("--cases", nargs="*", default=list(CASES))
    opts = cli.parse_args()
    sys.path.insert(0, str(opts.authors_repo.resolve()))
    import einops
    import spikingjelly
    import torch
    from torch import nn
    from spikingjelly.clock_driven import functional
    from config import parser
    from apis.train import train

    torch.set_num_threads(1)  # one thread: the same float reductions on every machine
    opts.out.mkdir(parents=True, exist_ok=True)
    commit = subprocess.run(["git", "-C", str(opts.authors_repo), "rev-parse", "HEAD"], capture_output=True,
                            text=True).stdout.strip() or "unknown (no git work tree; give it in README)"
    cases = {name: make_case(name, opts.out, torch, nn, functional, parser, train) for name in opts.cases}
    from importlib.metadata import version
    provenance = {
        "made_by": "tests/data/authors/generate.py", "authors_repository": "https://github.com/BICLab/ASA-SNN",
        "authors_commit": commit, "python": platform.python_version(), "torch": torch.__version__,
        "spikingjelly": version("spikingjelly"), "spikingjelly_module": spikingjelly.__file__.split("site-packages")[-1],
        "einops": einops.__version__, "numpy": np.__version__, "threads": 1,
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"), "cases": cases,
    }
    (opts.out / "provenance.json").write_text(json.dumps(provenance, indent=1) + "\n")


if __name__ == "__main__":
    main()
