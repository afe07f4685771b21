"""Sample captures for Microsoft SIP semantics (issue #6): sign-ins, IM, presence, conferencing.

    python tools/make_captures.py lync-remote-ntlm.pcapng ...   # (re)write some of them

Every message is SIP text below. The NTLM exchanges are real NTLMv2 computed here for a known
password (so ``--ntlm-password`` has something to check): PASSWORD for alice, and the failed
sign-in was answered with a *different* password than the one the user says they typed. The
Kerberos AP-REQ is hand-built DER (fake ticket cipher: no KDC involved). Nothing is copied
from third-party traces.
"""

from __future__ import annotations

import base64
import struct
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from pcapgen import Builder, TcpFlow, sip  # noqa: E402

from lyncdump.sip.auth import auth_headers, signature_buffer  # noqa: E402
from lyncdump.sip.message import parse_message  # noqa: E402
from lyncdump.sip.ms import epid_to_instance, gruu_opaque_for  # noqa: E402
from lyncdump.sip.ntlm import (  # noqa: E402
    NtlmContext,
    hmac_md5,
    nt_owf_v2,
    parse_ntlm,
    rc4,
)

#: The password alice really uses (try ``--ntlm-password 'Pa55w.rd'`` on the samples).
PASSWORD = "Pa55w.rd"
REALM = "SIP Communications Service"
FE = "fe01.contoso.com"
FLAGS = 0xE2888255  # UNICODE REQUEST_TARGET SIGN DATAGRAM NTLM ALWAYS_SIGN ESS TARGET_INFO VERSION 128 KEY_EXCH 56


# -- NTLM ----------------------------------------------------------------------------------------


def _av(av_id: int, text: str) -> bytes:
    value = text.encode("utf-16-le")
    return struct.pack("<HH", av_id, len(value)) + value


def ntlm_challenge(server_challenge: bytes, filetime: int) -> bytes:
    """A CHALLENGE_MESSAGE as a Lync front end sends it (Windows Server 2019, build 17763)."""
    target = "CONTOSO".encode("utf-16-le")
    info = (
        _av(2, "CONTOSO")
        + _av(1, "FE01")
        + _av(4, "contoso.com")
        + _av(3, FE)
        + _av(5, "contoso.com")
        + struct.pack("<HHQ", 7, 8, filetime)
        + struct.pack("<HH", 0, 0)
    )
    head = 56
    msg = b"NTLMSSP\x00" + struct.pack("<I", 2)
    msg += struct.pack("<HHI", len(target), len(target), head)
    msg += struct.pack("<I", FLAGS) + server_challenge + b"\x00" * 8
    msg += struct.pack("<HHI", len(info), len(info), head + len(target))
    msg += bytes([10, 0]) + struct.pack("<H", 17763) + b"\x00\x00\x00\x0f"
    return msg + target + info


def ntlm_authenticate(
    challenge: bytes,
    *,
    user: str,
    domain: str,
    workstation: str,
    password: str,
    client_challenge: bytes,
    session_key: bytes,
    filetime: int,
) -> bytes:
    """A real NTLMv2 AUTHENTICATE_MESSAGE answering ``challenge`` with ``password``."""
    parsed = parse_ntlm(challenge)
    server_challenge = parsed.server_challenge  # type: ignore[union-attr]
    info = parsed.target_info_raw  # type: ignore[union-attr]
    key_nt = nt_owf_v2(password, user, domain)
    blob = b"\x01\x01" + b"\x00" * 6 + struct.pack("<Q", filetime) + client_challenge
    blob += b"\x00" * 4 + info + b"\x00" * 4
    proof = hmac_md5(key_nt, server_challenge + blob)
    nt = proof + blob
    lm = hmac_md5(key_nt, server_challenge + client_challenge) + client_challenge
    base = hmac_md5(key_nt, proof)
    encrypted_key = rc4(base, session_key)
    payload_blobs = (
        domain.encode("utf-16-le"),
        user.encode("utf-16-le"),
        workstation.encode("utf-16-le"),
        lm,
        nt,
        encrypted_key,
    )
    offset = 72
    positions = []
    for blob_bytes in payload_blobs:
        positions.append((len(blob_bytes), offset))
        offset += len(blob_bytes)
    (d, u, w, lm_f, nt_f, key_f) = positions
    fields = b""
    for length, where in (lm_f, nt_f, d, u, w, key_f):
        fields += struct.pack("<HHI", length, length, where)
    msg = b"NTLMSSP\x00" + struct.pack("<I", 3) + fields + struct.pack("<I", FLAGS)
    msg += bytes([10, 0]) + struct.pack("<H", 19045) + b"\x00\x00\x00\x0f"
    return msg + b"".join(payload_blobs)


class Signer:
    """Signs SIP text the way an NTLM security association does (auth version 4, SeqNum 100)."""

    def __init__(self, challenge: bytes, authenticate: bytes, password: str) -> None:
        self.ctx = NtlmContext.from_exchange(
            parse_ntlm(challenge),  # type: ignore[arg-type]
            parse_ntlm(authenticate),  # type: ignore[arg-type]
            password,
        )

    def sign(self, wire: bytes, *, from_client: bool) -> bytes:
        """Replace the ``SIGNATURE`` placeholder with the real signature of this message."""
        m = parse_message(wire)
        auth = next(a for a in auth_headers(m) if a.signature == "SIGNATURE")
        text = signature_buffer(m, auth, 4).encode()
        sig = self.ctx.sign(text, from_client=from_client, seq=100).hex()
        if not from_client:
            sig = sig.upper()
        return wire.replace(b'"SIGNATURE"', f'"{sig}"'.encode())


# -- Kerberos (hand-made DER) --------------------------------------------------------------------


def _der(tag: int, content: bytes) -> bytes:
    n = len(content)
    if n < 0x80:
        length = bytes([n])
    elif n < 0x100:
        length = bytes([0x81, n])
    else:
        length = bytes([0x82]) + n.to_bytes(2, "big")
    return bytes([tag]) + length + content


