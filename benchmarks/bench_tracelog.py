"""How fast does lyncdump read Lync trace logs, next to the same SIP messages in a capture?

Usage: python benchmarks/bench_tracelog.py [--copies 1000] [--rounds 3]

Takes the 27 SIP messages of captures/sip-udp-call.pcap and writes them ``copies`` times as a
server log, a UccApi client log (tools/make_tracelogs.py formats) and a pcap of UDP datagrams
(tools/pcapgen.py). Times ``lyncdump --summary`` on each (a new process, as a user runs it) and
tshark reading the pcap (``-q -z sip,stat``), the peer; prints messages/s and ratios. The best
of ``rounds`` runs counts.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))

from make_tracelogs import server_log, uccapi_log  # noqa: E402
from pcapgen import Builder  # noqa: E402

import lyncdump  # noqa: E402


def build(tmp: Path, copies: int) -> tuple[dict[str, Path], int]:
    messages = lyncdump.open(ROOT / "captures" / "sip-udp-call.pcap").messages()
    first = messages[0]
    assert first.src is not None and first.dst is not None
    client = first.src
    paths = {
        "server log": tmp / "bench.server.log",
        "UccApi log": tmp / "bench.uccapilog",
        "pcap": tmp / "bench.pcap",
    }
    server_text = server_log(messages, first.dst, "0")
    client_text = uccapi_log(messages, client, "1F68:C14")
    paths["server log"].write_text(server_text * copies, encoding="utf-8")
    paths["UccApi log"].write_text(client_text * copies, encoding="utf-8")
    b = Builder()
    t = 0.0
    for _ in range(copies):
        for m in messages:
            assert m.src is not None and m.dst is not None
            t += 0.001
            b.udp(t, m.src.ip, m.src.port, m.dst.ip, m.dst.port, m.raw)
    b.write(str(paths["pcap"]))
    return paths, len(messages) * copies


def best_of(rounds: int, cmd: list[str]) -> float:
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        subprocess.run(cmd, capture_output=True, check=True)
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp_name:
        paths, count = build(Path(tmp_name), args.copies)
        lyncdump_cmd = [sys.executable, "-m", "lyncdump.cli", "--summary"]
        rows = []
        for label, path in paths.items():
            seconds = best_of(args.rounds, [*lyncdump_cmd, str(path)])
            rows.append((f"lyncdump {label}", path, seconds))
        tshark = shutil.which("tshark")
        if tshark:
            seconds = best_of(
                args.rounds, [tshark, "-r", str(paths["pcap"]), "-q", "-z", "sip,stat"]
            )
            rows.append(("tshark pcap (peer)", paths["pcap"], seconds))
        print(f"{count} SIP messages per input")
        print(f"{'reader':<24} {'MB':>7} {'seconds':>8} {'messages/s':>11} {'vs tshark':>9}")
        peer = rows[-1][2] if tshark else None
        for label, path, seconds in rows:
            ratio = f"{peer / seconds:.2f}x" if peer else "-"
            size = path.stat().st_size / 1e6
            print(f"{label:<24} {size:>7.1f} {seconds:>8.3f} {count / seconds:>11,.0f} {ratio:>9}")


if __name__ == "__main__":
    main()
