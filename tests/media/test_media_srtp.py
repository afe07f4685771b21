"""SRTP/SRTCP: packets protected by libsrtp (pylibsrtp) are opened by lyncdump; a wrong key
gives counted authentication failures and the header statistics stay right."""

from __future__ import annotations

import base64
import io
import struct

import pylibsrtp
import pytest
from pcapgen import Builder

import lyncdump
from lyncdump.errors import KeyMaterialError
from lyncdump.media.srtp import SrtpContext, parse_key

KEY = bytes(range(1, 31))
B64 = base64.b64encode(KEY).decode()


def _session(key: bytes = KEY, profile: int = pylibsrtp.Policy.SRTP_PROFILE_AES128_CM_SHA1_80):
    policy = pylibsrtp.Policy(
        key=key, ssrc_type=pylibsrtp.Policy.SSRC_ANY_OUTBOUND, srtp_profile=profile
    )
    return pylibsrtp.Session(policy=policy)


def _rtp(seq: int, ts: int, ssrc: int = 0x5EC0DE, pt: int = 0) -> bytes:
    return (
        struct.pack("!BBHII", 0x80, pt, seq & 0xFFFF, ts & 0xFFFFFFFF, ssrc)
        + bytes([seq & 0xFF]) * 160
    )


@pytest.mark.parametrize(
    ("profile", "suite"),
    [
        (pylibsrtp.Policy.SRTP_PROFILE_AES128_CM_SHA1_80, "AES_CM_128_HMAC_SHA1_80"),
        (pylibsrtp.Policy.SRTP_PROFILE_AES128_CM_SHA1_32, "AES_CM_128_HMAC_SHA1_32"),
    ],
)
def test_libsrtp_packets_decrypt_across_rollover(profile: int, suite: str) -> None:
    sender = _session(profile=profile)
    ctx = SrtpContext(KEY[:16], KEY[16:], suite)
    for i in range(65530, 65545):  # sequence numbers wrap: the rollover counter moves to 1
        clear = _rtp(i, i * 160)
        assert ctx.unprotect(sender.protect(clear), 12) == clear
    assert ctx.roc(0x5EC0DE) == 1


def test_srtcp_decrypts() -> None:
    sender = _session()
    rr = struct.pack("!BBHI", 0x81, 201, 7, 0x5EC0DE) + struct.pack("!IIIIII", 1, 2, 3, 4, 5, 6)
    ctx = SrtpContext(KEY[:16], KEY[16:])
    assert ctx.unprotect_rtcp(sender.protect_rtcp(rr)) == rr


def test_wrong_key_fails_authentication() -> None:
    sender = _session()
    ctx = SrtpContext(bytes(16), bytes(14))
    assert ctx.unprotect(sender.protect(_rtp(1, 160)), 12) is None
    assert ctx.unprotect_rtcp(sender.protect_rtcp(struct.pack("!BBHI", 0x80, 201, 1, 9))) is None


def test_user_key_parsing_never_echoes() -> None:
    assert parse_key("inline:" + B64 + "|2^31|1:1") == (KEY[:16], KEY[16:])
    with pytest.raises(KeyMaterialError) as err:
        parse_key("c2VjcmV0")
    assert "c2VjcmV0" not in str(err.value)


def _call(keys_in_sdp: bool) -> bytes:
    """A call whose caller announces SRTP with an a=crypto line, then 50 SRTP packets."""
    b = Builder()
    crypto = f"a=crypto:2 AES_CM_128_HMAC_SHA1_80 inline:{B64}|2^31\r\n" if keys_in_sdp else ""
    body = (
        "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\n"
        "m=audio 50000 RTP/SAVP 0 101\r\na=rtpmap:101 telephone-event/8000\r\n" + crypto
    )
    invite = (
        "INVITE sip:b@example.com SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bK1\r\n"
        "From: <sip:a@example.com>;tag=1\r\nTo: <sip:b@example.com>\r\nCall-ID: srtp-1\r\n"
        "CSeq: 1 INVITE\r\nContent-Type: application/sdp\r\n"
        f"Content-Length: {len(body)}\r\n\r\n" + body
    ).encode()
    b.udp(0.0, "10.0.0.1", 5060, "10.0.0.2", 5060, invite)
    sender = _session()
    for i in range(50):
        clear = _rtp(1000 + i, 8000 + 160 * i)
        if i in (20, 21):  # DTMF "5", same timestamp, second one ends it
            clear = struct.pack("!BBHII", 0x80, 101, 1000 + i, 8000 + 160 * 20, 0x5EC0DE)
            clear += struct.pack("!BBH", 5, 0x8A if i == 21 else 0x0A, 160 * (i - 19))
        b.udp(0.1 + 0.02 * i, "10.0.0.1", 50000, "10.0.0.2", 40000, sender.protect(clear))
    return b.pcap_bytes()


