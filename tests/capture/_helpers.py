"""Test helpers: read a capture from bytes the way the pipeline does."""

from __future__ import annotations

import io

from lyncdump.capture import open_capture
from lyncdump.errors import CaptureError

Frames = list[tuple[float, int, bytes]]


class Pipe(io.RawIOBase):
    """A non-seekable stream that hands out at most ``step`` bytes per read, like a pipe."""

    def __init__(self, data: bytes, step: int = 7919) -> None:
        self._data = data
        self._pos = 0
        self._step = step
        self.name = "<pipe>"

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def readinto(self, b: bytearray | memoryview) -> int:  # type: ignore[override]
        n = min(len(b), self._step, len(self._data) - self._pos)
        b[:n] = self._data[self._pos : self._pos + n]
        self._pos += n
        return n


def read_all(data: bytes, *, pipe: bool = False) -> tuple[Frames, CaptureError | None]:
    """Every frame a reader yields from ``data``, and the CaptureError that ended it, if any.

    Anything but CaptureError propagates and fails the test.
    """
    frames: Frames = []
    src = Pipe(data) if pipe else io.BytesIO(data)
    try:
        with open_capture(src) as reader:
            for frame in reader.frames():
                frames.append(frame)
    except CaptureError as exc:
        return frames, exc
    return frames, None
