"""One TLS connection, passively: both directions' bytes in, application plaintext out.

Sans-IO like the rest: :class:`TlsSession` is fed each direction's reassembled TCP bytes
(``receive_data``) and collects decrypted application data in ``plaintext`` for the caller to
drain, a :class:`TlsSummary` of the handshake, and defects (bad records, failed MACs/tags).

Key schedule facts used: TLS 1.0/1.1 PRF (MD5 ⊕ SHA-1) and TLS 1.2 PRF (RFC 5246 §5), master
secret and extended master secret (RFC 7627), key block order (RFC 5246 §6.3), CBC with
implicit IV chaining (TLS 1.0) or explicit IV (1.1+), encrypt-then-MAC (RFC 7366), AEAD nonces
(RFC 5288 GCM, RFC 6655 CCM, RFC 7905 ChaCha20-Poly1305), TLS 1.3 HKDF-Expand-Label, record
nonce, inner content type and key update (RFC 8446 §7, §5.2-5.3, §4.6.3).
"""

from __future__ import annotations

import hashlib
import hmac
from abc import ABC, abstractmethod
from typing import Any

from ..errors import MalformedError
from ..fastpath import helper
from ..model import Defect
from .handshake import (
    CERTIFICATE,
    CLIENT_HELLO,
    CLIENT_KEY_EXCHANGE,
    FINISHED,
    HELLO_REQUEST,
    KEY_UPDATE,
    NEW_SESSION_TICKET,
    SERVER_HELLO,
    ClientHello,
    HandshakeAssembler,
    ServerHello,
    parse_certificate,
    parse_client_hello,
    parse_new_session_ticket,
    parse_rsa_client_key_exchange,
    parse_server_hello,
    summarize_certificate,
    version_name,
)
from .keys import TlsKeys
from .records import (
    ALERT,
    APPLICATION_DATA,
    CHANGE_CIPHER_SPEC,
    HANDSHAKE,
    RecordReader,
    TlsRecord,
)
from .suites import SUITES, CipherSuite, suite_name

# Re-exported: they lived here before the summary moved to summary.py (loaded every run).
from .summary import KEYLOG_HINT as KEYLOG_HINT
from .summary import RSA_HINT as RSA_HINT
from .summary import CertificateSummary as CertificateSummary
from .summary import TlsSummary

#: Bound on the handshake transcript kept for the extended master secret (RFC 7627).
MAX_TRANSCRIPT = 512 * 1024

#: After this many records in a row fail their MAC/tag check, a direction stops trying.
MAX_FAILURES_IN_A_ROW = 8

#: After lost TCP bytes, at most this many record sequence numbers are tried on the first
#: record read again, nearest to the estimate first (each try is one MAC or tag check).
MAX_SEQUENCE_SEARCH = 16384

#: Sequence numbers tried after lost bytes in all, per direction. A search that succeeds can be
#: followed by another hole, and a hole's size is only declared (a sequence jump), so with the
#: keys at hand a small input could ask for a full search per segment; past this total the
#: direction is not decrypted any more (about 1 s of MAC or tag checks on 1,400-byte records).
MAX_SEQUENCE_SEARCH_TOTAL = 4 * MAX_SEQUENCE_SEARCH

#: A followed key log (a live run) may not hold a connection's secrets yet when its handshake
#: is read: the application writes them as it derives them, racing the capture. Such a
#: connection holds the records that need the keys and looks again, once per TCP segment that
#: brings it records (either direction) and when it ends, at most this many times in all; then
#: it gives up and its records are counted as not decrypted, as without a key.
MAX_KEY_RETRIES = 8

#: What one waiting connection holds (records, and their bytes), and all of a run's together.
MAX_HELD_RECORDS = 64
MAX_HELD_BYTES = 256 * 1024
MAX_HELD_TOTAL = 8 << 20

ALERT_NAMES = {
    0: "close_notify",
    10: "unexpected_message",
    20: "bad_record_mac",
    22: "record_overflow",
    40: "handshake_failure",
    42: "bad_certificate",
    43: "unsupported_certificate",
    44: "certificate_revoked",
    45: "certificate_expired",
    46: "certificate_unknown",
    47: "illegal_parameter",
    48: "unknown_ca",
    49: "access_denied",
    50: "decode_error",
    51: "decrypt_error",
    70: "protocol_version",
    71: "insufficient_security",
    80: "internal_error",
    86: "inappropriate_fallback",
    90: "user_canceled",
    100: "no_renegotiation",
    109: "missing_extension",
    110: "unsupported_extension",
    112: "unrecognized_name",
    116: "certificate_required",
    120: "no_application_protocol",
}


class _BadRecord(Exception):
    """A record that did not decrypt or authenticate (internal: becomes a defect)."""


# -- key derivation --------------------------------------------------------------------------
def _p_hash(secret: bytes, seed: bytes, length: int, hashname: str) -> bytes:
    out = bytearray()
    a = seed
    while len(out) < length:
        a = hmac.digest(secret, a, hashname)
        out += hmac.digest(secret, a + seed, hashname)
    return bytes(out[:length])


def prf(version: int, hashname: str, secret: bytes, label: bytes, seed: bytes, n: int) -> bytes:
    """The TLS PRF: P_<hash> for TLS 1.2, P_MD5 ⊕ P_SHA1 over the split secret before."""
    if version >= 0x0303:
        return _p_hash(secret, label + seed, n, hashname)
    half = (len(secret) + 1) // 2
    md5 = _p_hash(secret[:half], label + seed, n, "md5")
    sha = _p_hash(secret[len(secret) - half :], label + seed, n, "sha1")
    return (int.from_bytes(md5, "big") ^ int.from_bytes(sha, "big")).to_bytes(n, "big")


def _session_hash(version: int, hashname: str, transcript: bytes) -> bytes:
    if version >= 0x0303:
        return hashlib.new(hashname, transcript).digest()
    return hashlib.md5(transcript).digest() + hashlib.sha1(transcript).digest()


#: hashlib's constructor, block size and digest size of the hashes TLS 1.3 suites use. HMAC
#: made here from them costs about half of ``hmac.digest`` by name, which looks the digest up
#: in OpenSSL 3 on every call: a TLS 1.3 connection derives eight keys and IVs (RFC 2104 HMAC).
_HMAC_HASHES = {"sha256": (hashlib.sha256, 64, 32), "sha384": (hashlib.sha384, 128, 48)}
_IPAD = bytes(x ^ 0x36 for x in range(256))
_OPAD = bytes(x ^ 0x5C for x in range(256))


def _hmac(key: bytes, msg: bytes, hashname: str) -> bytes:
    """HMAC of ``msg`` (RFC 2104): ``hmac.digest``'s value."""
    known = _HMAC_HASHES.get(hashname)
    if known is None:
        return hmac.digest(key, msg, hashname)
    new, block, _ = known
    if len(key) > block:
        key = new(key).digest()
    key = key.ljust(block, b"\0")
    return new(key.translate(_OPAD) + new(key.translate(_IPAD) + msg).digest()).digest()


