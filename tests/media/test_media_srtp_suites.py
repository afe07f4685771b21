"""Every SRTP suite against libsrtp (pylibsrtp): AES_CM_128 and AES_256_CM with HMAC-SHA1 80
and 32 (RFC 4568, 6188), AEAD_AES_128_GCM and AEAD_AES_256_GCM (RFC 7714); SRTP
and SRTCP, both ways (libsrtp protects, lyncdump opens; lyncdump protects, libsrtp opens), over
a sequence-number rollover; then through the pipeline with keys from SDP and from the user."""

from __future__ import annotations

import base64
import io
import struct

import pylibsrtp
import pytest
from pcapgen import Builder

import lyncdump
from lyncdump import fastpath
from lyncdump.errors import KeyMaterialError
from lyncdump.media.srtp import SUITE_KEYS, SrtpContext, parse_key, suite_for_key

from .test_media_fastpath import check

#: libsrtp cipher IDs (srtp.h) for the suites pylibsrtp has no profile for.
_AES_ICM_256, _HMAC_SHA1 = 5, 3


def libsrtp_session(suite: str, key: bytes, inbound: bool) -> pylibsrtp.Session:
    """A libsrtp session for ``suite``. pylibsrtp exposes the DTLS-SRTP profiles only; the
    RFC 6188 AES-256 counter-mode suites are set in its policy's crypto fields (a struct
    of six 32-bit ints: cipher, key+salt length, auth, auth key length, tag length, services),
    after checking that layout on a known profile."""
    ssrc_type = pylibsrtp.Policy.SSRC_ANY_INBOUND if inbound else pylibsrtp.Policy.SSRC_ANY_OUTBOUND
    profiles = {
        "AES_CM_128_HMAC_SHA1_80": pylibsrtp.Policy.SRTP_PROFILE_AES128_CM_SHA1_80,
        "AES_CM_128_HMAC_SHA1_32": pylibsrtp.Policy.SRTP_PROFILE_AES128_CM_SHA1_32,
        "AEAD_AES_128_GCM": pylibsrtp.Policy.SRTP_PROFILE_AEAD_AES_128_GCM,
        "AEAD_AES_256_GCM": pylibsrtp.Policy.SRTP_PROFILE_AEAD_AES_256_GCM,
    }
    if suite in profiles:
        policy = pylibsrtp.Policy(key=key, ssrc_type=ssrc_type, srtp_profile=profiles[suite])
        return pylibsrtp.Session(policy=policy)
    from pylibsrtp._binding import ffi

    policy = pylibsrtp.Policy(key=key, ssrc_type=ssrc_type)
    cipher = _AES_ICM_256
    tag = 10 if suite.endswith("_80") else 4
    for part, tag_length in ((policy._policy.rtp, tag), (policy._policy.rtcp, 10)):
        fields = ffi.cast("uint32_t *", ffi.addressof(part))
        if [fields[i] for i in range(6)] != [1, 30, _HMAC_SHA1, 20, 10, 3]:
            pytest.skip("libsrtp's crypto policy layout is not the one expected")
        fields[0], fields[1], fields[4] = cipher, len(key), tag_length
    return pylibsrtp.Session(policy=policy)


def rtp(seq: int, ts: int, ssrc: int = 0x5EC0DE, pt: int = 0) -> bytes:
    return (
        struct.pack("!BBHII", 0x80, pt, seq & 0xFFFF, ts & 0xFFFFFFFF, ssrc)
        + bytes([seq & 0xFF]) * 160
    )


SUITES = sorted(SUITE_KEYS)


def material(suite: str) -> tuple[bytes, bytes]:
    key_size, salt_size, _ = SUITE_KEYS[suite]
    raw = bytes(range(7, 7 + key_size + salt_size))
    return raw[:key_size], raw[key_size:]


@pytest.mark.parametrize("suite", SUITES)
def test_libsrtp_protects_lyncdump_opens(suite: str) -> None:
    key, salt = material(suite)
    sender = libsrtp_session(suite, key + salt, inbound=False)
    ours = SrtpContext(key, salt, suite)
    # 65,520 .. 65,560: the sequence number wraps, the rollover counter goes to 1.
    for seq in range(65520, 65560):
        clear = rtp(seq, 160 * seq)
        protected = sender.protect(clear)
        assert ours.unprotect(protected, 12) == clear, seq
    assert ours.roc(0x5EC0DE) == 1
    rr = struct.pack("!BBHI", 0x81, 201, 7, 0x5EC0DE) + struct.pack(
        "!IIIIII", 0x1111, 0x01000002, 0x10000, 12, 0, 0
    )
    for _ in range(3):
        assert ours.unprotect_rtcp(sender.protect_rtcp(rr)) == rr
    # Another key opens nothing: counted failures, never garbage.
    other = SrtpContext(bytes(len(key)), salt, suite)
    fresh = libsrtp_session(suite, key + salt, inbound=False)
    assert other.unprotect(fresh.protect(rtp(1, 160)), 12) is None
    assert other.unprotect_rtcp(fresh.protect_rtcp(rr)) is None


@pytest.mark.parametrize("suite", SUITES)
def test_lyncdump_protects_libsrtp_opens(suite: str) -> None:
    key, salt = material(suite)
    receiver = libsrtp_session(suite, key + salt, inbound=True)
    ours = SrtpContext(key, salt, suite)
    for seq in (1, 2, 3, 500):
        clear = rtp(seq, 160 * seq)
        assert receiver.unprotect(ours.protect(clear, 12)) == clear
    rr = struct.pack("!BBHI", 0x80, 201, 1, 0x5EC0DE)
    for index in (1, 2, 3):
        assert receiver.unprotect_rtcp(ours.protect_rtcp(rr, index)) == rr


