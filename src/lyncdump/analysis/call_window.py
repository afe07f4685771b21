"""Calls joined to their media while a long run streams, holding only what a join still needs.

A stream belongs to the call that best matches it among the calls whose time window holds its
first packet (docs/calls.md, "The join"), so a call's streams are final once no call that has
not been seen yet can compete for them. Every call not yet emitted starts at or after the
pipeline's :meth:`~lyncdump.pipeline.Pipeline.settled_before` time, and a call claims no stream
that starts later than its end plus :data:`~lyncdump.analysis.media_join.END_GRACE`; so a held
call whose reach ends before that time is final. Final calls are joined together with every
call still held (each competes for the streams) and let go; a stream given to a call still
held is offered again later. A run with at most :data:`CALL_WINDOW` calls joins them all at
its end, as the whole-capture view does. :data:`MAX_HELD_CALLS` bounds the total: past it (a
call in progress for hours holds the time back) the oldest calls go anyway, and are counted.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..media.stats import StreamStats
    from ..pipeline.core import Pipeline
    from .calls import Call
    from .sessions import Session

#: Calls held for the join before the oldest are let go once no unseen call can compete.
CALL_WINDOW = 32
#: Calls held at most; past it the oldest group is joined without waiting (``early``).
MAX_HELD_CALLS = 5000
#: Calls added between two attempts to let the oldest go, at least (each attempt scans the
#: open sessions and joins every call held). An attempt also waits for as many new calls as
#: it left held, so each call is joined about twice however many are in progress.
_SETTLE_EVERY = 8


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
    from .media_join import END_GRACE  # the join's module loads with the first call

    last = session.end if session.end is not None else session.start
    return (last if last is not None else float("inf")) + END_GRACE


class CallWindow:
    """Feed the call sessions of a run as they finish; joined calls come out when final.

    ``add`` returns the calls whose join can no longer change (often none); ``finish``, at the
    end of the input, joins what is left. Each call comes out once, with ``streams``,
    ``ambiguous`` and ``findings`` set. A stream's ``call_id`` is settled by the first join
    that gives it to a call coming out (or finds every candidate among them); until then it is
    offered again with each group.
    """

    def __init__(
        self,
        *,
        window: int | None = None,
        max_held: int | None = None,
        order: Callable[[Session], Any] | None = None,
    ) -> None:
        self.window = CALL_WINDOW if window is None else window
        #: The order the calls held are joined in (and come out in), when not the order
        #: they were added: the merged calls join in time line order, as the keep-all merge.
        self.order = order
        self.max_held = max(self.window, MAX_HELD_CALLS if max_held is None else max_held)
        #: Calls joined before no unseen call could compete, because ``max_held`` was reached.
        self.early = 0
        self._held: list[Session] = []
        self._since = 0
        self._kept = 0  # calls still held after the last attempt
        #: Each held call's signalling (SDP, outcome, addresses), read once: a held call is
        #: joined again with each group, and its own session does not change.
        self._prepared: dict[int, Call] = {}
        #: The streams no join has settled yet, in the run's stream order, and where the
        #: run's list of streams was read up to (a join reads only the streams found since).
        self._pending: list[StreamStats] = []
        self._streams_read: Any = None

    def __len__(self) -> int:
        return len(self._held)

    def add(self, session: Session, pipeline: Pipeline | None) -> list[Call]:
        self._held.append(session)
        if len(self._held) <= self.window:
            return []
        self._since += 1
        if self._since < max(_SETTLE_EVERY, self._kept) and len(self._held) <= self.max_held:
            return []
        self._since = 0
        out = self._settle(pipeline) if pipeline is not None else []
        self._kept = len(self._held)
        return out

    def finish(self, pipeline: Pipeline) -> list[Call]:
        """End of input: every call held, joined to every stream not joined yet."""
        held, self._held = self._held, []
        return self._join(pipeline, held, float("inf"))

    def _settle(self, pipeline: Pipeline) -> list[Call]:
        before = pipeline.settled_before()
        held = self._held
        final = [s for s in held if _reach(s) < before]
        if not final and len(held) > self.max_held:
            # Nothing is final and the bound is reached: the oldest go anyway, down to the window.
            final = sorted(held, key=_start)[: len(held) - self.window]
            self.early += len(final)
        if not final:
            return []
        gone = {id(s) for s in final}
        self._held = [s for s in held if id(s) not in gone]
        return self._join(pipeline, held, max(_reach(s) for s in final), gone)

    def _join(
        self,
        pipeline: Pipeline,
        sessions: list[Session],
        limit: float,
        final: set[int] | None = None,
    ) -> list[Call]:
        """Join ``sessions`` (every call held: each competes for the streams) to the streams
        not joined yet that start by ``limit``; return the calls of ``final`` (all of them
        when None). A stream whose owner, or every candidate, is among those is joined for
        good; any other is offered again with the next group."""
        if self.order is not None:
            sessions = sorted(sessions, key=self.order)
        new, self._streams_read = pipeline.new_streams(self._streams_read)
        pending = self._pending
        if new:
            pending.extend(new)
            pending.sort(key=pipeline.stream_order)  # stable: as the run's stream list
        streams = [st for st in pending if st.first_time <= limit]
        ice, allocations = pipeline.ice_sessions(), pipeline.allocations()
        calls: list[Call]
        if not streams and not any(s.kind == "call" for s in sessions):
            # What build_calls gives (no call to join, no stream to settle), without loading
            # the call analysis: a capture without calls or media never needs it.
            calls = []
        else:
            from .calls import build_calls

            calls = build_calls(sessions, streams, ice, allocations, prepare=self._prepare)
        if final is None:
            self._pending = [st for st in pending if st.first_time > limit]
            self._prepared.clear()
            return calls
        out = [c for c in calls if id(c.session) in final]
        done = {c.call_id for c in out}
        settled: set[int] = set()
        for st in streams:
            owners = [st.call_id] if st.call_id is not None else st.candidate_calls
            if all(o in done for o in owners):
                settled.add(id(st))
        if settled:
            self._pending = [st for st in pending if id(st) not in settled]
        for key in final:
            self._prepared.pop(key, None)
        return out

    def _prepare(self, session: Session) -> Call:
        from .calls import prepare_call, unjoined_copy

        prepared = self._prepared.get(id(session))
        if prepared is None:
            prepared = self._prepared[id(session)] = prepare_call(session)
        return unjoined_copy(prepared)
