"""The ``lyncdump`` command: argument handling and calls into api/render, nothing else.

Exit status: 0 all input read; 2 an input could not be read (not a capture, truncated file,
unknown link type: what was decoded before is still printed) or the command line is wrong;
3 an internal error (a bug: please report it with the one-line message).
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterable

import click

from . import __version__  # noqa: I001
from .analysis.sessions import KINDS, Session
from .api import Capture, Options
from .errors import LyncdumpError
from .render import json as render_json
from .render import text as render_text

FILTER_KEYS = ("call-id", "user", "method", "kind")

EXIT_OK = 0
EXIT_INPUT = 2
EXIT_INTERNAL = 3


def _parse_filters(values: Iterable[str]) -> list[tuple[str, str]]:
    filters = []
    for value in values:
        key, sep, wanted = value.partition("=")
        key = key.strip().lower()
        if not sep or key not in FILTER_KEYS or not wanted:
            raise click.BadParameter(
                f"{value!r}: use KEY=VALUE with KEY one of {', '.join(FILTER_KEYS)}",
                param_hint="--filter",
            )
        if key == "kind" and wanted not in KINDS:
            raise click.BadParameter(
                f"unknown kind {wanted!r}: one of {', '.join(KINDS)}", param_hint="--filter"
            )
        filters.append((key, wanted))
    return filters


def session_matches(session: Session, filters: list[tuple[str, str]]) -> bool:
    """True when the session passes every filter (they combine with AND)."""
    for key, wanted in filters:
        if key == "call-id" and session.call_id != wanted:
            return False
        if key == "kind" and session.kind != wanted:
            return False
        if key == "user" and not session.matches_user(wanted):
            return False
        if key == "method":
            upper = wanted.upper()
            if not any(m.method == upper for m in session.messages):
                return False
    return True


def _progress_printer(name: str) -> Callable[[int, float], None] | None:
    """Progress on stderr, only when a person is watching it."""
    if not sys.stderr.isatty():
        return None
    started = time.monotonic()

    def show(frames: int, _ts: float) -> None:
        elapsed = time.monotonic() - started
        rate = frames / elapsed if elapsed > 0 else 0.0
        sys.stderr.write(f"\r{name}: {frames} frames ({rate:,.0f}/s)")
        sys.stderr.flush()

    return show


def _clear_progress() -> None:
    if sys.stderr.isatty():
        sys.stderr.write("\r\033[K")
        sys.stderr.flush()


@click.command(
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
    epilog=(
        "Filters combine with AND; KEY is call-id (exact), user (substring of From/To), "
        "method (a request method in the session) or kind "
        f"({', '.join(KINDS)}).\n\n"
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
@click.version_option(__version__, prog_name="lyncdump")
def command(
    captures: tuple[str, ...], as_json: bool, verbose: bool, summary: bool, filters: tuple[str, ...]
) -> None:
    """Decode Lync / Skype for Business traffic in CAPTURE files (pcap, pcapng, Network Monitor
    .cap, gzip-compressed or not; "-" reads standard input) and print each SIP session as a
    ladder: registrations, calls, IMs, presence, with the facts that matter."""
    parsed_filters = _parse_filters(filters)
    status = EXIT_OK
    for index, path in enumerate(captures):
        status = max(
            status,
            _one_capture(path, index, len(captures), as_json, verbose, summary, parsed_filters),
        )
    sys.exit(status)


def _one_capture(
    path: str,
    index: int,
    count: int,
    as_json: bool,
    verbose: bool,
    summary: bool,
    filters: list[tuple[str, str]],
) -> int:
    out = click.echo
    try:
        capture = Capture(path, Options(progress=_progress_printer(os.path.basename(path))))
        sessions = capture.sessions()
    except LyncdumpError as exc:
        _clear_progress()
        click.echo(f"lyncdump: {exc}", err=True)
        return EXIT_INPUT
    _clear_progress()
    shown = [s for s in sessions if session_matches(s, filters)]
    if as_json:
        records = [
            render_json.session_to_dict(s, verbose=verbose) for s in ([] if summary else shown)
        ]
        records.append(render_json.capture_to_dict(capture, sessions))
        for line in render_json.ndjson_lines(records):
            out(line)
    else:
        if count > 1:
            out(f"=== {path}")
        if summary:
            for line in render_text.summary_lines(capture, sessions):
                out(line)
        else:
            for i, session in enumerate(shown):
                if i:
                    out("")
                for line in render_text.session_lines(session, verbose=verbose):
                    out(line)
            if shown:
                out("")
            out(
                f"{len(shown)} of {len(sessions)} sessions shown, {capture.stats.sip_messages} SIP "
                f"messages in {capture.stats.frames} frames, {len(capture.defects)} defects"
                + ("" if verbose or not len(capture.defects) else " (-v lists them)")
            )
            if verbose and len(capture.defects):
                out("defects:")
                for line in render_text.defect_lines(capture):
                    out(line)
        if index < count - 1:
            out("")
    if capture.error is not None:
        click.echo(f"lyncdump: {capture.error}", err=True)
        return EXIT_INPUT
    return EXIT_OK


def main() -> None:
    """Console entry point: never lets a traceback reach the user."""
    try:
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