#: HkdfLabel infos by (label, context, length), without the counter byte: a TLS 1.3
#: connection asks for the same two ("key", "iv") four times (RFC 8446 §7.1, §7.3).
_INFOS: dict[tuple[bytes, bytes, int], bytes] = {}
_MAX_INFOS = 64


def _hkdf_info(label: bytes, context: bytes, n: int) -> bytes:
    info = _INFOS.get((label, context, n))
    if info is None:
        full = b"tls13 " + label
        info = n.to_bytes(2, "big") + bytes([len(full)]) + full + bytes([len(context)]) + context
        if len(_INFOS) < _MAX_INFOS:
            _INFOS[(label, context, n)] = info
    return info


def hkdf_expand_label(secret: bytes, label: bytes, context: bytes, n: int, hashname: str) -> bytes:
    """RFC 8446 §7.1 HKDF-Expand-Label (HKDF-Expand of RFC 5869 over the HkdfLabel info)."""
    info = _hkdf_info(label, context, n)
    out = bytearray()
    block = b""
    counter = 1
    while len(out) < n:
        block = _hmac(secret, block + info + bytes([counter]), hashname)
        out += block
        counter += 1
    return bytes(out[:n])


def _traffic_key_iv(secret: bytes, key_size: int, hashname: str) -> tuple[bytes, bytes]:
    """RFC 8446 §7.3: the traffic key and IV of a traffic secret, as two
    :func:`hkdf_expand_label` calls give them; one HMAC key set up for both (each is one
    HKDF block: no AEAD key or IV is longer than the hash)."""
    known = _HMAC_HASHES.get(hashname)
    if known is None or key_size > known[2]:
        return (
            hkdf_expand_label(secret, b"key", b"", key_size, hashname),
            hkdf_expand_label(secret, b"iv", b"", 12, hashname),
        )
    new, block, _ = known
    pad = (secret if len(secret) <= block else new(secret).digest()).ljust(block, b"\0")
    inner, outer = new(pad.translate(_IPAD)), new(pad.translate(_OPAD))
    out = []
    for info in (_hkdf_info(b"key", b"", key_size), _hkdf_info(b"iv", b"", 12)):
        i = inner.copy()
        i.update(info + b"\x01")
        o = outer.copy()
        o.update(i.digest())
        out.append(o.digest())
    return out[0][:key_size], out[1][:12]


#: The compiled module's ``tls_evp_decrypt`` (None without it): a record opened in Python
#: (handshake records, the first records under a new key) is opened with the read state's
#: own EVP context, the one the fast path opens its routine records with, instead of a
#: ``cryptography`` AEAD made for the state (docs/performance.md "TLS per connection, second
#: round"). It answers None when it has no context (``LYNCDUMP_TLS_EVP=0``, libcrypto not
#: found, too many contexts): the state then makes its AEAD as before.
_EVP_DECRYPT = helper("tls_evp_decrypt")


#: cryptography's AEAD classes by suite mode, imported with the first key (a TLS 1.3
#: connection makes four read states: an import statement each cost as much as the AEAD).
_AEAD_CLASSES: dict[str, Any] = {}


def _aead(suite: CipherSuite, key: bytes) -> Any:
    classes = _AEAD_CLASSES
    if not classes:
        from cryptography.hazmat.primitives.ciphers.aead import AESCCM, AESGCM, ChaCha20Poly1305

        classes.update(GCM=AESGCM, CCM=AESCCM, CCM8=AESCCM, POLY1305=ChaCha20Poly1305)
    mode = suite.mode
    if mode == "CCM":
        return classes[mode](key, tag_length=16)
    if mode == "CCM8":
        return classes[mode](key, tag_length=8)
    return classes.get(mode, classes["POLY1305"])(key)


def _block_algorithm(suite: CipherSuite, key: bytes) -> Any:
    from cryptography.hazmat.primitives.ciphers import algorithms

    if suite.cipher == "AES":
        return algorithms.AES(key)
    try:
        from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
    except ImportError:  # cryptography < 43
        TripleDES = algorithms.TripleDES  # type: ignore[attr-defined,misc]  # noqa: N806
    return TripleDES(key)


def _rc4(key: bytes) -> Any:
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms

    try:
        from cryptography.hazmat.decrepit.ciphers.algorithms import ARC4
    except ImportError:  # cryptography < 43
        ARC4 = algorithms.ARC4  # type: ignore[attr-defined,misc]  # noqa: N806
    return Cipher(ARC4(key), mode=None).decryptor()


# -- record protection, one object per direction and key epoch --------------------------------
class _ReadState(ABC):
    """Decrypts and authenticates the records of one direction under one set of keys."""

    __slots__ = ("seq",)

    #: Whether records are opened at all (False: no key, they are only counted).
    keyed = True

    def __init__(self) -> None:
        self.seq = 0

    @abstractmethod
    def open(self, header: bytes, fragment: bytes) -> tuple[int, bytes]:
        """Decrypt and authenticate one record (its 5-byte header and its fragment):
        (content type, plaintext)."""


class _Tls13State(_ReadState):
    __slots__ = ("suite", "secret", "key", "decrypt", "iv", "_evp", "evp_name")

    def __init__(self, suite: CipherSuite, secret: bytes) -> None:
        self.seq = 0
        self.suite = suite
        self.secret = secret
        # The IV as a number: each record's nonce is one XOR. (The key is kept for the
        # compiled fast path's own cipher context: routine_hand.)
        key, iv = _traffic_key_iv(secret, suite.key_size, suite.prf_hash)
        self.key = key
        self._evp: Any = None  # (that context, set there: it lives as long as the state)
        # The AEAD's bound decrypt, made by the first record opened here: most application
        # keys are only ever used by the fast path's own context (routine_hand, late_decrypt).
        self.decrypt: Any = None
        self.iv = int.from_bytes(iv, "big")
        #: The AEAD's name for tls_evp_decrypt (None: no compiled module, or not one it knows).
        self.evp_name = (
            None if _EVP_DECRYPT is None else _EVP_NAMES.get((suite.mode, suite.key_size))
        )

    def made_decrypt(self) -> Any:
        """The AEAD's bound decrypt, made now if not yet."""
        decrypt = self.decrypt
        if decrypt is None:
            decrypt = self.decrypt = _aead(self.suite, self.key).decrypt
        return decrypt

    def late_decrypt(self, nonce: bytes, data: bytes, aad: bytes) -> bytes:
        """The AEAD's decrypt, the AEAD made at the first call (for the fast path, which
        calls it only when it cannot open the records with its own context)."""
        return self.made_decrypt()(nonce, data, aad)

    def open(self, header: bytes, fragment: bytes) -> tuple[int, bytes]:
        seq = self.seq
        self.seq = seq + 1  # a record that fails still used its sequence number
        nonce = (self.iv ^ seq).to_bytes(12, "big")
        decrypt = self.decrypt
        inner = None
        if decrypt is None and self.evp_name is not None:
            inner = _EVP_DECRYPT(self, self.key, self.evp_name, nonce, fragment, header)
            if inner is False:
                raise _BadRecord("AEAD tag check failed")
            if inner is None:  # no context to be had: the AEAD, from now on
                self.evp_name = None
        if inner is None:
            if decrypt is None:
                decrypt = self.made_decrypt()
            try:
                inner = decrypt(nonce, fragment, header)
            except Exception:  # noqa: BLE001 - InvalidTag, or a fragment shorter than the tag
                raise _BadRecord("AEAD tag check failed") from None
        if inner and inner[-1]:  # no padding: the usual case
            return inner[-1], inner[:-1]
        end = len(inner)
        while end and inner[end - 1] == 0:
            end -= 1
        if not end:
            raise _BadRecord("TLS 1.3 record without a content type")
        return inner[end - 1], inner[: end - 1]

    def updated(self) -> _Tls13State:
        h = self.suite.prf_hash
        size = hashlib.new(h).digest_size
        return _Tls13State(self.suite, hkdf_expand_label(self.secret, b"traffic upd", b"", size, h))


