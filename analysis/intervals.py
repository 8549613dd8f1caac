"""Confidence intervals and tests for comparing two models (pure functions over arrays).

Paired, on the same test samples: per-sample values of both models (correct 0/1, spikes,
energy) resampled together with `scipy.stats.bootstrap(paired=True)`, BCa by default.
Accuracy: McNemar's exact test on the discordant pairs (`scipy.stats.binomtest`).
Across replicates (e.g. five seeds per condition): Welch's t interval for the difference
of the group means. Every Interval says which interval it is (`method`).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
from scipy import stats

LEVEL = 0.95
RESAMPLES = 9999


@dataclass(frozen=True)
class IntervalSettings:
    """Confidence level, bootstrap resamples and the resampling seed (results repeat exactly)."""

    level: float = LEVEL
    n_resamples: int = RESAMPLES
    seed: int = 0


@dataclass(frozen=True)
class Interval:
    """A point estimate with its two-sided confidence interval [low, high] at `level`."""

    estimate: float
    low: float
    high: float
    level: float
    method: str

    def cell(self, percent: bool = False, digits: int = 0, sign: bool = True, unit: str | None = None) -> str:
        """'-61% [-65, -57]' (percent: values are fractions, shown x100 with a % sign, or
        `unit`, e.g. ' pp' for a difference of two shares) or '0.012 [0.004, 0.020]'."""
        scale, suffix = (100.0, "%") if percent else (1.0, "")
        suffix = suffix if unit is None else unit
        fmt = f"{{:{'+' if sign else ''}.{digits}f}}"
        if not math.isfinite(self.estimate):
            return "n/a"
        show = lambda v: fmt.format(v * scale + 0.0) if math.isfinite(v) else "n/a"  # noqa: E731  (+0.0: no "-0")
        return f"{show(self.estimate)}{suffix} [{show(self.low)}, {show(self.high)}]"

    def contains(self, value: float) -> bool:
        return self.low <= value <= self.high


def mean_difference(a, b, axis=-1):
    """mean(b) - mean(a): e.g. the change in accuracy (fractions of samples)."""
    return np.mean(b, axis=axis) - np.mean(a, axis=axis)


def relative_change_of_means(a, b, axis=-1):
    """mean(b) / mean(a) - 1: e.g. -0.61 when b fires 61% fewer spikes than a."""
    return np.mean(b, axis=axis) / np.mean(a, axis=axis) - 1.0


def bootstrap(statistic, *samples: np.ndarray, paired: bool = True, level: float = LEVEL,
              n_resamples: int = RESAMPLES, method: str = "BCa", seed: int = 0) -> Interval:
    """Bootstrap interval of statistic(*samples, axis) (vectorised over `axis`), resampling
    the samples (paired: the same indices in every array). Data with no spread give the
    point itself as the interval (every resample is equal)."""
    arrays = [np.asarray(s, dtype=np.float64) for s in samples]
    estimate = float(statistic(*arrays, axis=-1))
    kind = f"{'paired ' if paired else ''}bootstrap {method}, {n_resamples} resamples"
    if any(len(a) < 2 for a in arrays):
        return Interval(estimate, math.nan, math.nan, level, kind + " (fewer than 2 samples: none)")
    if all(np.all(a == a[0]) for a in arrays) or (paired and len(arrays) == 2 and np.array_equal(arrays[0], arrays[1])):
        return Interval(estimate, estimate, estimate, level, kind + " (no spread: the point itself)")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scipy warns on degenerate BCa; a NaN bound says it below
        res = stats.bootstrap(tuple(arrays), statistic, paired=paired, vectorized=True, confidence_level=level,
                              n_resamples=n_resamples, method=method, batch=max(1, 20_000_000 // (8 * len(arrays[0]))),
                              random_state=np.random.default_rng(seed))
    low, high = float(res.confidence_interval.low), float(res.confidence_interval.high)
    if method == "BCa" and not (math.isfinite(low) and math.isfinite(high)):
        return bootstrap(statistic, *samples, paired=paired, level=level, n_resamples=n_resamples,
                         method="percentile", seed=seed)
    return Interval(estimate, low, high, level, kind)


@dataclass(frozen=True)
class McNemar:
    """Discordant pairs of two classifiers on the same samples: only_a (a right, b wrong),
    only_b (a wrong, b right), and the exact two-sided p-value of H0: both equally often."""

    only_a: int
    only_b: int
    p_value: float

    def __str__(self) -> str:
        return f"McNemar exact: {self.only_a} vs {self.only_b} discordant, p = {self.p_value:.3g}"


def mcnemar_exact(correct_a: np.ndarray, correct_b: np.ndarray) -> McNemar:
    """McNemar's exact test: under H0 the discordant pairs split binomial(n, 1/2)."""
    a, b = np.asarray(correct_a, bool), np.asarray(correct_b, bool)
    if a.shape != b.shape:
        raise ValueError(f"McNemar needs the same samples in both runs, got {a.shape} and {b.shape}")
    only_a, only_b = int((a & ~b).sum()), int((~a & b).sum())
    n = only_a + only_b
    p = 1.0 if n == 0 else float(stats.binomtest(only_a, n, 0.5).pvalue)
    return McNemar(only_a, only_b, p)


