"""Group SIP messages into sessions (one per Call-ID) and match their transactions.

A session is what a UC engineer follows in a trace: everything with one Call-ID. It may hold one
dialog (a call), none (a REGISTER exchange) or several (forking). Inside it, requests and responses
are matched into transactions by the RFC 3261 17.1.3 rule: top Via branch plus CSeq method
(CSeq number, method and Call-ID for branch-less RFC 2543 peers). Retransmissions are recognised
by the same key arriving again from the same source.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .. import fastpath
from ..recent import RecentKeys, text_key
from ..sip.message import _UNSET, _VIEW_LOWER, _VIEW_SCANNED, SipMessage

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

    def to_dict(self) -> dict[str, Any]:
        """The transaction object of docs/json.md."""
        from ..render.json import transaction_to_dict

        return transaction_to_dict(self)


@dataclass(slots=True)
class Session:
    """Every message sharing one Call-ID, in capture order, with its transactions."""

    call_id: str
    messages: list[SipMessage] = field(default_factory=list)
    transactions: list[Transaction] = field(default_factory=list)
    kind: str = "other"
    retransmissions: int = 0
    #: 1 for a Call-ID's first session; 2, 3, ... when a streaming run emitted the earlier
    #: part after it went quiet and the Call-ID came back (see SessionBuilder).
    part: int = 1
    #: A server log's diagnostic records joined to this session (analysis/diagnostics.py);
    #: None for inputs that hold none (captures, client logs).
    diagnostics: list[Any] | None = None

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
        # Runs of equal outcomes per method, counted as they come: a transaction with a final
        # response is its status (an int; its text is made once per run), any other its
        # outcome text (never only digits, so never equal to a status).
        per_method: dict[str, list[list[Any]]] = {}
        for t in self.transactions:
            method = t.method
            if method == "ACK" or method == "CANCEL":
                continue
            responses = t.responses
            if not responses and method == "BENOTIFY":
                continue  # a BENOTIFY is never answered, by design (MS-SIP)
            outcome: int | str | None = None
            for r in responses:
                status = r.status
                if status is not None and status >= 200:
                    outcome = status
                    break
            if outcome is None or (t.cancelled and method == "INVITE"):
                outcome = t.outcome
            runs = per_method.get(method)
            if runs is None:
                per_method[method] = [[outcome, 1]]
            elif runs[-1][0] == outcome:
                runs[-1][1] += 1
            else:
                runs.append([outcome, 1])
        return "; ".join(
            f"{_short_method(method)} → {', '.join(_run_texts(runs))}"
            for method, runs in per_method.items()
        )

    def to_dict(
        self, *, verbose: bool = False, others: list[Session] | None = None
    ) -> dict[str, Any]:
        """The ``session`` record of docs/json.md, ``registration`` and ``conversation``
        included; ``verbose`` adds headers and bodies. Pass the capture's sessions as
        ``others`` to name a sign-in's follow-up subscriptions (``Capture.sessions()``)."""
        from ..render.json import session_to_dict
        from ..render.msview import session_extra_fields

        record = session_to_dict(self, verbose=verbose, diagnostics=self.diagnostics)
        return session_extra_fields(record, self, others if others is not None else [self])

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


def _run_texts(runs: list[list[Any]]) -> list[str]:
    """Counted runs ``[outcome, count]`` as text: ``[[200, 3], [401, 1]]`` →
    ``["200 ×3", "401"]`` (two equal outcomes are written out): long IM sessions stay readable."""
    out: list[str] = []
    for outcome, count in runs:
        text = str(outcome)
        out.append(f"{text} ×{count}" if count > 2 else ", ".join([text] * count))
    return out


def _addr_uri(m: SipMessage, which: str) -> str | None:
    return m.addr_uri(which)


def classify(messages: Iterable[SipMessage]) -> str:
    """Name what a session is about from its first request (and, for INVITE, its body)."""
    first: SipMessage | None = None
    invite = False
    for m in messages:
        method = m.method
        if method:
            if first is None:
                first = m
            if method == "INVITE":
                invite = True
    return _kind(first, invite)


