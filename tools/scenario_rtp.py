"""Sample capture for RTP, RTCP and SRTP (issue #5): a Lync-style call with SDES-SRTP media.

    python tools/make_captures.py lync-call-srtp.pcap

alice (192.168.1.50) calls bob (192.168.1.77) through the pool (10.0.0.10). The SDP offers
``RTP/SAVP`` with Lync's ``a=crypto`` lines (tag 2 with MKI 1:1, tag 3 without); bob answers
with tag 3. Each side sends 150 G.711 packets at 20 ms encrypted with its own key (RFC 3711,
done here with lyncdump's own SRTP code), alice's stream with 3 packets lost on the way, a
late packet and arrival jitter, and the DTMF keys "1#" as RFC 4733 events; each side sends
SRTCP receiver reports with an [MS-RTP] estimated-bandwidth extension. Beside the call, a
plain RTP stream with no signalling at all (a recorder feed) shows the heuristic. All keys
are in the SDP, so ``lyncdump lync-call-srtp.pcap`` opens everything.
"""

from __future__ import annotations

import base64
import random
import struct
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from pcapgen import Builder, sip  # noqa: E402

from lyncdump.media.srtp import SrtpContext  # noqa: E402

ALICE, BOB, POOL = "192.168.1.50", "192.168.1.77", "10.0.0.10"
ALICE_KEY = bytes(range(0x10, 0x10 + 30))
BOB_KEY = bytes(range(0x60, 0x60 + 30))
CALL_ID = "5b2c7d1e9f0a4c3b8e6d@192.168.1.50"


def _sdp(ip: str, port: int, tags: list[tuple[int, bytes, str]]) -> str:
    lines = [
        "v=0", f"o=- 0 0 IN IP4 {ip}", "s=session", f"c=IN IP4 {ip}", "b=CT:99980", "t=0 0",
        f"m=audio {port} RTP/SAVP 0 101", f"a=rtcp:{port + 1}",
    ]  # fmt: skip
    for tag, key, suffix in tags:
        b64 = base64.b64encode(key).decode()
        lines.append(f"a=crypto:{tag} AES_CM_128_HMAC_SHA1_80 inline:{b64}|2^31{suffix}")
    lines += ["a=rtpmap:0 PCMU/8000", "a=rtpmap:101 telephone-event/8000", "a=fmtp:101 0-16"]
    return "\n".join(lines) + "\n"


def _sip_msg(start: str, src: str, dst: str, cseq: str, extra: str = "", body: str = "") -> bytes:
    text = f"""{start}
Via: SIP/2.0/UDP {src}:5060;branch=z9hG4bKrtp{cseq.split()[0]}
From: <sip:alice@contoso.com>;tag=a1b2c3
To: <sip:bob@contoso.com>{";tag=d4e5f6" if not start.startswith("INVITE") else ""}
Call-ID: {CALL_ID}
CSeq: {cseq}
User-Agent: UCCAPI/16.0.4849.1000 OC/16.0.4849.1000 (Skype for Business)
{extra}Content-Length: auto
"""
    if body:
        text = text.replace("Content-Length", "Content-Type: application/sdp\nContent-Length")
        text += "\n" + body
    return sip(text)


def _rtp(seq: int, ts: int, ssrc: int, pt: int = 0, marker: bool = False) -> bytes:
    return struct.pack("!BBHII", 0x80, pt | (0x80 if marker else 0), seq, ts, ssrc)


