"""Key derivation against OpenSSL 3.0 (`openssl kdf ... TLS1-PRF` / `HKDF`, run once; the
literal outputs are below) and the cipher-suite table against the IANA registry names."""

from __future__ import annotations

from lyncdump.tls.decrypt import hkdf_expand_label, prf
from lyncdump.tls.suites import SUITES, suite_name


def test_tls12_prf_sha256_matches_openssl() -> None:
    # openssl kdf -keylen 48 -kdfopt digest:SHA2-256 -kdfopt hexsecret:000102..0f
    #   -kdfopt seed:"test labelseed" TLS1-PRF
    out = prf(0x0303, "sha256", bytes(range(16)), b"test label", b"seed", 48)
    assert out.hex() == (
        "5901d25d7aaa63b54928db939d66f6f12dd75314edb658d1a6f5d680645005a7"
        "48d20ca0965150d37761a149597c3f0b"
    )


def test_tls12_prf_sha384_matches_openssl() -> None:
    out = prf(0x0303, "sha384", bytes(range(16)), b"test label", b"seed", 48)
    assert out.hex() == (
        "4c0c8216210e1c622125713ee2e5f4fb141855662cbc41804a36863aa08feeeb"
        "02dab2cb81ece5d7c613c61d2b9e0291"
    )


def test_tls10_prf_md5_sha1_with_odd_secret_matches_openssl() -> None:
    # digest:MD5-SHA1, a 17-byte secret: the two halves share their middle byte (RFC 2246 §5)
    out = prf(0x0301, "sha256", bytes(range(17)), b"test label", b"seed", 40)
    assert out.hex() == (
        "3c2007c8d207cad8007e7f43d852d96987aeb51265949922448c067191dd381da0f1e8bbdaeb238b"
    )


def test_hkdf_expand_label_matches_openssl_hkdf_expand() -> None:
    # openssl kdf HKDF mode:EXPAND_ONLY with info = 0010 09 "tls13 key" 00
    assert hkdf_expand_label(bytes(range(32)), b"key", b"", 16, "sha256").hex() == (
        "9c9783cf77ea32d44f369da41f19f3cc"
    )
    assert hkdf_expand_label(bytes(range(32)), b"iv", b"", 12, "sha384").hex() == (
        "b767e85898db3ad8971893b1"
    )


def test_suite_names_follow_the_iana_registry() -> None:
    assert suite_name(0xC030) == "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"
    assert suite_name(0x002F) == "TLS_RSA_WITH_AES_128_CBC_SHA"
    assert suite_name(0x000A) == "TLS_RSA_WITH_3DES_EDE_CBC_SHA"
    assert suite_name(0x0005) == "TLS_RSA_WITH_RC4_128_SHA"
    assert suite_name(0xC0A0) == "TLS_RSA_WITH_AES_128_CCM_8"
    assert suite_name(0xCCA8) == "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256"
    assert suite_name(0x1302) == "TLS_AES_256_GCM_SHA384"
    assert suite_name(0x1304) == "TLS_AES_128_CCM_SHA256"
    assert suite_name(0xABCD) == "0xABCD"
    assert SUITES[0xC028].prf_hash == "sha384" and SUITES[0xC027].prf_hash == "sha256"
    assert SUITES[0x0035].mac_size == 20 and SUITES[0x009C].mac_size == 0
