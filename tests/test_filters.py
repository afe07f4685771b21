"""The filter expression language (lyncdump/filters.py): grammar, fields, values, errors,
three-valued evaluation, and -Y on the command line."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

import lyncdump
from lyncdump.cli import command
from lyncdump.filters import (
    FIELDS,
    FilterError,
    compile_filter,
    field_table,
    parse_time,
    tokenize,
)

from .conftest import CAPTURES

UDP = CAPTURES / "sip-udp-call.pcap"
AV = CAPTURES / "lync-av-call.pcapng"


@pytest.fixture(scope="module")
def udp_sessions():  # type: ignore[no-untyped-def]
    return {s.call_id: s for s in lyncdump.analyze(UDP).sessions()}


def _ids(expr: str, sessions) -> list[str]:  # type: ignore[no-untyped-def]
    flt = compile_filter(expr)
    return sorted(cid for cid, s in sessions.items() if flt.session(s, call=None, streams=[]))


@pytest.mark.parametrize(
    "expr, expected",
    [
        ("kind=call", ["call-1@192.168.1.50", "call-2@192.168.1.50"]),
        ("call-id=call-1@192.168.1.50", ["call-1@192.168.1.50"]),
        ("user=carol", ["call-2@192.168.1.50"]),  # the old substring meaning of user=
        ("user~CAROL", ["call-2@192.168.1.50"]),
        ("method=cancel", ["call-2@192.168.1.50"]),
        ("method in (CANCEL, OPTIONS)", ["call-2@192.168.1.50", "opt-1@10.0.0.10"]),
        ("status == 487", ["call-2@192.168.1.50"]),
        ("status >= 400 and not kind=registration", ["call-2@192.168.1.50"]),
        ("kind=call && !(method=CANCEL)", ["call-1@192.168.1.50"]),
        ("kind=im || kind=options", ["im-1@192.168.1.50", "opt-1@10.0.0.10"]),
        ("method != INVITE and kind=call", []),
        ("ip == 10.0.0.10 and kind=options", ["opt-1@10.0.0.10"]),
        ("ip == 192.168.0.0/16 and kind=options", ["opt-1@10.0.0.10"]),
        ("dst == 10.0.0.10:5060 and kind=im", ["im-1@192.168.1.50"]),
        ("port == 5060 and kind=im", ["im-1@192.168.1.50"]),
        ("time >= 2026-01-01T00:00:07 and time <= '2026-01-01 00:00:08'", ["call-2@192.168.1.50"]),
        ("duration > 4.5s and kind=call", ["call-1@192.168.1.50"]),
        ("duration > 4500ms and kind=call", ["call-1@192.168.1.50"]),
    ],
)
def test_session_expressions(udp_sessions, expr: str, expected: list[str]) -> None:  # type: ignore[no-untyped-def]
    assert _ids(expr, udp_sessions) == expected


@pytest.mark.parametrize(
    "expr, message",
    [
        ("kind=foo", "session.kind is one of registration"),
        ("colour=red", "unknown field 'colour'"),
        ("stream.mos < x", "stream.mos takes a number"),
        ("(kind=call", "')' is missing"),
        ("kind=call and", "a field name is missing before the end"),
        ("kind=call kind=im", "unexpected 'kind'"),
        ("user < 3", "is not a number or a time"),
        ("call.setup_ms > 3kg", "unit 'kg' does not fit call.setup_ms"),
        ("time > yesterday", "is not a time"),
        ("ip == 10.0.0.300", "is not an address"),
        ("user='x", "unterminated quote"),
        ("method in INVITE", "'in' takes a list"),
    ],
)
def test_errors_say_what_and_where(expr: str, message: str) -> None:
    with pytest.raises(FilterError) as info:
        compile_filter(expr)
    assert message in str(info.value)
    assert info.value.position >= 0


def test_three_valued_logic_defers_only_what_needs_media(udp_sessions) -> None:  # type: ignore[no-untyped-def]
    call = udp_sessions["call-1@192.168.1.50"]
    reg = udp_sessions["reg-1@192.168.1.50"]
    flt = compile_filter("kind=call and stream.mos<3.5")
    assert flt.session(reg) is False  # decided at once: not a call
    assert flt.session(call) is None  # its streams are not known yet
    assert flt.session(call, call=None, streams=[]) is False
    assert compile_filter("kind=call or stream.mos<3.5").session(call) is True
    assert compile_filter("not stream.mos<3.5").session(call) is None


def test_predicates_and_scopes() -> None:
    assert compile_filter("call-failed").scopes == {"call"}
    assert compile_filter("signin-failed").scopes == {"registration"}
    assert compile_filter("signin.failed").scopes == {"registration"}
    assert compile_filter("defects").scopes == {"capture"}
    assert compile_filter("log.level~error").scopes == {"log"}
    assert compile_filter(["kind=call", "user=bob"]).text == "(kind=call) and (user=bob)"


EDGE = CAPTURES / "federation-edge.server.log"


def _records(*args: object) -> list[dict]:
    result = CliRunner().invoke(command, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.stdout.splitlines()]


@pytest.mark.parametrize(
    "expr, sessions, diagnostics",
    [
        # The Edge log: #16 warning on fed-call-2, #21 error on fed-call-3, #26 warning (level
        # ERROR) on the OPTIONS, #24 an error that names no session.
        ('log.level == "error"', ["8c1d6f0e2b3a4c5d9e8f7a6b5c4d3e2f", "fed-call-3@127.0.0.10"],
         [21, 24, 26]),
        ("log.error", ["fed-call-3@127.0.0.10"], [21, 24]),
        ("log-errors", ["fed-call-3@127.0.0.10"], [21, 24]),
        ("log.severity == warning", ["8c1d6f0e2b3a4c5d9e8f7a6b5c4d3e2f", "fed-call-2@127.0.0.10"],
         [16, 26]),
        ("log.result_code == 0xc3e93d67", ["fed-call-3@127.0.0.10"], [21]),
        ("log.result_name ~ WSAE", [], [24]),
        ("log.text ~ certificate and kind=call", ["fed-call-3@127.0.0.10"], [21]),
        ("log.joined == false", [], [24]),
        ("log.ms_diagnostics == 1010", ["fed-call-3@127.0.0.10"], [21]),
        # Session fields a lone diagnostic also has are read from it; the others do not match.
        ("call-id == fed-call-2@127.0.0.10", ["fed-call-2@127.0.0.10"], [16]),
        ("kind=call and log.error", ["fed-call-3@127.0.0.10"], [21]),
        ("not kind=call and log.severity in (error, fatal)", [], [24]),
        ("time >= 2026-12-06T10:25:59.86 and time <= 2026-12-06T10:25:59.87", [], [24]),
    ],
)  # fmt: skip
def test_log_scope_over_server_log_diagnostics(
    expr: str, sessions: list[str], diagnostics: list[int]
) -> None:
    records = _records("--json", "-Y", expr, EDGE)
    assert sorted(r["call_id"] for r in records if r["record"] == "session") == sessions
    got = sorted(r["record_number"] for r in records if r["record"] == "diagnostic")
    assert got == diagnostics
    assert records[0]["record"] == "input" and records[-1]["record"] == "capture"


def test_log_scope_in_the_ladder_and_merged_views() -> None:
    ladder = CliRunner().invoke(command, ["-Y", "log.error", str(EDGE)]).stdout
    assert "DIAGNOSTIC  error  0x8007274D WSAECONNREFUSED" in ladder
    assert "CALL  fed-call-3@127.0.0.10" in ladder and "fed-call-2@" not in ladder
    assert "1 of 4 sessions shown" in ladder
    args = ["-Y", "log.error", str(CAPTURES / "federation.pcapng"), str(EDGE)]
    merged = CliRunner().invoke(command, args).stdout
    assert "CALL  fed-call-3@127.0.0.10" in merged and "fed-call-2@" not in merged
    assert "1 of 5 sessions shown" in merged and "2 diagnostics (2 errors)" in merged


def test_filter_judges_a_lone_diagnostic() -> None:
    from lyncdump.analysis.diagnostics import diagnostic_matches

    index = lyncdump.analyze(EDGE).diagnostics()
    (lone,) = index.standalone
    assert compile_filter("log.result_name=wsaeconn").diagnostic(lone)
    assert compile_filter("log.host=sfvedge and log.record == 24").diagnostic(lone)
    assert not compile_filter("kind=call").diagnostic(lone)
    assert compile_filter("not kind=call").diagnostic(lone)
    assert not compile_filter("stream.mos < 3").diagnostic(lone)
    assert compile_filter(()).diagnostic(lone)
    assert diagnostic_matches(lone, compile_filter("log.error")) is True
    assert diagnostic_matches(lone, [("kind", "call")]) is False  # KEY=VALUE pairs still work
    joined = next(d for d in index.all if d.record == 21)
    assert compile_filter("log.severity=error").session(joined.session, logs=[joined])
    with pytest.raises(FilterError, match="log.severity is one of fatal, error"):
        compile_filter("log.severity == critical")


def test_stream_fields_on_a_call() -> None:
    runner = CliRunner()
    result = runner.invoke(command, ["--json", "-Y", "stream.mos<4.5", str(AV)])
    records = [json.loads(line) for line in result.stdout.splitlines()]
    kinds = [r["record"] for r in records]
    assert kinds.count("session") == 1 and kinds.count("stream") == 2 and kinds.count("call") == 1
    assert all(r["mos"] == 4.41 for r in records if r["record"] == "stream")
    none = runner.invoke(command, ["--json", "-Y", "stream.mos<4", str(AV)])
    assert [json.loads(x)["record"] for x in none.stdout.splitlines()].count("session") == 0


def test_calls_view_filtered() -> None:
    result = CliRunner().invoke(command, ["--calls", "-Y", "call.state=cancelled", str(UDP)])
    assert "call-2@192.168.1.50" in result.stdout and "call-1@" not in result.stdout
    assert result.stdout.rstrip().endswith("1 of 2 calls shown")


def test_time_values() -> None:
    assert parse_time("2026-01-01T00:00:00Z") == parse_time("2026-01-01 00:00:00") == 1767225600
    assert parse_time("2026-01-01T01:00:00+01:00") == 1767225600
    assert parse_time("1767225600.5") == 1767225600.5


def test_every_field_is_documented() -> None:
    rows = field_table()
    assert len(rows) >= len(FIELDS)
    assert all(doc for _n, _k, doc in rows)
    result = CliRunner().invoke(command, ["--help-filter"])
    assert result.exit_code == 0 and "stream.mos" in result.stdout


@given(st.text(max_size=60))
def test_random_text_never_raises_anything_but_filter_error(text: str) -> None:
    try:
        tokenize(text)
        compile_filter(text)
    except FilterError:
        pass
