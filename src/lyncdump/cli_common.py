"""What the command and its subcommands share: exit codes, progress, filters, error lines.

Subcommand modules (cli_live.py, cli_merge.py, ...) import from here, never from cli.py.
"""

from __future__ import annotations

import itertools
import os
import sys
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, TypeVar

import click

# The filters and the renderers load with the first run that uses them: ``--help``,
# ``--version`` and the subcommands' usage errors import only this module and click.
if TYPE_CHECKING:
    import subprocess

    from .analysis.sessions import Session
    from .filters import Filter
    from .render.text import LineStyle

F = TypeVar("F", bound=Callable[..., Any])

#: The options every decoding command takes (the main command, live, report, export, check):
#: key material and what to do with secrets. Their values reach :class:`lyncdump.Options`
#: through :func:`options_from`.
_DECODE_OPTIONS = [
    click.option(
        "--keylog",
        metavar="FILE",
        envvar="SSLKEYLOGFILE",
        show_envvar=True,
        help="NSS key log (SSLKEYLOGFILE format, TLS 1.0-1.3) to decrypt TLS with; "
        "`live` reads it as it grows.",
    ),
    click.option(
        "--rsa-key",
        "rsa_key",
        multiple=True,
        metavar="FILE",
        help="Server RSA private key (PEM, DER or PKCS#12) for TLS with RSA key exchange "
        "(repeatable: each connection uses the key of its server's certificate).",
    ),
    click.option(
        "--rsa-key-password",
        metavar="PASSWORD",
        envvar="LYNCDUMP_RSA_KEY_PASSWORD",
        show_envvar=True,
        help="Password of the --rsa-key file (PKCS#12 or encrypted PEM); the environment "
        "variable keeps it off the command line.",
    ),
    click.option(
        "--srtp-key",
        "srtp_keys",
        multiple=True,
        metavar="BASE64",
        help="SRTP master key and salt (base64, as in a=crypto inline:) to try on every RTP "
        "flow besides the keys of the call's SDP (repeatable; never printed).",
    ),
    click.option(
        "--redact",
        is_flag=True,
        help="Remove IM text, passwords, hashes, gssapi-data and keys from every output.",
    ),
    click.option(
        "--ntlm-password",
        metavar="PASSWORD",
        envvar="LYNCDUMP_NTLM_PASSWORD",
        show_envvar=True,
        help="User password: check NTLMv2 proofs and SIP message signatures (never printed).",
    ),
    click.option(
        "--stun-password",
        "stun_passwords",
        multiple=True,
        metavar="PASSWORD",
        help="Check STUN MESSAGE-INTEGRITY with this password too (repeatable; ICE passwords "
        "in SDP are used without it).",
    ),
    click.option(
        "--verify-checksums",
        is_flag=True,
        help="Verify IPv4, UDP and TCP checksums and drop bad packets with a defect; checksums "
        "the capturing host left to its network card (offload) are recognised and accepted. "
        "Off by default, as in tshark.",
    ),
]

#: The parameter names :func:`decode_options` adds, as :class:`lyncdump.Options` calls them.
DECODE_FIELDS = (
    "keylog",
    "rsa_key",
    "rsa_key_password",
    "srtp_keys",
    "redact",
    "ntlm_password",
    "stun_passwords",
    "verify_checksums",
)


def decode_options(function: F) -> F:
    """Add the decoding options (keys, secrets) to a click command."""
    for option in reversed(_DECODE_OPTIONS):
        function = option(function)
    return function


def options_from(params: dict[str, Any]) -> dict[str, Any]:
    """The :class:`lyncdump.Options` fields among a command's parameters (decode_options),
    empty values left at their defaults."""
    out: dict[str, Any] = {}
    for name in DECODE_FIELDS:
        value = params.get(name)
        if value in (None, "", (), False):
            continue
        out[name] = tuple(value) if isinstance(value, (list, tuple)) else value
    return out


EXIT_OK = 0
#: ``check``: a rule matched (the inputs were read, and something is wrong in them).
EXIT_FOUND = 1
EXIT_INPUT = 2
EXIT_INTERNAL = 3

#: The keys of the KEY=VALUE filters of old; every field of the expression language works
#: (lyncdump.filters, docs/cli.md "Filter expressions").
FILTER_KEYS = ("call-id", "user", "method", "kind")


