"""MS-SIPCOMP framing: layouts, splitting, mid-stream starts, gaps, garbage, negotiation."""

from __future__ import annotations

import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lyncdump.sipcomp.mppc import PACKET_AT_FRONT, PACKET_COMPRESSED, PACKET_FLUSHED, PLACEHOLDER
from lyncdump.sipcomp.stream import (
    _DEAD,
    DEFAULT_LAYOUT,
    LAYOUTS,
    DecodedPacket,
    NegotiationTracker,
    SipcompStreamDecoder,
    SipcompStreamEncoder,
    _Header,
    _parse_header,
    encode_packet,
    layout_by_name,
    looks_compressed,
)

from . import sipcomp_samples as S

AF_C = PACKET_AT_FRONT | PACKET_COMPRESSED


def encode(messages: list[bytes], layout=DEFAULT_LAYOUT) -> tuple[bytes, list[int]]:  # type: ignore[no-untyped-def]
    """Wire bytes and the offset where each packet starts."""
    enc = SipcompStreamEncoder(layout)
    starts, out = [], bytearray()
    for m in messages:
        starts.append(len(out))
        out += enc.encode(m)
    return bytes(out), starts


def feed(dec: SipcompStreamDecoder, chunks: list[bytes]) -> list[DecodedPacket]:
    out = []
    for n, chunk in enumerate(chunks, 1):
        dec.receive_data(chunk, n, float(n))
        while (p := dec.next_packet()) is not None:
            out.append(p)
    return out


def decode_all(
    wire: bytes, size: int = 1460, **kw: bool
) -> tuple[SipcompStreamDecoder, list[DecodedPacket]]:
    dec = SipcompStreamDecoder(**kw)
    return dec, feed(dec, [wire[i : i + size] for i in range(0, len(wire), size)])


# -- packets ---------------------------------------------------------------------------------


def test_default_layout_bytes() -> None:
    assert DEFAULT_LAYOUT.name == "h6-u16be-plain"
    assert encode_packet(AF_C, b"xyz", 605) == b"\x60\x00\x00\x00\x02\x5d" + b"xyz"
    assert encode_packet(PACKET_FLUSHED, b"ab", 2, layout_by_name("h6-u32le-payload")) == (
        b"\x80\x00\x02\x00\x00\x00ab"
    )
    assert encode_packet(PACKET_COMPRESSED, b"ab", 9, layout_by_name("h4-u16be-packet")) == (
        b"\x20\x00\x00\x06ab"
    )
    with pytest.raises(ValueError):
        encode_packet(PACKET_FLUSHED, b"a" * 70000, 70000)
    assert looks_compressed(b"\x60\x00\x00\x00\x02\x5d")
    assert not looks_compressed(b"INVITE sip:")
    assert len({lay.name for lay in LAYOUTS}) == len(LAYOUTS) == 18


def test_round_trip_and_frames() -> None:
    messages = S.sip_traffic(1, 40)
    wire, starts = encode(messages)
    dec, packets = decode_all(wire)
    assert [p.plain for p in packets] == messages
    assert dec.layout == "h6-u16be-plain"
    assert not dec.defects
    ends = starts[1:] + [len(wire)]
    for p, start, end in zip(packets, starts, ends, strict=True):
        assert p.wire_size == end - start
        assert p.frame == (end - 1) // 1460 + 1  # the segment holding the last byte
        assert p.ts == float(p.frame)
        assert not p.partial
    assert packets[0].flags == AF_C


def test_split_at_every_byte_position() -> None:
    messages = S.sip_traffic(2, 5)
    wire, _ = encode(messages)
    for cut in range(len(wire) + 1):
        dec = SipcompStreamDecoder()
        packets = feed(dec, [wire[:cut], wire[cut:]])
        assert [p.plain for p in packets] == messages, cut


def test_one_byte_at_a_time() -> None:
    messages = S.sip_traffic(3, 12)
    wire, _ = encode(messages)
    dec = SipcompStreamDecoder()
    packets = feed(dec, [wire[i : i + 1] for i in range(len(wire))])
    assert [p.plain for p in packets] == messages


@pytest.mark.parametrize("layout", LAYOUTS, ids=lambda lay: lay.name)
def test_alternative_layouts_are_recognised(layout) -> None:  # type: ignore[no-untyped-def]
    messages = S.sip_traffic(4, 12)
    wire, _ = encode(messages, layout)
    dec, packets = decode_all(wire)
    assert [p.plain for p in packets] == messages
    twin = layout.name.replace("u32be", "u16be")  # identical bytes while lengths stay < 65536
    assert dec.layout == twin
    assert not dec.defects


