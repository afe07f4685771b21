"""NTLM messages inside SIP ``gssapi-data``, and checking them when the password is known.

SIP uses connectionless (datagram) NTLM ([MS-SIP] 3.1, [MS-NLMP]): the 401 carries a
CHALLENGE_MESSAGE, the next REGISTER an AUTHENTICATE_MESSAGE, and from then on every message is
signed. :func:`parse_ntlm` decodes the three message types (sans-IO, bytes in, typed object out;
bad input raises :class:`~lyncdump.errors.MalformedError` with layer ``ntlm``).

With the user's password, :class:`NtlmContext` recomputes the NTLMv2 proof (so a wrong password
shows as "invalid", not as a mystery 401) and derives the signing keys that check ``response``
and ``rspauth`` over the [MS-SIPAE] signature buffer. MD4 is written here because OpenSSL 3
no longer offers it by default; RC4 is a few lines and avoids the deprecated ARC4 import.
"""

from __future__ import annotations

import datetime as _dt
import struct
import zlib
from dataclasses import dataclass

from ..errors import MalformedError

__all__ = [
    "AV_NAMES",
    "FLAG_NAMES",
    "NtlmAuthenticate",
    "NtlmChallenge",
    "NtlmContext",
    "NtlmNegotiate",
    "NtlmV2Response",
    "flag_names",
    "filetime_to_datetime",
    "hmac_md5",
    "md4",
    "nt_owf_v2",
    "parse_ntlm",
    "rc4",
]

_LAYER = "ntlm"
SIGNATURE = b"NTLMSSP\x00"

#: NegotiateFlags bit → name ([MS-NLMP] 2.2.2.5).
FLAG_NAMES: dict[int, str] = {
    0x00000001: "UNICODE",
    0x00000002: "OEM",
    0x00000004: "REQUEST_TARGET",
    0x00000010: "SIGN",
    0x00000020: "SEAL",
    0x00000040: "DATAGRAM",
    0x00000080: "LM_KEY",
    0x00000200: "NTLM",
    0x00000800: "ANONYMOUS",
    0x00001000: "OEM_DOMAIN_SUPPLIED",
    0x00002000: "OEM_WORKSTATION_SUPPLIED",
    0x00008000: "ALWAYS_SIGN",
    0x00010000: "TARGET_TYPE_DOMAIN",
    0x00020000: "TARGET_TYPE_SERVER",
    0x00080000: "EXTENDED_SESSIONSECURITY",
    0x00100000: "IDENTIFY",
    0x00400000: "REQUEST_NON_NT_SESSION_KEY",
    0x00800000: "TARGET_INFO",
    0x02000000: "VERSION",
    0x20000000: "128",
    0x40000000: "KEY_EXCH",
    0x80000000: "56",
}

UNICODE = 0x00000001
DATAGRAM = 0x00000040
EXTENDED_SESSIONSECURITY = 0x00080000
KEY_EXCH = 0x40000000
NEGOTIATE_128 = 0x20000000
NEGOTIATE_56 = 0x80000000

#: AV_PAIR ids ([MS-NLMP] 2.2.2.1).
AV_NAMES: dict[int, str] = {
    0: "EOL",
    1: "NbComputerName",
    2: "NbDomainName",
    3: "DnsComputerName",
    4: "DnsDomainName",
    5: "DnsTreeName",
    6: "Flags",
    7: "Timestamp",
    8: "SingleHost",
    9: "TargetName",
    10: "ChannelBindings",
}
_AV_TEXT = {1, 2, 3, 4, 5, 9}
_MAX_AV_PAIRS = 64


def flag_names(flags: int) -> list[str]:
    """Names of the set NegotiateFlags bits, lowest bit first; unknown bits as hex."""
    out = []
    for bit in range(32):
        value = 1 << bit
        if flags & value:
            out.append(FLAG_NAMES.get(value, f"0x{value:08x}"))
    return out


def filetime_to_datetime(value: int) -> _dt.datetime | None:
    """A Windows FILETIME (100 ns since 1601) as an aware UTC datetime; None if out of range."""
    try:
        return _dt.datetime(1601, 1, 1, tzinfo=_dt.timezone.utc) + _dt.timedelta(
            microseconds=value // 10
        )
    except OverflowError:
        return None


@dataclass(frozen=True, slots=True)
class NtlmVersion:
    """The 8-byte VERSION structure: the Windows build that made the message."""

    major: int
    minor: int
    build: int
    revision: int

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}.{self.build}"


