"""NumPy event files: .npy structured arrays or .npz archives with fields t, x, y, p.

This is also SpikingJelly's layout (e.g. DVS128Gesture/events_np/train/<class>/*.npz).
Timestamps are microseconds. The sensor size comes from the caller, else from optional
'width'/'height' entries of an .npz.
"""

from __future__ import annotations

import tokenize
import zipfile
import zlib
from pathlib import Path

import numpy as np

from events.limits import check_limit
from events.types import EventFileError, EventStream, make_stream

FIELDS = ("t", "x", "y", "p")
# what reading a damaged .npy/.npz raises (zlib.error: a corrupt compressed member)
# (SyntaxError, TokenError, TypeError, OverflowError: numpy parsing a damaged .npy header)
READ_ERRORS = (ValueError, OSError, zipfile.BadZipFile, EOFError, KeyError, zlib.error, NotImplementedError,
               SyntaxError, tokenize.TokenError, TypeError, OverflowError)


def _header(fh) -> tuple[tuple[int, ...], np.dtype]:
    """(shape, dtype) from the header of an .npy stream, without reading its data."""
    version = np.lib.format.read_magic(fh)
    read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
    shape, _, dtype = read_header(fh)
    return tuple(int(s) for s in shape), np.dtype(dtype)


def declared_arrays(path: Path) -> dict[str, tuple[tuple[int, ...], np.dtype]]:
    """name -> (shape, dtype) of every array of an .npy or .npz file, from the headers only
    (an .npz is a zip archive: each member's header is read from its first bytes)."""
    if zipfile.is_zipfile(path):
        out = {}
        with zipfile.ZipFile(path) as zf:
            for info in zf.infolist():
                with zf.open(info) as fh:
                    out[info.filename.removesuffix(".npy")] = _header(fh)
        return out
    with open(path, "rb") as fh:
        return {"": _header(fh)}


def check_declared(path: Path) -> None:
    """Refuse, before reading, a file whose arrays declare more events or bytes than the
    limits (events.limits): a small compressed file can declare billions of events."""
    try:
        arrays = declared_arrays(path)
    except READ_ERRORS as exc:
        raise EventFileError(f"{path}: not a readable NumPy file ({str(exc).splitlines()[0] if str(exc) else exc})") from None
    total = 0
    for name, (shape, dtype) in arrays.items():
        if dtype.hasobject:
            raise EventFileError(f"{path}: array {name or 'data'} holds Python objects, which are never loaded; "
                                 "store integer fields t, x, y, p")
        count = int(np.prod(shape, dtype=np.float64)) if shape else 1
        total += count * dtype.itemsize
        if name in FIELDS + ("",):
            check_limit("events", count, f"{path}: {name or 'the array'} declares {count:,} events")
    check_limit("event_mb", total / 2**20, f"{path}: its arrays declare {total / 2**20:,.0f} MB")


def read(path: Path, sensor_size: tuple[int, int] | None = None) -> EventStream:
    check_declared(path)
    try:
        loaded = np.load(path, allow_pickle=False)
    except READ_ERRORS as exc:
        raise EventFileError(f"{path}: not a readable NumPy file ({exc})") from None
    if isinstance(loaded, np.lib.npyio.NpzFile):
        with loaded:
            missing = [f for f in FIELDS if f not in loaded.files]
            if missing:
                raise EventFileError(f"{path}: .npz lacks event arrays {missing}; it needs t, x, y and p")
            try:
                fields = {f: loaded[f] for f in FIELDS}
                stored = (int(loaded["width"]), int(loaded["height"])) if {"width", "height"} <= set(loaded.files) else None
            except READ_ERRORS as exc:
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
