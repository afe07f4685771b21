"""Group SIP messages into sessions (one per Call-ID) and match their transactions.

A session is what a UC engineer follows in a trace: everything with one Call-ID. It may hold one
dialog (a call), none (a REGISTER exchange) or several (forking). Inside it, requests and responses
are matched into transactions by the RFC 3261 17.1.3 rule: top Via branch plus CSeq method
(CSeq number, method and Call-ID for branch-less RFC 2543 peers). Retransmissions are recognised
by the same key arriving again from the same source.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from ..sip.message import SipMessage

#: Session kinds, in the words the CLI and JSON use.
KINDS = (
    "registration",
    "call",
    "im",
    "presence",
    "subscription",
    "options",
    "negotiate",
    "service",
    "other",
)

#: Event packages a Lync client subscribes to for presence, contacts and its own settings.
_PRESENCE_EVENTS = {
    "presence",
    "presence.wpending",
    "vnd-microsoft-roaming-self",
    "vnd-microsoft-roaming-contacts",
    "vnd-microsoft-roaming-acl",
    "vnd-microsoft-provisioning",
    "vnd-microsoft-provisioning-v2",
}


@dataclass(slots=True)
class Transaction:
    """One request and the responses to it, with retransmissions counted, not repeated."""

    method: str
    cseq: int
    branch: str | None
    request: SipMessage | None = None
    responses: list[SipMessage] = field(default_factory=list)
    request_retransmissions: int = 0
    response_retransmissions: int = 0
    cancelled: bool = False

    @property
    def final(self) -> SipMessage | None:
        """The first final (>= 200) response, if any."""
        for r in self.responses:
            if r.status is not None and r.status >= 200:
                return r
        return None

    @property
    def final_status(self) -> int | None:
        f = self.final
        return f.status if f is not None else None

    @property
    def outcome(self) -> str:
        """The final status in words: ``200``, ``487 after CANCEL``, ``no response``."""
        status = self.final_status
        if status is None:
            provisional = [r.status for r in self.responses if r.status is not None]
            text = f"{provisional[-1]} (no final)" if provisional else "no response"
        else:
            text = str(status)
        if self.cancelled and self.method == "INVITE":
            text += " after CANCEL"
        return text


@dataclass(slots=True)
class Session:
    """Every message sharing one Call-ID, in capture order, with its transactions."""

    call_id: str
    messages: list[SipMessage] = field(default_factory=list)
    transactions: list[Transaction] = field(default_factory=list)
    kind: str = "other"
    retransmissions: int = 0

    @property
    def start(self) -> float | None:
        return self.messages[0].time if self.messages else None

    @property
    def end(self) -> float | None:
        return self.messages[-1].time if self.messages else None

    @property
    def duration(self) -> float:
        if not self.messages or self.start is None or self.end is None:
            return 0.0
        return self.end - self.start

    @property
    def first_request(self) -> SipMessage | None:
        for m in self.messages:
            if m.is_request:
                return m
        return None

    @property
    def from_uri(self) -> str | None:
        m = self.first_request or (self.messages[0] if self.messages else None)
        return _addr_uri(m, "from") if m is not None else None

    @property
    def to_uri(self) -> str | None:
        m = self.first_request or (self.messages[0] if self.messages else None)
        return _addr_uri(m, "to") if m is not None else None

    @property
    def participants(self) -> list[str]:
        """Every From/To URI seen in the session, in order of first appearance."""
        seen: dict[str, None] = {}
        for m in self.messages:
            for which in ("from", "to"):
                uri = _addr_uri(m, which)
                if uri:
                    seen.setdefault(uri, None)
        return list(seen)

    @property
    def outcome(self) -> str:
        """Final outcomes per method, e.g. ``REGISTER → 401, 401, 200; SUBSCRIBE → 200``."""
        per_method: dict[str, list[str]] = {}
        for t in self.transactions:
            if t.method in ("ACK", "CANCEL"):
                continue
            if t.method == "BENOTIFY" and not t.responses:
                continue  # a BENOTIFY is never answered, by design (MS-SIP)
            per_method.setdefault(t.method, []).append(t.outcome)
        return "; ".join(
            f"{_short_method(method)} → {', '.join(_runs(outs))}"
            for method, outs in per_method.items()
        )

    def matches_user(self, needle: str) -> bool:
        needle = needle.lower()
        for m in self.messages:
            for name in ("From", "To"):
                value = m.header(name)
                if value and needle in value.lower():
                    return True
        return False


def _short_method(method: str) -> str:
    """Extension methods are tokens of any length; a summary keeps them short."""
    return method if len(method) <= 40 else f"{method[:24]}… ({len(method)} characters)"


def _runs(outcomes: list[str]) -> list[str]:
    """``["200", "200", "200", "401"]`` → ``["200 ×3", "401"]``: long IM sessions stay readable."""
    out: list[str] = []
    count = 0
    for i, outcome in enumerate(outcomes):
        count += 1
        if i + 1 == len(outcomes) or outcomes[i + 1] != outcome:
            out.append(f"{outcome} ×{count}" if count > 2 else ", ".join([outcome] * count))
            count = 0
    return out


def _addr_uri(m: SipMessage, which: str) -> str | None:
    addr = m.from_ if which == "from" else m.to
    if addr is None:
        return None
    return str(addr.uri) if addr.uri is not None else None


def _top_branch(m: SipMessage) -> str | None:
    vias = m.via
    if not vias:
        return None
    return vias[0].branch


def classify(messages: Iterable[SipMessage]) -> str:
    """Name what a session is about from its first request (and, for INVITE, its body)."""
    first: SipMessage | None = None
    methods: set[str] = set()
    for m in messages:
        if m.is_request and m.method:
            methods.add(m.method)
            if first is None:
                first = m
    if first is None or first.method is None:
        return "other"
    method = first.method
    if method == "REGISTER":
        return "registration"
    if method == "INVITE":
        return "im" if _invite_is_im(first) else "call"
    if method == "MESSAGE" or (method == "INFO" and "INVITE" not in methods):
        return "im"
    if method in ("SUBSCRIBE", "NOTIFY", "BENOTIFY", "PUBLISH"):
        event = (first.header("Event") or "").split(";")[0].strip().lower()
        return "presence" if event in _PRESENCE_EVENTS else "subscription"
    if method == "OPTIONS":
        return "options"
    if method == "NEGOTIATE":
        return "negotiate"
    if method == "SERVICE":
        return "service"
    return "other"


def _invite_is_im(invite: SipMessage) -> bool:
    """An INVITE for an IM session: SDP with only m=message, or an embedded first message."""
    if invite.header("Ms-Text-Format") or invite.header("ms-im-format"):
        return True
    body = invite.body or b""
    if b"m=" not in body:
        return False
    media = [
        line.split()[0][2:]
        for line in body.decode("latin-1").splitlines()
        if line.startswith("m=") and line.split()
    ]
    return bool(media) and all(m == "message" for m in media)


class SessionBuilder:
    """Feed messages in capture order; ``sessions()`` gives them grouped, matched and classified."""

    def __init__(self) -> None:
        self._sessions: dict[str, Session] = {}
        self._transactions: dict[tuple[str, str | None, int, str], Transaction] = {}
        self._seen_requests: set[tuple[str, str | None, int, str, object, object]] = set()
        self._seen_responses: set[tuple[str, str | None, int, str, int, object, object, bytes]] = (
            set()
        )

    def add(self, m: SipMessage) -> None:
        call_id = m.call_id or "(no Call-ID)"
        session = self._sessions.get(call_id)
        if session is None:
            session = self._sessions[call_id] = Session(call_id)
        session.messages.append(m)
        cseq = m.cseq
        if cseq is None:
            return
        cseq_num, cseq_method = cseq
        branch = _top_branch(m)
        # RFC 3261: the branch identifies the transaction only with the magic cookie.
        branch_key = branch if branch and branch.startswith("z9hG4bK") else None
        key = (call_id, branch_key, cseq_num, cseq_method)
        txn = self._transactions.get(key)
        if m.is_request:
            method = m.method or cseq_method
            if method == "CANCEL":
                target = self._transactions.get((call_id, branch_key, cseq_num, "INVITE"))
                if target is not None:
                    target.cancelled = True
            seen_key = (call_id, branch_key, cseq_num, method, m.src, m.dst)
            if txn is not None and seen_key in self._seen_requests:
                txn.request_retransmissions += 1
                session.retransmissions += 1
                m.retransmission = True
                return
            self._seen_requests.add(seen_key)
            if txn is None:
                txn = Transaction(method=method, cseq=cseq_num, branch=branch)
                self._transactions[key] = txn
                session.transactions.append(txn)
            if txn.request is None:
                txn.request = m
        else:
            status = m.status or 0
            resp_key = (
                call_id,
                branch_key,
                cseq_num,
                cseq_method,
                status,
                m.src,
                m.dst,
                _to_tag(m),
            )
            if txn is None:
                # A response whose request was not captured still makes a transaction.
                txn = Transaction(method=cseq_method, cseq=cseq_num, branch=branch)
                self._transactions[key] = txn
                session.transactions.append(txn)
            if resp_key in self._seen_responses:
                txn.response_retransmissions += 1
                session.retransmissions += 1
                m.retransmission = True
                return
            self._seen_responses.add(resp_key)
            txn.responses.append(m)

    def sessions(self) -> list[Session]:
        """Sessions in order of their first message, each classified."""
        result = list(self._sessions.values())
        for s in result:
            s.kind = classify(s.messages)
        return result


def _to_tag(m: SipMessage) -> bytes:
    to = m.to
    tag = to.tag if to is not None else None
    return (tag or "").encode()
