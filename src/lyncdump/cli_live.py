"""``lyncdump live -i IFACE``: decode Lync traffic from a network interface as it arrives.

Each SIP message is printed the moment it is decoded (a ``+ session`` line first when its
Call-ID is new); Ctrl-C or ``--duration`` ends the capture and prints the summary. ``main()``
in cli.py sends ``lyncdump live ...`` here, so ``lyncdump CAPTURE...`` is unchanged.
"""

from __future__ import annotations

import signal
import sys
from types import FrameType

import click

from .analysis.sessions import SessionBuilder
from .api import Capture
from .capture.live import LivePermissionError, LiveSource
from .cli_common import EXIT_INPUT, EXIT_OK
from .errors import LyncdumpError
from .render import text as render_text
from .render.facts import message_facts
from .sip.message import SipMessage


class LivePrinter:
    """Prints each message of a running capture once, as soon as it is decoded."""

    def __init__(self, capture: Capture) -> None:
        self.capture = capture
        self.printed = 0
        self._builder = SessionBuilder()
        self._calls: set[str] = set()

    def poll(self) -> None:
        """Print what was decoded since the last call."""
        messages = self.capture.messages()
        while self.printed < len(messages):
            m = messages[self.printed]
            self.printed += 1
            self._builder.add(m)
            for line in self.lines(m):
                click.echo(line)
        sys.stdout.flush()

    def lines(self, m: SipMessage) -> list[str]:
        out = []
        call_id = m.call_id or "(no Call-ID)"
        if call_id not in self._calls:
            self._calls.add(call_id)
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
def live_command(
    interface: str, bpf: str | None, write: str | None, duration: float | None
) -> None:
    """Sniff IFACE and print Lync / Skype for Business SIP messages as they are decoded; the
    summary follows on Ctrl-C or after --duration."""
    source = LiveSource(interface, bpf=bpf, write=write, duration=duration)
    try:
        source.start()
    except LivePermissionError as exc:
        click.echo(f"lyncdump: {exc}", err=True)
        sys.exit(EXIT_INPUT)
    except LyncdumpError as exc:
        click.echo(f"lyncdump: {exc}", err=True)
        sys.exit(EXIT_INPUT)
    what = f" ({bpf})" if bpf else ""
    until = f" for {duration:g}s" if duration else "; Ctrl-C ends"
    click.echo(f"lyncdump: listening on {interface}{what}{until}", err=True)
    capture = Capture(source)
    printer = LivePrinter(capture)
    source.tick = printer.poll

    def on_interrupt(_signum: int, _frame: FrameType | None) -> None:
        source.stop()

    previous = signal.signal(signal.SIGINT, on_interrupt)
    try:
        capture.run()
    except LyncdumpError as exc:
        click.echo(f"lyncdump: {exc}", err=True)
        sys.exit(EXIT_INPUT)
    finally:
        signal.signal(signal.SIGINT, previous)
    printer.poll()  # messages completed by the end-of-capture flush
    sessions = capture.sessions()
    click.echo("")
    for line in render_text.summary_lines(capture, sessions):
        click.echo(line)
    if source.dropped:
        click.echo(f"  frames dropped (decoder too slow) {source.dropped}")
    if write:
        click.echo(f"  saved {source.captured} frames to {write}")
    sys.exit(EXIT_INPUT if capture.error is not None else EXIT_OK)


__all__ = ["LivePrinter", "live_command"]