def _kind(first: SipMessage | None, invite: bool) -> str:
    """:func:`classify` given the session's first request and whether any request of it is
    an INVITE (what the transaction matcher notes on its way)."""
    if first is None or first.method is None:
        return "other"
    method = first.method
    if method == "REGISTER":
        return "registration"
    if method == "INVITE":
        return "im" if _invite_is_im(first) else "call"
    if method == "MESSAGE" or (method == "INFO" and not invite):
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


class _Group:
    """The messages of one Call-ID not yet emitted as a session."""

    __slots__ = (
        "call_id", "messages", "last_time", "order", "held", "dialog", "part", "waiting",
        "invite", "may_call",
    )  # fmt: skip

    def __init__(self, call_id: str, order: int, part: int) -> None:
        self.call_id = call_id
        self.messages: list[SipMessage] = []
        self.last_time = 0.0  # capture time of the latest message
        self.order = order  # arrival number of its first message: sessions come out by it
        self.held = False  # an answered INVITE without BYE yet: a call in progress
        self.dialog = False  # an answered SUBSCRIBE: NOTIFYs may follow at any time
        self.part = part
        #: (CSeq number, method) of requests without a final answer yet.
        self.waiting: set[tuple[int, str]] = set()
        self.invite = False  # an INVITE request was seen
        #: It may be a call (an INVITE not only for IM, or answers to one whose INVITE was
        #: not captured): what a consumer joining calls to media waits for.
        self.may_call = False


#: Seconds of capture time a session with a request still unanswered stays open with no new
#: message: 64 x T1, the longest a SIP transaction lives (RFC 3261 timers B, F, H).
DEFAULT_QUIET = 32.0

#: Seconds a session whose requests are all answered stays open with no new message: T4, how
#: long a finished transaction lingers to absorb retransmissions (timers I and K).
DEFAULT_SETTLE = 5.0

#: Messages held in open sessions, in total, before the least recently active session is
#: emitted early (a bound against captures that never let sessions go quiet).
DEFAULT_MAX_HELD = 200_000

#: Call-IDs of emitted sessions remembered, so that a later message names its session's part
#: (by a 60-bit key of the Call-ID, not its text: recent.text_key).
_RECENT_IDS = 100_000

#: Requests that get no answer by design: ACK (RFC 3261), BENOTIFY ([MS-SIPRE]).
_UNANSWERED = frozenset({"ACK", "BENOTIFY"})


