"""``lyncdump report CAPTURE... -o report.html``: one self-contained HTML report.

The same inputs and decoding options as the main command (key logs, ``--rsa-key``,
``--srtp-key``, ``--redact``, ...), ``--filter`` to keep some sessions, and Lync trace logs
merged with the captures into one time line as the main command does (``--log-host`` names the
machine of a server log, as there). Each input, or the merge of them all, is decoded by a
streaming run that keeps only what the report embeds (report/data.py); the page is written
once every input is read. ``main()`` in cli.py sends ``lyncdump report ...`` here.
"""

from __future__ import annotations

import dataclasses
import os
import sys
import tempfile
from typing import Any

import click

from .analysis.sessions import KINDS
from .capture.logtypes import log_host_for
from .cli_common import (
    EXIT_INPUT,
    EXIT_OK,
    clear_progress,
    decode_options,
    fail,
    options_from,
    parse_filters,
    progress_printer,
    session_matches,
)
from .errors import LyncdumpError
from .filters import Filter


@click.command(
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
    epilog=(
        "Filters combine with AND; KEY is call-id (exact), user (substring of From/To), "
        f"method (a request method in the session) or kind ({', '.join(KINDS)}).\n\n"
        "The file opens from disk in any browser with no network (scripts, styles, charts "
        "and data are inside it) and can be attached to a ticket; docs/report.md says what "
        "it shows. Secrets are never written; --redact also removes IM text and credentials.\n\n"
        "Exit status: 0 report written, every input read; 2 an input could not be read (the "
        "report still holds the others) or the command line is wrong; 3 internal error."
    ),
)
@click.argument("captures", nargs=-1, required=True, metavar="CAPTURE...")
@click.option(
    "-o",
    "--output",
    required=True,
    metavar="FILE",
    type=click.Path(dir_okay=False),
    help="Write the report to FILE (for example report.html).",
)
@click.option(
    "-Y",
    "--filter",
    "filters",
    multiple=True,
    metavar="EXPR",
    help="Show only matching sessions, and the media of their calls (repeatable): the "
    "expressions of lyncdump -Y, judged on signalling and server-log diagnostics "
    "('user~alice and method=INVITE', 'log.error'; KEY=VALUE forms work).",
)
@click.option(
    "--merge/--no-merge",
    default=None,
    help="Show all inputs as one time line, duplicates recognised (default: on when a Lync "
    "trace log is among two or more inputs).",
)
@click.option(
    "--log-host",
    "log_hosts",
    multiple=True,
    metavar="[LOG=]HOST",
    help="Name of the machine that wrote a Lync server log, shown as its messages' local side "
    "and its diagnostics' host (default: the log's [machine\\instance] prefix, else the Via "
    "of its own messages); LOG=HOST for one of several logs (repeatable).",
)
@click.option("--title", metavar="TEXT", help="Title of the page (default: the input names).")
@decode_options
def report_command(
    captures: tuple[str, ...],
    output: str,
    filters: tuple[str, ...],
    merge: bool | None,
    title: str | None,
    log_hosts: tuple[str, ...] = (),
    **decode: Any,
) -> None:
    """Write one self-contained HTML report of the Lync / Skype for Business traffic in
    CAPTURE files (pcap, pcapng, Network Monitor .cap, Lync trace logs; "-" reads standard
    input): overview, calls with their ladder, ICE pairs, offer/answer and media charts,
    sign-ins, IM, presence, every other session, defects, and a search box."""
    from .cli_merge import check_log_hosts, wants_merge
    from .report import (
        ReportData,
        ReportDependencyError,
        default_title,
        require_jinja2,
    )

    parsed = parse_filters(filters)
    options = options_from(decode)
    check_log_hosts(log_hosts, captures)
    try:
        require_jinja2()
    except ReportDependencyError as exc:
        fail(str(exc))
        sys.exit(EXIT_INPUT)

    def matches(session: Any) -> bool:
        return session_matches(session, parsed)

    data = ReportData(redacted=bool(options.get("redact")))
    status = EXIT_OK
    read = 0
    if wants_merge(merge, captures):
        read, status = _merged(data, captures, options, matches, parsed, log_hosts)
    else:
        for path in captures:
            host = log_host_for(path, log_hosts)
            ok, input_status = _one(data, path, {**options, "log_host": host}, matches, parsed)
            read += ok
            status = max(status, input_status)
    if not read:
        fail("no input could be read: no report written")
        sys.exit(EXIT_INPUT)
    document = data.document()
    try:
        size = _write(output, document, title or default_title(captures))
    except ReportDependencyError as exc:
        fail(str(exc))
        sys.exit(EXIT_INPUT)
    except OSError as exc:
        fail(f"cannot write {output}: {exc.strerror or exc}")
        sys.exit(EXIT_INPUT)
    diagnostics = f"{len(data.diagnostics)} diagnostics, " if data.diagnostics else ""
    click.echo(
        f"wrote {output}: {len(data.calls)} calls, {len(data.sessions)} sessions, "
        f"{len(data.streams)} RTP streams, {diagnostics}{data.defects_total} defects "
        f"({size / 1e6:.1f} MB)",
        err=True,
    )
    sys.exit(status)


