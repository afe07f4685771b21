"""Sample captures for STUN / MS-TURN / ICE (issue 4): written by make_captures.py.

lync-turn-tcp443.pcap: a Lync client reaches the Edge A/V service on TCP 443 with the MS-TURN
pseudo-TLS hello, then MS-TURN TCP framing: Allocate → 401 → Allocate with credentials →
success (relayed and reflexive addresses), a Send request whose DATA is an ICE check with
MESSAGE-INTEGRITY keyed by the peer's a=ice-pwd, Set Active Destination, then end-to-end
data frames carrying RTP. The SDP (SIP over UDP) gives the ICE passwords; a direct UDP ICE
check pair with USE-CANDIDATE is nominated. tshark 4.0.17 sees TLS on 443 and no STUN there.
"""

from __future__ import annotations

import struct
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from pcapgen import Builder, sip  # noqa: E402

from lyncdump.media import stun as s  # noqa: E402

CLIENT = "10.0.1.20"
EDGE = "198.51.100.10"
PEER = "203.0.113.50"
PROXY = "10.0.0.10"
COOKIE_ATTR = (0x000F, bytes.fromhex("72c64bc6"))
LOCAL_UFRAG, LOCAL_PWD = "Lc1x", "clientpasswordclientpw01"
PEER_UFRAG, PEER_PWD = "Pe7r", "peerpasswordpeerpassword"


def _tid(n: int) -> bytes:
    return s.MAGIC_COOKIE_BYTES + struct.pack("!III", 0x4C594E43, 0x44554D50, n)


def _addr(ip: str, port: int, tid: bytes, xored: bool) -> bytes:
    raw = bytes(int(x) for x in ip.split("."))
    return s.encode_address(raw, port, tid, xored)


def pseudo_tls_client_hello() -> bytes:
    body = b"\x03\x01" + bytes(range(32)) + b"\x00" + b"\x00\x02\x00\x18" + b"\x01\x00"
    hs = b"\x01" + len(body).to_bytes(3, "big") + body
    return b"\x16\x03\x01" + len(hs).to_bytes(2, "big") + hs


def pseudo_tls_server_hello() -> bytes:
    body = b"\x03\x01" + bytes(32) + b"\x20" + bytes(range(32)) + b"\x00\x18\x00"
    hs = b"\x02" + len(body).to_bytes(3, "big") + body + b"\x0e\x00\x00\x00"
    return b"\x16\x03\x01" + len(hs).to_bytes(2, "big") + hs


def _ms(
    msg_type: int, tid: bytes, attrs: list[tuple[int, bytes]], key: bytes | None = None
) -> bytes:
    raw = s.serialize(msg_type, tid, [COOKIE_ATTR, *attrs], flavor=s.MS_TURN)
    return s.add_integrity(raw, key, sha256=True) if key is not None else raw


def _control(msg: bytes) -> bytes:
    return b"\x02\x00" + len(msg).to_bytes(2, "big") + msg


def _data(payload: bytes) -> bytes:
    return b"\x03\x00" + len(payload).to_bytes(2, "big") + payload


def ice_check(n: int, username: str, pwd: str, *, use_candidate: bool = False) -> bytes:
    attrs = [
        (0x0006, username.encode()),
        (0x0024, (1862270719).to_bytes(4, "big")),
        (0x802A, bytes.fromhex("00007f8a52865800")),
        (0x8070, (3).to_bytes(4, "big")),
    ]
    if use_candidate:
        attrs.append((0x0025, b""))
    raw = s.serialize(0x0001, _tid(n), attrs)
    return s.add_fingerprint(s.add_integrity(raw, pwd.encode()))


def ice_answer(n: int, mapped: tuple[str, int], pwd: str) -> bytes:
    raw = s.serialize(0x0101, _tid(n), [(0x0020, _addr(*mapped, _tid(n), True))])
    return s.add_fingerprint(s.add_integrity(raw, pwd.encode()))


def rtp(seq: int) -> bytes:
    return struct.pack("!BBHII", 0x80, 0, seq, seq * 160, 0x11223344) + bytes(160)


