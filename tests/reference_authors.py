"""An independent reference of the authors' arch-A network, written from the paper's
equations (Eq. 1-10) with explicit loops, and holding its parameters under the
authors' state_dict key layout (DESIGN section 5). Test-only; slow on purpose."""

import torch
from torch import nn


class Holder(nn.Module):
    """Gives a wrapped layer the authors' '.module' key prefix."""

    def __init__(self, module):
        super().__init__()
        self.module = module


class RefASA(nn.Module):
    def __init__(self, T, C, reduction=1, with_fc=True, lam=0.5):
        super().__init__()
        self.lam = lam
        self.alpha = nn.Parameter(torch.tensor([0.5]))
        self.beta = nn.Parameter(torch.tensor([0.5]))
        if with_fc:
            self.fc = (nn.Linear(T, T, bias=False) if reduction == 1 else
                       nn.Sequential(nn.Linear(T, T // reduction, bias=False), nn.ReLU(),
                                     nn.Linear(T // reduction, T, bias=False)))
        else:
            self.fc = None
        self.conv1 = nn.Conv2d(2, 1, 3, padding=1, bias=False)
        self.conv2 = nn.Conv2d(2, 1, 3, padding=1, bias=False)

    @torch.no_grad()
    def forward(self, x):
        """x [N, T, C, H, W]."""
        N, T, C, H, W = x.shape
        out = torch.zeros_like(x)
        for n in range(N):
            f_avg = torch.stack([torch.stack([x[n, t, c].mean() for c in range(C)]) for t in range(T)])
            f_max = torch.stack([torch.stack([x[n, t, c].max() for c in range(C)]) for t in range(T)])
            m = 0.5 * (f_avg + f_max) + self.alpha * f_avg + self.beta * f_max
            if self.fc is not None:
                m = torch.stack([self.fc(m[:, c]) for c in range(C)], dim=1)
            mask_c = torch.zeros(T, C, dtype=x.dtype)
            for t in range(T):
                for c in sorted(range(C), key=lambda c: -m[t, c].item())[: int(C * self.lam)]:
                    mask_c[t, c] = 1
            mask_t = torch.zeros(T, C, dtype=x.dtype)
            for c in range(C):
                for t in sorted(range(T), key=lambda t: -m[t, c].item())[: int(T * self.lam)]:
                    mask_t[t, c] = 1
            m1 = (mask_c != mask_t).to(x.dtype)
            for mask, share, conv in ((m1, self.lam, self.conv1), (1 - m1, 1 - self.lam, self.conv2)):
                group = x[n] * mask[:, :, None, None]
                pooled = torch.stack([group.sum(dim=(0, 1)) / (T * C) / share, group.amax(dim=(0, 1))])
                out[n] += group * torch.sigmoid(conv(pooled[None]))[0, 0]
        return out


class RefLIF:
    """Eq. 1-4 step by step: U = H + X; S = U >= V_th; H = beta * U * (1 - S) (V_reset = 0)."""

    def __init__(self, beta=0.3, v_th=0.3):
        self.beta, self.v_th = beta, v_th

    def __call__(self, x):
        """x [T, ...] -> spikes [T, ...], U [T, ...]."""
        h = torch.zeros_like(x[0])
        spikes, potentials = [], []
        for t in range(x.shape[0]):
            u = h + x[t]
            s = (u >= self.v_th).to(x.dtype)
            h = self.beta * u * (1 - s)
            spikes.append(s)
            potentials.append(u)
        return torch.stack(spikes), torch.stack(potentials)


class RefBlock(nn.Module):
    def __init__(self, c_in, c_out, pool, T, attention):
        super().__init__()
        self.conv = Holder(nn.Conv2d(c_in, c_out, 3, padding=1))
        self.bn = Holder(nn.BatchNorm2d(c_out))
        self.pool = pool
        if attention == "asa1":
            self.attn = RefASA(T, c_out, reduction=1)
        elif attention.startswith("asa1-r"):
            self.attn = RefASA(T, c_out, reduction=int(attention[6:]))
        else:
            self.attn = None
        # the authors' neuron cell carries an attention module it never runs (T = 1)
        self.spike = Holder(nn.Module())
        if self.attn is not None:
            self.spike.module.attn = RefASA(1, c_out)

    def forward(self, x):
        T, N = x.shape[:2]
        y = self.bn.module(self.conv.module(x.flatten(0, 1)))
        if self.pool > 1:
            y = nn.functional.avg_pool2d(y, self.pool)
        y = y.view(T, N, *y.shape[1:])
        if self.attn is not None:
            y = self.attn(y.transpose(0, 1)).transpose(0, 1)
        return RefLIF()(y)[0]


class RefNet(nn.Module):
    """Authors' arch A: 3 conv blocks, FC head, output = mean over T of the last spikes."""

    def __init__(self, T=4, classes=5, widths=(4, 8, 8), hidden=16, size=16, attention="none"):
        super().__init__()
        blocks, c_in = [], 2
        for width, pool in zip(widths, (1, 2, 2)):
            blocks.append(RefBlock(c_in, width, pool, T, attention))
            c_in = width
        self.ConvAttLIFs = nn.ModuleList(blocks)
        fc0, fc1 = nn.Module(), nn.Module()
        fc0.linear = Holder(nn.Linear(c_in * (size // 4) ** 2, hidden))
        fc1.linear = Holder(nn.Linear(hidden, classes))
        self.FCs = nn.ModuleList([fc0, fc1])

    def forward(self, x):
        """x [T, N, 2, H, W] -> [N, classes]."""
        for block in self.ConvAttLIFs:
            x = block(x)
        x = x.flatten(2)
        for fc in self.FCs:
            x = RefLIF()(fc.linear.module(x))[0]
        return x.mean(dim=0)


def randomize(module, seed=0):
    """Non-trivial weights and BN statistics, so that every path is exercised."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, t in module.state_dict().items():
            if t.dtype.is_floating_point:
                if name.endswith("running_var"):
                    t.copy_(torch.rand(t.shape, generator=g) + 0.5)
                else:
                    t.copy_(torch.randn(t.shape, generator=g) * 0.5)
    return module
