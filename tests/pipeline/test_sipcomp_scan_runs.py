"""The compiled MS-SIPCOMP scan frames a run of one packet where it lies, and the same as Python.

_fastpath.c ``sipcomp_append`` leaves the first packet decoded from a segment where it lies (the
history, the segment, the flow's held buffer) and frames it there; ``sipcomp_own`` copies it
out before a later packet of the same segment writes the history from the front (AT_FRONT,
FLUSHED) or joins the run, and ``sipcomp_read`` before the held buffer moves when a hand-back
reads the run. These tests put packets on exactly those borders: several packets per segment
with history wraps and FLUSHED resets among them, messages over two packets (a hand-back of the
run), packets cut across segments (read from the held buffer), keep-alives first in a segment,
and compare the fast path's results with pure Python's (``compare``).
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pcapgen import Builder

from lyncdump import fastpath
from lyncdump.sipcomp.mppc import PACKET_AT_FRONT, PACKET_FLUSHED
from lyncdump.sipcomp.stream import SipcompStreamEncoder, encode_packet

from ..sipcomp.sipcomp_samples import sip_message
from .test_sip_tcp_fastpath import compare
from .test_sipcomp_fastpath import negotiated

pytestmark = pytest.mark.skipif(
    not fastpath.AVAILABLE, reason="compiled fast path not in use (" + fastpath.describe() + ")"
)

KINDS = ["one", "one", "one", "big", "two", "split", "flushed", "keepalive"]


def pieces_of(rng: random.Random, kinds: list[str]) -> list[bytes]:
    """One direction's wire pieces: a packet (or two) per kind. Messages of 1 to 3 kB fill the
    8 kB history in a few packets, so AT_FRONT packets come often."""
    enc = SipcompStreamEncoder()
    out: list[bytes] = []
    for kind in kinds:
        msg = sip_message(rng, body_size=rng.randrange(0, 2500))
        if kind == "big":
            msg = sip_message(rng, body_size=rng.randrange(3000, 7000))
        if kind in ("one", "big"):
            out.append(enc.encode(msg))
        elif kind == "two":  # two messages in one packet
            out.append(enc.encode(msg + sip_message(rng)))
        elif kind == "split":  # one message over two packets
            cut = rng.randrange(1, len(msg))
            out.append(enc.encode(msg[:cut]))
            out.append(enc.encode(msg[cut:]))
        elif kind == "flushed":  # raw, the history starts again
            enc.compressor.reset()
            out.append(encode_packet(PACKET_FLUSHED, msg, len(msg)))
        else:
            out.append(b"\r\n")
    return out


def segments(rng: random.Random, pieces: list[bytes], glue: float, split: float) -> list[int]:
    """Cut offsets: after each piece unless glued to the next (``glue``), and now and then
    inside one (``split``: a packet read from the held buffer)."""
    cuts: list[int] = []
    at = 0
    for piece in pieces:
        if len(piece) > 1 and rng.random() < split:
            cuts.append(at + rng.randrange(1, len(piece)))
        at += len(piece)
        if rng.random() >= glue:
            cuts.append(at)
    return sorted(set(c for c in cuts if 0 < c < at))


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    seed=st.integers(0, 2**32 - 1),
    kinds=st.lists(
        st.lists(st.sampled_from(KINDS), min_size=1, max_size=12), min_size=1, max_size=3
    ),
    glue=st.sampled_from([0.0, 0.5, 0.9]),
    split=st.sampled_from([0.0, 0.2, 0.6]),
)
def test_runs_framed_in_place_decode_the_same(
    seed: int,
    kinds: list[list[str]],
    glue: float,
    split: float,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rng = random.Random(seed)
    b = Builder()
    for n, one in enumerate(kinds):
        flow = negotiated(b, ("10.1.0.1", 41_000 + n), n * 10.0)
        for direction in (0, 1):
            pieces = pieces_of(rng, one)
            data = b"".join(pieces)
            flow.send(
                n * 10.0 + 0.3 + direction, direction, data, cuts=segments(rng, pieces, glue, split)
            )
        flow.close(n * 10.0 + 5.0)
    path = tmp_path / f"runs{seed}.pcap"
    b.write(str(path))
    compare(path, monkeypatch)


def test_a_packet_from_the_front_after_a_packet_in_the_same_segment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whole segments of several packets, where later ones rewrite the history from the front
    (AT_FRONT) or reset it (FLUSHED): the first packet's messages are the ones sent."""
    rng = random.Random(5)
    b = Builder()
    flow = negotiated(b, ("10.1.0.1", 42_000), 0.0)
    enc = SipcompStreamEncoder()
    data = b""
    front = 0
    for n in range(40):
        msg = sip_message(rng, body_size=rng.randrange(1500, 6000))
        if n % 5 == 4:
            enc.compressor.reset()
            data += encode_packet(PACKET_FLUSHED, msg, len(msg))
        else:
            packet = enc.encode(msg)
            front += packet[0] & PACKET_AT_FRONT != 0
            data += packet
    assert front >= 5  # the history wrapped inside the segments
    flow.send(0.3, 0, data, cuts=list(range(20_000, len(data), 20_000)))
    flow.close(5.0)
    path = tmp_path / "front.pcap"
    b.write(str(path))
    assert compare(path, monkeypatch) > 0