@dataclass(slots=True)
class AvPair:
    """One target-info entry: id, name, raw value, and a readable value when known."""

    av_id: int
    value: bytes

    @property
    def name(self) -> str:
        return AV_NAMES.get(self.av_id, f"AV{self.av_id}")

    @property
    def text(self) -> str:
        """The value as a person reads it (names, time, flags, or hex)."""
        if self.av_id in _AV_TEXT:
            return self.value.decode("utf-16-le", "replace")
        if self.av_id == 7 and len(self.value) == 8:
            moment = filetime_to_datetime(struct.unpack("<Q", self.value)[0])
            return moment.isoformat() if moment is not None else self.value.hex()
        if self.av_id == 6 and len(self.value) == 4:
            return f"0x{struct.unpack('<I', self.value)[0]:08x}"
        return self.value.hex()


@dataclass(slots=True)
class NtlmNegotiate:
    """NEGOTIATE_MESSAGE (type 1); not used on SIP, but HTTP web services send it."""

    flags: int
    domain: str
    workstation: str
    version: NtlmVersion | None
    message_type: int = 1

    @property
    def flag_names(self) -> list[str]:
        return flag_names(self.flags)


@dataclass(slots=True)
class NtlmChallenge:
    """CHALLENGE_MESSAGE (type 2): the server's nonce and who the server is."""

    flags: int
    server_challenge: bytes
    target_name: str
    target_info: list[AvPair]
    target_info_raw: bytes
    version: NtlmVersion | None
    message_type: int = 2

    @property
    def flag_names(self) -> list[str]:
        return flag_names(self.flags)

    def av(self, name: str) -> str | None:
        """Readable value of the first target-info pair with this name."""
        for pair in self.target_info:
            if pair.name == name:
                return pair.text
        return None

    @property
    def timestamp(self) -> _dt.datetime | None:
        for pair in self.target_info:
            if pair.av_id == 7 and len(pair.value) == 8:
                return filetime_to_datetime(struct.unpack("<Q", pair.value)[0])
        return None


@dataclass(slots=True)
class NtlmV2Response:
    """The NTLMv2 NtChallengeResponse layout: proof, client time and nonce, echoed target info."""

    nt_proof: bytes
    blob: bytes  # everything after NTProofStr: what the proof is an HMAC of (with the challenge)
    timestamp: _dt.datetime | None
    client_challenge: bytes
    av_pairs: list[AvPair]


@dataclass(slots=True)
class NtlmAuthenticate:
    """AUTHENTICATE_MESSAGE (type 3): who signs in, from where, and the proofs."""

    flags: int
    domain: str
    user: str
    workstation: str
    lm_response: bytes
    nt_response: bytes
    encrypted_session_key: bytes
    version: NtlmVersion | None
    mic: bytes | None
    ntlmv2: NtlmV2Response | None = None
    message_type: int = 3

    @property
    def flag_names(self) -> list[str]:
        return flag_names(self.flags)

    @property
    def ntlm_version(self) -> str:
        """``NTLMv2`` (long NT response), ``NTLMv1`` (24 bytes) or ``anonymous``."""
        if self.ntlmv2 is not None:
            return "NTLMv2"
        if len(self.nt_response) == 24:
            return "NTLMv1"
        return "anonymous" if not self.nt_response else "unknown"

    @property
    def identity(self) -> str:
        """``DOMAIN\\user`` (or just the user)."""
        return f"{self.domain}\\{self.user}" if self.domain else self.user


NtlmMessage = NtlmNegotiate | NtlmChallenge | NtlmAuthenticate


def _need(data: bytes, end: int, what: str) -> None:
    if len(data) < end:
        raise MalformedError(_LAYER, len(data), f"{what} cut short ({len(data)} of {end} bytes)")


def _field(data: bytes, offset: int, what: str) -> bytes:
    """Read a Len/MaxLen/Offset descriptor at ``offset`` and return the bytes it points at."""
    _need(data, offset + 8, what)
    length, _max, where = struct.unpack_from("<HHI", data, offset)
    if length == 0:
        return b""
    if where + length > len(data):
        raise MalformedError(
            _LAYER, offset, f"{what} points past the end ({where}+{length} > {len(data)})"
        )
    return data[where : where + length]


