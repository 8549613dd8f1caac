"""NumPy event files: .npy structured arrays or .npz archives with fields t, x, y, p.

This is also SpikingJelly's layout (e.g. DVS128Gesture/events_np/train/<class>/*.npz).
Timestamps are microseconds. The sensor size comes from the caller, else from optional
'width'/'height' entries of an .npz.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from events.types import EventFileError, EventStream, make_stream

FIELDS = ("t", "x", "y", "p")


def read(path: Path, sensor_size: tuple[int, int] | None = None) -> EventStream:
    try:
        loaded = np.load(path, allow_pickle=False)
    except (ValueError, OSError, zipfile.BadZipFile, EOFError) as exc:
        raise EventFileError(f"{path}: not a readable NumPy file ({exc})") from None
    if isinstance(loaded, np.lib.npyio.NpzFile):
        with loaded:
            missing = [f for f in FIELDS if f not in loaded.files]
            if missing:
                raise EventFileError(f"{path}: .npz lacks event arrays {missing}; it needs t, x, y and p")
            try:
                fields = {f: loaded[f] for f in FIELDS}
                stored = (int(loaded["width"]), int(loaded["height"])) if {"width", "height"} <= set(loaded.files) else None
            except (ValueError, zipfile.BadZipFile, EOFError, OSError) as exc:
                raise EventFileError(f"{path}: corrupt .npz ({exc})") from None
    else:
        names = loaded.dtype.names or ()
        missing = [f for f in FIELDS if f not in names]
        if missing:
            raise EventFileError(f"{path}: .npy is not a structured event array with fields t, x, y, p (missing {missing})")
        fields, stored = {f: loaded[f] for f in FIELDS}, None
    size = sensor_size or stored
    if size is None:
        raise EventFileError(f"{path}: the file does not store its sensor size; pass it (e.g. --sensor-size 128 128)")
    return make_stream(fields["t"], fields["x"], fields["y"], fields["p"], size[0], size[1], source=str(path))


def write_npz(path: Path, stream: EventStream) -> None:
    """Write a stream as .npz with its sensor size (the project's own event-file layout)."""
    ev = stream.events
    np.savez_compressed(path, t=ev["t"], x=ev["x"], y=ev["y"], p=ev["p"],
                        width=np.int64(stream.width), height=np.int64(stream.height))
