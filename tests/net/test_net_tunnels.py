"""Tunnels and mirrored traffic: every wrapping PacketDecoder follows, what it records about it
(net/encap.py), what it counts as not decoded, and how it fails on bad input.

Frames are built with scapy, an implementation independent of the decoder's."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scapy.all import (
    ARP,
    ESP,
    GRE,
    ICMP,
    IP,
    TCP,
    UDP,
    Dot1AD,
    Dot1Q,
    Ether,
    IPv6,
    Raw,
)
from scapy.contrib.erspan import ERSPAN_II, ERSPAN_III
from scapy.contrib.geneve import GENEVE
from scapy.contrib.mpls import MPLS
from scapy.layers.vxlan import VXLAN

from lyncdump.model import DefectLog
from lyncdump.net.decode import MAX_ENCAPSULATION_DEPTH, PacketDecoder
from lyncdump.net.encap import MAX_FLOWS, Encapsulation, EncapsulationLog, not_decoded_name

SIP = b"OPTIONS sip:a@b SIP/2.0\r\n\r\n"
OUTER = Ether(src="00:1b:21:0a:0b:01", dst="00:1b:21:0a:0b:09")
INNER_IP = IP(src="10.0.0.1", dst="10.0.0.2") / UDP(sport=5060, dport=5061) / Raw(SIP)
INNER_ETH = Ether(src="00:11:22:33:44:55", dst="66:77:88:99:aa:bb") / INNER_IP
INNER_V6 = IPv6(src="2001:db8::1", dst="2001:db8::2") / UDP(sport=5060, dport=5061) / Raw(SIP)
RAW1, RAW2 = bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2])
EXPECT = (17, RAW1, 5060, RAW2, 5061, SIP, 0, 0)
V6_1 = bytes.fromhex("20010db8000000000000000000000001")
V6_2 = bytes.fromhex("20010db8000000000000000000000002")
EXPECT6 = (17, V6_1, 5060, V6_2, 5061, SIP, 0, 0)
SW, COL = "192.0.2.1", "192.0.2.9"
RAW_SW, RAW_COL = bytes([192, 0, 2, 1]), bytes([192, 0, 2, 9])


def run(frame: bytes, linktype: int = 1) -> tuple[object, PacketDecoder, DefectLog]:
    defects = DefectLog()
    decoder = PacketDecoder(defects)
    return decoder.decode(1, 0.0, linktype, frame), decoder, defects


def layers_of(decoder: PacketDecoder) -> tuple[object, ...]:
    (enc,) = set(decoder.encap.flows.values())
    return enc.layers


def outer(*layers: object) -> bytes:
    pkt = OUTER / IP(src=SW, dst=COL)
    for layer in layers:
        pkt = pkt / layer  # type: ignore[operator]
    return bytes(pkt)


# -- each wrapping, decoded and named ------------------------------------------------------------

CASES = [
    ("gre", outer(GRE(proto=0x0800), INNER_IP), (("GRE", None, RAW_SW, RAW_COL),)),
    (
        "gre with checksum, key and sequence",
        outer(
            GRE(proto=0x0800, chksum_present=1, key_present=1, key=77, seqnum_present=1),
            INNER_IP,
        ),
        (("GRE", 77, RAW_SW, RAW_COL),),
    ),
    ("gre ipv6", outer(GRE(proto=0x86DD), INNER_V6), (("GRE", None, RAW_SW, RAW_COL),)),
    (
        "gre transparent ethernet",
        outer(GRE(proto=0x6558), INNER_ETH),
        (("GRE", None, RAW_SW, RAW_COL),),
    ),
    (
        "nvgre",
        outer(GRE(proto=0x6558, key_present=1, key=(5000 << 8) | 3), INNER_ETH),
        (("NVGRE", 5000, RAW_SW, RAW_COL),),
    ),
    ("erspan I", outer(GRE(proto=0x88BE), INNER_ETH), (("ERSPAN I", None, RAW_SW, RAW_COL),)),
    (
        "erspan II",
        outer(
            GRE(proto=0x88BE, seqnum_present=1, sequence_number=9),
            ERSPAN_II(session_id=7),
            INNER_ETH,
        ),
        (("ERSPAN II", 7, RAW_SW, RAW_COL),),
    ),
    (
        "erspan III",
        outer(GRE(proto=0x22EB, seqnum_present=1), ERSPAN_III(session_id=1023), INNER_ETH),
        (("ERSPAN III", 1023, RAW_SW, RAW_COL),),
    ),
    (
        "vxlan",
        outer(UDP(sport=61000, dport=4789), VXLAN(vni=5001, flags=0x08), INNER_ETH),
        (("VXLAN", 5001, RAW_SW, RAW_COL),),
    ),
    (
        "vxlan on linux's port",
        outer(UDP(sport=61000, dport=8472), VXLAN(vni=1, flags=0x08), INNER_ETH),
        (("VXLAN", 1, RAW_SW, RAW_COL),),
    ),
    (
        "geneve",
        outer(UDP(sport=61000, dport=6081), GENEVE(vni=77, proto=0x6558), INNER_ETH),
        (("Geneve", 77, RAW_SW, RAW_COL),),
    ),
    ("ip-in-ip", outer(INNER_IP), (("IP-in-IP", None, RAW_SW, RAW_COL),)),
    ("6in4", outer(INNER_V6), (("6in4", None, RAW_SW, RAW_COL),)),
    (
        "mpls",
        bytes(OUTER / MPLS(label=16, s=0) / MPLS(label=1001, s=1) / INNER_IP),
        (("MPLS", (16, 1001), None, None),),
    ),
    (
        "802.1ad",
        bytes(OUTER / Dot1AD(vlan=100) / Dot1Q(vlan=200) / INNER_IP),
        (("802.1ad", (100, 200), None, None),),
    ),
    (
        "nested: vxlan in gre",
        outer(
            GRE(proto=0x0800, key_present=1, key=9),
            IP(src="172.16.0.1", dst="172.16.0.2"),
            UDP(sport=50000, dport=4789),
            VXLAN(vni=42, flags=0x08),
            INNER_ETH,
        ),
        (
            ("GRE", 9, RAW_SW, RAW_COL),
            ("VXLAN", 42, bytes([172, 16, 0, 1]), bytes([172, 16, 0, 2])),
        ),
    ),
]


@pytest.mark.parametrize("name, frame, layers", CASES, ids=[c[0] for c in CASES])
def test_wrapping_is_followed_and_named(name: str, frame: bytes, layers: tuple) -> None:
    result, decoder, defects = run(frame)
    assert not list(defects)
    assert result in (EXPECT, EXPECT6)
    assert layers_of(decoder) == layers
    kind = " / ".join(layer[0] for layer in layers)
    assert decoder.encap.frames == {kind: 1}
    assert not decoder.encap.not_decoded


def test_gre_routing_entries_are_skipped() -> None:
    # RFC 1701: R set means checksum/offset present and a list of SREs ended by a null SRE.
    sre = struct.pack("!HBB", 0x0800, 0, 4) + bytes(4) + struct.pack("!HBB", 0, 0, 0)
    gre = struct.pack("!HH", 0x4000, 0x0800) + bytes(4) + sre
    frame = bytes(OUTER / IP(src=SW, dst=COL, proto=47) / Raw(gre + bytes(INNER_IP)))
    assert run(frame)[0] == EXPECT


def test_pptp_enhanced_gre_carries_ppp() -> None:
    # Version 1, K and S set: payload length, call ID 0x1234, sequence; PPP address/control.
    gre = struct.pack("!HHHHI", 0x3001, 0x880B, 0, 0x1234, 7) + b"\xff\x03\x00\x21"
    frame = bytes(OUTER / IP(src=SW, dst=COL, proto=47) / Raw(gre + bytes(INNER_IP)))
    result, decoder, _ = run(frame)
    assert result == EXPECT
    assert layers_of(decoder) == (("PPTP", 0x1234, RAW_SW, RAW_COL),)


def test_erspan_iii_with_platform_subheader_and_ip_frame_type() -> None:
    # O flag: an 8-byte platform-specific subheader; frame type 2: an IP packet, no Ethernet.
    header = struct.pack("!HHIHH", 0x2000, 0x0011, 1234, 0, (2 << 10) | 1) + bytes(8)
    gre = struct.pack("!HHI", 0x1000, 0x22EB, 1)
    frame = bytes(OUTER / IP(src=SW, dst=COL, proto=47) / Raw(gre + header + bytes(INNER_IP)))
    result, decoder, defects = run(frame)
    assert result == EXPECT and not list(defects)
    assert layers_of(decoder) == (("ERSPAN III", 0x11, RAW_SW, RAW_COL),)


def test_vxlan_gpe_with_ipv4_inside() -> None:
    gpe = struct.pack("!BBBBI", 0x0C, 0, 0, 1, 300 << 8)
    frame = outer(UDP(sport=1, dport=4790), Raw(gpe + bytes(INNER_IP)))
    result, decoder, _ = run(frame)
    assert result == EXPECT
    assert layers_of(decoder) == (("VXLAN-GPE", 300, RAW_SW, RAW_COL),)


def test_geneve_options_are_skipped() -> None:
    geneve = struct.pack("!BBHI", 2, 0, 0x6558, 9 << 8) + bytes(8)  # two words of options
    frame = outer(UDP(sport=1, dport=6081), Raw(geneve + bytes(INNER_ETH)))
    assert run(frame)[0] == EXPECT


def test_4in6_and_ipv6_in_ipv6() -> None:
    v6 = IPv6(src="2001:db8:1::1", dst="2001:db8:1::2")
    src, dst = (
        bytes.fromhex("20010db8000100000000000000000001"),
        bytes.fromhex("20010db8000100000000000000000002"),
    )
    result, decoder, _ = run(bytes(OUTER / v6 / INNER_IP))
    assert result == EXPECT and layers_of(decoder) == (("4in6", None, src, dst),)
    result, decoder, _ = run(bytes(OUTER / v6 / INNER_V6))
    assert result == EXPECT6 and layers_of(decoder) == (("IPv6-in-IPv6", None, src, dst),)


def test_mpls_ethernet_pseudowire_with_control_word() -> None:
    frame = bytes(OUTER / MPLS(label=300, s=1) / Raw(bytes(4) + bytes(INNER_ETH)))
    result, decoder, _ = run(frame)
    assert result == EXPECT
    assert layers_of(decoder) == (("MPLS", (300,), None, None),)


# -- Teredo ------------------------------------------------------------------------------------

TEREDO_A = "2001:0:4136:e378:8000:63bf:3fff:fdd2"
TEREDO_B = "2001:0:4136:e378:8000:1234:34ff:ab77"
TEREDO_INNER = IPv6(src=TEREDO_A, dst=TEREDO_B) / UDP(sport=5060, dport=5061) / Raw(SIP)


def test_teredo_through_the_relay_port_with_indications() -> None:
    origin = bytes([0, 0, 0xFF, 0xFE]) + bytes([0x3F, 0xFF, 0xFD, 0xD2])
    auth = bytes([0, 1, 2, 0]) + b"id" + bytes(8) + b"\x00"
    for prefix in (b"", origin, auth, auth + origin):
        frame = outer(UDP(sport=3544, dport=40000), Raw(prefix + bytes(TEREDO_INNER)))
        result, decoder, defects = run(frame)
        assert result is not None and result[2:5] == (5060, result[3], 5061), prefix
        assert result[5] == SIP
        assert layers_of(decoder) == (("Teredo", None, RAW_SW, RAW_COL),)


def test_teredo_off_its_port_needs_a_teredo_address_and_an_exact_length() -> None:
    frame = outer(UDP(sport=40000, dport=51000), TEREDO_INNER)
    result, decoder, _ = run(frame)
    assert result is not None and result[5] == SIP and decoder.encap.frames == {"Teredo": 1}
    # The same IPv6 packet between ordinary addresses: an ordinary UDP datagram.
    plain = outer(UDP(sport=40000, dport=51000), INNER_V6)
    result, decoder, _ = run(plain)
    assert result is not None and result[2] == 40000 and not decoder.encap.frames
    # A length that does not fill the datagram exactly: not Teredo either.
    padded = outer(UDP(sport=40000, dport=51000), Raw(bytes(TEREDO_INNER) + b"\x00"))
    result, decoder, _ = run(padded)
    assert result is not None and result[2] == 40000 and not decoder.encap.frames


# -- what is not a tunnel stays what it is -----------------------------------------------------


@pytest.mark.parametrize(
    "payload, port",
    [
        (b"\x00" * 30, 4789),  # VXLAN without its I flag
        (b"\xc0" + bytes(20), 6081),  # Geneve version 3
        (b"\x80\x00" + bytes(30), 4789),  # RTP-like: never tried
        (SIP, 3544),  # not IPv6 after the Teredo indications
    ],
)
def test_udp_on_a_tunnel_port_that_is_not_one_is_a_datagram(payload: bytes, port: int) -> None:
    result, decoder, defects = run(outer(UDP(sport=40000, dport=port), Raw(payload)))
    assert result == (17, RAW_SW, 40000, RAW_COL, port, payload, 0, 0)
    assert not list(defects) and not decoder.encap.frames


# -- not decoded, counted by kind ---------------------------------------------------------------


def test_frames_without_udp_or_tcp_are_counted_by_kind() -> None:
    frames = [
        bytes(OUTER / ARP()),
        bytes(OUTER / IP(src=SW, dst=COL) / ICMP()),
        bytes(OUTER / IP(src=SW, dst=COL) / ESP(spi=1)),
        bytes(OUTER / IPv6(src="2001:db8::1", dst="2001:db8::2", nh=59)),
        outer(GRE(proto=0x8881), Raw(bytes(20))),
        outer(GRE(proto=0x6558), Ether() / ARP()),
    ]
    defects = DefectLog()
    decoder = PacketDecoder(defects)
    for i, frame in enumerate(frames, 1):
        assert decoder.decode(i, 0.0, 1, frame) is None
    assert not list(defects)
    assert dict(decoder.encap.not_decoded_names()) == {
        "EtherType 0x0806 (ARP)": 2,
        "IP protocol 1 (ICMP)": 1,
        "IP protocol 50 (ESP)": 1,
        "IP protocol 59 (no next header)": 1,
        "GRE protocol 0x8881 (CDMA2000)": 1,
    }
    # Wrapped frames are counted as wrapped whether or not the inside was decoded.
    assert decoder.encap.frames == {"GRE": 2}
    assert not decoder.encap.flows


def test_nesting_deeper_than_the_bound_is_counted_not_followed() -> None:
    pkt: object = INNER_IP
    for _ in range(MAX_ENCAPSULATION_DEPTH + 1):
        pkt = IP(src=SW, dst=COL) / GRE(proto=0x0800) / pkt  # type: ignore[operator]
    result, decoder, defects = run(bytes(OUTER / pkt))  # type: ignore[operator]
    assert result is None and not list(defects)
    assert decoder.encap.not_decoded_names() == {"encapsulations nested deeper than 4": 1}
    assert decoder.encap.frames == {" / ".join(["GRE"] * (MAX_ENCAPSULATION_DEPTH + 1)): 1}
    # Exactly at the bound it is decoded.
    pkt = INNER_IP
    for _ in range(MAX_ENCAPSULATION_DEPTH):
        pkt = IP(src=SW, dst=COL) / GRE(proto=0x0800) / pkt
    assert run(bytes(OUTER / pkt))[0] == EXPECT


def test_not_decoded_names() -> None:
    assert not_decoded_name(("ethertype", 0x88CC)) == "EtherType 0x88cc (LLDP)"
    assert not_decoded_name(("ethertype", 0x1234)) == "EtherType 0x1234"
    assert not_decoded_name(("ip", 89)) == "IP protocol 89 (OSPF)"
    assert not_decoded_name(("gre-version", 3)) == "GRE version 3"
    assert not_decoded_name(("erspan", 5)) == "ERSPAN III frame type 5"


# -- what the log keeps -------------------------------------------------------------------------


def test_encapsulation_text_and_json() -> None:
    enc = Encapsulation((("GRE", 9, RAW_SW, RAW_COL), ("VXLAN", 42, RAW1, RAW2)))
    assert enc.kind == "GRE / VXLAN"
    assert enc.short == "GRE key 9 / VXLAN VNI 42"
    assert enc.text == "GRE key 9 192.0.2.1 → 192.0.2.9 / VXLAN VNI 42 10.0.0.1 → 10.0.0.2"
    assert enc.to_dict() == {
        "kind": "GRE / VXLAN",
        "text": enc.text,
        "layers": [
            {"type": "GRE", "key": 9, "outer_src": "192.0.2.1", "outer_dst": "192.0.2.9"},
            {"type": "VXLAN", "vni": 42, "outer_src": "10.0.0.1", "outer_dst": "10.0.0.2"},
        ],
    }
    mpls = Encapsulation((("MPLS", (16, 17), None, None), ("802.1ad", (1, 2), None, None)))
    assert mpls.text == "MPLS labels 16/17 / 802.1ad VLAN 1/2"
    assert mpls.to_dict()["layers"] == [
        {"type": "MPLS", "labels": [16, 17]},
        {"type": "802.1ad", "vlans": [1, 2]},
    ]


def test_flows_and_payloads_are_looked_up_both_ways_and_bounded() -> None:
    log = EncapsulationLog()
    layers = (("GRE", None, RAW_SW, RAW_COL),)
    packet = (17, RAW1, 1, RAW2, 2, b"payload", 0, 0)
    log.frame(layers, packet)
    enc = log.of(RAW1, 1, RAW2, 2)
    assert enc is not None and enc is log.of(RAW2, 2, RAW1, 1)
    assert log.of_payload(packet[5]) is enc
    # Only that very object: equal bytes from another frame are not it.
    assert log.of_payload(bytes(bytearray(packet[5]))) is None
    for i in range(MAX_FLOWS + 10):
        log.frame(layers, (17, RAW1, i, RAW2, 2, b"x", 0, 0))
    assert len(log.flows) == MAX_FLOWS and log.flows_not_kept == 10
    log.frame(layers, (17, RAW1, 1, RAW2, 2, b"x", 0, 0))  # a known flow is still updated
    assert log.flows_not_kept == 10 and log.frames["GRE"] == MAX_FLOWS + 12


def test_one_wrapping_is_one_shared_object() -> None:
    defects = DefectLog()
    decoder = PacketDecoder(defects)
    frame = outer(UDP(sport=61000, dport=4789), VXLAN(vni=5, flags=0x08), INNER_ETH)
    for i in range(3):
        decoder.decode(i, 0.0, 1, frame)
    other = outer(
        UDP(sport=61000, dport=4789),
        VXLAN(vni=5, flags=0x08),
        Ether() / IP(src="10.0.0.3", dst="10.0.0.4") / UDP(sport=1, dport=2) / Raw(SIP),
    )
    decoder.decode(4, 0.0, 1, other)
    assert len({id(e) for e in decoder.encap.flows.values()}) == 1
    assert decoder.encap.frames == {"VXLAN": 4}


# -- bad input: truncation and noise never raise --------------------------------------------------

WRAPPED = [c[1] for c in CASES] + [
    outer(UDP(sport=3544, dport=40000), TEREDO_INNER),
    bytes(OUTER / MPLS(label=300, s=1) / Raw(bytes(4) + bytes(INNER_ETH))),
]


@pytest.mark.parametrize("frame", WRAPPED, ids=range(len(WRAPPED)))
def test_truncated_at_every_length_never_raises(frame: bytes) -> None:
    for cut in range(len(frame)):
        result, decoder, defects = run(frame[:cut])
        # Cut short, a frame either gives a defect or nothing: never a datagram that is not
        # what was sent (an outer UDP datagram of a cut VXLAN frame is still its own datagram).
        if result is not None:
            assert result[0] in (6, 17)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.sampled_from(WRAPPED), st.lists(st.tuples(st.integers(0, 400), st.integers(0, 255))))
def test_corrupted_tunnels_never_raise(frame: bytes, edits: list[tuple[int, int]]) -> None:
    data = bytearray(frame)
    for pos, value in edits:
        if pos < len(data):
            data[pos] = value
    run(bytes(data))


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.binary(max_size=120))
def test_random_bytes_after_a_gre_header_never_raise(tail: bytes) -> None:
    for proto in (0x0800, 0x86DD, 0x6558, 0x88BE, 0x22EB, 0x880B, 0x8847):
        for flags in (0x0000, 0x1000, 0xB000, 0x4000, 0x3001):
            gre = struct.pack("!HH", flags, proto) + tail
            run(bytes(OUTER / IP(src=SW, dst=COL, proto=47) / Raw(gre)))


def test_tcp_inside_a_tunnel() -> None:
    inner = IP(src="10.0.0.1", dst="10.0.0.2") / TCP(sport=5061, dport=50000, seq=7, flags="PA")
    frame = outer(GRE(proto=0x0800), inner / Raw(SIP))
    result, decoder, _ = run(frame)
    assert result == (6, RAW1, 5061, RAW2, 50000, SIP, 7, 0x18)
    assert decoder.encap.of(RAW2, 50000, RAW1, 5061) is not None


def test_random_udp_on_tunnel_ports_stays_udp() -> None:
    """Reserved bits must be zero: random datagrams on 4789/6081/4790 are not taken for
    tunnels (benchmarks/bench_decode.py's random traffic counts them all as UDP, as dpkt)."""
    import random

    rng = random.Random(3)
    for port in (4789, 8472, 6081, 4790, 3544):
        wrapped = 0
        for _ in range(2000):
            payload = rng.randbytes(rng.randrange(30, 200))
            result, decoder, _ = run(outer(UDP(sport=40000, dport=port), Raw(payload)))
            wrapped += result is None or result[4] != port
        assert wrapped == 0, port