def _text(raw: bytes, flags: int) -> str:
    return raw.decode("utf-16-le" if flags & UNICODE else "latin-1", "replace")


def _version(data: bytes, offset: int, flags: int) -> NtlmVersion | None:
    if not flags & 0x02000000 or len(data) < offset + 8:
        return None
    major, minor, build = struct.unpack_from("<BBH", data, offset)
    return NtlmVersion(major, minor, build, data[offset + 7])


def parse_av_pairs(data: bytes) -> list[AvPair]:
    """Target-info AV pairs up to MsvAvEOL (at most 64; trailing bytes ignored)."""
    pairs: list[AvPair] = []
    pos = 0
    while pos + 4 <= len(data) and len(pairs) < _MAX_AV_PAIRS:
        av_id, av_len = struct.unpack_from("<HH", data, pos)
        if av_id == 0:
            return pairs
        if pos + 4 + av_len > len(data):
            raise MalformedError(_LAYER, pos, f"AV pair {av_id} of {av_len} bytes cut short")
        pairs.append(AvPair(av_id, data[pos + 4 : pos + 4 + av_len]))
        pos += 4 + av_len
    return pairs


def _ntlmv2_response(nt: bytes) -> NtlmV2Response | None:
    if len(nt) <= 24:
        return None
    if len(nt) < 44:
        raise MalformedError(_LAYER, None, f"NTLMv2 response of {len(nt)} bytes is too short")
    blob = nt[16:]
    stamp = struct.unpack_from("<Q", blob, 8)[0]
    try:
        pairs = parse_av_pairs(blob[28:])
    except MalformedError:
        pairs = []
    return NtlmV2Response(nt[:16], blob, filetime_to_datetime(stamp), blob[16:24], pairs)


def parse_ntlm(data: bytes) -> NtlmMessage:
    """Decode one NTLM message (type 1, 2 or 3) from its raw bytes."""
    _need(data, 12, "NTLM header")
    if data[:8] != SIGNATURE:
        raise MalformedError(_LAYER, 0, "no NTLMSSP signature")
    (kind,) = struct.unpack_from("<I", data, 8)
    if kind == 1:
        _need(data, 16, "NEGOTIATE_MESSAGE")
        (flags,) = struct.unpack_from("<I", data, 12)
        oem_domain = oem_workstation = ""
        if len(data) >= 32:
            oem_domain = _field(data, 16, "DomainNameFields").decode("latin-1")
            oem_workstation = _field(data, 24, "WorkstationFields").decode("latin-1")
        return NtlmNegotiate(flags, oem_domain, oem_workstation, _version(data, 32, flags))
    if kind == 2:
        _need(data, 32, "CHALLENGE_MESSAGE")
        (flags,) = struct.unpack_from("<I", data, 20)
        target = _field(data, 12, "TargetNameFields")
        info = b""
        if len(data) >= 48:
            info = _field(data, 40, "TargetInfoFields")
        return NtlmChallenge(
            flags=flags,
            server_challenge=data[24:32],
            target_name=_text(target, flags),
            target_info=parse_av_pairs(info),
            target_info_raw=info,
            version=_version(data, 48, flags),
        )
    if kind == 3:
        _need(data, 64, "AUTHENTICATE_MESSAGE")
        (flags,) = struct.unpack_from("<I", data, 60)
        lm = _field(data, 12, "LmChallengeResponseFields")
        nt = _field(data, 20, "NtChallengeResponseFields")
        domain = _field(data, 28, "DomainNameFields")
        user = _field(data, 36, "UserNameFields")
        ws = _field(data, 44, "WorkstationFields")
        key = _field(data, 52, "EncryptedRandomSessionKeyFields")
        v2 = _ntlmv2_response(nt)
        mic = None
        if v2 is not None:
            for pair in v2.av_pairs:
                if pair.av_id == 6 and len(pair.value) == 4 and pair.value[0] & 0x02:
                    if len(data) >= 88:
                        mic = data[72:88]
        return NtlmAuthenticate(
            flags=flags,
            domain=_text(domain, flags),
            user=_text(user, flags),
            workstation=_text(ws, flags),
            lm_response=lm,
            nt_response=nt,
            encrypted_session_key=key,
            version=_version(data, 64, flags),
            mic=mic,
            ntlmv2=v2,
        )
    raise MalformedError(_LAYER, 8, f"unknown NTLM message type {kind}")


