"""One time line from several inputs of the same period: a capture and the Lync trace logs
of the machines it saw (``lyncdump server.log capture.pcap``).

Messages are merged by time. The same message seen by two inputs (same text once line ends
and trailing blanks are set aside, no more than :data:`DEFAULT_WINDOW` seconds apart) is kept
once, with every input that saw it in :meth:`MergedCapture.sources`; a capture's copy is
preferred because it carries real addresses where a server log only names the peer. Within one
input nothing is merged: a retransmission stays a retransmission. An input whose clock is off
by more than the window (a client log written in local time) is shifted first when most of the
messages it shares with the first capture agree on one offset (``MergedCapture.offsets``).
"""

from __future__ import annotations

import os
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field

from ..api import Capture, ConnectionSummary, Stats
from ..capture.tracelog import FORMATS as LOG_FORMATS
from ..capture.tracelog import LogEvent
from ..errors import CaptureError
from ..model import DefectLog
from ..sip.message import SipMessage
from .sessions import Session, SessionBuilder

#: Largest time difference (seconds) between two copies of one message: log timestamps have
#: millisecond resolution and the machines' clocks are not exactly in step.
DEFAULT_WINDOW = 2.0


@dataclass(slots=True)
class _Entry:
    message: SipMessage
    from_log: bool
    #: (input index, frame or record number) of every input that saw this message.
    seen: list[tuple[int, int | None]] = field(default_factory=list)


def _text_key(m: SipMessage) -> bytes:
    """The message text with line ends unified: what two copies of one message share."""
    return b"\n".join(line.rstrip() for line in m.raw.split(b"\n")).strip()


def is_log(capture: Capture) -> bool:
    return capture.format in LOG_FORMATS


class MergedCapture:
    """Several decoded inputs as one; it answers what renderers ask of a :class:`Capture`
    (``name``, ``format``, ``stats``, ``connections``, ``defects``, ``error``, ``messages()``,
    ``sessions()``) plus :meth:`sources` for each message."""

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
        """The inputs that saw ``m`` and its frame (record number for a log) in each."""
        self.run()
        entry = self._by_message.get(id(m))
        if entry is None:
            return []
        return [(self.inputs[i], frame) for i, frame in entry.seen]

    # -- the merge --------------------------------------------------------------------------
    def _clock_offsets(self, keys: dict[int, bytes]) -> None:
        """Seconds to add to each input's times so that its copies of messages line up with
        the reference input's (the first capture, else the first input): a client log
        written in local time, or a machine whose clock is off. An input is shifted only when
        most of its messages shared with the reference agree on one offset beyond the window;
        its messages' times are changed in place."""
        self.offsets = [0.0] * len(self.inputs)
        ref = next((i for i, c in enumerate(self.inputs) if not is_log(c)), 0)
        ref_times: dict[bytes, float] = {}
        for m in self.inputs[ref].messages():
            if m.time is not None:
                ref_times.setdefault(keys[id(m)], m.time)
        for index, c in enumerate(self.inputs):
            if index == ref:
                continue
            seen: set[bytes] = set()
            diffs = []
            for m in c.messages():
                key = keys[id(m)]
                if m.time is not None and key in ref_times and key not in seen:
                    seen.add(key)
                    diffs.append(ref_times[key] - m.time)
            if not diffs:
                continue
            offset = statistics.median(diffs)
            agreeing = sum(1 for d in diffs if abs(d - offset) <= self.window)
            if abs(offset) <= self.window or agreeing * 2 <= len(diffs):
                continue
            offset = round(offset, 3)
            self.offsets[index] = offset
            for m in c.messages():
                if m.time is not None:
                    m.time += offset

    def _merge(self) -> None:
        keys = {id(m): _text_key(m) for c in self.inputs for m in c.messages()}
        self._clock_offsets(keys)
        tagged: list[tuple[float, int, int, SipMessage]] = []
        for index, c in enumerate(self.inputs):
            for order, m in enumerate(c.messages()):
                tagged.append((m.time if m.time is not None else 0.0, index, order, m))
        tagged.sort(key=lambda t: (t[0], t[1], t[2]))
        by_text: dict[bytes, list[_Entry]] = {}
        window = self.window
        for ts, index, _order, m in tagged:
            from_log = is_log(self.inputs[index])
            key = keys[id(m)]
            best: _Entry | None = None
            best_gap = window
            for entry in by_text.get(key, ()):
                if any(i == index for i, _ in entry.seen):
                    continue
                other = entry.message.time
                gap = abs(ts - other) if other is not None and m.time is not None else 0.0
                if gap <= best_gap:
                    best, best_gap = entry, gap
            if best is None:
                entry = _Entry(m, from_log, [(index, m.frame)])
                by_text.setdefault(key, []).append(entry)
                self._entries.append(entry)
                continue
            self.duplicates += 1
            best.seen.append((index, m.frame))
            if best.from_log and not from_log:
                best.message, best.from_log = m, False
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
            self.log_events.extend(c.log_events)
        assert self._messages is not None
        stats.count_messages(self._messages)


def merge(inputs: Sequence[Capture], window: float = DEFAULT_WINDOW) -> MergedCapture:
    """Decode and merge ``inputs`` (captures and trace logs of the same period)."""
    return MergedCapture(inputs, window).run()


__all__ = ["DEFAULT_WINDOW", "MergedCapture", "is_log", "merge"]
