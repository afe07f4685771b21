"""Records opened in Python with the read state's EVP context give what the AEAD gives.

With the compiled module, a TLS read state opens the records that come through Python (the
handshake records, the first records under a new key, anything the fast path hands back)
with ``_fastpath.tls_evp_decrypt``: the state's own EVP context, the one the fast path opens
its routine records with, made at the first such record, instead of a ``cryptography`` AEAD
made for the state. ``LYNCDUMP_TLS_EVP=0`` (no context) and the pure-Python path keep the
AEAD. These tests open the same records both ways, state by state (good, wrong key, cut
short, padding only) and on captures of real OpenSSL connections (TLS 1.3 and 1.2, wrong
and missing keys, damaged and truncated records), and compare everything they give.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM, ChaCha20Poly1305

from lyncdump import fastpath
from lyncdump.tls import decrypt
from lyncdump.tls.suites import SUITES

from .test_tls_edge_cases import messages
from .test_tls_evp_open import _evp, _ndjson
from .test_tls_fastpath_open import (
    CHACHA12,
    GCM12,
    TLS13_ONLY,
    _damage,
    _decode_both,
    _recording,
    _write,
)

pytestmark = pytest.mark.skipif(not fastpath.AVAILABLE, reason="compiled fast path not in use")


def _needs_evp() -> None:
    if not _evp()[0]:
        pytest.skip("libcrypto's EVP functions not found: only the AEAD is used")


def _opened(state: decrypt._ReadState, header: bytes, fragment: bytes) -> Any:
    """What the state's open gives: (content type, plaintext), or the _BadRecord's text."""
    try:
        return state.open(header, fragment)
    except decrypt._BadRecord as exc:
        return ("bad", str(exc))


def _seal13(suite_code: int, secret: bytes, seq: int, inner: bytes) -> tuple[bytes, bytes]:
    """A TLS 1.3 record (header, fragment) of ``inner`` (content and type, padding included)
    under ``secret``'s traffic key."""
    suite = SUITES[suite_code]
    key, iv = decrypt._traffic_key_iv(secret, suite.key_size, suite.prf_hash)
    aead = ChaCha20Poly1305(key) if suite.mode == "POLY1305" else AESGCM(key)
    header = b"\x17\x03\x03" + (len(inner) + 16).to_bytes(2, "big")
    nonce = (int.from_bytes(iv, "big") ^ seq).to_bytes(12, "big")
    return header, aead.encrypt(nonce, inner, header)


def _both_ways(
    make: Any, records: list[tuple[bytes, bytes]], monkeypatch: pytest.MonkeyPatch
) -> tuple[list[Any], Any, Any]:
    """The records opened in order by a state made by ``make`` with tls_evp_decrypt and by
    another without it (the AEAD); the two states after."""
    with_evp = make()
    assert with_evp.evp_name is not None
    got = [_opened(with_evp, h, f) for h, f in records]
    with monkeypatch.context() as m:
        m.setattr(decrypt, "_EVP_DECRYPT", None)
        plain = make()
        assert plain.evp_name is None
        want = [_opened(plain, h, f) for h, f in records]
    assert got == want
    assert with_evp.seq == plain.seq == len(records)
    return got, with_evp, plain