def _int(value: int) -> bytes:
    return _der(0x02, value.to_bytes(max(1, (value.bit_length() + 8) // 8), "big", signed=True))


def _gstr(text: str) -> bytes:
    return _der(0x1B, text.encode())


def _ctx(n: int, content: bytes) -> bytes:
    return _der(0xA0 + n, content)


def _enc(etype: int, kvno: int | None, cipher: bytes) -> bytes:
    body = _ctx(0, _int(etype))
    if kvno is not None:
        body += _ctx(1, _int(kvno))
    return _der(0x30, body + _ctx(2, _der(0x04, cipher)))


def kerberos_ap_req(realm: str, service: str, host: str) -> bytes:
    """GSS-API krb5 token with an AP-REQ for ``service/host@realm`` (rc4-hmac ticket, kvno 3)."""
    sname = _der(0x30, _ctx(0, _int(2)) + _ctx(1, _der(0x30, _gstr(service) + _gstr(host))))
    ticket_body = _der(
        0x30,
        _ctx(0, _int(5))
        + _ctx(1, _gstr(realm))
        + _ctx(2, sname)
        + _ctx(3, _enc(23, 3, bytes(range(64)) * 4)),
    )
    ticket = _der(0x61, ticket_body)
    ap_options = _der(0x03, b"\x00\x20\x00\x00\x00")  # mutual-required
    ap_req = _der(
        0x6E,
        _der(
            0x30,
            _ctx(0, _int(5))
            + _ctx(1, _int(14))
            + _ctx(2, ap_options)
            + _ctx(3, ticket)
            + _ctx(4, _enc(23, None, bytes(range(96)))),
        ),
    )
    oid = bytes.fromhex("06092a864886f712010202")
    return _der(0x60, oid + b"\x01\x00" + ap_req)


KERBEROS_MIC = "602306092A864886F71201020201011100FFFFFFFF3C94D2A7B51E08F4D2E61C00A9B7313D"


# -- helpers ---------------------------------------------------------------------------------------


def _register(
    *,
    user: str,
    epid: str,
    tag: str,
    call_id: str,
    cseq: int,
    branch: str,
    via_host: str,
    auth: str | None,
    contact_host: str,
) -> str:
    instance = epid_to_instance(epid)
    lines = [
        "REGISTER sip:contoso.com SIP/2.0",
        f"Via: SIP/2.0/TLS {via_host};branch=z9hG4bK{branch}",
        "Max-Forwards: 70",
        f"From: <sip:{user}@contoso.com>;tag={tag};epid={epid}",
        f"To: <sip:{user}@contoso.com>",
        f"Call-ID: {call_id}",
        f"CSeq: {cseq} REGISTER",
        f'Contact: <sip:{contact_host};transport=tls;ms-opaque=9c1e22f0a7>;methods="INVITE, MESSAGE, INFO, '
        f'SUBSCRIBE, OPTIONS, BYE, CANCEL, NOTIFY, ACK, REFER, BENOTIFY";proxy=replace;'
        f'+sip.instance="<urn:uuid:{instance}>"',
        "User-Agent: UCCAPI/16.0.5365.1000 OC/16.0.5365.1000 (Skype for Business)",
        "Supported: gruu-10, adhoclist, msrtc-event-categories, com.microsoft.msrtc.presence",
        "Supported: ms-forking",
        "Supported: ms-keep-alive=deprecated",
        "ms-keep-alive: UAC;hop-hop=yes",
        "Event: registration",
    ]
    if auth:
        lines.append(auth)
    lines.append("Content-Length: 0")
    return "\n".join(lines) + "\n"


def _reg_response(
    status: str,
    *,
    user: str,
    epid: str,
    tag: str,
    to_tag: str,
    call_id: str,
    cseq: int,
    branch: str,
    via_host: str,
    received: str,
    extra: list[str],
) -> str:
    lines = [
        f"SIP/2.0 {status}",
        *extra,
        f"From: <sip:{user}@contoso.com>;tag={tag};epid={epid}",
        f"To: <sip:{user}@contoso.com>;tag={to_tag}",
        f"Call-ID: {call_id}",
        f"CSeq: {cseq} REGISTER",
        f"Via: SIP/2.0/TLS {via_host};branch=z9hG4bK{branch};received={received};ms-received-port=50712;ms-received-cid=7F00",
        "Server: RTC/7.0",
        "Content-Length: 0",
    ]
    return "\n".join(lines) + "\n"


def _challenge_headers(offer: tuple[str, ...], *, fe: str = FE) -> list[str]:
    out = []
    for scheme in offer:
        if scheme == "NTLM":
            out.append(f'WWW-Authenticate: NTLM realm="{REALM}", targetname="{fe}", version=4')
        elif scheme == "Kerberos":
            out.append(
                f'WWW-Authenticate: Kerberos realm="{REALM}", targetname="sip/{fe}", version=4'
            )
        elif scheme == "TLS-DSK":
            out.append(
                f'WWW-Authenticate: TLS-DSK realm="{REALM}", targetname="{fe}", version=4, '
                f'sts-uri="https://pool01.contoso.com:443/CertProv/CertProvisioningService.svc"'
            )
    return out


# -- 1. remote user, NTLM, the six-message flow ---------------------------------------------------


def _ntlm_signin(
    b: Builder,
    conn: TcpFlow,
    t0: float,
    *,
    user: str,
    epid: str,
    call_id: str,
    client: str,
    received: str,
    password_used: str,
    remote: bool,
    offer: tuple[str, ...],
    final: str | None = None,
    seed: int = 1,
) -> Signer | None:
    """REGISTER → 401 → REGISTER NTLM "" → 401 CHALLENGE → REGISTER AUTHENTICATE → 200/final."""
    tag = f"{seed:02x}4e21c7a9"
    to_tag = f"{seed:02X}C0FFEE5A7E1D2C3B4A59687706F5E4D3"
    common = dict(user=user, epid=epid, tag=tag, call_id=call_id, via_host=client)
    reg = dict(common, contact_host=client)
    resp = dict(common, to_tag=to_tag, received=received)
    conn.send(t0, 0, sip(_register(cseq=1, branch=f"{seed}a", auth=None, **reg)))
    conn.send(
        t0 + 0.05,
        1,
        sip(
            _reg_response(
                "401 Unauthorized",
                cseq=1,
                branch=f"{seed}a",
                extra=["Date: Thu, 01 Jan 2026 08:00:00 GMT", *_challenge_headers(offer)],
                **resp,
            )
        ),
    )
    start = f'Authorization: NTLM qop="auth", realm="{REALM}", targetname="{FE}", gssapi-data="", version=4'
    conn.send(t0 + 0.10, 0, sip(_register(cseq=2, branch=f"{seed}b", auth=start, **reg)))
    filetime = 134_116_128_000_000_000 + seed * 10_000_000
    challenge = ntlm_challenge(bytes([0x5A, seed, 0x3C, 0x91, 0x07, 0xE4, 0x6B, 0xD2]), filetime)
    opaque = f"{0x6A1C8E00 + seed:08X}"
    conn.send(
        t0 + 0.15,
        1,
        sip(
            _reg_response(
                "401 Unauthorized",
                cseq=2,
                branch=f"{seed}b",
                extra=[
                    "Date: Thu, 01 Jan 2026 08:00:00 GMT",
                    f'WWW-Authenticate: NTLM opaque="{opaque}", gssapi-data="{base64.b64encode(challenge).decode()}", '
                    f'targetname="{FE}", realm="{REALM}", version=4',
                ],
                **resp,
            )
        ),
    )
    authenticate = ntlm_authenticate(
        challenge,
        user=user,
        domain="CONTOSO",
        workstation=f"{user.upper()}-LAPTOP",
        password=password_used,
        client_challenge=bytes([seed, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77]),
        session_key=bytes((seed * 7 + i * 13) & 0xFF for i in range(16)),
        filetime=filetime + 2_000_000,
    )
    signer = Signer(challenge, authenticate, password_used)
    crand = f"{0x1F2E3D00 + seed:08x}"
    auth3 = (
        f'Authorization: NTLM qop="auth", realm="{REALM}", opaque="{opaque}", targetname="{FE}", '
        f'version=4, gssapi-data="{base64.b64encode(authenticate).decode()}", crand="{crand}", '
        f'cnum="1", response="SIGNATURE"'
    )
    wire = sip(_register(cseq=3, branch=f"{seed}c", auth=auth3, **reg))
    conn.send(t0 + 0.20, 0, signer.sign(wire, from_client=True))
    if final is not None:
        conn.send(
            t0 + 0.26,
            1,
            sip(
                _reg_response(
                    final.split("\n", 1)[0],
                    cseq=3,
                    branch=f"{seed}c",
                    extra=[line for line in final.split("\n")[1:] if line],
                    **resp,
                )
            ),
        )
        return None
    instance = epid_to_instance(epid)
    gruu = f"sip:{user}@contoso.com;opaque={gruu_opaque_for(instance)};gruu"
    extra = [
        "ms-keep-alive: UAS; tcp=no; hop-hop=yes; end-end=no; timeout=300",
        f'Authentication-Info: NTLM rspauth="SIGNATURE", srand="{0x9A8B7C00 + seed:08X}", snum="1", '
        f'opaque="{opaque}", qop="auth", targetname="{FE}", realm="{REALM}", version=4',
        f'Contact: <sip:{client};transport=tls;ms-opaque=9c1e22f0a7>;expires=7200;+sip.instance="<urn:uuid:{instance}>";gruu="{gruu}"',
        "Expires: 7200",
        'presence-state: register-action="added"',
    ]
    if remote:
        extra.append("ms-user-logon-data: RemoteUser")
    extra.append(
        "Allow-Events: vnd-microsoft-provisioning,vnd-microsoft-roaming-contacts,vnd-microsoft-roaming-ACL,"
        "presence,presence.wpending,vnd-microsoft-roaming-self,vnd-microsoft-provisioning-v2"
    )
    ok = sip(_reg_response("200 OK", cseq=3, branch=f"{seed}c", extra=extra, **resp))
    conn.send(t0 + 0.26, 1, signer.sign(ok, from_client=False))
    return signer


def remote_ntlm() -> Builder:
    """A remote user signs in through the Access Edge with NTLM, then gets provisioning data."""
    b = Builder()
    client = "203.0.113.25"
    edge = "198.51.100.10"
    conn = b.tcp((client, 50712), (edge, 5061), isn=(0x10000000, 0x20000000))
    conn.handshake(0.0)
    epid = "9f3c6a1d07"
    via = f"{client}:50712"
    signer = _ntlm_signin(
        b,
        conn,
        0.01,
        user="alice",
        epid=epid,
        call_id="6b1c0f8e2d3a4b5c9e7f1a2b3c4d5e6f",
        client=via,
        received=client,
        password_used=PASSWORD,
        remote=True,
        offer=("NTLM", "TLS-DSK"),
    )
    assert signer is not None
    opaque = f"{0x6A1C8E01:08X}"
    for n, (event, accept, body, reply_type, reply) in enumerate(
        (
            (
                "vnd-microsoft-provisioning-v2",
                "application/vnd-microsoft-roaming-provisioning-v2+xml",
                '<provisioningGroupList xmlns="http://schemas.microsoft.com/2006/09/sip/provisioninggrouplist">'
                '<provisioningGroup name="ServerConfiguration"/><provisioningGroup name="meetingPolicy"/>'
                '<provisioningGroup name="ucPolicy"/><provisioningGroup name="userSetting"/></provisioningGroupList>',
                "application/vnd-microsoft-roaming-provisioning-v2+xml",
                '<provisionGroupList xmlns="http://schemas.microsoft.com/2006/09/sip/provisiongrouplist-notification">'
                '<provisionGroup name="ServerConfiguration"><focusFactoryUri>sip:alice@contoso.com;gruu;opaque=app:conf:focusfactory</focusFactoryUri>'
                "<mrasUri>sip:mras.pool01.contoso.com@contoso.com;gruu;opaque=srvr:MRAS:Aa1</mrasUri></provisionGroup>"
                '<provisionGroup name="meetingPolicy"/><provisionGroup name="ucPolicy"/><provisionGroup name="userSetting"/></provisionGroupList>',
            ),
            (
                "vnd-microsoft-roaming-self",
                "application/vnd-microsoft-roaming-self+xml",
                '<roamingList xmlns="http://schemas.microsoft.com/2006/09/sip/roaming-self">'
                '<roaming type="categories"/><roaming type="containers"/><roaming type="subscribers"/></roamingList>',
                "application/vnd-microsoft-roaming-self+xml",
                '<roamingData xmlns="http://schemas.microsoft.com/2006/09/sip/roaming-self"><categories>'
                '<category name="note" instance="0" publishTime="2026-01-01T07:00:00Z" container="400" version="2">'
                '<note xmlns="http://schemas.microsoft.com/2006/09/sip/note"><body type="personal">Working remotely</body></note></category>'
                '</categories><containers><container id="100" version="1"/><container id="200" version="3">'
                '<member type="sameEnterprise"/></container><container id="32000" version="1"/></containers>'
                "<subscribers/></roamingData>",
            ),
        ),
        start=2,
    ):
        call_id = f"{n}a7e0c4d1b2f3e4d5c6b7a8f9e0d1c2b{n}"
        t = 0.5 + n * 0.2
        sub = f"""SUBSCRIBE sip:alice@contoso.com SIP/2.0
Via: SIP/2.0/TLS {via};branch=z9hG4bKs{n}
Max-Forwards: 70
From: <sip:alice@contoso.com>;tag=s{n}c1;epid={epid}
To: <sip:alice@contoso.com>
Call-ID: {call_id}
CSeq: 1 SUBSCRIBE
Contact: <sip:alice@contoso.com;opaque={gruu_opaque_for(epid_to_instance(epid))};gruu>
Event: {event}
Accept: {accept}
Supported: com.microsoft.autoextend, ms-benotify, ms-piggyback-first-notify
Proxy-Require: ms-benotify
{"Expires: 0" if "provisioning" in event else "Expires: 0" if False else "Expires: 53000"}
Authorization: NTLM qop="auth", realm="{REALM}", opaque="{opaque}", crand="{0x2A000000 + n:08x}", cnum="{n}", targetname="{FE}", response="SIGNATURE", version=4
Content-Type: {accept}
Content-Length: auto

{body}"""
        conn.send(t, 0, signer.sign(sip(sub), from_client=True))
        ok = f"""SIP/2.0 200 OK
Authentication-Info: NTLM rspauth="SIGNATURE", srand="{0x4B000000 + n:08X}", snum="{n}", opaque="{opaque}", qop="auth", targetname="{FE}", realm="{REALM}", version=4
From: <sip:alice@contoso.com>;tag=s{n}c1;epid={epid}
To: <sip:alice@contoso.com>;tag=S{n}F00D
Call-ID: {call_id}
CSeq: 1 SUBSCRIBE
Via: SIP/2.0/TLS {via};branch=z9hG4bKs{n};received={client};ms-received-port=50712;ms-received-cid=7F00
Expires: {0 if "provisioning" in event else 53000}
Supported: ms-benotify, ms-piggyback-first-notify
Content-Type: {reply_type}
Content-Length: auto

{reply}"""
        conn.send(t + 0.04, 1, signer.sign(sip(ok), from_client=False))
    conn.close(2.0)
    return b


# -- 2. internal user, Kerberos --------------------------------------------------------------------


def internal_kerberos() -> Builder:
    b = Builder()
    client, fe = "10.1.2.50", "10.1.1.10"
    conn = b.tcp((client, 51234), (fe, 5061), isn=(0x30000000, 0x40000000))
    conn.handshake(0.0)
    epid = "4be2a0c511"
    via = f"{client}:51234"
    tag = "k8d2e9f0a1"
    call_id = "d0c1b2a3948576a5b4c3d2e1f0a9b8c7"
    common = dict(user="bob", epid=epid, tag=tag, call_id=call_id, via_host=via)
    reg = dict(common, contact_host=via)
    resp = dict(common, to_tag="8B1D0C2E3F4A5B6C7D8E9F0A1B2C3D4E", received=client)
    conn.send(0.01, 0, sip(_register(cseq=1, branch="ka", auth=None, **reg)))
    conn.send(
        0.03,
        1,
        sip(
            _reg_response(
                "401 Unauthorized",
                cseq=1,
                branch="ka",
                extra=[
                    "Date: Thu, 01 Jan 2026 08:00:00 GMT",
                    *_challenge_headers(("NTLM", "Kerberos", "TLS-DSK")),
                ],
                **resp,
            )
        ),
    )
    token = base64.b64encode(kerberos_ap_req("CONTOSO.COM", "sip", FE)).decode()
    auth = (
        f'Authorization: Kerberos qop="auth", realm="{REALM}", targetname="sip/{FE}", '
        f'gssapi-data="{token}", version=4'
    )
    conn.send(0.06, 0, sip(_register(cseq=2, branch="kb", auth=auth, **reg)))
    instance = epid_to_instance(epid)
    gruu = f"sip:bob@contoso.com;opaque={gruu_opaque_for(instance)};gruu"
    conn.send(
        0.09,
        1,
        sip(
            _reg_response(
                "200 OK",
                cseq=2,
                branch="kb",
                extra=[
                    "ms-keep-alive: UAS; tcp=no; hop-hop=yes; end-end=no; timeout=300",
                    f'Authentication-Info: Kerberos rspauth="{KERBEROS_MIC}", srand="5E058A82", snum="1", '
                    f'opaque="E0DA4F74", qop="auth", targetname="sip/{FE}", realm="{REALM}", version=4',
                    f'Contact: <sip:{via};transport=tls;ms-opaque=9c1e22f0a7>;expires=3600;+sip.instance="<urn:uuid:{instance}>";gruu="{gruu}"',
                    "Expires: 3600",
                    'presence-state: register-action="added"',
                ],
                **resp,
            )
        ),
    )
    conn.close(1.0)
    return b


# -- 3. failed sign-ins -----------------------------------------------------------------------------


def failed_signin() -> Builder:
    """Three failures: wrong password, clock skew, a user the pool does not know."""
    b = Builder()
    conn = b.tcp(("10.1.2.60", 52001), ("10.1.1.10", 5061), isn=(0x50000000, 0x60000000))
    conn.handshake(0.0)
    _ntlm_signin(
        b,
        conn,
        0.01,
        user="alice",
        epid="7d00c3e8a2",
        call_id="f1e2d3c4b5a697887766554433221100",
        client="10.1.2.60:52001",
        received="10.1.2.60",
        password_used="Pa55w.rd!",  # one character off
        remote=False,
        offer=("NTLM", "Kerberos"),
        final="401 Unauthorized\nDate: Thu, 01 Jan 2026 08:00:01 GMT\n"
        f'WWW-Authenticate: NTLM realm="{REALM}", targetname="{FE}", version=4\n'
        f'WWW-Authenticate: Kerberos realm="{REALM}", targetname="sip/{FE}", version=4\n',
        seed=3,
    )
    conn2 = b.tcp(("10.1.2.61", 52002), ("10.1.1.10", 5061), isn=(0x51000000, 0x61000000))
    conn2.handshake(1.0)
    _ntlm_signin(
        b,
        conn2,
        1.01,
        user="carol",
        epid="01a2b3c4d5",
        call_id="0a1b2c3d4e5f60718293a4b5c6d7e8f9",
        client="10.1.2.61:52002",
        received="10.1.2.61",
        password_used="Carol#2026",
        remote=False,
        offer=("NTLM", "Kerberos"),
        final="401 Unauthorized\nDate: Thu, 01 Jan 2026 08:21:40 GMT\n"
        'ms-diagnostics: 1013;reason="Significant time skew detected during authentication";source="fe01.contoso.com"\n'
        f'WWW-Authenticate: NTLM realm="{REALM}", targetname="{FE}", version=4\n',
        seed=4,
    )
    conn3 = b.tcp(("10.1.2.62", 52003), ("10.1.1.10", 5061), isn=(0x52000000, 0x62000000))
    conn3.handshake(2.0)
    common = dict(
        user="dave",
        epid="5e6f708192",
        tag="d4v3",
        call_id="99887766554433221100ffeeddccbbaa",
        via_host="10.1.2.62:52003",
    )
    conn3.send(
        2.01,
        0,
        sip(_register(cseq=1, branch="da", auth=None, contact_host="10.1.2.62:52003", **common)),
    )
    conn3.send(
        2.03,
        1,
        sip(
            _reg_response(
                "404 Not Found",
                cseq=1,
                branch="da",
                to_tag="D4D4",
                received="10.1.2.62",
                extra=[
                    'ms-diagnostics: 1003;reason="User does not exist";source="fe01.contoso.com"'
                ],
                **common,
            )
        ),
    )
    b.frames.sort(key=lambda f: f[0])
    return b


# -- 4. IM conversation -----------------------------------------------------------------------------


def im_conversation() -> Builder:
    b = Builder()
    alice, fe = "10.1.2.50", "10.1.1.10"
    conn = b.tcp((alice, 51500), (fe, 5061), isn=(0x70000000, 0x71000000))
    conn.handshake(0.0)
    hello = base64.b64encode(b"Hi Bob, got a minute for the Q1 numbers?").decode()
    html = base64.b64encode(
        b'<div style="font-family:Segoe UI">Hi Bob, got a minute for the <b>Q1</b> numbers?</div>'
    ).decode()
    a_gruu = f"sip:alice@contoso.com;opaque={gruu_opaque_for(epid_to_instance('9f3c6a1d07'))};gruu"
    b_gruu = f"sip:bob@contoso.com;opaque={gruu_opaque_for(epid_to_instance('4be2a0c511'))};gruu"
    head = """Call-ID: 2f4e6a8c0b1d3f5e7a9c1b3d5f7e9a0c
From: "Alice" <sip:alice@contoso.com>;tag=im1a;epid=9f3c6a1d07"""
    to = "To: <sip:bob@contoso.com>"
    dlg_to = "To: <sip:bob@contoso.com>;tag=im1b;epid=4be2a0c511"
    via = "Via: SIP/2.0/TLS 10.1.2.50:51500;branch=z9hG4bK"
    sdp = """v=0
o=- 0 0 IN IP4 10.1.2.50
s=session
c=IN IP4 10.1.2.50
t=0 0
m=message 5060 sip null
a=accept-types:text/plain multipart/alternative image/gif text/rtf text/html application/x-ms-ink application/ms-imdn+xml text/x-msmsgsinvite"""
    conn.send(
        0.01,
        0,
        sip(f"""INVITE sip:bob@contoso.com SIP/2.0
{via}i1
Max-Forwards: 70
{head}
{to}
CSeq: 1 INVITE
Contact: <{a_gruu}>
User-Agent: UCCAPI/16.0.5365.1000 OC/16.0.5365.1000 (Skype for Business)
Supported: ms-dialog-route-set-update, ms-embedded-first-message, ms-delayed-accept, ms-renders-isf, ms-renders-gif, ms-renders-mime-alternative
Supported: timer, histinfo, ms-safe-transfer, ms-sender, ms-early-media
Supported: com.microsoft.rtc-multiparty
Ms-Conversation-ID: AdyBW2kAU3S8J3YvTy6xo5zVd6JBdg==
ms-keep-alive: UAC;hop-hop=yes
EndPoints: <sip:alice@contoso.com>, <sip:bob@contoso.com>
ms-subnet: 10.1.2.0
ms-endpoint-location-data: NetworkScope;ms-media-location-type=Intranet
ms-text-format: text/plain; charset=UTF-8;msgr=WAAtAE0ATQBTAC0ASQBNAC0ARgBvAHIAbQBhAHQAOgAgAEYATgA9AFMAZQBnAG8AZQAlADIAMABVAEkAOwAgAEUARgA9ADsAIABDAE8APQAwADsAIABDAFMAPQAwADsAIABQAEYAPQAwAA0ACgANAAoADQA;ms-body={hello}
ms-im-format: text/html; charset=UTF-8;ms-body={html}
Content-Type: application/sdp
Content-Length: auto

{sdp}"""),
    )
    conn.send(
        0.02,
        1,
        sip(f"""SIP/2.0 100 Trying
{via}i1;received=10.1.2.50
{head}
{to}
CSeq: 1 INVITE
Content-Length: 0
"""),
    )
    conn.send(
        0.80,
        1,
        sip(f"""SIP/2.0 200 OK
{via}i1;received=10.1.2.50
{head}
{dlg_to}
CSeq: 1 INVITE
Contact: <{b_gruu}>
Supported: ms-dialog-route-set-update, ms-embedded-first-message
ms-endpoint-location-data: NetworkScope;ms-media-location-type=Intranet
P-Asserted-Identity: "Bob" <sip:bob@contoso.com>
Content-Type: application/sdp
Content-Length: auto

{sdp.replace("10.1.2.50", "10.1.2.77")}"""),
    )
    in_dialog = f"{head}\n{dlg_to}"
    conn.send(
        0.81,
        0,
        sip(f"""ACK {b_gruu} SIP/2.0
{via}a1
Max-Forwards: 70
{in_dialog}
CSeq: 1 ACK
Content-Length: 0
"""),
    )
    # Bob types (relayed by the front end on the same connection), then answers.
    bob_head = """Call-ID: 2f4e6a8c0b1d3f5e7a9c1b3d5f7e9a0c
From: <sip:bob@contoso.com>;tag=im1b;epid=4be2a0c511
To: "Alice" <sip:alice@contoso.com>;tag=im1a;epid=9f3c6a1d07"""
    bvia = "Via: SIP/2.0/TLS 10.1.1.10:5061;branch=z9hG4bK"
    keyboard = '<?xml version="1.0"?>\n<KeyboardActivity><status status="{}" /></KeyboardActivity>'
    steps = [
        (2.0, "INFO", 1, "application/xml", keyboard.format("type"), 200),
        (5.0, "MESSAGE", 2, "text/plain; charset=UTF-8", "Sure - call me in 5?", 200),
    ]
    for t, method, cseq, ctype, body, status in steps:
        conn.send(
            t,
            1,
            sip(f"""{method} {a_gruu} SIP/2.0
{bvia}b{cseq}
Max-Forwards: 69
{bob_head}
CSeq: {cseq} {method}
Content-Type: {ctype}
Content-Length: auto

{body}"""),
        )
        conn.send(
            t + 0.01,
            0,
            sip(f"""SIP/2.0 {status} OK
{bvia}b{cseq}
{bob_head}
CSeq: {cseq} {method}
Content-Length: 0
"""),
        )
    conn.send(
        6.0,
        0,
        sip(f"""MESSAGE {b_gruu} SIP/2.0
{via}m2
Max-Forwards: 70
{in_dialog}
CSeq: 2 MESSAGE
Content-Type: text/html; charset=UTF-8
Content-Length: auto

<div style="font-family:Segoe UI">Perfect, <i>thanks</i> &amp; talk soon</div>"""),
    )
    conn.send(
        6.03,
        1,
        sip(f"""SIP/2.0 200 OK
{via}m2;received=10.1.2.50
{in_dialog}
CSeq: 2 MESSAGE
Content-Length: 0
"""),
    )
    conn.send(
        7.0,
        0,
        sip(f"""MESSAGE {b_gruu} SIP/2.0
{via}m3
Max-Forwards: 70
{in_dialog}
CSeq: 3 MESSAGE
Content-Type: text/plain; charset=UTF-8
Content-Length: auto

(one more thing)"""),
    )
    conn.send(
        7.05,
        1,
        sip(f"""SIP/2.0 480 Temporarily Unavailable
{via}m3;received=10.1.2.50
{in_dialog}
CSeq: 3 MESSAGE
ms-diagnostics: 13004;reason="Request was proxied to one or more registered endpoints";source="fe01.contoso.com"
Content-Length: 0
"""),
    )
    conn.send(
        9.0,
        0,
        sip(f"""BYE {b_gruu} SIP/2.0
{via}y1
Max-Forwards: 70
{in_dialog}
CSeq: 4 BYE
Content-Length: 0
"""),
    )
    conn.send(
        9.02,
        1,
        sip(f"""SIP/2.0 200 OK
{via}y1;received=10.1.2.50
{in_dialog}
CSeq: 4 BYE
Content-Length: 0
"""),
    )
    conn.close(10.0)
    return b


# -- 5. presence publish and batched subscribe ---------------------------------------------------


def presence() -> Builder:
    b = Builder()
    alice, fe = "10.1.2.50", "10.1.1.10"
    conn = b.tcp((alice, 51600), (fe, 5061), isn=(0x72000000, 0x73000000))
    conn.handshake(0.0)
    via = "Via: SIP/2.0/TLS 10.1.2.50:51600;branch=z9hG4bK"
    publish = (
        '<publish xmlns="http://schemas.microsoft.com/2006/09/sip/rich-presence"><publications uri="sip:alice@contoso.com">'
        '<publication categoryName="state" instance="952790016" container="2" version="3" expireType="endpoint">'
        '<state xmlns="http://schemas.microsoft.com/2006/09/sip/state" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        'manual="false" xsi:type="machineState"><availability>3500</availability></state></publication>'
        '<publication categoryName="note" instance="0" container="400" version="1" expireType="static">'
        '<note xmlns="http://schemas.microsoft.com/2006/09/sip/note"><body type="personal" uri="">In the Q1 review until 11</body></note></publication>'
        '<publication categoryName="device" instance="952790016" container="2" version="1" expireType="endpoint">'
        '<device xmlns="http://schemas.microsoft.com/2006/09/sip/device" endpointId="9E5F4A0E-3692-5B51-90E2-471500D48B37">'
        '<capabilities preferred="false" uri="sip:alice@contoso.com"><text capture="true" render="true"/>'
        '<audio capture="true" render="true"/></capabilities><machineName>ALICE-LAPTOP</machineName></device></publication>'
        "</publications></publish>"
    )
    head = """From: <sip:alice@contoso.com>;tag=p1a;epid=9f3c6a1d07
To: <sip:alice@contoso.com>
Call-ID: 3c5e7a9b1d3f5a7c9e1b3d5f7a9c1e3b"""
    conn.send(
        0.01,
        0,
        sip(f"""SERVICE sip:alice@contoso.com SIP/2.0
{via}p1
Max-Forwards: 70
{head}
CSeq: 1 SERVICE
Content-Type: application/msrtc-category-publish+xml
Content-Length: auto

{publish}"""),
    )
    conn.send(
        0.04,
        1,
        sip(f"""SIP/2.0 200 OK
{via}p1;received=10.1.2.50
{head.replace("To: <sip:alice@contoso.com>", "To: <sip:alice@contoso.com>;tag=P1B")}
CSeq: 1 SERVICE
Content-Length: 0
"""),
    )
    batch = (
        '<batchSub xmlns="http://schemas.microsoft.com/2006/01/sip/batch-subscribe" uri="sip:alice@contoso.com" name="">'
        '<action name="subscribe" id="63792024"><adhocList><resource uri="sip:bob@contoso.com"/>'
        '<resource uri="sip:carol@contoso.com"/></adhocList>'
        '<categoryList xmlns="http://schemas.microsoft.com/2006/09/sip/categorylist">'
        '<category name="calendarData"/><category name="contactCard"/><category name="note"/><category name="state"/>'
        "</categoryList></action></batchSub>"
    )
    shead = """From: <sip:alice@contoso.com>;tag=p2a;epid=9f3c6a1d07
To: <sip:alice@contoso.com>
Call-ID: 4d6f8b0c2e4a6c8e0a2c4e6a8c0e2a4c"""
    conn.send(
        0.20,
        0,
        sip(f"""SUBSCRIBE sip:alice@contoso.com SIP/2.0
{via}p2
Max-Forwards: 70
{shead}
CSeq: 1 SUBSCRIBE
Contact: <sip:alice@contoso.com;opaque={gruu_opaque_for(epid_to_instance("9f3c6a1d07"))};gruu>
Event: presence
Accept: application/msrtc-event-categories+xml, text/xml+msrtc.pidf, application/pidf+xml, application/rlmi+xml, multipart/related
Supported: com.microsoft.autoextend, ms-benotify, ms-piggyback-first-notify, eventlist
Require: adhoclist, categoryList
Proxy-Require: ms-benotify
Content-Type: application/msrtc-adrl-categorylist+xml
Content-Length: auto

{batch}"""),
    )

    def categories(uri: str, avail: int, note: str | None, version: int) -> str:
        cats = (
            f'<categories xmlns="http://schemas.microsoft.com/2006/09/sip/categories" uri="{uri}">'
            f'<category name="state" instance="1" publishTime="2026-01-01T08:00:00Z" container="2" version="{version}" expireType="static">'
            '<state xmlns="http://schemas.microsoft.com/2006/09/sip/state" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
            f'manual="false" xsi:type="aggregateState"><availability>{avail}</availability></state></category>'
        )
        if note:
            cats += (
                '<category name="note" instance="0" publishTime="2026-01-01T07:55:00Z" container="400" version="1" expireType="static">'
                f'<note xmlns="http://schemas.microsoft.com/2006/09/sip/note"><body type="personal" uri="">{note}</body></note></category>'
            )
        return cats + "</categories>"

    boundary = "Rlmi-Boundary-1a2b3c"
    related = (
        f"--{boundary}\nContent-Type: application/rlmi+xml\n\n"
        '<list xmlns="urn:ietf:params:xml:ns:rlmi" uri="sip:alice@contoso.com" version="0" fullState="false">'
        '<resource uri="sip:bob@contoso.com"><instance id="1" state="active" cid="bob@contoso.com"/></resource>'
        '<resource uri="sip:carol@contoso.com"><instance id="2" state="active" cid="carol@contoso.com"/></resource></list>\n'
        f"--{boundary}\nContent-Type: application/msrtc-event-categories+xml\nContent-ID: <bob@contoso.com>\n\n"
        + categories("sip:bob@contoso.com", 3500, None, 4)
        + f"\n--{boundary}\nContent-Type: application/msrtc-event-categories+xml\nContent-ID: <carol@contoso.com>\n\n"
        + categories("sip:carol@contoso.com", 6500, "Out sick, back Monday", 2)
        + f"\n--{boundary}--\n"
    )
    dlg = shead.replace("To: <sip:alice@contoso.com>", "To: <sip:alice@contoso.com>;tag=P2B")
    conn.send(
        0.26,
        1,
        sip(f"""SIP/2.0 200 OK
{via}p2;received=10.1.2.50
{dlg}
CSeq: 1 SUBSCRIBE
Expires: 36000
Require: eventlist
Supported: ms-benotify, ms-piggyback-first-notify
Content-Type: multipart/related; type="application/rlmi+xml";start=resourceList;boundary={boundary}
Content-Length: auto

{related}"""),
    )
    bn_head = """From: <sip:alice@contoso.com>;tag=P2B
To: <sip:alice@contoso.com>;tag=p2a;epid=9f3c6a1d07
Call-ID: 4d6f8b0c2e4a6c8e0a2c4e6a8c0e2a4c"""
    conn.send(
        30.0,
        1,
        sip(f"""BENOTIFY sip:alice@contoso.com;opaque={gruu_opaque_for(epid_to_instance("9f3c6a1d07"))};gruu SIP/2.0
Via: SIP/2.0/TLS 10.1.1.10:5061;branch=z9hG4bKbn2
Max-Forwards: 70
{bn_head}
CSeq: 2 BENOTIFY
Event: presence
Subscription-State: active;expires=36000
Content-Type: application/msrtc-event-categories+xml
Content-Length: auto

{categories("sip:bob@contoso.com", 15500, "Back at 2", 5)}"""),
    )
    conn.close(31.0)
    return b


# -- 6. conference join with C3P ------------------------------------------------------------------


def conference_c3p() -> Builder:
    b = Builder()
    alice, fe = "10.1.2.50", "10.1.1.10"
    conn = b.tcp((alice, 51700), (fe, 5061), isn=(0x74000000, 0x75000000))
    conn.handshake(0.0)
    via = "Via: SIP/2.0/TLS 10.1.2.50:51700;branch=z9hG4bK"
    factory = "sip:alice@contoso.com;gruu;opaque=app:conf:focusfactory"
    focus = "sip:alice@contoso.com;gruu;opaque=app:conf:focus:id:7QK4W2ZJ"
    a_gruu = f"sip:alice@contoso.com;opaque={gruu_opaque_for(epid_to_instance('9f3c6a1d07'))};gruu"
    ns = 'xmlns="urn:ietf:params:xml:ns:cccp" xmlns:mscp="http://schemas.microsoft.com/rtc/2005/08/cccpextensions" xmlns:msci="http://schemas.microsoft.com/rtc/2005/08/confinfoextensions"'
    add_conf = (
        f'<request {ns} C3PVersion="1" to="{factory}" from="sip:alice@contoso.com" requestId="0">'
        '<addConference><ci:conference-info xmlns:ci="urn:ietf:params:xml:ns:conference-info" entity="" state="full" version="0">'
        "<ci:conference-description><ci:subject>Q1 numbers</ci:subject>"
        "<msci:conference-id>7QK4W2ZJ</msci:conference-id><msci:expiry-time>2026-01-02T08:00:00Z</msci:expiry-time>"
        "<msci:admission-policy>openAuthenticated</msci:admission-policy></ci:conference-description>"
        '<msci:conference-view><msci:entity-view entity="chat"/><msci:entity-view entity="audio-video"/></msci:conference-view>'
        "</ci:conference-info></addConference></request>"
    )
    h1 = """From: <sip:alice@contoso.com>;tag=c1a;epid=9f3c6a1d07
To: <sip:alice@contoso.com;gruu;opaque=app:conf:focusfactory>
Call-ID: 5e7a9c1b3d5f7a9c1e3b5d7f9a1c3e5b"""
    conn.send(
        0.01,
        0,
        sip(f"""SERVICE {factory} SIP/2.0
{via}c1
Max-Forwards: 70
{h1}
CSeq: 1 SERVICE
Contact: <{a_gruu}>
Content-Type: application/cccp+xml
Content-Length: auto

{add_conf}"""),
    )
    conn.send(
        0.12,
        1,
        sip(f"""SIP/2.0 200 OK
{via}c1;received=10.1.2.50
{h1.replace("focusfactory>", "focusfactory>;tag=C1B")}
CSeq: 1 SERVICE
Content-Type: application/cccp+xml
Content-Length: auto

<response {ns} requestId="0" C3PVersion="1" from="{factory}" to="sip:alice@contoso.com" code="success"><addConference><conference-info xmlns="urn:ietf:params:xml:ns:conference-info" entity="{focus}"/></addConference></response>"""),
    )
    add_user = (
        f'<request {ns} C3PVersion="1" to="{focus}" from="sip:alice@contoso.com" requestId="1">'
        f'<addUser><conferenceKeys confEntity="{focus}"/><ci:user xmlns:ci="urn:ietf:params:xml:ns:conference-info" entity="sip:alice@contoso.com">'
        "<ci:roles><ci:entry>attendee</ci:entry></ci:roles>"
        f'<ci:endpoint entity="{{9E5F4A0E-3692-5B51-90E2-471500D48B37}}" xmlns:msci="http://schemas.microsoft.com/rtc/2005/08/confinfoextensions"/>'
        "</ci:user></addUser></request>"
    )
    h2 = f"""From: <sip:alice@contoso.com>;tag=c2a;epid=9f3c6a1d07
To: <{focus}>
Call-ID: 6f8b0d2c4e6a8c0e2a4c6e8a0c2e4a6d"""
    conn.send(
        0.20,
        0,
        sip(f"""INVITE {focus} SIP/2.0
{via}c2
Max-Forwards: 70
{h2}
CSeq: 1 INVITE
Contact: <{a_gruu}>
Supported: ms-dialog-route-set-update, timer, ms-sender, ms-early-media
Content-Type: application/cccp+xml
Content-Length: auto

{add_user}"""),
    )
    d2 = h2.replace(f"To: <{focus}>", f"To: <{focus}>;tag=C2B")
    conn.send(
        0.35,
        1,
        sip(f"""SIP/2.0 200 OK
{via}c2;received=10.1.2.50
{d2}
CSeq: 1 INVITE
Contact: <{focus}>;isfocus
Content-Type: application/cccp+xml
Content-Length: auto

<response {ns} requestId="1" C3PVersion="1" from="{focus}" to="sip:alice@contoso.com" code="success"><addUser><conferenceKeys confEntity="{focus}"/></addUser></response>"""),
    )
    conn.send(
        0.36,
        0,
        sip(f"""ACK {focus} SIP/2.0
{via}c3
Max-Forwards: 70
{d2}
CSeq: 1 ACK
Content-Length: 0
"""),
    )
    h3 = f"""From: <sip:alice@contoso.com>;tag=c4a;epid=9f3c6a1d07
To: <{focus}>
Call-ID: 7a9c1e3b5d7f9a1c3e5b7d9f1a3c5e7c"""
    conn.send(
        0.40,
        0,
        sip(f"""SUBSCRIBE {focus} SIP/2.0
{via}c4
Max-Forwards: 70
{h3}
CSeq: 1 SUBSCRIBE
Contact: <{a_gruu}>
Event: conference
Accept: application/conference-info+xml
Supported: ms-benotify, ms-piggyback-first-notify
Content-Length: 0
"""),
    )
    d3 = h3.replace(f"To: <{focus}>", f"To: <{focus}>;tag=C4B")
    info = (
        f'<conference-info xmlns="urn:ietf:params:xml:ns:conference-info" xmlns:msci="http://schemas.microsoft.com/rtc/2005/08/confinfoextensions" entity="{focus}" state="full" version="1">'
        "<conference-description><subject>Q1 numbers</subject><organizer><display-name>Alice</display-name></organizer>"
        "<msci:conference-id>7QK4W2ZJ</msci:conference-id></conference-description>"
        '<users><user entity="sip:alice@contoso.com" state="full"><roles><entry>presenter</entry></roles>'
        f'<endpoint entity="{focus}" session-type="focus"><status>connected</status></endpoint></user>'
        '<user entity="sip:bob@contoso.com" state="full"><roles><entry>attendee</entry></roles>'
        '<endpoint entity="sip:bob@contoso.com" session-type="chat"><status>connected</status></endpoint></user></users>'
        '<msci:conference-view><msci:entity-view entity="chat"><msci:entity-state><msci:locked>false</msci:locked></msci:entity-state></msci:entity-view></msci:conference-view>'
        "</conference-info>"
    )
    conn.send(
        0.45,
        1,
        sip(f"""SIP/2.0 200 OK
{via}c4;received=10.1.2.50
{d3}
CSeq: 1 SUBSCRIBE
Expires: 3600
Content-Type: application/conference-info+xml
Content-Length: auto

{info}"""),
    )
    lock = (
        f'<request {ns} C3PVersion="1" to="{focus}" from="sip:alice@contoso.com" requestId="2">'
        f'<modifyConferenceLock><conferenceKeys confEntity="{focus}"/><locked>true</locked></modifyConferenceLock></request>'
    )
    conn.send(
        5.0,
        0,
        sip(f"""INFO {focus} SIP/2.0
{via}c5
Max-Forwards: 70
{d2}
CSeq: 2 INFO
Content-Type: application/cccp+xml
Content-Length: auto

{lock}"""),
    )
    conn.send(
        5.05,
        1,
        sip(f"""SIP/2.0 200 OK
{via}c5;received=10.1.2.50
{d2}
CSeq: 2 INFO
Content-Type: application/cccp+xml
Content-Length: auto

<response {ns} requestId="2" C3PVersion="1" from="{focus}" to="sip:alice@contoso.com" code="success"><modifyConferenceLock/></response>"""),
    )
    conn.send(
        20.0,
        0,
        sip(f"""BYE {focus} SIP/2.0
{via}c6
Max-Forwards: 70
{d2}
CSeq: 3 BYE
Content-Length: 0
"""),
    )
    conn.send(
        20.02,
        1,
        sip(f"""SIP/2.0 200 OK
{via}c6;received=10.1.2.50
{d2}
CSeq: 3 BYE
Content-Length: 0
"""),
    )
    conn.close(21.0)
    return b


SAMPLES = {
    "lync-remote-ntlm.pcapng": remote_ntlm,
    "lync-internal-kerberos.pcapng": internal_kerberos,
    "lync-signin-failed.pcapng": failed_signin,
    "lync-im-conversation.pcapng": im_conversation,
    "lync-presence.pcapng": presence,
    "lync-conference-c3p.pcapng": conference_c3p,
}
