"""Spike features (Definition 2), the input foreground, and noise / normal / null spike
patterns (Definition 4)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

NOISE, NORMAL, NULL = "noise", "normal", "null"
FC = "fc"  # a channel of a fully connected layer: no map, so no noise/normal pattern


def spike_features(nsfr: np.ndarray, t: int) -> np.ndarray:
    """The spike features of every channel at timestep t: N-SFR[t] -> [C, H, W] (0..1)."""
    if not 0 <= t < nsfr.shape[0]:
        raise IndexError(f"timestep {t} does not exist; the layer has T={nsfr.shape[0]}")
    return nsfr[t]


def input_event_rate(event_sum: np.ndarray, n_samples: int) -> np.ndarray:
    """Mean input events per pixel and timestep: event_sum [T, P, H, W] / N -> [T, H, W]
    (polarities added)."""
    return np.asarray(event_sum, np.float64).sum(axis=1) / max(n_samples, 1)


def resize_to(rate: np.ndarray, height: int, width: int) -> np.ndarray:
    """Area-average a map [..., H, W] onto a [..., height, width] grid (each output cell is
    the mean over the input pixels it covers; fractional coverage weighted)."""
    H, W = rate.shape[-2:]

    def weights(n_in, n_out):
        m = np.zeros((n_out, n_in))
        for o in range(n_out):
            lo, hi = o * n_in / n_out, (o + 1) * n_in / n_out
            for i in range(int(np.floor(lo)), int(np.ceil(hi))):
                m[o, i] = min(hi, i + 1) - max(lo, i)
        return m / m.sum(axis=1, keepdims=True)

    return np.einsum("oh,...hw,pw->...op", weights(H, height), rate, weights(W, width))


@dataclass(frozen=True)
class PatternRule:
    """How channels are classified (Definition 4), over all timesteps of a layer:

    - foreground: layer pixels where the input event rate, area-averaged to the layer's
      resolution and divided by its maximum, is at least `foreground_level`;
    - null: the channel's mean firing rate is below `null_rate`;
    - noise: it fires at least `noise_ratio` times as densely (mean N-SFR per pixel) on
      the background as on the foreground, i.e. its firing concentrates on the background;
    - normal: every other channel.
    A layer whose map is 1 x 1 (fully connected) has no background: its active channels
    are normal.
    """

    foreground_level: float = 0.1
    null_rate: float = 1e-3
    noise_ratio: float = 1.0


def foreground_mask(rate: np.ndarray, height: int, width: int, rule: PatternRule = PatternRule()) -> np.ndarray:
    """Boolean [height, width] foreground of a layer from the input event rate [H, W]
    (averaged over samples and time)."""
    resized = resize_to(np.asarray(rate, np.float64), height, width)
    peak = resized.max()
    if peak <= 0:
        return np.zeros((height, width), bool)
    return resized / peak >= rule.foreground_level


def channel_densities(nsfr: np.ndarray, foreground: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per channel: mean firing rate, mean N-SFR on the foreground, mean N-SFR on the
    background (NaN where that region is empty). nsfr [T, C, H, W], foreground [H, W]."""
    per_pixel = nsfr.mean(axis=0)  # [C, H, W]
    rate = per_pixel.mean(axis=(1, 2))
    fg = per_pixel[:, foreground].mean(axis=1) if foreground.any() else np.full(len(rate), np.nan)
    bg = per_pixel[:, ~foreground].mean(axis=1) if (~foreground).any() else np.full(len(rate), np.nan)
    return rate, fg, bg


def classify_patterns(nsfr: np.ndarray, foreground: np.ndarray, rule: PatternRule = PatternRule()) -> np.ndarray:
    """'noise' / 'normal' / 'null' per channel -> array of str [C] (see PatternRule). A
    layer without a map (fully connected: 1 x 1 per channel) has no spatial pattern: its
    channels are 'null' or 'fc'."""
    rate, fg, bg = channel_densities(nsfr, foreground)
    if nsfr.shape[-1] * nsfr.shape[-2] == 1:
        out = np.full(len(rate), FC, dtype=object)
        out[rate < rule.null_rate] = NULL
        return out
    out = np.full(len(rate), NORMAL, dtype=object)
    has_both = foreground.any() and (~foreground).any()
    if has_both:
        out[bg >= rule.noise_ratio * fg] = NOISE
    out[rate < rule.null_rate] = NULL
    return out


def pattern_counts(patterns: np.ndarray) -> dict[str, int]:
    return {kind: int((patterns == kind).sum()) for kind in (NOISE, NORMAL, NULL)}
