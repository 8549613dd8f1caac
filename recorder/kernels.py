"""One-pass CPU kernel for a layer's online statistics (numba): for every (t, c) it walks
the N x H x W potentials once, binning U, summing U, U^2 and (U - S)^2 and counting finite
and non-finite values. The sums are exact integers: each value is rounded to a multiple of
1 / FIXED_POINT_SCALE (half to even) before it is added, so any order of addition - this
kernel, the PyTorch version in recorder.stats (GPU), shards, ranks - gives the same bits.
The tests hold the two versions equal."""

from __future__ import annotations

import math

import numba
import numpy as np


@numba.njit(inline="always")
def _bin(x, xd, lo, hi, nb, scale, edges):
    if x < lo:
        return 0
    if x >= hi:
        return nb + 1
    j = int((xd - float(lo)) * scale) + 1
    if j > nb:
        j = nb
    while j > 1 and x < edges[j - 1]:
        j -= 1
    while j < nb and x >= edges[j]:
        j += 1
    return j


@numba.njit(parallel=True, cache=True)
def layer_sums(u, s, edges, threshold, scale_fp, hist, count, usum, usumsq, qesum, nonfinite, mismatch, peak):
    """u, s: [T, N, C, K] (K = H*W), same float dtype; edges: [B + 1] in u's dtype, sorted.
    threshold: V_th; scale_fp: the fixed-point scale. Outputs (preallocated, zeroed): hist
    int64 [T, C, B + 2] (0 underflow, B + 1 overflow, bin k holds edges[k-1] <= U <
    edges[k]); count, nonfinite int64 [T, C]; usum, usumsq, qesum int64 [T, C], fixed point;
    mismatch int64 [T, C]: neurons where Heaviside(U - V_th) differs from the recorded
    spike; peak float64 [T, C]: the largest |U| (to refuse values the sums cannot hold)."""
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
        a = np.int64(0)
        b = np.int64(0)
        q = np.int64(0)
        top = 0.0
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
                xd = np.float64(x)
                if abs(xd) > top:
                    top = abs(xd)
                a += np.int64(np.rint(xd * scale_fp))
                b += np.int64(np.rint(xd * xd * scale_fp))
                d = xd - np.float64(s[t, n, c, k])
                q += np.int64(np.rint(d * d * scale_fp))
                hist[t, c, _bin(x, xd, lo, hi, nb, scale, edges)] += 1
        count[t, c] = n_ok
        nonfinite[t, c] = n_bad
        usum[t, c] = a
        usumsq[t, c] = b
        qesum[t, c] = q
        mismatch[t, c] = n_diff
        peak[t, c] = top


def run_layer_sums(u: np.ndarray, s: np.ndarray, edges: np.ndarray, nbins: int, threshold: float, scale_fp: float):
    """Allocate outputs and run the kernel; u, s [T, N, C, H, W] numpy arrays. Returns
    hist, count, usum, usumsq, qesum (fixed point), nonfinite, the number of spike
    mismatches and the largest |U|."""
    T, N, C = u.shape[:3]
    u4 = np.ascontiguousarray(u.reshape(T, N, C, -1))
    s4 = np.ascontiguousarray(s.reshape(T, N, C, -1), dtype=u4.dtype)
    hist = np.zeros((T, C, nbins + 2), np.int64)
    count = np.zeros((T, C), np.int64)
    nonfinite = np.zeros((T, C), np.int64)
    usum, usumsq, qesum = (np.zeros((T, C), np.int64) for _ in range(3))
    mismatch = np.zeros((T, C), np.int64)
    peak = np.zeros((T, C), np.float64)
    layer_sums(u4, s4, edges.astype(u4.dtype), u4.dtype.type(threshold), float(scale_fp), hist, count, usum, usumsq,
               qesum, nonfinite, mismatch, peak)
    return hist, count, usum, usumsq, qesum, nonfinite, int(mismatch.sum()), float(peak.max(initial=0.0))


