"""media/demux.py: RFC 7983 first-byte rules plus MS multiplexed TURN and pseudo-TLS."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from scenario_turn import pseudo_tls_client_hello, pseudo_tls_server_hello, rtp

from lyncdump.media import demux as d
from lyncdump.media import stun as s

BINDING = s.serialize(0x0001, s.MAGIC_COOKIE_BYTES + bytes(12), [])


def test_classify_by_first_bytes() -> None:
    assert d.classify(BINDING) == d.STUN
    assert d.classify(b"\x40\x03\x00\x04abcd") == d.CHANNEL_DATA
    assert d.classify(rtp(1)) == d.RTP
    assert d.classify(bytes([0x80, 200]) + bytes(26)) == d.RTCP  # SR
    assert d.classify(bytes([0x81, 206]) + bytes(10)) == d.RTCP  # PSFB (MS PLI)
    assert d.classify(b"\x16\xfe\xfd" + bytes(20)) == d.DTLS
    assert d.classify(b"\x17\x03\x03\x00\x10" + bytes(16)) == d.TLS
    assert d.classify(pseudo_tls_client_hello()) == d.PSEUDO_TLS
    assert d.classify(pseudo_tls_server_hello()) == d.PSEUDO_TLS
    assert d.classify(b"\xff\x10\x00\x08" + bytes(8)) == d.MULTIPLEXED_TURN
    assert d.classify(b"\xff\x80" + bytes(20)) == d.EDGE_REPLICATION
    assert d.classify(b"\x10" + bytes(20)) == d.ZRTP
    assert d.classify(b"") == d.UNKNOWN
    assert d.classify(b"\x01\x01\x00\x08" + bytes(4)) == d.UNKNOWN  # STUN-ish, no cookie, short


def test_channel_data_and_multiplexed_frames() -> None:
    assert d.channel_data(b"\x40\x03\x00\x03abc\x00") == (0x4003, b"abc")
    assert d.channel_data(b"\x40\x03\x00\x09abc") is None
    session = bytes(range(8))
    frame = b"\xff\x10" + (8 + len(BINDING)).to_bytes(2, "big") + session + BINDING
    assert d.multiplexed_frame(frame) == (session, BINDING)
    assert d.multiplexed_frame(frame[:-1]) is None


def test_port_preferences_like_the_lync_plugin() -> None:
    prefs = d.PortPreferences()
    assert prefs.turn_port(3478) and prefs.turn_port(443, tcp=True)
    assert prefs.turn_port(50000)  # dynamic range on
    strict = d.PortPreferences(dynamic=False)
    assert not strict.turn_port(50000) and strict.turn_port(3478)
    assert not strict.turn_port(443)  # 443 is a TCP preference


@given(st.binary(max_size=64))
def test_random_bytes_classify_without_error(data: bytes) -> None:
    assert isinstance(d.classify(data), str)
    d.channel_data(data)
    d.multiplexed_frame(data)
