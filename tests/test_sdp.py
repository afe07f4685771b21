"""SDP parsing (RFC 4566) with the attributes media decoding needs (RFC 4568 crypto,
[MS-SDPEXT] cryptoscale), on a Lync-style offer (ms-media.md 5.4/6 examples)."""

from __future__ import annotations

import base64
import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lyncdump.errors import MalformedError
from lyncdump.sdp import packed_address, parse_crypto, parse_sdp

KEY = base64.b64encode(bytes(range(30))).decode()
LYNC = f"""v=0
o=- 0 0 IN IP4 192.168.1.20
s=session
c=IN IP4 192.168.1.20
b=CT:99980
t=0 0
m=audio 21000 RTP/SAVP 114 9 112 111 0 8 116 115 4 97 13 118 101
a=x-ssrc-range:1337-1337
a=rtcp:21001
a=cryptoscale:1 client AES_CM_128_HMAC_SHA1_80 inline:{KEY}|2^31|1:1
a=crypto:2 AES_CM_128_HMAC_SHA1_80 inline:{KEY}|2^31|1:1
a=crypto:3 AES_CM_128_HMAC_SHA1_80 inline:{KEY}|2^31
a=rtpmap:114 x-msrta/16000
a=rtpmap:112 G7221/16000/1
a=rtpmap:101 telephone-event/8000
a=fmtp:101 0-16
a=encryption:optional
m=video 0 RTP/AVP 121
c=IN IP4 10.0.0.9
a=rtcp-mux
""".replace("\n", "\r\n").encode()


def test_lync_offer() -> None:
    sd = parse_sdp(LYNC)
    assert sd.version == 0 and sd.session_name == "session"
    assert sd.connection is not None and sd.connection.packed == bytes([192, 168, 1, 20])
    audio, video = sd.media
    assert (audio.media, audio.port, audio.proto) == ("audio", 21000, "RTP/SAVP")
    assert audio.formats[:3] == ["114", "9", "112"]
    assert audio.rtpmap() == {114: ("x-msrta", 16000), 112: ("G7221", 16000),
                              101: ("telephone-event", 8000)}  # fmt: skip
    assert audio.rtcp_port == 21001
    assert audio.attribute("encryption") == "optional"
    assert audio.attributes[0] == ("x-ssrc-range", "1337-1337")
    scale, c2, c3 = audio.cryptos()
    assert scale.scale and scale.tag == 1 and (c2.mki, c2.mki_length) == (1, 1)
    assert c3.mki is None and c3.key == bytes(range(16)) and c3.salt == bytes(range(16, 30))
    assert KEY not in repr(c3)
    assert video.port == 0 and video.rtcp_port == 0
    assert (
        sd.media_connection(video) is not None and sd.media_connection(video).address == "10.0.0.9"
    )


def test_bad_lines_become_defects() -> None:
    sd = parse_sdp(b"v=0\r\nthis is not sdp\r\nm=audio x RTP/AVP 0\r\nm=audio 5\r\nc=IN\r\n")
    assert len(sd.defects) == 4 and sd.media == []


def test_crypto_rejects_bad_material() -> None:
    assert parse_crypto("1 AES_CM_128_HMAC_SHA1_80 inline:AAAA") is None
    assert parse_crypto("x AES_CM_128_HMAC_SHA1_80 inline:" + KEY) is None
    assert parse_crypto(f"1 AES_CM_128_HMAC_SHA1_80 inline:{KEY}|1:0") is None


def test_not_sdp() -> None:
    with pytest.raises(MalformedError):
        parse_sdp(b"\r\n\r\n")


def test_truncation_at_every_length() -> None:
    for n in range(len(LYNC)):
        try:
            parse_sdp(LYNC[:n])
        except MalformedError:
            pass


@given(st.binary(max_size=200))
def test_random_bytes(data: bytes) -> None:
    try:
        sd = parse_sdp(data)
        for m in sd.media:
            m.rtpmap()
            m.cryptos()
            _ = m.rtcp_port
    except MalformedError:
        pass


def test_announced_ssrcs() -> None:
    sd = parse_sdp(
        b"v=0\r\nc=IN IP4 10.0.0.1\r\nm=audio 5000 RTP/AVP 0\r\na=x-ssrc-range:100-120\r\n"
        b"a=ssrc:3405691582 cname:a\r\na=ssrc:3405691582 msid:x y\r\na=ssrc:99999999999 cname:b\r\n"
        b"a=ssrc:\r\na=ssrc:7\r\n"
    )
    assert sd.media[0].ssrcs() == [(100, 120), (3405691582, 3405691582), (7, 7)]


def _ipaddress_packed(text: str) -> bytes | None:
    try:
        return ipaddress.ip_address(text).packed
    except ValueError:
        return None


_OCTETS = st.one_of(
    st.integers(0, 300).map(str),
    st.sampled_from(["", "00", "01", "007", "0255", "1_0", "+1", " 1", "1 ", "²", "١", "a"]),
    st.text(alphabet="0123456789", max_size=4),
)


@given(st.lists(_OCTETS, min_size=1, max_size=6).map(".".join))
def test_packed_address_is_what_ipaddress_gives(text: str) -> None:
    """The dotted quad read without ipaddress: the same bytes, the same refusals (leading
    zeros, octets over 255, non-ASCII digits, blanks, signs), other texts left to it."""
    assert packed_address(text) == _ipaddress_packed(text)


@pytest.mark.parametrize(
    "text", ["10.0.0.1", "0.0.0.0", "255.255.255.255", "::1", "2001:db8::1", "fe80::1%eth0",
             "host.example", "", "1.2.3.4/24", "::ffff:1.2.3.4"],
)  # fmt: skip
def test_packed_address_of_other_texts(text: str) -> None:
    assert packed_address(text) == _ipaddress_packed(text)
