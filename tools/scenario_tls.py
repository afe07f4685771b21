"""A Lync-style TLS sample: SIP over TLS 1.2 on 5061, compressed with MS-SIPCOMP inside.

Lync and Skype for Business clients talk to their pool over TLS, negotiate LZ77-8K compression
with NEGOTIATE / 200 OK as the first SIP transaction, and from then on every SIP message is an
MS-SIPCOMP packet inside TLS application data. No public capture of that exists with its keys,
so this module writes one: a deterministic TLS 1.2 writer (fixed randoms and master secret, an
ECDHE_RSA_WITH_AES_256_GCM_SHA384 handshake like Lync 2013 / SfB pools pick) whose NSS key log
is written beside the capture. The writer is independent of lyncdump's decryptor (its own PRF,
key block and record protection, from RFC 5246/5288/7627), and tshark decrypts what it writes
with the same key log: that is the cross-check (docs/tls.md).

    lync-tls-sipcomp.pcapng   the key log embedded as a pcapng Decryption Secrets Block
    lync-tls-sipcomp.keys     the same key log as a file (for --keylog and for tshark)
    lync-tls-nokeys.pcap      the same traffic without keys: only the handshake can be shown
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import struct
from pathlib import Path

from make_captures import _ntlm_authenticate, _ntlm_challenge
from pcapgen import Builder, pcapng_with_secrets, sip

from lyncdump.sipcomp.stream import SipcompStreamEncoder

CLIENT = ("192.168.1.50", 50412)
POOL = ("10.0.0.10", 5061)
POOL_NAME = "pool01.contoso.com"
KEYLOG_NAME = "lync-tls-sipcomp.keys"

#: A throw-away key made for this sample only; it signs the sample certificate and the
#: ServerKeyExchange (RSA PKCS#1 v1.5 signatures are deterministic, so the capture is too).
SAMPLE_SERVER_KEY = """-----BEGIN RSA PRIVATE KEY-----
MIIEowIBAAKCAQEAqD10QJBHFpflVfMlJ3K2+Uazm04g8eWBnxh+gCWqA7JxxDX3
02V56L94BL2BnetvoCf3DG0ekwpkd7lPHSJMqFfrlJ39yv7ySq+N16q3DrGASrll
ylCaG6o/F5S8DhbcmW3I7KeUX3NzqhqPGRFisdz1gGTg4n84GJJDyUOAyBzX8X/Y
MNC30SnLDAAgfz5PjD3ytfcKGwzUkn7jSuUwcMOyvyU5BdpzLsnfRIvMQCfBQblg
09g/iMAfHl90ZqE6qCQXI21BLbn0aAMjAdgted1AYoavb866w6aiS1Wt6n13N5C8
+7ytz0SltLkSXDKkxW1HshS1Oh5E2QM73btMeQIDAQABAoIBAC6RNAha5xJd4OC1
eGc+3V6KL1Shf4T1HbfHs9wMkM6NKehBd+NPhzrhJHtLaQEpFbCi30LVQU055y0s
YbWStN0z2MU+Je12O+JoTT6QxjKO9w+32XDydnWJ3gTM6nCL62ucc6zthagV8MH4
r/skUMkie+GaCpUm2YQTmCexQ4gf4IwHOsofk5FXFQofDh00gcf4cTni4tZ7+YIb
UBAgPyQLbxofznnJTjPsY4HOS0EQGs8qfD6+B0x9DbnKVqNNoR8ZXfrnK6gCt9is
JLTRA2a+bq7D80Msp1uDjGFTVa4DNy76u4HfTWAfQWNimB4MZ2uLZbaedFmfUWVO
6wv2e7ECgYEA3mnXuVdenOIK+/aiz+229h6TjsvNWR/0p0ehAf4hHW70CuKyljTB
OaRUzWiENMNbTdjzpoVgoP4akJ9eAuEqxQ/vlxTIKuazW0e8Qt7r5UcTlK5ZXW6w
nsbvH1rSMxXVqNQ805+hPg4HI4IlYsBn79YenIG8O9nReDWvcjAaQNcCgYEAwaVa
PIXd2BWjYEFk4CxVZ9D8ZR+s+8HtccsNfj0DFSXnGCyfORBTT9I5lGWhAeeN5/0M
Pe4huvTv0DhUXLmBdgkuuiPpBDmdGG3WzZt5vgM7K9P6QtTrJ+VOO+nM0npvnyo6
3oNM1zxKwMNe+AZOKGAcWqm121DH7ikNckDUIy8CgYEAlXV6ycm0gqhDyV3Luv57
XJjff63kqGeY+HBh+fzUM/tDc60zZUy+LAYKFp6NeQdua7nGwbgPXyBiqZzuh/DX
1OUIk/YbLPkqvcRO9oDm9IP23Irs8qRXe9sjBWb6qemaUoGM/ojeydyTX4Etrlat
gbXZjEKCQ5Xz9VveMlWwzrECgYAEqN7v/+Sjs3mX8lrkDg0MD3pTUJzP/g2hpFox
xHQTiTLzYPd/3wWyMQPTr1Jdgl3mzC8EOnuzTPuMTh6xkIEt/vCR6BVOVbiTAumd
TvVx/g/pcRNfklIKRrlINcsI8YtIEDMUcaJit3+w/cKGQ1iUHiPwho7qtRnqgDBj
pG22XwKBgCtciRcSDE4juE/sGn/CEziQnn6OHZ2M6KLKB89vmpO3LH6UDMAuPrYr
nuoxkFqED5zSAqA2EZklFjn6gwsWn0Tcwgo11vBHR5oW9l800+qLEAIYHbMO5/lW
5XR3Ryv7WmwONT24SA4YbZKnJlW0D69BanO+Fcjst7RpiZJOq3du
-----END RSA PRIVATE KEY-----"""


def _hash(label: str, n: int = 32) -> bytes:
    return hashlib.sha512(b"lyncdump tls sample " + label.encode()).digest()[:n]


def _p_hash(name: str, secret: bytes, seed: bytes, size: int) -> bytes:
    """RFC 5246 §5 P_hash."""
    result = b""
    a = hmac.new(secret, seed, name).digest()
    while len(result) < size:
        result += hmac.new(secret, a + seed, name).digest()
        a = hmac.new(secret, a, name).digest()
    return result[:size]


def tls_prf(version: int, name: str, secret: bytes, label: bytes, seed: bytes, size: int) -> bytes:
    if version == 0x0303:
        return _p_hash(name, secret, label + seed, size)
    half = len(secret) - len(secret) // 2
    left = _p_hash("md5", secret[:half], label + seed, size)
    right = _p_hash("sha1", secret[-half:], label + seed, size)
    return bytes(a ^ b for a, b in zip(left, right, strict=True))


def _u16(n: int) -> bytes:
    return struct.pack("!H", n)


def _u24(n: int) -> bytes:
    return struct.pack("!I", n)[1:]


class TlsWriter:
    """Both ends of one TLS ≤ 1.2 connection, writing records with known keys.

    ``suite`` is (code, cipher, mode, key length, fixed IV length, MAC hash, PRF hash) with
    cipher AES/3DES/RC4 and mode GCM/CBC/STREAM. Records go out through ``send(direction,
    bytes)``; handshake messages after a ChangeCipherSpec are encrypted, as on the wire.
    """

    def __init__(self, suite: tuple, version: int, master: bytes, label: str, send) -> None:
        self.suite = suite
        self.version = version
        self.master = master
        self.send = send
        self.label = label
        self.transcript = b""
        self.client_random = _hash(label + " client random")
        self.server_random = _hash(label + " server random")
        self.write = [None, None]  # per direction: (key, iv, mac_key, seq, rc4 state)
        self.pending = [None, None]

    # -- record layer --------------------------------------------------------------------
    def record(self, direction: int, ctype: int, payload: bytes) -> None:
        state = self.write[direction]
        if state is not None:
            payload = self._protect(state, ctype, payload)
        self.send(direction, bytes([ctype]) + _u16(self.version) + _u16(len(payload)) + payload)

    def _protect(self, state: dict, ctype: int, payload: bytes) -> bytes:
        from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        _, cipher, mode, _, _, mac_name, _ = self.suite
        seq = struct.pack("!Q", state["seq"])
        state["seq"] += 1
        head = seq + bytes([ctype]) + _u16(self.version)
        if mode == "GCM":
            explicit = seq
            aad = head + _u16(len(payload))
            return explicit + AESGCM(state["key"]).encrypt(state["iv"] + explicit, payload, aad)
        mac = hmac.new(state["mac"], head + _u16(len(payload)) + payload, mac_name).digest()
        if mode == "STREAM":
            return state["rc4"].update(payload + mac)
        if cipher == "AES":
            algo, size = algorithms.AES(state["key"]), 16
        else:
            from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES

            algo, size = TripleDES(state["key"]), 8
        body = payload + mac
        pad = size - (len(body) + 1) % size
        body += bytes([pad]) * (pad + 1)
        if self.version >= 0x0302:
            iv = _hash(f"{self.label} iv {state['seq']}", size)
            enc = Cipher(algo, modes.CBC(iv)).encryptor()
            return iv + enc.update(body) + enc.finalize()
        enc = Cipher(algo, modes.CBC(state["chain"])).encryptor()
        out = enc.update(body) + enc.finalize()
        state["chain"] = out[-size:]
        return out

    def handshake(self, direction: int, mtype: int, body: bytes, *, keep: bool = True) -> None:
        message = bytes([mtype]) + _u24(len(body)) + body
        if keep:
            self.transcript += message
        self.record(direction, 22, message)

    # -- keys ------------------------------------------------------------------------------
    def derive(self) -> None:
        from cryptography.hazmat.decrepit.ciphers.algorithms import ARC4
        from cryptography.hazmat.primitives.ciphers import Cipher

        _, cipher, mode, key_len, iv_len, mac_name, prf_name = self.suite
        mac_len = 0 if mode == "GCM" else hashlib.new(mac_name).digest_size
        if mode == "CBC" and self.version >= 0x0302:
            iv_len = 0
        block = tls_prf(
            self.version,
            prf_name,
            self.master,
            b"key expansion",
            self.server_random + self.client_random,
            2 * (mac_len + key_len + iv_len),
        )
        parts = []
        at = 0
        for size in (mac_len, mac_len, key_len, key_len, iv_len, iv_len):
            parts.append(block[at : at + size])
            at += size
        for d in (0, 1):
            state = {"mac": parts[d], "key": parts[2 + d], "iv": parts[4 + d], "seq": 0}
            state["chain"] = parts[4 + d]
            if mode == "STREAM":
                state["rc4"] = Cipher(ARC4(parts[2 + d]), mode=None).encryptor()
            self.pending[d] = state

    def change_cipher_spec(self, direction: int) -> None:
        self.record(direction, 20, b"\x01")
        self.write[direction] = self.pending[direction]

    def finished(self, direction: int) -> None:
        prf_name = self.suite[6]
        if self.version == 0x0303:
            digest = hashlib.new(prf_name, self.transcript).digest()
        else:
            digest = hashlib.md5(self.transcript).digest() + hashlib.sha1(self.transcript).digest()
        label = b"client finished" if direction == 0 else b"server finished"
        verify = tls_prf(self.version, prf_name, self.master, label, digest, 12)
        self.handshake(direction, 20, verify)

    def keylog_line(self) -> str:
        return f"CLIENT_RANDOM {self.client_random.hex()} {self.master.hex()}\n"

    # -- a full handshake ------------------------------------------------------------------
    def client_hello(self, sni: str, session_id: bytes = b"") -> None:
        code = self.suite[0]
        suites = [code, 0xC02F, 0xC028, 0xC027, 0xC014, 0xC013, 0x009D, 0x009C, 0x003D, 0x0035]
        suites = list(dict.fromkeys(suites))
        name = sni.encode()
        ext = b""
        ext += (
            _u16(0) + _u16(len(name) + 5) + _u16(len(name) + 3) + b"\x00" + _u16(len(name)) + name
        )
        ext += _u16(10) + _u16(6) + _u16(4) + _u16(23) + _u16(24)  # supported_groups
        ext += _u16(11) + _u16(2) + b"\x01\x00"  # ec_point_formats
        ext += _u16(13) + _u16(8) + _u16(6) + _u16(0x0401) + _u16(0x0501) + _u16(0x0201)
        ext += _u16(0xFF01) + _u16(1) + b"\x00"  # renegotiation_info
        body = (
            _u16(self.version)
            + self.client_random
            + bytes([len(session_id)])
            + session_id
            + _u16(2 * len(suites))
            + b"".join(_u16(s) for s in suites)
            + b"\x01\x00"
            + _u16(len(ext))
            + ext
        )
        self.transcript = b""
        self.handshake(0, 1, body)

    def server_flight(self, cert_der: bytes, key, session_id: bytes) -> None:
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import ec, padding

        ext = _u16(0xFF01) + _u16(1) + b"\x00"
        body = (
            _u16(self.version)
            + self.server_random
            + bytes([len(session_id)])
            + session_id
            + _u16(self.suite[0])
            + b"\x00"
            + _u16(len(ext))
            + ext
        )
        self.handshake(1, 2, body)
        self.handshake(1, 11, _u24(len(cert_der) + 3) + _u24(len(cert_der)) + cert_der)
        point = (
            ec.derive_private_key(
                int.from_bytes(_hash(self.label + " server ecdh"), "big") % (1 << 250) + 1,
                ec.SECP256R1(),
            )
            .public_key()
            .public_bytes(_encoding("X962"), _format("UncompressedPoint"))
        )
        params = b"\x03" + _u16(23) + bytes([len(point)]) + point
        signature = key.sign(
            self.client_random + self.server_random + params, padding.PKCS1v15(), hashes.SHA256()
        )
        self.handshake(1, 12, params + _u16(0x0401) + _u16(len(signature)) + signature)
        self.handshake(1, 14, b"")

    def client_flight(self, rsa_public_key=None) -> None:
        """ClientKeyExchange, then both ChangeCipherSpec + Finished. With ``rsa_public_key``
        it is RSA key exchange: a premaster secret encrypted to the server, and the master
        secret derived from it (RFC 5246 §7.4.7.1, §8.1); else an ECDHE point."""
        from cryptography.hazmat.primitives.asymmetric import ec, padding

        if rsa_public_key is not None:
            premaster = _u16(self.version) + _hash(self.label + " premaster", 46)
            encrypted = rsa_public_key.encrypt(premaster, padding.PKCS1v15())
            self.handshake(0, 16, _u16(len(encrypted)) + encrypted)
            self.master = tls_prf(
                self.version,
                self.suite[6],
                premaster,
                b"master secret",
                self.client_random + self.server_random,
                48,
            )
        else:
            point = (
                ec.derive_private_key(
                    int.from_bytes(_hash(self.label + " client ecdh"), "big") % (1 << 250) + 1,
                    ec.SECP256R1(),
                )
                .public_key()
                .public_bytes(_encoding("X962"), _format("UncompressedPoint"))
            )
            self.handshake(0, 16, bytes([len(point)]) + point)
        self.derive()
        self.change_cipher_spec(0)
        self.finished(0)
        self.change_cipher_spec(1)
        self.finished(1)

    def renegotiate(self, label: str, master: bytes) -> None:
        """Start again inside the current keys (RFC 5746 renegotiation): new randoms, new
        master secret; call client_hello / server_flight / client_flight next."""
        self.label = label
        self.master = master
        self.client_random = _hash(label + " client random")
        self.server_random = _hash(label + " server random")

    def abbreviated(self, session_id: bytes) -> None:
        """A resumed handshake (RFC 5246 §7.3): same master secret, new randoms, the server's
        ChangeCipherSpec and Finished first, no key exchange."""
        self.client_hello(POOL_NAME, session_id)
        ext = _u16(0xFF01) + _u16(1) + b"\x00"
        body = (
            _u16(self.version)
            + self.server_random
            + bytes([len(session_id)])
            + session_id
            + _u16(self.suite[0])
            + b"\x00"
            + _u16(len(ext))
            + ext
        )
        self.handshake(1, 2, body)
        self.derive()
        self.change_cipher_spec(1)
        self.finished(1)
        self.change_cipher_spec(0)
        self.finished(0)

    def application_data(self, direction: int, data: bytes) -> None:
        for at in range(0, len(data), 16384):
            self.record(direction, 23, data[at : at + 16384])


def _encoding(name: str):
    from cryptography.hazmat.primitives import serialization

    return getattr(serialization.Encoding, name)


def _format(name: str):
    from cryptography.hazmat.primitives import serialization

    return getattr(serialization.PublicFormat, name)


def sample_identity() -> tuple[object, bytes]:
    """The sample pool's key and certificate (DER), deterministic."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.x509.oid import NameOID

    key = serialization.load_pem_private_key(SAMPLE_SERVER_KEY.encode(), None)
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, POOL_NAME),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Contoso"),
        ]
    )
    issuer = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, "Contoso Issuing CA 01"),
            x509.NameAttribute(NameOID.DOMAIN_COMPONENT, "contoso"),
            x509.NameAttribute(NameOID.DOMAIN_COMPONENT, "com"),
        ]
    )
    names = [POOL_NAME, "fe01.contoso.com", "sip.contoso.com", "lyncdiscover.contoso.com"]
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(0x5A0001C3)
        .not_valid_before(dt.datetime(2025, 6, 1, tzinfo=dt.timezone.utc))
        .not_valid_after(dt.datetime(2027, 6, 1, tzinfo=dt.timezone.utc))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), False)
        .sign(key, hashes.SHA256())
    )
    return key, cert.public_bytes(serialization.Encoding.DER)


