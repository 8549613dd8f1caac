"""Build any model of the zoo from its architecture name and plain arguments, after checking
that the arguments are sane and the model fits the size limits (events.limits): the model is
first built on PyTorch's meta device, which allocates nothing, to count its parameters and
the activations of one sample."""

from __future__ import annotations

import inspect

import torch

from events.limits import LIMITS, LimitError, check_limit
from models.base import ZooModel
from models.lif_snn import LIFSNN3
from models.nir_io import NIRNet
from models.plif_snn import PLIFSNN5
from models.sew_resnet import SEWResNet18

ARCHS: dict[str, type[ZooModel]] = {cls.ARCH: cls for cls in (LIFSNN3, PLIFSNN5, SEWResNet18, NIRNet)}
SIZE_ARGS = ("T", "num_classes", "in_channels", "input_size", "widths", "hidden", "channels", "pool_kernels",
             "reduction")


def _check_sizes(arch: str, args: dict) -> None:
    for key in SIZE_ARGS:
        if args.get(key) is None:
            continue  # None: the architecture's default
        value = args[key]
        values = list(value) if isinstance(value, (list, tuple)) else [value]
        if not values or any(isinstance(v, bool) or not isinstance(v, int) or v < 1 for v in values):
            raise ValueError(f"{arch} argument {key}={value!r} must be a positive whole number"
                             + (" or a list of them" if isinstance(value, (list, tuple)) else ""))
    if "T" in args:
        check_limit("T", args["T"], f"{arch} with T={args['T']} asks for")


def model_size(arch: str, **arch_args) -> tuple[int, int]:
    """(parameters, activation bytes of one sample in float32, or a bound on them when that is
    far under the limit) of a model, measured on the meta device without allocating it."""
    cls = ARCHS[arch]
    args = {k: tuple(v) if isinstance(v, list) else v for k, v in arch_args.items()}
    with torch.device("meta"):
        model = cls(**args)
    params = sum(p.numel() for p in model.parameters())
    check_limit("params", params, f"{arch} with {_short(arch_args)} has")
    T, c, h, w = model.expected_input
    check_limit("activation_gb", T * c * h * w * 4 / 2**30, f"{arch}: one input sample of {T}x{c}x{h}x{w} takes")
    # a quick bound first: every conv output at the input's resolution, six tensors per layer
    widths = sum(m.out_channels * h * w for m in model.modules() if isinstance(m, torch.nn.Conv2d)) + \
        sum(m.out_features for m in model.modules() if isinstance(m, torch.nn.Linear))
    bound = T * widths * 6 * 4
    if bound <= LIMITS["activation_gb"].value * 2**30 / 4:
        return params, bound
    elements = [0]

    def count(module, inputs, output):
        if isinstance(output, torch.Tensor):
            elements[0] += output.numel()

    leaves = [m for m in model.modules() if not list(m.children())]
    hooks = [m.register_forward_hook(count) for m in leaves]
    try:
        with torch.no_grad():
            model(torch.zeros(T, 1, c, h, w, device="meta"))
    finally:
        for hook in hooks:
            hook.remove()
    check_limit("activation_gb", elements[0] * 4 / 2**30, f"{arch} with {_short(arch_args)}: one sample's activations take")
    return params, elements[0] * 4


def _short(args: dict) -> str:
    keys = [k for k in SIZE_ARGS if k in args]
    return ", ".join(f"{k}={args[k]}" for k in keys[:5])


def build_model(arch: str, **arch_args) -> ZooModel:
    """A fresh model; raises ValueError naming the architecture or argument that is wrong,
    and LimitError (a ValueError) for a model over the size limits."""
    if not isinstance(arch, str) or arch not in ARCHS:
        raise ValueError(f"unknown architecture {arch!r}; choose one of {', '.join(ARCHS)}")
    cls = ARCHS[arch]
    valid = [p for p in inspect.signature(cls.__init__).parameters if p != "self"]
    unknown = sorted(set(arch_args) - set(valid))
    if unknown:
        raise ValueError(f"unknown argument(s) {unknown} for {arch}; valid: {', '.join(valid)}")
    _check_sizes(arch, arch_args)
    try:
        model_size(arch, **arch_args)
    except (LimitError, ValueError):
        raise
    except (RuntimeError, TypeError, AssertionError, ZeroDivisionError) as exc:
        raise ValueError(f"cannot build {arch} with {_short(arch_args)} ({str(exc).splitlines()[0][:160]})") from None
    args = {k: tuple(v) if isinstance(v, list) else v for k, v in arch_args.items()}
    return cls(**args)
