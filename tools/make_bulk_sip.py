# ruff: noqa: E501  (SIP header templates read better as the long lines they are on the wire)
"""Bulk Lync traffic as a Front End sees it, for benchmarks: many users sign in and chat.

    python tools/make_bulk_sip.py OUT_DIR [--messages 50024] [--variants plain,tls,sipcomp]

Each user opens one TCP connection to the pool and signs in (REGISTER with NTLM or Kerberos
challenges: real NTLMv2 tokens and Kerberos AP-REQs from tools/scenario_ms.py), subscribes to
its contacts, its own roaming data, provisioning and its contacts' presence (batch SUBSCRIBE
answered with multipart/related), publishes presence (SERVICE), receives BENOTIFY/NOTIFY
presence updates, sends CRLF keep-alives, and about half the users open an IM session with a
signed-in colleague: INVITE with an embedded first message, typing INFOs, MESSAGEs and BYE, each
request relayed by the pool on the partner's connection. Every request after sign-in carries
its NTLM/Kerberos signature header, as Lync sends it. A third of the users sign out (REGISTER
Expires: 0) and close their connection; the others stay connected. Users arrive every 0.5 s.
Traffic stops after exactly ``--messages`` SIP messages (the capture ends mid-conversation, as
a real one does).

Three variants of the same traffic:

* ``plain``: SIP over TCP port 5060;
* ``tls``: SIP over TLS 1.3 on port 5061, made by Python's ssl (OpenSSL) over memory BIOs, with
  the NSS key log written beside the capture (``bulk-tls.keys``);
* ``sipcomp``: NEGOTIATE / 200 OK, then every message as an MS-SIPCOMP packet made by the
  project's MPPC encoder (sipcomp/mppc.py), over TCP port 5060.

The plain and sipcomp captures are byte-for-byte the same on every run; the TLS one carries the
same records of the same sizes, but OpenSSL's randoms differ per run. Packets are written as
they are made (Ethernet, IPv4, TCP with real checksums, 1448-byte segments), so memory stays
flat in ``--messages``.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import heapq
import random
import struct
import sys
import tempfile
import time
from array import array
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from scenario_ms import kerberos_ap_req, ntlm_authenticate, ntlm_challenge  # noqa: E402

from lyncdump.sip.ms import epid_to_instance, gruu_opaque_for  # noqa: E402

VARIANTS = ("plain", "tls", "sipcomp")
DEFAULT_MESSAGES = 50_024
POOL_IP = "10.0.0.10"
FE = "fe01.contoso.com"
POOL = "pool01.contoso.com"
REALM = "SIP Communications Service"
MSS = 1448
ARRIVAL_GAP = 0.5  # seconds between two users' sign-ins
START = 1_767_258_000.0  # 2026-01-01 09:00:00 UTC

FIRST = ("alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy",
         "mallory", "niaj", "olivia", "peggy", "rupert", "sybil", "trent", "victor", "walter",
         "yvonne")  # fmt: skip
LAST = ("adams", "baker", "clark", "davis", "evans", "fisher", "garcia", "hughes", "ito",
        "jones", "khan", "lopez", "moore", "nguyen", "owens", "patel", "quinn", "reyes", "smith",
        "tanaka")  # fmt: skip
NOTES = ("In the Q1 review until 11", "Working remotely", "Out sick, back Monday",
         "Travelling: slow to answer", "Focus time, ping if urgent", "")  # fmt: skip
LINES = ("hi, got a minute?", "sure, what's up", "can you look at the release notes before 3?",
         "done - two typos fixed, the rest reads well", "great, thanks!", "call me when you are back",
         "the build is green again", "<b>important</b>: the pilot starts Monday")  # fmt: skip

_OPEN, _DATA, _KEEPALIVE, _CLOSE, _IDLE = range(5)


@dataclass
class Counts:
    """What a build wrote (printed by the tool and the benchmark)."""

    messages: int = 0
    requests: int = 0
    responses: int = 0
    frames: int = 0
    connections: int = 0
    users: int = 0
    plain_bytes: int = 0
    methods: dict[str, int] = field(default_factory=dict)


def _hex(rng: random.Random, n: int) -> str:
    return f"{rng.getrandbits(4 * n):0{n}x}"


def _msg(start: str, headers: list[str], body: str = "") -> bytes:
    data = body.encode()
    head = "\r\n".join([start, *headers, f"Content-Length: {len(data)}"])
    return head.encode() + b"\r\n\r\n" + data


@dataclass
class User:
    index: int
    name: str
    display: str
    ip: str
    port: int
    conn: int
    epid: str
    gruu: str
    scheme: str  # NTLM | Kerberos
    opaque: str
    transport: str
    contacts: list[str]
    crand: str = ""
    cnum: int = 0
    snum: int = 0
    registered: bool = False
    reg: tuple[str, str] = ("", "")  # REGISTER Call-ID and From tag, for signing out
    presence: tuple[str, str, str] = ("", "", "")  # presence dialog: Call-ID, tags

    @property
    def uri(self) -> str:
        return f"sip:{self.name}@contoso.com"

    @property
    def via_host(self) -> str:
        return f"{self.ip}:{self.port}"


class Traffic:
    """Makes the SIP text of every user's script; knows nothing about TCP, TLS or compression."""

    def __init__(self, transport: str, negotiate: bool, seed: int = 20260101) -> None:
        self.rng = random.Random(seed)
        self.transport = transport  # what Via says: TCP or TLS
        self.negotiate = negotiate
        self.users: list[User] = []
        self.stayers: list[User] = []  # signed in and never signing out: IM partners
        self.by_conn: dict[int, User] = {}

    # -- headers shared by many messages ----------------------------------------------------
    def _client_via(self, u: User, branch: str) -> str:
        return f"Via: SIP/2.0/{self.transport} {u.via_host};branch=z9hG4bK{branch}"

    def _received_via(self, u: User, branch: str) -> str:
        return (
            f"{self._client_via(u, branch)};received={u.ip};ms-received-port={u.port};"
            f"ms-received-cid={u.conn:X}00"
        )

    def _pool_via(self, branch: str) -> str:
        return (
            f"Via: SIP/2.0/{self.transport} {POOL_IP}:{5061 if self.transport == 'TLS' else 5060};"
            f'branch=z9hG4bK{branch};branched=FALSE;ms-internal-info="{branch[:6]}aAaD9kT3Q"'
        )

    def _sig(self, *parts: object) -> str:
        return hashlib.blake2b(repr(parts).encode(), digest_size=16).hexdigest()

    def _auth(self, u: User) -> str:
        u.cnum += 1
        target = FE if u.scheme == "NTLM" else f"sip/{FE}"
        return (
            f'Proxy-Authorization: {u.scheme} qop="auth", realm="{REALM}", opaque="{u.opaque}", '
            f'crand="{u.crand}", cnum="{u.cnum}", targetname="{target}", '
            f'response="{self._sig(u.index, u.cnum)}"'
        )

    def _auth_info(self, u: User) -> str:
        u.snum += 1
        target = FE if u.scheme == "NTLM" else f"sip/{FE}"
        return (
            f'Authentication-Info: {u.scheme} rspauth="{self._sig(u.index, -u.snum).upper()}", '
            f'srand="{self._sig(u.index, u.snum)[:8].upper()}", snum="{u.snum}", '
            f'opaque="{u.opaque}", qop="auth", targetname="{target}", realm="{REALM}", version=4'
        )

    def _from(self, u: User, tag: str) -> str:
        return f'From: "{u.display}" <{u.uri}>;tag={tag};epid={u.epid}'

    # -- users --------------------------------------------------------------------------------
    def new_user(self, conn: int) -> User:
        rng = self.rng
        i = len(self.users)
        first, last = FIRST[i % len(FIRST)], LAST[(i // len(FIRST)) % len(LAST)]
        name = f"{first}.{last}{i // 400 or ''}"
        epid = _hex(rng, 10)
        gruu = f"{name}@contoso.com;opaque={gruu_opaque_for(epid_to_instance(epid))};gruu"
        peers = [u.name for u in self.users[-300:]]
        contacts = rng.sample(peers, min(len(peers), rng.randrange(4, 40)))
        u = User(
            index=i,
            name=name,
            display=f"{first.title()} {last.title()}",
            ip=f"10.{1 + i // 62500}.{(i // 250) % 250}.{1 + i % 250}",
            port=50000 + (i * 7) % 15000,
            conn=conn,
            epid=epid,
            gruu=f"sip:{gruu}",
            scheme="Kerberos" if rng.random() < 0.35 else "NTLM",
            opaque=_hex(rng, 8).upper(),
            transport=self.transport,
            contacts=contacts,
            crand=_hex(rng, 8),
        )
        self.users.append(u)
        self.by_conn[conn] = u
        return u

    # -- messages -------------------------------------------------------------------------------
    def negotiate_pair(self, u: User) -> tuple[bytes, bytes]:
        tag, call_id = _hex(self.rng, 32), _hex(self.rng, 32)
        port = 5061 if self.transport == "TLS" else 5060
        common = [
            f"From: <sip:{u.via_host}>;tag={tag}",
            f"To: <sip:{POOL_IP}:{port}>",
            f"Call-ID: {call_id}",
            "CSeq: 1 NEGOTIATE",
        ]
        req = _msg(
            f"NEGOTIATE sip:{POOL_IP}:{port} SIP/2.0",
            [f"Via: SIP/2.0/{self.transport} {u.via_host}", "Max-Forwards: 0", *common,
             "Compression: LZ77-8K"],
        )  # fmt: skip
        ok = _msg(
            "SIP/2.0 200 OK",
            ["Compression: LZ77-8K", common[0], common[1] + f";tag={_hex(self.rng, 32).upper()}",
             common[2], common[3],
             f"Via: SIP/2.0/{self.transport} {u.via_host};ms-received-port={u.port};ms-received-cid={u.conn:X}00"],
        )  # fmt: skip
        return req, ok

    def _register(self, u: User, call_id: str, tag: str, cseq: int, auth: str | None,
                  expires: int | None = None) -> tuple[bytes, str]:  # fmt: skip
        branch = _hex(self.rng, 12)
        headers = [
            self._client_via(u, branch),
            "Max-Forwards: 70",
            self._from(u, tag),
            f"To: <{u.uri}>",
            f"Call-ID: {call_id}",
            f"CSeq: {cseq} REGISTER",
            f"Contact: <sip:{u.via_host};transport={self.transport.lower()};ms-opaque={u.epid}>;"
            'methods="INVITE, MESSAGE, INFO, SUBSCRIBE, OPTIONS, BYE, CANCEL, NOTIFY, ACK, REFER, BENOTIFY";'
            f'proxy=replace;+sip.instance="<urn:uuid:{epid_to_instance(u.epid)}>"',
            "User-Agent: UCCAPI/16.0.5365.1000 OC/16.0.5365.1000 (Skype for Business)",
            "Supported: gruu-10, adhoclist, msrtc-event-categories, com.microsoft.msrtc.presence",
            "Supported: ms-forking",
            "Supported: ms-keep-alive=deprecated",
            "ms-keep-alive: UAC;hop-hop=yes",
            "Event: registration",
        ]
        if expires is not None:
            headers.append(f"Expires: {expires}")
        if auth:
            headers.append(auth)
        return _msg("REGISTER sip:contoso.com SIP/2.0", headers), branch

    def _reg_reply(self, u: User, status: str, call_id: str, tag: str, cseq: int, branch: str,
                   extra: list[str]) -> bytes:  # fmt: skip
        return _msg(
            f"SIP/2.0 {status}",
            [*extra, self._from(u, tag), f"To: <{u.uri}>;tag={self._sig(u.index, 'reg')[:32].upper()}",
             f"Call-ID: {call_id}", f"CSeq: {cseq} REGISTER", self._received_via(u, branch),
             "Server: RTC/7.0"],
        )  # fmt: skip

    def signin(self, u: User) -> Iterator[tuple[float, int, bytes]]:
        """(delay, direction, message) of one sign-in; ends registered, or failed."""
        rng = self.rng
        call_id, tag = _hex(rng, 32), _hex(rng, 10)
        offers = [
            f'WWW-Authenticate: NTLM realm="{REALM}", targetname="{FE}", version=4',
            f'WWW-Authenticate: Kerberos realm="{REALM}", targetname="sip/{FE}", version=4',
            f'WWW-Authenticate: TLS-DSK realm="{REALM}", targetname="{FE}", version=4, '
            f'sts-uri="https://{POOL}:443/CertProv/CertProvisioningService.svc"',
        ]
        date = "Date: Thu, 01 Jan 2026 09:00:00 GMT"
        req, branch = self._register(u, call_id, tag, 1, None)
        yield 0.0, 0, req
        yield (
            0.03,
            1,
            self._reg_reply(u, "401 Unauthorized", call_id, tag, 1, branch, [date, *offers]),
        )
        failed = rng.random() < 0.03
        if u.scheme == "Kerberos":
            token = base64.b64encode(kerberos_ap_req("CONTOSO.COM", "sip", FE)).decode()
            auth = (
                f'Authorization: Kerberos qop="auth", realm="{REALM}", targetname="sip/{FE}", '
                f'gssapi-data="{token}", version=4'
            )
            req, branch = self._register(u, call_id, tag, 2, auth)
            yield 0.05, 0, req
            cseq = 2
        else:
            start = (
                f'Authorization: NTLM qop="auth", realm="{REALM}", targetname="{FE}", '
                'gssapi-data="", version=4'
            )
            req, branch = self._register(u, call_id, tag, 2, start)
            yield 0.05, 0, req
            filetime = 134_116_128_000_000_000 + u.index * 10_000_000
            challenge = ntlm_challenge(rng.randbytes(8), filetime)
            gss = base64.b64encode(challenge).decode()
            yield 0.03, 1, self._reg_reply(u, "401 Unauthorized", call_id, tag, 2, branch, [
                date,
                f'WWW-Authenticate: NTLM opaque="{u.opaque}", gssapi-data="{gss}", '
                f'targetname="{FE}", realm="{REALM}", version=4',
            ])  # fmt: skip
            token = ntlm_authenticate(
                challenge,
                user=u.name,
                domain="CONTOSO",
                workstation=f"PC-{u.index:05d}",
                password="Pa55w.rd" if not failed else "wrong",
                client_challenge=rng.randbytes(8),
                session_key=rng.randbytes(16),
                filetime=filetime + 2_000_000,
            )
            auth = (
                f'Authorization: NTLM qop="auth", realm="{REALM}", opaque="{u.opaque}", '
                f'targetname="{FE}", version=4, gssapi-data="{base64.b64encode(token).decode()}", '
                f'crand="{u.crand}", cnum="1", response="{self._sig(u.index, 1)}"'
            )
            u.cnum = 1
            req, branch = self._register(u, call_id, tag, 3, auth)
            yield 0.05, 0, req
            cseq = 3
        if failed:
            yield 0.06, 1, self._reg_reply(u, "401 Unauthorized", call_id, tag, cseq, branch, [
                date, offers[0], offers[1],
                f'ms-diagnostics: 1000;reason="Final handshake failed";source="{FE}"',
            ])  # fmt: skip
            return
        instance = epid_to_instance(u.epid)
        yield 0.06, 1, self._reg_reply(u, "200 OK", call_id, tag, cseq, branch, [
            "ms-keep-alive: UAS; tcp=no; hop-hop=yes; end-end=no; timeout=300",
            self._auth_info(u),
            f'Contact: <sip:{u.via_host};transport={self.transport.lower()};ms-opaque={u.epid}>;expires=7200;'
            f'+sip.instance="<urn:uuid:{instance}>";gruu="{u.gruu}"',
            "Expires: 7200",
            'presence-state: register-action="added"',
            "Allow-Events: vnd-microsoft-provisioning,vnd-microsoft-roaming-contacts,vnd-microsoft-roaming-ACL,"
            "presence,presence.wpending,vnd-microsoft-roaming-self,vnd-microsoft-provisioning-v2",
            "Supported: adhoclist, msrtc-event-categories",
            "Supported: ms-userservices-state-notification",
        ])  # fmt: skip
        u.registered = True
        u.reg = (call_id, tag)

    def signout(self, u: User) -> Iterator[tuple[float, int, bytes]]:
        call_id, tag = u.reg
        req, branch = self._register(u, call_id, tag, 10, self._auth(u), expires=0)
        yield 0.0, 0, req
        yield (
            0.02,
            1,
            self._reg_reply(
                u, "200 OK", call_id, tag, 10, branch, [self._auth_info(u), "Expires: 0"]
            ),
        )

    def _request(self, u: User, method: str, uri: str, call_id: str, tag: str, to: str,
                 cseq: int, extra: list[str], body: str = "") -> tuple[bytes, str]:  # fmt: skip
        branch = _hex(self.rng, 12)
        return _msg(
            f"{method} {uri} SIP/2.0",
            [self._client_via(u, branch), "Max-Forwards: 70", self._from(u, tag), f"To: {to}",
             f"Call-ID: {call_id}", f"CSeq: {cseq} {method}",
             "User-Agent: UCCAPI/16.0.5365.1000 OC/16.0.5365.1000 (Skype for Business)",
             *extra, self._auth(u)],
            body,
        ), branch  # fmt: skip

    def _reply(self, u: User, status: str, method: str, call_id: str, tag: str, to: str,
               cseq: int, branch: str, extra: list[str], body: str = "") -> bytes:  # fmt: skip
        return _msg(
            f"SIP/2.0 {status}",
            [self._auth_info(u), self._from(u, tag), f"To: {to}", f"Call-ID: {call_id}",
             f"CSeq: {cseq} {method}", self._received_via(u, branch), *extra],
            body,
        )  # fmt: skip

    def subscriptions(self, u: User) -> Iterator[tuple[float, int, bytes]]:
        rng = self.rng
        contacts = "".join(
            f'<contact uri="sip:{c}@contoso.com" name="" groups="1 {2 + n % 3}" subscribed="true" externalUri="">'
            f'<contactExtension><contactSettings contactId="{_hex(rng, 8)}-{_hex(rng, 4)}"/></contactExtension></contact>'
            for n, c in enumerate(u.contacts)
        )
        replies = {
            "vnd-microsoft-roaming-contacts": (
                "application/vnd-microsoft-roaming-contacts+xml",
                "",
                f'<contactList deltaNum="{rng.randrange(1, 900)}"><group id="1" name="~" externalUri=""/>'
                '<group id="2" name="Team" externalUri=""/><group id="3" name="Other Contacts" externalUri=""/>'
                f"{contacts}</contactList>",
            ),
            "vnd-microsoft-roaming-self": (
                "application/vnd-microsoft-roaming-self+xml",
                '<roamingList xmlns="http://schemas.microsoft.com/2006/09/sip/roaming-self">'
                '<roaming type="categories"/><roaming type="containers"/><roaming type="subscribers"/></roamingList>',
                '<roamingData xmlns="http://schemas.microsoft.com/2006/09/sip/roaming-self"><categories>'
                f'<category name="note" instance="0" publishTime="2026-01-01T07:00:00Z" container="400" version="{rng.randrange(1, 50)}">'
                f'<note xmlns="http://schemas.microsoft.com/2006/09/sip/note"><body type="personal">{rng.choice(NOTES)}</body></note></category>'
                '</categories><containers><container id="100" version="1"/><container id="200" version="3">'
                '<member type="sameEnterprise"/></container><container id="32000" version="1"/></containers>'
                "<subscribers/></roamingData>",
            ),
            "vnd-microsoft-provisioning-v2": (
                "application/vnd-microsoft-roaming-provisioning-v2+xml",
                '<provisioningGroupList xmlns="http://schemas.microsoft.com/2006/09/sip/provisioninggrouplist">'
                '<provisioningGroup name="ServerConfiguration"/><provisioningGroup name="meetingPolicy"/>'
                '<provisioningGroup name="ucPolicy"/><provisioningGroup name="userSetting"/></provisioningGroupList>',
                '<provisionGroupList xmlns="http://schemas.microsoft.com/2006/09/sip/provisiongrouplist-notification">'
                f'<provisionGroup name="ServerConfiguration"><focusFactoryUri>{u.uri};gruu;opaque=app:conf:focusfactory</focusFactoryUri>'
                f"<mrasUri>sip:mras.{POOL}@contoso.com;gruu;opaque=srvr:MRAS:Aa1</mrasUri><maxMeetingSize>250</maxMeetingSize>"
                "<enableFileTransfer>true</enableFileTransfer></provisionGroup>"
                '<provisionGroup name="meetingPolicy"/><provisionGroup name="ucPolicy"/><provisionGroup name="userSetting"/></provisionGroupList>',
            ),
        }
        delay = 0.15
        for event, (ctype, body, reply) in replies.items():
            call_id, tag = _hex(rng, 32), _hex(rng, 10)
            to = f"<{u.uri}>"
            extra = [f"Contact: <{u.gruu}>", f"Event: {event}", f"Accept: {ctype}",
                     "Supported: com.microsoft.autoextend, ms-benotify, ms-piggyback-first-notify",
                     "Proxy-Require: ms-benotify", "Expires: 0" if "provisioning" in event else "Expires: 53000"]  # fmt: skip
            if body:
                extra.append(f"Content-Type: {ctype}")
            req, branch = self._request(u, "SUBSCRIBE", u.uri, call_id, tag, to, 1, extra, body)
            yield delay, 0, req
            yield 0.04, 1, self._reply(
                u, "200 OK", "SUBSCRIBE", call_id, tag, f"{to};tag={_hex(rng, 32).upper()}", 1, branch,
                ["Expires: 53000", "Supported: ms-benotify, ms-piggyback-first-notify", f"Content-Type: {ctype}"],
                reply,
            )  # fmt: skip
            delay = 0.08

    def publish(self, u: User, availability: int) -> Iterator[tuple[float, int, bytes]]:
        rng = self.rng
        note = rng.choice(NOTES)
        body = (
            f'<publish xmlns="http://schemas.microsoft.com/2006/09/sip/rich-presence"><publications uri="{u.uri}">'
            f'<publication categoryName="state" instance="952790016" container="2" version="{rng.randrange(1, 99)}" expireType="endpoint">'
            '<state xmlns="http://schemas.microsoft.com/2006/09/sip/state" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
            f'manual="false" xsi:type="machineState"><availability>{availability}</availability></state></publication>'
            f'<publication categoryName="note" instance="0" container="400" version="{rng.randrange(1, 99)}" expireType="static">'
            f'<note xmlns="http://schemas.microsoft.com/2006/09/sip/note"><body type="personal" uri="">{note}</body></note></publication>'
            '<publication categoryName="device" instance="952790016" container="2" version="1" expireType="endpoint">'
            f'<device xmlns="http://schemas.microsoft.com/2006/09/sip/device" endpointId="{epid_to_instance(u.epid).upper()}">'
            f'<capabilities preferred="false" uri="{u.uri}"><text capture="true" render="true"/>'
            f'<audio capture="true" render="true"/></capabilities><machineName>PC-{u.index:05d}</machineName></device></publication>'
            "</publications></publish>"
        )
        call_id, tag = _hex(rng, 32), _hex(rng, 10)
        to = f"<{u.uri}>"
        req, branch = self._request(u, "SERVICE", u.uri, call_id, tag, to, 1,
                                    ["Content-Type: application/msrtc-category-publish+xml"], body)  # fmt: skip
        yield 0.0, 0, req
        yield (
            0.03,
            1,
            self._reply(
                u,
                "200 OK",
                "SERVICE",
                call_id,
                tag,
                f"{to};tag={_hex(rng, 32).upper()}",
                1,
                branch,
                [],
            ),
        )

    def _categories(self, uri: str, availability: int, note: str, version: int) -> str:
        cats = (
            f'<categories xmlns="http://schemas.microsoft.com/2006/09/sip/categories" uri="{uri}">'
            f'<category name="state" instance="1" publishTime="2026-01-01T08:00:00Z" container="2" version="{version}" expireType="static">'
            '<state xmlns="http://schemas.microsoft.com/2006/09/sip/state" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
            f'manual="false" xsi:type="aggregateState"><availability>{availability}</availability></state></category>'
        )
        if note:
            cats += (
                '<category name="note" instance="0" publishTime="2026-01-01T07:55:00Z" container="400" version="1" expireType="static">'
                f'<note xmlns="http://schemas.microsoft.com/2006/09/sip/note"><body type="personal" uri="">{note}</body></note></category>'
            )
        return cats + "</categories>"

    def presence(self, u: User) -> Iterator[tuple[float, int, bytes]]:
        """Batch SUBSCRIBE to the contacts' presence; the 200 OK carries their state."""
        rng = self.rng
        watched = u.contacts[:10]
        resources = "".join(f'<resource uri="sip:{c}@contoso.com"/>' for c in watched)
        batch = (
            f'<batchSub xmlns="http://schemas.microsoft.com/2006/01/sip/batch-subscribe" uri="{u.uri}" name="">'
            f'<action name="subscribe" id="{rng.randrange(10**7, 10**8)}"><adhocList>{resources}</adhocList>'
            '<categoryList xmlns="http://schemas.microsoft.com/2006/09/sip/categorylist">'
            '<category name="calendarData"/><category name="contactCard"/><category name="note"/><category name="state"/>'
            "</categoryList></action></batchSub>"
        )
        call_id, tag = _hex(rng, 32), _hex(rng, 10)
        u.presence = (call_id, tag, _hex(rng, 32).upper())
        to = f"<{u.uri}>"
        req, branch = self._request(u, "SUBSCRIBE", u.uri, call_id, tag, to, 1, [
            f"Contact: <{u.gruu}>", "Event: presence",
            "Accept: application/msrtc-event-categories+xml, text/xml+msrtc.pidf, application/pidf+xml, application/rlmi+xml, multipart/related",
            "Supported: com.microsoft.autoextend, ms-benotify, ms-piggyback-first-notify, eventlist",
            "Require: adhoclist, categoryList", "Proxy-Require: ms-benotify",
            "Content-Type: application/msrtc-adrl-categorylist+xml",
        ], batch)  # fmt: skip
        yield 0.1, 0, req
        boundary = f"Rlmi-Boundary-{_hex(rng, 8)}"
        parts = [
            f"--{boundary}\r\nContent-Type: application/rlmi+xml\r\n\r\n"
            f'<list xmlns="urn:ietf:params:xml:ns:rlmi" uri="{u.uri}" version="0" fullState="false">'
            + "".join(
                f'<resource uri="sip:{c}@contoso.com"><instance id="{n}" state="active" cid="{c}@contoso.com"/></resource>'
                for n, c in enumerate(watched)
            )
            + "</list>\r\n"
        ]
        for n, c in enumerate(watched):
            parts.append(
                f"--{boundary}\r\nContent-Type: application/msrtc-event-categories+xml\r\n"
                f"Content-ID: <{c}@contoso.com>\r\n\r\n"
                + self._categories(
                    f"sip:{c}@contoso.com",
                    rng.choice((3500, 6500, 9500, 15500)),
                    rng.choice(NOTES),
                    n + 1,
                )  # fmt: skip
                + "\r\n"
            )
        body = "".join(parts) + f"--{boundary}--\r\n"
        yield 0.06, 1, self._reply(
            u, "200 OK", "SUBSCRIBE", call_id, tag, f"{to};tag={u.presence[2]}", 1, branch,
            ["Expires: 36000", "Require: eventlist", "Supported: ms-benotify, ms-piggyback-first-notify",
             f'Content-Type: multipart/related; type="application/rlmi+xml";start=resourceList;boundary={boundary}'],
            body,
        )  # fmt: skip

    def benotify(self, u: User, cseq: int) -> bytes:
        rng = self.rng
        call_id, tag, pool_tag = u.presence
        who = rng.choice(u.contacts) if u.contacts else u.name
        return _msg(
            f"BENOTIFY {u.gruu} SIP/2.0",
            [self._pool_via(_hex(rng, 12)), "Max-Forwards: 70", f"From: <{u.uri}>;tag={pool_tag}",
             f"To: <{u.uri}>;tag={tag};epid={u.epid}", f"Call-ID: {call_id}", f"CSeq: {cseq} BENOTIFY",
             "Event: presence", "Subscription-State: active;expires=36000",
             "Content-Type: application/msrtc-event-categories+xml"],
            self._categories(f"sip:{who}@contoso.com", rng.choice((3500, 6500, 9500, 12500, 15500)),
                             rng.choice(NOTES), cseq),
        )  # fmt: skip

    def notify_contacts(self, u: User, cseq: int) -> Iterator[tuple[float, int, bytes]]:
        rng = self.rng
        call_id, tag = _hex(rng, 32), _hex(rng, 10)
        branch = _hex(rng, 12)
        who = rng.choice(u.contacts) if u.contacts else u.name
        pool_tag = _hex(rng, 32).upper()
        common = [f"From: <{u.uri}>;tag={pool_tag}", f"To: <{u.uri}>;tag={tag};epid={u.epid}",
                  f"Call-ID: {call_id}", f"CSeq: {cseq} NOTIFY"]  # fmt: skip
        yield 0.0, 1, _msg(
            f"NOTIFY {u.gruu} SIP/2.0",
            [self._pool_via(branch), "Max-Forwards: 70", *common,
             "Event: vnd-microsoft-roaming-contacts", "Subscription-State: active;expires=53000",
             "Content-Type: application/vnd-microsoft-roaming-contacts+xml"],
            f'<contactDelta deltaNum="{rng.randrange(900, 2000)}" prevDeltaNum="{rng.randrange(1, 899)}">'
            f'<addedContact uri="sip:{who}@contoso.com" name="" groups="1" subscribed="true"/></contactDelta>',
        )  # fmt: skip
        yield 0.02, 0, _msg(
            "SIP/2.0 200 OK",
            [f"Via: SIP/2.0/{self.transport} {POOL_IP}:{5061 if self.transport == 'TLS' else 5060};branch=z9hG4bK{branch};branched=FALSE",
             *common, self._auth(u)],
        )  # fmt: skip

    def im(
        self, a: User, b: User, legs: tuple[int, int]
    ) -> Iterator[tuple[float, int, int, bytes]]:
        """An IM session from a to b through the pool: (delay, connection, direction, message)."""
        rng = self.rng
        ca, cb = legs
        call_id, tag_a, tag_b = _hex(rng, 32), _hex(rng, 10), _hex(rng, 10)
        first = rng.choice(LINES)
        hello = base64.b64encode(first.encode()).decode()
        sdp = (
            f"v=0\r\no=- 0 0 IN IP4 {a.ip}\r\ns=session\r\nc=IN IP4 {a.ip}\r\nt=0 0\r\n"
            "m=message 5060 sip null\r\na=accept-types:text/plain multipart/alternative image/gif "
            "text/rtf text/html application/x-ms-ink application/ms-imdn+xml text/x-msmsgsinvite\r\n"
        )
        rr = (
            f"Record-Route: <sip:{FE}:{5061 if self.transport == 'TLS' else 5060};transport={self.transport.lower()};"
            f"opaque=state:T:F:Ci.R{_hex(rng, 6)};lr;ms-route-sig={_hex(rng, 26)}>;tag={_hex(rng, 32).upper()}"
        )
        conv = base64.b64encode(rng.randbytes(16)).decode()
        from_a = f'From: "{a.display}" <{a.uri}>;tag={tag_a};epid={a.epid}'
        to_b = f"To: <{b.uri}>"
        to_b_dlg = f"To: <{b.uri}>;tag={tag_b};epid={b.epid}"
        from_b = f'From: "{b.display}" <{b.uri}>;tag={tag_b};epid={b.epid}'
        to_a_dlg = f'To: "{a.display}" <{a.uri}>;tag={tag_a};epid={a.epid}'
        cid = f"Call-ID: {call_id}"

        def request_pair(sender: User, receiver: User, method: str, cseq: int, heads: list[str],
                         extra: list[str], body: str) -> tuple[bytes, bytes, str, str]:  # fmt: skip
            """The request as the sender sends it and as the pool relays it."""
            branch, pbranch = _hex(rng, 12), _hex(rng, 12)
            uri = receiver.gruu if method != "INVITE" else receiver.uri
            via = self._client_via(sender, branch)
            first_line = f"{method} {uri} SIP/2.0"
            common = [*heads, cid, f"CSeq: {cseq} {method}"]
            out = _msg(
                first_line, [via, "Max-Forwards: 70", *common, *extra, self._auth(sender)], body
            )
            relayed = _msg(
                first_line,
                [self._pool_via(pbranch), f"{via};received={sender.ip};ms-received-port={sender.port};ms-received-cid={sender.conn:X}00",
                 "Max-Forwards: 69", *common, *( [rr] if method == "INVITE" else []), *extra,
                 "ms-asserted-verification-level: ms-source-verified-user=verified",
                 f"ms-edge-proxy-message-trust: ms-source-type=InternalUser;ms-ep-fqdn={FE}"],
                body,
            )  # fmt: skip
            return out, relayed, branch, pbranch

        def reply_pair(sender: User, receiver: User, status: str, method: str, cseq: int,
                       heads: list[str], branch: str, pbranch: str, extra: list[str],
                       body: str = "") -> tuple[bytes, bytes]:  # fmt: skip
            """The response as the answering side sends it, and as the pool relays it back."""
            port = 5061 if self.transport == "TLS" else 5060
            vias = [f"Via: SIP/2.0/{self.transport} {POOL_IP}:{port};branch=z9hG4bK{pbranch};branched=FALSE",
                    f"{self._client_via(receiver, branch)};received={receiver.ip};ms-received-port={receiver.port};ms-received-cid={receiver.conn:X}00"]  # fmt: skip
            common = [*heads, cid, f"CSeq: {cseq} {method}"]
            answered = _msg(f"SIP/2.0 {status}", [*vias, *common, *extra], body)
            relayed = _msg(
                f"SIP/2.0 {status}", [vias[1], *common, *extra, self._auth_info(receiver)], body
            )
            return answered, relayed

        # INVITE with the first message embedded, 100 Trying, relayed, 200 OK back, ACK.
        invite_extra = [
            f"Contact: <{a.gruu}>",
            "Supported: ms-dialog-route-set-update, ms-embedded-first-message, ms-delayed-accept, ms-renders-isf, ms-renders-gif, ms-renders-mime-alternative",
            "Supported: timer, histinfo, ms-safe-transfer, ms-sender, ms-early-media",
            "Supported: com.microsoft.rtc-multiparty",
            f"Ms-Conversation-ID: {conv}",
            "ms-keep-alive: UAC;hop-hop=yes",
            f"EndPoints: <{a.uri}>, <{b.uri}>",
            f"ms-subnet: {a.ip.rsplit('.', 1)[0]}.0",
            "ms-endpoint-location-data: NetworkScope;ms-media-location-type=Intranet",
            f"ms-text-format: text/plain; charset=UTF-8;ms-body={hello}",
            "Content-Type: application/sdp",
        ]
        out, relayed, branch, pbranch = request_pair(
            a, b, "INVITE", 1, [from_a, to_b], invite_extra, sdp
        )
        yield 0.0, ca, 0, out
        trying = _msg("SIP/2.0 100 Trying", [f"{self._client_via(a, branch)};received={a.ip};ms-received-port={a.port};ms-received-cid={a.conn:X}00",
                                             from_a, to_b, cid, "CSeq: 1 INVITE"])  # fmt: skip
        yield 0.01, ca, 1, trying
        yield 0.0, cb, 1, relayed
        answered, back = reply_pair(
            b, a, "200 OK", "INVITE", 1, [from_a, to_b_dlg], branch, pbranch,
            [f"Contact: <{b.gruu}>", "Supported: ms-dialog-route-set-update, ms-embedded-first-message",
             f'P-Asserted-Identity: "{b.display}" <{b.uri}>', rr, "Content-Type: application/sdp"],
            sdp.replace(a.ip, b.ip),
        )  # fmt: skip
        yield rng.uniform(0.3, 2.0), cb, 0, answered
        yield 0.01, ca, 1, back
        ack, ack_relayed, _, _ = request_pair(a, b, "ACK", 1, [from_a, to_b_dlg], [], "")
        yield 0.01, ca, 0, ack
        yield 0.005, cb, 1, ack_relayed
        cseq = {a.index: 1, b.index: 0}
        turns = rng.randrange(1, 6)
        for n in range(turns):
            sender, receiver = (b, a) if n % 2 == 0 else (a, b)
            heads = [from_b, to_a_dlg] if sender is b else [from_a, to_b_dlg]
            s_conn, r_conn = (cb, ca) if sender is b else (ca, cb)
            if rng.random() < 0.6:  # typing, then the message
                cseq[sender.index] += 1
                typing = '<?xml version="1.0"?>\r\n<KeyboardActivity><status status="type" /></KeyboardActivity>'
                out, relayed, br, pbr = request_pair(sender, receiver, "INFO", cseq[sender.index], heads,
                                                     ["Content-Type: application/xml"], typing)  # fmt: skip
                yield rng.uniform(0.5, 3.0), s_conn, 0, out
                yield 0.004, r_conn, 1, relayed
                answered, back = reply_pair(
                    receiver, sender, "200 OK", "INFO", cseq[sender.index], heads, br, pbr, []
                )
                yield 0.01, r_conn, 0, answered
                yield 0.004, s_conn, 1, back
            cseq[sender.index] += 1
            text = rng.choice(LINES)
            ctype = "text/html; charset=UTF-8" if "<b>" in text else "text/plain; charset=UTF-8"
            out, relayed, br, pbr = request_pair(sender, receiver, "MESSAGE", cseq[sender.index], heads,
                                                 [f"Content-Type: {ctype}"], text)  # fmt: skip
            yield rng.uniform(0.5, 4.0), s_conn, 0, out
            yield 0.004, r_conn, 1, relayed
            answered, back = reply_pair(
                receiver, sender, "200 OK", "MESSAGE", cseq[sender.index], heads, br, pbr, []
            )
            yield 0.01, r_conn, 0, answered
            yield 0.004, s_conn, 1, back
        cseq[a.index] += 1
        out, relayed, br, pbr = request_pair(a, b, "BYE", cseq[a.index], [from_a, to_b_dlg], [], "")
        yield rng.uniform(1.0, 10.0), ca, 0, out
        yield 0.004, cb, 1, relayed
        answered, back = reply_pair(
            b, a, "200 OK", "BYE", cseq[a.index], [from_a, to_b_dlg], br, pbr, []
        )
        yield 0.01, cb, 0, answered
        yield 0.004, ca, 1, back


# -- the per-user script and the scheduler ---------------------------------------------------


class Scheduler:
    """Runs every user's script in capture-time order: users arrive every ``ARRIVAL_GAP``
    seconds and their scripts interleave; yields (time, kind, conn, direction, payloads)."""

    def __init__(self, traffic: Traffic) -> None:
        self.t = traffic
        self.heap: list[tuple[float, int, _Timed]] = []
        self.order = 0

    def _push(self, script: _Timed) -> None:
        if script.next_time is not None:
            self.order += 1
            heapq.heappush(self.heap, (script.next_time, self.order, script))

    def events(self) -> Iterator[tuple[float, int, int, int, list[bytes]]]:
        """Endless: the consumer stops when it has written enough."""
        arrival = 0.0
        conn = 0
        while True:
            if not self.heap or arrival <= self.heap[0][0]:
                conn += 1
                self._push(_Timed(user_script(self.t, arrival, conn)))
                arrival += ARRIVAL_GAP
                continue
            _, _, script = heapq.heappop(self.heap)
            yield next(script)
            self._push(script)


class _Timed:
    """A script of (absolute time, ...) items that knows the time of its next item."""

    def __init__(self, script: Iterator[tuple[float, int, int, int, list[bytes]]]) -> None:
        self.script = script
        self._pending = next(script, None)
        self.next_time = self._pending[0] if self._pending is not None else None

    def __next__(self) -> tuple[float, int, int, int, list[bytes]]:
        item = self._pending
        assert item is not None
        self._pending = next(self.script, None)
        self.next_time = self._pending[0] if self._pending is not None else None
        return item


def user_script(
    tr: Traffic, t0: float, conn: int
) -> Iterator[tuple[float, int, int, int, list[bytes]]]:
    """One user's life: connect, sign in, subscribe, publish, chat, maybe sign out."""
    rng = tr.rng
    u = tr.new_user(conn)
    now = t0
    yield now, _OPEN, conn, 0, []
    now += 0.01
    if tr.negotiate:
        req, ok = tr.negotiate_pair(u)
        yield now, _DATA, conn, 0, [req]
        now += 0.01
        yield now, _DATA, conn, 1, [ok]
    for delay, direction, msg in tr.signin(u):
        now += delay
        yield now, _DATA, conn, direction, [msg]
    if not u.registered:
        now += 0.05
        yield now, _CLOSE, conn, 0, []
        return
    for delay, direction, msg in tr.subscriptions(u):
        now += delay
        yield now, _DATA, conn, direction, [msg]
    now += 0.1
    for delay, direction, msg in tr.publish(u, 3500):
        now += delay
        yield now, _DATA, conn, direction, [msg]
    for delay, direction, msg in tr.presence(u):
        now += delay
        yield now, _DATA, conn, direction, [msg]
    stays = rng.random() < 0.67
    if stays:
        tr.stayers.append(u)
    # Ten minutes of life: presence updates, contact list changes, keep-alives, maybe an IM.
    end = now + 600.0
    cseq = 1
    chat_at = now + rng.uniform(5.0, 500.0) if rng.random() < 0.5 and len(tr.stayers) > 5 else None
    next_keepalive = now + 30.0
    while now < end:
        now += rng.expovariate(1 / 45.0)
        while next_keepalive < now:
            yield next_keepalive, _KEEPALIVE, conn, 0, [b"\r\n\r\n"]
            next_keepalive += 30.0
        if chat_at is not None and now >= chat_at:
            partner = rng.choice([p for p in tr.stayers[-200:] if p is not u])
            for delay, c, direction, msg in tr.im(u, partner, (conn, partner.conn)):
                now += delay
                yield now, _DATA, c, direction, [msg]
            chat_at = None
            continue
        roll = rng.random()
        if roll < 0.6:
            burst = 1 + (rng.random() < 0.25) * rng.randrange(1, 4)
            yield now, _DATA, conn, 1, [tr.benotify(u, cseq + i) for i in range(burst)]
            cseq += burst
        elif roll < 0.8:
            cseq += 1
            for delay, direction, msg in tr.notify_contacts(u, cseq):
                now += delay
                yield now, _DATA, conn, direction, [msg]
        else:
            for delay, direction, msg in tr.publish(u, rng.choice((3500, 6500, 15500))):
                now += delay
                yield now, _DATA, conn, direction, [msg]
    if not stays:
        for delay, direction, msg in tr.signout(u):
            now += delay
            yield now, _DATA, conn, direction, [msg]
        yield now + 0.05, _CLOSE, conn, 0, []
    else:  # stays connected, silent: the writer may forget its state (no IM picks it now)
        yield now, _IDLE, conn, 0, []


# -- wire: TCP/IP frames, TLS, MS-SIPCOMP ---------------------------------------------------------


def _checksum(data: bytes) -> int:
    if len(data) & 1:
        data += b"\x00"
    s = sum(array("H", data))
    s = (s & 0xFFFF) + (s >> 16)
    s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def _ip4(text: str) -> bytes:
    return bytes(int(x) for x in text.split("."))


class PcapWriter:
    """Classic pcap (Ethernet, microseconds), one TCP connection per user, written as it goes."""

    ETH = b"\x00\x15\x5d\x0a\x0b\x0c\x00\x15\x5d\x01\x02\x03\x08\x00"

    def __init__(self, fh: BinaryIO) -> None:
        self.fh = fh
        self.frames = 0
        self.ident = 0
        fh.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))

    def segment(self, ts: float, src: tuple[bytes, int], dst: tuple[bytes, int], seq: int,
                ack: int, flags: int, payload: bytes) -> None:  # fmt: skip
        self.ident = (self.ident + 1) & 0xFFFF
        tcp = struct.pack("!HHIIBBHHH", src[1], dst[1], seq & 0xFFFFFFFF, ack & 0xFFFFFFFF,
                          0x50, flags, 65535, 0, 0) + payload  # fmt: skip
        pseudo = src[0] + dst[0] + struct.pack("!BBH", 0, 6, len(tcp))
        csum = _checksum(pseudo + tcp)
        tcp = tcp[:16] + struct.pack("=H", csum) + tcp[18:]
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), self.ident, 0x4000, 128, 6, 0,
                         src[0], dst[0])  # fmt: skip
        ip = ip[:10] + struct.pack("=H", _checksum(ip)) + ip[12:]
        frame = self.ETH + ip + tcp
        sec = int(ts)
        usec = int(round((ts - sec) * 1e6))
        if usec >= 1_000_000:
            sec, usec = sec + 1, usec - 1_000_000
        self.fh.write(struct.pack("<IIII", sec, usec, len(frame), len(frame)) + frame)
        self.frames += 1


