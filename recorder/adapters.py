"""How the recorder gets U (before fire and reset) and H (after reset) from a neuron layer.

SpikingJelly 2.x neurons keep only the state after reset (`v`, `v_seq`), and their fused
kernels never expose U. For every SpikingJelly `BaseNode` with a single state `v` (LIF,
IF, PLIF and the other Heaviside neurons) the recorder replays one charge step with the
layer's own functional forward and the largest finite threshold, so nothing fires or resets:

    U[t] = charge(v_after_reset[t-1], X[t])       H[t] = charge(v_after_reset[t], 0)

H is the paper's H (Eq. 4: what U[t+1] would be with no input). The replay is checked:
Heaviside(U - V_th) must reproduce the layer's real spikes, else recording stops with an
error instead of storing a wrong U.

Custom neuron modules: register a NeuronAdapter with `register_adapter`. The recorder
captures the input X of each call and the state attribute `state_attr` before and after
it (single-step calls), or `<state_attr>_seq` after a multi-step call.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
from spikingjelly.activation_based import neuron
from spikingjelly.activation_based.neuron import BaseNode
from torch import nn


class RecorderError(ValueError):
    """Recording cannot go on; the one-line message names the problem and the fix."""


@dataclass(frozen=True)
class NeuronAdapter:
    """matches(module): whether this adapter handles the module.
    charge(module, x, v_before) -> U: one charge step without fire or reset.
    params(module) -> dict with v_threshold, v_reset (None = soft reset), tau, beta, decay_input.
    state_attr: the module attribute holding the state after reset.
    prepare(module) / restore(module, token): set up state-sequence storage for multi-step calls.
    dynamics(module) -> dict or None: for IF/LIF neurons whose U the statistics kernel can
    replay from the input and the spikes alone (kind 'if' or 'lif', tau, decay_input,
    v_reset, v_threshold), so that the neuron need not store its voltages (recorder.kernels).

    Layers whose framework exposes U itself (recorder.frameworks) set observe instead of
    charge: snapshot(module, args) is taken before each call, and observe(module, args,
    snapshot, output) returns u, s and x of that call as [T, N, ...] tensors (T = 1 for a
    single-step call). spikes_of / with_spikes read and replace the spikes in the layer's
    output (a tuple in snnTorch); channel_dim(module) is the channel axis of that output and
    time_major(module, spikes) turns its spikes into [T, N, ...] (recorder.silence).
    """

    name: str
    matches: Callable[[nn.Module], bool]
    charge: Callable[[nn.Module, torch.Tensor, torch.Tensor], torch.Tensor] | None
    params: Callable[[nn.Module], dict]
    state_attr: str = "v"
    prepare: Callable[[nn.Module], object] = lambda m: None
    restore: Callable[[nn.Module, object], None] = lambda m, token: None
    dynamics: Callable[[nn.Module], dict | None] = lambda m: None
    observe: Callable[[nn.Module, tuple, object, object], dict] | None = None
    snapshot: Callable[[nn.Module, tuple], object] = lambda m, args: None
    spikes_of: Callable[[object], torch.Tensor] = lambda output: output
    with_spikes: Callable[[object, torch.Tensor], object] = lambda output, spikes: spikes
    channel_dim: Callable[[nn.Module], int] = lambda m: 2 if getattr(m, "step_mode", "s") == "m" else 1
    time_major: Callable[[nn.Module, torch.Tensor], torch.Tensor] = \
        lambda m, s: s if getattr(m, "step_mode", "s") == "m" else s.unsqueeze(0)


def lif_charge(x: torch.Tensor, v: torch.Tensor, tau: float, decay_input: bool, v_reset: float | None) -> torch.Tensor:
    """SpikingJelly's LIF charge (spikingjelly.activation_based.functional.lif_charge) with the
    same floating-point operations in the same order, so bitwise equal, but one temporary
    instead of four: decay_input: v + (x - (v - r)) / tau, else v - (v - r) / tau + x."""
    r = 0.0 if v_reset is None else v_reset
    shifted = v if r == 0.0 else v - r  # v - 0.0 == v exactly
    if decay_input:
        out = torch.sub(x, shifted)
        out.div_(tau)
        return out.add_(v)
    out = torch.div(shifted, tau)
    torch.sub(v, out, out=out)
    return out.add_(x)


def _sj_charge(module: BaseNode, x: torch.Tensor, v_before: torch.Tensor) -> torch.Tensor:
    if type(module) is neuron.LIFNode:  # fast path: SpikingJelly's own charge equation
        return lif_charge(x, v_before, module.tau, module.decay_input, module.v_reset)
    if type(module) is neuron.IFNode:
        return v_before + x
    threshold = module.v_threshold
    try:  # the largest finite threshold: nothing fires, and a soft reset subtracts 0 * V_th = 0
        module.v_threshold = float(torch.finfo(x.dtype).max)
        with torch.no_grad():
            _, states = module.single_step_functional_forward((x,), (v_before,))
    finally:
        module.v_threshold = threshold
    return states[0]


def _sj_params(module: BaseNode) -> dict:
    tau = getattr(module, "tau", None)
    if tau is None and hasattr(module, "w"):  # ParametricLIFNode: 1/tau = sigmoid(w)
        tau = float(1.0 / torch.sigmoid(module.w.detach()).item())
    tau = float(tau) if tau is not None else math.inf  # IF: no leak
    decay_input = bool(getattr(module, "decay_input", False))
    return {"v_threshold": float(module.v_threshold),
            "v_reset": None if module.v_reset is None else float(module.v_reset),
            "tau": tau, "beta": 1.0 - 1.0 / tau if math.isfinite(tau) else 1.0, "decay_input": decay_input}


def _sj_dynamics(module: BaseNode) -> dict | None:
    """IF, LIF and PLIF layers of SpikingJelly in multi-step mode: replayable by the kernel
    (PLIF with q = sigmoid(w) computed in float32, as SpikingJelly's CPU kernel does)."""
    kinds = {neuron.LIFNode: "lif", neuron.IFNode: "if", neuron.ParametricLIFNode: "plif"}
    if getattr(module, "step_mode", "s") != "m" or type(module) not in kinds:
        return None
    out = {"kind": kinds[type(module)], "tau": getattr(module, "tau", None),
           "decay_input": bool(getattr(module, "decay_input", False)), "v_reset": module.v_reset,
           "v_threshold": float(module.v_threshold)}
    if out["kind"] == "plif":
        with torch.no_grad():
            out["q"] = np.float32(module.w.detach().float().sigmoid().item())
        out["dtype"] = torch.float32  # SpikingJelly's PLIF computes in float32 whatever its input
    return out


def _sj_matches(module: nn.Module) -> bool:
    return isinstance(module, BaseNode)


def _sj_prepare(module: BaseNode) -> object:
    if list(module._memories.keys()) != ["v"]:
        raise RecorderError(
            f"{type(module).__name__} keeps the states {list(module._memories.keys())}; the recorder can replay "
            "only neurons whose single state is v: register a NeuronAdapter for it (recorder.adapters)")
    token = module.store_v_seq
    if module.step_mode == "m":  # single-step calls are read from v before and after each call
        module.store_v_seq = True
    return token


def _sj_restore(module: BaseNode, token: object) -> None:
    module.store_v_seq = token
    module.v_seq = None


SPIKINGJELLY = NeuronAdapter("spikingjelly", _sj_matches, _sj_charge, _sj_params,
                             prepare=_sj_prepare, restore=_sj_restore, dynamics=_sj_dynamics)

def _registry() -> list[NeuronAdapter]:
    from recorder.frameworks import SINABS, SNNTORCH  # noqa: PLC0415  (they import this module)

    return [SPIKINGJELLY, SNNTORCH, SINABS]


_REGISTRY: list[NeuronAdapter] = []


def register_adapter(adapter: NeuronAdapter) -> None:
    """Make the recorder handle more neuron modules; later registrations win."""
    _REGISTRY.insert(0, adapter)


def adapter_for(module: nn.Module) -> NeuronAdapter | None:
    if not any(a.name == "spikingjelly" for a in _REGISTRY):
        _REGISTRY.extend(_registry())  # built-ins after anything registered before the first lookup
    return next((a for a in _REGISTRY if a.matches(module)), None)


def is_neuron(module: nn.Module) -> bool:
    return adapter_for(module) is not None