# -- cryptography -------------------------------------------------------------------------------


def _rotl(x: int, n: int) -> int:
    x &= 0xFFFFFFFF
    return ((x << n) | (x >> (32 - n))) & 0xFFFFFFFF


def md4(data: bytes) -> bytes:
    """MD4 (RFC 1320), for NTOWF; OpenSSL 3 hides it in the legacy provider."""
    msg = bytearray(data)
    bit_len = (8 * len(data)) & 0xFFFFFFFFFFFFFFFF
    msg.append(0x80)
    while len(msg) % 64 != 56:
        msg.append(0)
    msg += struct.pack("<Q", bit_len)
    a, b, c, d = 0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476
    for chunk in range(0, len(msg), 64):
        x = struct.unpack_from("<16I", msg, chunk)
        aa, bb, cc, dd = a, b, c, d
        for i in (0, 4, 8, 12):  # round 1
            a = _rotl(a + ((b & c) | (~b & d)) + x[i], 3)
            d = _rotl(d + ((a & b) | (~a & c)) + x[i + 1], 7)
            c = _rotl(c + ((d & a) | (~d & b)) + x[i + 2], 11)
            b = _rotl(b + ((c & d) | (~c & a)) + x[i + 3], 19)
        for i in (0, 1, 2, 3):  # round 2
            a = _rotl(a + ((b & c) | (b & d) | (c & d)) + x[i] + 0x5A827999, 3)
            d = _rotl(d + ((a & b) | (a & c) | (b & c)) + x[i + 4] + 0x5A827999, 5)
            c = _rotl(c + ((d & a) | (d & b) | (a & b)) + x[i + 8] + 0x5A827999, 9)
            b = _rotl(b + ((c & d) | (c & a) | (d & a)) + x[i + 12] + 0x5A827999, 13)
        for i in (0, 2, 1, 3):  # round 3
            a = _rotl(a + (b ^ c ^ d) + x[i] + 0x6ED9EBA1, 3)
            d = _rotl(d + (a ^ b ^ c) + x[i + 8] + 0x6ED9EBA1, 9)
            c = _rotl(c + (d ^ a ^ b) + x[i + 4] + 0x6ED9EBA1, 11)
            b = _rotl(b + (c ^ d ^ a) + x[i + 12] + 0x6ED9EBA1, 15)
        a = (a + aa) & 0xFFFFFFFF
        b = (b + bb) & 0xFFFFFFFF
        c = (c + cc) & 0xFFFFFFFF
        d = (d + dd) & 0xFFFFFFFF
    return struct.pack("<4I", a, b, c, d)


def rc4(key: bytes, data: bytes) -> bytes:
    """RC4 with a fresh key schedule (NTLM uses it for the session key and the checksum)."""
    s = list(range(256))
    j = 0
    klen = len(key)
    for i in range(256):
        j = (j + s[i] + key[i % klen]) & 0xFF
        s[i], s[j] = s[j], s[i]
    out = bytearray(len(data))
    i = j = 0
    for n, byte in enumerate(data):
        i = (i + 1) & 0xFF
        j = (j + s[i]) & 0xFF
        s[i], s[j] = s[j], s[i]
        out[n] = byte ^ s[(s[i] + s[j]) & 0xFF]
    return bytes(out)


def hmac_md5(key: bytes, data: bytes) -> bytes:
    # cryptography loads on the first signature checked, not with every run.
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives import hmac as _hmac

    h = _hmac.HMAC(key, hashes.MD5())
    h.update(data)
    return h.finalize()


def _md5(data: bytes) -> bytes:
    from cryptography.hazmat.primitives import hashes

    h = hashes.Hash(hashes.MD5())
    h.update(data)
    return h.finalize()


def nt_owf_v2(password: str, user: str, domain: str) -> bytes:
    """NTOWFv2: HMAC-MD5(MD4(UTF-16LE password), UTF-16LE(upper(user) + domain))."""
    nt_hash = md4(password.encode("utf-16-le"))
    return hmac_md5(nt_hash, (user.upper() + domain).encode("utf-16-le"))


_CLIENT_SIGN = b"session key to client-to-server signing key magic constant\x00"
_SERVER_SIGN = b"session key to server-to-client signing key magic constant\x00"
_CLIENT_SEAL = b"session key to client-to-server sealing key magic constant\x00"
_SERVER_SEAL = b"session key to server-to-client sealing key magic constant\x00"


