"""What the HTML report embeds: the runs' results turned into one compact JSON document.

:class:`ReportData` consumes the events of :func:`lyncdump.stream` and keeps, per finished
session, only the compact record the report shows (the parsed messages are dropped at once),
plus the INVITE sessions, which the calls join to their media when the input ends. A merged
time line (captures with trace logs) streams the same way (:meth:`ReportData.consume_merged`
on a :class:`~lyncdump.analysis.merge_stream.MergedStream`), its calls joined to the
captures' media in a call window as they settle; :meth:`ReportData.add_merged` takes the
keep-all :class:`~lyncdump.analysis.merge.MergedCapture` (the parity tests' oracle). Memory
therefore follows the report's own size, not the inputs': docs/report.md gives the figures.

The document (``ReportData.document()``) is what report.js reads:

- ``inputs``, ``overview`` (counts, connections, defects by layer, what was not decoded:
  ``not_decoded`` sentences and ``frames_not_decoded`` counts by kind);
- ``addrs``: every ``ip:port`` once; messages and events name addresses by index;
- ``roles``: host -> client / Front End / Edge / AV MCU / peer / proxy (report/roles.py);
- ``sessions``: kind, Call-ID, parties, outcome, messages as rows
  ``[frame, time, src, dst, transport, label, facts, retransmission, input]``, sign-in or
  conversation details;
- ``calls``: the calls table's columns, findings, offer/answer, ICE pairs, TURN allocations,
  stream indexes and the media events of the ladder;
- ``streams``: the JSON stream records (render/streams.py), time series included;
- ``defects``: rows ``[frame, layer, offset, reason, input]``;
- ``diagnostics``: the server logs' diagnostic records (analysis/diagnostics.py): severity,
  result code, name and meaning, text, host, peer, data, the session (``session``: its index)
  and message (``msg``: its row) they were joined to, or none (standing alone); each joined
  session lists its own in ``diags``, and ``overview.diagnostics`` counts them.

A merged time line's message rows carry two more columns: the number of the copy shown,
lettered by input (``A#10``), and every input's number (``A#10 C#3``), as the text view.
"""

from __future__ import annotations

import itertools
import json
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from ..analysis.diagnostics import (
    Diagnostic,
    DiagnosticIndex,
    diagnostic_matches,
    severity_rank,
)
from ..analysis.registration import FollowUps, analyze_registration
from ..analysis.sessions import Session
from ..pipeline.events import Event, InputFinished, MessageDecoded, SessionFinished
from ..render.diagnostics import host_of
from ..render.facts import message_facts
from ..render.msview import conversation_to_dict, registration_to_dict
from ..render.streams import stream_to_dict
from ..render.text import shorten, what
from .roles import RoleBook

if TYPE_CHECKING:
    from ..analysis.calls import Call
    from ..analysis.ice import Allocation, IceSession
    from ..analysis.merge_stream import MergedStream
    from ..media.stats import StreamStats
    from ..sip.message import SipMessage

Matches = Callable[[Session], bool]
#: The command line's ``--filter`` pairs (cli_common.parse_filters).
Filters = Sequence[tuple[str, str]]
#: A merged time line's numbering: (the input letter of an item, ``[A#5 B#12]`` of a message).
Numbering = tuple[Callable[[Any], str], Callable[[Any], str]]

#: Characters kept of a ladder label and of a message's facts (hostile input is long).
LABEL_LIMIT = 160
FACTS_LIMIT = 400

#: Losses, jitter and MOS past which a call gets a finding (docs/report.md).
LOSS_FINDING = 5.0  # percent
JITTER_FINDING = 30.0  # ms
MOS_FINDING = 3.5

_NAMED_KINDS = {
    "registration": "signins",
    "im": "im",
    "presence": "presence",
    "subscription": "presence",
    "call": "calls",
}


def _all(_session: Session) -> bool:
    return True


def _shown(matches: Matches, session: Session, logs: list[Diagnostic] | None) -> bool:
    """``matches(session)`` judged with the diagnostics a merge joined to ``session`` attached
    for the time of the test, as a single run attaches them (``--filter log.error``)."""
    if logs is None or session.diagnostics is not None:
        return matches(session)
    session.diagnostics = logs
    try:
        return matches(session)
    finally:
        session.diagnostics = None


def _r(x: float | None, digits: int = 3) -> float | None:
    return None if x is None else round(x, digits)


