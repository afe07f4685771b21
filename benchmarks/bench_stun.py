"""STUN parse throughput: lyncdump.media.stun.parse against dpkt.stun in the same run.

Both parse the header and walk the attributes (dpkt: ``STUN(buf)`` + ``parse_attrs``) of the
same messages: every UDP STUN payload of a corpus capture (default teams.pcap and stun.pcap,
or the files given); best of 7 alternating rounds of 0.3 s each.

    python benchmarks/bench_stun.py [CAPTURE...]
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import dpkt
import dpkt.stun

from lyncdump.capture import open_capture
from lyncdump.media import stun as s
from lyncdump.model import DefectLog
from lyncdump.net.decode import PacketDecoder

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"


def payloads(paths: list[Path]) -> list[bytes]:
    out = []
    for path in paths:
        decoder = PacketDecoder(DefectLog())
        with open_capture(str(path)) as reader:
            for n, (ts, linktype, data) in enumerate(reader.frames(), 1):
                d = decoder.decode(n, ts, linktype, data)
                if d and d[0] == 17 and d[5] and s.is_stun_datagram(d[5]):
                    out.append(bytes(d[5]))
    return out


def rate(fn, messages: list[bytes], seconds: float = 0.3) -> float:  # type: ignore[no-untyped-def]
    count = 0
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        for m in messages:
            fn(m)
        count += len(messages)
    return count / (time.perf_counter() - start)


def best(fn, messages: list[bytes], other, rounds: int = 7) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """Best of several alternating rounds: a shared machine's noise hits both sides alike."""
    a = b = 0.0
    for _ in range(rounds):
        a = max(a, rate(fn, messages))
        b = max(b, rate(other, messages))
    return a, b


def ours(m: bytes) -> None:
    s.parse(m)


def peer(m: bytes) -> None:
    msg = dpkt.stun.STUN(m)
    dpkt.stun.parse_attrs(msg.data)


def main() -> None:
    paths = [Path(p) for p in sys.argv[1:]] or [CORPUS / "teams.pcap", CORPUS / "stun.pcap"]
    messages = payloads(paths)
    if not messages:
        sys.exit("no STUN messages found")
    mine, theirs = best(ours, messages, peer)
    print(f"{len(messages)} STUN messages from {', '.join(p.name for p in paths)}")
    print(f"lyncdump.media.stun.parse  {mine:12,.0f} msg/s")
    print(f"dpkt.stun + parse_attrs    {theirs:12,.0f} msg/s")
    print(f"ratio lyncdump/dpkt        {mine / theirs:12.2f}")


if __name__ == "__main__":
    main()
