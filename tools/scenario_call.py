"""Sample capture for whole calls (issue 7): a Lync audio/video call through the Edge.

    python tools/make_captures.py lync-av-call.pcapng

alice (10.0.1.20, inside) calls bob (203.0.113.50, outside) through the pool (10.0.0.10,
SIP over TCP 5061 in the clear so the sample needs no keys; the INVITE crosses three TCP
segments). The INVITE body is Lync's multipart/alternative: an ICE draft-6 SDP part marked
``ms-proxy-2007fallback``, then the ICE v19 part with audio and video m-lines (ufrag/pwd,
host and relay candidates, SDES ``a=crypto`` tags 2 with MKI 1:1 and 3 without,
``a=x-ssrc-range``, ``a=label``, ``a=rtcp-fb``, ``a=x-caps``, ``a=x-mediabw``, ``b=CT``). bob
rings, then answers with an ICE v19 SDP (so the v19 part was chosen), tag 3 keys.

Audio: a direct host check to bob gets no answer; alice allocates on the Edge over MS-TURN
UDP 3478, checks bob through a Send request (answered in a Data indication: nominated), sets
the active destination, then 100 SRTP G.711 packets each way are relayed raw with SRTCP
receiver reports carrying the [MS-RTP] estimated-bandwidth extension (rtcp-mux). Video: an
MS-TURN allocation over TCP 443 with the pseudo-TLS hello, a check through it, then 40
SRTP X-H264UC packets each way in end-to-end data frames. alice hangs up with BYE.
"""

from __future__ import annotations

import base64
import struct
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from pcapgen import Builder, sip  # noqa: E402
from scenario_rtp import _rr  # noqa: E402
from scenario_turn import (  # noqa: E402
    _addr,
    _control,
    _data,
    _ms,
    _tid,
    ice_answer,
    ice_check,
    pseudo_tls_client_hello,
    pseudo_tls_server_hello,
)

from lyncdump.media.srtp import SrtpContext  # noqa: E402

ALICE, BOB, POOL, EDGE = "10.0.1.20", "203.0.113.50", "10.0.0.10", "198.51.100.10"
ALICE_NAT = "192.0.2.77"
CALL_ID = "8c1f3a52b7d94e06a1c2d3e4f5a6b7c8"
ALICE_AUDIO_KEY = bytes(range(0x20, 0x20 + 30))
ALICE_VIDEO_KEY = bytes(range(0x40, 0x40 + 30))
BOB_AUDIO_KEY = bytes(range(0x80, 0x80 + 30))
BOB_VIDEO_KEY = bytes(range(0xA0, 0xA0 + 30))
V6_KEY = bytes(range(0xC0, 0xC0 + 30))
A_UFRAG, A_PWD = "Au1x", "alicepasswordaudio000001"
V_UFRAG, V_PWD = "Vi2x", "alicepasswordvideo000002"
PA_UFRAG, PA_PWD = "Pa7r", "bobpasswordaudio00000003"
PV_UFRAG, PV_PWD = "Pv8r", "bobpasswordvideo00000004"
AUDIO_RELAY, VIDEO_RELAY = (EDGE, 56000), (EDGE, 55000)
BOB_AUDIO, BOB_VIDEO = (BOB, 40000), (BOB, 40002)


def _b64(key: bytes) -> str:
    return base64.b64encode(key).decode()


def _crypto(key: bytes, *, both: bool = True) -> list[str]:
    lines = []
    if both:
        lines.append(f"a=crypto:2 AES_CM_128_HMAC_SHA1_80 inline:{_b64(key)}|2^31|1:1")
    lines.append(f"a=crypto:3 AES_CM_128_HMAC_SHA1_80 inline:{_b64(key)}|2^31")
    return lines


def _v6_part() -> str:
    """The ICE draft-6 fallback SDP (old clients): host candidates with per-candidate creds."""
    return "\n".join([
        "v=0", f"o=- 0 0 IN IP4 {ALICE}", "s=session", f"c=IN IP4 {ALICE}", "b=CT:99980",
        "t=0 0",
        "m=audio 50100 RTP/SAVP 0 101",
        f"a=candidate:QhW2rK8wXyZ0aB1cD2eF3gH4iJ5kL6mN7oP8qR9sT0u 1 ZkF0xY2wV3uT4sR5qP6oNw UDP "
        f"0.830 {ALICE} 50100",
        f"a=candidate:QhW2rK8wXyZ0aB1cD2eF3gH4iJ5kL6mN7oP8qR9sT0u 2 ZkF0xY2wV3uT4sR5qP6oNw UDP "
        f"0.830 {ALICE} 50101",
        *_crypto(V6_KEY, both=False),
        "a=rtpmap:0 PCMU/8000", "a=rtpmap:101 telephone-event/8000", "a=fmtp:101 0-16",
        "a=encryption:required",
    ])  # fmt: skip