class _AeadState(_ReadState):
    __slots__ = ("suite", "key", "_evp", "aead", "salt", "chacha", "tag", "evp_name")

    def __init__(self, suite: CipherSuite, key: bytes, iv: bytes) -> None:
        super().__init__()
        self.suite = suite
        self.key = key  # (for the compiled fast path's own cipher context: routine_hand)
        self._evp: Any = None  # (that context, set there: it lives as long as the state)
        self.aead: Any = None  # (made by the first record opened here: made_decrypt)
        self.salt = iv
        self.chacha = suite.mode == "POLY1305"
        self.tag = 8 if suite.mode == "CCM8" else 16
        #: As _Tls13State's: the AEAD's name for tls_evp_decrypt, or None.
        self.evp_name = (
            None if _EVP_DECRYPT is None else _EVP_NAMES.get((suite.mode, suite.key_size))
        )

    def made_decrypt(self) -> Any:
        """The AEAD's bound decrypt, the AEAD made now if not yet."""
        if self.aead is None:
            self.aead = _aead(self.suite, self.key)
        return self.aead.decrypt

    def late_decrypt(self, nonce: bytes, data: bytes, aad: bytes) -> bytes:
        """The AEAD's decrypt, the AEAD made at the first call (as _Tls13State's)."""
        return self.made_decrypt()(nonce, data, aad)

    def open(self, header: bytes, fragment: bytes) -> tuple[int, bytes]:
        frag = fragment
        seq = self.seq
        self.seq = seq + 1  # a record that fails still used its sequence number
        if self.chacha:
            nonce = (int.from_bytes(self.salt, "big") ^ seq).to_bytes(12, "big")
            body = frag
        else:
            nonce = self.salt + frag[:8]
            body = frag[8:]
        size = len(body) - self.tag
        if size < 0:
            raise _BadRecord("AEAD record shorter than its tag")
        aad = seq.to_bytes(8, "big") + header[:3] + size.to_bytes(2, "big")
        if self.aead is None and self.evp_name is not None:
            plain = _EVP_DECRYPT(self, self.key, self.evp_name, nonce, body, aad)
            if plain is False:
                raise _BadRecord("AEAD tag check failed")
            if plain is not None:
                return header[0], plain
            self.evp_name = None  # no context to be had: the AEAD, from now on
        try:
            plain = self.made_decrypt()(nonce, body, aad)
        except Exception:  # noqa: BLE001 - InvalidTag
            raise _BadRecord("AEAD tag check failed") from None
        return header[0], plain


class _CbcState(_ReadState):
    __slots__ = ("suite", "key", "mac_key", "iv", "explicit_iv", "etm", "block")

    def __init__(
        self, suite: CipherSuite, key: bytes, mac_key: bytes, iv: bytes, version: int, etm: bool
    ) -> None:
        super().__init__()
        self.suite = suite
        self.key = key
        self.mac_key = mac_key
        self.iv = iv
        self.explicit_iv = version >= 0x0302
        self.etm = etm
        self.block = 16 if suite.cipher == "AES" else 8

    def open(self, header: bytes, fragment: bytes) -> tuple[int, bytes]:
        from cryptography.hazmat.primitives.ciphers import Cipher, modes

        frag = fragment
        maclen = self.suite.mac_size
        seq = self.seq.to_bytes(8, "big")
        self.seq += 1
        head = seq + header[:3]
        if self.etm:
            if len(frag) < maclen:
                raise _BadRecord("record shorter than its MAC")
            body, mac = frag[: len(frag) - maclen], frag[len(frag) - maclen :]
            want = hmac.digest(
                self.mac_key, head + len(body).to_bytes(2, "big") + body, self.suite.mac
            )
            if not hmac.compare_digest(want, mac):
                raise _BadRecord("record MAC check failed")
            frag = body
        block = self.block
        if not frag or len(frag) % block:
            raise _BadRecord(f"CBC record of {len(frag)} bytes, not whole blocks")
        if self.explicit_iv:
            iv, body = frag[:block], frag[block:]
        else:
            iv, body = self.iv, frag
            self.iv = frag[-block:]
        dec = Cipher(_block_algorithm(self.suite, self.key), modes.CBC(iv)).decryptor()
        plain = dec.update(body) + dec.finalize()
        if not plain:
            raise _BadRecord("empty CBC record")
        pad = plain[-1]
        if self.etm:
            if pad + 1 > len(plain) or plain[len(plain) - pad - 1 : -1] != bytes([pad]) * pad:
                raise _BadRecord("bad CBC padding")
            return header[0], plain[: len(plain) - pad - 1]
        if pad + 1 + maclen > len(plain) or plain[len(plain) - pad - 1 : -1] != bytes([pad]) * pad:
            raise _BadRecord("bad CBC padding or record MAC")
        end = len(plain) - pad - 1 - maclen
        content, mac = plain[:end], plain[end : end + maclen]
        want = hmac.digest(self.mac_key, head + end.to_bytes(2, "big") + content, self.suite.mac)
        if not hmac.compare_digest(want, mac):
            raise _BadRecord("record MAC check failed")
        return header[0], content


class _StreamState(_ReadState):
    """RC4 (state carried across records) or the NULL cipher; MAC after the content."""

    __slots__ = ("suite", "decryptor", "mac_key")

    def __init__(self, suite: CipherSuite, key: bytes, mac_key: bytes) -> None:
        super().__init__()
        self.suite = suite
        self.decryptor = _rc4(key) if suite.cipher == "RC4" else None
        self.mac_key = mac_key

    def open(self, header: bytes, fragment: bytes) -> tuple[int, bytes]:
        plain = self.decryptor.update(fragment) if self.decryptor else fragment
        maclen = self.suite.mac_size
        seq = self.seq.to_bytes(8, "big")
        self.seq += 1
        if len(plain) < maclen:
            raise _BadRecord("record shorter than its MAC")
        end = len(plain) - maclen
        want = hmac.digest(
            self.mac_key,
            seq + header[:3] + end.to_bytes(2, "big") + plain[:end],
            self.suite.mac,
        )
        if not hmac.compare_digest(want, plain[end:]):
            raise _BadRecord("record MAC check failed")
        return header[0], plain[:end]