class Connection:
    """Both ends of one TCP connection (direction 0 = client → pool) and its inner layers."""

    def __init__(
        self, writer: PcapWriter, client: tuple[str, int], server: tuple[str, int], isn: int
    ) -> None:
        self.w = writer
        self.ends = ((_ip4(client[0]), client[1]), (_ip4(server[0]), server[1]))
        self.seq = [isn, isn ^ 0x5A5A5A5A]
        self.tls: _TlsPair | None = None
        self.encoders: tuple[object, object] | None = None

    def handshake(self, ts: float) -> None:
        c, s = self.ends
        self.w.segment(ts, c, s, self.seq[0], 0, 0x02, b"")
        self.w.segment(ts + 0.0003, s, c, self.seq[1], self.seq[0] + 1, 0x12, b"")
        self.seq[0] += 1
        self.seq[1] += 1
        self.w.segment(ts + 0.0006, c, s, self.seq[0], self.seq[1], 0x10, b"")

    def send(self, ts: float, direction: int, data: bytes) -> None:
        src, dst = self.ends[direction], self.ends[1 - direction]
        ack = self.seq[1 - direction]
        for i in range(0, len(data), MSS):
            piece = data[i : i + MSS]
            self.w.segment(ts, src, dst, self.seq[direction], ack, 0x18, piece)
            self.seq[direction] += len(piece)
            ts += 0.00001

    def close(self, ts: float) -> None:
        c, s = self.ends
        self.w.segment(ts, c, s, self.seq[0], self.seq[1], 0x11, b"")
        self.w.segment(ts + 0.0003, s, c, self.seq[1], self.seq[0] + 1, 0x11, b"")
        self.seq[0] += 1
        self.seq[1] += 1
        self.w.segment(ts + 0.0006, c, s, self.seq[0], self.seq[1], 0x10, b"")


