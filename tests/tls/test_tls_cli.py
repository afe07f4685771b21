"""The TLS side of the command: the Lync sample decoded from its pcapng secrets, from --keylog
and from SSLKEYLOGFILE alike; no key material in any output; bad key files are one clear line."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import lyncdump

from ..conftest import CAPTURES

SAMPLE = CAPTURES / "lync-tls-sipcomp.pcapng"
NOKEYS = CAPTURES / "lync-tls-nokeys.pcap"
KEYLOG = CAPTURES / "lync-tls-sipcomp.keys"


def _run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    environ = {k: v for k, v in os.environ.items() if k != "SSLKEYLOGFILE"}
    environ.update(env or {})
    result = subprocess.run(
        [sys.executable, "-m", "lyncdump.cli", *args],
        capture_output=True,
        text=True,
        env=environ,
        check=False,
    )
    return result.returncode, result.stdout, result.stderr


def test_sample_messages_match_tshark() -> None:
    capture = lyncdump.open(SAMPLE).run()
    # tshark -o tls.keylog_file:lync-tls-sipcomp.keys: SIP (clear inside TLS) in frames 14, 15;
    # decrypted application data of 707, 563, 218, 158, 98+99 and 79 bytes in 16-22 is
    # MS-SIPCOMP, which tshark does not decompress.
    frames = [m.frame for m in capture.messages()]
    assert frames == [14, 15, 16, 17, 18, 19, 21, 22]
    assert [m.method or m.status for m in capture.messages()] == [
        "NEGOTIATE",
        200,
        "REGISTER",
        401,
        "REGISTER",
        200,
        "MESSAGE",
        200,
    ]
    assert [m.compressed for m in capture.messages()] == [False, False] + [True] * 6
    conn = capture.connections[0]
    assert conn.tls is not None
    assert conn.tls.plaintext_bytes == 276 + 302 + 707 + 563 + 218 + 158 + 98 + 99 + 79
    assert conn.tls.decrypted_records == 2 + 9  # both Finished + the application data


def test_keylog_option_and_environment_give_the_pcapng_result() -> None:
    _, with_secrets, _ = _run(str(SAMPLE))
    code, with_option, _ = _run("--keylog", str(KEYLOG), str(NOKEYS))
    assert code == 0
    code, with_env, _ = _run(str(NOKEYS), env={"SSLKEYLOGFILE": str(KEYLOG)})
    assert code == 0
    assert with_option == with_env
    assert with_option.splitlines()[-1] == with_secrets.splitlines()[-1]
    assert "8 SIP messages" in with_option


def test_no_key_material_in_any_output() -> None:
    secrets = re.findall(r"[0-9a-f]{64,}", KEYLOG.read_text())
    assert secrets
    for args in (["-v"], ["--json", "-v"], ["--summary"]):
        code, out, err = _run("--keylog", str(KEYLOG), *args, str(NOKEYS))
        assert code == 0
        for secret in secrets:
            assert secret not in out and secret not in err


def test_json_connection_has_a_tls_object() -> None:
    _, out, _ = _run("--json", "--summary", str(SAMPLE))
    record = json.loads(out.splitlines()[-1])
    tls = record["connections"][0]["tls"]
    assert tls["version"] == "TLS 1.2"
    assert tls["cipher_suite"] == "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"
    assert tls["sni"] == "pool01.contoso.com"
    assert tls["certificate"]["san"][0] == "DNS:pool01.contoso.com"
    assert tls["decrypted"] is True and tls["key_source"] == "pcapng secrets"
    assert tls["needs"] is None and tls["application"] == "sip"
    _, out, _ = _run("--json", "--summary", str(NOKEYS))
    tls = json.loads(out.splitlines()[-1])["connections"][0]["tls"]
    assert tls["decrypted"] is False and tls["note"] == "no TLS keys given"
    assert tls["needs"].startswith("a key log")


def test_bad_key_files_are_one_line_and_exit_2(tmp_path: Path) -> None:
    code, out, err = _run("--keylog", str(tmp_path / "nope.log"), str(NOKEYS))
    assert code == 2 and out == ""
    missing = tmp_path / "nope.log"
    assert err.strip() == (
        f"lyncdump: key log {missing}: cannot read it (No such file or directory)"
    )
    key = tmp_path / "k.pem"
    key.write_text("not a key")
    code, _, err = _run("--rsa-key", str(key), "--rsa-key-password", "hunter2", str(NOKEYS))
    assert code == 2 and "hunter2" not in err and err.count("\n") == 1
    assert err.startswith(f"lyncdump: RSA key {key}: ")


def test_rsa_key_password_from_the_environment(tmp_path: Path) -> None:
    import scenario_tls
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.serialization import pkcs12

    from . import tls_synthetic as syn

    pcap = tmp_path / "rsa.pcap"
    syn.write(pcap, syn.AES128_SHA, 0x0303, scenario_tls.conversation(), rsa=True)
    key = serialization.load_pem_private_key(scenario_tls.SAMPLE_SERVER_KEY.encode(), None)
    pfx = tmp_path / "pool.pfx"
    pfx.write_bytes(
        pkcs12.serialize_key_and_certificates(
            b"pool",
            key,
            None,
            None,
            serialization.BestAvailableEncryption(b"from-env"),  # type: ignore[arg-type]
        )
    )
    code, out, err = _run(
        "--summary", "--rsa-key", str(pfx), str(pcap),
        env={"LYNCDUMP_RSA_KEY_PASSWORD": "from-env"},
    )  # fmt: skip
    assert code == 0, err
    assert "decrypted with RSA key), 6 SIP messages" in out and "from-env" not in out
