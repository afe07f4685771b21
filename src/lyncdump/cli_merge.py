"""``lyncdump --merge A B ...``: several inputs of the same period shown as one time line.

It is what ``lyncdump`` does by default when a Lync trace log is among two or more inputs
(``lyncdump server.log capture.pcap``); ``--no-merge`` shows each input on its own.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Any

import click

from .analysis.merge import MergedCapture
from .api import Capture, Options
from .capture.tracelog import log_host_for, sniff_path, unknown_log_hosts
from .cli_common import EXIT_INPUT, EXIT_OK, session_matches
from .cli_common import clear_progress as _clear_progress
from .cli_common import progress_printer as _progress_printer
from .errors import LyncdumpError
from .render import diagnostics as render_diag
from .render import json as render_json
from .render import merged as render_merged
from .render import text as render_text


def wants_merge(merge: bool | None, paths: tuple[str, ...]) -> bool:
    """``--merge``/``--no-merge`` when given; else merge two or more inputs when one is a log."""
    if merge is not None:
        return merge
    return len(paths) > 1 and any(sniff_path(p) is not None for p in paths)


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
    filters: list[tuple[str, str]],
    extra: dict[str, Any] | None = None,
) -> int:
    """Decode every input, merge, print like a single capture; returns the exit status.

    ``extra`` holds the command line's further options; those that are :class:`Options` fields
    (keys, redaction) apply to every input."""
    out = click.echo
    known = {f.name for f in dataclasses.fields(Options)} - {"log_host"}
    options = {k: v for k, v in (extra or {}).items() if k in known}
    log_hosts = tuple((extra or {}).get("log_hosts") or ())
    inputs: list[Capture] = []
    try:
        for p in paths:
            progress = _progress_printer(os.path.basename(p))
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
    shown = [s for s in sessions if session_matches(s, filters)]
    diags = merged.diagnostics()
    if as_json:
        records = [
            render_merged.session_to_dict(merged, s, verbose=verbose)
            for s in ([] if summary else shown)
        ]
        if not summary:
            records.extend(render_diag.records(diags, shown, filters))
        records.append(render_merged.capture_to_dict(merged, sessions))
        for line in render_json.ndjson_lines(records):
            out(line)
    else:
        for line in render_merged.legend_lines(merged):
            out(line)
        if summary:
            for line in render_text.summary_lines(merged, sessions):
                out(line)
        else:
            alone = render_diag.TimelineText(
                diags, filters, verbose=verbose, tag=render_merged.tag_of(merged)
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
                f"messages ({merged.duplicates} seen twice) from {len(inputs)} inputs, "
                + (f"{len(shown_diags)} diagnostics ({errors} errors), " if diags.all else "")
                + f"{len(merged.defects)} defects"
                + ("" if verbose or not len(merged.defects) else " (-v lists them)")
            )
            if verbose and len(merged.defects):
                out("defects:")
                for line in render_text.defect_lines(merged):
                    out(line)
    status = EXIT_OK
    for c in inputs:
        if c.error is not None:
            click.echo(f"lyncdump: {c.error}", err=True)
            status = EXIT_INPUT
    return status


__all__ = ["check_log_hosts", "run_merged", "wants_merge"]
