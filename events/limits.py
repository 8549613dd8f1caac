"""Limits on sizes that inputs declare (event counts, sensors, model arguments, timesteps,
histogram bins), checked before anything is allocated. Each limit has a default and an
environment variable that lifts it, named in the error:

| limit | default | variable |
| --- | --- | --- |
| events in one file | 50,000,000 | SNNR_MAX_EVENTS |
| decompressed event data of one file | 2,048 MB | SNNR_MAX_EVENT_MB |
| sensor side | 4,096 pixels | SNNR_MAX_SENSOR |
| timesteps T | 10,000 | SNNR_MAX_T |
| model parameters | 500,000,000 | SNNR_MAX_PARAMS |
| activation memory of one sample | 16 GB | SNNR_MAX_ACTIVATION_GB |
| histogram bins | 100,000 | SNNR_MAX_HIST_BINS |
"""

from __future__ import annotations

import os
from dataclasses import dataclass


class LimitError(ValueError):
    """A declared size over a limit; the message names the limit and how to lift it."""


@dataclass(frozen=True)
class Limit:
    variable: str
    default: float
    unit: str

    @property
    def value(self) -> float:
        raw = os.environ.get(self.variable)
        if raw is None:
            return self.default
        try:
            value = float(raw)
        except ValueError:
            raise LimitError(f"{self.variable}={raw!r} is not a number; set it to the largest {self.unit} allowed") from None
        return value


LIMITS = {
    "events": Limit("SNNR_MAX_EVENTS", 50_000_000, "events in one file"),
    "event_mb": Limit("SNNR_MAX_EVENT_MB", 2048, "MB of decompressed event data in one file"),
    "sensor": Limit("SNNR_MAX_SENSOR", 4096, "pixels per sensor side"),
    "T": Limit("SNNR_MAX_T", 10_000, "timesteps"),
    "params": Limit("SNNR_MAX_PARAMS", 500_000_000, "model parameters"),
    "activation_gb": Limit("SNNR_MAX_ACTIVATION_GB", 16, "GB of activations for one sample"),
    "hist_bins": Limit("SNNR_MAX_HIST_BINS", 100_000, "histogram bins"),
}


def check_limit(name: str, value: float, what: str) -> None:
    """Raise LimitError when `value` exceeds limit `name` (see LIMITS)."""
    limit = LIMITS[name]
    if value > limit.value:
        shown = f"{value:,.0f}" if value >= 10 else f"{value:.3g}"
        raise LimitError(f"{what} {shown} {limit.unit}, over the limit of {limit.value:,.0f}; if that is "
                         f"intended, raise it with the environment variable {limit.variable}")
