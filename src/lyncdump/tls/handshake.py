"""TLS handshake messages (RFC 5246 §7.4, RFC 8446 §4): reassembly across records and the
few fields a passive decoder needs: randoms, session IDs, tickets, suites, extensions that
change key derivation, SNI and the certificate chain.

Sans-IO and strict about lengths: every length read is checked against what remains and a
violation raises :class:`MalformedError` (layer ``tls``).
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field

from ..errors import MalformedError
from ..recent import RecentTable
from .summary import CertificateSummary

HELLO_REQUEST = 0
CLIENT_HELLO = 1
SERVER_HELLO = 2
NEW_SESSION_TICKET = 4
END_OF_EARLY_DATA = 5
ENCRYPTED_EXTENSIONS = 8
CERTIFICATE = 11
SERVER_KEY_EXCHANGE = 12
CERTIFICATE_REQUEST = 13
SERVER_HELLO_DONE = 14
CERTIFICATE_VERIFY = 15
CLIENT_KEY_EXCHANGE = 16
FINISHED = 20
KEY_UPDATE = 24

EXT_SERVER_NAME = 0
EXT_ENCRYPT_THEN_MAC = 22
EXT_EXTENDED_MASTER_SECRET = 23
EXT_SESSION_TICKET = 35
EXT_SUPPORTED_VERSIONS = 43

#: ServerHello.random of a HelloRetryRequest (RFC 8446 §4.1.3): SHA-256("HelloRetryRequest").
HRR_RANDOM = bytes.fromhex("cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c")

#: Bound on one handshake message being reassembled (certificate chains are the big ones).
MAX_HANDSHAKE_MESSAGE = 256 * 1024

VERSION_NAMES = {
    0x0300: "SSL 3.0",
    0x0301: "TLS 1.0",
    0x0302: "TLS 1.1",
    0x0303: "TLS 1.2",
    0x0304: "TLS 1.3",
}


def version_name(version: int) -> str:
    return VERSION_NAMES.get(version, f"0x{version:04x}")


class _Reader:
    """Bounds-checked reads over one message body."""

    __slots__ = ("data", "pos", "end", "what")

    def __init__(self, data: bytes, what: str, pos: int = 0, end: int | None = None) -> None:
        self.data = data
        self.pos = pos
        self.end = len(data) if end is None else end
        self.what = what

    def _need(self, n: int) -> int:
        start = self.pos
        if self.end - start < n:
            raise MalformedError(
                "tls", start, f"{self.what}: {n} bytes needed, {self.end - start} left"
            )
        self.pos = start + n
        return start

    def u8(self) -> int:
        return self.data[self._need(1)]

    def u16(self) -> int:
        at = self._need(2)
        return int.from_bytes(self.data[at : at + 2], "big")

    def u24(self) -> int:
        at = self._need(3)
        return int.from_bytes(self.data[at : at + 3], "big")

    def raw(self, n: int) -> bytes:
        at = self._need(n)
        return self.data[at : at + n]

    def vector(self, width: int) -> bytes:
        n = self.u8() if width == 1 else self.u16() if width == 2 else self.u24()
        return self.raw(n)

    def sub(self, width: int, what: str) -> _Reader:
        n = self.u8() if width == 1 else self.u16() if width == 2 else self.u24()
        at = self._need(n)
        return _Reader(self.data, what, at, at + n)

    @property
    def left(self) -> int:
        return self.end - self.pos


@dataclass(slots=True)
class ClientHello:
    legacy_version: int
    random: bytes
    session_id: bytes
    cipher_suites: list[int]
    sni: str | None = None
    supported_versions: list[int] = field(default_factory=list)
    session_ticket: bytes | None = None  # SessionTicket extension content (empty = asks for one)
    extended_master_secret: bool = False
    encrypt_then_mac: bool = False


@dataclass(slots=True)
class ServerHello:
    legacy_version: int
    random: bytes
    session_id: bytes
    cipher_suite: int
    selected_version: int | None = None
    extended_master_secret: bool = False
    encrypt_then_mac: bool = False
    session_ticket_ack: bool = False

    @property
    def version(self) -> int:
        return self.selected_version or self.legacy_version

    @property
    def is_retry_request(self) -> bool:
        return self.random == HRR_RANDOM


def _extensions(r: _Reader) -> list[tuple[int, bytes]]:
    if r.left == 0:
        return []
    # The walk by hand (a browser's or Lync's hello has a dozen or more): when every length
    # fits, it reads what the reader below would; anything else, the reader says what.
    data, start, end = r.data, r.pos, r.end
    if end - start >= 2:
        stop = start + 2 + ((data[start] << 8) | data[start + 1])
        if stop <= end:
            out = []
            at = start + 2
            while stop - at >= 4:
                nxt = at + 4 + ((data[at + 2] << 8) | data[at + 3])
                if nxt > stop:
                    break
                out.append(((data[at] << 8) | data[at + 1], data[at + 4 : nxt]))
                at = nxt
            if at == stop:
                r.pos = stop
                return out
    ext = r.sub(2, "extensions")
    out = []
    while ext.left:
        etype = ext.u16()
        out.append((etype, ext.vector(2)))
    return out


def _sni(data: bytes) -> str | None:
    r = _Reader(data, "server_name")
    names = r.sub(2, "server_name list")
    while names.left:
        kind = names.u8()
        name = names.vector(2)
        if kind == 0:
            return name.decode("ascii", "replace")
    return None


def parse_client_hello(body: bytes) -> ClientHello:
    r = _Reader(body, "ClientHello")
    version = r.u16()
    random = r.raw(32)
    session_id = r.vector(1)
    suites_raw = r.vector(2)
    if len(suites_raw) % 2:
        raise MalformedError("tls", r.pos, "ClientHello: odd cipher suite list length")
    suites = [(suites_raw[i] << 8) | suites_raw[i + 1] for i in range(0, len(suites_raw), 2)]
    r.vector(1)  # compression methods
    hello = ClientHello(version, random, session_id, suites)
    for etype, data in _extensions(r):
        if etype == EXT_SERVER_NAME and data:
            hello.sni = _sni(data)
        elif etype == EXT_SUPPORTED_VERSIONS:
            v = _Reader(data, "supported_versions").vector(1)
            hello.supported_versions = [
                int.from_bytes(v[i : i + 2], "big") for i in range(0, len(v) - 1, 2)
            ]
        elif etype == EXT_SESSION_TICKET:
            hello.session_ticket = data
        elif etype == EXT_EXTENDED_MASTER_SECRET:
            hello.extended_master_secret = True
        elif etype == EXT_ENCRYPT_THEN_MAC:
            hello.encrypt_then_mac = True
    return hello


def parse_server_hello(body: bytes) -> ServerHello:
    r = _Reader(body, "ServerHello")
    version = r.u16()
    random = r.raw(32)
    session_id = r.vector(1)
    suite = r.u16()
    r.u8()  # compression method
    hello = ServerHello(version, random, session_id, suite)
    for etype, data in _extensions(r):
        if etype == EXT_SUPPORTED_VERSIONS and len(data) >= 2:
            hello.selected_version = int.from_bytes(data[:2], "big")
        elif etype == EXT_EXTENDED_MASTER_SECRET:
            hello.extended_master_secret = True
        elif etype == EXT_ENCRYPT_THEN_MAC:
            hello.encrypt_then_mac = True
        elif etype == EXT_SESSION_TICKET:
            hello.session_ticket_ack = True
    return hello


def parse_certificate(body: bytes, tls13: bool) -> list[bytes]:
    """The DER certificates of a Certificate message, leaf first."""
    r = _Reader(body, "Certificate")
    if tls13:
        r.vector(1)  # certificate_request_context
    chain = r.sub(3, "certificate_list")
    out = []
    while chain.left:
        out.append(chain.vector(3))
        if tls13:
            chain.vector(2)  # per-certificate extensions
    return out


def parse_new_session_ticket(body: bytes, tls13: bool) -> bytes:
    """The ticket of a NewSessionTicket message (opaque to us: a key for the session cache)."""
    r = _Reader(body, "NewSessionTicket")
    r.raw(4)  # lifetime hint
    if tls13:
        r.raw(4)  # age add
        r.vector(1)  # nonce
    return r.vector(2)


def parse_rsa_client_key_exchange(body: bytes, version: int) -> bytes:
    """The encrypted premaster secret (TLS 1.0+ prefixes it with a length; SSL 3.0 does not)."""
    if version == 0x0300:
        return body
    return _Reader(body, "ClientKeyExchange").vector(2)


class HandshakeAssembler:
    """Handshake messages out of the handshake-type record fragments of one direction
    (a message may span records; a record may hold several messages)."""

    __slots__ = ("_buf",)

    def __init__(self) -> None:
        self._buf = b""

    def feed(self, fragment: bytes) -> list[tuple[int, bytes, bytes]]:
        """Returns (type, body, whole message with its 4-byte header) for each message completed."""
        buf = self._buf + fragment if self._buf else fragment
        out = []
        pos = 0
        while len(buf) - pos >= 4:
            length = int.from_bytes(buf[pos + 1 : pos + 4], "big")
            if length > MAX_HANDSHAKE_MESSAGE:
                self._buf = b""
                raise MalformedError(
                    "tls", pos, f"handshake message of {length} bytes exceeds the bound"
                )
            end = pos + 4 + length
            if len(buf) < end:
                break
            out.append((buf[pos], buf[pos + 4 : end], buf[pos:end]))
            pos = end
        self._buf = buf[pos:]
        return out

    def reset(self) -> None:
        self._buf = b""


def _utc(value: _dt.datetime) -> str:
    if value.tzinfo is None:
        value = value.replace(tzinfo=_dt.timezone.utc)
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


#: Summaries of the last server certificates seen: a Front End shows the same one on every
#: connection, and reading it is most of a TLS 1.3 handshake's cost here. Frozen, so shared.
_RECENT_CERTS_MAX = 16
_RECENT_CERTS: RecentTable[bytes, CertificateSummary] = RecentTable(_RECENT_CERTS_MAX)


def summarize_certificate(der: bytes) -> CertificateSummary:
    """Subject, issuer, SAN and validity of one DER certificate (cryptography.x509)."""
    found = _RECENT_CERTS.get(der)
    if found is None:
        found = _summarize_certificate(der)
        if len(der) <= 65536:  # 1 MiB at most kept
            _RECENT_CERTS.put(bytes(der), found)
    return found


def _summarize_certificate(der: bytes) -> CertificateSummary:
    from cryptography import x509

    try:
        cert = x509.load_der_x509_certificate(der)
        subject = cert.subject.rfc4514_string()
        issuer = cert.issuer.rfc4514_string()
        try:
            ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
            san = tuple(
                [f"DNS:{n}" for n in ext.get_values_for_type(x509.DNSName)]
                + [f"IP:{n}" for n in ext.get_values_for_type(x509.IPAddress)]
                + [f"URI:{n}" for n in ext.get_values_for_type(x509.UniformResourceIdentifier)]
            )
        except x509.ExtensionNotFound:
            san = ()
        before = getattr(cert, "not_valid_before_utc", None) or cert.not_valid_before
        after = getattr(cert, "not_valid_after_utc", None) or cert.not_valid_after
        try:
            from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

            public_key: bytes | None = cert.public_key().public_bytes(
                Encoding.DER, PublicFormat.SubjectPublicKeyInfo
            )
        except Exception:  # noqa: BLE001 - unknown key types are only not comparable
            public_key = None
        return CertificateSummary(subject, issuer, san, _utc(before), _utc(after), public_key)
    except MalformedError:
        raise
    except Exception as exc:  # noqa: BLE001 - x509 raises ValueError and friends on bad DER
        raise MalformedError("tls", None, f"certificate not readable: {exc}") from None
