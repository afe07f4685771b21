"""The compiled fast path decodes routine MS-SIPCOMP and gives exactly what Python gives.

A compressed direction whose decoder is in sync (usual header layout, exact history, nothing
buffered) and whose framer is at rest is handed to ``FastPath.sip_own`` as READ_SIPCOMP: C
parses the packet headers, inflates into the decoder's own history, frames the SIP and calls
``_deliver``; anything unusual gives the direction back at a packet boundary with the packets
not yet framed (pipeline/connection.py ``_sipcomp_back``, _fastpath.c ``sipcomp_read``). Every
test decodes the same capture with the fast path, without it, and compares what a user sees
(``compare`` of test_sip_tcp_fastpath: streamed ``--json -v`` and the keep-all capture). The
generated connections sit on the borders: packets cut anywhere across segments, several
messages in one packet and one message over several, unframed CR/LF keep-alives (a lone CR at
a segment's end), FLUSHED and AT_FRONT packets, packets without flags, empty packets, corrupt
tokens, garbage, lost, repeated and reordered segments, FIN/RST, captures that begin after the
NEGOTIATE, and decompression bombs that exhaust the budget.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest
from hostile import amplification_stream, bad_sipcomp_capture, bomb_capture, negotiate_exchange
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pcapgen import Builder, TcpFlow

from lyncdump import fastpath
from lyncdump.api import Capture, Options
from lyncdump.pipeline import core
from lyncdump.sipcomp.budget import (
    CAPTURE_ALLOWANCE,
    CONNECTION_ALLOWANCE,
    MAX_RATIO,
    PACKET_CHARGE,
    DecompressionBudget,
)
from lyncdump.sipcomp.mppc import PACKET_AT_FRONT, PACKET_COMPRESSED, PACKET_FLUSHED
from lyncdump.sipcomp.stream import SipcompStreamEncoder, encode_packet

from ..sipcomp.sipcomp_samples import sip_message
from .test_sip_tcp_fastpath import ACK, FIN, PSH, RST, SYN, compare, message

needs_compiled = pytest.mark.skipif(
    not fastpath.AVAILABLE, reason="compiled fast path not in use (" + fastpath.describe() + ")"
)
pytestmark = needs_compiled


# -- generated traffic ----------------------------------------------------------------------------


def compressed_pieces(
    rng: random.Random, conn: int, direction: int, count: int, *, odd: bool = True
) -> list[bytes]:
    """What one compressed direction sends, piece by piece (a packet, a keep-alive, ...).
    ``odd``: now and then something the fast path gives back to Python."""
    enc = SipcompStreamEncoder()
    out: list[bytes] = []
    for n in range(count):
        msg = (
            sip_message(rng)
            if rng.random() < 0.7
            else message(rng, conn, n, direction)  # compact/missing/double Content-Length ...
        )
        if len(msg) > 60_000:  # (compressing 70 kB in Python is slow; FLUSHED covers it)
            msg = sip_message(rng)
        roll = rng.random()
        if rng.random() < 0.2:
            out.append(rng.choice([b"\r\n", b"\r\n\r\n", b"\n", b"\r\n\r\n\r\n"]))  # keep-alive
        if roll < 0.1:  # two messages in one packet
            out.append(enc.encode(msg + sip_message(rng)))
        elif roll < 0.2:  # one message over two packets
            cut = rng.randrange(1, len(msg))
            out.append(enc.encode(msg[:cut]))
            if rng.random() < 0.3:
                out.append(b"\r\n")  # a keep-alive inside a message: body bytes then
            out.append(enc.encode(msg[cut:]))
        elif roll < 0.25:  # FLUSHED: raw, the history starts again
            enc.compressor.reset()
            out.append(encode_packet(PACKET_FLUSHED, msg[:65535], len(msg[:65535])))
        elif roll < 0.28:
            out.append(enc.encode(sip_message(rng, body_size=9000)))  # too big: FLUSHED
        elif roll < 0.3:
            out.append(enc.encode(b"\r\n"))  # a compressed keep-alive
        elif odd and roll < 0.32:
            out.append(encode_packet(0, msg, len(msg)))  # no flags: raw, a defect
        elif odd and roll < 0.33:
            out.append(encode_packet(PACKET_FLUSHED, b"", 0))  # empty
        elif odd and roll < 0.34:
            packet = bytearray(enc.encode(msg))
            at = rng.randrange(6, len(packet))
            packet[at] ^= 1 << rng.randrange(8)  # a corrupt token (or a wrong byte)
            out.append(bytes(packet))
        elif odd and roll < 0.35:
            out.append(rng.randbytes(rng.randrange(1, 40)))  # garbage
        elif odd and roll < 0.36:
            header = bytearray(enc.encode(msg))
            header[rng.randrange(1, 4)] = 1  # a reserved byte set
            out.append(bytes(header))
        elif odd and roll < 0.37:
            flags = PACKET_AT_FRONT  # AT_FRONT without COMPRESSED: a defect, passed raw
            out.append(encode_packet(flags, msg, len(msg)))
        else:
            out.append(enc.encode(msg))
    if odd and rng.random() < 0.1:
        out.append(b"\r")  # ends on a lone CR
    return out


def cut(rng: random.Random, pieces: list[bytes]) -> list[tuple[int, bytes]]:
    """(offset, bytes) segments: pieces whole, glued to the next, or cut anywhere."""
    data = b"".join(pieces)
    cuts = {0, len(data)}
    at = 0
    for piece in pieces:
        end = at + len(piece)
        roll = rng.random()
        if roll < 0.5:
            cuts.add(end)
        elif roll < 0.85:
            for _ in range(rng.randrange(1, 4)):
                cuts.add(at + rng.randrange(0, len(piece) + 1))
            cuts.add(end)
        if len(piece) > 1460:
            cuts.update(range(at, end, 1460))
        at = end
    bounds = sorted(cuts)
    return [(a, data[a:b]) for a, b in zip(bounds, bounds[1:], strict=False) if b > a]


def generated(rng: random.Random, path: Path, *, connections: int = 5, clean: bool = False) -> Path:
    """A capture of MS-SIPCOMP connections (``clean``: no losses, nothing odd)."""
    b = Builder()
    events: list[tuple[float, int, bytes]] = []
    order = 0
    neg, ok = negotiate_exchange()
    for conn in range(connections):
        client = (f"10.1.0.{conn + 1}", 50_000 + conn)
        flow = TcpFlow(b, client, ("10.0.0.10", 5061), [rng.randrange(1 << 32)] * 2)
        flow.seq = [rng.randrange(1 << 32), rng.randrange(1 << 32)]
        t = rng.uniform(0, 2)
        seq = list(flow.seq)
        midstream = not clean and rng.random() < 0.15  # the capture began after NEGOTIATE
        bomb = not clean and rng.random() < 0.1
        if not midstream:
            events.append((t, order, flow._segment(0, seq[0], 0, SYN, b"")))
            events.append(
                (t + 0.001, order + 1, flow._segment(1, seq[1], seq[0] + 1, SYN | ACK, b""))
            )
            order += 2
            seq = [seq[0] + 1, seq[1] + 1]
            events.append((t + 0.002, order, flow._segment(0, seq[0], seq[1], ACK | PSH, neg)))
            events.append((t + 0.003, order + 1, flow._segment(1, seq[1], seq[0], ACK | PSH, ok)))
            order += 2
            seq = [seq[0] + len(neg), seq[1] + len(ok)]
        for direction in (0, 1):
            if bomb and direction == 0:
                pieces = [amplification_stream(rng.choice([300, 900]), 4000)]
            else:
                pieces = compressed_pieces(
                    rng, conn, direction, rng.randrange(1, 30), odd=not clean
                )
            if midstream:
                pieces = pieces[rng.randrange(len(pieces)) :]
            data = b"".join(pieces)
            wire = cut(rng, pieces)
            if not clean:
                lossy: list[tuple[int, bytes]] = []
                for offset, piece in wire:
                    roll = rng.random()
                    if roll < 0.02:
                        continue  # lost
                    lossy.append((offset, piece))
                    if roll < 0.05:
                        lossy.append((offset, piece))  # retransmitted
                for i in range(len(lossy) - 1):
                    if rng.random() < 0.03:
                        lossy[i], lossy[i + 1] = lossy[i + 1], lossy[i]  # reordered
                wire = lossy
            when = t + 0.01 + direction * 0.0005
            for offset, piece in wire:
                when += rng.choice([0.0001, 0.001, 0.02])
                frame = flow._segment(
                    direction, seq[direction] + offset, seq[1 - direction], ACK | PSH, piece
                )
                events.append((when, order, frame))
                order += 1
                if rng.random() < 0.2:
                    ack = flow._segment(
                        1 - direction, seq[1 - direction], seq[direction] + offset, ACK, b""
                    )
                    events.append((when + 0.00005, order, ack))
                    order += 1
            if not clean and rng.random() < 0.05:
                at = seq[direction] + rng.randrange(len(data) + 1)
                flag = FIN | ACK if rng.random() < 0.5 else RST | ACK
                events.append((when + 0.001, order, flow._segment(direction, at, 0, flag, b"")))
                order += 1
            seq_end = seq[direction] + len(data)
            if clean or rng.random() < 0.5:
                events.append(
                    (when + 5, order, flow._segment(direction, seq_end, 0, FIN | ACK, b""))
                )
                order += 1
    for when, _, frame in sorted(events):
        b.add(when, frame)
    path.write_bytes(b.pcap_bytes())
    return path


def negotiated(b: Builder, client: tuple[str, int], at: float) -> TcpFlow:
    """A client's connection to the Front End: the TCP handshake at ``at``, then NEGOTIATE
    and its 200 OK, after which both directions are MS-SIPCOMP."""
    neg, ok = negotiate_exchange()
    flow = b.tcp(client, ("10.0.0.10", 5061))
    flow.handshake(at)
    flow.send(at + 0.1, 0, neg)
    flow.send(at + 0.2, 1, ok)
    return flow


# -- the tests ------------------------------------------------------------------------------------


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(seed=st.integers(0, 2**32 - 1))
def test_generated_sipcomp_decodes_the_same(
    seed: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = generated(random.Random(seed), tmp_path / f"c{seed}.pcap")
    compare(path, monkeypatch)


@settings(
    max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(seed=st.integers(0, 2**32 - 1))
def test_generated_sipcomp_frame_by_frame_decodes_the_same(
    seed: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = generated(random.Random(seed), tmp_path / f"f{seed}.pcap")
    compare(path, monkeypatch, max_frames=10**9)


def test_clean_sipcomp_is_decoded_by_the_fast_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Routine MS-SIPCOMP (keep-alives, FLUSHED, messages over several packets, packets over
    several segments): after each direction's first packet (Python's: it recognises the
    layout) nearly every message is the fast path's."""
    rng = random.Random(7)
    path = generated(rng, tmp_path / "clean.pcap", connections=8, clean=True)
    taken = compare(path, monkeypatch)
    total = len(list(Capture(path, Options()).messages()))
    assert total > 150
    assert taken >= total * 0.7


