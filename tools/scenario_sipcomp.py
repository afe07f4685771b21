"""Sample captures of MS-SIPCOMP ("LZ77-8K") compressed SIP, made with our own compressor.

A Lync client opens TCP to its pool, negotiates compression with NEGOTIATE / 200 OK, then signs in
(REGISTER with two NTLM challenges), subscribes, publishes presence, places an IM conversation
and a call — enough traffic, in both directions, to wrap the 8 KB history several times. The
second capture is the same traffic with its beginning cut off, as when a capture starts in the
middle of a connection: the history is unknown until the next FLUSHED or second AT_FRONT packet.
"""

from __future__ import annotations

import base64

from pcapgen import Builder, sip

from lyncdump.sipcomp.mppc import PACKET_FLUSHED
from lyncdump.sipcomp.stream import SipcompStreamEncoder, encode_packet

CLIENT = ("192.168.1.50", 51000)
POOL = ("10.0.0.10", 5061)
VIA = "Via: SIP/2.0/TLS 192.168.1.50:51000;branch=z9hG4bK"
FROM = "From: <sip:alice@contoso.com>;tag={tag};epid=01010101c7"

#: frames of the full capture dropped to make the mid-connection copy
MIDSTREAM_CUT = 60


def _request(
    method: str,
    uri: str,
    call_id: str,
    cseq: int,
    branch: str,
    extra: str = "",
    body: str = "",
    to: str = "<sip:alice@contoso.com>",
    tag: str = "c1",
) -> bytes:
    lines = [
        f"{method} {uri} SIP/2.0",
        f"{VIA}{branch}",
        "Max-Forwards: 70",
        FROM.format(tag=tag),
        f"To: {to}",
        f"Call-ID: {call_id}",
        f"CSeq: {cseq} {method}",
        "User-Agent: UCCAPI/16.0.4266.1001 OC/16.0.4266.1001 (Skype for Business)",
    ]
    if extra:
        lines.extend(extra.strip("\n").split("\n"))
    text = "\n".join(lines) + "\nContent-Length: auto\n"
    if body:
        text += "\n" + body
    return sip(text)


def _response(
    status: str, request: bytes, extra: str = "", body: str = "", to_tag: str = "S1"
) -> bytes:
    """A response built from the request's Via/From/To/Call-ID/CSeq lines."""
    keep = {}
    for line in request.decode().split("\r\n")[1:]:
        name = line.split(":", 1)[0].lower()
        if name in ("via", "from", "to", "call-id", "cseq") and name not in keep:
            keep[name] = line
    to_line = keep["to"] if ";tag=" in keep["to"] else keep["to"] + f";tag={to_tag}"
    lines = [
        f"SIP/2.0 {status}",
        keep["via"] + ";received=192.168.1.50;ms-received-port=51000;ms-received-cid=2C00",
        keep["from"],
        to_line,
        keep["call-id"],
        keep["cseq"],
        "Server: RTC/6.0",
    ]
    if extra:
        lines.extend(extra.strip("\n").split("\n"))
    text = "\n".join(lines) + "\nContent-Length: auto\n"
    if body:
        text += "\n" + body
    return sip(text)


