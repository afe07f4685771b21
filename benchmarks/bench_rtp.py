"""How fast does ``lyncdump --summary`` compute RTP stream quality, next to tshark?

    python benchmarks/bench_rtp.py [--calls 100] [--seconds 11] [--repeat 3] [--srtp]
                                   [--keep FILE]

Builds an RTP-heavy capture: SIP calls (INVITE/200 with SDP, ACK, BYE) each with two G.711
streams at 20 ms, with jitter and a few lost packets, at least 100,000 RTP packets by default.
Then, in the same run, times ``lyncdump --summary --streams-csv`` (a real process, start-up
included) with the compiled fast path and in pure Python (``LYNCDUMP_PURE_PYTHON=1``), and
``tshark -q -z rtp,streams``, prints packets per second and the ratios, and checks that all
give the same stream table (packets and lost exactly, delta and jitter within 0.01 ms).
Goal: lyncdump at least 2x faster than tshark. With ``--srtp`` the SDP carries SDES keys
(``a=crypto`` AES_CM_128_HMAC_SHA1_80) and every RTP packet is SRTP, which lyncdump
authenticates (tshark does not).

The lyncdump processes run without PYTHONDONTWRITEBYTECODE, as an installed package does
(its modules compiled once); the first of the repeats pays for that compilation.
"""

from __future__ import annotations

import argparse
import base64
import csv
import os
import random
import resource
import shutil
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_read import _ipv4_udp, _sip  # noqa: E402


