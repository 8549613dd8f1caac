"""Seeded synthetic DVS data: a bright object moving over an empty background, seen by
an ideal event sensor with background-activity noise. One class per kind of motion.

The sensor model: the scene is rendered every `step_ms`; a pixel whose covered state
turns on emits an ON event, one that turns off emits an OFF event (timestamps jittered
uniformly inside the step). Independently, every pixel emits noise events as a Poisson
process of `noise_hz` with random polarity.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from events.dataset import FramesDataset
from events.formats.numpy_events import write_npz
from events.frames import FrameSettings, events_to_frames
from events.types import EventStream, make_stream

MOTIONS = ("right", "left", "down", "up", "grow")


@dataclass(frozen=True)
class SyntheticSettings:
    """size: sensor width = height in pixels; duration_ms: length of a recording;
    step_ms: rendering step; noise_hz: background events per pixel per second;
    classes: motions to generate, a subset of MOTIONS."""

    size: int = 32
    duration_ms: float = 300.0
    step_ms: float = 1.0
    noise_hz: float = 0.5
    classes: tuple[str, ...] = MOTIONS

    def __post_init__(self):
        unknown = set(self.classes) - set(MOTIONS)
        if unknown or not self.classes:
            raise ValueError(f"unknown motions {sorted(unknown)}; choose from {MOTIONS}")
        if self.size < 8:
            raise ValueError(f"synthetic sensor size must be >= 8 pixels, got {self.size}")


def _object_mask(motion: str, progress: float, size: int, params: dict) -> np.ndarray:
    """Boolean [size, size] mask of the object at progress in [0, 1] of the recording."""
    yy, xx = np.mgrid[0:size, 0:size] + 0.5
    cx, cy, half, travel = params["cx"], params["cy"], params["half"], params["travel"]
    shift = (progress - 0.5) * travel
    if motion == "grow":
        radius = params["r0"] + (params["r1"] - params["r0"]) * progress
        return (xx - cx) ** 2 + (yy - cy) ** 2 <= radius**2
    dx, dy = {"right": (shift, 0), "left": (-shift, 0), "down": (0, shift), "up": (0, -shift)}[motion]
    return (np.abs(xx - cx - dx) <= half) & (np.abs(yy - cy - dy) <= half)


def make_recording(label: int, seed: int, settings: SyntheticSettings = SyntheticSettings()) -> EventStream:
    """One synthetic recording of class `label` (index into settings.classes)."""
    rng = np.random.default_rng(seed)
    size = settings.size
    motion = settings.classes[label]
    params = {
        "cx": rng.uniform(0.4, 0.6) * size, "cy": rng.uniform(0.4, 0.6) * size,
        "half": rng.uniform(0.1, 0.16) * size, "travel": rng.uniform(0.35, 0.5) * size,
        "r0": rng.uniform(0.06, 0.1) * size, "r1": rng.uniform(0.3, 0.4) * size,
    }
    steps = int(round(settings.duration_ms / settings.step_ms))
    step_us = settings.step_ms * 1000.0
    ts, xs, ys, ps = [], [], [], []
    previous = _object_mask(motion, 0.0, size, params)
    for k in range(1, steps + 1):
        current = _object_mask(motion, k / steps, size, params)
        for polarity, changed in ((1, current & ~previous), (0, previous & ~current)):
            y, x = np.nonzero(changed)
            ts.append(((k - 1) + rng.random(len(x))) * step_us)
            xs.append(x), ys.append(y), ps.append(np.full(len(x), polarity))
        previous = current
    n_noise = rng.poisson(settings.noise_hz * size * size * settings.duration_ms / 1000.0)
    ts.append(rng.uniform(0, steps * step_us, n_noise))
    xs.append(rng.integers(0, size, n_noise)), ys.append(rng.integers(0, size, n_noise))
    ps.append(rng.integers(0, 2, n_noise))
    t = np.concatenate(ts).astype(np.int64)
    order = np.argsort(t, kind="stable")
    cat = [np.concatenate(a)[order] for a in (xs, ys, ps)]
    return make_stream(t[order], *cat, size, size, source=f"synthetic:{motion}:{seed}")


def sample_seed(seed: int, label: int, index: int) -> int:
    """The seed of recording `index` of class `label` in a data set made with `seed`."""
    return seed * 1_000_003 + label * 10_007 + index


def write_dataset(root: str | Path, n_per_class: int, seed: int = 0,
                  settings: SyntheticSettings = SyntheticSettings()) -> Path:
    """Write root/<motion>/<index>.npz for every class; returns root. The same seed gives
    byte-identical recordings."""
    root = Path(root)
    for label, motion in enumerate(settings.classes):
        (root / motion).mkdir(parents=True, exist_ok=True)
        for i in range(n_per_class):
            stream = make_recording(label, sample_seed(seed, label, i), settings)
            write_npz(root / motion / f"{i:04d}.npz", stream)
    return root


def synthetic_frames(n_per_class: int, seed: int, frames: FrameSettings,
                     settings: SyntheticSettings = SyntheticSettings()) -> FramesDataset:
    """An in-memory data set of synthetic recordings integrated into frames."""
    items = [(events_to_frames(make_recording(label, sample_seed(seed, label, i), settings), frames), label)
             for label in range(len(settings.classes)) for i in range(n_per_class)]
    return FramesDataset(np.stack([f for f, _ in items]), np.array([y for _, y in items]), list(settings.classes))
