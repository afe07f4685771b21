"""The compiled fast path reads routine SIP over TCP and gives exactly what Python gives.

A direction at rest (clear SIP, nothing in progress, no hole) is handed to
``FastPath.sip_own``; its in-order segments are reassembled and framed in C, and anything
unusual hands it back first (pipeline/connection.py ``offer``/``reclaim``, _fastpath.c). Every
test here decodes the same capture with the fast path and without it and compares what a user
can see: the streamed ``--json -v`` records (message bytes, frames, times, defects, totals,
connections) and the keep-all capture's messages. The captures are generated to sit on the
borders: segments cut anywhere, CR/LF keep-alives, retransmissions, reordering, lost segments,
bytes that are not SIP, a compact or missing Content-Length, messages past the bound the fast
path holds, NEGOTIATE, FIN and RST in the middle of a message, port reuse, IPv6 and VLANs.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import dpkt
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pcapgen import Builder, TcpFlow, sip

import lyncdump
import lyncdump.pipeline.connection as connection
import lyncdump.pipeline.core as core
from lyncdump import fastpath
from lyncdump.api import Capture, Options
from lyncdump.render import views

from ..conftest import CAPTURES, corpus_dir

needs_compiled = pytest.mark.skipif(
    not fastpath.AVAILABLE, reason="compiled fast path not in use (" + fastpath.describe() + ")"
)
pytestmark = needs_compiled

ACK, PSH, SYN, FIN, RST = (
    dpkt.tcp.TH_ACK, dpkt.tcp.TH_PUSH, dpkt.tcp.TH_SYN, dpkt.tcp.TH_FIN, dpkt.tcp.TH_RST,
)  # fmt: skip


# -- runs with and without the fast path ---------------------------------------------------------


def _json(path: Path, **options: Any) -> list[str]:
    lines: list[str] = []
    views.ndjson_view(lyncdump.stream(path, **options), lines.append, verbose=True)
    return lines


def _keep_all(path: Path, **options: Any) -> dict[str, Any]:
    capture = Capture(path, Options(**options))
    s = capture.stats
    return {
        "messages": [
            (m.frame, m.first_frame, m.time, m.stream_id, m.raw, str(m.src), str(m.dst))
            for m in capture.messages()
        ],
        "defects": [(d.frame, d.layer, d.offset, d.reason) for d in capture.defects],
        "stats": (s.frames, s.tcp_segments, s.sip_messages, s.bytes, s.first_time, s.last_time),
        "connections": [c.to_dict() for c in capture.connections],
    }


def compare(path: Path, monkeypatch: pytest.MonkeyPatch, **options: Any) -> int:
    """Decode ``path`` both ways (without the fast path, the framer also frames every chunk
    itself: no ``sip_frame_chunk``), assert the results are equal; the SIP messages the fast
    path framed (in the streamed run)."""
    made: list[Any] = []
    real = core.attach_fast_path

    def spy(reader: object, every: int, advance: int = 0) -> tuple[object, object]:
        fast, per_frame = real(reader, every, advance)
        made.append(fast)
        return fast, per_frame

    monkeypatch.setattr(core, "attach_fast_path", spy)
    fast_json = _json(path, **options)
    taken = made[0].sip_messages if made and made[0] is not None else 0
    assert made[0].sip_owned == 0 and made[0].sip_held == 0  # all given back at the end
    fast_all = _keep_all(path, **options)
    monkeypatch.setattr(core, "attach_fast_path", lambda reader, every, advance=0: (None, None))
    monkeypatch.setattr(connection, "_frame_chunk", None)
    pure_json = _json(path, **options)
    pure_all = _keep_all(path, **options)
    monkeypatch.undo()
    assert fast_json == pure_json
    assert fast_all == pure_all
    return taken


# -- generated traffic ----------------------------------------------------------------------------


def message(rng: random.Random, conn: int, n: int, direction: int) -> bytes:
    """One SIP message; most are plain, some carry what the fast path hands back."""
    call_id = f"c{conn}-{n // 4}@example.com"
    body = b""
    size = rng.choice([0, 0, 0, 40, 300, 1400, 3000])
    if rng.random() < 0.02:
        size = 70_000  # past what the fast path holds for one message
    if size:
        body = bytes(rng.choice(b"abcdefghij \r\n") for _ in range(size))
    if direction == 0:
        method = rng.choice(["REGISTER", "SUBSCRIBE", "MESSAGE", "INVITE", "SERVICE", "INFO"])
        head = (
            f"{method} sip:bob@example.com SIP/2.0\r\n"
            f"Via: SIP/2.0/TCP 10.0.0.1:5061;branch=z9hG4bK{conn}x{n}\r\n"
            f"From: <sip:alice@example.com>;tag=a{conn}\r\n"
            f"To: <sip:bob@example.com>\r\n"
            f"Call-ID: {call_id}\r\nCSeq: {n + 1} {method}\r\n"
        )
    else:
        head = (
            "SIP/2.0 200 OK\r\n"
            f"Via: SIP/2.0/TCP 10.0.0.1:5061;branch=z9hG4bK{conn}x{n}\r\n"
            f"From: <sip:alice@example.com>;tag=a{conn}\r\n"
            f"To: <sip:bob@example.com>;tag=b{conn}\r\n"
            f"Call-ID: {call_id}\r\nCSeq: {n + 1} MESSAGE\r\n"
        )
    roll = rng.random()
    if roll < 0.03:
        head += f"l: {len(body)}\r\n"  # compact form: Python reads it
    elif roll < 0.05:
        head += f"Content-Length: {len(body)}\r\nContent-Length: {len(body)}\r\n"
    elif roll < 0.06:
        pass  # no Content-Length on a stream: a defect, body taken as empty
    elif roll < 0.07:
        head = head.replace("CSeq: ", "Supported: ms-negotiate\r\nCSeq: ")
        head += f"Content-Length: {len(body)}\r\n"
    else:
        head += f"Content-Length: {len(body)}\r\n"
    return head.encode() + b"\r\n" + body


def stream_pieces(rng: random.Random, conn: int, direction: int, count: int) -> list[bytes]:
    """What one direction sends, as the pieces its sender wrote: a message each mostly (as a
    SIP stack writes), with keep-alives and, now and then, bytes that are not SIP."""
    out: list[bytes] = []
    for n in range(count):
        if rng.random() < 0.1:
            out.append(rng.choice([b"\r\n", b"\r\n\r\n", b"\n"]))  # keep-alives
        if rng.random() < 0.02:
            out.append(b"\x00garbage that is not SIP\r\n")
        out.append(message(rng, conn, n, direction))
    return out


def segments(rng: random.Random, pieces: list[bytes]) -> list[tuple[int, bytes]]:
    """(offset, bytes) segments: most pieces whole, some glued to the next, some cut anywhere
    (a byte, a few, a full segment), big ones cut at 1,460 bytes."""
    data = b"".join(pieces)
    cuts = {0, len(data)}
    at = 0
    for piece in pieces:
        roll = rng.random()
        end = at + len(piece)
        if roll < 0.6 or len(piece) > 9000:
            cuts.add(end)
        elif roll < 0.9:
            for _ in range(rng.randrange(1, 4)):
                cuts.add(at + rng.randrange(1, len(piece) + 1))
            cuts.add(end)
        if len(piece) > 9000:
            cuts.update(range(at, end, 1460))
        at = end
    bounds = sorted(cuts)
    return [(a, data[a:b]) for a, b in zip(bounds, bounds[1:], strict=False)]


def generated(rng: random.Random, path: Path, *, connections: int = 6) -> Path:
    b = Builder()
    events: list[tuple[float, int, bytes]] = []  # (time, order, frame)
    order = 0
    for conn in range(connections):
        v6 = rng.random() < 0.15
        client = (f"2001:db8::{conn + 1}" if v6 else f"10.1.0.{conn + 1}", 50_000 + conn)
        server = ("2001:db8::ff" if v6 else "10.0.0.10", 5061)
        flow = TcpFlow(b, client, server, [rng.randrange(1 << 32), rng.randrange(1 << 32)])
        if rng.random() < 0.2:
            flow.vlan = 100
        t = rng.uniform(0, 2)
        seq = list(flow.seq)
        handshake = rng.random() < 0.8
        if handshake:
            events.append((t, order, flow._segment(0, seq[0], 0, SYN, b"")))
            events.append(
                (t + 0.001, order + 1, flow._segment(1, seq[1], seq[0] + 1, SYN | ACK, b""))
            )
            order += 2
            seq = [seq[0] + 1, seq[1] + 1]
        ends = [seq[0], seq[1]]
        for direction in (0, 1):
            written = stream_pieces(rng, conn, direction, rng.randrange(1, 25))
            data = b"".join(written)
            pieces = segments(rng, written)
            when = t + 0.01 + direction * 0.002
            wire: list[tuple[int, bytes]] = []
            for offset, piece in pieces:
                roll = rng.random()
                if roll < 0.02:
                    continue  # lost
                wire.append((offset, piece))
                if roll < 0.06:
                    wire.append((offset, piece))  # retransmitted
            for i in range(len(wire) - 1):
                if rng.random() < 0.04:
                    wire[i], wire[i + 1] = wire[i + 1], wire[i]  # reordered
            for offset, piece in wire:
                when += rng.choice([0.0001, 0.001, 0.02, 0.5])
                s = seq[direction] + offset
                frame = flow._segment(direction, s, seq[1 - direction], ACK | PSH, piece)
                events.append((when, order, frame))
                order += 1
                if rng.random() < 0.3:  # the other side acknowledges
                    ack = flow._segment(1 - direction, seq[1 - direction], s + len(piece), ACK, b"")
                    events.append((when + 0.00005, order, ack))
                    order += 1
            ends[direction] = seq[direction] + len(data)
            if rng.random() < 0.1:
                # FIN (or RST) in the middle of what is still coming
                cut = rng.randrange(len(data) + 1)
                flag = FIN | ACK if rng.random() < 0.5 else RST | ACK
                events.append(
                    (
                        when + 0.001,
                        order,
                        flow._segment(direction, seq[direction] + cut, 0, flag, b""),
                    )
                )
                order += 1
        end = max(e[0] for e in events) + 0.01
        roll = rng.random()
        if roll < 0.5:
            for direction in (0, 1):
                events.append(
                    (end, order, flow._segment(direction, ends[direction], 0, FIN | ACK, b""))
                )
                order += 1
        elif roll < 0.6:
            events.append((end, order, flow._segment(1, ends[1], 0, RST | ACK, b"")))
            order += 1
        if rng.random() < 0.1:
            # the same 4-tuple again: a new connection
            s0 = rng.randrange(1 << 32)
            events.append((end + 0.1, order, flow._segment(0, s0, 0, SYN, b"")))
            data = message(rng, conn, 99, 0)[:1400]
            events.append((end + 0.2, order + 1, flow._segment(0, s0 + 1, 0, ACK | PSH, data)))
            order += 2
    for t, _, frame in sorted(events):
        b.add(t, frame)
    path.write_bytes(b.pcap_bytes())
    return path


# -- the tests ------------------------------------------------------------------------------------


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(seed=st.integers(0, 2**32 - 1))
def test_generated_traffic_decodes_the_same(
    seed: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = generated(random.Random(seed), tmp_path / f"g{seed}.pcap")
    compare(path, monkeypatch)


@settings(
    max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(seed=st.integers(0, 2**32 - 1))
def test_frame_by_frame_readers_decode_the_same(
    seed: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A reader that yields frames one at a time (a frame count given, Network Monitor, live
    capture) offers each to ``FastPath.frame``: the same hand-over, frame by frame."""
    path = generated(random.Random(seed), tmp_path / f"f{seed}.pcap")
    compare(path, monkeypatch, max_frames=10**9)


