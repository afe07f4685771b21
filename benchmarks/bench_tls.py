"""TLS decryption throughput, side by side with tshark decrypting the same capture with the same
key log in the same run.

Records real TLS with Python's ssl (OpenSSL) over memory BIOs — a TLS 1.2 ECDHE AES-128-GCM
connection and a TLS 1.2 RSA AES-128-CBC-SHA256 one — each carrying ``megabytes`` of SIP
MESSAGE requests (about 1 kB each), writes them as pcaps (tests/tls/tls_recorder.py), then
times: lyncdump's TlsSession alone on the recorded bytes (decryption only), the whole lyncdump
pipeline (``lyncdump.open(...).run()``: capture, TCP, TLS, SIP framing and parsing, sessions)
and ``tshark -Y sip`` with the key log (its full dissection, needed for it to decrypt and find
SIP). Prints MB/s of TLS application data and the ratios.

    python benchmarks/bench_tls.py [megabytes]      # default 8
"""

from __future__ import annotations

import os
import shutil
import ssl
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
sys.path.insert(0, str(ROOT))

import lyncdump  # noqa: E402
from lyncdump.tls.decrypt import TlsSession  # noqa: E402
from lyncdump.tls.keys import TlsKeys, read_keylog  # noqa: E402
from tests.tls import tls_recorder as rec  # noqa: E402


def sip_messages(megabytes: float) -> list[tuple[int, bytes]]:
    body = ("Hello from the benchmark. " * 28).encode()
    out = []
    n = 0
    total = 0
    while total < megabytes * 1_000_000:
        n += 1
        msg = (
            f"MESSAGE sip:bob@contoso.com SIP/2.0\r\n"
            f"Via: SIP/2.0/TLS 192.168.10.20:50123;branch=z9hG4bK{n}\r\n"
            f"From: <sip:alice@contoso.com>;tag=a1\r\nTo: <sip:bob@contoso.com>;tag=b1\r\n"
            f"Call-ID: bench-1\r\nCSeq: {n} MESSAGE\r\nContent-Type: text/plain\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        ).encode() + body
        out.append((0, msg))
        total += len(msg)
    return out


def record(
    folder: Path, name: str, ciphers: str, megabytes: float
) -> tuple[Path, Path, rec.Recording]:
    keylog = folder / f"{name}.keys"
    server, client = rec.contexts(
        rec.server_identity(),
        folder,
        keylog=keylog,
        ciphers=ciphers,
        max_version=ssl.TLSVersion.TLSv1_2,
    )
    # Many messages per write, as a busy pool would: records up to 16 kB.
    messages = sip_messages(megabytes)
    batched = []
    for i in range(0, len(messages), 12):
        batched.append((0, b"".join(m for _, m in messages[i : i + 12])))
    recording = rec.run(server, client, batched)
    pcap = recording.write_pcap(folder / f"{name}.pcap", segment=1448)
    return pcap, keylog, recording


def best(fn, repeat: int = 3) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def bench_one(folder: Path, name: str, ciphers: str, megabytes: float, tshark: str | None) -> None:
    pcap, keylog, recording = record(folder, name, ciphers, megabytes)
    count = len(sip_messages(megabytes))
    app = sum(len(m) for d, m in sip_messages(megabytes))
    mb = app / 1e6
    keys = TlsKeys(read_keylog(keylog))

    def decrypt_only() -> None:
        session = TlsSession(keys)
        for direction, data in recording.chunks:
            session.receive_data(direction, data, 1, 0.0)
            session.plaintext.clear()
        assert session.summary.plaintext_bytes == app, session.summary

    def pipeline() -> None:
        capture = lyncdump.open(pcap, keylog=keylog).run()
        assert capture.stats.sip_messages == count

    t_dec = best(decrypt_only)
    t_all = best(pipeline, 1)
    print(f"{name}: {mb:.1f} MB of SIP over TLS, {os.path.getsize(pcap) / 1e6:.1f} MB pcap")
    print(f"  lyncdump TlsSession (decrypt only)  {mb / t_dec:8.1f} MB/s")
    print(f"  lyncdump whole pipeline (SIP)       {mb / t_all:8.1f} MB/s")
    if not tshark:
        print("  tshark not found: no peer measured")
        return
    cmd = [tshark, "-n", "-r", str(pcap), "-o", f"tls.keylog_file:{keylog}", "-Y", "sip"]
    cmd += ["-T", "fields", "-e", "frame.number"]
    t0 = time.perf_counter()
    result = subprocess.run(cmd, capture_output=True, text=True, check=True)
    t_ts = time.perf_counter() - t0
    frames = len(result.stdout.split())
    print(f"  tshark -Y sip with the key log      {mb / t_ts:8.1f} MB/s ({frames} frames with SIP)")
    # Like for like: both decrypt and find every SIP message.
    print(f"  ratio lyncdump pipeline / tshark    {t_ts / t_all:8.2f}x")


def main() -> None:
    megabytes = float(sys.argv[1]) if len(sys.argv) > 1 else 8.0
    tshark = shutil.which("tshark")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        bench_one(folder, "ECDHE-AES128-GCM", "ECDHE-RSA-AES128-GCM-SHA256", megabytes, tshark)
        bench_one(folder, "RSA-AES128-CBC-SHA256", "AES128-SHA256", megabytes, tshark)


if __name__ == "__main__":
    main()