@pytest.mark.parametrize("suite", ["AES_256_CM_HMAC_SHA1_80", "AEAD_AES_128_GCM"])
def test_mki_and_decrypt_false(suite: str) -> None:
    key, salt = material(suite)
    ctx = SrtpContext(key, salt, suite, mki_length=1)
    clear = rtp(9, 1440)
    protected = ctx.protect(clear, 12, mki=1)
    assert len(protected) == len(clear) + 1 + SrtpContext(key, salt, suite).tag_length
    assert SrtpContext(key, salt, suite, 1).unprotect(protected, 12) == clear
    # Authenticated only (statistics): the packet comes back as given.
    assert SrtpContext(key, salt, suite, 1).unprotect(protected, 12, False) == protected


def test_user_keys_say_their_suite_by_their_length() -> None:
    for suite in ("AES_CM_128_HMAC_SHA1_80", "AES_256_CM_HMAC_SHA1_80", "AEAD_AES_128_GCM",
                  "AEAD_AES_256_GCM"):  # fmt: skip
        key, salt = material(suite)
        text = base64.b64encode(key + salt).decode()
        assert parse_key(text) == (key, salt)
        assert suite_for_key(key, salt) == suite
        assert SrtpContext(key, salt).suite == suite
    with pytest.raises(KeyMaterialError) as err:
        parse_key(base64.b64encode(bytes(31)).decode())
    assert "30 or 46" in str(err.value)
    with pytest.raises(KeyMaterialError):
        SrtpContext(bytes(16), bytes(14), "AEAD_AES_128_GCM")


# -- through the pipeline ----------------------------------------------------------------------


def call(suite: str, *, in_sdp: bool, rtcp: bool = True) -> tuple[bytes, str]:
    """A call announcing SRTP with ``suite`` (in an a=crypto line when ``in_sdp``), then 60
    SRTP packets and 3 SRTCP receiver reports from libsrtp."""
    key, salt = material(suite)
    b64 = base64.b64encode(key + salt).decode()
    b = Builder()
    crypto = f"a=crypto:1 {suite} inline:{b64}|2^31\r\n" if in_sdp else ""
    body = (
        "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\n"
        "m=audio 50000 RTP/SAVP 0\r\n" + crypto
    )
    invite = (
        "INVITE sip:b@example.com SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bK1\r\n"
        "From: <sip:a@example.com>;tag=1\r\nTo: <sip:b@example.com>\r\nCall-ID: srtp-suite\r\n"
        "CSeq: 1 INVITE\r\nContent-Type: application/sdp\r\n"
        f"Content-Length: {len(body)}\r\n\r\n" + body
    ).encode()
    b.udp(0.0, "10.0.0.1", 5060, "10.0.0.2", 5060, invite)
    sender = libsrtp_session(suite, key + salt, inbound=False)
    for i in range(60):
        b.udp(0.1 + 0.02 * i, "10.0.0.1", 50000, "10.0.0.2", 40000, sender.protect(rtp(i, 160 * i)))
        if rtcp and i % 20 == 19:
            rr = struct.pack("!BBHI", 0x81, 201, 7, 0x5EC0DE) + struct.pack(
                "!IIIIII", 0x5EC0DE, 0x00000000, i, 3, 0, 0
            )
            b.udp(0.1 + 0.02 * i, "10.0.0.1", 50001, "10.0.0.2", 40001, sender.protect_rtcp(rr))
    return b.pcap_bytes(), b64


@pytest.mark.parametrize("suite", SUITES)
def test_keys_from_sdp_open_every_suite(suite: str) -> None:
    data, _ = call(suite, in_sdp=True)
    cap = lyncdump.analyze(io.BytesIO(data))
    (st,) = cap.streams()
    assert (st.packets, st.lost, st.srtp_decrypted, st.srtp_auth_failures) == (60, 0, 60, 0)
    tracker = cap.media.rtp  # type: ignore[union-attr]
    assert tracker.rtcp_types == {"ReceiverReport": 3, "SRTCP decrypted": 3}
    # The reports were read: their jitter (3 timestamp units at 8 kHz) is on the stream.
    assert st.rtcp_reports == 3 and st.rtcp_jitter_ms == 0.375
    assert not cap.defects.items


@pytest.mark.parametrize("suite", ["AES_256_CM_HMAC_SHA1_80", "AEAD_AES_256_GCM"])
def test_user_keys_open_them_too(suite: str) -> None:
    data, b64 = call(suite, in_sdp=False)
    (st,) = lyncdump.analyze(io.BytesIO(data), srtp_keys=(b64,)).streams()
    assert (st.srtp_decrypted, st.srtp_auth_failures) == (60, 0)
    # Without the key: counted failures, the SRTCP recognised and left unread.
    cap = lyncdump.analyze(io.BytesIO(data))
    (st,) = cap.streams()
    assert st.srtp_decrypted == 0
    assert cap.media.rtp.rtcp_types == {"SRTCP encrypted": 3}  # type: ignore[union-attr]
    assert not cap.defects.items


@pytest.mark.skipif(not fastpath.AVAILABLE, reason="compiled fast path not in use")
@pytest.mark.parametrize("suite", SUITES)
def test_fast_path_takes_hmac_suites_and_leaves_gcm_to_python(
    suite: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    data, _ = call(suite, in_sdp=True)
    consumed = check(data, monkeypatch)  # same results with and without the fast path
    if suite.startswith("AEAD"):
        assert consumed == 0  # the fast path checks HMAC-SHA1 only
    else:
        assert consumed > 40
