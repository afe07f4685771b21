"""One time line from several inputs of the same period: captures and the Lync trace logs of
the machines on the path (``lyncdump fe01.log edge.log mediation.log capture.pcap``).

Messages are merged by time. Each hop's copy of a message — what one machine sent and the next
received — is kept once, with every input that saw it (:meth:`MergedCapture.sources`): two
copies are the same when their start line, Call-ID, CSeq, From/To tags, Via list (every hop's
Via, so the copy before a proxy and the copy after it differ) and body agree, once line ends
and header spelling are set aside, no more than :data:`DEFAULT_WINDOW` seconds apart. A
capture's copy is preferred because it carries real addresses; a copy seen only by logs is
named by both of them (the sender's log names the sender, the receiver's log the receiver).
Within one input nothing is merged: a retransmission stays a retransmission. An input whose
clock is off by more than the window (a client log written in local time) is shifted first
when most of the messages it shares with the inputs already lined up agree on one offset
(``MergedCapture.offsets``); its log records are shifted with it. The logs' diagnostic records
are joined to the merged sessions (:meth:`MergedCapture.diagnostics`).
"""

from __future__ import annotations

import os
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field

from ..api import Capture, ConnectionSummary, Stats
from ..capture.tracelog import FORMATS as LOG_FORMATS
from ..capture.tracelog import (
    LOCAL_PLACEHOLDER,
    PEER_PLACEHOLDER,
    SERVER_FORMAT,
    LogEndpoint,
    LogEvent,
)
from ..errors import CaptureError
from ..model import DefectLog, Endpoint
from ..sip.message import SipMessage
from .diagnostics import DiagnosticIndex, join, log_host_name
from .sessions import Session, SessionBuilder

#: Largest time difference (seconds) between two copies of one message: log timestamps have
#: millisecond resolution and the machines' clocks are not exactly in step.
DEFAULT_WINDOW = 2.0

MessageKey = tuple[object, ...]


@dataclass(slots=True)
class _Entry:
    message: SipMessage
    from_log: bool
    #: (input index, frame or record number) of every input that saw this message.
    seen: list[tuple[int, int | None]] = field(default_factory=list)


def _text_key(m: SipMessage) -> bytes:
    """The message text with line ends unified (for messages too broken for :func:`copy_key`)."""
    return b"\n".join(line.rstrip() for line in m.raw.split(b"\n")).strip()


def copy_key(m: SipMessage) -> MessageKey:
    """What every copy of one message on one hop shares, and copies on other hops do not:
    start line, Call-ID, CSeq, From and To tags, every Via (blanks removed, lower-cased: a
    proxy adds its own, so each hop has its own list) and the body without its line ends."""
    call_id, cseq = m.call_id, m.cseq
    if call_id is None or cseq is None:
        return ("text", _text_key(m))
    from_, to = m.from_, m.to
    vias = tuple("".join(v.split()).lower() for v in m.header_values("via"))
    body = b"".join(m.body.split())
    return (
        " ".join(m.start_line.split()),
        call_id,
        cseq,
        from_.tag if from_ is not None else None,
        to.tag if to is not None else None,
        vias,
        body,
    )


def is_log(capture: Capture) -> bool:
    return capture.format in LOG_FORMATS


def _named(endpoint: Endpoint | None) -> bool:
    """An endpoint that says more than a placeholder."""
    if endpoint is None:
        return False
    return not (
        isinstance(endpoint, LogEndpoint) and endpoint.ip in (LOCAL_PLACEHOLDER, PEER_PLACEHOLDER)
    )


def _is_host(endpoint: Endpoint | None) -> bool:
    """The logging machine's own side of a message (named by --log-host, prefix or Via)."""
    return isinstance(endpoint, LogEndpoint) and _named(endpoint)


