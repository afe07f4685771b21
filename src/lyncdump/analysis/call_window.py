"""Calls joined to their media while a long run streams, holding only what a join still needs.

A stream belongs to the call that best matches it among the calls whose time window holds its
first packet (docs/calls.md, "The join"), so a call's streams are final once no call that has
not been seen yet can compete for them. Every session not yet emitted starts at or after the
pipeline's :meth:`~lyncdump.pipeline.Pipeline.settled_before` time, and a call claims no stream
later than its end plus :data:`~lyncdump.analysis.media_join.END_GRACE`; so the held calls fall
into groups whose windows overlap, and a group whose reach ends before that time is joined and
let go. A run with at most :data:`CALL_WINDOW` calls joins them all at its end, as the
whole-capture view does. :data:`MAX_HELD_CALLS` bounds the total: past it (a call in progress
for hours holds the time back) the oldest group is joined without waiting, and counted.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import TYPE_CHECKING

from .media_join import END_GRACE

if TYPE_CHECKING:
    from ..media.stats import StreamStats
    from ..pipeline.core import Pipeline
    from .calls import Call
    from .sessions import Session

#: Calls held for the join before the oldest are let go once no unseen call can compete.
CALL_WINDOW = 500
#: Calls held at most; past it the oldest group is joined without waiting (``early``).
MAX_HELD_CALLS = 5000
#: Calls added between two attempts to let the oldest go (each attempt scans the open sessions).
_SETTLE_EVERY = 64


class CallTally:
    """What ``--summary`` and the capture record count of the calls: states and findings."""

    __slots__ = ("total", "states", "findings")

    def __init__(self) -> None:
        self.total = 0
        self.states: Counter[str] = Counter()
        self.findings: Counter[str] = Counter()

    @classmethod
    def of(cls, calls: Iterable[Call]) -> CallTally:
        tally = cls()
        tally.add(calls)
        return tally

    def add(self, calls: Iterable[Call]) -> None:
        for c in calls:
            self.total += 1
            self.states[c.state] += 1
            self.findings.update(f.kind for f in c.findings)


def _start(session: Session) -> float:
    start = session.start
    return start if start is not None else 0.0


def _reach(session: Session) -> float:
    """The latest time a stream may start and still join this call."""
    last = session.end if session.end is not None else session.start
    return (last if last is not None else float("inf")) + END_GRACE


class CallWindow:
    """Feed the call sessions of a run as they finish; joined calls come out when final.

    ``add`` returns the calls whose join can no longer change (often none); ``finish``, at the
    end of the input, joins what is left. Each call comes out once, with ``streams``,
    ``ambiguous`` and ``findings`` set; each stream's ``call_id`` is set once, by the join of
    the group it started in.
    """

    def __init__(self, *, window: int = CALL_WINDOW, max_held: int = MAX_HELD_CALLS) -> None:
        self.window = window
        self.max_held = max(window, max_held)
        #: Calls joined before no unseen call could compete, because ``max_held`` was reached.
        self.early = 0
        self._held: list[Session] = []
        self._since = 0
        self._joined_streams: set[int] = set()

    def __len__(self) -> int:
        return len(self._held)

    def add(self, session: Session, pipeline: Pipeline | None) -> list[Call]:
        self._held.append(session)
        if len(self._held) <= self.window:
            return []
        self._since += 1
        if self._since < _SETTLE_EVERY and len(self._held) <= self.max_held:
            return []
        self._since = 0
        return self._settle(pipeline) if pipeline is not None else []

    def finish(self, pipeline: Pipeline) -> list[Call]:
        """End of input: every call held, joined to every stream not joined yet."""
        held, self._held = self._held, []
        return self._join(pipeline, held, float("inf"))

    def _settle(self, pipeline: Pipeline) -> list[Call]:
        before = pipeline.settled_before()
        held = sorted(self._held, key=_start)
        cut = 0  # held[:cut] is the run of closed groups that end before ``before``
        reach = -float("inf")
        i = 0
        while i < len(held):
            start = _start(held[i])
            if i > 0 and start > reach:
                if reach < before:
                    cut = i  # the group held[..i] is closed and final
                else:
                    break
            reach = max(reach, _reach(held[i]))
            i += 1
        if i == len(held) and reach < before:
            cut = len(held)
        if cut == 0 and len(held) > self.max_held:
            # Nothing is final yet and the bound is reached: the oldest group goes anyway.
            reach = _reach(held[0])
            cut = 1
            while cut < len(held) and _start(held[cut]) <= reach:
                reach = max(reach, _reach(held[cut]))
                cut += 1
            self.early += cut
        if cut == 0:
            return []
        done, self._held = held[:cut], held[cut:]
        limit = max(_reach(s) for s in done)
        return self._join(pipeline, done, limit)

    def _join(self, pipeline: Pipeline, sessions: list[Session], limit: float) -> list[Call]:
        from ..render.views import calls_of

        joined = self._joined_streams
        streams: list[StreamStats] = [
            st for st in pipeline.streams() if id(st) not in joined and st.first_time <= limit
        ]
        joined.update(id(st) for st in streams)
        return calls_of(pipeline, sessions, streams)