class _EveryTrial(SipcompStreamDecoder):
    """The layout choice as it was before it was made cheaper: every candidate's header read
    by _parse_header, and every one that may agree decoded as a trial (even when its length
    says its output cannot be the same)."""

    __slots__ = ()

    def _agreeing(self, off, layouts, probe):  # type: ignore[no-untyped-def]
        found = []
        for layout in layouts:
            h = _parse_header(self._buf, off, layout, strict=self._first)
            if not isinstance(h, _Header):
                continue
            if h.payload is None or self._base + off + layout.size + h.payload == probe.end:
                found.append((layout, h))
        return found


def _decoded(dec: SipcompStreamDecoder, chunks: list[bytes]) -> object:
    packets = feed(dec, chunks)
    dec.receive_eof()
    packets += feed(dec, [])
    return dec.layout, dec._survivors, packets, dec.defects


@pytest.mark.parametrize("layout", LAYOUTS, ids=lambda lay: lay.name)
def test_layout_choice_is_the_same_with_fewer_trials(layout) -> None:  # type: ignore[no-untyped-def]
    """On every layout, first packets of every kind (compressed, AT_FRONT, FLUSHED, a
    compressed keep-alive, empty, lengths whose other byte orders read as plausible ones),
    from the start or mid-stream, whole or cut anywhere: the same layout, survivors, packets
    and defects as when every candidate is decoded."""
    rng = random.Random(layout.name)
    firsts = [
        S.sip_message(rng),
        S.sip_message(rng, body_size=9000),  # FLUSHED
        b"\r\n",
        b"",
        b"INFO sip:a SIP/2.0\r\n\r\n",  # short: its length's bytes swapped stay small
        b"MESSAGE sip:b SIP/2.0\r\nContent-Length: 3\r\n\r\nabc" + b" " * 230,
    ]
    for first in firsts:
        messages = [first] + S.sip_traffic(rng.randrange(1 << 16), 5)
        wire, starts = encode(messages, layout)
        for mid in (False, True):
            data = wire[starts[1] // 2 :] if mid else wire
            for size in (len(data), 1, rng.randrange(2, 900)):
                chunks = [data[i : i + size] for i in range(0, len(data), size)]
                fast = _decoded(SipcompStreamDecoder(mid_stream=mid), chunks)
                slow = _decoded(_EveryTrial(mid_stream=mid), chunks)
                assert fast == slow


def test_flushed_first_then_layout_settled_by_compressed_packet() -> None:
    layout = layout_by_name("h6-u16be-payload")
    big = S.sip_message(random.Random(5), body_size=9000)  # FLUSHED: plain and payload agree
    messages = [big] + S.sip_traffic(6, 6)
    wire, _ = encode(messages, layout)
    for size in (len(wire), 700):
        dec, packets = decode_all(wire, size=size)
        assert [p.plain for p in packets] == messages
        assert dec.layout == "h6-u16be-payload"
        assert packets[0].flags == PACKET_FLUSHED


def test_32_bit_length_shows_up_late() -> None:
    layout = layout_by_name("h6-u32be-plain")
    huge = b"MESSAGE sip:bob@contoso.com SIP/2.0\r\nContent-Length: 70000\r\n\r\n" + bytes(
        random.Random(1).randbytes(35000).hex(), "ascii"
    )
    messages = S.sip_traffic(7, 3) + [huge] + S.sip_traffic(8, 3)
    wire, _ = encode(messages, layout)
    dec, packets = decode_all(wire)
    assert [p.plain for p in packets] == messages
    assert dec.layout == "h6-u32be-plain"


def test_huge_message_in_16_bit_layout_is_cut_into_flushed_packets() -> None:
    huge = b"INFO sip:x SIP/2.0\r\n\r\n" + b"y" * 140000
    wire, _ = encode([S.sip_message(random.Random(2)), huge])
    _, packets = decode_all(wire)
    assert b"".join(p.plain for p in packets[1:]) == huge
    assert all(p.flags == PACKET_FLUSHED for p in packets[1:]) and len(packets) == 4


def test_unframed_crlf_keepalives_pass_through() -> None:
    messages = S.sip_traffic(9, 4)
    enc = SipcompStreamEncoder()
    wire = b"\r\n\r\n" + enc.encode(messages[0]) + b"\r\n" + enc.encode(messages[1])
    wire += b"\r\n\r\n" + enc.encode(messages[2]) + enc.encode(messages[3]) + b"\r\n\r\n"
    for size in (1, 3, 1460):
        dec, packets = decode_all(wire, size=size)
        assert b"".join(p.plain for p in packets) == b"".join(
            [
                b"\r\n\r\n",
                messages[0],
                b"\r\n",
                messages[1],
                b"\r\n\r\n",
                messages[2],
                messages[3],
                b"\r\n\r\n",
            ]
        )
        assert {p.flags for p in packets if p.plain.strip(b"\r\n") == b""} == {0}
        assert not dec.defects


def test_odd_flags_are_reported_and_decoded_like_rdp() -> None:
    messages = S.sip_traffic(10, 4)
    enc = SipcompStreamEncoder()
    parts = [enc.encode(m) for m in messages]
    # FLUSHED|COMPRESSED on a packet that was compressed against the empty history anyway
    parts[0] = bytes([parts[0][0] | PACKET_FLUSHED]) + parts[0][1:]
    # and a packet without flags: raw pass-through [U]
    options = b"OPTIONS sip:x SIP/2.0\r\n\r\n"
    parts.insert(2, encode_packet(0, options, len(options)))
    dec, packets = decode_all(b"".join(parts))
    assert [p.plain for p in packets] == messages[:2] + [options] + messages[2:]
    reasons = " ".join(d.reason for d in dec.defects)
    assert "inconsistent flags" in reasons and "without flags" in reasons
    assert packets[0].flags == PACKET_FLUSHED | AF_C


# -- failures --------------------------------------------------------------------------------


def test_garbage_gives_a_defect_and_no_output() -> None:
    rng = random.Random(4)
    for blob in (
        rng.randbytes(5000),
        b"\x60\x00\x00\x00\x01\x00" + rng.randbytes(4000),
        b"INVITE sip:bob SIP/2.0\r\n\r\n" * 20,
    ):
        dec, packets = decode_all(blob)
        assert packets == []
        assert dec.defects and dec.layout is None
        assert "no MS-SIPCOMP header layout" in dec.defects[0].reason
        dec.receive_data(b"more", 99, 1.0)  # stays quiet
        assert dec.next_packet() is None


def test_bad_header_in_sync_resynchronises() -> None:
    messages = (
        S.sip_traffic(12, 30) + [S.sip_message(random.Random(3), 9000)] + S.sip_traffic(13, 5)
    )
    wire, starts = encode(messages)
    broken = bytearray(wire)
    broken[starts[10] + 1] = 0x55  # reserved byte of packet 10
    dec, packets = decode_all(bytes(broken))
    assert [p.plain for p in packets[:10]] == messages[:10]
    assert any("bad compression packet header" in d.reason for d in dec.defects)
    exact = [p.plain for p in packets if not p.partial]
    assert exact[-6:] == messages[-6:]  # exact again from the FLUSHED packet on
    for p in packets[10:]:
        assert p.plain in messages or p.partial


def test_damaged_length_does_not_switch_to_the_32_bit_twin() -> None:
    messages = S.sip_traffic(19, 8)
    wire, starts = encode(messages)
    broken = bytearray(wire)
    broken[starts[4]] = 0x80  # FLUSHED ...
    broken[starts[4] + 2] = 0x01  # ... with a length only a 32-bit field could hold
    dec, packets = decode_all(bytes(broken))
    assert dec.layout == "h6-u16be-plain"
    assert [p.plain for p in packets[:4]] == messages[:4]
    assert any("bad compression packet header" in d.reason for d in dec.defects)
    assert all(p.partial or p.plain in messages for p in packets)


def test_scanning_one_byte_at_a_time_keeps_bookkeeping_small() -> None:
    rng = random.Random(9)
    messages = S.sip_traffic(20, 6)
    wire, starts = encode(messages)
    dec = SipcompStreamDecoder(mid_stream=True)
    packets = feed(dec, [bytes([b]) for b in rng.randbytes(3000) + wire[starts[1] - 3 :]])
    assert len(packets) == 5
    for p, m in zip(packets, messages[1:], strict=True):
        assert all(a == b or a == PLACEHOLDER for a, b in zip(p.plain, m, strict=True))
    assert len(dec._frames or ()) < 16  # consumed segments are forgotten while scanning


def test_gap_resynchronises_and_flushed_makes_exact() -> None:
    messages = (
        S.sip_traffic(14, 25) + [S.sip_message(random.Random(6), 8500)] + S.sip_traffic(15, 4)
    )
    wire, starts = encode(messages)
    dec = SipcompStreamDecoder()
    packets = feed(dec, [wire[: starts[5] + 40]])
    dec.receive_gap(300, 50, 50.0)
    packets += feed(dec, [wire[starts[5] + 340 :][i : i + 1000] for i in range(0, len(wire), 1000)])
    assert [p.plain for p in packets[:5]] == messages[:5]
    assert any("missing from the capture" in d.reason for d in dec.defects)
    later = packets[5:]
    assert later and later[0].partial
    assert [p.plain for p in later if not p.partial][-5:] == messages[-5:]
    for p in later:
        if p.partial:
            assert PLACEHOLDER in p.plain


@pytest.mark.parametrize("where", [0.0, 0.0001, 0.2, 0.99])
def test_mid_stream_start(where: float) -> None:
    messages = (
        S.sip_traffic(16, 20) + [S.sip_message(random.Random(1), 9000)] + S.sip_traffic(17, 6)
    )
    wire, starts = encode(messages)
    cut = int(starts[20] * where)  # somewhere before the FLUSHED packet
    dec, packets = decode_all(wire[cut:], mid_stream=True)
    assert dec.layout == "h6-u16be-plain"
    first = next(i for i, s in enumerate(starts) if s >= cut)
    assert len(packets) == len(messages) - first
    for p, m in zip(packets, messages[first:], strict=True):
        assert len(p.plain) == len(m)
        if p.partial:  # literals exact, copies from unknown history are '?'
            assert all(a == b or a == PLACEHOLDER for a, b in zip(p.plain, m, strict=True))
        else:
            assert p.plain == m
    assert [p.partial for p in packets[-7:]] == [False] * 7  # FLUSHED made it exact
    if cut and first < 20:
        assert packets[0].partial


def test_mid_stream_on_garbage_gives_up_quietly() -> None:
    rng = random.Random(8)
    dec = SipcompStreamDecoder(mid_stream=True)
    packets = feed(dec, [rng.randbytes(65536) for _ in range(20)])
    assert packets == []
    assert any("no compression packet boundary" in d.reason for d in dec.defects)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.one_of(st.binary(max_size=300), st.integers(1, 500)), max_size=20),
    st.booleans(),
)
def test_random_input_never_raises(events: list[bytes | int], mid: bool) -> None:
    rng = random.Random(len(events))
    wire, _ = encode(S.sip_traffic(18, 6))
    dec = SipcompStreamDecoder(mid_stream=mid)
    dec.receive_data(wire[: rng.randrange(len(wire))], 1, 0.0)
    for n, ev in enumerate(events, 2):
        if isinstance(ev, int):
            dec.receive_gap(ev, n, 0.0)
        else:
            dec.receive_data(ev, n, 0.0)
        while (p := dec.next_packet()) is not None:
            assert len(p.plain) <= 1 << 20


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(S.sip_messages(), min_size=1, max_size=15), st.integers(1, 3000))
def test_round_trip_property(messages: list[bytes], size: int) -> None:
    messages = [S.sip_message(random.Random(size))] + messages  # a stream starts with SIP
    wire, _ = encode(messages)
    dec, packets = decode_all(wire, size=size)
    got = b"".join(p.plain for p in packets)
    assert got == b"".join(messages)


