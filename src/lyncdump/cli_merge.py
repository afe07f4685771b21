"""``lyncdump --merge A B ...``: several inputs of the same period shown as one time line.

It is what ``lyncdump`` does by default when a Lync trace log is among two or more inputs
(``lyncdump server.log capture.pcap``); ``--no-merge`` shows each input on its own.
"""

from __future__ import annotations

import dataclasses
import os
from typing import TYPE_CHECKING, Any

import click

from .capture.logtypes import log_host_for, unknown_log_hosts
from .cli_common import EXIT_INPUT, EXIT_OK, fail, session_matches
from .cli_common import clear_progress as _clear_progress
from .cli_common import progress_printer as _progress_printer
from .errors import LyncdumpError

# The merge and its renderers load when inputs are merged: every run of the command asks
# wants_merge() and check_log_hosts() first (docs/performance.md, "Start-up").
if TYPE_CHECKING:
    from .analysis.merge import MergedCapture
    from .filters import Filter


def wants_merge(merge: bool | None, paths: tuple[str, ...]) -> bool:
    """``--merge``/``--no-merge`` when given; else merge two or more inputs when one is a log."""
    if merge is not None:
        return merge
    if len(paths) < 2:
        return False
    from .capture.tracelog import sniff_path

    return any(sniff_path(p) is not None for p in paths)


def check_log_hosts(values: tuple[str, ...], paths: tuple[str, ...]) -> None:
    """``--log-host LOG=HOST`` must name one of the inputs (path or file name)."""
    wrong = unknown_log_hosts(values, paths)
    if wrong:
        raise click.BadParameter(
            f"{wrong[0]!r}: LOG is not one of the inputs (give its path or file name)",
            param_hint="--log-host",
        )


def run_merged(
    paths: tuple[str, ...],
    as_json: bool,
    verbose: bool,
    summary: bool,
    filters: Filter,
    extra: dict[str, Any] | None = None,
) -> int:
    """Merge the inputs and print them like a single capture; returns the exit status.

    The ladder, ``--summary`` and ``--json`` stream (:func:`_run_streamed`); ``--calls``,
    ``--call`` and ``--streams-csv`` join the merged calls to the captures' media, which the
    keep-all :class:`MergedCapture` holds. ``extra`` holds the command line's further
    options; those that are :class:`Options` fields (keys, redaction) apply to every input;
    ``calls``/``call_id`` ask for the merged calls (:func:`print_calls`), ``streams_csv`` for
    the capture inputs' stream table."""
    from .analysis.merge import MergedCapture
    from .api import Capture, Options
    from .render import merged_views

    out = click.echo
    extra = extra or {}
    only_call = extra.get("call_id")
    if extra.get("write_path"):
        raise click.UsageError(
            "-w/--write copies one capture's frames: it does not take merged inputs "
            "(add --no-merge)"
        )
    known = {f.name for f in dataclasses.fields(Options)} - {"log_host"}
    options = {k: v for k, v in extra.items() if k in known}
    log_hosts = tuple(extra.get("log_hosts") or ())
    if not (extra.get("calls") or only_call or extra.get("streams_csv")):
        return _run_streamed(paths, as_json, verbose, summary, filters, options, log_hosts)
    inputs: list[Capture] = []
    try:
        for p in paths:
            progress = _progress_printer(os.path.basename(p), p)
            log_host = log_host_for(p, log_hosts)
            inputs.append(Capture(p, Options(progress=progress, log_host=log_host, **options)))
        merged = MergedCapture(inputs).run()
        sessions = merged.sessions()
    except LyncdumpError as exc:
        for c in inputs:  # those opened before the one that failed
            c.close()
        _clear_progress()
        click.echo(f"lyncdump: {exc}", err=True)
        return EXIT_INPUT
    _clear_progress()
    status = EXIT_OK
    diags = merged.diagnostics()
    shown = [s for s in sessions if session_matches(s, filters, logs=diags.of(s))]
    if extra.get("calls") or only_call:
        status = print_calls(merged, shown, as_json, summary, only_call)
    else:
        merged_views.keep_all_view(
            merged, sessions, shown, out, as_json=as_json, summary=summary, verbose=verbose,
            filters=filters,
        )  # fmt: skip
    if extra.get("streams_csv"):
        status = max(status, _write_streams(extra["streams_csv"], merged))
    for c in inputs:
        if c.error is not None:
            click.echo(f"lyncdump: {c.error}", err=True)
            status = EXIT_INPUT
    return status


