"""Reading capture files: the only layer of lyncdump that does input.

>>> with open_capture("call.pcapng") as reader:          # doctest: +SKIP
...     for ts, linktype, data in reader.frames():
...         ...

Formats are told from the first bytes, never the file name: pcap (µs and ns, both byte
orders), pcapng and Network Monitor 2.x, each optionally gzip-compressed. See docs/capture.md.
"""

from __future__ import annotations

import os
from typing import IO

from ..errors import CaptureError
from .netmon import NETMON_LINKTYPE_BASE, NetmonReader
from .pcap import PcapReader
from .pcapng import PcapngReader
from .source import MAX_FRAME, CaptureReader, detect, open_stream

__all__ = [
    "open_capture",
    "CaptureReader",
    "PcapReader",
    "PcapngReader",
    "NetmonReader",
    "MAX_FRAME",
    "NETMON_LINKTYPE_BASE",
]

_READERS: dict[str, type[CaptureReader]] = {
    "pcap": PcapReader,
    "pcapng": PcapngReader,
    "netmon2": NetmonReader,
}


def open_capture(source: str | os.PathLike[str] | IO[bytes]) -> CaptureReader:
    """Open a capture: a path, ``"-"`` for standard input, or a binary file object.

    Reads the file header at once, so a file that is not a capture fails here with one clear
    :class:`CaptureError` line. A caller's file object is not closed by ``close()``.
    """
    stream, head = open_stream(source)
    try:
        if not head:
            what = "empty compressed file" if stream.compressed else "empty file"
            raise CaptureError(f"{stream.name}: {what}")
        try:
            fmt = detect(head)
        except ValueError as exc:
            gz = " (after gzip decompression)" if stream.compressed else ""
            raise CaptureError(f"{stream.name}: {exc}{gz}") from None
        return _READERS[fmt](stream, head)
    except BaseException:
        stream.close()
        raise
