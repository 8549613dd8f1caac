"""NIR (Neuromorphic Intermediate Representation) graphs in and out.

In: a `.nir` file becomes `NIRNet`, a multi-step model of SpikingJelly modules that the
recorder hooks like any other. Each node is mapped by SpikingJelly's own NIR importer
(`nir_exchange.from_nir`: Affine, Linear, Conv2d, AvgPool2d, Flatten, IF, LIF with its
discretisation rules, e.g. LIF tau / dt, r = 1 or tau / dt); this module adds what it lacks
for recording: a chain of nodes run in multi-step mode, SumPool2d (Sinabs' pooling), input
shape and T, and one error that lists every node type the graph holds and what is supported.
NIR neurons reset to v_reset (0 by default) when they fire: frameworks that subtract the
threshold instead (snnTorch's default, Sinabs' MembraneSubtract) lose that when they export.

Out: a project checkpoint of a chain architecture (lif_snn3, plif_snn5) becomes a `.nir`
graph through SpikingJelly's exporter, BatchNorm folded into the convolution before it.
Attention modules (SA, TCSA, ASA) have no NIR node and are refused, as is SEW-ResNet's
residual sum.

    python -m models.nir_io CHECKPOINT --out model.nir [--dt 1e-4]
"""

from __future__ import annotations

import argparse
import copy
import sys
from collections import OrderedDict
from pathlib import Path

import numpy as np
import torch
from spikingjelly.activation_based import functional, layer, neuron
from torch import nn

from models.base import ZooModel

SUPPORTED = ("Input", "Output", "Affine", "Linear", "Conv2d", "AvgPool2d", "SumPool2d", "Flatten", "IF", "LIF")
DEFAULT_DT = 1e-4  # seconds; what snnTorch and SpikingJelly write, and their importers assume


class NIRError(ValueError):
    """A NIR graph or model that cannot be loaded or exported; the message says why."""


def read_graph(path: str | Path):
    import nir  # noqa: PLC0415

    path = Path(path)
    if not path.is_file():
        raise NIRError(f"{path}: no such NIR file")
    try:
        return nir.read(str(path))
    except Exception as exc:  # h5py, KeyError, ValueError ...: all mean "not a NIR graph"
        raise NIRError(f"{path}: not a readable NIR graph ({type(exc).__name__}: {str(exc)[:120]}); export it with "
                       "nir.write or a framework's NIR export") from None


def node_types(graph) -> list[str]:
    return sorted({type(node).__name__ for node in graph.nodes.values()})


def chain(graph, what: str = "the graph") -> list[str]:
    """Node names from the input to the output; refuses unsupported nodes, branches and
    cycles with what the graph holds."""
    kinds = node_types(graph)
    bad = [k for k in kinds if k not in SUPPORTED]
    if bad:
        raise NIRError(f"{what} holds node types {kinds}; {bad} are not supported (supported: {', '.join(SUPPORTED)})")
    succ: dict[str, list[str]] = {name: [] for name in graph.nodes}
    pred: dict[str, list[str]] = {name: [] for name in graph.nodes}
    for src, dst in graph.edges:
        succ[src].append(dst)
        pred[dst].append(src)
    starts = [n for n, node in graph.nodes.items() if type(node).__name__ == "Input"]
    if len(starts) != 1:
        raise NIRError(f"{what} has {len(starts)} Input nodes; a recordable graph has one")
    order, node = [], starts[0]
    while True:
        order.append(node)
        if len(succ[node]) > 1 or any(len(pred[s]) > 1 for s in succ[node]):
            raise NIRError(f"{what} branches or merges at node '{node}' (residual or recurrent); only chains of "
                           "nodes are supported")
        if not succ[node]:
            break
        node = succ[node][0]
        if node in order:
            raise NIRError(f"{what} has a cycle through '{node}' (a recurrent layer); only chains are supported")
    if type(graph.nodes[order[-1]]).__name__ != "Output":
        raise NIRError(f"{what} ends at '{order[-1]}', not at an Output node")
    if len(order) != len(graph.nodes):
        raise NIRError(f"{what} has nodes off the path from Input to Output: "
                       f"{sorted(set(graph.nodes) - set(order))}")
    return order


def _shape(node_type: dict | None, key: str) -> list[int] | None:
    if not node_type or key not in node_type or node_type[key] is None:
        return None
    return [int(v) for v in np.asarray(node_type[key]).reshape(-1)]


