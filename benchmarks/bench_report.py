"""How big and how quick is the HTML report for 10,000 SIP messages and 1,000 streams?

    python benchmarks/bench_report.py [--calls 500] [--seconds 10] [--ims 4000] [--no-browser]

Builds two captures: ``--calls`` SIP calls with two G.711 streams each (bench_rtp.build: 4 SIP
messages a call, so 500 calls give 1,000 streams and 2,000 messages) and ``--ims`` IM sessions
(MESSAGE + 200 OK over UDP: 4,000 give 8,000 messages). In the same run it times
``lyncdump report`` on both (a real process), ``tshark -z sip,stat -z rtp,streams`` on the same
files as the peer, and prints the report's size; then (unless --no-browser) opens the report
in Debian's chromium and times the first view, the calls table and one call's detail view.
"""

from __future__ import annotations

import argparse
import shutil
import struct
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_rtp import _ipv4_udp, _sip, build, timed  # noqa: E402


def build_ims(path: Path, sessions: int) -> int:
    """IM sessions (MESSAGE and its 200 OK); returns the number of SIP messages."""
    records = []
    t0 = 1_767_225_600.0
    for i in range(sessions):
        a = bytes([10, 4, i // 250 % 250, 1 + i % 250])
        b = bytes([10, 5, i // 250 % 250, 1 + i % 250])
        common = [
            f"Via: SIP/2.0/UDP {'.'.join(map(str, a))}:5060;branch=z9hG4bKim{i}",
            f"From: <sip:u{i}@example.com>;tag=f{i}",
            f"To: <sip:v{i}@example.com>;tag=t{i}",
            f"Call-ID: im-bench-{i}",
        ]
        message = _sip(
            [f"MESSAGE sip:v{i}@example.com SIP/2.0", *common, "CSeq: 1 MESSAGE",
             "Content-Type: text/plain"], f"hello number {i}",
        )  # fmt: skip
        ok = _sip(["SIP/2.0 200 OK", *common, "CSeq: 1 MESSAGE"])
        t = t0 + i * 0.002
        records.append((t, _ipv4_udp(a, b, 5060, 5060, message)))
        records.append((t + 0.001, _ipv4_udp(b, a, 5060, 5060, ok)))
    with open(path, "wb") as fh:
        fh.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for ts, frame in records:
            sec = int(ts)
            usec = int(round((ts - sec) * 1e6))
            fh.write(struct.pack("<IIII", sec, usec, len(frame), len(frame)))
            fh.write(frame)
    return 2 * sessions


def browser_timings(page: Path) -> dict[str, float]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1400,1000"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    out = {}
    try:
        start = time.perf_counter()
        driver.get(page.as_uri())
        out["open (overview)"] = time.perf_counter() - start
        for name, target in (("calls table", "#calls"), ("streams table", "#streams"),
                             ("one call's view", "#call/0"), ("IM table", "#im")):  # fmt: skip
            start = time.perf_counter()
            driver.execute_script("location.hash = arguments[0]", target)
            driver.execute_script("return document.body.offsetHeight")  # layout done
            out[name] = time.perf_counter() - start
    finally:
        driver.quit()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=500)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--ims", type=int, default=4000)
    parser.add_argument("--no-browser", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        calls = Path(tmp) / "calls.pcap"
        ims = Path(tmp) / "ims.pcap"
        rtp = build(calls, args.calls, args.seconds)
        sip = 4 * args.calls + build_ims(ims, args.ims)
        page = Path(tmp) / "report.html"
        report = [sys.executable, "-m", "lyncdump.cli", "report", str(calls), str(ims),
                  "-o", str(page)]  # fmt: skip
        wall, cpu, _ = timed(report)
        size = page.stat().st_size
        print(f"inputs: {sip:,} SIP messages, {2 * args.calls:,} RTP streams, {rtp:,} RTP packets")
        print(f"lyncdump report:            {wall:6.2f} s (CPU {cpu:.2f} s), "
              f"{rtp / wall:,.0f} RTP packets/s; file {size / 1e6:.1f} MB")  # fmt: skip
        if shutil.which("tshark"):
            peer = 0.0
            for path in (calls, ims):
                w, _c, _o = timed(["tshark", "-q", "-z", "sip,stat", "-z", "rtp,streams",
                                   "-r", str(path)])  # fmt: skip
                peer += w
            print(f"tshark sip,stat + rtp,streams: {peer:6.2f} s; ratio {peer / wall:.2f}x")
        if not args.no_browser and Path("/usr/bin/chromedriver").exists():
            for name, seconds in browser_timings(page).items():
                print(f"chromium {name:18s} {seconds:6.2f} s")


if __name__ == "__main__":
    main()
