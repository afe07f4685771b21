"""The merged view as a stream: several inputs of the same period (captures and trace logs)
merged into one time line in memory that follows what is open, not the length of the inputs.

Each input runs through its own streaming :class:`~lyncdump.pipeline.Pipeline` (captures,
live interfaces and trace logs alike); its messages come out as they are decoded. Then:

1. Clock offsets are learned from a bounded look-ahead: the first
   :data:`LOOKAHEAD_MESSAGES` messages (at most :data:`LOOKAHEAD_BYTES` of their text) of
   every input are read and held, and :func:`~lyncdump.analysis.merge.learn_offsets` — the
   rule :class:`~lyncdump.analysis.merge.MergedCapture` applies to every message — runs on
   them. Past it an input's offset is fixed.
2. Each input's messages wait :data:`REORDER` seconds of its own (shifted) time in a small
   heap, which puts them in time order (TCP completes messages out of frame order; a message
   behind a hole comes up to 3 s late), and a k-way merge takes the earliest of the inputs'
   heads: the order of the keep-all merge (time, input, input order).
3. :class:`~lyncdump.analysis.merge.Merger` recognises each hop's copies within the window
   (:data:`~lyncdump.analysis.merge.DEFAULT_WINDOW`) and forgets an entry once the window has
   passed it.
4. A quiet :class:`~lyncdump.analysis.sessions.SessionBuilder` (time line order) emits each
   merged session once it has gone quiet; the logs' diagnostic records wait by Call-ID and
   are joined to their session as it is emitted (:func:`~lyncdump.analysis.diagnostics.join`,
   the keep-all join, on that one session).

:meth:`MergedStream.sessions` yields the sessions; while the consumer holds one, the
questions the merged renderers ask (:meth:`~MergedStream.sources`, :meth:`~MergedStream.origin`,
``diagnostics().of(session)``) are answered for it, and forgotten when the next is asked
for (``sources``/``origin`` not before :meth:`~MergedStream.release` for a session the
consumer holds with :meth:`~MergedStream.hold`: a call waiting for its media join,
analysis/merge_calls.py, which asks :meth:`~MergedStream.settled_before` when it may join).
Once the generator is exhausted the totals (``stats``, ``connections``, ``defects``,
``log_events``, ``duplicates``, ``diagnostics()``) are final.

Where it can differ from the keep-all merge (docs/tracelog.md, "Merged inputs"): an offset is
learned on the look-ahead only; a Call-ID that comes back after its session went quiet is a
new part (``part`` 2, ...), and a diagnostic written after its session was emitted stands
alone; sessions come out in the order they finish (the ladder puts them back in order of
first message).
"""

from __future__ import annotations

import heapq
import os
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from ..capture.tracelog import SERVER_FORMAT, LogEvent
from ..model import DefectLog
from ..pipeline import InputFinished, LogRecord, MessageDecoded, Pipeline, Stats
from ..pipeline.connection import ConnectionSummary
from ..sip.message import SipMessage
from .diagnostics import Diagnostic, DiagnosticIndex, join, log_hosts
from .merge import (
    DEFAULT_WINDOW,
    Entry,
    Merger,
    MessageKey,
    add_input_totals,
    copy_key,
    is_log,
    learn_offsets,
    reference_input,
)
from .sessions import DEFAULT_QUIET, Session, SessionBuilder

#: Messages of each input read ahead, and held, to learn its clock offset before the merge
#: starts; past them the offset is fixed.
LOOKAHEAD_MESSAGES = 1000

#: Message text held per input by the look-ahead (it ends at whichever bound comes first).
LOOKAHEAD_BYTES = 8 * 1024 * 1024

#: Messages of one input waiting in its reorder heap: past it the earliest is merged even if
#: the input's time has not moved on by REORDER (an input whose timestamps stand still).
MAX_WAITING = 10_000

#: Merged entries held for copies still to come (the last 2 s): past it the earliest is
#: released early (a defect counts them) and a later copy of it stands on its own.
MAX_OPEN_ENTRIES = 20_000

