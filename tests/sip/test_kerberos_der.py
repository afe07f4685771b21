"""The hand DER reader of Kerberos AP-REQ/AP-REP (sip/kerberos.py ``_read_plain``) against
pyasn1 (``_fill``), the independent decoder it stands in for.

Whatever the hand reader accepts, pyasn1 must decode to the very same token; whatever it
declines, pyasn1 decides (and words the error), so :func:`parse_gss_token` gives the same
answer with or without it. Checked on the samples' tokens, on generated AP-REQs and AP-REPs
(every field, long and non-minimal lengths, odd bit strings, non-UTF-8 names, trailing
bytes) and on their mutations (hypothesis).
"""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lyncdump.api import Capture
from lyncdump.errors import MalformedError
from lyncdump.sip import kerberos
from lyncdump.sip.auth import auth_headers
from lyncdump.sip.kerberos import GssToken, parse_gss_token

from ..conftest import CAPTURES

_KRB5_OID = bytes.fromhex("06092a864886f712010202")


def _by_pyasn1(kind: str, body: bytes) -> GssToken | str:
    """The token as pyasn1 alone fills it, or its error's text."""
    from lyncdump.sip._kerberos_asn1 import PyAsn1Error

    token = GssToken(mechanism="krb5", message=kind)
    try:
        kerberos._fill(token, kind, body)
    except (PyAsn1Error, ValueError, TypeError, IndexError, KeyError, MalformedError) as exc:
        return f"error: {exc}"
    return token


def _check_agrees(kind: str, body: bytes) -> bool:
    """Assert the hand reader, where it reads, agrees with pyasn1; True when it read."""
    token = GssToken(mechanism="krb5", message=kind)
    read = kerberos._read_plain(token, kind, body)
    if read:
        assert _by_pyasn1(kind, body) == token
    else:  # declined: untouched
        assert token == GssToken(mechanism="krb5", message=kind)
    return read


def _parse_both(data: bytes) -> tuple[object, object]:
    """parse_gss_token's answer (token or error) with the hand reader and without it."""

    def run() -> object:
        try:
            return parse_gss_token(data)
        except MalformedError as exc:
            return ("error", exc.layer, exc.offset, str(exc))

    with_reader = run()
    saved = kerberos._read_plain
    kerberos._read_plain = lambda token, kind, body: False  # type: ignore[assignment]
    try:
        without = run()
    finally:
        kerberos._read_plain = saved
    return with_reader, without


# -- DER building ------------------------------------------------------------------------------


def _length(n: int, long_form: int = 0) -> bytes:
    """A DER length; ``long_form`` > 0 forces that many length octets (non-minimal)."""
    if long_form:
        return bytes([0x80 | long_form]) + n.to_bytes(long_form, "big")
    if n < 0x80:
        return bytes([n])
    size = (n.bit_length() + 7) // 8
    return bytes([0x80 | size]) + n.to_bytes(size, "big")


def _tlv(tag: int, content: bytes, long_form: int = 0) -> bytes:
    return bytes([tag]) + _length(len(content), long_form) + content