class _TlsPair:
    """A TLS 1.3 client and server (Python's ssl over memory BIOs) for one connection."""

    def __init__(self, contexts: tuple[object, object]) -> None:
        import ssl

        client_ctx, server_ctx = contexts
        self.bios = [ssl.MemoryBIO() for _ in range(4)]  # c_in, c_out, s_in, s_out
        c_in, c_out, s_in, s_out = self.bios
        self.client = client_ctx.wrap_bio(c_in, c_out, server_hostname=POOL)  # type: ignore[attr-defined]
        self.server = server_ctx.wrap_bio(s_in, s_out, server_side=True)  # type: ignore[attr-defined]

    def _flights(self) -> list[tuple[int, bytes]]:
        c_in, c_out, s_in, s_out = self.bios
        out = []
        for direction, src, dst in ((0, c_out, s_in), (1, s_out, c_in)):
            data = src.read()
            if data:
                out.append((direction, data))
                dst.write(data)
        return out

    def handshake(self) -> list[tuple[int, bytes]]:
        import ssl

        chunks: list[tuple[int, bytes]] = []
        done = [False, False]
        for _ in range(20):
            for index, side in enumerate((self.client, self.server)):
                if not done[index]:
                    try:
                        side.do_handshake()
                        done[index] = True
                    except ssl.SSLWantReadError:
                        pass
                chunks.extend(self._flights())
            if all(done):
                break
        return chunks

    def write(self, direction: int, payloads: list[bytes]) -> list[tuple[int, bytes]]:
        """Wire bytes for these messages (one record each), and whatever the peer answers."""
        import ssl

        writer, reader = (
            (self.client, self.server) if direction == 0 else (self.server, self.client)
        )
        for p in payloads:
            writer.write(p)
        chunks = self._flights()
        try:
            while reader.read(1 << 16):
                pass
        except ssl.SSLWantReadError:
            pass
        chunks.extend(self._flights())  # e.g. TLS 1.3 session tickets after the first read
        return chunks


