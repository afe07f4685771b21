"""Record a Lync sign-in over TLS 1.3 with KeyUpdates, made by OpenSSL itself (issue 15).

    python tools/record_tls13_keyupdate.py   # writes captures/lync-tls13-keyupdate.pcapng

Python's ssl module runs client and server over memory BIOs (tests/tls/tls_recorder.py, the
project's TLS recorder: the same OpenSSL state machine as on a socket); the sign-in of
tools/scenario_tls.py (REGISTER, NTLM challenge, REGISTER, 200, an IM) goes over it, and
OpenSSL's own SSL_key_update (reached through ctypes, as Python has no call for it) makes the
client send a KeyUpdate asking the server to update too before the second REGISTER, and the
server update on its own before the IM's answer. The NSS key log is embedded as a pcapng
Decryption Secrets Block. TLS randomness makes every recording different: the capture is
committed, and its expected outputs follow it (tools/update_expected.py).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
sys.path.insert(0, str(ROOT / "tests" / "tls"))  # the recorder the TLS tests use

import scenario_tls  # noqa: E402
import tls_recorder as rec  # noqa: E402

OUT = ROOT / "captures" / "lync-tls13-keyupdate.pcapng"


def main() -> None:
    messages = scenario_tls.conversation()
    with tempfile.TemporaryDirectory() as tmp:
        keylog = Path(tmp) / "keys.log"
        server, client = rec.contexts(rec.server_identity(), Path(tmp), keylog=keylog)
        recording = rec.run(server, client, messages, key_updates={2: (0, True), 5: (1, False)})
        assert recording.version == "TLSv1.3", recording.version
        rec.write_capture(OUT, [recording], secrets=keylog.read_bytes())
    print(f"wrote {OUT.relative_to(ROOT)} ({recording.cipher})")


if __name__ == "__main__":
    main()
