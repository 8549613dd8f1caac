"""Spiking neurons: SpikingJelly's LIF in the configuration of the paper.

Paper Eq. 1-4: U[t] = H[t-1] + X[t]; S[t] = Heaviside(U[t] - V_th), Heaviside(0) = 1;
H[t] = V_reset S[t] + beta U[t] (1 - S[t]). SpikingJelly's LIFNode with decay_input=False
and v_reset=0 computes the same U with beta = 1 - 1/tau (it applies the decay when
charging, the paper when resetting; U is identical). The authors' surrogate gradient
is a rectangle of half-width 0.25 and height 1 / (2 * 0.25), which is SpikingJelly's
Rect(alpha=2).
"""

from __future__ import annotations

from spikingjelly.activation_based import neuron, surrogate

PAPER_BETA = 0.3
PAPER_V_THRESHOLD = 0.3
PAPER_SURROGATE_HALF_WIDTH = 0.25


def tau_from_beta(beta: float) -> float:
    """SpikingJelly's tau for the paper's decay beta (beta = 1 - 1/tau)."""
    if not 0.0 <= beta < 1.0:
        raise ValueError(f"beta must lie in [0, 1), got {beta}")
    return 1.0 / (1.0 - beta)


def paper_lif(beta: float = PAPER_BETA, v_threshold: float = PAPER_V_THRESHOLD,
              surrogate_half_width: float = PAPER_SURROGATE_HALF_WIDTH) -> neuron.LIFNode:
    """A multi-step LIF layer as in the paper (hard reset to 0, no input decay)."""
    return neuron.LIFNode(
        tau=tau_from_beta(beta), decay_input=False, v_threshold=v_threshold, v_reset=0.0,
        surrogate_function=surrogate.Rect(alpha=1.0 / (2.0 * surrogate_half_width)),
        detach_reset=False, step_mode="m",
    )
