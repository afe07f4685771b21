"""Routine TLS records opened with libcrypto's EVP interface give what ``decrypt`` gives.

The compiled fast path opens a routine record with its own EVP cipher context, made once per
read state from the key that ``TlsSession.routine_hand`` hands it (AES-128/256-GCM and
ChaCha20-Poly1305, TLS 1.3 and 1.2); ``LYNCDUMP_TLS_EVP=0`` makes it call the state's bound
``decrypt`` as before. Each test decodes captures of real OpenSSL connections
(tests/tls/tls_recorder.py) three ways, EVP, ``decrypt`` and pure Python, and compares
``--json -v``, the keep-all messages and the TLS counters; and checks that the EVP path was
taken at all (``_fastpath.tls_evp_stats``).
"""

from __future__ import annotations

import ctypes
import gc
import ssl
from pathlib import Path
from typing import Any

import pytest

import lyncdump
from lyncdump import fastpath
from lyncdump.tls import decrypt

from ..pipeline.test_sip_tcp_fastpath import _json
from . import tls_recorder as rec
from .test_tls_edge_cases import TLS12, messages
from .test_tls_fastpath_open import (
    TLS13_ONLY,
    _damage,
    _decode_both,
    _mixed,
    _recording,
    _write,
)

pytestmark = pytest.mark.skipif(not fastpath.AVAILABLE, reason="compiled fast path not in use")


def _evp() -> tuple[bool, int, int]:
    from lyncdump import _fastpath

    return _fastpath.tls_evp_stats()  # type: ignore[no-any-return]


def _tls13_suite(ctx: ssl.SSLContext, suite: str) -> None:
    """Python's ssl cannot choose TLS 1.3 suites: OpenSSL's SSL_CTX_set_ciphersuites through
    ctypes (the ``SSL_CTX *`` is the first field after the object header of the C
    ``_ssl._SSLContext``, checked against the context's options first)."""
    import _ssl

    lib = ctypes.CDLL(_ssl.__file__)
    try:
        choose, options = lib.SSL_CTX_set_ciphersuites, lib.SSL_CTX_get_options
    except AttributeError:
        pytest.skip("no SSL_CTX_set_ciphersuites in this Python's libssl")
    choose.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
    options.argtypes = [ctypes.c_void_p]
    options.restype = ctypes.c_uint64
    address = id(ctx) + 2 * ctypes.sizeof(ctypes.c_void_p)
    pointer = ctypes.c_void_p.from_address(address).value
    if not pointer or options(pointer) != int(ctx.options) or choose(pointer, suite.encode()) != 1:
        pytest.skip("this Python's SSLContext cannot be reached from ctypes")


def _connection(
    folder: Path, kw: dict[str, Any], suite: str | None, sent: list[tuple[int, bytes]], **run: Any
) -> tuple[rec.Recording, str]:
    """tests/tls/test_tls_fastpath_open.py's _recording, the TLS 1.3 suite chosen."""
    if suite is None:
        return _recording(folder, kw, sent, **run)
    return _recording(folder, kw, sent, prepare=lambda ctx: _tls13_suite(ctx, suite), **run)


def _one_run(path: Path, keys: Path) -> tuple[int, int]:
    """One decode: the records the fast path opened (routine_back) and those of them opened
    with EVP."""
    opened: list[int] = []
    real = decrypt.TlsSession.routine_back

    def spy(self: decrypt.TlsSession, direction: int, state: Any, records: int, *rest: Any) -> None:
        opened.append(records)
        real(self, direction, state, records, *rest)

    before = _evp()[1]
    with pytest.MonkeyPatch.context() as m:
        m.setattr(decrypt.TlsSession, "routine_back", spy)
        lyncdump.open(path, keylog=keys).run()
    return sum(opened), _evp()[1] - before