# -- the Lync conversation inside ------------------------------------------------------------
VIA = "Via: SIP/2.0/TLS 192.168.1.50:50412;branch=z9hG4bK"
FROM = 'From: "Alice Ahlberg" <sip:alice@contoso.com>;tag=7a1e2c;epid=01010101c7'


def _register(cseq: int, auth: str) -> bytes:
    return sip(
        f"""REGISTER sip:contoso.com SIP/2.0
{VIA}reg{cseq}
Max-Forwards: 70
{FROM}
To: <sip:alice@contoso.com>
Call-ID: 31c9d2e04b7a4f6e8a51c0d2e3f4a5b6
CSeq: {cseq} REGISTER
Contact: <sip:192.168.1.50:50412;transport=tls;ms-opaque=a1b2c3d4e5>;methods="INVITE, MESSAGE, INFO, SUBSCRIBE, OPTIONS, BYE, CANCEL, NOTIFY, ACK, REFER, BENOTIFY";proxy=replace;+sip.instance="<urn:uuid:47ab9ed0-c50a-5dfb-9760-41ab18d0ac14>"
User-Agent: UCCAPI/16.0.4266.1001 OC/16.0.4266.1001 (Skype for Business)
Supported: gruu-10, adhoclist, msrtc-event-categories, com.microsoft.msrtc.presence
ms-keep-alive: UAC;hop-hop=yes
{auth}
Content-Length: 0
"""
    )


