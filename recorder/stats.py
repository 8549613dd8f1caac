"""Online statistics of one spiking layer over all samples: sums and counts only, so that
shards add up exactly. Shapes: T timesteps, C channels, H x W neurons per channel."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from recorder import schema as S
from recorder.adapters import RecorderError


@dataclass(frozen=True)
class HistogramSpec:
    """MPD bins in units of V_th: `bins` equal bins from lo to hi, plus one underflow bin
    (U < lo V_th) in front and one overflow bin (U >= hi V_th) at the end.
    Bin k (1..bins) holds edges[k-1] <= U < edges[k]."""

    lo: float = -4.0
    hi: float = 4.0
    bins: int = 160

    def __post_init__(self):
        if not self.hi > self.lo or self.bins < 1:
            raise ValueError(f"histogram needs hi > lo and bins >= 1, got lo={self.lo}, hi={self.hi}, bins={self.bins}")

    @property
    def width(self) -> float:
        """Bin width in units of V_th."""
        return (self.hi - self.lo) / self.bins

    def edges(self, v_threshold: float) -> np.ndarray:
        """Bin edges in units of U (float64, length bins + 1)."""
        return np.linspace(self.lo, self.hi, self.bins + 1) * v_threshold


MAX_ABS_U = 2.0**19  # |U|^2 x FIXED_POINT_SCALE stays below 2**62, so no single value overflows int64


def check_peak(peak: float, values: int = 1) -> None:
    """Refuse a batch whose sums could leave int64: the largest |U| squared, times the values
    summed per (t, c), times the fixed-point scale, must stay below 2**62."""
    if peak >= MAX_ABS_U or peak * peak * max(values, 1) * S.FIXED_POINT_SCALE >= 2.0**62:
        raise RecorderError(f"a membrane potential of {peak:.3g} is too large for the recording's exact sums over "
                            f"{values} values per timestep and channel; the model diverges (check its weights and input "
                            "scale), or record smaller batches")


class LayerStats:
    """Running sums for one layer. `arrays` maps schema names to int64 arrays."""

    def __init__(self, T: int, shape: tuple[int, int, int], v_threshold: float, spec: HistogramSpec):
        C, H, W = shape
        self.T, self.shape, self.v_threshold, self.spec = T, shape, v_threshold, spec
        self.arrays = {
            S.ST_SPIKES: np.zeros((T, C, H, W), np.int64),
            S.ST_HIST: np.zeros((T, C, spec.bins + 2), np.int64),
            S.ST_COUNT: np.zeros((T, C), np.int64),
            S.ST_SUM: np.zeros((T, C), np.int64),
            S.ST_SUMSQ: np.zeros((T, C), np.int64),
            S.ST_QE: np.zeros((T, C), np.int64),
            S.ST_NONFINITE: np.zeros((T, C), np.int64),
        }
        self._edges: dict[tuple, torch.Tensor] = {}

    def batch_sums(self, u: torch.Tensor, s: torch.Tensor) -> tuple[dict[str, np.ndarray], int]:
        """The statistics of one batch, and how many neurons' spikes disagree with
        Heaviside(U - V_th). u, s: [T, N, C, H, W] on any device (the CPU uses the one-pass
        kernel of recorder.kernels, other devices PyTorch)."""
        if u.device.type == "cpu" and u.dtype in (torch.float32, torch.float64):
            return self.batch_sums_kernel(u, s)
        return self.batch_sums_torch(u, s)

    def batch_sums_kernel(self, u: torch.Tensor, s: torch.Tensor) -> tuple[dict[str, np.ndarray], int]:
        from recorder.kernels import run_layer_sums

        un = u.detach().numpy()
        hist, count, usum, usumsq, qesum, nonfinite, mismatch, peak = run_layer_sums(
            un, s.detach().to(u.dtype).numpy(), self.spec.edges(self.v_threshold), self.spec.bins, self.v_threshold,
            S.FIXED_POINT_SCALE)
        check_peak(peak, int(np.prod(u.shape[1:])) // u.shape[2])
        return {S.ST_SPIKES: s.sum(dim=1).to(torch.int64).numpy(), S.ST_HIST: hist, S.ST_COUNT: count,
                S.ST_SUM: usum, S.ST_SUMSQ: usumsq, S.ST_QE: qesum, S.ST_NONFINITE: nonfinite}, mismatch

    def batch_sums_replay(self, x: torch.Tensor, s: torch.Tensor, v0: torch.Tensor, dynamics: dict,
                          raw_positions: list[int]) -> tuple[dict[str, np.ndarray], int, np.ndarray, np.ndarray]:
        """The statistics of an IF/LIF layer from its input x, spikes s [T, N, C, H, W] and
        state before the batch v0 [N, C, H, W] (U replayed in the kernel, see
        recorder.kernels.replay_sums); also U and H [R, T, C, H, W] of the samples at
        raw_positions."""
        from recorder.kernels import run_replay_sums

        hist, count, usum, usumsq, qesum, nonfinite, mismatch, peak, u_raw, h_raw = run_replay_sums(
            x.detach().numpy(), s.detach().to(x.dtype).numpy(), v0.detach().numpy(), dynamics,
            self.spec.edges(self.v_threshold), self.spec.bins, S.FIXED_POINT_SCALE, raw_positions)
        check_peak(peak, int(np.prod(x.shape[1:])) // x.shape[2])
        return ({S.ST_SPIKES: s.sum(dim=1).to(torch.int64).numpy(), S.ST_HIST: hist, S.ST_COUNT: count,
                 S.ST_SUM: usum, S.ST_SUMSQ: usumsq, S.ST_QE: qesum, S.ST_NONFINITE: nonfinite}, mismatch, u_raw, h_raw)

    def batch_sums_torch(self, u: torch.Tensor, s: torch.Tensor) -> tuple[dict[str, np.ndarray], int]:
        T, N, C, H, W = u.shape
        finite = torch.isfinite(u)
        u0 = torch.where(finite, u, torch.zeros((), dtype=u.dtype, device=u.device))
        s = s.to(u.dtype)
        dims = (1, 3, 4)
        key = (u.dtype, u.device)
        if key not in self._edges:
            self._edges[key] = torch.as_tensor(self.spec.edges(self.v_threshold), dtype=u.dtype, device=u.device)
        nbins = self.spec.bins + 2
        bin_index = torch.bucketize(u0, self._edges[key], right=True)  # 0 = underflow, bins + 1 = overflow
        offsets = (torch.arange(T, device=u.device).view(T, 1, 1, 1, 1) * C
                   + torch.arange(C, device=u.device).view(1, 1, C, 1, 1)) * nbins
        flat = torch.where(finite, bin_index + offsets, torch.full((), T * C * nbins, device=u.device))
        hist = torch.bincount(flat.reshape(-1), minlength=T * C * nbins + 1)[: T * C * nbins]
        u64 = u0.double()
        check_peak(float(u64.abs().max()) if u64.numel() else 0.0, N * H * W)
        mismatch = int(((u >= self.v_threshold) != (s != 0)).sum())

        def fixed(values: torch.Tensor) -> np.ndarray:  # each value rounded (half to even), then an exact sum
            return (torch.round(values * S.FIXED_POINT_SCALE).to(torch.int64) * finite).sum(dim=dims).cpu().numpy()

        return {
            S.ST_SPIKES: s.sum(dim=1).to(torch.int64).cpu().numpy(),
            S.ST_HIST: hist.view(T, C, nbins).cpu().numpy().astype(np.int64),
            S.ST_COUNT: finite.sum(dim=dims).cpu().numpy().astype(np.int64),
            S.ST_SUM: fixed(u64),
            S.ST_SUMSQ: fixed(u64 * u64),
            S.ST_QE: fixed((u64 - s.double()) ** 2),
            S.ST_NONFINITE: (~finite).sum(dim=dims).cpu().numpy().astype(np.int64),
        }, mismatch

    def check(self, sums: dict[str, np.ndarray]) -> None:
        """Raise before anything is added when a running sum would leave int64."""
        for name in S.FIXED_POINT_STATS:
            if np.abs(self.arrays[name].astype(np.float64) + sums[name].astype(np.float64)).max(initial=0) >= 2.0**62:
                raise RecorderError("a sum of U exceeds the range of the recording's exact sums (about "
                                    f"{2.0**62 / S.FIXED_POINT_SCALE:.2g} per timestep and channel); record fewer samples")

    def add(self, sums: dict[str, np.ndarray]) -> None:
        for name, value in sums.items():
            self.arrays[name] += value