def node_module(node, dt: float) -> nn.Module:
    """The SpikingJelly module of one NIR node (single-step; NIRNet switches to multi-step)."""
    from spikingjelly.activation_based.nir_exchange.from_nir import _NodeMapper  # noqa: PLC0415

    kind = type(node).__name__
    if kind == "SumPool2d":  # a sum over the window: average pooling that divides by 1
        k, s, p = (tuple(int(v) for v in np.atleast_1d(getattr(node, a)).reshape(-1)) for a in
                   ("kernel_size", "stride", "padding"))
        return layer.AvgPool2d(k if len(k) > 1 else k[0], s if len(s) > 1 else s[0], p if len(p) > 1 else p[0],
                               divisor_override=1)
    mapper = _NodeMapper(dt)
    try:
        module = mapper.map_dict[type(node)](node)
    except (ValueError, NotImplementedError) as exc:
        raise NIRError(f"NIR node {kind}: {exc}") from None
    module = getattr(module, "module", module)  # neurons come wrapped for explicit state passing
    if isinstance(module, neuron.BaseNode):
        module.store_v_seq = False
    return module


def neuron_parameters(node) -> dict:
    """A NIR neuron node's parameters as the graph states them (one value each; the importer
    refuses non-uniform ones): tau (s), r, v_leak, v_threshold, v_reset."""
    out = {}
    for key in ("tau", "r", "v_leak", "v_threshold", "v_reset"):
        value = getattr(node, key, None)
        if value is not None:
            out[key] = float(np.asarray(value).reshape(-1)[0])
    return out


class NIRNet(ZooModel):
    """A NIR graph as a multi-step model: input [T, N, C, H, W] -> the output layer's mean
    over time [N, classes] (its firing rate when the graph ends with spiking neurons).

    graph_file: the .nir file; T: timesteps (NIR does not fix them); dt: the time step in
    seconds the graph's time constants are discretised with; in_channels / input_size: the
    input's shape when the graph's Input node does not say it; sha256: refuse another file."""

    ARCH = "nir"

    def __init__(self, graph_file: str, T: int, dt: float = DEFAULT_DT, in_channels: int | None = None,
                 input_size: int | list | None = None, num_classes: int | None = None, sha256: str | None = None):
        super().__init__()
        if not dt > 0:
            raise NIRError(f"dt must be > 0 seconds, got {dt}")
        graph = read_graph(graph_file)
        if sha256:
            from models.checkpoint import file_sha256  # noqa: PLC0415
            if file_sha256(graph_file) != sha256:
                raise NIRError(f"{graph_file} changed since it was recorded (SHA-256 differs)")
        order = chain(graph, Path(graph_file).name)
        shape = _shape(graph.nodes[order[0]].input_type, "input")
        if shape is not None and len(shape) == 4:
            shape = shape[1:]  # a batch dimension written by the exporter
        if shape is not None and len(shape) == 3:
            in_channels = in_channels or shape[0]
            input_size = input_size or [shape[1], shape[2]]
        if in_channels is None or input_size is None:
            raise NIRError(f"{Path(graph_file).name}: its Input node gives no [C, H, W] shape ({shape}); give the "
                           "input's channels and size (--size, and frames of that many polarities)")
        modules = OrderedDict()
        with torch.device("cpu"):  # the weights come from the file, also when sized on the meta device
            for name in order[1:-1]:
                modules[name.replace(".", "_") or "node"] = node_module(graph.nodes[name], dt)
        self.net = nn.Sequential(modules).float()
        functional.set_step_mode(self.net, "m")
        out = _shape(graph.nodes[order[-1]].output_type, "output")
        num_classes = num_classes or (int(np.prod(out[-1:])) if out else None)
        size = list(input_size) if isinstance(input_size, (list, tuple)) else int(input_size)
        self._remember({"graph_file": str(graph_file), "T": int(T), "dt": float(dt), "in_channels": int(in_channels),
                        "input_size": size, "num_classes": num_classes, "sha256": sha256})
        self.nodes = [(name, type(graph.nodes[name]).__name__) for name in order]
        self.neuron_params = {name: neuron_parameters(graph.nodes[name]) for name in order
                              if type(graph.nodes[name]).__name__ in ("IF", "LIF")}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.begin(x)
        out = self.net(x)
        return out.flatten(2).mean(dim=0)


def load_nir(path: str | Path, T: int | None, dt: float = DEFAULT_DT, input_size=None) -> NIRNet:
    """A .nir file as a NIRNet; T must be given (NIR graphs do not fix it)."""
    from models.checkpoint import file_sha256  # noqa: PLC0415

    if not T:
        raise NIRError(f"{Path(path).name} is a NIR graph, which does not fix the number of timesteps; give --T")
    path = Path(path).resolve()
    return NIRNet(str(path), int(T), dt, input_size=input_size, sha256=file_sha256(path)).eval()


