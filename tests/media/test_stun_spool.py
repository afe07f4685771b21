"""A streaming run spools its STUN messages once settled (media/stun_spool.py): ``--json``
lists every one with the records the whole-capture run gives, while memory holds only the
last ``SETTLE`` seconds; views that list none keep none."""

from __future__ import annotations

import io
import json
import tracemalloc
from typing import Any

import pytest
from hostile import CLIENT, SERVER, pcap, udp

import lyncdump
from lyncdump.media import stun as s
from lyncdump.media import stun_pipeline
from lyncdump.media.stun_spool import StunSpool
from lyncdump.render import views
from lyncdump.render.stun_json import stun_records, stun_to_dict

from ..conftest import CAPTURES
from .test_stun_bounds import _binding_request, _binding_response


def _checks(pairs: int, step: float = 0.05) -> bytes:
    """``pairs`` Binding requests each answered, ``step`` seconds apart, every tenth
    request sent twice (a retransmission)."""
    frames = []
    for n in range(pairs):
        frames.append(udp(_binding_request(n), 50000, 3478))
        if n % 10 == 0:
            frames.append(udp(_binding_request(n), 50000, 3478))
        frames.append(udp(_binding_response(n), 3478, 50000, SERVER, CLIENT))
    return pcap(frames, step=step)


def _json_lines(data: bytes | str, **kwargs: Any) -> list[dict[str, Any]]:
    source = io.BytesIO(data) if isinstance(data, bytes) else data
    lines: list[str] = []
    views.ndjson_view(lyncdump.stream(source, **kwargs), lines.append)
    return [json.loads(line) for line in lines]


def _stun(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in records if r["record"] in ("stun", "turn_allocation", "ice_session")]


def test_spooled_records_are_the_whole_capture_records() -> None:
    data = _checks(3000)  # 6,300 messages over 15 minutes: most are spooled
    streamed = _json_lines(data)
    whole = lyncdump.open(io.BytesIO(data))
    expected = json.loads(json.dumps(stun_records(whole)))
    assert _stun(streamed) == expected
    assert sum(r["record"] == "stun" for r in streamed) == 6300
    assert sum(r["retransmission"] for r in streamed if r["record"] == "stun") == 300
    answers = [r for r in streamed if r.get("name") == "Binding success response"]
    assert len(answers) == 3000 and all(r["rtt"] is not None for r in answers)
    (capture,) = [r for r in streamed if r["record"] == "capture"]
    assert capture["stun"]["messages"] == 6300


def test_json_lists_every_message_past_the_kept_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    """The whole-capture run keeps MAX_MESSAGES; a streaming --json spools every one."""
    monkeypatch.setattr(stun_pipeline, "MAX_MESSAGES", 100)
    records = _json_lines(_checks(500))
    assert sum(r["record"] == "stun" for r in records) == 1050


@pytest.mark.parametrize(
    "name",
    ["lync-av-call.pcapng", "lync-turn-tcp443.pcap"],
)
def test_samples_give_the_same_records_when_spooled_at_once(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Spooling after every message (the samples are short) changes no record."""
    whole = _stun(_json_lines(str(CAPTURES / name)))
    assert whole
    monkeypatch.setattr(stun_pipeline, "_SETTLE_EVERY", 1)
    monkeypatch.setattr(stun_pipeline, "SETTLE", 5.0)
    assert _stun(_json_lines(str(CAPTURES / name))) == whole


def test_views_that_list_no_stun_keep_none() -> None:
    events = list(lyncdump.stream(io.BytesIO(_checks(200)), stun_messages=False))
    pipeline = events[-1].pipeline  # type: ignore[attr-defined]
    stun = pipeline.media.stun
    assert list(pipeline.stun_messages()) == [] and stun.total == 420
    lines: list[str] = []
    views.summary_view(iter(events), lines.append)
    assert "  STUN/TURN messages 420" in lines


def _peak(data: bytes, **kwargs: Any) -> int:
    tracemalloc.start()
    try:
        for _ in lyncdump.stream(io.BytesIO(data), **kwargs):
            pass
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_streaming_memory_does_not_grow_with_the_stun_messages(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from lyncdump.media import stun_spool

    monkeypatch.setattr(stun_spool, "MEMORY", 1)  # on disk from the first message
    data = _checks(8000)  # 16,800 messages over 40 minutes: kept, about 20 MB
    _peak(_checks(100))  # modules loaded before measuring
    spooled = _peak(data)
    counted = _peak(data, stun_messages=False)  # a view that lists none keeps none
    # What the spool adds: the messages settling (the ICE transactions of the last two
    # minutes hold most of them anyway).
    assert spooled - counted < 1_000_000, (spooled, counted)
    assert spooled < 8_000_000, spooled


@pytest.mark.parametrize("chunk", [1 << 20, 64])  # 64: records cross every read
def test_spool_round_trip_in_memory_and_on_disk(
    chunk: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lyncdump.media import stun_spool

    monkeypatch.setattr(stun_spool, "_CHUNK", chunk)
    cap = lyncdump.open(CAPTURES / "lync-turn-tcp443.pcap")
    msgs = cap.stun_messages()
    assert msgs
    for memory in (1 << 20, 1):  # 1: the first message moves it to a file
        spool = StunSpool(memory=memory)
        for m in msgs:
            spool.add(m)
        for _ in range(2):  # read back twice
            back = list(spool)
            assert [stun_to_dict(m) for m in back] == [stun_to_dict(m) for m in msgs]
            assert [m.defects for m in back] == [m.defects for m in msgs]
        spool.add(msgs[0])  # writes go on after a read
        assert len(list(spool)) == len(msgs) + 1
        spool.close()


def test_a_spooled_message_parses_as_it_did() -> None:
    m = s.parse(_binding_request(7))
    m.frame, m.time, m.src, m.dst = 3, 1.5, (b"\x0a\x00\x00\x01", 1), (b"\x0a\x00\x00\x02", 2)
    m.integrity, m.fingerprint, m.rtt, m.retransmission = "unchecked", "absent", 0.25, True
    m.defects = ["something seen"]
    spool = StunSpool()
    spool.add(m)
    (back,) = spool
    assert back == m
