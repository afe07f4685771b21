"""Key sources: NSS key log lines, pcapng Decryption Secrets, RSA key files; errors name the
file and line, never the secret."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from lyncdump.errors import KeyMaterialError
from lyncdump.tls.keys import (
    SECRETS_TYPE_TLS_KEYLOG,
    KeyLog,
    TlsKeys,
    load_rsa_key,
    read_keylog,
)

CR = bytes(range(32))
SECRET = bytes(range(100, 148))
LINES = f"""# comment
CLIENT_RANDOM {CR.hex()} {SECRET.hex()}
CLIENT_HANDSHAKE_TRAFFIC_SECRET {CR.hex()} {SECRET[:32].hex()}
RSA 0102030405060708 {SECRET.hex()}
UNKNOWN_LABEL {CR.hex()} 00
CLIENT_RANDOM nothex {SECRET.hex()}
only two
"""


def test_key_log_lines() -> None:
    log = KeyLog()
    assert log.add_text(LINES) == 3
    assert log.get("CLIENT_RANDOM", CR) == SECRET
    assert log.get("CLIENT_HANDSHAKE_TRAFFIC_SECRET", CR) == SECRET[:32]
    assert log.get("SERVER_TRAFFIC_SECRET_0", CR) is None
    assert log.rsa_premaster(bytes.fromhex("0102030405060708ffff")) == SECRET
    assert log.bad_lines == [6, 7]


def test_read_keylog_errors_do_not_quote_content(tmp_path: Path) -> None:
    with pytest.raises(KeyMaterialError, match="cannot read it"):
        read_keylog(tmp_path / "missing.log")
    bad = tmp_path / "bad.log"
    bad.write_text(f"CLIENT_RANDOM {CR.hex()}\n")
    with pytest.raises(KeyMaterialError) as info:
        read_keylog(bad)
    assert CR.hex() not in str(info.value) and "no NSS key log line" in str(info.value)
    empty = tmp_path / "empty.log"
    empty.write_text("")
    assert len(read_keylog(empty)) == 0  # an empty log (SSLKEYLOGFILE not written yet) is fine


def test_pcapng_secrets_are_read_when_they_appear() -> None:
    secrets: list[tuple[int, bytes]] = []
    keys = TlsKeys(secrets=secrets)
    assert keys.secret("CLIENT_RANDOM", CR) is None
    secrets.append((0x12345678, b"ignored"))
    secrets.append((SECRETS_TYPE_TLS_KEYLOG, LINES.encode()))
    assert keys.secret("CLIENT_RANDOM", CR) == (SECRET, "pcapng secrets")


def test_key_log_file_wins_the_label(tmp_path: Path) -> None:
    log = KeyLog()
    log.add_text(LINES)
    keys = TlsKeys(log)
    assert keys.secret("CLIENT_RANDOM", CR) == (SECRET, "key log")


def test_session_cache_is_bounded_and_keyed() -> None:
    keys = TlsKeys()
    keys.remember(b"id:\x01", SECRET)
    keys.remember(b"", SECRET)
    assert keys.resumed(b"id:\x01") == SECRET and keys.resumed(b"") is None


def test_non_rsa_key_is_refused(tmp_path: Path) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    path = tmp_path / "ec.pem"
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    with pytest.raises(KeyMaterialError, match="not RSA"):
        load_rsa_key(path)


def test_garbage_key_file(tmp_path: Path) -> None:
    path = tmp_path / "x.pem"
    path.write_bytes(b"-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----\n")
    with pytest.raises(KeyMaterialError, match="not a private key in PEM form"):
        load_rsa_key(path)
    with pytest.raises(KeyMaterialError, match="cannot read it"):
        load_rsa_key(tmp_path / "none.pem")
    raw = tmp_path / "x.der"
    raw.write_bytes(b"\x00" * 40)
    with pytest.raises(KeyMaterialError, match="not a DER private key"):
        load_rsa_key(raw)


def test_options_never_show_the_password() -> None:
    from lyncdump import Options

    assert "pw-123" not in repr(Options(rsa_key_password="pw-123"))
