"""The merged view's outputs as consumers of a streaming merge (analysis/merge_stream.py).

The output is that of the keep-all merge (render/merged.py on a ``MergedCapture``), written
from sessions as they finish:

- :func:`summary_view` keeps nothing per session: the counts are the stream's;
- :func:`ndjson_view` writes each session record the moment its session finishes, and keeps
  the ``diagnostic`` records of the sessions shown (bounded with the logs' records, which the
  pipelines keep anyway) to write them after the sessions, by time, as the keep-all output
  does; then the ``capture`` record;
- :func:`ladder_view` turns each finished session into its ladder lines at once and prints
  them in order of first message at the end, between the diagnostics that stand alone (the
  legend, which counts the copies recognised, comes first);
- :func:`calls_view` (``--calls``, ``--call ID``) joins the merged calls to the capture
  inputs' media in a call window (analysis/merge_calls.py) and keeps each call shown as its
  lines (or writes its record) once its join is final.

Each view takes an optional :class:`~lyncdump.analysis.merge_calls.MergedCalls` (the views
without ``--calls`` run one for ``--streams-csv``: the streams' calls are those of the join).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from ..analysis.diagnostics import Diagnostic, DiagnosticFilter, diagnostic_matches
from ..analysis.merge_stream import MergedStream
from ..analysis.sessions import Session
from . import diagnostics as render_diag
from . import json as render_json
from . import merged as render_merged
from . import text as render_text

if TYPE_CHECKING:
    from ..analysis.calls import Call
    from ..analysis.merge import MergedCapture
    from ..analysis.merge_calls import MergedCalls

Out = Callable[[str], None]
#: Whether a session is shown, given the diagnostics joined to it (the command's filter).
Matches = Callable[[Session, "list[Diagnostic] | None"], bool]


def _all(_session: Session, _logs: list[Diagnostic] | None) -> bool:
    return True


def _sessions(
    merged: MergedStream, calls: MergedCalls | None, matches: Matches = _all
) -> Iterator[Session]:
    """The merged sessions; each, once the view is done with it, to the call join too."""
    for session in merged.sessions():
        yield session
        if calls is not None:
            calls.add(session, matches(session, merged.diagnostics().of(session)))
    if calls is not None:
        calls.finish()


def summary_view(merged: MergedStream, out: Out, *, calls: MergedCalls | None = None) -> None:
    """``--summary`` of merged inputs: the legend and the counts, once every input is read."""
    for _ in _sessions(merged, calls):
        pass
    for line in render_merged.legend_lines(merged):
        out(line)
    for line in render_text.summary_lines(merged):
        out(line)


def _time_key(record: dict[str, Any]) -> tuple[bool, float, str, int]:
    """The order of DiagnosticIndex.all, on ``diagnostic`` records."""
    t = record["time"]
    return (t is None, t or 0.0, record["source"] or "", record["record_number"])


def _diagnostic_record(merged: MergedStream, d: Diagnostic) -> dict[str, Any]:
    record = render_diag.diagnostic_to_dict(d, merged.diagnostics().hosts)
    record["message_file"] = render_merged.file_of(merged, d.message) if d.message else None
    return record


def ndjson_view(
    merged: MergedStream,
    out: Out,
    *,
    verbose: bool = False,
    summary: bool = False,
    matches: Matches = _all,
    filters: DiagnosticFilter = (),
    calls: MergedCalls | None = None,
) -> None:
    """``--json`` of merged inputs: session records as sessions finish, then the diagnostic
    records of the sessions shown and of those alone that pass ``filters``, then the
    ``capture`` record (``summary``: only the capture record)."""
    kept: list[dict[str, Any]] = []
    for session in _sessions(merged, calls):
        if summary:
            continue
        logs = merged.diagnostics().of(session)
        if not matches(session, logs):
            continue
        record = render_merged.session_to_dict(merged, session, verbose=verbose)
        for line in render_json.ndjson_lines([record]):
            out(line)
        kept.extend(_diagnostic_record(merged, d) for d in logs or ())
    index = merged.diagnostics()
    if not summary and index.enabled:
        kept.extend(
            _diagnostic_record(merged, d)
            for d in index.standalone
            if diagnostic_matches(d, filters)
        )
        kept.sort(key=_time_key)
        for line in render_json.ndjson_lines(kept):
            out(line)
    for line in render_json.ndjson_lines([render_merged.capture_to_dict(merged, None)]):
        out(line)


def ladder_view(
    merged: MergedStream,
    out: Out,
    *,
    verbose: bool = False,
    matches: Matches = _all,
    filters: DiagnosticFilter = (),
    calls: MergedCalls | None = None,
) -> None:
    """The merged ladder: sessions in order of first message, lone diagnostics between them
    at their time, and the closing count line."""
    shown: list[tuple[int, float | None, list[str]]] = []
    total = 0
    shown_diagnostics = errors = 0
    for session in _sessions(merged, calls):
        total += 1
        logs = merged.diagnostics().of(session)
        if not matches(session, logs):
            continue
        lines = list(
            render_merged.session_lines(merged, session, verbose=verbose, diagnostics=logs)
        )
        shown.append((merged.order_of(session), session.start, lines))
        shown_diagnostics += len(logs or ())
        errors += sum(1 for d in logs or () if d.is_error)
    shown.sort(key=lambda s: s[0])
    index = merged.diagnostics()
    for line in render_merged.legend_lines(merged):
        out(line)
    alone = render_diag.TimelineText(
        index,
        filters,
        verbose=verbose,
        tag=render_merged.tag_of(merged),
        input_letter=render_merged.letter_of(merged),
    )
    for i, (_, start, lines) in enumerate(shown):
        if i:
            out("")
        for line in alone.before_time(start):
            out(line)
        for line in lines:
            out(line)
    if shown:
        out("")
    for line in alone.rest():
        out(line)
    if index.enabled:
        lone = [d for d in index.standalone if diagnostic_matches(d, filters)]
        shown_diagnostics += len(lone)
        errors += sum(1 for d in lone if d.is_error)
    defects = merged.defects
    out(
        f"{len(shown)} of {total} sessions shown, {merged.stats.sip_messages} SIP "
        f"messages ({merged.duplicates} seen twice) from {len(merged.inputs)} inputs, "
        + (f"{shown_diagnostics} diagnostics ({errors} errors), " if index.all else "")
        + f"{len(defects)} defects"
        + ("" if verbose or not len(defects) else " (-v lists them)")
    )
    if verbose and len(defects):
        out("defects:")
        for line in render_text.defect_lines(merged):
            out(line)


def calls_view(
    merged: MergedStream,
    out: Out,
    *,
    as_json: bool = False,
    summary: bool = False,
    only: str | None = None,
    matches: Matches = _all,
    window: int | None = None,
) -> tuple[int, MergedCalls]:
    """``--calls`` / ``--call ID`` of merged inputs: the calls of the sessions shown, joined
    to the capture inputs' media (frame numbers carry their input's letter), as the keep-all
    :func:`keep_all_calls_view` prints them. A call's record is written (``--json``), or its
    lines kept, as soon as its join is final; the text is printed in time line order at the
    end, after the legend. Returns how many calls were shown (none: no call with Call-ID
    ``only``, and nothing was written) and the join (its ``streams()`` are final)."""
    from ..analysis.merge_calls import MergedCalls
    from . import calls as render_calls

    blocks: list[tuple[int, list[str]]] = []
    chosen = 0
    letter = render_merged.letter_of(merged)

    def on_call(call: Call, shown: bool, order: int) -> None:
        nonlocal chosen
        if not shown or (only is not None and call.call_id != only):
            return
        chosen += 1
        if as_json:
            if not summary:
                for line in render_json.ndjson_lines([render_merged.call_to_dict(merged, call)]):
                    out(line)
        elif summary:
            blocks.append((order, list(render_calls.summary_lines(call))))
        else:
            blocks.append((order, list(render_calls.call_lines(call, input_letter=letter))))

    joined = MergedCalls(merged, on_call, window=window)
    for _ in _sessions(merged, joined, matches):
        pass
    if only is not None and not chosen:
        return 0, joined
    if as_json:
        record = {
            **render_merged.capture_to_dict(merged, None),
            **render_calls.calls_summary(joined.tally, joined.streams()),
        }
        for line in render_json.ndjson_lines([record]):
            out(line)
        return chosen, joined
    for line in render_merged.legend_lines(merged):
        out(line)
    blocks.sort(key=lambda b: b[0])
    for i, (_, lines) in enumerate(blocks):
        if i:
            out("")
        for line in lines:
            out(line)
    if blocks:
        out("")
    out(f"{chosen} of {joined.tally.total} calls shown")
    return chosen, joined


__all__ = ["calls_view", "keep_all_calls_view", "keep_all_view", "ladder_view", "ndjson_view",
           "summary_view"]  # fmt: skip


def keep_all_view(
    merged: MergedCapture,
    sessions: list[Session],
    shown: list[Session],
    out: Out,
    *,
    as_json: bool,
    summary: bool,
    verbose: bool,
    filters: Any,
) -> None:
    """The ladder, ``--summary`` or ``--json`` of a keep-all :class:`MergedCapture` (what
    ``--streams-csv`` prints beside its table; the streamed views above give the same lines)."""
    diags = merged.diagnostics()
    if as_json:
        records = [
            render_merged.session_to_dict(merged, s, verbose=verbose)
            for s in ([] if summary else shown)
        ]
        if not summary:
            records.extend(render_merged.diagnostic_records(merged, shown, filters))
        records.append(render_merged.capture_to_dict(merged, sessions))
        for line in render_json.ndjson_lines(records):
            out(line)
        return
    for line in render_merged.legend_lines(merged):
        out(line)
    if summary:
        for line in render_text.summary_lines(merged, sessions):
            out(line)
        return
    alone = render_diag.TimelineText(
        diags,
        filters,
        verbose=verbose,
        tag=render_merged.tag_of(merged),
        input_letter=render_merged.letter_of(merged),
    )
    for i, session in enumerate(shown):
        if i:
            out("")
        for line in alone.before(session):
            out(line)
        for line in render_merged.session_lines(
            merged, session, verbose=verbose, diagnostics=diags.of(session)
        ):
            out(line)
    if shown:
        out("")
    for line in alone.rest():
        out(line)
    shown_diags = render_diag.shown(diags, shown, filters)
    errors = sum(1 for d in shown_diags if d.is_error)
    out(
        f"{len(shown)} of {len(sessions)} sessions shown, {merged.stats.sip_messages} SIP "
        f"messages ({merged.duplicates} seen twice) from {len(merged.inputs)} inputs, "
        + (f"{len(shown_diags)} diagnostics ({errors} errors), " if diags.all else "")
        + f"{len(merged.defects)} defects"
        + ("" if verbose or not len(merged.defects) else " (-v lists them)")
    )
    if verbose and len(merged.defects):
        out("defects:")
        for line in render_text.defect_lines(merged):
            out(line)


def keep_all_calls_view(
    merged: MergedCapture,
    shown: list[Session],
    out: Out,
    *,
    as_json: bool,
    summary: bool,
    only: str | None,
) -> bool:
    """``--calls`` / ``--call ID`` of a keep-all :class:`MergedCapture` (what the command
    printed before the merged calls streamed; the parity tests' oracle for :func:`calls_view`).
    Returns False, having written nothing, when no call has Call-ID ``only``."""
    from . import calls as render_calls

    every = merged.calls()
    keep = {id(s) for s in shown}
    chosen = [c for c in every if id(c.session) in keep and (only is None or c.call_id == only)]
    if only is not None and not chosen:
        return False
    if as_json:
        records = [] if summary else [render_merged.call_to_dict(merged, c) for c in chosen]
        records.append(
            {
                **render_merged.capture_to_dict(merged, merged.sessions()),
                **render_calls.calls_summary(every, merged.streams()),
            }
        )
        for line in render_json.ndjson_lines(records):
            out(line)
        return True
    for line in render_merged.legend_lines(merged):
        out(line)
    letter = render_merged.letter_of(merged)
    for i, call in enumerate(chosen):
        if i:
            out("")
        if summary:
            lines = render_calls.summary_lines(call)
        else:
            lines = render_calls.call_lines(call, input_letter=letter)
        for line in lines:
            out(line)
    if chosen:
        out("")
    out(f"{len(chosen)} of {len(every)} calls shown")
    return True
