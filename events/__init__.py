"""Event-camera data: readers for common file formats, frame integration, folder data
sets and a synthetic DVS generator.

Every reader returns an :class:`events.types.EventStream`; every failure is an
:class:`events.types.EventFileError` with a one-line message.
"""

from events.types import EventFileError, EventStream  # noqa: F401
