"""Kerberos tokens in SIP ``gssapi-data``: the GSS-API wrapper and the AP-REQ inside it.

Lync clients send the raw krb5 mechanism token (RFC 1964 / RFC 2743 3.1): ``0x60`` + length,
the mechanism OID, a two-byte TOK_ID (``01 00`` AP-REQ, ``02 00`` AP-REP, ``03 00`` KRB-ERROR)
and the DER Kerberos message. The wrapper is read by hand. An AP-REQ or AP-REP in plain DER
(definite minimal lengths, primitive strings, the RFC 4120 fields in order and nothing else:
what Windows sends) is read by hand too (:func:`_read_plain`, tens of µs instead of pyasn1's
0.6 ms); anything else, and every KRB-ERROR, is decoded by pyasn1 with the few RFC 4120 types
in ``_kerberos_asn1`` (pyasn1-modules has no RFC 4120 module), which also words every error.
The hand reader gives up rather than guess, so both give the same token for what it reads
(tests/sip/test_kerberos_der.py). What a passive reader can show without keys: realm, service
principal, encryption types, key version, ap-options.
Bad input raises :class:`~lyncdump.errors.MalformedError` (layer ``kerberos``), nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..errors import MalformedError

__all__ = ["ENCTYPES", "GssToken", "parse_gss_token"]

_LAYER = "kerberos"

_OIDS = {
    bytes.fromhex("2a864886f712010202"): "krb5",
    bytes.fromhex("2a864882f712010202"): "krb5 (Microsoft legacy OID)",
    bytes.fromhex("2b0601050502"): "SPNEGO",
}
_TOK_IDS = {b"\x01\x00": "AP-REQ", b"\x02\x00": "AP-REP", b"\x03\x00": "KRB-ERROR"}

#: Kerberos encryption type numbers (RFC 3961/4757/3962).
ENCTYPES = {
    1: "des-cbc-crc",
    3: "des-cbc-md5",
    17: "aes128-cts-hmac-sha1-96",
    18: "aes256-cts-hmac-sha1-96",
    23: "rc4-hmac",
    24: "rc4-hmac-exp",
}
_AP_OPTIONS = {1: "use-session-key", 2: "mutual-required"}
_DECODED = frozenset(_TOK_IDS.values())  # the message types whose fields are read


@dataclass(slots=True)
class GssToken:
    """A decoded GSS-API Kerberos token; fields a message type lacks stay None."""

    mechanism: str
    message: str  # AP-REQ, AP-REP, KRB-ERROR, or "token xxxx"
    realm: str | None = None
    service: str | None = None  # "sip/fe01.contoso.com"
    name_type: int | None = None
    ticket_version: int | None = None
    ticket_etype: int | None = None
    ticket_kvno: int | None = None
    authenticator_etype: int | None = None
    ap_options: list[str] = field(default_factory=list)
    error_code: int | None = None
    error_text: str | None = None

    @property
    def ticket_etype_name(self) -> str | None:
        if self.ticket_etype is None:
            return None
        return ENCTYPES.get(self.ticket_etype, f"etype {self.ticket_etype}")


def _der_length(data: bytes, pos: int) -> tuple[int, int]:
    """(length, position after the length octets) of a DER length at ``pos``."""
    if pos >= len(data):
        raise MalformedError(_LAYER, pos, "DER length cut short")
    first = data[pos]
    if first < 0x80:
        return first, pos + 1
    count = first & 0x7F
    if count == 0 or count > 4 or pos + 1 + count > len(data):
        raise MalformedError(_LAYER, pos, "bad DER length")
    return int.from_bytes(data[pos + 1 : pos + 1 + count], "big"), pos + 1 + count


def _text(value: object) -> str:
    return bytes(value).decode("utf-8", "replace")  # type: ignore[call-overload]


def _principal(value: object) -> tuple[int, str]:
    name_type = int(value["name-type"])  # type: ignore[index]
    parts = [_text(s) for s in value["name-string"]]  # type: ignore[index]
    return name_type, "/".join(parts)


def _decode(data: bytes, spec: Any) -> Any:
    from ._kerberos_asn1 import PyAsn1Error, der

    try:
        value, _rest = der.decode(data, asn1Spec=spec)
    except (PyAsn1Error, ValueError, TypeError, IndexError) as exc:
        raise MalformedError(
            _LAYER, None, f"Kerberos message does not decode: {exc}"[:200]
        ) from None
    return value


class _NotPlain(Exception):
    """The hand reader met something other than plain DER: pyasn1 decides."""


def _element(data: bytes, pos: int, end: int, tag: int) -> tuple[int, int]:
    """(start, end) of the contents of the element with identifier octet ``tag`` at ``pos``,
    which must end by ``end``. Only minimal definite lengths of up to 65,535 bytes are plain."""
    if pos + 2 > end or data[pos] != tag:
        raise _NotPlain
    first = data[pos + 1]
    pos += 2
    if first < 0x80:
        length = first
    elif first == 0x81 and pos < end and data[pos] >= 0x80:
        length = data[pos]
        pos += 1
    elif first == 0x82 and pos + 2 <= end and data[pos]:
        length = (data[pos] << 8) | data[pos + 1]
        pos += 2
    else:
        raise _NotPlain
    if pos + length > end:
        raise _NotPlain
    return pos, pos + length


def _explicit(data: bytes, pos: int, end: int, number: int, tag: int) -> tuple[int, int]:
    """Contents of ``[number] EXPLICIT`` wrapping exactly one element with ``tag``."""
    start, stop = _element(data, pos, end, 0xA0 | number)
    inner = _element(data, start, stop, tag)
    if inner[1] != stop:
        raise _NotPlain
    return inner


def _integer(data: bytes, span: tuple[int, int]) -> int:
    """A minimal two's-complement INTEGER of at most 8 bytes (Kerberos numbers are 32-bit)."""
    start, stop = span
    size = stop - start
    if not 0 < size <= 8:
        raise _NotPlain
    if size > 1 and (
        (data[start] == 0 and data[start + 1] < 0x80)
        or (data[start] == 0xFF and data[start + 1] >= 0x80)
    ):
        raise _NotPlain
    return int.from_bytes(data[start:stop], "big", signed=True)


