"""The compiled MS-SIPCOMP read keeps the history's bytes pinned, and lets them go in time.

_fastpath.c keeps a READ_SIPCOMP direction's history as a pointer to the bytearray's bytes
(``SipcompState.hbuf``, so a segment does not touch the bytearray object), made safe by an
export of the buffer (``sipcomp_set_hist``): while the direction is read there the bytearray
cannot be resized or moved. The export goes before Python gets the history back (the
hand-back calls ``reclaim`` or ``_sipcomp_rest`` after ``sipcomp_unpin``). A run left in the
history (framed where it lies) takes no reference of its own while it is framed: the state's
reference and export outlive every read of it (``sipcomp_read``). These tests drive FastPath
directly: a history nobody else holds, Python dropping and collecting everything during
``_deliver``, a run given back in the middle of a packet, AT_FRONT and FLUSHED packets after
a run's first packet in one segment, and a direction adopted from READ_RAW.
"""

from __future__ import annotations

import gc
import random
import sys
from typing import Any

import pytest
from pcapgen import Builder, TcpFlow

from lyncdump import fastpath
from lyncdump.sipcomp.budget import DecompressionBudget
from lyncdump.sipcomp.mppc import PACKET_AT_FRONT, PACKET_COMPRESSED, PACKET_FLUSHED
from lyncdump.sipcomp.stream import SipcompStreamEncoder, encode_packet

from ..sipcomp.sipcomp_samples import sip_message
from .test_sip_tcp_fastpath import ACK, PSH
from .test_sipcomp_fastpath import _Pipe

pytestmark = pytest.mark.skipif(
    not fastpath.AVAILABLE, reason="compiled fast path not in use (" + fastpath.describe() + ")"
)

CLIENT, SERVER = bytes([10, 1, 0, 1]), bytes([10, 0, 0, 10])
READ_RAW, READ_SIPCOMP = 1, 3


def _flow(port: int) -> TcpFlow:
    return TcpFlow(Builder(), ("10.1.0.1", port), ("10.0.0.10", 5061), [1000, 5000])


def _send(fast: Any, flow: TcpFlow, wire: bytes, frame: int) -> None:
    segment = flow._segment(0, flow.seq[0], flow.seq[1], ACK | PSH, wire)
    flow.seq[0] += len(wire)
    assert fast.frame(frame, float(frame), 1, segment)


def _resizable(hist: bytearray) -> bool:
    try:
        hist.append(0)
    except BufferError:
        return False
    del hist[-1]
    return True


def test_the_history_is_pinned_while_read_and_given_back_free() -> None:
    fast = fastpath.compiled().FastPath(0)
    pipe = _Pipe(DecompressionBudget().connection())
    hist = bytearray(8192)
    base = sys.getrefcount(hist)
    seen: list[bool] = []
    pipe._sipcomp_rest = lambda *args: seen.append(_resizable(hist))  # type: ignore[method-assign]
    flow = _flow(43_000)
    assert fast.sip_own(CLIENT, 43_000, SERVER, 5061, 0, 1000, 65536, pipe, READ_SIPCOMP,
                        (hist, 0))  # fmt: skip
    assert not _resizable(hist)  # pinned from the hand-over on
    enc, rng, msgs = SipcompStreamEncoder(), random.Random(1), []
    for n in range(4):
        msgs.append(sip_message(rng, body_size=300))
        _send(fast, flow, enc.encode(msgs[-1]), n + 2)
    assert pipe.delivered == msgs
    assert bytes(hist[: sum(map(len, msgs))]) == b"".join(msgs)  # written in place
    assert not _resizable(hist)
    fast.sip_release(CLIENT, 43_000, SERVER, 5061)
    assert seen == [True]  # free before Python was called back
    assert _resizable(hist)
    gc.collect()
    assert sys.getrefcount(hist) == base  # no reference or export left