class PySessionBuilder:
    """Feed messages as they are decoded; sessions come out when they are finished.

    ``quiet=None`` (what :class:`lyncdump.Capture` uses) keeps every session until
    :meth:`finish`, which returns them all in order of their first message. With ``quiet``
    seconds, :meth:`add` and :meth:`advance` return the sessions that have had no message for
    that long in capture time, or only ``settle`` seconds once every request in them has its
    final answer and no subscription dialog was set up (an INVITE dialog that was answered
    waits for its BYE either way), so a
    consumer can write them out and forget them: memory then follows what is open, not the
    length of the capture. A later message with the same Call-ID starts a new session with
    ``part`` 2, 3, ... ``max_held`` bounds the messages held open in total; past it the least
    recently active session is emitted early (and counted in ``early``).

    Messages are grouped as they arrive and matched into transactions when their session is
    emitted, in frame order (``by_frame``; TCP completes messages out of frame order) or in
    arrival order (a merged time line, whose frames belong to different inputs).

    This is the pure-Python builder, the reference: :data:`SessionBuilder` is the compiled
    one (``_fastpath.SessionTable``, the same API and results) when the fast path is in use.

    ``count_only=True`` asks for counting mode, for a consumer that needs only the calls and
    the counts of the rest (``--summary``): the compiled table then counts, instead of
    emitting, each session that is not a call and has nothing left to note or take (no
    defects), and :meth:`counted` gives those counts. This builder builds every session (it
    is the reference counting mode is compared with): it takes the argument and counts none.
    """

    def __init__(
        self,
        quiet: float | None = None,
        *,
        settle: float | None = DEFAULT_SETTLE,
        by_frame: bool = True,
        max_held: int = DEFAULT_MAX_HELD,
        count_only: bool = False,
    ) -> None:
        self.count_only = False  # (see the class docstring)
        self.quiet = quiet
        self.settle = quiet if settle is None or quiet is None else min(settle, quiet)
        self.by_frame = by_frame
        self.max_held = max(1, max_held)
        #: Sessions emitted before they went quiet because ``max_held`` was reached.
        self.early = 0
        # Open groups by Call-ID, least recently active first (re-inserted on each message):
        # those with every request answered, and the others. Ordered dicts: the oldest is
        # taken from the front on nearly every message, which a plain dict pays for with a
        # scan over every entry deleted since it last resized (recent.py).
        self._settled: OrderedDict[str, _Group] = OrderedDict()
        self._busy: OrderedDict[str, _Group] = OrderedDict()
        self._held = 0
        self._arrivals = 0
        self._now = float("-inf")
        # Call-ID (its recent.text_key) -> parts emitted (bounded, oldest dropped).
        self._parts = RecentKeys(_RECENT_IDS)

    def __len__(self) -> int:
        """Sessions open now."""
        return len(self._settled) + len(self._busy)

    @property
    def held(self) -> int:
        """Messages held in open sessions now."""
        return self._held

    def add(self, m: SipMessage) -> list[Session]:
        """Take one message; returns the sessions finished by the time it carries (often [])."""
        t = m.time
        settled = self._settled
        busy = self._busy
        finished: list[Session] = []
        if t is not None and t > self._now:
            self._now = t
            quiet = self.quiet
            # _expired() only when a queue's least recently active session has gone quiet
            # (the test it starts with, without a call per message).
            if quiet is not None and (
                (settled and next(iter(settled.values())).last_time < t - self.settle)  # type: ignore[operator]
                or (busy and next(iter(busy.values())).last_time < t - quiet)
            ):
                finished = self._expired()
        call_id = m.call_id or "(no Call-ID)"
        group = settled.pop(call_id, None) or busy.pop(call_id, None)
        if group is None:
            part = self._parts.get(text_key(call_id), 0) + 1 if len(self._parts) else 1
            group = _Group(call_id, self._arrivals, part)
        self._arrivals += 1
        group.messages.append(m)
        self._held += 1
        if t is not None and t > group.last_time:
            group.last_time = t
        cseq = m.cseq
        method = m.method
        if cseq is not None and cseq[1] == "INVITE" and not group.may_call:
            if method == "INVITE":
                group.invite = True
                group.may_call = not _invite_is_im(m)
            elif not group.invite:
                group.may_call = True
        if method is None:
            status = m.status
            if status is not None and status >= 200 and cseq is not None:
                group.waiting.discard(cseq)
                if status < 300:
                    if cseq[1] == "INVITE":
                        group.held = True
                    elif cseq[1] == "SUBSCRIBE":
                        group.dialog = True
        else:
            if method == "BYE":
                group.held = False
            if cseq is not None and cseq[1] not in _UNANSWERED:
                group.waiting.add(cseq)
        # Now the most recently active of its queue.
        if group.waiting or group.held or group.dialog:
            busy[call_id] = group
        else:
            settled[call_id] = group
        if self._held > self.max_held and self.quiet is not None:
            finished.extend(self._evict())
        return finished

    def open_since(self, *, calls_only: bool = True) -> float:
        """The first message time of the oldest open session that may be a call (of any open
        session with ``calls_only=False``; the latest time seen when none is open): every
        such session not emitted yet starts at or after it."""
        t = self._now
        for queue in (self._settled, self._busy):
            for group in queue.values():
                if calls_only and not group.may_call:
                    continue
                first = group.messages[0].time
                if first is not None and first < t:
                    t = first
        return t

    def advance(self, now: float) -> list[Session]:
        """Capture time has reached ``now``: the sessions quiet since then are finished."""
        if now > self._now:
            self._now = now
        if self.quiet is None or not (self._settled or self._busy):
            return []
        return self._expired()

    def finish(self) -> list[Session]:
        """End of input: every open session, in order of its first message."""
        groups = sorted([*self._settled.values(), *self._busy.values()], key=lambda g: g.order)
        self._settled.clear()
        self._busy.clear()
        return [self._emit(g) for g in groups]

    def sessions(self) -> list[Session]:
        """:meth:`finish` under its older name (every session, grouped, matched, classified)."""
        return self.finish()

    def counted(self) -> tuple[dict[str, int], int]:
        """What counting mode counted instead of emitting: first parts per kind (what
        ``Stats.count_session`` adds) and every part's retransmissions; none here."""
        return {}, 0

    def _expired(self) -> list[Session]:
        out: list[Session] = []
        now = self._now
        settled = self._settled
        limit = now - self.settle  # type: ignore[operator]
        while settled:
            group = next(iter(settled.values()))
            if group.last_time >= limit:
                break
            del settled[group.call_id]
            out.append(self._emit(group))
        busy = self._busy
        limit = now - self.quiet  # type: ignore[operator]
        while busy:
            group = next(iter(busy.values()))
            if group.last_time >= limit:
                break
            del busy[group.call_id]
            if group.held:
                # A call in progress: it waits for its BYE (or the end), at the back.
                busy[group.call_id] = group
                group.last_time = now
                continue
            out.append(self._emit(group))
        return out

    def _evict(self) -> list[Session]:
        out: list[Session] = []
        while self._held > self.max_held and len(self) > 1:
            settled, busy = self._settled, self._busy
            # The least recently active of the two queues' heads goes first.
            a = next(iter(settled.values()), None)
            b = next(iter(busy.values()), None)
            group = a if b is None or (a is not None and a.last_time <= b.last_time) else b
            assert group is not None
            del (settled if group is a else busy)[group.call_id]
            self.early += 1
            out.append(self._emit(group))
        return out

    def _emit(self, group: _Group) -> Session:
        """Match the group's transactions (in frame order) and classify it."""
        self._held -= len(group.messages)
        messages = group.messages
        if self.by_frame:
            messages.sort(key=_frame_key)
        # The group's list becomes the session's: the group is done with.
        session = Session(group.call_id, messages, part=group.part)
        session.kind = _match(session, messages)
        if self.quiet is not None:
            self._parts.put(text_key(group.call_id), group.part)
        return session


