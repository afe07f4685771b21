"""SRTP and SRTCP decryption (RFC 3711) for SDES keys: AES_CM_128_HMAC_SHA1_80 and _32.

Keys come from the call's ``a=crypto`` (or Lync's ``a=cryptoscale``) lines or from the user
(``--srtp-key``). :class:`SrtpContext` holds one master key and, per SSRC, the rollover counter
(RFC 3711 3.3.1 index estimation). :meth:`SrtpContext.unprotect` verifies the HMAC-SHA1 tag
and returns the clear packet, or None when the tag does not match: a wrong key gives counted
authentication failures, never garbage. Lync's MKI (``|1:1``) sits between payload and tag.
The crypto is the ``cryptography`` package's AES-CTR and HMAC.
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

#: Suite name -> SRTP tag length in bytes (SRTCP always uses 10, RFC 4568 6.2).
SUITES = {"AES_CM_128_HMAC_SHA1_80": 10, "AES_CM_128_HMAC_SHA1_32": 4}


def _aes_cm_keystream(key: bytes, iv: bytes, length: int) -> bytes:
    enc = Cipher(algorithms.AES(key), modes.CTR(iv)).encryptor()
    return enc.update(b"\x00" * length) + enc.finalize()


def _derive(master_key: bytes, master_salt: bytes, label: int, length: int) -> bytes:
    """RFC 3711 4.3.1 with key derivation rate 0: x = label<<48 XOR salt, keystream at x<<16."""
    x = int.from_bytes(master_salt, "big") ^ (label << 48)
    iv = (x << 16).to_bytes(16, "big")
    return _aes_cm_keystream(master_key, iv, length)


def parse_key(text: str) -> tuple[bytes, bytes]:
    """A user-given key: base64 of 30 bytes (key || salt), as in ``inline:`` of ``a=crypto``
    (the ``inline:`` prefix and any ``|`` suffix are accepted). Never echoes the key."""
    value = text.strip()
    if value.lower().startswith("inline:"):
        value = value[7:]
    value = value.split("|", 1)[0]
    try:
        raw = base64.b64decode(value + "=" * (-len(value) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise KeyMaterialError("SRTP key is not valid base64") from None
    if len(raw) != 30:
        raise KeyMaterialError(f"SRTP key must be 30 bytes (key and salt), got {len(raw)}")
    return raw[:16], raw[16:]


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
        suite: str = "AES_CM_128_HMAC_SHA1_80",
        mki_length: int = 0,
    ) -> None:
        if len(master_key) != 16 or len(master_salt) != 14:
            raise KeyMaterialError("SRTP needs a 16-byte master key and a 14-byte salt")
        if suite not in SUITES:
            raise KeyMaterialError(f"unsupported SRTP suite {suite}")
        self.suite = suite
        self.tag_length = SUITES[suite]
        self.mki_length = mki_length
        self._master = (master_key, master_salt)
        # Statistics only authenticate RTP: the other session keys are derived on first use.
        self._rtp_auth = _derive(master_key, master_salt, 1, 20)
        self._ssrcs: dict[int, _SsrcState] = {}

    def __repr__(self) -> str:
        return f"SrtpContext({self.suite}, mki_length={self.mki_length})"

    @cached_property
    def _rtp_key(self) -> bytes:
        return _derive(*self._master, 0, 16)

    @cached_property
    def _rtp_salt(self) -> int:
        return int.from_bytes(_derive(*self._master, 2, 14), "big")

    @cached_property
    def _rtcp_key(self) -> bytes:
        return _derive(*self._master, 3, 16)

    @cached_property
    def _rtcp_auth(self) -> bytes:
        return _derive(*self._master, 4, 20)

    @cached_property
    def _rtcp_salt(self) -> int:
        return int.from_bytes(_derive(*self._master, 5, 14), "big")

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
        index = (roc << 16) | seq
        iv = ((self._rtp_salt << 16) ^ (ssrc << 64) ^ (index << 16)).to_bytes(16, "big")
        clear = _xor(packet[header_length:end], self._rtp_key, iv)
        return bytes(packet[:header_length]) + clear

    def protect(self, packet: bytes, header_length: int, roc: int = 0, mki: int = 0) -> bytes:
        """Encrypt and authenticate one RTP packet (for sample captures and tests)."""
        seq, ssrc = struct.unpack_from("!H", packet, 2)[0], struct.unpack_from("!I", packet, 8)[0]
        index = (roc << 16) | seq
        iv = ((self._rtp_salt << 16) ^ (ssrc << 64) ^ (index << 16)).to_bytes(16, "big")
        body = bytes(packet[:header_length]) + _xor(packet[header_length:], self._rtp_key, iv)
        mac = hmac.new(self._rtp_auth, body + roc.to_bytes(4, "big"), sha1).digest()
        mki_bytes = mki.to_bytes(self.mki_length, "big") if self.mki_length else b""
        return body + mki_bytes + mac[: self.tag_length]

    def protect_rtcp(self, packet: bytes, index: int, mki: int = 0) -> bytes:
        """Encrypt and authenticate one RTCP compound with SRTCP index ``index``."""
        (ssrc,) = struct.unpack_from("!I", packet, 4)
        iv = ((self._rtcp_salt << 16) ^ (ssrc << 64) ^ (index << 16)).to_bytes(16, "big")
        body = bytes(packet[:8]) + _xor(packet[8:], self._rtcp_key, iv)
        body += (0x80000000 | index).to_bytes(4, "big")
        mac = hmac.new(self._rtcp_auth, body, sha1).digest()
        mki_bytes = mki.to_bytes(self.mki_length, "big") if self.mki_length else b""
        return body + mki_bytes + mac[:10]

    def fast_path_key(self, ssrc: int) -> tuple[object, bytes, int, int] | None:
        """What the compiled fast path needs to authenticate this sender's packets as
        :meth:`unprotect` does: its rollover state, the session authentication key, the tag
        and MKI lengths; None before the sender's first packet."""
        state = self._ssrcs.get(ssrc)
        if state is None:
            return None
        return state, self._rtp_auth, self.tag_length, self.mki_length

    def roc(self, ssrc: int) -> int:
        """Current rollover counter of a sender (0 before its first packet)."""
        state = self._ssrcs.get(ssrc)
        return state.roc if state is not None else 0

    def unprotect_rtcp(self, packet: bytes) -> bytes | None:
        """The clear RTCP compound (without E/index, MKI, tag), or None if not authentic."""
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


def _xor(data: bytes, key: bytes, iv: bytes) -> bytes:
    dec = Cipher(algorithms.AES(key), modes.CTR(iv)).decryptor()
    return dec.update(bytes(data)) + dec.finalize()
