"""What the command and its subcommands share: exit codes, progress, filters, error lines.

Subcommand modules (cli_live.py, cli_merge.py, ...) import from here, never from cli.py.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

import click

from .analysis.sessions import KINDS, Session

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
        help="NSS key log (SSLKEYLOGFILE format, TLS 1.0-1.3) to decrypt TLS with.",
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


class Progress:
    """Progress on stderr. A gzip input also says how far it has expanded and to what (the
    size its trailer records): time and memory follow that, not the size on disk."""

    def __init__(self, name: str, path: str | None = None) -> None:
        self.name = name
        self.started = time.monotonic()
        self.reader: object = None  # told by the pipeline once the input is open (watch)
        self.gzip = _gzip_sizes(path) if path else None

    def watch(self, reader: object) -> None:
        """The reader being read (its ``position`` says how far a gzip input expanded)."""
        self.reader = reader

    def line(self, frames: int) -> str:
        elapsed = time.monotonic() - self.started
        rate = frames / elapsed if elapsed > 0 else 0.0
        text = f"{self.name}: {frames} frames ({rate:,.0f}/s)"
        read = getattr(self.reader, "position", None)
        if self.gzip is not None and isinstance(read, int):
            disk, expanded = self.gzip
            text += f", {read / 1e6:,.1f} of {expanded / 1e6:,.1f} MB expanded from "
            text += f"{disk / 1e6:,.1f} MB of gzip"
        return text

    def __call__(self, frames: int, _ts: float) -> None:
        sys.stderr.write(f"\r{self.line(frames)}\033[K")
        sys.stderr.flush()


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


def progress_printer(name: str, path: str | None = None) -> Progress | None:
    """Progress on stderr, only when a person is watching it."""
    if not sys.stderr.isatty():
        return None
    return Progress(name, path)


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
]