def _int(value: int) -> bytes:
    # Minimal two's complement (DER): -128 is one byte (0x80), not two (0xff 0x80).
    size = max(1, ((value if value >= 0 else ~value).bit_length() + 8) // 8)
    return _tlv(0x02, value.to_bytes(size, "big", signed=True))


def _ctx(n: int, content: bytes) -> bytes:
    return _tlv(0xA0 | n, content)


def _enc_data(etype: int, kvno: int | None, cipher: bytes) -> bytes:
    fields = _ctx(0, _int(etype))
    if kvno is not None:
        fields += _ctx(1, _int(kvno))
    return _tlv(0x30, fields + _ctx(2, _tlv(0x04, cipher)))


def _ap_req(
    *,
    realm: bytes,
    names: list[bytes],
    name_type: int,
    etype: int,
    kvno: int | None,
    auth_etype: int,
    bits: bytes,
    cipher: bytes,
    long_form: int,
) -> bytes:
    sname = _tlv(0x30, _ctx(0, _int(name_type)) + _ctx(1, _tlv(0x30, b"".join(
        _tlv(0x1B, n) for n in names))))  # fmt: skip
    ticket = _tlv(0x61, _tlv(0x30, _ctx(0, _int(5)) + _ctx(1, _tlv(0x1B, realm))
                  + _ctx(2, sname) + _ctx(3, _enc_data(etype, kvno, cipher))))  # fmt: skip
    fields = (
        _ctx(0, _int(5))
        + _ctx(1, _int(14))
        + _ctx(2, _tlv(0x03, bits))
        + _ctx(3, ticket)
        + _ctx(4, _enc_data(auth_etype, None, cipher[:40]))
    )
    return _tlv(0x6E, _tlv(0x30, fields, long_form))


def _ap_rep(etype: int, cipher: bytes) -> bytes:
    fields = _ctx(0, _int(5)) + _ctx(1, _int(15)) + _ctx(2, _enc_data(etype, None, cipher))
    return _tlv(0x6F, _tlv(0x30, fields))


def _wrap(tok_id: bytes, message: bytes) -> bytes:
    inner = _KRB5_OID + tok_id + message
    return b"\x60" + _length(len(inner)) + inner


# -- real tokens --------------------------------------------------------------------------------


def _sample_tokens() -> list[bytes]:
    found = []
    for m in Capture(CAPTURES / "lync-internal-kerberos.pcapng").messages():
        for a in auth_headers(m):
            data = a.token()
            if data and data[:1] == b"\x60":
                found.append(data)
    return found


def test_sample_tokens_are_read_by_hand_as_pyasn1_reads_them() -> None:
    tokens = _sample_tokens()
    assert tokens
    for data in tokens:
        i = data.find(b"\x01\x00\x6e")  # TOK_ID of an AP-REQ, then its tag
        assert i > 0
        assert _check_agrees("AP-REQ", data[i + 2 :])
        with_reader, without = _parse_both(data)
        assert with_reader == without
        assert isinstance(with_reader, GssToken)
        assert with_reader.service == "sip/fe01.contoso.com"
        assert with_reader.ticket_kvno == 3
        assert with_reader.ap_options == ["mutual-required"]


def test_generated_ap_req_and_ap_rep_read_by_hand() -> None:
    req = _ap_req(realm=b"CONTOSO.COM", names=[b"sip", b"fe01.contoso.com"], name_type=2,
                  etype=18, kvno=7, auth_etype=23, bits=b"\x00\x60\x00\x00\x00",
                  cipher=bytes(300), long_form=0)  # fmt: skip
    assert _check_agrees("AP-REQ", req)
    token = parse_gss_token(_wrap(b"\x01\x00", req))
    assert (token.realm, token.service, token.ticket_etype, token.ticket_kvno) == (
        "CONTOSO.COM", "sip/fe01.contoso.com", 18, 7)  # fmt: skip
    assert token.authenticator_etype == 23
    assert token.ap_options == ["use-session-key", "mutual-required"]
    rep = _ap_rep(18, bytes(60))
    assert _check_agrees("AP-REP", rep)
    assert parse_gss_token(_wrap(b"\x02\x00", rep)).ticket_etype == 18


@pytest.mark.parametrize(
    "change",
    [
        lambda b: b.replace(b"\x6e\x82", b"\x6e\x83\x00", 1),  # non-minimal length
        lambda b: b + b"\x00\x00",  # trailing bytes: read (pyasn1 leaves them too)
        lambda b: b[:-1],  # cut short
        lambda b: b.replace(b"\x03\x05\x00", b"\x03\x05\x03", 1),  # unused bits
    ],
)
def test_unusual_encodings_agree(change: object) -> None:
    req = _ap_req(realm=b"R", names=[b"sip", b"x"], name_type=2, etype=23, kvno=3,
                  auth_etype=23, bits=b"\x00\x20\x00\x00\x00", cipher=bytes(200),
                  long_form=0)  # fmt: skip
    changed = change(req)  # type: ignore[operator]
    _check_agrees("AP-REQ", changed)
    with_reader, without = _parse_both(_wrap(b"\x01\x00", changed))
    assert with_reader == without


# -- generated (hypothesis) ---------------------------------------------------------------------

_names = st.lists(st.binary(max_size=12), max_size=4)
_ints = st.integers(min_value=-(2**31), max_value=2**31 - 1)


@settings(max_examples=300, deadline=None)
@given(
    realm=st.binary(max_size=40),
    names=_names,
    name_type=_ints,
    etype=_ints,
    kvno=st.none() | _ints,
    auth_etype=_ints,
    bits=st.binary(max_size=6),
    cipher=st.binary(max_size=300),
    long_form=st.sampled_from([0, 0, 0, 1, 2, 3]),
    trailing=st.binary(max_size=3),
)
def test_generated_ap_req_agrees(
    realm: bytes,
    names: list[bytes],
    name_type: int,
    etype: int,
    kvno: int | None,
    auth_etype: int,
    bits: bytes,
    cipher: bytes,
    long_form: int,
    trailing: bytes,
) -> None:
    req = _ap_req(realm=realm, names=names, name_type=name_type, etype=etype, kvno=kvno,
                  auth_etype=auth_etype, bits=bits, cipher=cipher,
                  long_form=long_form) + trailing  # fmt: skip
    read = _check_agrees("AP-REQ", req)
    if long_form == 0 and bits[:1] == b"\x00" and len(bits) > 1:
        assert read  # the plain case is read by hand
    with_reader, without = _parse_both(_wrap(b"\x01\x00", req))
    assert with_reader == without


@settings(max_examples=300, deadline=None)
@given(
    kind=st.sampled_from(["AP-REQ", "AP-REP"]),
    offset=st.integers(min_value=0, max_value=400),
    junk=st.binary(min_size=1, max_size=4),
    delete=st.booleans(),
)
def test_mutated_messages_agree(kind: str, offset: int, junk: bytes, delete: bool) -> None:
    if kind == "AP-REQ":
        base = _ap_req(realm=b"CONTOSO.COM", names=[b"sip", b"fe01"], name_type=2, etype=23,
                       kvno=3, auth_etype=23, bits=b"\x00\x20\x00\x00\x00", cipher=bytes(150),
                       long_form=0)  # fmt: skip
    else:
        base = _ap_rep(23, bytes(40))
    data = bytearray(base)
    offset %= len(data)
    if delete:
        del data[offset : offset + len(junk)]
    else:
        data[offset : offset + len(junk)] = junk
    _check_agrees(kind, bytes(data))
    tok_id = b"\x01\x00" if kind == "AP-REQ" else b"\x02\x00"
    with_reader, without = _parse_both(_wrap(tok_id, bytes(data)))
    assert with_reader == without


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200), st.sampled_from(["AP-REQ", "AP-REP"]))
def test_random_bytes_agree(data: bytes, kind: str) -> None:
    _check_agrees(kind, data)
    for prefix in (b"\x6e", b"\x6f", b"\x6e\x81"):
        _check_agrees(kind, prefix + data)


def test_token_fields_are_all_compared() -> None:
    # _check_agrees compares whole tokens: a field added to GssToken is compared too.
    assert {f.name for f in dataclasses.fields(GssToken)} >= {
        "realm", "service", "name_type", "ticket_version", "ticket_etype", "ticket_kvno",
        "authenticator_etype", "ap_options", "error_code", "error_text",
    }  # fmt: skip
