"""NTLM crypto against independent vectors: RFC 1320 (MD4), [MS-NLMP] 4.2.4 (NTLMv2), and a real
Communicator 2007 R2 <-> OCS 2007 R2 exchange whose signatures were produced by Microsoft code."""

from __future__ import annotations

import base64

import pytest

from lyncdump.sip.auth import auth_headers, signature_buffer
from lyncdump.sip.message import parse_message
from lyncdump.sip.ntlm import (
    NtlmAuthenticate,
    NtlmChallenge,
    NtlmContext,
    hmac_md5,
    md4,
    nt_owf_v2,
    ntlm_mac,
    parse_ntlm,
    rc4,
)

from . import ms_sipe_vectors as v


@pytest.mark.parametrize(
    ("text", "digest"),
    [  # RFC 1320 appendix A.5
        (b"", "31d6cfe0d16ae931b73c59d7e0c089c0"),
        (b"a", "bde52cb31de33e46245e05fbdbd6fb24"),
        (b"abc", "a448017aaf21d8525fc10ae87aa6729d"),
        (b"message digest", "d9130a8164549fe818874806e1c7014b"),
        (b"abcdefghijklmnopqrstuvwxyz", "d79e1c308aa5bbcdeea8ed63df412da9"),
        (
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
            "043f8582f241db351ce627e153e7f0e4",
        ),
        (b"1234567890" * 8, "e33b4ddc9c38f2199c3e7b164fcc0536"),
    ],
)
def test_md4_rfc1320(text: bytes, digest: str) -> None:
    assert md4(text).hex() == digest


def test_rc4_known_vectors() -> None:
    assert rc4(b"Key", b"Plaintext").hex() == "bbf316e8d940af0ad3"
    assert rc4(b"Wiki", b"pedia").hex() == "1021bf0420"


def test_hmac_md5_rfc2202() -> None:
    assert hmac_md5(b"\x0b" * 16, b"Hi There").hex() == "9294727a3638bb1c13f48ef8158bfc9d"


def test_ms_nlmp_ntlmv2_example() -> None:
    """[MS-NLMP] 4.2.4: User/Domain/Password, server challenge 0123456789abcdef, time 0."""
    key = nt_owf_v2("Password", "User", "Domain")
    assert key.hex().upper() == "0C868A403BFD7A93A3001EF22EF02E3F"
    info = bytes.fromhex(
        "02000c0044006f006d00610069006e0001000c005300650072007600650072000000000000000000"
    )[:36]
    blob = b"\x01\x01" + b"\x00" * 6 + b"\x00" * 8 + b"\xaa" * 8 + b"\x00" * 4 + info + b"\x00" * 4
    proof = hmac_md5(key, bytes.fromhex("0123456789abcdef") + blob)
    assert proof.hex().upper() == "68CD0AB851E51C96AABC927BEBEF6A1C"
    base = hmac_md5(key, proof)
    assert base.hex().upper() == "8DE40CCADBC14A82F15CB0AD0DE95CA3"
    assert rc4(base, b"\x55" * 16).hex().upper() == "C5DAD2544FC9799094CE1CE90BC9D03E"


def test_ms_nlmp_signing_keys_and_mac() -> None:
    """[MS-NLMP] 4.2.4.4: SIGNKEY/SEALKEY and the MAC of "Plaintext" without key exchange."""
    challenge = NtlmChallenge(0, b"", "", [], b"", None)
    auth = NtlmAuthenticate(0xE28A8233, "Domain", "User", "", b"", b"", b"", None, None)
    ctx = NtlmContext.from_exchange(challenge, auth, "Password")
    assert ctx.proof_valid is None  # no NTLMv2 response to check
    ctx = NtlmContext(flags=0xE28A8233, proof_valid=True, exported_session_key=b"\x55" * 16)
    from lyncdump.sip import ntlm as n

    sign = n._md5(b"\x55" * 16 + n._CLIENT_SIGN)
    seal = n._md5(b"\x55" * 16 + n._CLIENT_SEAL)
    assert sign.hex().upper() == "4788DC861B4782F35D43FD98FE1A2D39"
    assert seal.hex().upper() == "59F600973CC4960A25480A7C196E4C58"
    text = "Plaintext".encode("utf-16-le")
    mac = ntlm_mac(0xE28A8233 & ~0x40000000, text, sign, seal, 0)
    assert mac.hex().upper() == "0100000070352851F256430900000000"


