"""Diagnostic records of Lync server logs joined to the sessions and messages they are about.

A diagnostic record (``TL_WARN(TF_DIAG) ... Severity, Text, Result-Code, SIP-Call-ID,
SIP-CSeq, SIP-Start-Line, Peer, Data``) names the SIP message it is about by Call-ID, CSeq and
start line. :func:`join` attaches each to the session with that Call-ID and, inside it, to the
copy of the message with that CSeq and start line the record's own log saw, nearest before the
record's time. One that names no Call-ID, or a Call-ID no input holds, stands alone in the time
line. Each :class:`Diagnostic` exposes what a filter needs as plain attributes (severity,
level, result code and name, text, URIs, Call-ID, time, ``is_error``).

Pure functions over sessions and events: the same join serves one log, several logs merged
with captures, and a stream of sessions emitted as they finish.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Callable, Iterable, Sequence
from typing import Protocol, TypeAlias, cast

from ..capture.logtypes import SERVER_FORMAT, SEVERITIES, LogEvent
from ..sip.message import SipMessage
from .sessions import Session

#: How far after a message (seconds) a record about it may still be logged: diagnostics
#: follow the message they describe by milliseconds; a record earlier than every copy joins
#: the first copy.
_SLACK = 0.002


class Diagnostic:
    """One diagnostic record and what it was joined to (``session``, ``message``).

    A plain class, not a dataclass: a session lists its diagnostics and each names its
    session, and ``dataclasses.asdict`` of a session must not follow that loop."""

    __slots__ = ("event", "session", "message", "host")

    def __init__(
        self,
        event: LogEvent,
        session: Session | None = None,
        message: SipMessage | None = None,
        host: str | None = None,
    ) -> None:
        self.event = event
        self.session = session
        self.message = message
        #: The name of the machine whose log holds the record, when the run knew it then.
        self.host = host

    def __repr__(self) -> str:
        joined = self.session.call_id if self.session is not None else None
        return f"Diagnostic(record={self.event.record!r}, session={joined!r}, host={self.host!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Diagnostic):
            return NotImplemented
        return (self.event, self.session, self.message, self.host) == (
            other.event, other.session, other.message, other.host
        )  # fmt: skip

    __hash__ = None  # type: ignore[assignment]

    # -- plain fields (the filter language and the views read these) ------------------------
    @property
    def time(self) -> float | None:
        return self.event.time

    @property
    def source(self) -> str | None:
        """The log file that holds the record."""
        return self.event.source

    @property
    def record(self) -> int:
        """The record's number in its log."""
        return self.event.record

    @property
    def level(self) -> str | None:
        """The trace level word: ``ERROR`` of ``TL_ERROR``."""
        return self.event.level

    @property
    def flag(self) -> str | None:
        return self.event.flag

    @property
    def severity(self) -> str | None:
        """``fatal``, ``error``, ``warning``, ``info``, ``verbose``, ``noise`` (or as written)."""
        return self.event.severity

    @property
    def is_error(self) -> bool:
        return self.event.is_error

    @property
    def is_warning(self) -> bool:
        return self.event.severity == "warning"

    @property
    def text(self) -> str:
        return self.event.text

    @property
    def result_code(self) -> str | None:
        """``0xC3E93D6F``."""
        return self.event.result_code

    @property
    def result_value(self) -> int | None:
        return self.event.result.value if self.event.result is not None else None

    @property
    def result_name(self) -> str | None:
        """``SIPPROXY_E_EPROUTING_MSG_ALLOWED_DOMAIN_NO_SRV_MATCH``, or the known name."""
        if self.event.result_name:
            return self.event.result_name
        from .result_codes import lookup  # the table of known codes: a trace log's records

        known = lookup(self.result_value)
        return known.name if known is not None else None

    @property
    def explanation(self) -> str | None:
        """What the result code means, with the ms-diagnostics it corresponds to."""
        if self.event.result is None:
            return None
        from .result_codes import describe

        return describe(self.result_value, self.event.result_name)

    @property
    def ms_diagnostics(self) -> int | None:
        """The ms-diagnostics ErrorId clients get for the same failure, where published."""
        from .result_codes import lookup

        known = lookup(self.result_value, self.event.result_name)
        return known.ms_diagnostics if known is not None else None

    @property
    def call_id(self) -> str | None:
        return self.event.call_id

    @property
    def cseq(self) -> tuple[int, str] | None:
        return self.event.cseq

    @property
    def start_line(self) -> str | None:
        return self.event.start_line

    @property
    def peer(self) -> str | None:
        return self.event.peer

    @property
    def data(self) -> dict[str, str]:
        return self.event.data

    @property
    def machine(self) -> str | None:
        return self.event.machine

    @property
    def uris(self) -> list[str]:
        """The URIs it is about: its own (start line, Data) and, once joined, the session's."""
        out = list(self.event.uris)
        if self.session is not None:
            for uri in self.session.participants:
                if uri not in out:
                    out.append(uri)
        return out

    @property
    def joined_by(self) -> str | None:
        """``call-id`` or ``call-id, cseq, start-line`` (None when standing alone)."""
        if self.session is None:
            return None
        return "call-id" if self.message is None else "call-id, cseq, start-line"


