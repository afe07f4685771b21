"""Kerberos GSS-API tokens, and hostile input.

The AP-REQ of captures/lync-internal-kerberos.pcapng as tshark 4.0.17 decodes it (the AP-REQ
bytes sent to UDP/88): realm CONTOSO.COM, sname sip/fe01.contoso.com name-type 2, ticket etype
23 kvno 3, authenticator etype 23, ap-options 20000000.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from lyncdump.api import Capture
from lyncdump.errors import MalformedError
from lyncdump.sip.auth import auth_headers
from lyncdump.sip.kerberos import GssToken, parse_gss_token

from ..conftest import CAPTURES


def _token() -> bytes:
    for m in Capture(CAPTURES / "lync-internal-kerberos.pcapng").messages():
        for a in auth_headers(m):
            data = a.token()
            if data:
                return data
    raise AssertionError("no Kerberos token in the sample")


def test_ap_req_as_tshark_reads_it() -> None:
    t = parse_gss_token(_token())
    assert t.mechanism == "krb5"
    assert t.message == "AP-REQ"
    assert t.realm == "CONTOSO.COM"
    assert t.service == "sip/fe01.contoso.com"
    assert t.name_type == 2
    assert t.ticket_version == 5
    assert (t.ticket_etype, t.ticket_kvno, t.authenticator_etype) == (23, 3, 23)
    assert t.ticket_etype_name == "rc4-hmac"
    assert t.ap_options == ["mutual-required"]


def test_other_token_ids_and_oids() -> None:
    data = bytearray(_token())
    legacy = bytes(data).replace(
        bytes.fromhex("2a864886f712010202"), bytes.fromhex("2a864882f712010202"), 1
    )
    assert parse_gss_token(legacy).mechanism == "krb5 (Microsoft legacy OID)"
    # TOK_ID 04 04 is not a Kerberos message we decode: named, not parsed
    i = data.find(b"\x01\x00\x6e")
    odd = bytes(data[:i]) + b"\x04\x04" + bytes(data[i + 2 :])
    assert parse_gss_token(odd).message == "token 0404"


def test_spnego_wrapping_krb5() -> None:
    inner = _token()
    spnego_body = (
        bytes.fromhex("06062b0601050502") + b"\xa0\x82" + len(inner).to_bytes(2, "big") + inner
    )
    outer = b"\x60\x82" + len(spnego_body).to_bytes(2, "big") + spnego_body
    t = parse_gss_token(outer)
    assert t.mechanism == "SPNEGO/krb5"
    assert t.service == "sip/fe01.contoso.com"


def test_truncation_at_every_length() -> None:
    data = _token()
    for n in range(len(data)):
        try:
            parse_gss_token(data[:n])
        except MalformedError as exc:
            assert exc.layer == "kerberos"


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_random_bytes(data: bytes) -> None:
    for candidate in (data, b"\x60" + bytes([len(data) & 0x7F]) + data):
        try:
            assert isinstance(parse_gss_token(candidate), GssToken)
        except MalformedError:
            pass


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=0, max_value=400), st.binary(min_size=1, max_size=4))
def test_mutated_real_token(offset: int, junk: bytes) -> None:
    data = bytearray(_token())
    offset %= len(data)
    data[offset : offset + len(junk)] = junk
    try:
        parse_gss_token(bytes(data))
    except MalformedError:
        pass