class ReportData:
    """The report's document, built input by input (see the module docstring)."""

    def __init__(self, *, redacted: bool = False) -> None:
        self.redacted = redacted
        self.inputs: list[dict[str, Any]] = []
        self.addrs: dict[str, int] = {}
        self.sessions: list[dict[str, Any]] = []
        self.calls: list[dict[str, Any]] = []
        self.streams: list[dict[str, Any]] = []
        self.defects: list[list[Any]] = []
        self.defects_total = 0
        self.defects_dropped: Counter[str] = Counter()
        self.defects_by_layer: Counter[str] = Counter()
        self.connections: list[dict[str, Any]] = []
        self.not_decoded: list[str] = []
        #: Frames that gave no UDP or TCP (ARP, ESP, unknown tunnels...), by kind: every input.
        self.frames_not_decoded: Counter[str] = Counter()
        self.counts: Counter[str] = Counter()
        self.kinds: Counter[str] = Counter()
        self.methods: Counter[str] = Counter()
        self.statuses: Counter[str] = Counter()
        self.transports: Counter[str] = Counter()
        self.shown_sessions = 0
        self.roles = RoleBook()
        self.diagnostics: list[dict[str, Any]] = []

    # -- inputs -------------------------------------------------------------------------------
    def consume(
        self,
        events: Iterable[Event],
        *,
        matches: Matches = _all,
        filtered: bool = False,
        filters: Filters = (),
    ) -> Any:
        """One input's events (``lyncdump.stream(..., messages=True)``); returns its pipeline.

        ``matches`` chooses the sessions shown; with ``filtered`` only the media of the calls
        shown is kept; ``filters`` (the command line's KEY=VALUE pairs) choose the server-log
        diagnostics that stand alone, those of the sessions shown are always kept."""
        from ..analysis.call_window import CallWindow

        index = len(self.inputs)
        first = (len(self.sessions), len(self.calls), len(self.diagnostics), len(self.addrs))
        follow = FollowUps()
        # The calls join their streams in a call window (as --json's do): each becomes its
        # record once its join is final, and its session is let go then.
        window = CallWindow()
        places: dict[int, int] = {}  # id() of a call session held -> its place among them
        arrivals = itertools.count()
        record_of: dict[int, int] = {}  # id() of a call session shown -> its session record
        call_places: dict[int, int] = {}  # call record id -> its session's place
        call_streams: dict[int, list[StreamStats]] = {}  # call record id -> its streams

        def joined(calls: list[Call]) -> None:
            for call in calls:
                key = id(call.session)
                place = places.pop(key, 0)
                session_id = record_of.pop(key, None)
                if session_id is None:
                    continue  # not shown
                self._final_call(call, session_id, index, place, call_places, call_streams)

        end: InputFinished | None = None
        for event in events:
            kind = type(event)
            if kind is MessageDecoded:
                follow.message(event.message)  # type: ignore[union-attr]
            elif kind is SessionFinished:
                follow.finished(event.pipeline)  # type: ignore[union-attr]
                session: Session = event.session  # type: ignore[union-attr]
                if matches(session):
                    if session.kind == "call":
                        record_of[id(session)] = len(self.sessions)
                    self._session(session, follow, index, session.diagnostics)
                if session.kind == "call":
                    places[id(session)] = next(arrivals)
                    joined(window.add(session, event.pipeline))  # type: ignore[union-attr]
            elif kind is InputFinished:
                end = event  # type: ignore[assignment]
        if end is None:  # a generator that ended without its last event: a bug, say so
            raise RuntimeError("the pipeline ended without InputFinished")
        pipeline = end.pipeline
        joined(window.finish(pipeline))
        found = pipeline.diagnostics()
        self._diagnostics_alone(found, index, filters)
        self._name_hosts(found, first[2])
        self._final_streams(
            index, pipeline.allocations(), pipeline.streams(), call_streams, filtered
        )
        # Sessions stay in the order they finished; calls go back to their sessions' order.
        places_of_sessions = {i: i for i in range(first[0], len(self.sessions))}
        self._in_time_line_order(first, places_of_sessions, call_places)
        self._input(pipeline, index)
        return pipeline

    def consume_merged(
        self,
        merged: MergedStream,
        *,
        matches: Matches = _all,
        filtered: bool = False,
        filters: Filters = (),
        window: int | None = None,
    ) -> MergedStream:
        """A streaming merge (analysis/merge_stream.py) of captures with trace logs; returns
        it, its totals final. As :meth:`consume`, each merged session becomes its record as
        it finishes and its messages are let go; the sign-in follow-ups are noted message by
        message and forgotten once no session still to come can list them; the calls are
        joined to the capture inputs' media in a call window (analysis/merge_calls.py, as the
        merged ``--calls``) and each becomes its record once its join is final. At the end the
        records are put in time line order and numbered as :meth:`add_merged` numbers them
        (the keep-all merge: the parity tests' oracle), ``window`` sizes the call window."""
        from ..analysis.merge_calls import MergedCalls
        from ..render.merged import letter_of, tag_of

        index = len(self.inputs)
        first = (len(self.sessions), len(self.calls), len(self.diagnostics), len(self.addrs))
        follow = FollowUps()
        merged.on_message = follow.message
        numbering = (letter_of(merged), tag_of(merged))
        places: dict[int, int] = {}  # session record id -> its place in the time line
        call_places: dict[int, int] = {}  # call record id -> its session's place
        call_streams: dict[int, list[StreamStats]] = {}  # call record id -> its streams
        record_of: dict[int, int] = {}  # id() of a call session shown -> its record id

        def on_call(call: Call, shown: bool, place: int) -> None:
            if not shown:
                return
            session_id = record_of.pop(id(call.session), None)
            self._final_call(call, session_id, index, place, call_places, call_streams)

        joined = MergedCalls(merged, on_call, window=window)
        try:
            for session in merged.sessions():
                follow.finished(merged)
                logs = merged.diagnostics().of(session)
                shown = _shown(matches, session, logs)
                if shown:
                    places[len(self.sessions)] = merged.order_of(session)
                    if session.kind == "call":
                        record_of[id(session)] = len(self.sessions)
                    self._session(session, follow, index, logs, numbering)
                joined.add(session, shown)
            joined.finish()
        finally:
            merged.on_message = None
        found = merged.diagnostics()
        self._diagnostics_alone(found, index, filters, numbering[0])
        self._name_hosts(found, first[2])
        self._final_streams(
            index, joined.media.allocations(), joined.streams(), call_streams, filtered
        )
        self._in_time_line_order(first, places, call_places)
        self._input(merged, index)
        return merged

    def _in_time_line_order(
        self,
        first: tuple[int, int, int, int],
        places: dict[int, int],
        call_places: dict[int, int],
    ) -> None:
        """Put a streamed input's records in the keep-all order and numbering: sessions by
        their place in the time line, each one's diagnostics in turn, then those standing
        alone; calls by their session's place; addresses numbered as they are first met in
        that order (messages, then the calls' events)."""
        first_session, first_call, first_diagnostic, first_addr = first
        sessions = self.sessions[first_session:]
        sessions.sort(key=lambda rec: places[rec["id"]])
        new_session = {rec["id"]: first_session + i for i, rec in enumerate(sessions)}
        diagnostics = self.diagnostics[first_diagnostic:]
        old = {d["id"]: d for d in diagnostics}
        ordered: list[dict[str, Any]] = []
        for rec in sessions:
            rec["id"] = new_session[rec["id"]]
            mine = [old.pop(i) for i in rec["diags"]]
            rec["diags"] = [first_diagnostic + len(ordered) + i for i in range(len(mine))]
            ordered.extend(mine)
        ordered.extend(d for d in diagnostics if d["id"] in old)  # standing alone
        for i, d in enumerate(ordered):
            d["id"] = first_diagnostic + i
            if d["session"] is not None:
                d["session"] = new_session.get(d["session"], d["session"])
        self.sessions[first_session:] = sessions
        self.diagnostics[first_diagnostic:] = ordered
        calls = self.calls[first_call:]
        calls.sort(key=lambda rec: call_places[rec["id"]])
        for i, rec in enumerate(calls):
            rec["id"] = first_call + i
            if rec["session"] is not None:
                rec["session"] = new_session.get(rec["session"], rec["session"])
            for st in rec["streams"]:
                self.streams[st]["call"] = rec["id"]
        self.calls[first_call:] = calls
        # Addresses: renumber those this input brought in the order the keep-all walk meets them.
        texts = list(self.addrs)
        renumber: dict[int, int] = {}

        def meet(i: int) -> int:
            if i < first_addr:
                return i
            found = renumber.get(i)
            if found is None:
                found = renumber[i] = first_addr + len(renumber)
            return found

        rows = [row for rec in sessions for row in rec["msgs"]]
        rows.extend(event for rec in calls for event in rec["events"])
        for row in rows:
            row[2] = meet(row[2])
            row[3] = meet(row[3])
        for i in range(first_addr, len(texts)):
            meet(i)  # an address no row names (none today): numbered after the rest
        self.addrs = dict(sorted(self.addrs.items(), key=lambda kv: meet(kv[1])))
        for text in self.addrs:
            self.addrs[text] = meet(self.addrs[text])

    def add_merged(
        self,
        merged: Any,
        *,
        matches: Matches = _all,
        filtered: bool = False,
        filters: Filters = (),
    ) -> None:
        """A keep-all merged time line (:class:`~lyncdump.analysis.merge.MergedCapture`, every
        input decoded whole first): its sessions, the calls they make with the capture
        inputs' media (``MergedCapture.calls``), the logs' diagnostics. The command streams
        instead (:meth:`consume_merged`); this stays as the library's keep-all way and the
        parity tests' oracle."""
        from ..render.merged import letter_of, tag_of

        index = len(self.inputs)
        first_diagnostic = len(self.diagnostics)
        sessions = merged.sessions()
        follow = FollowUps(sessions)
        found = merged.diagnostics()
        numbering = (letter_of(merged), tag_of(merged))
        shown_calls: set[int] = set()
        for session in sessions:
            logs = found.of(session)
            if not _shown(matches, session, logs):
                continue
            if session.kind == "call":
                shown_calls.add(id(session))
            self._session(session, follow, index, logs, numbering)
        self._diagnostics_alone(found, index, filters, numbering[0])
        self._name_hosts(found, first_diagnostic)
        calls = merged.calls()
        self._media(
            index,
            [c for c in calls if id(c.session) in shown_calls],
            merged.streams(),
            merged.ice_sessions(),
            merged.allocations(),
            filtered,
        )
        # A keep-all merge counts messages only: its sessions count their retransmissions.
        retransmissions = sum(s.retransmissions for s in sessions)
        self._input(merged, index, Counter(s.kind for s in sessions), retransmissions)

    # -- sessions -----------------------------------------------------------------------------
    def _addr(self, value: object) -> int:
        text = "?" if value is None else str(value)
        found = self.addrs.get(text)
        if found is None:
            found = self.addrs[text] = len(self.addrs)
        return found

    def _message_row(
        self, m: SipMessage, index: int, numbering: Numbering | None = None
    ) -> list[Any]:
        try:
            facts = "; ".join(message_facts(m))
        except Exception as exc:  # noqa: BLE001 - a fact that cannot be made is not fatal
            facts = f"(facts unavailable: {type(exc).__name__})"
        row = [
            m.frame,
            _r(m.time, 6),
            self._addr(m.src),
            self._addr(m.dst),
            m.transport or "?",
            shorten(what(m), LABEL_LIMIT),
            shorten(facts, FACTS_LIMIT) if facts else "",
            1 if getattr(m, "retransmission", False) else 0,
            index,
        ]
        if numbering is not None:  # merged: frames of several inputs meet
            letter, tag = numbering
            row.append(f"{letter(m)}#{m.frame}")
            row.append(tag(m).strip("[]"))
        return row

    def _session(
        self,
        session: Session,
        follow: FollowUps,
        index: int,
        diagnostics: list[Diagnostic] | None = None,
        numbering: Numbering | None = None,
    ) -> None:
        self.roles.session(session)
        if session.part == 1:
            self.shown_sessions += 1
        first = session.first_request
        record: dict[str, Any] = {
            "id": len(self.sessions),
            "kind": session.kind,
            "tab": _NAMED_KINDS.get(session.kind, "other"),
            "call_id": session.call_id,
            "part": session.part,
            "start": _r(session.start, 6),
            "end": _r(session.end, 6),
            "duration": round(session.duration, 3),
            "from": session.from_uri,
            "to": session.to_uri,
            "participants": session.participants[:20],
            "outcome": shorten(session.outcome, 300),
            "event": (first.header("Event") or "").split(";", 1)[0].strip() if first else "",
            "retransmissions": session.retransmissions,
            "input": index,
            "msgs": [self._message_row(m, index, numbering) for m in session.messages],
            "registration": None,
            "conversation": None,
            "diags": [],
        }
        if diagnostics:
            rows = {id(m): i for i, m in enumerate(session.messages)}
            letter = numbering[0] if numbering is not None else None
            for d in diagnostics:
                record["diags"].append(len(self.diagnostics))
                row = rows.get(id(d.message)) if d.message is not None else None
                self._diagnostic(d, index, record["id"], row, letter)
        if session.kind == "registration":
            from ..analysis.registration import Registration

            reg: Registration = analyze_registration(session, follow)
            record["registration"] = registration_to_dict(reg)
        elif session.kind == "im":
            from ..analysis.im import analyze_conversation

            record["conversation"] = conversation_to_dict(analyze_conversation(session))
        self.sessions.append(record)

    # -- server-log diagnostics -----------------------------------------------------------------
    def _diagnostic(
        self,
        d: Diagnostic,
        index: int,
        session: int | None,
        row: int | None,
        letter: Callable[[Any], str] | None = None,
    ) -> None:
        """One diagnostic record as the page shows it (joined to ``session`` and its message
        row ``row``, or standing alone)."""
        m = d.message
        about = None
        if m is not None:
            number = f"{letter(m) if letter is not None else ''}#{m.frame}"
            about = f"{number} {m.method or m.status or '?'}"
        elif d.start_line or d.cseq:
            about = d.start_line or (f"CSeq {d.cseq[0]} {d.cseq[1]}" if d.cseq else None)
        self.diagnostics.append(
            {
                "id": len(self.diagnostics),
                "input": index,
                "source": d.source,
                "record": d.record,
                "number": f"{letter(d) if letter is not None else ''}#{d.record}",
                "time": _r(d.time, 6),
                "host": host_of(d),
                "severity": d.severity,
                "level": d.level,
                "error": d.is_error,
                "result_code": d.result_code,
                "result_name": d.result_name,
                "meaning": d.explanation,
                "ms_diagnostics": d.ms_diagnostics,
                "text": shorten(" ".join(d.text.split()), 1000),
                "component": d.event.component,
                "peer": d.peer,
                "data": {k: shorten(v, 300) for k, v in list(d.data.items())[:40]},
                "call_id": d.call_id,
                "about": shorten(about, 300) if about else None,
                "uris": d.uris[:20],
                "session": session,
                "msg": row,
            }
        )

    def _diagnostics_alone(
        self,
        found: DiagnosticIndex,
        index: int,
        filters: Filters,
        letter: Callable[[Any], str] | None = None,
    ) -> None:
        """The diagnostics no session holds (or whose session is not shown: a filter) that
        pass ``filters``, and the hosts of the input's logs."""
        if not found.enabled:
            return
        for d in found.standalone:
            if diagnostic_matches(d, filters):
                self._diagnostic(d, index, None, None, letter)

    def _name_hosts(self, found: DiagnosticIndex, first: int) -> None:
        """Each log's machine (``--log-host``, its prefix or Via: known once it is read) as
        the host of its diagnostics from ``first`` on, as the text view names them."""
        for record in self.diagnostics[first:]:
            record["host"] = found.hosts.get(record["source"]) or record["host"]

    # -- calls and media ----------------------------------------------------------------------
    def _media(
        self,
        index: int,
        calls: list[Call],
        streams: list[StreamStats],
        ice: list[IceSession],
        allocations: list[Allocation],
        filtered: bool,
    ) -> None:
        for a in allocations:
            self.roles.allocation(a)
        for c in calls:
            self.roles.call(c)
        if filtered:
            wanted = {id(st) for c in calls for st in c.streams}
            streams = [st for st in streams if id(st) in wanted]
        stream_index = self._stream_records(index, streams)
        session_ids = {
            (rec["input"], rec["call_id"], rec["part"], rec["start"]): rec["id"]
            for rec in self.sessions
            if rec["kind"] == "call" and rec["input"] == index
        }
        for call in calls:
            s = call.session
            session_id = session_ids.get((index, s.call_id, s.part, _r(s.start, 6)))
            mine = [st for st in call.streams if id(st) in stream_index]
            record = self._call(call, session_id, mine, index)
            record["streams"] = [stream_index[id(st)] for st in mine]
            if session_id is not None:
                record["findings"].extend(self._diagnostic_findings(session_id))
            for i in record["streams"]:
                self.streams[i]["call"] = record["id"]
            self.calls.append(record)

    def _stream_records(self, index: int, streams: list[StreamStats]) -> dict[int, int]:
        """A record per stream of input ``index`` (its ``call`` filled in by the caller);
        returns id() of each stream -> its record id."""
        stream_index: dict[int, int] = {}
        for st in streams:
            stream_index[id(st)] = len(self.streams)
            record = stream_to_dict(st)
            record["id"] = len(self.streams)
            record["input"] = index
            record["call"] = None
            self.streams.append(record)
        return stream_index

    def _final_call(
        self,
        call: Call,
        session_id: int | None,
        index: int,
        place: int,
        call_places: dict[int, int],
        call_streams: dict[int, list[StreamStats]],
    ) -> None:
        """A streamed input's call whose join is final, as its record: numbered again by
        ``place`` at the end (:meth:`_in_time_line_order`), its streams linked by
        :meth:`_final_streams`."""
        self.roles.call(call)
        record = self._call(call, session_id, list(call.streams), index)
        if session_id is not None:
            record["findings"].extend(self._diagnostic_findings(session_id))
        call_places[record["id"]] = place
        call_streams[record["id"]] = list(call.streams)
        self.calls.append(record)

    def _final_streams(
        self,
        index: int,
        allocations: list[Allocation],
        streams: list[StreamStats],
        call_streams: dict[int, list[StreamStats]],
        filtered: bool,
    ) -> None:
        """The end of a streamed input: TURN roles, a record per stream (with ``filtered``,
        only those of the calls shown), each call record's ``streams``."""
        for a in allocations:
            self.roles.allocation(a)
        if filtered:
            wanted = {id(st) for kept in call_streams.values() for st in kept}
            streams = [st for st in streams if id(st) in wanted]
        stream_index = self._stream_records(index, streams)
        for call_id, kept in call_streams.items():
            self.calls[call_id]["streams"] = [
                stream_index[id(st)] for st in kept if id(st) in stream_index
            ]

    def _diagnostic_findings(self, session_id: int) -> list[str]:
        """``server log error 0xC3E93D67 SIPPROXY_E_ROUTING_MSG_CERT_MISMATCH`` per error or
        warning a log wrote about the call (once per result)."""
        out: list[str] = []
        for i in self.sessions[session_id]["diags"]:
            d = self.diagnostics[i]
            if d["severity"] not in ("fatal", "error", "warning"):
                continue
            code = " ".join(x for x in (d["result_code"], d["result_name"]) if x)
            text = f"server log {d['severity']} {code or shorten(d['text'], 80)}"
            if text not in out:
                out.append(text)
        return out

    def _call(
        self, call: Call, session_id: int | None, streams: list[StreamStats], index: int
    ) -> dict[str, Any]:
        """The call's record; its ``streams`` (indexes of the stream records of ``streams``)
        are the caller's to fill in."""
        mos = [st.mos for st in streams if st.mos is not None]
        loss = [st.lost_percent for st in streams if st.packets]
        jitter = [st.max_jitter for st in streams if st.has_jitter]
        codecs = []
        for m in call.media:
            if m.state != "rejected" and (m.codecs or m.offered_codecs):
                codecs.append((m.codecs or m.offered_codecs)[0])
        events: list[list[Any]] = []
        for a in call.allocations:
            if a.start is not None:
                events.append(
                    [a.first_frame, _r(a.start, 6), self._addr(a.client), self._addr(a.server),
                     "turn", f"TURN Allocate {a.transport} ({a.flavor}): {a.state}"]
                )  # fmt: skip
        for ice in call.ice:
            for p in ice.pairs:
                frame = p.first_frame or 0
                t = call.check_times.get(frame, ice.start if ice.start is not None else None)
                label = f"ICE check {p.transport} {p.local_type} → {p.remote_type}: {p.state}"
                if p.nominated:
                    label += ", nominated"
                events.append(
                    [p.first_frame, _r(t, 6), self._addr(p.local), self._addr(p.remote), "ice",
                     label]
                )  # fmt: skip
        for st in streams:
            name = st.payload or "RTP"
            events.append(
                [st.first_frame, _r(st.first_time, 6), self._addr(st.source),
                 self._addr(st.destination), "media-start",
                 f"RTP {name} starts (SSRC 0x{st.ssrc:08X})"]
            )  # fmt: skip
            events.append(
                [st.last_frame, _r(st.last_time, 6), self._addr(st.source),
                 self._addr(st.destination), "media-stop",
                 f"RTP {name} stops: {st.packets} packets, lost {st.lost_percent:.1f}%"]
            )  # fmt: skip
        from ..render.calls import _exchange_dict, _media_dict

        return {
            "id": len(self.calls),
            "session": session_id,
            "input": index,
            "call_id": call.call_id,
            "kind": call.kind,
            "conference_role": call.conference_role,
            "caller": call.caller,
            "callee": call.callee,
            "state": call.state,
            "end_reason": call.end_reason,
            "start": _r(call.start, 6),
            "answer_time": _r(call.answer_time, 6),
            "end": _r(call.end, 6),
            "duration": _r(call.duration, 3),
            "codecs": ", ".join(codecs),
            "modalities": call.modalities,
            "path": call_path(call),
            "relays": call_relays(streams),
            "ice_version": call.ice_version,
            "mos": min(mos) if mos else None,
            "loss": round(max(loss), 2) if loss else None,
            "jitter": round(max(jitter), 3) if jitter else None,
            "findings": call_findings(call, streams),
            "media": [_media_dict(m) for m in call.media],
            "exchanges": [_exchange_dict(e) for e in call.exchanges],
            "ice": [
                {
                    "id": ice.id,
                    "ufrags": list(ice.ufrags),
                    "path": ice.path,
                    "version": ice.implementation_version,
                    "pairs": [
                        {
                            "local": str(p.local),
                            "remote": str(p.remote),
                            "transport": p.transport,
                            "local_type": p.local_type,
                            "remote_type": p.remote_type,
                            "state": p.state,
                            "checks": p.checks,
                            "succeeded": p.succeeded,
                            "failed": p.failed,
                            "rtt_ms": _r(p.rtt * 1000 if p.rtt is not None else None, 1),
                            "use_candidate": p.use_candidate,
                            "nominated": p.nominated,
                            "role": p.role,
                            "via_turn": p.via_turn,
                            "first_frame": p.first_frame,
                            "errors": [f"{code} {reason}".strip() for code, reason in p.errors],
                        }
                        for p in ice.pairs
                    ],
                }
                for ice in call.ice
            ],
            "allocations": [
                {
                    "id": a.id,
                    "transport": a.transport,
                    "flavor": a.flavor,
                    "client": str(a.client),
                    "server": str(a.server),
                    "relayed": [str(r) for r in a.relayed],
                    "mapped": str(a.mapped) if a.mapped is not None else None,
                    "state": a.state,
                    "lifetime": a.lifetime,
                    "bandwidth": a.bandwidth,
                    "errors": [f"{code} {reason}".strip() for code, reason in a.errors],
                    "permissions": [str(p) for p in a.permissions],
                    "active_destination": (
                        str(a.active_destination) if a.active_destination is not None else None
                    ),
                }
                for a in call.allocations
            ],
            "streams": [],
            "events": events,
        }

    # -- totals ---------------------------------------------------------------------------------
    def _input(
        self,
        run: Any,
        index: int,
        kinds: Counter[str] | None = None,
        retransmissions: int | None = None,
    ) -> None:
        stats = run.stats
        self.inputs.append(
            {
                "name": str(run.name),
                "format": run.format,
                "frames": stats.frames,
                "bytes": stats.bytes,
                "first_time": stats.first_time,
                "last_time": stats.last_time,
                "sip_messages": stats.sip_messages,
                "error": str(run.error) if run.error is not None else None,
                "records": str(run.format).endswith("-log"),
            }
        )
        self.kinds.update(kinds if kinds is not None else stats.sessions)
        self.methods.update(stats.methods)
        self.statuses.update({str(k): v for k, v in stats.statuses.items()})
        self.transports.update(stats.transports)
        self.counts["sip_messages"] += stats.sip_messages
        self.counts["frames"] += stats.frames
        self.counts["connections"] += stats.connections
        self.counts["retransmissions"] += (
            stats.retransmissions if retransmissions is None else retransmissions
        )
        for c in run.connections:
            tls = c.tls.to_dict() if getattr(c, "tls", None) is not None else None
            self.connections.append(
                {
                    "input": index,
                    "id": c.id,
                    "client": str(c.client),
                    "server": str(c.server),
                    "protocol": c.protocol,
                    "sip_messages": c.sip_messages,
                    "compressed": c.compressed,
                    "compression_ratio": _r(c.compression_ratio),
                    "tls": tls,
                }
            )
            if tls is not None and not tls["decrypted"]:
                why = f"{tls['note']}; " if tls.get("note") else ""
                needs = tls.get("needs") or "the session keys"
                self.not_decoded.append(
                    f"TLS connection #{c.id} {c.client} → {c.server} not decrypted: {why}"
                    f"{needs} would let lyncdump decode it"
                )
        skipped = getattr(stats, "not_decoded", None)
        if skipped:
            self.frames_not_decoded.update(skipped)
            by_kind = ", ".join(f"{k} {v}" for k, v in skipped.items())
            self.not_decoded.append(
                f"{run.name}: {sum(skipped.values())} frames not decoded: they carry no UDP or "
                f"TCP lyncdump reads ({by_kind})"
            )
        defects = run.defects
        self.defects_total += len(defects)
        for d in defects:
            self.defects_by_layer[d.layer] += 1
            self.defects.append([d.frame, d.layer, d.offset, shorten(d.reason, 500), index])
        for layer, count in defects.dropped.items():
            self.defects_dropped[layer] += count
            self.defects_by_layer[layer] += count
        if defects.dropped:
            self.not_decoded.append(
                f"{sum(defects.dropped.values())} further defects counted but not listed "
                f"(the list keeps {len(defects)})"
            )
        for st in self.streams:
            if st["input"] != index:
                continue
            if st["srtp_auth_failures"]:
                self.not_decoded.append(
                    f"RTP stream {st['src']} → {st['dst']} SSRC {st['ssrc_hex']}: "
                    f"{st['srtp_auth_failures']} SRTP packets failed authentication with every "
                    "key known (the call's a=crypto keys or --srtp-key)"
                )
        if run.error is not None:
            self.not_decoded.append(f"{run.name}: reading stopped early: {run.error}")

    def document(self) -> dict[str, Any]:
        """The whole document report.js reads."""
        from .. import __version__

        times = [t for i in self.inputs for t in (i["first_time"], i["last_time"]) if t is not None]
        return {
            "version": __version__,
            "redacted": self.redacted,
            "inputs": self.inputs,
            "overview": {
                "first_time": min(times) if times else None,
                "last_time": max(times) if times else None,
                "frames": self.counts["frames"],
                "sip_messages": self.counts["sip_messages"],
                "retransmissions": self.counts["retransmissions"],
                "connections_total": self.counts["connections"],
                "sessions_shown": self.shown_sessions,
                "kinds": dict(sorted(self.kinds.items())),
                "methods": dict(self.methods.most_common()),
                "statuses": dict(sorted(self.statuses.items())),
                "transports": dict(sorted(self.transports.items())),
                "connections": self.connections,
                "defects_by_layer": dict(self.defects_by_layer.most_common()),
                "defects_total": self.defects_total + sum(self.defects_dropped.values()),
                "not_decoded": self.not_decoded,
                "frames_not_decoded": dict(self.frames_not_decoded.most_common()),
                "diagnostics": self._diagnostic_counts(),
            },
            "addrs": list(self.addrs),
            "roles": self.roles.roles(),
            "sessions": self.sessions,
            "calls": self.calls,
            "streams": self.streams,
            "defects": self.defects,
            "diagnostics": self.diagnostics,
        }

    def _diagnostic_counts(self) -> dict[str, Any]:
        """``{total, by_severity, by_result, standalone}`` as the JSON capture record has."""
        by_severity = Counter(d["severity"] or "-" for d in self.diagnostics)
        by_result = Counter(
            " ".join(x for x in (d["result_code"], d["result_name"]) if x)
            for d in self.diagnostics
            if d["result_code"] or d["result_name"]
        )
        return {
            "total": len(self.diagnostics),
            "by_severity": dict(sorted(by_severity.items(), key=lambda kv: severity_rank(kv[0]))),
            "by_result": dict(by_result.most_common()),
            "standalone": sum(1 for d in self.diagnostics if d["session"] is None),
        }


