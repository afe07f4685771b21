"""Write the sample captures in captures/ (deterministic: same bytes on every run).

    python tools/make_captures.py [NAME...]  # writes captures/*.pcap[ng] (all, or those named)
    python tools/update_expected.py          # then refreshes the expected outputs beside them

Each scenario is plain SIP text below, so a reader can see exactly what a capture holds.
"""

from __future__ import annotations

import base64
import struct
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from pcapgen import Builder, sip  # noqa: E402

CAPTURES = Path(__file__).resolve().parent.parent / "captures"

ALICE = "192.168.1.50"
BOB = "192.168.1.77"
PROXY = "10.0.0.10"


# --------------------------------------------------------------------------------------------
# 1. Plain SIP over UDP: registration with digest, a call, a cancelled call, IM, presence.
# --------------------------------------------------------------------------------------------
def udp_call() -> Builder:
    b = Builder()
    a, p, bob = (ALICE, 5060), (PROXY, 5060), (BOB, 5060)

    def send(t: float, src: tuple[str, int], dst: tuple[str, int], text: str) -> None:
        b.udp(t, src[0], src[1], dst[0], dst[1], sip(text))

    via_a = "Via: SIP/2.0/UDP 192.168.1.50:5060;branch=z9hG4bK"
    send(
        0.000,
        a,
        p,
        f"""REGISTER sip:example.com SIP/2.0
{via_a}reg1;rport
Max-Forwards: 70
From: "Alice" <sip:alice@example.com>;tag=a73kszlfl
To: <sip:alice@example.com>
Call-ID: reg-1@192.168.1.50
CSeq: 1 REGISTER
Contact: <sip:alice@192.168.1.50:5060>
Expires: 3600
User-Agent: lyncdump-sample/1.0
Content-Length: 0
""",
    )
    send(
        0.012,
        p,
        a,
        f"""SIP/2.0 401 Unauthorized
{via_a}reg1;rport=5060;received=192.168.1.50
From: "Alice" <sip:alice@example.com>;tag=a73kszlfl
To: <sip:alice@example.com>;tag=srv-91
Call-ID: reg-1@192.168.1.50
CSeq: 1 REGISTER
WWW-Authenticate: Digest realm="example.com", nonce="ea9c8e88df84f1cec4341ae6cbe5a359", algorithm=MD5, qop="auth"
Content-Length: 0
""",
    )
    send(
        0.030,
        a,
        p,
        f"""REGISTER sip:example.com SIP/2.0
{via_a}reg2;rport
Max-Forwards: 70
From: "Alice" <sip:alice@example.com>;tag=a73kszlfl
To: <sip:alice@example.com>
Call-ID: reg-1@192.168.1.50
CSeq: 2 REGISTER
Contact: <sip:alice@192.168.1.50:5060>
Expires: 3600
Authorization: Digest username="alice", realm="example.com", nonce="ea9c8e88df84f1cec4341ae6cbe5a359", uri="sip:example.com", response="bf57e4e0d0bffc0fbaedce64d59add5e", algorithm=MD5, qop=auth, nc=00000001, cnonce="0a4f113b"
User-Agent: lyncdump-sample/1.0
Content-Length: 0
""",
    )
    send(
        0.041,
        p,
        a,
        f"""SIP/2.0 200 OK
{via_a}reg2;rport=5060;received=192.168.1.50
From: "Alice" <sip:alice@example.com>;tag=a73kszlfl
To: <sip:alice@example.com>;tag=srv-91
Call-ID: reg-1@192.168.1.50
CSeq: 2 REGISTER
Contact: <sip:alice@192.168.1.50:5060>;expires=3600
Content-Length: 0
""",
    )

    sdp_offer = """v=0
o=alice 2890844526 2890844526 IN IP4 192.168.1.50
s=-
c=IN IP4 192.168.1.50
t=0 0
m=audio 49170 RTP/AVP 0 8 101
a=rtpmap:0 PCMU/8000
a=rtpmap:8 PCMA/8000
a=rtpmap:101 telephone-event/8000
"""
    sdp_answer = """v=0
o=bob 2808844564 2808844564 IN IP4 192.168.1.77
s=-
c=IN IP4 192.168.1.77
t=0 0
m=audio 3456 RTP/AVP 0 101
a=rtpmap:0 PCMU/8000
a=rtpmap:101 telephone-event/8000
"""
    invite = f"""INVITE sip:bob@example.com SIP/2.0
{via_a}inv1
Max-Forwards: 70
From: "Alice" <sip:alice@example.com>;tag=1928301774
To: "Bob" <sip:bob@example.com>
Call-ID: call-1@192.168.1.50
CSeq: 314159 INVITE
Contact: <sip:alice@192.168.1.50:5060>
Content-Type: application/sdp
Content-Length: auto

{sdp_offer}"""
    send(1.000, a, p, invite)
    send(1.500, a, p, invite)  # retransmission: the 100 Trying was slow
    dialog = 'From: "Alice" <sip:alice@example.com>;tag=1928301774\nTo: "Bob" <sip:bob@example.com>;tag=a6c85cf\nCall-ID: call-1@192.168.1.50'
    send(
        1.510,
        p,
        a,
        f"""SIP/2.0 100 Trying
{via_a}inv1
From: "Alice" <sip:alice@example.com>;tag=1928301774
To: "Bob" <sip:bob@example.com>
Call-ID: call-1@192.168.1.50
CSeq: 314159 INVITE
Content-Length: 0
""",
    )
    send(
        1.800,
        p,
        a,
        f"""SIP/2.0 180 Ringing
{via_a}inv1
{dialog}
CSeq: 314159 INVITE
Contact: <sip:bob@192.168.1.77:5060>
Content-Length: 0
""",
    )
    send(
        4.200,
        p,
        a,
        f"""SIP/2.0 200 OK
{via_a}inv1
{dialog}
CSeq: 314159 INVITE
Contact: <sip:bob@192.168.1.77:5060>
Content-Type: application/sdp
Content-Length: auto

{sdp_answer}""",
    )
    send(
        4.210,
        a,
        p,
        f"""ACK sip:bob@192.168.1.77:5060 SIP/2.0
{via_a}ack1
Max-Forwards: 70
{dialog}
CSeq: 314159 ACK
Content-Length: 0
""",
    )
    # A little RTP each way: counted, not decoded (media comes with its own issue).
    for i in range(50):
        t = 4.25 + i * 0.02
        rtp = struct.pack("!BBHII", 0x80, 0, 1000 + i, 160 * i, 0x11223344) + b"\xff" * 160
        b.udp(t, ALICE, 49170, BOB, 3456, rtp)
        rtp = struct.pack("!BBHII", 0x80, 0, 5000 + i, 160 * i, 0x55667788) + b"\xd5" * 160
        b.udp(t + 0.005, BOB, 3456, ALICE, 49170, rtp)
    send(
        6.000,
        bob,
        a,
        """BYE sip:alice@192.168.1.50:5060 SIP/2.0
Via: SIP/2.0/UDP 192.168.1.77:5060;branch=z9hG4bKbye1
Max-Forwards: 70
From: "Bob" <sip:bob@example.com>;tag=a6c85cf
To: "Alice" <sip:alice@example.com>;tag=1928301774
Call-ID: call-1@192.168.1.50
CSeq: 231 BYE
Content-Length: 0
""",
    )
    send(
        6.005,
        a,
        bob,
        """SIP/2.0 200 OK
Via: SIP/2.0/UDP 192.168.1.77:5060;branch=z9hG4bKbye1
From: "Bob" <sip:bob@example.com>;tag=a6c85cf
To: "Alice" <sip:alice@example.com>;tag=1928301774
Call-ID: call-1@192.168.1.50
CSeq: 231 BYE
Content-Length: 0
""",
    )

    # A call cancelled while ringing.
    head = """Call-ID: call-2@192.168.1.50
From: "Alice" <sip:alice@example.com>;tag=887s
To: <sip:carol@example.com>"""
    send(
        7.000,
        a,
        p,
        f"""INVITE sip:carol@example.com SIP/2.0
{via_a}inv2
Max-Forwards: 70
{head}
CSeq: 1 INVITE
Contact: <sip:alice@192.168.1.50:5060>
Content-Type: application/sdp
Content-Length: auto

{sdp_offer}""",
    )
    send(
        7.010,
        p,
        a,
        f"""SIP/2.0 100 Trying
{via_a}inv2
{head}
CSeq: 1 INVITE
Content-Length: 0
""",
    )
    send(
        7.300,
        p,
        a,
        f"""SIP/2.0 180 Ringing
{via_a}inv2
{head};tag=c4r01
CSeq: 1 INVITE
Content-Length: 0
""",
    )
    send(
        9.000,
        a,
        p,
        f"""CANCEL sip:carol@example.com SIP/2.0
{via_a}inv2
Max-Forwards: 70
{head}
CSeq: 1 CANCEL
Reason: SIP;cause=487;text="Request terminated by caller"
Content-Length: 0
""",
    )
    send(
        9.010,
        p,
        a,
        f"""SIP/2.0 200 OK
{via_a}inv2
{head};tag=c4r01
CSeq: 1 CANCEL
Content-Length: 0
""",
    )
    send(
        9.020,
        p,
        a,
        f"""SIP/2.0 487 Request Terminated
{via_a}inv2
{head};tag=c4r01
CSeq: 1 INVITE
Content-Length: 0
""",
    )
    send(
        9.030,
        a,
        p,
        f"""ACK sip:carol@example.com SIP/2.0
{via_a}inv2
Max-Forwards: 70
{head};tag=c4r01
CSeq: 1 ACK
Content-Length: 0
""",
    )

    # An IM, an OPTIONS ping and a presence subscription.
    send(
        10.000,
        a,
        p,
        f"""MESSAGE sip:bob@example.com SIP/2.0
{via_a}msg1
Max-Forwards: 70
From: <sip:alice@example.com>;tag=49583
To: <sip:bob@example.com>
Call-ID: im-1@192.168.1.50
CSeq: 1 MESSAGE
Content-Type: text/plain;charset=UTF-8
Content-Length: auto

Lunch at noon?""",
    )
    send(
        10.020,
        p,
        a,
        f"""SIP/2.0 200 OK
{via_a}msg1
From: <sip:alice@example.com>;tag=49583
To: <sip:bob@example.com>;tag=ab30317f1a784dc48ff824d0d3715d86
Call-ID: im-1@192.168.1.50
CSeq: 1 MESSAGE
Content-Length: 0
""",
    )
    send(
        11.000,
        p,
        a,
        """OPTIONS sip:alice@192.168.1.50:5060 SIP/2.0
Via: SIP/2.0/UDP 10.0.0.10:5060;branch=z9hG4bKopt1
Max-Forwards: 70
From: <sip:ping@example.com>;tag=p1
To: <sip:alice@example.com>
Call-ID: opt-1@10.0.0.10
CSeq: 1 OPTIONS
Content-Length: 0
""",
    )
    send(
        11.002,
        a,
        p,
        """SIP/2.0 200 OK
Via: SIP/2.0/UDP 10.0.0.10:5060;branch=z9hG4bKopt1
From: <sip:ping@example.com>;tag=p1
To: <sip:alice@example.com>;tag=o2
Call-ID: opt-1@10.0.0.10
CSeq: 1 OPTIONS
Allow: INVITE, ACK, CANCEL, BYE, OPTIONS, MESSAGE, SUBSCRIBE, NOTIFY
Content-Length: 0
""",
    )
    send(
        12.000,
        a,
        p,
        f"""SUBSCRIBE sip:bob@example.com SIP/2.0
{via_a}sub1
Max-Forwards: 70
From: <sip:alice@example.com>;tag=s1
To: <sip:bob@example.com>
Call-ID: sub-1@192.168.1.50
CSeq: 1 SUBSCRIBE
Contact: <sip:alice@192.168.1.50:5060>
Event: presence
Accept: application/pidf+xml
Expires: 600
Content-Length: 0
""",
    )
    send(
        12.010,
        p,
        a,
        f"""SIP/2.0 200 OK
{via_a}sub1
From: <sip:alice@example.com>;tag=s1
To: <sip:bob@example.com>;tag=s2
Call-ID: sub-1@192.168.1.50
CSeq: 1 SUBSCRIBE
Expires: 600
Content-Length: 0
""",
    )
    send(
        12.020,
        p,
        a,
        """NOTIFY sip:alice@192.168.1.50:5060 SIP/2.0
Via: SIP/2.0/UDP 10.0.0.10:5060;branch=z9hG4bKnot1
Max-Forwards: 70
From: <sip:bob@example.com>;tag=s2
To: <sip:alice@example.com>;tag=s1
Call-ID: sub-1@192.168.1.50
CSeq: 1 NOTIFY
Event: presence
Subscription-State: active;expires=600
Content-Type: application/pidf+xml
Content-Length: auto

<?xml version="1.0" encoding="UTF-8"?>
<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:bob@example.com">
<tuple id="t1"><status><basic>open</basic></status></tuple>
</presence>""",
    )
    send(
        12.030,
        a,
        p,
        """SIP/2.0 200 OK
Via: SIP/2.0/UDP 10.0.0.10:5060;branch=z9hG4bKnot1
From: <sip:bob@example.com>;tag=s2
To: <sip:alice@example.com>;tag=s1
Call-ID: sub-1@192.168.1.50
CSeq: 1 NOTIFY
Content-Length: 0
""",
    )
    return b


