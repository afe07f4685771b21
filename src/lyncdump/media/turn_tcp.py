"""STUN/TURN over TCP: the three framings Lync media uses, as sans-IO framers.

- ``ms-turn``: [MS-TURN] 2.1.4, after the optional pseudo-TLS handshake (2.1.1) on 443: every
  record is type(1: 0x02 TURN control, 0x03 end-to-end data) reserved(1) length(2) payload.
  A data record may hold a further 2-byte length (RFC 4571 inside, the Lync plugin's "RTP
  length"); it is removed when it equals length - 2.
- ``rfc4571``: ICE-TCP between peers, length(2) payload. The payload may be STUN of any
  flavour: RFC 5389 with its cookie, or RFC 3489-style without one, as MS-ICE draft 6
  (Office Communicator 2007, libnice's OC2007 mode) sends its connectivity checks.
- ``stun-tcp``: RFC 5766/6062 TURN over TCP, STUN messages and ChannelData back to back, the
  STUN length (ChannelData padded to 4) giving the size.

Push bytes with :meth:`TcpMediaFramer.receive_data`, pull :class:`TcpMediaFrame` objects with
:meth:`next_frame`. Nothing here raises on bad bytes: the framer resynchronises and records a
defect reason in ``defects``. The buffer never holds more than one frame (at most 64 KiB + 6).
"""

from __future__ import annotations

from dataclasses import dataclass

from .stun import HEADER_SIZE, MAGIC_COOKIE_BYTES, MS_TURN_COOKIE_ATTR, is_stun_datagram

MS_TURN = "ms-turn"
RFC4571 = "rfc4571"
STUN_TCP = "stun-tcp"

#: The fixed pseudo-TLS records ([MS-TURN] 2.1.1): sizes of the client and server records.
PSEUDO_TLS_CLIENT_SIZE = 50
PSEUDO_TLS_SERVER_SIZE = 83

#: How far a resync after a gap or garbage scans before giving up on the buffered bytes.
_RESYNC_WINDOW = 4096


def is_pseudo_tls_client_hello(data: bytes) -> bool:
    """The 50-byte ClientHello MS-TURN sends first: TLS 1.0, no session, the single cipher
    0x0018 (TLS_DH_anon_WITH_RC4_128_MD5), null compression, no extensions."""
    return (
        len(data) >= PSEUDO_TLS_CLIENT_SIZE
        and data[0:5] == b"\x16\x03\x01\x00\x2d"
        and data[5:11] == b"\x01\x00\x00\x29\x03\x01"
        and data[43:50] == b"\x00\x00\x02\x00\x18\x01\x00"
    )


def is_pseudo_tls_server_hello(data: bytes) -> bool:
    """The 83-byte ServerHello(0x0018) + ServerHelloDone record, in one record, no Certificate:
    a real TLS server always sends a Certificate or a different cipher."""
    return (
        len(data) >= PSEUDO_TLS_SERVER_SIZE
        and data[0:5] == b"\x16\x03\x01\x00\x4e"
        and data[5:11] == b"\x02\x00\x00\x46\x03\x01"
        and data[43] == 0x20
        and data[76:83] == b"\x00\x18\x00\x0e\x00\x00\x00"
    )


def _stun_at(data: bytes, pos: int) -> bool:
    """A STUN header at ``pos`` (cookie in bytes 4..7, or the MS-TURN MAGIC-COOKIE first)."""
    return (
        len(data) >= pos + 8
        and not data[pos] & 0xC0
        and (
            data[pos + 4 : pos + 8] == MAGIC_COOKIE_BYTES
            or data[pos + 20 : pos + 28] == MS_TURN_COOKIE_ATTR
        )
    )


#: RFC 3489 message types (Binding and Shared Secret; request, response, error response).
_CLASSIC_TYPES = frozenset({0x0001, 0x0101, 0x0111, 0x0002, 0x0102, 0x0112})


def _classic_stun_frame(data: bytes, pos: int, size: int) -> bool:
    """An RFC 3489-style message (no magic cookie) filling ``size`` bytes at ``pos``: the whole
    message must walk its attributes exactly when it is all there; a first segment that holds
    only its start must show a Binding/Shared Secret type, the length and a first attribute
    header that fits."""
    if size < HEADER_SIZE or len(data) < pos + HEADER_SIZE:
        return False
    if ((data[pos] << 8) | data[pos + 1]) not in _CLASSIC_TYPES:
        return False
    if HEADER_SIZE + ((data[pos + 2] << 8) | data[pos + 3]) != size:
        return False
    if len(data) >= pos + size:
        return is_stun_datagram(data[pos : pos + size])
    if len(data) < pos + HEADER_SIZE + 4:
        return True  # type and two lengths agree: as much as a first segment can tell
    return HEADER_SIZE + 4 + ((data[pos + 22] << 8) | data[pos + 23]) <= size


