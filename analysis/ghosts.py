"""Ghost features (Definition 3): spike features of one layer and timestep that look
alike, as pairs, groups (connected components) and the layer's ghost ratio."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components
from skimage.metrics import structural_similarity

METHODS = ("ssim", "pearson")


@dataclass(frozen=True)
class GhostRule:
    """Two spike features are a ghost pair when their similarity is at least `threshold`
    (SSIM from scikit-image with data_range 1, or Pearson correlation). Channels whose
    feature is constant (e.g. silent) are left out: their similarity is undefined."""

    method: str = "ssim"
    threshold: float = 0.8

    def __post_init__(self):
        if self.method not in METHODS:
            raise ValueError(f"unknown similarity '{self.method}'; choose one of {METHODS}")


def similarity_matrix(features: np.ndarray, method: str = "ssim") -> np.ndarray:
    """Pairwise similarity [C, C] of spike features [C, H, W] (values 0..1); NaN for
    channels with a constant feature. SSIM uses the largest odd window up to 7 that fits;
    maps smaller than 3 x 3 support only Pearson."""
    features = np.asarray(features, np.float64)
    C, H, W = features.shape
    varying = features.reshape(C, -1).std(axis=1) > 0
    out = np.full((C, C), np.nan)
    idx = np.flatnonzero(varying)
    if method == "pearson":
        if len(idx):
            out[np.ix_(idx, idx)] = np.corrcoef(features[idx].reshape(len(idx), -1))
        return out
    if method != "ssim":
        raise ValueError(f"unknown similarity '{method}'; choose one of {METHODS}")
    win = min(7, H, W)
    win -= 1 - win % 2
    if win < 3:
        raise ValueError(f"SSIM needs maps of at least 3 x 3, got {H} x {W}; use Pearson correlation")
    for a_pos, a in enumerate(idx):
        out[a, a] = 1.0
        for b in idx[a_pos + 1:]:
            out[a, b] = out[b, a] = structural_similarity(features[a], features[b], data_range=1.0, win_size=win)
    return out


def ghost_pairs(similarity: np.ndarray, threshold: float) -> list[tuple[int, int]]:
    """Channel pairs (i < j) with similarity >= threshold."""
    i, j = np.nonzero(np.triu(np.nan_to_num(similarity, nan=-np.inf) >= threshold, k=1))
    return list(zip(i.tolist(), j.tolist()))


def ghost_groups(pairs: list[tuple[int, int]], n_channels: int) -> list[list[int]]:
    """Connected components of the ghost-pair graph with two or more channels, largest first."""
    if not pairs:
        return []
    i, j = np.array(pairs).T
    graph = csr_matrix((np.ones(len(pairs)), (i, j)), shape=(n_channels, n_channels))
    _, labels = connected_components(graph, directed=False)
    groups = [np.flatnonzero(labels == k).tolist() for k in np.unique(labels)]
    return sorted((g for g in groups if len(g) > 1), key=lambda g: (-len(g), g))


def ghost_ratio(groups: list[list[int]], n_channels: int) -> float:
    """Share of the layer's channels that belong to a ghost group."""
    return sum(len(g) for g in groups) / n_channels if n_channels else float("nan")
