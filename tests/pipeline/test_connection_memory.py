"""What an open SIP connection costs a streaming run: a Front End's clients keep their
connections open for hours, so the per-connection state, not the messages, is what grows
with the users of a long capture (docs/architecture.md, "Bounds")."""

from __future__ import annotations

import io
import sys
import tracemalloc
from pathlib import Path

from lyncdump.capture import open_input
from lyncdump.pipeline import Pipeline, SessionFinished

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools"))

from hostile import TcpConversation, pcap, sip  # noqa: E402

CONNECTIONS = 6000


def _capture() -> bytes:
    frames = []
    for n in range(CONNECTIONS):
        client = bytes([10, 1 + (n >> 16), (n >> 8) & 255, n & 255])
        conv = TcpConversation(sport=40000 + n % 20000, dport=5060, client=client).handshake()
        conv.send(
            0,
            sip(
                f"REGISTER sip:contoso.com SIP/2.0\nVia: SIP/2.0/TCP 10.1.0.1:{40000 + n};"
                f"branch=z9hG4bK{n}\nFrom: <sip:user{n}@contoso.com>;tag={n}\n"
                f"To: <sip:user{n}@contoso.com>\nCall-ID: reg-{n}\nCSeq: 1 REGISTER\n\n"
            ),
        )
        conv.send(
            1,
            sip(
                f"SIP/2.0 200 OK\nVia: SIP/2.0/TCP 10.1.0.1:{40000 + n};branch=z9hG4bK{n}\n"
                f"From: <sip:user{n}@contoso.com>;tag={n}\n"
                f"To: <sip:user{n}@contoso.com>;tag=s{n}\nCall-ID: reg-{n}\nCSeq: 1 REGISTER\n\n"
            ),
        )
        frames += conv.frames
    return pcap(frames, step=0.02)  # 480 s: sessions go quiet, the connections stay open


def test_an_open_sip_connection_costs_under_two_kilobytes() -> None:
    data = _capture()
    # Traced memory when 3,000 and 5,900 sessions have finished (each a connection's sign-in,
    # the connection left open): the difference is 2,900 open connections, without the
    # reader's buffers and the bounded From/To tables, which are full by then.
    marks = {3000: 0, 5900: 0}
    tracemalloc.start()
    try:
        pipeline = Pipeline(open_input(io.BytesIO(data)), streaming=True, messages=False)
        sessions = 0
        for event in pipeline.events():
            if type(event) is SessionFinished:
                sessions += 1
                if sessions in marks:
                    marks[sessions] = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert sessions == CONNECTIONS
    assert pipeline.stats.connections == CONNECTIONS
    # Measured 2026-12-07: 1.76 kB per open connection with both directions framed (the
    # reassembler's state, the two directions' framers, the connection's layers, and the
    # ConnectionSummary the run lists); 2.17 kB while an idle framer kept a buffer, a chunk
    # list and a defect list of its own, 5.2 kB before the framer had slots and lists instead
    # of an instance dict and two deques. With the compiled fast path reading both directions
    # (session 26) 1.88 kB: its state for each direction (152 B and a table slot) and the
    # pipeline it calls, less the two framers, let go while it frames.
    # Session 31: those figures were low by about 690 B. The reader held two 1 MiB chunks at
    # the first mark and a short last one at the second, and the difference was taken off the
    # connections. Its buffer is now one and the same for the whole run, so the figure is the
    # connections' own: 2.27 kB compiled, 2.56 kB pure Python (2.25 kB in both trees when
    # tracemalloc leaves out what capture/ allocated).
    per_connection = (marks[5900] - marks[3000]) / 2900
    assert per_connection < 2700, per_connection
