"""Issue 16 item 5: a direction's first bytes are kept as they came while they are sniffed,
so a connection that said little costs little, and a SIP start line cut across segments is
seen whole."""

from __future__ import annotations

import io
from typing import Any

from hostile import CLIENT, SERVER, TcpConversation, pcap, sip
from hypothesis import given, settings
from hypothesis import strategies as st

import lyncdump
from lyncdump.model import DefectLog
from lyncdump.net.tcp import SYN, StreamData, TcpReassembler
from lyncdump.pipeline.connection import (
    PROBE_AFTER,
    SIP,
    TcpConnectionPipeline,
    TcpConnectionSummary,
)
from lyncdump.sipcomp.budget import DecompressionBudget

INVITE = sip(
    "INVITE sip:bob@contoso.com SIP/2.0\nVia: SIP/2.0/TCP 10.0.0.1:50000;branch=z9hG4bK1\n"
    "From: <sip:alice@contoso.com>;tag=1\nTo: <sip:bob@contoso.com>\nCall-ID: cut-1\n"
    "CSeq: 1 INVITE\n\n"
)


def _run(frames: list[bytes]) -> lyncdump.Capture:
    cap = lyncdump.open(io.BytesIO(pcap(frames)))
    cap.run()
    return cap


class _Run:
    """What a connection needs from its run (pipeline.connection.RunContext)."""

    def __init__(self) -> None:
        self.defects = DefectLog()
        self.media = None
        self.max_sip_message = 1 << 20
        self.decompression = DecompressionBudget()
        self.messages: list[Any] = []

    def deliver(self, msg: Any) -> None:
        self.messages.append(msg)

    def tls_keys(self) -> Any:
        raise AssertionError("no TLS here")


def _connection(*payloads: bytes) -> tuple[TcpConnectionPipeline, _Run]:
    """A connection that sent a SYN, then ``payloads`` from the client, still open."""
    tcp = TcpReassembler(DefectLog())
    run = _Run()
    tcp.segment(1, 0.0, CLIENT, 50000, SERVER, 5061, 1000, SYN, b"")
    seq = 1001
    pipe: TcpConnectionPipeline | None = None
    for frame, payload in enumerate(payloads, 2):
        for event in tcp.segment(frame, 0.0, CLIENT, 50000, SERVER, 5061, seq, 0x18, payload):
            assert isinstance(event, StreamData)
            if pipe is None:
                c = event.conn
                pipe = TcpConnectionPipeline(c, TcpConnectionSummary(c.id, c.key, c.flip), run)
            pipe.data(event.direction, event.data, event.frame, event.ts)
        seq += len(payload)
    assert pipe is not None
    return pipe, run


def test_a_start_line_cut_across_segments_is_seen_whole() -> None:
    conv = TcpConversation().handshake()
    conv.send(0, INVITE[:12]).send(0, INVITE[12:30]).send(0, INVITE[30:])
    cap = _run(conv.frames)
    [msg] = cap.messages()
    assert msg.method == "INVITE" and msg.call_id == "cut-1"
    assert (msg.first_frame, msg.frame) == (3, 5)
    assert cap.connections[0].protocol == "sip"
    assert str(msg.src) == "10.0.0.1:50000" and str(msg.dst) == "10.0.0.2:5061"


def test_a_quiet_direction_keeps_its_bytes_and_no_probe() -> None:
    pipe, run = _connection(b"INVITE sip:bob@contoso.com")
    assert run.messages == [] and pipe.summary.protocol == "unknown"
    d = pipe.dirs[0]
    assert d.held == b"INVITE sip:bob@contoso.com" and d.sipcomp is None
    assert pipe.dirs[1] is not d and pipe.dirs[1].held is None  # the server never spoke


def test_past_the_kept_bytes_the_probe_starts() -> None:
    junk = bytes(range(7, 7 + 200))  # nothing known: 600 bytes in 3 segments
    pipe, _ = _connection(junk, junk)
    assert pipe.dirs[0].held is not None and pipe.dirs[0].sipcomp is None
    pipe, _ = _connection(junk, junk, junk)
    d = pipe.dirs[0]
    assert d.sniffed == 600 > PROBE_AFTER and d.held is None and d.sipcomp is not None


def test_the_summary_makes_its_endpoints_when_first_read() -> None:
    pipe, _ = _connection(b"INVITE sip:bob@contoso.com")
    summary = pipe.summary
    assert summary._key is not None
    assert (str(summary.client), str(summary.server)) == ("10.0.0.1:50000", "10.0.0.2:5061")
    assert summary._key is None  # both made: the key is let go
    assert summary.client is summary.client


def test_a_direction_decided_later_lets_the_kept_bytes_go() -> None:
    pipe, _ = _connection(bytes(range(7, 57)), b"GET /sip HTTP/1.1\r\n")
    d = pipe.dirs[0]
    assert d.ws is not None and d.held is None  # a WebSocket handshake after 50 unknown bytes


@settings(max_examples=300, deadline=None)
@given(before=st.binary(max_size=40), after=st.binary(max_size=40))
def test_a_first_segment_holding_sip_2_0_is_sip_whatever_else_it_holds(
    before: bytes, after: bytes
) -> None:
    """The premise of the fast path's READ_FIRST (``sip_first_is_sip`` in _fastpath.c): a
    direction's first segment that holds ``SIP/2.0`` anywhere is clear SIP to ``_sniff``,
    before any test for TLS, STUN, WebSocket or MS-SIPCOMP (the fast path gives any other
    first segment back to ``_sniff``). A change to ``_sniff``'s order that breaks this must
    change the C too."""
    pipe, _ = _connection(before + b"SIP/2.0" + after)
    assert pipe.dirs[0].mode == SIP and pipe.summary.protocol == "sip"
