"""Attention modules placed before spiking neurons. All take and return [T, N, C, H, W].

- "none": identity.
- "sa": CBAM-style spatial attention, per timestep: sigmoid(Conv7x7([mean_c; max_c])).
- "tcsa": SpikingJelly's MA-SNN attention (temporal, channel and spatial).
- "asa1", "asa2": the paper's Advanced Spatial Attention (Eq. 5-10), see ASA.
"""

from __future__ import annotations

import torch
from spikingjelly.activation_based import layer
from torch import nn
from torch.nn import functional as F

KINDS = ("none", "sa", "tcsa", "asa1", "asa2")
MASK_MODES = ("sample", "batch")


class ASA(nn.Module):
    """Advanced Spatial Attention (Yao et al. 2023, Eq. 5-10), as the authors' code runs it.

    g1: F_avg, F_max [N, T, C] pool every (t, c) map over (h, w).
    M' = 0.5 (F_avg + F_max) + alpha F_avg + gamma F_max (alpha, gamma trainable, init 0.5).
    variant 1: M = fc(M') along T (r = 1: one T x T map without ReLU; r > 1: T -> T/r ->
    ReLU -> T, no biases); variant 2: M = M'.
    g2: mask_c = top k_c = int(C * lam) channels of M at each t; mask_t = top k_t =
    int(T * lam) timesteps for each c; M1 = 1 where exactly one mask is set, M2 = 1 - M1.
    Each group X*M1, X*M2 gets its own f_S = sigmoid(Conv3x3([mean / share; max] over
    (t, c))) where share is lam for M1 and 1 - lam for M2 (the authors' normalisation),
    and the two weighted groups are added. Parameter names follow the paper (gamma is
    the authors' `beta`).

    mask_mode (see set_asa_mask_mode): "sample" computes mask_c and mask_t for each sample
    from its own M (the paper's Eq. 10); "batch" is what the authors' code computes: a
    channel (timestep) is marked for every sample when it is top-k for ANY sample of the
    batch (`important[:, i, topk[:, i]] = 1` in their Attn.get_im_subim_channels), so a
    sample's output depends on the rest of its batch. Both agree on a batch of one.
    """

    def __init__(self, T: int, C: int, variant: int = 1, reduction: int = 1, lam: float = 0.5):
        super().__init__()
        if variant not in (1, 2):
            raise ValueError(f"ASA variant must be 1 or 2, got {variant}")
        if variant == 1 and (reduction < 1 or T // reduction < 1):
            raise ValueError(f"ASA-1 reduction must be in 1..T={T}, got {reduction}")
        self.T, self.C, self.variant, self.reduction, self.lam = T, C, variant, reduction, lam
        self.mask_mode = "sample"
        self.alpha = nn.Parameter(torch.tensor([0.5]))
        self.gamma = nn.Parameter(torch.tensor([0.5]))
        if variant == 2:
            self.fc = None
        elif reduction == 1:
            self.fc = nn.Linear(T, T, bias=False)
        else:
            self.fc = nn.Sequential(nn.Linear(T, T // reduction, bias=False), nn.ReLU(),
                                    nn.Linear(T // reduction, T, bias=False))
        self.conv_important = nn.Conv2d(2, 1, kernel_size=3, padding=1, bias=False)
        self.conv_subimportant = nn.Conv2d(2, 1, kernel_size=3, padding=1, bias=False)

    def importance(self, x: torch.Tensor) -> torch.Tensor:
        """M [N, T, C] for x [N, T, C, H, W] (Eq. 8 and the fc of ASA-1). The pooling and the
        contiguous layout before the fc are the authors' operations, so M is bitwise theirs."""
        f_avg = F.adaptive_avg_pool3d(x, (None, 1, 1)).flatten(2)
        f_max = F.adaptive_max_pool3d(x, (None, 1, 1)).flatten(2)
        m = 0.5 * (f_avg + f_max) + self.alpha * f_avg + self.gamma * f_max
        if self.fc is not None:
            m = self.fc(m.transpose(1, 2).contiguous()).transpose(1, 2)
        return m

    def split_mask(self, m: torch.Tensor) -> torch.Tensor:
        """M1 [N, T, C] in {0, 1}: the XOR of the top-k channel and top-k timestep masks,
        per sample or as the union over the batch (mask_mode)."""
        _, T, C = m.shape
        mask_c = torch.zeros_like(m).scatter_(2, m.topk(int(C * self.lam), dim=2).indices, 1.0)
        mask_t = torch.zeros_like(m).scatter_(1, m.topk(int(T * self.lam), dim=1).indices, 1.0)
        if self.mask_mode == "batch":
            mask_c = mask_c.amax(dim=0, keepdim=True).expand_as(m)
            mask_t = mask_t.amax(dim=0, keepdim=True).expand_as(m)
        return ((mask_c + mask_t) == 1).to(m.dtype)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 5 or x.shape[0] != self.T or x.shape[2] != self.C:
            raise ValueError(f"ASA expects [T={self.T}, N, C={self.C}, H, W], got {list(x.shape)}")
        xn = x.transpose(0, 1)
        m1 = self.split_mask(self.importance(xn))[..., None, None]
        groups = ((xn * m1, self.lam, self.conv_important), (xn * (1 - m1), 1 - self.lam, self.conv_subimportant))
        out = 0
        for group, share, conv in groups:
            flat = group.flatten(1, 2)
            pooled = torch.cat([flat.mean(dim=1, keepdim=True) / share, flat.amax(dim=1, keepdim=True)], dim=1)
            out = out + group * torch.sigmoid(conv(pooled)).unsqueeze(1)
        return out.transpose(0, 1)


def set_asa_mask_mode(model: nn.Module, mode: str) -> int:
    """Set how every ASA module of `model` computes its top-k masks ("sample" or "batch",
    see ASA); returns how many ASA modules there are."""
    if mode not in MASK_MODES:
        raise ValueError(f"unknown ASA mask mode '{mode}'; choose one of {', '.join(MASK_MODES)}")
    modules = [m for m in model.modules() if isinstance(m, ASA)]
    for m in modules:
        m.mask_mode = mode
    return len(modules)


def asa_mask_mode(model: nn.Module) -> str | None:
    """The mask mode of the model's ASA modules, or None when it has none."""
    modes = {m.mask_mode for m in model.modules() if isinstance(m, ASA)}
    if len(modes) > 1:
        raise ValueError(f"the model's ASA modules use different mask modes {sorted(modes)}; set one with set_asa_mask_mode")
    return modes.pop() if modes else None


class SpatialAttention(nn.Module):
    """CBAM-style spatial attention applied per timestep, 7x7 kernel shared over time."""

    def __init__(self, kernel_size: int = 7):
        super().__init__()
        self.conv = nn.Conv2d(2, 1, kernel_size=kernel_size, padding=kernel_size // 2, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        flat = x.flatten(0, 1)
        pooled = torch.cat([flat.mean(dim=1, keepdim=True), flat.amax(dim=1, keepdim=True)], dim=1)
        return (flat * torch.sigmoid(self.conv(pooled))).view_as(x)


def make_attention(kind: str, T: int, C: int, reduction: int = 1) -> nn.Module:
    """The attention module of `kind` (see KINDS) for T timesteps and C channels."""
    if kind == "none":
        return nn.Identity()
    if kind == "sa":
        return SpatialAttention()
    if kind == "tcsa":
        return layer.MultiDimensionalAttention(T, C, reduction_t=max(1, min(4, T)),
                                               reduction_c=max(1, min(16, C)), kernel_size=3)
    if kind in ("asa1", "asa2"):
        return ASA(T, C, variant=int(kind[-1]), reduction=reduction)
    raise ValueError(f"unknown attention '{kind}'; choose one of {', '.join(KINDS)}")


class AttentionThenNeuron(nn.Module):
    """Wraps an existing neuron layer so that an attention module runs right before it."""

    def __init__(self, attn: nn.Module, neuron: nn.Module):
        super().__init__()
        self.attn, self.neuron = attn, neuron

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.neuron(self.attn(x))
