"""The end of the input for MS-SIPCOMP directions the fast path still reads (issue 14, session
32): each is given back flat (``_sipcomp_rest``, no list or tuple built) when it holds nothing,
and ``finish`` only marks the put-off decoders of a connection quiet both ways as ended. Each
shortcut is compared with the way it stands for, and the compiled path with pure Python for
connections left open in every state."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest
from hostile import negotiate_exchange
from pcapgen import Builder, TcpFlow

from lyncdump import fastpath
from lyncdump.pipeline import connection
from lyncdump.sipcomp.mppc import PACKET_AT_FRONT
from lyncdump.sipcomp.stream import SipcompStreamEncoder

from ..sipcomp.sipcomp_samples import sip_message
from .test_connection_sniff import _connection
from .test_sip_tcp_fastpath import _json, _keep_all, compare
from .test_sipcomp_negotiate import _three_packets_read

needs_compiled = pytest.mark.skipif(
    not fastpath.AVAILABLE, reason="compiled fast path not in use (" + fastpath.describe() + ")"
)

REQUEST, ANSWER = negotiate_exchange()
FIN, ACK = 0x01, 0x10


def _packets(seed: int, count: int = 4) -> bytes:
    rng = random.Random(seed)
    enc = SipcompStreamEncoder()
    return b"".join(enc.encode(sip_message(rng)) for _ in range(count))


def _to_at_front(seed: int) -> bytes:
    """Packets of one direction up to one whose history starts over (AT_FRONT), that one
    the last."""
    rng = random.Random(seed)
    enc = SipcompStreamEncoder()
    out = []
    for n in range(400):
        packet = enc.encode(sip_message(rng, body_size=rng.choice([0, 300, 900])))
        out.append(packet)
        if n and packet[0] & PACKET_AT_FRONT:
            return b"".join(out)
    raise AssertionError("no AT_FRONT packet")


def _half_close(flow: TcpFlow, t: float, direction: int) -> None:
    """A FIN from one side only: the other stays open."""
    flow.builder.add(
        t, flow._segment(direction, flow.seq[direction], flow.seq[1 - direction], FIN | ACK, b"")
    )
    flow.seq[direction] += 1


_CUT = _packets(60, 1)

# How a connection is left at the end of the input, after its NEGOTIATE exchange: what each
# direction sends then, as (direction, bytes, cuts[, order]).
STATES: dict[str, list[tuple[Any, ...]]] = {
    "fresh both ways": [],
    "one side fed": [(0, _packets(61), [])],
    "mid-history": [(0, _packets(62), []), (1, _packets(63), [])],
    "held partial packet": [(0, _packets(64) + _CUT[: len(_CUT) // 2], []),
                            (1, _packets(65), [])],
    "header cut": [(0, _packets(66) + _CUT[:3], []), (1, _packets(67), [])],
    "segment lost": [(0, _packets(68, 6), [90, 200], [0, 2]), (1, _packets(69), [])],
    "segments pending": [(0, _packets(70, 6), [90, 200], [0, 2, 1]), (1, _packets(71), [])],
    "AT_FRONT just done": [(0, _to_at_front(72), []), (1, _packets(73), [])],
    "packets cut across segments": [(0, _packets(74, 5), [7, 50, 300]), (1, _packets(75), [5])],
}  # fmt: skip


def _capture(path: Path, states: list[str], end: str) -> Path:
    """One connection per state (their segments interleaved in time), each NEGOTIATE first;
    ``end``: "open" (every connection left open), "client FIN" or "server FIN" (that side
    ends, the other stays open), "closed" (both end: nothing left for the end of input)."""
    b = Builder()
    for n, state in enumerate(states):
        flow = b.tcp((f"10.1.0.{n + 1}", 40_000 + n), ("10.0.0.10", 5061))
        t = n * 0.01
        flow.handshake(t)
        flow.send(t + 1.0, 0, REQUEST)
        flow.send(t + 1.1, 1, ANSWER)
        at = t + 1.2
        for direction, data, cuts, *order in STATES[state]:
            flow.send(at, direction, data, cuts=cuts, order=order[0] if order else None)
            at += 0.1
        if end == "closed":
            flow.close(at + 1.0)
        elif end != "open":
            _half_close(flow, at + 1.0, 0 if end == "client FIN" else 1)
    b.write(str(path))
    return path


def _the_long_way(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every MS-SIPCOMP direction given back through reclaim's tuples, and finish() through
    every step, as before the shortcuts."""

    def rest(self: Any, direction: int, framed: int, taken: int, *rest: Any) -> None:
        last_frame, last_ts, position, consumed, plain_frame, made = rest
        state = (position, consumed, plain_frame, [], 0, made)
        self.reclaim(direction, framed, taken, [], last_frame, last_ts, state)

    monkeypatch.setattr(connection.TcpConnectionPipeline, "_sipcomp_rest", rest)
    monkeypatch.setattr(connection, "_put_off", lambda d, layout: False)