def _v19_offer() -> str:
    return "\n".join([
        "v=0", f"o=- 0 1 IN IP4 {ALICE}", "s=session", f"c=IN IP4 {EDGE}", "b=CT:99980",
        "t=0 0", "a=x-mediabw:main-video send=4000;recv=4000",
        "a=x-devicecaps:audio:send,recv;video:send,recv",
        f"m=audio {AUDIO_RELAY[1]} RTP/SAVP 0 101",
        f"a=ice-ufrag:{A_UFRAG}", f"a=ice-pwd:{A_PWD}",
        f"a=candidate:1 1 UDP 2130706431 {ALICE} 50010 typ host",
        f"a=candidate:2 1 UDP 1694498815 {ALICE_NAT} 50020 typ srflx raddr {ALICE} rport 50020",
        f"a=candidate:3 1 UDP 16648703 {EDGE} {AUDIO_RELAY[1]} typ relay raddr {ALICE_NAT} "
        "rport 50020",
        "a=x-candidate-ipv6:4 1 UDP 33553407 2001:db8::20 50030 typ host",
        *_crypto(ALICE_AUDIO_KEY),
        "a=rtcp-mux", "a=label:main-audio", "a=x-source:main-audio",
        "a=rtcp-fb:* x-message app send:dsh recv:dsh", "a=maxptime:200",
        "a=rtpmap:0 PCMU/8000", "a=rtpmap:101 telephone-event/8000", "a=fmtp:101 0-16",
        f"m=video {VIDEO_RELAY[1]} RTP/SAVP 122 123",
        f"a=ice-ufrag:{V_UFRAG}", f"a=ice-pwd:{V_PWD}",
        f"a=candidate:1 1 UDP 2130706431 {ALICE} 50012 typ host",
        f"a=candidate:2 1 TCP-ACT 174455807 {EDGE} {VIDEO_RELAY[1]} typ relay raddr {ALICE} "
        "rport 50011",
        *_crypto(ALICE_VIDEO_KEY),
        "a=rtcp-mux", "a=x-ssrc-range:2000-2099", "a=label:main-video",
        "a=rtcp-fb:* x-message app send:src,x-pli recv:src,x-pli",
        "a=rtpmap:122 X-H264UC/90000", "a=fmtp:122 packetization-mode=1;mst-mode=NI-TC",
        "a=rtpmap:123 x-ulpfecuc/90000",
        "a=x-caps:122 263:1280:720:30.0:1500000:1",
    ])  # fmt: skip


def _v19_answer() -> str:
    return "\n".join([
        "v=0", f"o=- 0 1 IN IP4 {BOB}", "s=session", f"c=IN IP4 {BOB}", "b=CT:99980",
        "t=0 0",
        f"m=audio {BOB_AUDIO[1]} RTP/SAVP 0 101",
        f"a=ice-ufrag:{PA_UFRAG}", f"a=ice-pwd:{PA_PWD}",
        f"a=candidate:1 1 UDP 2130706431 {BOB} {BOB_AUDIO[1]} typ host",
        *_crypto(BOB_AUDIO_KEY, both=False),
        "a=rtcp-mux", "a=label:main-audio",
        "a=rtpmap:0 PCMU/8000", "a=rtpmap:101 telephone-event/8000", "a=fmtp:101 0-16",
        f"m=video {BOB_VIDEO[1]} RTP/SAVP 122",
        f"a=ice-ufrag:{PV_UFRAG}", f"a=ice-pwd:{PV_PWD}",
        f"a=candidate:1 1 UDP 2130706431 {BOB} {BOB_VIDEO[1]} typ host",
        *_crypto(BOB_VIDEO_KEY, both=False),
        "a=rtcp-mux", "a=x-ssrc-range:3000-3099", "a=label:main-video",
        "a=rtpmap:122 X-H264UC/90000", "a=fmtp:122 packetization-mode=1;mst-mode=NI-TC",
    ])  # fmt: skip