def _reply(request: bytes, status: str, extra: str, tag: str = "B9E43C2A") -> bytes:
    lines = request.decode().split("\r\n")
    keep = {}
    for line in lines[1:]:
        name = line.split(":", 1)[0].lower()
        if name in ("via", "from", "to", "call-id", "cseq"):
            keep.setdefault(name, line)
    to = keep["to"] if ";tag=" in keep["to"] else f"{keep['to']};tag={tag}"
    text = "\n".join(
        [
            f"SIP/2.0 {status}",
            keep["via"] + ";received=192.168.1.50;ms-received-port=50412;ms-received-cid=1F00",
            keep["from"],
            to,
            keep["call-id"],
            keep["cseq"],
            *([extra] if extra else []),
            "Server: RTC/6.0",
            "Content-Length: 0",
        ]
    )
    return sip(text + "\n")


def conversation() -> list[tuple[int, bytes]]:
    """Sign-in over the compressed channel: REGISTER, NTLM challenge, REGISTER, 200; then an
    IM to Bob (MESSAGE / 200). Direction 0 = client."""
    first = _register(
        1,
        'Authorization: NTLM qop="auth", realm="SIP Communications Service", '
        'targetname="fe01.contoso.com", version=4, gssapi-data=""',
    )
    token = base64.b64encode(_ntlm_challenge()).decode()
    challenge = (
        f'WWW-Authenticate: NTLM opaque="5C7A1F3E", gssapi-data="{token}", '
        'targetname="fe01.contoso.com", realm="SIP Communications Service", version=4'
    )
    answer = base64.b64encode(_ntlm_authenticate()).decode()
    second = _register(
        2,
        'Authorization: NTLM qop="auth", realm="SIP Communications Service", opaque="5C7A1F3E", '
        f'targetname="fe01.contoso.com", version=4, gssapi-data="{answer}"',
    )
    ok = (
        "Contact: <sip:192.168.1.50:50412;transport=tls;ms-opaque=a1b2c3d4e5>;expires=7200\n"
        'Authentication-Info: NTLM rspauth="01000000000000006B1A3F5C", srand="3C6A5E21", '
        'snum="1", opaque="5C7A1F3E", qop="auth", targetname="fe01.contoso.com", '
        'realm="SIP Communications Service"'
    )
    message = sip(
        f"""MESSAGE sip:bob@contoso.com SIP/2.0
{VIA}im1
Max-Forwards: 70
{FROM}
To: <sip:bob@contoso.com>;tag=4d2e1f
Call-ID: 9e8d7c6b5a4f4e3d2c1b0a9f8e7d6c5b
CSeq: 1 MESSAGE
Content-Type: text/plain; charset=UTF-8
Ms-Text-Format: text/plain; charset=UTF-8; ms-body=SGVsbG8gQm9i
User-Agent: UCCAPI/16.0.4266.1001 OC/16.0.4266.1001 (Skype for Business)
Content-Length: auto

Hello Bob, the pool is decrypted.
"""
    )
    return [
        (0, first),
        (1, _reply(first, "401 Unauthorized", challenge)),
        (0, second),
        (1, _reply(second, "200 OK", ok)),
        (0, message),
        (1, _reply(message, "200 OK", "", tag="4d2e1f")),
    ]


