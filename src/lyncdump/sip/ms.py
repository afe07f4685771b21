"""Microsoft SIP header extensions, decoded into words ([MS-SIP], [MS-SIPRE], [MS-OCER]).

Sans-IO helpers on header *values* (text in, typed objects out); none of them raises on bad
text: what cannot be read is returned as None or left raw. Covered: ms-diagnostics(-public) and
ms-client-diagnostics with the meaning of their code ranges, Ms-Conversation-ID (time + GUID),
ms-text-format / ms-im-format with the base64 ``ms-body`` (the first IM line) and ``msgr``
font info, EndPoints, ms-keep-alive, ms-user-logon-data, the epid → ``+sip.instance`` → GRUU
derivation, and a table naming every Microsoft header a reader meets.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import datetime as _dt
import re
from dataclasses import dataclass, field

from .headers import parse_name_addr
from .message import SipMessage

__all__ = [
    "MS_HEADERS",
    "ConversationId",
    "Diagnostics",
    "TextFormat",
    "diagnostic_meaning",
    "diagnostics_of",
    "endpoint_list",
    "epid_to_instance",
    "gruu_opaque_for",
    "instance_from_gruu_opaque",
    "keep_alive",
    "ms_header_summary",
    "parse_conversation_id",
    "parse_diagnostics",
    "parse_text_format",
    "text_formats",
]

#: Microsoft header name (lower case) → what it is, for verbose listings ([MS-SIP] & co).
MS_HEADERS: dict[str, str] = {
    "ms-keep-alive": "keep-alive negotiation",
    "ms-user-logon-data": "logon data (RemoteUser = through the Access Edge)",
    "presence-state": "registrar state",
    "ms-diagnostics": "server diagnostics",
    "ms-diagnostics-public": "server diagnostics (for external peers)",
    "ms-client-diagnostics": "client diagnostics",
    "ms-conversation-id": "conversation id (time + GUID)",
    "ms-text-format": "format (and text) of the first IM",
    "ms-im-format": "rich alternative of the first IM",
    "endpoints": "IM session participants",
    "roster-manager": "multiparty IM roster manager",
    "ms-sender": "real sender of a relayed IM",
    "ms-subnet": "client subnet",
    "ms-endpoint-location-data": "where the endpoint sits for media",
    "ms-telemetry-id": "telemetry correlation id",
    "ms-accepted-content-id": "SDP alternative chosen",
    "ms-trunking-peer": "PSTN gateway used",
    "ms-mediation-generated": "made by the Mediation Server",
    "ms-edge-proxy-message-trust": "Access Edge trust stamp",
    "ms-call-info": "agent anonymity",
    "p-agent-on-behalf-of": "agent anonymity",
    "ms-routing-phase": "routing phase",
    "p-asserted-identity": "asserted identity",
    "p-preferred-identity": "preferred identity",
    "history-info": "retargeting history",
    "referred-by": "referrer",
    "ms-exchange-command": "Exchange UM command",
}

_DIAG_RANGES: tuple[tuple[int, int, str], ...] = (
    (0, 999, "common"),
    (1000, 1999, "SIP stack"),
    (2000, 2999, "presence"),
    (3000, 3999, "conferencing focus"),
    (4000, 4999, "user services"),
    (5000, 5999, "API application"),
    (6000, 6999, "IM MCU"),
    (7000, 7999, "A/V MCU"),
    (8000, 8999, "telephony conferencing"),
    (9000, 9999, "MRAS"),
    (10000, 10999, "Mediation Server"),
    (11000, 11999, "metrics"),
    (12000, 12999, "outbound routing"),
    (13000, 13999, "inbound routing"),
    (14000, 14999, "translation / dial plan"),
    (15000, 15999, "Exchange UM"),
    (16000, 16999, "IM filter"),
    (17000, 17999, "client version filter"),
    (90000, 90999, "PIC"),
)

#: Codes whose cause is well known ([MS-OCER], support articles), in a reader's words.
KNOWN_DIAGNOSTICS: dict[int, str] = {
    1000: "authentication handshake failed",
    1003: "user does not exist",
    1008: "DNS SRV lookup failed",
    1009: "DNS SRV record does not match the domain",
    1010: "certificate not trusted",
    1013: "clock skew between client and server",
    2013: "peer lacks msrtc-event-categories",
    4003: "remote access not allowed",
    4004: "identity not allowed for remote access",
    4005: "destination not enabled for SIP or does not exist",
    4268: "delegate across deployments not allowed",
    6001: "IM MCU request timed out",
    13004: "request proxied to registered endpoints",
    15000: "Exchange UM user properties could not be read",
    17002: "client version not allowed",
}


def diagnostic_meaning(code: int) -> str | None:
    """The component a code belongs to, plus the known cause: ``SIP stack: user does not exist``."""
    component = None
    for low, high, name in _DIAG_RANGES:
        if low <= code <= high:
            component = name
            break
    known = KNOWN_DIAGNOSTICS.get(code)
    if component and known:
        return f"{component}: {known}"
    return known or component


@dataclass(slots=True)
class Diagnostics:
    """One ms-diagnostics style value: code, reason, source and any extra parameters."""

    header: str
    code: int | None
    subcode: str | None
    reason: str | None
    source: str | None
    extras: dict[str, str] = field(default_factory=dict)
    raw: str = ""

    @property
    def meaning(self) -> str | None:
        return diagnostic_meaning(self.code) if self.code is not None else None

    def short(self) -> str:
        """``ms-diagnostics 1003 "User does not exist" (SIP stack: user does not exist)``."""
        code = f"{self.code}" if self.code is not None else "?"
        if self.subcode:
            code += f".{self.subcode}"
        text = f"{self.header} {code}"
        if self.reason:
            text += f' "{self.reason}"'
        meaning = self.meaning
        if meaning:
            text += f" ({meaning})"
        return text


_PARAM_RE = re.compile(r'\s*([A-Za-z0-9_\-.]+)\s*=\s*(?:"([^"]*)"?|([^;]*))\s*(?:;|$)')


def parse_diagnostics(value: str, header: str = "ms-diagnostics") -> Diagnostics:
    """Read ``ErrorId[.sub];reason="...";source="...";k="v"`` leniently.

    Real values have stray spaces around ``=`` and parameters in any order.
    """
    head, _, rest = value.partition(";")
    head = head.strip()
    number, _, sub = head.partition(".")
    code = int(number) if number.isascii() and number.isdigit() and len(number) < 10 else None
    params: dict[str, str] = {}
    for m in _PARAM_RE.finditer(rest):
        name = m.group(1).lower()
        if len(params) < 32:
            params.setdefault(name, m.group(2) if m.group(2) is not None else m.group(3).strip())
    reason = params.pop("reason", None)
    source = params.pop("source", None)
    return Diagnostics(header, code, sub or None, reason, source, params, value)


def diagnostics_of(m: SipMessage) -> list[Diagnostics]:
    """Every ms-diagnostics, ms-diagnostics-public and ms-client-diagnostics of a message."""
    out = []
    for name in ("ms-diagnostics", "ms-diagnostics-public", "ms-client-diagnostics"):
        value = m.header(name)
        if value:
            out.append(parse_diagnostics(value, name))
    return out


@dataclass(frozen=True, slots=True)
class ConversationId:
    """Ms-Conversation-ID decoded: the time the conversation began and its GUID."""

    time: _dt.datetime | None
    guid: str


def parse_conversation_id(value: str) -> ConversationId | None:
    """22 bytes like an Outlook conversation index: 6 bytes of FILETIME (top 48 bits), a GUID."""
    text = value.strip()
    try:
        raw = base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError):
        return None
    if len(raw) < 22:
        return None
    filetime = int.from_bytes(raw[0:6], "big") << 16
    moment: _dt.datetime | None
    try:
        moment = _dt.datetime(1601, 1, 1, tzinfo=_dt.timezone.utc) + _dt.timedelta(
            microseconds=filetime // 10
        )
    except OverflowError:
        moment = None
    import uuid

    return ConversationId(moment, str(uuid.UUID(bytes_le=bytes(raw[6:22]))))


@dataclass(slots=True)
class TextFormat:
    """An ms-text-format / ms-im-format value: type, charset, the text if embedded, font info."""

    content_type: str
    charset: str | None
    text: str | None
    font: str | None
    raw: str = ""


def _b64(text: str) -> bytes | None:
    text = text.strip()
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError):
        return None


def _decode_text(raw: bytes, charset: str | None) -> str:
    """``raw`` as text in ``charset``, UTF-8 when the name is not a usable text encoding.

    The charset comes from the wire, so it may name a codec that is not text at all (``zlib``,
    ``base64``), one that refuses ``errors="replace"`` (``idna``, ``punycode``, ``undefined``)
    or hold a NUL; each of those falls back to UTF-8 instead of raising.
    """
    encoding = "utf-8"
    if charset:
        try:
            info = codecs.lookup(charset.strip())
        except (LookupError, ValueError):
            info = None
        if info is not None and getattr(info, "_is_text_encoding", True):
            encoding = info.name
    try:
        return raw.decode(encoding, "replace")
    except (LookupError, ValueError, TypeError):  # UnicodeError is a ValueError
        return raw.decode("utf-8", "replace")


def parse_text_format(value: str) -> TextFormat:
    """Split ``text/plain; charset=UTF-8; msgr=...; ms-body=...`` and decode what it carries."""
    pieces = value.split(";")
    ctype = pieces[0].strip().lower()
    params: dict[str, str] = {}
    for piece in pieces[1:]:
        name, _, val = piece.partition("=")
        params.setdefault(name.strip().lower(), val.strip().strip('"'))
    charset = params.get("charset")
    text = None
    body = params.get("ms-body")
    if body:
        raw = _b64(body)
        if raw is not None:
            text = _decode_text(raw, charset)
    font = None
    msgr = params.get("msgr")
    if msgr:
        raw = _b64(msgr)
        if raw is not None:
            decoded = raw[: len(raw) & ~1].decode("utf-16-le", "replace")
            first = decoded.split("\r\n", 1)[0].strip()
            if first.lower().startswith("x-mms-im-format:"):
                first = first[16:].strip()
            font = first or None
    return TextFormat(ctype, charset, text, font, value)


def text_formats(m: SipMessage) -> list[TextFormat]:
    """ms-text-format then every ms-im-format, decoded."""
    out = []
    for name in ("ms-text-format", "ms-im-format"):
        for value in m._values(name):  # looked up alone: the whole index is not built
            out.append(parse_text_format(value))
    return out


def keep_alive(value: str) -> dict[str, str]:
    """``UAS; tcp=no; hop-hop=yes; timeout=300`` → {"role": "UAS", "tcp": "no", ...}."""
    pieces = [p.strip() for p in value.split(";")]
    out: dict[str, str] = {}
    if pieces and pieces[0] and "=" not in pieces[0]:
        out["role"] = pieces[0]
        pieces = pieces[1:]
    for piece in pieces:
        name, _, val = piece.partition("=")
        if name:
            out[name.strip().lower()] = val.strip()
    return out


def endpoint_list(m: SipMessage) -> list[tuple[str, str | None]]:
    """EndPoints header entries as (URI, epid)."""
    out: list[tuple[str, str | None]] = []
    for value in m.header_values("EndPoints"):
        addr = parse_name_addr(value, [])
        if addr is not None:
            out.append((addr.uri_text, addr.epid))
    return out


# -- epid → +sip.instance → GRUU ([MS-SIPRE] 3.2.3.1) --------------------------------------------

#: The namespace of the name-based UUID (GUID byte order). uuid and hashlib are imported where
#: used: uuid loads platform, hashlib OpenSSL, about 5 ms of every run's start-up otherwise.
_NAMESPACE_LE = bytes.fromhex("03fbacfc738aef4691b1e5ebeeaba4fe")


def epid_to_instance(epid: str) -> str:
    """The ``+sip.instance`` UUID a client derives from its epid (SHA-1 name-based, GUID order)."""
    import hashlib

    digest = hashlib.sha1(_NAMESPACE_LE + epid.encode("ascii", "replace")).digest()
    raw = bytearray(digest[:16])
    # raw is a GUID in little-endian layout: the version nibble sits in byte 7, variant in 8.
    raw[7] = (raw[7] & 0x0F) | 0x50
    raw[8] = (raw[8] & 0x3F) | 0x80
    return _guid_text(bytes(raw))


def _guid_text(raw: bytes) -> str:
    """``str(uuid.UUID(bytes_le=raw))`` of 16 bytes, without the UUID object (its checks cost
    more than the hash, once per sign-in shown)."""
    text = (raw[3::-1] + raw[5:3:-1] + raw[7:5:-1] + raw[8:16]).hex()
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


def gruu_opaque_for(instance: str) -> str:
    """``user:epid:<24 chars>``: base64url of the instance GUID (little-endian) plus two zeros."""
    import uuid

    raw = uuid.UUID(instance).bytes_le + b"\x00\x00"
    return "user:epid:" + base64.urlsafe_b64encode(raw).decode("ascii")


def instance_from_gruu_opaque(opaque: str) -> str | None:
    """The instance UUID named by a GRUU ``opaque=user:epid:...`` value, if it decodes."""
    text = opaque.strip()
    if text.lower().startswith("user:epid:"):
        text = text[10:]
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        return None
    if len(raw) < 16:
        return None
    return _guid_text(raw[:16])


def ms_header_summary(m: SipMessage) -> list[str]:
    """``name: meaning`` for each Microsoft header present, in order (verbose listings)."""
    seen: list[str] = []
    for name, _value in m.headers:
        key = name.lower()
        meaning = MS_HEADERS.get(key)
        if meaning and key not in seen:
            seen.append(key)
    return [f"{k}: {MS_HEADERS[k]}" for k in seen]
