"""Header-level SIP grammar: names, multi-value splitting, name-addr, Via, media types.

Everything here works on text that :mod:`lyncdump.sip.message` has already cut into
``(name, value)`` pairs with folding undone. Parsers are lenient (RFC 4475 shows what real
stacks send) and report trouble through a ``problems`` list instead of raising, so that a
typed accessor can return None and the message can carry a defect.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

from .uri import SipUri, parse_uri, split_params

__all__ = [
    "COMPACT_FORMS",
    "NEVER_SPLIT",
    "NameAddr",
    "Via",
    "canonical_name",
    "parse_header_lines",
    "media_type",
    "parse_media_type",
    "parse_name_addr",
    "parse_params",
    "parse_via",
    "split_header_values",
    "unquote_string",
]

# RFC 3261 7.3.3 and later RFCs: compact form → canonical lower-case long name.
COMPACT_FORMS: dict[str, str] = {
    "i": "call-id",
    "m": "contact",
    "e": "content-encoding",
    "l": "content-length",
    "c": "content-type",
    "f": "from",
    "s": "subject",
    "k": "supported",
    "t": "to",
    "v": "via",
    "o": "event",
    "r": "refer-to",
    "b": "referred-by",
    "u": "allow-events",
    "x": "session-expires",
    "j": "reject-contact",
    "d": "request-disposition",
    "a": "accept-contact",
    "y": "identity",
    "n": "identity-info",
}

# Headers whose single value may legitimately hold commas outside quotes and angle brackets
# (auth parameters, dates, free text, Microsoft diagnostics), or that are single-valued by
# definition: header_values() never splits these. Canonical lower-case names.
NEVER_SPLIT: frozenset[str] = frozenset(
    {
        "www-authenticate",
        "authorization",
        "proxy-authenticate",
        "proxy-authorization",
        "authentication-info",
        "proxy-authentication-info",
        "date",
        "subject",
        "organization",
        "user-agent",
        "server",
        "retry-after",
        "timestamp",
        "call-id",
        "cseq",
        "from",
        "to",
        "reply-to",
        "refer-to",
        "referred-by",
        "content-type",
        "content-length",
        "content-disposition",
        "content-transfer-encoding",
        "mime-version",
        "max-forwards",
        "min-expires",
        "expires",
        "min-se",
        "session-expires",
        "priority",
        "event",
        "subscription-state",
        "replaces",
        "join",
        "identity",
        "identity-info",
        "sip-etag",
        "sip-if-match",
        "roster-manager",
        "ms-diagnostics",
        "ms-diagnostics-public",
        "ms-client-diagnostics",
        "ms-text-format",
        "ms-im-format",
        "ms-conversation-id",
        "ms-keep-alive",
        "ms-endpoint-location-data",
        "ms-trunking-peer",
        "ms-edge-proxy-message-trust",
        "ms-user-logon-data",
        "ms-subnet",
        "ms-telemetry-id",
        "ms-accepted-content-id",
        "ms-sender",
        "ms-call-info",
        "presence-state",
        "p-agent-on-behalf-of",
    }
)

_TOKEN_RE = re.compile(r"[A-Za-z0-9\-.!%*_+`'~]+")
_VIA_HEAD_RE = re.compile(r"\s*([^\s/]+)\s*/\s*([^\s/]+)\s*/\s*([^\s/]+)\s+(.*?)\s*")
_WS_RE = re.compile(r"\s+")


#: header name as written -> canonical name: every message asks for the same few dozen
_CANONICAL: dict[str, str] = {}
_CANONICAL_LIMIT = 2048  # names kept (each at most 64 characters): hostile input stays bounded


def canonical_name(name: str) -> str:
    """Lower-case long form of a header name (``i`` → ``call-id``; ``CSEQ`` → ``cseq``)."""
    key = _CANONICAL.get(name)
    if key is not None:
        return key
    key = name.lower()
    if len(key) == 1:
        key = COMPACT_FORMS.get(key, key)
    if len(name) <= 64:
        if len(_CANONICAL) >= _CANONICAL_LIMIT:
            _CANONICAL.clear()
        _CANONICAL[name] = key
    return key


def is_token(text: str) -> bool:
    """True when ``text`` is an RFC 3261 token (method names, header names, option tags)."""
    return _TOKEN_RE.fullmatch(text) is not None


def unquote_string(text: str) -> str:
    """Value of a quoted-string (``"a \\"b\\""`` → ``a "b"``); other text comes back stripped."""
    text = text.strip()
    if len(text) >= 2 and text[0] == '"' and text[-1] == '"':
        inner = text[1:-1]
        if "\\" not in inner:
            return inner
        out: list[str] = []
        i = 0
        while i < len(inner):
            c = inner[i]
            if c == "\\" and i + 1 < len(inner):
                i += 1
                c = inner[i]
            out.append(c)
            i += 1
        return "".join(out)
    return text


def _quoted_end(text: str, start: int) -> int:
    """Index of the closing quote of the quoted-string opening at ``start``, or -1."""
    i = start + 1
    n = len(text)
    while i < n:
        c = text[i]
        if c == "\\":
            i += 2
            continue
        if c == '"':
            return i
        i += 1
    return -1


def split_header_values(value: str) -> list[str]:
    """Split a multi-valued header on commas outside quotes and ``<...>``; empty items dropped."""
    if "," not in value:
        v = value.strip()
        return [v] if v else []
    out: list[str] = []
    start = 0
    i = 0
    n = len(value)
    angle = False
    while i < n:
        c = value[i]
        if c == '"':
            end = _quoted_end(value, i)
            if end < 0:
                break
            i = end
        elif c == "<":
            angle = True
        elif c == ">":
            angle = False
        elif c == "," and not angle:
            item = value[start:i].strip()
            if item:
                out.append(item)
            start = i + 1
        i += 1
    item = value[start:].strip()
    if item:
        out.append(item)
    return out


def parse_params(text: str, problems: list[str] | None = None) -> dict[str, str | None]:
    """Header parameters ``a=b;c;d="q v"`` → dict (names lower-cased, quotes removed).

    Whitespace around ``;`` and ``=`` is allowed (RFC 4475 wsinv); empty parameters
    (``;;``) are skipped and reported.
    """
    return _params(split_params(text), problems)


def _params(items: list[str], problems: list[str] | None) -> dict[str, str | None]:
    """:func:`parse_params` of text already split on ``;`` outside quotes."""
    params: dict[str, str | None] = {}
    for item in items:
        name, eq, value = item.partition("=")
        name = name.strip().lower()
        if not name:
            if problems is not None and (eq or item.strip() == ""):
                problems.append("empty parameter")
            continue
        if eq:
            value = value.strip()
            if value[:1] == '"':
                value = unquote_string(value)
            params[name] = value
        else:
            params[name] = None
    return params


@dataclass(slots=True)
class NameAddr:
    """A From/To/Contact/Route style value: ``"Display" <uri>;params`` or a bare addr-spec.

    ``uri`` is a :class:`SipUri` when it parses, else the raw URI text (``urn:``, ``http:``,
    broken URIs). ``params`` are the header parameters (for a bare addr-spec, everything after
    the first ``;``), names lower-cased, quotes removed. A Contact ``*`` has ``uri == "*"``.
    """

    display: str | None
    uri: SipUri | str
    params: dict[str, str | None] = field(default_factory=dict)
    raw: str = ""

    @property
    def uri_text(self) -> str:
        """The URI as text, whether it parsed or not."""
        return str(self.uri)

    @property
    def tag(self) -> str | None:
        """Dialog tag (``;tag=``) or None."""
        return self.params.get("tag")

    @property
    def epid(self) -> str | None:
        """Microsoft endpoint id (``;epid=``), which names one client instance."""
        return self.params.get("epid")

    @property
    def expires(self) -> int | None:
        """Contact ``;expires=`` as int, None if absent or not a small number."""
        value = self.params.get("expires")
        if value is None or not value.isascii() or not value.isdigit() or len(value) > 10:
            return None
        n = int(value)
        return n if n <= 0xFFFFFFFF else None

    @property
    def instance(self) -> str | None:
        """``+sip.instance`` without its angle brackets (``urn:uuid:...``)."""
        value = self.params.get("+sip.instance")
        if value is None:
            return None
        return value.strip().removeprefix("<").removesuffix(">")

    @property
    def is_wildcard(self) -> bool:
        """True for ``Contact: *`` (remove all bindings)."""
        return self.uri == "*"


def parse_name_addr(text: str, problems: list[str] | None = None) -> NameAddr | None:
    """Parse one name-addr or addr-spec with its header parameters; None if unusable.

    ``<`` starts the bracketed form only when no ``:`` comes before it (``caller<sip:..>``
    and ``Bell, Alexander <sip:..>`` are display names; ``sip:a;p="<x>"`` is an addr-spec).
    """
    s = text.strip()
    if not s:
        if problems is not None:
            problems.append("empty address")
        return None
    if s == "*":
        return NameAddr(None, "*", {}, text)
    display: str | None = None
    if s[0] == '"':
        end = _quoted_end(s, 0)
        if end < 0:
            if problems is not None:
                problems.append("unterminated quoted display name")
            return None
        display = unquote_string(s[: end + 1])
        rest = s[end + 1 :].lstrip()
        if not rest.startswith("<"):
            if problems is not None:
                problems.append("quoted display name without <uri>")
            return None
        lt = 0
        s = rest
    else:
        lt = s.find("<")
        if lt >= 0 and ":" in s[:lt]:
            lt = -1
        if lt > 0:
            display = _WS_RE.sub(" ", s[:lt].strip()) or None
    if lt >= 0:
        gt = s.find(">", lt)
        if gt < 0:
            if problems is not None:
                problems.append("missing > after URI")
            return None
        uri_text = s[lt + 1 : gt].strip()
        param_text = s[gt + 1 :].strip()
        if param_text and not param_text.startswith(";"):
            if problems is not None:
                problems.append("text after > that is not a parameter")
        param_text = param_text[1:] if param_text.startswith(";") else param_text
    else:
        uri_text, _, param_text = s.partition(";")
        uri_text = uri_text.strip()
    if not uri_text:
        if problems is not None:
            problems.append("empty URI")
        return None
    uri = parse_uri(uri_text)
    if uri is None and uri_text.lower().startswith(("sip:", "sips:", "tel:")):
        if problems is not None:
            problems.append(f"unparsable URI {uri_text[:80]!r}")
    params = parse_params(param_text, problems) if param_text else {}
    return NameAddr(display, uri if uri is not None else uri_text, params, text.strip())


@dataclass(slots=True)
class Via:
    """One Via entry: ``SIP/2.0/TLS host:port;branch=...;received=...;rport=...``.

    ``transport`` is upper-cased (``UDP``, ``TCP``, ``TLS``, ``SCTP``, or whatever was sent);
    ``host`` keeps IPv6 brackets; ``params`` names are lower-cased (Microsoft adds
    ``ms-received-port``, ``ms-received-cid``, ``branched``, ``ms-internal-info``).
    """

    protocol: str
    transport: str
    host: str
    port: int | None
    params: dict[str, str | None] = field(default_factory=dict)

    @property
    def branch(self) -> str | None:
        """Transaction id (``;branch=``)."""
        return self.params.get("branch")

    @property
    def received(self) -> str | None:
        """Source address the next hop saw (``;received=``)."""
        return self.params.get("received")

    @property
    def rport(self) -> int | None:
        """Source port the next hop saw (``;rport=N``); None when absent or valueless."""
        return _small_int(self.params.get("rport"), 65535)

    @property
    def ms_received_port(self) -> int | None:
        """Microsoft's counterpart of rport (``;ms-received-port=N``)."""
        return _small_int(self.params.get("ms-received-port"), 65535)

    @property
    def sent_by(self) -> str:
        """``host[:port]`` as one string."""
        return self.host if self.port is None else f"{self.host}:{self.port}"


