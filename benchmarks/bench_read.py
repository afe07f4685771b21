"""How fast does ``lyncdump --summary`` read a SIP + RTP capture, next to tshark and dpkt?

    python benchmarks/bench_read.py [--calls 200] [--rtp-per-call 500] [--keep FILE]

Builds a capture of calls (INVITE/100/180/200/ACK ... BYE/200 over UDP, RTP both ways), at
least 100,000 packets by default, then times in the same run:
  - ``lyncdump --summary`` (a real process, start-up included),
  - ``tshark -q -z sip,stat`` (if tshark is installed),
  - plain dpkt parsing of every frame to UDP (pcap.Reader + Ethernet, in-process),
and prints packets per second and the ratios. Goal: lyncdump faster than tshark.
"""

from __future__ import annotations

import argparse
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ETH = b"\x00\x15\x5d\x0a\x0b\x0c\x00\x15\x5d\x01\x02\x03\x08\x00"


def _ipv4_udp(src: bytes, dst: bytes, sport: int, dport: int, payload: bytes) -> bytes:
    total = 20 + 8 + len(payload)
    header = struct.pack("!BBHHHBBH4s4s", 0x45, 0, total, 0, 0x4000, 64, 17, 0, src, dst)
    csum = 0
    for i in range(0, 20, 2):
        csum += (header[i] << 8) | header[i + 1]
    while csum > 0xFFFF:
        csum = (csum & 0xFFFF) + (csum >> 16)
    header = header[:10] + struct.pack("!H", ~csum & 0xFFFF) + header[12:]
    return ETH + header + struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload


def _sip(lines: list[str], body: str = "") -> bytes:
    text = "\r\n".join(lines) + f"\r\nContent-Length: {len(body)}\r\n\r\n" + body
    return text.encode()


def build(path: Path, calls: int, rtp_per_call: int) -> int:
    """Write the capture; returns the number of packets."""
    a, b = bytes([10, 1, 0, 5]), bytes([10, 1, 0, 9])
    records: list[tuple[float, bytes]] = []
    t0 = 1_767_225_600.0
    for c in range(calls):
        t = t0 + c * 2.0
        call_id = f"bench-{c}@10.1.0.5"
        common = [
            f"Via: SIP/2.0/UDP 10.1.0.5:5060;branch=z9hG4bK{c}",
            f'From: "A" <sip:a{c}@example.com>;tag=f{c}',
            f"To: <sip:b{c}@example.com>;tag=t{c}",
            f"Call-ID: {call_id}",
        ]
        sdp = (
            f"v=0\r\no=- {c} 1 IN IP4 10.1.0.5\r\ns=-\r\nc=IN IP4 10.1.0.5\r\nt=0 0\r\n"
            f"m=audio {20000 + 2 * c} RTP/AVP 0\r\n"
        )
        msgs = [
            (
                0.0,
                a,
                b,
                _sip(
                    [
                        f"INVITE sip:b{c}@example.com SIP/2.0",
                        *common,
                        "CSeq: 1 INVITE",
                        "Content-Type: application/sdp",
                    ],
                    sdp,
                ),
            ),
            (0.01, b, a, _sip(["SIP/2.0 100 Trying", *common, "CSeq: 1 INVITE"])),
            (0.05, b, a, _sip(["SIP/2.0 180 Ringing", *common, "CSeq: 1 INVITE"])),
            (
                0.2,
                b,
                a,
                _sip(
                    ["SIP/2.0 200 OK", *common, "CSeq: 1 INVITE", "Content-Type: application/sdp"],
                    sdp,
                ),
            ),
            (0.21, a, b, _sip([f"ACK sip:b{c}@example.com SIP/2.0", *common, "CSeq: 1 ACK"])),
        ]
        for dt, s, d, payload in msgs:
            records.append((t + dt, _ipv4_udp(s, d, 5060, 5060, payload)))
        for i in range(rtp_per_call):
            rtp = struct.pack("!BBHII", 0x80, 0, i & 0xFFFF, 160 * i, 0x1000 + c) + b"\xff" * 160
            src, dst = (a, b) if i % 2 == 0 else (b, a)
            records.append(
                (t + 0.22 + i * 0.002, _ipv4_udp(src, dst, 20000 + 2 * c, 30000 + 2 * c, rtp))
            )
        end = t + 0.25 + rtp_per_call * 0.002
        records.append(
            (
                end,
                _ipv4_udp(
                    a,
                    b,
                    5060,
                    5060,
                    _sip([f"BYE sip:b{c}@example.com SIP/2.0", *common, "CSeq: 2 BYE"]),
                ),
            )
        )
        records.append(
            (
                end + 0.01,
                _ipv4_udp(b, a, 5060, 5060, _sip(["SIP/2.0 200 OK", *common, "CSeq: 2 BYE"])),
            )
        )
    records.sort(key=lambda r: r[0])
    with open(path, "wb") as fh:
        fh.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for ts, frame in records:
            sec = int(ts)
            usec = int(round((ts - sec) * 1e6))
            fh.write(struct.pack("<IIII", sec, usec, len(frame), len(frame)))
            fh.write(frame)
    return len(records)


def timed(fn) -> float:  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def best_of(n: int, fn) -> float:  # type: ignore[no-untyped-def]
    return min(timed(fn) for _ in range(n))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--rtp-per-call", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--keep", help="also copy the generated capture here")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.pcap"
        packets = build(path, args.calls, args.rtp_per_call)
        if args.keep:
            shutil.copy(path, args.keep)
        size = path.stat().st_size
        print(f"capture: {packets} packets, {size / 1e6:.1f} MB ({args.calls} calls)")

        lyncdump_cmd = [sys.executable, "-m", "lyncdump.cli", "--summary", str(path)]
        check = subprocess.run(lyncdump_cmd, capture_output=True, text=True, check=True)
        sip_line = next(line for line in check.stdout.splitlines() if "SIP messages" in line)
        print(f"lyncdump says: {sip_line.strip()}")
        results: dict[str, float] = {}
        results["lyncdump --summary"] = best_of(
            args.repeat, lambda: subprocess.run(lyncdump_cmd, capture_output=True, check=True)
        )
        tshark = shutil.which("tshark")
        if tshark:
            cmd = [tshark, "-q", "-z", "sip,stat", "-r", str(path)]
            results["tshark -q -z sip,stat"] = best_of(
                args.repeat,
                lambda: subprocess.run(
                    cmd, capture_output=True, check=True, env={**os.environ, "LC_ALL": "C"}
                ),
            )
        else:
            print("tshark not installed: skipping it (apt-get install tshark)")
        try:
            import dpkt

            def dpkt_parse() -> None:
                with open(path, "rb") as fh:
                    for _ts, buf in dpkt.pcap.Reader(fh):
                        eth = dpkt.ethernet.Ethernet(buf)
                        ip = eth.data
                        if isinstance(ip, dpkt.ip.IP) and isinstance(ip.data, dpkt.udp.UDP):
                            _ = ip.data.data

            results["dpkt parse to UDP"] = best_of(args.repeat, dpkt_parse)
        except ImportError:
            print("dpkt not installed: skipping it")

    base = results["lyncdump --summary"]
    print(f"{'reader':<24} {'seconds':>8} {'packets/s':>12} {'lyncdump speed-up':>18}")
    for name, seconds in results.items():
        ratio = seconds / base
        print(f"{name:<24} {seconds:8.3f} {packets / seconds:12,.0f} {ratio:17.2f}x")


if __name__ == "__main__":
    main()
