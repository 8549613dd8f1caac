"""What every model of the zoo shares: its constructor arguments, input check, reset."""

from __future__ import annotations

import torch
from spikingjelly.activation_based import functional
from torch import nn


def resolve_device(name: str) -> torch.device:
    """'auto' -> CUDA when present, else the CPU; anything else as torch names it, checked
    to exist on this machine (ValueError otherwise)."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except (RuntimeError, TypeError):
        raise ValueError(f"device {name!r} is not a device name; use auto, cpu, cuda or cuda:N") from None
    if device.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count == 0:
            raise ValueError(f"device {name}: this machine has no usable CUDA GPU; use --device cpu (or auto)")
        if device.index is not None and device.index >= count:
            raise ValueError(f"device {name} does not exist: this machine has {count} GPU(s), cuda:0..cuda:{count - 1}")
    elif device.type not in ("cpu", "mps", "meta"):
        raise ValueError(f"device {name!r} is not supported here; use auto, cpu or cuda:N")
    return device


class ModelShapeError(ValueError):
    """Input frames that do not fit the model; the message says what was expected."""


class ZooModel(nn.Module):
    """Base class: subclasses set ARCH and call `_remember(locals())` in __init__.

    arch_args: the constructor arguments as plain values (what a checkpoint stores).
    """

    ARCH = ""

    def _remember(self, arguments: dict) -> None:
        self.arch_args = {k: (list(v) if isinstance(v, tuple) else v)
                          for k, v in arguments.items() if k not in ("self", "__class__")}

    @property
    def input_hw(self) -> tuple[int, int]:
        """(height, width) of the input; arch_args input_size is a side or [height, width]."""
        size = self.arch_args["input_size"]
        return (int(size), int(size)) if isinstance(size, int) else (int(size[0]), int(size[1]))

    @property
    def expected_input(self) -> tuple[int, int, int, int]:
        """(T, channels, height, width) of one input sample."""
        return (self.arch_args["T"], self.arch_args["in_channels"], *self.input_hw)

    def check_input(self, x: torch.Tensor) -> None:
        T, c, h, w = self.expected_input
        if x.dim() != 5 or x.shape[0] != T or tuple(x.shape[2:]) != (c, h, w):
            raise ModelShapeError(
                f"input of shape {list(x.shape)} does not fit {self.ARCH}: expected "
                f"[T={T}, N, {c}, {h}, {w}]; set the frame T and size to match the model"
            )
        if x.device.type != "meta" and not torch.isfinite(x).all():
            raise ModelShapeError("input frames contain NaN or infinite values")

    def begin(self, x: torch.Tensor) -> None:
        """Validate x and clear neuron states left from a previous batch."""
        self.check_input(x)
        functional.reset_net(self)

    def extra_repr(self) -> str:
        return ", ".join(f"{k}={v}" for k, v in self.arch_args.items())