def _small_int(value: str | None, limit: int) -> int | None:
    if value is None or not value.isascii() or not value.isdigit() or len(value) > 10:
        return None
    n = int(value)
    return n if n <= limit else None


def parse_via(text: str, problems: list[str] | None = None) -> Via | None:
    """Parse one Via entry (already split on commas); None if unusable."""
    head_text, *param_items = split_params(text)
    # The usual ``SIP/2.0/TCP host:port`` (one space, no other blank) is cut without the
    # regex; anything else takes it, with the same result.
    proto, space, sent_by = head_text.partition(" ")
    parts = proto.split("/")
    if (
        len(parts) == 3
        and all(parts)
        and sent_by
        and " " not in sent_by
        and head_text.isprintable()
    ):
        name, version, transport = parts
    else:
        m = _VIA_HEAD_RE.fullmatch(head_text)
        if m is None:
            if problems is not None:
                problems.append(f"unparsable Via {text.strip()[:80]!r}")
            return None
        name, version, transport, sent_by = m.groups()
        sent_by = _WS_RE.sub("", sent_by)
    host = sent_by
    port: int | None = None
    if sent_by.startswith("["):
        close = sent_by.find("]")
        if close < 0:
            host = ""
        else:
            host, after = sent_by[: close + 1], sent_by[close + 1 :]
            if after.startswith(":"):
                port = _small_int(after[1:], 65535)
                if port is None:
                    host = ""
            elif after:
                host = ""
    elif ":" in sent_by:
        host, _, port_text = sent_by.partition(":")
        port = _small_int(port_text, 65535)
        if port is None:
            host = ""
    if not host or "<" in host or ">" in host or '"' in host or "@" in host:
        if problems is not None:
            problems.append(f"bad Via sent-by {sent_by[:80]!r}")
        return None
    params = _params(param_items, problems) if param_items else {}
    return Via(f"{name.upper()}/{version}", transport.upper(), host, port, params)


