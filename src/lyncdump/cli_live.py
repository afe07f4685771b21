"""``lyncdump live -i IFACE``: decode Lync traffic from a network interface as it arrives.

The interface feeds the same pipeline as a capture file (lyncdump.stream over a
:class:`~lyncdump.capture.live.LiveSource`), so live runs decrypt TLS with ``--keylog``, SRTP
with ``--srtp-key``, redact, and follow media like file runs do. By default each SIP message
is printed the moment it is decoded (a ``+ session`` line first when its Call-ID is new);
Ctrl-C or ``--duration`` ends the capture, and the media, calls and summary follow. With
``--json`` each session record is written when the session finishes, as for a file.
``main()`` in cli.py sends ``lyncdump live ...`` here.
"""

from __future__ import annotations

import signal
import sys
from collections.abc import Iterable, Iterator
from types import FrameType
from typing import Any

import click

from .analysis.sessions import Session
from .api import stream
from .capture.live import LivePermissionError, LiveSource
from .cli_common import (
    EXIT_INPUT,
    EXIT_OK,
    decode_options,
    fail,
    options_from,
    parse_filters,
    session_matches,
)
from .errors import LyncdumpError
from .filters import Filter
from .pipeline import Event, InputFinished, MessageDecoded, Pipeline
from .recent import RecentTable
from .render import text as render_text
from .render.facts import message_facts
from .sip.message import SipMessage

#: Call-IDs the printer remembers, to print ``+ session`` once per Call-ID (oldest forgotten).
_MAX_SEEN = 100_000


class LivePrinter:
    """Turns each message of a running capture into lines, once, as soon as it is decoded."""

    def __init__(self) -> None:
        self._seen: RecentTable[str, None] = RecentTable(_MAX_SEEN)

    def lines(self, m: SipMessage) -> list[str]:
        """``+ session`` for a new Call-ID, then the message's ladder line."""
        out = []
        call_id = m.call_id or "(no Call-ID)"
        if call_id not in self._seen:
            self._seen.put(call_id, None)
            f, t = m.from_, m.to
            parties = ""
            if f is not None or t is not None:
                parties = f"  {f.uri if f else '?'} → {t.uri if t else '?'}"
            out.append(f"+ session {call_id}{parties}")
        line = (
            f"  [{call_id}] #{m.frame} {render_text.format_time(m.time)}  {m.src} → {m.dst}  "
            f"{m.transport or '?'}  {render_text.what(m)}"
        )
        facts = message_facts(m)
        if facts:
            line += "  · " + "; ".join(facts)
        out.append(line)
        return out


def _print_messages(events: Iterable[Event], filters: Filter) -> Iterator[Event]:
    """Print each message as it is decoded (filters see a one-message session), pass all on."""
    printer = LivePrinter()
    for event in events:
        if type(event) is MessageDecoded:
            m = event.message  # type: ignore[union-attr]
            if not filters or session_matches(_alone(m), filters):
                for line in printer.lines(m):
                    click.echo(line)
                sys.stdout.flush()
        yield event


def _alone(m: SipMessage) -> Session:
    session = Session(m.call_id or "(no Call-ID)", [m])
    from .analysis.sessions import classify

    session.kind = classify(session.messages)
    return session


def _end_lines(pipeline: Pipeline, calls: list[Session]) -> Iterator[str]:
    """What the text view prints once the capture ends: media, calls, the summary."""
    from .render import calls as render_calls
    from .render import media_text, tls
    from .render import streams as render_streams
    from .render.views import calls_of

    streams = pipeline.streams()
    if streams:
        yield ""
        yield f"RTP streams ({len(streams)})"
        for st in streams:
            yield "  " + render_streams.stream_line(st)
    call_lines = list(render_calls.section_lines(calls_of(pipeline, calls)))
    if call_lines:
        yield ""
        yield from call_lines
    media = list(media_text.section_lines(pipeline))
    if media:
        yield ""
        yield from media
    yield ""
    yield from render_text.summary_lines(pipeline)
    yield from media_text.summary_lines(pipeline)
    yield from render_streams.summary_lines(pipeline)
    yield from tls.section_lines(pipeline)