def test_clean_traffic_is_framed_by_the_fast_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Plain connections with a handshake: nearly every message is the fast path's (the first
    of each direction is Python's, which hands the direction over)."""
    b = Builder()
    total = 0
    for conn in range(20):
        flow = b.tcp((f"10.1.0.{conn + 1}", 40_000 + conn), ("10.0.0.10", 5060))
        flow.handshake(conn * 0.01)
        rng = random.Random(conn)
        for n in range(30):
            request = message(rng, conn, n, 0)
            if (
                b"\nl:" in request
                or b"negotiate" in request
                or request.count(b"Content-Length") != 1
                or len(request) > 9000
            ):
                continue
            flow.send(
                1 + conn * 0.01 + n * 0.5,
                0,
                request,
                cuts=[len(request) // 2] if n % 3 == 0 else (),
            )
            total += 1
        flow.close(40 + conn)
    path = tmp_path / "clean.pcap"
    b.write(str(path))
    taken = compare(path, monkeypatch)
    assert taken >= total - 20


def test_negotiate_hands_the_connection_back(monkeypatch: pytest.MonkeyPatch) -> None:
    """MS-SIPCOMP samples: the NEGOTIATE exchange is Python's (both directions go back); the
    packets after it are read raw, then in C once a decoder is in sync
    (test_sipcomp_fastpath.py)."""
    samples = sorted(p for p in CAPTURES.glob("*sipcomp*") if p.suffix in (".pcap", ".pcapng"))
    assert samples
    for sample in samples:
        compare(sample, monkeypatch)


def test_tls_records_are_read_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    """TLS with its key log, MS-SIPCOMP inside: records framed by the fast path and decrypted
    by Python, the plaintext's messages framed by ``sip_frame_chunk``."""
    path = CAPTURES / "lync-tls-sipcomp.pcapng"
    compare(path, monkeypatch, keylog=str(CAPTURES / "lync-tls-sipcomp.keys"))


@pytest.mark.parametrize(
    "sample", sorted(p.name for p in CAPTURES.iterdir() if p.suffix in (".pcap", ".pcapng"))
)
def test_samples_decode_the_same(sample: str, monkeypatch: pytest.MonkeyPatch) -> None:
    compare(CAPTURES / sample, monkeypatch)


def _corpus_captures() -> list[Path]:
    root = corpus_dir()
    if root is None:
        return []
    return sorted(
        p for p in root.rglob("*") if p.suffix in (".pcap", ".pcapng", ".cap") and p.is_file()
    )


@pytest.mark.parametrize("path", _corpus_captures(), ids=lambda p: p.name)
def test_corpus_decodes_the_same(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    try:
        compare(path, monkeypatch)
    except lyncdump.CaptureError:  # an input the tool refuses is refused both ways
        pytest.skip("not a readable capture")


class _Pipe:
    """What the fast path calls on a connection's pipeline, recorded."""

    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []

    def reclaim(self, *args: Any) -> None:
        self.calls.append(args)


def test_sip_own_checks_its_arguments() -> None:
    fast = fastpath.compiled().FastPath(0)
    with pytest.raises(TypeError, match="sip_own"):
        fast.sip_own(b"\x01\x02\x03\x04", 1, b"\x01\x02\x03\x05", 2)
    pipe = _Pipe()
    four, other = b"\x01\x02\x03\x04", b"\x01\x02\x03\x05"
    assert fast.sip_own(four, 1, bytes(16), 2, 0, 1, 100, pipe, 0) is False  # mixed sizes
    assert fast.sip_own(four, 70000, other, 2, 0, 1, 100, pipe, 0) is False  # no such port
    assert fast.sip_own(four, 1, other, 2, 2, 1, 100, pipe, 0) is False  # no such direction
    assert fast.sip_own(four, 1, other, 2, 0, 1 << 32, 100, pipe, 0) is False  # not a seq
    assert fast.sip_own(four, 1, other, 2, 0, 1, 100, pipe, 3) is False  # no such kind
    assert fast.sip_own(four, 1, other, 2, 0, 1, 100, pipe, 0) is True
    assert fast.sip_own(four, 1, other, 2, 0, 1, 100, pipe, 0) is False  # owned already
    assert fast.sip_owned == 1
    fast2 = fastpath.compiled().FastPath(0)
    fast2.sip_own(four, 1, other, 2, 1, 7, 100, pipe, 0)
    fast2.sip_release(other, 2, four, 1)  # either way round
    assert pipe.calls == [(1, 0, 0, [], 0, 0.0)]
    assert fast2.sip_owned == 0


def test_many_owned_directions_are_given_back_in_any_order() -> None:
    """The table deletes by moving entries back along their probe run: owning and releasing
    thousands of directions in random order leaves every one findable."""
    fast = fastpath.compiled().FastPath(0)
    rng = random.Random(5)
    pipes = [_Pipe() for _ in range(3000)]
    keys = []
    for i in range(3000):
        src = rng.randrange(1 << 32).to_bytes(4, "big")
        keys.append((src, i % 65536, b"\x0a\x00\x00\x01", 5061))
        assert fast.sip_own(*keys[-1], 0, i, 1000, pipes[i], i % 3)
    order = list(range(3000))
    rng.shuffle(order)
    for n, i in enumerate(order):
        fast.sip_release(*keys[i])
        assert pipes[i].calls == [(0, 0, 0, [], 0, 0.0)]
        assert fast.sip_owned == 3000 - n - 1


def test_bytes_held_stay_within_the_total(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """300 connections each halfway through a 60 KB message at once: past 16 MiB held in all,
    the directions whose segments would pass it go back to Python, and the result is the
    same."""
    b = Builder()
    flows = []
    for conn in range(300):
        flow = b.tcp((f"10.2.{conn // 250}.{conn % 250 + 1}", 41_000 + conn), ("10.0.0.10", 5060))
        flow.handshake(conn * 0.001)
        # a small message first, so the direction is handed over at rest
        hello = sip(
            f"OPTIONS sip:x@example.com SIP/2.0\nCall-ID: h{conn}\nCSeq: 1 OPTIONS\n"
            "Content-Length: auto\n"
        )
        flow.send(1 + conn * 0.001, 0, hello)
        flows.append(flow)
    big = {
        conn: sip(
            f"MESSAGE sip:x@example.com SIP/2.0\nCall-ID: m{conn}\nCSeq: 2 MESSAGE\n"
            f"Content-Length: auto\n\n{'x' * 60_000}"
        )
        for conn in range(300)
    }
    offsets = dict.fromkeys(range(300), 0)
    t = 2.0
    while any(offsets[c] < len(big[c]) for c in offsets):
        for conn, flow in enumerate(flows):
            data = big[conn]
            at = offsets[conn]
            if at >= len(data):
                continue
            piece = data[at : at + 1460]
            frame = flow._segment(0, flow.seq[0] + at, flow.seq[1], ACK | PSH, piece)
            b.add(t, frame)
            t += 0.0001
            offsets[conn] = at + len(piece)
    path = tmp_path / "held.pcap"
    b.write(str(path))
    taken = compare(path, monkeypatch)
    # The hellos are Python's (each direction's first bytes decide what it speaks); the big
    # messages that fitted in 16 MiB are the fast path's, about 16 MiB / 60 kB of them.
    assert 250 <= taken < 300