# -- negotiation -----------------------------------------------------------------------------

NEG = [
    ("Via", "SIP/2.0/TLS 192.0.0.2:2616"),
    ("CSeq", "1 NEGOTIATE"),
    ("Call-ID", "8d8b"),
    ("Compression", "LZ77-8K"),
    ("Max-Forwards", "0"),
    ("Content-Length", "0"),
]


def test_negotiation_switches_both_directions_after_200() -> None:
    t = NegotiationTracker()
    assert t.on_message(0, "NEGOTIATE", None, "NEGOTIATE", NEG) == []
    assert t.on_message(1, None, 100, "NEGOTIATE", NEG) == []
    assert t.on_message(1, None, 200, "NEGOTIATE", NEG) == [0, 1]
    assert t.on_message(0, "NEGOTIATE", None, "NEGOTIATE", NEG) == []  # already compressed
    assert t.on_message(1, None, 200, "NEGOTIATE", NEG) == []


def test_negotiation_server_initiated() -> None:
    t = NegotiationTracker()
    t.on_message(1, "NEGOTIATE", None, "NEGOTIATE", NEG)
    assert t.on_message(0, None, 200, "NEGOTIATE", [(k.lower(), v.lower()) for k, v in NEG]) == [
        0,
        1,
    ]


@pytest.mark.parametrize(
    ("status", "headers"),
    [
        (200, [h for h in NEG if h[0] != "Compression"]),
        (200, [h if h[0] != "Compression" else ("Compression", "None") for h in NEG]),
        (488, NEG),
        (401, NEG),
    ],
)
def test_negotiation_declined(status: int, headers: list[tuple[str, str]]) -> None:
    t = NegotiationTracker()
    t.on_message(0, "NEGOTIATE", None, "NEGOTIATE", NEG)
    assert t.on_message(1, None, status, "NEGOTIATE", headers) == []


