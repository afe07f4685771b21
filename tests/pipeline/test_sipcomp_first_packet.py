"""A compressed direction's first packet: the compiled fast path takes it only where Python's
choice of layout is the routine one, and gives exactly what Python gives.

Right after the NEGOTIATE exchange a direction's decoder has read nothing; it is handed to
``FastPath.sip_own`` without a history (``SipcompStreamDecoder.handover`` gives ``(None, 0)``),
and ``sipcomp_first`` (_fastpath.c) takes the first packet only when the usual layout holds and
only its 32-bit twin could read the same packet (sipcomp/stream.py ``_calibrate_step`` would
then be in sync under those two); anything else goes back to Python untouched, which
recognises the layout as before. Each test decodes a capture with the fast path and without
it and compares what a user sees (``compare``), on first packets of every kind (flags,
reserved bytes, lengths, whole or cut, followed by a bad, partial or good header, output that
does or does not start like SIP), on packets that another layout reads the same way, and on
the ways a direction starts (NEGOTIATE retransmitted, refused, its answer lost, a capture
that begins after it).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path

import pytest
from hostile import negotiate_exchange, sip
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pcapgen import Builder, TcpFlow

from lyncdump import fastpath
from lyncdump.api import Capture, Options
from lyncdump.sipcomp.budget import DecompressionBudget
from lyncdump.sipcomp.mppc import (
    PACKET_AT_FRONT,
    PACKET_COMPRESSED,
    PACKET_FLUSHED,
    MppcCompressor,
)
from lyncdump.sipcomp.stream import SipcompStreamEncoder, encode_packet

from ..sipcomp.sipcomp_samples import sip_message
from .test_sip_tcp_fastpath import ACK, PSH, compare
from .test_sipcomp_fastpath import _Pipe, negotiated

pytestmark = pytest.mark.skipif(
    not fastpath.AVAILABLE, reason="compiled fast path not in use (" + fastpath.describe() + ")"
)

AF_C = PACKET_AT_FRONT | PACKET_COMPRESSED


def packet_of(message: bytes, flags: int = AF_C) -> bytes:
    """``message`` compressed alone on an empty history, under the usual layout."""
    _, payload = MppcCompressor().compress(message)
    return encode_packet(flags, payload, len(message))


def rest_of(rng: random.Random, first: bytes, count: int = 4) -> bytes:
    """Packets that follow a first packet of ``first`` (the encoder's history after it)."""
    enc = SipcompStreamEncoder()
    enc.encode(first)
    return b"".join(enc.encode(sip_message(rng)) for _ in range(count))


def capture(
    tmp_path: Path, name: str, client: bytes, server: bytes = b"", cuts: list[int] | None = None
) -> Path:
    """One negotiated connection: the client's compressed bytes (cut at ``cuts``: one
    segment by default), the server's, then FIN."""
    b = Builder()
    flow = negotiated(b, ("10.1.0.1", 40_000), 0.0)
    if client:
        flow.send(0.3, 0, client, cuts=cuts or [])
    if server:
        flow.send(0.4, 1, server)
    flow.close(5.0)
    path = tmp_path / f"{name}.pcap"
    b.write(str(path))
    return path


def total_messages(path: Path) -> int:
    return len(list(Capture(path, Options()).messages()))


def fast_takes_first(segment: bytes) -> bool:
    """Whether the compiled path alone, given a fresh direction and ``segment``, decodes its
    first packet (else it gives the whole segment back, nothing decoded)."""
    fast = fastpath.compiled().FastPath(0)
    pipe = _Pipe(DecompressionBudget().connection())
    flow = TcpFlow(Builder(), ("10.1.0.1", 40_000), ("10.0.0.10", 5061), [1000, 5000])
    src, dst = bytes([10, 1, 0, 1]), bytes([10, 0, 0, 10])
    assert fast.sip_own(src, 40_000, dst, 5061, 0, 1000, 65536, pipe, 3, (None, 0))
    frame = flow._segment(0, 1000, 5000, ACK | PSH, segment)
    assert fast.frame(2, 2.0, 1, frame)
    fast.sip_release(src, 40_000, dst, 5061)
    assert fast.sip_owned == 0 and len(pipe.reclaimed) == 1
    position, consumed, _, packets, _, made = pipe.reclaimed[0][6]  # type: ignore[misc]
    if not consumed:
        assert made is None and not packets and not pipe.delivered and position == 0
        assert pipe.reclaimed[0][3] == [(segment, 2, 2.0)]  # the segment, given back whole
        return False
    assert isinstance(made, bytearray) and len(made) == 8192
    return True


# -- first packets of every kind ------------------------------------------------------------------

RNG = random.Random(29)
MSG = sip_message(RNG)
GOOD = packet_of(MSG)
REST = rest_of(RNG, MSG)


def _with(packet: bytes, at: int, value: int) -> bytes:
    out = bytearray(packet)
    out[at] = value
    return bytes(out)


def _header(flags: int, length: int) -> bytes:
    return bytes([flags, 0, 0, 0]) + length.to_bytes(2, "big")


FIRSTS: dict[str, tuple[bytes, bool | None]] = {
    # name: (the client's bytes, whether the fast path takes the first packet; None: it
    # depends on the bytes)
    "routine": (GOOD + REST, True),
    "alone": (GOOD, True),
    "compressed-without-at-front": (packet_of(MSG, PACKET_COMPRESSED) + REST, True),
    "crlf-then-good": (GOOD + b"\r\n" + REST, True),
    "partial-next-header": (GOOD + REST[:3], True),
    "lone-cr-after": (GOOD + b"\r", True),
    "two-messages-in-one": (packet_of(MSG + sip_message(RNG)), True),
    "keepalive-first": (b"\r\n" + GOOD + REST, False),
    "flushed-first": (encode_packet(PACKET_FLUSHED, MSG, len(MSG)) + REST, False),
    "no-flags-first": (encode_packet(0, MSG, len(MSG)) + REST, False),
    "at-front-raw-first": (encode_packet(PACKET_AT_FRONT, MSG, len(MSG)) + REST, False),
    "flushed-compressed-first": (packet_of(MSG, PACKET_FLUSHED | PACKET_COMPRESSED), False),
    "reserved-byte": (_with(GOOD, 2, 1) + REST, False),
    "type-nibble": (_with(GOOD, 0, AF_C | 1) + REST, False),
    "length-zero": (_header(AF_C, 0) + REST, False),
    "length-past-history": (_header(AF_C, 9000) + GOOD[6:] + REST, False),
    "length-short": (_header(AF_C, len(MSG) - 7) + GOOD[6:] + REST, None),  # (cut SIP)
    "length-long": (_header(AF_C, len(MSG) + 40) + GOOD[6:] + REST, False),
    "corrupt-token": (GOOD[:6] + b"\xf0\x00" + GOOD[8:] + REST, False),
    "cut-in-payload": (GOOD[:40], False),
    "header-only": (GOOD[:6], False),
    "bad-next-reserved": (GOOD + _with(REST, 3, 7), False),
    "bad-next-type": (GOOD + _with(REST, 0, 0x21), False),
    "bad-next-length": (GOOD + _header(PACKET_COMPRESSED, 8193) + b"xx", False),
    "next-raw-long": (GOOD + _header(PACKET_FLUSHED, 65535) + b"xx", True),
    "not-sip": (packet_of(b"hello world, this is not SIP\r\n" * 3) + REST, False),
    "garbage-after": (GOOD + b"\x00\x01garbage", False),  # (a reserved byte set)
    "no-flags-after": (GOOD + _header(0, 7) + b"garbage", True),
}

#: the first output line, as stream.py _sip_start reads it (the fast path's own reading of it)
START_LINES: dict[str, bool] = {
    "SIP/2.0 200 OK\r\n": True,
    "SIP/2.0 200 OK\n": True,
    "SIP/2.0 699 \r\n": True,
    "SIP/2.0 200 O\x01K\r\n": True,
    "SIP/2.0 200 OK\rX\r\n": False,
    "SIP/2.0 700 Nope\r\n": False,
    "SIP/2.0 099 Nope\r\n": False,
    "SIP/2.0 2x0 OK\r\n": False,
    "SIP/2.0  200 OK\r\n": False,
    "sip/2.0 200 OK\r\n": False,
    "INVITE sip:bob@contoso.com SIP/2.0\r\n": True,
    "INVITE sip:bob@contoso.com SIP/2.0\n": True,
    "X.!%*_+`'~-Y sip:a SIP/2.0\r\n": True,
    "INVITE sip:\u00e9 SIP/2.0\r\n": True,
    "INVITE  sip:a SIP/2.0\r\n": False,
    "INVITE sip:a  SIP/2.0\r\n": False,
    "INVITE sip:a SIP/2.0 \r\n": False,
    "INVITE sip:a SIP/2.0\r\r\n": False,
    "INVITE sip:a SIP/2.1\r\n": False,
    "1NVITE sip:a SIP/2.0\r\n": False,
    "IN@VITE sip:a SIP/2.0\r\n": False,
    "INVITE\tsip:a SIP/2.0\r\n": False,
    "INVITE sip:a\x7f SIP/2.0\r\n": True,
    "INVITE sip:" + "a" * 600 + " SIP/2.0\r\n": False,
    "\r\nINVITE sip:a SIP/2.0\r\n": True,
    "\nSIP/2.0 200 OK\r\n": True,
}


@pytest.mark.parametrize("name", sorted(FIRSTS))
def test_first_packets_decode_the_same(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    client, takes = FIRSTS[name]
    assert takes is None or fast_takes_first(client) is takes
    server = packet_of(MSG) + rest_of(random.Random(1), MSG, 2)
    path = capture(tmp_path, name, client, server)
    taken = compare(path, monkeypatch)
    if name == "routine":  # every compressed message (all but the NEGOTIATE exchange)
        assert taken == total_messages(path) - 2 == 8


@pytest.mark.parametrize("name", sorted(FIRSTS))
def test_first_packets_cut_across_segments_decode_the_same(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same bytes in several segments (the first packet whole in none, or the next
    header cut): Python's, then in sync the fast path's."""
    client, _ = FIRSTS[name]
    cuts = sorted({c for c in (3, 7, 25, len(GOOD) - 1, len(GOOD) + 2) if 0 < c < len(client)})
    path = capture(tmp_path, name, client, cuts=cuts)
    compare(path, monkeypatch)


@pytest.mark.parametrize("line", sorted(START_LINES))
def test_first_output_start_line(
    line: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first packet's output starts like SIP for the fast path exactly where it does for
    stream.py ``_sip_start``."""
    message = line.encode("utf-8") + b"Subject: " + b"z" * 40 + b"\r\nContent-Length: 0\r\n\r\n"
    first = packet_of(message)
    assert fast_takes_first(first) is START_LINES[line]
    path = capture(tmp_path, "line", first + rest_of(random.Random(2), message, 2))
    compare(path, monkeypatch)


# -- a first packet that another layout reads the same way ---------------------------------------


def first_with(length: int, payload: int | None) -> bytes:
    """An AT_FRONT|COMPRESSED first packet of a SIP message of ``length`` bytes whose payload
    takes ``payload`` bytes (any when None): a start line, random text, then one byte
    repeated, the random part grown until the payload has that size."""
    rng = random.Random(length * 1009 + (payload or 0))
    head = b"MESSAGE sip:bob@contoso.com SIP/2.0\r\n"
    noise = bytes(rng.choice(range(0x21, 0x7F)) for _ in range(length))
    low = 0 if payload is None else max(0, payload - 80)
    for u in range(low, length - len(head) + 1):
        text = head + noise[:u]
        message = text + b"a" * (length - len(text))
        packet = packet_of(message)
        if payload is None or len(packet) - 6 == payload:
            return packet
    raise AssertionError(f"no packet of {length} bytes with a {payload}-byte payload")


#: name: (plain length, payload length); the one layout beyond the usual one and its twin
#: that reads the packet the same way
AGREEING: dict[str, tuple[int, int | None]] = {
    "payload-length": (300, 300),  # h6-u16be-payload, h6-u32be-payload
    "packet-length": (300, 294),  # h6-u16be-packet, h6-u32be-packet
    "little-endian-plain": (257, None),  # h6-u16le-plain (0x0101 either way)
    "little-endian-payload": (513, 258),  # h6-u16le-payload (0x0201 / 0x0102)
    "little-endian-packet": (513, 252),  # h6-u16le-packet
}


@pytest.mark.parametrize("name", sorted(AGREEING))
def test_first_packet_another_layout_reads_goes_to_python(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Python would keep two layouts apart after such a packet (not in sync yet): the fast
    path leaves it to Python, and the results are the same."""
    length, payload = AGREEING[name]
    first = first_with(length, payload)
    assert not fast_takes_first(first)
    control = first_with(length + 3, 200 if length > 300 else 150)  # a routine one
    assert fast_takes_first(control)
    for n, packet in enumerate((first, control)):
        message = b"MESSAGE sip:bob@contoso.com SIP/2.0\r\n"  # (what follows: any packets)
        path = capture(tmp_path, f"{name}{n}", packet + rest_of(random.Random(n), message, 3))
        compare(path, monkeypatch)
        read = Capture(path, Options())
        read.run()
        (conn,) = read.connections  # (the layout: the same both ways)
        assert conn.compression_layout is not None


# -- how a direction starts -----------------------------------------------------------------------


def _refusal(status: str, compression: str) -> bytes:
    return sip(
        f"SIP/2.0 {status}\nVia: SIP/2.0/TCP 10.0.0.1:50000;branch=z9hG4bKneg\n"
        "From: <sip:pool.contoso.com>;tag=n1\nTo: <sip:pool.contoso.com>;tag=n2\n"
        f"Call-ID: neg-1\nCSeq: 1 NEGOTIATE\nCompression: {compression}\n\n"
    )


def _start(kind: str, b: Builder, rng: random.Random) -> None:
    neg, ok = negotiate_exchange()
    flow = b.tcp(("10.1.0.1", 40_000), ("10.0.0.10", 5061))
    client = GOOD + REST
    server = packet_of(MSG) + rest_of(rng, MSG, 2)
    if kind != "midstream":
        flow.handshake(0.0)
    if kind == "retransmitted":  # the same segment twice (TCP), then NEGOTIATE again (SIP)
        flow.send(0.1, 0, neg, retransmit=[0])
        flow.send(0.15, 0, neg)
        flow.send(0.2, 1, ok)
    elif kind == "answered-twice":
        flow.send(0.1, 0, neg)
        flow.send(0.2, 1, ok + ok)  # the second 200 OK arrives compressed... as clear text
    elif kind in ("refused", "declined", "provisional"):
        flow.send(0.1, 0, neg)
        answer = {
            "refused": _refusal("488 Not Acceptable Here", "LZ77-8K"),
            "declined": _refusal("200 OK", "None"),
            "provisional": _refusal("100 Trying", "LZ77-8K") + ok,
        }[kind]
        flow.send(0.2, 1, answer)
        if kind != "provisional":  # clear SIP goes on
            client, server = MSG, sip_message(rng)
    elif kind == "answer-lost":  # compressed bytes before any 200 OK: assumed
        flow.send(0.1, 0, neg)
    elif kind == "answer-late":  # the client's first packet is seen before the 200 OK
        flow.send(0.1, 0, neg)
        flow.send(0.15, 0, client)
        flow.send(0.2, 1, ok)
        client = b""
    elif kind == "no-negotiate":  # compressed bytes with no NEGOTIATE at all
        pass
    elif kind == "midstream":  # the capture begins after the exchange (and mid-history)
        client, server = REST, server[len(packet_of(MSG)) :]
        flow.seq = [1000 + 1 + len(neg), 5000 + 1 + len(ok)]
    else:
        flow.send(0.1, 0, neg)
        flow.send(0.2, 1, ok)
    if client:
        flow.send(0.3, 0, client)
    flow.send(0.4, 1, server)
    flow.close(5.0)


STARTS = [
    "negotiated",
    "retransmitted",
    "answered-twice",
    "refused",
    "declined",
    "provisional",
    "answer-lost",
    "answer-late",
    "no-negotiate",
    "midstream",
]


@pytest.mark.parametrize("kind", STARTS)
def test_direction_starts_decode_the_same(
    kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    b = Builder()
    _start(kind, b, random.Random(5))
    path = tmp_path / f"{kind}.pcap"
    b.write(str(path))
    taken = compare(path, monkeypatch)
    if kind in ("negotiated", "retransmitted", "provisional"):
        assert taken == total_messages(path) - (3 if kind == "negotiated" else 4) + 1


# -- anything at all where the first packet should be ---------------------------------------------


@st.composite
def first_segments(draw: st.DrawFn) -> bytes:
    """A first packet made of chosen parts (often the routine ones), then a tail."""
    rng = random.Random(draw(st.integers(0, 2**32 - 1)))
    message = sip_message(rng) if draw(st.booleans()) else draw(st.binary(min_size=1, max_size=80))
    flags = draw(st.sampled_from([AF_C, AF_C, PACKET_COMPRESSED, PACKET_FLUSHED, 0, 0xE0, 0x21]))
    packet = bytearray(
        packet_of(message, flags)
        if flags & PACKET_COMPRESSED and not flags & 0x1F
        else encode_packet(flags, message, len(message))
    )
    packet[0] = flags
    if draw(st.integers(0, 5)) == 0:
        packet[draw(st.integers(1, 3))] = draw(st.integers(1, 255))
    if draw(st.integers(0, 5)) == 0:
        packet[4:6] = draw(st.integers(0, 65535)).to_bytes(2, "big")
    if draw(st.integers(0, 5)) == 0 and len(packet) > 7:
        packet[draw(st.integers(6, len(packet) - 1))] ^= 1 << draw(st.integers(0, 7))
    tails: list[Callable[[], bytes]] = [
        lambda: b"",
        lambda: rest_of(rng, message, 2),
        lambda: b"\r\n" + rest_of(rng, message, 1),
        lambda: rest_of(rng, message, 1)[: draw(st.integers(0, 8))],
        lambda: draw(st.binary(max_size=12)),
    ]
    return bytes(packet) + draw(st.sampled_from(tails))()


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(segment=first_segments(), split=st.booleans())
def test_any_first_segment_decodes_the_same(
    segment: bytes, split: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cuts = [len(segment) // 2] if split and len(segment) > 1 else []
    path = capture(tmp_path, "any", segment, packet_of(MSG), cuts=cuts)
    compare(path, monkeypatch)


def test_bench_like_connections_are_read_in_c_after_the_exchange(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Many negotiated connections, interleaved, each direction's first packet its own
    segment: every compressed message is the fast path's."""
    b = Builder()
    rng = random.Random(17)
    flows: list[tuple[TcpFlow, SipcompStreamEncoder, SipcompStreamEncoder]] = []
    for n in range(12):
        flows.append((negotiated(b, (f"10.1.0.{n + 1}", 40_000 + n), n * 0.01), *(
            SipcompStreamEncoder(), SipcompStreamEncoder())))  # fmt: skip
    t = 1.0
    count = 0
    for _ in range(5):
        for flow, *encoders in flows:
            for direction in (0, 1):
                t += 0.001
                flow.send(t, direction, encoders[direction].encode(sip_message(rng)))
                count += 1
    path = tmp_path / "bench.pcap"
    b.write(str(path))
    taken = compare(path, monkeypatch)
    assert taken == count == total_messages(path) - 2 * len(flows)