def parse_media_type(value: str) -> tuple[str, dict[str, str]]:
    """``Multipart/Alternative; boundary="x"`` → (``multipart/alternative``, {"boundary": "x"}).

    The media type is lower-cased and stripped of whitespace; parameter names are lower-cased,
    values unquoted but otherwise kept (boundaries are case-sensitive).
    """
    head, *items = split_params(value)
    params: dict[str, str] = {}
    for item in items:
        name, eq, val = item.partition("=")
        name = name.strip().lower()
        if name:
            params[name] = unquote_string(val) if eq else ""
    if " " in head or not head.isprintable():  # other blanks are never printable
        head = _WS_RE.sub("", head)
    return head.lower(), params


#: Content-Type values longer than this are not remembered (hostile input stays bounded)
_MEDIA_TYPE_TEXT_MAX = 256


@lru_cache(maxsize=256)
def _media_type_of(value: str) -> str:
    return parse_media_type(value)[0]


def media_type(value: str) -> str:
    """:func:`parse_media_type`'s media type alone; the few values a capture uses are
    remembered (the last 256 of at most 256 characters)."""
    if len(value) > _MEDIA_TYPE_TEXT_MAX:
        return parse_media_type(value)[0]
    return _media_type_of(value)


def parse_header_lines(
    lines: list[str], problems: list[tuple[int, str]] | None = None
) -> list[tuple[str, str]]:
    """Turn header lines (no line endings) into ``(name, value)`` pairs.

    Folded continuation lines (leading SP/HT) are joined to the previous value with one space;
    a line without ``:`` or with a name that is not a token is skipped and reported as
    ``(line index, reason)``. Used for MIME body-part headers; the message parser has its own
    copy of this loop that also tracks byte offsets.
    """
    headers: list[tuple[str, str]] = []
    for index, line in enumerate(lines):
        if not line:
            continue
        if line[0] in " \t":
            if headers:
                name, value = headers[-1]
                cont = line.strip()
                headers[-1] = (name, f"{value} {cont}" if value and cont else value or cont)
            elif problems is not None:
                problems.append((index, "continuation line without a header"))
            continue
        name, colon, value = line.partition(":")
        name = name.rstrip(" \t")
        if not colon or not is_token(name):
            if problems is not None:
                problems.append((index, "header line skipped: no valid name"))
            continue
        headers.append((name, value.strip(" \t")))
    return headers
