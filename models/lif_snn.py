"""The authors' 3-layer LIF-SNN (arch "A" of BICLab/ASA-SNN, the net of Yao et al. [48]).

Each conv block: Conv2d(3x3, pad 1, bias) -> BatchNorm2d -> AvgPool(k) -> attention ->
LIF; widths 64, 128, 128 and pool kernels 1, 2, 2 by default; head Linear(C*h*w, 256) ->
LIF -> Linear(256, classes) -> LIF; output: mean over T of the last layer's spikes.
Neurons: the paper's LIF (beta = 0.3, V_th = 0.3, hard reset to 0).
"""

from __future__ import annotations

import torch
from spikingjelly.activation_based import layer
from torch import nn

from models.attention import make_attention
from models.base import ZooModel
from models.neurons import PAPER_BETA, PAPER_SURROGATE_HALF_WIDTH, PAPER_V_THRESHOLD, paper_lif


class ConvBlock(nn.Module):
    def __init__(self, c_in: int, c_out: int, pool: int, attention: nn.Module, lif: nn.Module):
        super().__init__()
        self.conv = layer.Conv2d(c_in, c_out, kernel_size=3, padding=1, bias=True, step_mode="m")
        self.bn = layer.BatchNorm2d(c_out, step_mode="m")
        self.pool = layer.AvgPool2d(pool, step_mode="m") if pool > 1 else nn.Identity()
        self.attn = attention
        self.lif = lif

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.lif(self.attn(self.pool(self.bn(self.conv(x)))))


class LIFSNN3(ZooModel):
    ARCH = "lif_snn3"

    def __init__(self, T: int = 60, num_classes: int = 11, in_channels: int = 2, input_size: int = 32,
                 widths: tuple[int, int, int] = (64, 128, 128), pool_kernels: tuple[int, int, int] = (1, 2, 2),
                 hidden: int = 256, attention: str = "none", reduction: int = 1,
                 beta: float = PAPER_BETA, v_threshold: float = PAPER_V_THRESHOLD,
                 surrogate_half_width: float = PAPER_SURROGATE_HALF_WIDTH):
        super().__init__()
        self._remember(locals())
        if len(widths) != 3 or len(pool_kernels) != 3:
            raise ValueError(f"lif_snn3 needs 3 widths and 3 pool kernels, got {widths} and {pool_kernels}")

        def lif():
            return paper_lif(beta, v_threshold, surrogate_half_width)

        blocks, c_in, size = [], in_channels, input_size
        for width, pool in zip(widths, pool_kernels):
            blocks.append(ConvBlock(c_in, width, pool, make_attention(attention, T, width, reduction), lif()))
            c_in, size = width, size // pool
        if size < 1:
            raise ValueError(f"input_size {input_size} is too small for pool kernels {pool_kernels}")
        self.blocks = nn.ModuleList(blocks)
        self.flatten = layer.Flatten(step_mode="m")
        self.fc1 = layer.Linear(c_in * size * size, hidden, step_mode="m")
        self.lif_fc1 = lif()
        self.fc2 = layer.Linear(hidden, num_classes, step_mode="m")
        self.lif_fc2 = lif()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x [T, N, C, H, W] -> firing rate of each class [N, num_classes]."""
        self.begin(x)
        for block in self.blocks:
            x = block(x)
        x = self.lif_fc1(self.fc1(self.flatten(x)))
        return self.lif_fc2(self.fc2(x)).mean(dim=0)