@numba.njit(inline="always")
def _charge(kind, v, x, leak, decay_input, r):
    """SpikingJelly's charge, operation for operation: IF (kind 0) v + x; LIF (kind 1, leak =
    tau) with input decay v + (x - (v - r)) / tau, without v - (v - r) / tau + x; PLIF (kind
    2, leak = sigmoid(w) as float32) v + (x - (v - r)) * q, without v - (v - r) * q + x."""
    if kind == 0:
        return v + x
    if kind == 2:
        if decay_input:
            return v + (x - (v - r)) * leak
        return v - (v - r) * leak + x
    if decay_input:
        return v + (x - (v - r)) / leak
    return v - (v - r) / leak + x


KINDS = {"if": 0, "lif": 1, "plif": 2}
EXACT_FLOAT = 2.0**52  # integer sums below this are exact in float64, in any order


@numba.njit(fastmath={"reassoc"}, cache=True)
def _row_sums(h, s, scale_fp):
    """Fixed-point sums of one row: h [K] potentials, s [K] spikes. Returns (sum U, sum U^2,
    sum (U - S)^2 as float64 sums of whole numbers, largest finite |U|, finite count).
    Reassociation lets LLVM vectorise the sums; it cannot change them while every partial sum
    stays below EXACT_FLOAT, which the caller checks from the returned largest |U|."""
    a = 0.0
    b = 0.0
    q = 0.0
    top = 0.0
    n_ok = 0
    for k in range(h.shape[0]):
        hd = np.float64(h[k])
        ok = math.isfinite(hd)
        hz = hd if ok else 0.0
        d = hz - np.float64(s[k]) if ok else 0.0
        a += np.rint(hz * scale_fp)
        b += np.rint(hz * hz * scale_fp)
        q += np.rint(d * d * scale_fp)
        top = max(top, abs(hz))
        n_ok += ok
    return a, b, q, top, n_ok


@numba.njit(cache=True)
def _row_sums_int(h, s, scale_fp):
    """_row_sums in int64, one value at a time: for rows whose sums float64 cannot hold exactly."""
    a = np.int64(0)
    b = np.int64(0)
    q = np.int64(0)
    for k in range(h.shape[0]):
        hd = np.float64(h[k])
        if math.isfinite(hd):
            d = hd - np.float64(s[k])
            a += np.int64(np.rint(hd * scale_fp))
            b += np.int64(np.rint(hd * hd * scale_fp))
            q += np.int64(np.rint(d * d * scale_fp))
    return a, b, q


@numba.njit(parallel=True, cache=True)
def replay_sums(x, s, v0, kind, leak, decay_input, r, soft, threshold, edges, scale_fp, raw_index, u_out, h_out,
                hist, count, usum, usumsq, qesum, nonfinite, mismatch, peak):
    """The statistics of an IF (kind 0), LIF (kind 1) or PLIF (kind 2) layer straight from
    its input and spikes (leak: see _charge): U is replayed here with SpikingJelly's own operations in the input's dtype
    (bitwise its U; tests/test_recorder.py holds them equal), so the neuron never has to
    store its voltages. x, s: [T, N, C, K]; v0 [N, C, K] the state before the batch; r:
    V_reset, or a soft reset (subtract the threshold) when soft; raw_index[n]: the row of
    u_out/h_out [R, T, C, K] that keeps sample n's U and H (after reset, Eq. 4), or -1.
    Outputs as layer_sums, accumulated. Per row of K values: the replay, then the sums
    (vectorised, see _row_sums), then the histogram."""
    T, N, C, K = x.shape
    nb = edges.shape[0] - 1
    lo = edges[0]
    hi = edges[nb]
    scale = nb / (float(hi) - float(lo))
    one = x.dtype.type(1.0)
    zero = x.dtype.type(0.0)
    for c in numba.prange(C):
        v = np.empty(K, x.dtype)
        hb = np.empty(K, x.dtype)
        for n in range(N):
            for k in range(K):
                v[k] = v0[n, c, k]
            row = raw_index[n]
            for t in range(T):
                n_diff = 0
                for k in range(K):
                    h = _charge(kind, v[k], x[t, n, c, k], leak, decay_input, r)
                    sp = s[t, n, c, k]
                    if soft:
                        v[k] = h - sp * threshold
                    else:
                        v[k] = sp * r + (one - sp) * h
                    hb[k] = h
                    if (h >= threshold) != (sp != 0):
                        n_diff += 1
                if row >= 0:
                    for k in range(K):
                        u_out[row, t, c, k] = hb[k]
                        h_out[row, t, c, k] = _charge(kind, v[k], zero, leak, decay_input, r)
                fa, fb, fq, top, n_ok = _row_sums(hb, s[t, n, c], scale_fp)
                if K * ((top + 1.0) * (top + 1.0) * scale_fp + 1.0) < EXACT_FLOAT:
                    a, b, q = np.int64(fa), np.int64(fb), np.int64(fq)
                else:
                    a, b, q = _row_sums_int(hb, s[t, n, c], scale_fp)
                for k in range(K):
                    h = hb[k]
                    if math.isfinite(h):
                        hist[t, c, _bin(h, np.float64(h), lo, hi, nb, scale, edges)] += 1
                count[t, c] += n_ok
                nonfinite[t, c] += K - n_ok
                usum[t, c] += a
                usumsq[t, c] += b
                qesum[t, c] += q
                mismatch[t, c] += n_diff
                if top > peak[t, c]:
                    peak[t, c] = top


