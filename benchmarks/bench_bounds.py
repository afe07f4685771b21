"""What each bound of docs/architecture.md ("## Bounds") costs when a hostile input fills it.

Each case builds its input with tools/hostile.py (before any measuring starts), runs it through
``lyncdump.open(...).run()`` in a fresh process and prints: the input size, the time of a run
without tracemalloc, the peak of traced Python memory (a second run, under tracemalloc), the
process's peak RSS, and the cost per item. Cases reach the bound or a stated fraction of it
(the cost per item is what scales to the limit).

    python benchmarks/bench_bounds.py              # every case
    python benchmarks/bench_bounds.py stun rtp     # some of them
"""

from __future__ import annotations

import io
import json
import os
import resource
import struct
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))

from hostile import (  # noqa: E402
    TcpConversation,
    pcap,
    sip,
    tcp,
    udp,
)

Case = tuple[bytes, int, str]  # input, items, what an item is


def _half_open(count: int = 20_000) -> Case:
    """TCP connections that send a SYN and one unfinished SIP line (issue 16 item 5); the
    connection table holds 100,000."""
    frames = []
    for n in range(count):
        client = bytes([10, 1 + (n >> 16), (n >> 8) & 255, n & 255])
        conv = TcpConversation(sport=1024 + n % 60000, client=client)
        conv.frames.append(conv._frame(0, b"", 0x02))
        conv.seq[0] += 1
        conv.send(0, b"INVITE sip:bob@contoso.com")
        frames += conv.frames
    return pcap(frames), count, "connection"


def _request(method: str, n: int) -> bytes:
    return sip(
        f"{method} sip:bob@contoso.com SIP/2.0\nVia: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK{n}\n"
        f"From: <sip:alice@contoso.com>;tag={n}\nTo: <sip:bob@contoso.com>\nCall-ID: m-{n}\n"
        f"CSeq: 1 {method}\n\n"
    )


def _methods(count: int = 1_000) -> Case:
    """Requests with 1,000 distinct method names (the counted bound), one each."""
    frames = [udp(_request(f"X{n:04d}", n)) for n in range(count)]
    return pcap(frames), count, "method name"


def _big_message() -> Case:
    """One SIP message of just under 1 MiB (the framing bound) over TCP, in 1400-byte segments."""
    text = sip(
        "MESSAGE sip:bob@contoso.com SIP/2.0\nVia: SIP/2.0/TCP 10.0.0.1:50000;branch=z9hG4bK1\n"
        "From: <sip:a@contoso.com>;tag=1\nTo: <sip:b@contoso.com>\nCall-ID: big-1\n"
        "CSeq: 1 MESSAGE\nContent-Type: text/plain\n\n" + "x" * ((1 << 20) - 400)
    )
    conv = TcpConversation().handshake().send(0, text)
    return pcap(conv.frames), 1, "1 MiB message"


def _many_headers() -> Case:
    """One SIP message with 1,000 headers over TCP."""
    extra = "".join(f"X-H{n}: value-{n}\n" for n in range(990))
    text = sip(
        "MESSAGE sip:bob@contoso.com SIP/2.0\nVia: SIP/2.0/TCP 10.0.0.1:50000;branch=z9hG4bK1\n"
        "From: <sip:a@contoso.com>;tag=1\nTo: <sip:b@contoso.com>\nCall-ID: h-1\n"
        f"CSeq: 1 MESSAGE\n{extra}\n"
    )
    conv = TcpConversation().handshake().send(0, text)
    return pcap(conv.frames), 1, "message of 1,000 headers"


def _sniffed(count: int = 200) -> Case:
    """Directions that send 64 KiB of bytes that are nothing known (the sniff bound)."""
    frames = []
    junk = bytes(range(7, 247)) * 6  # 1440 bytes, no SIP/TLS/STUN start
    for n in range(count):
        conv = TcpConversation(sport=20000 + n, client=bytes([10, 3, n >> 8, n & 255]))
        conv.handshake().send(0, junk * 46, segment=1440)  # 66,240 bytes: past 64 KiB
        frames += conv.frames
    return pcap(frames), count, "direction"


def _held_first(count: int = 500) -> Case:
    """Connections seen mid-way whose first 16 segments come in reverse order (the hold)."""
    frames = []
    for n in range(count):
        client = bytes([10, 4, n >> 8, n & 255])
        base = 100_000
        for i in reversed(range(16)):
            frames.append(tcp(b"y" * 1400, base + i * 1400, 0x18, 30000 + n, 5061, client))
    return pcap(frames), count, "connection"


def _holes(count: int = 20) -> Case:
    """Connections with a hole after the handshake and 1 MiB behind it (the pending bound)."""
    frames = []
    for n in range(count):
        conv = TcpConversation(sport=40000 + n, client=bytes([10, 5, 0, n])).handshake()
        conv.seq[0] += 1400  # the hole
        conv.send(0, b"z" * (1 << 20))
        frames += conv.frames
    return pcap(frames), count, "direction"


def _stun_message(n: int) -> bytes:
    """An ICE connectivity check as Lync sends it (about 100 bytes)."""
    attrs = b"".join(
        struct.pack("!HH", kind, len(value)) + value + b"\0" * (-len(value) % 4)
        for kind, value in (
            (0x0006, b"Abcd+efgh:Ijkl+mnop"),  # USERNAME
            (0x0024, struct.pack("!I", 0x6E7F00FF)),  # PRIORITY
            (0x802A, struct.pack("!Q", n)),  # ICE-CONTROLLING
            (0x0008, bytes(20)),  # MESSAGE-INTEGRITY (no password known: unchecked)
        )
    )
    txid = struct.pack("!I", 0x2112A442) + n.to_bytes(12, "big")
    return struct.pack("!HH", 0x0001, len(attrs)) + txid + attrs


