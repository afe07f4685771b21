"""libpcap files: a 24-byte file header, then 16-byte record headers each followed by data.

Both byte orders and both timestamp resolutions (magic ``a1b2c3d4`` µs, ``a1b23c4d`` ns) are
read. The input is streamed in big chunks into one buffer kept for the run (a
:class:`~.source.ReadBuffer`), so stdin and pipes work, and the per-frame path is one
precompiled ``unpack_from``, one copy of the frame out of the buffer and one tuple.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterator

from ..errors import CaptureError
from .source import MAX_FRAME, ByteStream, CaptureReader, ReadBuffer

_FILE_HEADER = 24
_RECORD_HEADER = 16
_LITTLE_MAGICS = (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1")
_NANO_MAGICS = (b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d")


class PcapReader(CaptureReader):
    """A pcap file read front to back; see :class:`CaptureReader` for the contract."""

    format = "pcap"

    def __init__(self, stream: ByteStream, head: bytes) -> None:
        super().__init__(stream, head)
        buf = head
        while len(buf) < _FILE_HEADER:
            more = stream.read(_FILE_HEADER)
            if not more:
                raise CaptureError(
                    f"{self.name}: truncated pcap file header ({len(buf)} of {_FILE_HEADER} bytes)"
                )
            buf += more
        magic = buf[:4]
        self._endian = "<" if magic in _LITTLE_MAGICS else ">"
        self.big_endian = self._endian == ">"
        #: True for the nanosecond variant (magic a1b23c4d).
        self.nanosecond = magic in _NANO_MAGICS
        _, major, minor, _zone, _sigfigs, snaplen, network = struct.unpack_from(
            self._endian + "IHHiIII", buf
        )
        self.version = (major, minor)
        self.snaplen = snaplen
        #: The file's one link type (the upper bits of the field carry FCS information).
        self.linktype = network & 0xFFFF
        self._buf = buf
        self._pos = _FILE_HEADER
        #: Set by :func:`lyncdump.fastpath.attach` before frames are read: ``skip(buf, pos,
        #: end, count)`` consumes the routine records at ``pos`` itself and returns the new
        #: ``(pos, count)``.
        self.skip: Callable[[bytearray, int, int, int], tuple[int, int]] | None = None

    def _frames(self) -> Iterator[tuple[float, int, bytes]]:
        unpack = struct.Struct(self._endian + "IIII").unpack_from
        scale = 1_000_000_000 if self.nanosecond else 1_000_000
        linktype = self.linktype
        limit = MAX_FRAME
        rb = ReadBuffer(self._stream, self._buf)
        self._buf = b""
        buf, view, pos = rb.data, rb.view, self._pos
        count = 0
        skip = self.skip  # set before the first frame is asked for
        while True:
            end = rb.end
            while pos + _RECORD_HEADER <= end:
                if skip is not None:
                    pos, count = skip(buf, pos, end, count)
                    if pos + _RECORD_HEADER > end:
                        break
                sec, frac, caplen, _ = unpack(buf, pos)
                if caplen > limit:
                    raise self._error(
                        "corrupt",
                        count + 1,
                        f"record header says {caplen} bytes, more than the {limit}-byte limit",
                    )
                start = pos + _RECORD_HEADER
                stop = start + caplen
                if stop > end:
                    break
                count += 1
                # Integer arithmetic then one division: the float is the nearest to the exact
                # time (sec + frac / scale would round twice).
                yield (sec * scale + frac) / scale, linktype, view[start:stop].tobytes()
                pos = stop
            if not rb.refill(pos, count + 1):
                left = end - pos
                if left == 0:
                    return
                if left < _RECORD_HEADER:
                    detail = f"record header cut after {left} of {_RECORD_HEADER} bytes"
                else:
                    caplen = unpack(rb.data, 0)[2]  # refill moved the tail to the front
                    detail = f"record header says {caplen} bytes, {left - _RECORD_HEADER} remain"
                raise self._error("truncated", count + 1, detail)
            buf, view, pos = rb.data, rb.view, 0