def _principal_at(data: bytes, span: tuple[int, int]) -> tuple[int, str]:
    """PrincipalName ::= SEQUENCE { name-type [0] Int32, name-string [1] SEQUENCE OF
    KerberosString }, joined with ``/`` as :func:`_principal` does."""
    pos, end = span
    name_type_span = _explicit(data, pos, end, 0, 0x02)
    name_type = _integer(data, name_type_span)
    wrap = _element(data, name_type_span[1], end, 0xA1)
    if wrap[1] != end:
        raise _NotPlain
    pos, stop = _element(data, wrap[0], wrap[1], 0x30)
    if stop != wrap[1]:
        raise _NotPlain
    parts = []
    while pos < stop:
        start, pos = _element(data, pos, stop, 0x1B)  # GeneralString
        parts.append(data[start:pos].decode("utf-8", "replace"))
    return name_type, "/".join(parts)


def _encrypted_data(data: bytes, span: tuple[int, int]) -> tuple[int, int | None]:
    """(etype, kvno) of EncryptedData ::= SEQUENCE { etype [0], kvno [1] OPTIONAL, cipher [2]
    OCTET STRING }."""
    pos, end = _element(data, span[0], span[1], 0x30)
    if end != span[1]:
        raise _NotPlain
    etype_span = _explicit(data, pos, end, 0, 0x02)
    pos = etype_span[1]
    kvno = None
    if pos < end and data[pos] == 0xA1:
        kvno_span = _explicit(data, pos, end, 1, 0x02)
        kvno = _integer(data, kvno_span)
        pos = kvno_span[1]
    if _explicit(data, pos, end, 2, 0x04)[1] != end:
        raise _NotPlain
    return _integer(data, etype_span), kvno


def _sequence_in(data: bytes, outer_tag: int) -> tuple[int, int]:
    """The SEQUENCE inside ``[APPLICATION n]`` at the start of ``data`` (bytes after that
    element are ignored, as pyasn1's decoder leaves them unread)."""
    start, stop = _element(data, 0, len(data), outer_tag)
    pos, end = _element(data, start, stop, 0x30)
    if end != stop:
        raise _NotPlain
    return pos, end


def _header_numbers(data: bytes, pos: int, end: int) -> int:
    """Read ``pvno [0]`` and ``msg-type [1]`` (checked as integers, not shown); where the
    next field starts."""
    pvno = _explicit(data, pos, end, 0, 0x02)
    _integer(data, pvno)
    msg_type = _explicit(data, pvno[1], end, 1, 0x02)
    _integer(data, msg_type)
    return msg_type[1]


