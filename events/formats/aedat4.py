"""AEDAT4 (.aedat4) from DV / dv-processing, decoded by the `aedat` package."""

from __future__ import annotations

from pathlib import Path

import aedat
import numpy as np

from events.types import EventFileError, EventStream, make_stream


def read(path: Path, sensor_size: tuple[int, int] | None = None) -> EventStream:
    try:
        decoder = aedat.Decoder(str(path))
        streams = decoder.id_to_stream()
        event_ids = {i: s for i, s in streams.items() if s.get("type") == "events"}
        if not event_ids:
            raise EventFileError(f"{path}: the AEDAT4 file has no event stream")
        stream_id = min(event_ids)
        packets = [pk["events"] for pk in decoder if pk["stream_id"] == stream_id and "events" in pk]
    except EventFileError:
        raise
    except Exception as exc:  # the Rust decoder raises plain exceptions for corrupt files
        raise EventFileError(f"{path}: cannot decode AEDAT4 ({exc}); the file is corrupt or truncated") from None
    ev = np.concatenate(packets) if packets else np.zeros(0, dtype=[("t", "<u8"), ("x", "<u2"), ("y", "<u2"), ("on", "?")])
    width, height = sensor_size or (event_ids[stream_id]["width"], event_ids[stream_id]["height"])
    return make_stream(ev["t"].astype(np.int64), ev["x"], ev["y"], ev["on"].astype(np.uint8),
                       width, height, source=str(path))
