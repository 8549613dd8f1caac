"""Energy (paper Eq. 11): E = E_MAC * #MAC + E_AC * #AC, per sample, with the 45 nm
32-bit float costs E_MAC = 4.6 pJ and E_AC = 0.9 pJ.

A layer fed by spikes costs one AC per synaptic event: every input spike times the number
of outputs it reaches (its fan-out). A layer fed by real values (the first layer) and the
attention modules cost MACs."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

E_MAC_PJ = 4.6
E_AC_PJ = 0.9


@dataclass(frozen=True)
class EnergyCosts:
    mac_pj: float = E_MAC_PJ
    ac_pj: float = E_AC_PJ


def conv_fanout(in_hw: tuple[int, int], out_hw: tuple[int, int], kernel: tuple[int, int],
                stride: tuple[int, int], padding: tuple[int, int], out_channels_per_group: int) -> np.ndarray:
    """Outputs reached by one input at each position [H_in, W_in] of a 2-D convolution:
    (output positions whose window covers it) x output channels of its group."""
    def per_axis(n_in, n_out, k, s, p):
        hits = np.zeros(n_in, np.int64)
        for o in range(n_out):
            lo = o * s - p
            hits[max(lo, 0):min(lo + k, n_in)] += 1
        return hits

    rows = per_axis(in_hw[0], out_hw[0], kernel[0], stride[0], padding[0])
    cols = per_axis(in_hw[1], out_hw[1], kernel[1], stride[1], padding[1])
    return np.outer(rows, cols) * out_channels_per_group


def synaptic_acs(spike_count: np.ndarray, fanout: np.ndarray | int, n_samples: int) -> float:
    """ACs per sample of a layer fed directly by spikes: spikes [T, C, H, W] summed over
    samples, times the fan-out of their position ([H, W] map or one number), over N."""
    per_position = np.asarray(spike_count, np.float64).sum(axis=(0, 1))
    return float((per_position * fanout).sum() / n_samples)


def energy_pj(macs: float, acs: float, costs: EnergyCosts = EnergyCosts()) -> float:
    """Eq. 11 in picojoules."""
    return costs.mac_pj * macs + costs.ac_pj * acs


def delta_energy_pj(delta_macs: float, delta_acs: float, costs: EnergyCosts = EnergyCosts()) -> float:
    """Change of energy between two models, Delta_E = E_MAC Delta_MAC - E_AC Delta_AC, with
    Delta_MAC the MACs added (e.g. by attention) and Delta_AC the ACs saved."""
    return costs.mac_pj * delta_macs - costs.ac_pj * delta_acs
