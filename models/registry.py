"""Build any model of the zoo from its architecture name and plain arguments."""

from __future__ import annotations

import inspect

from models.base import ZooModel
from models.lif_snn import LIFSNN3
from models.plif_snn import PLIFSNN5
from models.sew_resnet import SEWResNet18

ARCHS: dict[str, type[ZooModel]] = {cls.ARCH: cls for cls in (LIFSNN3, PLIFSNN5, SEWResNet18)}


def build_model(arch: str, **arch_args) -> ZooModel:
    """A fresh model; raises ValueError naming the architecture or argument that is wrong."""
    if arch not in ARCHS:
        raise ValueError(f"unknown architecture '{arch}'; choose one of {', '.join(ARCHS)}")
    cls = ARCHS[arch]
    valid = [p for p in inspect.signature(cls.__init__).parameters if p != "self"]
    unknown = sorted(set(arch_args) - set(valid))
    if unknown:
        raise ValueError(f"unknown argument(s) {unknown} for {arch}; valid: {', '.join(valid)}")
    args = {k: tuple(v) if isinstance(v, list) else v for k, v in arch_args.items()}
    return cls(**args)