def accuracy_difference(correct_a: np.ndarray, correct_b: np.ndarray, level: float = LEVEL) -> Interval:
    """Change in accuracy from a to b on the same samples, with the exact interval that goes
    with McNemar's test: given the n discordant pairs, the share q of them that b gets right
    has a Clopper-Pearson interval, and the change is n (2q - 1) / N. (A bootstrap interval is
    too narrow when few pairs differ: 0 vs 3 discordant pairs is McNemar p = 0.25.)"""
    a, b = np.asarray(correct_a, bool), np.asarray(correct_b, bool)
    test = mcnemar_exact(a, b)
    n, total = test.only_a + test.only_b, len(a)
    estimate = (test.only_b - test.only_a) / total if total else math.nan
    method = "exact (Clopper-Pearson on the discordant pairs, as McNemar's test)"
    if n == 0:
        return Interval(estimate, 0.0, 0.0, level, method + " (no discordant pair)")
    ci = stats.binomtest(test.only_b, n, 0.5).proportion_ci(confidence_level=level, method="exact")
    return Interval(estimate, n * (2 * ci.low - 1) / total, n * (2 * ci.high - 1) / total, level, method)


def welch_difference(a: np.ndarray, b: np.ndarray, level: float = LEVEL, relative: bool = False) -> Interval:
    """Welch's t interval for mean(b) - mean(a) over replicates (e.g. seeds); relative: the
    same divided by mean(a) (a's mean taken as fixed)."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    diff = b.mean() - a.mean()
    scale = a.mean() if relative else 1.0
    method = f"Welch t over replicates ({len(a)} vs {len(b)})" + (", / mean of the first" if relative else "")
    if len(a) < 2 or len(b) < 2:
        return Interval(diff / scale, math.nan, math.nan, level, method + " (needs 2+ per group)")
    va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
    se = math.sqrt(va + vb)
    if se == 0:
        return Interval(diff / scale, diff / scale, diff / scale, level, method + " (no spread)")
    df = (va + vb) ** 2 / (va ** 2 / (len(a) - 1) + vb ** 2 / (len(b) - 1))
    half = stats.t.ppf(0.5 + level / 2, df) * se
    return Interval(diff / scale, (diff - half) / scale, (diff + half) / scale, level, method)


def mean_sd(values: np.ndarray) -> tuple[float, float]:
    """Mean and sample standard deviation (ddof 1; 0 for one value), as in the paper's Table 1."""
    v = np.asarray(values, np.float64)
    return float(v.mean()), float(v.std(ddof=1)) if len(v) > 1 else 0.0
