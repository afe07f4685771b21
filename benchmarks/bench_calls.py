"""What does joining calls to their media cost, next to tshark's call/stream statistics?

    python benchmarks/bench_calls.py [--calls 300] [--seconds 4] [--repeat 3]

Reuses bench_rtp.build (SIP calls with SDP, two G.711 streams each). In the same run it times
``lyncdump --calls`` (a real process: decode, offer/answer, the stream join, outcomes,
findings and the call blocks) and ``tshark -q -z sip,stat -z rtp,streams`` (the statistics
Wireshark's VoIP Calls is made of), prints RTP packets per second and the ratios, by wall
clock and by the child's CPU time (user + system: on a shared machine the steadier of the
two), and checks that every call has its two streams, both joined on both ends. The join
runs once after decoding (``--summary`` joins too, to count calls and findings), so
``--calls`` should cost little more than ``--summary``, which is timed too. Goal: 2x tshark.
The lyncdump processes run without PYTHONDONTWRITEBYTECODE, as an installed package does.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_rtp import build, timed  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "calls.pcap"
        packets = build(path, args.calls, args.seconds)
        lyncdump = [sys.executable, "-m", "lyncdump.cli"]
        runs = {
            "lyncdump --calls": [*lyncdump, "--calls", str(path)],
            "lyncdump --summary": [*lyncdump, "--summary", str(path)],
        }
        if shutil.which("tshark"):
            runs["tshark sip,stat + rtp,streams"] = [
                "tshark", "-q", "-z", "sip,stat", "-z", "rtp,streams", "-r", str(path),
            ]  # fmt: skip
        best: dict[str, float] = {}
        best_cpu: dict[str, float] = {}
        output = ""
        # As an installed package runs: modules compiled once (bench_rtp.py does the same).
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env.pop("LYNCDUMP_PURE_PYTHON", None)
        for name, cmd in runs.items():
            times, cpus = [], []
            for _ in range(args.repeat):
                elapsed, cpu, out = timed(cmd, env)
                times.append(elapsed)
                cpus.append(cpu)
                if name == "lyncdump --calls":
                    output = out
            best[name] = min(times)
            best_cpu[name] = min(cpus)
        for name, seconds in best.items():
            print(
                f"{name:32s} {seconds:7.3f} s wall {best_cpu[name]:7.3f} s CPU  "
                f"{packets / seconds:12,.0f} RTP packets/s"
            )
        peer = "tshark sip,stat + rtp,streams"
        if peer in best:
            wall = best[peer] / best["lyncdump --calls"]
            cpu = best_cpu[peer] / best_cpu["lyncdump --calls"]
            print(f"ratio tshark / lyncdump --calls: {wall:.2f}x wall, {cpu:.2f}x CPU")
        overhead = best["lyncdump --calls"] / best["lyncdump --summary"]
        print(f"--calls vs --summary: {overhead:.2f}x")
        found = output.count("\nCALL  ") + output.startswith("CALL  ")
        with_streams = output.count("  streams 2, ")
        joined = output.count("(both ends")  # a stream joined otherwise would say why
        print(f"calls found {found} of {args.calls}, with both streams {with_streams}")
        if found != args.calls or with_streams != args.calls or joined:
            sys.exit(1)


if __name__ == "__main__":
    main()
