"""RTP packets (RFC 3550) and the payloads a call analyzer names: telephone events, comfort noise.

Sans-IO: :func:`parse_rtp` takes the bytes of one datagram and returns an :class:`RtpPacket`
or raises :class:`~lyncdump.errors.MalformedError`. The statistics path does not use it (it
reads the four fields it needs in place, see ``pipeline``); this full parse is for what is
shown, for tests, and for SRTP (which needs the header length).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from ..errors import MalformedError

_HEADER = struct.Struct("!BBHII")

#: RFC 4733 events 0-15: the DTMF digits, in event-code order.
DTMF_DIGITS = "0123456789*#ABCD"


@dataclass(frozen=True, slots=True)
class HeaderExtension:
    """One RFC 8285 element (``id``, ``data``) or, for other profiles, the whole block."""

    id: int
    data: bytes


@dataclass(slots=True)
class RtpPacket:
    """One RTP packet, header decoded; ``payload`` excludes padding."""

    version: int
    padding: bool
    marker: bool
    payload_type: int
    sequence: int
    timestamp: int
    ssrc: int
    csrcs: tuple[int, ...] = ()
    extension_profile: int | None = None
    extensions: list[HeaderExtension] = field(default_factory=list)
    header_length: int = 12
    payload: bytes = b""
    padding_length: int = 0


@dataclass(frozen=True, slots=True)
class TelephoneEvent:
    """An RFC 4733 named event: ``event`` code, ``end`` bit, ``volume`` (-dBm0), ``duration``."""

    event: int
    end: bool
    volume: int
    duration: int

    @property
    def digit(self) -> str | None:
        """The DTMF key for events 0-15, None for other events (tones, flash ...)."""
        return DTMF_DIGITS[self.event] if self.event < 16 else None


@dataclass(frozen=True, slots=True)
class ComfortNoise:
    """RFC 3389 comfort noise: ``level`` (-dBov) and the spectral coefficients."""

    level: int
    coefficients: bytes


def is_rtcp_type(second_byte: int) -> bool:
    """RFC 5761 4: a second byte of 192-223 is an RTCP packet type, not marker + RTP PT."""
    return 192 <= second_byte <= 223


def parse_rtp(data: bytes, *, has_padding_trailer: bool = True) -> RtpPacket:
    """Decode an RTP header, CSRCs, header extension and padding.

    ``has_padding_trailer`` is False for SRTP before authentication/decryption, where the
    padding count is inside the encrypted part and cannot be read.
    """
    n = len(data)
    if n < 12:
        raise MalformedError("rtp", n, f"RTP header needs 12 bytes, have {n}")
    b0, b1, seq, ts, ssrc = _HEADER.unpack_from(data, 0)
    version = b0 >> 6
    if version != 2:
        raise MalformedError("rtp", 0, f"RTP version {version}, expected 2")
    cc = b0 & 0x0F
    offset = 12 + 4 * cc
    if offset > n:
        raise MalformedError("rtp", 12, f"{cc} CSRCs need {offset} bytes, have {n}")
    csrcs = struct.unpack_from(f"!{cc}I", data, 12) if cc else ()
    profile: int | None = None
    extensions: list[HeaderExtension] = []
    if b0 & 0x10:
        if offset + 4 > n:
            raise MalformedError("rtp", offset, "header extension header truncated")
        profile, words = struct.unpack_from("!HH", data, offset)
        start = offset + 4
        end = start + 4 * words
        if end > n:
            raise MalformedError(
                "rtp", offset, f"header extension of {4 * words} bytes, {n - start} left"
            )
        extensions = _extension_elements(profile, data[start:end], start)
        offset = end
    pad = 0
    if b0 & 0x20 and has_padding_trailer:
        if n == offset:
            raise MalformedError("rtp", offset, "padding bit set on a packet without payload")
        pad = data[-1]
        if pad == 0 or offset + pad > n:
            raise MalformedError("rtp", n - 1, f"padding count {pad} does not fit")
    return RtpPacket(
        version=version,
        padding=bool(b0 & 0x20),
        marker=bool(b1 & 0x80),
        payload_type=b1 & 0x7F,
        sequence=seq,
        timestamp=ts,
        ssrc=ssrc,
        csrcs=tuple(csrcs),
        extension_profile=profile,
        extensions=extensions,
        header_length=offset,
        payload=data[offset : n - pad],
        padding_length=pad,
    )


def _extension_elements(profile: int, block: bytes, base: int) -> list[HeaderExtension]:
    """RFC 8285 one-byte (0xBEDE) and two-byte (0x100x) elements; other profiles as one."""
    out: list[HeaderExtension] = []
    i = 0
    n = len(block)
    if profile == 0xBEDE:
        while i < n:
            b = block[i]
            if b == 0:  # padding
                i += 1
                continue
            ident, length = b >> 4, (b & 0x0F) + 1
            if ident == 15:  # reserved: stop reading (RFC 8285 4.2)
                break
            if i + 1 + length > n:
                raise MalformedError("rtp", base + i, "one-byte extension element truncated")
            out.append(HeaderExtension(ident, block[i + 1 : i + 1 + length]))
            i += 1 + length
    elif profile & 0xFFF0 == 0x1000:
        while i < n:
            if block[i] == 0:
                i += 1
                continue
            if i + 2 > n:
                raise MalformedError("rtp", base + i, "two-byte extension element truncated")
            ident, length = block[i], block[i + 1]
            if i + 2 + length > n:
                raise MalformedError("rtp", base + i, "two-byte extension element truncated")
            out.append(HeaderExtension(ident, block[i + 2 : i + 2 + length]))
            i += 2 + length
    else:
        out.append(HeaderExtension(profile, bytes(block)))
    return out


def parse_telephone_event(payload: bytes) -> TelephoneEvent:
    """RFC 4733 2.3 event payload (4 bytes; redundant copies after them are ignored)."""
    if len(payload) < 4:
        raise MalformedError("rtp-event", len(payload), "telephone event needs 4 bytes")
    event, flags, duration = struct.unpack_from("!BBH", payload, 0)
    return TelephoneEvent(event, bool(flags & 0x80), flags & 0x3F, duration)


def parse_comfort_noise(payload: bytes) -> ComfortNoise:
    """RFC 3389 payload: noise level byte, then optional reflection coefficients."""
    if not payload:
        raise MalformedError("rtp-cn", 0, "comfort noise payload is empty")
    level = payload[0]
    if level > 127:
        raise MalformedError("rtp-cn", 0, f"noise level {level} above 127")
    return ComfortNoise(level, bytes(payload[1:]))
