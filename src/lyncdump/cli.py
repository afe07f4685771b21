"""The ``lyncdump`` command: argument handling and calls into api/render, nothing else.

Exit status: 0 all input read; 2 an input could not be read (not a capture, truncated file,
unknown link type: what was decoded before is still printed) or the command line is wrong;
3 an internal error (a bug: please report it with the one-line message).
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from typing import Any

import click

from . import __version__  # noqa: I001
from .analysis.sessions import KINDS
from .api import stream
from .capture.tracelog import log_host_for
from .cli_common import (
    EXIT_INPUT,
    EXIT_INTERNAL,
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
from .fastpath import describe as describe_fast_path

#: Subcommands: ``lyncdump NAME ...`` runs ``module.function`` (a click command) with the
#: rest of the arguments. A capture file of the same name is still read as ``./NAME``.
SUBCOMMANDS = {
    "live": ("cli_live", "live_command"),
    "report": ("cli_report", "report_command"),
    "export": ("cli_export", "export_command"),
}


@click.command(
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
    epilog=(
        "Filters combine with AND; KEY is call-id (exact), user (substring of From/To), "
        "method (a request method in the session) or kind "
        f"({', '.join(KINDS)}).\n\n"
        "Lync trace logs (server OCSLogger/CLS text, client .uccapilog) are read like captures; "
        "given with captures they are merged into one time line (--merge).\n\n"
        "Live: lyncdump live -i IFACE [--bpf FILTER] [-w out.pcapng] [--duration S] decodes "
        "as packets arrive (lyncdump live --help).\n\n"
        "Tables: lyncdump export -o OUT [--format parquet|csv|ndjson] [-j N] CAPTURES-OR-FOLDERS "
        "writes one dataset per table (lyncdump export --help).\n\n"
        "Exit status: 0 all input read; 2 an input could not be read or the command line is "
        "wrong (what was decoded is printed first); 3 internal error."
    ),
)
@click.argument("captures", nargs=-1, required=True, metavar="CAPTURE...")
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Write NDJSON: one record per session, then one per capture.",
)
@click.option(
    "-v", "--verbose", is_flag=True, help="Print full messages under the ladder and every defect."
)
@click.option(
    "--summary", is_flag=True, help="Print counts only (messages, sessions, connections, defects)."
)
@click.option(
    "--filter",
    "filters",
    multiple=True,
    metavar="KEY=VALUE",
    help="Show only matching sessions (repeatable): call-id=, user=, method=, kind=.",
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
    "(default: the log's [machine\\instance] prefix, else the Via of its own messages); "
    "LOG=HOST for one of several logs (repeatable).",
)
@click.option(
    "--streams-csv",
    metavar="FILE",
    type=click.Path(dir_okay=False, writable=True),
    help="Write the RTP stream table (one row per stream) as CSV to FILE.",
)
@click.option(
    "--calls",
    "show_calls",
    is_flag=True,
    help="Print one block per call (INVITE dialog joined to its ICE, TURN and RTP media) "
    "instead of the session ladders; with --json, call records.",
)
@click.option(
    "--call",
    "call_id",
    metavar="CALL-ID",
    help="Only this call (implies --calls); with -w, write its packets to a new capture.",
)
@click.option(
    "-w",
    "--write",
    "write_path",
    metavar="FILE",
    type=click.Path(dir_okay=False, writable=True),
    help="With --call: write that call's frames (signalling and media) to FILE as pcapng.",
)
@decode_options
@click.version_option(
    __version__, prog_name="lyncdump", message=f"%(prog)s %(version)s, {describe_fast_path()}"
)
def command(
    captures: tuple[str, ...],
    as_json: bool,
    verbose: bool,
    summary: bool,
    filters: tuple[str, ...],
    merge: bool | None = None,
    log_hosts: tuple[str, ...] = (),
    streams_csv: str | None = None,
    show_calls: bool = False,
    call_id: str | None = None,
    write_path: str | None = None,
    **decode: Any,
) -> None:
    """Decode Lync / Skype for Business traffic in CAPTURE files (pcap, pcapng, Network Monitor
    .cap, gzip-compressed or not; "-" reads standard input) and print each SIP session as a
    ladder: registrations, calls, IMs, presence, with the facts that matter."""
    parsed_filters = parse_filters(filters)
    options = options_from(decode)
    if write_path and not call_id:
        raise click.UsageError("-w/--write needs --call CALL-ID (the call to write)")
    if write_path and len(captures) != 1:
        raise click.UsageError("-w/--write takes exactly one capture")
    from .cli_merge import check_log_hosts, run_merged, wants_merge

    check_log_hosts(log_hosts, captures)
    if wants_merge(merge, captures):
        extra = {**options, "log_hosts": log_hosts}
        sys.exit(run_merged(captures, as_json, verbose, summary, parsed_filters, extra))
    view = _View(
        as_json=as_json,
        verbose=verbose,
        summary=summary,
        filters=parsed_filters,
        calls=show_calls or bool(call_id),
        only_call=call_id,
        write_path=write_path,
        streams_csv=streams_csv,
    )
    status = EXIT_OK
    for index, path in enumerate(captures):
        if len(captures) > 1 and not as_json:
            if index:
                click.echo("")
            click.echo(f"=== {path}")
        log_host = log_host_for(path, log_hosts)
        status = max(
            status,
            _one_capture(path, view, {**options, "log_host": log_host}, (index + 1, len(captures))),
        )
    sys.exit(status)


@dataclass(frozen=True)
class _View:
    """What the command line asked to see."""

    as_json: bool = False
    verbose: bool = False
    summary: bool = False
    filters: list[tuple[str, str]] = field(default_factory=list)
    calls: bool = False
    only_call: str | None = None
    write_path: str | None = None
    streams_csv: str | None = None


def _one_capture(
    path: str, view: _View, options: dict[str, Any], position: tuple[int, int] = (1, 1)
) -> int:
    """Decode one input with a streaming pipeline and print the view asked for."""
    from .render import views

    out = click.echo
    try:
        events = stream(
            path,
            # The ladder and NDJSON name each sign-in's follow-up subscriptions, which they
            # learn from the messages as they pass.
            messages=not (view.summary or view.calls),
            progress=progress_printer(os.path.basename(path), path),
            **options,
        )
        filters = view.filters

        def matches(session: Any) -> bool:
            return session_matches(session, filters)

        chosen: list[Any] = []
        if view.calls:
            pipeline, chosen = views.calls_view(
                _progress_cleared(events),
                out,
                only=view.only_call,
                as_json=view.as_json,
                summary=view.summary,
                source=path,
                position=position,
            )
        elif view.as_json:
            pipeline = views.ndjson_view(
                _progress_cleared(events),
                out,
                verbose=view.verbose,
                matches=matches,
                summary=view.summary,
                filters=filters,
                source=path,
                position=position,
            )
        elif view.summary:
            pipeline = views.summary_view(_progress_cleared(events), out)
        else:
            pipeline = views.ladder_view(
                _progress_cleared(events),
                out,
                verbose=view.verbose,
                matches=matches,
                filters=filters,
            )
    except LyncdumpError as exc:
        fail(str(exc))
        return EXIT_INPUT
    status = EXIT_OK
    if view.calls:
        if view.only_call is not None and not chosen:
            fail(f"no call with Call-ID {view.only_call!r} in {path}")
            return EXIT_INPUT
        if view.write_path and chosen:
            status = _write_call(path, view.write_path, chosen[0])
    if view.streams_csv:
        from .render import streams as render_streams

        try:
            with open(view.streams_csv, "w", newline="", encoding="utf-8") as handle:
                render_streams.write_csv(handle, pipeline.streams())
        except OSError as exc:
            fail(f"cannot write {view.streams_csv}: {exc.strerror}")
            return EXIT_INPUT
    if pipeline.error is not None:
        fail(str(pipeline.error))
        return EXIT_INPUT
    return status


def _progress_cleared(events: Any) -> Any:
    """The events, with the progress line wiped before the first output can appear."""
    yield from events
    clear_progress()


def _write_call(source: str, write_path: str, call: Any) -> int:
    """``--call ID -w FILE``: the call's frames (signalling and media) into a new pcapng."""
    from .capture.writer import write_call

    try:
        written = write_call(source, write_path, call)
    except OSError as exc:
        fail(f"cannot write {write_path}: {exc.strerror}")
        return EXIT_INPUT
    except LyncdumpError as exc:
        fail(str(exc))
        return EXIT_INPUT
    click.echo(f"wrote {written} frames of call {call.call_id} to {write_path}", err=True)
    return EXIT_OK


def main() -> None:
    """Console entry point: never lets a traceback reach the user."""
    try:
        name = sys.argv[1] if len(sys.argv) > 1 else None
        if name in SUBCOMMANDS:
            import importlib

            module_name, function = SUBCOMMANDS[name]
            module = importlib.import_module(f".{module_name}", __package__)
            getattr(module, function)(
                args=sys.argv[2:], prog_name=f"lyncdump {name}", standalone_mode=True
            )
        command(standalone_mode=True)
    except SystemExit:
        raise
    except KeyboardInterrupt:
        click.echo("lyncdump: interrupted", err=True)
        sys.exit(130)
    except Exception as exc:  # noqa: BLE001 - the last line of defence, by design
        if os.environ.get("LYNCDUMP_DEBUG"):
            raise
        click.echo(
            f"lyncdump: internal error: {type(exc).__name__}: {exc} "
            "(a bug; rerun with LYNCDUMP_DEBUG=1 for the traceback and report it)",
            err=True,
        )
        sys.exit(EXIT_INTERNAL)


if __name__ == "__main__":
    main()
