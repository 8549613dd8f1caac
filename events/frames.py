"""Frame integration as in the paper: T frames of dt ms each (t_lat = dt x T), two
polarity channels, optional spatial down-sampling, and cutting long recordings into
fixed windows."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from events.types import EventFileError, EventStream


@dataclass(frozen=True)
class FrameSettings:
    """How to turn an event stream into frames.

    T: number of frames. dt_ms: length of one frame in milliseconds.
    size: (height, width) of the output frames, or None for the sensor size; events are
    down-sampled by integer coordinate scaling (x' = floor(x * W' / W)).
    binary: if True a pixel is 1 when it saw at least one event in the frame, else the
    event count.
    """

    T: int
    dt_ms: float
    size: tuple[int, int] | None = None
    binary: bool = False

    def __post_init__(self):
        if self.T <= 0 or self.dt_ms <= 0:
            raise ValueError(f"frame settings need T > 0 and dt_ms > 0, got T={self.T}, dt_ms={self.dt_ms}")
        if self.size is not None and (len(self.size) != 2 or min(self.size) <= 0):
            raise ValueError(f"frame size must be (height, width) > 0, got {self.size}")

    @property
    def window_us(self) -> int:
        """t_lat = T x dt in microseconds."""
        return int(round(self.T * self.dt_ms * 1000))


def events_to_frames(stream: EventStream, settings: FrameSettings, t_start_us: int | None = None) -> np.ndarray:
    """Integrate events into frames.

    Returns float32 [T, 2, H, W]: channel 0 OFF, channel 1 ON; counts (or 0/1 if binary).
    Frame k holds events with t_start + k*dt <= t < t_start + (k+1)*dt; t_start defaults
    to the first event's timestamp. Events after t_lat are ignored.
    """
    height, width = settings.size or (stream.height, stream.width)
    frames = np.zeros((settings.T, 2, height, width), dtype=np.float32)
    ev = stream.events
    if len(ev) == 0:
        return frames
    t0 = int(ev["t"][0]) if t_start_us is None else int(t_start_us)
    dt_us = settings.dt_ms * 1000.0
    k = np.floor((ev["t"].astype(np.int64) - t0) / dt_us).astype(np.int64)
    keep = (k >= 0) & (k < settings.T)
    x = ev["x"][keep].astype(np.int64) * width // stream.width
    y = ev["y"][keep].astype(np.int64) * height // stream.height
    flat = np.ravel_multi_index((k[keep], ev["p"][keep].astype(np.int64), y, x), frames.shape)
    frames.reshape(-1)[:] = np.bincount(flat, minlength=frames.size).astype(np.float32)
    if settings.binary:
        np.minimum(frames, 1.0, out=frames)
    return frames


def window_starts(stream: EventStream, settings: FrameSettings, stride_ms: float | None = None) -> list[int]:
    """Start times (us) of the fixed windows of length t_lat that fit in the stream.

    stride_ms: distance between window starts (default t_lat: back-to-back windows).
    A stream shorter than one window gives one window at its first event.
    """
    if len(stream) == 0:
        raise EventFileError(f"{stream.source}: no events to cut into windows")
    stride = settings.window_us if stride_ms is None else int(round(stride_ms * 1000))
    if stride <= 0:
        raise ValueError(f"window stride must be > 0 ms, got {stride_ms}")
    first, last = int(stream.events["t"][0]), int(stream.events["t"][-1])
    n = max(1, (last - first - settings.window_us) // stride + 1) if last - first >= settings.window_us else 1
    return [first + i * stride for i in range(n)]
