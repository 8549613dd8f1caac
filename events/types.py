"""The one event-array type every reader returns, and its validation."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from events.limits import check_limit

#: Structured dtype of an event array: t in microseconds, x/y in pixels, p in {0 = OFF, 1 = ON}.
EVENT_DTYPE = np.dtype([("t", "<i8"), ("x", "<u2"), ("y", "<u2"), ("p", "u1")])


class EventFileError(ValueError):
    """An event file or event array that cannot be used; the message names file and fix."""


@dataclass(frozen=True)
class EventStream:
    """A validated stream of DVS events.

    events: structured array of EVENT_DTYPE, shape [n_events], sorted by t (microseconds).
    width, height: sensor size in pixels (x < width, y < height).
    source: where the events came from (a path or a short description), for messages.
    """

    events: np.ndarray
    width: int
    height: int
    source: str = "<array>"

    def __len__(self) -> int:
        return int(self.events.shape[0])

    @property
    def duration_us(self) -> int:
        """Time from the first to the last event in microseconds (0 when empty)."""
        if len(self) == 0:
            return 0
        return int(self.events["t"][-1] - self.events["t"][0])


def make_stream(t, x, y, p, width: int, height: int, source: str = "<array>") -> EventStream:
    """Build and validate an EventStream from four equally long 1-D arrays.

    t: timestamps in microseconds (non-decreasing); x, y: pixel coordinates;
    p: polarity, any of {0, 1} or booleans (True = ON).
    Raises EventFileError naming `source` on any violation.
    """
    arrays = [np.asarray(a) for a in (t, x, y, p)]
    lengths = {a.shape for a in arrays}
    if len(lengths) != 1 or arrays[0].ndim != 1:
        raise EventFileError(
            f"{source}: t, x, y and p must be 1-D arrays of equal length, got shapes "
            f"{[a.shape for a in arrays]}"
        )
    t, x, y, p = arrays
    if width <= 0 or height <= 0:
        raise EventFileError(f"{source}: sensor size must be positive, got {width}x{height}")
    check_limit("sensor", max(width, height), f"{source}: a sensor of {width}x{height} has a side of")
    for name, a in (("t", t), ("x", x), ("y", y), ("p", p)):
        if a.dtype.kind not in "iub":
            raise EventFileError(f"{source}: field {name} must hold integers, got dtype {a.dtype}")
    if len(t):
        _check_ranges(source, x, y, width, height)
        if p.dtype.kind != "b" and (p.min() < 0 or p.max() > 1):
            raise EventFileError(
                f"{source}: polarity must be 0 (OFF) or 1 (ON), found values "
                f"{sorted(set(np.unique(p).tolist()) - {0, 1})[:5]}"
            )
        if t.min() < 0:
            raise EventFileError(f"{source}: negative timestamps found (first at index {int(np.argmax(t < 0))})")
        backwards = np.flatnonzero(np.diff(t.astype(np.int64)) < 0)
        if backwards.size:
            i = int(backwards[0])
            raise EventFileError(
                f"{source}: events are not in time order (t[{i + 1}]={int(t[i + 1])} us < "
                f"t[{i}]={int(t[i])} us); sort the events by timestamp first"
            )
    events = np.empty(len(t), dtype=EVENT_DTYPE)
    events["t"], events["x"], events["y"], events["p"] = t, x, y, p
    return EventStream(events=events, width=int(width), height=int(height), source=source)


def _check_ranges(source: str, x: np.ndarray, y: np.ndarray, width: int, height: int) -> None:
    """Coordinates inside the sensor; the error names --sensor-size with the smallest size
    that would hold the file's events."""
    for name, values, size in (("x", x, width), ("y", y, height)):
        low, high = int(values.min()), int(values.max())
        if low < 0 or high >= size:
            bad = int(np.argmax((values < 0) | (values >= size)))
            need = (max(width, int(x.max()) + 1), max(height, int(y.max()) + 1))
            raise EventFileError(
                f"{source}: {name} coordinate {int(values[bad])} at event {bad} is outside the {width} x {height} "
                f"sensor (0..{size - 1}); if the recording comes from a larger sensor, give its size with "
                f"--sensor-size W H (at least --sensor-size {need[0]} {need[1]}, e.g. 128 128 for a DVS128)")
