"""The one error family lyncdump lets out of its API.

Anything a capture can make us raise is a ``LyncdumpError``; the CLI turns it into one line on
stderr and a non-zero exit status. Inside the pipeline most bad input never raises at all: it
becomes a :class:`lyncdump.model.Defect` and the run goes on.
"""

from __future__ import annotations


class LyncdumpError(Exception):
    """Root of every error lyncdump raises on purpose."""


class CaptureError(LyncdumpError):
    """The input as a whole cannot be read: not a capture, truncated file, unknown link type."""


class MalformedError(LyncdumpError):
    """Bytes that do not follow the protocol, at a known layer and offset.

    ``offset`` counts bytes into the unit being parsed (bits for MPPC, whose reason says so).
    """

    def __init__(self, layer: str, offset: int | None, reason: str) -> None:
        self.layer = layer
        self.offset = offset
        self.reason = reason
        where = f" at offset {offset}" if offset is not None else ""
        super().__init__(f"{layer}: {reason}{where}")


class KeyMaterialError(LyncdumpError):
    """A key file or secret given by the user cannot be used (never quotes the secret)."""