def _frame_key(m: SipMessage) -> int:
    return m.frame or 0


def _compiled_builder() -> type[PySessionBuilder] | None:
    """:class:`PySessionBuilder` with its open groups in C (``_fastpath.SessionTable``), or
    None without the fast path."""
    table: Any = fastpath.helper("SessionTable")
    if table is None:
        return None

    class SessionBuilder(table):  # type: ignore[misc,valid-type]
        """:class:`PySessionBuilder` (see there) with its open groups, their queues and the
        emission in C: the same sessions in the same order, with the same reads of each
        message (tests/analysis/test_session_table.py compares them).

        With ``count_only=True`` (counting mode) a finished group whose kind is decided in C
        and is not ``call``, whose messages have nothing left to note or take
        (``sip_to_note`` would give none) and whose matching reads nothing that could note a
        defect (CSeq and top Via read already or plain, To tags of built addresses) is
        matched in C without Session or Transaction objects and counted (:meth:`counted`):
        its kind when it is a first part, its retransmissions, its part remembered. Every
        other group is emitted as without it, in the same order."""

        __slots__ = ()

        def __init__(
            self,
            quiet: float | None = None,
            *,
            settle: float | None = DEFAULT_SETTLE,
            by_frame: bool = True,
            max_held: int = DEFAULT_MAX_HELD,
            count_only: bool = False,
        ) -> None:
            super().__init__(
                quiet,
                quiet if settle is None or quiet is None else min(settle, quiet),
                by_frame,
                max(1, max_held),
                Session,
                Transaction,
                SipMessage,
                _UNSET,
                _kind,
                _invite_is_im,
                _frame_key,
                _RECENT_IDS,
                view=(_VIEW_LOWER, _VIEW_SCANNED),
                count=count_only,
            )

        def sessions(self) -> list[Session]:
            """:meth:`finish` under its older name."""
            return self.finish()  # type: ignore[no-any-return]

    SessionBuilder.__qualname__ = "SessionBuilder"
    return SessionBuilder  # type: ignore[return-value]


