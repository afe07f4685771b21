"""SRTP and SRTCP decryption (RFC 3711) for SDES keys.

Suites: AES_CM_128_HMAC_SHA1_80 and _32 (RFC 4568), AES_256_CM_HMAC_SHA1_80 and _32 (RFC 6188),
AEAD_AES_128_GCM and AEAD_AES_256_GCM (RFC 7714). (RFC 6188's AES_192_CM suites are not
decrypted: nothing is known to use them, and libsrtp, the oracle, derives their keys
otherwise.) Keys come from the call's ``a=crypto`` (or Lync's ``a=cryptoscale``) lines or from
the user (``--srtp-key``, whose length says its suite). :class:`SrtpContext` holds one master
key and, per SSRC, the rollover counter (RFC 3711 3.3.1 index estimation).
:meth:`SrtpContext.unprotect` verifies the HMAC-SHA1 tag (or the GCM tag) and returns the clear
packet, or None when the tag does not match: a wrong key gives counted authentication failures,
never garbage. Lync's MKI (``|1:1``) sits between payload and tag (after the tag with GCM).

Key derivation is RFC 3711 4.3 with the AES of the master key's size (RFC 6188 5); GCM's 96-bit
master salt enters it padded with two zero octets, as libsrtp does (RFC 7714 11). GCM packets:
IV = (0x0000 || SSRC || ROC || SEQ) XOR salt, the RTP header as associated data (RFC 7714 8);
SRTCP: IV = (0x0000 || SSRC || 0x0000 || 0 || index) XOR salt, associated data the first 8
octets and the E flag and index (RFC 7714 9). The crypto is the ``cryptography`` package's
AES-CTR, AES-GCM and HMAC; pylibsrtp (libsrtp) is the tests' oracle for every suite.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import struct
from functools import cached_property
from hashlib import sha1
from typing import Any

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from ..errors import KeyMaterialError
from ..fastpath import SRTP_FIELDS, SrtpCore, reduce_fields

#: Suite name -> SRTP tag length in bytes (SRTCP uses 10 with HMAC-SHA1, RFC 4568 6.2; GCM's
#: 16-byte tag is inside its ciphertext).
SUITES = {
    "AES_CM_128_HMAC_SHA1_80": 10,
    "AES_CM_128_HMAC_SHA1_32": 4,
    "AES_256_CM_HMAC_SHA1_80": 10,
    "AES_256_CM_HMAC_SHA1_32": 4,
    "AEAD_AES_128_GCM": 16,
    "AEAD_AES_256_GCM": 16,
}
#: Suite name -> (master key bytes, master salt bytes, AEAD).
SUITE_KEYS = {
    "AES_CM_128_HMAC_SHA1_80": (16, 14, False),
    "AES_CM_128_HMAC_SHA1_32": (16, 14, False),
    "AES_256_CM_HMAC_SHA1_80": (32, 14, False),
    "AES_256_CM_HMAC_SHA1_32": (32, 14, False),
    "AEAD_AES_128_GCM": (16, 12, True),
    "AEAD_AES_256_GCM": (32, 12, True),
}
#: Key || salt length -> the suite a user-given key of that length is taken for.
_SUITE_BY_LENGTH = {
    30: "AES_CM_128_HMAC_SHA1_80",
    46: "AES_256_CM_HMAC_SHA1_80",
    28: "AEAD_AES_128_GCM",
    44: "AEAD_AES_256_GCM",
}
#: GCM's authentication tag (RFC 7714 allows only 16 octets for SRTP).
_GCM_TAG = 16


def _aes_cm_keystream(key: bytes, iv: bytes, length: int) -> bytes:
    enc = Cipher(algorithms.AES(key), modes.CTR(iv)).encryptor()
    return enc.update(b"\x00" * length) + enc.finalize()


def _derive(master_key: bytes, master_salt: bytes, label: int, length: int) -> bytes:
    """RFC 3711 4.3.1 with key derivation rate 0: x = label<<48 XOR salt, keystream at x<<16
    (a 96-bit GCM salt is padded to 112 bits with two zero octets)."""
    if len(master_salt) == 12:
        master_salt += b"\x00\x00"
    x = int.from_bytes(master_salt, "big") ^ (label << 48)
    iv = (x << 16).to_bytes(16, "big")
    return _aes_cm_keystream(master_key, iv, length)


def suite_for_key(key: bytes, salt: bytes) -> str:
    """The suite a user-given key's sizes mean (the 80-bit tag for AES-CM)."""
    suite = _SUITE_BY_LENGTH.get(len(key) + len(salt))
    if suite is None or SUITE_KEYS[suite][:2] != (len(key), len(salt)):
        raise KeyMaterialError(f"SRTP key of {len(key)} + {len(salt)} bytes fits no suite")
    return suite


