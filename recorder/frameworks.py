"""Neuron adapters for other frameworks' layers inside a user's own model: snnTorch
(`Leaky`, `Synaptic`) and Sinabs (`LIF`, `IAF`, `LIFSqueeze`, `IAFSqueeze`).

Each reads U (before fire and reset) from the framework's own state and equations, never a
re-implementation of them:

- snnTorch computes `mem`, fires on it, and (default `reset_delay=True`) resets only at the
  next step: the `mem` it holds after a call is U. With `reset_delay=False` and a reset by
  subtraction U = mem + (spk - reset) x threshold, undoing its own reset step.
- Sinabs records its states after each step (`record_states`, switched on while recording);
  U at step t is Sinabs' own single-step function (`lif_forward_single`) applied to the input
  and the state after step t - 1 with spike generation off, so no reset happens.

The libraries are imported only when a model holds one of their layers."""

from __future__ import annotations

import math

import torch
from torch import nn

from recorder.adapters import NeuronAdapter, RecorderError

SNNTORCH_CLASSES = ("Leaky", "Synaptic")
SINABS_CLASSES = ("LIF", "IAF", "LIFSqueeze", "IAFSqueeze")


def _from(module: nn.Module, package: str, classes: tuple[str, ...]) -> bool:
    cls = type(module)
    return cls.__module__.split(".")[0] == package and cls.__name__ in classes


def _scalar(value, what: str, layer: nn.Module) -> float:
    t = torch.as_tensor(value).detach()
    if t.numel() != 1:
        if torch.all(t == t.flatten()[0]):
            return float(t.flatten()[0])
        raise RecorderError(f"{type(layer).__name__}: {what} differs between neurons; the recorder needs one value per "
                            "layer (its histogram edges and QE are in units of it)")
    return float(t)


# --- snnTorch -------------------------------------------------------------------------------


def _snn_params(module: nn.Module) -> dict:
    beta = _scalar(module.beta.clamp(0, 1), "beta", module)
    mechanism = {0: "subtract", 1: "zero", 2: "none"}[int(module.reset_mechanism_val)]
    out = {"v_threshold": _scalar(module.threshold, "threshold", module),
           "v_reset": 0.0 if mechanism == "zero" else None, "tau": 1.0 / (1.0 - beta) if beta < 1 else math.inf,
           "beta": beta, "decay_input": False, "framework": "snntorch", "reset_mechanism": mechanism,
           "reset_delay": bool(module.reset_delay),
           "graded_spikes_factor": _scalar(module.graded_spikes_factor, "graded_spikes_factor", module)}
    if hasattr(module, "alpha"):
        out["alpha"] = _scalar(module.alpha.clamp(0, 1), "alpha", module)
    return out


def _snn_observe(module: nn.Module, args: tuple, snapshot, output) -> dict:
    if getattr(module, "inhibition", False):
        raise RecorderError(f"snnTorch {type(module).__name__} with inhibition=True fires only its strongest neuron, "
                            "not Heaviside(U - threshold); record it without inhibition")
    spk = output[0] if isinstance(output, tuple) else output
    x = args[0].detach()
    gsf = module.graded_spikes_factor
    s = spk.detach() / gsf if not torch.all(torch.as_tensor(gsf) == 1) else spk.detach()
    mem = module.mem.detach()
    if module.reset_delay or int(module.reset_mechanism_val) == 2:
        u = mem.clone()  # fired on, not yet reset
    elif int(module.reset_mechanism_val) == 0:
        u = mem + (s - module.reset) * module.threshold
    else:
        raise RecorderError(f"snnTorch {type(module).__name__} with reset_mechanism='zero' and reset_delay=False "
                            "overwrites U when it fires; record it with reset_delay=True (the default)")
    return {"u": u.unsqueeze(0), "s": s.unsqueeze(0), "x": x.unsqueeze(0)}


SNNTORCH = NeuronAdapter(
    "snntorch", lambda m: _from(m, "snntorch", SNNTORCH_CLASSES), charge=None, params=_snn_params, state_attr="mem",
    observe=_snn_observe, spikes_of=lambda out: out[0] if isinstance(out, tuple) else out,
    with_spikes=lambda out, s: (s, *out[1:]) if isinstance(out, tuple) else s)


# --- Sinabs ---------------------------------------------------------------------------------


def _sinabs_squeezed(module: nn.Module) -> bool:
    return type(module).__name__.endswith("Squeeze")


