"""Auth header parsing ([MS-SIPAE] grammar, Digest) and gssapi-data dispatch; hostile input.

Parameter values of the sample were cross-checked with tshark 4.0.17's SIP dissector
(``-d tcp.port==5061,sip`` on captures/lync-remote-ntlm.pcapng): opaque 6A1C8E01, crand
1f2e3d01, cnum 1, rspauth 01000000A06A77C52A92D98664000000, srand 9A8B7C01, snum 1.
"""

from __future__ import annotations

import datetime as dt
import struct

from hypothesis import given, settings
from hypothesis import strategies as st

from lyncdump.api import Capture
from lyncdump.errors import MalformedError
from lyncdump.sip.auth import (
    AuthParams,
    auth_headers,
    decode_token,
    parse_auth,
    parse_tls_dsk,
    signature_kind,
)
from lyncdump.sip.message import parse_message

from ..conftest import CAPTURES


def test_lync_2013_challenges() -> None:
    a = parse_auth(
        'TLS-DSK realm="SIP Communications Service", targetname="LYNC2013-SERVER.lync.loc", '
        'version=4, sts-uri="https://LYNC2013-SERVER.lync.loc:443/CertProv/CertProvisioningService.svc"',
        "WWW-Authenticate",
    )
    assert a.scheme == "TLS-DSK"
    assert a.kind == "challenge"
    assert a.realm == "SIP Communications Service"
    assert a.targetname == "LYNC2013-SERVER.lync.loc"
    assert a.version == 4
    assert a.sts_uri == "https://LYNC2013-SERVER.lync.loc:443/CertProv/CertProvisioningService.svc"
    k = parse_auth(
        'Kerberos realm="SIP Communications Service", targetname="sip/LYNC2013-SERVER.lync.loc", version=4'  # noqa: E501
    )
    assert k.targetname == "sip/LYNC2013-SERVER.lync.loc"
    assert k.sa_key == (
        "kerberos",
        "SIP Communications Service",
        "sip/LYNC2013-SERVER.lync.loc",
        "",
    )


def test_server_info_and_old_unquoted_values() -> None:
    a = parse_auth(
        'NTLM rspauth="01000000E615438A917661BE64000000", srand="9616454F", snum="1", '
        'opaque="2BDBAC9D", qop="auth", targetname="cosmo-ocs-r2.cosmo.local", '
        'realm="SIP Communications Service"',
        "Authentication-Info",
    )
    assert a.kind == "info"
    assert (a.rand, a.num, a.signature) == ("9616454F", "1", "01000000E615438A917661BE64000000")
    assert a.version is None
    old = parse_auth("NTLM realm=Contoso RTC Service Provider, snum=1, srand=98984345, qop=auth")
    assert old.realm == "Contoso RTC Service Provider"
    assert (old.params["snum"], old.params["srand"], old.params["qop"]) == ("1", "98984345", "auth")


def test_digest_has_no_ms_signature() -> None:
    d = parse_auth(
        'Digest username="alice", realm="example.com", nonce="ea9c", uri="sip:example.com", '
        'response="bf57e4e0d0bffc0fbaedce64d59add5e", algorithm=MD5, qop=auth, nc=00000001, cnonce="0a4f113b"',  # noqa: E501
        "Authorization",
    )
    assert d.scheme == "Digest"
    assert d.params["username"] == "alice"
    assert d.params["nc"] == "00000001"
    assert d.signature is None


def test_tolerates_junk() -> None:
    a = parse_auth('NTLM , ,realm="x", lonely, gssapi-data="abc')
    assert a.realm == "x"
    assert a.problems == ["parameter without value 'lonely'", "unterminated quote in gssapi-data"]
    assert parse_auth("").scheme == ""
    assert parse_auth('realm="only"').realm == "only"


def test_sample_values_match_tshark() -> None:
    msgs = Capture(CAPTURES / "lync-remote-ntlm.pcapng").messages()
    found = [a for m in msgs for a in auth_headers(m)]
    assert [a.header for a in found[:3]] == [
        "WWW-Authenticate",
        "WWW-Authenticate",
        "Authorization",
    ]
    cred = next(a for a in found if a.kind == "credentials" and a.signature)
    assert (cred.opaque, cred.rand, cred.num) == ("6A1C8E01", "1f2e3d01", "1")
    info = next(a for a in found if a.kind == "info")
    assert info.signature == "01000000A06A77C52A92D98664000000"
    assert (info.rand, info.num) == ("9A8B7C01", "1")


def test_signature_kinds() -> None:
    assert signature_kind("01000000E615438A917661BE64000000") == "NTLM signature"
    assert (
        signature_kind("602306092A864886F71201020201011100FFFFFFFF104A8EDFA12CC095AAA663DF55824DCB")
        == "Kerberos RC4 MIC"
    )
    assert signature_kind("65d8d93b66e5b217115e3b1636bf433c9f5df54a") == "HMAC 20 B"
    assert signature_kind(None) is None


