"""Reading capture files: the only layer of lyncdump that does input.

>>> with open_capture("call.pcapng") as reader:          # doctest: +SKIP
...     for ts, linktype, data in reader.frames():
...         ...

Formats are told from the first bytes, never the file name: pcap (µs and ns, both byte
orders), pcapng and Network Monitor 2.x, each optionally gzip-compressed. See docs/capture.md.
"""

from __future__ import annotations

import os
import sys
from typing import IO, TYPE_CHECKING, TypeGuard

from ..errors import CaptureError
from .netmon import NETMON_LINKTYPE_BASE, NetmonReader
from .pcap import PcapReader
from .pcapng import PcapngReader
from .source import CHUNK, MAX_FRAME, ByteStream, CaptureReader, detect, open_stream

if TYPE_CHECKING:
    from .tracelog import TraceLogReader

__all__ = [
    "is_trace_log",
    "open_capture",
    "open_input",
    "CaptureReader",
    "PcapReader",
    "PcapngReader",
    "NetmonReader",
    "MAX_FRAME",
    "NETMON_LINKTYPE_BASE",
]

#: The trace-log parsers' module: loaded by :func:`open_input` only when an input is a log,
#: so a reader cannot be a log's while it is absent.
_TRACELOG = "lyncdump.capture.tracelog"


def is_trace_log(reader: object) -> TypeGuard[TraceLogReader]:
    """True for a trace log's reader (what :func:`open_input` gives for a log), without
    loading the trace-log parsers for a capture."""
    tracelog = sys.modules.get(_TRACELOG)
    return tracelog is not None and isinstance(reader, tracelog.TraceLogReader)


_READERS: dict[str, type[CaptureReader]] = {
    "pcap": PcapReader,
    "pcapng": PcapngReader,
    "netmon2": NetmonReader,
}


def _refuse_empty(stream: ByteStream, head: bytes) -> None:
    """An input with no bytes at all is no capture and no log: one clear line."""
    if not head:
        what = "empty compressed file" if stream.compressed else "empty file"
        raise CaptureError(f"{stream.name}: {what}")


def open_capture(source: str | os.PathLike[str] | IO[bytes]) -> CaptureReader:
    """Open a capture: a path, ``"-"`` for standard input, or a binary file object.

    Reads the file header at once, so a file that is not a capture fails here with one clear
    :class:`CaptureError` line. A caller's file object is not closed by ``close()``.
    """
    stream, head = open_stream(source)
    try:
        _refuse_empty(stream, head)
        try:
            fmt = detect(head)
        except ValueError as exc:
            gz = " (after gzip decompression)" if stream.compressed else ""
            raise CaptureError(f"{stream.name}: {exc}{gz}") from None
        return _READERS[fmt](stream, head)
    except BaseException:
        stream.close()
        raise


def open_input(
    source: str | os.PathLike[str] | IO[bytes], log_host: str | None = None
) -> CaptureReader | TraceLogReader:
    """Open a capture or a trace log, told apart by content: what ``Capture`` reads.

    Captures get the same readers and error messages as :func:`lyncdump.capture.open_capture`;
    ``log_host`` names the machine that wrote a server log (see :class:`TraceLogReader`).

    A capture is told by its first bytes and opened without loading the trace-log parsers
    (:mod:`.tracelog`); they load only for an input that is not a capture.
    """
    stream, head = open_stream(source)
    try:
        _refuse_empty(stream, head)
        try:
            fmt: str | None = detect(head)
        except ValueError:
            fmt = None
        if fmt is not None:
            return _READERS[fmt](stream, head)
        while len(head) < 4096:
            more = stream.read(CHUNK)
            if not more:
                break
            head += more
        from .tracelog import TraceLogReader, sniff

        log_format = sniff(head)
        if log_format is not None:
            return TraceLogReader(stream, head, log_format, log_host)
        try:
            fmt = detect(head)
        except ValueError as exc:
            gz = " (after gzip decompression)" if stream.compressed else ""
            what = str(exc).replace(
                "not a pcap, pcapng or Network Monitor capture",
                "not a pcap, pcapng or Network Monitor capture, nor a Lync trace log",
            )
            raise CaptureError(f"{stream.name}: {what}{gz}") from None
        return _READERS[fmt](stream, head)
    except BaseException:
        stream.close()
        raise