def parse_key(text: str) -> tuple[bytes, bytes]:
    """A user-given key: base64 of key || salt, as in ``inline:`` of ``a=crypto`` (the
    ``inline:`` prefix and any ``|`` suffix are accepted): 30 bytes for AES_CM_128, 46 for
    AES_256_CM (RFC 6188), 28 for AEAD_AES_128_GCM and 44 for AEAD_AES_256_GCM (RFC 7714).
    Never echoes the key."""
    value = text.strip()
    if value.lower().startswith("inline:"):
        value = value[7:]
    value = value.split("|", 1)[0]
    try:
        raw = base64.b64decode(value + "=" * (-len(value) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise KeyMaterialError("SRTP key is not valid base64") from None
    suite = _SUITE_BY_LENGTH.get(len(raw))
    if suite is None:
        raise KeyMaterialError(
            "SRTP key must be 30 or 46 bytes (AES-CM key and salt) or 28 or 44 "
            f"(AES-GCM), got {len(raw)}"
        )
    size = SUITE_KEYS[suite][0]
    return raw[:size], raw[size:]


class _SsrcState(SrtpCore):
    """One sender's rollover counter and highest sequence number (fields in SrtpCore, which
    the compiled fast path updates too)."""

    __slots__ = ()

    def __reduce__(self) -> tuple[Any, ...]:
        return reduce_fields(self, SRTP_FIELDS)

    def __init__(self) -> None:
        self.roc = 0
        self.s_l = 0
        self.started = False


class SrtpContext:
    """One SDES master key (and its derived session keys) used by one sender."""

    def __init__(
        self,
        master_key: bytes,
        master_salt: bytes,
        suite: str | None = None,
        mki_length: int = 0,
    ) -> None:
        if suite is None:
            suite = suite_for_key(master_key, master_salt)
        if suite not in SUITES:
            raise KeyMaterialError(f"unsupported SRTP suite {suite}")
        key_size, salt_size, aead = SUITE_KEYS[suite]
        if len(master_key) != key_size or len(master_salt) != salt_size:
            raise KeyMaterialError(
                f"SRTP {suite} needs a {key_size}-byte master key and a {salt_size}-byte salt"
            )
        self.suite = suite
        self.aead = aead
        self.tag_length = SUITES[suite]
        self.mki_length = mki_length
        self._master = (master_key, master_salt)
        # Statistics only authenticate RTP: the other session keys are derived on first use
        # (GCM authenticates with its encryption key: nothing to derive for it here).
        self._rtp_auth = b"" if aead else _derive(master_key, master_salt, 1, 20)
        self._ssrcs: dict[int, _SsrcState] = {}

    def __repr__(self) -> str:
        return f"SrtpContext({self.suite}, mki_length={self.mki_length})"

    @cached_property
    def _rtp_key(self) -> bytes:
        return _derive(*self._master, 0, len(self._master[0]))

    @cached_property
    def _rtp_salt(self) -> int:
        return int.from_bytes(_derive(*self._master, 2, len(self._master[1])), "big")

    @cached_property
    def _rtcp_key(self) -> bytes:
        return _derive(*self._master, 3, len(self._master[0]))

    @cached_property
    def _rtcp_auth(self) -> bytes:
        return _derive(*self._master, 4, 20)

    @cached_property
    def _rtcp_salt(self) -> int:
        return int.from_bytes(_derive(*self._master, 5, len(self._master[1])), "big")

    @cached_property
    def _rtp_gcm(self) -> Any:
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        return AESGCM(self._rtp_key)

    @cached_property
    def _rtcp_gcm(self) -> Any:
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        return AESGCM(self._rtcp_key)

    def _gcm_iv(self, ssrc: int, roc: int, seq: int) -> bytes:
        """RFC 7714 8.1: (0x0000 || SSRC || ROC || SEQ) XOR the 96-bit session salt."""
        return ((ssrc << 48 | roc << 16 | seq) ^ self._rtp_salt).to_bytes(12, "big")

    def _estimate(self, state: _SsrcState, seq: int) -> int:
        """RFC 3711 3.3.1: the rollover counter this sequence number most likely belongs to."""
        if not state.started:
            return state.roc
        s_l = state.s_l
        if s_l < 32768:
            if seq - s_l > 32768:
                return (state.roc - 1) & 0xFFFFFFFF
            return state.roc
        if s_l - 32768 > seq:
            return (state.roc + 1) & 0xFFFFFFFF
        return state.roc

    def unprotect(self, packet: bytes, header_length: int, decrypt: bool = True) -> bytes | None:
        """The clear RTP packet (header + payload, no MKI/tag), or None if not authentic.

        ``header_length`` is the RTP header length including CSRCs and extension. With
        ``decrypt=False`` an authentic packet is returned as given (payload still encrypted):
        statistics need only the clear header, and AES costs more than the check itself.
        """
        trailer = self.mki_length + self.tag_length
        if len(packet) < header_length + trailer:
            return None
        seq, ssrc = struct.unpack_from("!H", packet, 2)[0], struct.unpack_from("!I", packet, 8)[0]
        state = self._ssrcs.get(ssrc)
        if state is None:
            state = self._ssrcs[ssrc] = _SsrcState()
        roc = self._estimate(state, seq)
        end = len(packet) - trailer
        opened: bytes | None = None
        if self.aead:
            # GCM: the tag follows the ciphertext, the MKI (if any) comes last.
            sealed = bytes(packet[header_length : len(packet) - self.mki_length])
            try:
                opened = self._rtp_gcm.decrypt(
                    self._gcm_iv(ssrc, roc, seq), sealed, bytes(packet[:header_length])
                )
            except Exception:  # noqa: BLE001 - InvalidTag
                return None
        else:
            tag = packet[len(packet) - self.tag_length :]
            mac = hmac.new(self._rtp_auth, packet[:end] + roc.to_bytes(4, "big"), sha1).digest()
            if not hmac.compare_digest(mac[: self.tag_length], tag):
                return None
        # Update the replay/rollover state only for authentic packets.
        if not state.started:
            state.started, state.s_l, state.roc = True, seq, roc
        elif roc == state.roc and seq > state.s_l:
            state.s_l = seq
        elif roc == (state.roc + 1) & 0xFFFFFFFF:
            state.roc, state.s_l = roc, seq
        if not decrypt:
            return packet
        if opened is not None:
            return bytes(packet[:header_length]) + opened
        index = (roc << 16) | seq
        iv = ((self._rtp_salt << 16) ^ (ssrc << 64) ^ (index << 16)).to_bytes(16, "big")
        clear = _xor(packet[header_length:end], self._rtp_key, iv)
        return bytes(packet[:header_length]) + clear

    def protect(self, packet: bytes, header_length: int, roc: int = 0, mki: int = 0) -> bytes:
        """Encrypt and authenticate one RTP packet (for sample captures and tests)."""
        seq, ssrc = struct.unpack_from("!H", packet, 2)[0], struct.unpack_from("!I", packet, 8)[0]
        mki_bytes = mki.to_bytes(self.mki_length, "big") if self.mki_length else b""
        if self.aead:
            header = bytes(packet[:header_length])
            sealed = self._rtp_gcm.encrypt(
                self._gcm_iv(ssrc, roc, seq), bytes(packet[header_length:]), header
            )
            return header + sealed + mki_bytes
        index = (roc << 16) | seq
        iv = ((self._rtp_salt << 16) ^ (ssrc << 64) ^ (index << 16)).to_bytes(16, "big")
        body = bytes(packet[:header_length]) + _xor(packet[header_length:], self._rtp_key, iv)
        mac = hmac.new(self._rtp_auth, body + roc.to_bytes(4, "big"), sha1).digest()
        return body + mki_bytes + mac[: self.tag_length]

    def protect_rtcp(self, packet: bytes, index: int, mki: int = 0) -> bytes:
        """Encrypt and authenticate one RTCP compound with SRTCP index ``index``."""
        (ssrc,) = struct.unpack_from("!I", packet, 4)
        if self.aead:
            e_index = (0x80000000 | index).to_bytes(4, "big")
            head = bytes(packet[:8])
            sealed = self._rtcp_gcm.encrypt(
                self._rtcp_gcm_iv(ssrc, index), packet[8:], head + e_index
            )
            mki_bytes = mki.to_bytes(self.mki_length, "big") if self.mki_length else b""
            return head + sealed + e_index + mki_bytes
        iv = ((self._rtcp_salt << 16) ^ (ssrc << 64) ^ (index << 16)).to_bytes(16, "big")
        body = bytes(packet[:8]) + _xor(packet[8:], self._rtcp_key, iv)
        body += (0x80000000 | index).to_bytes(4, "big")
        mac = hmac.new(self._rtcp_auth, body, sha1).digest()
        mki_bytes = mki.to_bytes(self.mki_length, "big") if self.mki_length else b""
        return body + mki_bytes + mac[:10]

    def fast_path_key(self, ssrc: int) -> tuple[object, bytes, int, int] | None:
        """What the compiled fast path needs to authenticate this sender's packets as
        :meth:`unprotect` does: its rollover state, the session authentication key, the tag
        and MKI lengths; None before the sender's first packet, and always for GCM (the fast
        path checks HMAC-SHA1 only: GCM streams stay on the Python path)."""
        state = self._ssrcs.get(ssrc)
        if state is None or self.aead:
            return None
        return state, self._rtp_auth, self.tag_length, self.mki_length

    def roc(self, ssrc: int) -> int:
        """Current rollover counter of a sender (0 before its first packet)."""
        state = self._ssrcs.get(ssrc)
        return state.roc if state is not None else 0

    def _rtcp_gcm_iv(self, ssrc: int, index: int) -> bytes:
        """RFC 7714 9.1: (0x0000 || SSRC || 0x0000 || 0 || index) XOR the session salt."""
        return ((ssrc << 48 | (index & 0x7FFFFFFF)) ^ self._rtcp_salt).to_bytes(12, "big")

    def unprotect_rtcp(self, packet: bytes) -> bytes | None:
        """The clear RTCP compound (without E/index, MKI, tag), or None if not authentic."""
        if self.aead:
            return self._unprotect_rtcp_gcm(packet)
        trailer = 4 + self.mki_length + 10
        if len(packet) < 8 + trailer:
            return None
        auth_end = len(packet) - self.mki_length - 10
        tag = packet[len(packet) - 10 :]
        mac = hmac.new(self._rtcp_auth, packet[:auth_end], sha1).digest()
        if not hmac.compare_digest(mac[:10], tag):
            return None
        (e_index,) = struct.unpack_from("!I", packet, auth_end - 4)
        body_end = auth_end - 4
        if not e_index & 0x80000000:
            return bytes(packet[:body_end])
        index = e_index & 0x7FFFFFFF
        (ssrc,) = struct.unpack_from("!I", packet, 4)
        iv = ((self._rtcp_salt << 16) ^ (ssrc << 64) ^ (index << 16)).to_bytes(16, "big")
        return bytes(packet[:8]) + _xor(packet[8:body_end], self._rtcp_key, iv)

    def _unprotect_rtcp_gcm(self, packet: bytes) -> bytes | None:
        """RFC 7714 9: header(8) | ciphertext and tag | E flag and index | MKI."""
        end = len(packet) - self.mki_length
        if end < 8 + _GCM_TAG + 4:
            return None
        (e_index,) = struct.unpack_from("!I", packet, end - 4)
        (ssrc,) = struct.unpack_from("!I", packet, 4)
        head = bytes(packet[:8])
        body = bytes(packet[8 : end - 4])
        trailer = bytes(packet[end - 4 : end])
        if not e_index & 0x80000000:
            # Not encrypted: the tag authenticates header, payload and E/index (RFC 7714 9.2).
            try:
                self._rtcp_gcm.decrypt(
                    self._rtcp_gcm_iv(ssrc, e_index),
                    body[-_GCM_TAG:],
                    head + body[:-_GCM_TAG] + trailer,
                )
            except Exception:  # noqa: BLE001 - InvalidTag
                return None
            return head + body[:-_GCM_TAG]
        try:
            clear = self._rtcp_gcm.decrypt(self._rtcp_gcm_iv(ssrc, e_index), body, head + trailer)
        except Exception:  # noqa: BLE001 - InvalidTag
            return None
        return head + clear


def _xor(data: bytes, key: bytes, iv: bytes) -> bytes:
    dec = Cipher(algorithms.AES(key), modes.CTR(iv)).decryptor()
    return dec.update(bytes(data)) + dec.finalize()