@click.command(
    name="live",
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
    epilog="Exit status: 0 capture ended (Ctrl-C or --duration); 2 the interface could not be "
    "captured (no such interface, no privileges) or the command line is wrong.",
)
@click.option("-i", "--interface", required=True, metavar="IFACE", help="Interface to sniff.")
@click.option("--bpf", metavar="FILTER", help='Capture filter, e.g. "tcp port 5061 or udp".')
@click.option(
    "-w",
    "--write",
    metavar="FILE",
    type=click.Path(dir_okay=False),
    help="Also save every captured frame to FILE (pcapng).",
)
@click.option(
    "--duration",
    type=click.FloatRange(min=0, min_open=True),
    metavar="SECONDS",
    help="Stop after this many seconds (default: until Ctrl-C).",
)
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Write NDJSON: each session record when the session finishes, then the capture "
    "record (the same records as for a file).",
)
@click.option(
    "--filter",
    "filters",
    multiple=True,
    metavar="KEY=VALUE",
    help="Print only matching messages / sessions (repeatable): call-id=, user=, method=, kind=.",
)
@click.option(
    "--streams-csv",
    metavar="FILE",
    type=click.Path(dir_okay=False, writable=True),
    help="When the capture ends, write the RTP stream table as CSV to FILE.",
)
@decode_options
def live_command(
    interface: str,
    bpf: str | None,
    write: str | None,
    duration: float | None,
    as_json: bool = False,
    filters: tuple[str, ...] = (),
    streams_csv: str | None = None,
    **decode: Any,
) -> None:
    """Sniff IFACE and print Lync / Skype for Business SIP messages as they are decoded; media,
    calls and the summary follow on Ctrl-C or after --duration."""
    parsed = parse_filters(filters)
    source = LiveSource(interface, bpf=bpf, write=write, duration=duration)
    try:
        source.start()
        # Only --json lists STUN messages; the text view counts them (no spool to disk).
        events = stream(source, messages=True, stun_messages=as_json, **options_from(decode))
    except LyncdumpError as exc:  # LivePermissionError too: one line, exit 2
        source.close()
        fail(str(exc))
        sys.exit(EXIT_INPUT)
    what = f" ({bpf})" if bpf else ""
    until = f" for {duration:g}s" if duration else "; Ctrl-C ends"
    click.echo(f"lyncdump: listening on {interface}{what}{until}", err=True)
    source.tick = sys.stdout.flush

    def on_interrupt(_signum: int, _frame: FrameType | None) -> None:
        source.stop()

    previous = signal.signal(signal.SIGINT, on_interrupt)
    try:
        if as_json:
            from .render.views import ndjson_view

            pipeline = ndjson_view(events, click.echo, matches=lambda s: session_matches(s, parsed))
        else:
            calls: list[Session] = []
            end: InputFinished | None = None
            for event in _print_messages(events, parsed):
                if type(event) is InputFinished:
                    end = event
                elif getattr(event, "session", None) is not None:
                    session = event.session  # type: ignore[union-attr]
                    if session.kind == "call":
                        calls.append(session)
            assert end is not None
            pipeline = end.pipeline
            for line in _end_lines(pipeline, calls):
                click.echo(line)
            if source.dropped:
                click.echo(f"  frames dropped (decoder too slow) {source.dropped}")
            if write:
                click.echo(f"  saved {source.captured} frames to {write}")
    except LyncdumpError as exc:
        fail(str(exc))
        sys.exit(EXIT_INPUT)
    finally:
        signal.signal(signal.SIGINT, previous)
    if streams_csv:
        from .render import streams as render_streams

        try:
            with open(streams_csv, "w", newline="", encoding="utf-8") as handle:
                render_streams.write_csv(handle, pipeline.streams())
        except OSError as exc:
            fail(f"cannot write {streams_csv}: {exc.strerror}")
            sys.exit(EXIT_INPUT)
    sys.exit(EXIT_INPUT if pipeline.error is not None else EXIT_OK)


__all__ = ["LivePermissionError", "LivePrinter", "live_command"]
