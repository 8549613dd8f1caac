"""One-pass CPU kernel for a layer's online statistics (numba): for every (t, c) it walks
the N x H x W potentials once, binning U, summing U, U^2 and (U - S)^2 in float64 and
counting finite and non-finite values. recorder.stats keeps a PyTorch version of the same
computation for tensors on a GPU; the tests hold the two equal."""

from __future__ import annotations

import math

import numba
import numpy as np


@numba.njit(parallel=True, cache=True)
def layer_sums(u, s, edges, threshold, hist, count, usum, usumsq, qesum, nonfinite, mismatch):
    """u, s: [T, N, C, K] (K = H*W), same float dtype; edges: [B + 1] in u's dtype, sorted.
    threshold: V_th. Outputs (preallocated, zeroed): hist int64 [T, C, B + 2] (0 underflow,
    B + 1 overflow, bin k holds edges[k-1] <= U < edges[k]); count, nonfinite int64 [T, C];
    usum, usumsq, qesum float64 [T, C]; mismatch int64 [T, C]: neurons where
    Heaviside(U - V_th) differs from the recorded spike."""
    T, N, C, K = u.shape
    nb = edges.shape[0] - 1
    lo = edges[0]
    hi = edges[nb]
    scale = nb / (float(hi) - float(lo))
    for tc in numba.prange(T * C):
        t = tc // C
        c = tc - t * C
        n_ok = 0
        n_bad = 0
        a = 0.0
        b = 0.0
        q = 0.0
        n_diff = 0
        for n in range(N):
            for k in range(K):
                x = u[t, n, c, k]
                if (x >= threshold) != (s[t, n, c, k] != 0):
                    n_diff += 1
                if not math.isfinite(x):
                    n_bad += 1
                    continue
                n_ok += 1
                xd = float(x)
                a += xd
                b += xd * xd
                d = xd - float(s[t, n, c, k])
                q += d * d
                if x < lo:
                    j = 0
                elif x >= hi:
                    j = nb + 1
                else:
                    j = int((xd - float(lo)) * scale) + 1
                    if j > nb:
                        j = nb
                    while j > 1 and x < edges[j - 1]:
                        j -= 1
                    while j < nb and x >= edges[j]:
                        j += 1
                hist[t, c, j] += 1
        count[t, c] = n_ok
        nonfinite[t, c] = n_bad
        usum[t, c] = a
        usumsq[t, c] = b
        qesum[t, c] = q
        mismatch[t, c] = n_diff


def run_layer_sums(u: np.ndarray, s: np.ndarray, edges: np.ndarray, nbins: int, threshold: float):
    """Allocate outputs and run the kernel; u, s [T, N, C, H, W] numpy arrays. Returns
    hist, count, usum, usumsq, qesum, nonfinite and the number of spike mismatches."""
    T, N, C = u.shape[:3]
    u4 = np.ascontiguousarray(u.reshape(T, N, C, -1))
    s4 = np.ascontiguousarray(s.reshape(T, N, C, -1), dtype=u4.dtype)
    hist = np.zeros((T, C, nbins + 2), np.int64)
    count = np.zeros((T, C), np.int64)
    nonfinite = np.zeros((T, C), np.int64)
    usum, usumsq, qesum = (np.zeros((T, C), np.float64) for _ in range(3))
    mismatch = np.zeros((T, C), np.int64)
    layer_sums(u4, s4, edges.astype(u4.dtype), u4.dtype.type(threshold), hist, count, usum, usumsq, qesum,
               nonfinite, mismatch)
    return hist, count, usum, usumsq, qesum, nonfinite, int(mismatch.sum())
