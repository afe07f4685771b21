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

import heapq
import os
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

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
from ..media.stats import StreamStats
from ..model import DefectLog, Endpoint
from ..sip.message import SipMessage
from .calls import Call, build_calls
from .diagnostics import DiagnosticIndex, join, log_hosts
from .ice import Allocation, IceSession
from .sessions import Session, SessionBuilder

#: Largest time difference (seconds) between two copies of one message: log timestamps have
#: millisecond resolution and the machines' clocks are not exactly in step.
DEFAULT_WINDOW = 2.0

MessageKey = tuple[object, ...]


@dataclass(slots=True, eq=False)
class Entry:
    message: SipMessage
    from_log: bool
    #: (input index, frame or record number) of every input that saw this message.
    seen: list[tuple[int, int | None]] = field(default_factory=list)
    #: The input whose copy is ``message`` (its time, addresses and frame number).
    shown: int = 0
    #: Every input's copy while the entry may still gain copies (dropped once released).
    copies: list[SipMessage] = field(default_factory=list)
    #: Its copy key, creation number (ties in time line order) and how often its order key
    #: changed (stale places in the merger's heap are skipped).
    key: MessageKey = ()
    number: int = 0
    version: int = 0

    def order(self) -> tuple[float, int, int]:
        """Time line order: the copy shown's time; at the same time input order, then frame
        (record) number, of the first input that saw it."""
        index, frame = min((i, f or 0) for i, f in self.seen)
        t = self.message.time
        return (t if t is not None else 0.0, index, frame)


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


def is_log(capture: Any) -> bool:
    """A trace log (a :class:`Capture` or a pipeline of one)."""
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
        self._entries: list[Entry] = []
        self._by_message: dict[int, Entry] = {}
        self._messages: list[SipMessage] | None = None
        self._sessions: list[Session] | None = None
        self._diagnostics: DiagnosticIndex | None = None
        self._calls: list[Call] | None = None
        self._streams: list[StreamStats] = []
        self._ice: list[IceSession] = []
        self._allocations: list[Allocation] = []
        #: id() of each stream, ICE session and allocation -> the input it comes from.
        self._media_of: dict[int, int] = {}

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
        """The merged messages grouped into sessions, each in time line order (that of
        :meth:`messages`): frame and record numbers of different inputs do not compare."""
        self.run()
        if self._sessions is None:
            builder = SessionBuilder(by_frame=False)
            for m in self.messages():
                builder.add(m)
            self._sessions = builder.sessions()
            for session in self._sessions:  # the totals a single input's pipeline keeps
                self.stats.count_session(session)
        return self._sessions

    def calls(self) -> list[Call]:
        """The merged sessions' calls joined to the media of the capture inputs (logs carry
        none): every INVITE dialog once, however many inputs saw it, with its offer/answer
        from the copies shown, its ICE, TURN and RTP streams. The join settles each stream's
        call, as :meth:`lyncdump.Capture.calls` does for one input."""
        if self._calls is None:
            self.run()
            for index, c in enumerate(self.inputs):
                if is_log(c):
                    continue
                self._streams.extend(self._mine(c.streams(), index))
                self._ice.extend(self._mine(c.ice_sessions(), index))
                self._allocations.extend(self._mine(c.allocations(), index))
            self._streams.sort(key=lambda st: (st.first_time, self._media_of[id(st)]))
            self._calls = build_calls(
                [s for s in self.sessions() if s.kind == "call"],
                self._streams,
                self._ice,
                self._allocations,
            )
        return list(self._calls)

    def _mine(self, items: list[Any], index: int) -> list[Any]:
        for item in items:
            self._media_of[id(item)] = index
        return items

    def streams(self) -> list[StreamStats]:
        """Every capture input's RTP streams, by first packet, joined to the merged calls."""
        self.calls()
        return list(self._streams)

    def ice_sessions(self) -> list[IceSession]:
        self.calls()
        return list(self._ice)

    def allocations(self) -> list[Allocation]:
        self.calls()
        return list(self._allocations)

    def media_input(self, item: object) -> int | None:
        """The index of the input a stream, ICE session or TURN allocation comes from."""
        self.calls()
        return self._media_of.get(id(item))

    def sources(self, m: SipMessage) -> list[tuple[Capture, int | None]]:
        """The inputs that saw ``m`` and its frame (record number for a log) in each, in the
        order the inputs were given."""
        self.run()
        entry = self._by_message.get(id(m))
        if entry is None:
            return []
        return [(self.inputs[i], frame) for i, frame in sorted(entry.seen, key=lambda s: s[0])]

    def origin(self, m: SipMessage) -> tuple[int, int | None] | None:
        """The input (its index) whose copy of ``m`` is shown, and the copy's frame (record
        number for a log): what ``m.frame``, ``m.time`` and the addresses belong to."""
        self.run()
        entry = self._by_message.get(id(m))
        return None if entry is None else (entry.shown, m.frame)

    def hosts(self) -> dict[str | None, str]:
        """The name of the machine that wrote each server log, by input name."""
        return log_hosts(self.inputs)

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
        """Learn each input's clock offset on all its messages (:func:`learn_offsets`) and
        shift its messages' and log records' times in place."""
        samples = [
            [(keys[id(m)], m.time) for m in c.messages() if m.time is not None] for c in self.inputs
        ]
        self.offsets = learn_offsets(samples, reference_input(self.inputs), self.window)
        for c, offset in zip(self.inputs, self.offsets, strict=True):
            if offset:
                for m in c.messages():
                    if m.time is not None:
                        m.time += offset
                for e in c.log_events:
                    if e.time is not None:
                        e.time += offset

    def _merge(self) -> None:
        keys = {id(m): copy_key(m) for c in self.inputs for m in c.messages()}
        self._clock_offsets(keys)
        tagged: list[tuple[float, int, int, SipMessage]] = []
        for index, c in enumerate(self.inputs):
            for order, m in enumerate(c.messages()):
                tagged.append((m.time if m.time is not None else 0.0, index, order, m))
        tagged.sort(key=lambda t: (t[0], t[1], t[2]))
        merger = Merger([is_log(c) for c in self.inputs], self.window)
        entries = self._entries
        for _ts, index, _order, m in tagged:
            entries.extend(merger.add(index, m, keys[id(m)]))
        entries.extend(merger.finish())
        self.duplicates = merger.duplicates
        self._messages = [e.message for e in entries]
        self._by_message = {id(e.message): e for e in entries}

    def _combine(self) -> None:
        for c in self.inputs:
            for e in c.log_events:
                e.source = c.name
            add_input_totals(self, c)
        self.log_events.sort(key=lambda e: (e.time is None, e.time or 0.0))
        assert self._messages is not None
        self.stats.count_messages(self._messages)


