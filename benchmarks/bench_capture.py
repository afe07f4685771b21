"""How fast lyncdump reads capture files, side by side with dpkt and scapy in the same run.

Builds a pcap of 200k small frames (and the same frames as pcapng and gzip'd pcap) in a
temporary folder with dpkt's writers, then times a full pass over the frames with each reader
and prints frames/s and ratios. Run: ``python benchmarks/bench_capture.py [frames]``.
"""

from __future__ import annotations

import gzip
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable

import dpkt
from scapy.utils import RawPcapReader

from lyncdump.capture import open_capture


def build(folder: str, count: int) -> dict[str, str]:
    """The same ``count`` 60..124-byte frames as pcap, pcapng and pcap.gz."""
    frames = [bytes([i & 0xFF]) * (60 + i % 64) for i in range(count)]
    paths = {name: os.path.join(folder, name) for name in ("bench.pcap", "bench.pcapng")}
    with open(paths["bench.pcap"], "wb") as f:
        w = dpkt.pcap.Writer(f)
        for i, frame in enumerate(frames):
            w.writepkt(frame, ts=1_700_000_000 + i * 0.001)
    with open(paths["bench.pcapng"], "wb") as f:
        wng = dpkt.pcapng.Writer(f)
        for i, frame in enumerate(frames):
            wng.writepkt(frame, ts=1_700_000_000 + i * 0.001)
    paths["bench.pcap.gz"] = os.path.join(folder, "bench.pcap.gz")
    with open(paths["bench.pcap"], "rb") as src, gzip.open(paths["bench.pcap.gz"], "wb") as dst:
        shutil.copyfileobj(src, dst)
    return paths


def ours(path: str) -> int:
    n = 0
    with open_capture(path) as reader:
        for _ts, _lt, _data in reader.frames():
            n += 1
    return n


def dpkt_pcap(path: str) -> int:
    n = 0
    with open(path, "rb") as f:
        for _ts, _data in dpkt.pcap.Reader(f):
            n += 1
    return n


def dpkt_pcapng(path: str) -> int:
    n = 0
    with open(path, "rb") as f:
        for _ts, _data in dpkt.pcapng.Reader(f):
            n += 1
    return n


def scapy_raw(path: str) -> int:
    n = 0
    with RawPcapReader(path) as reader:
        for _data, _meta in reader:
            n += 1
    return n


def timed(fn: Callable[[str], int], path: str, repeat: int = 5) -> tuple[float, int]:
    """Best of ``repeat`` runs: frames per second, frames."""
    best = float("inf")
    n = 0
    for _ in range(repeat):
        t0 = time.perf_counter()
        n = fn(path)
        best = min(best, time.perf_counter() - t0)
    return n / best, n


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 200_000
    with tempfile.TemporaryDirectory() as folder:
        paths = build(folder, count)
        rows = [
            ("pcap", "lyncdump", ours, paths["bench.pcap"]),
            ("pcap", "dpkt.pcap.Reader", dpkt_pcap, paths["bench.pcap"]),
            ("pcap", "scapy RawPcapReader", scapy_raw, paths["bench.pcap"]),
            ("pcapng", "lyncdump", ours, paths["bench.pcapng"]),
            ("pcapng", "dpkt.pcapng.Reader", dpkt_pcapng, paths["bench.pcapng"]),
            ("pcapng", "scapy RawPcapReader", scapy_raw, paths["bench.pcapng"]),
            ("pcap.gz", "lyncdump", ours, paths["bench.pcap.gz"]),
        ]
        print(f"{count} frames of 60-123 bytes; best of 5 runs")
        print(f"{'format':8} {'reader':22} {'frames/s':>12} {'lyncdump is':>12}")
        base: dict[str, float] = {}
        for fmt, name, fn, path in rows:
            rate, n = timed(fn, path)
            if n != count:
                raise SystemExit(f"{name} read {n} frames of {fmt}, expected {count}")
            if name == "lyncdump":
                base[fmt] = rate
                ratio = ""
            else:
                ratio = f"{base[fmt] / rate:.1f}x faster"
            print(f"{fmt:8} {name:22} {rate:12,.0f} {ratio:>12}")


if __name__ == "__main__":
    main()