def test_stream_cut_anywhere_decodes_the_same(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Truncation: one connection whose client stream ends at many byte offsets (inside a
    header, a payload, a keep-alive), with and without the FIN."""
    rng = random.Random(11)
    pieces = compressed_pieces(rng, 0, 0, 12, odd=False)
    data = b"".join(pieces)
    for n, end in enumerate(sorted(rng.sample(range(1, len(data)), 12))):
        b = Builder()
        flow = negotiated(b, ("10.1.0.1", 40_000), 0.0)
        flow.send(0.3, 0, data[:end], cuts=list(range(700, end, 700)))
        if n % 2:
            flow.close(5.0)
        path = tmp_path / f"cut{end}.pcap"
        b.write(str(path))
        compare(path, monkeypatch)


def test_random_bytes_after_negotiate_decode_the_same(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Random bytes where packets should be, after a few good ones: given back, the same."""
    rng = random.Random(3)
    for n in range(10):
        enc = SipcompStreamEncoder()
        good = b"".join(enc.encode(sip_message(rng)) for _ in range(3))
        noise = rng.randbytes(rng.randrange(1, 3000))
        if n % 3 == 0:  # looks like a header, then noise
            noise = bytes([rng.choice([0x20, 0x60, 0x80]), 0, 0, 0]) + noise
        b = Builder()
        flow = negotiated(b, ("10.1.0.1", 40_000 + n), 0.0)
        flow.send(0.3, 0, good + noise + enc.encode(sip_message(rng)), cuts=[len(good)])
        flow.close(5.0)
        path = tmp_path / f"noise{n}.pcap"
        b.write(str(path))
        compare(path, monkeypatch)


def test_budget_exhausted_in_the_fast_path_decodes_the_same(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Decompression bombs in sync: the fast path asks the budget before each packet; the
    refused one goes back to Python, which reports it in the same words."""
    b = Builder()
    for n in range(3):
        flow = negotiated(b, (f"10.1.0.{n + 1}", 40_000), n * 10.0)
        bomb = amplification_stream(1000, 4000)
        flow.send(n * 10 + 0.3, 0, bomb, cuts=list(range(300, len(bomb), 300)))
        flow.close(n * 10 + 5.0)
    # whole 1,400-byte segments: 127 packets of 4,000 bytes each, past what one segment decodes
    flow = negotiated(b, ("10.1.0.9", 40_000), 40.0)
    bomb = amplification_stream(1000, 4000)
    flow.send(40.3, 0, bomb, cuts=list(range(1400, len(bomb), 1400)))
    flow.close(45.0)
    path = tmp_path / "bombs.pcap"
    b.write(str(path))
    compare(path, monkeypatch)
    capture = Capture(path, Options())
    assert len(list(capture.messages())) >= 4 * 270  # what 1 MiB + 32x the wire allows
    reasons = [d.reason for d in capture.defects]
    assert sum("over its budget" in r for r in reasons) == 4


def test_sip_own_takes_a_sipcomp_direction_only_with_its_history() -> None:
    fast = fastpath.compiled().FastPath(0)
    four, other = b"\x01\x02\x03\x04", b"\x01\x02\x03\x05"

    class Pipe:
        budget = None  # (read when a direction is taken: none, so every packet is Python's)

        def __init__(self) -> None:
            self.calls: list[tuple[object, ...]] = []

        def reclaim(self, *args: object) -> None:
            self.calls.append(args)

        def _sipcomp_rest(self, *args: object) -> None:
            self.calls.append(_as_reclaim(*args))

    pipe = Pipe()
    own = fast.sip_own
    assert own(four, 1, other, 2, 0, 1, 100, pipe, 3) is False  # no history given
    assert own(four, 1, other, 2, 0, 1, 100, pipe, 3, (bytearray(10), 0)) is False
    assert own(four, 1, other, 2, 0, 1, 100, pipe, 3, (bytes(8192), 0)) is False
    assert own(four, 1, other, 2, 0, 1, 100, pipe, 3, (bytearray(8192), 8193)) is False
    assert own(four, 1, other, 2, 0, 1, 100, pipe, 3, (bytearray(8192), -1)) is False
    assert own(four, 1, other, 2, 0, 1, 100, pipe, 3, (bytearray(8192),)) is False
    assert own(four, 1, other, 2, 0, 1, 100, pipe, 3, "history") is False
    assert fast.sip_owned == 0
    assert own(four, 1, other, 2, 0, 1, 100, pipe, 3, (bytearray(8192), 5)) is True
    assert fast.sip_owned == 1
    fast.sip_release(four, 1, other, 2)
    # direction, framed, taken, chunks, last frame, last time, and the MS-SIPCOMP state:
    # (history position, compressed bytes decoded, frame of the last packet framed,
    #  packets not framed yet, bytes of the first of them framed, the history made there)
    assert pipe.calls == [(0, 0, 0, [], 0, 0.0, (5, 0, 0, [], 0, None))]
    # a decoder that has read nothing yet: no history, position 0 (and nothing else)
    assert own(four, 1, other, 2, 0, 1, 100, pipe, 3, (None, 1)) is False
    assert own(four, 1, other, 2, 0, 1, 100, pipe, 3, (None, 0)) is True
    fast.sip_release(four, 1, other, 2)
    assert pipe.calls[1:] == [(0, 0, 0, [], 0, 0.0, (0, 0, 0, [], 0, None))]


def test_flags_mix_decodes_the_same(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """AT_FRONT passes wrapping the history, FLUSHED resets, in one long direction."""
    rng = random.Random(5)
    enc = SipcompStreamEncoder()
    packets = []
    for n in range(120):
        msg = sip_message(rng, body_size=rng.choice([0, 300, 1500, 4000]))
        if n % 37 == 36:
            enc.compressor.reset()
            packets.append(encode_packet(PACKET_FLUSHED, msg, len(msg)))
        else:
            packets.append(enc.encode(msg))
    assert any(p[0] == PACKET_AT_FRONT | PACKET_COMPRESSED for p in packets[1:])
    b = Builder()
    flow = negotiated(b, ("10.1.0.1", 40_000), 0.0)
    at = 0.3
    for packet in packets:
        flow.send(at, 0, packet)
        at += 0.01
    flow.close(at + 1)
    path = tmp_path / "flags.pcap"
    b.write(str(path))
    taken = compare(path, monkeypatch)
    assert taken >= 110


@pytest.mark.parametrize("seed", range(6))
def test_hostile_families_decode_the_same(
    seed: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """tools/hostile.py's MS-SIPCOMP families (the fuzzer's): damaged packets among good ones,
    packets cut short, one-byte segments; decompression bombs over many connections."""
    rng = random.Random(seed)
    path = tmp_path / f"bad{seed}.pcap"
    path.write_bytes(bad_sipcomp_capture(rng))
    compare(path, monkeypatch)
    if seed < 2:
        path = tmp_path / f"bomb{seed}.pcap"
        path.write_bytes(bomb_capture(rng))
        compare(path, monkeypatch)


# -- the decompression budget charged in C ----------------------------------------------------


class Budgets:
    """Every decompression budget the runs make (patched into pipeline/core.py): the capture's
    with ``allowance`` and ``ratio``, each connection's with ``per_connection``; ``record``
    keeps the draws Python makes, as (connection, payload, charge) in the order made."""

    def __init__(
        self,
        monkeypatch: pytest.MonkeyPatch,
        allowance: int = CAPTURE_ALLOWANCE,
        per_connection: int = CONNECTION_ALLOWANCE,
        ratio: int = MAX_RATIO,
    ) -> None:
        self.runs: list[tuple[DecompressionBudget, list[DecompressionBudget]]] = []
        self.draws: list[tuple[int, int, int]] = []
        outer = self

        class Connection(DecompressionBudget):
            __slots__ = ("index",)

            def draw(self, wire: int, plain: int, *, keepalive: bool = False) -> str | None:
                charge = plain if keepalive else max(plain, PACKET_CHARGE)
                outer.draws.append((self.index, wire, charge))
                return super().draw(wire, plain, keepalive=keepalive)

        class Capture(DecompressionBudget):
            __slots__ = ()

            def connection(self, allowance: int = per_connection) -> DecompressionBudget:
                conns = outer.runs[-1][1]
                budget = Connection(allowance, self.ratio, parent=self, scope="connection")
                budget.index = len(conns)
                conns.append(budget)
                return budget

        def make() -> DecompressionBudget:
            budget = Capture(allowance, ratio)
            self.runs.append((budget, []))
            return budget

        monkeypatch.setattr(core, "DecompressionBudget", make)

    def states(self) -> list[object]:
        """What each run's budgets counted, in the end (the fast path's charges written back,
        its hook on the capture's budget gone)."""
        return [
            (
                (top.wire, top.plain, top.refused, top.sync),
                [(c.wire, c.plain, c.refused) for c in conns],
            )
            for top, conns in self.runs
        ]


def _pure_draws(path: Path, monkeypatch: pytest.MonkeyPatch, **budget: int) -> Budgets:
    """The draws of a pure-Python run (the fast path charges without drawing)."""
    with monkeypatch.context() as m:
        m.setattr(core, "attach_fast_path", lambda reader, every, advance=0: (None, None))
        budgets = Budgets(m, **budget)
        list(Capture(path, Options()).messages())
    return budgets


def _limit_at(draws: list[tuple[int, int, int]], k: int, ratio: int) -> tuple[int, int, int]:
    """The allowance that lets draws[:k + 1] through, the last of them exactly at the limit
    when its prefix is the dearest; with the (plain, wire) totals of the first draw refused."""
    plain = wire = 0
    allowance = 0
    for n, (_, w, p) in enumerate(draws):
        plain += p
        wire += w
        if n <= k:
            allowance = max(allowance, plain - ratio * wire)
        elif plain > allowance + ratio * wire:
            return allowance, plain, wire
    raise AssertionError("no draw after the k-th would be refused")


def _interleaved(tmp_path: Path, connections: int) -> Path:
    """Clean MS-SIPCOMP connections whose packets interleave in time."""
    return generated(random.Random(23), tmp_path / "many.pcap", connections=connections, clean=True)


def test_connection_budget_refused_exactly_at_the_limit_by_the_fast_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One connection's allowance set so that a packet late in it (one the fast path decodes)
    is the last allowed, at the limit exactly: the next is refused in Python's words, with
    the totals counted so far in C, and every counter ends as pure Python leaves it."""
    path = _interleaved(tmp_path, 6)
    ratio = 1
    recorded = _pure_draws(path, monkeypatch, ratio=ratio).draws
    conn = max({c for c, _, _ in recorded}, key=lambda c: sum(1 for x in recorded if x[0] == c))
    mine = [d for d in recorded if d[0] == conn]
    assert len(mine) > 10
    k = len(mine) * 2 // 3
    allowance, plain, wire = _limit_at(mine, k, ratio)

    # every connection gets the same allowance: `conn` reaches it where computed (the others
    # may too, elsewhere: all compared with pure Python below)
    budgets = Budgets(monkeypatch, ratio=ratio, per_connection=allowance)
    compare(path, monkeypatch)
    states = budgets.states()
    assert len(states) == 4 and all(s == states[0] for s in states)
    assert states[0][0][3] is None  # the hook is gone with the last direction given back
    assert states[0][1][conn][2] is True
    Budgets(monkeypatch, ratio=ratio, per_connection=allowance)  # (compare undid it)
    capture = Capture(path, Options())
    list(capture.messages())
    reasons = [d.reason for d in capture.defects]
    assert f"this connection would decompress {plain} bytes from {wire} compressed" in " ".join(
        reasons
    )


def test_capture_budget_refused_exactly_at_the_limit_across_connections(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The capture's allowance shared by many connections read in C at once: the packet that
    takes the total past it is refused wherever it falls (C or Python), then every other
    connection stops at its next packet, as in pure Python."""
    path = _interleaved(tmp_path, 8)
    ratio = 1
    recorded = _pure_draws(path, monkeypatch, ratio=ratio).draws
    assert len({c for c, _, _ in recorded}) == 8
    k = len(recorded) // 2
    allowance, plain, wire = _limit_at(recorded, k, ratio)
    budgets = Budgets(monkeypatch, allowance=allowance, ratio=ratio)
    taken = compare(path, monkeypatch)
    assert taken > 0
    states = budgets.states()
    assert len(states) == 4 and all(s == states[0] for s in states)
    top, conns = states[0]
    assert top[2] is True and top[3] is None
    Budgets(monkeypatch, allowance=allowance, ratio=ratio)  # (compare undid it)
    capture = Capture(path, Options())
    list(capture.messages())
    reasons = [d.reason for d in capture.defects]
    first = [r for r in reasons if "this capture would decompress" in r]
    assert len(first) == 1
    assert f"{plain} bytes from {wire} compressed payload bytes" in first[0]
    assert sum("this capture's decompression budget is spent" in r for r in reasons) >= 1


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5, 6])
def test_counters_after_hand_backs_are_pure_pythons(
    seed: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Odd traffic hands directions back mid-stream again and again (keep-alives, flags,
    corrupt tokens, losses, bombs): the budgets' totals and each connection's wire and plain
    byte counts (in the compared JSON and connections) end as pure Python counts them."""
    path = generated(random.Random(seed), tmp_path / f"h{seed}.pcap", connections=6)
    budgets = Budgets(monkeypatch)
    compare(path, monkeypatch)
    states = budgets.states()
    assert len(states) == 4 and all(s == states[0] for s in states)


def test_budget_sync_writes_back_before_python_reads() -> None:
    """A budget read while the fast path holds charges sees them (DecompressionBudget.sync)."""
    calls: list[int] = []
    top = DecompressionBudget(100, 2)
    conn = top.connection(50)
    top.sync = lambda budget: calls.append(1)
    assert conn.draw(10, 20, keepalive=True) is None
    assert conn.limit() == 50 + 2 * 10 and calls == [1, 1]
    assert "20/" in repr(top) and len(calls) > 2


class _Summary:
    wire_bytes = 0
    plain_bytes = 0


class _Pipe:
    """What FastPath reads of a TcpConnectionPipeline for an MS-SIPCOMP direction."""

    def __init__(self, budget: DecompressionBudget) -> None:
        self.budget = budget
        self.summary = _Summary()
        self.delivered: list[bytes] = []
        self.reclaimed: list[tuple[object, ...]] = []

    def _deliver(self, direction: int, data: bytes, *rest: object) -> None:
        self.delivered.append(data)

    def reclaim(self, *args: object) -> None:
        self.reclaimed.append(args)

    def _sipcomp_rest(self, *args: object) -> None:
        self.reclaimed.append(_as_reclaim(*args))


def _as_reclaim(
    direction: object,
    framed: object,
    taken: object,
    last_frame: object,
    last_ts: object,
    *state: object,
) -> tuple[object, ...]:
    """What ``reclaim`` is given for a hand-back that went to ``_sipcomp_rest`` (an MS-SIPCOMP
    direction with nothing held and no packet pending: its state flat)."""
    position, consumed, plain_frame, made = state
    return (direction, framed, taken, [], last_frame, last_ts,
            (position, consumed, plain_frame, [], 0, made))  # fmt: skip


def _owned_sipcomp(
    fast: Any, pipe: _Pipe, port: int
) -> tuple[TcpFlow, list[tuple[bytes, int, int]]]:
    """A direction taken as READ_SIPCOMP from a fresh history, and 12 packets for it, one
    message each: (wire bytes, payload bytes, plain bytes)."""
    flow = TcpFlow(Builder(), ("10.1.0.1", port), ("10.0.0.10", 5061), [1000, 5000])
    assert fast.sip_own(
        bytes([10, 1, 0, 1]), port, bytes([10, 0, 0, 10]), 5061, 0, 1000, 65536, pipe, 3,
        (bytearray(8192), 0),
    )  # fmt: skip
    enc = SipcompStreamEncoder()
    rng = random.Random(port)
    packets = []
    for _ in range(12):
        msg = sip_message(rng, body_size=rng.choice([0, 300, 1500]))
        wire = enc.encode(msg)
        packets.append((wire, len(wire) - 6, len(msg)))
    return flow, packets


def _send(fast: Any, flow: TcpFlow, wire: bytes, frame: int) -> None:
    segment = flow._segment(0, flow.seq[0], flow.seq[1], ACK | PSH, wire)
    flow.seq[0] += len(wire)
    assert fast.frame(frame, float(frame), 1, segment)


@pytest.mark.parametrize("slack", [0, -1])
def test_compiled_budget_allows_the_packet_at_the_limit_and_refuses_past_it(slack: int) -> None:
    """FastPath alone, one connection: its allowance lets packets 0..5 through with packet 5
    exactly at the limit (slack 0), or one byte short of it (slack -1). The fast path
    charges them itself (no Python draw), gives the direction back at the first packet past
    the limit without charging it, and writes back the budgets' and summary's counts."""
    fast = fastpath.compiled().FastPath(0)
    top = DecompressionBudget(CAPTURE_ALLOWANCE, 1)
    conn = top.connection(0)
    pipe = _Pipe(conn)
    flow, packets = _owned_sipcomp(fast, pipe, 40_000)
    assert top.sync is not None  # while a direction is read there
    costs = [max(plain, PACKET_CHARGE) - payload for _, payload, plain in packets]
    assert all(c > 0 for c in costs)
    conn.allowance = sum(costs[:6]) + slack  # (read when the direction was taken: not yet)
    for n, (wire, _, _) in enumerate(packets):
        _send(fast, flow, wire, n + 2)
        if pipe.reclaimed:
            break
    allowed = 6 if slack == 0 else 5
    assert len(pipe.delivered) == allowed and len(pipe.reclaimed) == 1
    assert fast.sip_owned == 0
    assert conn.wire == top.wire == sum(p[1] for p in packets[:allowed])
    assert conn.plain == top.plain == sum(max(p[2], PACKET_CHARGE) for p in packets[:allowed])
    assert not conn.refused and not top.refused  # the decoder's draw refuses, in Python
    assert pipe.summary.wire_bytes == sum(len(p[0]) for p in packets[:allowed])
    assert pipe.summary.plain_bytes == sum(p[2] for p in packets[:allowed])
    assert top.sync is None
    refused = conn.draw(packets[allowed][1], packets[allowed][2])
    assert refused is not None and "would decompress" in refused


def test_compiled_budget_shares_the_capture_total_between_connections() -> None:
    """Two connections read in C at once draw from one capture budget: the packet that takes
    the total past it is refused in whichever connection sends it; a Python read between
    packets sees every charge made so far, and a Python draw is seen by the next C charge."""
    fast = fastpath.compiled().FastPath(0)
    top = DecompressionBudget(0, 1)
    pipes = [_Pipe(top.connection()) for _ in range(2)]
    flows = [_owned_sipcomp(fast, pipe, 40_000 + n) for n, pipe in enumerate(pipes)]
    order = [(n % 2, n // 2) for n in range(20)]  # interleaved: a, b, a, b, ...
    cost = [
        [max(plain, PACKET_CHARGE) - payload for _, payload, plain in packets]
        for _, packets in flows
    ]
    outside = 100  # plain bytes Python draws in between (a keep-alive of another decoder)
    top.allowance = sum(cost[c][i] for c, i in order[:9]) + outside  # the 9th at the limit
    frame = 2
    for step, (c, i) in enumerate(order):
        flow, packets = flows[c]
        _send(fast, flow, packets[i][0], frame)
        frame += 1
        if step == 3:
            # Python draws (the fast path writes its charges back first, and reads the
            # counters again before its next charge)
            assert top.plain == 0  # (an attribute read alone does not ask)
            assert top.draw(0, outside, keepalive=True) is None
            assert top.plain == outside + sum(
                max(flows[c2][1][i2][2], PACKET_CHARGE) for c2, i2 in order[:4]
            )
        if any(p.reclaimed for p in pipes):
            break
    assert step == 9  # the 10th packet was refused
    refused_by = order[9][0]
    assert pipes[refused_by].reclaimed and not pipes[1 - refused_by].reclaimed
    assert sum(len(p.delivered) for p in pipes) == 9
    fast.sip_release_all()
    assert top.sync is None
    assert top.plain == outside + sum(max(flows[c][1][i][2], PACKET_CHARGE) for c, i in order[:9])
    assert top.wire == sum(flows[c][1][i][1] for c, i in order[:9])
    assert top.plain == top.allowance + top.wire  # exactly at the limit
    for n, pipe in enumerate(pipes):
        mine = [i for c, i in order[:9] if c == n]
        assert pipe.summary.plain_bytes == sum(flows[n][1][i][2] for i in mine)
        assert pipe.budget.plain == sum(max(flows[n][1][i][2], PACKET_CHARGE) for i in mine)


def test_a_direction_given_back_writes_its_own_counts_and_the_budgets() -> None:
    """Three connections read in C, charged in turn; one given back: its summary counts, its
    connection's budget and the capture's (which holds every connection's charges so far)
    are written back, the others' summary counts when they go back; all right at the end."""
    fast = fastpath.compiled().FastPath(0)
    top = DecompressionBudget()
    pipes = [_Pipe(top.connection()) for _ in range(3)]
    flows = [_owned_sipcomp(fast, pipe, 41_000 + n) for n, pipe in enumerate(pipes)]
    frame = 2
    for i in range(4):
        for flow, packets in flows:
            _send(fast, flow, packets[i][0], frame)
            frame += 1
    plain = [sum(p[2] for p in packets[:4]) for _, packets in flows]
    wire = [sum(len(p[0]) for p in packets[:4]) for _, packets in flows]
    payload = [sum(p[1] for p in packets[:4]) for _, packets in flows]
    fast.sip_release(bytes([10, 1, 0, 1]), 41_001, bytes([10, 0, 0, 10]), 5061)
    assert len(pipes[1].reclaimed) == 1 and fast.sip_owned == 2
    assert (pipes[1].summary.plain_bytes, pipes[1].summary.wire_bytes) == (plain[1], wire[1])
    assert pipes[1].budget.wire == payload[1]
    assert top.wire == sum(payload)
    fast.sip_release_all()
    assert top.sync is None and top.wire == sum(payload)
    for n, pipe in enumerate(pipes):
        assert (pipe.summary.plain_bytes, pipe.summary.wire_bytes) == (plain[n], wire[n])
        assert pipe.budget.wire == payload[n]


# -- the end of a direction (session 30, sixth round) ------------------------------------------


def _ending(rng: random.Random, b: Builder, n: int, how: str) -> None:
    """Connection ``n``: both directions compressed, then one of the ways a direction ends."""
    flow = negotiated(b, (f"10.2.0.{n + 1}", 42_000 + n), n * 0.01)
    t = 0.3 + n * 0.01
    for direction in (0, 1):
        enc = SipcompStreamEncoder()
        msgs = [sip_message(rng, body_size=rng.choice([0, 300, 1500])) for _ in range(4)]
        packets = [enc.encode(m) for m in msgs]
        if how == "fin-after-flushed" and direction == 0:
            packets[-1] = encode_packet(PACKET_FLUSHED, msgs[-1], len(msgs[-1]))
        data = b"".join(packets)
        if how == "cut" and direction == 1:
            data = data[: len(data) - rng.randrange(1, len(packets[-1]))]  # mid-packet
        if how == "gap" and direction == 0:
            start = len(data) - len(packets[-1]) - len(packets[-2])
            flow.send(t, direction, data[:start], cuts=list(range(900, start, 900)))
            flow.seq[direction] += len(packets[-2])  # the segment before the last is lost
            flow.send(t + 0.002, direction, packets[-1])
        else:
            flow.send(t, direction, data, cuts=list(range(900, len(data), 900)))
        t += 0.005
    if how == "rst":
        b.add(t, flow._segment(0, flow.seq[0], flow.seq[1], RST | ACK, b""))
    elif how in ("fin", "fin-after-flushed", "gap"):
        flow.close(t)
    # "cut", "open": the capture ends with the connection open


@pytest.mark.parametrize("seed", [1, 2])
def test_directions_ending_every_way_decode_the_same(
    seed: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Many connections (more than the flow table's first size), each ending its own way:
    FIN, FIN after a FLUSHED packet, RST, a packet cut at the end of the capture, a lost
    segment before the last packet, open at the end. Compiled and pure Python agree, and
    the end of input gives every direction back in the same order as before."""
    rng = random.Random(seed)
    b = Builder()
    ways = ["fin", "fin-after-flushed", "rst", "cut", "gap", "open"]
    for n in range(40):
        _ending(rng, b, n, ways[n % len(ways)])
    path = tmp_path / f"ending{seed}.pcap"
    b.write(str(path))
    assert compare(path, monkeypatch) > 100  # most messages are the fast path's


def test_release_all_gives_every_direction_back_once() -> None:
    """More owned directions than the table's first 64 slots (it grows): the end of input
    gives each back exactly once, with its summary counts and budget charges, none twice."""
    fast = fastpath.compiled().FastPath(0)
    top = DecompressionBudget()
    pipes = [_Pipe(top.connection()) for _ in range(90)]
    flows = [_owned_sipcomp(fast, pipe, 43_000 + n) for n, pipe in enumerate(pipes)]
    assert fast.sip_owned == 90
    frame = 2
    for flow, packets in flows:
        _send(fast, flow, packets[0][0], frame)
        frame += 1
    fast.sip_release_all()
    assert fast.sip_owned == 0 and top.sync is None
    assert all(len(p.reclaimed) == 1 for p in pipes)
    for pipe, (_, packets) in zip(pipes, flows, strict=True):
        assert pipe.summary.wire_bytes == len(packets[0][0])
        assert pipe.summary.plain_bytes == packets[0][2]
        assert pipe.budget.wire == packets[0][1]
    assert top.wire == sum(packets[0][1] for _, packets in flows)


def test_a_python_draw_writes_the_budgets_and_the_counts_come_once() -> None:
    """A Python draw while two directions are read in C: the budgets it reads hold every
    charge (sync writes them); each connection's wire and plain counts, written at its hand
    back, hold its packets once, whatever syncs came before."""
    fast = fastpath.compiled().FastPath(0)
    top = DecompressionBudget()
    pipes = [_Pipe(top.connection()) for _ in range(2)]
    flows = [_owned_sipcomp(fast, pipe, 44_000 + n) for n, pipe in enumerate(pipes)]
    frame = 2
    for i in range(6):
        for flow, packets in flows:
            _send(fast, flow, packets[i][0], frame)
            frame += 1
        other = DecompressionBudget(parent=top, scope="connection")
        assert other.draw(0, 2, keepalive=True) is None  # syncs
        charged = sum(max(p[2], PACKET_CHARGE) for _, packets in flows for p in packets[: i + 1])
        assert top.plain == charged + 2 * (i + 1)
    fast.sip_release_all()
    for pipe, (_, packets) in zip(pipes, flows, strict=True):
        assert pipe.summary.wire_bytes == sum(len(p[0]) for p in packets[:6])
        assert pipe.summary.plain_bytes == sum(p[2] for p in packets[:6])


# -- the budget sync costs what changed (session 32) -------------------------------------------


def _many_and_one_odd(tmp_path: Path, connections: int, odd: int, seed: int = 32) -> Path:
    """``connections`` MS-SIPCOMP connections live at once, their packets interleaved one per
    segment; connection ``odd`` sends what the fast path gives back now and then (raw
    packets without flags, keep-alives, corrupt tokens), so Python decodes and draws from
    the budgets between the fast path's charges of all the others."""
    rng = random.Random(seed)
    b = Builder()
    timeline: list[tuple[float, TcpFlow, int, bytes]] = []
    for conn in range(connections):
        flow = negotiated(b, (f"10.4.{conn // 200}.{conn % 200 + 1}", 46_000 + conn), conn * 0.001)
        for direction in (0, 1):
            if conn == odd and direction == 0:
                enc = SipcompStreamEncoder()
                pieces = []
                for n in range(14):
                    msg = sip_message(rng)
                    pieces.append(
                        encode_packet(0, msg, len(msg)) if n % 3 == 1 else enc.encode(msg)
                    )
                    if n % 4 == 2:
                        pieces.append(b"\r\n")
            else:
                pieces = compressed_pieces(rng, conn, direction, 10, odd=False)
            for i, piece in enumerate(pieces):
                when = 1 + i * 0.05 + conn * 0.0004 + direction * 0.0002
                timeline.append((when, flow, direction, piece))
    timeline.sort(key=lambda x: x[0])
    for when, flow, direction, piece in timeline:
        flow.send(when, direction, piece)
    b.frames.sort(key=lambda x: x[0])
    path = tmp_path / f"many{connections}-{odd}.pcap"
    b.write(str(path))
    return path


@pytest.mark.parametrize("scope", ["capture", "connection"])
def test_python_draws_between_many_compiled_connections_refuse_at_the_same_packet(
    scope: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Many compressed connections read in C at once and one whose packets Python decodes in
    between (every one of its draws syncs): the sync writes back only the mirrors charged
    since, and reads again only the budget drawn and its parents. A capture allowance set so
    that the refusal falls mid-way (wherever: C or Python), or a connection allowance that
    the odd connection reaches while Python draws: every refusal and counter is pure
    Python's."""
    connections, odd = 30, 17
    path = _many_and_one_odd(tmp_path, connections, odd)
    ratio = 1
    recorded = _pure_draws(path, monkeypatch, ratio=ratio).draws
    assert len({c for c, _, _ in recorded}) == connections
    if scope == "capture":
        k = len(recorded) // 2
        allowance, plain, wire = _limit_at(recorded, k, ratio)
        budgets = Budgets(monkeypatch, allowance=allowance, ratio=ratio)
    else:
        counts = {c: sum(1 for d in recorded if d[0] == c) for c, _, _ in recorded}
        oddc = max(counts, key=lambda c: counts[c])  # the odd connection draws the most
        mine = [d for d in recorded if d[0] == oddc]
        allowance, plain, wire = _limit_at(mine, len(mine) // 2, ratio)
        budgets = Budgets(monkeypatch, ratio=ratio, per_connection=allowance)
    taken = compare(path, monkeypatch)
    assert taken > 100
    states = budgets.states()
    assert len(states) == 4 and all(s == states[0] for s in states)
    top, conns = states[0]
    assert top[3] is None
    if scope == "capture":
        assert top[2] is True
    else:
        assert conns[oddc][2] is True


def test_sync_reads_again_only_the_budget_drawn_and_its_parents() -> None:
    """FastPath alone, many connections read in C: a Python draw on one connection's budget
    (or on a budget drawing from it) is seen by that connection's next charge, refused at
    exactly the packet pure Python refuses; the other connections' mirrors are not read
    again and go on; the capture's budget drawn in Python is seen by every connection."""
    fast = fastpath.compiled().FastPath(0)
    top = DecompressionBudget(1 << 36, 1)
    pipes = [_Pipe(top.connection(1 << 24)) for _ in range(40)]
    flows = [_owned_sipcomp(fast, pipe, 47_000 + n) for n, pipe in enumerate(pipes)]
    frame = 2
    for flow, packets in flows:
        _send(fast, flow, packets[0][0], frame)
        frame += 1

    def cost(packet: tuple[bytes, int, int]) -> int:
        return max(packet[2], PACKET_CHARGE) - packet[1]

    # connection 7: Python draws on its budget, leaving room for exactly its packet 1
    conn7 = pipes[7].budget
    room = conn7.limit() - conn7.plain  # (syncs)
    assert conn7.draw(0, room - cost(flows[7][1][1]), keepalive=True) is None
    # connection 3: a budget drawing from it takes all but packets 1 and 2
    conn3 = pipes[3].budget
    inner = DecompressionBudget(1 << 36, 1, parent=conn3, scope="connection")
    room = conn3.limit() - conn3.plain
    spend = room - cost(flows[3][1][1]) - cost(flows[3][1][2])
    assert inner.draw(0, spend, keepalive=True) is None
    for i in (1, 2, 3):
        for flow, packets in flows:
            if flow is not None:
                _send(fast, flow, packets[i][0], frame)
                frame += 1
        if i == 1:
            assert not pipes[7].reclaimed and not pipes[3].reclaimed
        if i == 2:
            assert len(pipes[7].reclaimed) == 1 and not pipes[3].reclaimed
            flows[7] = (None, flows[7][1])  # type: ignore[assignment]
        if i == 3:
            assert len(pipes[3].reclaimed) == 1
            flows[3] = (None, flows[3][1])  # type: ignore[assignment]
    assert sum(len(p.reclaimed) for p in pipes) == 2
    assert len(pipes[7].delivered) == 2 and len(pipes[3].delivered) == 3
    assert all(len(p.delivered) == 4 for n, p in enumerate(pipes) if n not in (3, 7))
    # the capture's budget drawn in Python: room for the 38 live connections' packet 4 but
    # the last one's, exactly
    room = top.limit() - top.plain
    costs = [cost(packets[4]) for flow, packets in flows if flow is not None]
    assert top.draw(0, room - sum(costs[:-1]), keepalive=True) is None
    for flow, packets in flows:
        if flow is not None:
            _send(fast, flow, packets[4][0], frame)
            frame += 1
    live = [p for n, p in enumerate(pipes) if n not in (3, 7)]
    assert [len(p.reclaimed) for p in live] == [0] * 37 + [1]
    assert all(len(p.delivered) == 5 for p in live[:-1]) and len(live[-1].delivered) == 4
    fast.sip_release_all()
    assert top.sync is None and not top.refused
    assert top.plain == top.allowance + top.wire  # exactly at the limit
    refused = pipes[39].budget.draw(flows[39][1][4][1], flows[39][1][4][2])
    assert refused is not None and "this capture would decompress" in refused


def test_sync_without_a_budget_reads_every_mirror_again() -> None:
    """sipcomp_sync() with no argument (the old protocol): every mirror is read again before
    its next charge, so a change Python makes to any budget after it is seen."""
    fast = fastpath.compiled().FastPath(0)
    top = DecompressionBudget(CAPTURE_ALLOWANCE, 1)
    pipes = [_Pipe(top.connection(1 << 30)) for _ in range(3)]
    flows = [_owned_sipcomp(fast, pipe, 48_000 + n) for n, pipe in enumerate(pipes)]
    for n, (flow, packets) in enumerate(flows):
        _send(fast, flow, packets[0][0], 2 + n)
    fast.sipcomp_sync()
    pipes[1].budget.refused = True  # (no draw: only a full re-read sees it)
    for n, (flow, packets) in enumerate(flows):
        _send(fast, flow, packets[1][0], 10 + n)
    assert [len(p.reclaimed) for p in pipes] == [0, 1, 0]
    with pytest.raises(TypeError):
        fast.sipcomp_sync(None, None)
    fast.sip_release_all()
    assert top.sync is None
