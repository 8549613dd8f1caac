"""N-MNIST binary (.bin): 5 bytes per event, 34 x 34 ATIS sensor.

Bit layout of one event (big-endian, 40 bits): 39-32 x, 31-24 y, 23 polarity (1 = ON),
22-0 timestamp in microseconds (Orchard et al. 2015). y counts rows from the top: digits
are upright as read (pinned by tests/test_long_recordings.py on real N-MNIST 7s).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from events.limits import check_limit
from events.types import EventFileError, EventStream, make_stream

SENSOR_SIZE = (34, 34)  # (width, height)
BYTES_PER_EVENT = 5


def read(path: Path, sensor_size: tuple[int, int] | None = None) -> EventStream:
    check_limit("events", Path(path).stat().st_size / BYTES_PER_EVENT, f"{path}: its size implies")
    raw = np.fromfile(path, dtype=np.uint8)
    if raw.size % BYTES_PER_EVENT:
        raise EventFileError(
            f"{path}: N-MNIST file is truncated ({raw.size} bytes is not a multiple of "
            f"{BYTES_PER_EVENT}); re-copy the file"
        )
    rec = raw.reshape(-1, BYTES_PER_EVENT).astype(np.int64)
    x, y = rec[:, 0], rec[:, 1]
    p = rec[:, 2] >> 7
    t = ((rec[:, 2] & 0x7F) << 16) | (rec[:, 3] << 8) | rec[:, 4]
    width, height = sensor_size or SENSOR_SIZE
    return make_stream(t, x, y, p, width, height, source=str(path))


def encode(t: np.ndarray, x: np.ndarray, y: np.ndarray, p: np.ndarray) -> bytes:
    """Inverse of read(): pack events into N-MNIST bytes (used to write test files)."""
    t = np.asarray(t, dtype=np.int64)
    if t.size and (t.min() < 0 or t.max() >= 1 << 23):
        raise ValueError("N-MNIST timestamps must lie in [0, 2**23) microseconds")
    rec = np.empty((t.size, BYTES_PER_EVENT), dtype=np.uint8)
    rec[:, 0] = x
    rec[:, 1] = y
    rec[:, 2] = (np.asarray(p, dtype=np.int64) << 7) | (t >> 16)
    rec[:, 3] = (t >> 8) & 0xFF
    rec[:, 4] = t & 0xFF
    return rec.tobytes()
