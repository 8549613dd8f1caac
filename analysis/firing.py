"""Spike firing rates (paper Definition 1).

Shapes: spike counts summed over samples are [T, C, H, W]; N is the number of samples.
Rates are spikes per neuron per timestep (0..1).
"""

from __future__ import annotations

import numpy as np


def n_sfr(spike_count: np.ndarray, n_samples: int) -> np.ndarray:
    """N-SFR[t, c, h, w]: share of samples that fire at that neuron and timestep.
    spike_count: [T, C, H, W] spikes summed over samples."""
    if n_samples <= 0:
        raise ValueError("N-SFR needs at least one sample")
    return np.asarray(spike_count, dtype=np.float64) / n_samples


def n_sfr_from_spikes(spikes: np.ndarray) -> np.ndarray:
    """N-SFR from raw spikes [N, T, C, H, W] (0/1): their mean over samples -> [T, C, H, W]."""
    return np.asarray(spikes, dtype=np.float64).mean(axis=0)


def c_sfr(nsfr: np.ndarray) -> np.ndarray:
    """C-SFR[t, c]: mean of N-SFR over (h, w). nsfr: [T, C, H, W] -> [T, C]."""
    return nsfr.mean(axis=(2, 3))


def t_sfr(nsfr: np.ndarray) -> np.ndarray:
    """T-SFR[t] of one layer: mean of N-SFR over all its neurons. [T, C, H, W] -> [T]."""
    return nsfr.reshape(nsfr.shape[0], -1).mean(axis=1)


def network_t_sfr(layer_nsfr: list[np.ndarray]) -> np.ndarray:
    """T-SFR[t] of the network: mean of N-SFR over every neuron of every layer, so layers
    weigh by their neuron counts. layer_nsfr: list of [T, C_l, H_l, W_l] -> [T]."""
    spikes = sum(n.reshape(n.shape[0], -1).sum(axis=1) for n in layer_nsfr)
    neurons = sum(int(np.prod(n.shape[1:])) for n in layer_nsfr)
    return spikes / neurons


def nasfr(layer_nsfr: list[np.ndarray]) -> float:
    """NASFR: mean over t of the network T-SFR (neuron-weighted over layers)."""
    return float(network_t_sfr(layer_nsfr).mean())


def relative_change(before: float, after: float) -> float:
    """(after - before) / before, e.g. -0.789 for a 78.9% drop of NASFR."""
    return (after - before) / before if before else float("nan")