NEGOTIATE = sip("""NEGOTIATE sip:10.0.0.10:5061 SIP/2.0
Via: SIP/2.0/TLS 192.168.1.50:50412
Max-Forwards: 0
From: <sip:192.168.1.50:50412>;tag=5be0f3a1c2d94e8b
To: <sip:10.0.0.10:5061>
Call-ID: 2f6e1d0c9b8a47f6a5e4d3c2b1a09f8e
CSeq: 1 NEGOTIATE
Compression: LZ77-8K
Content-Length: 0
""")

NEGOTIATE_OK = sip("""SIP/2.0 200 OK
Compression: LZ77-8K
From: <sip:192.168.1.50:50412>;tag=5be0f3a1c2d94e8b
To: <sip:10.0.0.10:5061>;tag=8A4C2E6F1B3D5F7A
Call-ID: 2f6e1d0c9b8a47f6a5e4d3c2b1a09f8e
CSeq: 1 NEGOTIATE
Via: SIP/2.0/TLS 192.168.1.50:50412;ms-received-port=50412;ms-received-cid=1F00
Content-Length: 0
""")

#: TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384, as writer suite tuple
ECDHE_RSA_AES256_GCM_SHA384 = (0xC030, "AES", "GCM", 32, 4, "sha384", "sha384")