def test_negotiation_ignores_keepalive_negotiate_and_others() -> None:
    t = NegotiationTracker()
    keepalive = [h for h in NEG if h[0] != "Compression"] + [("ms-keep-alive", "UAC;hop-hop=yes")]
    t.on_message(0, "NEGOTIATE", None, "NEGOTIATE", keepalive)
    assert t.on_message(1, None, 200, "NEGOTIATE", NEG) == []  # no matching offer
    t.on_message(0, "REGISTER", None, "REGISTER", [("Compression", "LZ77-8K")])
    assert t.on_message(1, None, 200, "REGISTER", [("Compression", "LZ77-8K")]) == []
    t.on_message(0, "NEGOTIATE", None, "NEGOTIATE", NEG)
    assert t.on_message(0, None, 200, "NEGOTIATE", NEG) == []  # answer from the same side
    other = [h if h[0] != "Call-ID" else ("Call-ID", "zzz") for h in NEG]
    assert t.on_message(1, None, 200, "NEGOTIATE", other) == []  # another transaction
    assert t.on_message(1, None, 200, "NEGOTIATE", NEG) == [0, 1]


def _old_header(headers: list[tuple[str, str]], *names: str) -> str | None:
    for name, value in headers:
        if name.lower() in names:
            return value
    return None