class DiagnosticTally:
    """How many diagnostics, by severity and by result code, without holding them."""

    __slots__ = ("total", "by_severity", "by_result")

    def __init__(self) -> None:
        self.total = 0
        self.by_severity: Counter[str] = Counter()
        self.by_result: Counter[str] = Counter()

    def add(self, diagnostics: Iterable[Diagnostic]) -> None:
        for d in diagnostics:
            self.total += 1
            self.by_severity[d.severity or "-"] += 1
            if d.result_code or d.result_name:
                self.by_result[" ".join(x for x in (d.result_code, d.result_name) if x)] += 1


class DiagnosticIndex:
    """The joined diagnostics of an input: per session (:meth:`of`) and standing alone.

    ``enabled`` is False for inputs that cannot hold diagnostics (captures): views then add
    nothing, not even empty lists, so their output stays as it was. ``counted``: diagnostics
    a streaming run joined to sessions it has handed out already, counted (in ``len`` and
    :meth:`counts`) but not held.
    """

    def __init__(
        self,
        diagnostics: list[Diagnostic],
        enabled: bool = True,
        hosts: dict[str | None, str] | None = None,
        *,
        counted: DiagnosticTally | None = None,
    ) -> None:
        self.enabled = enabled
        self.counted = counted
        #: The name of the machine that wrote each log (by file name), for the views.
        self.hosts: dict[str | None, str] = dict(hosts or {})
        #: Every diagnostic, by time (records without a time keep their log order, last).
        self.all = sorted(diagnostics, key=_time_key)
        self.standalone = [d for d in self.all if d.session is None]
        self._by_session: dict[int, list[Diagnostic]] = {}
        for d in self.all:
            if d.session is not None:
                self._by_session.setdefault(id(d.session), []).append(d)

    def of(self, session: Session) -> list[Diagnostic] | None:
        """The diagnostics joined to ``session`` by time; None when diagnostics are off."""
        if not self.enabled:
            return None
        return self._by_session.get(id(session), [])

    def counts(self) -> tuple[Counter[str], Counter[str]]:
        """By severity and by result code (``0xC3E93D6F SIPPROXY_E_...``), of every
        diagnostic (those only counted too)."""
        tally = DiagnosticTally()
        tally.add(self.all)
        if self.counted is not None:
            tally.by_severity.update(self.counted.by_severity)
            tally.by_result.update(self.counted.by_result)
        return tally.by_severity, tally.by_result

    def __len__(self) -> int:
        """Every diagnostic, held or only counted."""
        return len(self.all) + (self.counted.total if self.counted is not None else 0)


def _time_key(d: Diagnostic) -> tuple[int, float, str, int]:
    t = d.time
    return (t is None, t or 0.0, d.source or "", d.record)


def severity_rank(severity: str | None) -> int:
    """0 for fatal ... 5 for noise; 6 for anything else."""
    try:
        return SEVERITIES.index(severity or "")
    except ValueError:
        return len(SEVERITIES)


def _norm_start_line(text: str) -> tuple[str, str]:
    """``INVITE sip:a@b SIP/2.0`` → ``("INVITE", "sip:a@b")``; a status line → ``("", "504")``."""
    parts = text.split()
    if not parts:
        return "", ""
    if parts[0].upper().startswith("SIP/"):
        return "", parts[1] if len(parts) > 1 else ""
    return parts[0].upper(), (parts[1].lower() if len(parts) > 1 else "")


