"""Spike counting during evaluation, for the training report (NASFR, paper Def. 1)."""

from __future__ import annotations

from contextlib import contextmanager

import torch
from spikingjelly.activation_based.neuron import BaseNode


def spiking_layers(model: torch.nn.Module) -> list[tuple[str, torch.nn.Module]]:
    """(module path, module) of every SpikingJelly neuron layer, in registration order."""
    return [(name, m) for name, m in model.named_modules() if isinstance(m, BaseNode)]


class SpikeTally:
    """Sums of spikes and of neuron-timestep slots per layer over all evaluated samples."""

    def __init__(self):
        self.spikes: dict[str, float] = {}
        self.slots: dict[str, int] = {}

    def add(self, name: str, out: torch.Tensor) -> None:
        self.spikes[name] = self.spikes.get(name, 0.0) + float(out.detach().sum())
        self.slots[name] = self.slots.get(name, 0) + out.numel()

    def layer_rates(self) -> dict[str, float]:
        return {k: self.spikes[k] / self.slots[k] for k in self.spikes}

    def nasfr(self) -> float:
        """Neuron-weighted mean firing rate over all layers, timesteps and samples."""
        slots = sum(self.slots.values())
        return sum(self.spikes.values()) / slots if slots else float("nan")


@contextmanager
def tally_spikes(model: torch.nn.Module):
    """Yield a SpikeTally filled by forward hooks on every neuron layer; hooks are removed on exit."""
    tally, handles = SpikeTally(), []
    try:
        for name, module in spiking_layers(model):
            handles.append(module.register_forward_hook(lambda m, i, o, name=name: tally.add(name, o)))
        yield tally
    finally:
        for h in handles:
            h.remove()
