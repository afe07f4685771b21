"""-Y, -w, -c, -f and -r together with the streaming views: a filter that needs media is
decided once calls are joined to their streams (issue 13's join), -w writes what was shown,
-c and -f cut the input the views read (issue 19 merged with 13, 15, 16, 18 and 20)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

import lyncdump
from lyncdump.cli import command

from ..conftest import CAPTURES

AV = CAPTURES / "lync-av-call.pcapng"
UDP = CAPTURES / "sip-udp-call.pcap"
RELAY = CAPTURES / "sipp-relay-udp.pcapng.gz"
LOG = CAPTURES / "sip-udp-call.server.log"


def _run(*args: object):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(command, [str(a) for a in args])


def _records(*args: object) -> list[dict]:
    result = _run("--json", *args)
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.stdout.splitlines()]


def test_write_what_a_media_filter_selected(tmp_path: Path) -> None:
    out = tmp_path / "mos.pcapng"
    result = _run("-Y", "stream.mos > 4", "-w", out, AV)
    assert result.exit_code == 0, result.output
    assert "wrote 313 frames of the selection" in result.stderr  # as --call writes it
    (call,) = lyncdump.analyze(out).calls()
    assert len(call.streams) == 4 and call.state == "completed"


def test_write_the_calls_a_finding_selected(tmp_path: Path) -> None:
    out = tmp_path / "oneway.pcapng"
    result = _run("-Y", "call.finding ~ one-way", "-w", out, RELAY)
    assert result.exit_code == 0, result.output
    assert "2 of 57 sessions shown" in result.stdout
    written = lyncdump.analyze(out)
    calls = written.calls()
    assert sorted(c.call_id for c in calls) == ["1-31913@127.0.0.1", "2-31913@127.0.0.1"]
    assert all([f.kind for f in c.findings] == ["one-way audio"] for c in calls)
    assert written.stats.frames == 92 and len(written.streams()) == 2


def test_write_a_signalling_filter(tmp_path: Path) -> None:
    out = tmp_path / "cancelled.pcapng"
    result = _run("-Y", "call.state == cancelled", "-w", out, UDP)
    assert result.exit_code == 0 and "wrote 7 frames of the selection" in result.stderr
    assert [s.call_id for s in lyncdump.analyze(out).sessions()] == ["call-2@192.168.1.50"]


def test_stream_filters_see_the_join() -> None:
    """Streams are joined to their calls before any is shown or tested."""
    records = _records("-Y", 'stream.join == "by elimination"', RELAY)
    streams = [r for r in records if r["record"] == "stream"]
    assert len(streams) == 2 and {s["join"] for s in streams} == {"by elimination"}
    assert {s["call_id"] for s in streams} == {"1-31916@127.0.0.1"}
    assert [r["call_id"] for r in records if r["record"] == "session"] == ["1-31916@127.0.0.1"]
    assert [r["call_id"] for r in records if r["record"] == "call"] == ["1-31916@127.0.0.1"]
    capture = records[-1]
    assert capture["calls"]["streams_by_join"] == {"both ends": 86, "by elimination": 2}
    calls = _records("--calls", "-Y", "stream.candidate_calls == 1-31890@127.0.0.1", RELAY)
    assert [r["call_id"] for r in calls if r["record"] == "call"] == ["1-31916@127.0.0.1"]


def test_count_and_bpf_cut_what_the_views_read() -> None:
    (capture,) = [r for r in _records("--summary", "-c", 50, AV) if r["record"] == "capture"]
    assert capture["frames"] == 50
    try:
        udp_only = _records("--summary", "-f", "udp", "-c", 20, AV)[-1]
    except AssertionError:
        pytest.skip("no libpcap for -f")
    assert udp_only["tcp_segments"] == 0 and udp_only["udp_datagrams"] == 20
    assert udp_only["frames"] == 40  # frame numbers stay the file's: 40 read, 20 passed
    log = _records("--summary", "-c", 5, LOG)[-1]
    assert log["frames"] == 5 and log["sip_messages"] == 5  # records of a trace log


def test_read_option_is_the_positional_input() -> None:
    assert _run("-r", UDP).stdout == _run(UDP).stdout
    missing = _run("--summary")
    assert missing.exit_code == 2 and "no input" in missing.stderr


def test_a_small_call_window_gives_the_same_answers(monkeypatch, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Long runs let calls go once their join is final (analysis/call_window.py): the filter
    and the checker judge them then, and say what a whole-capture join says."""
    from lyncdump.analysis import call_window
    from lyncdump.check import check_capture

    rules = ["call-failed,one-way-audio,stream.mos<4.5 and call.callee~oneway"]
    whole = check_capture(RELAY, rules)
    filtered = _records("-Y", "call.finding ~ one-way or stream.join == 'by elimination'", RELAY)
    monkeypatch.setattr(call_window, "CALL_WINDOW", 4)
    monkeypatch.setattr(call_window, "_SETTLE_EVERY", 2)
    small = check_capture(RELAY, rules)
    assert [v.line() for v in small.violations] == [v.line() for v in whole.violations]
    assert whole.total == 10 and small.checked == whole.checked
    again = _records("-Y", "call.finding ~ one-way or stream.join == 'by elimination'", RELAY)
    # The sessions and calls shown are the filter's verdicts (its own complete window); the
    # view's window waits for the sessions the filter holds back (Pipeline.hold_back), so the
    # streams are joined as by the whole capture too.
    for kind in ("session", "call"):
        assert sorted(r["call_id"] for r in again if r["record"] == kind) == sorted(
            r["call_id"] for r in filtered if r["record"] == kind
        )

    def joins(records: list[dict]) -> list[tuple]:  # type: ignore[type-arg]
        return sorted(
            (r["ssrc"], r["src"], r["dst"], r["call_id"], r["join"])
            for r in records
            if r["record"] == "stream"
        )

    assert joins(again) == joins(filtered)
    out = tmp_path / "small.pcapng"
    assert "wrote 92 frames" in _run("-Y", "call.finding~one-way", "-w", out, RELAY).stderr
