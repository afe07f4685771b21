"""The few facts worth a glance on each ladder line, chosen per method and status.

Shared by the text ladder and JSON so both say the same thing about a message.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from ..sip.headers import canonical_name
from ..sip.message import SipMessage

#: What ``SipMessage._view_index()`` gives: None asks ``m._values()`` header by header.
ViewIndex = Mapping[str, Sequence[str]] | None

#: Canonical names (as sip/message.py keys them), never split on commas (NEVER_SPLIT): each
#: value is looked up as is, without the name's canonical form or a copy of the list.
_AUTH_CHALLENGES = ("www-authenticate", "proxy-authenticate")
_AUTH_ANSWERS = ("authorization", "proxy-authorization")


def auth_schemes(m: SipMessage, names: tuple[str, ...]) -> list[str]:
    """Auth schemes named by these headers, in order, no repeats (``NTLM``, ``Kerberos``)."""
    return _schemes(m, m._view_index(), tuple(canonical_name(name) for name in names))


def _schemes(m: SipMessage, index: ViewIndex, keys: tuple[str, ...]) -> list[str]:
    """:func:`auth_schemes` of canonical names, ``m._view_index()`` read already (the auth
    headers are view headers: a dict lookup each)."""
    schemes: list[str] = []
    for key in keys:
        for value in index.get(key) or () if index is not None else m._values(key):
            scheme = value.strip().split(" ", 1)[0].split(",", 1)[0]
            if scheme and scheme not in schemes:
                schemes.append(scheme)
    return schemes


def short_content(m: SipMessage) -> str | None:
    """``SDP audio+video``, ``text/plain 12 B``, ... or None when there is no body."""
    if not m.body:
        return None
    ctype = m.content_type or "body"
    if ctype == "application/sdp":
        media = []
        for line in m.body.split(b"\n"):
            if line.startswith(b"m="):
                kind = line[2:].split(b" ", 1)[0].decode("ascii", "replace")
                media.append(kind)
        return "SDP " + "+".join(media) if media else "SDP"
    return f"{ctype} {len(m.body)} B"


def expires_of(m: SipMessage) -> int | None:
    """The registration or subscription lifetime a message states (header, then Contact param)."""
    return _expires_of(m, m._view_index())


def _expires_of(m: SipMessage, index: ViewIndex) -> int | None:
    """:func:`expires_of` with ``m._view_index()`` read already: an Expires header the index
    knows absent is not looked up again (:attr:`SipMessage.expires` would say None)."""
    if index is None or index.get("expires"):
        expires = m.expires
        if expires is not None:
            return expires
    for contact in m.contact:
        value = contact.params.get("expires") if contact.params else None
        if value is not None and value.isdigit():
            return int(value)
    return None


def _first(m: SipMessage, index: ViewIndex, key: str) -> str | None:
    """``m.header(key)`` of a canonical view header name, ``m._view_index()`` read already."""
    values = index.get(key) if index is not None else m._values(key)
    return values[0] if values else None


def diagnostics(m: SipMessage) -> str | None:
    """``ms-diagnostics 1000 "Final handshake failed"`` in short, if present."""
    for name in ("ms-diagnostics", "ms-diagnostics-public"):
        value = m.header(name)
        if value:
            code = value.split(";", 1)[0].strip()
            reason = ""
            lower = value.lower()
            i = lower.find('reason="')
            if i >= 0:
                end = value.find('"', i + 8)
                reason = value[i + 8 : end if end > 0 else None]
            return f"{name} {code}" + (f' "{reason}"' if reason else "")
    return None


#: ``(_ms_facts, _diagnostics_fact)`` of render/msview.py once loaded (an import statement in
#: message_facts would cost a lookup per message).
_MS: (
    tuple[
        Callable[[SipMessage, ViewIndex], list[str]], Callable[[SipMessage, ViewIndex], str | None]
    ]
    | None
) = None


def _load_ms() -> tuple[
    Callable[[SipMessage, ViewIndex], list[str]], Callable[[SipMessage, ViewIndex], str | None]
]:
    global _MS
    from .msview import _diagnostics_fact, _ms_facts

    _MS = (_ms_facts, _diagnostics_fact)
    return _MS


def message_facts(m: SipMessage) -> list[str]:
    """The short notes printed after a ladder line, most useful first."""
    facts: list[str] = []
    # Read once for the dozen view headers the facts look at: a dict lookup each.
    index = m._view_index()
    if m.status in (401, 407):
        schemes = _schemes(m, index, _AUTH_CHALLENGES)
        if schemes:
            facts.append("offers " + ", ".join(schemes))
    elif m.is_request:
        schemes = _schemes(m, index, _AUTH_ANSWERS)
        if schemes:
            facts.append("auth " + ", ".join(schemes))
    cseq = m.cseq
    method = m.method or (cseq[1] if cseq else None)
    if method in ("REGISTER", "SUBSCRIBE") and (m.is_request or (m.status or 0) < 300):
        exp = _expires_of(m, index)
        if exp is not None:
            facts.append(f"expires {exp}")
    if method in ("SUBSCRIBE", "NOTIFY", "BENOTIFY", "PUBLISH"):
        event = _first(m, index, "event")
        if event:
            facts.append("event " + event.split(";", 1)[0].strip())
    if m.method == "NEGOTIATE" or (m.status and method == "NEGOTIATE"):
        comp = m.header("Compression")
        if comp:
            facts.append("compression " + comp.strip())
    content = short_content(m)
    if content:
        facts.append(content)
    ms = _MS or _load_ms()  # the Microsoft decoders load on first use
    facts.extend(ms[0](m, index))  # ms_facts: NTLM/Kerberos tokens, IM line, XML, RemoteUser
    diag = ms[1](m, index)  # diagnostics_fact: with the meaning of the code (sip/ms.py)
    if diag:
        facts.append(diag)
    if m.method in ("BYE", "CANCEL"):
        reason = _first(m, index, "reason")
        if reason:
            facts.append("reason " + reason.strip())
    if m.compressed:
        size = f" {m.wire_size}→{len(m.raw)} B" if m.wire_size is not None else ""
        facts.append(f"LZ77-8K{size}")
    if m.partial:
        facts.append("partial: history unknown")
    if getattr(m, "retransmission", False):
        facts.append("retransmission")
    encapsulation = getattr(m, "encapsulation", None)  # a tunnel or mirror (net/encap.py)
    if encapsulation is not None:
        facts.append(f"via {encapsulation.short}")
    return facts