# --------------------------------------------------------------------------------------------
# 2. Lync-style sign-in and IM over TCP, cut into segments the way real stacks do.
# --------------------------------------------------------------------------------------------
def _ntlm_challenge() -> bytes:
    """A structurally valid NTLM CHALLENGE_MESSAGE (connectionless), made up for the sample."""
    target = "CONTOSO".encode("utf-16-le")
    av = b""
    for av_id, value in ((2, "CONTOSO"), (1, "FE01"), (4, "contoso.com"), (3, "fe01.contoso.com")):
        v = value.encode("utf-16-le")
        av += struct.pack("<HH", av_id, len(v)) + v
    av += struct.pack("<HHQ", 7, 8, 133_800_000_000_000_000) + struct.pack("<HH", 0, 0)
    flags = 0xE2888215
    header_len = 56
    msg = b"NTLMSSP\x00" + struct.pack("<I", 2)
    msg += struct.pack("<HHI", len(target), len(target), header_len)
    msg += struct.pack("<I", flags) + bytes.fromhex("0123456789abcdef") + b"\x00" * 8
    msg += struct.pack("<HHI", len(av), len(av), header_len + len(target))
    msg += bytes.fromhex("0a00614a0000000f")  # version 10.0 build 19041, NTLM revision 15
    return msg + target + av