def _run_streamed(
    paths: tuple[str, ...],
    as_json: bool,
    verbose: bool,
    summary: bool,
    filters: Filter,
    options: dict[str, Any],
    log_hosts: tuple[str, ...],
) -> int:
    """The ladder, ``--summary`` and ``--json`` of merged inputs through the streaming merge
    (analysis/merge_stream.py): memory follows what is open, not the inputs' length."""
    from .analysis.merge_stream import MergedStream, open_pipelines
    from .api import Options
    from .render import merged_views

    opts = [
        Options(
            progress=_progress_printer(os.path.basename(p), p),
            log_host=log_host_for(p, log_hosts),
            **options,
        )
        for p in paths
    ]
    cleared = False

    def out(line: str) -> None:
        nonlocal cleared
        if not cleared:
            _clear_progress()
            cleared = True
        click.echo(line)

    def matches(session: Any, logs: Any) -> bool:
        return session_matches(session, filters, logs=logs)

    pipelines = []
    try:
        pipelines = open_pipelines(paths, opts)
        quiet = opts[0].session_quiet if opts else 32.0
        merged = MergedStream(pipelines, quiet=quiet, max_held=opts[0].max_held_messages)
        if as_json:
            merged_views.ndjson_view(
                merged, out, verbose=verbose, summary=summary, matches=matches, filters=filters
            )
        elif summary:
            merged_views.summary_view(merged, out)
        else:
            merged_views.ladder_view(merged, out, verbose=verbose, matches=matches, filters=filters)
    except LyncdumpError as exc:
        for p in pipelines:
            p.reader.close()
        _clear_progress()
        click.echo(f"lyncdump: {exc}", err=True)
        return EXIT_INPUT
    _clear_progress()
    status = EXIT_OK
    for p in pipelines:
        if p.error is not None:
            click.echo(f"lyncdump: {p.error}", err=True)
            status = EXIT_INPUT
    return status


def print_calls(
    merged: MergedCapture,
    shown: list[Any],
    as_json: bool,
    summary: bool,
    only: str | None,
) -> int:
    """``--calls`` / ``--call ID`` on merged inputs: the calls of the merged sessions shown,
    joined to the capture inputs' media, as one input's calls are printed (frame numbers
    carry their input's letter); returns the exit status (2: no call with that Call-ID)."""
    from .render import calls as render_calls
    from .render import json as render_json
    from .render import merged as render_merged

    out = click.echo
    every = merged.calls()
    keep = {id(s) for s in shown}
    chosen = [c for c in every if id(c.session) in keep and (only is None or c.call_id == only)]
    if only is not None and not chosen:
        fail(f"no call with Call-ID {only!r} in the merged inputs")
        return EXIT_INPUT
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
        return EXIT_OK
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
    return EXIT_OK


def _write_streams(path: str, merged: MergedCapture) -> int:
    """``--streams-csv FILE``: every capture input's RTP streams, joined to the merged calls."""
    from .render import streams as render_streams

    try:
        with open(path, "w", newline="", encoding="utf-8") as handle:
            render_streams.write_csv(handle, merged.streams())
    except OSError as exc:
        fail(f"cannot write {path}: {exc.strerror}")
        return EXIT_INPUT
    return EXIT_OK


__all__ = ["check_log_hosts", "print_calls", "run_merged", "wants_merge"]