def _sinabs_params(module: nn.Module) -> dict:
    from sinabs.activation import MembraneReset, MembraneSubtract  # noqa: PLC0415

    tau = module.tau_mem_calculated
    tau = math.inf if tau is None else _scalar(tau, "tau_mem", module)
    alpha = _scalar(module.alpha_mem_calculated, "alpha_mem", module)
    reset = module.reset_fn
    if isinstance(reset, MembraneSubtract):
        v_reset = None
    elif isinstance(reset, MembraneReset):
        v_reset = float(reset.reset_value)
    else:
        raise RecorderError(f"Sinabs {type(module).__name__} resets with {type(reset).__name__}; the recorder knows "
                            "MembraneSubtract and MembraneReset")
    tau_syn = module.tau_syn_calculated
    return {"v_threshold": _scalar(module.spike_threshold, "spike_threshold", module), "v_reset": v_reset,
            "tau": tau, "beta": alpha, "decay_input": bool(module.norm_input), "framework": "sinabs",
            "tau_syn": None if tau_syn is None else _scalar(tau_syn, "tau_syn", module),
            "min_v_mem": module.min_v_mem, "spike_fn": getattr(module.spike_fn, "__name__", str(module.spike_fn)),
            "reset_fn": type(reset).__name__}


def _sinabs_prepare(module: nn.Module) -> object:
    if type(module).__name__ == "LIFRecurrent" or hasattr(module, "rec_connect"):
        raise RecorderError(f"Sinabs {type(module).__name__} feeds its spikes back; the recorder handles LIF, IAF and "
                            "their Squeeze variants")
    token = module.record_states
    module.record_states = True
    return token


def _sinabs_restore(module: nn.Module, token: object) -> None:
    module.record_states = token


def _batch_time(module: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """[B, T, ...] of a layer's input (a Squeeze layer takes [B * T, ...])."""
    if not _sinabs_squeezed(module):
        return x
    return x.reshape(module.batch_size, module.num_timesteps, *x.shape[1:])


def _sinabs_snapshot(module: nn.Module, args: tuple):
    x = _batch_time(module, args[0])
    shape = (x.shape[0], *x.shape[2:])
    if not module.is_state_initialised() or tuple(module.v_mem.shape) != shape:
        return None  # the layer starts from zeros in this call
    return {name: buf.detach().clone() for name, buf in module.named_buffers()}


def _sinabs_observe(module: nn.Module, args: tuple, snapshot, output) -> dict:
    from sinabs.layers.functional.lif import lif_forward_single  # noqa: PLC0415

    x = _batch_time(module, args[0].detach())
    s = _batch_time(module, output.detach())
    if s.numel() and float(s.max()) > 1:
        raise RecorderError(f"Sinabs {type(module).__name__} sent {int(s.max())} spikes in one step (MultiSpike); the "
                            "recorder counts one per step: build the layer with spike_fn=SingleSpike")
    rec = module.recordings
    states = {name: torch.cat([(snapshot[name] if snapshot else torch.zeros_like(rec[name][:, 0])).unsqueeze(1),
                               rec[name][:, :-1]], dim=1) for name in rec}  # each step's state before it ran
    with torch.no_grad():
        u, _ = lif_forward_single(input_data=x, alpha_mem=module.alpha_mem_calculated,
                                  alpha_syn=module.alpha_syn_calculated, state=states,
                                  spike_threshold=module.spike_threshold, spike_fn=None, reset_fn=module.reset_fn,
                                  surrogate_grad_fn=module.surrogate_grad_fn, min_v_mem=None,
                                  norm_input=module.norm_input)
    return {"u": u.transpose(0, 1), "s": s.transpose(0, 1), "x": x.transpose(0, 1)}


def _sinabs_time_major(module: nn.Module, spikes: torch.Tensor) -> torch.Tensor:
    return _batch_time(module, spikes).transpose(0, 1)


SINABS = NeuronAdapter(
    "sinabs", lambda m: _from(m, "sinabs", SINABS_CLASSES), charge=None, params=_sinabs_params, state_attr="v_mem",
    prepare=_sinabs_prepare, restore=_sinabs_restore, snapshot=_sinabs_snapshot, observe=_sinabs_observe,
    channel_dim=lambda m: 1 if _sinabs_squeezed(m) else 2, time_major=_sinabs_time_major)