if TYPE_CHECKING:
    SessionBuilder = PySessionBuilder
else:
    #: The session builder the pipeline uses: the compiled one when the fast path is in use.
    SessionBuilder = _compiled_builder() or PySessionBuilder


#: The compiled matcher (lyncdump._fastpath.sip_match), or None: _match_python runs then.
_sip_match: Any = fastpath.helper("sip_match")


def _match(session: Session, messages: list[SipMessage]) -> str:
    """Match ``messages`` into the session's transactions and return its kind: the compiled
    ``sip_match`` when the fast path is in use (the loop, keys, dict and set work in C; the
    same reads of each message in the same order), :func:`_match_python` otherwise."""
    if _sip_match is not None:
        first, invite = _sip_match(session, messages, Transaction, SipMessage, _UNSET)
        return _kind(first, invite)
    return _match_python(session, messages)


def _match_python(session: Session, messages: list[SipMessage]) -> str:
    """Match ``messages`` (the session's, in order) into the session's transactions (RFC 3261
    17.1.3), retransmissions counted, not repeated; returns its kind (:func:`classify`).

    A request is a retransmission when its transaction exists and an earlier request of the
    session had the same branch, CSeq number, method, source and destination; a response when
    a response kept in its transaction had the same status, source, destination and To tag.
    The requests' keys stay in a list until a transaction key comes again (hashing endpoints
    is most of their cost, and most sessions never look them up), and a response's To tag is
    read only when a kept response of its transaction matches it otherwise. One flat loop:
    it runs for every message of every session.
    """
    txns = session.transactions
    transactions: dict[tuple[str | None, int, str], Transaction] = {}
    requests: list[tuple[str | None, int, str, object, object]] = []
    seen: set[tuple[str | None, int, str, object, object]] | None = None
    first: SipMessage | None = None
    invite = False
    for m in messages:
        method = m.method
        if method:
            if first is None:
                first = m
            if method == "INVITE":
                invite = True
        cseq = m.cseq
        if cseq is None:
            continue
        cseq_num, cseq_method = cseq
        branch = m.top_branch
        # RFC 3261: the branch identifies the transaction only with the magic cookie.
        branch_key = branch if branch and branch.startswith("z9hG4bK") else None
        key = (branch_key, cseq_num, cseq_method)
        txn = transactions.get(key)
        if method is not None:
            method = method or cseq_method
            if method == "CANCEL":
                target = transactions.get((branch_key, cseq_num, "INVITE"))
                if target is not None:
                    target.cancelled = True
            seen_key = (branch_key, cseq_num, method, m.src, m.dst)
            if txn is not None and seen is None:
                seen = set(requests)
            if seen is None:
                requests.append(seen_key)
            else:
                if txn is not None and seen_key in seen:
                    txn.request_retransmissions += 1
                    session.retransmissions += 1
                    m.retransmission = True
                    continue
                seen.add(seen_key)
            if txn is None:
                txn = transactions[key] = Transaction(method, cseq_num, branch, m)
                txns.append(txn)
            elif txn.request is None:
                txn.request = m
            continue
        # Reading the To tag notes the To header's problems: in this order, as always.
        m.note_address_defects(from_=False)
        if txn is None:
            # A response whose request was not captured still makes a transaction.
            txn = transactions[key] = Transaction(cseq_method, cseq_num, branch)
            txns.append(txn)
        else:
            status = m.status or 0
            src, dst = m.src, m.dst
            tag: bytes | None = None
            retransmission = False
            for r in txn.responses:
                if (r.status or 0) == status and r.src == src and r.dst == dst:
                    if tag is None:
                        tag = _to_tag(m)
                    if _to_tag(r) == tag:
                        retransmission = True
                        break
            if retransmission:
                txn.response_retransmissions += 1
                session.retransmissions += 1
                m.retransmission = True
                continue
        txn.responses.append(m)
    return _kind(first, invite)


def _to_tag(m: SipMessage) -> bytes:
    to = m.to
    tag = to.tag if to is not None else None
    return (tag or "").encode()
