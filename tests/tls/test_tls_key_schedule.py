"""The TLS 1.3 traffic key and IV derivation (one HMAC key set up for both) against RFC 8448
§3 and against two :func:`hkdf_expand_label` calls; the AEAD of a read state made at its
first use gives what one made up front would."""

from __future__ import annotations

import os

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM, ChaCha20Poly1305

from lyncdump.tls import decrypt
from lyncdump.tls.decrypt import (
    _AeadState,
    _Tls13State,
    _traffic_key_iv,
    hkdf_expand_label,
)
from lyncdump.tls.suites import SUITES

#: RFC 8448 §3 (Simple 1-RTT Handshake, TLS_AES_128_GCM_SHA256): traffic secret, key, IV.
RFC8448 = [
    (  # server handshake
        "b67b7d690cc16c4e75e54213cb2d37b4e9c912bcded9105d42befd59d391ad38",
        "3fce516009c21727d0f2e4e86ee403bc",
        "5d313eb2671276ee13000b30",
    ),
    (  # client handshake
        "b3eddb126e067f35a780b3abf45e2d8f3b1a950738f52e9600746a0e27a55a21",
        "dbfaa693d1762c5b666af5d950258d01",
        "5bd3c71b836e0b76bb73265f",
    ),
    (  # server application 0
        "a11af9f05531f856ad47116b45a950328204b4f44bfb6b3a4b4f1f3fcb631643",
        "9f02283b6c9c07efc26bb9f2ac92e356",
        "cf782b88dd83549aadf1e984",
    ),
    (  # client application 0
        "9e40646ce79a7f9dc05af8889bce6552875afa0b06df0087f792ebb7c17504a5",
        "17422dda596ed5d9acd890e3c63f5051",
        "5b78923dee08579033e523d9",
    ),
]


@pytest.mark.parametrize(("secret", "key", "iv"), RFC8448)
def test_traffic_key_and_iv_match_rfc8448(secret: str, key: str, iv: str) -> None:
    got = _traffic_key_iv(bytes.fromhex(secret), 16, "sha256")
    assert (got[0].hex(), got[1].hex()) == (key, iv)
    state = _Tls13State(SUITES[0x1301], bytes.fromhex(secret))
    assert state.key.hex() == key and state.iv == int(iv, 16)


@pytest.mark.parametrize(
    ("hashname", "size", "key_size"),
    [("sha256", 32, 16), ("sha256", 32, 32), ("sha384", 48, 32), ("sha384", 48, 16)],
)
def test_traffic_key_and_iv_match_hkdf_expand_label(
    hashname: str, size: int, key_size: int
) -> None:
    for n in range(20):
        secret = os.urandom(size) if n else bytes(size)
        assert _traffic_key_iv(secret, key_size, hashname) == (
            hkdf_expand_label(secret, b"key", b"", key_size, hashname),
            hkdf_expand_label(secret, b"iv", b"", 12, hashname),
        )
    long_secret = os.urandom(200)  # longer than the hash's block: hashed first (RFC 2104)
    assert _traffic_key_iv(long_secret, key_size, hashname) == (
        hkdf_expand_label(long_secret, b"key", b"", key_size, hashname),
        hkdf_expand_label(long_secret, b"iv", b"", 12, hashname),
    )


def test_tls13_state_makes_its_aead_at_the_first_record(monkeypatch: pytest.MonkeyPatch) -> None:
    # (without the compiled tls_evp_decrypt, or without a context from it: see
    # tests/tls/test_tls_evp_python_open.py for the state opened with its EVP context)
    monkeypatch.setattr(decrypt, "_EVP_DECRYPT", None)
    secret, key, iv = (bytes.fromhex(x) for x in RFC8448[3])
    state = _Tls13State(SUITES[0x1301], secret)
    assert state.decrypt is None
    header = b"\x17\x03\x03\x00\x16"
    sealed = AESGCM(key).encrypt(iv, b"hello\x17", header)
    assert state.open(header, sealed) == (0x17, b"hello")
    assert state.decrypt is not None and state.seq == 1
    # late_decrypt (what the fast path calls without its own context) opens alike
    other = _Tls13State(SUITES[0x1301], secret)
    assert other.late_decrypt(iv, sealed, header) == b"hello\x17"
    assert other.decrypt is not None


def test_tls12_aead_state_makes_its_aead_at_the_first_record(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(decrypt, "_EVP_DECRYPT", None)  # (as above)
    suite = SUITES[0xCCA8]  # ChaCha20-Poly1305: nonce = IV XOR sequence
    key, iv = bytes(range(32)), bytes(range(12))
    state = _AeadState(suite, key, iv)
    assert state.aead is None
    header = b"\x17\x03\x03\x00\x15"
    aad = bytes(8) + header[:3] + (5).to_bytes(2, "big")
    sealed = ChaCha20Poly1305(key).encrypt(iv, b"hello", aad)
    assert state.open(header, sealed) == (0x17, b"hello")
    assert state.aead is not None
