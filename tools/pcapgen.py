"""Build small, deterministic captures for tests and samples (Ethernet/IPv4/IPv6, UDP, TCP).

Not part of the installed package: tools/ and tests/ use it to make traffic whose content is
known exactly. Packets are built with dpkt, which computes the checksums.
"""

from __future__ import annotations

import gzip
import io
import socket
import struct
from collections.abc import Sequence
from dataclasses import dataclass, field

import dpkt

MAC_A = b"\x00\x15\x5d\x01\x02\x03"
MAC_B = b"\x00\x15\x5d\x0a\x0b\x0c"


def _ip_bytes(ip: str) -> tuple[bytes, bool]:
    if ":" in ip:
        return socket.inet_pton(socket.AF_INET6, ip), True
    return socket.inet_pton(socket.AF_INET, ip), False


def ip_packet(src: str, dst: str, l4: dpkt.Packet, proto: int, ident: int = 1) -> dpkt.Packet:
    """An IPv4 or IPv6 packet around a UDP/TCP object (checksums filled in by dpkt)."""
    s, v6 = _ip_bytes(src)
    d, _ = _ip_bytes(dst)
    if v6:
        pkt = dpkt.ip6.IP6(src=s, dst=d, nxt=proto, hlim=64, data=l4)
        pkt.plen = len(bytes(l4))
        # dpkt fills the upper-layer checksum when the IP6 packet is packed.
        return pkt
    return dpkt.ip.IP(src=s, dst=d, p=proto, ttl=64, id=ident & 0xFFFF, data=l4)


def ethernet(ip: dpkt.Packet, *, vlan: int | None = None, v6: bool = False) -> bytes:
    eth_type = dpkt.ethernet.ETH_TYPE_IP6 if v6 else dpkt.ethernet.ETH_TYPE_IP
    payload = bytes(ip)
    if vlan is None:
        return MAC_B + MAC_A + eth_type.to_bytes(2, "big") + payload
    tag = (0x8100).to_bytes(2, "big") + (vlan & 0xFFF).to_bytes(2, "big")
    return MAC_B + MAC_A + tag + eth_type.to_bytes(2, "big") + payload


@dataclass
class Builder:
    """Collects (timestamp, frame bytes) and writes pcap, pcapng or gzip'd pcap."""

    start: float = 1_767_225_600.0  # 2026-01-01 00:00:00 UTC
    frames: list[tuple[float, bytes]] = field(default_factory=list)
    _ident: int = 1

    def add(self, t: float, frame: bytes) -> None:
        self.frames.append((self.start + t, frame))

    def udp(
        self,
        t: float,
        src: str,
        sport: int,
        dst: str,
        dport: int,
        payload: bytes,
        *,
        vlan: int | None = None,
    ) -> None:
        u = dpkt.udp.UDP(sport=sport, dport=dport, data=payload)
        u.ulen = 8 + len(payload)
        self._ident += 1
        ip = ip_packet(src, dst, u, dpkt.ip.IP_PROTO_UDP, self._ident)
        self.add(t, ethernet(ip, vlan=vlan, v6=":" in src))

    def tcp(
        self,
        client: tuple[str, int],
        server: tuple[str, int],
        *,
        isn: tuple[int, int] = (1000, 5000),
    ) -> TcpFlow:
        return TcpFlow(self, client, server, [isn[0], isn[1]])

    def pcap_bytes(self, *, nano: bool = False) -> bytes:
        buf = io.BytesIO()
        writer = dpkt.pcap.Writer(buf, linktype=dpkt.pcap.DLT_EN10MB, nano=nano)
        for ts, frame in self.frames:
            writer.writepkt(frame, ts=ts)
        return buf.getvalue()

    def pcapng_bytes(self) -> bytes:
        buf = io.BytesIO()
        writer = dpkt.pcapng.Writer(buf, linktype=dpkt.pcap.DLT_EN10MB)
        for ts, frame in self.frames:
            writer.writepkt(frame, ts=ts)
        return buf.getvalue()

    def write(self, path: str) -> None:
        if path.endswith(".pcapng"):
            data = self.pcapng_bytes()
        elif path.endswith(".gz"):
            data = gzip.compress(self.pcap_bytes(), mtime=0)
        else:
            data = self.pcap_bytes()
        with open(path, "wb") as fh:
            fh.write(data)