class _NoKeys(_ReadState):
    """Encrypted, and no key for it: records are counted, not opened."""

    __slots__ = ()

    keyed = False

    def open(self, header: bytes, fragment: bytes) -> tuple[int, bytes]:
        raise _BadRecord("no key for this direction")


_NO_KEYS = _NoKeys()

#: No key yet, and the key log is followed: the direction's records are held until the keys
#: come or the connection gives up waiting (MAX_KEY_RETRIES).
_WAITING = _NoKeys()

#: The AEAD modes whose records the compiled fast path may open (TlsSession.routine_hand).
_ROUTINE_MODES = frozenset(("GCM", "POLY1305", "CCM"))

#: The AEADs the compiled fast path opens with libcrypto's EVP interface itself, by suite mode
#: and key size (the names it knows); the others (CCM) it opens with the state's ``decrypt``.
_EVP_NAMES = {
    ("GCM", 16): "aes-128-gcm",
    ("GCM", 32): "aes-256-gcm",
    ("POLY1305", 32): "chacha20-poly1305",
}

#: TLS 1.3 key log labels per direction (client → server first): handshake, application.
_LABELS13 = (
    ("CLIENT_HANDSHAKE_TRAFFIC_SECRET", "CLIENT_TRAFFIC_SECRET_0"),
    ("SERVER_HANDSHAKE_TRAFFIC_SECRET", "SERVER_TRAFFIC_SECRET_0"),
)


def _states_from_master(
    suite: CipherSuite,
    version: int,
    master: bytes,
    client_random: bytes,
    server_random: bytes,
    etm: bool,
) -> tuple[_ReadState, _ReadState]:
    """Client-write and server-write read states from the key block."""
    mac, key, iv = suite.mac_size, suite.key_size, suite.iv_size
    if suite.mode == "CBC" and version >= 0x0302:
        iv = 0
    hashname = suite.prf_hash
    block = prf(
        version,
        hashname,
        master,
        b"key expansion",
        server_random + client_random,
        2 * (mac + key + iv),
    )
    c_mac, s_mac = block[:mac], block[mac : 2 * mac]
    at = 2 * mac
    c_key, s_key = block[at : at + key], block[at + key : at + 2 * key]
    at += 2 * key
    c_iv, s_iv = block[at : at + iv], block[at + iv : at + 2 * iv]
    if suite.aead:
        return _AeadState(suite, c_key, c_iv), _AeadState(suite, s_key, s_iv)
    if suite.mode == "CBC":
        return (
            _CbcState(suite, c_key, c_mac, c_iv, version, etm),
            _CbcState(suite, s_key, s_mac, s_iv, version, etm),
        )
    return _StreamState(suite, c_key, c_mac), _StreamState(suite, s_key, s_mac)