def _read_plain(token: GssToken, kind: str, body: bytes) -> bool:
    """Fill ``token`` from a plain DER AP-REQ or AP-REP, all or nothing; False when the
    message is anything else (pyasn1 then decodes it, or words why it cannot)."""
    try:
        if kind == "AP-REQ":
            pos, end = _sequence_in(body, 0x6E)
            pos = _header_numbers(body, pos, end)
            bits_start, pos = _explicit(body, pos, end, 2, 0x03)
            if pos - bits_start < 2 or body[bits_start]:
                raise _NotPlain  # no bits, or unused bits: pyasn1 pads them its own way
            flags = int.from_bytes(body[bits_start + 1 : min(pos, bits_start + 5)], "big")
            ticket_wrap = _element(body, pos, end, 0xA3)
            ticket = _element(body, ticket_wrap[0], ticket_wrap[1], 0x61)
            if ticket[1] != ticket_wrap[1]:
                raise _NotPlain
            tpos, tend = _element(body, ticket[0], ticket[1], 0x30)
            if tend != ticket[1]:
                raise _NotPlain
            vno_span = _explicit(body, tpos, tend, 0, 0x02)
            realm_span = _explicit(body, vno_span[1], tend, 1, 0x1B)
            sname_wrap = _element(body, realm_span[1], tend, 0xA2)
            sname = _element(body, sname_wrap[0], sname_wrap[1], 0x30)
            enc_wrap = _element(body, sname_wrap[1], tend, 0xA3)
            if sname[1] != sname_wrap[1] or enc_wrap[1] != tend:
                raise _NotPlain
            auth_wrap = _element(body, ticket_wrap[1], end, 0xA4)
            if auth_wrap[1] != end:
                raise _NotPlain
            ticket_version = _integer(body, vno_span)
            name_type, service = _principal_at(body, sname)
            ticket_etype, ticket_kvno = _encrypted_data(body, enc_wrap)
            authenticator_etype = _encrypted_data(body, auth_wrap)[0]
            token.ap_options = [
                name for bit, name in _AP_OPTIONS.items() if flags and (flags >> (31 - bit)) & 1
            ]
            token.ticket_version = ticket_version
            token.realm = body[realm_span[0] : realm_span[1]].decode("utf-8", "replace")
            token.name_type, token.service = name_type, service
            token.ticket_etype, token.ticket_kvno = ticket_etype, ticket_kvno
            token.authenticator_etype = authenticator_etype
            return True
        if kind == "AP-REP":
            pos, end = _sequence_in(body, 0x6F)
            pos = _header_numbers(body, pos, end)
            enc_wrap = _element(body, pos, end, 0xA2)
            if enc_wrap[1] != end:
                raise _NotPlain
            token.ticket_etype = _encrypted_data(body, enc_wrap)[0]
            return True
    except _NotPlain:
        pass
    return False


def _fill(token: GssToken, kind: str, body: bytes) -> None:
    """Decode the Kerberos message after the TOK_ID into the token with pyasn1."""
    from ._kerberos_asn1 import ApRep, ApReq, KrbError

    if kind == "AP-REQ":
        req = _decode(body, ApReq())
        bits = req["ap-options"].asNumbers() if req["ap-options"].isValue else ()
        flags = 0
        for byte in bits[:4]:
            flags = (flags << 8) | byte
        token.ap_options = [
            name for bit, name in _AP_OPTIONS.items() if flags and (flags >> (31 - bit)) & 1
        ]
        ticket = req["ticket"]
        token.ticket_version = int(ticket["tkt-vno"])
        token.realm = _text(ticket["realm"])
        token.name_type, token.service = _principal(ticket["sname"])
        enc = ticket["enc-part"]
        token.ticket_etype = int(enc["etype"])
        token.ticket_kvno = int(enc["kvno"]) if enc["kvno"].isValue else None
        token.authenticator_etype = int(req["authenticator"]["etype"])
    elif kind == "AP-REP":
        rep = _decode(body, ApRep())
        token.ticket_etype = int(rep["enc-part"]["etype"])
    elif kind == "KRB-ERROR":
        err = _decode(body, KrbError())
        token.error_code = int(err["error-code"])
        token.realm = _text(err["realm"])
        token.name_type, token.service = _principal(err["sname"])
        if err["e-text"].isValue:
            token.error_text = _text(err["e-text"])


def parse_gss_token(data: bytes) -> GssToken:
    """Decode a GSS-API initial context token carrying Kerberos (or SPNEGO wrapping it)."""
    if not data or data[0] != 0x60:
        raise MalformedError(_LAYER, 0, "not a GSS-API token (no 0x60 tag)")
    length, pos = _der_length(data, 1)
    if pos + length > len(data):
        raise MalformedError(
            _LAYER, 1, f"GSS-API token says {length} bytes, {len(data) - pos} left"
        )
    end = pos + length
    if pos + 2 > end or data[pos] != 0x06:
        raise MalformedError(_LAYER, pos, "no mechanism OID")
    oid_len = data[pos + 1]
    oid = data[pos + 2 : pos + 2 + oid_len]
    if len(oid) < oid_len:
        raise MalformedError(_LAYER, pos, "mechanism OID cut short")
    mech = _OIDS.get(oid, "OID " + oid.hex())
    pos += 2 + oid_len
    if mech == "SPNEGO":
        inner = data.find(b"\x60", pos, end)
        while inner >= 0:
            try:
                found = parse_gss_token(data[inner:end])
            except MalformedError:
                inner = data.find(b"\x60", inner + 1, end)
                continue
            found.mechanism = "SPNEGO/" + found.mechanism
            return found
        return GssToken(mechanism=mech, message="NegTokenInit")
    if pos + 2 > end:
        raise MalformedError(_LAYER, pos, "TOK_ID cut short")
    tok = data[pos : pos + 2]
    kind = _TOK_IDS.get(tok, "token " + tok.hex())
    token = GssToken(mechanism=mech, message=kind)
    body = data[pos + 2 : end]
    if kind not in _DECODED or _read_plain(token, kind, body):
        return token
    from ._kerberos_asn1 import PyAsn1Error

    try:
        _fill(token, kind, body)
    except (PyAsn1Error, ValueError, TypeError, IndexError, KeyError) as exc:
        raise MalformedError(_LAYER, pos, f"Kerberos message unreadable: {exc}"[:200]) from None
    return token