def parse_filters(values: Iterable[str]) -> Filter:
    """``--filter``/``-Y`` expressions as given (several must all hold); a mistake is a usage
    error that says where."""
    from .filters import FilterError, compile_filter

    try:
        return compile_filter([v for v in values])
    except FilterError as exc:
        raise click.BadParameter(str(exc), param_hint="--filter/-Y") from None


def session_matches(session: Session, flt: Filter, logs: Any = None) -> bool:
    """True when the session passes the filter, judged on its signalling alone (a test of
    its call or streams counts as not passing: the live and merged views have no media
    join); ``logs``: the server-log diagnostics joined to it, when the run does not attach
    them to the session (merged inputs)."""
    return flt.session(session, call=None, streams=[], logs=logs) is True


class Progress:
    """How far and how long, on stderr, only when a person is watching it: the share of the
    input file read (compressed bytes for gzip), frames, the rate and the time left, drawn by
    click's progress bar. A gzip input also says how far it has expanded and to what (the
    size its trailer records): time and memory follow that, not the size on disk. A pipe has
    no size: frames and rate only. Pass it as the run's ``progress`` option (the pipeline
    tells it the reader through :meth:`watch`); :meth:`stop` wipes it before output reaches
    the same terminal."""

    def __init__(
        self, name: str, path: str | None = None, reader: Any = None, stream: Any = None
    ) -> None:
        self.name = name
        self.reader = reader
        self.gzip = _gzip_sizes(path) if path else None
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = _isatty(self.stream)
        self._bar: Any = None
        self._done = 0
        self._frames = 0
        self._started = time.monotonic()

    def watch(self, reader: object) -> None:
        """The reader being read: its ``file_position()`` gives the share of the file read,
        its ``position`` how far a gzip input expanded."""
        self.reader = reader

    def __call__(self, frames: int, _ts: float) -> None:
        if not self.enabled:
            return
        self._frames = frames
        where = self._file_position()
        if self._bar is None:
            size = where[1] if where is not None else None
            self._bar = click.progressbar(
                length=size,
                iterable=None if size else itertools.count(),
                label=self.name,
                file=self.stream,
                show_eta=True,
                show_percent=size is not None,
                item_show_func=self._info,
                width=24,
            )
            self._bar.__enter__()
        step = (where[0] - self._done) if where is not None and where[1] else 1
        if where is not None and where[1]:
            self._done = where[0]
        self._bar.update(max(step, 0), frames)

    def _file_position(self) -> tuple[int, int | None] | None:
        file_position = getattr(self.reader, "file_position", None)
        return file_position() if callable(file_position) else None

    def _gzip_text(self) -> str:
        read = getattr(self.reader, "position", None)
        if self.gzip is None or not isinstance(read, int):
            return ""
        disk, expanded = self.gzip
        return (
            f", {read / 1e6:,.1f} of {expanded / 1e6:,.1f} MB expanded from "
            f"{disk / 1e6:,.1f} MB of gzip"
        )

    def _info(self, _item: Any) -> str:
        elapsed = max(time.monotonic() - self._started, 1e-9)
        rate = self._frames / elapsed
        text = f"{self._frames:,} frames, {rate:,.0f}/s"
        if self.gzip is not None:
            return text + self._gzip_text()
        if self.reader is not None and self._done:
            text += f", {self._done / elapsed / 1e6:,.1f} MB/s"
        return text

    def line(self, frames: int) -> str:
        """The progress as one plain line (``name: N frames (rate/s)``, and for gzip how far
        it has expanded), for logs and tests."""
        elapsed = time.monotonic() - self._started
        rate = frames / elapsed if elapsed > 0 else 0.0
        return f"{self.name}: {frames} frames ({rate:,.0f}/s)" + self._gzip_text()

    def stop(self) -> None:
        """Wipe the bar and draw no more (output is about to reach the terminal)."""
        if self._bar is not None and self.enabled:
            self.stream.write("\r\033[K\033[?25h")
            self.stream.flush()
        self.enabled = False
        self._bar = None


