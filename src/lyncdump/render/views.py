"""The main command's outputs as consumers of a streaming pipeline run.

Each view takes the events of :func:`lyncdump.stream` and writes lines through ``out``; it
keeps only what its output still needs, so memory follows what is open in the capture:

- :func:`summary_view` keeps nothing per session (the counts are the pipeline's) but the
  INVITE sessions a :class:`~lyncdump.analysis.call_window.CallWindow` still needs for the
  stream join, and a tally of the calls joined;
- :func:`ndjson_view` writes each session record the moment the session finishes and keeps
  only the INVITE sessions of the call window; a call record comes out when its join is
  final (at the end, after the streams, in a run of up to ``CALL_WINDOW`` calls; as soon as
  no unseen call can compete for its streams in a longer run);
- :func:`ladder_view` turns each finished session into its ladder lines at once (text is a
  fraction of the parsed messages) and prints them in order of first message at the end,
  because the ladder reads best in capture order; it too keeps the INVITE sessions for the
  "Calls" section;
- :func:`calls_view` keeps only the INVITE sessions.

Each returns the finished :class:`~lyncdump.pipeline.Pipeline`, whose totals, connections,
defects and media results are then final.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterable, Iterator
from typing import TYPE_CHECKING, Any, TypeAlias

from ..analysis.call_window import CallTally, CallWindow
from ..analysis.diagnostics import DiagnosticFilter
from ..analysis.sessions import Session
from ..pipeline.events import Event, InputFinished, MessageDecoded, SessionFinished
from . import streams as render_streams
from . import text as render_text

if TYPE_CHECKING:
    from ..analysis.calls import Call
    from ..media.stats import StreamStats
    from ..pipeline.core import Pipeline

Out = Callable[[str], None]
Matches = Callable[[Session], bool]
#: The command line's filter (a compiled ``-Y`` expression, or KEY=VALUE pairs), for what is
#: not a session: trace-log diagnostics that stand alone.
Filters: TypeAlias = DiagnosticFilter
#: Which streams a view shows (``-Y`` over streams); None: all of them.
StreamMatches: TypeAlias = "Callable[[StreamStats], bool] | None"


def _all(_session: Session) -> bool:
    return True


def _finished(event: InputFinished | None) -> Pipeline:
    if event is None:  # a generator that ended without its last event: a bug, say so
        raise RuntimeError("the pipeline ended without InputFinished")
    return event.pipeline


def summary_view(events: Iterable[Event], out: Out) -> Pipeline:
    """``--summary``: counts only, printed when the input is read (the INVITE sessions are
    held in a call window until their join is final, then only counted)."""
    window = CallWindow()
    tally = CallTally()
    end: InputFinished | None = None
    for event in events:
        if type(event) is SessionFinished:
            session = event.session  # type: ignore[union-attr]
            if session.kind == "call":
                tally.add(window.add(session, event.pipeline))  # type: ignore[union-attr, arg-type]
        elif type(event) is InputFinished:
            end = event  # type: ignore[assignment]
    pipeline = _finished(end)
    from . import media_text, tls

    tally.add(window.finish(pipeline))
    streams = pipeline.streams()
    for line in render_text.summary_lines(pipeline):
        out(line)
    for line in media_text.summary_lines(pipeline):
        out(line)
    for line in render_streams.summary_lines(pipeline):
        out(line)
    if tally.total:  # (no call: no line, and the call renderers need not load)
        from . import calls as render_calls

        for line in render_calls.summary_count_lines(tally, streams):
            out(line)
    for line in tls.section_lines(pipeline):
        out(line)
    return pipeline


def calls_of(
    pipeline: Pipeline,
    sessions: list[Session],
    streams: list[StreamStats] | None = None,
) -> list[Call]:
    """The calls of a run: its INVITE sessions joined to the run's media (``streams``: those
    the join may give them, every stream of the run by default). Joining settles each
    stream's call (``call_id``, ``join_rule``, ``candidate_calls``): call it once, before the
    streams are shown."""
    streams = pipeline.streams() if streams is None else streams
    ice, allocations = pipeline.ice_sessions(), pipeline.allocations()
    if not sessions and not streams and not ice and not allocations:
        return []  # nothing to join: the call analysis need not load
    from ..analysis.calls import build_calls

    return build_calls(sessions, streams, ice, allocations)


def ndjson_view(
    events: Iterable[Event],
    out: Out,
    *,
    verbose: bool = False,
    matches: Matches = _all,
    summary: bool = False,
    filters: Filters = (),
    source: str | None = None,
    position: tuple[int, int] = (1, 1),
    stream_matches: StreamMatches = None,
) -> Pipeline:
    """``--json``: the records of :func:`ndjson_records`, one line each."""
    from . import json as render_json

    records = ndjson_records(
        events,
        verbose=verbose,
        matches=matches,
        summary=summary,
        filters=filters,
        source=source,
        position=position,
        stream_matches=stream_matches,
        deferred=True,
    )
    while True:
        try:
            record = next(records)
        except StopIteration as end:
            return end.value  # type: ignore[no-any-return]
        out(render_json.ndjson_line(record))


def ndjson_records(
    events: Iterable[Event],
    *,
    verbose: bool = False,
    matches: Matches = _all,
    summary: bool = False,
    filters: Filters = (),
    source: str | None = None,
    position: tuple[int, int] = (1, 1),
    stream_matches: StreamMatches = None,
    deferred: bool = False,
) -> Generator[dict[str, Any], None, Pipeline]:
    """The NDJSON records of a run, as dicts, as they become known; returns the pipeline.

    With ``source`` (the input as given), an ``input`` record (``position`` = index, count
    of inputs in the run) comes first and every record carries ``source``. Then a session
    record per finished session (those ``matches`` lets through), each followed by the
    server-log diagnostics joined to it; then the diagnostics that stand alone (those
    ``filters`` lets through), STUN, stream (those ``stream_matches`` lets through) and call
    records, then the capture record. ``summary``: only the input and capture records.
    ``deferred``: the capture record's ``connections`` are a ``render.json.Deferred`` (for a
    writer that makes each one's JSON as it writes the line: render.json.ndjson_line)."""
    from ..analysis.diagnostics import diagnostic_matches
    from ..analysis.registration import FollowUps
    from . import json as render_json
    from . import msview
    from .diagnostics import diagnostic_to_dict

    def stamped(record: dict[str, Any]) -> dict[str, Any]:
        return record if source is None else render_json.with_source(record, source)

    if source is not None:
        yield render_json.input_to_dict(source, index=position[0], inputs=position[1])
    follow = FollowUps()
    # Every call, shown or not, until its join is final: streams join the best of them all.
    window = CallWindow()
    tally = CallTally()
    shown_calls: set[int] = set()  # id() of the held call sessions whose records are shown

    def call_records(joined: list[Call]) -> Iterator[dict[str, Any]]:
        tally.add(joined)
        for c in joined:
            if id(c.session) in shown_calls:
                shown_calls.discard(id(c.session))
                if not summary:
                    from . import calls as render_calls  # with the first call: not at start

                    yield stamped(render_calls.call_to_dict(c))

    end: InputFinished | None = None
    for event in events:
        kind = type(event)
        if kind is MessageDecoded:
            follow.message(event.message)  # type: ignore[union-attr]
        elif kind is SessionFinished:
            follow.finished(event.pipeline)  # type: ignore[union-attr]
            session = event.session  # type: ignore[union-attr]
            shown = not summary and matches(session)
            if session.kind == "call":
                if shown:
                    shown_calls.add(id(session))
                # A long run: the calls no unseen call can compete with are final now.
                yield from call_records(window.add(session, event.pipeline))  # type: ignore[union-attr]
            if not shown:
                continue
            record = render_json.session_to_dict(
                session, verbose=verbose, diagnostics=session.diagnostics
            )
            yield stamped(msview.session_extra_fields(record, session, follow))
            for d in session.diagnostics or ():
                yield stamped(diagnostic_to_dict(d))
        elif kind is InputFinished:
            end = event  # type: ignore[assignment]
    pipeline = _finished(end)
    joined = window.finish(pipeline)  # settles each stream's call before they are written
    streams = pipeline.streams()
    if not summary:
        for d in pipeline.diagnostics().standalone:
            if diagnostic_matches(d, filters):
                yield stamped(diagnostic_to_dict(d))
        if getattr(pipeline.media, "stun_started", None) is not None:  # else no STUN record
            from .stun_json import iter_stun_records

            for record in iter_stun_records(pipeline):
                yield stamped(record)
        for st in streams:
            if stream_matches is None or stream_matches(st):
                yield stamped(render_streams.stream_to_dict(st))
    yield from call_records(joined)
    record = render_json.capture_to_dict(pipeline, deferred=deferred)
    if tally.total:  # (no call: no ``calls`` object, and the call renderers need not load)
        from . import calls as render_calls

        record.update(render_calls.calls_summary(tally, streams))
    yield stamped(record)
    return pipeline