def run_replay_sums(x: np.ndarray, s: np.ndarray, v0: np.ndarray, dynamics: dict, edges: np.ndarray, nbins: int,
                    scale_fp: float, raw_positions: list[int]):
    """Allocate outputs and run replay_sums; x, s [T, N, C, H, W], v0 [N, C, H, W]. dynamics:
    kind ('if', 'lif' or 'plif'), tau (LIF) or q = sigmoid(w) (PLIF, as SpikingJelly computes
    it in float32), decay_input, v_reset (None: soft), v_threshold. Returns the
    sums of run_layer_sums plus U and H [R, T, C, H, W] of the samples at raw_positions."""
    T, N, C = x.shape[:3]
    shape = x.shape[3:]
    dtype = x.dtype.type
    x4 = np.ascontiguousarray(x.reshape(T, N, C, -1))
    s4 = np.ascontiguousarray(s.reshape(T, N, C, -1), dtype=x4.dtype)
    v4 = np.ascontiguousarray(np.broadcast_to(v0, x.shape[1:]).reshape(N, C, -1), dtype=x4.dtype)
    K = x4.shape[3]
    raw_index = np.full(N, -1, np.int64)
    raw_index[list(raw_positions)] = np.arange(len(raw_positions))
    u_out = np.zeros((len(raw_positions), T, C, K), x4.dtype)
    h_out = np.zeros_like(u_out)
    hist = np.zeros((T, C, nbins + 2), np.int64)
    count, nonfinite, usum, usumsq, qesum, mismatch = (np.zeros((T, C), np.int64) for _ in range(6))
    peak = np.zeros((T, C), np.float64)
    reset = dynamics["v_reset"]
    kind = KINDS[dynamics["kind"]]
    leak = dynamics["q"] if kind == 2 else (dynamics.get("tau") or 1.0)
    replay_sums(x4, s4, v4, kind, dtype(leak),
                bool(dynamics.get("decay_input", False)), dtype(0.0 if reset is None else reset), reset is None,
                dtype(dynamics["v_threshold"]), edges.astype(x4.dtype), float(scale_fp), raw_index, u_out, h_out,
                hist, count, usum, usumsq, qesum, nonfinite, mismatch, peak)
    raw_shape = (len(raw_positions), T, C, *shape)
    return (hist, count, usum, usumsq, qesum, nonfinite, int(mismatch.sum()), float(peak.max(initial=0.0)),
            u_out.reshape(raw_shape), h_out.reshape(raw_shape))
