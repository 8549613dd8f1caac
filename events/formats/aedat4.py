"""AEDAT4 (.aedat4) from DV / dv-processing, decoded by the `aedat` package.

The `aedat` decoder (Rust) aborts the whole process on some damaged files (a panic while
building an error message from invalid UTF-8 in the header; found by tests/test_fuzz.py).
A process abort cannot be caught, and in the dashboard it would take the server down for
every visitor. So the file's header is checked here first, and the decoding itself runs in
a separate worker process: a crash there becomes an EventFileError, and the worker is
started again for the next file.

Orientation: DV counts y from the top row, like its APS frames; checked on real recordings
(a DAVIS346 lab scene with its ceiling lamps at the top, a DVXplorer head above shoulders).

File layout: '#!AER-DAT4.0\\r\\n', a little-endian uint32 header size, a FlatBuffer IOHeader
(identifier 'IOHE': compression, data-table position, and the stream description as XML),
then packets (int32 stream id, uint32 size, compressed FlatBuffer).
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np

from events.isolated import CRASHED, TIMED_OUT, worker
from events.limits import LIMITS, check_limit
from events.types import EventFileError, EventStream, make_stream

MAGIC = b"#!AER-DAT4.0\r\n"
TIMEOUT_S = 600


def check_header(path: Path) -> None:
    """Read the IOHeader's FlatBuffer by hand: bounds, identifier and a UTF-8 description."""
    with open(path, "rb") as f:
        head = f.read(len(MAGIC) + 4)
        if not head.startswith(MAGIC) or len(head) < len(MAGIC) + 4:
            raise EventFileError(f"{path}: not an AEDAT4 file (it does not start with '#!AER-DAT4.0')")
        (size,) = struct.unpack("<I", head[len(MAGIC):])
        buf = f.read(size)
    if len(buf) != size or size < 12:
        raise EventFileError(f"{path}: AEDAT4 header of {size} bytes is truncated; the file is damaged")
    try:
        (root,) = struct.unpack_from("<I", buf, 0)
        if buf[4:8] != b"IOHE":
            raise ValueError("no IOHE identifier")
        (vt_back,) = struct.unpack_from("<i", buf, root)
        vtable = root - vt_back
        vt_size, _ = struct.unpack_from("<HH", buf, vtable)
        fields = [struct.unpack_from("<H", buf, vtable + 4 + 2 * i)[0] for i in range((vt_size - 4) // 2)]
        if len(fields) >= 3 and fields[2]:
            at = root + fields[2]
            (offset,) = struct.unpack_from("<I", buf, at)
            (length,) = struct.unpack_from("<I", buf, at + offset)
            start = at + offset + 4
            if start + length > len(buf):
                raise ValueError("description runs past the header")
            buf[start:start + length].decode("utf-8")
    except (struct.error, ValueError, UnicodeDecodeError) as exc:
        raise EventFileError(f"{path}: damaged AEDAT4 header ({exc}); the file is corrupt") from None


def _decode(path: str, max_events: float) -> tuple:
    """In the worker: ('ok', events, width, height) or ('error', message)."""
    import aedat

    try:
        decoder = aedat.Decoder(path)
        streams = decoder.id_to_stream()
        event_ids = {i: s for i, s in streams.items() if s.get("type") == "events"}
        if not event_ids:
            return ("error", "the AEDAT4 file has no event stream")
        stream_id = min(event_ids)
        packets, count = [], 0
        for pk in decoder:  # packets are compressed: count while decoding, stop at the limit
            if pk["stream_id"] == stream_id and "events" in pk:
                packets.append(pk["events"])
                count += len(pk["events"])
                if count > max_events:
                    return ("limit", count)
    except BaseException as exc:  # plain exceptions, or a Rust panic (a BaseException)
        return ("error", f"cannot decode AEDAT4 ({str(exc).splitlines()[0][:160] if str(exc) else type(exc).__name__})")
    ev = np.concatenate(packets) if packets else np.zeros(0, dtype=[("t", "<u8"), ("x", "<u2"), ("y", "<u2"), ("on", "?")])
    return ("ok", ev, event_ids[stream_id]["width"], event_ids[stream_id]["height"])


def _decode_isolated(path: Path) -> tuple:
    outcome, result = worker("aedat4").run(_decode, str(path), LIMITS["events"].value, timeout=TIMEOUT_S)
    if outcome == CRASHED:
        return ("error", "the AEDAT4 decoder crashed on this file")
    if outcome == TIMED_OUT:
        return ("error", f"decoding took over {TIMEOUT_S} s")
    return result


def read(path: Path, sensor_size: tuple[int, int] | None = None) -> EventStream:
    check_header(path)
    result = _decode_isolated(path)
    if result[0] == "limit":
        check_limit("events", result[1], f"{path}: its decoded packets hold at least")
    if result[0] != "ok":
        raise EventFileError(f"{path}: {result[1]}; the file is corrupt or truncated")
    _, ev, width, height = result
    width, height = sensor_size or (width, height)
    return make_stream(ev["t"].astype(np.int64), ev["x"], ev["y"], ev["on"].astype(np.uint8),
                       width, height, source=str(path))


