"""MS-SIPCOMP framing: one compressed TCP direction in, decoded packets out (sans-IO).

After a ``NEGOTIATE`` / ``200 OK`` exchange with ``Compression: LZ77-8K`` every message on the
connection travels as a *compression packet*: a small header whose byte 0 carries the MPPC flags
in its high nibble (0x8 FLUSHED, 0x4 AT_FRONT, 0x2 COMPRESSED) and the compression type in its
low nibble (0 = LZ77-8K), then the payload. The rest of the header is not established by any
public source ([U], reference §1.3), so the decoder *recognises* it: it tries the candidate
layouts of :data:`LAYOUTS` in order of likelihood and keeps the first whose header chain holds
(reserved bytes zero, type 0, consistent flags, payload decodes, first output is a SIP start line
or a CRLF keep-alive, next header where the length says). :attr:`SipcompStreamDecoder.layout`
names the winner so a capture can settle the question.

Flags are in RDP byte form throughout (``byte0 & 0xF0``), see :mod:`lyncdump.sipcomp.mppc`.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Literal

from lyncdump.errors import MalformedError
from lyncdump.model import Defect
from lyncdump.sipcomp.budget import DecompressionBudget
from lyncdump.sipcomp.mppc import (
    HISTORY_SIZE,
    PACKET_AT_FRONT,
    PACKET_COMPRESSED,
    PACKET_FLUSHED,
    MppcCompressor,
    MppcDecompressor,
    describe_flags,
)

__all__ = [
    "DEFAULT_LAYOUT",
    "LAYOUTS",
    "MAX_RAW_PAYLOAD",
    "DecodedPacket",
    "HeaderLayout",
    "NegotiationTracker",
    "SipcompStreamDecoder",
    "SipcompStreamEncoder",
    "encode_packet",
    "layout_by_name",
    "looks_compressed",
]

MAX_RAW_PAYLOAD = 1 << 20
"""Largest uncompressed (FLUSHED) payload accepted; bounds the per-direction buffer."""
_MAX_COMPRESSED_PAYLOAD = (HISTORY_SIZE * 9 + 7) // 8 + 1  # 9 bits per output byte at worst
_MAX_DEFECTS = 1000  # per decoder; the rest are counted in `defects_dropped`
_SCAN_LIMIT = 1 << 20  # bytes skipped while resynchronising before giving up
_GOOD_FLAGS = (PACKET_COMPRESSED, PACKET_AT_FRONT | PACKET_COMPRESSED, PACKET_FLUSHED)
# what may start a packet when looking for a layout: the MS-SIPCOMP combinations, plus
# FLUSHED with COMPRESSED, which is wrong for MS-SIPCOMP but normal RDP and decodable
_START_FLAGS = _GOOD_FLAGS + (
    PACKET_FLUSHED | PACKET_COMPRESSED,
    PACKET_FLUSHED | PACKET_AT_FRONT | PACKET_COMPRESSED,
)

_LAYER = "sipcomp"


# -- header layouts --------------------------------------------------------------------------


# The small record classes below are written out rather than made with @dataclass: this module
# is imported only for an MS-SIPCOMP connection, and building five dataclasses (generated code,
# compiled at import) was most of what importing it cost (session 30). They keep what the
# dataclasses gave: the constructor's signature, equality, repr (and HeaderLayout: frozen,
# hashable, size and max_length outside equality).


class HeaderLayout:
    """One candidate shape of the compression packet header.

    Byte 0 is always flags<<4 | type; bytes ``1 .. length_at-1`` are reserved (zero); the length
    field follows and ends the header. ``counts`` says what the length measures: ``plain`` the
    uncompressed bytes (a compressed payload then ends at the byte boundary after that many bytes
    were produced), ``payload`` the bytes after the header, ``packet`` header plus payload.
    ``size``: header bytes (``length_at + length_width``), kept: read for every packet.
    Immutable.
    """

    __slots__ = ("name", "length_at", "length_width", "byteorder", "counts", "size", "max_length")
    name: str
    length_at: int
    length_width: int
    byteorder: Literal["big", "little"]
    counts: Literal["plain", "payload", "packet"]
    size: int
    max_length: int

    def __init__(
        self,
        name: str,
        length_at: int,
        length_width: int,
        byteorder: Literal["big", "little"],
        counts: Literal["plain", "payload", "packet"],
    ) -> None:
        put = object.__setattr__
        put(self, "name", name)
        put(self, "length_at", length_at)
        put(self, "length_width", length_width)
        put(self, "byteorder", byteorder)
        put(self, "counts", counts)
        put(self, "size", length_at + length_width)
        put(self, "max_length", (1 << (8 * length_width)) - 1)

    def _key(self) -> tuple[str, int, int, str, str]:
        return (self.name, self.length_at, self.length_width, self.byteorder, self.counts)

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self._key() == other._key()  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash(self._key())

    def __reduce__(self) -> tuple[type[HeaderLayout], tuple[str, int, int, str, str]]:
        return (HeaderLayout, self._key())  # (copy and pickle: made again, not assigned)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"cannot assign to field {name!r}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"cannot delete field {name!r}")

    def __repr__(self) -> str:
        return (
            f"HeaderLayout(name={self.name!r}, length_at={self.length_at!r}, "
            f"length_width={self.length_width!r}, byteorder={self.byteorder!r}, "
            f"counts={self.counts!r}, size={self.size!r}, max_length={self.max_length!r})"
        )


def _record_eq(self: Any, other: object) -> bool:
    """Equality of two records of one class, field by field (as a dataclass's)."""
    names: tuple[str, ...] = self.__slots__
    if other.__class__ is not self.__class__:
        return NotImplemented
    return [getattr(self, k) for k in names] == [getattr(other, k) for k in names]


def _record_repr(self: Any) -> str:
    """``Class(field=value, ...)``, as a dataclass's repr."""
    inner = ", ".join(f"{k}={getattr(self, k)!r}" for k in self.__slots__)
    return f"{self.__class__.__qualname__}({inner})"


def _make_layouts() -> tuple[HeaderLayout, ...]:
    out: list[HeaderLayout] = []
    counts: tuple[Literal["plain", "payload", "packet"], ...] = ("plain", "payload", "packet")
    orders: tuple[Literal["big", "little"], ...] = ("big", "little")
    for order in orders:
        for count in counts:
            for at, width in ((4, 2), (2, 4)):  # 6-byte headers: 16-bit then 32-bit length
                name = f"h6-u{8 * width}{'be' if order == 'big' else 'le'}-{count}"
                out.append(HeaderLayout(name, at, width, order, count))
    for order in orders:  # 4-byte header: only if the 6-byte evidence is explained otherwise
        for count in counts:
            name = f"h4-u16{'be' if order == 'big' else 'le'}-{count}"
            out.append(HeaderLayout(name, 2, 2, order, count))
    return tuple(out)


LAYOUTS: tuple[HeaderLayout, ...] = _make_layouts()
"""Candidates, most likely first: the Ixia/Wireshark-evidence layout ``h6-u16be-plain`` (flags,
3 reserved bytes, 16-bit big-endian uncompressed length), then a 32-bit length, a length of the
compressed payload or of the whole packet, little-endian, and a 4-byte header."""

DEFAULT_LAYOUT = LAYOUTS[0]


def layout_by_name(name: str) -> HeaderLayout:
    """The layout called ``name`` (``KeyError`` if none)."""
    for layout in LAYOUTS:
        if layout.name == name:
            return layout
    raise KeyError(name)


def _twins(layouts: Sequence[HeaderLayout]) -> bool:
    """True when the layouts differ only in length width: they agree until a length > 65535."""
    first = layouts[0]
    return all(
        lay.byteorder == first.byteorder and lay.counts == first.counts and lay.size == first.size
        for lay in layouts
    )


def encode_packet(
    flags: int, payload: bytes, plain_size: int, layout: HeaderLayout = DEFAULT_LAYOUT
) -> bytes:
    """One compression packet: header (flags in byte form, type 0) + payload.

    ``plain_size`` is the uncompressed length (used by ``plain`` layouts).
    """
    if layout.counts == "plain":
        length = plain_size
    elif layout.counts == "payload":
        length = len(payload)
    else:
        length = layout.size + len(payload)
    if length > layout.max_length:
        raise ValueError(f"length {length} does not fit layout {layout.name}")
    head = bytes([flags & 0xE0]) + bytes(layout.length_at - 1)
    return head + length.to_bytes(layout.length_width, layout.byteorder) + payload


class SipcompStreamEncoder:
    """Sender side of one direction, for tests and sample captures: messages in, wire bytes out.

    A message too long for the history goes out FLUSHED (raw); if it is also too long for the
    layout's length field it is cut into several FLUSHED packets ([U] what Microsoft does).
    """

    def __init__(self, layout: HeaderLayout = DEFAULT_LAYOUT) -> None:
        self.layout = layout
        self.compressor = MppcCompressor()

    def encode(self, message: bytes) -> bytes:
        """Wire bytes (one packet, or several FLUSHED ones) carrying ``message``."""
        flags, payload = self.compressor.compress(message)
        try:
            return encode_packet(flags, payload, len(message), self.layout)
        except ValueError:
            pass
        self.compressor.reset()  # what the FLUSHED packets below do to the receiver
        step = self.layout.max_length - self.layout.size
        return b"".join(
            encode_packet(
                PACKET_FLUSHED, message[i : i + step], len(message[i : i + step]), self.layout
            )
            for i in range(0, len(message), step)
        )


def looks_compressed(data: bytes) -> bool:
    """Cheap sniff for a demultiplexer: does ``data`` start like a compression packet header?"""
    return len(data) >= 2 and data[0] in _START_FLAGS and data[1] == 0


# -- decoded output --------------------------------------------------------------------------


class DecodedPacket:
    """One compression packet, decoded.

    ``plain`` the SIP bytes it carried; ``wire_size`` bytes it took on the wire (header
    included); ``flags`` byte form (0 for CRLF keep-alives that arrived unframed); ``frame`` /
    ``ts`` of the segment holding its last byte; ``partial`` when some bytes are placeholders
    (``?``) because the history they were copied from is unknown.
    """

    __slots__ = ("plain", "wire_size", "flags", "frame", "ts", "partial")

    def __init__(
        self, plain: bytes, wire_size: int, flags: int, frame: int, ts: float, partial: bool
    ) -> None:
        self.plain = plain
        self.wire_size = wire_size
        self.flags = flags
        self.frame = frame
        self.ts = ts
        self.partial = partial

    __eq__ = _record_eq
    __repr__ = _record_repr
    __hash__ = None  # type: ignore[assignment]


# -- validation helpers ----------------------------------------------------------------------


class _Header:
    __slots__ = ("flags", "payload", "plain")

    def __init__(self, flags: int, payload: int | None, plain: int | None) -> None:
        self.flags = flags
        self.payload = payload  # payload bytes when the header says so
        self.plain = plain  # output bytes when the payload must be decoded to find its end

    __eq__ = _record_eq
    __repr__ = _record_repr
    __hash__ = None  # type: ignore[assignment]


def _parse_header(
    buf: bytearray, off: int, layout: HeaderLayout, strict: bool
) -> _Header | str | None:
    """Header at ``off``: parsed, a reason it is not one, or None when more bytes are needed.

    ``strict`` (when looking for a layout or a resynchronisation point) admits only the flag
    combinations MS-SIPCOMP allows; in sync every combination is decoded (odd ones reported).
    """
    have = len(buf) - off
    if have <= 0:
        return None
    b0 = buf[off]
    if b0 & 0x0F:
        return f"compression type {b0 & 0x0F} is not 0 (LZ77-8K)"
    if b0 & 0x10:
        return "reserved flag bit set"
    flags = b0 & 0xE0
    if strict and flags not in _START_FLAGS:
        return f"flags {describe_flags(flags)} cannot start a packet"
    la = layout.length_at
    for k in range(off + 1, off + min(la, have)):
        if buf[k]:
            return "reserved header byte is not zero"
    if have < layout.size:
        return None
    length = int.from_bytes(buf[off + la : off + layout.size], layout.byteorder)
    compressed = flags & PACKET_COMPRESSED
    if layout.counts == "plain":
        if compressed:
            if length > HISTORY_SIZE:
                return f"uncompressed length {length} exceeds the 8192-byte history"
            return _Header(flags, None, length)
        payload = length
    elif layout.counts == "payload":
        payload = length
    else:
        payload = length - layout.size
        if payload < 0:
            return f"packet length {length} is shorter than the header"
    if payload > (_MAX_COMPRESSED_PAYLOAD if compressed else MAX_RAW_PAYLOAD):
        return f"payload length {payload} is beyond any packet this protocol can carry"
    return _Header(flags, payload, None)


def _compiled(name: str, pattern: bytes, method: str) -> Callable[..., Any]:
    """A stand-in for ``re.compile(pattern).<method>`` that compiles the pattern at its first
    call and puts the bound method in its place as the module's ``name``: a run whose
    compressed connections the compiled path reads calls none of these, and compiling them all
    at import cost more than the rest of the import (session 30)."""

    def first(*args: Any) -> Any:
        bound = getattr(re.compile(pattern), method)
        globals()[name] = bound
        return bound(*args)

    return first


_TEXT_BAD: Callable[..., re.Match[bytes] | None] = _compiled(
    "_TEXT_BAD", rb"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", "search"
)
_START_LINE: Callable[..., re.Match[bytes] | None] = _compiled(
    "_START_LINE",
    rb"SIP/2\.0 [1-6][0-9][0-9] [^\r\n]*\r?\n"
    rb"|[A-Za-z][A-Za-z0-9.!%*_+`'~-]* [^\x00-\x20]+ SIP/2\.0\r?\n",
    "match",
)
_CRLF_RUN: Callable[..., re.Match[bytes] | None] = _compiled("_CRLF_RUN", rb"[\r\n]+", "match")
_RESYNC: Callable[..., Iterator[re.Match[bytes]]] = _compiled(
    "_RESYNC", rb"(?=[\x20\x60\x80\xa0\xe0]\x00)", "finditer"
)
_FLUSHED_AT: Callable[..., Iterator[re.Match[bytes]]] = _compiled(
    "_FLUSHED_AT", rb"(?=\x80\x00)", "finditer"
)


def _sip_start(out: bytes, mask: bytes | None, complete: bool) -> bool | None:
    """Does decoded output begin like a SIP message or a CRLF keep-alive?

    None means "cannot tell yet" (a start line still arriving). Unknown bytes (``mask`` 0) act
    as wildcards: if the first line is fully known it must be a start line, otherwise the known
    bytes must at least be text.
    """
    head = out[:512]
    if mask is not None and mask.find(0, 0, len(head)) >= 0:
        nl = head.find(b"\n")
        if nl < 0 or mask.find(0, 0, nl + 1) >= 0:
            text = bytes(b if k else 0x61 for b, k in zip(head, mask, strict=False))
            return _TEXT_BAD(text) is None
        head = head[: nl + 1]
    if head[:1] in (b"\r", b"\n"):
        return True
    if _START_LINE(head):
        return True
    if _TEXT_BAD(head) is not None or b"\n" in head or len(head) >= 512:
        return False
    return False if complete else None


class _Probe:
    """A packet decoded on a copy of the history while its layout is still being decided.

    Between calls (the packet still arriving) a young probe keeps no history copy: the next
    attempt decodes again from the packet start. So a half-open connection that sent one
    candidate header and a few bytes holds no 8 KiB buffer. Once a packet has taken
    ``_HOLD_TRIES`` attempts or ``_HOLD_BYTES`` of payload the copy is kept and decoding goes
    on where it stopped, which bounds the repeated work (a flood of one-byte segments).
    """

    __slots__ = ("flags", "tries", "have", "bit", "done", "end", "out", "mask", "error", "dec")

    def __init__(
        self,
        flags: int,
        tries: int = 0,
        have: int = 0,
        bit: int = 0,
        done: bool = False,
        end: int = 0,
        out: bytes = b"",
        mask: bytes | None = None,
        error: str | None = None,
        dec: MppcDecompressor | None = None,
    ) -> None:
        self.flags = flags
        self.tries = tries  # attempts that decoded from the packet start
        self.have = have  # payload bytes there were at the last attempt
        self.bit = bit  # where decoding stopped (when ``dec`` is kept)
        self.done = done
        self.end = end  # absolute stream offset just after the packet
        self.out = out
        self.mask = mask
        self.error = error
        self.dec = dec  # the history copy while decoding

    __eq__ = _record_eq
    __repr__ = _record_repr
    __hash__ = None  # type: ignore[assignment]

    @property
    def holds(self) -> bool:
        """Keep the history copy between calls (see the class)."""
        return not self.done and (self.tries >= _HOLD_TRIES or self.have >= _HOLD_BYTES)


class _Trial:
    __slots__ = ("kind", "reason", "probe", "flags", "failed", "ended")

    def __init__(
        self,
        kind: Literal["ok", "wait", "fail"],
        reason: str = "",
        probe: _Probe | None = None,
        flags: int = 0,
        failed: tuple[HeaderLayout, ...] = (),
        ended: bool = False,
    ) -> None:
        self.kind = kind
        self.reason = reason
        self.probe = probe
        self.flags = flags
        self.failed = failed  # layouts that failed before one waited
        self.ended = ended  # (the likeliest layout) failed only because the stream ended

    __eq__ = _record_eq
    __repr__ = _record_repr
    __hash__ = None  # type: ignore[assignment]


_WAIT = _Trial("wait")
_HOLD_TRIES = 16
_HOLD_BYTES = 1024
_ENDS = "the stream ends inside the packet"

_CALIBRATE, _SYNC, _SCAN, _DEAD = range(4)


class SipcompStreamDecoder:
    """One TCP direction of an MS-SIPCOMP connection: push bytes, pull :class:`DecodedPacket`.

    ``mid_stream=False``: the stream starts right after the NEGOTIATE exchange, history empty and
    the first byte is a header. ``mid_stream=True``: the capture began later; packet boundaries
    are found by scanning for a valid header chain and the history is unknown, so packets come
    out ``partial`` (placeholder ``?`` for bytes copied from unknown history) until FLUSHED or
    enough AT_FRONT passes make them exact. The same resynchronisation follows a gap
    (:meth:`receive_gap`) or a packet that fails to decode; nothing unvalidated is emitted.
    :meth:`receive_eof` decides what is still buffered when the direction ends.

    Memory: the 8 KiB history (16 KiB while unknown) is allocated when the first packet is
    accepted and dropped when sync is lost, so a direction that is only being sniffed costs a
    few hundred bytes plus the bytes after the last place a header could start. ``budget``
    (:class:`~lyncdump.sipcomp.budget.DecompressionBudget`) bounds the decompressed total.
    """

    __slots__ = (
        "layout",
        "defects",
        "defects_dropped",
        "_survivors",
        "_dec",
        "_known_start",
        "_budget",
        "_buf",
        "_rd",
        "_base",
        "_frames",
        "_out",
        "_state",
        "_first",
        "_cur",
        "_bit",
        "_probes",
        "_scan_from",
        "_ahead_from",
        "_skipped",
        "_noted",
        "_last_frame",
        "_last_ts",
        "_eof",
    )

    def __init__(
        self, *, mid_stream: bool = False, budget: DecompressionBudget | None = None
    ) -> None:
        self.layout: str | None = None
        """Name of the recognised header layout (see :data:`LAYOUTS`), None until known."""
        self.defects: list[Defect] = []
        self.defects_dropped = 0
        self._survivors: Sequence[HeaderLayout] = LAYOUTS
        # the history, allocated with the first packet accepted; until then (and after sync is
        # lost) a packet starts from a zeroed history (_known_start) or an unknown one
        self._dec: MppcDecompressor | None = None
        self._known_start = not mid_stream
        self._budget = budget
        self._buf = bytearray()
        self._rd = 0  # read index in _buf
        self._base = 0  # stream offset of _buf[0]
        # (stream end, frame, ts) of the segments still in _buf; None when at most its last byte
        # is left (that byte came with the last segment: _last_frame / _last_ts say which)
        self._frames: deque[tuple[int, int, float]] | None = None
        self._out: deque[DecodedPacket] | None = None
        self._state = _SCAN if mid_stream else _CALIBRATE
        self._first = True  # the next packet accepted must start like SIP
        self._cur: _Header | None = None
        self._bit = 0
        self._probes: dict[tuple[int, int, int], _Probe] | None = None
        self._scan_from = 0
        self._ahead_from = 0
        self._skipped = 0
        self._noted = 0  # odd flag combinations reported (bit flags >> 5)
        self._last_frame = 0
        self._last_ts = 0.0
        self._eof = False

    # -- public -------------------------------------------------------------------------------

    def receive_data(self, data: bytes, frame: int, ts: float) -> None:
        """Append the next bytes of this direction (TLS plaintext or TCP payload)."""
        if not data:
            return
        self._last_frame, self._last_ts = frame, ts
        if self._state == _DEAD:
            self._base += len(data)
            return
        self._buf += data
        frames = self._frames
        if frames is None:
            frames = self._frames = deque()
        frames.append((self._base + len(self._buf), frame, ts))
        self._run()

    def receive_gap(self, missing: int, frame: int, ts: float) -> None:
        """``missing`` bytes were lost: drop the partial packet, resynchronise, history unknown."""
        self._last_frame, self._last_ts = frame, ts
        if self._state == _DEAD:
            self._base += missing
            return
        at = self._base + len(self._buf)
        lost = len(self._buf) - self._rd
        self._defect(
            frame,
            at,
            f"{missing} bytes missing from the capture ({lost} buffered bytes dropped); "
            "history unknown until resynchronised",
        )
        self._base = at + missing
        self._buf.clear()
        self._rd = 0
        self._frames = None
        self._lose_sync(0)
        self._run()

    def receive_eof(self) -> None:
        """The direction ended: decode what the wait for more data held back, report the rest.

        A packet that was waiting for bytes that will never come now fails like a bad one, so
        the packets after it are found by resynchronising; bytes that still make no packet
        are reported. Later data is ignored.
        """
        if self._eof:
            return
        self._eof = True
        # In sync with nothing buffered nor half-decoded (a direction the compiled path gave
        # back at its end): nothing to decode and nothing to report, only the buffers to drop.
        if self._state != _DEAD and (self._buf or self._cur is not None or self._state != _SYNC):
            self._run()
            rest = len(self._buf) - self._rd
            if rest:
                at = self._base + self._rd
                what = (
                    f"{rest} bytes after the last place a packet could start"
                    if self._state == _SCAN
                    else f"a compression packet cut short ({rest} bytes)"
                )
                self._defect(self._frame_of(at), at, f"stream ended: {what} not decoded")
            elif self._state == _SCAN and self._skipped:
                at = self._base + self._rd
                self._defect(
                    self._frame_of(at),
                    at,
                    f"stream ended: skipped {self._skipped} bytes without finding a "
                    "compression packet boundary",
                )
        self._stop()

    @property
    def holds_output(self) -> bool:
        """Packets or defects wait to be taken (:meth:`next_packet`, ``defects``)."""
        return self._out is not None or bool(self.defects)

    def handover(self) -> tuple[bytearray | None, int] | None:
        """(history, write position) when another reader (the compiled fast path,
        ``_fastpath.c`` sipcomp_read) may decode what follows: in sync under the usual layout
        with the history exact, nothing buffered, queued or half-decoded. That reader writes
        the history in place and gives back its position (:meth:`resume_at`).

        ``(None, 0)`` for a decoder that has read nothing yet, right after the NEGOTIATE
        exchange: that reader may then take the first packet itself when the layout it shows
        is the routine one (the usual layout holds, and of the others only its 32-bit twin
        reads the same packet: :meth:`_calibrate_step` would be in sync after it) and give
        the history it made to :meth:`resume_at`; anything else it gives back untouched."""
        dec = self._dec
        if dec is None and self._fresh():
            return None, 0
        if (
            self._state != _SYNC
            or self._cur is not None
            or self._buf
            or self._out
            or self._eof
            or self.defects
            or dec is None
            or not dec.exact
            or self._survivors[0] is not DEFAULT_LAYOUT
        ):
            return None
        return dec.history, dec.position

    def resume_at(
        self,
        consumed: int,
        position: int,
        frame: int,
        ts: float,
        history: bytearray | None = None,
    ) -> None:
        """Another reader decoded the next ``consumed`` bytes (:meth:`handover`), leaving the
        history's write position at ``position``; the last segment it read came in ``frame``
        at ``ts``. ``history``: the one it made, taking the first packet of a decoder handed
        over before any (then in sync under the usual layout and its twin, as
        :meth:`_accept` leaves it); a decoder still at its start that it did not take stays
        as it was."""
        dec = self._dec
        assert not self._buf
        if history is not None:
            assert dec is None and self._fresh()
            dec = self._dec = MppcDecompressor.adopting(history, position)
            self._survivors = list(LAYOUTS[:2])
            self.layout = DEFAULT_LAYOUT.name
            self._first = False
            self._state = _SYNC
        elif dec is None:
            assert consumed == 0
            return
        else:
            dec.resume_at(position)
        self._base += consumed
        self._last_frame, self._last_ts = frame, ts

    def _fresh(self) -> bool:
        """Nothing read yet, the history empty (a stream that starts after NEGOTIATE)."""
        return (
            self._state == _CALIBRATE
            and self._first
            and self._dec is None
            and self._known_start
            and self.layout is None
            and self._survivors is LAYOUTS
            and self._cur is None
            and self._probes is None
            and not self._buf
            and not self._out
            and not self._eof
            and not self.defects
            and not self.defects_dropped
            and not self._noted
            and not self._skipped
        )

    def next_packet(self) -> DecodedPacket | None:
        """The next decoded packet, or None until more data arrives."""
        out = self._out
        if not out:
            return None
        packet = out.popleft()
        if not out:
            self._out = None
        return packet

    # -- machinery ----------------------------------------------------------------------------

    def _defect(
        self, frame: int | None, offset: int | None, reason: str, layer: str = _LAYER
    ) -> None:
        if len(self.defects) < _MAX_DEFECTS:
            self.defects.append(Defect(frame, layer, offset, reason))
        else:
            self.defects_dropped += 1

    def _frame_of(self, stream_off: int) -> int:
        """Frame that carried the byte at ``stream_off`` (for defects)."""
        for end, frame, _ in self._frames or ():
            if end > stream_off:
                return frame
        return self._last_frame

    def _start_state(self, flags: int) -> MppcDecompressor:
        """A decompressor in the state the next packet starts from, to decode a trial on."""
        if flags & PACKET_FLUSHED:
            return MppcDecompressor()  # the packet resets the history anyway
        if self._dec is not None:
            return self._dec.copy()
        return MppcDecompressor(history_known=self._known_start)

    def _emit(
        self,
        plain: bytes,
        start: int,
        end: int,
        flags: int,
        partial: bool,
        keepalive: bool = False,
    ) -> None:
        """Queue a packet occupying buffer ``[start, end)`` and advance past it."""
        if self._budget is not None:
            # the ratio is earned by payload bytes: a header carries no SIP
            payload = end - start - (0 if keepalive else self._survivors[0].size)
            refused = self._budget.draw(max(payload, 0), len(plain), keepalive=keepalive)
            if refused is not None:
                at = self._base + start
                self._defect(self._frame_of(at), at, refused)
                self._stop()
                return
        stream_end = self._base + end
        frames = self._frames
        while frames and frames[0][0] < stream_end:
            frames.popleft()
        if frames:
            _, frame, ts = frames[0]
            if frames[0][0] == stream_end:
                frames.popleft()
        else:
            frame, ts = self._last_frame, self._last_ts
        out = self._out
        if out is None:
            out = self._out = deque()
        out.append(DecodedPacket(plain, end - start, flags, frame, ts, partial))
        self._rd = end

    def _run(self) -> None:
        while True:
            state = self._state
            if state == _SYNC:
                progressed = self._sync_step()
            elif state == _CALIBRATE:
                progressed = self._calibrate_step()
            elif state == _SCAN:
                progressed = self._scan_step()
            else:
                self._stop()
                return
            if not progressed:
                break
        if self._probes:
            for probe in self._probes.values():
                if not probe.holds:
                    probe.dec = None  # results stay; the history copy goes
        if self._rd:
            del self._buf[: self._rd]
            self._base += self._rd
            self._scan_from = max(0, self._scan_from - self._rd)
            self._ahead_from = max(0, self._ahead_from - self._rd)
            self._rd = 0
        frames = self._frames
        if frames is not None:
            while len(frames) > 1 and frames[0][0] <= self._base:  # segments wholly consumed
                frames.popleft()
            if len(self._buf) <= 1 and len(frames) <= 1:
                self._frames = None

    def _stop(self) -> None:
        """Decode nothing more: drop every buffer (later bytes are only counted)."""
        self._state = _DEAD
        self._base += len(self._buf)
        self._buf = bytearray()
        self._rd = 0
        self._frames = None
        self._dec = None
        self._probes = None
        self._cur = None

    def _lose_sync(self, restart: int) -> None:
        """Forget the history and look for the next valid header chain from ``restart``."""
        self._dec = None
        self._known_start = False
        self._state = _SCAN
        self._first = True
        self._cur = None
        self._probes = None
        self._scan_from = restart
        self._skipped = 0

    def _keepalive(self) -> bool | None:
        """Pass a run of CR/LF found between packets (unframed keep-alive) through as is."""
        buf, rd = self._buf, self._rd
        m = _CRLF_RUN(buf, rd)
        if m is None:
            return False
        end = m.end()
        if end == len(buf) and buf[end - 1] == 13 and not self._eof:
            return None  # its LF may follow
        self._emit(bytes(buf[rd:end]), rd, end, 0, False, keepalive=True)
        return True

    def _note_flags(self, flags: int, offset: int) -> None:
        bit = 1 << (flags >> 5)
        if flags in _GOOD_FLAGS or self._noted & bit:
            return
        self._noted |= bit
        if flags & PACKET_FLUSHED and flags & PACKET_COMPRESSED:
            why = (
                "inconsistent flags (FLUSHED with COMPRESSED; a receiver tears down); "
                "decoded as RDP does"
            )
        elif flags & PACKET_AT_FRONT:
            why = "AT_FRONT without COMPRESSED; position reset, payload passed through"
        else:
            why = "packet without flags ([U]); payload passed through raw, history untouched"
        self._defect(self._frame_of(offset), offset, f"{why}: {describe_flags(flags)}")

    # -- in sync: one known layout ------------------------------------------------------------

    def _sync_step(self) -> bool:
        buf, rd = self._buf, self._rd
        layout = self._survivors[0]
        if self._cur is None:
            if rd >= len(buf):
                return False
            if buf[rd] in (13, 10):
                return bool(self._keepalive())
            h = _parse_header(buf, rd, layout, strict=False)
            if isinstance(h, str):
                for i, alt in enumerate(self._survivors[1:], 1):  # 32-bit twin of a 16-bit length
                    verdict = self._twin_holds(rd, alt)
                    if verdict is None:
                        if not self._eof:
                            return False
                        continue
                    if verdict:
                        self._survivors = self._survivors[i:]
                        self.layout = alt.name
                        return True
                at = self._base + rd
                self._defect(self._frame_of(at), at, f"bad compression packet header: {h}")
                self._lose_sync(rd + 1)
                return True
            if h is None:
                return False
            self._note_flags(h.flags, self._base + rd)
            self._cur = h
            self._bit = 0
            if h.plain is not None:
                assert self._dec is not None
                self._dec.start_packet(h.flags)
        h = self._cur
        pstart = rd + layout.size
        dec = self._dec
        assert dec is not None
        try:
            if h.plain is not None:
                bit, done = dec.decode_some(buf, self._bit, h.plain, pstart)
                if not done:
                    self._bit = bit
                    return False
                end = pstart + ((bit + 7) >> 3)
                out = dec.finish_packet()
            else:
                assert h.payload is not None
                end = pstart + h.payload
                if end > len(buf):
                    return False
                out = dec.decompress(buf[pstart:end], h.flags)
        except MalformedError as exc:
            at = self._base + pstart
            self._defect(
                self._frame_of(at),
                exc.offset,
                f"{exc.reason} (packet at stream offset {at})",
                "mppc",
            )
            self._lose_sync(rd + 1)
            return True
        self._cur = None
        self._emit(out, rd, end, h.flags, dec.last_partial)
        return True

    def _twin_holds(self, rd: int, alt: HeaderLayout) -> bool | None:
        """Does a header the current layout rejects make sense under ``alt``? (None: wait.)

        Only a raw packet (a message too big for 16 bits) can need the 32-bit twin, and its text
        must start like SIP, so a damaged header does not send us waiting for a bogus length.
        """
        buf = self._buf
        h = _parse_header(buf, rd, alt, strict=False)
        if h is None:
            return None
        if isinstance(h, str) or h.payload is None or h.flags & PACKET_COMPRESSED:
            return False
        start = rd + alt.size
        head = bytes(buf[start : start + min(h.payload, 512)])
        verdict = _sip_start(head, None, len(head) == min(h.payload, 512))
        return None if verdict is None else verdict

    # -- choosing a layout --------------------------------------------------------------------

    def _wait(self, reason: str = _ENDS) -> _Trial:
        """Wait for more data, or fail once the stream has ended."""
        return _Trial("fail", reason, ended=True) if self._eof else _WAIT

    def _attempt(
        self, off: int, layout: HeaderLayout, need_chain: bool, header: _Header | None = None
    ) -> _Trial:
        """Try ``layout`` for a packet at buffer index ``off`` on a copy of the history
        (``header``: its header there, when already parsed)."""
        buf = self._buf
        h = header if header is not None else _parse_header(buf, off, layout, strict=self._first)
        if h is None:
            return self._wait("the stream ends inside the header")
        if isinstance(h, str):
            return _Trial("fail", h)
        pstart = off + layout.size
        flags = h.flags
        key = (
            self._base + pstart,
            flags,
            h.plain if h.plain is not None else -1 - (h.payload or 0),
        )
        probes = self._probes
        if probes is None:
            probes = self._probes = {}
        probe = probes.get(key)
        if probe is None:
            probe = probes[key] = _Probe(flags)
        if probe.error is not None:
            return _Trial("fail", probe.error)
        if not probe.done:
            if h.plain is not None:
                dec = probe.dec
                if dec is None:  # (again) from the packet start
                    dec = probe.dec = self._start_state(flags)
                    dec.start_packet(flags)
                    probe.bit = 0
                    probe.tries += 1
                probe.have = len(buf) - pstart
                try:
                    bit, done = dec.decode_some(buf, probe.bit, h.plain, pstart)
                except MalformedError as exc:
                    probe.error = exc.reason
                    probe.dec = None
                    return _Trial("fail", exc.reason)
                probe.bit = bit
                if not done:
                    if (
                        self._first
                        and _sip_start(dec.pending(), dec.pending_known(), False) is False
                    ):
                        probe.error = "output does not start like SIP"
                        probe.dec = None
                        return _Trial("fail", probe.error)
                    return self._wait()
                probe.out = dec.finish_packet()
                probe.mask = dec.last_known
                probe.end = self._base + pstart + ((bit + 7) >> 3)
            else:
                assert h.payload is not None
                end = pstart + h.payload
                if not flags & PACKET_COMPRESSED and self._first:
                    if (
                        _sip_start(
                            bytes(buf[pstart : min(end, pstart + 512)]), None, end <= len(buf)
                        )
                        is False
                    ):
                        probe.error = "raw payload does not start like SIP"
                        return _Trial("fail", probe.error)
                if end > len(buf):
                    return self._wait()
                dec = self._start_state(flags)
                try:
                    probe.out = dec.decompress(buf[pstart:end], flags)
                except MalformedError as exc:
                    probe.error = exc.reason
                    return _Trial("fail", exc.reason)
                probe.mask = dec.last_known
                probe.end = self._base + end
            probe.done = True
            probe.dec = dec
            if self._first and _sip_start(probe.out, probe.mask, True) is not True:
                probe.error = "output does not start like SIP"
                probe.dec = None
        if probe.error is not None:
            return _Trial("fail", probe.error)
        # chain: the next header (after any CRLF keep-alive) must be one too
        nxt = probe.end - self._base
        m = _CRLF_RUN(buf, nxt)
        if m is not None:
            nxt = m.end()
        if nxt >= len(buf):
            if need_chain and not self._eof:
                return _WAIT
            return _Trial("ok", probe=probe, flags=flags)
        h2 = _parse_header(buf, nxt, layout, strict=False)
        if isinstance(h2, str):
            return _Trial("fail", f"next header: {h2}")
        if h2 is None and need_chain and not self._eof:
            return _WAIT
        return _Trial("ok", probe=probe, flags=flags)

    def _choose(self, off: int, need_chain: bool) -> _Trial | tuple[_Trial, list[HeaderLayout]]:
        """First surviving layout that holds at ``off`` plus the later ones that agree with it.

        A wait names the more likely layouts that already failed (``failed``, ``reason``).
        """
        reasons: list[str] = []
        failed: list[HeaderLayout] = []
        ended = False
        for i, layout in enumerate(self._survivors):
            t = self._attempt(off, layout, need_chain)
            if t.kind == "wait":
                if failed:
                    return _Trial("wait", _join(reasons), failed=tuple(failed))
                return t
            if t.kind == "ok":
                assert t.probe is not None
                agree = [layout]
                # (what _attempt would find of the others, without decoding a trial)
                for other, h in self._agreeing(off, self._survivors[i + 1 :], t.probe):
                    t2 = self._attempt(off, other, need_chain, h)
                    if (
                        t2.kind == "ok"
                        and t2.probe is not None
                        and (t2.probe.end == t.probe.end and t2.probe.out == t.probe.out)
                    ):
                        agree.append(other)
                return t, agree
            reasons.append(f"{layout.name}: {t.reason}")
            failed.append(layout)
            ended = ended if i else t.ended
        return _Trial("fail", _join(reasons), ended=ended)

    def _agreeing(
        self, off: int, layouts: Sequence[HeaderLayout], probe: _Probe
    ) -> list[tuple[HeaderLayout, _Header]]:
        """The ``layouts`` that could read the packet at ``off`` as ``probe`` did, each with
        its header there (for :meth:`_attempt`). Not one that finds no header (:func:`_parse_header`
        written out: this runs for every layout of a direction's first packet), a payload
        length that ends the packet elsewhere, or an uncompressed length other than the
        probe's output (its trial could not give the same bytes: not decoded, and the probes
        it would leave are dropped by the :meth:`_accept` that follows)."""
        buf = self._buf
        b0 = buf[off]
        flags = b0 & 0xE0
        if b0 & 0x1F or (self._first and flags not in _START_FLAGS):
            return []
        have = len(buf) - off
        compressed = flags & PACKET_COMPRESSED
        most = _MAX_COMPRESSED_PAYLOAD if compressed else MAX_RAW_PAYLOAD
        out_size = len(probe.out)
        end = probe.end - self._base - off  # the packet's size as the probe read it
        found = []
        for layout in layouts:
            size = layout.size
            la = layout.length_at
            if have < size or buf.count(0, off + 1, off + la) != la - 1:
                continue  # (bytes still to come, or a reserved byte set)
            length = int.from_bytes(buf[off + la : off + size], layout.byteorder)
            counts = layout.counts
            if counts == "plain":
                if compressed:
                    if length == out_size:
                        found.append((layout, _Header(flags, None, length)))
                    continue
                payload = length
            elif counts == "payload":
                payload = length
            else:
                payload = length - size
                if payload < 0:
                    continue
            if payload <= most and size + payload == end:
                found.append((layout, _Header(flags, payload, None)))
        return found

    def _accept(self, off: int, trial: _Trial, agree: list[HeaderLayout]) -> None:
        probe = trial.probe
        assert probe is not None
        dec = probe.dec
        if dec is None:  # decoded in an earlier call: decode it again for the history it leaves
            dec = self._replay(off, agree[0], probe)
        self._dec = dec
        self._probes = None
        self._survivors = agree
        self.layout = agree[0].name
        self._first = False
        self._state = _SYNC if _twins(agree) else _CALIBRATE
        self._note_flags(trial.flags, self._base + off)
        self._emit(probe.out, off, probe.end - self._base, trial.flags, dec.last_partial)

    def _replay(self, off: int, layout: HeaderLayout, probe: _Probe) -> MppcDecompressor:
        """The history after a packet already decoded once (its copy was let go)."""
        dec = self._start_state(probe.flags)
        pstart = off + layout.size
        end = probe.end - self._base
        if probe.flags & PACKET_COMPRESSED and layout.counts == "plain":
            dec.start_packet(probe.flags)
            dec.decode_some(self._buf, 0, len(probe.out), pstart)
            dec.finish_packet()
        else:
            dec.decompress(self._buf[pstart:end], probe.flags)
        return dec

    def _calibrate_step(self) -> bool:
        buf, rd = self._buf, self._rd
        if rd >= len(buf):
            return False
        if buf[rd] in (13, 10):
            return bool(self._keepalive())
        r = self._choose(rd, need_chain=False)
        if isinstance(r, tuple):
            self._accept(rd, *r)
            return True
        if r.kind == "wait":
            if len(buf) - rd > MAX_RAW_PAYLOAD + 64:
                r = _Trial("fail", "no layout completes a packet within the size bound")
            elif self.layout is not None and r.failed and self._flushed_ahead(rd, r.failed[0]):
                # The likelier layouts cannot decode this packet and one of them finds a whole
                # FLUSHED packet further on: a bad packet, not a long one under a rarer layout.
                self._survivors = [lay for lay in self._survivors if lay in r.failed]
                r = _Trial("fail", r.reason)
            else:
                return False
        at = self._base + rd
        if r.ended and self.layout is not None:  # cut short by the end of the stream
            self._defect(
                self._frame_of(at),
                at,
                f"stream ended: a compression packet cut short ({len(buf) - rd} bytes) not decoded",
            )
            self._stop()
            return True
        if self.layout is not None:  # a packet was accepted before: treat as a bad packet
            self._defect(self._frame_of(at), at, f"bad compression packet ({r.reason})")
            self._lose_sync(rd + 1)
            return True
        self._defect(
            self._frame_of(at),
            at,
            f"no MS-SIPCOMP header layout recognised ({r.reason}); stream not decoded",
        )
        self._stop()
        return True

    def _flushed_ahead(self, rd: int, layout: HeaderLayout) -> bool:
        """Is there, after ``rd``, a whole FLUSHED packet under ``layout`` whose text starts like
        SIP and which is followed by another header (or by the end of the data so far)?"""
        buf = self._buf
        start = max(rd + 1, self._ahead_from)
        for m in _FLUSHED_AT(buf, start):
            off = m.start()
            h = _parse_header(buf, off, layout, strict=True)
            if h is None:
                self._ahead_from = off
                return False
            if isinstance(h, str) or h.flags != PACKET_FLUSHED or h.payload is None:
                continue
            pstart = off + layout.size
            end = pstart + h.payload
            if end > len(buf):
                self._ahead_from = off
                return False
            if _sip_start(bytes(buf[pstart : min(end, pstart + 512)]), None, True) is not True:
                continue
            crlf = _CRLF_RUN(buf, end)
            nxt = crlf.end() if crlf is not None else end
            if nxt >= len(buf) or not isinstance(_parse_header(buf, nxt, layout, False), str):
                return True
        self._ahead_from = max(start, len(buf) - 1)
        return False

    # -- resynchronising ----------------------------------------------------------------------

    def _scan_step(self) -> bool:
        buf = self._buf
        start = max(self._scan_from, self._rd)
        for m in _RESYNC(buf, start):
            off = m.start()
            r = self._choose(off, need_chain=True)
            if isinstance(r, tuple):
                self._skip_to(off)
                if self._skipped:
                    at = self._base + off
                    self._defect(
                        self._frame_of(at),
                        at,
                        f"skipped {self._skipped} bytes to find a compression packet boundary",
                    )
                    self._skipped = 0
                self._accept(off, *r)
                return True
            if r.kind == "wait":
                if len(buf) - off <= MAX_RAW_PAYLOAD + 64:
                    self._skip_to(off)
                    self._scan_from = off
                    return False
            self._probes = None
        # a header's first byte may end the buffer, unless nothing more is coming
        keep = len(buf) if self._eof else max(start, len(buf) - 1)
        self._skip_to(keep)
        self._scan_from = keep
        if self._skipped > _SCAN_LIMIT:
            at = self._base + keep
            self._defect(
                self._frame_of(at),
                at,
                f"no compression packet boundary in {self._skipped} bytes; stream not decoded",
            )
            self._stop()
            return True
        return False

    def _skip_to(self, off: int) -> None:
        if off > self._rd:
            self._skipped += off - self._rd
            self._rd = off


def _join(reasons: list[str]) -> str:
    return "; ".join(reasons[:3]) + ("; ..." if len(reasons) > 3 else "")


# -- negotiation -----------------------------------------------------------------------------


def _negotiation_fields(headers: list[tuple[str, str]]) -> tuple[str, str, bool]:
    """(first CSeq, first Call-ID, whether a Compression header offers LZ77-8K), read in one
    pass over the headers (empty strings for a header absent)."""
    cseq = call_id = None
    offers = False
    for name, value in headers:
        low = name.lower()
        if low == "cseq":
            if cseq is None:
                cseq = value
        elif low == "call-id" or low == "i":
            if call_id is None:
                call_id = value
        elif low == "compression" and not offers:
            for token in value.split(","):
                if token.split(";", 1)[0].strip().upper() == "LZ77-8K":
                    offers = True
                    break
    return cseq or "", call_id or "", offers


class NegotiationTracker:
    """When does each direction of one connection switch to MS-SIPCOMP?

    Reference §1.2: the side that opened the connection sends ``NEGOTIATE`` with
    ``Compression: LZ77-8K``; the peer answers ``200 OK`` echoing it. Both travel in clear; from
    the byte after that 200 OK *both* directions are compressed (the responder's next byte, and
    the requester's next byte, which it sends only after reading the answer). A final response
    that is not 2xx, or lacks ``LZ77-8K`` (e.g. ``Compression: None``), leaves the connection in
    clear; 1xx keeps the offer pending. NEGOTIATE without the header (keep-alive negotiation of
    MS-CONMGMT) is ignored. [U]: renegotiation once compressed (ignored), and whether a requester
    could pipeline clear bytes before reading the answer (assumed not).
    """

    __slots__ = ("_pending", "compressed")  # (one per MS-SIPCOMP connection)

    def __init__(self) -> None:
        self._pending: dict[tuple[str, str], int] = {}  # (Call-ID, CSeq number) -> requester
        self.compressed = [False, False]

    @property
    def offered(self) -> bool:
        """A NEGOTIATE offering LZ77-8K is waiting for its final answer."""
        return bool(self._pending)

    def assume(self, direction: int) -> None:
        """The direction was seen compressed before the answer (a lost or late 200 OK)."""
        self.compressed[direction] = True

    def on_message(
        self,
        direction: int,
        method: str | None,
        status: int | None,
        cseq_method: str | None,
        headers: list[tuple[str, str]],
    ) -> list[int]:
        """Feed one clear SIP message sent in ``direction``; returns the directions whose next
        byte (after this message) is compressed."""
        if all(self.compressed):
            return []
        if method is None and (status is None or (cseq_method or "").upper() != "NEGOTIATE"):
            return []
        cseq, call_id, offers = _negotiation_fields(headers)
        return self.on_fields(
            direction, method, status, call_id.strip(), cseq.strip().split(" ", 1)[0], offers
        )

    def on_fields(
        self,
        direction: int,
        method: str | None,
        status: int | None,
        call_id: str,
        cseq_number: str,
        offers: bool,
    ) -> list[int]:
        """:meth:`on_message` on what it reads of the message's headers: the Call-ID and the
        CSeq number, blanks stripped, and whether it offers LZ77-8K (the compiled
        ``sip_negotiate_chunk`` reads them of a NEGOTIATE exchange in the plain shape). A
        response's CSeq names NEGOTIATE (checked by the caller)."""
        compressed = self.compressed
        if compressed[0] and compressed[1]:
            return []
        key = (call_id, cseq_number)
        if method is not None:
            if method.upper() == "NEGOTIATE" and offers:
                self._pending[key] = direction
            return []
        if status is None:
            return []
        requester = self._pending.get(key)
        if requester is None or requester == direction:
            return []
        if status < 200:
            return []
        del self._pending[key]
        if status >= 300 or not offers:
            return []
        if not (compressed[0] or compressed[1]):  # (as a rule: both switch now)
            compressed[0] = compressed[1] = True
            return [0, 1]
        switched = [d for d in (0, 1) if not compressed[d]]
        for d in switched:
            compressed[d] = True
        return switched
