"""IM conversations: who said what, when, and whether it was delivered.

Built from an ``im`` :class:`~lyncdump.analysis.sessions.Session`: the INVITE (with the first
message embedded in ``ms-text-format`` when the client supports ``ms-embedded-first-message``),
MESSAGE bodies (text/plain, text/html, text/rtf, multipart/alternative), typing indicators
(INFO with KeyboardActivity), IM delivery notifications (ms-imdn), each with the final status
of its transaction as the delivery status.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ..sip.message import SipMessage
from ..sip.ms import endpoint_list, parse_conversation_id, text_formats
from ..sip.xmlbody import summarize_xml
from .sessions import Session

__all__ = ["Conversation", "ImEvent", "analyze_conversation", "conversations", "im_text"]

_TAG_RE = re.compile(r"<[^>]{0,2000}>")
_RTF_CONTROL_RE = re.compile(r"\\[a-zA-Z]+-?\d* ?|[{}]|\\\*")
_MAX_TEXT = 2000


def _html_text(html: str) -> str:
    text = _TAG_RE.sub(" ", html)
    for entity, char in (
        ("&lt;", "<"),
        ("&gt;", ">"),
        ("&quot;", '"'),
        ("&#39;", "'"),
        ("&amp;", "&"),
    ):
        text = text.replace(entity, char)
    return " ".join(text.split())


def _rtf_text(rtf: str) -> str:
    # Drop groups that hold no text ({\fonttbl...}, {\colortbl...}, {\*\...}) then controls.
    text = re.sub(r"\{\\(?:fonttbl|colortbl|\*)[^{}]*(?:\{[^{}]*\}[^{}]*)*\}", "", rtf)
    text = _RTF_CONTROL_RE.sub("", text)
    return " ".join(text.split())


def _is_redacted(m: SipMessage) -> bool:
    return bool(m._cache.get("ms.redacted"))


def im_text(m: SipMessage) -> tuple[str, str] | None:
    """(content type, readable text) of the IM a message carries, or None.

    INVITE: the embedded first message (``ms-text-format`` ``ms-body``); MESSAGE: its body
    (plain text preferred over HTML/RTF alternatives). Redacted messages give ``(type, "")``.
    """
    if m.method == "INVITE":
        for fmt in text_formats(m):
            if _is_redacted(m):
                return fmt.content_type, ""
            if fmt.text is not None:
                text = fmt.text
                if fmt.content_type == "text/html":
                    text = _html_text(text)
                elif fmt.content_type == "text/rtf":
                    text = _rtf_text(text)
                return fmt.content_type, text[:_MAX_TEXT]
        return None
    if m.method != "MESSAGE" or not m.body:
        return None
    ctype = m.content_type or "text/plain"
    if _is_redacted(m):
        return ctype, ""
    if ctype.startswith("multipart/"):
        best: tuple[str, str] | None = None
        for part in m.body_parts():
            ptype = part.content_type or "text/plain"
            text = part.body_text
            if ptype == "text/plain":
                return ptype, text.strip()[:_MAX_TEXT]
            if best is None and ptype in ("text/html", "text/rtf"):
                best = (ptype, _html_text(text) if ptype == "text/html" else _rtf_text(text))
        return best
    if ctype == "text/html":
        return ctype, _html_text(m.body_text)[:_MAX_TEXT]
    if ctype == "text/rtf":
        return ctype, _rtf_text(m.body_text)[:_MAX_TEXT]
    if ctype.startswith("text/") or ctype == "message/cpim":
        return ctype, m.body_text.strip()[:_MAX_TEXT]
    return None


@dataclass(slots=True)
class ImEvent:
    """One thing that happened in the conversation."""

    time: float | None
    frame: int | None
    sender: str | None
    kind: str  # message | typing | stopped typing | delivery | other
    text: str | None = None
    content_type: str | None = None
    status: str | None = None  # "delivered 200", "failed 480", "no answer", None (not answered)

    def to_dict(self) -> dict[str, Any]:
        """An event object of a ``conversation`` (docs/json.md)."""
        from ..render.msview import im_event_to_dict

        return im_event_to_dict(self)


@dataclass(slots=True)
class Conversation:
    """An IM session summarised."""

    call_id: str
    participants: list[str] = field(default_factory=list)
    start: float | None = None
    end: float | None = None
    conversation_id: str | None = None
    conversation_started: str | None = None
    endpoints: list[str] = field(default_factory=list)
    roster_manager: str | None = None
    events: list[ImEvent] = field(default_factory=list)
    outcome: str = ""

    @property
    def message_count(self) -> int:
        return sum(1 for e in self.events if e.kind == "message")

    def to_dict(self) -> dict[str, Any]:
        """The ``conversation`` object of an ``im`` session record (docs/json.md)."""
        from ..render.msview import conversation_to_dict

        return conversation_to_dict(self)


def _sender(m: SipMessage) -> str | None:
    addr = m.from_
    return addr.uri_text if addr is not None else None


def _delivery(session: Session, m: SipMessage) -> str | None:
    for t in session.transactions:
        if t.request is m:
            status = t.final_status
            if status is None:
                return "no answer"
            return f"delivered {status}" if 200 <= status < 300 else f"failed {status}"
    return None


def analyze_conversation(session: Session) -> Conversation:
    """Turn an ``im`` session into a conversation with its events in order."""
    conv = Conversation(
        call_id=session.call_id,
        participants=session.participants,
        start=session.start,
        end=session.end,
        outcome=session.outcome,
    )
    for m in session.messages:
        if not m.is_request or m.retransmission:
            continue
        if m.method == "INVITE":
            cid = m.header("Ms-Conversation-ID")
            if cid and conv.conversation_id is None:
                decoded = parse_conversation_id(cid)
                conv.conversation_id = decoded.guid if decoded else cid.strip()
                if decoded and decoded.time is not None:
                    conv.conversation_started = decoded.time.strftime("%Y-%m-%d %H:%M:%S UTC")
            for uri, _epid in endpoint_list(m):
                if uri not in conv.endpoints:
                    conv.endpoints.append(uri)
            rm = m.header("Roster-Manager")
            if rm:
                conv.roster_manager = rm.strip().strip("<>")
        said = im_text(m)
        if said is not None:
            conv.events.append(
                ImEvent(
                    m.time, m.frame, _sender(m), "message", said[1], said[0], _delivery(session, m)
                )
            )
            continue
        if m.method in ("INFO", "MESSAGE", "BENOTIFY", "NOTIFY") and m.body:
            summary = summarize_xml(m.content_type, m.body)
            if summary in ("typing", "stopped typing"):
                conv.events.append(ImEvent(m.time, m.frame, _sender(m), summary))
            elif summary and summary.startswith("IM delivery"):
                conv.events.append(
                    ImEvent(m.time, m.frame, _sender(m), "delivery", summary, m.content_type)
                )
            elif summary and summary.startswith("composing"):
                kind = "typing" if summary.endswith("active") else "stopped typing"
                conv.events.append(ImEvent(m.time, m.frame, _sender(m), kind))
    return conv


def conversations(sessions: list[Session]) -> list[Conversation]:
    """Every IM session as a conversation, in capture order."""
    return [analyze_conversation(s) for s in sessions if s.kind == "im"]
