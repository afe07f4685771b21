"""RTCP compounds (RFC 3550/4585/3611) and [MS-RTP] extensions, from hand-built bytes and the
corpus capture rtcp_multiple_pkts_in_the_same_datagram.pcap (values read with tshark 4.0.17:
``-d udp.port==N,rtcp -T fields -e rtcp.pt -e rtcp.ssrc.fraction``)."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lyncdump.errors import MalformedError
from lyncdump.media.rtcp import (
    ExtendedReport,
    Feedback,
    Goodbye,
    ReceiverReport,
    SenderReport,
    SourceDescription,
    parse_rtcp,
)


def _hdr(count: int, pt: int, body: bytes, padding: bool = False) -> bytes:
    return struct.pack("!BBH", 0x80 | (0x20 if padding else 0) | count, pt, len(body) // 4) + body


BLOCK = struct.pack("!IIIIII", 0x11111111, (64 << 24) | 0xFFFFFE, 70000, 160, 0xAABBCCDD, 65536)
# [MS-RTP] type 1 estimated bandwidth (length 12) and type 9 audio healer metrics (length 28)
MS_EXT = (
    struct.pack("!HHIi", 1, 12, 0x22222222, 256000)
    + struct.pack("!HHIIIII", 9, 28, 0x33333333, 5, 6, 7, 500)
    + bytes(4)
)
SR = _hdr(1, 200, struct.pack("!IQIII", 0x22222222, 0xE1E2E3E4_12345678, 8000, 50, 8000)
          + BLOCK + MS_EXT)  # fmt: skip
SDES = _hdr(1, 202, struct.pack("!I", 0x22222222) + b"\x01\x05alice\x00")
BYE = _hdr(1, 203, struct.pack("!I", 0x22222222) + b"\x03bye")
PSFB_DSH = _hdr(15, 206, struct.pack("!II", 1, 0) + struct.pack("!HHII", 3, 12, 7, 9))
NACK = _hdr(1, 205, struct.pack("!II", 1, 2) + struct.pack("!HH", 100, 0b101))
XR = _hdr(0, 207, struct.pack("!I", 5) + struct.pack("!BBH", 7, 0, 8) + struct.pack(
    "!IBBBBHHHHbbBBBBBBBBHHH", 9, 12, 3, 0, 0, 0, 0, 40, 20, -20, -70, 127, 16, 90, 127,
    42, 40, 0, 0, 60, 120, 240))  # fmt: skip


def test_compound_with_ms_extensions() -> None:
    packets = parse_rtcp(SR + SDES + BYE)
    sr, sdes, bye = packets
    assert isinstance(sr, SenderReport) and sr.ssrc == 0x22222222
    assert sr.ntp_middle == 0xE3E41234 and sr.packets == 50
    (block,) = sr.reports
    assert (block.fraction_lost, block.cumulative_lost, block.jitter) == (64, -2, 160)
    assert [e.name for e in sr.extensions] == ["estimated bandwidth", "audio healer metrics"]
    assert sr.extensions[0].fields == {"ssrc": 0x22222222, "bandwidth": 256000}
    assert sr.extensions[1].fields["total_frames"] == 500
    assert isinstance(sdes, SourceDescription) and sdes.chunks == [
        (0x22222222, [("CNAME", "alice")])
    ]
    assert isinstance(bye, Goodbye) and bye.ssrcs == [0x22222222] and bye.reason == "bye"


def test_feedback_and_xr() -> None:
    dsh, nack, xr = parse_rtcp(PSFB_DSH + NACK + XR)
    assert isinstance(dsh, Feedback) and dsh.name == "MS dominant speaker history"
    assert dsh.ms_msis == [7, 9]
    assert isinstance(nack, Feedback) and nack.nacks == [100, 101, 103]
    assert isinstance(xr, ExtendedReport)
    (vm,) = xr.voip_metrics
    assert (vm["loss_rate"], vm["r_factor"], vm["mos_lq"], vm["jb_abs_max"]) == (12, 90, 42, 240)


def test_receiver_report_and_padding() -> None:
    rr = _hdr(0, 201, struct.pack("!I", 7) + b"\x00\x00\x00\x04", padding=True)
    (p,) = parse_rtcp(rr)
    assert isinstance(p, ReceiverReport) and p.reports == [] and p.extensions == []


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"\x80\xc8", "4 bytes"),
        (b"\x40\xc9\x00\x01" + bytes(4), "version 1"),
        (b"\x81\xc9\x00\x01" + bytes(4), "report blocks do not fit"),
        (b"\x80\xc9\x00\x05" + bytes(4), "exceeds"),
        (b"\xa0\xc9\x00\x01" + bytes(3) + b"\x09", "padding"),
        (b"\x81\xca\x00\x02" + bytes(4) + b"\x01\x09ab", "SDES item truncated"),
        (b"\x82\xcb\x00\x01" + bytes(4), "BYE with 2 sources"),
        (b"\x80\xc9\x00\x02" + bytes(4) + b"\x00\x01\x00\x02", "MS extension"),
    ],
)
def test_invalid(data: bytes, reason: str) -> None:
    with pytest.raises(MalformedError, match=reason):
        parse_rtcp(data)


def test_truncation_at_every_length() -> None:
    whole = SR + SDES + BYE + PSFB_DSH + NACK + XR
    for n in range(len(whole)):
        try:
            parse_rtcp(whole[:n])
        except MalformedError:
            pass


@given(st.binary(max_size=120))
def test_random_bytes_only_raise_our_error(data: bytes) -> None:
    try:
        parse_rtcp(b"\x80" + data)
    except MalformedError:
        pass


def test_ms_video_source_request_header() -> None:
    # [MS-RTP] 2.2.12.2: MS type 1, length 20 + one 68-byte entry; MSI 0x1234, request 7,
    # version 1, key frame requested, 1 entry of 0x44 bytes.
    vsr = struct.pack("!HHIHHBBBBI", 1, 20 + 68, 0x1234, 7, 0, 1, 1, 1, 0x44, 0) + bytes(68)
    (fb,) = parse_rtcp(_hdr(15, 206, struct.pack("!II", 5, 0) + vsr))
    assert isinstance(fb, Feedback) and fb.name == "MS video source request"
    assert fb.ms_fields == {"msi": 0x1234, "request_id": 7, "version": 1, "key_frame": 1,
                            "entries": 1, "entry_length": 0x44}  # fmt: skip
