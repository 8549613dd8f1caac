"""Read any supported event file into an EventStream, choosing the format by suffix."""

from __future__ import annotations

from pathlib import Path

from events.formats import aedat2, aedat3, aedat4, nmnist, numpy_events
from events.types import EventFileError, EventStream

SUFFIXES = (".bin", ".aedat", ".aedat4", ".npy", ".npz")


def read_events(path: str | Path, sensor_size: tuple[int, int] | None = None) -> EventStream:
    """Read one event file. sensor_size is (width, height) in pixels, or None for the
    format's own (N-MNIST 34x34, DVS128 128x128, AEDAT4 from the file)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise EventFileError(f"{path}: unknown event-file type '{suffix}'; supported: {', '.join(SUFFIXES)}")
    try:
        if suffix == ".bin":
            return nmnist.read(path, sensor_size)
        if suffix == ".aedat":
            with open(path, "rb") as f:
                magic = f.read(12)
            reader = aedat3 if magic == aedat3.MAGIC else aedat2
            return reader.read(path, sensor_size)
        if suffix == ".aedat4":
            return aedat4.read(path, sensor_size)
        return numpy_events.read(path, sensor_size)
    except OSError as exc:
        raise EventFileError(f"{path}: cannot read the file ({exc.strerror or exc})") from None