def _matches(m: SipMessage, cseq: tuple[int, str] | None, line: tuple[str, str] | None) -> bool:
    if cseq is not None:
        own = m.cseq
        if own is None or own[0] != cseq[0] or (cseq[1] and own[1].upper() != cseq[1]):
            return False
    if line is not None:
        method, what = line
        if method:
            if m.method is None or m.method.upper() != method:
                return False
            if what and (m.request_uri or "").lower() != what:
                return False
        elif m.status is None or str(m.status) != what:
            return False
    return True


def _pick(
    candidates: list[SipMessage],
    d: LogEvent,
    seen_by: Callable[[SipMessage], Iterable[str | None]] | None,
) -> SipMessage | None:
    """The copy the record's own log saw (when known), nearest before the record's time."""
    if not candidates:
        return None
    if seen_by is not None and d.source is not None:
        own = [m for m in candidates if d.source in seen_by(m)]
        candidates = own or candidates
    if d.time is None:
        return candidates[0]
    before = [m for m in candidates if m.time is not None and m.time <= d.time + _SLACK]
    if before:
        return max(before, key=lambda m: m.time or 0.0)
    return candidates[0]


def join(
    sessions: Sequence[Session],
    events: Iterable[LogEvent],
    *,
    seen_by: Callable[[SipMessage], Iterable[str | None]] | None = None,
    enabled: bool = True,
    hosts: dict[str | None, str] | None = None,
) -> DiagnosticIndex:
    """Join the diagnostic records among ``events`` to ``sessions`` (see the module docstring).

    ``seen_by(message)`` names the inputs that saw a message (merged views): a record then
    joins its own log's copy of the message. Events that are not diagnostics (component
    traces at info level without a result code) are left out.
    """
    by_call: dict[str, list[Session]] = {}
    for s in sessions:
        by_call.setdefault(s.call_id, []).append(s)
    out: list[Diagnostic] = []
    for e in events:
        if not e.is_diagnostic:
            continue
        d = Diagnostic(e)
        call_id = e.call_id
        found = by_call.get(call_id or "") if call_id else None
        if found:
            session = found[0]
            if len(found) > 1 and e.time is not None:
                session = min(found, key=lambda s: abs((s.start or 0.0) - (e.time or 0.0)))
            d.session = session
            cseq = e.cseq
            line = _norm_start_line(e.start_line) if e.start_line else None
            if cseq is not None or line is not None:
                candidates = [m for m in session.messages if _matches(m, cseq, line)]
                if line is None:  # a CSeq names its request's transaction: the request first
                    candidates = [m for m in candidates if m.is_request] or candidates
                d.message = _pick(candidates, e, seen_by)
        out.append(d)
    return DiagnosticIndex(out, enabled, hosts)


def log_host_name(capture: object) -> str | None:
    """The name a server log's machine is shown by (``Capture.log_host``), or None."""
    host = getattr(capture, "log_host", None)
    if not host or host[0] is None:
        return None
    return str(host[0])


def log_hosts(inputs: Sequence[object]) -> dict[str | None, str]:
    """The name of the machine that wrote each server log among ``inputs``, by input name."""
    out: dict[str | None, str] = {}
    for item in inputs:
        name = log_host_name(item)
        if name:
            out[getattr(item, "name", None)] = name
    return out


def diagnostics_of(capture: object, sessions: Sequence[Session]) -> DiagnosticIndex:
    """The joined diagnostics of a :class:`~lyncdump.api.Capture` (disabled for captures and
    client logs, which hold no diagnostic records). Its records are named after the capture
    (``source``)."""
    events = getattr(capture, "log_events", None) or []
    fmt = str(getattr(capture, "format", ""))
    name = str(getattr(capture, "name", ""))
    for e in events:
        e.source = name
    host = log_host_name(capture)
    return join(
        sessions,
        events,
        enabled=fmt == SERVER_FORMAT,
        hosts={name: host} if host else None,
    )


