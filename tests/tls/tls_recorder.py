"""Record real TLS for tests, without root or sockets.

Python's ssl module runs a client and a server over memory BIOs (the same OpenSSL state machine
as on a socket, fully in process); every byte each side writes is recorded in order, and the
recording is written as one TCP connection with tools/pcapgen.py's TcpFlow. The client's
``keylog_filename`` gives the NSS key log. Certificates are made here with cryptography.
"""

from __future__ import annotations

import ctypes
import datetime as dt
import ipaddress
import ssl
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from pcapgen import Builder, pcapng_with_secrets

POOL = "pool01.contoso.com"
CLIENT_IP, SERVER_IP = "192.168.10.20", "10.1.1.10"


@dataclass
class ServerIdentity:
    key: rsa.RSAPrivateKey
    cert: x509.Certificate

    def key_pem(self, password: bytes | None = None) -> bytes:
        enc: serialization.KeySerializationEncryption = (
            serialization.BestAvailableEncryption(password)
            if password
            else serialization.NoEncryption()
        )
        return self.key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, enc
        )

    def cert_pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)

    def write(self, folder: Path) -> tuple[Path, Path]:
        cert, key = folder / "server.crt", folder / "server.key"
        cert.write_bytes(self.cert_pem())
        key.write_bytes(self.key_pem())
        return cert, key


@lru_cache(maxsize=2)
def server_identity(common_name: str = POOL) -> ServerIdentity:
    """A self-signed RSA-2048 certificate like a Lync pool's (CN, SAN with the pool and sip.)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Contoso"),
        ]
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(0x1234)
        .not_valid_before(dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc))
        .not_valid_after(dt.datetime(2028, 1, 1, tzinfo=dt.timezone.utc))
        .add_extension(
            x509.SubjectAlternativeName(
                [
                    x509.DNSName(common_name),
                    x509.DNSName("sip.contoso.com"),
                    x509.IPAddress(ipaddress.ip_address(SERVER_IP)),
                ]
            ),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    return ServerIdentity(key, cert)


@dataclass
class Recording:
    """What went over the wire: (direction, bytes) in order, 0 = client → server."""

    chunks: list[tuple[int, bytes]] = field(default_factory=list)
    version: str = ""
    cipher: str = ""
    session: ssl.SSLSession | None = None
    resumed: bool = False

    def write_pcap(
        self, path: Path, *, segment: int = 1400, port: int = 5061, client_port: int = 50123
    ) -> Path:
        """One TCP connection carrying the recording, each chunk cut into ``segment``-byte
        segments (small values split records and handshake messages across segments)."""
        return write_capture(path, [self], segment=segment, port=port, client_port=client_port)

    def add_to(self, b: Builder, t: float, *, segment: int, port: int, client_port: int) -> float:
        flow = b.tcp((CLIENT_IP, client_port), (SERVER_IP, port))
        flow.handshake(t)
        t += 0.01
        for direction, data in self.chunks:
            cuts = list(range(segment, len(data), segment))
            flow.send(t, direction, data, cuts=cuts)
            t += 0.001 * (len(cuts) + 1) + 0.01
        flow.close(t + 0.01)
        return t + 0.1


def write_capture(
    path: Path,
    recordings: list[Recording],
    *,
    segment: int = 1400,
    port: int = 5061,
    client_port: int = 50123,
    secrets: bytes | None = None,
) -> Path:
    """Each recording as its own TCP connection (client ports counting up), one after the
    other; a .pcapng path with ``secrets`` gets them as a Decryption Secrets Block."""
    b = Builder()
    t = 0.0
    for i, rec in enumerate(recordings):
        t = rec.add_to(b, t, segment=segment, port=port, client_port=client_port + i)
    if secrets is not None:
        path.write_bytes(pcapng_with_secrets(b.pcapng_bytes(), secrets))
    else:
        b.write(str(path))
    return path


def contexts(
    identity: ServerIdentity,
    folder: Path,
    *,
    keylog: Path | None,
    max_version: ssl.TLSVersion = ssl.TLSVersion.TLSv1_3,
    min_version: ssl.TLSVersion = ssl.TLSVersion.TLSv1_2,
    ciphers: str | None = None,
) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    cert, key = identity.write(folder)
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(cert, key)
    client = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    client.check_hostname = False
    client.verify_mode = ssl.CERT_NONE
    for ctx in (server, client):
        ctx.minimum_version = min_version
        ctx.maximum_version = max_version
        if ciphers:
            ctx.set_ciphers(ciphers)
    if keylog is not None:
        client.keylog_filename = str(keylog)
    return server, client


def _move(src: ssl.MemoryBIO, dst: ssl.MemoryBIO, direction: int, rec: Recording) -> None:
    data = src.read()
    if data:
        rec.chunks.append((direction, data))
        dst.write(data)


class KeyUpdateUnavailable(RuntimeError):
    """This Python's ssl objects cannot be reached from ctypes (layout or OpenSSL differ)."""


