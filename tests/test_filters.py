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
    Subject,
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


def test_log_scope_is_ready_for_joined_diagnostics() -> None:
    class Event:
        level, severity, result_code = "TL_ERROR", "error", "0xC3E93C0F(SIPPROXY_E_ROUTING)"
        text, component, time = "Routing failed", "SIPStack", 1.0

    flt = compile_filter("log.severity=error and log.result_code~SIPPROXY_E_ROUTING")
    assert flt.test(Subject(logs=[Event()])) is True
    assert flt.test(Subject(logs=[])) is False


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