@dataclass(slots=True)
class NtlmContext:
    """One NTLM security association rebuilt from CHALLENGE + AUTHENTICATE + the password.

    ``proof_valid`` says whether the password reproduces the client's NTLMv2 proof; when it
    does, :meth:`check` tells whether a ``response``/``rspauth`` signature is right.
    """

    flags: int
    proof_valid: bool | None
    exported_session_key: bytes | None = None
    client_sign: bytes = b""
    server_sign: bytes = b""
    client_seal: bytes = b""
    server_seal: bytes = b""
    reason: str = ""

    @classmethod
    def from_exchange(
        cls, challenge: NtlmChallenge, auth: NtlmAuthenticate, password: str
    ) -> NtlmContext:
        """Recompute the NTLMv2 proof and, when it matches, the session keys."""
        flags = auth.flags
        v2 = auth.ntlmv2
        if v2 is None:
            return cls(flags, None, reason=f"{auth.ntlm_version} response: not checked")
        key_nt = nt_owf_v2(password, auth.user, auth.domain)
        proof = hmac_md5(key_nt, challenge.server_challenge + v2.blob)
        if proof != v2.nt_proof:
            return cls(flags, False, reason="NTLMv2 proof does not match the password")
        base = hmac_md5(key_nt, proof)
        exported = base
        if flags & KEY_EXCH and len(auth.encrypted_session_key) == 16:
            exported = rc4(base, auth.encrypted_session_key)
        ctx = cls(flags, True, exported_session_key=exported)
        if flags & EXTENDED_SESSIONSECURITY:
            ctx.client_sign = _md5(exported + _CLIENT_SIGN)
            ctx.server_sign = _md5(exported + _SERVER_SIGN)
            seal = exported
            if not flags & NEGOTIATE_128:
                seal = exported[:7] if flags & NEGOTIATE_56 else exported[:5]
            ctx.client_seal = _md5(seal + _CLIENT_SEAL)
            ctx.server_seal = _md5(seal + _SERVER_SEAL)
        else:
            ctx.client_sign = ctx.server_sign = exported
            ctx.client_seal = ctx.server_seal = exported
        return ctx

    def sign(self, text: bytes, *, from_client: bool, seq: int) -> bytes:
        """The 16-byte NTLM signature of ``text`` with sequence number ``seq``."""
        return ntlm_mac(
            self.flags,
            text,
            self.client_sign if from_client else self.server_sign,
            self.client_seal if from_client else self.server_seal,
            seq,
        )

    def check(self, text: bytes, signature_hex: str, *, from_client: bool) -> bool | None:
        """True/False when the signature can be checked; None without keys or a bad token."""
        if not self.proof_valid:
            return None
        try:
            sig = bytes.fromhex(signature_hex)
        except ValueError:
            return None
        if len(sig) != 16:
            return None
        if self.flags & EXTENDED_SESSIONSECURITY:
            seq = struct.unpack_from("<I", sig, 12)[0]
        else:
            seal = self.client_seal if from_client else self.server_seal
            seq = struct.unpack_from("<I", rc4(seal, b"\x00" * 8 + sig[12:16]), 8)[0]
        return self.sign(text, from_client=from_client, seq=seq).lower() == sig.lower()


def ntlm_mac(flags: int, text: bytes, sign_key: bytes, seal_key: bytes, seq: int) -> bytes:
    """MAC() of [MS-NLMP] 3.4.4 as SIP uses it: a fresh RC4 state per message (datagram mode).

    Checked against the real OC 2007 R2 / OCS 2007 R2 exchange in the SIPE test data.
    """
    seq_bytes = struct.pack("<I", seq)
    if flags & EXTENDED_SESSIONSECURITY:
        checksum = hmac_md5(sign_key, seq_bytes + text)[:8]
        if flags & KEY_EXCH:
            if flags & DATAGRAM:  # connectionless: a per-message sealing key ([MS-NLMP] 3.4.3)
                seal_key = _md5(seal_key + seq_bytes)
            checksum = rc4(seal_key, checksum)
        return struct.pack("<I", 1) + checksum + seq_bytes
    crc = zlib.crc32(text) & 0xFFFFFFFF
    sealed = rc4(seal_key, struct.pack("<III", 0, crc, seq))
    return struct.pack("<I", 1) + b"\x00\x00\x00\x00" + sealed[4:]
