"""``--redact``: take IM text, credentials, auth tokens and keys out of every output.

Redaction rewrites each :class:`~lyncdump.sip.message.SipMessage` in place once decoding is
done (headers, body and the raw text that ``-v`` prints), so text, JSON and verbose output all
see the same redacted message and no renderer can forget a field. What auth tokens *say*
(user, domain, service principal) is decoded first and kept, because that is what a trace
reader needs; the secret parts (the tokens themselves, NTLM/Kerberos proofs, signatures,
Digest responses, SDP keys and ICE passwords, IM bodies) are replaced by ``<redacted>``.
"""

from __future__ import annotations

import re

from ..analysis.registration import decoded_tokens
from ..sip.auth import AUTH_HEADERS, auth_headers
from ..sip.headers import canonical_name
from ..sip.message import SipMessage

__all__ = ["REDACTED", "SECRET_AUTH_PARAMS", "redact_message", "redact_messages"]

REDACTED = "<redacted>"

#: Auth parameters whose value is a secret, a token or a proof.
SECRET_AUTH_PARAMS = ("gssapi-data", "response", "rspauth", "cnonce", "password")

_AUTH_PARAM_RE = re.compile(
    r"(?i)(\b(?:" + "|".join(re.escape(p) for p in SECRET_AUTH_PARAMS) + r")\s*=\s*)"
    r'(?:"[^"]*"?|[^,]*)'
)
_TEXT_FORMAT_RE = re.compile(r"(?i)(\b(?:ms-body|msgr)\s*=\s*)[^;]*")
_IM_TYPES = ("text/", "message/cpim", "application/im-iscomposing+xml")
_SDP_SECRETS = (
    (re.compile(rb"(a=crypto:\S+\s+\S+\s+inline:)[^|\s]+"), rb"\1" + REDACTED.encode()),
    (re.compile(rb"(a=ice-pwd:)\S+"), rb"\1" + REDACTED.encode()),
    # MS-ICE v6 candidates carry the password as their third field (then a 0.x q-value).
    (
        re.compile(rb"(a=candidate:\S+ \d+ )(\S+)( (?:UDP|TCP-PASS|TCP-ACT|TCP) 0\.\d+ )"),
        rb"\1" + REDACTED.encode() + rb"\3",
    ),
    (re.compile(rb"(a=x-ms-[a-z-]*key[a-z-]*:)\S+"), rb"\1" + REDACTED.encode()),
)


def _redact_auth(value: str) -> str:
    return _AUTH_PARAM_RE.sub(lambda m: f'{m.group(1)}"{REDACTED}"', value)


def _is_im_body(m: SipMessage) -> bool:
    ctype = m.content_type or ""
    if m.method == "MESSAGE" and m.body:
        return True
    return any(ctype.startswith(t) for t in _IM_TYPES)


def _redact_body(m: SipMessage) -> bytes:
    body = m.body
    if not body:
        return body
    if _is_im_body(m):
        return f"[{REDACTED} {len(body)} bytes]".encode()
    if b"a=" in body and (b"v=0" in body):
        for pattern, replacement in _SDP_SECRETS:
            body = pattern.sub(replacement, body)
    return body


def redact_message(m: SipMessage) -> None:
    """Rewrite one message without its secrets (decoded token facts are kept in its cache)."""
    if m._cache.get("ms.redacted"):
        return
    decoded_tokens(m)  # decode what the tokens say before they disappear
    for auth in auth_headers(m):
        for name in SECRET_AUTH_PARAMS:
            if name in auth.params:
                auth.params[name] = REDACTED
        auth.raw = _redact_auth(auth.raw)
    headers: list[tuple[str, str]] = []
    body = _redact_body(m)
    for name, value in m.headers:
        key = canonical_name(name)
        if key in AUTH_HEADERS:
            value = _redact_auth(value)
        elif key in ("ms-text-format", "ms-im-format"):
            value = _TEXT_FORMAT_RE.sub(lambda g: g.group(1) + REDACTED, value)
        elif key == "content-length" and body is not m.body:
            value = str(len(body))
        headers.append((name, value))
    m.headers = headers
    m._index = None
    m.body = body
    head = m.start_line + "\r\n" + "".join(f"{n}: {v}\r\n" for n, v in headers) + "\r\n"
    m.raw = head.encode("utf-8", "replace") + body
    m._cache.pop("parts", None)
    m._cache["ms.redacted"] = True


def redact_messages(messages: list[SipMessage]) -> None:
    for m in messages:
        redact_message(m)
