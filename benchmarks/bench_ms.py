"""What Microsoft SIP decoding costs, side by side with tshark in the same run.

Builds a pcap of the Lync messages of the MS samples (NTLM sign-in with real signatures, IM,
presence, C3P) repeated over UDP, then times:

1. lyncdump parsing only (``Capture.messages()``),
2. lyncdump parsing + the ladder text (facts with NTLM/Kerberos/XML/IM decoding, sign-in and
   conversation summaries), the default output,
3. the same with ``--ntlm-password`` (every NTLM proof and signature checked),
4. tshark -V on the same file (decode as SIP, full detail), the peer.

Run: ``python benchmarks/bench_ms.py [copies]`` (default 200 copies, about 9,000 messages).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))

from pcapgen import Builder  # noqa: E402

import lyncdump  # noqa: E402
from lyncdump.render import msview  # noqa: E402
from lyncdump.render import text as render_text  # noqa: E402

SAMPLES = (
    "lync-remote-ntlm.pcapng",
    "lync-im-conversation.pcapng",
    "lync-presence.pcapng",
    "lync-conference-c3p.pcapng",
    "lync-signin-failed.pcapng",
)


def build(path: str, copies: int) -> int:
    """Every sample message, ``copies`` times, each copy with its own Call-IDs."""
    raws = []
    for name in SAMPLES:
        for m in lyncdump.open(str(ROOT / "captures" / name)).messages():
            raws.append(m.raw)
    b = Builder()
    t = 0.0
    count = 0
    for i in range(copies):
        suffix = f"-{i}".encode()
        for raw in raws:
            head, sep, body = raw.partition(b"\r\n\r\n")
            lines = []
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"call-id:"):
                    line += suffix
                lines.append(line)
            b.udp(t, "10.1.2.50", 5060, "10.1.1.10", 5060, b"\r\n".join(lines) + sep + body)
            t += 0.001
            count += 1
    b.write(path)
    return count


def ladder(path: str, **options: object) -> int:
    cap = lyncdump.open(path, **options)
    sessions = cap.sessions()
    n = 0
    for s in sessions:
        for _line in render_text.session_lines(s):
            n += 1
        for _line in msview.session_extra_lines(s, sessions):
            n += 1
    return n


def timed(label: str, fn, messages: int) -> float:  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    fn()
    elapsed = time.perf_counter() - start
    print(f"{label:<44} {elapsed:7.3f} s  {messages / elapsed:10,.0f} msg/s")
    return elapsed


def main() -> None:
    copies = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    folder = tempfile.mkdtemp()
    try:
        path = os.path.join(folder, "ms.pcap")
        messages = build(path, copies)
        print(f"{messages} SIP messages in {os.path.getsize(path) / 1e6:.1f} MB")
        parse = timed("lyncdump parse only", lambda: lyncdump.open(path).messages(), messages)
        full = timed("lyncdump ladder with MS decoding", lambda: ladder(path), messages)
        checked = timed(
            "lyncdump ladder + --ntlm-password",
            lambda: ladder(path, ntlm_password="Pa55w.rd"),
            messages,
        )
        peer = None
        if shutil.which("tshark"):
            cmd = ["tshark", "-r", path, "-V", "-d", "udp.port==5060,sip"]
            peer = timed(
                "tshark -V (peer)",
                lambda: subprocess.run(cmd, stdout=subprocess.DEVNULL, check=False),
                messages,
            )
        print(f"MS decoding + ladder costs {full / parse:.2f}× parsing alone")
        print(f"password checks add {checked / full:.2f}× to the ladder")
        if peer:
            print(
                f"ratio tshark -V / lyncdump ladder: {peer / full:.2f} (above 1: lyncdump faster)"
            )
    finally:
        shutil.rmtree(folder)


if __name__ == "__main__":
    main()