class DiagnosticJoiner:
    """Joins a server log's diagnostics to its sessions as a run emits them (pipeline/core).

    Records are kept by Call-ID until the session of that Call-ID is emitted, and joined to it
    then (by CSeq and start line to its message, as :func:`join` does). Those whose session
    never comes, or came before them (a record written after its session finished), stand
    alone. The records kept are bounded by the reader's bound on events (capture/tracelog).
    With ``keep_joined=False`` (a streaming run: each joined diagnostic goes out with its
    session) the joined ones are only counted.
    """

    def __init__(self, source: str, *, enabled: bool = True, keep_joined: bool = True) -> None:
        self.source = source
        self.enabled = enabled
        self.keep_joined = keep_joined
        self._counted = DiagnosticTally()
        #: The log's machine, once known (the pipeline sets it): each diagnostic names it.
        self.host: str | None = None
        self._pending: dict[str, list[LogEvent]] = {}
        self._alone: list[LogEvent] = []
        self._joined: list[Diagnostic] = []

    def event(self, e: LogEvent) -> None:
        """One record of the log, in log order."""
        if not e.is_diagnostic:
            return
        e.source = self.source
        call_id = e.call_id
        if call_id:
            self._pending.setdefault(call_id, []).append(e)
        else:
            self._alone.append(e)

    def session(self, session: Session) -> list[Diagnostic] | None:
        """The diagnostics of a session being emitted (None when the input holds none)."""
        if not self.enabled:
            return None
        events = self._pending.pop(session.call_id, None)
        if not events:
            return []
        joined = join([session], events).all
        for d in joined:
            d.host = self.host
        if self.keep_joined:
            self._joined.extend(joined)
        else:
            self._counted.add(joined)
        return joined

    def finish(self, hosts: dict[str | None, str] | None = None) -> DiagnosticIndex:
        """Every diagnostic of the input, joined or alone."""
        rest = self._alone + [e for events in self._pending.values() for e in events]
        self._pending.clear()
        self._alone = []
        alone = join([], rest).all
        for d in alone:
            d.host = self.host
        counted = None if self.keep_joined else self._counted
        return DiagnosticIndex(self._joined + alone, self.enabled, hosts, counted=counted)


class DiagnosticTest(Protocol):
    """A filter that can judge a diagnostic on its own (lyncdump.filters.Filter does)."""

    def diagnostic(self, d: Diagnostic) -> bool: ...


#: What :func:`diagnostic_matches` takes: a compiled ``-Y``/``--filter`` expression, or the
#: older ``KEY=VALUE`` pairs (library callers).
DiagnosticFilter: TypeAlias = "DiagnosticTest | Sequence[tuple[str, str]]"


def diagnostic_matches(d: Diagnostic, filters: DiagnosticFilter) -> bool:
    """The command line's filter applied to a diagnostic standing alone.

    A compiled expression (``filters.diagnostic``) decides by itself (lyncdump/filters.py:
    ``log.*`` fields, and session fields the record also has). ``KEY=VALUE`` pairs:
    ``call-id`` (exact), ``user`` (substring of a URI it names), ``method`` (of its start line
    or CSeq); ``kind`` names session kinds, which a lone record has none of."""
    judge = getattr(filters, "diagnostic", None)
    if callable(judge):
        return bool(judge(d))
    for key, wanted in cast("Sequence[tuple[str, str]]", filters):
        if key == "call-id" and d.call_id != wanted:
            return False
        if key == "kind":
            return False
        if key == "user" and not any(wanted.lower() in uri.lower() for uri in d.uris):
            return False
        if key == "method" and d.event.method != wanted.upper():
            return False
    return True


class Timeline:
    """Diagnostics standing alone, handed out in time order between the sessions of a
    ladder: :meth:`before` gives those earlier than a time, :meth:`rest` the others."""

    def __init__(self, standalone: Iterable[Diagnostic]) -> None:
        self._queue = deque(sorted(standalone, key=_time_key))

    def before(self, time: float | None) -> list[Diagnostic]:
        out: list[Diagnostic] = []
        if time is None:
            return out
        while self._queue and self._queue[0].time is not None and self._queue[0].time < time:
            out.append(self._queue.popleft())
        return out

    def rest(self) -> list[Diagnostic]:
        out = list(self._queue)
        self._queue.clear()
        return out


__all__ = [
    "Diagnostic",
    "DiagnosticFilter",
    "DiagnosticIndex",
    "DiagnosticJoiner",
    "DiagnosticTest",
    "Timeline",
    "diagnostic_matches",
    "diagnostics_of",
    "join",
    "log_host_name",
    "log_hosts",
    "severity_rank",
]
