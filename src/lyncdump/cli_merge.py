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

    Every view streams (analysis/merge_stream.py): memory follows what is open, not the
    inputs' length. ``extra`` holds the command line's further options; those that are
    :class:`Options` fields (keys, redaction) apply to every input; ``calls``/``call_id`` ask
    for the merged calls joined to the capture inputs' media (``merged_views.calls_view``),
    ``streams_csv`` for the capture inputs' stream table (beside the view asked for)."""
    from .analysis.merge_calls import MergedCalls
    from .analysis.merge_stream import MergedStream, open_pipelines
    from .api import Options
    from .render import merged_views

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
    streams_csv = extra.get("streams_csv")
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
    joined: MergedCalls | None = None
    try:
        pipelines = open_pipelines(paths, opts)
        quiet = opts[0].session_quiet if opts else 32.0
        merged = MergedStream(pipelines, quiet=quiet, max_held=opts[0].max_held_messages)
        if extra.get("calls") or only_call:
            shown, joined = merged_views.calls_view(
                merged, out, as_json=as_json, summary=summary, only=only_call, matches=matches
            )
            if only_call is not None and not shown:
                _clear_progress()
                fail(f"no call with Call-ID {only_call!r} in the merged inputs")
                return EXIT_INPUT
        else:
            if streams_csv:
                joined = MergedCalls(merged, lambda call, shown, order: None)
            if as_json:
                merged_views.ndjson_view(
                    merged, out, verbose=verbose, summary=summary, matches=matches,
                    filters=filters, calls=joined,
                )  # fmt: skip
            elif summary:
                merged_views.summary_view(merged, out, calls=joined)
            else:
                merged_views.ladder_view(
                    merged, out, verbose=verbose, matches=matches, filters=filters, calls=joined
                )
    except LyncdumpError as exc:
        for p in pipelines:
            p.reader.close()
        _clear_progress()
        click.echo(f"lyncdump: {exc}", err=True)
        return EXIT_INPUT
    _clear_progress()
    status = EXIT_OK
    if streams_csv and joined is not None:
        status = _write_streams(streams_csv, joined.streams())
    for p in pipelines:
        if p.error is not None:
            click.echo(f"lyncdump: {p.error}", err=True)
            status = EXIT_INPUT
    return status


def _write_streams(path: str, streams: list[Any]) -> int:
    """``--streams-csv FILE``: every capture input's RTP streams, joined to the merged calls."""
    from .render import streams as render_streams

    try:
        with open(path, "w", newline="", encoding="utf-8") as handle:
            render_streams.write_csv(handle, streams)
    except OSError as exc:
        fail(f"cannot write {path}: {exc.strerror}")
        return EXIT_INPUT
    return EXIT_OK


__all__ = ["check_log_hosts", "run_merged", "wants_merge"]