#: Seconds of an input's own time its messages wait to be put in time order (TCP completes
#: messages out of frame order; data behind a hole is delivered up to 3 s late, net.tcp).
REORDER = 4.0


class _Input:
    """One input of the merge: its pipeline, its events and the messages waiting in its heap."""

    __slots__ = (
        "index", "pipeline", "events", "from_log", "offset", "heap", "latest", "ended",
        "arrivals", "ahead", "ahead_messages", "ahead_bytes",
    )  # fmt: skip

    def __init__(self, index: int, pipeline: Pipeline) -> None:
        self.index = index
        self.pipeline = pipeline
        self.events = pipeline.events()
        self.from_log = is_log(pipeline)
        self.offset = 0.0
        #: (time, frame, arrival, copy key, message) waiting to be merged.
        self.heap: list[tuple[float, int, int, MessageKey, SipMessage]] = []
        self.latest = float("-inf")
        self.ended = False
        self.arrivals = 0
        #: The look-ahead: messages and log records in the order the pipeline gave them.
        self.ahead: list[SipMessage | LogEvent] | None = []
        self.ahead_messages = 0
        self.ahead_bytes = 0

    @property
    def name(self) -> str:
        return self.pipeline.name

    @property
    def format(self) -> str:
        return self.pipeline.format

    def ready(self) -> bool:
        """Its earliest waiting message can be merged: nothing it reads later comes earlier."""
        heap = self.heap
        return self.ended or (
            bool(heap) and (heap[0][0] < self.latest - REORDER or len(heap) > MAX_WAITING)
        )


class _StreamIndex(DiagnosticIndex):
    """The merged diagnostics as a :class:`DiagnosticIndex`: while the stream runs, ``of``
    answers for the sessions being shown; at the end ``all`` and ``standalone`` hold every
    diagnostic (those joined without their session: the counts are what is asked of them)."""

    def __init__(self, enabled: bool) -> None:
        super().__init__([], enabled)
        self.current: dict[int, list[Diagnostic]] = {}

    def of(self, session: Session) -> list[Diagnostic] | None:
        if not self.enabled:
            return None
        return self.current.get(id(session), [])