def _three_ways(
    path: Path, keys: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[int, int, list[dict[str, Any]]]:
    """_decode_both (compiled against pure Python) with EVP and again with LYNCDUMP_TLS_EVP=0,
    the same results both times: (records opened with EVP, records opened in C, counters) of
    one decode."""
    opened, _, counts = _decode_both(path, keys, monkeypatch)
    evp_json = _ndjson(path, keys)
    in_c, with_evp = _one_run(path, keys)
    with monkeypatch.context() as m:
        m.setenv("LYNCDUMP_TLS_EVP", "0")
        opened_off, _, counts_off = _decode_both(path, keys, monkeypatch)
        assert _ndjson(path, keys) == evp_json
        assert _one_run(path, keys) == (in_c, 0)  # switched off: decrypt only
    assert (opened_off, counts_off) == (opened, counts)
    return with_evp, in_c, counts


def _ndjson(path: Path, keys: Path) -> list[str]:
    return _json(path, keylog=str(keys))


# (TLS version options, TLS 1.3 suite or None, suite name the capture must show, run options)
SUITES: list[tuple[dict[str, Any], str | None, str, dict[str, Any]]] = [
    (TLS13_ONLY, "TLS_AES_128_GCM_SHA256", "TLS_AES_128_GCM_SHA256", {}),
    (TLS13_ONLY, "TLS_AES_256_GCM_SHA384", "TLS_AES_256_GCM_SHA384", {}),
    (TLS13_ONLY, "TLS_CHACHA20_POLY1305_SHA256", "TLS_CHACHA20_POLY1305_SHA256", {}),
    ({"ciphers": "ECDHE-RSA-AES128-GCM-SHA256", **TLS12}, None, "AES_128_GCM", {}),
    ({"ciphers": "ECDHE-RSA-AES256-GCM-SHA384", **TLS12}, None, "AES_256_GCM", {}),
    ({"ciphers": "ECDHE-RSA-CHACHA20-POLY1305", **TLS12}, None, "CHACHA20_POLY1305", {}),
]


@pytest.mark.parametrize("kw,suite,shown,run", SUITES, ids=[s[2] for s in SUITES])
def test_each_aead_opens_alike_with_evp(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    kw: dict[str, Any],
    suite: str | None,
    shown: str,
    run: dict[str, Any],
) -> None:
    """Two connections of one AEAD: one clean with many records (SIP messages cut across
    records and several in one), one with two damaged tags (the failed records are Python's,
    which notes them as before) and, in TLS 1.3, key updates both ways."""
    if not _evp()[0]:
        pytest.skip("libcrypto's EVP functions not found: only decrypt is used")
    clean, log1 = _connection(tmp_path / "a", kw, suite, _mixed(40), close=True, **run)
    updates = {4: (0, True), 9: (1, False), 14: (0, False)} if kw is TLS13_ONLY else {}
    damaged, log2 = _connection(tmp_path / "b", kw, suite, _mixed(20), key_updates=updates)
    _damage(damaged, 3)
    _damage(damaged, 7)
    keys = tmp_path / "k.keys"
    keys.write_text(log1 + log2)
    path = _write(tmp_path / "evp.pcap", [clean, damaged], 1400, {})
    with_evp, opened, counts = _three_ways(path, keys, monkeypatch)
    assert all(shown in c["cipher_suite"] for c in counts), counts
    assert with_evp == opened and opened > 60  # every record opened in C was EVP's
    assert counts[0]["failed_records"] == 0
    assert counts[1]["failed_records"] == 2
    if kw is TLS13_ONLY and counts[1].get("key_updates", 0):
        assert counts[1]["key_updates"] >= 3


def test_evp_across_segment_sizes_and_lost_bytes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Records cut in small segments, and lost bytes (the direction resynchronises in Python
    and is handed back with a new sequence number), in TLS 1.3 and TLS 1.2."""
    if not _evp()[0]:
        pytest.skip("libcrypto's EVP functions not found: only decrypt is used")
    one, log1 = _recording(tmp_path / "a", TLS13_ONLY, _mixed(24), close=True)
    two, log2 = _recording(tmp_path / "b", {"ciphers": "ECDHE-RSA-AES128-GCM-SHA256", **TLS12},
                           _mixed(24))  # fmt: skip
    keys = tmp_path / "k.keys"
    keys.write_text(log1 + log2)
    lose = {0: len(one.chunks) - 8, 1: len(two.chunks) - 8}
    for segment in (500, 7):
        path = _write(tmp_path / f"s{segment}.pcap", [one, two], segment, lose)
        with_evp, opened, counts = _three_ways(path, keys, monkeypatch)
        assert with_evp == opened and opened > 10
        assert all(c["decrypted_records"] for c in counts)


def test_ccm_is_left_to_decrypt(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An AEAD the fast path has no EVP name for (here: TLS 1.3 AES-128-CCM) is opened in C
    with the state's decrypt."""
    if not _evp()[0]:
        pytest.skip("libcrypto's EVP functions not found: only decrypt is used")
    recording, log = _connection(
        tmp_path / "a", TLS13_ONLY, "TLS_AES_128_CCM_SHA256", messages(8), close=True
    )
    keys = tmp_path / "k.keys"
    keys.write_text(log)
    path = _write(tmp_path / "ccm.pcap", [recording], 1400, {})
    with_evp, opened, counts = _three_ways(path, keys, monkeypatch)
    if "CCM" not in counts[0]["cipher_suite"]:
        pytest.skip("this OpenSSL would not negotiate TLS_AES_128_CCM_SHA256")
    assert with_evp == 0 and opened > 8


@pytest.mark.parametrize("how", ["key", "name", "size"])
def test_a_key_the_scan_cannot_use_falls_back_to_decrypt(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    """A hand whose key or AEAD name does not fit is still taken, and opened with decrypt.
    (The records Python opens are opened with the AEAD here: with ``tls_evp_decrypt`` they
    would have made the state's context from its own key already, which the scan then
    finds on the state whatever the hand says.)"""
    recording, log = _recording(tmp_path / "a", TLS13_ONLY, messages(6))
    keys = tmp_path / "k.keys"
    keys.write_text(log)
    path = _write(tmp_path / "c.pcap", [recording], 1400, {})
    real = decrypt.TlsSession.routine_hand

    def spoiled(self: decrypt.TlsSession, direction: int) -> tuple[Any, ...] | None:
        hand = real(self, direction)
        if hand is None:
            return None
        h = list(hand)
        if how == "key":
            h[10] = None
        elif how == "name":
            h[11] = "aes-512-gcm"
        else:
            h[10] = h[10][:-1]
        return tuple(h)

    before = _evp()[1]
    with pytest.MonkeyPatch.context() as m:
        m.setattr(decrypt.TlsSession, "routine_hand", spoiled)
        m.setattr(decrypt, "_EVP_DECRYPT", None)
        opened, _, counts = _decode_both(path, keys, monkeypatch)
    assert _evp()[1] == before
    assert opened >= 8 and counts[0]["failed_records"] == 0


def test_the_context_lives_on_the_read_state(tmp_path: Path) -> None:
    """One EVP context per read state, made at its first hand and kept on it (``_evp``) for
    the hands after, and freed with it."""
    if not _evp()[0]:
        pytest.skip("libcrypto's EVP functions not found: only decrypt is used")
    recording, log = _recording(tmp_path / "a", TLS13_ONLY, messages(6))
    keys = tmp_path / "k.keys"
    keys.write_text(log)
    path = _write(tmp_path / "c.pcap", [recording], 9, {})  # (handed back and again, often)
    hands: list[tuple[Any, ...]] = []
    real = decrypt.TlsSession.routine_hand

    def spy(self: decrypt.TlsSession, direction: int) -> tuple[Any, ...] | None:
        hand = real(self, direction)
        if hand is not None:
            hands.append(hand)
        return hand

    gc.collect()
    live = _evp()[2]
    with pytest.MonkeyPatch.context() as m:
        m.setattr(decrypt.TlsSession, "routine_hand", spy)
        lyncdump.open(path, keylog=keys).run()
    states = {id(h[0]): h[0] for h in hands}
    assert len(hands) > len(states) >= 2
    assert all(type(s._evp).__name__ == "PyCapsule" for s in states.values())
    assert _evp()[2] == live + len(states)  # one each, held by the states only
    hands.clear()
    states.clear()
    gc.collect()
    assert _evp()[2] == live