# -- the session ------------------------------------------------------------------------------
class TlsSession:
    """Both directions of one TLS connection (direction 0 = client → server)."""

    def __init__(self, keys: TlsKeys) -> None:
        self.keys = keys
        self.summary = TlsSummary()
        self.defects: list[Defect] = []
        #: (direction, plaintext, frame, ts) of application data, for the caller to drain; an
        #: ``int`` in place of the plaintext is a hole of that many bytes (lost TCP bytes: the
        #: plaintext stream misses what they carried).
        self.plaintext: list[tuple[int, bytes | int, int, float]] = []
        self._readers = (RecordReader(), RecordReader())
        self._assemblers = (HandshakeAssembler(), HandshakeAssembler())
        # plaintext, _read, _dead and _lost are changed in place, never rebound: the compiled
        # fast path keeps references to them to see that its cache still holds (routine_hand).
        self._read: list[_ReadState | None] = [None, None]
        self._pending: list[_ReadState | None] = [None, None]
        self._next13: list[_Tls13State | None] = [None, None]
        self._dead = [False, False]
        self._failures = [0, 0]
        #: Bytes lost since the record sequence was last known (None when it is known).
        self._lost: list[int | None] = [None, None]
        #: TLS 1.0 CBC after lost bytes: the IV chain was picked up again from a record.
        self._chained = [False, False]
        #: Records and their bytes per direction, to estimate how many records a hole held.
        self._sizes = [[0, 0], [0, 0]]
        #: Sequence numbers tried after lost bytes so far (MAX_SEQUENCE_SEARCH_TOTAL).
        self._searched = [0, 0]
        self._client_hello: ClientHello | None = None
        self._server_hello: ServerHello | None = None
        self._suite: CipherSuite | None = None
        self._version = 0
        self._tls13 = False
        self._transcript = bytearray()
        self._encrypted_premaster: bytes | None = None
        self._session_hash: bytes | None = None
        self._master: bytes | None = None
        self._finished = [False, False]
        self._completed_handshakes = 0
        self._rsa_mismatch = False
        self._frame = 0
        #: Waiting for a followed key log: (direction, record or lost byte count, frame, ts)
        #: in arrival order, their bytes, lookups made since the handshake's, and the frame
        #: of the last one (one lookup per TCP segment).
        self._held: list[tuple[int, TlsRecord | int, int, float]] = []
        self._held_bytes = 0
        self._tries = 0
        self._tried_frame = -1
        self._gave_up = False

    # -- input ------------------------------------------------------------------------------
    def receive_data(self, direction: int, data: bytes, frame: int, ts: float) -> None:
        if self._dead[direction]:
            return
        reader = self._readers[direction]
        reader.receive_data(data, frame, ts)
        self._frame = frame
        while not self._dead[direction]:
            try:
                rec = reader.next_record()
            except MalformedError as exc:
                self._defect(frame, exc.offset, exc.reason)
                self._dead[direction] = True
                return
            if rec is None:
                return
            self._record(direction, rec)

    def takes_records(self, direction: int) -> bool:
        """Whether whole records of a direction may come through :meth:`receive_record` (from
        the compiled fast path): the direction is alive, between records, and no key is
        awaited."""
        return (
            not self._dead[direction]
            and _WAITING not in self._read
            and self._readers[direction].at_rest()
        )

    def reads_on(self, direction: int) -> bool:
        """:meth:`takes_records` right after :meth:`receive_record` (the reader is at rest)."""
        return not self._dead[direction] and _WAITING not in self._read

    def routine_hand(self, direction: int) -> tuple[Any, ...] | None:
        """What the compiled fast path needs to open a direction's routine records itself
        (docs/performance.md "What the fast path does"), when :meth:`receive_record` would
        take its next application data record the routine way under an AEAD key: (the read
        state, its AEAD's decrypt (``late_decrypt`` when the fast path gets the key: the AEAD
        is made at its first call, if ever), the static IV or salt, the next sequence number,
        the flavour, then the lists ``_read``, ``_lost``, ``_dead``, ``plaintext`` and the
        ``_WAITING`` marker, which the fast path looks at before each record to see that it
        would still be routine; last the key and the AEAD's name in ``_EVP_NAMES``, or None
        and None when the fast path must call ``decrypt``). Flavour 1: TLS 1.3; 2: TLS 1.2
        with the nonce IV XOR sequence (ChaCha20-Poly1305); 3: TLS 1.2 with an explicit nonce
        after the 4-byte salt (GCM, CCM). None: not routine (no AEAD key, TLS 1.3 handshake
        keys, lost bytes, plaintext queued, a key awaited...).

        The session stays the authority: the fast path counts what it opens and gives the
        counts and the sequence number back through :meth:`routine_back` before any other
        code reads them."""
        state = self._read[direction]
        if (
            self._dead[direction]
            or self._lost[direction] is not None
            or self.plaintext
            or _WAITING in self._read
        ):
            return None
        if type(state) is _Tls13State:
            if self._next13[direction] is not None or state.suite.mode not in _ROUTINE_MODES:
                return None  # (handshake keys: the next epoch may be tried on a failure)
            iv, flavour, made = state.iv.to_bytes(12, "big"), 1, state.decrypt is not None
            late, make = state.late_decrypt, state.made_decrypt
        elif type(state) is _AeadState and state.tag == 16:
            iv, flavour, made = state.salt, 2 if state.chacha else 3, state.aead is not None
            late, make = state.late_decrypt, state.made_decrypt
        else:
            return None
        read, lost, dead = self._read, self._lost, self._dead
        suite = state.suite
        name = _EVP_NAMES.get((suite.mode, suite.key_size))
        key = None if name is None else state.key
        # With a key the fast path opens the records with its own context: the AEAD, which
        # it calls only when it has none, is made then (late_decrypt), if ever.
        decrypt = late if name is not None and not made else make()
        return (
            state, decrypt, iv, state.seq, flavour, read, lost, dead, self.plaintext, _WAITING,
            key, name,
        )  # fmt: skip

    def routine_back(
        self,
        direction: int,
        state: _ReadState,
        records: int,
        size: int,
        plain: int,
        seq: int,
        frame: int,
    ) -> None:
        """The counts of ``records`` routine records (``size`` bytes with their headers,
        ``plain`` bytes of plaintext, the last in ``frame``) that the fast path opened under
        ``state`` (:meth:`routine_hand`), as :meth:`receive_record` would have counted them;
        ``seq``: the state's next sequence number."""
        reader = self._readers[direction]
        reader._base += size
        reader.bytes_seen += size
        reader.records += records
        self._frame = frame
        summary = self.summary
        summary.records += records
        sizes = self._sizes[direction]
        sizes[0] += records
        sizes[1] += size
        summary.encrypted_bytes += size - 5 * records
        summary.decrypted_records += records
        summary.decrypted = True
        summary.plaintext_bytes += plain
        self._failures[direction] = 0
        state.seq = seq

    def receive_record(self, direction: int, record: bytes, frame: int, ts: float) -> bytes | None:
        """One whole record (header and fragment) of a direction that :meth:`takes_records`,
        framed elsewhere by the record reader's rules: as if :meth:`receive_data` had read it.

        The routine record (application data under the direction's keys, nothing before it
        waiting in ``plaintext``) gives its plaintext back instead of queueing it, so the
        caller hands it on without a round trip through ``plaintext``; None otherwise (what
        the record gave, if anything, is in ``plaintext`` and ``defects`` as usual)."""
        size = len(record)
        reader = self._readers[direction]  # RecordReader.taken, inline (once per record)
        offset = reader._base
        reader._base = offset + size
        reader.bytes_seen += size
        reader.records += 1
        self._frame = frame
        summary = self.summary
        summary.records += 1
        sizes = self._sizes[direction]
        sizes[0] += 1
        sizes[1] += size
        state = self._read[direction]
        if (
            record[0] != APPLICATION_DATA
            or state is None
            or not state.keyed
            or self._lost[direction] is not None
            or self.plaintext
            or _WAITING in self._read
        ):
            rec = TlsRecord(
                record[0], (record[1] << 8) | record[2], record[5:], record[:5], frame, ts, offset
            )
            if _WAITING in self._read:  # as _record: what was held goes first
                self._retry()
            self._process(direction, rec)
            return None
        summary.encrypted_bytes += size - 5
        try:
            ctype, data = state.open(record[:5], record[5:])
        except _BadRecord as exc:
            rec = TlsRecord(
                record[0], (record[1] << 8) | record[2], record[5:], record[:5], frame, ts, offset
            )
            opened = self._not_opened(direction, rec, exc)
            if opened is None:
                return None
            ctype, data = opened
        summary.decrypted_records += 1
        summary.decrypted = True
        self._failures[direction] = 0
        if ctype == APPLICATION_DATA:
            if not data:
                return None
            summary.plaintext_bytes += len(data)
            return data
        self._opened(direction, ctype, data, frame, ts)
        return None

    def receive_gap(self, direction: int, missing: int, frame: int, ts: float) -> None:
        """Bytes lost in TCP: the records resume at the next header that can be trusted, and
        decryption where the record sequence number is found again (:meth:`_resume`)."""
        if self._dead[direction]:
            return
        self._readers[direction].receive_gap(missing)
        self._gap(direction, missing, frame, ts)

    def _gap(self, direction: int, missing: int, frame: int, ts: float) -> None:
        state = self._read[direction]
        if state is _WAITING:  # replayed in order once the keys come
            self._hold(direction, missing, frame, ts, 0)
            return
        who = "client" if direction == 0 else "server"
        self._assemblers[direction].reset()
        if state is None or state is _NO_KEYS:
            self._defect(
                frame, None, f"{missing} bytes missing in the {who}'s TLS stream; resynchronising"
            )
            return
        self.plaintext.append((direction, missing, frame, ts))
        if isinstance(state, _StreamState) and state.decryptor is not None:
            self._read[direction] = _NO_KEYS
            self._defect(
                frame,
                None,
                f"{missing} bytes missing in the {who}'s TLS stream: RC4 cannot resume after "
                "lost bytes, the rest of it is not decrypted",
            )
            return
        self._lost[direction] = (self._lost[direction] or 0) + missing
        self._defect(
            frame,
            None,
            f"{missing} bytes missing in the {who}'s TLS stream; resynchronising on the next "
            "record",
        )

    def _defect(self, frame: int, offset: int | None, reason: str) -> None:
        if len(self.defects) < 1000:
            self.defects.append(Defect(frame, "tls", offset, reason))

    # -- records ----------------------------------------------------------------------------
    def _record(self, d: int, rec: TlsRecord) -> None:
        summary = self.summary
        summary.records += 1
        sizes = self._sizes[d]
        sizes[0] += 1
        sizes[1] += len(rec.fragment) + 5
        if _WAITING in self._read:  # keys awaited: a new segment may come after them
            self._retry()  # before this record, so what was held goes first
        self._process(d, rec)

    def _process(self, d: int, rec: TlsRecord) -> None:
        """One record, counted already: decrypted and handed on, or held while its keys are
        awaited (records held are processed here again, in order, once they are settled)."""
        summary = self.summary
        state = self._read[d]
        if state is _WAITING:
            self._hold(d, rec, rec.frame, rec.ts, len(rec.fragment) + 5)
            return
        ctype = rec.content_type
        if ctype == CHANGE_CIPHER_SPEC:
            if not self._tls13:
                self._change_cipher_spec(d)
            return
        data = rec.fragment
        if state is None:
            if ctype == APPLICATION_DATA:
                # Application data before any key: TLS 1.3 0-RTT early data we cannot open.
                summary.encrypted_bytes += len(data)
                return
        elif state is _NO_KEYS:
            summary.encrypted_bytes += len(data)
            return
        else:
            summary.encrypted_bytes += len(data)
            if self._lost[d] is not None:
                opened = self._resume(d, state, rec)
                if opened is None:
                    return
                ctype, data = opened
            else:
                try:
                    ctype, data = state.open(rec.header, rec.fragment)
                except _BadRecord as exc:
                    opened = self._not_opened(d, rec, exc)
                    if opened is None:
                        return
                    ctype, data = opened
            summary.decrypted_records += 1
            summary.decrypted = True
            self._failures[d] = 0
        self._opened(d, ctype, data, rec.frame, rec.ts)

    def _not_opened(self, d: int, rec: TlsRecord, exc: _BadRecord) -> tuple[int, bytes] | None:
        """A record the direction's keys did not open: opened by the next epoch's (TLS 1.3),
        or counted as failed (None)."""
        if self._try_next_epoch(d, rec):
            return self._last_opened
        self._failed(d, rec, str(exc))
        return None

    def _opened(self, d: int, ctype: int, data: bytes, frame: int, ts: float) -> None:
        """What a record carried, in the clear: handshake messages, application data (to
        ``plaintext``) or an alert."""
        summary = self.summary
        if ctype == HANDSHAKE:
            self._handshake_bytes(d, data, frame)
        elif ctype == APPLICATION_DATA:
            if data:
                summary.plaintext_bytes += len(data)
                self.plaintext.append((d, data, frame, ts))
        elif ctype == ALERT and len(data) >= 2:
            who = "client" if d == 0 else "server"
            level = "fatal" if data[0] == 2 else "warning"
            name = ALERT_NAMES.get(data[1], str(data[1]))
            if len(summary.alerts) < 16:
                summary.alerts.append(f"{who} {level} {name}")

    _last_opened: tuple[int, bytes] = (0, b"")

    def _resume(self, d: int, state: _ReadState, rec: TlsRecord) -> tuple[int, bytes] | None:
        """The first record after lost bytes: find its sequence number (it enters the MAC or
        the AEAD nonce) by trying those the hole could have taken, nearest to the estimate from
        the record sizes seen first. TLS 1.0 CBC chains its IV through the records: the first
        one after the hole only gives the IV of the next."""
        lost = self._lost[d] or 0
        who = "client" if d == 0 else "server"
        if isinstance(state, _CbcState) and not state.explicit_iv and not self._chained[d]:
            if len(rec.fragment) >= state.block:
                state.iv = rec.fragment[-state.block :]
                self._chained[d] = True
            self._lost[d] = lost + len(rec.fragment) + 5
            self.summary.failed_records += 1
            return None
        self._chained[d] = False
        count, total = self._sizes[d]
        average = max(total // max(count, 1), 6)
        left = MAX_SEQUENCE_SEARCH_TOTAL - self._searched[d]
        most = max(0, min(lost // 6 + 1, MAX_SEQUENCE_SEARCH, left))
        guess = min(max(1, round(lost / average)), most)
        base = state.seq
        tries = 0
        for step in range(most + 1):
            for k in (guess + step, guess - step) if step else (guess,):
                if not 1 <= k <= most or tries >= MAX_SEQUENCE_SEARCH:
                    continue
                tries += 1
                state.seq = base + k
                try:
                    opened = state.open(rec.header, rec.fragment)
                except _BadRecord:
                    continue
                self._searched[d] += tries
                self._lost[d] = None
                self._defect(
                    rec.frame,
                    rec.offset,
                    f"{who} TLS stream resynchronised after lost bytes: {k} records missing",
                )
                return opened
        state.seq = base
        self._searched[d] += tries
        self._lost[d] = None
        self._read[d] = _NO_KEYS
        self.summary.failed_records += 1
        spent = (
            f"; {MAX_SEQUENCE_SEARCH_TOTAL} tried after earlier holes"
            if left < min(lost // 6 + 1, MAX_SEQUENCE_SEARCH)
            else ""
        )
        self._defect(
            rec.frame,
            rec.offset,
            f"{who} record sequence not found after lost bytes ({tries} tried{spent}): the rest "
            "of the direction is not decrypted",
        )
        return None

    def _try_next_epoch(self, d: int, rec: TlsRecord) -> bool:
        """TLS 1.3: a record the handshake keys do not open may be the first under the
        application keys (when the Finished that switches them was not readable)."""
        nxt = self._next13[d]
        if nxt is None or nxt is self._read[d]:
            return False
        try:
            self._last_opened = nxt.open(rec.header, rec.fragment)
        except _BadRecord:
            return False
        self._read[d] = nxt
        self._next13[d] = None
        return True

    def _failed(self, d: int, rec: TlsRecord, reason: str) -> None:
        self.summary.failed_records += 1
        self._failures[d] += 1
        who = "client" if d == 0 else "server"
        self._defect(rec.frame, rec.offset, f"{who} record does not decrypt: {reason}")
        if self._failures[d] >= MAX_FAILURES_IN_A_ROW:
            self._dead[d] = True
            self._defect(
                rec.frame,
                None,
                f"{who} TLS stream given up after "
                f"{MAX_FAILURES_IN_A_ROW} records in a row that do not decrypt (wrong key?)",
            )

    def _change_cipher_spec(self, d: int) -> None:
        if self._pending[d] is None:
            self._find_keys(abbreviated=self._encrypted_premaster is None)
        state = self._pending[d]
        self._pending[d] = None
        if state is not None:
            self._read[d] = state
            if self._read[1 - d] is _WAITING and self._take_pending():
                self._replay()  # the other direction waited for the keys just found
        elif self._may_wait() and self._may_find_keys():
            self._read[d] = _WAITING
            self._tried_frame = self._frame
        else:
            self._read[d] = _NO_KEYS

    # -- waiting for a followed key log ----------------------------------------------------
    def _may_wait(self) -> bool:
        """Keys not found may still come: the key log is followed, and this connection has
        not given up waiting for it."""
        return self.keys.follows and not self._gave_up

    def _may_find_keys(self) -> bool:
        """TLS 1.0-1.2 whose keys a key log line could still give (the hellos are known)."""
        return (
            self._client_hello is not None
            and self._server_hello is not None
            and self._suite is not None
            and 0x0301 <= self._version <= 0x0303
        )

    def _hold(self, d: int, item: TlsRecord | int, frame: int, ts: float, size: int) -> None:
        """Keep a record (or a gap) of a direction that waits for its keys; past the bounds
        the connection stops waiting and what it holds is counted as not decrypted."""
        if (
            len(self._held) >= MAX_HELD_RECORDS
            or self._held_bytes + size > MAX_HELD_BYTES
            or self.keys.held + size > MAX_HELD_TOTAL
        ):
            self._give_up(frame, "too many records held")
            if isinstance(item, int):
                self._gap(d, item, frame, ts)
            else:
                self._process(d, item)
            return
        self._held.append((d, item, frame, ts))
        self._held_bytes += size
        self.keys.held += size

    def _retry(self) -> None:
        """A direction waits for its keys and a record came: look in the key log again, once
        per TCP segment, MAX_KEY_RETRIES times at most."""
        if self._frame == self._tried_frame:
            return
        self._tried_frame = self._frame
        self._tries += 1
        self._look_again()
        if self._tries >= MAX_KEY_RETRIES and _WAITING in self._read:
            self._give_up(self._frame, f"looked {self._tries} more times")

    def _look_again(self) -> None:
        """Look up the waiting directions' keys; replay what they hold when found."""
        if self._tls13:
            waiting = tuple(d for d in (0, 1) if self._read[d] is _WAITING)
            source = self._look_up13(waiting)
            if source is not None:
                self._found(source)
                self._replay()
        else:
            self._find_keys(abbreviated=self._encrypted_premaster is None)
            if self._take_pending():
                self._replay()

    def _take_pending(self) -> bool:
        """TLS 1.0-1.2: directions that waited (their ChangeCipherSpec came before the keys)
        take the keys just derived; True when any did."""
        took = False
        for d in (0, 1):
            state = self._pending[d]
            if self._read[d] is _WAITING and state is not None:
                self._read[d] = state
                self._pending[d] = None
                took = True
        return took

    def _found(self, source: str) -> None:
        summary = self.summary
        if summary.key_source is None:
            summary.key_source = source
        summary.note = None

    def _replay(self) -> None:
        """What was held goes through again, in arrival order (a direction still waiting holds
        its records again; they are counted once, when they arrived)."""
        held = self._held
        if not held:
            return
        self._held = []
        self.keys.held -= self._held_bytes
        self._held_bytes = 0
        for d, item, frame, ts in held:
            if self._dead[d]:
                continue
            if isinstance(item, int):
                self._gap(d, item, frame, ts)
            else:
                self._process(d, item)

    def _give_up(self, frame: int, why: str) -> None:
        """Stop waiting: the waiting directions have no key, their held records are counted."""
        self._gave_up = True
        waiting = [d for d in (0, 1) if self._read[d] is _WAITING]
        for d in waiting:
            self._read[d] = _NO_KEYS
        if waiting:
            who = " and ".join("client" if d == 0 else "server" for d in waiting)
            self._defect(
                frame,
                None,
                f"{who} TLS keys not in the followed key log ({why}): "
                f"{len(self._held)} records held are not decrypted",
            )
        self._replay()

    # -- handshake --------------------------------------------------------------------------
    def _handshake_bytes(self, d: int, data: bytes, frame: int) -> None:
        try:
            messages = self._assemblers[d].feed(data)
        except MalformedError as exc:
            self._defect(frame, exc.offset, exc.reason)
            return
        for mtype, body, raw in messages:
            try:
                self._handshake_message(d, mtype, body, raw)
            except MalformedError as exc:
                self._defect(frame, exc.offset, exc.reason)

    def _handshake_message(self, d: int, mtype: int, body: bytes, raw: bytes) -> None:
        if mtype == HELLO_REQUEST:
            return
        if mtype == CLIENT_HELLO and d == 0:
            self._new_handshake(parse_client_hello(body), raw)
            return
        if not self._tls13 and len(self._transcript) + len(raw) <= MAX_TRANSCRIPT:
            self._transcript += raw
        if mtype == SERVER_HELLO and d == 1:
            self._on_server_hello(parse_server_hello(body))
        elif mtype == CERTIFICATE and d == 1:
            chain = parse_certificate(body, self._tls13)
            if chain:
                self.summary.certificate = summarize_certificate(chain[0])
        elif mtype == CLIENT_KEY_EXCHANGE and d == 0:
            self._on_client_key_exchange(body)
        elif mtype == NEW_SESSION_TICKET and d == 1:
            ticket = parse_new_session_ticket(body, self._tls13)
            if not self._tls13 and self._master is not None:
                self.keys.remember(b"ticket:" + ticket, self._master)
        elif mtype == FINISHED:
            self._on_finished(d)
        elif mtype == KEY_UPDATE and self._tls13:
            # RFC 8446 4.6.3: the sender's next records use its next traffic secret.
            self.summary.key_updates += 1
            state = self._read[d]
            if isinstance(state, _Tls13State):
                self._read[d] = state.updated()

    def _new_handshake(self, hello: ClientHello, raw: bytes) -> None:
        summary = self.summary
        if self._server_hello is not None and not self._server_hello.is_retry_request:
            if self._completed_handshakes:
                summary.renegotiations += 1
        retry = self._server_hello is not None and self._server_hello.is_retry_request
        self._client_hello = hello
        self._server_hello = None
        self._transcript = bytearray(raw)
        self._encrypted_premaster = None
        self._session_hash = None
        self._master = None
        self._pending = [None, None]
        self._finished = [False, False]
        if not retry:
            summary.sni = hello.sni or summary.sni
            summary.offered_suites = len(hello.cipher_suites)

    def _on_server_hello(self, hello: ServerHello) -> None:
        self._server_hello = hello
        if hello.is_retry_request:
            return
        summary = self.summary
        self._version = version = hello.version
        summary.version = version_name(version)
        summary.cipher_suite = suite_name(hello.cipher_suite)
        suite = self._suite = SUITES.get(hello.cipher_suite)
        summary.rsa_key_exchange = suite is not None and suite.rsa_key_exchange
        if version == 0x0304:
            self._tls13 = True
            self._transcript = bytearray()
            self._start_tls13()
            return
        if version < 0x0301 or version > 0x0303:
            summary.note = f"{version_name(version)} is not decrypted"
            return
        client = self._client_hello
        if client is not None and hello.session_id and hello.session_id == client.session_id:
            summary.resumed = True
        self._find_keys(abbreviated=summary.resumed)

    def _start_tls13(self) -> None:
        suite, client = self._suite, self._client_hello
        if client is None:
            return
        if suite is None:
            self.summary.note = f"cipher suite {self.summary.cipher_suite} is not supported"
            self._read[:] = (_NO_KEYS, _NO_KEYS)  # (the list itself: see routine_hand)
            return
        source = self._look_up13((0, 1))
        if source is not None:
            self.summary.key_source = source
        else:
            self.summary.note = "no TLS 1.3 secrets for this client random in the keys given"
        if self._may_wait():
            self._tried_frame = self._frame

    def _look_up13(self, directions: tuple[int, ...]) -> str | None:
        """TLS 1.3: the read state of each direction from its traffic secrets, the handshake
        one while its handshake runs, else (or when only it is known) the application one.
        Returns where the first secret found came from, None when none was."""
        suite, client = self._suite, self._client_hello
        assert suite is not None and client is not None
        missing = _WAITING if self._may_wait() else _NO_KEYS
        labels = tuple(
            label
            for d in directions
            for label in _LABELS13[d][self._finished[d] :]  # no handshake secret once finished
        )
        secrets = dict(zip(labels, self.keys.secrets(labels, client.random), strict=True))
        found: tuple[bytes, str] | None = None
        for d in directions:
            hs_label, app_label = _LABELS13[d]
            hs = None if self._finished[d] else secrets[hs_label]
            app = secrets[app_label]
            nxt = self._next13[d] = _Tls13State(suite, app[0]) if app else None
            if hs:
                self._read[d] = _Tls13State(suite, hs[0])
            elif nxt is not None:
                self._read[d] = nxt
            else:
                self._read[d] = missing
            found = found or hs or app
        return found[1] if found else None

    def _on_client_key_exchange(self, body: bytes) -> None:
        suite = self._suite
        if (
            self._client_hello is not None
            and self._server_hello is not None
            and self._client_hello.extended_master_secret
            and self._server_hello.extended_master_secret
        ):
            hashname = suite.prf_hash if suite is not None else "sha256"
            self._session_hash = _session_hash(self._version, hashname, bytes(self._transcript))
        if suite is not None and suite.rsa_key_exchange:
            self._encrypted_premaster = parse_rsa_client_key_exchange(body, self._version)
        self._find_keys(abbreviated=False)

    def _on_finished(self, d: int) -> None:
        if self._tls13:
            nxt = self._next13[d]
            if nxt is not None:
                self._read[d] = nxt
                self._next13[d] = None
            elif self._read[d] is not None and self._may_wait():
                # The application secret was not in the key log yet: it may be now.
                self._finished[d] = True
                self._tried_frame = self._frame
                source = self._look_up13((d,))
                if source is not None:
                    self._found(source)
                    self._next13[d] = None
            elif self._read[d] is not None:
                self._read[d] = _NO_KEYS
        self._finished[d] = True
        if all(self._finished):
            self._completed_handshakes += 1
            client, server = self._client_hello, self._server_hello
            if self._master is not None and server is not None and server.session_id:
                self.keys.remember(b"id:" + server.session_id, self._master)
            if client is not None and client.session_ticket and self._master is not None:
                self.keys.remember(b"ticket:" + client.session_ticket, self._master)

    # -- keys (TLS 1.0-1.2) -----------------------------------------------------------------
    def _find_keys(self, *, abbreviated: bool) -> None:
        client, server, suite = self._client_hello, self._server_hello, self._suite
        if client is None or server is None or self._tls13 or self._pending[0] is not None:
            return
        if suite is None:
            self.summary.note = f"cipher suite {self.summary.cipher_suite} is not supported"
            return
        if self._master is None:
            source = ""
            found = self.keys.secret("CLIENT_RANDOM", client.random)
            if found is not None:
                self._master, source = found
            elif self._encrypted_premaster is not None:
                premaster, source = self._premaster(self._encrypted_premaster)
                if premaster is not None:
                    self._master = self._master_from_premaster(premaster)
            elif abbreviated:
                source = "resumed session"
                self._master = (
                    self.keys.resumed(b"id:" + server.session_id)
                    if (server.session_id and server.session_id == client.session_id)
                    else None
                )
                if self._master is None and client.session_ticket:
                    self._master = self.keys.resumed(b"ticket:" + client.session_ticket)
                if self._master is not None:
                    self.summary.resumed = True
            if self._master is None:
                return
            if self.summary.key_source is None:
                self.summary.key_source = source
            self.summary.note = None
        etm = client.encrypt_then_mac and server.encrypt_then_mac and suite.mode == "CBC"
        c_state, s_state = _states_from_master(
            suite, self._version, self._master, client.random, server.random, etm
        )
        self._pending = [c_state, s_state]

    def _premaster(self, encrypted: bytes) -> tuple[bytes | None, str]:
        from_log = self.keys.rsa_premaster(encrypted)
        if from_log is not None:
            return from_log, "key log"
        if not self.keys.rsa_keys:
            return None, ""
        from cryptography.hazmat.primitives.asymmetric import padding
        from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

        cert = self.summary.certificate
        cert_key = cert.public_key if cert is not None else None
        client = self._client_hello
        want_version = client.legacy_version.to_bytes(2, "big") if client else b""
        for key in self.keys.rsa_keys:
            if cert_key is not None:
                mine = key.public_key().public_bytes(  # type: ignore[attr-defined]
                    Encoding.DER, PublicFormat.SubjectPublicKeyInfo
                )
                if mine != cert_key:
                    continue
            try:
                premaster = key.decrypt(encrypted, padding.PKCS1v15())  # type: ignore[attr-defined]
            except ValueError:
                continue
            if len(premaster) == 48 and premaster[:2] == want_version:
                return premaster, "RSA key"
        self._rsa_mismatch = True
        subject = f" ({cert.subject})" if cert is not None else ""
        self.summary.note = f"the RSA key given is not this server's{subject}"
        return None, ""

    def _master_from_premaster(self, premaster: bytes) -> bytes:
        client, server, suite = self._client_hello, self._server_hello, self._suite
        assert client is not None and server is not None and suite is not None
        if self._session_hash is not None:
            return prf(
                self._version,
                suite.prf_hash,
                premaster,
                b"extended master secret",
                self._session_hash,
                48,
            )
        return prf(
            self._version,
            suite.prf_hash,
            premaster,
            b"master secret",
            client.random + server.random,
            48,
        )

    # -- end --------------------------------------------------------------------------------
    def finish(self) -> None:
        """End of capture: say why a connection stayed unreadable."""
        if _WAITING in self._read:  # a last look: the keys may have come since
            if self._tries < MAX_KEY_RETRIES:
                self._tries += 1
                self._look_again()
            if _WAITING in self._read:
                self._give_up(self._frame, "the connection ended")
        summary = self.summary
        if summary.decrypted or summary.note is not None:
            return
        if summary.records and (self._client_hello is None or self._server_hello is None):
            # Keys are found by the client random (key log) and need the server random and
            # suite too (every key): a connection without them cannot be opened by any key.
            summary.handshake_missing = True
            if self._client_hello is None and self._server_hello is None:
                summary.note = (
                    "the handshake is not in the capture (the connection began before it): keys "
                    "are matched by the client random it carries, so no key log or RSA key can "
                    "open this connection"
                )
            elif self._client_hello is None:
                summary.note = (
                    "the ClientHello is not in the capture: keys are matched by its client "
                    "random, so no key log or RSA key can open this connection"
                )
            else:
                summary.note = (
                    "the ServerHello is not in the capture: without the version, cipher suite "
                    "and server random it carries no key can open this connection"
                )
            return
        if summary.version is None:
            return
        if summary.encrypted_bytes:
            if self.keys.empty:
                summary.note = "no TLS keys given"
            else:
                summary.note = "no key for this session in the keys given"