def call_path(call: Call) -> str:
    """``direct`` / ``via Edge`` from the nominated ICE pair; ``relayed`` when TURN relayed
    the call without a nominated pair seen; ``-`` without media evidence."""
    if call.path is not None:
        return call.path
    if call.allocations:
        return "relayed"
    if call.streams:
        return "direct"
    return "-"


def call_relays(streams: list[StreamStats]) -> list[dict[str, Any]]:
    """The TURN relays the call's media went through, once each: the server, the relayed
    address, the transport to the server and how the media was carried (``via``)."""
    out: dict[tuple[str | None, str | None, str], dict[str, Any]] = {}
    for st in streams:
        path = st.relay
        if path is None:
            continue
        server = str(path.server) if path.server is not None else None
        relayed = str(path.relayed) if path.relayed is not None else None
        key = (server, relayed, path.transport)
        record = out.setdefault(
            key,
            {"server": server, "relayed": relayed, "transport": path.transport, "via": []},
        )
        record["via"].extend(v for v in path.via if v not in record["via"])
    return list(out.values())


def call_findings(call: Call, streams: list[StreamStats]) -> list[str]:
    """What a voice engineer would flag on this call (thresholds in docs/report.md)."""
    out: list[str] = []
    answered = call.state in ("in call", "completed")
    if answered and not streams:
        out.append("no media seen")
    speech = [st for st in streams if st.packets and st.clock_rate != 90000]
    if speech:
        sources = {(st.src, st.sport) for st in speech}
        destinations = {(st.dst, st.dport) for st in speech}
        if answered and not (sources & destinations):
            out.append("one-way audio: no audio stream flows back")
    worst_loss = max((st.lost_percent for st in streams if st.packets), default=0.0)
    if worst_loss >= LOSS_FINDING:
        out.append(f"loss {worst_loss:.1f}%")
    worst_jitter = max((st.max_jitter for st in streams if st.has_jitter), default=0.0)
    if worst_jitter >= JITTER_FINDING:
        out.append(f"jitter up to {worst_jitter:.1f} ms")
    mos = [st.mos for st in streams if st.mos is not None]
    if mos and min(mos) < MOS_FINDING:
        out.append(f"MOS {min(mos):.2f}")
    failures = sum(st.srtp_auth_failures for st in streams)
    if failures:
        out.append(f"{failures} SRTP authentication failures")
    if call.ice and call.nominated is None and any(ice.pairs for ice in call.ice):
        out.append("ICE: no candidate pair nominated")
    if any(a.state == "failed" for a in call.allocations):
        out.append("TURN allocation failed")
    if call.state == "rejected" and call.end_reason:
        out.append(f"rejected: {call.end_reason}")
    return out