def _old_offers_lz77(headers: list[tuple[str, str]]) -> bool:
    for name, value in headers:
        if name.lower() == "compression":
            for token in value.split(","):
                if token.split(";", 1)[0].strip().upper() == "LZ77-8K":
                    return True
    return False


_NAMES = st.sampled_from(["CSeq", "cseq", "Call-ID", "i", "I", "Compression", "compression", "Via"])
_VALUES = st.sampled_from(
    ["", "1 NEGOTIATE", " 2 negotiate ", "x", "LZ77-8K", "None, lz77-8k;q=1", "LZ77-8K;x", "a,b"]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(_NAMES, _VALUES), max_size=8))
def test_negotiation_reads_its_headers_in_one_pass_as_it_did_in_three(
    headers: list[tuple[str, str]],
) -> None:
    from lyncdump.sipcomp.stream import _negotiation_fields

    assert _negotiation_fields(headers) == (
        _old_header(headers, "cseq") or "",
        _old_header(headers, "call-id", "i") or "",
        _old_offers_lz77(headers),
    )


# -- the record classes and the lazily compiled patterns (session 30) ------------------------


def test_header_layouts_compare_hash_and_print_as_the_dataclass_did() -> None:
    from lyncdump.sipcomp.stream import HeaderLayout

    a = HeaderLayout("h6-u16be-plain", 4, 2, "big", "plain")
    assert a == DEFAULT_LAYOUT and hash(a) == hash(DEFAULT_LAYOUT)
    assert a.size == 6 and a.max_length == 0xFFFF
    assert a != HeaderLayout("h6-u16be-plain", 4, 2, "big", "payload")
    assert a != ("h6-u16be-plain", 4, 2, "big", "plain")
    assert len(set(LAYOUTS)) == len(LAYOUTS)
    assert repr(a) == (
        "HeaderLayout(name='h6-u16be-plain', length_at=4, length_width=2, byteorder='big', "
        "counts='plain', size=6, max_length=65535)"
    )
    with pytest.raises(AttributeError):
        a.size = 7  # type: ignore[misc]
    with pytest.raises(AttributeError):
        del a.name  # type: ignore[misc]
    with pytest.raises(AttributeError):
        a.other = 1  # type: ignore[attr-defined]
    import copy
    import pickle

    for again in (copy.copy(a), copy.deepcopy(a), pickle.loads(pickle.dumps(a))):
        assert again == a and again.size == 6 and again.max_length == 0xFFFF
    packet = DecodedPacket(b"x", 7, 0x20, 1, 0.5, False)
    assert pickle.loads(pickle.dumps(packet)) == packet