def _media_at(data: bytes, pos: int) -> bool:
    """RTP/RTCP version 2, STUN, or an 0xFF10 multiplexed frame at ``pos``."""
    if len(data) <= pos:
        return False
    first = data[pos]
    return 0x80 <= first <= 0xBF or _stun_at(data, pos) or data[pos : pos + 2] == b"\xff\x10"


def detect(data: bytes) -> str | None:
    """What the first bytes of a TCP direction say it carries: ``pseudo-tls`` (either hello),
    ``ms-turn``, ``rfc4571``, ``stun-tcp``, or None (not media we frame)."""
    if len(data) < 8:
        return None
    if is_pseudo_tls_client_hello(data) or is_pseudo_tls_server_hello(data):
        return "pseudo-tls"
    first = data[0]
    length = (data[2] << 8) | data[3]
    if first == 0x02 and data[1] == 0 and length >= HEADER_SIZE and _stun_at(data, 4):
        return MS_TURN
    if first == 0x03 and data[1] == 0 and length >= 4:
        inner = (data[4] << 8) | data[5]
        if inner == length - 2 and _media_at(data, 6) or _media_at(data, 4) and data[4] >= 0x80:
            return MS_TURN
    frame_len = (data[0] << 8) | data[1]
    if (
        frame_len >= HEADER_SIZE
        and _stun_at(data, 2)
        and (HEADER_SIZE + ((data[4] << 8) | data[5]) == frame_len)
    ):
        return RFC4571
    if _classic_stun_frame(data, 2, frame_len):
        return RFC4571
    if (
        frame_len >= 12
        and 0x80 <= data[2] <= 0xBF
        and frame_len + 2 <= len(data)
        and (frame_len + 2 == len(data) or _media_at(data, frame_len + 4))
    ):
        return RFC4571
    if _stun_at(data, 0):
        return STUN_TCP
    return None


@dataclass(slots=True)
class TcpMediaFrame:
    """One unit cut out of the stream: ``kind`` is ``control`` (a TURN message), ``data``
    (end-to-end data or an RFC 4571 payload) or ``message`` (an unframed STUN / ChannelData)."""

    kind: str
    payload: bytes
    frame: int
    ts: float