class MergedCapture:
    """Several decoded inputs as one; it answers what renderers ask of a :class:`Capture`
    (``name``, ``format``, ``stats``, ``connections``, ``defects``, ``error``, ``messages()``,
    ``sessions()``, ``log_events``) plus :meth:`sources` for each message and
    :meth:`diagnostics` for the logs' diagnostic records."""

    format = "merged"

    def __init__(self, inputs: Sequence[Capture], window: float = DEFAULT_WINDOW) -> None:
        self.inputs = list(inputs)
        self.window = window
        self.name = " + ".join(c.name for c in self.inputs)
        self.duplicates = 0
        #: Seconds added to each input's message times to line its clock up (see _clock_offsets).
        self.offsets = [0.0] * len(self.inputs)
        self.stats = Stats()
        self.connections: list[ConnectionSummary] = []
        self.defects = DefectLog(max((c.options.max_defects for c in self.inputs), default=10000))
        self.error: CaptureError | None = None
        self.log_events: list[LogEvent] = []
        self._entries: list[_Entry] = []
        self._by_message: dict[int, _Entry] = {}
        self._messages: list[SipMessage] | None = None
        self._sessions: list[Session] | None = None
        self._diagnostics: DiagnosticIndex | None = None

    def run(self) -> MergedCapture:
        """Decode every input and merge them once."""
        if self._messages is None:
            for c in self.inputs:
                c.run()
            self._merge()
            self._combine()
        return self

    def messages(self) -> list[SipMessage]:
        """Every distinct message, by time."""
        self.run()
        assert self._messages is not None
        return self._messages

    def sessions(self) -> list[Session]:
        self.run()
        if self._sessions is None:
            builder = SessionBuilder()
            for m in self.messages():
                builder.add(m)
            self._sessions = builder.sessions()
        return self._sessions

    def sources(self, m: SipMessage) -> list[tuple[Capture, int | None]]:
        """The inputs that saw ``m`` and its frame (record number for a log) in each, in the
        order the inputs were given."""
        self.run()
        entry = self._by_message.get(id(m))
        if entry is None:
            return []
        return [(self.inputs[i], frame) for i, frame in sorted(entry.seen, key=lambda s: s[0])]

    def hosts(self) -> dict[str | None, str]:
        """The name of the machine that wrote each server log, by input name."""
        out: dict[str | None, str] = {}
        for c in self.inputs:
            name = log_host_name(c)
            if name:
                out[c.name] = name
        return out

    def diagnostics(self) -> DiagnosticIndex:
        """Every log's diagnostic records joined to the merged sessions: to the copy of the
        message their own log saw."""
        if self._diagnostics is None:
            sessions = self.sessions()

            def seen_by(m: SipMessage) -> list[str | None]:
                return [c.name for c, _ in self.sources(m)]

            self._diagnostics = join(
                sessions,
                self.log_events,
                seen_by=seen_by,
                enabled=any(c.format == SERVER_FORMAT for c in self.inputs),
                hosts=self.hosts(),
            )
        return self._diagnostics

    # -- the merge --------------------------------------------------------------------------
    def _clock_offsets(self, keys: dict[int, MessageKey]) -> None:
        """Seconds to add to each input's times so that its copies of messages line up with
        the reference input's (the first capture, else the first input), then with every input
        already lined up (a Mediation log that shares messages only with the Front End log):
        a client log written in local time, or a machine whose clock is off. An input is
        shifted only when most of its messages shared with those agree on one offset beyond
        the window; its messages' and log records' times are changed in place."""
        self.offsets = [0.0] * len(self.inputs)
        ref = next((i for i, c in enumerate(self.inputs) if not is_log(c)), 0)
        ref_times: dict[MessageKey, float] = {}

        def learn(c: Capture) -> None:
            for m in c.messages():
                if m.time is not None:
                    ref_times.setdefault(keys[id(m)], m.time)

        learn(self.inputs[ref])
        waiting = [i for i in range(len(self.inputs)) if i != ref]
        progress = True
        while waiting and progress:
            progress = False
            for index in list(waiting):
                c = self.inputs[index]
                seen: set[MessageKey] = set()
                diffs = []
                for m in c.messages():
                    key = keys[id(m)]
                    if m.time is not None and key in ref_times and key not in seen:
                        seen.add(key)
                        diffs.append(ref_times[key] - m.time)
                if not diffs:
                    continue
                waiting.remove(index)
                progress = True
                offset = statistics.median(diffs)
                agreeing = sum(1 for d in diffs if abs(d - offset) <= self.window)
                if abs(offset) > self.window and agreeing * 2 > len(diffs):
                    # Log times have millisecond resolution, truncated: round the median.
                    offset = round(offset, 2)
                    self.offsets[index] = offset
                    for m in c.messages():
                        if m.time is not None:
                            m.time += offset
                    for e in c.log_events:
                        if e.time is not None:
                            e.time += offset
                learn(c)

    def _merge(self) -> None:
        keys = {id(m): copy_key(m) for c in self.inputs for m in c.messages()}
        self._clock_offsets(keys)
        tagged: list[tuple[float, int, int, SipMessage]] = []
        for index, c in enumerate(self.inputs):
            for order, m in enumerate(c.messages()):
                tagged.append((m.time if m.time is not None else 0.0, index, order, m))
        tagged.sort(key=lambda t: (t[0], t[1], t[2]))
        by_key: dict[MessageKey, list[_Entry]] = {}
        copies: dict[int, list[SipMessage]] = {}
        window = self.window
        for ts, index, _order, m in tagged:
            from_log = is_log(self.inputs[index])
            key = keys[id(m)]
            best: _Entry | None = None
            best_gap = window
            for entry in by_key.get(key, ()):
                if any(i == index for i, _ in entry.seen):
                    continue
                other = entry.message.time
                gap = abs(ts - other) if other is not None and m.time is not None else 0.0
                if gap <= best_gap:
                    best, best_gap = entry, gap
            if best is None:
                entry = _Entry(m, from_log, [(index, m.frame)])
                by_key.setdefault(key, []).append(entry)
                self._entries.append(entry)
                copies[id(entry)] = [m]
                continue
            self.duplicates += 1
            best.seen.append((index, m.frame))
            copies[id(best)].append(m)
            if best.from_log and not from_log:
                best.message, best.from_log = m, False
        for entry in self._entries:
            if entry.from_log and len(copies[id(entry)]) > 1:
                _name_both_ends(entry.message, copies[id(entry)])
        self._entries.sort(
            key=lambda e: (e.message.time if e.message.time is not None else 0.0, e.seen[0])
        )
        self._messages = [e.message for e in self._entries]
        self._by_message = {id(e.message): e for e in self._entries}

    def _combine(self) -> None:
        stats = self.stats
        for c in self.inputs:
            s = c.stats
            stats.frames += s.frames
            stats.bytes += s.bytes
            stats.udp_datagrams += s.udp_datagrams
            stats.tcp_segments += s.tcp_segments
            stats.rtp_like += s.rtp_like
            for t in (s.first_time,):
                if t is not None and (stats.first_time is None or t < stats.first_time):
                    stats.first_time = t
            for t in (s.last_time,):
                if t is not None and (stats.last_time is None or t > stats.last_time):
                    stats.last_time = t
            self.connections.extend(c.connections)
            label = os.path.basename(c.name)
            for d in c.defects:
                self.defects.add(d.frame, d.layer, d.offset, f"{label}: {d.reason}")
            for layer, count in c.defects.dropped.items():
                self.defects.dropped[layer] = self.defects.dropped.get(layer, 0) + count
            if self.error is None and c.error is not None:
                self.error = c.error
            for e in c.log_events:
                e.source = c.name
            self.log_events.extend(c.log_events)
        self.log_events.sort(key=lambda e: (e.time is None, e.time or 0.0))
        assert self._messages is not None
        stats.count_messages(self._messages)


def _name_both_ends(kept: SipMessage, copies: list[SipMessage]) -> None:
    """A hop seen only by logs: the sender's log names the sender, the receiver's the receiver
    (``fe01 → sfvedge`` rather than ``fe01 → 10.0.0.30:5061``). Changes ``kept`` in place."""
    src = next((m.src for m in copies if _is_host(m.src)), None)
    dst = next((m.dst for m in copies if _is_host(m.dst)), None)
    if src is None:
        src = next((m.src for m in copies if _named(m.src)), kept.src)
    if dst is None:
        dst = next((m.dst for m in copies if _named(m.dst)), kept.dst)
    kept.src, kept.dst = src, dst


def merge(inputs: Sequence[Capture], window: float = DEFAULT_WINDOW) -> MergedCapture:
    """Decode and merge ``inputs`` (captures and trace logs of the same period)."""
    return MergedCapture(inputs, window).run()


__all__ = ["DEFAULT_WINDOW", "MergedCapture", "copy_key", "is_log", "merge"]
