"""SDP with Microsoft's extensions: ICE v19 and draft-6 candidates, x-ssrc-range, labels, b=.

Candidate lines follow ../shared/reference/ms-media.md 4.1 (the draft-6 example is the shape
of a real Lync 2013 INVITE there). tshark 4.0.17 (``-V`` on captures/lync-av-call.pcapng)
gives the v19 lines the same port and type as here; it reads only the v19 grammar, so for a
draft-6 line it shows the address as "Candidate Port" — the reason draft-6 is parsed apart.
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from lyncdump.errors import MalformedError
from lyncdump.sdp import parse_candidate, parse_sdp

V19 = "3 1 UDP 16648703 198.51.100.10 56000 typ relay raddr 192.0.2.77 rport 50020"
V6 = (
    "QhW2rK8wXyZ0aB1cD2eF3gH4iJ5kL6mN7oP8qR9sT0u 1 ZkF0xY2wV3uT4sR5qP6oNw UDP 0.830 "
    "192.168.66.57 31848"
)
SDP = b"""v=0
o=- 0 1 IN IP4 10.0.1.20
s=session
c=IN IP4 198.51.100.10
b=CT:99980
t=0 0
a=x-mediabw:main-video send=4000;recv=4000
m=audio 56000 RTP/SAVP 0 101
b=AS:64
a=ice-ufrag:Au1x
a=ice-pwd:alicepasswordaudio000001
a=candidate:1 1 UDP 2130706431 10.0.1.20 50010 typ host
a=candidate:3 1 UDP 16648703 198.51.100.10 56000 typ relay raddr 192.0.2.77 rport 50020
a=x-candidate-ipv6:4 1 UDP 33553407 2001:db8::20 50030 typ host
a=candidate:2 1 TCP-ACT 174455807 198.51.100.10 55000 typ relay raddr 10.0.1.20 rport 50011
a=rtcp-mux
a=label:main-audio
a=sendonly
m=video 55000 RTP/SAVP 122
a=x-ssrc-range:2000-2099
a=x-source:main-video
m=applicationsharing 0 TCP/RTP/AVP 127
a=rtpmap:127 x-data/90000
m=message 5060 sip null
"""


def test_ice_v19_candidate() -> None:
    c = parse_candidate(V19)
    assert c is not None
    assert (c.foundation, c.component, c.transport, c.priority) == ("3", 1, "UDP", 16648703)
    assert (c.address, c.port, c.type) == ("198.51.100.10", 56000, "relay")
    assert (c.related_address, c.related_port, c.ice_version) == ("192.0.2.77", 50020, "19")
    assert c.packed == bytes([198, 51, 100, 10])


def test_ice_draft6_candidate() -> None:
    c = parse_candidate(V6)
    assert c is not None
    assert c.ice_version == "6" and c.type == "host"
    assert (c.component, c.transport, c.priority) == (1, "UDP", 830)
    assert (c.address, c.port) == ("192.168.66.57", 31848)
    assert c.username == "QhW2rK8wXyZ0aB1cD2eF3gH4iJ5kL6mN7oP8qR9sT0u"
    assert c.password == "ZkF0xY2wV3uT4sR5qP6oNw"
    assert "ZkF0" not in repr(c)  # ICE passwords are not printed


def test_media_attributes() -> None:
    sd = parse_sdp(SDP)
    assert [m.media for m in sd.media] == ["audio", "video", "applicationsharing", "message"]
    audio, video, share, message = sd.media
    assert sd.ice_version == "19"
    assert (audio.ice_ufrag, audio.ice_pwd) == ("Au1x", "alicepasswordaudio000001")
    cands = audio.candidates()
    assert [(c.transport, c.type, c.port) for c in cands] == [
        ("UDP", "host", 50010), ("UDP", "relay", 56000), ("UDP", "host", 50030),
        ("TCP-ACT", "relay", 55000),
    ]  # fmt: skip
    assert cands[2].address == "2001:db8::20"
    assert audio.label == "main-audio" and audio.direction == "sendonly"
    assert audio.rtcp_port == 56000  # rtcp-mux
    assert audio.bandwidth() == {"AS": 64}
    assert sd.bandwidth() == {"CT": 99980}
    assert sd.attribute("x-mediabw") == "main-video send=4000;recv=4000"
    assert video.ssrc_range == (2000, 2099) and video.label == "main-video"
    assert video.direction == "sendrecv" and video.candidates() == []
    assert share.port == 0 and share.proto == "TCP/RTP/AVP"
    assert share.rtpmap() == {127: ("x-data", 90000)}
    assert (message.port, message.proto, message.formats) == (5060, "sip", ["null"])


def test_ice_version_of_a_draft6_part_and_of_no_ice() -> None:
    sd = parse_sdp(b"v=0\nc=IN IP4 10.0.0.1\nm=audio 5000 RTP/AVP 0\na=candidate:" + V6.encode())
    assert sd.ice_version == "6"
    assert parse_sdp(b"v=0\nm=audio 5000 RTP/AVP 0\n").ice_version is None


def test_bad_candidates_and_ranges_are_skipped() -> None:
    for bad in ("", "1 1 UDP", "1 x UDP 5 10.0.0.1 5000 typ host",
                "1 1 UDP 5 10.0.0.1 70000 typ host", "u 1 p UDP 2.5 10.0.0.1 5000",
                "u 1 p UDP 0.5 10.0.0.1 port"):  # fmt: skip
        assert parse_candidate(bad) is None, bad
    sd = parse_sdp(b"v=0\nm=video 1 RTP/AVP 1\na=x-ssrc-range:9-2\n")
    assert sd.media[0].ssrc_range is None


def test_truncation_at_every_length_never_raises_anything_else() -> None:
    for n in range(len(SDP) + 1):
        try:
            sd = parse_sdp(SDP[:n])
        except MalformedError:
            continue
        for m in sd.media:
            m.candidates()
            _ = (m.ssrc_range, m.label, m.direction, m.bandwidth(), sd.ice_version)
    for n in range(len(V19) + 1):
        parse_candidate(V19[:n])
        parse_candidate(V6[:n])


@given(st.binary(max_size=400))
def test_random_bytes(data: bytes) -> None:
    try:
        sd = parse_sdp(data)
    except MalformedError:
        return
    for m in sd.media:
        m.candidates()
        _ = (m.ssrc_range, m.bandwidth(), sd.ice_version, sd.bandwidth())


@given(st.text(max_size=120))
def test_random_candidate_text(text: str) -> None:
    parse_candidate(text)
