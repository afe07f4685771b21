"""Hostile inputs built by hand: pcap files of raw Ethernet/IPv4 UDP and TCP frames.

The regression tests build the smallest input that shows each problem from these pieces, and
tools/fuzz.py draws whole hostile captures from :data:`FAMILIES` (decompression bombs, floods of
half-open connections or first fragments, bad MS-SIPCOMP packets among good ones, oversized SIP)
with random sizes, to check that a few MB of input never costs GBs or minutes.

Struct-packed rather than scapy/dpkt-built so that tens of thousands of frames take
milliseconds; checksums are left zero (lyncdump does not check them, as tshark by default).
"""

from __future__ import annotations

import random
import struct

ETHERNET = bytes.fromhex("00155d0a0b0c00155d0102030800")
CLIENT = bytes([10, 0, 0, 1])
SERVER = bytes([10, 0, 0, 2])


def pcap(frames: list[bytes], start: float = 1_767_225_600.0, step: float = 0.001) -> bytes:
    """A little-endian microsecond pcap of Ethernet frames, ``step`` seconds apart."""
    out = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1)]
    for i, frame in enumerate(frames):
        t = start + i * step
        sec = int(t)
        usec = int(round((t - sec) * 1e6))
        out.append(struct.pack("<IIII", sec, usec, len(frame), len(frame)) + frame)
    return b"".join(out)


def ipv4(
    proto: int,
    payload: bytes,
    src: bytes = CLIENT,
    dst: bytes = SERVER,
    frag: int = 0,
    ident: int = 1,
) -> bytes:
    """An Ethernet/IPv4 frame; ``frag`` is the flags/fragment-offset field (0x2000 = MF)."""
    return (
        ETHERNET
        + struct.pack(
            "!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), ident, frag, 64, proto, 0, src, dst
        )
        + payload
    )


def udp(
    payload: bytes, sport: int = 5060, dport: int = 5060, src: bytes = CLIENT, dst: bytes = SERVER
) -> bytes:
    """One Ethernet/IPv4/UDP frame."""
    return ipv4(17, struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload, src, dst)


def tcp(
    payload: bytes,
    seq: int,
    flags: int = 0x18,
    sport: int = 50000,
    dport: int = 5061,
    src: bytes = CLIENT,
    dst: bytes = SERVER,
    ack: int = 0,
) -> bytes:
    """One Ethernet/IPv4/TCP frame (flags: 0x02 SYN, 0x10 ACK, 0x18 PSH|ACK, 0x01 FIN)."""
    header = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, 0x50, flags, 65535, 0, 0)
    return ipv4(6, header + payload, src, dst)


class TcpConversation:
    """Both directions of one TCP connection, with sequence numbers kept for the caller."""

    def __init__(
        self, sport: int = 50000, dport: int = 5061, client: bytes = CLIENT, server: bytes = SERVER
    ) -> None:
        self.sport, self.dport = sport, dport
        self.client, self.server = client, server
        self.seq = [1000, 5000]
        self.frames: list[bytes] = []

    def handshake(self) -> TcpConversation:
        self.frames.append(self._frame(0, b"", 0x02))
        self.frames.append(self._frame(1, b"", 0x12))
        self.seq[0] += 1
        self.seq[1] += 1
        return self

    def send(self, direction: int, data: bytes, segment: int = 1400) -> TcpConversation:
        """``data`` from the client (0) or the server (1), cut into segments."""
        for i in range(0, len(data), segment):
            piece = data[i : i + segment]
            self.frames.append(self._frame(direction, piece, 0x18))
            self.seq[direction] += len(piece)
        return self

    def _frame(self, direction: int, data: bytes, flags: int) -> bytes:
        if direction == 0:
            return tcp(data, self.seq[0], flags, self.sport, self.dport, self.client, self.server)
        return tcp(data, self.seq[1], flags, self.dport, self.sport, self.server, self.client)


