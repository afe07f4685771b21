"""``--redact``: take IM text, credentials, auth tokens and keys out of every output.

Redaction works on what the decoders recognised, not on patterns over printed text: each
message's auth headers are parsed (:func:`~lyncdump.sip.auth.auth_headers`), its SDP read line
by line (every ``inline:`` key of ``a=crypto`` / ``a=cryptoscale``, whatever the case, several
per line), its multipart body split into parts (each redacted by its own type, nested parts
too), its XML parsed (``password`` elements, presence note text), its first IM decoded from
``ms-text-format``. Each secret found is replaced where the structure says it is, and then every
other place the same text appears in that message (headers, body, the raw text ``-v`` prints)
is cleaned too. What the tokens *say* (user, domain, service principal, certificate subject) is
decoded first and kept, because that is what a trace reader needs.

:func:`redact_capture` does this for every message, then cleans the trace-log records with the
capture's secrets and hides DTMF digits (keypad input: PINs) in the RTP streams, so text,
JSON, ``--calls``, ``--streams-csv`` and the trace-log views all show the same redacted data and
no renderer can forget a field.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterable
from typing import Any
from xml.sax.saxutils import escape as _xml_escape

from ..analysis.registration import decoded_tokens
from ..sip.auth import AUTH_HEADERS, CREDENTIAL_HEADERS, AuthParams, auth_headers
from ..sip.headers import canonical_name, parse_media_type
from ..sip.message import SipMessage, split_multipart
from ..sip.ms import parse_text_format
from ..sip.xmlbody import parse_xml

__all__ = [
    "REDACTED",
    "REDACTED_DTMF",
    "SECRET_AUTH_PARAMS",
    "redact_capture",
    "redact_message",
    "redact_messages",
]

REDACTED = "<redacted>"
_R = REDACTED.encode()

#: Auth parameters whose value is a secret, a token or a proof.
SECRET_AUTH_PARAMS = (
    "gssapi-data",
    "response",
    "rspauth",
    "cnonce",
    "password",
    "access_token",
    "token",
    "assertion",
)

#: The event number DTMF presses get in redacted streams (RFC 4733 codes stop at 255).
REDACTED_DTMF = 256

# Schemes whose header is a list of parameters, of which only some are secret ([MS-SIPAE],
# RFC 3261). Any other scheme in a credentials header (Basic, Bearer, Negotiate, ...) carries
# its credentials after the scheme: all of it goes.
_PARAM_SCHEMES = frozenset({"digest", "ntlm", "kerberos", "tls-dsk"})
_MIN_SECRET = 8  # shorter texts are not searched for elsewhere (too many false hits)
_MAX_PARTS_DEPTH = 4

_AUTH_PARAM_RE = re.compile(
    r"(?i)(\b(?:" + "|".join(re.escape(p) for p in SECRET_AUTH_PARAMS) + r")\s*=\s*)"
    r'(?:"[^"]*"?|[^,]*)'
)
_TEXT_FORMAT_RE = re.compile(r"(?i)(\b(?:ms-body|msgr)\s*=\s*)[^;]*")
_IM_TYPES = ("text/", "message/", "application/im-iscomposing+xml")
_DTMF_TYPES = ("application/dtmf-relay", "application/dtmf")
_DTMF_SIGNAL_RE = re.compile(rb"(?im)^(signal\s*=\s*)(\S+)")
_KPML_DIGITS_RE = re.compile(rb'(?i)(\bdigits\s*=\s*")([^"]*)')
_XML_SECRET_TAGS = frozenset({"password", "binarysecuritytoken", "ciphervalue"})
_CANDIDATE_PASSWORD_RE = re.compile(r"^(\S+ \d+ )(\S+)( (?:UDP|TCP-PASS|TCP-ACT|TCP) 0\.\d+ )")


class _Found:
    """The secrets found in one message, to be removed from every place they appear."""

    __slots__ = ("texts",)

    def __init__(self) -> None:
        self.texts: set[str] = set()

    def add(self, text: str | None) -> None:
        if text is None:
            return
        text = text.strip()
        if len(text) >= _MIN_SECRET and text != REDACTED:
            self.texts.add(text)

    def clean(self, text: str) -> str:
        for secret in self.ordered():
            if secret in text:
                text = text.replace(secret, REDACTED)
        return text

    def clean_bytes(self, data: bytes) -> bytes:
        for secret in self.ordered():
            raw = secret.encode("utf-8", "replace")
            if raw in data:
                data = data.replace(raw, _R)
        return data

    def ordered(self) -> list[str]:
        return sorted(self.texts, key=len, reverse=True)  # longest first: no partial leftovers


# -- auth headers --------------------------------------------------------------------------------


def _basic_secrets(token: str, found: _Found) -> None:
    """``Basic`` credentials: the token, and the password inside it when it decodes."""
    found.add(token)
    try:
        plain = base64.b64decode(token + "=" * (-len(token) % 4), validate=True)
    except (binascii.Error, ValueError):
        return
    text = plain.decode("utf-8", "replace")
    found.add(text)
    found.add(text.partition(":")[2])


def _redact_auth_value(value: str, auth: AuthParams, key: str, found: _Found) -> str:
    """An auth header value without its secrets (the parsed ``auth`` updated too)."""
    scheme = auth.scheme.lower()
    text = value.strip()
    after = text[len(auth.scheme) :].strip() if auth.scheme else text
    bare = bool(after) and "=" not in after.rstrip("=")  # a token, not parameters
    if scheme not in _PARAM_SCHEMES and (key in CREDENTIAL_HEADERS or bare):
        if scheme == "basic":
            _basic_secrets(after, found)
        else:
            found.add(after)
        for name in list(auth.params):
            auth.params[name] = REDACTED
        return f"{auth.scheme} {REDACTED}" if auth.scheme else REDACTED
    for name in SECRET_AUTH_PARAMS:
        if name in auth.params:
            found.add(auth.params[name])
            auth.params[name] = REDACTED
    return _AUTH_PARAM_RE.sub(lambda m: f'{m.group(1)}"{REDACTED}"', value)


# -- SDP -----------------------------------------------------------------------------------------


def _redact_crypto(value: str, found: _Found) -> str:
    """Every key of one ``a=crypto`` / ``a=cryptoscale`` value (RFC 4568: key-params are
    ``method:info`` separated by ``;``, the method case-insensitive)."""
    fields = value.split(" ")
    for i, word in enumerate(fields):
        if ":" not in word or i == 0:
            continue
        params = word.split(";")
        for j, param in enumerate(params):
            method, sep, info = param.partition(":")
            if not sep or not method or not method.replace("-", "").isalnum():
                continue
            secret, bar, rest = info.partition("|")
            found.add(secret)
            params[j] = f"{method}:{REDACTED}{bar}{rest}"
        fields[i] = ";".join(params)
    return " ".join(fields)


def _redact_sdp_line(line: str, found: _Found) -> str:
    if line[:2].lower() == "k=":  # RFC 4566 encryption key, any method
        found.add(line[2:].partition(":")[2] or line[2:])
        return line[:2] + REDACTED
    if line[:2] != "a=":
        return line
    name, sep, value = line[2:].partition(":")
    low = name.lower()
    if not sep:
        return line
    if low in ("crypto", "cryptoscale"):
        return f"a={name}:{_redact_crypto(value, found)}"
    if low == "ice-pwd" or (low.startswith("x-ms-") and "key" in low):
        found.add(value)
        return f"a={name}:{REDACTED}"
    if low == "candidate":  # MS-ICE v6 candidates carry the password as their third field
        m = _CANDIDATE_PASSWORD_RE.match(value)
        if m is not None:
            found.add(m.group(2))
            return f"a={name}:{m.group(1)}{REDACTED}{m.group(3)}{value[m.end() :]}"
    return line


def _redact_sdp(body: bytes, found: _Found) -> bytes:
    text = body.decode("utf-8", "surrogateescape")
    lines = text.split("\n")
    for i, line in enumerate(lines):
        cr = line.endswith("\r")
        core = line[:-1] if cr else line
        new = _redact_sdp_line(core.strip(), found) if core.strip() else core
        if new != core.strip():
            lines[i] = new + ("\r" if cr else "")
    return "\n".join(lines).encode("utf-8", "surrogateescape")


def _looks_like_sdp(body: bytes) -> bool:
    return body.lstrip()[:4] == b"v=0\r" or body.lstrip()[:4] == b"v=0\n"


# -- XML -----------------------------------------------------------------------------------------


def _local(tag: object) -> str:
    text = tag if isinstance(tag, str) else ""
    return text.rsplit("}", 1)[-1].lower()


def _redact_xml(body: bytes, found: _Found) -> bytes:
    """Passwords and security tokens, and presence note text (what a person typed)."""
    root = parse_xml(body)
    if root is None:
        return body
    secrets: list[str] = []
    for el in root.iter():
        name = _local(el.tag)
        if name in _XML_SECRET_TAGS and el.text and el.text.strip():
            secrets.append(el.text.strip())
        elif name == "category" and (el.get("name") or "").lower() == "note":
            for sub in el.iter():
                if _local(sub.tag) == "body" and sub.text and sub.text.strip():
                    secrets.append(sub.text.strip())
    for secret in secrets:
        found.add(secret)
        for form in {secret, _xml_escape(secret), _xml_escape(secret, {'"': "&quot;"})}:
            body = body.replace(form.encode("utf-8"), _R)
    return body


# -- bodies --------------------------------------------------------------------------------------


def _is_im_type(ctype: str) -> bool:
    return any(ctype.startswith(t) for t in _IM_TYPES)


def _im_text(body: bytes, found: _Found, charset: str | None) -> bytes:
    """An IM body: remembered (so copies elsewhere go too) and replaced by its size."""
    try:
        text = body.decode(charset or "utf-8", "replace")
    except (LookupError, ValueError, TypeError):
        text = body.decode("utf-8", "replace")
    found.add(text)
    for line in text.splitlines():
        found.add(line)
    return f"[{REDACTED} {len(body)} bytes]".encode()


def _redact_body(
    ctype: str, params: dict[str, str], body: bytes, im: bool, found: _Found, depth: int = 0
) -> bytes:
    """One body (or body part) of type ``ctype`` without its secrets; ``im`` when every text
    in it is a message a person typed (a MESSAGE)."""
    if not body:
        return body
    if ctype.startswith("multipart/") and params.get("boundary") and depth < _MAX_PARTS_DEPTH:
        boundary = params["boundary"]
        parts = split_multipart(body, boundary)
        if parts:
            delim = b"--" + boundary.encode("utf-8", "replace")
            out = []
            for part in parts:
                pbody = _redact_body(
                    part.content_type or "text/plain",
                    part.content_type_params,
                    part.body,
                    im,
                    found,
                    depth + 1,
                )
                head = "".join(
                    f"{n}: {len(pbody) if canonical_name(n) == 'content-length' else v}\r\n"
                    for n, v in part.headers
                )
                out.append(delim + b"\r\n" + head.encode("utf-8", "replace") + b"\r\n" + pbody)
            return b"\r\n".join(out) + b"\r\n" + delim + b"--\r\n"
    if im or _is_im_type(ctype):
        return _im_text(body, found, params.get("charset"))
    if ctype == "application/sdp" or _looks_like_sdp(body):
        return _redact_sdp(body, found)
    if ctype in _DTMF_TYPES:
        return _DTMF_SIGNAL_RE.sub(rb"\1" + _R, body)
    if "kpml" in ctype:
        return _KPML_DIGITS_RE.sub(rb"\1" + _R, body)
    if "xml" in ctype or body.lstrip()[:1] == b"<":
        return _redact_xml(body, found)
    return body


# -- messages ------------------------------------------------------------------------------------


def redact_message(m: SipMessage) -> set[str]:
    """Rewrite one message without its secrets (decoded token facts are kept in its cache).

    Returns the secrets found, so a caller can clean other output (trace-log records) of them.
    """
    if m._cache.get("ms.redacted"):
        return set()
    decoded_tokens(m)  # decode what the tokens say before they disappear
    found = _Found()
    auths = iter(auth_headers(m))
    ctype, params = parse_media_type(m.header("content-type") or "")
    body = _redact_body(ctype or "", params, m.body, m.method == "MESSAGE" and bool(m.body), found)
    headers: list[tuple[str, str]] = []
    for name, value in m.headers:
        key = canonical_name(name)
        if key in AUTH_HEADERS:
            auth = next(auths, None)
            if auth is not None:
                value = _redact_auth_value(value, auth, key, found)
                auth.raw = value
        elif key in ("ms-text-format", "ms-im-format"):
            fmt = parse_text_format(value)
            found.add(fmt.text)
            if fmt.text:
                for line in fmt.text.splitlines():
                    found.add(line)
            for piece in value.split(";"):
                pname, _, pvalue = piece.partition("=")
                if pname.strip().lower() in ("ms-body", "msgr"):
                    found.add(pvalue.strip().strip('"'))
            value = _TEXT_FORMAT_RE.sub(lambda g: g.group(1) + REDACTED, value)
        headers.append((name, value))
    # every secret found, wherever else in the message it appears (the body first: its length
    # goes into Content-Length)
    body = found.clean_bytes(body)
    headers = [
        (n, str(len(body)) if canonical_name(n) == "content-length" else found.clean(v))
        for n, v in headers
    ]
    m.headers = headers
    m._index = None
    m.body = body
    head = m.start_line + "\r\n" + "".join(f"{n}: {v}\r\n" for n, v in headers) + "\r\n"
    m.raw = found.clean_bytes(head.encode("utf-8", "replace")) + body
    m._cache.pop("parts", None)
    m._cache["ms.redacted"] = True
    return found.texts


def redact_messages(messages: Iterable[SipMessage]) -> set[str]:
    """Redact each message; returns every secret found (for :func:`clean_log_events`)."""
    found: set[str] = set()
    for m in messages:
        found |= redact_message(m)
    return found


def clean_log_events(events: Iterable[Any], secrets: Iterable[str]) -> None:
    """Trace-log records (diagnostics, component traces): the capture's secrets out of their
    text and fields, and any auth parameter they quote."""
    cleaner = _Found()
    for s in secrets:
        cleaner.add(s)
    for event in events:
        event.text = _AUTH_PARAM_RE.sub(
            lambda g: f'{g.group(1)}"{REDACTED}"', cleaner.clean(event.text)
        )
        for key, value in list(event.fields.items()):
            event.fields[key] = _AUTH_PARAM_RE.sub(
                lambda g: f'{g.group(1)}"{REDACTED}"', cleaner.clean(value)
            )


def redact_streams(streams: Iterable[Any]) -> None:
    """DTMF presses keep their time and duration; which key was pressed goes."""
    for st in streams:
        events = getattr(st, "dtmf_events", None)
        if events:
            st.dtmf_events = [(REDACTED_DTMF, t, d, end) for _e, t, d, end in events]


def redact_capture(capture: Any) -> None:
    """Everything a capture outputs: its messages, its trace-log records, its RTP streams."""
    secrets = redact_messages(capture._messages)
    events = getattr(capture, "log_events", None)
    if events:
        clean_log_events(events, secrets)
    media = getattr(capture, "media", None)
    rtp = getattr(media, "rtp", None)
    if rtp is not None:
        redact_streams(rtp.streams)