def _gzip_sizes(path: str) -> tuple[int, int] | None:
    """(size on disk, expanded size) of a gzip file, from its last 4 bytes (ISIZE, RFC 1952:
    modulo 4 GiB, and of the last member only); None when it is not a gzip file."""
    try:
        with open(path, "rb") as f:
            if f.read(2) != b"\x1f\x8b":
                return None
            disk = f.seek(0, os.SEEK_END)
            f.seek(max(disk - 4, 0))
            return disk, int.from_bytes(f.read(4), "little")
    except OSError:
        return None


_current_progress: list[Progress] = []


def progress_printer(name: str, path: str | None = None, reader: Any = None) -> Progress | None:
    """A :class:`Progress` for one input when stderr is a terminal, else None."""
    if not _isatty(sys.stderr):
        return None
    progress = Progress(name, path, reader)
    # Every input's: a merged run reads its inputs side by side, and each may have drawn.
    _current_progress.append(progress)
    return progress


def clear_progress() -> None:
    """Wipe the progress bar before anything else is written to the terminal."""
    for progress in _current_progress:
        progress.stop()
    _current_progress.clear()


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):
        return False


# -- terminal manners: width, colour, ASCII, pager, a reader that goes away ---------------------


def terminal_style(
    *,
    color: str = "auto",
    ascii_only: bool = False,
    wide: bool = False,
    width: int | None = None,
    stream: Any = None,
) -> LineStyle:
    """How lines are drawn for ``stream`` (stdout): cut to the terminal's width (``COLUMNS``
    wins; ``--width`` anywhere; ``--wide``: never cut; a pipe or file gets whole lines),
    coloured on a terminal unless ``NO_COLOR`` is set or ``--color=never`` (``always``
    colours pipes too), ASCII with ``--ascii`` or when the output cannot print arrows."""
    out = stream if stream is not None else sys.stdout
    tty = _isatty(out)
    cut: int | None = None
    if not wide:
        if width is not None:
            cut = max(width, 20)
        elif tty:
            columns = os.environ.get("COLUMNS", "")
            if columns.isdigit() and int(columns) > 0:
                cut = max(int(columns), 20)
            else:
                import shutil  # here and for the pager: a terminal's, not every run's

                cut = max(shutil.get_terminal_size((100, 24)).columns, 20)
    if color == "always":
        paint = True
    elif color == "never":
        paint = False
    else:
        paint = tty and not os.environ.get("NO_COLOR") and os.environ.get("TERM") != "dumb"
    from .render.text import LineStyle, can_print

    encoding = getattr(out, "encoding", None)
    plain = ascii_only or not can_print(encoding) or (tty and not _locale_prints_unicode())
    return LineStyle(cut, paint, plain)


def _locale_prints_unicode() -> bool:
    """False when the locale says the terminal is ASCII (``LC_ALL=C``): Python writes UTF-8
    there anyway (PEP 538/540), but the terminal may not show it."""
    try:
        import locale

        codeset = locale.nl_langinfo(locale.CODESET)
    except (ImportError, AttributeError, ValueError):
        return True
    from .render.text import can_print

    return can_print(codeset) if codeset else True


