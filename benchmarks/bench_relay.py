"""How fast does lyncdump follow MS-TURN relayed media, as an Edge server's capture holds it?

    python benchmarks/bench_relay.py [--allocations 100] [--seconds 11] [--repeat 3]

Builds a capture of MS-TURN allocations over UDP 3478 (Allocate, Set Active Destination, both
answered), each followed by raw RTP both ways between client and Edge for ``--seconds`` at
20 ms (at least 100,000 packets by default): the media lyncdump rewrites to the relayed flow
and counts on the allocation's peer. In the same run it times ``lyncdump --summary`` with the
compiled fast path and in pure Python (``LYNCDUMP_PURE_PYTHON=1``), and ``tshark -q -z
rtp,streams``, and prints packets per second and the ratios. tshark has no notion of MS-TURN
relaying, so it finds no RTP stream here: the ratio compares reading the same file, not the
same work. The check is lyncdump's own: every allocation's peer counts every packet, and the
two paths print the same summary.
"""

from __future__ import annotations

import argparse
import os
import shutil
import struct
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tools"))
from bench_read import _ipv4_udp  # noqa: E402
from bench_rtp import timed  # noqa: E402
from scenario_turn import _addr, _ms, _tid  # noqa: E402

EDGE = "198.51.100.10"


def build(path: Path, allocations: int, seconds: float) -> int:
    """Write the capture; returns the number of relayed RTP packets."""
    records: list[tuple[float, bytes]] = []
    t0 = 1_767_225_600.0
    edge = bytes(map(int, EDGE.split(".")))
    version = (0x8008, (3).to_bytes(4, "big"))
    key = b"edge-credential"
    per_direction = int(seconds / 0.02)
    rtp = 0
    for n in range(allocations):
        client = bytes([10, 4, n // 250, 1 + n % 250])
        cport, relay_port = 50000 + n % 1000, 50000 + n
        t = t0 + n * 0.05

        def up(at: float, data: bytes, client: bytes = client, cport: int = cport) -> None:
            records.append((at, _ipv4_udp(client, edge, cport, 3478, data)))

        def down(at: float, data: bytes, client: bytes = client, cport: int = cport) -> None:
            records.append((at, _ipv4_udp(edge, client, 3478, cport, data)))

        tid = _tid(2 * n)
        up(t, _ms(0x0003, tid, [version], key))
        granted = [(0x000D, (480).to_bytes(4, "big")),
                   (0x0001, _addr(EDGE, relay_port, tid, False)), version]  # fmt: skip
        down(t + 0.01, _ms(0x0103, tid, granted, key))
        tid = _tid(2 * n + 1)
        peer = (0x0011, _addr(f"203.0.113.{1 + n % 250}", 40000 + n, tid, False))
        up(t + 0.02, _ms(0x0006, tid, [version, peer], key))
        down(t + 0.03, _ms(0x0106, tid, [version], key))
        for i in range(per_direction):
            at = t + 0.05 + i * 0.02
            up(at, struct.pack("!BBHII", 0x80, 0, i, 160 * i, 0x1000 + n) + bytes(160))
            down(at + 0.003, struct.pack("!BBHII", 0x80, 0, i, 160 * i, 0x9000 + n) + bytes(160))
            rtp += 2
    records.sort(key=lambda r: r[0])
    with open(path, "wb") as fh:
        fh.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for ts, frame in records:
            sec = int(ts)
            usec = int(round((ts - sec) * 1e6))
            fh.write(struct.pack("<IIII", sec, usec, len(frame), len(frame)))
            fh.write(frame)
    return rtp


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--allocations", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=11.0)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "relay.pcap"
        rtp = build(path, args.allocations, args.seconds)
        print(f"capture: {rtp} relayed RTP packets on {args.allocations} MS-TURN allocations, "
              f"{path.stat().st_size / 1e6:.1f} MB")  # fmt: skip
        cmd = [sys.executable, "-m", "lyncdump.cli", "--summary", str(path)]
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env.pop("LYNCDUMP_PURE_PYTHON", None)
        runs = [timed(cmd, env) for _ in range(args.repeat)]
        ours = min(r[0] for r in runs)
        print(f"lyncdump --summary:        {ours:7.2f} s  {rtp / ours:10,.0f} RTP packets/s")
        pure_env = dict(env, LYNCDUMP_PURE_PYTHON="1")
        pruns = [timed(cmd, pure_env) for _ in range(args.repeat)]
        pure = min(r[0] for r in pruns)
        same = "same summary" if pruns[0][2] == runs[0][2] else "DIFFERENT summary"
        print(f"  same, pure Python:       {pure:7.2f} s  {rtp / pure:10,.0f} RTP packets/s"
              f"  ({same})")  # fmt: skip
        counted = 0
        for line in runs[0][2].splitlines():
            if "RTP streams" in line:
                print(f"lyncdump says: {line.strip()}")
        detail = subprocess.run(
            [sys.executable, "-m", "lyncdump.cli", "--json", str(path)],
            env=env, capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
        for line in detail.splitlines():
            if '"packets_to_peer"' in line:
                counted += line.count('"packets_to_peer"')
        print(f"allocations with relayed counts in the JSON: {counted} of {args.allocations}")
        tshark = shutil.which("tshark")
        if tshark is None:
            print("tshark not installed: no ratio")
            return
        tcmd = [tshark, "-n", "-r", str(path), "-q", "-z", "rtp,streams"]
        theirs = min(timed(tcmd)[0] for _ in range(args.repeat))
        print(f"tshark -z rtp,streams:     {theirs:7.2f} s  (finds no stream: no MS-TURN relaying)")
        print(f"ratio: lyncdump is {theirs / ours:.2f}x as fast as tshark reading the same file; "
              f"pure Python {theirs / pure:.2f}x")  # fmt: skip


if __name__ == "__main__":
    main()
