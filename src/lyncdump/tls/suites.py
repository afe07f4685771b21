"""The cipher suites lyncdump decrypts (IANA TLS Cipher Suite registry), as a table.

Each entry names the key exchange (which kind of key can decrypt it), the record protection
(cipher, mode, key and fixed-IV sizes) and the MAC / PRF hash.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class CipherSuite:
    code: int
    name: str
    kx: str  # RSA, DHE_RSA, DHE_DSS, ECDHE_RSA, ECDHE_ECDSA, TLS13
    cipher: str  # AES, 3DES, RC4, CHACHA20, NULL
    mode: str  # CBC, GCM, CCM, CCM8, STREAM, POLY1305
    key_size: int
    iv_size: int  # fixed IV from the key block (CBC: block size, for TLS 1.0 chaining)
    mac: str  # hashlib name of the MAC (CBC/stream) or of the PRF/HKDF (AEAD)

    @property
    def aead(self) -> bool:
        return self.mode in ("GCM", "CCM", "CCM8", "POLY1305")

    @property
    def mac_size(self) -> int:
        if self.aead:
            return 0
        return {"md5": 16, "sha1": 20, "sha256": 32, "sha384": 48}[self.mac]

    @property
    def prf_hash(self) -> str:
        """TLS 1.2 PRF / TLS 1.3 HKDF hash: SHA-384 for the *_SHA384 suites, else SHA-256."""
        return "sha384" if self.mac == "sha384" else "sha256"

    @property
    def rsa_key_exchange(self) -> bool:
        return self.kx == "RSA"


_ENCODINGS = {
    "NULL": ("NULL", "STREAM", 0, 0),
    "RC4_128": ("RC4", "STREAM", 16, 0),
    "3DES_EDE_CBC": ("3DES", "CBC", 24, 8),
    "AES_128_CBC": ("AES", "CBC", 16, 16),
    "AES_256_CBC": ("AES", "CBC", 32, 16),
    "AES_128_GCM": ("AES", "GCM", 16, 4),
    "AES_256_GCM": ("AES", "GCM", 32, 4),
    "AES_128_CCM": ("AES", "CCM", 16, 4),
    "AES_256_CCM": ("AES", "CCM", 32, 4),
    "AES_128_CCM_8": ("AES", "CCM8", 16, 4),
    "AES_256_CCM_8": ("AES", "CCM8", 32, 4),
    "CHACHA20_POLY1305": ("CHACHA20", "POLY1305", 32, 12),
}

_MACS = {"MD5": "md5", "SHA": "sha1", "SHA256": "sha256", "SHA384": "sha384"}

# (code, key exchange, encryption, MAC name as in the suite name; "" for CCM suites)
_TABLE = [
    (0x0001, "RSA", "NULL", "MD5"),
    (0x0002, "RSA", "NULL", "SHA"),
    (0x003B, "RSA", "NULL", "SHA256"),
    (0x0004, "RSA", "RC4_128", "MD5"),
    (0x0005, "RSA", "RC4_128", "SHA"),
    (0x000A, "RSA", "3DES_EDE_CBC", "SHA"),
    (0x002F, "RSA", "AES_128_CBC", "SHA"),
    (0x0035, "RSA", "AES_256_CBC", "SHA"),
    (0x003C, "RSA", "AES_128_CBC", "SHA256"),
    (0x003D, "RSA", "AES_256_CBC", "SHA256"),
    (0x009C, "RSA", "AES_128_GCM", "SHA256"),
    (0x009D, "RSA", "AES_256_GCM", "SHA384"),
    (0xC09C, "RSA", "AES_128_CCM", ""),
    (0xC09D, "RSA", "AES_256_CCM", ""),
    (0xC0A0, "RSA", "AES_128_CCM_8", ""),
    (0xC0A1, "RSA", "AES_256_CCM_8", ""),
    (0x0013, "DHE_DSS", "3DES_EDE_CBC", "SHA"),
    (0x0032, "DHE_DSS", "AES_128_CBC", "SHA"),
    (0x0038, "DHE_DSS", "AES_256_CBC", "SHA"),
    (0x0040, "DHE_DSS", "AES_128_CBC", "SHA256"),
    (0x006A, "DHE_DSS", "AES_256_CBC", "SHA256"),
    (0x00A2, "DHE_DSS", "AES_128_GCM", "SHA256"),
    (0x00A3, "DHE_DSS", "AES_256_GCM", "SHA384"),
    (0x0016, "DHE_RSA", "3DES_EDE_CBC", "SHA"),
    (0x0033, "DHE_RSA", "AES_128_CBC", "SHA"),
    (0x0039, "DHE_RSA", "AES_256_CBC", "SHA"),
    (0x0067, "DHE_RSA", "AES_128_CBC", "SHA256"),
    (0x006B, "DHE_RSA", "AES_256_CBC", "SHA256"),
    (0x009E, "DHE_RSA", "AES_128_GCM", "SHA256"),
    (0x009F, "DHE_RSA", "AES_256_GCM", "SHA384"),
    (0xCCAA, "DHE_RSA", "CHACHA20_POLY1305", "SHA256"),
    (0xC09E, "DHE_RSA", "AES_128_CCM", ""),
    (0xC09F, "DHE_RSA", "AES_256_CCM", ""),
    (0xC0A2, "DHE_RSA", "AES_128_CCM_8", ""),
    (0xC0A3, "DHE_RSA", "AES_256_CCM_8", ""),
    (0xC011, "ECDHE_RSA", "RC4_128", "SHA"),
    (0xC012, "ECDHE_RSA", "3DES_EDE_CBC", "SHA"),
    (0xC013, "ECDHE_RSA", "AES_128_CBC", "SHA"),
    (0xC014, "ECDHE_RSA", "AES_256_CBC", "SHA"),
    (0xC027, "ECDHE_RSA", "AES_128_CBC", "SHA256"),
    (0xC028, "ECDHE_RSA", "AES_256_CBC", "SHA384"),
    (0xC02F, "ECDHE_RSA", "AES_128_GCM", "SHA256"),
    (0xC030, "ECDHE_RSA", "AES_256_GCM", "SHA384"),
    (0xCCA8, "ECDHE_RSA", "CHACHA20_POLY1305", "SHA256"),
    (0xC007, "ECDHE_ECDSA", "RC4_128", "SHA"),
    (0xC008, "ECDHE_ECDSA", "3DES_EDE_CBC", "SHA"),
    (0xC009, "ECDHE_ECDSA", "AES_128_CBC", "SHA"),
    (0xC00A, "ECDHE_ECDSA", "AES_256_CBC", "SHA"),
    (0xC023, "ECDHE_ECDSA", "AES_128_CBC", "SHA256"),
    (0xC024, "ECDHE_ECDSA", "AES_256_CBC", "SHA384"),
    (0xC02B, "ECDHE_ECDSA", "AES_128_GCM", "SHA256"),
    (0xC02C, "ECDHE_ECDSA", "AES_256_GCM", "SHA384"),
    (0xCCA9, "ECDHE_ECDSA", "CHACHA20_POLY1305", "SHA256"),
    (0xC0AC, "ECDHE_ECDSA", "AES_128_CCM", ""),
    (0xC0AD, "ECDHE_ECDSA", "AES_256_CCM", ""),
    (0xC0AE, "ECDHE_ECDSA", "AES_128_CCM_8", ""),
    (0xC0AF, "ECDHE_ECDSA", "AES_256_CCM_8", ""),
    (0x1301, "TLS13", "AES_128_GCM", "SHA256"),
    (0x1302, "TLS13", "AES_256_GCM", "SHA384"),
    (0x1303, "TLS13", "CHACHA20_POLY1305", "SHA256"),
    (0x1304, "TLS13", "AES_128_CCM", "SHA256"),
    (0x1305, "TLS13", "AES_128_CCM_8", "SHA256"),
]


def _build() -> dict[int, CipherSuite]:
    out = {}
    for code, kx, enc, mac in _TABLE:
        cipher, mode, key_size, iv_size = _ENCODINGS[enc]
        if kx == "TLS13":
            name = f"TLS_{enc}_{mac}"
        else:
            name = f"TLS_{kx}_WITH_{enc}" + (f"_{mac}" if mac else "")
        out[code] = CipherSuite(
            code, name, kx, cipher, mode, key_size, iv_size, _MACS.get(mac, "sha256")
        )
    return out


SUITES: dict[int, CipherSuite] = _build()


def suite_name(code: int) -> str:
    suite = SUITES.get(code)
    return suite.name if suite is not None else f"0x{code:04X}"
