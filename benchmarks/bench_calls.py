"""What does joining calls to their media cost, next to tshark's call/stream statistics?

    python benchmarks/bench_calls.py [--calls 300] [--seconds 4] [--repeat 3]

Reuses bench_rtp.build (SIP calls with SDP, two G.711 streams each). In the same run it times
``lyncdump --calls`` (a real process: decode, offer/answer, the join and the call blocks) and
``tshark -q -z sip,stat -z rtp,streams`` (the statistics Wireshark's VoIP Calls is made of),
prints RTP packets per second and the ratio, and checks that every call has its two streams.
The join runs once after decoding, so ``--calls`` should cost little more than ``--summary``,
which is timed too.
"""

from __future__ import annotations

import argparse
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
        output = ""
        for name, cmd in runs.items():
            times = []
            for _ in range(args.repeat):
                elapsed, _rss, out = timed(cmd)
                times.append(elapsed)
                if name == "lyncdump --calls":
                    output = out
            best[name] = min(times)
        for name, seconds in best.items():
            print(f"{name:32s} {seconds:7.3f} s  {packets / seconds:12,.0f} RTP packets/s")
        peer = best.get("tshark sip,stat + rtp,streams")
        if peer:
            print(f"ratio tshark / lyncdump --calls: {peer / best['lyncdump --calls']:.2f}x")
        overhead = best["lyncdump --calls"] / best["lyncdump --summary"]
        print(f"join overhead vs --summary: {overhead:.2f}x")
        found = output.count("\nCALL  ") + output.startswith("CALL  ")
        with_streams = output.count("  streams 2, ")
        print(f"calls found {found} of {args.calls}, with both streams {with_streams}")
        if found != args.calls or with_streams != args.calls:
            sys.exit(1)


if __name__ == "__main__":
    main()