def lync_tls(keylog: list[str] | None = None) -> Builder:
    """The whole connection; the key log line is appended to ``keylog`` when given."""
    b = Builder()
    flow = b.tcp(CLIENT, POOL, isn=(0x3A000000, 0x7C000000))
    flow.handshake(0.0)
    clock = [0.01]

    def send(direction: int, data: bytes) -> None:
        # Each record in its own write; the big server flight is cut like a 1460-byte MSS.
        cuts = list(range(1460, len(data), 1460))
        flow.send(clock[0], direction, data, cuts=cuts)
        clock[0] += 0.002 * (len(cuts) + 1)

    key, cert = sample_identity()
    master = _hash("master secret", 48)
    tls = TlsWriter(ECDHE_RSA_AES256_GCM_SHA384, 0x0303, master, "lync", send)
    tls.client_hello(POOL_NAME)
    tls.server_flight(cert, key, _hash("session id"))
    tls.client_flight()
    if keylog is not None:
        keylog.append(tls.keylog_line())
    clock[0] += 0.01
    tls.application_data(0, NEGOTIATE)
    clock[0] += 0.01
    tls.application_data(1, NEGOTIATE_OK)
    encoders = (SipcompStreamEncoder(), SipcompStreamEncoder())
    for direction, message in conversation():
        clock[0] += 0.02
        packet = encoders[direction].encode(message)
        if direction == 0 and b"MESSAGE" in message[:8]:
            # one SIPCOMP packet across two TLS records, as a sender may write it
            half = len(packet) // 2
            tls.application_data(0, packet[:half])
            tls.application_data(0, packet[half:])
        else:
            tls.application_data(direction, packet)
    flow.close(clock[0] + 0.5)
    return b


def keylog_text() -> str:
    lines: list[str] = []
    lync_tls(lines)
    return (
        "# NSS key log of captures/lync-tls-sipcomp.pcapng (sample keys, nothing real)\n"
        + "".join(lines)
    )


class _WithSecrets(Builder):
    """A Builder whose pcapng carries the key log in a Decryption Secrets Block, and which
    writes the same key log as a file beside the capture."""

    def pcapng_bytes(self) -> bytes:
        return pcapng_with_secrets(super().pcapng_bytes(), keylog_text().encode())

    def write(self, path: str) -> None:
        super().write(path)
        Path(path).with_name(KEYLOG_NAME).write_text(keylog_text(), encoding="ascii")


def lync_tls_with_secrets() -> Builder:
    plain = lync_tls()
    b = _WithSecrets(start=plain.start)
    b.frames = plain.frames
    return b


SAMPLES = {
    "lync-tls-sipcomp.pcapng": lync_tls_with_secrets,
    "lync-tls-nokeys.pcap": lync_tls,
}
