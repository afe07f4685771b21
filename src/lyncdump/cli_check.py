"""``lyncdump check CAPTURE... --fail-on RULES``: CI's verdict on captures (exit 1 when a
rule matches), with JUnit XML and NDJSON; and ``lyncdump schema``: the JSON Schema of every
NDJSON record. ``main()`` in cli.py sends ``lyncdump check ...`` and ``lyncdump schema`` here.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

import click

from .check import JUnitWriter, RuleError, check_capture, named_rules, parse_rules
from .cli_common import (
    EXIT_FOUND,
    EXIT_INPUT,
    EXIT_OK,
    Output,
    clear_progress,
    decode_options,
    options_from,
    progress_printer,
    terminal_style,
)


def _rules_help() -> str:
    return "; ".join(f"{name}: {doc}" for name, doc, _expr in named_rules())


@click.command(
    name="check",
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
    epilog=(
        "Rules (comma-separated or repeated): "
        + _rules_help()
        + "; or any filter expression, e.g. stream.mos<3.5, stream.lost_percent>1, "
        "stream.max_jitter_ms>30, call.setup_ms>3000, 'call.failed and call.callee~bob' "
        "(lyncdump --help-filter lists the fields; docs/check.md).\n\n"
        "Exit status: 0 no rule matched; 1 a rule matched; 2 an input could not be read (or "
        "was cut short), or the command line is wrong; 3 internal error."
    ),
)
@click.argument("captures", nargs=-1, required=True, metavar="CAPTURE...")
@click.option(
    "--fail-on",
    "fail_on",
    multiple=True,
    required=True,
    metavar="RULES",
    help="Rules that fail the check, comma-separated or repeated.",
)
@click.option(
    "--junit",
    "junit_path",
    metavar="FILE",
    type=click.Path(dir_okay=False, writable=True),
    help="Also write JUnit XML to FILE: a test case per call, sign-in and stream checked, a "
    "failure per violation.",
)
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Write NDJSON: a violation record per violation, then a check record per capture.",
)
@click.option("-q", "--quiet", is_flag=True, help="Print violations only, no per-file line.")
@click.option(
    "--log-host",
    "log_hosts",
    multiple=True,
    metavar="[LOG=]HOST",
    help="Name of the machine that wrote a Lync server log (as lyncdump --log-host): "
    "log.host and the violations name it.",
)
@decode_options
def check_command(
    captures: tuple[str, ...],
    fail_on: tuple[str, ...],
    junit_path: str | None = None,
    as_json: bool = False,
    quiet: bool = False,
    log_hosts: tuple[str, ...] = (),
    **decode: Any,
) -> None:
    """Check CAPTURE files (or Lync trace logs) against RULES: print each violation with
    its file, frame, Call-ID or stream and why; exit 1 when any rule matched."""
    try:
        rules = parse_rules(fail_on)
    except RuleError as exc:
        raise click.BadParameter(str(exc), param_hint="--fail-on") from None
    options = options_from(decode)
    from .capture.logtypes import log_host_for
    from .cli_merge import check_log_hosts

    check_log_hosts(log_hosts, captures)
    out = Output(terminal_style(), pager=False)
    junit = JUnitWriter(rules) if junit_path else None
    status = EXIT_OK
    total = 0
    for path in captures:
        if junit is not None:
            junit.start(path)

        def show(v: Any) -> None:
            if as_json:
                out(json.dumps(v.to_dict(), ensure_ascii=False, separators=(",", ":")))
            else:
                out(v.line())

        result = check_capture(
            path,
            rules,
            on_violation=show,
            on_case=junit.case if junit is not None else None,
            progress=progress_printer(os.path.basename(path), path),
            log_host=log_host_for(path, log_hosts),
            **options,
        )
        clear_progress()
        if junit is not None:
            junit.finish(result)
        total += result.total
        if result.error:
            status = EXIT_INPUT
            if not as_json:
                click.echo(f"lyncdump: {result.error}", err=True)
        elif result.total and status != EXIT_INPUT:
            status = EXIT_FOUND
        if as_json:
            out(json.dumps(result.to_dict(), ensure_ascii=False, separators=(",", ":")))
        elif not quiet:
            checked = ", ".join(f"{n} {_plural(k, n)}" for k, n in sorted(result.checked.items()))
            verdict = (
                "could not be read"
                if result.error
                else (
                    f"{result.total} violation{'s' if result.total != 1 else ''}"
                    if result.total
                    else "ok"
                )
            )
            out(f"{path}: {verdict}" + (f" ({checked} checked)" if checked else ""))
    if junit is not None and junit_path is not None:
        try:
            with open(junit_path, "w", encoding="utf-8") as handle:
                junit.write(handle)
        except OSError as exc:
            click.echo(f"lyncdump: cannot write {junit_path}: {exc.strerror}", err=True)
            status = EXIT_INPUT
    if not as_json and not quiet and len(captures) > 1:
        out(f"{total} violation{'s' if total != 1 else ''} in {len(captures)} inputs")
    out.close()
    sys.exit(status)


def _plural(kind: str, n: int) -> str:
    words = {
        "registration": ("sign-in", "sign-ins"),
        "call": ("call", "calls"),
        "stream": ("stream", "streams"),
        "session": ("session", "sessions"),
        "connection": ("connection", "connections"),
        "capture": ("capture", "captures"),
        "log": ("log record", "log records"),
    }.get(kind, (kind, kind + "s"))
    return words[0] if n == 1 else words[1]


@click.command(
    name="schema",
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.option(
    "--record",
    metavar="NAME",
    help="Print only the schema of one record type (session, capture, stream, call, ...).",
)
def schema_command(record: str | None = None) -> None:
    """Print the JSON Schema (draft 2020-12) of every NDJSON record lyncdump writes
    (lyncdump --json, lyncdump check --json); docs/json.md says how its version changes."""
    from .schema import load_schema, record_schema

    if record is None:
        document = load_schema()
    else:
        try:
            document = record_schema(record)
        except KeyError as exc:
            raise click.BadParameter(str(exc.args[0]), param_hint="--record") from None
    click.echo(json.dumps(document, indent=2, ensure_ascii=False))
    sys.exit(EXIT_OK)


__all__ = ["check_command", "schema_command"]
