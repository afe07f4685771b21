"""``lyncdump export``: captures, trace logs and folders of them into one dataset per table.

    lyncdump export -o OUT [--format parquet|csv|ndjson] [-j N] [--continuous]
                    [--scheduler tcp://HOST:PORT] CAPTURES-OR-FOLDERS...

Exit status: 0 every input read to its end (files that are not captures are skipped, with
one line each); 2 an input could not be read (to its end or at all: what was read is
exported), nothing to export, or a usage error; 3 internal error.
"""

from __future__ import annotations

import os
import sys
import time
from typing import Any

import click

from .cli_common import EXIT_INPUT, EXIT_OK, clear_progress, decode_options, fail, options_from
from .errors import LyncdumpError
from .export.dataset import FORMATS
from .export.schema import TABLES


@click.command(
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
    epilog=(
        f"Tables: {', '.join(TABLES)} (docs/export.md). Each is a dataset at OUT/<table>/ "
        "with one part per input, readable as one by pyarrow, DuckDB, Spark and pandas; "
        "every row has source (the input as given) and frame (record, in a trace log).\n\n"
        "Exit status: 0 all inputs read; 2 an input could not be read (what was read is "
        "exported), nothing to export, or a usage error; 3 internal error."
    ),
)
@click.argument("inputs", nargs=-1, required=True, metavar="CAPTURES-OR-FOLDERS...")
@click.option(
    "-o",
    "--out",
    required=True,
    metavar="OUT",
    type=click.Path(file_okay=False),
    help="Folder for the datasets (created; an input exported again replaces its parts).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default="parquet",
    show_default=True,
    help="Parquet (typed; needs lyncdump[data]), CSV or NDJSON (times as ISO 8601 UTC).",
)
@click.option(
    "-j",
    "--jobs",
    "processes",
    metavar="N",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Decode this many inputs at once, each in a process of its own.",
)
@click.option(
    "--continuous",
    is_flag=True,
    help="Read a ring-buffer set (dumpcap -b: dir/prefix_NNNNN_DATE.ext) or the captures of "
    "one folder as one capture, so calls and TCP connections crossing files stay whole.",
)
@click.option(
    "--scheduler",
    metavar="tcp://HOST:PORT",
    help="Run one task per input on this Dask scheduler (needs lyncdump[dask]; its workers "
    "must see the inputs and OUT at the same paths).",
)
@decode_options
def export_command(
    inputs: tuple[str, ...],
    out: str,
    fmt: str,
    processes: int,
    continuous: bool,
    scheduler: str | None,
    **decode: Any,
) -> None:
    """Export Lync / Skype for Business captures (pcap, pcapng, Network Monitor, gzip or
    not), Lync trace logs and folders of them (walked) as tables: messages, sessions, calls,
    RTP streams, STUN, sign-ins, IM conversations, defects, TCP connections, one row per
    input in captures."""
    from .export.runner import find_inputs, run_jobs

    options = options_from(decode)
    if fmt == "parquet":
        _require_or_exit("pyarrow.parquet")
    client = None
    if scheduler:
        client = _client(scheduler)

    def skipped(path: str, why: str) -> None:
        clear_progress()
        click.echo(
            f"lyncdump: skipped {why}" if path in why else f"lyncdump: skipped {path}: {why}",
            err=True,
        )

    jobs = find_inputs(inputs, continuous=continuous, skip=skipped, exclude=out)
    if not jobs:
        fail("nothing to export: no capture or trace log among the inputs")
        sys.exit(EXIT_INPUT)
    os.makedirs(out, exist_ok=True)
    status = EXIT_OK
    progress = _Progress(len(jobs))
    totals: dict[str, int] = dict.fromkeys(TABLES, 0)
    try:
        for result in run_jobs(
            jobs, out, fmt=fmt, options=options, processes=processes, client=client
        ):
            for table, count in result.rows.items():
                totals[table] += count
            if result.error:
                fail(result.error)
                status = EXIT_INPUT
            progress.done(result.source)
    except LyncdumpError as exc:  # a key file that cannot be used: the same for every input
        fail(str(exc))
        sys.exit(EXIT_INPUT)
    finally:
        if client is not None:
            client.close()
    clear_progress()
    counts = ", ".join(f"{totals[t]} {t}" for t in ("calls", "streams", "sessions", "messages"))
    click.echo(f"exported {len(jobs)} inputs to {out} ({fmt}): {counts}", err=True)
    sys.exit(status)


def _require_or_exit(module: str, extra: str = "data") -> Any:
    from .export.tables import MissingExtraError, require

    try:
        return require(module, extra)
    except MissingExtraError as exc:
        fail(str(exc))
        sys.exit(EXIT_INPUT)


def _client(address: str) -> Any:
    """A Dask client of the scheduler at ``address``, or one clear line and exit 2."""
    distributed = _require_or_exit("distributed", "dask")
    try:
        return distributed.Client(address, timeout="10s")
    except (OSError, TimeoutError) as exc:
        fail(f"cannot reach the Dask scheduler at {address}: {exc}")
        sys.exit(EXIT_INPUT)


class _Progress:
    """``export: 12/100 inputs (3.1/s), last sip-udp-call.pcap`` on stderr, on a terminal."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.count = 0
        self.started = time.monotonic()
        self.shown = sys.stderr.isatty()

    def done(self, source: str) -> None:
        self.count += 1
        if not self.shown:
            return
        elapsed = time.monotonic() - self.started
        rate = self.count / elapsed if elapsed > 0 else 0.0
        sys.stderr.write(
            f"\r\033[Kexport: {self.count}/{self.total} inputs ({rate:.1f}/s), "
            f"last {os.path.basename(source)}"
        )
        sys.stderr.flush()


__all__ = ["export_command"]