def _blob(seed: bytes, size: int) -> str:
    """Deterministic bytes that do not compress, base64-encoded (a photo, a certificate...)."""
    import hashlib

    raw = b"".join(
        hashlib.sha256(seed + i.to_bytes(4, "big")).digest() for i in range(size // 32 + 1)
    )
    return base64.b64encode(raw[:size]).decode()


def _presence_body(n: int) -> str:
    return (
        '<publish xmlns="http://schemas.microsoft.com/2006/09/sip/rich-presence"><publications '
        'uri="sip:alice@contoso.com"><publication categoryName="state" instance="0" container="2" '
        f'version="{n}" expireType="endpoint"><state xmlns="http://schemas.microsoft.com/2006/09/'
        'sip/state" manual="false" xsi:type="machineState" xmlns:xsi="http://www.w3.org/2001/'
        f'XMLSchema-instance"><availability>{3500 + 1000 * (n % 4)}</availability><endpointLocation>'
        f"Building {n % 7}</endpointLocation></state></publication><publication categoryName="
        f'"note" instance="0" container="400" version="{n}" expireType="static"><note xmlns="'
        'http://schemas.microsoft.com/2006/09/sip/note"><body type="personal" uri="">Working on '
        f"release {n}.{n * 7 % 10}</body></note></publication></publications></publish>"
    )


def conversation() -> list[tuple[int, bytes]]:
    """The clear SIP messages after NEGOTIATE: (direction, bytes), direction 0 = client."""
    out: list[tuple[int, bytes]] = []
    reg_call = "7d2c4f10a3b94e0c8e1f5a6b7c8d9e0f"
    challenge = base64.b64encode(b"NTLMSSP\x00\x02\x00\x00\x00" + bytes(range(48))).decode()
    for cseq in (1, 2, 3):
        auth = 'Authorization: NTLM qop="auth", realm="SIP Communications Service", targetname="fe01.contoso.com", version=4, gssapi-data=""'
        if cseq > 1:
            answer = base64.b64encode(
                b"NTLMSSP\x00\x03\x00\x00\x00" + bytes(range(cseq, cseq + 64))
            ).decode()
            auth = f'Authorization: NTLM qop="auth", realm="SIP Communications Service", opaque="6A1C8E0F", targetname="fe01.contoso.com", version=4, gssapi-data="{answer}"'
        req = _request(
            "REGISTER",
            "sip:contoso.com",
            reg_call,
            cseq,
            f"reg{cseq}",
            extra=(
                'Contact: <sip:192.168.1.50:51000;transport=tls;ms-opaque=d3470f2e1d>;methods="INVITE, '
                'MESSAGE, INFO, SUBSCRIBE, OPTIONS, BYE, CANCEL, NOTIFY, ACK, REFER, BENOTIFY";proxy=replace;'
                '+sip.instance="<urn:uuid:47ab9ed0-c50a-5dfb-9760-41ab18d0ac14>"\n'
                "Supported: gruu-10, adhoclist, msrtc-event-categories, com.microsoft.msrtc.presence\n"
                f"Event: registration\n{auth}"
            ),
        )
        out.append((0, req))
        if cseq < 3:
            resp = _response(
                "401 Unauthorized",
                req,
                extra=f'WWW-Authenticate: NTLM opaque="6A1C8E0F", gssapi-data="{challenge}", targetname="fe01.contoso.com", realm="SIP Communications Service", version=4\n'
                'WWW-Authenticate: Kerberos realm="SIP Communications Service", targetname="sip/fe01.contoso.com", version=4',
                to_tag="R1",
            )
        else:
            resp = _response(
                "200 OK",
                req,
                extra="Expires: 7200\nms-user-logon-data: RemoteUser\n"
                'Authentication-Info: NTLM rspauth="0100000000000000A2B3C4D5E6F70819", srand="3F8E2A1B", snum="1", opaque="6A1C8E0F", qop="auth", targetname="fe01.contoso.com", realm="SIP Communications Service"',
                to_tag="R1",
            )
        out.append((1, resp))
    for n, event in enumerate(
        (
            "vnd-microsoft-roaming-self",
            "vnd-microsoft-roaming-contacts",
            "vnd-microsoft-provisioning-v2",
            "presence",
        )
    ):
        req = _request(
            "SUBSCRIBE",
            "sip:alice@contoso.com",
            f"sub{n}-5f8d4e7a9c2d1f0e",
            1,
            f"sub{n}",
            extra=f"Event: {event}\nAccept: application/vnd-microsoft-roaming-self+xml\nSupported: com.microsoft.autoextend, ms-benotify",
            tag=f"s{n}",
        )
        out.append((0, req))
        contacts = "".join(
            f'<contact uri="sip:user{i}@contoso.com" name="User {i}" groups="1 2" subscribed="true"/>'
            for i in range(12 + 6 * n)
        )
        out.append(
            (
                1,
                _response(
                    "200 OK",
                    req,
                    extra="Expires: 53438\nContent-Type: application/vnd-microsoft-roaming-contacts+xml",
                    body=f'<contactList deltaNum="{n + 1}">{contacts}</contactList>',
                ),
            )
        )
    for n in range(6):
        req = _request(
            "SERVICE",
            "sip:alice@contoso.com",
            f"svc{n}-9a8b7c6d5e4f3021",
            1,
            f"svc{n}",
            extra="Content-Type: application/msrtc-category-publish+xml",
            body=_presence_body(n),
            tag=f"v{n}",
        )
        out.append((0, req))
        out.append((1, _response("200 OK", req)))
    im_call = "im-5d6e7f8091a2b3c4d5e6f708192a3b4c"
    to_bob = "<sip:bob@contoso.com>"
    hello = base64.b64encode(b"hello, is the build green?").decode()
    invite = _request(
        "INVITE",
        "sip:bob@contoso.com",
        im_call,
        1,
        "inv1",
        to=to_bob,
        tag="im1",
        extra=f"Supported: ms-embedded-first-message, ms-delayed-accept\nms-text-format: text/plain; charset=UTF-8; ms-body={hello}\nContent-Type: application/sdp",
        body="v=0\no=- 0 0 IN IP4 192.168.1.50\ns=session\nc=IN IP4 192.168.1.50\nt=0 0\nm=message 5060 sip null\na=accept-types:text/plain text/html\n",
    )
    out.append((0, invite))
    out.append((1, _response("100 Trying", invite)))
    out.append(
        (
            1,
            _response(
                "200 OK",
                invite,
                to_tag="B1",
                extra="Content-Type: application/sdp",
                body="v=0\no=- 0 0 IN IP4 192.168.1.77\ns=session\nc=IN IP4 192.168.1.77\nt=0 0\nm=message 5060 sip null\n",
            ),
        )
    )
    dialog_to = to_bob + ";tag=B1"
    out.append(
        (0, _request("ACK", "sip:bob@contoso.com", im_call, 1, "ack1", to=dialog_to, tag="im1"))
    )
    lines = [
        "yes, all green since this morning",
        "great: can you tag 16.0.4266 then?",
        "done, release notes are on the wiki",
        "thanks! I will tell the pilot group",
    ]
    for n in range(60):
        text = f"{lines[n % 4]} ({n + 1})"
        req = _request(
            "MESSAGE",
            "sip:bob@contoso.com",
            im_call,
            n + 2,
            f"msg{n}",
            to=dialog_to,
            tag="im1",
            extra="Content-Type: text/plain; charset=UTF-8",
            body=text,
        )
        out.append((0, req))
        out.append((1, _response("200 OK", req)))
        if n == 40:
            # A contact photo: incompressible, so it travels FLUSHED (raw) and resets history.
            photo = _blob(b"photo", 1800)
            req = _request(
                "SERVICE",
                "sip:alice@contoso.com",
                "svc-photo-1f2e3d4c",
                1,
                "svcp",
                tag="vp",
                extra="Content-Type: application/msrtc-category-publish+xml",
                body=f'<publish><publication categoryName="contactCard"><photo encoding="base64">{photo}</photo></publication></publish>',
            )
            out.append((0, req))
            out.append((1, _response("200 OK", req)))
        if n == 45:
            photo = _blob(b"server-photo", 1800)
            out.append(
                (
                    1,
                    sip(
                        "BENOTIFY sip:192.168.1.50:51000;transport=tls;ms-opaque=d3470f2e1d SIP/2.0\n"
                        "Via: SIP/2.0/TLS 10.0.0.10:5061;branch=z9hG4bKbnphoto\nMax-Forwards: 70\n"
                        "From: <sip:bob@contoso.com>;tag=PB\nTo: <sip:alice@contoso.com>;tag=s3;epid=01010101c7\n"
                        "Call-ID: sub3-5f8d4e7a9c2d1f0e\nCSeq: 99 BENOTIFY\nEvent: presence\n"
                        "Content-Type: application/msrtc-event-categories+xml\n"
                        f'Content-Length: auto\n\n<categories uri="sip:bob@contoso.com"><photo>{photo}</photo></categories>'
                    ),
                )
            )
    bye = _request("BYE", "sip:bob@contoso.com", im_call, 70, "bye1", to=dialog_to, tag="im1")
    out.append((0, bye))
    out.append((1, _response("200 OK", bye)))
    # The server pushes presence updates for contacts.
    for n in range(30):
        body = "".join(
            f'<category name="state" instance="0" publishTime="2026-01-01T00:{n:02d}:00Z"><state availability="{3500 + 1000 * ((n + i) % 5)}"/></category>'
            for i in range(5)
        )
        out.append(
            (
                1,
                sip(
                    f"BENOTIFY sip:192.168.1.50:51000;transport=tls;ms-opaque=d3470f2e1d SIP/2.0\n"
                    f"Via: SIP/2.0/TLS 10.0.0.10:5061;branch=z9hG4bKbn{n}\nMax-Forwards: 70\n"
                    f"From: <sip:user{n}@contoso.com>;tag=P{n}\nTo: <sip:alice@contoso.com>;tag=s3;epid=01010101c7\n"
                    f"Call-ID: sub3-5f8d4e7a9c2d1f0e\nCSeq: {n + 2} BENOTIFY\nEvent: presence\n"
                    "Subscription-State: active;expires=3600\nContent-Type: application/msrtc-event-categories+xml\n"
                    f'Content-Length: auto\n\n<categories uri="sip:user{n}@contoso.com">{body}</categories>'
                ),
            )
        )
    return out


def compressed() -> Builder:
    b = Builder()
    conn = b.tcp(CLIENT, POOL, isn=(0x10000000, 0x20000000))
    conn.handshake(0.0)
    negotiate = sip("""NEGOTIATE sip:10.0.0.10:5061 SIP/2.0
Via: SIP/2.0/TLS 192.168.1.50:51000
Max-Forwards: 0
From: <sip:192.168.1.50:51000>;tag=984721fb59b64e45b469c91aba8a9f8f
To: <sip:10.0.0.10:5061>
Call-ID: 8d8b20f87c9c4221a732f3a70f57e9b8
CSeq: 1 NEGOTIATE
Compression: LZ77-8K
Content-Length: 0
""")
    conn.send(0.010, 0, negotiate)
    conn.send(
        0.020,
        1,
        sip("""SIP/2.0 200 OK
Compression: LZ77-8K
From: <sip:192.168.1.50:51000>;tag=984721fb59b64e45b469c91aba8a9f8f
To: <sip:10.0.0.10:5061>;tag=D76F601D7239923FBE84D78BF8821C85
Call-ID: 8d8b20f87c9c4221a732f3a70f57e9b8
CSeq: 1 NEGOTIATE
Via: SIP/2.0/TLS 192.168.1.50:51000;ms-received-port=51000;ms-received-cid=545400
Content-Length: 0
"""),
    )
    encoders = (SipcompStreamEncoder(), SipcompStreamEncoder())
    t = 0.1
    pending: list[bytes] = []
    for index, (direction, message) in enumerate(conversation()):
        if b"<photo" in message:
            # A sender may always choose FLUSHED (raw, history reset); ours does for the photos,
            # which is what lets a mid-connection capture become exact again.
            encoders[direction].compressor.reset()
            packet = encode_packet(PACKET_FLUSHED, message, len(message))
        else:
            packet = encoders[direction].encode(message)
        if index % 9 == 4 and len(packet) > 40:
            conn.send(t, direction, packet, cuts=(len(packet) // 3, 2 * len(packet) // 3))
        elif index % 11 == 7 and direction == 1:
            pending.append(packet)  # two responses leave in one segment
            continue
        else:
            conn.send(t, direction, b"".join(pending) + packet if direction == 1 else packet)
            if direction == 1:
                pending.clear()
        t += 0.05
    if pending:
        conn.send(t, 1, b"".join(pending))
    conn.close(t + 1.0)
    return b


def compressed_midstream() -> Builder:
    full = compressed()
    cut = Builder(start=full.start)
    cut.frames = full.frames[MIDSTREAM_CUT:]
    return cut


SAMPLES = {
    "lync-compressed-tcp.pcap": compressed,
    "lync-compressed-midstream.pcap": compressed_midstream,
}