def sip(text: str) -> bytes:
    """SIP text written with LF line ends, sent with CRLF and a correct Content-Length."""
    head, _, body = text.replace("\r\n", "\n").partition("\n\n")
    body_bytes = body.replace("\n", "\r\n").encode()
    lines = [ln for ln in head.split("\n") if not ln.lower().startswith("content-length")]
    lines.append(f"Content-Length: {len(body_bytes)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body_bytes


def negotiate_exchange() -> tuple[bytes, bytes]:
    """A NEGOTIATE offering LZ77-8K and its 200 OK: after them both directions are compressed."""
    request = sip(
        "NEGOTIATE sip:pool.contoso.com SIP/2.0\n"
        "Via: SIP/2.0/TCP 10.0.0.1:50000;branch=z9hG4bKneg\n"
        "From: <sip:pool.contoso.com>;tag=n1\nTo: <sip:pool.contoso.com>\n"
        "Call-ID: neg-1\nCSeq: 1 NEGOTIATE\nCompression: LZ77-8K\n\n"
    )
    answer = sip(
        "SIP/2.0 200 OK\nVia: SIP/2.0/TCP 10.0.0.1:50000;branch=z9hG4bKneg\n"
        "From: <sip:pool.contoso.com>;tag=n1\nTo: <sip:pool.contoso.com>;tag=n2\n"
        "Call-ID: neg-1\nCSeq: 1 NEGOTIATE\nCompression: LZ77-8K\n\n"
    )
    return request, answer


def sip_of_size(size: int, call_id: str = "bomb-1") -> bytes:
    """A SIP MESSAGE of exactly ``size`` bytes (the body pads it)."""
    head = sip(
        "MESSAGE sip:bob@contoso.com SIP/2.0\nVia: SIP/2.0/TCP 10.0.0.1:50000;branch=z9hG4bK1\n"
        f"From: <sip:alice@contoso.com>;tag=1\nTo: <sip:bob@contoso.com>\nCall-ID: {call_id}\n"
        "CSeq: 1 MESSAGE\nContent-Type: text/plain\n\n"
    )
    for digits in range(1, 6):  # the Content-Length value grows with the body
        body = size - (len(head) - 1 + digits)
        if body >= 0 and len(str(body)) == digits:
            text = head.replace(b"Content-Length: 0", f"Content-Length: {body}".encode())
            return text + b"x" * body
    raise ValueError(f"no SIP message of {size} bytes")


def _bits_to_bytes(code: int, nbits: int) -> bytes:
    pad = -nbits & 7
    return (code << pad).to_bytes((nbits + pad) // 8, "big")


def amplification_stream(count: int, size: int = 4000) -> bytes:
    """One compressed direction whose packets, after the first, are ~11 bytes that each rebuild
    a whole ``size``-byte SIP message: one copy token from the other half of the history
    (issue 16, item 4). Every packet is valid MPPC and MS-SIPCOMP."""
    from lyncdump.sipcomp.mppc import PACKET_AT_FRONT, PACKET_COMPRESSED, MppcCompressor, _copy_code
    from lyncdump.sipcomp.stream import encode_packet

    message = sip_of_size(size)
    flags, payload = MppcCompressor().compress(message)  # AT_FRONT|COMPRESSED at position 0
    out = [encode_packet(flags, payload, size)]
    # the write position alternates between `size` (copy the message written at 0) and 0
    # (AT_FRONT, copy it back from `size`, reading the history modulo 8192)
    ahead = _bits_to_bytes(*_copy_code(size, size))
    back = _bits_to_bytes(*_copy_code(8192 - size, size))
    for i in range(1, count):
        if i % 2:
            out.append(encode_packet(PACKET_COMPRESSED, ahead, size))
        else:
            out.append(encode_packet(PACKET_AT_FRONT | PACKET_COMPRESSED, back, size))
    return b"".join(out)


def compressed_connection(streams: tuple[bytes, bytes], segment: int = 1400) -> list[bytes]:
    """Frames of a TCP connection that negotiates LZ77-8K, then carries the two compressed
    directions' wire bytes (client first)."""
    request, answer = negotiate_exchange()
    conv = TcpConversation().handshake().send(0, request).send(1, answer)
    conv.send(0, streams[0], segment)
    conv.send(1, streams[1], segment)
    return conv.frames


# -- families of hostile captures (tools/fuzz.py) ---------------------------------------------


def bomb_capture(rng: random.Random) -> bytes:
    """Connections whose packets each rebuild a whole message from one copy token."""
    neg, ok = negotiate_exchange()
    frames: list[bytes] = []
    for n in range(rng.choice([1, 4, 40, 200])):
        conv = TcpConversation(sport=20000 + n, client=bytes([10, 2, n >> 8, n & 255]))
        conv.handshake().send(0, neg).send(1, ok)
        conv.send(0, amplification_stream(rng.choice([50, 400, 2000]), rng.choice([1000, 4000])))
        frames += conv.frames
    return pcap(frames)


def half_open_capture(rng: random.Random) -> bytes:
    """Many connections that send a SYN and a first segment, then nothing."""
    starts = [
        b"INVITE sip:bob@contoso.com",
        b"\x20\x00\x00\x00\x1f\xffINVITE sip:bob@contoso.com SIP/2.0\r\n",
        b"\x80\x00\x00\x00\xff\xffREGISTER sip:contoso.com SIP/2.0\r\n",
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",
        bytes(rng.randrange(256) for _ in range(40)),
    ]
    frames: list[bytes] = []
    for n in range(rng.choice([1000, 5000, 15000])):
        client = bytes([10, 3, (n >> 8) & 255, n & 255])
        conv = TcpConversation(sport=1024 + n % 60000, client=client)
        conv.frames.append(conv._frame(0, b"", 0x02))
        conv.seq[0] += 1
        conv.send(0, starts[n % len(starts)] if rng.random() < 0.9 else rng.choice(starts))
        frames += conv.frames
    return pcap(frames)


def fragment_capture(rng: random.Random) -> bytes:
    """First fragments of datagrams that never complete, and some that do, out of order."""
    frames: list[bytes] = []
    size = rng.choice([8, 64, 1480])
    for n in range(rng.choice([2000, 20000, 60000])):
        udp_head = struct.pack("!HHHH", 5060, 5060, 8 + 3 * size, 0)
        first = ipv4(17, udp_head + bytes(size - 8), frag=0x2000, ident=n)
        frames.append(first)
        if rng.random() < 0.05:
            frames.append(ipv4(17, bytes(size), frag=0x2000 | (size >> 3), ident=n))
            frames.append(ipv4(17, bytes(size), frag=(2 * size) >> 3, ident=n))
    return pcap(frames)


def bad_sipcomp_capture(rng: random.Random) -> bytes:
    """A compressed connection with damaged packets among good ones, some cut short."""
    from lyncdump.sipcomp.mppc import PACKET_FLUSHED
    from lyncdump.sipcomp.stream import SipcompStreamEncoder, encode_packet

    enc = SipcompStreamEncoder()
    out = bytearray()
    for n in range(rng.choice([5, 50, 300])):
        message = sip_of_size(rng.choice([300, 1200, 5000]), f"c-{n}")
        kind = rng.random()
        if kind < 0.1:
            out += encode_packet(PACKET_FLUSHED, message, len(message))
            enc = SipcompStreamEncoder()
        elif kind < 0.2:
            packet = bytearray(enc.encode(message))
            for _ in range(rng.randint(1, 4)):
                packet[rng.randrange(len(packet))] ^= 1 << rng.randrange(8)
            out += packet
        elif kind < 0.25:
            out += enc.encode(message)[: rng.randrange(1, 40)]
        else:
            out += enc.encode(message)
    return pcap(compressed_connection((bytes(out), b""), rng.choice([1, 100, 1400])))


def oversized_sip_capture(rng: random.Random) -> bytes:
    """SIP at and past its bounds: many headers, long lines, deep multipart, huge lengths."""
    boundary = "b"
    nested = "text"
    for depth in range(rng.choice([2, 10, 50])):
        nested = (
            f"--{boundary}{depth}\r\nContent-Type: multipart/mixed; boundary={boundary}{depth + 1}"
            f"\r\n\r\n{nested}\r\n--{boundary}{depth}--"
        )
    body = nested
    headers = "".join(
        f"X-H{i}: {'v' * rng.choice([1, 100, 1500])}\n" for i in range(rng.choice([10, 300, 900]))
    )
    message = sip(
        "MESSAGE sip:bob@contoso.com SIP/2.0\nVia: SIP/2.0/TCP h;branch=z9hG4bK1\n"
        f"Call-ID: big\nCSeq: 1 MESSAGE\n{headers}"
        f"Content-Type: multipart/mixed; boundary={boundary}0\n\n{body}"
    )
    conv = TcpConversation(dport=5060).handshake().send(0, message * rng.choice([1, 3]))
    return pcap(conv.frames + [udp(message[:60000])])


FAMILIES = {
    "bomb": bomb_capture,
    "half-open": half_open_capture,
    "fragments": fragment_capture,
    "bad-sipcomp": bad_sipcomp_capture,
    "oversized-sip": oversized_sip_capture,
}
