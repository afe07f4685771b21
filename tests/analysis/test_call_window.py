"""The call window (analysis/call_window.py): a streaming run joins calls to their streams as
the whole capture does, while holding only the calls an unseen call could still compete with.

Each test runs the same capture twice, once with the window as shipped (every call joined at
the end: a sample holds fewer than ``CALL_WINDOW`` calls) and once with a window of two calls
tried after every call, and asserts the same call and stream records, and where the small
window must have let calls go before the end.
"""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from click.testing import CliRunner

import lyncdump
from lyncdump.analysis import call_window
from lyncdump.analysis.call_window import CallWindow
from lyncdump.cli import command
from lyncdump.render import views

from ..conftest import CAPTURES
from .test_media_join import RELAY, Net, _sdp, call


def _records(path_or_bytes: Any) -> list[dict[str, Any]]:
    if isinstance(path_or_bytes, bytes):
        lines: list[str] = []
        views.ndjson_view(lyncdump.stream(io.BytesIO(path_or_bytes)), lines.append)
        return [json.loads(line) for line in lines]
    result = CliRunner().invoke(command, ["--json", str(path_or_bytes)])
    assert result.exit_code in (0, 2), result.output
    return [json.loads(line) for line in result.output.splitlines()]


def _joined(records: list[dict[str, Any]]) -> tuple[dict[str, Any], list[Any], dict[str, Any]]:
    calls = {r["call_id"]: r for r in records if r["record"] == "call"}
    streams = sorted(
        (r["ssrc"], r["src"], r["dst"], r["call_id"], r["join"], r["candidate_calls"])
        for r in records
        if r["record"] == "stream"
    )
    (capture,) = [r for r in records if r["record"] == "capture"]
    return calls, streams, capture["calls"]


@pytest.fixture
def small_window(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(call_window, "CALL_WINDOW", 2)
    monkeypatch.setattr(call_window, "_SETTLE_EVERY", 1)


def _sequential_calls(n: int) -> bytes:
    """``n`` calls one after the other, every answer on the relay's one address, with RTP both
    ways: the shape that misjoins when an old call is let go too early or kept too long."""
    net = Net()
    for k in range(n):
        t = 10.0 * k
        port = 20000 + 2 * k
        call(net, t, f"c{k}", _sdp("10.0.0.1", port), _sdp(RELAY, 6000), bye=t + 3.0)
        net.rtp(t + 0.5, ("10.0.0.1", port), (RELAY, 6000), 0x100 + k, count=20)
        net.rtp(t + 0.5, (RELAY, 6000), ("10.0.0.1", port), 0x200 + k, count=20)
    net.b.frames.sort(key=lambda f: f[0])
    return net.b.pcap_bytes()


def test_sequential_calls_are_let_go_early_and_join_as_whole(small_window: None) -> None:
    data = _sequential_calls(12)
    windowed = _records(data)
    # Some call records came out before the last session record: the window let them go.
    kinds = [r["record"] for r in windowed]
    last_session = max(i for i, k in enumerate(kinds) if k == "session")
    assert kinds.index("call") < last_session
    calls, streams, summary = _joined(windowed)
    assert len(calls) == 12 and summary["total"] == 12
    for k in range(12):
        c = calls[f"c{k}"]
        assert [s["ssrc"] for s in c["streams"]] == [0x100 + k, 0x200 + k]
        assert all(s["join"] == "both ends" for s in c["streams"])
    assert all(s[3] is not None for s in streams)


def test_small_window_says_what_the_whole_join_says(monkeypatch: pytest.MonkeyPatch) -> None:
    data = _sequential_calls(12)
    whole = _joined(_records(data))
    monkeypatch.setattr(call_window, "CALL_WINDOW", 2)
    monkeypatch.setattr(call_window, "_SETTLE_EVERY", 1)
    assert _joined(_records(data)) == whole


@pytest.mark.parametrize("name", ["sipp-relay-udp.pcapng.gz", "sipp-relay-tcp.pcapng.gz"])
def test_forty_overlapping_calls_through_a_relay_join_the_same(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Overlapping calls form one group the window keeps together until it is closed."""
    whole = _joined(_records(CAPTURES / name))
    monkeypatch.setattr(call_window, "CALL_WINDOW", 2)
    monkeypatch.setattr(call_window, "_SETTLE_EVERY", 1)
    assert _joined(_records(CAPTURES / name)) == whole


def test_a_call_in_progress_holds_later_calls_until_the_bound(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A call that never ends holds the time back: later calls wait, up to ``max_held``; past
    it the oldest group goes anyway and is counted."""
    net = Net()
    call(net, 0.0, "long", _sdp("10.0.0.9", 40000), _sdp("10.0.0.8", 40000))  # no BYE
    for k in range(8):
        t = 10.0 * (k + 1)
        call(net, t, f"c{k}", _sdp("10.0.0.1", 20000 + 2 * k), _sdp(RELAY, 6000), bye=t + 1.0)
    net.b.frames.sort(key=lambda f: f[0])
    pipeline_events = list(lyncdump.stream(io.BytesIO(net.b.pcap_bytes())))
    finished = [e for e in pipeline_events if type(e).__name__ == "SessionFinished"]
    pipeline = pipeline_events[-1].pipeline  # type: ignore[union-attr]

    window = CallWindow(window=2, max_held=4)
    monkeypatch.setattr(call_window, "_SETTLE_EVERY", 1)
    out: list[str] = []
    # The sessions as the run emitted them; the long call is still open when they finish, so
    # the run's time stays at its INVITE (settled_before is 0) and only the bound lets go.
    monkeypatch.setattr(type(pipeline), "settled_before", lambda self: 0.0)
    for e in finished:
        if e.session.kind == "call" and e.session.call_id != "long":
            out.extend(c.call_id for c in window.add(e.session, pipeline))
            assert len(window) <= 4
    assert out and window.early == len(out)
    rest = [c.call_id for c in window.finish(pipeline)]
    assert sorted(out + rest) == sorted(f"c{k}" for k in range(8))


def test_the_tally_counts_what_the_records_say() -> None:
    records = _records(CAPTURES / "sipp-relay-udp.pcapng.gz")
    calls, _, summary = _joined(records)
    states: dict[str, int] = {}
    for c in calls.values():
        states[c["state"]] = states.get(c["state"], 0) + 1
    assert summary["total"] == len(calls) and summary["states"] == dict(sorted(states.items()))