def test_a_run_outlives_python_letting_go_of_everything() -> None:
    """The only references to the history are the fast path's; ``_deliver`` collects garbage
    and asks for hand-backs the busy table refuses. Messages wrap the history (AT_FRONT),
    one segment carries a message over two packets of which the second comes from the front
    or is FLUSHED (the run leaves the history before it is written again)."""
    fast = fastpath.compiled().FastPath(0)
    pipe = _Pipe(DecompressionBudget().connection())
    refused: list[str] = []

    def deliver(direction: int, data: bytes, *rest: object) -> None:
        pipe.delivered.append(data)
        gc.collect()
        try:
            fast.sip_release(CLIENT, 43_001, SERVER, 5061)
        except RuntimeError as e:
            refused.append(str(e))

    pipe._deliver = deliver  # type: ignore[method-assign]
    flow = _flow(43_001)
    assert fast.sip_own(CLIENT, 43_001, SERVER, 5061, 0, 1000, 65536, pipe, READ_SIPCOMP,
                        (bytearray(8192), 0))  # fmt: skip
    enc, rng = SipcompStreamEncoder(), random.Random(2)
    msgs, kinds, frame = [], [], 2
    for n in range(60):
        msg = sip_message(rng, body_size=rng.choice([300, 1500, 2500]))
        msgs.append(msg)
        if n % 3 != 2:
            wire = enc.encode(msg)
        else:  # the message over two packets in one segment
            cut = len(msg) // 3
            wire = enc.encode(msg[:cut])
            if n % 9 == 8:  # the second FLUSHED
                enc.compressor.reset()
                second = encode_packet(PACKET_FLUSHED, msg[cut:], len(msg) - cut)
            else:  # from the front when the history is full
                second = enc.encode(msg[cut:])
            kinds.append(second[0])
            wire += second
        _send(fast, flow, wire, frame)
        frame += 1
    assert PACKET_FLUSHED in kinds and PACKET_AT_FRONT | PACKET_COMPRESSED in kinds
    assert refused and all("inside a fast-path callback" in r for r in refused)
    assert fast.sip_owned == 1 and not pipe.reclaimed
    assert pipe.delivered == msgs
    fast.sip_release_all()
    assert len(pipe.reclaimed) == 1


def test_a_direction_adopted_from_read_raw_pins_the_history_it_is_given() -> None:
    """A direction read raw whose ``_raw_data`` answers with a decoder's (history, position)
    is read as READ_SIPCOMP from the next byte on, its history pinned until the hand-back;
    a run given back in the middle of a packet hands its bytes over before Python gets the
    history back."""
    fast = fastpath.compiled().FastPath(0)
    pipe = _Pipe(DecompressionBudget().connection())
    hist = bytearray(8192)
    base = sys.getrefcount(hist)
    raw: list[bytes] = []
    seen: list[bool] = []

    def raw_data(direction: int, data: bytes, frame: int, ts: float) -> object:
        raw.append(data)
        return (hist, 0)

    def reclaim(*args: object) -> None:
        seen.append(_resizable(hist))
        pipe.reclaimed.append(args)

    pipe._raw_data = raw_data  # type: ignore[attr-defined]
    pipe.reclaim = reclaim  # type: ignore[method-assign]
    flow = _flow(43_002)
    assert fast.sip_own(CLIENT, 43_002, SERVER, 5061, 0, 1000, 65536, pipe, READ_RAW)
    _send(fast, flow, b"the answer, read raw", 2)
    assert raw == [b"the answer, read raw"] and fast.sip_owned == 1
    assert not _resizable(hist)
    enc, rng = SipcompStreamEncoder(), random.Random(3)
    msgs = [sip_message(rng, body_size=700) for _ in range(3)]
    for n, msg in enumerate(msgs):
        _send(fast, flow, enc.encode(msg), n + 3)
    assert pipe.delivered == msgs and not pipe.reclaimed
    # a packet of a message and a half: the half goes back with the run's bytes
    last = sip_message(rng, body_size=200)
    half = msgs[0][: len(msgs[0]) // 2]
    _send(fast, flow, enc.encode(last + half), 6)
    assert pipe.delivered == msgs + [last]
    assert seen == [True] and fast.sip_owned == 0
    (state,) = [a[-1] for a in pipe.reclaimed]
    assert isinstance(state, tuple)
    packets, skip = state[3], state[4]
    assert [p[0] for p in packets] == [last + half] and skip == len(last)
    assert _resizable(hist)
    gc.collect()
    assert sys.getrefcount(hist) == base