def to_json(document: dict[str, Any]) -> str:
    """The document as JSON safe to put inside ``<script type="application/json">``: ``<``,
    ``>`` and ``&`` are escaped so no capture text can close the element."""
    try:
        text = json.dumps(document, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except ValueError:  # a NaN or infinity somewhere: JSON has none, the report shows "-"
        text = json.dumps(_finite(document), ensure_ascii=False, separators=(",", ":"))
    return _escape(text)


#: Lists of the document longer than this are written item by item by :func:`json_chunks`.
CHUNKED_LIST = 64


def json_chunks(document: dict[str, Any]) -> Iterator[str]:
    """:func:`to_json` in pieces, the same text once joined: each item of the document's long
    lists (sessions, streams, calls, ...) is encoded on its own, so writing the page never
    holds the whole JSON text (and its escaped copies) beside the document."""
    yield "{"
    for i, (key, value) in enumerate(document.items()):
        yield ("," if i else "") + _escape(_dumps(str(key))) + ":"
        if isinstance(value, list) and len(value) > CHUNKED_LIST:
            yield "["
            for j, item in enumerate(value):
                yield ("," if j else "") + _escape(_dumps(item))
            yield "]"
        else:
            yield _escape(_dumps(value))
    yield "}"


def _dumps(value: Any) -> str:
    try:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except ValueError:  # as to_json: a NaN or infinity becomes null
        return json.dumps(_finite(value), ensure_ascii=False, separators=(",", ":"))


def _escape(text: str) -> str:
    return (
        text.replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


def _finite(value: Any) -> Any:
    if isinstance(value, float):
        return value if value == value and value not in (float("inf"), float("-inf")) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


__all__ = ["ReportData", "call_findings", "call_path", "call_relays", "json_chunks", "to_json"]
