"""Membrane potential distributions (Definition 5), PTD (Definition 6), variance and
quantization error, from histograms and running sums (shapes [T, C] per layer) or from
raw potentials."""

from __future__ import annotations

import numpy as np


def mpd_histogram(u: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """MPD of raw potentials with under- and overflow bins.

    u: [N, T, C, H, W] U values; edges: [B + 1] bin edges in units of U.
    Returns int64 [T, C, B + 2]: bin 0 counts U < edges[0], bin B + 1 counts U >= edges[-1],
    bin k counts edges[k-1] <= U < edges[k]; NaN and infinite values are not counted.
    """
    u = np.asarray(u)
    edges = np.asarray(edges).astype(u.dtype)
    N, T, C = u.shape[:3]
    per_tc = np.moveaxis(u, 0, 2).reshape(T, C, -1)
    out = np.zeros((T, C, len(edges) + 1), np.int64)
    for t in range(T):
        for c in range(C):
            values = per_tc[t, c][np.isfinite(per_tc[t, c])]
            out[t, c] = np.bincount(np.searchsorted(edges, values, side="right"), minlength=len(edges) + 1)
    return out


def ptd(hist: np.ndarray, edges: np.ndarray, v_threshold: float, top: int = 3) -> np.ndarray:
    """Peak-threshold distance (Definition 6): the mean of the centres of the `top` highest
    regular bins of the MPD, minus V_th (in units of U). Ties go to the lower bin.

    hist: [..., B + 2] with under- and overflow bins (ignored here); edges: [B + 1].
    Returns [...]; NaN where a histogram holds no value inside the regular bins.
    """
    hist = np.asarray(hist)
    regular = hist[..., 1:-1]
    centres = (np.asarray(edges)[:-1] + np.asarray(edges)[1:]) / 2.0
    order = np.argsort(-regular, axis=-1, kind="stable")[..., :top]
    out = centres[order].mean(axis=-1) - v_threshold
    return np.where(regular.sum(axis=-1) > 0, out, np.nan)


def mean_from_sums(u_sum: np.ndarray, count: np.ndarray) -> np.ndarray:
    """Mean of U per entry: u_sum / count (NaN where count is 0)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, u_sum / np.maximum(count, 1), np.nan)


def variance_from_sums(u_sum: np.ndarray, u_sumsq: np.ndarray, count: np.ndarray) -> np.ndarray:
    """Population variance of U from running sums: E[U^2] - E[U]^2 (NaN where count is 0)."""
    mean = mean_from_sums(u_sum, count)
    with np.errstate(invalid="ignore"):
        return np.maximum(mean_from_sums(u_sumsq, count) - mean**2, 0.0)


def pooled(values_sum: np.ndarray, count: np.ndarray, axis=None) -> np.ndarray:
    """Sum-weighted mean over `axis`: sum(values_sum) / sum(count)."""
    total = np.sum(count, axis=axis)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, np.sum(values_sum, axis=axis) / np.maximum(total, 1), np.nan)


def pooled_variance(u_sum, u_sumsq, count, axis=None) -> np.ndarray:
    """Variance of U over the union of entries along `axis` (e.g. all t and c of a layer)."""
    mean = pooled(u_sum, count, axis)
    return np.maximum(pooled(u_sumsq, count, axis) - mean**2, 0.0)


def quantization_error(qe_sum: np.ndarray, count: np.ndarray) -> np.ndarray:
    """QE = mean of (U - S)^2 per entry (Table 4)."""
    return mean_from_sums(qe_sum, count)


def quantization_error_raw(u: np.ndarray, s: np.ndarray) -> np.ndarray:
    """QE per (t, c) from raw u, s [N, T, C, H, W] -> [T, C]."""
    d = (np.asarray(u, np.float64) - np.asarray(s, np.float64)) ** 2
    return d.mean(axis=(0, 3, 4))