def add_input_totals(merged: Any, item: Any) -> None:
    """Add one input's frame totals, connections, defects (named after the input), error and
    log records to a merged view (:class:`MergedCapture`, or the streamed ``MergedStream``);
    its SIP counts come from the merged messages instead."""
    stats, s = merged.stats, item.stats
    stats.frames += s.frames
    stats.bytes += s.bytes
    stats.udp_datagrams += s.udp_datagrams
    stats.tcp_segments += s.tcp_segments
    stats.rtp_like += s.rtp_like
    stats.encapsulated.update(s.encapsulated)
    stats.not_decoded.update(s.not_decoded)
    t = s.first_time
    if t is not None and (stats.first_time is None or t < stats.first_time):
        stats.first_time = t
    t = s.last_time
    if t is not None and (stats.last_time is None or t > stats.last_time):
        stats.last_time = t
    merged.connections.extend(item.connections)
    label = os.path.basename(item.name)
    defects = merged.defects
    for d in item.defects:
        defects.add(d.frame, d.layer, d.offset, f"{label}: {d.reason}")
    for layer, count in item.defects.dropped.items():
        defects.dropped[layer] = defects.dropped.get(layer, 0) + count
    if merged.error is None and item.error is not None:
        merged.error = item.error
    merged.log_events.extend(item.log_events)


def reference_input(inputs: Sequence[Any]) -> int:
    """The input whose clock the others are lined up with: the first capture, else the first."""
    return next((i for i, c in enumerate(inputs) if not is_log(c)), 0)


def learn_offsets(
    samples: Sequence[Sequence[tuple[MessageKey, float]]],
    ref: int,
    window: float = DEFAULT_WINDOW,
) -> list[float]:
    """Seconds to add to each input's times so that its copies of messages line up with the
    reference input's (``ref``: the first capture, else the first input), then with every
    input already lined up (a Mediation log that shares messages only with the Front End
    log): a client log written in local time, or a machine whose clock is off.

    ``samples[i]`` is input ``i``'s (copy key, time) of each message, in input order: all of
    them (:class:`MergedCapture`) or the first ones (the streaming merge's look-ahead). An
    input is shifted only when most of its messages shared with those agree on one offset
    beyond the window; the offset is rounded to 10 ms (log times have millisecond
    resolution, truncated)."""
    offsets = [0.0] * len(samples)
    if not samples:
        return offsets
    ref_times: dict[MessageKey, float] = {}

    def learn(index: int) -> None:
        offset = offsets[index]
        for key, t in samples[index]:
            ref_times.setdefault(key, t + offset)

    learn(ref)
    waiting = [i for i in range(len(samples)) if i != ref]
    progress = True
    while waiting and progress:
        progress = False
        for index in list(waiting):
            seen: set[MessageKey] = set()
            diffs = []
            for key, t in samples[index]:
                if key in ref_times and key not in seen:
                    seen.add(key)
                    diffs.append(ref_times[key] - t)
            if not diffs:
                continue
            waiting.remove(index)
            progress = True
            offset = statistics.median(diffs)
            agreeing = sum(1 for d in diffs if abs(d - offset) <= window)
            if abs(offset) > window and agreeing * 2 > len(diffs):
                offsets[index] = round(offset, 2)
            learn(index)
    return offsets