def _one(
    data: Any,
    path: str,
    options: dict[str, Any],
    matches: Any,
    filters: Filter,
) -> tuple[int, int]:
    """Decode one input into the report: (1 if read, its exit status)."""
    from .api import stream

    try:
        events = stream(
            path,
            messages=True,
            stun_messages=False,  # the report counts STUN messages, lists none
            progress=progress_printer(os.path.basename(path)),
            **options,
        )
        pipeline = data.consume(
            events, matches=matches, filtered=not filters.empty, filters=filters
        )
    except LyncdumpError as exc:
        fail(str(exc))
        return 0, EXIT_INPUT
    clear_progress()
    if pipeline.error is not None:
        fail(str(pipeline.error))
        return 1, EXIT_INPUT
    return 1, EXIT_OK


def _merged(
    data: Any,
    paths: tuple[str, ...],
    options: dict[str, Any],
    matches: Any,
    filters: Filter,
    log_hosts: tuple[str, ...] = (),
) -> tuple[int, int]:
    """Every input on one time line (captures with trace logs), streamed as the main
    command's merged views are (analysis/merge_stream.py): (inputs read, exit status)."""
    from .analysis.merge_stream import MergedStream, open_pipelines
    from .api import Options

    known = {f.name for f in dataclasses.fields(Options)} - {"log_host"}
    kwargs = {k: v for k, v in options.items() if k in known}
    opts = [
        Options(
            progress=progress_printer(os.path.basename(p), p),
            log_host=log_host_for(p, log_hosts),
            **kwargs,
        )
        for p in paths
    ]
    pipelines: list[Any] = []
    try:
        pipelines = open_pipelines(paths, opts)
        merged = MergedStream(
            pipelines, quiet=opts[0].session_quiet, max_held=opts[0].max_held_messages
        )
        data.consume_merged(merged, matches=matches, filtered=not filters.empty, filters=filters)
    except LyncdumpError as exc:
        for p in pipelines:
            p.reader.close()
        fail(str(exc))
        return 0, EXIT_INPUT
    clear_progress()
    status = EXIT_OK
    for p in pipelines:
        if p.error is not None:
            fail(str(p.error))
            status = EXIT_INPUT
    return len(pipelines), status


def _write(path: str, document: dict[str, Any], title: str) -> int:
    """Write the page whole or not at all (a temporary file renamed into place, its data
    written piece by piece: report/html.write_html); returns its size in bytes."""
    from .report.html import write_html

    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".lyncdump-report-", suffix=".html", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            write_html(document, title, handle)
        size = os.path.getsize(tmp)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
        return size
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


__all__ = ["report_command"]