def _rr(ssrc: int, about: int, lost_fraction: int, cumulative: int, jitter: int) -> bytes:
    block = struct.pack("!IIIIII", about, (lost_fraction << 24) | cumulative, 1150, jitter, 0, 0)
    ext = struct.pack("!HHIi", 1, 12, ssrc, 96000)  # [MS-RTP] estimated bandwidth, 96 kbps
    body = struct.pack("!I", ssrc) + block + ext
    return struct.pack("!BBH", 0x81, 201, len(body) // 4) + body


def call_srtp() -> Builder:
    b = Builder()
    rng = random.Random(5)
    offer = _sdp(ALICE, 50020, [(2, ALICE_KEY, "|1:1"), (3, ALICE_KEY, "")])
    answer = _sdp(BOB, 50040, [(3, BOB_KEY, "")])
    b.udp(
        0.000,
        ALICE,
        5060,
        POOL,
        5060,
        _sip_msg("INVITE sip:bob@contoso.com SIP/2.0", ALICE, POOL, "1 INVITE", body=offer),
    )
    b.udp(0.004, POOL, 5060, ALICE, 5060, _sip_msg("SIP/2.0 100 Trying", POOL, ALICE, "1 INVITE"))
    b.udp(
        0.800,
        POOL,
        5060,
        ALICE,
        5060,
        _sip_msg("SIP/2.0 200 OK", POOL, ALICE, "1 INVITE", body=answer),
    )
    b.udp(0.810, ALICE, 5060, POOL, 5060, _sip_msg("ACK sip:bob@contoso.com SIP/2.0", ALICE,
                                                    POOL, "1 ACK"))  # fmt: skip
    alice_ctx = SrtpContext(ALICE_KEY[:16], ALICE_KEY[16:])  # bob chose tag 3: no MKI
    bob_ctx = SrtpContext(BOB_KEY[:16], BOB_KEY[16:])
    packets: list[tuple[float, str, int, str, int, bytes]] = []
    # alice -> bob: lost 40, 41, 90; 120 arrives after 121; DTMF "1" at 60-64 and "#" at 100-104
    for i in range(150):
        if i in (40, 41, 90):
            continue
        seq, ts = 31000 + i, 160 * i
        t = 0.85 + 0.02 * i + rng.uniform(0.0, 0.006)
        if i == 120:
            t += 0.03
        if 60 <= i <= 64 or 100 <= i <= 104:
            first = 60 if i < 100 else 100
            event = 1 if i < 100 else 11
            end = i in (64, 104)
            payload = struct.pack("!BBH", event, 0x0A | (0x80 if end else 0), 160 * (i - first + 1))
            clear = _rtp(seq, 160 * first, 0xA11CE, 101, marker=i == first) + payload
        else:
            clear = _rtp(seq, ts, 0xA11CE) + bytes([0xFF - (i % 16)]) * 160
        packets.append((t, ALICE, 50020, BOB, 50040, alice_ctx.protect(clear, 12)))
    for i in range(150):
        clear = _rtp(9000 + i, 4000 + 160 * i, 0xB0B) + bytes([0xD5]) * 160
        t = 0.86 + 0.02 * i + rng.uniform(0.0, 0.001)
        packets.append((t, BOB, 50040, ALICE, 50020, bob_ctx.protect(clear, 12)))
    for n, t in enumerate((1.85, 2.85)):
        rr = _rr(0xB0B, 0xA11CE, 5 if n == 0 else 2, 2 if n == 0 else 3, 24)
        packets.append((t, BOB, 50041, ALICE, 50021, bob_ctx.protect_rtcp(rr, n + 1)))
        rr = _rr(0xA11CE, 0xB0B, 0, 0, 4)
        packets.append((t + 0.01, ALICE, 50021, BOB, 50041, alice_ctx.protect_rtcp(rr, n + 1)))
    # A recorder feed with no signalling: plain RTP, found by the heuristic.
    for i in range(60):
        clear = _rtp(500 + i, 80000 + 160 * i, 0x5EC0DE8) + bytes([0x55]) * 160
        packets.append((0.9 + 0.02 * i, "10.0.5.20", 40000, "10.0.5.21", 40002, clear))
    for t, src, sport, dst, dport, data in sorted(packets, key=lambda p: p[0]):
        b.udp(t, src, sport, dst, dport, data)
    b.udp(4.000, ALICE, 5060, POOL, 5060, _sip_msg("BYE sip:bob@contoso.com SIP/2.0", ALICE,
                                                    POOL, "2 BYE"))  # fmt: skip
    b.udp(4.010, POOL, 5060, ALICE, 5060, _sip_msg("SIP/2.0 200 OK", POOL, ALICE, "2 BYE"))
    return b


SAMPLES = {"lync-call-srtp.pcap": call_srtp}