class _Block:
    """One session of the ladder, already rendered."""

    __slots__ = ("key", "lines", "call_id", "start")

    def __init__(
        self, key: tuple[int, int], lines: list[str], call_id: str, start: float | None
    ) -> None:
        self.key = key
        self.lines = lines
        self.call_id = call_id
        self.start = start


def _each_line(out: Out) -> Callable[[list[str]], None]:
    def write(lines: list[str]) -> None:
        for line in lines:
            out(line)

    return write


def ladder_view(
    events: Iterable[Event],
    out: Out,
    *,
    verbose: bool = False,
    matches: Matches = _all,
    filters: Filters = (),
    stream_matches: StreamMatches = None,
) -> Pipeline:
    """The default output: a ladder per session (those ``matches`` lets through) with its
    sign-in or conversation summary and media, then unsignalled media, calls, STUN/TURN/ICE,
    and a footer line."""
    from ..analysis.registration import FollowUps
    from . import media_text, msview, tls
    from .diagnostics import TimelineText

    follow = FollowUps()
    blocks: list[_Block] = []
    calls: list[Session] = []
    shown_calls: set[int] = set()
    shown = 0
    end: InputFinished | None = None
    for event in events:
        kind = type(event)
        if kind is MessageDecoded:
            follow.message(event.message)  # type: ignore[union-attr]
        elif kind is SessionFinished:
            follow.finished(event.pipeline)  # type: ignore[union-attr]
            session = event.session  # type: ignore[union-attr]
            if session.kind == "call":
                calls.append(session)
            if not matches(session):
                continue
            if session.kind == "call":
                shown_calls.add(id(session))
            if session.part == 1:
                shown += 1
            lines = list(
                render_text.session_lines(session, verbose=verbose, diagnostics=session.diagnostics)
            )
            lines.extend(msview.session_extra_lines(session, follow))
            first = session.messages[0].frame if session.messages else None
            blocks.append(_Block((first or 0, len(blocks)), lines, session.call_id, session.start))
        elif kind is InputFinished:
            end = event  # type: ignore[assignment]
    pipeline = _finished(end)
    joined = calls_of(pipeline, calls)  # settles each stream's call before they are shown
    streams = pipeline.streams()
    blocks.sort(key=lambda b: b.key)
    # Server-log diagnostics that name no session stand in the time line between the ladders.
    alone = TimelineText(pipeline.diagnostics(), filters, verbose=verbose)
    # The CLI's Output writes a session's lines at once; any other ``out`` gets each line.
    write_lines = getattr(out, "lines", None) or _each_line(out)
    for i, block in enumerate(blocks):
        if i:
            out("")
        for line in alone.before_time(block.start):
            out(line)
        write_lines(block.lines)
        for line in render_streams.session_stream_lines(block.call_id, streams):
            out(line)
    if blocks:
        out("")
    for line in alone.rest():
        out(line)
    unsignalled = list(
        render_streams.unsignalled_lines(
            st for st in streams if stream_matches is None or stream_matches(st)
        )
    )
    for line in unsignalled:
        out(line)
    if unsignalled:
        out("")
    chosen = [c for c in joined if id(c.session) in shown_calls]
    if chosen:  # (no call shown: no section, and the call renderers need not load)
        from . import calls as render_calls

        for line in render_calls.section_lines(chosen):
            out(line)
    for line in media_text.section_lines(pipeline):
        out(line)
    stats = pipeline.stats
    defects = pipeline.defects
    out(
        f"{shown} of {sum(stats.sessions.values())} sessions shown, {stats.sip_messages} SIP "
        f"messages in {stats.frames} "
        f"{'records' if pipeline.format.endswith('-log') else 'frames'}, "
        f"{len(defects)} defects" + ("" if verbose or not len(defects) else " (-v lists them)")
    )
    tls_note = tls.footer_note(pipeline)
    if tls_note:
        out(tls_note)
    if verbose and len(defects):
        out("defects:")
        for line in render_text.defect_lines(pipeline):
            out(line)
    return pipeline


