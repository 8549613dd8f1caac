"""The 5-layer PLIF-SNN of Fang et al. [8] (their DVS128 Gesture net), built from
SpikingJelly layers and ParametricLIFNode, with an attention slot before every conv
block's neurons.

5 x [Conv2d(3x3, no bias) -> BatchNorm2d -> attention -> PLIF -> MaxPool2d(2)],
Flatten -> Dropout(0.5) -> Linear(C*s*s, 512) -> PLIF -> Dropout(0.5) ->
Linear(512, 10 * classes) -> PLIF -> VotingLayer(10); output: mean over T.
"""

from __future__ import annotations

import torch
from spikingjelly.activation_based import layer, neuron, surrogate
from torch import nn

from models.attention import AttentionThenNeuron, make_attention
from models.base import ZooModel

VOTES = 10


def plif() -> neuron.ParametricLIFNode:
    return neuron.ParametricLIFNode(init_tau=2.0, detach_reset=True, surrogate_function=surrogate.ATan(),
                                    step_mode="m")


class PLIFSNN5(ZooModel):
    ARCH = "plif_snn5"

    def __init__(self, T: int = 20, num_classes: int = 11, in_channels: int = 2, input_size: int = 128,
                 channels: int = 128, hidden: int = 512, attention: str = "none", reduction: int = 1,
                 dropout: float = 0.5):
        super().__init__()
        self._remember(locals())
        size = input_size // 2**5
        if size < 1:
            raise ValueError(f"plif_snn5 halves the input 5 times; input_size {input_size} is below 32")
        stages = []
        for i in range(5):
            stages += [
                layer.Conv2d(in_channels if i == 0 else channels, channels, 3, padding=1, bias=False, step_mode="m"),
                layer.BatchNorm2d(channels, step_mode="m"),
                AttentionThenNeuron(make_attention(attention, T, channels, reduction), plif()),
                layer.MaxPool2d(2, 2, step_mode="m"),
            ]
        self.features = nn.Sequential(*stages)
        self.classifier = nn.Sequential(
            layer.Flatten(step_mode="m"), layer.Dropout(dropout, step_mode="m"),
            layer.Linear(channels * size * size, hidden, step_mode="m"), plif(),
            layer.Dropout(dropout, step_mode="m"),
            layer.Linear(hidden, num_classes * VOTES, step_mode="m"), plif(),
            layer.VotingLayer(VOTES, step_mode="m"),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x [T, N, C, H, W] -> mean vote of each class [N, num_classes]."""
        self.begin(x)
        return self.classifier(self.features(x)).mean(dim=0)
