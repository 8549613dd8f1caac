"""AEDAT 3.1 (.aedat), the format of DVS128 Gesture.

File: ASCII header lines starting with '#', the first '#!AER-DAT3.1', the last
'#!END-HEADER'. Then packets, each a 28-byte little-endian header
(int16 eventType, int16 eventSource, int32 eventSize, int32 eventTSOffset,
int32 eventTSOverflow, int32 eventCapacity, int32 eventNumber, int32 eventValid)
followed by eventCapacity * eventSize bytes. Polarity events (type 1, 8 bytes):
uint32 data (bit 0 valid, bit 1 polarity, bits 2-16 y, bits 17-31 x), int32 timestamp;
the full timestamp is (eventTSOverflow << 31) | timestamp, in microseconds.
Packets of other types (frames, IMU, special) are skipped.

Orientation: libcaer (since 2.0, which writes AEDAT 3.1) flips the DVS128's y into
"computer graphics" order, (0, 0) at the upper left (its dvs128.c), so y is the row from the
top as read. AEDAT 3.0 files, whose origin is the lower left, are refused by the magic line.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from events.limits import check_limit
from events.types import EventFileError, EventStream, make_stream

MAGIC = b"#!AER-DAT3.1"
END_HEADER = b"#!END-HEADER\r\n"
PACKET_HEADER = np.dtype(
    [("type", "<i2"), ("source", "<i2"), ("size", "<i4"), ("ts_offset", "<i4"),
     ("ts_overflow", "<i4"), ("capacity", "<i4"), ("number", "<i4"), ("valid", "<i4")]
)
POLARITY_TYPE = 1
POLARITY_EVENT = np.dtype([("data", "<u4"), ("t", "<i4")])
KNOWN_SENSORS = {b"DVS128": (128, 128), b"DAVIS240": (240, 180), b"DAVIS346": (346, 260)}


def read(path: Path, sensor_size: tuple[int, int] | None = None) -> EventStream:
    check_limit("events", Path(path).stat().st_size / POLARITY_EVENT.itemsize, f"{path}: its size implies")
    data = Path(path).read_bytes()
    if not data.startswith(MAGIC):
        raise EventFileError(f"{path}: not an AEDAT 3.1 file (first line {data[:16]!r})")
    end = data.find(END_HEADER)
    if end < 0:
        raise EventFileError(f"{path}: AEDAT 3.1 header has no '#!END-HEADER' line; the file is truncated")
    header, offset = data[:end], end + len(END_HEADER)
    if sensor_size is None:
        sensor_size = _sensor_from_header(path, header)
    chunks = []
    while offset < len(data):
        if offset + PACKET_HEADER.itemsize > len(data):
            raise EventFileError(f"{path}: truncated packet header at byte {offset}; re-copy the file")
        head = np.frombuffer(data, PACKET_HEADER, count=1, offset=offset)[0]
        size, capacity = int(head["size"]), int(head["capacity"])
        body_start = offset + PACKET_HEADER.itemsize
        body_end = body_start + size * capacity
        if size <= 0 or capacity < 0 or body_end > len(data):
            raise EventFileError(
                f"{path}: corrupt or truncated packet at byte {offset} (event size {size}, "
                f"capacity {capacity}, file length {len(data)})"
            )
        if int(head["type"]) == POLARITY_TYPE:
            if size != POLARITY_EVENT.itemsize:
                raise EventFileError(f"{path}: polarity packet at byte {offset} has event size {size}, expected 8")
            ev = np.frombuffer(data, POLARITY_EVENT, count=capacity, offset=body_start)
            ev = ev[(ev["data"] & 1) == 1]
            t = (np.int64(head["ts_overflow"]) << 31) | ev["t"].astype(np.int64)
            chunks.append((t, ev["data"].astype(np.int64)))
        offset = body_end
    t = np.concatenate([c[0] for c in chunks]) if chunks else np.zeros(0, np.int64)
    d = np.concatenate([c[1] for c in chunks]) if chunks else np.zeros(0, np.int64)
    width, height = sensor_size
    return make_stream(t, (d >> 17) & 0x7FFF, (d >> 2) & 0x7FFF, (d >> 1) & 1, width, height, source=str(path))


def _sensor_from_header(path: Path, header: bytes) -> tuple[int, int]:
    for line in header.splitlines():
        match = re.match(rb"#Source \d+: (\w+)", line)
        if match and match.group(1) in KNOWN_SENSORS:
            return KNOWN_SENSORS[match.group(1)]
    raise EventFileError(
        f"{path}: the AEDAT 3.1 header names no known sensor ({', '.join(s.decode() for s in KNOWN_SENSORS)}); "
        "pass the sensor size explicitly"
    )


def encode(t, x, y, p, source: bytes = b"DVS128", events_per_packet: int = 4096,
           invalid: np.ndarray | None = None) -> bytes:
    """Inverse of read() (used to write test files). Packets never span a timestamp
    overflow, as in real files; `invalid` marks events written with the valid bit clear."""
    t, x, y, p = (np.asarray(a, dtype=np.int64) for a in (t, x, y, p))
    valid = np.ones(len(t), np.int64) if invalid is None else 1 - np.asarray(invalid, np.int64)
    out = [MAGIC + b"\r\n", b"#Format: RAW\r\n", b"#Source 1: " + source + b"\r\n", END_HEADER]
    overflow = t >> 31
    for epoch in np.unique(overflow):
        idx = np.flatnonzero(overflow == epoch)
        for start in range(0, len(idx), events_per_packet):
            sl = idx[start:start + events_per_packet]
            ev = np.empty(len(sl), dtype=POLARITY_EVENT)
            ev["data"] = valid[sl] | (p[sl] << 1) | (y[sl] << 2) | (x[sl] << 17)
            ev["t"] = t[sl] & 0x7FFFFFFF
            head = np.zeros(1, dtype=PACKET_HEADER)
            head["type"], head["source"], head["size"], head["ts_offset"] = POLARITY_TYPE, 1, 8, 4
            head["ts_overflow"] = int(epoch)
            head["capacity"] = head["number"] = len(sl)
            head["valid"] = int(valid[sl].sum())
            out += [head.tobytes(), ev.tobytes()]
    return b"".join(out)