class TcpMediaFramer:
    """One TCP direction's framer. ``framing`` is one of ``ms-turn``, ``rfc4571``,
    ``stun-tcp``; ``pseudo_tls=True`` skips the fixed hello record first."""

    __slots__ = (
        "framing",
        "buffer",
        "frame",
        "ts",
        "defects",
        "skip_hello",
        "hello_seen",
        "after_gap",
    )

    def __init__(self, framing: str, *, pseudo_tls: bool = False) -> None:
        self.framing = framing
        self.buffer = b""
        self.frame = 0
        self.ts = 0.0
        self.defects: list[tuple[int, int | None, str]] = []
        self.skip_hello = pseudo_tls
        self.hello_seen = False
        #: Bytes were lost: the next byte is not known to start a frame until it looks like one.
        self.after_gap = False

    def receive_data(self, data: bytes, frame: int, ts: float) -> None:
        """Append bytes; frames complete at the frame that brings their last byte."""
        self.buffer += data
        self.frame = frame
        self.ts = ts

    def receive_gap(self, missing: int, frame: int, ts: float) -> None:
        """Bytes lost: what is buffered cannot be trusted to be on a frame boundary."""
        self.frame = frame
        self.ts = ts
        self.defects.append((frame, None, f"{missing} bytes missing in TCP stream; resyncing"))
        self.buffer = b""
        self.after_gap = True

    def next_frame(self) -> TcpMediaFrame | None:
        """The next complete frame, or None until more bytes arrive."""
        while True:
            buf = self.buffer
            if self.skip_hello:
                if len(buf) < 5:
                    return None
                size = 5 + ((buf[3] << 8) | buf[4])
                if buf[0] != 0x16:
                    self.skip_hello = False
                    continue
                if len(buf) < size:
                    return None
                self.buffer = buf[size:]
                self.skip_hello = False
                self.hello_seen = True
                continue
            if self.after_gap and not self._realign():
                return None
            buf = self.buffer
            result = self._cut(buf)
            if result is None:
                return None
            if result is _BAD:
                if not self._resync():
                    return None
                continue
            assert isinstance(result, tuple)
            kind: str = result[0]
            start: int = result[1]
            end: int = result[2]
            consumed: int = result[3]
            payload = buf[start:end]
            self.buffer = buf[consumed:]
            return TcpMediaFrame(kind, payload, self.frame, self.ts)

    def _cut(self, buf: bytes) -> tuple[str, int, int, int] | None | object:
        n = len(buf)
        if self.framing == MS_TURN:
            if n < 4:
                return None
            if buf[0] not in (2, 3) or buf[1] != 0:
                return _BAD
            length = (buf[2] << 8) | buf[3]
            if n < 4 + length:
                return None
            if buf[0] == 2:
                return "control", 4, 4 + length, 4 + length
            start = 4
            if length >= 2 and ((buf[4] << 8) | buf[5]) == length - 2:
                start = 6
            return "data", start, 4 + length, 4 + length
        if self.framing == RFC4571:
            if n < 2:
                return None
            length = (buf[0] << 8) | buf[1]
            if length == 0:
                return _BAD
            if n < 2 + length:
                return None
            return "data", 2, 2 + length, 2 + length
        # stun-tcp: STUN message or ChannelData (padded to 4 over TCP, RFC 5766 11.5).
        if n < 4:
            return None
        first = buf[0]
        if first < 0x40:
            size = HEADER_SIZE + ((buf[2] << 8) | buf[3])
            if n >= 28 and not _stun_at(buf, 0):
                return _BAD
        elif 0x40 <= first <= 0x7F:
            length = (buf[2] << 8) | buf[3]
            size = 4 + length + ((-length) & 3)
            if n < size:
                return None
            return "message", 0, 4 + length, size
        else:
            return _BAD
        if n < size:
            return None
        return "message", 0, size, size

    def _realign(self) -> bool:
        """After a gap: True once the buffer starts where a frame plausibly does (bytes before
        it dropped with a defect), False while more bytes are needed to tell."""
        buf = self.buffer
        here = self._plausible_at(buf, 0)
        if here is None:
            if len(buf) <= _RESYNC_WINDOW:
                return False
        elif here:
            self.after_gap = False
            return True
        if not self._resync():
            return False
        self.after_gap = False
        return True

    def _plausible_at(self, buf: bytes, pos: int) -> bool | None:
        """Whether a frame starts at ``pos``; None when the buffer is too short to tell."""
        if self.framing == RFC4571:
            if len(buf) < pos + 3:
                return None
            size = (buf[pos] << 8) | buf[pos + 1]
            if 0x80 <= buf[pos + 2] <= 0xBF and size >= 12:
                nxt = pos + 2 + size
                if len(buf) < nxt + 3 and len(buf) != nxt:
                    return None
            elif len(buf) < pos + 2 + HEADER_SIZE + 4 and len(buf) < pos + 2 + size:
                return None
        elif len(buf) < pos + 28:
            return None
        return self._plausible(buf, pos)

    def _resync(self) -> bool:
        """Drop bytes up to the next plausible frame start (or all of a window's worth)."""
        buf = self.buffer
        limit = min(len(buf), _RESYNC_WINDOW)
        for pos in range(1, limit):
            if self._plausible(buf, pos):
                self.defects.append((self.frame, 0, f"{pos} bytes skipped to resync framing"))
                self.buffer = buf[pos:]
                return True
        if len(buf) > 8:
            keep = 8
            self.defects.append(
                (self.frame, 0, f"{len(buf) - keep} bytes dropped: no frame start found")
            )
            self.buffer = buf[-keep:]
        return False

    def _plausible(self, buf: bytes, pos: int) -> bool:
        if self.framing == MS_TURN:
            if buf[pos] == 2 and buf[pos + 1 : pos + 2] == b"\x00":
                return _stun_at(buf, pos + 4)
            if buf[pos] == 3 and buf[pos + 1 : pos + 2] == b"\x00":
                return _media_at(buf, pos + 4) or _media_at(buf, pos + 6)
            return False
        if self.framing == RFC4571:
            if len(buf) < pos + 3:
                return False
            size = (buf[pos] << 8) | buf[pos + 1]
            return (
                _stun_at(buf, pos + 2)
                or _classic_stun_frame(buf, pos + 2, size)
                or (12 <= size and 0x80 <= buf[pos + 2] <= 0xBF and _rtp_run(buf, pos, size))
            )
        return _stun_at(buf, pos)


def _rtp_run(buf: bytes, pos: int, size: int) -> bool:
    """After a gap, an RFC 4571 frame of RTP/RTCP is only believed when the next frame starts
    right after it with version 2 too (or the buffer ends exactly there)."""
    nxt = pos + 2 + size
    if len(buf) == nxt:
        return True
    return len(buf) >= nxt + 3 and 0x80 <= buf[nxt + 2] <= 0xBF


_BAD = object()