def turn_tcp443() -> Builder:
    b = Builder()
    sdp_offer = f"""v=0
o=- 0 0 IN IP4 {CLIENT}
s=session
c=IN IP4 {CLIENT}
t=0 0
m=audio 50010 RTP/AVP 0
a=ice-ufrag:{LOCAL_UFRAG}
a=ice-pwd:{LOCAL_PWD}
a=candidate:1 1 UDP 2130706431 {CLIENT} 50010 typ host
a=candidate:2 1 TCP-ACT 174455807 198.51.100.10 55000 typ relay raddr {CLIENT} rport 50011
"""
    sdp_answer = f"""v=0
o=- 0 0 IN IP4 {PEER}
s=session
c=IN IP4 {PEER}
t=0 0
m=audio 40000 RTP/AVP 0
a=ice-ufrag:{PEER_UFRAG}
a=ice-pwd:{PEER_PWD}
a=candidate:1 1 UDP 2130706431 {PEER} 40000 typ host
"""
    invite = f"""INVITE sip:bob@example.com SIP/2.0
Via: SIP/2.0/UDP {CLIENT}:5060;branch=z9hG4bKturn1
From: <sip:alice@example.com>;tag=t1
To: <sip:bob@example.com>
Call-ID: turn-call-1
CSeq: 1 INVITE
Content-Type: application/sdp

{sdp_offer}"""
    ok = f"""SIP/2.0 200 OK
Via: SIP/2.0/UDP {CLIENT}:5060;branch=z9hG4bKturn1
From: <sip:alice@example.com>;tag=t1
To: <sip:bob@example.com>;tag=b1
Call-ID: turn-call-1
CSeq: 1 INVITE
Content-Type: application/sdp

{sdp_answer}"""
    b.udp(0.0, CLIENT, 5060, PROXY, 5060, sip(invite))
    b.udp(0.2, PROXY, 5060, CLIENT, 5060, sip(ok))

    flow = b.tcp((CLIENT, 50011), (EDGE, 443))
    flow.handshake(0.3)
    flow.send(0.31, 0, pseudo_tls_client_hello())
    flow.send(0.33, 1, pseudo_tls_server_hello())
    version = (0x8008, (3).to_bytes(4, "big"))
    alloc1 = _ms(0x0003, _tid(1), [version, (0x0010, (2000).to_bytes(4, "big"))])
    flow.send(0.34, 0, _control(alloc1))
    err = _ms(
        0x0113,
        _tid(1),
        [
            version,
            (0x0009, bytes([0, 0, 4, 1]) + b"Unauthorized"),
            (0x0014, bytes(range(20))),
            (0x0015, b'"rtcmedia"'),
        ],
    )
    flow.send(0.36, 1, _control(err))
    key = b"edge-credential"
    alloc2 = _ms(
        0x0003,
        _tid(2),
        [version, (0x0014, bytes(range(20))), (0x0015, b'"rtcmedia"'), (0x0006, b"user")],
        key,
    )
    # Two messages' worth split over three segments: one message over several segments.
    flow.send(0.37, 0, _control(alloc2), cuts=(10, 50))
    ok_attrs = [
        (0x000D, (480).to_bytes(4, "big")),
        (0x0001, _addr(EDGE, 55000, _tid(2), False)),
        version,
        (0x8020, _addr("192.0.2.77", 61000, _tid(2), True)),
        (0x8050, bytes(20) + (1).to_bytes(4, "big")),
    ]
    flow.send(0.39, 1, _control(_ms(0x0103, _tid(2), ok_attrs, key)))
    check = ice_check(3, f"{PEER_UFRAG}:{LOCAL_UFRAG}", PEER_PWD, use_candidate=True)
    send = _ms(
        0x0004,
        _tid(4),
        [version, (0x0011, _addr(PEER, 40000, _tid(4), False)), (0x0013, check)],
        key,
    )
    sad = _ms(0x0006, _tid(5), [version, (0x0011, _addr(PEER, 40000, _tid(5), False))], key)
    # Several messages in one segment.
    flow.send(0.40, 0, _control(send) + _control(sad))
    answer = ice_answer(3, (EDGE, 55000), PEER_PWD)
    data_ind = _ms(
        0x0115, _tid(6), [(0x0012, _addr(PEER, 40000, _tid(6), False)), (0x0013, answer)]
    )
    flow.send(0.45, 1, _control(data_ind) + _control(_ms(0x0106, _tid(5), [version], key)))
    for i in range(3):
        flow.send(0.50 + i * 0.02, 0, _data(rtp(100 + i)))
        flow.send(0.51 + i * 0.02, 1, _data(rtp(500 + i)))
    flow.close(0.6)

    # A direct UDP pair, nominated by the client (controlling).
    req = ice_check(7, f"{PEER_UFRAG}:{LOCAL_UFRAG}", PEER_PWD, use_candidate=True)
    b.udp(0.7, CLIENT, 50010, PEER, 40000, req)
    b.udp(0.72, PEER, 40000, CLIENT, 50010, ice_answer(7, ("192.0.2.77", 50010), PEER_PWD))
    b.udp(0.73, PEER, 40000, CLIENT, 50010, ice_answer(7, ("192.0.2.77", 50010), PEER_PWD))
    return b