def _ntlm_authenticate() -> bytes:
    """A structurally valid NTLM AUTHENTICATE_MESSAGE carrying domain, user and workstation."""
    domain = "CONTOSO".encode("utf-16-le")
    user = "alice".encode("utf-16-le")
    ws = "ALICE-PC".encode("utf-16-le")
    lm = b"\x00" * 24
    nt = (
        bytes(range(16))
        + b"\x01\x01\x00\x00\x00\x00\x00\x00"
        + b"\x00" * 8
        + bytes(range(8))
        + b"\x00" * 4
    )
    offset = 72
    fields = b""
    payload = b""
    for blob in (lm, nt, domain, user, ws, b"\x00" * 16):
        fields += struct.pack("<HHI", len(blob), len(blob), offset + len(payload))
        payload += blob
    # order on the wire: LM, NT, domain, user, workstation, session key
    msg = b"NTLMSSP\x00" + struct.pack("<I", 3) + fields + struct.pack("<I", 0xE2888215)
    msg += bytes.fromhex("0a00614a0000000f")
    return msg + payload


def lync_tcp() -> Builder:
    b = Builder()
    conn = b.tcp((ALICE, 50123), (PROXY, 5060), isn=(0x7FFF0000, 0xFFFFF000))
    conn.handshake(0.0)
    via = "Via: SIP/2.0/TCP 192.168.1.50:50123;branch=z9hG4bK"
    epid_contact = (
        'Contact: <sip:192.168.1.50:50123;transport=tcp;ms-opaque=d3470f2e1d>;methods="INVITE, MESSAGE, INFO, '
        'SUBSCRIBE, OPTIONS, BYE, CANCEL, NOTIFY, ACK, REFER, BENOTIFY";proxy=replace;'
        '+sip.instance="<urn:uuid:47ab9ed0-c50a-5dfb-9760-41ab18d0ac14>"'
    )
    challenge = base64.b64encode(_ntlm_challenge()).decode()
    answer = base64.b64encode(_ntlm_authenticate()).decode()
    reg1 = sip(f"""REGISTER sip:contoso.com SIP/2.0
{via}r1
From: <sip:alice@contoso.com>;tag=7a3c9e1f;epid=01010101c7
To: <sip:alice@contoso.com>
Call-ID: 3c1b6b0e5f8d4e7a9c2d1f0e8b7a6c5d
CSeq: 1 REGISTER
Max-Forwards: 70
{epid_contact}
User-Agent: UCCAPI/16.0.4266.1001 OC/16.0.4266.1001 (Skype for Business)
Supported: gruu-10, adhoclist, msrtc-event-categories, com.microsoft.msrtc.presence
Supported: ms-keep-alive=deprecated
ms-keep-alive: UAC;hop-hop=yes
Event: registration
Authorization: NTLM qop="auth", realm="SIP Communications Service", targetname="fe01.contoso.com", version=4, gssapi-data=""
Content-Length: 0
""")
    # The REGISTER leaves in three segments.
    conn.send(0.010, 0, reg1, cuts=(200, 520))
    ch401 = sip(f"""SIP/2.0 401 Unauthorized
Date: Thu, 01 Jan 2026 00:00:00 GMT
WWW-Authenticate: NTLM opaque="6A1C8E0F", gssapi-data="{challenge}", targetname="fe01.contoso.com", realm="SIP Communications Service", version=4
WWW-Authenticate: Kerberos realm="SIP Communications Service", targetname="sip/fe01.contoso.com", version=4
From: <sip:alice@contoso.com>;tag=7a3c9e1f;epid=01010101c7
To: <sip:alice@contoso.com>;tag=9B3D41E3B1C6F6F1B5E7DC8BA2A1C0F3
Call-ID: 3c1b6b0e5f8d4e7a9c2d1f0e8b7a6c5d
CSeq: 1 REGISTER
{via}r1;received=192.168.1.50;ms-received-port=50123;ms-received-cid=1A2B00
ms-diagnostics: 1000;reason="Final handshake failed";source="fe01.contoso.com"
Server: RTC/6.0
Content-Length: 0
""")
    conn.send(0.030, 1, ch401)
    reg2 = sip(f"""REGISTER sip:contoso.com SIP/2.0
{via}r2
From: <sip:alice@contoso.com>;tag=7a3c9e1f;epid=01010101c7
To: <sip:alice@contoso.com>
Call-ID: 3c1b6b0e5f8d4e7a9c2d1f0e8b7a6c5d
CSeq: 2 REGISTER
Max-Forwards: 70
{epid_contact}
User-Agent: UCCAPI/16.0.4266.1001 OC/16.0.4266.1001 (Skype for Business)
Supported: gruu-10, adhoclist, msrtc-event-categories, com.microsoft.msrtc.presence
Event: registration
Authorization: NTLM qop="auth", realm="SIP Communications Service", opaque="6A1C8E0F", targetname="fe01.contoso.com", version=4, gssapi-data="{answer}"
Content-Length: 0
""")
    # Sent in two segments that arrive swapped, the first one retransmitted.
    conn.send(0.060, 0, reg2, cuts=(300,), order=(1, 0), retransmit=(0,))
    ok = sip(f"""SIP/2.0 200 OK
ms-keep-alive: UAS; tcp=no; hop-hop=yes; end-end=no; timeout=300
Authentication-Info: NTLM rspauth="0100000000000000A2B3C4D5E6F70819", srand="3F8E2A1B", snum="1", opaque="6A1C8E0F", qop="auth", targetname="fe01.contoso.com", realm="SIP Communications Service"
From: <sip:alice@contoso.com>;tag=7a3c9e1f;epid=01010101c7
To: <sip:alice@contoso.com>;tag=9B3D41E3B1C6F6F1B5E7DC8BA2A1C0F3
Call-ID: 3c1b6b0e5f8d4e7a9c2d1f0e8b7a6c5d
CSeq: 2 REGISTER
{via}r2;received=192.168.1.50;ms-received-port=50123;ms-received-cid=1A2B00
Contact: <sip:192.168.1.50:50123;transport=tcp;ms-opaque=d3470f2e1d>;expires=7200;+sip.instance="<urn:uuid:47ab9ed0-c50a-5dfb-9760-41ab18d0ac14>";gruu="sip:alice@contoso.com;opaque=user:epid:0J6rRwrF-12XYEGrGNCsFAAA;gruu"
Expires: 7200
presence-state: register-action="added"
ms-user-logon-data: RemoteUser
Allow-Events: vnd-microsoft-provisioning,vnd-microsoft-roaming-contacts,vnd-microsoft-roaming-ACL,presence,presence.wpending,vnd-microsoft-roaming-self,vnd-microsoft-provisioning-v2
Supported: adhoclist, msrtc-event-categories
Server: RTC/6.0
Content-Length: 0
""")
    conn.send(0.090, 1, ok)
    sub = sip(f"""SUBSCRIBE sip:alice@contoso.com SIP/2.0
{via}s1
From: <sip:alice@contoso.com>;tag=5c2e;epid=01010101c7
To: <sip:alice@contoso.com>
Call-ID: 8f1d2c3b4a5e6f708192a3b4c5d6e7f8
CSeq: 1 SUBSCRIBE
Max-Forwards: 70
Event: vnd-microsoft-roaming-self
Accept: application/vnd-microsoft-roaming-self+xml
Supported: com.microsoft.autoextend, ms-benotify, ms-piggyback-first-notify
Proxy-Authorization: NTLM qop="auth", realm="SIP Communications Service", opaque="6A1C8E0F", crand="1a2b3c4d", cnum="1", targetname="fe01.contoso.com", response="0100000000000000112233445566778899"
Content-Type: application/vnd-microsoft-roaming-self+xml
Content-Length: auto

<roamingList xmlns="http://schemas.microsoft.com/2006/09/sip/roaming-self"><roaming type="categories"/><roaming type="containers"/></roamingList>""")
    service = sip(f"""SERVICE sip:alice@contoso.com SIP/2.0
{via}sv1
From: <sip:alice@contoso.com>;tag=6d3f;epid=01010101c7
To: <sip:alice@contoso.com>
Call-ID: 9a8b7c6d5e4f30211f2e3d4c5b6a7980
CSeq: 1 SERVICE
Max-Forwards: 70
Content-Type: application/msrtc-category-publish+xml
Content-Length: auto

<publish xmlns="http://schemas.microsoft.com/2006/09/sip/rich-presence"><publications uri="sip:alice@contoso.com"><publication categoryName="state" instance="0" container="2" version="1" expireType="endpoint"><state xmlns="http://schemas.microsoft.com/2006/09/sip/state" manual="false" xsi:type="machineState" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><availability>3500</availability></state></publication></publications></publish>""")
    # Two requests in one segment, preceded by a keep-alive.
    conn.send(0.120, 0, b"\r\n\r\n" + sub + service)
    conn.send(
        0.140,
        1,
        sip(f"""SIP/2.0 200 OK
From: <sip:alice@contoso.com>;tag=5c2e;epid=01010101c7
To: <sip:alice@contoso.com>;tag=77AA
Call-ID: 8f1d2c3b4a5e6f708192a3b4c5d6e7f8
CSeq: 1 SUBSCRIBE
{via}s1;received=192.168.1.50
Expires: 53438
Require: eventlist
Content-Type: application/vnd-microsoft-roaming-self+xml
Content-Length: auto

<roamingData xmlns="http://schemas.microsoft.com/2006/09/sip/roaming-self"/>""")
        + sip(f"""SIP/2.0 200 OK
From: <sip:alice@contoso.com>;tag=6d3f;epid=01010101c7
To: <sip:alice@contoso.com>;tag=88BB
Call-ID: 9a8b7c6d5e4f30211f2e3d4c5b6a7980
CSeq: 1 SERVICE
{via}sv1;received=192.168.1.50
Content-Length: 0
"""),
        cuts=(100,),
    )

    # An IM conversation: INVITE with the first message embedded, then MESSAGE, INFO, BYE.
    hello = base64.b64encode(b"hello").decode()
    im_head = """Call-ID: 5d6e7f8091a2b3c4d5e6f708192a3b4c
From: "Alice" <sip:alice@contoso.com>;tag=abc1;epid=01010101c7
To: <sip:bob@contoso.com>"""
    im_sdp = """v=0
o=- 0 0 IN IP4 192.168.1.50
s=session
c=IN IP4 192.168.1.50
t=0 0
m=message 5060 sip null
a=accept-types:text/plain multipart/alternative image/gif text/rtf text/html application/x-ms-ink application/ms-imdn+xml text/x-msmsgsinvite
"""
    conn.send(
        1.000,
        0,
        sip(f"""INVITE sip:bob@contoso.com SIP/2.0
{via}i1
{im_head}
CSeq: 1 INVITE
Max-Forwards: 70
Contact: <sip:alice@contoso.com;opaque=user:epid:0J6rRwrF-12XYEGrGNCsFAAA;gruu>
Supported: ms-dialog-route-set-update, ms-embedded-first-message, ms-delayed-accept, ms-renders-isf, ms-renders-gif, ms-renders-mime-alternative
Ms-Conversation-ID: AdxQvQ4AGPiVFj5xQ0e2o0n8XJ0t8g==
ms-text-format: text/plain; charset=UTF-8;msgr=WAAtAE0ATQBTAC0ASQBNAC0ARgBvAHIAbQBhAHQAOgAgAEYATgA9AFMAZQBnAG8AZQAlADIAMABVAEkAOwAgAEUARgA9ADsAIABDAE8APQAwADsAIABDAFMAPQAwADsAIABQAEYAPQAwAA0ACgANAAoADQA;ms-body={hello}
Content-Type: application/sdp
Content-Length: auto

{im_sdp}"""),
    )
    conn.send(
        1.010,
        1,
        sip(f"""SIP/2.0 100 Trying
{im_head}
CSeq: 1 INVITE
{via}i1;received=192.168.1.50
Content-Length: 0
"""),
    )
    conn.send(
        2.500,
        1,
        sip(f"""SIP/2.0 200 OK
{im_head};tag=b0b1
CSeq: 1 INVITE
{via}i1;received=192.168.1.50
Contact: <sip:bob@contoso.com;opaque=user:epid:Zm9vYmFyYmF6cXV4cXV1eA;gruu>
Content-Type: application/sdp
Content-Length: auto

{im_sdp.replace("192.168.1.50", "192.168.1.77")}"""),
    )
    dlg = im_head.replace("To: <sip:bob@contoso.com>", "To: <sip:bob@contoso.com>;tag=b0b1")
    conn.send(
        2.510,
        0,
        sip(f"""ACK sip:bob@contoso.com;opaque=user:epid:Zm9vYmFyYmF6cXV4cXV1eA;gruu SIP/2.0
{via}a1
{dlg}
CSeq: 1 ACK
Max-Forwards: 70
Content-Length: 0
"""),
    )
    conn.send(
        3.000,
        0,
        sip(f"""INFO sip:bob@contoso.com;opaque=user:epid:Zm9vYmFyYmF6cXV4cXV1eA;gruu SIP/2.0
{via}t1
{dlg}
CSeq: 2 INFO
Max-Forwards: 70
Content-Type: application/xml
Content-Length: auto

<?xml version="1.0"?>
<KeyboardActivity><status status="type" /></KeyboardActivity>"""),
    )
    conn.send(
        3.020,
        1,
        sip(f"""SIP/2.0 200 OK
{dlg}
CSeq: 2 INFO
{via}t1;received=192.168.1.50
Content-Length: 0
"""),
    )
    conn.send(
        4.000,
        0,
        sip(f"""MESSAGE sip:bob@contoso.com;opaque=user:epid:Zm9vYmFyYmF6cXV4cXV1eA;gruu SIP/2.0
{via}m1
{dlg}
CSeq: 3 MESSAGE
Max-Forwards: 70
Content-Type: text/plain; charset=UTF-8
Content-Length: auto

are you joining the 10:00 review?"""),
    )
    conn.send(
        4.030,
        1,
        sip(f"""SIP/2.0 200 OK
{dlg}
CSeq: 3 MESSAGE
{via}m1;received=192.168.1.50
Content-Length: 0
"""),
    )
    conn.send(
        9.000,
        0,
        sip(f"""BYE sip:bob@contoso.com;opaque=user:epid:Zm9vYmFyYmF6cXV4cXV1eA;gruu SIP/2.0
{via}b1
{dlg}
CSeq: 4 BYE
Max-Forwards: 70
Content-Length: 0
"""),
    )
    conn.send(
        9.020,
        1,
        sip(f"""SIP/2.0 200 OK
{dlg}
CSeq: 4 BYE
{via}b1;received=192.168.1.50
Content-Length: 0
"""),
    )
    conn.send(
        10.000,
        1,
        sip("""BENOTIFY sip:192.168.1.50:50123;transport=tcp;ms-opaque=d3470f2e1d SIP/2.0
Via: SIP/2.0/TCP 10.0.0.10:5060;branch=z9hG4bKbn1
From: <sip:alice@contoso.com>;tag=77AA
To: <sip:alice@contoso.com>;tag=5c2e;epid=01010101c7
Call-ID: 8f1d2c3b4a5e6f708192a3b4c5d6e7f8
CSeq: 2 BENOTIFY
Max-Forwards: 70
Event: vnd-microsoft-roaming-self
Subscription-State: active;expires=53438
Content-Type: application/vnd-microsoft-roaming-self+xml
Content-Length: auto

<roamingData xmlns="http://schemas.microsoft.com/2006/09/sip/roaming-self"><categories/></roamingData>"""),
    )
    conn.close(12.0)

    # A second connection over IPv6 in a VLAN: an OPTIONS ping from the pool.
    v6 = b.tcp(("2001:db8::10", 5061), ("2001:db8::50", 49800), isn=(10, 20))
    v6.vlan = 42
    v6.handshake(5.0)
    v6.send(
        5.010,
        0,
        sip("""OPTIONS sip:alice@contoso.com SIP/2.0
Via: SIP/2.0/TCP [2001:db8::10]:5061;branch=z9hG4bKo6
From: <sip:fe01.contoso.com>;tag=o6
To: <sip:alice@contoso.com>
Call-ID: v6-options-1
CSeq: 1 OPTIONS
Max-Forwards: 70
Content-Length: 0
"""),
    )
    v6.send(
        5.020,
        1,
        sip("""SIP/2.0 200 OK
Via: SIP/2.0/TCP [2001:db8::10]:5061;branch=z9hG4bKo6
From: <sip:fe01.contoso.com>;tag=o6
To: <sip:alice@contoso.com>;tag=x6
Call-ID: v6-options-1
CSeq: 1 OPTIONS
Content-Length: 0
"""),
    )
    b.frames.sort(key=lambda f: f[0])
    return b


SAMPLES = {
    "sip-udp-call.pcap": udp_call,
    "lync-signin-tcp.pcapng": lync_tcp,
}


def all_samples() -> dict:
    """These samples plus those of every tools/scenario_*.py module (each has a SAMPLES dict
    of capture name -> function returning a Builder), so each feature keeps its own file."""
    import importlib

    samples = dict(SAMPLES)
    for path in sorted(Path(__file__).resolve().parent.glob("scenario_*.py")):
        module = importlib.import_module(path.stem)
        samples.update(module.SAMPLES)
    return samples


def main() -> None:
    CAPTURES.mkdir(exist_ok=True)
    wanted = set(sys.argv[1:])
    for name, make in all_samples().items():
        if wanted and name not in wanted:
            continue
        make().write(str(CAPTURES / name))
        print(f"wrote captures/{name}")


if __name__ == "__main__":
    main()
