"""One module per event-file format; each exposes ``read(path, sensor_size) -> EventStream``."""