def test_records_compare_field_by_field_and_print_their_fields() -> None:
    from lyncdump.sipcomp import stream

    p = stream.DecodedPacket(b"OPTIONS", 9, 0x20, 3, 1.5, False)
    assert p == stream.DecodedPacket(b"OPTIONS", 9, 0x20, 3, 1.5, False)
    assert p != stream.DecodedPacket(b"OPTIONS", 9, 0x20, 3, 1.5, True)
    assert repr(p) == (
        "DecodedPacket(plain=b'OPTIONS', wire_size=9, flags=32, frame=3, ts=1.5, partial=False)"
    )
    with pytest.raises(TypeError):
        hash(p)
    with pytest.raises(AttributeError):
        p.other = 1  # type: ignore[attr-defined]
    probe = stream._Probe(0x20)
    assert (probe.tries, probe.have, probe.out, probe.mask, probe.dec) == (0, 0, b"", None, None)
    assert probe == stream._Probe(0x20) and probe != stream._Probe(0x60)
    assert repr(stream._Trial("wait")) == (
        "_Trial(kind='wait', reason='', probe=None, flags=0, failed=(), ended=False)"
    )
    assert stream._Header(0x20, None, 5) == stream._Header(0x20, None, 5)


def test_importing_the_stream_module_compiles_no_pattern_until_one_is_used() -> None:
    """Compiling the module's regular expressions cost more than the rest of its import: a
    run whose compressed connections the compiled path reads needs none of them."""
    import subprocess
    import sys

    code = (
        "import re, lyncdump.sipcomp.stream as s\n"
        "names = ('_TEXT_BAD', '_START_LINE', '_CRLF_RUN', '_RESYNC', '_FLUSHED_AT')\n"
        "print(*(getattr(s, n).__name__ for n in names))\n"
        "m = s._CRLF_RUN(b'x\\r\\n', 1)\n"
        "print(m.span(), s._CRLF_RUN.__self__.pattern, s._TEXT_BAD(b'ab\\x01').start())\n"
        "print([m.start() for m in s._FLUSHED_AT(b'ab\\x80\\x00', 0)])\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.splitlines()
    assert out[0] == "first first first first first"
    assert out[1] == "(1, 3) b'[\\\\r\\\\n]+' 2"
    assert out[2] == "[2]"


class _EofEveryStep(SipcompStreamDecoder):
    """receive_eof as before session 30's sixth round: a last decoding pass whatever state."""

    __slots__ = ()

    def receive_eof(self) -> None:
        if self._eof:
            return
        self._eof = True
        if self._state != _DEAD:
            self._run()
        self._eof = False
        super().receive_eof()


@pytest.mark.parametrize("seed", range(4))
def test_end_of_direction_is_the_same_without_the_last_pass(seed: int) -> None:
    """A direction that ends in sync with nothing buffered skips the last decoding pass; at
    every end (each byte offset of a stream with keep-alives and FLUSHED packets, a lost
    stretch before the end) the packets, defects and ``holds_output`` are as with it."""
    rng = random.Random(seed)
    enc = SipcompStreamEncoder()
    pieces = []
    for n in range(5):
        msg = S.sip_message(rng, body_size=rng.choice([0, 200]))
        pieces.append(encode_packet(PACKET_FLUSHED, msg, len(msg)) if n == 2 else enc.encode(msg))
        if n == 3:
            pieces.append(b"\r\n\r\n")
    data = b"".join(pieces)
    for end in range(0, len(data) + 1, max(1, len(data) // 150)):
        outs = []
        for cls in (SipcompStreamDecoder, _EofEveryStep):
            dec = cls()
            packets = feed(dec, [data[: end // 2], data[end // 2 : end]])
            if seed % 2 and end > 20:
                dec.receive_gap(7, 9, 9.0)
                packets += feed(dec, [data[end - 10 : end]])
            dec.receive_eof()
            held = dec.holds_output
            packets += feed(dec, [])
            outs.append((packets, dec.defects, held, dec.holds_output))
        assert outs[0] == outs[1], end