def calls_view(
    events: Iterable[Event],
    out: Out,
    *,
    only: str | None = None,
    as_json: bool = False,
    summary: bool = False,
    source: str | None = None,
    position: tuple[int, int] = (1, 1),
    matches: Callable[[Call], bool] | None = None,
) -> tuple[Pipeline, list[Call]]:
    """``--calls`` / ``--call ID``: the call blocks (or call records, then the capture
    record; with ``source``, an ``input`` record first and ``source`` in each, as
    :func:`ndjson_records`); returns the run and the calls shown (for ``-w``)."""
    from . import calls as render_calls
    from . import json as render_json

    sessions: list[Session] = []
    end: InputFinished | None = None
    for event in events:
        if type(event) is SessionFinished:
            if event.session.kind == "call":  # type: ignore[union-attr]
                sessions.append(event.session)  # type: ignore[union-attr]
        elif type(event) is InputFinished:
            end = event  # type: ignore[assignment]
    pipeline = _finished(end)
    every = calls_of(pipeline, sessions)
    chosen = [
        c for c in every if (only is None or c.call_id == only) and (matches is None or matches(c))
    ]
    if only is not None and not chosen:
        pass  # the caller says there is no such call
    elif as_json:
        records = [] if summary else [render_calls.call_to_dict(c) for c in chosen]
        records.append(
            {
                **render_json.capture_to_dict(pipeline),
                **render_calls.calls_summary(every, pipeline.streams()),
            }
        )
        if source is not None:
            records = [render_json.with_source(r, source) for r in records]
            records.insert(
                0, render_json.input_to_dict(source, index=position[0], inputs=position[1])
            )
        for line in render_json.ndjson_lines(records):
            out(line)
    else:
        for i, call in enumerate(chosen):
            if i:
                out("")
            lines = render_calls.summary_lines(call) if summary else render_calls.call_lines(call)
            for line in lines:
                out(line)
        if chosen:
            out("")
        out(f"{len(chosen)} of {len(sessions)} calls shown")
    return pipeline, chosen


__all__ = ["calls_of", "calls_view", "ladder_view", "ndjson_records", "ndjson_view", "summary_view"]
