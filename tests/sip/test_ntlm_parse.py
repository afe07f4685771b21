"""NTLM message decoding: values cross-checked with tshark 4.0.17, and hostile input.

The CHALLENGE/AUTHENTICATE of captures/lync-remote-ntlm.pcapng were put into an HTTP exchange
and decoded by tshark (its SIP dissector does not open gssapi-data); the literals below are what
tshark printed.
"""

from __future__ import annotations

import base64

from hypothesis import given, settings
from hypothesis import strategies as st

from lyncdump.api import Capture
from lyncdump.errors import MalformedError
from lyncdump.sip.auth import auth_headers
from lyncdump.sip.ntlm import NtlmAuthenticate, NtlmChallenge, parse_ntlm

from ..conftest import CAPTURES
from . import ms_sipe_vectors as v


def _tokens() -> tuple[bytes, bytes]:
    chal = auth = b""
    for m in Capture(CAPTURES / "lync-remote-ntlm.pcapng").messages():
        for a in auth_headers(m):
            data = a.token()
            if data and data[8:9] == b"\x02":
                chal = data
            elif data and data[8:9] == b"\x03":
                auth = data
    return chal, auth


def test_sample_challenge_as_tshark_reads_it() -> None:
    chal, _ = _tokens()
    c = parse_ntlm(chal)
    assert isinstance(c, NtlmChallenge)
    assert c.flags == 0xE2888255
    assert c.server_challenge.hex() == "5a013c9107e46bd2"
    assert c.target_name == "CONTOSO"
    assert [(p.name, p.text) for p in c.target_info][:5] == [
        ("NbDomainName", "CONTOSO"),
        ("NbComputerName", "FE01"),
        ("DnsDomainName", "contoso.com"),
        ("DnsComputerName", "fe01.contoso.com"),
        ("DnsTreeName", "contoso.com"),
    ]
    assert c.timestamp is not None
    assert c.timestamp.isoformat() == "2025-12-31T00:00:01+00:00"
    assert (c.version.major, c.version.minor, c.version.build) == (10, 0, 17763)  # type: ignore[union-attr]


def test_sample_authenticate_as_tshark_reads_it() -> None:
    _, auth = _tokens()
    a = parse_ntlm(auth)
    assert isinstance(a, NtlmAuthenticate)
    assert (a.domain, a.user, a.workstation) == ("CONTOSO", "alice", "ALICE-LAPTOP")
    assert a.flags == 0xE2888255
    assert a.encrypted_session_key.hex() == "ade988c2e8acfea05142c4cfcfe3e4ee"
    assert a.ntlmv2 is not None
    assert a.ntlmv2.nt_proof.hex() == "e9f0324e09b37654eee9000cfa8cacb1"
    assert a.ntlmv2.client_challenge.hex() == "0111223344556677"
    assert a.ntlmv2.timestamp is not None
    assert a.ntlmv2.timestamp.isoformat() == "2025-12-31T00:00:01.200000+00:00"
    assert str(a.version) == "10.0.19045"
    assert a.ntlm_version == "NTLMv2"


def test_truncation_at_every_length_raises_only_malformed() -> None:
    for data in (v.TYPE2, base64.b64decode(v.TYPE3_B64)):
        for n in range(len(data)):
            try:
                parse_ntlm(data[:n])
            except MalformedError:
                pass


def test_bad_signature_and_type() -> None:
    for data in (b"", b"NTLMSSP", b"XXXXXXXX\x02\x00\x00\x00", b"NTLMSSP\x00\x09\x00\x00\x00"):
        try:
            parse_ntlm(data)
        except MalformedError as exc:
            assert exc.layer == "ntlm"
        else:
            raise AssertionError(f"{data!r} parsed")


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400), st.sampled_from([1, 2, 3]))
def test_random_bytes_never_raise_anything_else(tail: bytes, kind: int) -> None:
    data = b"NTLMSSP\x00" + bytes([kind, 0, 0, 0]) + tail
    try:
        parse_ntlm(data)
    except MalformedError:
        pass


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=0, max_value=351), st.binary(min_size=1, max_size=8))
def test_mutated_real_message(offset: int, junk: bytes) -> None:
    data = bytearray(base64.b64decode(v.TYPE3_B64))
    data[offset : offset + len(junk)] = junk
    try:
        parse_ntlm(bytes(data))
    except MalformedError:
        pass
