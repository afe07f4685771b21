"""Standard input follows the key log as a live capture does: ``tcpdump -U -w - | lyncdump
--keylog F -`` decrypts TLS whose secrets the application writes after the run started."""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
import time
from pathlib import Path

import scenario_tls

from lyncdump.capture import open_capture
from lyncdump.pipeline.core import follows_keys

from ..tls import tls_recorder as rec

ROOT = Path(__file__).resolve().parents[2]


def _records(pcap: bytes) -> tuple[bytes, list[bytes]]:
    """A little-endian pcap cut into its file header and its records."""
    out, pos = [], 24
    while pos < len(pcap):
        (caplen,) = struct.unpack_from("<I", pcap, pos + 8)
        out.append(pcap[pos : pos + 16 + caplen])
        pos += 16 + caplen
    return pcap[:24], out


def test_standard_input_and_live_follow_files_do_not(tmp_path: Path) -> None:
    path = tmp_path / "one.pcap"
    rec.Recording().write_pcap(path)
    with open_capture(str(path)) as reader:
        assert not follows_keys(reader)
    with path.open("rb") as fh:
        saved = sys.stdin
        sys.stdin = type("Stdin", (), {"buffer": fh})()  # type: ignore[assignment]
        try:
            with open_capture("-") as reader:
                assert reader.name == "<stdin>" and follows_keys(reader)
        finally:
            sys.stdin = saved
    assert follows_keys(type("Live", (), {"format": "live"})())


def test_keys_written_while_standard_input_is_read_decrypt(tmp_path: Path) -> None:
    openssl_log = tmp_path / "openssl.keys"
    server, client = rec.contexts(rec.server_identity(), tmp_path, keylog=openssl_log)
    recording = rec.run(server, client, scenario_tls.conversation())
    pcap = recording.write_pcap(tmp_path / "tls.pcap").read_bytes()
    header, records = _records(pcap)
    keylog = tmp_path / "followed.keys"
    keylog.write_text("")  # empty when the run starts: a file run would decrypt nothing
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    proc = subprocess.Popen(
        [sys.executable, "-m", "lyncdump.cli", "--json", "--keylog", str(keylog), "-"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env=env,
    )
    assert proc.stdin is not None
    # The TCP handshake, ClientHello and the server's flight: the secrets are looked up then.
    proc.stdin.write(header + b"".join(records[:5]))
    proc.stdin.flush()
    time.sleep(2.0)
    keylog.write_text(openssl_log.read_text())
    proc.stdin.write(b"".join(records[5:]))
    proc.stdin.close()
    assert proc.stdout is not None
    out = proc.stdout.read()
    assert proc.wait(timeout=120) == 0
    last = json.loads(out.splitlines()[-1])
    tls = [c["tls"] for c in last["connections"] if c.get("tls")]
    assert tls and all(t["decrypted"] for t in tls)
    sip = [json.loads(line) for line in out.splitlines()[:-1]]
    assert sum(len(s.get("messages", [])) for s in sip) == len(scenario_tls.conversation())
