"""RTP header parsing (RFC 3550/8285), telephone events (RFC 4733) and comfort noise (RFC 3389).

Vectors are hand-built bytes; the SIP_DTMF2 event values were read with tshark 4.0.17
(``-Y rtpevent -T fields -e rtpevent.event_id -e rtpevent.duration``)."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lyncdump.errors import MalformedError
from lyncdump.media.codecs import jitter_clock, mos_lq, payload_name
from lyncdump.media.rtp import (
    is_rtcp_type,
    parse_comfort_noise,
    parse_rtp,
    parse_telephone_event,
)
from lyncdump.media.stats import rtp_header_length

# V=2 X=1 CC=2, M=1 PT=101, seq 0x1234, ts 0xDEADBEEF, SSRC 0x01020304, CSRCs, 0xBEDE ext
# with one element id 1 len 3 (abs-send-time) + 0 padding, payload = one DTMF event "#" end.
FULL = (
    bytes([0x92, 0xE5]) + struct.pack("!HII", 0x1234, 0xDEADBEEF, 0x01020304)
    + struct.pack("!II", 0xAAAAAAAA, 0xBBBBBBBB)
    + struct.pack("!HH", 0xBEDE, 1) + bytes([0x12, 1, 2, 3])
    + bytes([11, 0x8A, 0x03, 0x20])
)  # fmt: skip


def test_full_header() -> None:
    p = parse_rtp(FULL)
    assert (p.version, p.marker, p.payload_type, p.sequence) == (2, True, 101, 0x1234)
    assert (p.timestamp, p.ssrc) == (0xDEADBEEF, 0x01020304)
    assert p.csrcs == (0xAAAAAAAA, 0xBBBBBBBB)
    assert p.extension_profile == 0xBEDE
    assert [(e.id, e.data) for e in p.extensions] == [(1, b"\x01\x02\x03")]
    assert p.header_length == 12 + 8 + 8 == rtp_header_length(FULL)
    ev = parse_telephone_event(p.payload)
    assert (ev.digit, ev.end, ev.volume, ev.duration) == ("#", True, 10, 800)


def test_padding_and_two_byte_extension() -> None:
    pkt = (
        bytes([0xB0, 0x00]) + struct.pack("!HII", 1, 2, 3)
        + struct.pack("!HH", 0x1000, 1) + bytes([5, 2, 9, 9])
        + b"\xd5" * 4 + b"\x00\x00\x03"
    )  # fmt: skip
    p = parse_rtp(pkt)
    assert p.padding and p.padding_length == 3 and p.payload == b"\xd5" * 4
    assert [(e.id, e.data) for e in p.extensions] == [(5, b"\x09\x09")]


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"\x80\x00", "12 bytes"),
        (b"\x40" + bytes(11), "version 1"),
        (b"\x83" + bytes(11), "CSRCs"),
        (b"\x90" + bytes(11) + b"\xbe\xde\x00\x05", "extension of 20 bytes"),
        (b"\xa0" + bytes(11), "without payload"),
        (b"\xa0" + bytes(11) + b"\x01\x09", "padding count 9"),
    ],
)
def test_invalid(data: bytes, reason: str) -> None:
    with pytest.raises(MalformedError, match=reason):
        parse_rtp(data)


def test_truncation_at_every_length() -> None:
    for n in range(len(FULL)):
        try:
            p = parse_rtp(FULL[:n])
        except MalformedError:
            continue
        assert p.header_length <= n


@given(st.binary(max_size=80))
def test_random_bytes_only_raise_our_error(data: bytes) -> None:
    try:
        parse_rtp(data)
    except MalformedError:
        pass
    try:
        parse_telephone_event(data)
        parse_comfort_noise(data)
    except MalformedError:
        pass


def test_comfort_noise() -> None:
    cn = parse_comfort_noise(b"\x2a\x10\x20")
    assert cn.level == 42 and cn.coefficients == b"\x10\x20"
    with pytest.raises(MalformedError):
        parse_comfort_noise(b"\x80")


def test_rfc5761_demux() -> None:
    assert is_rtcp_type(200) and is_rtcp_type(207) and not is_rtcp_type(0xE5)


def test_codec_names_and_clocks() -> None:
    rtpmap = {101: ("telephone-event", 8000), 111: ("opus", 48000), 117: ("x-foo", 0)}
    assert payload_name(8) == "g711A" and payload_name(0) == "g711U" and payload_name(13) == "CN"
    assert payload_name(111) == "RTPType-111" and payload_name(111, rtpmap) == "opus"
    assert jitter_clock(9) == 8000 and jitter_clock(34) == 90000
    assert jitter_clock(101, rtpmap) == 0  # telephone events: no clock (RFC 4733 2.2.1)
    assert jitter_clock(111, rtpmap) == 48000 and jitter_clock(111) == 0
    assert jitter_clock(117, rtpmap) == 0


def test_mos_e_model() -> None:
    # G.107: R = 93.2 for G.711 without loss or delay -> MOS 4.41 (G.107 Annex B formula).
    assert round(mos_lq("g711A", 0.0), 2) == 4.41
    # G.729 Ie = 11 -> R = 82.2 -> 1 + 0.035 R + R (R - 60)(100 - R) 7e-6 = 4.10
    assert round(mos_lq("g729", 0.0), 2) == 4.10
    assert mos_lq("g711A", 5.0) < mos_lq("g711A", 1.0) < mos_lq("g711A", 0.0)
    assert 1.0 <= mos_lq("g711A", 100.0) < 1.2  # R = 93.2 - 95 * 100 / 125.1 = 17.3
