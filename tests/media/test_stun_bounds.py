"""Issue 16: STUN messages kept for output, and the ICE transactions that hold their requests,
are bounded in total (docs/architecture.md, "## Bounds")."""

from __future__ import annotations

import io
import struct

from hostile import CLIENT, SERVER, pcap, udp

import lyncdump
from lyncdump.analysis import ice
from lyncdump.media import stun_pipeline


def _binding_request(n: int) -> bytes:
    attrs = struct.pack("!HH", 0x0024, 4) + struct.pack("!I", 0x6E7F00FF)  # PRIORITY
    txid = struct.pack("!I", 0x2112A442) + n.to_bytes(12, "big")
    return struct.pack("!HH", 0x0001, len(attrs)) + txid + attrs


def _binding_response(n: int) -> bytes:
    attrs = struct.pack("!HHBBH4s", 0x0020, 8, 0, 1, 0x1234 ^ 0x2112, bytes(4))  # XOR-MAPPED
    txid = struct.pack("!I", 0x2112A442) + n.to_bytes(12, "big")
    return struct.pack("!HH", 0x0101, len(attrs)) + txid + attrs


def test_kept_messages_and_transactions_stop_at_their_bounds(monkeypatch) -> None:
    monkeypatch.setattr(stun_pipeline, "MAX_MESSAGES", 10)
    monkeypatch.setattr(ice, "MAX_TRANSACTIONS", 8)
    frames = [udp(_binding_request(n), 50000, 3478) for n in range(30)]
    # responses nobody asked for (each would be a transaction of its own)
    frames += [udp(_binding_response(1000 + n), 3478, 50000) for n in range(30)]
    cap = lyncdump.open(io.BytesIO(pcap(frames)))
    cap.run()
    pipe = cap._pipeline.media.stun
    assert len(pipe.messages) == 10 and pipe.dropped == 50
    assert pipe.counts["Binding request"] == 30
    # The newest transactions are kept for matching; every one is counted.
    assert len(pipe.analyzer.transactions) <= 8
    assert pipe.analyzer.transaction_count == 60
    assert pipe.analyzer.requests == 30


def test_responses_match_past_the_transaction_bound(monkeypatch) -> None:
    """The table forgets its oldest transactions, so answers to later requests still match
    (it used to stop taking requests once full)."""
    monkeypatch.setattr(ice, "MAX_TRANSACTIONS", 8)
    frames = []
    for n in range(40):
        frames += [
            udp(_binding_request(n), 50000, 3478),
            udp(_binding_response(n), 3478, 50000, SERVER, CLIENT),
        ]
    cap = lyncdump.open(io.BytesIO(pcap(frames, step=0.01)))
    cap.run()
    an = cap._pipeline.media.stun.analyzer
    responses = [m for m in cap.stun_messages() if m.cls == 2]
    assert len(responses) == 40
    assert all(m.rtt is not None and round(m.rtt, 3) == 0.01 for m in responses)
    assert len(an.transactions) <= 8 and an.transaction_count == 40


def test_transactions_past_their_lifetime_are_forgotten(monkeypatch) -> None:
    """Matching keeps the transactions of the last TRANSACTION_LIFETIME seconds only; an
    answer later than that is a transaction of its own (counted, no RTT)."""
    monkeypatch.setattr(ice, "_PRUNE_EVERY", 1)
    frames = [udp(_binding_request(n), 50000, 3478) for n in range(10)]
    frames.append(udp(_binding_response(0), 3478, 50000, SERVER, CLIENT))
    step = ice.TRANSACTION_LIFETIME / 5  # the last requests come long after the first
    cap = lyncdump.open(io.BytesIO(pcap(frames, step=step)))
    cap.run()
    an = cap._pipeline.media.stun.analyzer
    kept_times = sorted(t.request.time for t in an.transactions.values() if t.request)
    assert kept_times[-1] - kept_times[0] <= ice.TRANSACTION_LIFETIME
    (late,) = [m for m in cap.stun_messages() if m.cls == 2]
    assert late.rtt is None and an.transaction_count == 11


def test_summaries_count_the_messages_past_the_kept_bound(monkeypatch) -> None:
    from lyncdump.render.media_text import summary_lines
    from lyncdump.render.stun_json import stun_summary

    monkeypatch.setattr(stun_pipeline, "MAX_MESSAGES", 4)
    frames = [udp(_binding_request(n), 50000, 3478) for n in range(6)]
    frames += [udp(_binding_response(n), 3478, 50000) for n in range(6)]
    cap = lyncdump.open(io.BytesIO(pcap(frames)))
    cap.run()
    pipeline = cap._pipeline
    assert len(pipeline.media.stun.messages) == 4
    lines = list(summary_lines(pipeline))
    assert lines[:2] == [
        "  STUN/TURN messages 12",
        "    Binding request 6, Binding success response 6",
    ]
    by_name = stun_summary(pipeline)["stun"]["by_name"]
    assert by_name == {"Binding request": 6, "Binding success response": 6}