def test_real_exchange_decodes() -> None:
    challenge = parse_ntlm(v.TYPE2)
    auth = parse_ntlm(base64.b64decode(v.TYPE3_B64))
    assert isinstance(challenge, NtlmChallenge) and isinstance(auth, NtlmAuthenticate)
    assert challenge.server_challenge.hex() == "dd1baaf4e7e218d1"
    assert challenge.flags == 0xE29882F3
    assert str(challenge.version) == "5.2.3790"
    assert challenge.av("NbDomainName") == "COSMO"
    assert challenge.av("NbComputerName") == "COSMO-OCS-R2"
    assert challenge.av("DnsDomainName") == "cosmo.local"
    assert challenge.av("DnsComputerName") == "cosmo-ocs-r2.cosmo.local"
    assert challenge.av("DnsTreeName") == "cosmo.local"
    assert (auth.domain, auth.user, auth.workstation) == ("COSMO", "User", "COSMO-OCS-R2")
    assert auth.flags == 0x62988255
    assert "DATAGRAM" in auth.flag_names and "KEY_EXCH" in auth.flag_names
    assert auth.lm_response.hex().upper() == "A1E92EFE4E078BF7C5C0049ACC6166C2D6AE875CB0FDAA41"
    assert len(auth.nt_response) == 198
    assert auth.ntlmv2 is not None
    assert auth.ntlmv2.nt_proof.hex().upper() == "8DC0C800AE76ECA606D2B9FBEBD04731"
    assert auth.ntlmv2.client_challenge.hex().upper() == "D6AE875CB0FDAA41"
    assert auth.ntlmv2.timestamp is not None
    assert auth.ntlmv2.timestamp.strftime("%Y-%m-%d %H:%M:%S") == "2010-03-01 10:08:08"
    assert auth.encrypted_session_key.hex().upper() == "31CB739E1CA80A498591E8AE797115E4"
    assert auth.mic is None


def _context(password: str) -> NtlmContext:
    challenge = parse_ntlm(v.TYPE2)
    auth = parse_ntlm(base64.b64decode(v.TYPE3_B64))
    assert isinstance(challenge, NtlmChallenge) and isinstance(auth, NtlmAuthenticate)
    return NtlmContext.from_exchange(challenge, auth, password)


def test_real_exchange_password_and_signatures() -> None:
    ctx = _context(v.PASSWORD)
    assert ctx.proof_valid is True
    req = v.REQUEST_SIG.encode()
    resp = v.RESPONSE_SIG.encode()
    assert ctx.sign(req, from_client=True, seq=100).hex() == "0100000029618e9651b65a7764000000"
    assert ctx.check(req, "0100000029618e9651b65a7764000000", from_client=True) is True
    assert ctx.check(resp, "01000000E615438A917661BE64000000", from_client=False) is True
    # a signature from the wrong side, or over other text, does not verify
    assert ctx.check(resp, "0100000029618e9651b65a7764000000", from_client=True) is False
    assert ctx.check(req + b"x", "0100000029618e9651b65a7764000000", from_client=True) is False
    assert ctx.check(req, "zz", from_client=True) is None


def test_wrong_password_is_reported() -> None:
    ctx = _context("Pa$$word!")
    assert ctx.proof_valid is False
    assert (
        ctx.check(v.REQUEST_SIG.encode(), "0100000029618e9651b65a7764000000", from_client=True)
        is None
    )


def test_version2_signature_without_ess() -> None:
    key = v.V2_SESSION_KEY
    text = v.V2_SIG.encode()
    assert ntlm_mac(0x60000000, text, key, key, 100).hex().upper() == (
        "0100000000000000BF2E52667DDF6DED"
    )
    ctx = NtlmContext(0x60000000, True, key, key, key, key, key)
    assert ctx.check(text, "0100000000000000BF2E52667DDF6DED", from_client=False) is True


@pytest.mark.parametrize(
    ("raw", "expected", "version"),
    [
        (v.REQUEST, v.REQUEST_SIG, 4),
        (v.RESPONSE, v.RESPONSE_SIG, 4),
        (v.SYMBIAN_180, v.SYMBIAN_180_SIG, 4),
        (v.V2_RESPONSE, v.V2_SIG, None),
    ],
)
def test_signature_buffer_matches_real_messages(
    raw: bytes, expected: str, version: int | None
) -> None:
    m = parse_message(raw)
    auth = next(a for a in auth_headers(m) if a.signature)
    assert signature_buffer(m, auth, version) == expected
