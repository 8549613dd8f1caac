"""Silence chosen channels of a model's spiking layers and count the spikes every layer
then emits, through forward hooks on the neuron modules (the recorder's mechanism: the
model itself is never edited, and leaving the context removes the hooks).

A silenced channel's output spikes are set to 0 before any later layer reads them; the
neuron's own state still fires and resets as it would (only what it sends is cut)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import torch
from torch import nn

from recorder.adapters import RecorderError
from recorder.capture import find_neuron_layers


class Silence:
    """Context manager. channels: {layer path: channel indices} to silence (a layer's
    channel is dim 1 of a single-step output [N, C, ...], dim 2 of a multi-step one
    [T, N, C, ...]). After each forward pass, `take()` returns per layer (forward order)
    the spikes it emitted after silencing: per sample [N] and summed over samples
    [T, C, ...]."""

    def __init__(self, model: nn.Module, channels: Mapping[str, Sequence[int]] | None = None,
                 layers: tuple[str, ...] = ()):
        self.neurons = find_neuron_layers(model, layers)
        names = [name for name, _, _ in self.neurons]
        channels = dict(channels or {})
        unknown = sorted(set(channels) - set(names))
        if unknown:
            raise RecorderError(f"cannot silence layers {unknown}: the model's spiking layers are {names}")
        self.channels = {name: sorted({int(c) for c in chans}) for name, chans in channels.items()}
        self._masks: dict[str, torch.Tensor] = {}
        self._calls: dict[str, list[tuple[torch.Tensor, torch.Tensor]]] = {}
        self._handles: list = []

    def __enter__(self) -> "Silence":
        for name, module, adapter in self.neurons:
            self._handles.append(module.register_forward_hook(self._hook(name, adapter)))
        return self

    def __exit__(self, *exc) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles.clear()

    def _mask(self, name: str, n_channels: int, like: torch.Tensor) -> torch.Tensor | None:
        chans = self.channels.get(name)
        if not chans:
            return None
        if chans[-1] >= n_channels or chans[0] < 0:
            raise RecorderError(f"layer {name} has channels 0..{n_channels - 1}; cannot silence {chans[-1] if chans[-1] >= n_channels else chans[0]}")
        mask = self._masks.get(name)
        if mask is None or mask.device != like.device or mask.dtype != like.dtype:
            mask = torch.ones(n_channels, dtype=like.dtype, device=like.device)
            mask[chans] = 0
            self._masks[name] = mask
        return mask

    def _hook(self, name: str, adapter):
        def hook(module, args, output):
            spikes = adapter.spikes_of(output)
            dim = adapter.channel_dim(module)
            if spikes.dim() <= dim:
                raise RecorderError(f"layer {name}: output of shape {tuple(spikes.shape)} has no channel dimension {dim}")
            mask = self._mask(name, spikes.shape[dim], spikes)
            if mask is not None:
                spikes = spikes * mask.view(-1, *([1] * (spikes.dim() - dim - 1)))
                output = adapter.with_spikes(output, spikes)
            with torch.no_grad():
                steps = adapter.time_major(module, spikes.detach())  # [T, N, ...] (T = 1 for a single-step call)
                per_sample = steps.flatten(2).sum(2).sum(0)
                summed = steps.sum(1)
            self._calls.setdefault(name, []).append((per_sample.double().cpu(), summed.double().cpu()))
            return output if mask is not None else None
        return hook

    def take(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """{layer: (spikes per sample [N], spikes summed over samples [T, C, ...])} of what
        ran since the last take (single-step calls: one per timestep, stacked)."""
        out = {}
        for name, _, _ in self.neurons:
            calls = self._calls.get(name)
            if not calls:
                continue
            per_sample = torch.stack([c[0] for c in calls]).sum(0)
            summed = torch.cat([c[1] for c in calls])
            out[name] = (per_sample.numpy(), summed.numpy())
        self._calls.clear()
        return out
