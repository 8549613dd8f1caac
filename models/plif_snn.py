"""The 5-layer PLIF-SNN of Fang et al. [8] (their DVS128 Gesture net), built from
SpikingJelly layers and ParametricLIFNode, with an attention slot before every conv
block's neurons. The same class holds the authors' 5-layer nets (BICLab/ASA-SNN
models/Net2.py = arch B, Net3.py = arch C), which run the same sequence of operations.

5 x [Conv2d(3x3, no bias) -> BatchNorm2d -> attention -> neuron -> Pool2d(2)],
Flatten -> Dropout(0.5) -> Linear(C*h*w, 512) -> neuron -> Dropout(0.5) ->
Linear(512, 10 * classes) -> neuron -> VotingLayer(10); output: mean over T.

neuron: "plif" (ParametricLIFNode, init tau 2, as Fang et al. and arch B) or "lif"
(LIFNode, tau 2, arch C); both V_th = 1, hard reset to 0, input decay, ATan surrogate.
widths: the five conv widths (default: `channels` for all five); pools: the pool after
each block, "max" (Fang, arch B) or "avg" (arch C uses avg after blocks 1-4, max after 5).
input_size: a side (square input) or [height, width].
"""

from __future__ import annotations

import torch
from spikingjelly.activation_based import layer, neuron, surrogate
from torch import nn

from models.attention import AttentionThenNeuron, make_attention
from models.base import ZooModel

VOTES = 10
NEURONS = ("plif", "lif")
POOLS = {"max": layer.MaxPool2d, "avg": layer.AvgPool2d}


def make_neuron(kind: str) -> nn.Module:
    if kind == "plif":
        return neuron.ParametricLIFNode(init_tau=2.0, detach_reset=True, surrogate_function=surrogate.ATan(),
                                        step_mode="m")
    if kind == "lif":
        return neuron.LIFNode(tau=2.0, detach_reset=True, surrogate_function=surrogate.ATan(), step_mode="m")
    raise ValueError(f"unknown neuron '{kind}' for plif_snn5; choose one of {', '.join(NEURONS)}")


class PLIFSNN5(ZooModel):
    ARCH = "plif_snn5"

    def __init__(self, T: int = 20, num_classes: int = 11, in_channels: int = 2, input_size: int | list = 128,
                 channels: int = 128, hidden: int = 512, attention: str = "none", reduction: int = 1,
                 dropout: float = 0.5, widths: list | None = None, neuron: str = "plif",
                 pools: list | None = None):
        super().__init__()
        self._remember(locals())
        widths = list(widths) if widths is not None else [channels] * 5
        pools = list(pools) if pools is not None else ["max"] * 5
        if len(widths) != 5 or len(pools) != 5:
            raise ValueError(f"plif_snn5 needs 5 widths and 5 pools, got {widths} and {pools}")
        unknown = sorted(set(pools) - set(POOLS))
        if unknown:
            raise ValueError(f"unknown pool {unknown[0]!r} for plif_snn5; choose max or avg")
        height, width = self.input_hw
        h, w = height // 2**5, width // 2**5
        if h < 1 or w < 1:
            raise ValueError(f"plif_snn5 halves the input 5 times; input size {height}x{width} is below 32")
        stages, c_in = [], in_channels
        for c_out, pool in zip(widths, pools):
            stages += [
                layer.Conv2d(c_in, c_out, 3, padding=1, bias=False, step_mode="m"),
                layer.BatchNorm2d(c_out, step_mode="m"),
                AttentionThenNeuron(make_attention(attention, T, c_out, reduction), make_neuron(neuron)),
                POOLS[pool](2, 2, step_mode="m"),
            ]
            c_in = c_out
        self.features = nn.Sequential(*stages)
        self.classifier = nn.Sequential(
            layer.Flatten(step_mode="m"), layer.Dropout(dropout, step_mode="m"),
            layer.Linear(c_in * h * w, hidden, step_mode="m"), make_neuron(neuron),
            layer.Dropout(dropout, step_mode="m"),
            layer.Linear(hidden, num_classes * VOTES, step_mode="m"), make_neuron(neuron),
            layer.VotingLayer(VOTES, step_mode="m"),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x [T, N, C, H, W] -> mean vote of each class [N, num_classes]."""
        self.begin(x)
        return self.classifier(self.features(x)).mean(dim=0)