@dataclass
class TcpFlow:
    """One TCP connection; direction 0 is client → server."""

    builder: Builder
    client: tuple[str, int]
    server: tuple[str, int]
    seq: list[int]
    vlan: int | None = None

    def _segment(self, direction: int, seq: int, ack: int, flags: int, payload: bytes) -> bytes:
        src, dst = (self.client, self.server) if direction == 0 else (self.server, self.client)
        t = dpkt.tcp.TCP(
            sport=src[1],
            dport=dst[1],
            seq=seq & 0xFFFFFFFF,
            ack=ack & 0xFFFFFFFF,
            flags=flags,
            win=65535,
            data=payload,
        )
        t.off = 5
        self.builder._ident += 1
        ip = ip_packet(src[0], dst[0], t, dpkt.ip.IP_PROTO_TCP, self.builder._ident)
        return ethernet(ip, vlan=self.vlan, v6=":" in src[0])

    def handshake(self, t: float) -> None:
        syn, ack = dpkt.tcp.TH_SYN, dpkt.tcp.TH_ACK
        self.builder.add(t, self._segment(0, self.seq[0], 0, syn, b""))
        self.builder.add(t + 0.0005, self._segment(1, self.seq[1], self.seq[0] + 1, syn | ack, b""))
        self.seq[0] += 1
        self.seq[1] += 1
        self.builder.add(t + 0.001, self._segment(0, self.seq[0], self.seq[1], ack, b""))

    def send(
        self,
        t: float,
        direction: int,
        data: bytes,
        *,
        cuts: Sequence[int] = (),
        order: Sequence[int] | None = None,
        retransmit: Sequence[int] = (),
        step: float = 0.0002,
    ) -> None:
        """Send ``data`` cut at the given offsets; ``order`` permutes the segments on the wire,
        ``retransmit`` lists segment indexes sent a second time right after."""
        bounds = [0, *cuts, len(data)]
        pieces = [(bounds[i], data[bounds[i] : bounds[i + 1]]) for i in range(len(bounds) - 1)]
        base = self.seq[direction]
        ack = self.seq[1 - direction]
        flags = dpkt.tcp.TH_ACK | dpkt.tcp.TH_PUSH
        sequence = list(order) if order is not None else list(range(len(pieces)))
        now = t
        for index in sequence:
            offset, piece = pieces[index]
            frame = self._segment(direction, base + offset, ack, flags, piece)
            self.builder.add(now, frame)
            now += step
            if index in retransmit:
                self.builder.add(now, frame)
                now += step
        self.seq[direction] = base + len(data)

    def close(self, t: float) -> None:
        fin, ack = dpkt.tcp.TH_FIN, dpkt.tcp.TH_ACK
        self.builder.add(t, self._segment(0, self.seq[0], self.seq[1], fin | ack, b""))
        self.builder.add(t + 0.0005, self._segment(1, self.seq[1], self.seq[0] + 1, fin | ack, b""))
        self.seq[0] += 1
        self.seq[1] += 1
        self.builder.add(t + 0.001, self._segment(0, self.seq[0], self.seq[1], ack, b""))


def sip(text: str) -> bytes:
    """SIP text written with LF line ends → wire bytes with CRLF and a correct Content-Length.

    The body is whatever follows the first blank line; ``Content-Length: auto`` is replaced.
    """
    head, sep, body = text.strip("\n").partition("\n\n")
    body_bytes = body.replace("\n", "\r\n").encode() if sep else b""
    head = head.replace("Content-Length: auto", f"Content-Length: {len(body_bytes)}")
    return head.replace("\n", "\r\n").encode() + b"\r\n\r\n" + body_bytes


def pcapng_with_secrets(pcapng: bytes, keylog: bytes) -> bytes:
    """``pcapng`` (one section, as Builder.pcapng_bytes writes it) with a Decryption Secrets
    Block holding an NSS key log ("TLSK") inserted after its first Interface Description Block,
    as ``editcap --inject-secrets`` does."""
    endian = "<" if pcapng[8:12] == b"\x4d\x3c\x2b\x1a" else ">"
    pos = 0
    while pos < len(pcapng):
        btype, blen = struct.unpack_from(endian + "II", pcapng, pos)
        pos += blen
        if btype == 1:  # Interface Description Block
            break
    padded = keylog + b"\x00" * (-len(keylog) % 4)
    total = 20 + len(padded)
    block = (
        struct.pack(endian + "IIII", 0x0000000A, total, 0x544C534B, len(keylog))
        + padded
        + struct.pack(endian + "I", total)
    )
    return pcapng[:pos] + block + pcapng[pos:]
