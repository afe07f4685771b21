"""Microsoft Network Monitor 2.x captures (``.cap``, signature ``GMBU``).

Layout: a file header (version, media type, capture start as a Windows SYSTEMTIME, where the
frame table is), frame records anywhere in the file, and the frame table (one 32-bit offset per
frame), usually at the end. Each record is ``µs since start (u64), original length (u32),
included length (u32)``, the data, then from version 2.1 a trailer: the frame's own media type
(2.1), a process-info index (2.2), a UTC FILETIME time stamp and a time zone index (2.3+).

The frame table makes this format need random access. A seekable, uncompressed file is read
through a 1 MiB window; anything else (a pipe, stdin, a .gz) is read whole into memory, up to
:data:`NETMON_MEMORY_LIMIT`. When the frame table is missing (a file cut short), the records
are found by walking them one after the other from byte 128, where Network Monitor and
Wireshark start them, so the frames before the cut are still read.

NetMon media types become libpcap LINKTYPE numbers (established against tshark 4.0):

====================  ===================================================================
media type            yielded as
====================  ===================================================================
1 Ethernet            1 (LINKTYPE_ETHERNET)
2 Token Ring          6 (LINKTYPE_IEEE802_5)
6 802.11              105 (LINKTYPE_IEEE802_11), the NetMon radio header (version u8,
                      length u16 LE, ...) stripped
7, 8, 9 tunnel, WWAN, raw   101 (LINKTYPE_RAW: IPv4 or IPv6 by the version nibble)
0xE000 + n            n (NetMon's way to store a frame of pcap link type n)
0xFFFC, 0xFFFD, 0xFFFE  skipped, not counted as frames (payload header, network info, DNS
                      cache records: tshark skips them too)
anything else         :data:`NETMON_LINKTYPE_BASE` + media type, data unchanged (NetMon
                      events 0xFFE0, network info 0xFFFB, filter 0xFFFF, FDDI, ATM, ...)
====================  ===================================================================
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from typing import IO

from ..errors import CaptureError
from .source import CHUNK, MAX_FRAME, ByteStream, CaptureReader

#: Link types at or above this are NetMon records with no libpcap equivalent:
#: ``NETMON_LINKTYPE_BASE + media type``. They keep frame numbers in step with tshark; the
#: decoder should treat them as an unsupported link type, not as a fatal error.
NETMON_LINKTYPE_BASE = 0x10000
#: The most we read into memory for a capture that cannot be seeked (pipe, stdin, .gz).
NETMON_MEMORY_LIMIT = 1 << 30
#: Where records start when the frame table is lost and they have to be walked.
SCAN_START = 128

_HEADER = struct.Struct("<4sBBH8HII")  # up to the frame table: 32 bytes
_RECORD = struct.Struct("<QII")
_U16 = struct.Struct("<H")
_U64 = struct.Struct("<Q")
_TRAILER = {0: 0, 1: 2, 2: 6}  # by minor version; 3 and later: 15
_FILETIME_UNIX_EPOCH = 116_444_736_000_000_000  # 100 ns units from 1601-01-01 to 1970-01-01
_TABLE_PIECE = 65536  # frame table entries unpacked at a time

_MEDIA_TO_LINKTYPE = {1: 1, 2: 6, 7: 101, 8: 101, 9: 101}
_MEDIA_WIFI = 6
_LINKTYPE_IEEE802_11 = 105
_MEDIA_PCAP = 0xE000
_MEDIA_SKIPPED = frozenset({0xFFFC, 0xFFFD, 0xFFFE})


def map_media_type(media: int, data: bytes) -> tuple[int, bytes]:
    """The LINKTYPE number (and bytes) for a NetMon frame of ``media`` type; see the table."""
    linktype = _MEDIA_TO_LINKTYPE.get(media)
    if linktype is not None:
        return linktype, data
    if media & 0xF000 == _MEDIA_PCAP:
        return media & 0x0FFF, data
    if media == _MEDIA_WIFI and len(data) >= 3:
        header = data[1] | data[2] << 8
        if 3 <= header <= len(data):
            return _LINKTYPE_IEEE802_11, data[header:]
    return NETMON_LINKTYPE_BASE + media, data


class _Window:
    """Random access to the capture: a 1 MiB window over a seekable file, or all of it in memory."""

    __slots__ = ("_stream", "_raw", "_start", "size", "_buf", "_base")

    def __init__(self, stream: ByteStream, head: bytes) -> None:
        self._stream = stream
        self._raw: IO[bytes] | None = stream.raw
        self._start = stream.start
        self._base = 0
        if self._raw is not None:
            try:
                self.size = self._raw.seek(0, 2) - self._start
            except (OSError, ValueError):
                self._raw = None
        if self._raw is None:
            try:
                rest = stream.read_all(NETMON_MEMORY_LIMIT - len(head))
            except CaptureError:
                raise CaptureError(
                    f"{stream.name}: a Network Monitor capture read from a pipe or a .gz is held "
                    f"in memory, and this one is larger than {NETMON_MEMORY_LIMIT >> 20} MiB; "
                    "give it as an uncompressed file"
                ) from None
            self._buf = head + rest
            self.size = len(self._buf)
        else:
            self._buf = head

    def read_at(self, offset: int, n: int) -> bytes:
        """``n`` bytes at ``offset`` (fewer at the end of the file)."""
        rel = offset - self._base
        buf = self._buf
        if 0 <= rel and rel + n <= len(buf):
            return buf[rel : rel + n]
        if self._raw is None:
            return buf[offset : offset + n]
        want = max(n, CHUNK)
        try:
            self._raw.seek(self._start + offset)
        except (OSError, ValueError) as exc:
            raise CaptureError(f"{self._stream.name}: seek failed: {exc}") from None
        parts = []
        got = 0
        while got < want:
            part = self._stream.read(want - got)
            if not part:
                break
            parts.append(part)
            got += len(part)
        self._buf = b"".join(parts)
        self._base = offset
        return self._buf[:n]


class NetmonReader(CaptureReader):
    """A Network Monitor 2.x capture; see :class:`CaptureReader` for the contract."""

    format = "netmon2"

    def __init__(self, stream: ByteStream, head: bytes) -> None:
        super().__init__(stream, head)
        self._data = data = _Window(stream, head)
        header = data.read_at(0, _HEADER.size)
        if len(header) < _HEADER.size:
            raise CaptureError(
                f"{self.name}: truncated Network Monitor file header "
                f"({len(header)} of {_HEADER.size} bytes)"
            )
        (
            _,
            minor,
            major,
            network,
            year,
            month,
            _dow,
            day,
            hour,
            minute,
            second,
            msec,
            table_offset,
            table_length,
        ) = _HEADER.unpack(header)
        if major != 2:
            raise CaptureError(
                f"{self.name}: Network Monitor version {major}.{minor} is not supported (only 2.x)"
            )
        #: (major, minor): 2.1 adds a per-frame media type, 2.3 a per-frame UTC time stamp.
        self.version = (major, minor)
        #: The file's media type (NetMon numbering), used when frames carry none (2.0).
        self.media_type = network
        import calendar  # only Network Monitor files: not every run's start-up

        try:
            start = calendar.timegm((year, month, day, hour, minute, second, 0, 0, 0))
        except (ValueError, OverflowError):
            start = 0  # a nonsense SYSTEMTIME: times become offsets from the epoch
        # The SYSTEMTIME is taken as UTC (tshark 4.0 takes it as local time).
        self._start_us = start * 1_000_000 + msec * 1000
        self._table_offset = table_offset
        self._table_count = table_length // 4
        self._table_ok = table_offset + table_length <= data.size

    def _frames(self) -> Iterator[tuple[float, int, bytes]]:
        data = self._data
        read_at = data.read_at
        minor = self.version[1]
        trailer = _TRAILER.get(minor, 15)
        start_us = self._start_us
        file_media = self.media_type
        limit = MAX_FRAME
        table_ok = self._table_ok
        total = self._table_count if table_ok else -1
        piece: tuple[int, ...] = ()
        piece_start = 0
        count = 0
        index = 0
        offset = SCAN_START
        while True:
            if table_ok:
                if index >= total:
                    return
                if index - piece_start >= len(piece):
                    piece_start = index
                    k = min(_TABLE_PIECE, total - index)
                    raw = read_at(self._table_offset + 4 * index, 4 * k)
                    if len(raw) < 4 * k:  # the file shrank under us
                        raise self._error("truncated", count + 1, "frame table cut short")
                    piece = struct.unpack(f"<{k}I", raw)
                offset = piece[index - piece_start]
            elif offset >= data.size:
                raise self._error(
                    "truncated",
                    count + 1,
                    f"the file ends at byte {data.size} before its frame table "
                    f"(bytes {self._table_offset}-{self._table_offset + 4 * self._table_count})",
                )
            index += 1
            record = read_at(offset, 16)
            if len(record) < 16:
                where = "frame table points at" if table_ok else "record header at"
                raise self._error(
                    "truncated",
                    count + 1,
                    f"{where} byte {offset}, {max(data.size - offset, 0)} bytes remain (16 needed)",
                )
            delta, _orig, caplen = _RECORD.unpack(record)
            if caplen > limit:
                raise self._error(
                    "corrupt",
                    count + 1,
                    f"record at byte {offset} says {caplen} bytes, more than the {limit}-byte "
                    "limit",
                )
            body = read_at(offset + 16, caplen + trailer)
            if len(body) < caplen + trailer:
                raise self._error(
                    "truncated",
                    count + 1,
                    f"record header says {caplen} bytes (+{trailer} trailer), {len(body)} remain",
                )
            offset += 16 + caplen + trailer
            media = _U16.unpack_from(body, caplen)[0] if trailer else file_media
            if media in _MEDIA_SKIPPED:
                continue
            frame = body[:caplen] if trailer else body
            if media == 1:
                linktype = 1
            else:
                linktype, frame = map_media_type(media, frame)
            utc = _U64.unpack_from(body, caplen + 6)[0] if trailer >= 15 else 0
            count += 1
            if utc:
                yield (utc - _FILETIME_UNIX_EPOCH) / 10_000_000, linktype, frame
            else:
                yield (start_us + delta) / 1_000_000, linktype, frame