def test_decode_token_errors_are_malformed() -> None:
    bad = AuthParams("Authorization", "NTLM", {"gssapi-data": "!!!not base64!!!"})
    try:
        decode_token(bad)
    except MalformedError as exc:
        assert exc.reason == "gssapi-data is not base64"
    else:
        raise AssertionError("no error")
    assert decode_token(AuthParams("Authorization", "NTLM", {"gssapi-data": ""})) is None


def _self_signed_der() -> bytes:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "fe01.contoso.com")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(dt.datetime(2026, 1, 1))
        .not_valid_after(dt.datetime(2027, 1, 1))
        .sign(key, hashes.SHA256())
    )
    from cryptography.hazmat.primitives.serialization import Encoding

    return cert.public_bytes(Encoding.DER)


def _handshake(kind: int, body: bytes) -> bytes:
    return bytes([kind]) + len(body).to_bytes(3, "big") + body


def test_tls_dsk_server_flight() -> None:
    der = _self_signed_der()
    hello = b"\x03\x01" + b"\x11" * 32 + b"\x00" + struct.pack("!H", 0x0005) + b"\x00"
    certs = len(der).to_bytes(3, "big") + der
    msgs = (
        _handshake(2, hello)
        + _handshake(11, len(certs).to_bytes(3, "big") + certs)
        + _handshake(13, b"\x01\x01\x00\x00")
        + _handshake(14, b"")
    )
    record = b"\x16\x03\x01" + struct.pack("!H", len(msgs)) + msgs
    token = parse_tls_dsk(record)
    assert token.messages == ["ServerHello", "Certificate", "CertificateRequest", "ServerHelloDone"]
    assert token.cipher_suite == 0x0005
    assert token.certificates == ["CN=fe01.contoso.com"]
    assert token.tls_version == "TLS1.0"
    for n in range(len(record)):
        try:
            parse_tls_dsk(record[:n])
        except MalformedError:
            pass
    ccs = b"\x14\x03\x01\x00\x01\x01" + b"\x16\x03\x01\x00\x04" + b"\xaa" * 4
    assert parse_tls_dsk(ccs).messages == ["ChangeCipherSpec", "Finished"]


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_parse_auth_never_raises(text: str) -> None:
    a = parse_auth(text, "Authorization")
    assert isinstance(a.params, dict)
    _ = (a.version, a.signature, a.token(), a.sa_key)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300), st.sampled_from(["NTLM", "Kerberos", "TLS-DSK", "X"]))
def test_decode_token_random_bytes(data: bytes, scheme: str) -> None:
    import base64

    auth = AuthParams("Authorization", scheme, {"gssapi-data": base64.b64encode(data).decode()})
    try:
        decode_token(auth)
    except MalformedError:
        pass


def test_auth_headers_all_six_in_order() -> None:
    raw = (
        b"SIP/2.0 407 Proxy Authentication Required\r\n"
        b"Via: SIP/2.0/TCP h;branch=z9hG4bK1\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:a@b>\r\n"
        b"Call-ID: c\r\nCSeq: 1 REGISTER\r\n"
        b'Proxy-Authenticate: NTLM realm="r", targetname="t"\r\n'
        b'PROXY-AUTHENTICATION-INFO: NTLM rspauth="01", srand="1", snum="1"\r\n'
        b'www-authenticate: Kerberos realm="r", targetname="sip/t"\r\n'
        b'Authorization: TLS-DSK realm="r"\r\nProxy-Authorization: NTLM realm="r"\r\n'
        b'Authentication-Info: TLS-DSK rspauth="aa"\r\nContent-Length: 0\r\n\r\n'
    )
    found = auth_headers(parse_message(raw))
    assert [a.header for a in found] == [
        "Proxy-Authenticate",
        "Proxy-Authentication-Info",
        "WWW-Authenticate",
        "Authorization",
        "Proxy-Authorization",
        "Authentication-Info",
    ]


_AUTH_PIECES = [
    "NTLM ", "Kerberos", "TLS-DSK ", 'qop="auth"', "realm=", '"SIP Communications Service"', ",",
    ", ", " ", "\t", "=", '"', "crand=1f", "Cnum=2", 'targetname="fe.contoso.com"', "x", "é",
    'opaque=""', "a=b=c", "response=01", ",,",
]  # fmt: skip


@settings(max_examples=500, deadline=None)
@given(st.lists(st.sampled_from(_AUTH_PIECES), max_size=14).map("".join))
def test_plain_parameter_lists_read_as_the_general_loop_reads_them(text: str) -> None:
    """The one-regex reading of ``k="v", k=v`` lists gives what the character loop gives."""
    from lyncdump.sip import auth

    got = parse_auth(text, "Authorization")
    scheme, _, rest = text.strip().partition(" ")
    if "=" in scheme:
        rest = text.strip()
    want = auth.AuthParams(header="Authorization", scheme=got.scheme, raw=text)
    auth._read_params(rest, want)
    assert list(got.params.items()) == list(want.params.items())
    assert got.problems == want.problems