def _stun(count: int = 20_000) -> Case:
    """STUN binding requests on one UDP flow (each one kept for output up to the bound)."""
    frames = [udp(_stun_message(n), 50000, 3478) for n in range(count)]
    return pcap(frames), count, "STUN message"


def _rtp_packet(seq: int, ssrc: int) -> bytes:
    return struct.pack("!BBHII", 0x80, 0, seq, seq * 160, ssrc) + bytes(160)


def _rtp_flows(count: int = 5_000) -> Case:
    """RTP flows of 8 packets each, one SSRC each (the flow bound is 2^18)."""
    frames = []
    for n in range(count):
        src = bytes([10, 6, n >> 8, n & 255])
        for seq in range(8):
            frames.append(udp(_rtp_packet(seq, 0x1000 + n), 20000 + n % 40000, 30000, src))
    return pcap(frames), count, "flow"


def _undecided(count: int = 20_000) -> Case:
    """UDP flows of one maybe-RTP packet of 1,200 bytes each: past the 16 MiB held in all."""
    frames = []
    for n in range(count):
        src = bytes([10, 7, n >> 8, n & 255])
        payload = struct.pack("!BBHII", 0x80, 0, n, n, n) + bytes(1188)
        frames.append(udp(payload, 21000, 31000, src))
    return pcap(frames), count, "flow"


def _maybe_rtp_flows(count: int = 20_000) -> Case:
    """UDP flows of one 32-byte maybe-RTP packet each (the flow bound is 2^18): what an
    undecided flow's own state costs."""
    frames = []
    for n in range(count):
        src = bytes([10, 8, n >> 8, n & 255])
        payload = struct.pack("!BBHII", 0x80, 0, n & 0xFFFF, n, n) + bytes(20)
        frames.append(udp(payload, 21000, 31000, src))
    return pcap(frames), count, "flow"


def _xml_body() -> Case:
    """One SIP message over TCP with a 256 KiB XML body (the parse bound) of nested elements."""
    item = "<e a='1'><f>text</f></e>"
    body = "<root>" + item * ((256 * 1024 - 13) // len(item)) + "</root>"
    text = sip(
        "BENOTIFY sip:bob@contoso.com SIP/2.0\nVia: SIP/2.0/TCP 10.0.0.1:50000;branch=z9hG4bK1\n"
        "From: <sip:a@contoso.com>;tag=1\nTo: <sip:b@contoso.com>\nCall-ID: x-1\n"
        "CSeq: 1 BENOTIFY\nContent-Type: application/rlmi+xml\n\n" + body
    )
    conv = TcpConversation().handshake().send(0, text)
    return pcap(conv.frames), 1, "256 KiB XML body"


def _table_full() -> Case:
    """150,000 half-open connections: past the table's 100,000 the oldest open one leaves for
    each new one (a defect each); what matters is that this stays a constant cost a connection."""
    return _half_open(150_000)


CASES: dict[str, Callable[[], Case]] = {
    "half-open": _half_open,
    "table-full": _table_full,
    "methods": _methods,
    "sip-1mib": _big_message,
    "sip-headers": _many_headers,
    "sniffed": _sniffed,
    "held-first": _held_first,
    "holes": _holes,
    "stun": _stun,
    "rtp": _rtp_flows,
    "undecided": _undecided,
    "flows": _maybe_rtp_flows,
    "xml": _xml_body,
}


def _measure(name: str) -> dict[str, object]:
    """Run one case in this process (called in a child)."""
    import lyncdump

    data, items, item = CASES[name]()
    start = time.perf_counter()
    lyncdump.open(io.BytesIO(data)).run()
    seconds = time.perf_counter() - start
    tracemalloc.start()
    cap = lyncdump.open(io.BytesIO(data))
    cap.run()
    held, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return {
        "case": name,
        "input": len(data),
        "items": items,
        "item": item,
        "seconds": seconds,
        "peak": peak,
        "held": held,
        "rss": rss,
    }


def main(argv: list[str]) -> int:
    if argv[:1] == ["--child"]:
        print(json.dumps(_measure(argv[1])))
        return 0
    names = argv or list(CASES)
    pure = os.environ.get("LYNCDUMP_PURE_PYTHON") == "1"
    print(f"bounds at (a fraction of) their limit; {'pure Python' if pure else 'fast path'}")
    print(
        f"{'case':12} {'input':>9} {'items':>7} {'time':>7} {'peak':>10} {'per item':>10} "
        f"{'held':>10} {'RSS':>9}"
    )
    for name in names:
        out = subprocess.run(
            [sys.executable, __file__, "--child", name], capture_output=True, text=True
        )
        if out.returncode:
            print(f"{name:12} failed: {out.stderr.strip().splitlines()[-1:]}")
            continue
        r = json.loads(out.stdout)
        mb = 1e6
        print(
            f"{name:12} {r['input'] / mb:8.1f}M {r['items']:7} {r['seconds']:6.2f}s "
            f"{r['peak'] / mb:9.1f}M {r['peak'] / r['items']:9.0f}B "
            f"{r['held'] / mb:9.1f}M {r['rss'] / mb:8.0f}M  per {r['item']}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