class Merger:
    """The merge of messages fed in time line order (time, then input, then input order):
    each hop's copies become one entry (see the module docstring), and an entry comes out of
    :meth:`add` once no later message can be a copy of it any more (its time is more than the
    window before the message being added), in time line order (:meth:`Entry.order`).

    What it holds is the entries of the last ``window`` seconds and their copies, keyed by
    :func:`copy_key`, and at most ``max_open`` entries: past it (inputs whose time stands
    still) the earliest entry is released before its window has passed, counted in
    ``early``; a copy of it that comes later is then an entry of its own. The keep-all
    :class:`MergedCapture` feeds it every message sorted (no bound); the streaming merge
    (``merge_stream``) feeds it a k-way merge of the inputs' pipelines."""

    def __init__(
        self,
        from_log: Sequence[bool],
        window: float = DEFAULT_WINDOW,
        *,
        max_open: int | None = None,
    ) -> None:
        self.window = window
        self.max_open = max_open
        self._from_log = list(from_log)
        #: Copies recognised (messages that joined an entry instead of making one).
        self.duplicates = 0
        #: Entries released before their window had passed (``max_open`` reached).
        self.early = 0
        self._by_key: dict[MessageKey, list[Entry]] = {}
        self._heap: list[tuple[tuple[float, int, int], int, int, Entry]] = []
        self._created = 0
        self._open = 0

    def __len__(self) -> int:
        """Entries that may still gain copies."""
        return self._open

    def add(self, index: int, m: SipMessage, key: MessageKey) -> list[Entry]:
        """Input ``index``'s message ``m`` (its copy key ``key``); returns the entries
        finished by its time (often none)."""
        ts = m.time if m.time is not None else 0.0
        window = self.window
        heap = self._heap
        released = self.release(ts - window) if heap and heap[0][0][0] < ts - window else []
        from_log = self._from_log[index]
        best: Entry | None = None
        best_gap = window
        for entry in self._by_key.get(key, ()):
            if any(i == index for i, _ in entry.seen):
                continue
            other = entry.message.time
            gap = abs(ts - other) if other is not None and m.time is not None else 0.0
            if gap <= best_gap:
                best, best_gap = entry, gap
        if best is None:
            entry = Entry(m, from_log, [(index, m.frame)], index, [m], key, self._created)
            self._created += 1
            self._open += 1
            self._by_key.setdefault(key, []).append(entry)
            self._push(entry)
            if self.max_open is not None and self._open > self.max_open:
                released.extend(self._evict())
            return released
        self.duplicates += 1
        best.seen.append((index, m.frame))
        best.copies.append(m)
        if best.from_log and not from_log:
            best.message, best.from_log, best.shown = m, False, index
        best.version += 1
        self._push(best)
        return released

    def earliest(self) -> float:
        """The time of the earliest entry still open (infinity when none is)."""
        heap = self._heap
        return heap[0][0][0] if heap else float("inf")

    def release(self, before: float) -> list[Entry]:
        """The entries whose time is before ``before``, in time line order: the caller
        promises that no message it adds later is earlier than ``before`` + the window."""
        out: list[Entry] = []
        heap = self._heap
        while heap and heap[0][0][0] < before:
            _, _, version, entry = heapq.heappop(heap)
            if version != entry.version:
                continue  # a stale place: the entry moved (its shown copy or first input)
            out.append(self._done(entry))
        return out

    def finish(self) -> list[Entry]:
        """Every entry still open, in time line order."""
        return self.release(float("inf"))

    def _evict(self) -> list[Entry]:
        out: list[Entry] = []
        heap = self._heap
        while heap and self.max_open is not None and self._open > self.max_open:
            _, _, version, entry = heapq.heappop(heap)
            if version == entry.version:
                self.early += 1
                out.append(self._done(entry))
        return out

    def _push(self, entry: Entry) -> None:
        heapq.heappush(self._heap, (entry.order(), entry.number, entry.version, entry))

    def _done(self, entry: Entry) -> Entry:
        self._open -= 1
        entries = self._by_key[entry.key]
        for i, e in enumerate(entries):
            if e is entry:
                del entries[i]
                break
        if not entries:
            del self._by_key[entry.key]
        if entry.from_log and len(entry.copies) > 1:
            _name_both_ends(entry.message, entry.copies)
        entry.copies = []
        return entry


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


__all__ = [
    "DEFAULT_WINDOW",
    "MergedCapture",
    "Merger",
    "copy_key",
    "is_log",
    "learn_offsets",
    "merge",
    "reference_input",
]