class Output:
    """Where the command's lines go: styled for the terminal, through a pager when the output
    is long and on a terminal (as git does: ``$LYNCDUMP_PAGER``, ``$PAGER`` or ``less``, with
    ``LESS=FRX`` unless set, so one screen of output is just printed), started at the first
    line so progress has the terminal until then. A reader that goes away (``| head``, ``q``
    in the pager) ends the run quietly: :class:`ReaderGone`."""

    def __init__(self, style: LineStyle | None = None, pager: bool | None = None,
                 *, flush_lines: bool = False) -> None:  # fmt: skip
        if style is None:
            from .render.text import LineStyle

            style = LineStyle()
        self.style = style
        tty = _isatty(sys.stdout)
        self._want_pager = tty if pager is None else (pager and tty)
        self._pager: subprocess.Popen[str] | None = None
        self._started = False
        #: Plain lines are written straight to the buffered stdout (click.echo flushes every
        #: line: a write call each, a tenth of a 300-call ``--calls`` run); a run that follows
        #: a live feed (standard input) still passes every line on at once.
        self._direct = self.style.plain and not flush_lines

    def __call__(self, line: str) -> None:
        if not self._started:
            self._start()
        text = line if self.style.plain else self.style(line)
        if self._pager is not None:
            try:
                assert self._pager.stdin is not None
                self._pager.stdin.write(text + "\n")
            except (BrokenPipeError, OSError):
                raise ReaderGone() from None
        elif self._direct:
            try:
                sys.stdout.write(text + "\n")
            except BrokenPipeError:
                raise ReaderGone() from None
        else:
            try:
                click.echo(text, color=self.style.color or None)
            except BrokenPipeError:
                raise ReaderGone() from None

    def lines(self, lines: list[str]) -> None:
        """Write several lines: one write for plain output to standard output (a ladder
        session at a time), else each line as :meth:`__call__` writes it."""
        if not self._started:
            self._start()
        if self._direct and self._pager is None and lines:
            try:
                sys.stdout.write("\n".join(lines) + "\n")
            except BrokenPipeError:
                raise ReaderGone() from None
            return
        for line in lines:
            self(line)

    def _start(self) -> None:
        self._started = True
        clear_progress()
        if not self._want_pager:
            return
        command = pager_command()
        if command is None:
            return
        env = dict(os.environ)
        env.setdefault("LESS", "FRX")
        env.setdefault("LV", "-c")
        import subprocess

        try:
            self._pager = subprocess.Popen(  # noqa: S602 - the user's own $PAGER, as git runs it
                command,
                shell=True,
                stdin=subprocess.PIPE,
                env=env,
                text=True,
                encoding=getattr(sys.stdout, "encoding", None) or "utf-8",
                errors="backslashreplace",
            )
        except OSError:
            self._pager = None

    def close(self) -> None:
        """Flush, and wait for the pager to be quit."""
        pager = self._pager
        if pager is None:
            try:
                sys.stdout.flush()
            except BrokenPipeError:
                raise ReaderGone() from None
            return
        self._pager = None
        try:
            if pager.stdin is not None:
                pager.stdin.close()
        except (BrokenPipeError, OSError):
            pass
        while True:
            try:
                pager.wait()
                break
            except KeyboardInterrupt:  # less handles Ctrl-C itself; wait for it to end
                continue


def pager_command() -> str | None:
    """``$LYNCDUMP_PAGER``, else ``$PAGER``, else ``less``; None for ``cat`` or empty."""
    for name in ("LYNCDUMP_PAGER", "PAGER"):
        value = os.environ.get(name)
        if value is not None:
            value = value.strip()
            return None if value in ("", "cat") else value
    import shutil

    return "less" if shutil.which("less") else None


class ReaderGone(Exception):
    """Whoever read our output went away (a closed pipe, a quit pager): stop quietly."""


def quiet_exit_after_broken_pipe() -> None:
    """Point stdout at /dev/null so the interpreter's last flush cannot fail again; the
    caller then exits 0 (``lyncdump ... | head`` is a normal way to use a command)."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):
        pass


def fail(message: str) -> None:
    """One clear line on stderr (``lyncdump: ...``)."""
    clear_progress()
    click.echo(f"lyncdump: {message}", err=True)


__all__ = [
    "DECODE_FIELDS",
    "EXIT_FOUND",
    "EXIT_INPUT",
    "EXIT_INTERNAL",
    "EXIT_OK",
    "FILTER_KEYS",
    "Progress",
    "clear_progress",
    "decode_options",
    "fail",
    "options_from",
    "parse_filters",
    "progress_printer",
    "session_matches",
    "Output",
    "ReaderGone",
    "pager_command",
    "quiet_exit_after_broken_pipe",
    "terminal_style",
    "tune_gc",
]


def tune_gc() -> None:
    """Make the cyclic garbage collector cheaper for one command-line run.

    A run's start-up objects (modules, tables) live to its end, and its per-message objects
    either die young or wait in the session and call windows, so collecting the young
    generation after every 700 allocations (Python's default) mostly re-walks objects that
    are still in use. Freezing what start-up built and collecting every 50,000 allocations
    took a sixth off the CPU time of a 60,000-message ``--json`` run with the same peak
    memory (docs/performance.md). Only the console entry point calls it: a library user's
    process keeps its own settings."""
    import gc

    gc.freeze()
    gc.set_threshold(50_000, 20, 10)