# --- export --------------------------------------------------------------------------------------


def _fold(conv: nn.Conv2d, bn: nn.BatchNorm2d) -> nn.Conv2d:
    """The convolution followed by BatchNorm in eval mode, as one convolution."""
    folded = copy.deepcopy(conv)
    scale = bn.weight.detach() / torch.sqrt(bn.running_var + bn.eps)
    with torch.no_grad():
        folded.weight.copy_(conv.weight * scale.view(-1, 1, 1, 1))
        bias = conv.bias.detach() if conv.bias is not None else torch.zeros_like(bn.running_mean)
        folded.bias = nn.Parameter((bias - bn.running_mean) * scale + bn.bias.detach())
    return folded


def _layers(module: nn.Module, prefix: str = ""):
    """(path, module) of the leaves in registration order; a neuron counts as a leaf (its
    surrogate function is part of it)."""
    for name, child in module.named_children():
        path = f"{prefix}{name}"
        if isinstance(child, neuron.BaseNode) or not list(child.children()):
            yield path, child
        else:
            yield from _layers(child, path + ".")


def export_chain(model: ZooModel) -> nn.Sequential:
    """The model's layers in forward order as one single-step Sequential that SpikingJelly's
    exporter can trace: BatchNorm folded, identities dropped; NIRError for what NIR cannot say."""
    attention = model.arch_args.get("attention", "none")
    if attention not in (None, "none"):
        raise NIRError(f"{model.ARCH} with attention '{attention}' cannot be exported: NIR has no node for attention "
                       "modules (SA, TCSA, ASA); export a model without attention")
    if model.ARCH not in ("lif_snn3", "plif_snn5"):
        raise NIRError(f"{model.ARCH} cannot be exported: NIR export covers chains of layers (lif_snn3, plif_snn5); "
                       "SEW-ResNet's residual sums need graph edges the exporter does not write")
    leaves = list(_layers(model))
    out, i = [], 0
    while i < len(leaves):
        name, m = leaves[i]
        if isinstance(m, (nn.Identity, nn.Dropout)) or type(m).__name__ == "Dropout":
            i += 1
            continue
        if isinstance(m, nn.BatchNorm2d):
            if not out or not isinstance(out[-1][1], nn.Conv2d):
                raise NIRError(f"{name}: BatchNorm not right after a convolution cannot be folded for NIR")
            out[-1] = (out[-1][0], _fold(out[-1][1], m))
        elif isinstance(m, (nn.Conv2d, nn.Linear, nn.AvgPool2d, nn.Flatten, neuron.LIFNode, neuron.IFNode,
                            neuron.ParametricLIFNode)):
            out.append((name, copy.deepcopy(m)))
        else:
            raise NIRError(f"{name} ({type(m).__name__}) has no NIR node; NIR export covers conv, linear, average "
                           "pooling, flatten and IF/LIF/PLIF neurons")
        i += 1
    seq = nn.Sequential(OrderedDict((n.replace(".", "_"), m) for n, m in out))
    functional.set_step_mode(seq, "s")
    return seq.eval()


def export_nir(model: ZooModel, path: str | Path, dt: float = DEFAULT_DT) -> Path:
    """Write `model` as a NIR graph (SpikingJelly's exporter on export_chain(model))."""
    from spikingjelly.activation_based.nir_exchange import export_to_nir  # noqa: PLC0415

    seq = export_chain(model)
    _, c, h, w = model.expected_input
    path = Path(path)
    try:
        export_to_nir(seq, torch.zeros(1, c, h, w), save_path=str(path), dt=dt)
    except (ValueError, NotImplementedError) as exc:
        raise NIRError(f"{model.ARCH}: {exc}") from None
    return path


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m models.nir_io", description="Export a checkpoint as a NIR graph.")
    p.add_argument("checkpoint", type=Path)
    p.add_argument("--out", type=Path, required=True, help="the .nir file to write")
    p.add_argument("--dt", type=float, default=DEFAULT_DT, help="time step in seconds for the time constants "
                   f"(default {DEFAULT_DT})")
    args = p.parse_args(argv)
    from models.loader import load_model_file  # noqa: PLC0415

    try:
        loaded = load_model_file(args.checkpoint)
        export_nir(loaded.model, args.out, args.dt)
    except (NIRError, ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"{loaded.model.ARCH} -> {args.out} (NIR, dt = {args.dt:g} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
