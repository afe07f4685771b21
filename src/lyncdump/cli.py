"""The ``lyncdump`` command: argument handling and calls into api/render, nothing else.

Exit status: 0 all input read; 2 an input could not be read (not a capture, truncated file,
unknown link type: what was decoded before is still printed) or the command line is wrong;
3 an internal error (a bug: please report it with the one-line message).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import click

from . import __version__  # noqa: I001
from .cli_common import (
    EXIT_INPUT,
    EXIT_INTERNAL,
    EXIT_OK,
    Output,
    ReaderGone,
    clear_progress,
    decode_options,
    fail,
    options_from,
    parse_filters,
    progress_printer,
    quiet_exit_after_broken_pipe,
    terminal_style,
    tune_gc,
)
from .errors import LyncdumpError
from .fastpath import describe as describe_fast_path

# The analyzer loads when an input is decoded, not for --help / --version (docs/performance.md);
# the filter language with the first -Y expression, not for a run without one.
if TYPE_CHECKING:
    from .filters import Filter, FilterRun

#: Subcommands: ``lyncdump NAME ...`` runs ``module.function`` (a click command) with the
#: rest of the arguments. A capture file of the same name is still read as ``./NAME``.
SUBCOMMANDS = {
    "live": ("cli_live", "live_command"),
    "report": ("cli_report", "report_command"),
    "export": ("cli_export", "export_command"),
    "check": ("cli_check", "check_command"),
    "schema": ("cli_check", "schema_command"),
}


def _help_filter(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    """``--help-filter``: every field of the filter language, then exit."""
    if not value or ctx.resilient_parsing:
        return
    from .filters import field_table

    rows = field_table()
    width = max(len(name) for name, _k, _d in rows)
    click.echo('Fields of --filter / -Y expressions (docs/cli.md, "Filter expressions"):')
    for name, kind, doc in rows:
        click.echo(f"  {name.ljust(width)}  {kind:<22} {doc}")
    ctx.exit(0)


@click.command(
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
    epilog=(
        "Filters (-Y/--filter EXPR) are expressions over sessions, calls and streams: "
        "'kind=call and stream.mos<3.5', 'user~alice', 'status>=400', 'ip==10.0.0.0/8', "
        "'time>=2026-01-01T10:00'; the old KEY=VALUE forms (call-id=, user=, method=, kind=) "
        "still work; --help-filter lists every field.\n\n"
        "Lync trace logs (server OCSLogger/CLS text, client .uccapilog) are read like captures; "
        "given with captures they are merged into one time line (--merge).\n\n"
        "Live: lyncdump live -i IFACE [--bpf FILTER] [-w out.pcapng] [--duration S] decodes "
        "as packets arrive (lyncdump live --help).\n\n"
        "Tables: lyncdump export -o OUT [--format parquet|csv|ndjson] [-j N] CAPTURES-OR-FOLDERS "
        "writes one dataset per table (lyncdump export --help).\n\n"
        "CI: lyncdump check CAPTURE... --fail-on RULES exits 1 when a rule matches (JUnit with "
        "--junit); lyncdump schema prints the JSON Schema of --json.\n\n"
        "On a terminal, output is cut to its width (--wide: whole lines), coloured (NO_COLOR, "
        "--color) and paged when long (--no-pager; $PAGER).\n\n"
        "Exit status: 0 all input read (also when the reader of a pipe goes away); 2 an input "
        "could not be read or the command line is wrong (what was decoded is printed first); "
        "3 internal error."
    ),
)
@click.argument("captures", nargs=-1, required=False, metavar="CAPTURE...")
@click.option(
    "-r",
    "--read",
    "read_paths",
    multiple=True,
    metavar="FILE",
    help="An input, as tcpdump/tshark -r (the same as a CAPTURE argument; repeatable).",
)
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Write NDJSON: one record per session, then one per capture (lyncdump schema).",
)
@click.option(
    "-v", "--verbose", is_flag=True, help="Print full messages under the ladder and every defect."
)
@click.option(
    "--summary", is_flag=True, help="Print counts only (messages, sessions, connections, defects)."
)
@click.option(
    "-Y",
    "--filter",
    "filters",
    multiple=True,
    metavar="EXPR",
    help="Show only what matches EXPR (repeatable: all must hold), e.g. 'kind=call and "
    "stream.mos<3.5'; KEY=VALUE forms work as before; --help-filter lists the fields.",
)
@click.option(
    "--help-filter",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=_help_filter,
    help="List the fields and predicates of filter expressions, then exit.",
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
    help="Write the frames of what the filters (or --call) selected — signalling and its media "
    "— to FILE as pcapng; with no filter, every frame read.",
)
@click.option(
    "-c",
    "--count",
    "max_frames",
    type=click.IntRange(min=0),
    metavar="N",
    help="Stop after N frames (records of a trace log); with -f, N frames that pass it.",
)
@click.option(
    "-f",
    "--bpf",
    metavar="EXPR",
    help="Decode only frames that pass this BPF filter (tcpdump's language, e.g. "
    "'tcp port 5061 or udp'); frame numbers stay those of the file. Needs libpcap.",
)
@click.option("--wide", is_flag=True, help="Never cut lines to the terminal's width.")
@click.option(
    "--width",
    type=click.IntRange(min=20),
    metavar="COLUMNS",
    help="Cut lines to this width, on a terminal or not (default: the terminal's, or COLUMNS).",
)
@click.option(
    "--color",
    "--colour",
    "color",
    type=click.Choice(["auto", "always", "never"]),
    default="auto",
    show_default=True,
    help="Colour status classes, failures and quality (auto: on a terminal, unless NO_COLOR).",
)
@click.option(
    "--ascii",
    "ascii_only",
    is_flag=True,
    help="Draw with ASCII (->, ...) instead of arrows (automatic when the output cannot "
    "print them).",
)
@click.option(
    "--pager/--no-pager",
    default=None,
    help="Page long output on a terminal ($LYNCDUMP_PAGER, $PAGER or less; default: on a "
    "terminal).",
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
    read_paths: tuple[str, ...] = (),
    merge: bool | None = None,
    log_hosts: tuple[str, ...] = (),
    streams_csv: str | None = None,
    show_calls: bool = False,
    call_id: str | None = None,
    write_path: str | None = None,
    max_frames: int | None = None,
    bpf: str | None = None,
    wide: bool = False,
    width: int | None = None,
    color: str = "auto",
    ascii_only: bool = False,
    pager: bool | None = None,
    **decode: Any,
) -> None:
    """Decode Lync / Skype for Business traffic in CAPTURE files (pcap, pcapng, Network Monitor
    .cap, gzip-compressed or not; "-" reads standard input) and print each SIP session as a
    ladder: registrations, calls, IMs, presence, with the facts that matter."""
    captures = tuple(read_paths) + tuple(captures)
    if not captures:
        raise click.UsageError("no input: give a CAPTURE file (or -r FILE; - for stdin)")
    flt = parse_filters(filters) if any(f.strip() for f in filters) else None
    options = options_from(decode)
    if max_frames is not None:
        options["max_frames"] = max_frames
    if bpf:
        from .capture.select import check_bpf

        try:
            check_bpf(bpf)
        except LyncdumpError as exc:
            raise click.BadParameter(str(exc), param_hint="-f/--bpf") from None
        options["bpf"] = bpf
    if write_path and len(captures) != 1:
        raise click.UsageError("-w/--write takes exactly one capture")
    if write_path and captures[0] == "-":
        raise click.UsageError("-w/--write reads the capture twice: give a file, not stdin")
    from .cli_merge import check_log_hosts, run_merged, wants_merge

    check_log_hosts(log_hosts, captures)
    out = Output(terminal_style(color=color, ascii_only=ascii_only, wide=wide, width=width), pager,
                 flush_lines="-" in captures)  # fmt: skip
    try:
        if wants_merge(merge, captures):
            extra = {**options, "log_hosts": log_hosts, "calls": show_calls, "call_id": call_id}
            extra.update(write_path=write_path, streams_csv=streams_csv)
            status = run_merged(captures, as_json, verbose, summary, flt or _no_filter(), extra)
        else:
            view = _View(
                as_json=as_json,
                verbose=verbose,
                summary=summary,
                filter=flt,
                calls=show_calls or bool(call_id),
                only_call=call_id,
                write_path=write_path,
                streams_csv=streams_csv,
            )
            status = EXIT_OK
            from .capture.logtypes import log_host_for

            for index, path in enumerate(captures):
                if len(captures) > 1 and not as_json:
                    if index:
                        out("")
                    out(f"=== {path}")
                log_host = log_host_for(path, log_hosts)
                status = max(
                    status,
                    _one_capture(
                        path,
                        view,
                        {**options, "log_host": log_host},
                        out,
                        (index + 1, len(captures)),
                    ),
                )
        out.close()
    except ReaderGone:
        clear_progress()
        quiet_exit_after_broken_pipe()
        sys.exit(EXIT_OK)
    sys.exit(status)


class _View:
    """What the command line asked to see (``filter``: None without ``-Y``). A plain class, not
    a dataclass: nothing compares or prints it, and a dataclass costs a run's start-up about
    a millisecond (docs/performance.md, "Start-up")."""

    __slots__ = (
        "as_json", "verbose", "summary", "filter", "calls", "only_call", "write_path",
        "streams_csv",
    )  # fmt: skip

    def __init__(
        self,
        *,
        as_json: bool = False,
        verbose: bool = False,
        summary: bool = False,
        filter: Filter | None = None,
        calls: bool = False,
        only_call: str | None = None,
        write_path: str | None = None,
        streams_csv: str | None = None,
    ) -> None:
        self.as_json = as_json
        self.verbose = verbose
        self.summary = summary
        self.filter = filter
        self.calls = calls
        self.only_call = only_call
        self.write_path = write_path
        self.streams_csv = streams_csv


def _no_filter() -> Filter:
    from .filters import compile_filter

    return compile_filter(())


def _one_capture(
    path: str,
    view: _View,
    options: dict[str, Any],
    out: Callable[[str], None] = click.echo,
    position: tuple[int, int] = (1, 1),
) -> int:
    """Decode one input with a streaming pipeline and print the view asked for."""
    from .render import views
    from .streaming import open_stream as stream

    selection: Selection | None = None
    if view.write_path:
        from .capture.writer import Selection

        selection = Selection(everything=view.filter is None and not view.only_call)
    flt = view.filter

    def shown(session: Any) -> None:  # -w: what the filter let through, as it is shown
        assert selection is not None
        selection.add_messages(session.messages)

    def shown_call(call: Any) -> None:  # -w: the media of a call shown, once its join is final
        assert selection is not None
        selection.add_call(call)

    collect = selection is not None and not selection.everything and not view.calls
    if flt is None and collect:
        flt = _no_filter()
    # Without -Y (nor frames to collect) every session, stream and diagnostic is shown: the
    # events go to the view as they come, and the filter language is not loaded.
    run: FilterRun | None = None
    stream_matches: Callable[[Any], bool] | None = None  # None: every stream is shown
    judged: dict[str, Any] = {}
    if flt is not None:
        from .filters import FilterRun

        run = FilterRun(
            flt,
            shown=shown if collect else None,
            keep_calls=collect,
            on_call=shown_call if collect else None,
        )
        stream_matches = run.stream_matches if flt else None
        judged = {"matches": run.matches, "filters": flt, "stream_matches": stream_matches}
    try:
        events = stream(
            path,
            # The ladder and NDJSON name each sign-in's follow-up subscriptions, which they
            # learn from the messages as they pass.
            messages=not (view.summary or view.calls),
            # Only --json lists every STUN message; the other views count them.
            stun_messages=view.as_json and not (view.summary or view.calls),
            # --summary alone reads only the calls of the sessions (and the totals at the
            # end): the others may be counted, not built. A filter, -w or another view
            # reads every session.
            count_sessions=(
                view.summary
                and not (view.calls or view.as_json or view.write_path)
                and view.only_call is None
                and (flt is None or flt.empty)
            ),
            progress=progress_printer(os.path.basename(path), path),
            **options,
        )
        if run is not None:
            events = run.events(events)
        chosen: list[Any] = []
        if view.calls:
            pipeline, chosen = views.calls_view(
                _progress_cleared(events),
                out,
                only=view.only_call,
                as_json=view.as_json,
                summary=view.summary,
                matches=run.call_matches if run is not None and flt else None,
                source=path,
                position=position,
            )
        elif view.as_json:
            pipeline = views.ndjson_view(
                _progress_cleared(events),
                out,
                verbose=view.verbose,
                summary=view.summary,
                source=path,
                position=position,
                **judged,
            )
        elif view.summary:
            pipeline = views.summary_view(_progress_cleared(events), out)
        else:
            pipeline = views.ladder_view(
                _progress_cleared(events),
                out,
                verbose=view.verbose,
                **judged,
            )
    except LyncdumpError as exc:
        fail(str(exc))
        return EXIT_INPUT
    status = EXIT_OK
    if view.calls:
        if view.only_call is not None and not chosen:
            fail(f"no call with Call-ID {view.only_call!r} in {path}")
            return EXIT_INPUT
    if selection is not None and not selection.everything:
        if view.calls:
            for call in chosen:
                selection.add_call(call)
        else:
            # The calls of the sessions shown came through shown_call; the streams no call owns.
            for st in pipeline.streams():
                if st.call_id is None and (stream_matches is None or stream_matches(st)):
                    selection.add_stream(st)
    if selection is not None and view.write_path:
        status = _write(path, view.write_path, selection, chosen)
    if view.streams_csv:
        from .render import streams as render_streams

        try:
            with open(view.streams_csv, "w", newline="", encoding="utf-8") as handle:
                render_streams.write_csv(
                    handle,
                    [
                        st
                        for st in pipeline.streams()
                        if stream_matches is None or stream_matches(st)
                    ],
                )
        except OSError as exc:
            fail(f"cannot write {view.streams_csv}: {exc.strerror}")
            return EXIT_INPUT
    if pipeline.error is not None:
        fail(str(pipeline.error))
        return EXIT_INPUT
    return status


def _progress_cleared(events: Any) -> Any:
    """The events, with the progress bar wiped before the first output can appear."""
    yield from events
    clear_progress()


def _write(source: str, write_path: str, selection: Any, chosen: list[Any]) -> int:
    """``-w FILE``: the selected frames (signalling and media) into a new pcapng."""
    from .capture.writer import write_selection

    try:
        written = write_selection(source, write_path, selection)
    except OSError as exc:
        fail(f"cannot write {write_path}: {exc.strerror}")
        return EXIT_INPUT
    except LyncdumpError as exc:
        fail(str(exc))
        return EXIT_INPUT
    what = f"call {chosen[0].call_id}" if len(chosen) == 1 else "the selection"
    if selection.everything:
        what = "every frame read"
    click.echo(f"wrote {written} frames of {what} to {write_path}", err=True)
    return EXIT_OK


def main() -> None:
    """Console entry point: never lets a traceback reach the user."""
    tune_gc()
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
    except (BrokenPipeError, ReaderGone):  # `lyncdump ... | head`: the reader had enough
        quiet_exit_after_broken_pipe()
        sys.exit(EXIT_OK)
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
