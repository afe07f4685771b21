"""PacketDecoder: every link type and encapsulation, IPv6 extension chains, truncation, noise."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scapy.all import (
    AH,
    ARP,
    ESP,
    ICMP,
    IP,
    LLC,
    PPP,
    SNAP,
    TCP,
    UDP,
    CookedLinux,
    CookedLinuxV2,
    Dot1AD,
    Dot1Q,
    Ether,
    IPv6,
    IPv6ExtHdrDestOpt,
    IPv6ExtHdrFragment,
    IPv6ExtHdrHopByHop,
    IPv6ExtHdrRouting,
    PPPoE,
    Raw,
)

from lyncdump.model import DefectLog
from lyncdump.net.decode import SUPPORTED_LINKTYPES, PacketDecoder

SRC4, DST4 = "192.0.2.10", "198.51.100.20"
RAW_SRC4, RAW_DST4 = bytes([192, 0, 2, 10]), bytes([198, 51, 100, 20])
SRC6, DST6 = "2001:db8::1", "2001:db8:ffff::2"
RAW_SRC6 = bytes.fromhex("20010db8000000000000000000000001")
RAW_DST6 = bytes.fromhex("20010db8ffff00000000000000000002")
SIP = b"OPTIONS sip:a@b SIP/2.0\r\n\r\n"
ETH = Ether(src="00:11:22:33:44:55", dst="66:77:88:99:aa:bb")

UDP4 = IP(src=SRC4, dst=DST4) / UDP(sport=5060, dport=5061) / Raw(SIP)
TCP4 = IP(src=SRC4, dst=DST4) / TCP(sport=50000, dport=5061, seq=123456789, flags="PA") / SIP
UDP6 = IPv6(src=SRC6, dst=DST6) / UDP(sport=3478, dport=50000) / Raw(SIP)
TCP6 = IPv6(src=SRC6, dst=DST6) / TCP(sport=443, dport=50001, seq=4000000000, flags="SA") / SIP

EXPECT_UDP4 = (17, RAW_SRC4, 5060, RAW_DST4, 5061, SIP, 0, 0)
EXPECT_TCP4 = (6, RAW_SRC4, 50000, RAW_DST4, 5061, SIP, 123456789, 0x18)
EXPECT_UDP6 = (17, RAW_SRC6, 3478, RAW_DST6, 50000, SIP, 0, 0)
EXPECT_TCP6 = (6, RAW_SRC6, 443, RAW_DST6, 50001, SIP, 4000000000, 0x12)


def decode(linktype: int, frame: bytes) -> tuple[object, DefectLog]:
    defects = DefectLog()
    return PacketDecoder(defects).decode(1, 0.0, linktype, frame), defects


def assert_decodes(linktype: int, frame: bytes, expected: tuple[object, ...]) -> None:
    result, defects = decode(linktype, frame)
    assert result == expected
    assert not list(defects)


# -- link layers ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "packet, expected",
    [(UDP4, EXPECT_UDP4), (TCP4, EXPECT_TCP4), (UDP6, EXPECT_UDP6), (TCP6, EXPECT_TCP6)],
)
class TestEveryLinkType:
    def test_ethernet(self, packet, expected):
        assert_decodes(1, bytes(ETH / packet), expected)

    @pytest.mark.parametrize("tpid", [0x8100, 0x88A8, 0x9100])
    def test_one_vlan_tag(self, packet, expected, tpid):
        frame = bytes(ETH / Dot1Q(vlan=42) / packet)
        frame = frame[:12] + struct.pack("!H", tpid) + frame[14:]
        assert_decodes(1, frame, expected)

    def test_stacked_tags(self, packet, expected):
        assert_decodes(
            1, bytes(ETH / Dot1AD(vlan=7) / Dot1Q(vlan=8) / Dot1Q(vlan=9) / packet), expected
        )

    def test_pppoe_session(self, packet, expected):
        proto = 0x0021 if packet.version == 4 else 0x0057
        frame = ETH / PPPoE(sessionid=0x1234) / PPP(proto=proto) / packet
        assert_decodes(1, bytes(frame), expected)

    def test_pppoe_inside_vlan(self, packet, expected):
        proto = 0x0021 if packet.version == 4 else 0x0057
        frame = ETH / Dot1Q(vlan=3) / PPPoE(sessionid=1) / PPP(proto=proto) / packet
        assert_decodes(1, bytes(frame), expected)

    def test_snap(self, packet, expected):
        ethertype = 0x0800 if packet.version == 4 else 0x86DD
        body = bytes(LLC(dsap=0xAA, ssap=0xAA, ctrl=3) / SNAP(OUI=0, code=ethertype) / packet)
        frame = bytes.fromhex("665544332211001122334455") + struct.pack("!H", len(body)) + body
        assert_decodes(1, frame, expected)

    def test_mpls(self, packet, expected):
        labels = struct.pack("!II", (100 << 12) | 64, (200 << 12) | 0x100 | 64)
        frame = bytes(ETH)[:12] + b"\x88\x47" + labels + bytes(packet)
        assert_decodes(1, frame, expected)

    @pytest.mark.parametrize("order", ["<", ">"])
    def test_bsd_null_either_byte_order(self, packet, expected, order):
        families = [2] if packet.version == 4 else [24, 28, 30]
        for family in families:
            assert_decodes(0, struct.pack(order + "I", family) + bytes(packet), expected)

    def test_bsd_loop(self, packet, expected):
        family = 2 if packet.version == 4 else 30
        assert_decodes(108, struct.pack("!I", family) + bytes(packet), expected)

    @pytest.mark.parametrize("linktype", [101, 12, 14])
    def test_raw_ip(self, packet, expected, linktype):
        assert_decodes(linktype, bytes(packet), expected)

    def test_ipv4_or_ipv6_linktype(self, packet, expected):
        assert_decodes(228 if packet.version == 4 else 229, bytes(packet), expected)

    def test_linux_sll(self, packet, expected):
        proto = 0x0800 if packet.version == 4 else 0x86DD
        assert_decodes(113, bytes(CookedLinux(pkttype=0, proto=proto) / packet), expected)

    def test_linux_sll_with_vlan(self, packet, expected):
        frame = CookedLinux(pkttype=0, proto=0x8100) / Dot1Q(vlan=5) / packet
        assert_decodes(113, bytes(frame), expected)

    def test_linux_sll2(self, packet, expected):
        proto = 0x0800 if packet.version == 4 else 0x86DD
        assert_decodes(276, bytes(CookedLinuxV2(proto=proto) / packet), expected)

    @pytest.mark.parametrize("header", [b"\xff\x03", b""])
    def test_ppp(self, packet, expected, header):
        proto = b"\x00\x21" if packet.version == 4 else b"\x00\x57"
        assert_decodes(9, header + proto + bytes(packet), expected)

    def test_ppp_compressed_protocol_field(self, packet, expected):
        proto = b"\x21" if packet.version == 4 else b"\x57"
        assert_decodes(9, proto + bytes(packet), expected)

    def test_ppp_ether(self, packet, expected):
        proto = 0x0021 if packet.version == 4 else 0x0057
        assert_decodes(51, bytes(PPPoE(sessionid=9) / PPP(proto=proto) / packet), expected)

    def test_ip_in_ip_tunnel(self, packet, expected):
        outer = IP(src="203.0.113.1", dst="203.0.113.2", proto=4 if packet.version == 4 else 41)
        assert_decodes(1, bytes(ETH / outer / packet), expected)


# -- IPv4 and layer 4 details ------------------------------------------------------------------


def test_ethernet_padding_is_trimmed_by_ip_total_length():
    frame = bytes(ETH / IP(src=SRC4, dst=DST4) / UDP(sport=1, dport=2) / b"x")
    assert len(frame) < 60
    padded = frame + b"\xee" * (60 - len(frame))
    assert_decodes(1, padded, (17, RAW_SRC4, 1, RAW_DST4, 2, b"x", 0, 0))


def test_ip_options_and_tcp_options_are_skipped():
    packet = IP(src=SRC4, dst=DST4, options=b"\x94\x04\x00\x00") / TCP(
        sport=1, dport=2, seq=5, flags="S", options=[("MSS", 1460), ("SAckOK", b""), ("WScale", 7)]
    )
    frame = bytes(ETH / packet)
    assert frame[14] & 0x0F == 6
    assert_decodes(1, frame, (6, RAW_SRC4, 1, RAW_DST4, 2, b"", 5, 0x02))


def test_tcp_flags_are_the_whole_flag_byte():
    packet = IP(src=SRC4, dst=DST4) / TCP(sport=1, dport=2, seq=0, flags="FRA")
    result, _ = decode(101, bytes(packet))
    assert result[7] == 0x01 | 0x04 | 0x10


def test_udp_length_field_trims_trailing_bytes():
    frame = bytearray(bytes(IP(src=SRC4, dst=DST4) / UDP(sport=1, dport=2) / b"abcdef"))
    frame[24:26] = struct.pack("!H", 8 + 3)
    assert_decodes(101, bytes(frame), (17, RAW_SRC4, 1, RAW_DST4, 2, b"abc", 0, 0))


def test_udp_length_beyond_ip_payload_is_a_defect():
    frame = bytearray(bytes(IP(src=SRC4, dst=DST4) / UDP(sport=1, dport=2) / b"abcdef"))
    frame[24:26] = struct.pack("!H", 100)
    result, defects = decode(101, bytes(frame))
    assert result is None
    [defect] = list(defects)
    assert (defect.frame, defect.layer, defect.offset) == (1, "udp", 4)


def test_udp_length_below_header_is_a_defect():
    frame = bytearray(bytes(IP(src=SRC4, dst=DST4) / UDP(sport=1, dport=2) / b"abcdef"))
    frame[24:26] = struct.pack("!H", 7)
    result, defects = decode(101, bytes(frame))
    assert result is None and [d.layer for d in defects] == ["udp"]


def test_tcp_data_offset_out_of_range_is_a_defect():
    frame = bytearray(bytes(TCP4))
    frame[32] = 0x40  # 16 bytes
    result, defects = decode(101, bytes(frame))
    assert result is None and [(d.layer, d.offset) for d in defects] == [("tcp", 12)]
    frame[32] = 0xF0  # 60 bytes, more than the 47-byte segment
    result, defects = decode(101, bytes(frame))
    assert result is None and [(d.layer, d.offset) for d in defects] == [("tcp", 12)]


def test_zero_total_length_means_segmentation_offload():
    frame = bytearray(bytes(ETH / TCP4))
    frame[16:18] = b"\x00\x00"
    assert_decodes(1, bytes(frame), EXPECT_TCP4)


@pytest.mark.parametrize(
    "index, value, reason",
    [
        (0, 0x55, "version 5"),
        (0, 0x44, "header length 16 < 20"),
        (0, 0x4F, "total length 55 < header 60"),
        (3, 10, "total length 10 < header 20"),
        (3, 200, "truncated: total length 200"),
    ],
)
def test_ipv4_header_problems_are_defects(index, value, reason):
    frame = bytearray(bytes(UDP4))
    frame[index] = value
    result, defects = decode(228, bytes(frame))
    assert result is None
    [defect] = list(defects)
    assert defect.layer == "ipv4" and reason in defect.reason


def test_not_layer4_is_quietly_none():
    for linktype, frame in [
        (1, bytes(ETH / ARP())),
        (1, bytes(ETH / IP(src=SRC4, dst=DST4) / ICMP())),
        (1, bytes(ETH / IPv6(src=SRC6, dst=DST6, nh=58) / b"\x80\x00\x00\x00")),
        (1, bytes(ETH / IPv6(src=SRC6, dst=DST6) / ESP(spi=1, seq=1, data=b"x" * 16))),
        (1, bytes(ETH / IPv6(src=SRC6, dst=DST6, nh=59))),
        (1, bytes(ETH / IPv6(src=SRC6, dst=DST6, nh=253) / (b"x" * 8))),
        (1, bytes(ETH / PPPoE(sessionid=1) / PPP(proto=0xC021) / b"\x01\x01\x00\x04")),
        (1, bytes(Ether(type=0x8863) / b"\x11\x09\x00\x00\x00\x00")),
        (0, struct.pack("<I", 7) + bytes(UDP4)),
        (113, bytes(CookedLinux(proto=0x0806) / ARP())),
    ]:
        result, defects = decode(linktype, frame)
        assert result is None, frame
        assert not list(defects), (frame, list(defects))


def test_snap_inside_snap_is_not_followed():
    snap = b"\xaa\xaa\x03\x00\x00\x00\x00\x40"  # SNAP whose "EtherType" is a length again
    frame = bytes(ETH)[:12] + b"\x00\x40" + snap * 5000
    result, defects = decode(1, frame)
    assert result is None and not list(defects)


def test_unsupported_link_type_is_reported_once():
    defects = DefectLog()
    decoder = PacketDecoder(defects)
    for number in range(1, 5):
        assert decoder.decode(number, 0.0, 147, b"whatever") is None
    assert [(d.frame, d.layer) for d in defects] == [(1, "link")]


# -- IPv6 extension headers ----------------------------------------------------------------------


def test_ipv6_extension_chain_to_udp():
    packet = (
        IPv6(src=SRC6, dst=DST6)
        / IPv6ExtHdrHopByHop()
        / IPv6ExtHdrRouting(addresses=["2001:db8::99"])
        / IPv6ExtHdrDestOpt(options=[])
        / AH(spi=0x100, seq=1, icv=b"\x00" * 12)
        / IPv6ExtHdrDestOpt()
        / UDP(sport=3478, dport=50000)
        / Raw(SIP)
    )
    assert_decodes(1, bytes(ETH / packet), EXPECT_UDP6)


def test_ipv6_atomic_fragment_is_decoded_directly():
    packet = IPv6(src=SRC6, dst=DST6) / IPv6ExtHdrFragment(offset=0, m=0, id=77) / TCP6[TCP]
    assert_decodes(1, bytes(ETH / packet), EXPECT_TCP6)


def test_ipv6_extension_header_running_past_payload_is_a_defect():
    frame = bytearray(bytes(IPv6(src=SRC6, dst=DST6) / IPv6ExtHdrDestOpt() / UDP() / b"abc"))
    frame[41] = 30  # dest options claims 248 bytes
    result, defects = decode(229, bytes(frame))
    assert result is None
    [defect] = list(defects)
    assert (defect.layer, defect.offset) == ("ipv6", 40)


def test_ipv6_zero_payload_length_uses_captured_length():
    frame = bytearray(bytes(UDP6))
    frame[4:6] = b"\x00\x00"
    assert_decodes(229, bytes(frame), EXPECT_UDP6)


# -- truncation and noise -----------------------------------------------------------------------

TRUNCATION_CASES = [
    (1, bytes(ETH / UDP4)),
    (1, bytes(ETH / TCP4)),
    (1, bytes(ETH / Dot1Q(vlan=1) / Dot1Q(vlan=2) / UDP6)),
    (1, bytes(ETH / PPPoE(sessionid=1) / PPP(proto=0x21) / TCP4)),
    (
        1,
        bytes(
            ETH / IPv6(src=SRC6, dst=DST6) / IPv6ExtHdrHopByHop() / IPv6ExtHdrDestOpt() / UDP6[UDP]
        ),
    ),
    (0, struct.pack("<I", 2) + bytes(UDP4)),
    (108, struct.pack("!I", 30) + bytes(TCP6)),
    (101, bytes(TCP6)),
    (228, bytes(UDP4)),
    (229, bytes(UDP6)),
    (113, bytes(CookedLinux(proto=0x0800) / TCP4)),
    (276, bytes(CookedLinuxV2(proto=0x86DD) / UDP6)),
    (51, bytes(PPPoE(sessionid=1) / PPP(proto=0x57) / UDP6)),
]


@pytest.mark.parametrize("linktype, frame", TRUNCATION_CASES)
def test_truncated_at_every_length_gives_a_defect(linktype, frame):
    assert decode(linktype, frame)[0] is not None
    for cut in range(len(frame)):
        result, defects = decode(linktype, frame[:cut])
        assert result is None, cut
        assert len(defects) == 1, (cut, list(defects))
        assert defects.items[0].frame == 1


def test_truncated_ppp_never_raises():
    frame = b"\xff\x03\x00\x21" + bytes(UDP4)
    for cut in range(len(frame)):
        result, defects = decode(9, frame[:cut])
        assert result is None


ALL_LINKTYPES = sorted(SUPPORTED_LINKTYPES | {147})


@settings(max_examples=300, deadline=None)
@given(linktype=st.sampled_from(ALL_LINKTYPES), data=st.binary(max_size=200))
def test_random_bytes_never_raise(linktype, data):
    result, _ = decode(linktype, data)
    if result is not None:
        proto, src, sport, dst, dport, payload, seq, flags = result
        assert proto in (6, 17) and len(src) == len(dst) in (4, 16)


@settings(max_examples=300, deadline=None)
@given(
    case=st.sampled_from(TRUNCATION_CASES),
    edits=st.lists(st.tuples(st.integers(0, 200), st.integers(0, 255)), max_size=6),
)
def test_corrupted_frames_never_raise(case, edits):
    linktype, frame = case
    mutable = bytearray(frame)
    for index, value in edits:
        mutable[index % len(mutable)] = value
    result, _ = decode(linktype, bytes(mutable))
    assert result is None or result[0] in (6, 17)
