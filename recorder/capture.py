"""Forward hooks that capture, for every neuron layer and every call, the input X, the
spikes S, U before fire and reset, and H after reset (see recorder.adapters)."""

from __future__ import annotations

import fnmatch

import torch
from torch import nn

from recorder.adapters import NeuronAdapter, RecorderError, adapter_for

REPLAYABLE = (torch.float32, torch.float64)


def find_neuron_layers(model: nn.Module, patterns: tuple[str, ...] = ()) -> list[tuple[str, nn.Module, NeuronAdapter]]:
    """(module path, module, adapter) of every neuron layer, in registration order,
    restricted to paths matching any of the glob `patterns` when given."""
    found = []
    for name, module in model.named_modules():
        adapter = adapter_for(module)
        if adapter is not None and (not patterns or any(fnmatch.fnmatch(name, p) for p in patterns)):
            found.append((name, module, adapter))
    if not found:
        what = f" matching {list(patterns)}" if patterns else ""
        raise RecorderError(
            f"the model has no spiking-neuron layers{what} (SpikingJelly neurons or registered adapters); "
            "nothing to record")
    return found


class Capture:
    """Context manager: hooks on the given neuron layers; `take()` returns and clears what
    one forward pass (all its timesteps) produced, per layer, as tensors [T, N, ...]."""

    def __init__(self, layers: list[tuple[str, nn.Module, NeuronAdapter]], keep_x: bool = False, keep_h: bool = False):
        self.layers = layers
        self.keep_x, self.keep_h = keep_x, keep_h
        self.order: list[str] = []
        self._chunks: dict[str, dict[str, list[torch.Tensor]]] = {}
        self._pending: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}
        self._handles: list = []
        self._tokens: list = []

    def __enter__(self) -> "Capture":
        framework = [name for name, _, adapter in self.layers if adapter.observe is not None]
        if framework and self.keep_h:
            raise RecorderError(f"raw H (after reset) is not available for layers {framework[:3]} of other frameworks; "
                                "record without --raw-h")
        try:
            for name, module, adapter in self.layers:
                self._tokens.append((module, adapter, adapter.prepare(module)))
                self._handles.append(module.register_forward_pre_hook(self._pre(name, adapter)))
                self._handles.append(module.register_forward_hook(self._post(name, adapter)))
        except BaseException:
            self._detach()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self._detach()

    def _detach(self) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles.clear()
        for module, adapter, token in self._tokens:
            adapter.restore(module, token)
        self._tokens.clear()

    def _pre(self, name: str, adapter: NeuronAdapter):
        def hook(module, args):
            if adapter.observe is not None:  # the framework exposes U itself
                self._pending[name] = (args, adapter.snapshot(module, args), None)
                return
            x = args[0].detach()
            multi = getattr(module, "step_mode", "s") == "m"
            dynamics = adapter.dynamics(module) if x.device.type == "cpu" and x.dtype in REPLAYABLE else None
            if dynamics is not None and dynamics.get("dtype", x.dtype) != x.dtype:
                dynamics = None  # the neuron computes in another dtype than its input's: store its voltages
            if multi and hasattr(module, "store_v_seq"):
                module.store_v_seq = dynamics is None  # the kernel replays U itself: no voltages to store
            step_shape = x.shape[1:] if multi else x.shape
            v = getattr(module, adapter.state_attr)
            v_before = (v.detach().clone() if isinstance(v, torch.Tensor) and v.shape == step_shape
                        else torch.full(step_shape, float(v) if not isinstance(v, torch.Tensor) else 0.0,
                                        dtype=x.dtype, device=x.device))
            self._pending[name] = (x, v_before, dynamics)
        return hook

    def _post(self, name: str, adapter: NeuronAdapter):
        def hook(module, args, output):
            x, v_before, dynamics = self._pending.pop(name)
            if adapter.observe is not None:
                seen = adapter.observe(module, x, v_before, output)
                self._store(name, {"u": seen["u"], "s": seen["s"], **({"x": seen["x"]} if self.keep_x else {})})
                return
            s = output.detach()
            if dynamics is not None:  # U, H come later, from recorder.kernels.replay_sums
                self._store(name, {"x": x, "s": s, "v0": v_before, "dynamics": dynamics})
                return
            with torch.no_grad():
                if getattr(module, "step_mode", "s") == "m":
                    v_seq = getattr(module, adapter.state_attr + "_seq", None)
                    if not isinstance(v_seq, torch.Tensor) or v_seq.shape != x.shape:
                        raise RecorderError(f"layer {name}: the neuron did not expose its state sequence "
                                            f"'{adapter.state_attr}_seq' in multi-step mode; its adapter cannot replay U")
                    v_prev = torch.cat([v_before.unsqueeze(0), v_seq[:-1]])
                    u = adapter.charge(module, x.flatten(0, 1), v_prev.flatten(0, 1)).view_as(x)
                    h = adapter.charge(module, torch.zeros_like(x).flatten(0, 1), v_seq.flatten(0, 1)).view_as(x) \
                        if self.keep_h else None
                else:
                    v_after = getattr(module, adapter.state_attr)
                    u = adapter.charge(module, x, v_before).unsqueeze(0)
                    h = adapter.charge(module, torch.zeros_like(x), v_after).unsqueeze(0) if self.keep_h else None
                    x, s = x.unsqueeze(0), s.unsqueeze(0)
            self._store(name, {"u": u, "s": s, **({"h": h} if self.keep_h else {}), **({"x": x} if self.keep_x else {})})
        return hook

    def _store(self, name: str, values: dict) -> None:
        if name not in self._chunks:
            self._chunks[name] = {}
            if name not in self.order:
                self.order.append(name)
        for key, value in values.items():
            self._chunks[name].setdefault(key, []).append(value)

    def take(self) -> dict[str, dict[str, torch.Tensor]]:
        """Per layer name (forward order): u, s (and h, x when kept) as [T, N, ...]; for a
        layer the kernel replays: x, s [T, N, ...], v0 [N, ...] and its dynamics (a dict)."""
        out = {}
        for name in self.order:
            chunk = self._chunks.get(name)
            if not chunk or not chunk.get("s"):
                continue
            out[name] = {k: (v[0] if len(v) == 1 or k == "dynamics" else torch.cat(v)) for k, v in chunk.items() if v}
        self._chunks.clear()
        return out
