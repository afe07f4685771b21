"""What the command and its subcommands share: exit codes, progress, filters, error lines.

Subcommand modules (cli_live.py, cli_merge.py, ...) import from here, never from cli.py.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterable

import click

from .analysis.sessions import KINDS, Session

EXIT_OK = 0
#: ``check``: a rule matched (the inputs were read, and something is wrong in them).
EXIT_FOUND = 1
EXIT_INPUT = 2
EXIT_INTERNAL = 3

FILTER_KEYS = ("call-id", "user", "method", "kind")


def parse_filters(values: Iterable[str]) -> list[tuple[str, str]]:
    """``KEY=VALUE`` filters as given on the command line (a bad one is a usage error)."""
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


def progress_printer(name: str) -> Callable[[int, float], None] | None:
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


def clear_progress() -> None:
    """Wipe the progress line before anything else is written to the terminal."""
    if sys.stderr.isatty():
        sys.stderr.write("\r\033[K")
        sys.stderr.flush()


def fail(message: str) -> None:
    """One clear line on stderr (``lyncdump: ...``)."""
    clear_progress()
    click.echo(f"lyncdump: {message}", err=True)


__all__ = [
    "EXIT_FOUND",
    "EXIT_INPUT",
    "EXIT_INTERNAL",
    "EXIT_OK",
    "FILTER_KEYS",
    "clear_progress",
    "fail",
    "parse_filters",
    "progress_printer",
    "session_matches",
]
