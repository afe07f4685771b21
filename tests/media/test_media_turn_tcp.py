"""media/turn_tcp.py: detection of the TCP framings, the pseudo-TLS hello, frames across and
within segments, resync after a gap, truncation and random bytes."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from scenario_turn import (
    _control,
    _data,
    _ms,
    _tid,
    pseudo_tls_client_hello,
    pseudo_tls_server_hello,
    rtp,
)

from lyncdump.media import stun as s
from lyncdump.media import turn_tcp as t

ALLOCATE = _ms(0x0003, _tid(1), [(0x8008, (3).to_bytes(4, "big"))])
BINDING = s.serialize(0x0001, _tid(2), [(0x0024, b"\x00\x00\x00\x01")])


def test_pseudo_tls_hellos_have_the_spec_sizes_and_are_detected() -> None:
    client, server = pseudo_tls_client_hello(), pseudo_tls_server_hello()
    assert len(client) == t.PSEUDO_TLS_CLIENT_SIZE == 50
    assert len(server) == t.PSEUDO_TLS_SERVER_SIZE == 83
    assert t.is_pseudo_tls_client_hello(client) and t.is_pseudo_tls_server_hello(server)
    assert t.detect(client) == "pseudo-tls" and t.detect(server) == "pseudo-tls"


def test_real_tls_client_hello_is_not_pseudo_tls() -> None:
    # A TLS 1.2 ClientHello offering two suites: same first bytes, different shape.
    real = bytearray(pseudo_tls_client_hello())
    real[45] = 4  # cipher-suites length 4
    assert not t.is_pseudo_tls_client_hello(bytes(real))
    assert t.detect(bytes(real)) is None


def test_detect_each_framing() -> None:
    assert t.detect(_control(ALLOCATE)) == t.MS_TURN
    assert t.detect(_data(rtp(1))) == t.MS_TURN
    assert t.detect(len(BINDING).to_bytes(2, "big") + BINDING) == t.RFC4571
    assert t.detect(BINDING) == t.STUN_TCP
    assert t.detect(b"INVITE sip:a@b SIP/2.0\r\n") is None
    assert t.detect(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03") is None


def test_ms_turn_pseudo_tls_then_frames_split_and_joined() -> None:
    stream = pseudo_tls_client_hello() + _control(ALLOCATE) + _data(rtp(7)) + _control(ALLOCATE)
    framer = t.TcpMediaFramer(t.MS_TURN, pseudo_tls=True)
    got = []
    for i in range(0, len(stream), 7):  # 7-byte segments: every frame crosses segments
        framer.receive_data(stream[i : i + 7], i, 0.0)
        while (unit := framer.next_frame()) is not None:
            got.append((unit.kind, unit.payload))
    assert framer.hello_seen
    assert got == [("control", ALLOCATE), ("data", rtp(7)), ("control", ALLOCATE)]
    assert not framer.defects


def test_ms_turn_data_with_inner_rfc4571_length_is_stripped() -> None:
    payload = rtp(3)
    framed = b"\x03\x00" + (len(payload) + 2).to_bytes(2, "big") + len(payload).to_bytes(2, "big")
    framer = t.TcpMediaFramer(t.MS_TURN)
    framer.receive_data(framed + payload, 1, 0.0)
    unit = framer.next_frame()
    assert unit is not None and unit.payload == payload


def test_rfc4571_and_stun_tcp_several_in_one_segment() -> None:
    framer = t.TcpMediaFramer(t.RFC4571)
    framer.receive_data((len(BINDING).to_bytes(2, "big") + BINDING) * 3, 1, 0.0)
    assert [framer.next_frame() is not None for _ in range(4)] == [True, True, True, False]
    plain = t.TcpMediaFramer(t.STUN_TCP)
    channel = b"\x40\x01\x00\x05hello\x00\x00\x00"  # ChannelData padded to 4 over TCP
    plain.receive_data(BINDING + channel + BINDING, 1, 0.0)
    units = [plain.next_frame() for _ in range(3)]
    assert [u.payload for u in units if u] == [BINDING, channel[:9], BINDING]


def test_gap_resyncs_on_next_frame() -> None:
    framer = t.TcpMediaFramer(t.MS_TURN)
    framer.receive_data(_control(ALLOCATE)[:10], 1, 0.0)
    framer.receive_gap(30, 2, 0.1)
    framer.receive_data(_control(ALLOCATE)[40:] + _control(ALLOCATE), 3, 0.2)
    unit = framer.next_frame()
    assert unit is not None and unit.payload == ALLOCATE
    assert framer.defects  # the gap and the skipped bytes are reported


def test_truncation_at_every_length_yields_nothing_and_never_raises() -> None:
    full = _control(ALLOCATE)
    for n in range(len(full)):
        framer = t.TcpMediaFramer(t.MS_TURN)
        framer.receive_data(full[:n], 1, 0.0)
        assert framer.next_frame() is None
        t.detect(full[:n])


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200), st.sampled_from([t.MS_TURN, t.RFC4571, t.STUN_TCP]))
def test_random_bytes_never_raise(data: bytes, framing: str) -> None:
    t.detect(data)
    framer = t.TcpMediaFramer(framing, pseudo_tls=framing == t.MS_TURN)
    framer.receive_data(data, 1, 0.0)
    for _ in range(300):
        if framer.next_frame() is None:
            break
    assert len(framer.buffer) <= len(data)