class MergedStream:
    """Several inputs' pipelines merged into one stream of sessions (module docstring).

    It answers what the merged renderers (render/merged.py) ask of a
    :class:`~lyncdump.analysis.merge.MergedCapture`: ``inputs`` (the pipelines: ``name``,
    ``format``, ``log_host``, and their media for the calls), ``offsets``, ``duplicates``,
    ``sources``, ``origin``, ``media_input``, ``hosts``, ``diagnostics``, and the totals at
    the end.
    """

    format = "merged"

    def __init__(
        self,
        pipelines: Sequence[Pipeline],
        window: float = DEFAULT_WINDOW,
        *,
        quiet: float = DEFAULT_QUIET,
        max_held: int | None = None,
    ) -> None:
        #: The inputs' pipelines (what the renderers read of an input: name, format, log_host).
        self.inputs: list[Any] = list(pipelines)
        self.window = window
        self.name = " + ".join(p.name for p in self.inputs)
        self.offsets = [0.0] * len(self.inputs)
        self.duplicates = 0
        self.stats = Stats()
        self.connections: list[ConnectionSummary] = []
        self.defects = DefectLog(max((p.options.max_defects for p in self.inputs), default=10000))
        self.error: Any = None
        self.log_events: list[LogEvent] = []
        self._inputs = [_Input(i, p) for i, p in enumerate(self.inputs)]
        self._merger = Merger([i.from_log for i in self._inputs], window, max_open=MAX_OPEN_ENTRIES)
        enabled = any(p.format == SERVER_FORMAT for p in self.inputs)
        if enabled:
            # As a server log's own run: a diagnostic can come a transaction's life late.
            wait = 2 * quiet
            self._builder = SessionBuilder(wait, settle=wait, by_frame=False)
        else:
            self._builder = SessionBuilder(quiet, by_frame=False)
        if max_held is not None:
            self._builder.max_held = max(1, max_held)
        self._index = _StreamIndex(enabled)
        #: Diagnostic records waiting for the session of their Call-ID, and those without one.
        self._waiting: dict[str, list[LogEvent]] = {}
        self._no_call: list[LogEvent] = []
        self._joined: list[Diagnostic] = []  # without their session: counted at the end
        #: id() of each message of an open session → its entry and its place in the time line.
        self._open: dict[int, tuple[Entry, int]] = {}
        self._released = 0
        self._started = False
        #: id() of the sessions a consumer holds (calls waiting for their media join).
        self._held: set[int] = set()
        #: id() of each stream, ICE session and allocation read → its input (merge_calls).
        self.media_of: dict[int, int] = {}
        #: Called with each merged message as it joins the time line, before any session it
        #: finishes is emitted (the report's sign-in follow-up index, FollowUps.message).
        self.on_message: Callable[[SipMessage], None] | None = None

    # -- what the renderers ask ---------------------------------------------------------------
    def sources(self, m: SipMessage) -> list[tuple[Pipeline, int | None]]:
        """The inputs that saw ``m`` and its frame (record number for a log) in each, in
        input order (for a message of the session being shown)."""
        found = self._open.get(id(m))
        if found is None:
            return []
        return [(self.inputs[i], frame) for i, frame in sorted(found[0].seen, key=lambda s: s[0])]

    def origin(self, m: SipMessage) -> tuple[int, int | None] | None:
        """The input whose copy of ``m`` is shown, and the copy's frame."""
        found = self._open.get(id(m))
        return None if found is None else (found[0].shown, m.frame)

    def order_of(self, session: Session) -> int:
        """The session's place in the time line (its first message's), for a session shown."""
        found = self._open.get(id(session.messages[0])) if session.messages else None
        return found[1] if found is not None else self._released

    def media_input(self, item: object) -> int | None:
        """The input a stream, ICE session or TURN allocation comes from (those a
        :class:`~lyncdump.analysis.merge_calls.MergedCalls` has read)."""
        return self.media_of.get(id(item))

    def hold(self, session: Session) -> None:
        """Keep answering ``sources``/``origin`` for ``session`` (a call waiting for its media
        join) after the consumer asks for the next one, until :meth:`release`."""
        self._held.add(id(session))

    def release(self, session: Session) -> None:
        """Forget what answered for a held session's messages."""
        self._held.discard(id(session))
        for m in session.messages:
            self._open.pop(id(m), None)

    def settled_before(self) -> float:
        """A time before which every merged session that may be a call has been emitted:
        no open session, no message waiting for its copies or in an input's reorder heap,
        nor any message an input has still to give (4 s before its latest at most), starts
        earlier (what :class:`~lyncdump.analysis.call_window.CallWindow` waits for)."""
        return self._not_emitted_since(calls_only=True)

    def unseen_since(self) -> float:
        """A time at or before the first message of every merged session not emitted yet
        (open, or still to come): what lets an index of earlier messages (the sign-in
        follow-ups, :meth:`FollowUps.finished`) forget what no session can ask for."""
        return self._not_emitted_since(calls_only=False)

    def _not_emitted_since(self, *, calls_only: bool) -> float:
        t = self._builder.open_since(calls_only=calls_only)
        t = min(t, self._merger.earliest())
        for inp in self._inputs:
            if inp.heap and inp.heap[0][0] < t:
                t = inp.heap[0][0]
            if not inp.ended and inp.latest - REORDER < t:
                t = inp.latest - REORDER
        return t

    def hosts(self) -> dict[str | None, str]:
        """The name of the machine that wrote each server log, by input name."""
        return log_hosts(self.inputs)

    def diagnostics(self) -> DiagnosticIndex:
        """The diagnostics of the session being shown (``of``); every one once the stream
        has ended."""
        self._index.hosts = self.hosts()
        return self._index

    # -- the run ------------------------------------------------------------------------------
    def sessions(self) -> Iterator[Session]:
        """Run the merge, yielding each merged session once it is finished; call once."""
        if self._started:
            raise RuntimeError("this merged stream already ran")
        self._started = True
        inputs = self._inputs
        for inp in inputs:
            self._look_ahead(inp)
        self._learn_offsets()
        for inp in inputs:
            self._replay(inp)
        merger = self._merger
        while True:
            best: _Input | None = None
            for inp in inputs:
                while not inp.ready():
                    self._pull(inp)
                heap = inp.heap
                if heap and (best is None or heap[0][0] < best.heap[0][0]):
                    best = inp  # ties: the earlier input (the keep-all merge's order)
            if best is None:
                break
            _, _, _, key, m = heapq.heappop(best.heap)
            for entry in merger.add(best.index, m, key):
                yield from self._take(entry)
        for entry in merger.finish():
            yield from self._take(entry)
        yield from self._emit(self._builder.finish())
        self._finish()

    def _look_ahead(self, inp: _Input) -> None:
        while (
            not inp.ended
            and inp.ahead_messages < LOOKAHEAD_MESSAGES
            and inp.ahead_bytes < LOOKAHEAD_BYTES
        ):
            self._pull(inp)

    def _learn_offsets(self) -> None:
        samples: list[list[tuple[MessageKey, float]]] = []
        for inp in self._inputs:
            messages = [m for m in inp.ahead or () if isinstance(m, SipMessage)]
            messages.sort(key=lambda m: m.frame or 0)  # the keep-all rule reads frame order
            samples.append([(copy_key(m), m.time) for m in messages if m.time is not None])
        self.offsets = learn_offsets(samples, reference_input(self.inputs), self.window)
        for inp, offset in zip(self._inputs, self.offsets, strict=True):
            inp.offset = offset

    def _replay(self, inp: _Input) -> None:
        """The look-ahead, shifted, into the merge; from now on events go straight in."""
        ahead, inp.ahead = inp.ahead, None
        for item in ahead or ():
            if isinstance(item, SipMessage):
                self._message(inp, item)
            else:
                self._log_event(inp, item)

    def _pull(self, inp: _Input) -> None:
        """One event of an input's pipeline."""
        try:
            event = next(inp.events)
        except StopIteration:
            inp.ended = True
            return
        kind = type(event)
        if kind is MessageDecoded:
            m = event.message  # type: ignore[union-attr]
            if inp.ahead is not None:
                inp.ahead.append(m)
                inp.ahead_messages += 1
                inp.ahead_bytes += len(m.raw)
            else:
                self._message(inp, m)
        elif kind is LogRecord:
            e = event.event  # type: ignore[union-attr]
            e.source = inp.name
            if inp.ahead is not None:
                inp.ahead.append(e)
            else:
                self._log_event(inp, e)
        elif kind is InputFinished:
            inp.ended = True

    def _message(self, inp: _Input, m: SipMessage) -> None:
        if m.time is not None:
            if inp.offset:
                m.time += inp.offset
            if m.time > inp.latest:
                inp.latest = m.time
        t = m.time if m.time is not None else 0.0
        heapq.heappush(inp.heap, (t, m.frame or 0, inp.arrivals, copy_key(m), m))
        inp.arrivals += 1

    def _log_event(self, inp: _Input, e: LogEvent) -> None:
        if inp.offset and e.time is not None:
            e.time += inp.offset
        if not self._index.enabled or not e.is_diagnostic:
            return
        if e.call_id:
            self._waiting.setdefault(e.call_id, []).append(e)
        else:
            self._no_call.append(e)

    def _take(self, entry: Entry) -> Iterator[Session]:
        """A merged message, final: counted, then into its session."""
        m = entry.message
        self.stats.count_message(m)
        if self.on_message is not None:
            self.on_message(m)
        self._open[id(m)] = (entry, self._released)
        self._released += 1
        finished = self._builder.add(m)
        if finished:
            yield from self._emit(finished)

    def _emit(self, sessions: list[Session]) -> Iterator[Session]:
        index = self._index
        for session in sessions:
            self.stats.count_session(session)
            if index.enabled:
                events = self._waiting.pop(session.call_id, None) or []
                joined = join([session], events, seen_by=self._seen_by).all
                index.current[id(session)] = joined
                self._joined.extend(Diagnostic(d.event) for d in joined)
            index.hosts = self.hosts()
            yield session
            # The consumer is done with it: forget what answered for its messages (unless
            # it holds the session: a call whose media join is still to come).
            index.current.pop(id(session), None)
            if id(session) not in self._held:
                for m in session.messages:
                    self._open.pop(id(m), None)

    def _seen_by(self, m: SipMessage) -> list[str | None]:
        return [p.name for p, _ in self.sources(m)]

    def _finish(self) -> None:
        """The totals of every input, as :class:`MergedCapture` combines them."""
        merger = self._merger
        self.duplicates = merger.duplicates
        for p in self.inputs:
            add_input_totals(self, p)
        if merger.early:
            self.defects.add(
                None,
                "sip",
                None,
                f"merge: {merger.early} messages left the copy window early: more than "
                f"{merger.max_open} were waiting for their copies (inputs whose time stands "
                "still); a later copy of one is shown as a message of its own",
            )
        if self._builder.early:
            self.defects.add(
                None,
                "sip",
                None,
                f"merge: {self._builder.early} sessions emitted before they went quiet: more "
                f"than {self._builder.max_held} messages were held in open sessions",
            )
        self.log_events.sort(key=lambda e: (e.time is None, e.time or 0.0))
        index = self._index
        if index.enabled:
            rest = self._no_call + [e for events in self._waiting.values() for e in events]
            self._waiting.clear()
            alone = join([], rest).all
            whole = DiagnosticIndex(self._joined + alone, True, self.hosts())
            index.all = whole.all
            index.standalone = alone
        index.hosts = self.hosts()


