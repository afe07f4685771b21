"""Write one call's packets to a new pcapng, so a colleague can open just that call.

The decode pass keeps no per-packet lists; :func:`write_call` reads the input a second time
and keeps a frame when it is

- part of one of the call's SIP messages: the frame that completed it, and for TCP every
  segment from the message's first frame to its last in the message's direction;
- between two endpoints the call's media used: each RTP stream's (source, destination),
  each ICE candidate pair of its ICE sessions, each TURN allocation's (client, server) —
  the Edge leg, pseudo-TLS and all — in either direction.

Frames keep their link type and timestamp (microsecond resolution, the pcapng default).
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING

from ..errors import CaptureError
from ..model import DefectLog, Endpoint
from ..net.decode import PacketDecoder

if TYPE_CHECKING:
    from ..analysis.calls import Call
    from ..media.stats import StreamStats
    from ..sip.message import SipMessage

_SHB = 0x0A0D0D0A
_IDB = 0x00000001
_EPB = 0x00000006
_BYTE_ORDER_MAGIC = 0x1A2B3C4D


@dataclass(slots=True)
class Selection:
    """What belongs to a call (or to whatever ``--filter`` selected), in terms a second pass
    over the frames can test cheaply. ``everything`` keeps every frame (``-w`` with no
    filter). Memory: a frame number per SIP message selected, a range per TCP-carried one,
    an endpoint pair per media flow."""

    frames: set[int] = field(default_factory=set)
    #: (first frame, last frame, src, dst) of each TCP-carried message.
    tcp_ranges: list[tuple[int, int, Endpoint, Endpoint]] = field(default_factory=list)
    pairs: set[frozenset[Endpoint]] = field(default_factory=set)
    everything: bool = False
    _ranges_by_pair: dict[tuple[Endpoint, Endpoint], list[tuple[int, int]]] | None = None

    def keeps(self, frame: int, src: Endpoint, dst: Endpoint) -> bool:
        if self.everything or frame in self.frames:
            return True
        if frozenset((src, dst)) in self.pairs:
            return True
        by_pair = self._ranges_by_pair
        if by_pair is None or sum(len(v) for v in by_pair.values()) != len(self.tcp_ranges):
            by_pair = self._ranges_by_pair = {}
            for first, last, a, b in self.tcp_ranges:
                by_pair.setdefault((a, b), []).append((first, last))
        for first, last in by_pair.get((src, dst), ()):
            if first <= frame <= last:
                return True
        return False

    def add_messages(self, messages: Iterable[SipMessage]) -> None:
        """The frames of these SIP messages (every TCP segment of each, in its direction)."""
        for m in messages:
            if m.frame is None:
                continue
            self.frames.add(m.frame)
            first = m.first_frame if m.first_frame is not None else m.frame
            if m.transport in ("TCP", "TLS") and m.src is not None and m.dst is not None:
                self.tcp_ranges.append((first, m.frame, m.src, m.dst))

    def add_call(self, call: Call) -> None:
        """A call's signalling and media (see the module docstring)."""
        self.add_messages(call.messages)
        for st in call.streams:
            self.add_stream(st)
        for ice in call.ice:
            for p in ice.pairs:
                if not p.via_turn:
                    self.pairs.add(frozenset((p.local, p.remote)))
        for a in call.allocations:
            self.pairs.add(frozenset((a.client, a.server)))

    def add_stream(self, st: StreamStats) -> None:
        """An RTP stream's flow (both directions of its address pair)."""
        self.pairs.add(frozenset((st.source, st.destination)))

    @property
    def empty(self) -> bool:
        return not (self.everything or self.frames or self.pairs or self.tcp_ranges)


def call_selection(call: Call) -> Selection:
    """The frames and endpoint pairs of a call (see the module docstring)."""
    sel = Selection()
    sel.add_call(call)
    return sel


def _block(kind: int, body: bytes) -> bytes:
    pad = b"\x00" * (-len(body) % 4)
    total = 12 + len(body) + len(pad)
    return struct.pack("<II", kind, total) + body + pad + struct.pack("<I", total)


class PcapngWriter:
    """A minimal pcapng writer: one section, one interface per link type, enhanced packets."""

    def __init__(self, out: IO[bytes]) -> None:
        self._out = out
        self._interfaces: dict[int, int] = {}
        self.packets = 0
        shb = struct.pack("<IHHq", _BYTE_ORDER_MAGIC, 1, 0, -1)
        out.write(_block(_SHB, shb))

    def packet(self, ts: float, linktype: int, data: bytes) -> None:
        iface = self._interfaces.get(linktype)
        if iface is None:
            iface = self._interfaces[linktype] = len(self._interfaces)
            self._out.write(_block(_IDB, struct.pack("<HHI", linktype, 0, 0)))
        micros = int(round(ts * 1_000_000))
        head = struct.pack(
            "<IIIII", iface, (micros >> 32) & 0xFFFFFFFF, micros & 0xFFFFFFFF, len(data), len(data)
        )
        self._out.write(_block(_EPB, head + data))
        self.packets += 1


def write_call(
    source: str | os.PathLike[str], destination: str | os.PathLike[str], call: Call
) -> int:
    """Copy the call's frames from ``source`` to a new pcapng at ``destination``; returns how
    many were written. Raises CaptureError when the input cannot be read (a trace log has no
    frames), OSError when the output cannot be written."""
    return write_selection(source, destination, call_selection(call))


def write_selection(
    source: str | os.PathLike[str], destination: str | os.PathLike[str], sel: Selection
) -> int:
    """Copy the selected frames of ``source`` (read a second time) to a new pcapng; returns
    how many were written. Errors as :func:`write_call`."""
    from .tracelog import TraceLogReader, open_input

    decoder = PacketDecoder(DefectLog(100))
    reader = open_input(source)
    try:
        if isinstance(reader, TraceLogReader):
            raise CaptureError(f"{source}: a trace log has no frames to write (-w needs a capture)")
        frame = 0
        with open(destination, "wb") as handle:
            writer = PcapngWriter(handle)
            for ts, linktype, data in reader.frames():
                frame += 1
                if linktype > 0xFFFF:  # Network Monitor's own records: not traffic
                    continue
                if sel.everything or frame in sel.frames:
                    writer.packet(ts, linktype, data)
                    continue
                decoded = decoder.decode(frame, ts, linktype, data)
                if decoded is None:
                    continue
                _proto, src, sport, dst, dport = decoded[:5]
                if sel.keeps(frame, Endpoint.from_raw(src, sport), Endpoint.from_raw(dst, dport)):
                    writer.packet(ts, linktype, data)
    finally:
        reader.close()
    return writer.packets


__all__ = ["PcapngWriter", "Selection", "call_selection", "write_call", "write_selection"]
