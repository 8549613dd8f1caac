"""What the energy model needs to know about a network: its synaptic layers (conv and
linear) with the spiking layer that feeds each, their dense operation counts, and the
cost of attention modules. Found by tracing one forward pass (torch lives here, not in
the measures)."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from models.attention import ASA, SpatialAttention
from models.base import ZooModel
from recorder.adapters import is_neuron


@dataclass(frozen=True)
class SynapticLayer:
    """A conv or linear layer. source: module path of the spiking layer whose spikes it
    reads, or None for real-valued input (the first layer); direct: its input is exactly
    that layer's spike tensor (else it passed through pooling etc.). dense_ops: MACs of
    one timestep for one sample if every input were non-zero. For a direct conv,
    kernel/stride/padding give the fan-out of each input position."""

    name: str
    kind: str
    source: str | None
    direct: bool
    in_shape: tuple[int, ...]
    out_shape: tuple[int, ...]
    dense_ops: int
    out_channels: int
    kernel: tuple[int, int] = (1, 1)
    stride: tuple[int, int] = (1, 1)
    padding: tuple[int, int] = (0, 0)
    groups: int = 1


@dataclass(frozen=True)
class AttentionCost:
    """An attention module: extra parameters, and MACs per sample (all timesteps) counted by
    torch's FlopCounterMode (matrix products and convolutions; flops / 2)."""

    name: str
    params: int
    macs: int


ATTENTION_TYPES = (ASA, SpatialAttention)


def _attention_modules(model: nn.Module) -> list[tuple[str, nn.Module]]:
    from spikingjelly.activation_based.layer import MultiDimensionalAttention

    return [(n, m) for n, m in model.named_modules() if isinstance(m, (*ATTENTION_TYPES, MultiDimensionalAttention))]


def trace(model: ZooModel) -> tuple[list[SynapticLayer], list[AttentionCost]]:
    """Run one zero sample through the model and describe its synaptic layers and attention."""
    T, P, H, W = model.expected_input
    events: list[tuple[str, str, nn.Module, torch.Tensor, torch.Tensor]] = []
    attn_inputs: dict[str, torch.Tensor] = {}
    handles = []
    attention = dict(_attention_modules(model))
    def inside_attention(name: str) -> bool:
        return any(name.startswith(a + ".") for a in attention)

    for name, module in model.named_modules():
        if inside_attention(name):
            continue  # counted with its attention module
        if is_neuron(module):
            handles.append(module.register_forward_hook(lambda m, i, o, n=name: events.append(("neuron", n, m, i[0], o))))
        elif isinstance(module, (nn.Conv2d, nn.Linear)):
            handles.append(module.register_forward_hook(lambda m, i, o, n=name: events.append(("syn", n, m, i[0], o))))
        elif name in attention:
            handles.append(module.register_forward_hook(lambda m, i, o, n=name: attn_inputs.setdefault(n, i[0].detach())))
    try:
        was_training = model.training
        model.eval()
        with torch.no_grad():
            model(torch.zeros(T, 1, P, H, W))
        model.train(was_training)
    finally:
        for h in handles:
            h.remove()
    layers, last = [], None
    for kind, name, module, x, out in events:
        if kind == "neuron":
            last = (name, out)
            continue
        direct = last is not None and x.data_ptr() == last[1].data_ptr() and x.numel() == last[1].numel()
        if isinstance(module, nn.Conv2d):  # SpikingJelly may fold T into the batch: take trailing dims
            per_step_in, per_step_out = tuple(x.shape[-3:]), tuple(out.shape[-3:])
        else:
            per_step_in, per_step_out = tuple(x.shape[-1:]), tuple(out.shape[-1:])
        if isinstance(module, nn.Conv2d):
            c_out, h_out, w_out = per_step_out
            dense = (module.in_channels // module.groups) * module.kernel_size[0] * module.kernel_size[1] * c_out * h_out * w_out
            layers.append(SynapticLayer(name, "conv", last[0] if last else None, direct, per_step_in, per_step_out,
                                        int(dense), c_out, tuple(module.kernel_size), tuple(module.stride),
                                        tuple(module.padding), module.groups))
        else:
            layers.append(SynapticLayer(name, "linear", last[0] if last else None, direct, per_step_in, per_step_out,
                                        module.in_features * module.out_features, module.out_features))
    costs = []
    for name, module in attention.items():
        x = attn_inputs.get(name)
        if x is None:
            continue
        with FlopCounterMode(display=False) as counter, torch.no_grad():
            module(torch.randn_like(x))
        costs.append(AttentionCost(name, sum(p.numel() for p in module.parameters()), counter.get_total_flops() // 2))
    return layers, costs