def open_merged(sources: Sequence[str], **options: Any) -> MergedStream:
    """Inputs of the same period as one streaming merge, for scripts: iterate
    :meth:`MergedStream.sessions` (``sources(m)`` and ``diagnostics().of(session)`` answer
    for the session in hand), then read the totals. Keyword options are the fields of
    :class:`~lyncdump.options.Options`, for every input."""
    from ..options import Options

    opts = Options(**options)
    pipelines = open_pipelines(sources, [opts] * len(sources))
    return MergedStream(pipelines, quiet=opts.session_quiet, max_held=opts.max_held_messages)


def open_pipelines(paths: Sequence[str], options: Sequence[Any]) -> list[Pipeline]:
    """A streaming pipeline for each input: messages on, no sessions of its own (the merged
    sessions are the merge's; each message's defects are taken as it is delivered), its
    diagnostics left to the merge. Inputs opened before one that fails are closed, and the
    error raised."""
    from ..capture import open_input
    from ..pipeline.core import follows_keys, load_tls_keys

    out: list[Pipeline] = []
    try:
        for path, opts in zip(paths, options, strict=True):
            for key in opts.srtp_keys:
                from ..media.srtp import parse_key

                parse_key(key)  # a key that cannot be used fails here, as Capture does
            reader = open_input(path, log_host=opts.log_host)
            try:
                keys = load_tls_keys(
                    opts, getattr(reader, "secrets", None), follow=follows_keys(reader)
                )
            except BaseException:
                reader.close()
                raise
            out.append(
                Pipeline(
                    reader,
                    opts,
                    name=os.fspath(path),
                    streaming=True,
                    tls_keys=keys,
                    join_diagnostics=False,
                    sessions=False,
                    stun_messages=False,  # the merged views count STUN, list none
                )
            )
    except BaseException:
        for p in out:
            p.reader.close()
        raise
    return out


__all__ = [
    "LOOKAHEAD_BYTES",
    "LOOKAHEAD_MESSAGES",
    "MAX_OPEN_ENTRIES",
    "MAX_WAITING",
    "REORDER",
    "MergedStream",
    "open_merged",
    "open_pipelines",
]