def _tls_contexts(folder: Path, keylog: Path) -> tuple[object, object]:
    import datetime as dt
    import ssl

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.x509.oid import NameOID
    from scenario_tls import SAMPLE_SERVER_KEY

    key = serialization.load_pem_private_key(SAMPLE_SERVER_KEY.encode(), password=None)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, POOL)])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())  # type: ignore[arg-type]
        .serial_number(0x51B)
        .not_valid_before(dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc))
        .not_valid_after(dt.datetime(2028, 1, 1, tzinfo=dt.timezone.utc))
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName(POOL), x509.DNSName("sip.contoso.com")]),
            critical=False,
        )
        .sign(key, hashes.SHA256())  # type: ignore[arg-type]
    )
    cert_path, key_path = folder / "bulk-server.crt", folder / "bulk-server.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(SAMPLE_SERVER_KEY.encode())
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(cert_path, key_path)
    client = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    client.check_hostname = False
    client.verify_mode = ssl.CERT_NONE
    for ctx in (server, client):
        ctx.minimum_version = ssl.TLSVersion.TLSv1_3
        ctx.maximum_version = ssl.TLSVersion.TLSv1_3
    keylog.write_bytes(b"")
    client.keylog_filename = str(keylog)
    return client, server


def build(path: Path, variant: str = "plain", messages: int = DEFAULT_MESSAGES) -> Counts:
    """Write the ``variant`` capture to ``path`` (the TLS key log beside it, ``.keys``)."""
    if variant not in VARIANTS:
        raise ValueError(f"unknown variant {variant!r}: one of {', '.join(VARIANTS)}")
    from lyncdump.sipcomp.stream import SipcompStreamEncoder

    traffic = Traffic("TLS" if variant == "tls" else "TCP", negotiate=variant == "sipcomp")
    port = 5061 if variant == "tls" else 5060
    counts = Counts()
    contexts = None
    tmp = None
    if variant == "tls":
        tmp = tempfile.TemporaryDirectory()
        contexts = _tls_contexts(Path(tmp.name), path.with_suffix(".keys"))
    conns: dict[int, Connection] = {}
    with open(path, "wb", buffering=1 << 20) as fh:
        writer = PcapWriter(fh)
        for ts, kind, conn_id, direction, payloads in Scheduler(traffic).events():
            ts += START
            if kind == _OPEN:
                u = traffic.by_conn[conn_id]
                conn = conns[conn_id] = Connection(
                    writer, (u.ip, u.port), (POOL_IP, port), 0x10000000 + 7919 * conn_id
                )
                conn.handshake(ts)
                counts.connections += 1
                if contexts is not None:
                    conn.tls = _TlsPair(contexts)
                    for i, (d, data) in enumerate(conn.tls.handshake()):
                        conn.send(ts + 0.001 + 0.001 * i, d, data)
                continue
            conn = conns[conn_id]
            if kind == _CLOSE:
                conn.close(ts)
                del conns[conn_id]
                continue
            if kind == _IDLE:
                del conns[conn_id]
                continue
            if kind == _DATA:
                room = messages - counts.messages
                if room <= 0:
                    break
                payloads = payloads[:room]
                for p in payloads:
                    counts.messages += 1
                    counts.plain_bytes += len(p)
                    start = p[: p.index(b" ")].decode()
                    if start == "SIP/2.0":
                        counts.responses += 1
                    else:
                        counts.requests += 1
                        counts.methods[start] = counts.methods.get(start, 0) + 1
                if variant == "sipcomp" and (
                    conn.encoders is not None
                    or payloads[0].startswith(b"SIP/2.0 200 OK\r\nCompression")
                ):
                    if conn.encoders is None:  # the 200 OK to NEGOTIATE goes in clear
                        conn.send(ts, direction, payloads[0])
                        conn.encoders = (SipcompStreamEncoder(), SipcompStreamEncoder())
                        payloads = payloads[1:]
                        if not payloads:
                            continue
                    encoder = conn.encoders[direction]
                    payloads = [b"".join(encoder.encode(p) for p in payloads)]  # type: ignore[attr-defined]
            if conn.tls is not None:
                for i, (d, data) in enumerate(conn.tls.write(direction, payloads)):
                    conn.send(ts + 0.0001 * i, d, data)
            else:
                conn.send(ts, direction, b"".join(payloads))
        counts.frames = writer.frames
    counts.users = len(traffic.users)
    if tmp is not None:
        tmp.cleanup()
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="folder to write bulk-<variant>.pcap into")
    parser.add_argument("--messages", type=int, default=DEFAULT_MESSAGES)
    parser.add_argument(
        "--variants", default=",".join(VARIANTS), help="comma-separated: plain,tls,sipcomp"
    )
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    for variant in args.variants.split(","):
        started = time.perf_counter()
        path = args.out / f"bulk-{variant}.pcap"
        counts = build(path, variant, args.messages)
        print(
            f"{path}: {counts.messages} SIP messages ({counts.requests} requests, {counts.responses} "
            f"responses), {counts.users} users, {counts.connections} TCP connections, "
            f"{counts.frames} frames, {path.stat().st_size / 1e6:.1f} MB, "
            f"made in {time.perf_counter() - started:.1f} s"
        )


if __name__ == "__main__":
    main()
