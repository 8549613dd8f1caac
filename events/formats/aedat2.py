"""jAER AER-DAT2.0 (.aedat) from a DVS128, e.g. DVS128 Gait-style recordings.

File: ASCII header lines starting with '#', the first being '#!AER-DAT2.0', then
8-byte big-endian records: uint32 address, int32 timestamp (microseconds).
DVS128 address bits (jAER's DVS128 extractor): bit 0 polarity type (0 = ON, 1 = OFF),
bits 1-7 x (mirrored: x = 127 - raw), bits 8-14 y. Bit 15 marks external/special
events, which carry no pixel and are skipped.

Orientation: jAER counts DVS128 y from the bottom row (it draws y upwards), while this
project puts row 0 at the top. So the returned y is the row: 127 - jAER's y. Pinned on a
real recording (tests/test_event_formats.py: a person in ../shared/data/dvs128-aedat2 is
upright, head above chair and legs).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from events.limits import check_limit
from events.types import EventFileError, EventStream, make_stream

MAGIC = b"#!AER-DAT2.0"
SENSOR_SIZE = (128, 128)
RECORD = np.dtype([("address", ">u4"), ("t", ">i4")])
SPECIAL_EVENT_BIT = 1 << 15


def split_header(data: bytes) -> int:
    """Return the offset of the first byte after the '#' header lines."""
    offset = 0
    while data.startswith(b"#", offset):
        end = data.find(b"\n", offset)
        if end < 0:
            return len(data)
        offset = end + 1
    return offset


def read(path: Path, sensor_size: tuple[int, int] | None = None) -> EventStream:
    check_limit("events", Path(path).stat().st_size / RECORD.itemsize, f"{path}: its size implies")
    data = Path(path).read_bytes()
    if not data.startswith(MAGIC):
        raise EventFileError(
            f"{path}: not an AER-DAT2.0 file (first line {data[:16]!r}); "
            "only jAER AEDAT 2.0 and AEDAT 3.1 .aedat files are supported"
        )
    body = data[split_header(data):]
    if len(body) % RECORD.itemsize:
        raise EventFileError(
            f"{path}: AEDAT 2.0 body is truncated ({len(body)} bytes is not a multiple of "
            f"{RECORD.itemsize}); re-copy the file"
        )
    rec = np.frombuffer(body, dtype=RECORD)
    address = rec["address"].astype(np.int64)
    rec = rec[(address & SPECIAL_EVENT_BIT) == 0]
    address = address[(address & SPECIAL_EVENT_BIT) == 0]
    if np.any(address >> 16):
        bad = int(np.argmax(address >> 16))
        raise EventFileError(
            f"{path}: address 0x{int(address[bad]):08x} at event {bad} does not fit the DVS128 "
            "layout; the body is corrupt or from another sensor"
        )
    width, height = sensor_size or SENSOR_SIZE
    x = 127 - ((address >> 1) & 0x7F)
    y = 127 - ((address >> 8) & 0x7F)  # jAER's y counts from the bottom; rows count from the top
    p = 1 - (address & 1)
    return make_stream(rec["t"].astype(np.int64), x, y, p, width, height, source=str(path))


def encode(t, x, y, p, header: bytes = MAGIC + b"\r\n") -> bytes:
    """Inverse of read() for DVS128 events (used to write test files): x, y are the
    project's (row 0 at the top)."""
    x, y, p = (np.asarray(a, dtype=np.int64) for a in (x, y, p))
    rec = np.empty(len(x), dtype=RECORD)
    rec["address"] = ((127 - x) << 1) | ((127 - y) << 8) | (1 - p)
    rec["t"] = t
    return header + rec.tobytes()