@needs_compiled
@pytest.mark.parametrize("end", ["open", "client FIN", "server FIN", "closed"])
@pytest.mark.parametrize("state", sorted(STATES))
def test_connections_left_open_end_as_python_ends_them(
    state: str, end: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Compiled against pure Python (messages, defects, each connection's summary with its
    compression layout and wire and plain byte counts), then against the long way."""
    path = _capture(tmp_path / "end.pcap", [state], end)
    compare(path, monkeypatch)
    short = _json(path), _keep_all(path)
    _the_long_way(monkeypatch)
    assert (_json(path), _keep_all(path)) == short


@needs_compiled
@pytest.mark.parametrize("end", ["open", "client FIN"])
def test_every_state_at_once(end: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """All states in one capture (many owned flows given back in the table's order)."""
    path = _capture(tmp_path / "all.pcap", sorted(STATES) * 3, end)
    compare(path, monkeypatch)
    short = _json(path), _keep_all(path)
    _the_long_way(monkeypatch)
    assert (_json(path), _keep_all(path)) == short


@needs_compiled
def test_quiet_directions_take_the_flat_hand_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """At the end of the input, every direction read as MS-SIPCOMP with nothing held comes
    back through _sipcomp_rest, none through reclaim; one holding a packet's first half
    comes back through reclaim with its segment."""
    calls: list[tuple[str, int]] = []
    real_rest = connection.TcpConnectionPipeline._sipcomp_rest
    real_reclaim = connection.TcpConnectionPipeline.reclaim

    def rest(self: Any, direction: int, *args: Any) -> None:
        calls.append(("rest", direction))
        real_rest(self, direction, *args)

    def reclaim(self: Any, direction: int, *args: Any) -> None:
        calls.append(("reclaim", direction))
        real_reclaim(self, direction, *args)

    monkeypatch.setattr(connection.TcpConnectionPipeline, "_sipcomp_rest", rest)
    monkeypatch.setattr(connection.TcpConnectionPipeline, "reclaim", reclaim)
    _json(_capture(tmp_path / "quiet.pcap", ["mid-history"], "open"))
    assert sorted(calls) == [("rest", 0), ("rest", 1)]
    calls.clear()
    _json(_capture(tmp_path / "held.pcap", ["held partial packet"], "open"))
    assert sorted(calls) == [("reclaim", 0), ("rest", 1)]


# -- _sipcomp_rest against reclaim, and finish's shortcut, on a pipeline alone -----------------


def _snapshot(pipe: connection.TcpConnectionPipeline) -> tuple[Any, ...]:
    """What a hand-back and finish() may change: both directions, the reassembler's halves,
    the connection's summary."""
    conn, s = pipe.conn, pipe.summary
    dirs = []
    for d in pipe.dirs:
        f = d.framer
        framer = None if f is None else (f._base, f._pos, f._scan, f._last_frame, f.at_rest)
        dirs.append((d.mode, d.owned, d.resume, d.later, d.sipcomp is None, framer))
    halves = [(h.nxt, h.nxt32) for h in (conn._h0, conn._h1)]
    return (dirs, halves, conn.last_frame, conn.last_ts, s.compression_layout, s.compressed,
            s.wire_bytes, s.plain_bytes)  # fmt: skip


def _given_back(flat: bool, case: str) -> tuple[Any, ...]:
    """A connection after its NEGOTIATE exchange whose client direction the fast path read
    (``case``: "fresh", nothing; "made", three packets from its first, the history made
    there; "eager", the same with the decoder made before; "again", given back once already
    and taken again), given back flat or through reclaim; its state then, after finish(),
    and the messages of three more packets fed after."""
    wire, first, plain, hand, _ = _three_packets_read(11)

    pipe, run = _connection(REQUEST)
    pipe.data(1, ANSWER, 3, 0.3)
    d = pipe.dirs[0]
    assert d.mode == connection.SIPCOMP and d.sipcomp is None and d.later is None
    if case == "eager":
        pipe._decoder(d)
    if case == "fresh":
        args: tuple[Any, ...] = (0, 0, 0, 3, 0.3, 0, 0, 0, None)
        more = b"".join(wire)
    else:
        args = (0, plain, len(first), 5, 0.5, hand[1], len(first), 5, bytearray(hand[0]))
        more = b"".join(wire[3:])
    if case == "again":
        pipe._sipcomp_rest(*args)
        args = (0, 0, 0, 5, 0.5, hand[1], 0, 5, None)
    d.owned = True
    if flat:
        pipe._sipcomp_rest(*args)
    else:
        direction, framed, taken, last_frame, last_ts, position, consumed, frame, made = args
        state = (position, consumed, frame, [], 0, made)
        pipe.reclaim(direction, framed, taken, [], last_frame, last_ts, state)
    back = _snapshot(pipe)
    pipe.finish()
    ended = _snapshot(pipe)
    pipe.data(0, more, 6, 0.6)
    pipe.finish()
    return back, ended, [m.raw for m in run.messages], list(run.defects), _snapshot(pipe)


@pytest.mark.parametrize("case", ["fresh", "made", "eager", "again"])
def test_the_flat_hand_back_is_reclaim(case: str) -> None:
    assert _given_back(True, case) == _given_back(False, case)


@pytest.mark.parametrize("case", ["fresh", "made", "eager", "again"])
def test_finish_shortcut_is_the_long_way(case: str, monkeypatch: pytest.MonkeyPatch) -> None:
    short = _given_back(True, case)
    monkeypatch.setattr(connection, "_put_off", lambda d, layout: False)
    assert _given_back(True, case) == short


def test_put_off_is_taken_and_left() -> None:
    """_put_off: silence, and MS-SIPCOMP with no decoder made, its framer quiet and its
    layout noted when something waits for the decoder; not a decoder made, a framer holding
    part of a message, another mode, or what waits for a decoder with no layout noted."""
    from lyncdump.pipeline.connection import SIP, SIPCOMP, Direction, _put_off
    from lyncdump.sip.framing import SipStreamFramer

    assert _put_off(connection._QUIET, None)
    d = Direction()
    d.mode = SIPCOMP
    d.framer = SipStreamFramer()
    assert _put_off(d, None)
    d.later = ((0, 0, 1, 0.0, bytearray(8192)), False)
    assert not _put_off(d, None) and _put_off(d, "x")
    d.framer.receive_data(b"INVITE sip:x SIP/2.0\r\n", 1, 0.0)
    assert not _put_off(d, "x")
    d.framer = SipStreamFramer()
    d.sipcomp = connection._stream().SipcompStreamDecoder()
    assert not _put_off(d, "x")
    d.sipcomp = None
    d.mode = SIP
    assert not _put_off(d, "x")
