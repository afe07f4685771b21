"""The calls of a streaming merge (analysis/merge_stream.py) joined to the capture inputs' media
while the merge runs, holding only the calls a join still needs.

The merged INVITE sessions go into a :class:`~lyncdump.analysis.call_window.CallWindow`, as a
single input's do (docs/calls.md, "Long runs"); what the window asks of a run is answered by
:class:`MergedMedia` from every capture input's pipeline (logs carry no media): the RTP streams
of every capture by first packet (then input), their ICE sessions and TURN allocations, and
the merge's own :meth:`~lyncdump.analysis.merge_stream.MergedStream.settled_before` (each ICE
pair carries the time of its first check, so no input's frame numbers are needed). The calls
held are joined in
time line order (the keep-all order), and the merge keeps answering which inputs saw their
messages until the call has been handed to the consumer.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

from .call_window import CallTally, CallWindow
from .merge import is_log

if TYPE_CHECKING:
    from ..media.stats import StreamStats
    from .calls import Call
    from .ice import Allocation, IceSession
    from .merge_stream import MergedStream
    from .sessions import Session

#: What the consumer is given for each call once its join is final: the call, whether its
#: session is shown (the command's filter), and its place in the merged time line.
OnCall = Callable[["Call", bool, int], None]


class MergedMedia:
    """Every capture input's media as the one run a :class:`CallWindow` joins calls to."""

    def __init__(self, merged: MergedStream) -> None:
        self.merged = merged
        #: id() of every stream, ICE session and allocation read → its input (the merge's
        #: ``media_input`` answers from it).
        self.media_of = merged.media_of

    def _captures(self) -> list[tuple[int, Any]]:
        return [(i, p) for i, p in enumerate(self.merged.inputs) if not is_log(p)]

    def _mine(self, index: int, items: list[Any]) -> list[Any]:
        media_of = self.media_of
        for item in items:
            media_of[id(item)] = index
        return items

    def settled_before(self) -> float:
        return self.merged.settled_before()

    def streams(self) -> list[StreamStats]:
        """Every capture input's RTP streams, by first packet, then input."""
        out: list[StreamStats] = []
        for index, p in self._captures():
            out.extend(self._mine(index, p.streams()))
        media_of = self.media_of
        out.sort(key=lambda st: (st.first_time, media_of[id(st)]))
        return out

    def stream_order(self, st: StreamStats) -> tuple[float, int]:
        """The order of :meth:`streams` (a sort key)."""
        return (st.first_time, self.media_of[id(st)])

    def new_streams(self, read: dict[int, int] | None) -> tuple[list[StreamStats], dict[int, int]]:
        """The streams every capture input found since ``read`` (per input: how many of its
        streams were read; None: none), and the mark to read on from."""
        marks = dict(read or {})
        out: list[StreamStats] = []
        for index, p in self._captures():
            new, marks[index] = p.new_streams(marks.get(index))
            out.extend(self._mine(index, new))
        return out, marks

    def ice_sessions(self) -> list[IceSession]:
        out: list[IceSession] = []
        for index, p in self._captures():
            out.extend(self._mine(index, p.ice_sessions()))
        return out

    def allocations(self) -> list[Allocation]:
        out: list[Allocation] = []
        for index, p in self._captures():
            out.extend(self._mine(index, p.allocations()))
        return out


class MergedCalls:
    """Feed it every merged session as the stream gives it (:meth:`add`), then
    :meth:`finish`; each call is handed to ``on_call`` once its join is final, then the merge
    forgets its messages. ``tally`` counts every call; :meth:`streams` is every capture's
    streams (their ``call_id`` and ``join_rule`` final once :meth:`finish` has run)."""

    def __init__(self, merged: MergedStream, on_call: OnCall, *, window: int | None = None) -> None:
        self.merged = merged
        self.media = MergedMedia(merged)
        self.on_call = on_call
        self.tally = CallTally()
        #: id() of each held call session → its place in the time line.
        self._order: dict[int, int] = {}
        self._shown: set[int] = set()
        self.window = CallWindow(window=window, order=lambda s: self._order[id(s)])

    def add(self, session: Session, shown: bool) -> None:
        """A merged session, just emitted (the merge still answers for its messages)."""
        if session.kind != "call":
            return
        self._order[id(session)] = self.merged.order_of(session)
        self.merged.hold(session)
        if shown:
            self._shown.add(id(session))
        self._done(self.window.add(session, cast(Any, self.media)))

    def finish(self) -> None:
        """The end of the merge: every call still held, joined to every stream left."""
        self._done(self.window.finish(cast(Any, self.media)))

    def streams(self) -> list[StreamStats]:
        return self.media.streams()

    def _done(self, calls: list[Call]) -> None:
        self.tally.add(calls)
        for call in calls:
            key = id(call.session)
            self.on_call(call, key in self._shown, self._order.pop(key, 0))
            self._shown.discard(key)
            self.merged.release(call.session)


__all__ = ["MergedCalls", "MergedMedia", "OnCall"]