def test_keys_from_sdp_decrypt_in_the_pipeline() -> None:
    cap = lyncdump.analyze(io.BytesIO(_call(True)))
    (st,) = cap.streams()
    assert (st.packets, st.lost, st.srtp_decrypted, st.srtp_auth_failures) == (50, 0, 50, 0)
    assert st.call_id == "srtp-1" and st.encrypted
    assert [(e[0], e[3]) for e in st.dtmf_events] == [(5, 1)]


def test_user_key_and_wrong_key() -> None:
    cap = lyncdump.analyze(io.BytesIO(_call(False)), srtp_keys=(B64,))
    (st,) = cap.streams()
    assert (st.srtp_decrypted, st.srtp_auth_failures) == (50, 0)
    wrong = base64.b64encode(bytes(30)).decode()
    cap = lyncdump.analyze(io.BytesIO(_call(False)), srtp_keys=(wrong,))
    (st,) = cap.streams()
    # Every packet fails authentication; header statistics are still those of the stream.
    assert (st.srtp_decrypted, st.srtp_auth_failures, st.packets, st.lost) == (0, 50, 50, 0)
    assert st.dtmf_events == []


def test_our_protect_is_what_libsrtp_opens() -> None:
    ours = SrtpContext(KEY[:16], KEY[16:])
    receiver = pylibsrtp.Session(
        policy=pylibsrtp.Policy(key=KEY, ssrc_type=pylibsrtp.Policy.SSRC_ANY_INBOUND)
    )
    clear = _rtp(77, 12320)
    assert receiver.unprotect(ours.protect(clear, 12)) == clear
    rr = struct.pack("!BBHI", 0x80, 201, 1, 0x5EC0DE)
    assert receiver.unprotect_rtcp(ours.protect_rtcp(rr, 1)) == rr


def test_mki_is_skipped() -> None:
    ctx = SrtpContext(KEY[:16], KEY[16:], mki_length=1)
    clear = _rtp(5, 800)
    protected = ctx.protect(clear, 12, mki=1)
    assert len(protected) == len(clear) + 1 + 10
    assert SrtpContext(KEY[:16], KEY[16:], mki_length=1).unprotect(protected, 12) == clear


def test_sample_capture_matches_tshark_and_opens_srtp() -> None:
    from tests.conftest import CAPTURES

    cap = lyncdump.analyze(CAPTURES / "lync-call-srtp.pcap")
    by_ssrc = {s.ssrc: s for s in cap.streams()}
    a, b = by_ssrc[0xA11CE], by_ssrc[0xB0B]
    # tshark 4.0.17 -q -z rtp,streams on the same file (headers are not encrypted)
    assert (a.packets, a.lost, a.problem) == (147, 3, True)
    assert abs(a.mean_delta - 20.375) < 0.001 and abs(a.mean_jitter - 3.579) < 0.001
    assert (b.packets, b.lost, round(b.max_jitter, 3)) == (150, 0, 0.388)
    # what tshark cannot do: SRTP opened with the SDP keys, SRTCP reports, DTMF inside SRTP
    assert (a.srtp_decrypted, a.srtp_auth_failures, b.srtp_decrypted) == (147, 0, 150)
    assert "".join("0123456789*#"[e[0]] for e in a.dtmf_events) == "1#"
    assert a.rtcp_reports == 2 and a.rtcp_cumulative_lost == 3
    assert by_ssrc[0x5EC0DE8].call_id is None and a.call_id == b.call_id
    assert cap.media is not None and cap.media.rtp.ms_extensions == {"estimated bandwidth": 4}