def turn_udp() -> Builder:
    """MS-TURN over UDP 3478 with MS-TURNBWM and an IPv6 relay, Set Active Destination then raw
    RTP on the allocation; and an RFC 5766 allocation with a channel carrying RTP."""
    b = Builder()
    client, edge = (CLIENT, 50020), (EDGE, 3478)
    version = (0x8008, (4).to_bytes(4, "big"))
    key = b"edge-credential"

    def up(t: float, data: bytes) -> None:
        b.udp(t, client[0], client[1], edge[0], edge[1], data)

    def down(t: float, data: bytes) -> None:
        b.udp(t, edge[0], edge[1], client[0], client[1], data)

    bwm = [
        (0x8056, struct.pack("!HH", 0, 0)),
        (0x8058, struct.pack("!IIII", 40, 100, 40, 100)),
        (0x8059, _addr("203.0.113.0", 0, _tid(11), True)),
        (0x8068, bytes([1, 2, 1, 0])),
        (0x8055, struct.pack("!HH", 1, 0)),
    ]
    up(0.0, _ms(0x0003, _tid(11), [version, *bwm], key))
    v6 = bytes.fromhex("20010db8000000000000000000000010")
    ok = [
        (0x000D, (480).to_bytes(4, "big")),
        (0x0001, _addr(EDGE, 56000, _tid(11), False)),
        (0x8090, bytes((0, 2)) + (56002).to_bytes(2, "big") + v6),
        version,
        (0x8020, _addr("192.0.2.77", 50020, _tid(11), True)),
        (0x805D, struct.pack("!III", 0x80000000, 100, 100)),
    ]
    down(0.02, _ms(0x0103, _tid(11), ok, key))
    dest = (0x0011, _addr(PEER, 40002, _tid(12), False))
    up(0.05, _ms(0x0006, _tid(12), [version, dest], key))
    down(0.07, _ms(0x0106, _tid(12), [version], key))
    for i in range(4):
        up(0.10 + i * 0.02, rtp(200 + i))
        down(0.11 + i * 0.02, rtp(700 + i))

    # RFC 5766 TURN: ChannelBind then ChannelData with RTP (padded to 4 bytes as over TCP).
    c2, turn = (CLIENT, 50030), ("198.51.100.20", 3478)
    tid = _tid(21)
    alloc_ok = s.serialize(
        0x0103,
        tid,
        [
            (0x0016, _addr("198.51.100.20", 49170, tid, True)),
            (0x0020, _addr("192.0.2.77", 50030, tid, True)),
            (0x000D, (600).to_bytes(4, "big")),
        ],
    )
    b.udp(
        0.3,
        c2[0],
        c2[1],
        turn[0],
        turn[1],
        s.serialize(0x0003, tid, [(0x0019, bytes([17, 0, 0, 0]))]),
    )
    b.udp(0.31, turn[0], turn[1], c2[0], c2[1], alloc_ok)
    tid = _tid(22)
    bind = s.serialize(
        0x0009, tid, [(0x000C, b"\x40\x01\x00\x00"), (0x0012, _addr(PEER, 40004, tid, True))]
    )
    b.udp(0.32, c2[0], c2[1], turn[0], turn[1], bind)
    b.udp(0.33, turn[0], turn[1], c2[0], c2[1], s.serialize(0x0109, tid, []))
    for i in range(3):
        payload = rtp(900 + i)
        frame = b"\x40\x01" + len(payload).to_bytes(2, "big") + payload
        b.udp(0.35 + i * 0.02, c2[0], c2[1], turn[0], turn[1], frame)
        b.udp(0.36 + i * 0.02, turn[0], turn[1], c2[0], c2[1], frame)
    return b


SAMPLES = {"lync-turn-tcp443.pcap": turn_tcp443, "lync-turn-udp.pcap": turn_udp}
