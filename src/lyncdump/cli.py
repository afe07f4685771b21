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
from typing import Any

import click

from . import __version__  # noqa: I001
from .analysis.sessions import KINDS, Session
from .api import Capture, Options
from .errors import LyncdumpError
from .fastpath import describe as describe_fast_path
from .render import json as render_json
from .render import media_text as render_media
from .render import streams as render_streams
from .render import stun_json as render_stun
from .render import text as render_text
from .render import tls as render_tls

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
        "Lync trace logs (server OCSLogger/CLS text, client .uccapilog) are read like captures; "
        "given with captures they are merged into one time line (--merge).\n\n"
        "Live: lyncdump live -i IFACE [--bpf FILTER] [-w out.pcapng] [--duration S] decodes "
        "as packets arrive (lyncdump live --help).\n\n"
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
    "--keylog",
    metavar="FILE",
    envvar="SSLKEYLOGFILE",
    show_envvar=True,
    help="NSS key log (SSLKEYLOGFILE format, TLS 1.0-1.3) to decrypt TLS with.",
)
@click.option(
    "--rsa-key",
    "rsa_key",
    multiple=True,
    metavar="FILE",
    help="Server RSA private key (PEM, DER or PKCS#12) for TLS with RSA key exchange "
    "(repeatable: each connection uses the key of its server's certificate).",
)
@click.option(
    "--rsa-key-password",
    metavar="PASSWORD",
    envvar="LYNCDUMP_RSA_KEY_PASSWORD",
    show_envvar=True,
    help="Password of the --rsa-key file (PKCS#12 or encrypted PEM); the environment "
    "variable keeps it off the command line.",
)
@click.option(
    "--redact",
    is_flag=True,
    help="Remove IM text, passwords, hashes, gssapi-data and keys from every output.",
)
@click.option(
    "--ntlm-password",
    metavar="PASSWORD",
    envvar="LYNCDUMP_NTLM_PASSWORD",
    show_envvar=True,
    help="User password: check NTLMv2 proofs and SIP message signatures (never printed).",
)
@click.option(
    "--stun-password",
    "stun_passwords",
    multiple=True,
    metavar="PASSWORD",
    help="Check STUN MESSAGE-INTEGRITY with this password too (repeatable; ICE passwords "
    "in SDP are used without it).",
)
@click.option(
    "--merge/--no-merge",
    default=None,
    help="Show all inputs as one time line, duplicates recognised (default: on when a Lync "
    "trace log is among two or more inputs).",
)
@click.option(
    "--srtp-key",
    "srtp_keys",
    multiple=True,
    metavar="BASE64",
    help="SRTP master key and salt (base64, as in a=crypto inline:) to try on every RTP flow "
    "besides the keys of the call's SDP (repeatable; never printed).",
)
@click.option(
    "--verify-checksums",
    is_flag=True,
    help="Verify IPv4, UDP and TCP checksums and drop bad packets with a defect; checksums "
    "the capturing host left to its network card (offload) are recognised and accepted. Off "
    "by default, as in tshark.",
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
@click.version_option(
    __version__, prog_name="lyncdump", message=f"%(prog)s %(version)s, {describe_fast_path()}"
)
def command(
    captures: tuple[str, ...],
    as_json: bool,
    verbose: bool,
    summary: bool,
    filters: tuple[str, ...],
    keylog: str | None,
    rsa_key: tuple[str, ...],
    rsa_key_password: str | None,
    redact: bool = False,
    ntlm_password: str | None = None,
    stun_passwords: tuple[str, ...] = (),
    merge: bool | None = None,
    srtp_keys: tuple[str, ...] = (),
    verify_checksums: bool = False,
    streams_csv: str | None = None,
    show_calls: bool = False,
    call_id: str | None = None,
    write_path: str | None = None,
) -> None:
    """Decode Lync / Skype for Business traffic in CAPTURE files (pcap, pcapng, Network Monitor
    .cap, gzip-compressed or not; "-" reads standard input) and print each SIP session as a
    ladder: registrations, calls, IMs, presence, with the facts that matter."""
    parsed_filters = _parse_filters(filters)
    tls = {
        "keylog": keylog or None,
        "rsa_key": tuple(rsa_key),
        "rsa_key_password": rsa_key_password,
    }
    ms: dict[str, Any] = {"redact": redact, "ntlm_password": ntlm_password or None}
    ms["srtp_keys"] = tuple(srtp_keys)
    ms["verify_checksums"] = verify_checksums
    ms["streams_csv"] = streams_csv
    if write_path and not call_id:
        raise click.UsageError("-w/--write needs --call CALL-ID (the call to write)")
    if write_path and len(captures) != 1:
        raise click.UsageError("-w/--write takes exactly one capture")
    ms["calls"] = (show_calls or bool(call_id), call_id, write_path)
    from .cli_merge import run_merged, wants_merge  # here: cli_merge imports this module

    if wants_merge(merge, captures):
        extra = {**tls, **ms, "stun_passwords": stun_passwords}
        sys.exit(run_merged(captures, as_json, verbose, summary, parsed_filters, extra))
    status = EXIT_OK
    for index, path in enumerate(captures):
        status = max(
            status,
            _one_capture(
                path,
                index,
                len(captures),
                as_json,
                verbose,
                summary,
                parsed_filters,
                tls,
                ms,
                stun_passwords=stun_passwords,
            ),
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
    tls: dict[str, Any] | None = None,
    ms: dict[str, Any] | None = None,
    *,
    stun_passwords: tuple[str, ...] = (),
) -> int:
    out = click.echo
    try:
        tls = tls or {}
        capture = Capture(
            path,
            Options(
                progress=_progress_printer(os.path.basename(path)),
                keylog=tls.get("keylog"),
                rsa_key=tuple(tls.get("rsa_key") or ()),
                rsa_key_password=tls.get("rsa_key_password"),
                redact=bool((ms or {}).get("redact")),
                ntlm_password=(ms or {}).get("ntlm_password"),
                stun_passwords=stun_passwords,
                srtp_keys=tuple((ms or {}).get("srtp_keys") or ()),
                verify_checksums=bool((ms or {}).get("verify_checksums")),
            ),
        )
        sessions = capture.sessions()
        streams = capture.streams()
    except LyncdumpError as exc:
        _clear_progress()
        click.echo(f"lyncdump: {exc}", err=True)
        return EXIT_INPUT
    _clear_progress()
    shown = [s for s in sessions if session_matches(s, filters)]
    from .render import calls as render_calls

    show_calls, only_call, write_path = (ms or {}).get("calls") or (False, None, None)
    # Joining calls to media, and the Microsoft decoders (Kerberos, NTLM, XML), are paid for
    # only by the views that show them: --summary shows neither.
    calls = capture.calls() if show_calls or not summary else []
    if not summary:
        from .render import msview as render_ms
    if show_calls:
        return render_calls.run_calls_view(
            capture, calls, only_call, write_path, as_json=as_json, summary=summary
        )
    if as_json:
        records = [
            render_ms.session_extra_fields(
                render_json.session_to_dict(s, verbose=verbose), s, sessions
            )
            for s in ([] if summary else shown)
        ]
        if not summary:
            records.extend(render_stun.stun_records(capture))
            records.extend(render_streams.stream_to_dict(st) for st in streams)
            records.extend(render_calls.call_records(calls, shown))
        records.append(render_json.capture_to_dict(capture, sessions))
        for line in render_json.ndjson_lines(records):
            out(line)
    else:
        if count > 1:
            out(f"=== {path}")
        if summary:
            for line in render_text.summary_lines(capture, sessions):
                out(line)
            for line in render_media.summary_lines(capture):
                out(line)
            for line in render_streams.summary_lines(capture):
                out(line)
            for line in render_tls.section_lines(capture):
                out(line)
        else:
            for i, session in enumerate(shown):
                if i:
                    out("")
                for line in render_text.session_lines(session, verbose=verbose):
                    out(line)
                for line in render_ms.session_extra_lines(session, sessions):
                    out(line)
                for line in render_streams.session_stream_lines(session.call_id, streams):
                    out(line)
            if shown:
                out("")
            unsignalled = list(render_streams.unsignalled_lines(streams))
            for line in unsignalled:
                out(line)
            if unsignalled:
                out("")
            for line in render_calls.section_lines(calls, shown):
                out(line)
            for line in render_media.section_lines(capture):
                out(line)
            out(
                f"{len(shown)} of {len(sessions)} sessions shown, {capture.stats.sip_messages} SIP "
                f"messages in {capture.stats.frames} "
                f"{'records' if capture.format.endswith('-log') else 'frames'}, "
                f"{len(capture.defects)} defects"
                + ("" if verbose or not len(capture.defects) else " (-v lists them)")
            )
            tls_note = render_tls.footer_note(capture)
            if tls_note:
                out(tls_note)
            if verbose and len(capture.defects):
                out("defects:")
                for line in render_text.defect_lines(capture):
                    out(line)
        if index < count - 1:
            out("")
    csv_path = (ms or {}).get("streams_csv")
    if csv_path:
        try:
            with open(csv_path, "w", newline="", encoding="utf-8") as handle:
                render_streams.write_csv(handle, streams)
        except OSError as exc:
            click.echo(f"lyncdump: cannot write {csv_path}: {exc.strerror}", err=True)
            return EXIT_INPUT
    if capture.error is not None:
        click.echo(f"lyncdump: {capture.error}", err=True)
        return EXIT_INPUT
    return EXIT_OK


def main() -> None:
    """Console entry point: never lets a traceback reach the user."""
    try:
        if sys.argv[1:2] == ["live"]:  # a file named "live" is still read as ./live
            from .cli_live import live_command

            live_command(args=sys.argv[2:], prog_name="lyncdump live", standalone_mode=True)
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
