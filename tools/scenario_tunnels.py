"""Sample capture of SIP as data-centre captures hold it: mirrored and tunnelled (issue 15).

    sip-tunnels.pcapng   the SIPp calls of sipp-calls.pcapng (real SIPp traffic), every frame
                         wrapped the way a SPAN/ERSPAN session, an overlay or a provider link
                         delivers it, plus a few frames no decoder should claim

The frames keep their original order and times. The TCP connection (20 calls) arrives as
VXLAN (VNI 42) inside GRE (key 9); the ten UDP calls each through another wrapping: ERSPAN
types I, II and III, VXLAN, Geneve, GRE with a key, IP-in-IP, MPLS (two labels), 802.1ad
(S-VLAN 100, C-VLAN 200) and 6in4 (the IP header rewritten to IPv6, checksums redone). The BYE
transactions go over Teredo: five through a relay on UDP 3544 (its packets with an origin
indication), five directly between two Teredo addresses (found by the heuristic). Then the
frames that are not decoded: ARP, an ESP packet, GRE carrying protocol 0x8881 and a UDP
datagram nested five encapsulations deep (past lyncdump's bound of four).

Built with scapy (an implementation independent of lyncdump's decoder); tshark 4.0.17 decodes
the same 180 SIP messages in the same frames (tests/net/test_tunnels_capture.py).
"""

from __future__ import annotations

import ipaddress
import sys
from pathlib import Path