@pytest.mark.parametrize("code", [0x1301, 0x1302, 0x1303])
def test_tls13_states_open_alike(code: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Good records (padded or not, empty content), a wrong key, cut-short fragments and
    padding only: the same types, plaintexts and failures, in the same order, and the AEAD
    never made when EVP opens them."""
    _needs_evp()
    secret = os.urandom(SUITES[code].key_size + 16)
    other = bytes(x ^ 1 for x in secret)
    records = [
        _seal13(code, secret, 0, b"hello" + b"\x16"),
        _seal13(code, secret, 1, b"SIP/2.0 200 OK\r\n\r\n" + b"\x17" + b"\0" * 30),
        _seal13(code, secret, 2, b"\x17"),  # an empty application data record
        _seal13(code, other, 3, b"wrong key\x17"),
        _seal13(code, secret, 4, b"\0" * 8),  # padding only: no content type
    ]
    h, f = _seal13(code, secret, 5, b"cut\x17")
    records += [(h, f[:-1]), (h, f[:15]), (h, b""), (h, f[:16])]
    records.append(_seal13(code, secret, 9, b"after\x15"))
    got, with_evp, plain = _both_ways(
        lambda: decrypt._Tls13State(SUITES[code], secret), records, monkeypatch
    )
    assert got[0] == (0x16, b"hello") and got[2] == (0x17, b"")
    assert got[3] == ("bad", "AEAD tag check failed")
    assert got[4] == ("bad", "TLS 1.3 record without a content type")
    assert got[-1] == (0x15, b"after")
    assert with_evp.decrypt is None and type(with_evp._evp).__name__ == "PyCapsule"
    assert plain.decrypt is not None and plain._evp is None


@pytest.mark.parametrize("code", [0xC02F, 0xC030, 0xCCA8])
def test_tls12_states_open_alike(code: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """TLS 1.2 AES-GCM (explicit nonce) and ChaCha20-Poly1305 (IV XOR sequence): good
    records, a wrong key, fragments shorter than the explicit nonce or the tag."""
    _needs_evp()
    suite = SUITES[code]
    key, salt = os.urandom(suite.key_size), os.urandom(12 if suite.mode == "POLY1305" else 4)
    aead = ChaCha20Poly1305(key) if suite.mode == "POLY1305" else AESGCM(key)
    wrong = ChaCha20Poly1305(key[::-1]) if suite.mode == "POLY1305" else AESGCM(key[::-1])

    def seal(seq: int, ctype: int, data: bytes, cipher: Any = aead) -> tuple[bytes, bytes]:
        if suite.mode == "POLY1305":
            nonce, explicit = (int.from_bytes(salt, "big") ^ seq).to_bytes(12, "big"), b""
        else:
            explicit = os.urandom(8)
            nonce = salt + explicit
        header = bytes([ctype]) + b"\x03\x03"
        aad = seq.to_bytes(8, "big") + header + len(data).to_bytes(2, "big")
        frag = explicit + cipher.encrypt(nonce, data, aad)
        return header + len(frag).to_bytes(2, "big"), frag

    records = [seal(0, 22, b"\x14\x00\x00\x0cfinished...."), seal(1, 23, b"INVITE sip:a SIP/2.0")]
    records.append(seal(2, 23, b"wrong key", wrong))
    records.append(seal(3, 23, b""))
    h, f = seal(4, 23, b"cut short")
    records += [(h, f[:-1]), (h, f[:7]), (h, b"")]
    records.append(seal(7, 21, b"\x01\x00"))
    got, with_evp, plain = _both_ways(
        lambda: decrypt._AeadState(suite, key, salt), records, monkeypatch
    )
    assert got[1] == (23, b"INVITE sip:a SIP/2.0") and got[3] == (23, b"")
    assert got[2] == ("bad", "AEAD tag check failed")
    assert got[-1] == (21, b"\x01\x00")
    assert with_evp.aead is None and plain.aead is not None


def test_without_a_context_the_state_keeps_the_aead(monkeypatch: pytest.MonkeyPatch) -> None:
    """``LYNCDUMP_TLS_EVP=0`` (as with libcrypto not found): tls_evp_decrypt answers None,
    the state makes its AEAD and asks no more."""
    secret = os.urandom(48)
    records = [_seal13(0x1302, secret, k, b"x" * k + b"\x17") for k in range(3)]
    monkeypatch.setenv("LYNCDUMP_TLS_EVP", "0")
    state = decrypt._Tls13State(SUITES[0x1302], secret)
    assert [_opened(state, h, f) for h, f in records] == [(23, b"x" * k) for k in range(3)]
    assert state.evp_name is None and state.decrypt is not None and state._evp is None


def test_tls_evp_decrypt_checks_its_arguments() -> None:
    from lyncdump import _fastpath

    state = decrypt._Tls13State(SUITES[0x1301], os.urandom(32))
    with pytest.raises(TypeError):
        _fastpath.tls_evp_decrypt(state, state.key, "aes-128-gcm", b"short", b"x" * 20, b"")
    with pytest.raises(TypeError):
        _fastpath.tls_evp_decrypt(state, state.key, "aes-128-gcm", b"n" * 12, "text", b"")
    with pytest.raises(TypeError):
        _fastpath.tls_evp_decrypt(state, state.key)
    # a name, key or object the EVP path does not know: no context, None
    assert _fastpath.tls_evp_decrypt(state, state.key, "aes-512-gcm", b"n" * 12, b"", b"") is None
    assert _fastpath.tls_evp_decrypt(state, b"k" * 5, "aes-128-gcm", b"n" * 12, b"", b"") is None
    assert (
        _fastpath.tls_evp_decrypt(object(), b"k" * 16, "aes-128-gcm", b"n" * 12, b"", b"") is None
    )
    if _evp()[0]:
        assert (
            _fastpath.tls_evp_decrypt(state, state.key, "aes-128-gcm", b"n" * 12, b"", b"") is False
        )


def _keys_without(log: str, label: str) -> str:
    """The key log without the lines of ``label``, and one of another connection."""
    kept = "".join(line + "\n" for line in log.splitlines() if not line.startswith(label))
    return kept + f"CLIENT_RANDOM {'ab' * 32} {'cd' * 48}\n"


def _keys_spoiled(log: str, label: str) -> str:
    out = []
    for line in log.splitlines():
        if line.startswith(label):
            name, random, secret = line.split()
            line = f"{name} {random} {secret[:-2]}{'00' if secret[-2:] != '00' else '11'}"
        out.append(line + "\n")
    return "".join(out)


# (name, TLS options, key log change: (how, label) or None, damage, cut the last delivery)
CASES: list[tuple[str, dict[str, Any], tuple[str, str] | None, bool, bool]] = [
    ("TLS 1.3", TLS13_ONLY, None, False, False),
    ("TLS 1.3 damaged, cut", TLS13_ONLY, None, True, True),
    ("TLS 1.3 wrong server handshake key", TLS13_ONLY, ("spoil", "SERVER_HANDSHAKE"), False, False),
    ("TLS 1.3 wrong client key", TLS13_ONLY, ("spoil", "CLIENT_TRAFFIC_SECRET_0"), False, False),
    ("TLS 1.3 no server keys", TLS13_ONLY, ("drop", "SERVER_"), False, False),
    ("TLS 1.3 no client handshake key", TLS13_ONLY, ("drop", "CLIENT_HANDSHAKE"), False, True),
    ("TLS 1.2 GCM", GCM12, None, True, True),
    ("TLS 1.2 GCM wrong master", GCM12, ("spoil", "CLIENT_RANDOM"), False, False),
    ("TLS 1.2 GCM no keys", GCM12, ("drop", "CLIENT_RANDOM"), False, False),
    ("TLS 1.2 ChaCha20", CHACHA12, None, True, False),
]


@pytest.mark.parametrize("name,kw,keys,damage,cut", CASES, ids=[c[0] for c in CASES])
def test_real_connections_decode_alike(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    name: str,
    kw: dict[str, Any],
    keys: tuple[str, str] | None,
    damage: bool,
    cut: bool,
) -> None:
    """Compiled (EVP in Python and in the scan) against pure Python, and against the
    compiled path with ``LYNCDUMP_TLS_EVP=0``: the same ``--json -v``, keep-all messages,
    defects and TLS counters; with EVP no ``cryptography`` AEAD is made for a GCM or
    ChaCha20 state at all."""
    recording, log = _recording(tmp_path / "a", kw, messages(16), close=not cut)
    if damage:
        _damage(recording, 2)
    if cut:  # the last client delivery cut in the middle of its record: a truncated record
        at = [k for k, (d, _) in enumerate(recording.chunks) if d == 0][-1]
        direction, data = recording.chunks[at]
        recording.chunks[at] = (direction, data[: max(1, len(data) // 2)])
    if keys is not None:
        how, label = keys
        log = _keys_without(log, label) if how == "drop" else _keys_spoiled(log, label)
    path_keys = tmp_path / "k.keys"
    path_keys.write_text(log)
    path = _write(tmp_path / "c.pcap", [recording], 700, {})
    made: list[int] = []
    real = decrypt._aead

    def counted(suite: Any, key: bytes) -> Any:
        made.append(1)
        return real(suite, key)

    with monkeypatch.context() as m:
        m.setattr(decrypt, "_aead", counted)
        _, _, counts = _decode_both(path, path_keys, monkeypatch)
        with_evp = _ndjson(path, path_keys)
    if _evp()[0]:
        assert not made
    with monkeypatch.context() as m:  # Python's records with the AEAD, the scan's with EVP
        m.setattr(decrypt, "_EVP_DECRYPT", None)
        _, _, counts_aead = _decode_both(path, path_keys, monkeypatch)
        assert _ndjson(path, path_keys) == with_evp
    assert counts_aead == counts
    made.clear()
    with monkeypatch.context() as m:
        m.setenv("LYNCDUMP_TLS_EVP", "0")
        m.setattr(decrypt, "_aead", counted)
        _, _, counts_off = _decode_both(path, path_keys, monkeypatch)
        assert _ndjson(path, path_keys) == with_evp
    assert counts_off == counts
    if keys is None and not damage:
        assert counts[0]["decrypted_records"] > 10 and counts[0]["failed_records"] == 0
    if keys is not None and keys[0] == "spoil":
        assert counts[0]["failed_records"] > 0
