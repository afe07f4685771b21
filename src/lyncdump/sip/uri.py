"""SIP, SIPS and tel URIs (RFC 3261 19.1, RFC 3966), parsed leniently.

Lync puts a lot into URIs (GRUUs with ``;opaque=user:epid:...;gruu``, ``ms-opaque``, IPv6
literals), so the parser keeps every parameter and never raises: text that is not a usable
sip/sips/tel URI gives ``None`` and the caller keeps the raw text instead.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

__all__ = ["SipUri", "parse_uri", "unescape", "split_params"]

_PORT_RE = re.compile(r"[0-9]{1,5}")
# Characters that can never be part of a host (reg-name, IPv4 or bracketed IPv6).
_BAD_HOST_RE = re.compile(r"[\s<>\"@;?/\\]")


def unescape(text: str) -> str:
    """Undo %HH escapes (invalid escapes such as ``%Z4`` are left as written)."""
    if "%" not in text:
        return text
    # urllib.parse (with ipaddress) loads with the first escape, not with every run.
    from urllib.parse import unquote

    return unquote(text, errors="replace")


def split_params(text: str, sep: str = ";") -> list[str]:
    """Split on ``sep`` outside double quotes (a quoted ``;`` or ``,`` does not separate)."""
    if '"' not in text:
        return text.split(sep)
    if "\\" not in text:
        # Without escapes, the text between quote n and n+1 (n odd: every other piece of a
        # split on '"', an unterminated last one included) is quoted; when none of it holds
        # the separator, every separator counts.
        pieces = text.split('"')
        for quoted in pieces[1::2]:
            if sep in quoted:
                break
        else:
            return text.split(sep)
    out: list[str] = []
    start = 0
    i = 0
    n = len(text)
    in_quotes = False
    while i < n:
        c = text[i]
        if in_quotes:
            if c == "\\":
                i += 1
            elif c == '"':
                in_quotes = False
        elif c == '"':
            in_quotes = True
        elif c == sep:
            out.append(text[start:i])
            start = i + 1
        i += 1
    out.append(text[start:])
    return out


def _uri_params(text: str) -> dict[str, str | None]:
    """``;a=b;c`` (without the first ``;``) → ``{"a": "b", "c": None}``; names lower-cased."""
    params: dict[str, str | None] = {}
    for item in text.split(";"):
        name, eq, value = item.partition("=")
        name = name.strip().lower()
        if not name:
            continue
        params[name] = value.strip() if eq else None
    return params


@dataclass(slots=True)
class SipUri:
    """A parsed sip:, sips: or tel: URI.

    ``user``/``password``/``host`` are kept as written (escapes included) so that ``str()``
    gives back the URI; :attr:`unescaped_user` decodes them. For ``tel:`` the number is in
    ``user`` and ``host`` is empty. ``host`` keeps the brackets of an IPv6 literal.
    Parameter names are lower-cased (they are case-insensitive); a valueless one maps to None.
    """

    scheme: str
    user: str | None = None
    password: str | None = None
    host: str = ""
    port: int | None = None
    params: dict[str, str | None] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        parts = [self.scheme, ":"]
        if self.scheme == "tel":
            parts.append(self.user or "")
        else:
            if self.user is not None:
                parts.append(self.user)
                if self.password is not None:
                    parts.append(":" + self.password)
                parts.append("@")
            parts.append(self.host)
            if self.port is not None:
                parts.append(f":{self.port}")
        for name, value in self.params.items():
            parts.append(f";{name}" if value is None else f";{name}={value}")
        if self.headers:
            parts.append("?" + "&".join(f"{k}={v}" for k, v in self.headers.items()))
        return "".join(parts)

    @property
    def unescaped_user(self) -> str | None:
        """The user part with %HH escapes decoded (``I%20have`` → ``I have``)."""
        return None if self.user is None else unescape(self.user)

    @property
    def aor(self) -> str:
        """Address of record, ``sip:user@host`` without port or parameters (lower-case host).

        Used to group registrations and dialogs by who they are about.
        """
        if self.scheme == "tel":
            return f"tel:{self.user or ''}"
        if self.user is not None:
            return f"{self.scheme}:{self.user}@{self.host.lower()}"
        return f"{self.scheme}:{self.host.lower()}"

    @property
    def transport(self) -> str | None:
        """The ``transport`` parameter, lower-cased (``tls``, ``tcp``, ``udp``) or None."""
        value = self.params.get("transport")
        return value.lower() if value else None

    @property
    def is_gruu(self) -> bool:
        """True for a GRUU (``;gruu`` parameter, as Lync registrars hand out)."""
        return "gruu" in self.params


def _parse_hostport(text: str) -> tuple[str, int | None] | None:
    text = text.strip()
    if text.startswith("["):
        close = text.find("]")
        if close < 0:
            return None
        host = text[: close + 1]
        rest = text[close + 1 :]
        if not rest:
            return host, None
        if not rest.startswith(":"):
            return None
        port_text = rest[1:]
    else:
        host, colon, port_text = text.partition(":")
        if not colon:
            port_text = ""
        elif not port_text:
            return None
    if not host or _BAD_HOST_RE.search(host[1:-1] if host.startswith("[") else host):
        return None
    if not port_text:
        return host, None
    port_text = port_text.strip()
    if not _PORT_RE.fullmatch(port_text) or int(port_text) > 65535:
        return None
    return host, int(port_text)


def parse_uri(text: str) -> SipUri | None:
    """Parse a sip:, sips: or tel: URI; None for other schemes or an unusable URI.

    The user part ends at the first ``@`` (it may itself hold ``;``, ``?`` and ``/``, RFC 4475
    semiuri/intmeth); parameters start at the first ``;`` after the host, headers at ``?``.
    """
    s = text.strip()
    colon = s.find(":")
    if colon <= 0:
        return None
    scheme = s[:colon].lower()
    rest = s[colon + 1 :]
    if scheme == "tel":
        number, _, params = rest.partition(";")
        number = number.strip()
        if not number or any(c.isspace() for c in number):
            return None
        return SipUri("tel", user=number, params=_uri_params(params))
    if scheme not in ("sip", "sips"):
        return None
    user: str | None = None
    password: str | None = None
    at = rest.find("@")
    if at >= 0:
        userinfo = rest[:at]
        rest = rest[at + 1 :]
        user, pcolon, pw = userinfo.partition(":")
        password = pw if pcolon else None
    hostpart, qmark, headers_text = rest.partition("?")
    hostport, _, params_text = hostpart.partition(";")
    hp = _parse_hostport(hostport)
    if hp is None:
        return None
    headers: dict[str, str] = {}
    if qmark:
        for item in headers_text.split("&"):
            name, _, value = item.partition("=")
            if name:
                headers[name] = value
    return SipUri(
        scheme,
        user=user,
        password=password,
        host=hp[0],
        port=hp[1],
        params=_uri_params(params_text),
        headers=headers,
    )