import dpkt
from scapy.all import (
    ARP,
    ESP,
    GRE,
    IP,
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

sys.path.insert(0, str(Path(__file__).resolve().parent))

from pcapgen import Builder  # noqa: E402

CAPTURES = Path(__file__).resolve().parent.parent / "captures"
SOURCE = CAPTURES / "sipp-calls.pcapng"

#: Outer endpoints: the mirror source (a switch) and the collector, per wrapping.
SWITCH, COLLECTOR = "10.200.0.1", "10.200.0.9"
VTEP_A, VTEP_B = "172.16.10.1", "172.16.20.1"
GRE_A, GRE_B = "192.0.2.1", "192.0.2.2"
OUTER_MAC = dict(src="00:1b:21:0a:0b:01", dst="00:1b:21:0a:0b:09")
TEREDO_SERVER = "65.54.227.120"  # where the relay traffic seems to come from (outer address)
TEREDO_CLIENT_OUTER = ("198.51.100.77", 40123)
TEREDO_PEER_OUTER = ("203.0.113.88", 51977)
#: Teredo addresses (2001:0::/32, server 65.54.227.120 encoded after the prefix).
TEREDO_CLIENT = "2001:0:4136:e378:8000:63bf:3fff:fdd2"
TEREDO_PEER = "2001:0:4136:e378:8000:1234:34ff:ab77"


def source_frames() -> list[tuple[float, bytes]]:
    """(time, Ethernet frame) of every frame in sipp-calls.pcapng, in order."""
    with SOURCE.open("rb") as fh:
        return [(float(ts), bytes(buf)) for ts, buf in dpkt.pcapng.Reader(fh)]


def _udp_call(frame: bytes) -> int | None:
    """The SIPp call number (Call-ID ``N-pid@...``) of a UDP SIP frame, None for TCP."""
    ip = dpkt.ethernet.Ethernet(frame).data
    if not isinstance(ip.data, dpkt.udp.UDP):
        return None
    payload = bytes(ip.data.data)
    for line in payload.split(b"\r\n"):
        if line.lower().startswith(b"call-id:"):
            return int(line.split(b":", 1)[1].strip().split(b"-", 1)[0])
    return None


def _is_bye_transaction(frame: bytes) -> bool:
    payload = bytes(dpkt.ethernet.Ethernet(frame).data.data.data)
    return b"CSeq: 2 BYE" in payload or payload.startswith(b"BYE ")


def _as_ipv6(ip_bytes: bytes, src: str, dst: str) -> IPv6:
    """An IPv4/UDP packet rewritten as IPv6/UDP between two given addresses (scapy redoes
    the lengths and the UDP checksum)."""
    udp = IP(ip_bytes)[UDP]
    return (
        IPv6(src=src, dst=dst, hlim=64)
        / UDP(sport=udp.sport, dport=udp.dport)
        / Raw(bytes(udp.payload))
    )


def _outer_ip(src: str, dst: str, **kw: object) -> IP:
    return Ether(**OUTER_MAC) / IP(src=src, dst=dst, ttl=62, id=0, **kw)


def wrap(kind: str, frame: bytes, index: int) -> bytes:
    """One original Ethernet frame inside the wrapping named ``kind``."""
    ip = frame[14:]
    if kind == "erspan1":
        pkt = _outer_ip(SWITCH, COLLECTOR) / GRE(proto=0x88BE) / Raw(frame)
    elif kind == "erspan2":
        pkt = (
            _outer_ip(SWITCH, COLLECTOR)
            / GRE(proto=0x88BE, seqnum_present=1, sequence_number=index)
            / ERSPAN_II(session_id=7, index=3)
            / Raw(frame)
        )
    elif kind == "erspan3":
        pkt = (
            _outer_ip(SWITCH, COLLECTOR)
            / GRE(proto=0x22EB, seqnum_present=1, sequence_number=index)
            / ERSPAN_III(session_id=9, timestamp=index * 1000, hw=5)
            / Raw(frame)
        )
    elif kind == "vxlan":
        pkt = (
            _outer_ip(VTEP_A, VTEP_B)
            / UDP(sport=49152 + index % 1000, dport=4789)
            / VXLAN(vni=5001, flags=0x08)
            / Raw(frame)
        )
    elif kind == "geneve":
        pkt = (
            _outer_ip(VTEP_A, VTEP_B)
            / UDP(sport=50000 + index % 1000, dport=6081)
            / GENEVE(vni=77, proto=0x6558)
            / Raw(frame)
        )
    elif kind == "gre":
        pkt = _outer_ip(GRE_A, GRE_B) / GRE(proto=0x0800, key_present=1, key=42) / Raw(ip)
    elif kind == "ipip":
        pkt = _outer_ip(GRE_A, GRE_B, proto=4) / Raw(ip)
    elif kind == "mpls":
        pkt = (
            Ether(type=0x8847, **OUTER_MAC)
            / MPLS(label=16, s=0, ttl=64)
            / MPLS(label=1001, s=1, ttl=64)
            / Raw(ip)
        )
    elif kind == "qinq":
        pkt = Ether(**OUTER_MAC) / Dot1AD(vlan=100) / Dot1Q(vlan=200, type=0x0800) / Raw(ip)
    elif kind == "6in4":
        inner = _as_ipv6(ip, "2001:db8:a::50", "2001:db8:b::77")
        pkt = _outer_ip(GRE_A, GRE_B, proto=41) / inner
    elif kind == "gre-vxlan":
        inner_vxlan = (
            IP(src=VTEP_A, dst=VTEP_B, ttl=64, id=0)
            / UDP(sport=49999, dport=4789)
            / VXLAN(vni=42, flags=0x08)
            / Raw(frame)
        )
        pkt = _outer_ip(GRE_A, GRE_B) / GRE(proto=0x0800, key_present=1, key=9) / inner_vxlan
    else:
        raise ValueError(kind)
    return bytes(pkt)


def teredo(frame: bytes, index: int, *, relay: bool) -> bytes:
    """A BYE transaction frame as IPv6 in Teredo: through the relay on 3544 (packets from it
    with an origin indication), or directly between two Teredo clients."""
    ip = frame[14:]
    udp = IP(ip)[UDP]
    from_caller = udp.sport == 5073
    if from_caller:
        v6 = _as_ipv6(ip, TEREDO_CLIENT, TEREDO_PEER)
    else:
        v6 = _as_ipv6(ip, TEREDO_PEER, TEREDO_CLIENT)
    client, peer = TEREDO_CLIENT_OUTER, TEREDO_PEER_OUTER
    if relay:
        relay_end = (TEREDO_SERVER, 3544)
        if from_caller:
            outer = _outer_ip(client[0], relay_end[0]) / UDP(sport=client[1], dport=3544)
            return bytes(outer / v6)
        origin = bytes([0, 0]) + (peer[1] ^ 0xFFFF).to_bytes(2, "big")
        origin += bytes(b ^ 0xFF for b in ipaddress.IPv4Address(peer[0]).packed)
        outer = _outer_ip(relay_end[0], client[0]) / UDP(sport=3544, dport=client[1])
        return bytes(outer / Raw(origin) / v6)
    a, b = (client, peer) if from_caller else (peer, client)
    outer = _outer_ip(a[0], b[0]) / UDP(sport=a[1], dport=b[1])
    return bytes(outer / v6)


def not_decoded(index: int) -> list[bytes]:
    """Frames of kinds lyncdump does not decode (counted in the summary)."""
    deep: object = (
        IP(src="10.9.9.1", dst="10.9.9.2", id=0)
        / UDP(sport=53, dport=53000)
        / Raw(b"\x12\x34\x81\x80" + bytes(8))
    )
    for level in range(5):
        deep = IP(src=f"10.8.{level}.1", dst=f"10.8.{level}.2", id=0) / GRE(proto=0x0800) / deep  # type: ignore[operator]
    return [
        bytes(Ether(src="00:1b:21:0a:0b:01", dst="ff:ff:ff:ff:ff:ff") / ARP(pdst="10.200.0.9")),
        bytes(Ether(**OUTER_MAC) / ARP(op=2, psrc="10.200.0.9", pdst="10.200.0.1")),
        bytes(_outer_ip(GRE_A, GRE_B) / ESP(spi=0x1001, seq=index) / Raw(bytes(48))),
        bytes(_outer_ip(SWITCH, COLLECTOR) / GRE(proto=0x8881) / Raw(bytes(40))),
        bytes(Ether(**OUTER_MAC) / deep),  # type: ignore[operator]
    ]


#: The wrapping of each UDP call (SIPp call numbers 1-10).
UDP_CALL_KINDS = {
    1: "erspan1",
    2: "erspan2",
    3: "erspan3",
    4: "vxlan",
    5: "geneve",
    6: "gre",
    7: "ipip",
    8: "mpls",
    9: "qinq",
    10: "6in4",
}


def sip_tunnels() -> Builder:
    frames = source_frames()
    b = Builder(start=0.0)
    for index, (ts, frame) in enumerate(frames, 1):
        call = _udp_call(frame)
        if call is None:
            out = wrap("gre-vxlan", frame, index)
        elif _is_bye_transaction(frame):
            out = teredo(frame, index, relay=call <= 5)
        else:
            out = wrap(UDP_CALL_KINDS[call], frame, index)
        b.add(ts, out)
        if index == 100:
            last = ts
    for k, extra in enumerate(not_decoded(1)):
        b.add(last + 0.0001 * (k + 1), extra)
    b.frames.sort(key=lambda f: f[0])
    return b


SAMPLES = {"sip-tunnels.pcapng": sip_tunnels}