def build(path: Path, calls: int, seconds: float, srtp: bool = False) -> int:
    """Write the capture; returns the number of RTP packets."""
    rng = random.Random(20260101)
    if srtp:
        from lyncdump.media.srtp import SrtpContext
    records: list[tuple[float, bytes]] = []
    t0 = 1_767_225_600.0
    rtp_packets = 0
    per_stream = int(seconds / 0.02)
    for c in range(calls):
        a = bytes([10, 2, c // 250, 1 + c % 250])
        b = bytes([10, 3, c // 250, 1 + c % 250])
        t = t0 + c * 0.05
        common = [
            f"Via: SIP/2.0/UDP {'.'.join(map(str, a))}:5060;branch=z9hG4bK{c}",
            f"From: <sip:a{c}@example.com>;tag=f{c}",
            f"To: <sip:b{c}@example.com>;tag=t{c}",
            f"Call-ID: rtp-bench-{c}",
        ]

        keys = [bytes(rng.randrange(256) for _ in range(30)) for _ in range(2)]

        def sdp(ip: bytes, port: int, c: int = c, key: bytes = b"") -> str:
            text = ".".join(map(str, ip))
            crypto = ""
            if srtp:
                inline = base64.b64encode(key).decode()
                crypto = f"a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:{inline}\r\n"
            return (
                f"v=0\r\no=- {c} 1 IN IP4 {text}\r\ns=-\r\nc=IN IP4 {text}\r\nt=0 0\r\n"
                f"m=audio {port} RTP/{'SAVP' if srtp else 'AVP'} 8 101\r\n"
                f"a=rtpmap:101 telephone-event/8000\r\n{crypto}"
            )

        invite = _sip(
            [f"INVITE sip:b{c}@example.com SIP/2.0", *common, "CSeq: 1 INVITE",
             "Content-Type: application/sdp"], sdp(a, 20000, key=keys[0]),
        )  # fmt: skip
        ok = _sip(
            ["SIP/2.0 200 OK", *common, "CSeq: 1 INVITE", "Content-Type: application/sdp"],
            sdp(b, 30000, key=keys[1]),
        )
        records.append((t, _ipv4_udp(a, b, 5060, 5060, invite)))
        records.append((t + 0.01, _ipv4_udp(b, a, 5060, 5060, ok)))
        records.append((t + 0.02, _ipv4_udp(a, b, 5060, 5060, _sip(
            [f"ACK sip:b{c}@example.com SIP/2.0", *common, "CSeq: 1 ACK"]))))  # fmt: skip
        for direction, (src, dst, sport, dport) in enumerate(
            ((a, b, 20000, 30000), (b, a, 30000, 20000))
        ):
            ssrc = 0x10000000 + 2 * c + direction
            ctx = SrtpContext(keys[direction][:16], keys[direction][16:]) if srtp else None
            seq = rng.randrange(65536)
            ts = rng.randrange(1 << 32)
            for i in range(per_stream):
                if rng.random() < 0.002:  # lost on the way: never captured
                    continue
                rtp = (
                    struct.pack(
                        "!BBHII", 0x80, 8, (seq + i) & 0xFFFF, (ts + 160 * i) & 0xFFFFFFFF, ssrc
                    )
                    + b"\xd5" * 160
                )
                if ctx is not None:
                    roc = (seq + i) >> 16
                    rtp = ctx.protect(rtp, 12, roc=roc)
                arrival = t + 0.05 + i * 0.02 + rng.uniform(0, 0.004)
                records.append((arrival, _ipv4_udp(src, dst, sport, dport, rtp)))
                rtp_packets += 1
        end = t + 0.1 + seconds
        records.append((end, _ipv4_udp(a, b, 5060, 5060, _sip(
            [f"BYE sip:b{c}@example.com SIP/2.0", *common, "CSeq: 2 BYE"]))))  # fmt: skip
    records.sort(key=lambda r: r[0])
    with open(path, "wb") as fh:
        fh.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for ts, frame in records:
            sec = int(ts)
            usec = int(round((ts - sec) * 1e6))
            fh.write(struct.pack("<IIII", sec, usec, len(frame), len(frame)))
            fh.write(frame)
    return rtp_packets


def timed(cmd: list[str], env: dict[str, str] | None = None) -> tuple[float, float, str]:
    """Wall-clock seconds, CPU seconds (user + system) of the child, its standard output."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env).stdout
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    return wall, cpu, out


def tshark_table(text: str) -> dict[tuple[str, str, int], tuple[int, int, list[float]]]:
    table = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) < 17 or not parts[6].startswith("0x"):
            continue
        key = (f"{parts[2]}:{parts[3]}", f"{parts[4]}:{parts[5]}", int(parts[6], 16))
        rest = parts[7:]
        if rest[-1] == "X":
            rest = rest[:-1]
        table[key] = (int(rest[-9]), int(rest[-8]), [float(x) for x in rest[-6:]])
    return table


def lyncdump_table(path: Path) -> dict[tuple[str, str, int], tuple[int, int, list[float]]]:
    table = {}
    with open(path, newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            key = (row["src"], row["dst"], int(row["ssrc"], 16))
            numbers = [float(row[f]) for f in ("min_delta_ms", "mean_delta_ms", "max_delta_ms",
                                               "min_jitter_ms", "mean_jitter_ms",
                                               "max_jitter_ms")]  # fmt: skip
            table[key] = (int(row["packets"]), int(row["lost"]), numbers)
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=11.0)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--srtp", action="store_true", help="SDES keys in SDP, SRTP packets")
    parser.add_argument("--keep", help="also copy the generated capture here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "rtp.pcap"
        csv_path = Path(tmp) / "streams.csv"
        rtp = build(path, args.calls, args.seconds, args.srtp)
        if args.keep:
            shutil.copy(path, args.keep)
        print(f"capture: {rtp} RTP packets in {2 * args.calls} streams, "
              f"{path.stat().st_size / 1e6:.1f} MB")  # fmt: skip
        lyncdump = [sys.executable, "-m", "lyncdump.cli", "--summary",
                    "--streams-csv", str(csv_path), str(path)]  # fmt: skip
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env.pop("LYNCDUMP_PURE_PYTHON", None)
        pure_env = dict(env, LYNCDUMP_PURE_PYTHON="1")
        path_used = subprocess.run(
            [sys.executable, "-c", "from lyncdump import fastpath; print(fastpath.describe())"],
            env=env, capture_output=True, text=True, check=True,
        ).stdout.strip()  # fmt: skip
        print(f"lyncdump runs with the {path_used}")
        runs = [timed(lyncdump, env) for _ in range(args.repeat)]
        ours, ours_cpu = min(r[0] for r in runs), min(r[1] for r in runs)
        print(f"lyncdump --summary:        {ours:7.2f} s  {rtp / ours:10,.0f} RTP packets/s"
              f"  (CPU {ours_cpu:.2f} s)")  # fmt: skip
        pure_table = lyncdump_table(csv_path)
        pruns = [timed(lyncdump, pure_env) for _ in range(args.repeat)]
        pure = min(r[0] for r in pruns)
        same = "identical" if lyncdump_table(csv_path) == pure_table else "DIFFERENT"
        print(f"  same, pure Python:       {pure:7.2f} s  {rtp / pure:10,.0f} RTP packets/s"
              f"  (stream table {same})")  # fmt: skip
        tshark = shutil.which("tshark")
        if tshark is None:
            print("tshark not installed: no ratio")
            return
        cmd = [tshark, "-n", "-r", str(path), "-q", "-z", "rtp,streams"]
        truns = [timed(cmd) for _ in range(args.repeat)]
        theirs, theirs_cpu, text = min(r[0] for r in truns), min(r[1] for r in truns), truns[0][2]
        print(f"tshark -z rtp,streams:     {theirs:7.2f} s  {rtp / theirs:10,.0f} RTP packets/s"
              f"  (CPU {theirs_cpu:.2f} s)")  # fmt: skip
        print(f"ratio: lyncdump is {theirs / ours:.2f}x as fast as tshark "
              f"(CPU time: {theirs_cpu / ours_cpu:.2f}x); pure Python: "
              f"{theirs / pure:.2f}x")  # fmt: skip
        want, got = tshark_table(text), lyncdump_table(csv_path)
        bad = [
            k
            for k in want
            if k not in got
            or got[k][:2] != want[k][:2]
            or any(abs(a - b) > 0.01 for a, b in zip(got[k][2], want[k][2], strict=True))
        ]
        print(
            f"stream table: tshark {len(want)} streams, lyncdump {len(got)}, "
            f"{len(want) - len(bad)} identical" + (f", DIFFERENT: {bad[:3]}" if bad else "")
        )


if __name__ == "__main__":
    main()
