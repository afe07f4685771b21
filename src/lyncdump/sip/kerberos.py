"""Kerberos tokens in SIP ``gssapi-data``: the GSS-API wrapper and the AP-REQ inside it.

Lync clients send the raw krb5 mechanism token (RFC 1964 / RFC 2743 3.1): ``0x60`` + length,
the mechanism OID, a two-byte TOK_ID (``01 00`` AP-REQ, ``02 00`` AP-REP, ``03 00`` KRB-ERROR)
and the DER Kerberos message. The wrapper is read by hand; the message by pyasn1 with the few
RFC 4120 types modelled below (pyasn1-modules has no RFC 4120 module). What a passive reader can
show without keys: realm, service principal, encryption types, key version, ap-options.
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


def _fill(token: GssToken, kind: str, body: bytes) -> None:
    """Decode the Kerberos message after the TOK_ID into the token."""
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
    from ._kerberos_asn1 import PyAsn1Error

    try:
        _fill(token, kind, data[pos + 2 : end])
    except (PyAsn1Error, ValueError, TypeError, IndexError, KeyError) as exc:
        raise MalformedError(_LAYER, pos, f"Kerberos message unreadable: {exc}"[:200]) from None
    return token