#: SSL_key_update's update types (openssl/ssl.h).
SSL_KEY_UPDATE_NOT_REQUESTED = 0
SSL_KEY_UPDATE_REQUESTED = 1


def key_update(sslobj: ssl.SSLObject, requested: bool) -> None:
    """Ask OpenSSL to send a TLS 1.3 KeyUpdate with the next write, as a real stack would.

    Python's ssl module has no call for it, so this reaches OpenSSL's ``SSL_key_update``
    through ctypes: the ``SSL *`` is the second pointer after the object header of the C
    ``_ssl._SSLSocket`` (CPython 3.10-3.13), checked against ``SSL_version`` before use; the
    function comes from the very libssl Python's ``_ssl`` module is linked with."""
    import _ssl

    lib = ctypes.CDLL(_ssl.__file__)
    try:
        update, version = lib.SSL_key_update, lib.SSL_version
    except AttributeError as exc:
        raise KeyUpdateUnavailable(str(exc)) from None
    update.argtypes = version.argtypes = [ctypes.c_void_p]
    update.argtypes = [ctypes.c_void_p, ctypes.c_int]
    address = id(sslobj._sslobj) + 2 * ctypes.sizeof(ctypes.c_void_p)  # type: ignore[attr-defined]
    pointer = ctypes.c_void_p.from_address(address + ctypes.sizeof(ctypes.c_void_p)).value
    if not pointer or version(pointer) != 0x0304 or sslobj.version() != "TLSv1.3":
        raise KeyUpdateUnavailable("no TLS 1.3 SSL object where one was expected")
    if (
        update(pointer, SSL_KEY_UPDATE_REQUESTED if requested else SSL_KEY_UPDATE_NOT_REQUESTED)
        != 1
    ):
        raise KeyUpdateUnavailable("SSL_key_update failed")


def run(
    server_ctx: ssl.SSLContext,
    client_ctx: ssl.SSLContext,
    messages: list[tuple[int, bytes]],
    *,
    sni: str = POOL,
    session: ssl.SSLSession | None = None,
    key_updates: dict[int, tuple[int, bool]] | None = None,
    close: bool = False,
) -> Recording:
    """Handshake, then each (direction, bytes) written by that side and read by the other.

    ``session`` (a previous run's ``Recording.session``) makes the client resume it;
    ``key_updates`` maps a message index to (side, requested): that side sends a TLS 1.3
    KeyUpdate (asking the peer to update too when requested) just before that message;
    ``close``: the client, then the server, end with a close_notify alert."""
    rec = Recording()
    c_in, c_out, s_in, s_out = (ssl.MemoryBIO() for _ in range(4))
    client = client_ctx.wrap_bio(c_in, c_out, server_hostname=sni, session=session)
    server = server_ctx.wrap_bio(s_in, s_out, server_side=True)
    done = [False, False]
    for _ in range(50):
        for index, side in ((0, client), (1, server)):
            if not done[index]:
                try:
                    side.do_handshake()
                    done[index] = True
                except ssl.SSLWantReadError:
                    pass
            if index == 0:
                _move(c_out, s_in, 0, rec)
            else:
                _move(s_out, c_in, 1, rec)
        if all(done):
            break
    assert all(done), "handshake did not complete"
    rec.version = client.version() or ""
    rec.cipher = (client.cipher() or ("",))[0]
    ends = ((client, c_out, s_in, server), (server, s_out, c_in, client))
    for index, (direction, payload) in enumerate(messages):
        if key_updates and index in key_updates:
            side, requested = key_updates[index]
            key_update(client if side == 0 else server, requested)
        writer, out, peer_in, reader = ends[direction]
        writer.write(payload)
        _move(out, peer_in, direction, rec)
        got = b""
        while len(got) < len(payload):
            try:
                got += reader.read(65536)
            except ssl.SSLWantReadError:
                break
        assert got == payload, "the peer did not read what was sent"
        # Whatever the reader answers on its own (TLS 1.3 tickets are read here).
        back_out = s_out if direction == 0 else c_out
        back_in = c_in if direction == 0 else s_in
        _move(back_out, back_in, 1 - direction, rec)
    if close:
        for side, out, peer_in, direction in ((client, c_out, s_in, 0), (server, s_out, c_in, 1)):
            try:
                side.unwrap()
            except ssl.SSLWantReadError:
                pass  # its close_notify is written; the peer's comes next
            _move(out, peer_in, direction, rec)
    rec.session = client.session
    rec.resumed = client.session_reused
    return rec