def _sip_msg(start: str, direction: int, cseq: str, extra: str = "", body: str = "") -> bytes:
    to_tag = "" if start.startswith("INVITE") else ";tag=b0b5a1"
    text = f"""{start}
Via: SIP/2.0/TCP {ALICE}:50500;branch=z9hG4bKav{cseq.split()[0]}{cseq.split()[1][:3]}
From: "Alice" <sip:alice@contoso.com>;tag=a11ce1;epid=0a1b2c3d4e
To: <sip:bob@fabrikam.com>{to_tag}
Call-ID: {CALL_ID}
CSeq: {cseq}
User-Agent: UCCAPI/16.0.4849.1000 OC/16.0.4849.1000 (Skype for Business)
{extra}Content-Length: auto
"""
    if body:
        text += "\n" + body
    del direction
    return sip(text)


def _rtp(seq: int, ts: int, ssrc: int, pt: int, size: int, fill: int) -> bytes:
    return struct.pack("!BBHII", 0x80, pt, seq, ts, ssrc) + bytes([fill]) * size


def av_call() -> Builder:
    b = Builder()
    sig = b.tcp((ALICE, 50500), (POOL, 5061))
    sig.handshake(0.0)
    boundary = "----=_NextPart_000_0001_01D9A1B2.C3D4E5F6"
    multipart = (
        f"--{boundary}\nContent-Type: application/sdp\n"
        "Content-Transfer-Encoding: 7bit\n"
        "Content-Disposition: session; handling=optional; ms-proxy-2007fallback\n\n"
        f"{_v6_part()}\n"
        f"--{boundary}\nContent-Type: application/sdp\n"
        "Content-Transfer-Encoding: 7bit\n"
        "Content-Disposition: session; handling=optional\n\n"
        f"{_v19_offer()}\n"
        f"--{boundary}--\n"
    )
    invite = _sip_msg(
        "INVITE sip:bob@fabrikam.com SIP/2.0", 0, "1 INVITE",
        extra=f'Content-Type: multipart/alternative;boundary="{boundary}"\n'
        "Ms-Conversation-ID: AdkB2C3D4E5F6A7B8C9D0E1F2A3B4C5D6E7F8==\n",
        body=multipart,
    )  # fmt: skip
    sig.send(0.010, 0, invite, cuts=(600, 1800))
    sig.send(0.030, 1, _sip_msg("SIP/2.0 100 Trying", 1, "1 INVITE"))
    sig.send(0.400, 1, _sip_msg("SIP/2.0 180 Ringing", 1, "1 INVITE"))
    ok = _sip_msg(
        "SIP/2.0 200 OK", 1, "1 INVITE",
        extra="Content-Type: application/sdp\n", body=_v19_answer() + "\n",
    )  # fmt: skip
    sig.send(2.000, 1, ok)
    sig.send(2.010, 0, _sip_msg("ACK sip:bob@fabrikam.com SIP/2.0", 0, "1 ACK"))

    # -- audio: MS-TURN over UDP 3478 -------------------------------------------------------
    client, edge = (ALICE, 50020), (EDGE, 3478)
    version = (0x8008, (3).to_bytes(4, "big"))
    key = b"edge-credential"

    def up(t: float, data: bytes) -> None:
        b.udp(t, client[0], client[1], edge[0], edge[1], data)

    def down(t: float, data: bytes) -> None:
        b.udp(t, edge[0], edge[1], client[0], client[1], data)

    up(0.050, _ms(0x0003, _tid(101), [version], key))
    granted = [
        (0x000D, (480).to_bytes(4, "big")),
        (0x0001, _addr(*AUDIO_RELAY, _tid(101), False)),
        version,
        (0x8020, _addr(ALICE_NAT, 50020, _tid(101), True)),
    ]
    down(0.070, _ms(0x0103, _tid(101), granted, key))
    # The direct host check gets no answer (bob is outside): sent twice.
    direct = ice_check(102, f"{PA_UFRAG}:{A_UFRAG}", PA_PWD)
    b.udp(2.050, ALICE, 50010, BOB, BOB_AUDIO[1], direct)
    b.udp(2.150, ALICE, 50010, BOB, BOB_AUDIO[1], direct)
    check = ice_check(103, f"{PA_UFRAG}:{A_UFRAG}", PA_PWD, use_candidate=True)
    peer = (0x0011, _addr(*BOB_AUDIO, _tid(104), False))
    up(2.060, _ms(0x0004, _tid(104), [version, peer, (0x0013, check)], key))
    answer = ice_answer(103, (EDGE, AUDIO_RELAY[1]), PA_PWD)
    indication = [(0x0012, _addr(*BOB_AUDIO, _tid(105), False)), (0x0013, answer)]
    down(2.100, _ms(0x0115, _tid(105), indication))
    dest = (0x0011, _addr(*BOB_AUDIO, _tid(106), False))
    up(2.110, _ms(0x0006, _tid(106), [version, dest], key))
    down(2.120, _ms(0x0106, _tid(106), [version], key))
    alice_audio = SrtpContext(ALICE_AUDIO_KEY[:16], ALICE_AUDIO_KEY[16:])
    bob_audio = SrtpContext(BOB_AUDIO_KEY[:16], BOB_AUDIO_KEY[16:])
    packets: list[tuple[float, tuple[str, int], tuple[str, int], bytes]] = []
    for i in range(100):
        clear = _rtp(1000 + i, 160 * i, 0x1001, 0, 160, 0xFF)
        packets.append((2.200 + 0.02 * i, client, edge, alice_audio.protect(clear, 12)))
        clear = _rtp(5000 + i, 8000 + 160 * i, 0x5005, 0, 160, 0xD5)
        jitter = 0.004 if i % 7 == 3 else 0.0
        packets.append((2.205 + 0.02 * i + jitter, edge, client, bob_audio.protect(clear, 12)))
    for n, t in enumerate((3.2, 4.1)):
        rr = _rr(0x1001, 0x5005, 0, 0, 12)
        packets.append((t, client, edge, alice_audio.protect_rtcp(rr, n + 1)))
        rr = _rr(0x5005, 0x1001, 0, 0, 3)
        packets.append((t + 0.01, edge, client, bob_audio.protect_rtcp(rr, n + 1)))

    # -- video: MS-TURN over TCP 443 with the pseudo-TLS hello ------------------------------
    flow = b.tcp((ALICE, 50011), (EDGE, 443))
    flow.handshake(0.060)
    flow.send(0.062, 0, pseudo_tls_client_hello())
    flow.send(0.064, 1, pseudo_tls_server_hello())
    flow.send(0.066, 0, _control(_ms(0x0003, _tid(201), [version], key)))
    granted = [
        (0x000D, (480).to_bytes(4, "big")),
        (0x0001, _addr(*VIDEO_RELAY, _tid(201), False)),
        version,
        (0x8020, _addr(ALICE_NAT, 61000, _tid(201), True)),
    ]
    flow.send(0.080, 1, _control(_ms(0x0103, _tid(201), granted, key)))
    check = ice_check(202, f"{PV_UFRAG}:{V_UFRAG}", PV_PWD, use_candidate=True)
    send = _ms(
        0x0004, _tid(203),
        [version, (0x0011, _addr(*BOB_VIDEO, _tid(203), False)), (0x0013, check)], key,
    )  # fmt: skip
    sad = _ms(0x0006, _tid(204), [version, (0x0011, _addr(*BOB_VIDEO, _tid(204), False))], key)
    flow.send(2.070, 0, _control(send) + _control(sad))
    answer = ice_answer(202, (EDGE, VIDEO_RELAY[1]), PV_PWD)
    data_ind = _ms(
        0x0115, _tid(205), [(0x0012, _addr(*BOB_VIDEO, _tid(205), False)), (0x0013, answer)]
    )
    flow.send(2.110, 1, _control(data_ind) + _control(_ms(0x0106, _tid(204), [version], key)))
    alice_video = SrtpContext(ALICE_VIDEO_KEY[:16], ALICE_VIDEO_KEY[16:])
    bob_video = SrtpContext(BOB_VIDEO_KEY[:16], BOB_VIDEO_KEY[16:])
    for i in range(40):
        clear = _rtp(300 + i, 3000 * i, 2000, 122, 900, 0x11)
        flow.send(2.300 + i / 30, 0, _data(alice_video.protect(clear, 12)))
        clear = _rtp(700 + i, 90000 + 3000 * i, 3000, 122, 900, 0x22)
        flow.send(2.310 + i / 30, 1, _data(bob_video.protect(clear, 12)))

    for t, src, dst, data in sorted(packets, key=lambda p: p[0]):
        b.udp(t, src[0], src[1], dst[0], dst[1], data)
    flow.close(4.600)
    sig.send(4.500, 0, _sip_msg("BYE sip:bob@fabrikam.com SIP/2.0", 0, "2 BYE"))
    sig.send(4.520, 1, _sip_msg("SIP/2.0 200 OK", 1, "2 BYE"))
    b.frames.sort(key=lambda f: f[0])  # legs were written one after the other: interleave
    return b


SAMPLES = {"lync-av-call.pcapng": av_call}
