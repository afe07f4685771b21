"""Small captures for the RTP cases tshark's statistics are hardest on, kept in tests/media/data.

- ``rtp-timestamp-reset.pcap``: a G.711 call whose caller's RTP timestamp restarts once in the
  middle of the stream while the sequence numbers run on (what a fax gateway switching to
  pass-through does); the other direction is plain.
- ``rtp-bundled-ssrc.pcap``: one UDP address pair, no signalling, carrying an audio SSRC
  every 20 ms and a video SSRC in bursts of three packets every 33 ms, interleaved, every
  packet with RFC 8285 one-byte header extensions (as WebRTC and Teams bundle media).

The files are what :func:`build` writes (tests check it); rewrite them with
``python -m tests.media.rtp_fixtures``.
"""

from __future__ import annotations

import random
import struct
import sys
from pathlib import Path

from pcapgen import Builder, sip

DATA = Path(__file__).resolve().parent / "data"
CALLER, CALLEE = "192.0.2.10", "198.51.100.20"


def _sdp(ip: str, port: int) -> str:
    return (
        f"v=0\no=- 1 1 IN IP4 {ip}\ns=fax\nc=IN IP4 {ip}\nt=0 0\n"
        f"m=audio {port} RTP/AVP 8 101\na=rtpmap:8 PCMA/8000\na=rtpmap:101 telephone-event/8000\n"
    )


def _sip(first: str, frm: str, to: str, body: str) -> bytes:
    return sip(
        f"{first}\nVia: SIP/2.0/UDP {frm}:5060;branch=z9hG4bKfax1\n"
        "From: <sip:fax@example.net>;tag=a1\nTo: <sip:gw@example.net>;tag=b2\n"
        f"Call-ID: fax-reset@{CALLER}\nCSeq: 1 INVITE\nContact: <sip:fax@{frm}>\n"
        f"Content-Type: application/sdp\nContent-Length: auto\n\n{body}"
    )


def timestamp_reset() -> Builder:
    """Caller → callee: 100 packets; from the 41st the timestamp restarts near zero."""
    rng = random.Random(3550)
    b = Builder()
    b.udp(
        0.0,
        CALLER,
        5060,
        CALLEE,
        5060,
        _sip("INVITE sip:gw@example.net SIP/2.0", CALLER, CALLEE, _sdp(CALLER, 16000)),
    )
    b.udp(0.05, CALLEE, 5060, CALLER, 5060, _sip("SIP/2.0 200 OK", CALLEE, CALLER,
                                                 _sdp(CALLEE, 24000)))  # fmt: skip
    events = []
    for i in range(100):
        t = 0.1 + 0.02 * i + rng.uniform(0.0, 0.002)
        ts = 88_000 + 160 * i if i < 40 else 480 + 160 * (i - 40)
        rtp = struct.pack("!BBHII", 0x80, 8, 20_000 + i, ts, 0xFA0001) + b"\xd5" * 160
        events.append((t, CALLER, 16000, CALLEE, 24000, rtp))
        back = struct.pack("!BBHII", 0x80, 8, 700 + i, 5000 + 160 * i, 0xFA0002) + b"\xd5" * 160
        events.append((t + 0.007 + rng.uniform(0.0, 0.001), CALLEE, 24000, CALLER, 16000, back))
    for t, src, sport, dst, dport, payload in sorted(events):
        b.udp(t, src, sport, dst, dport, payload)
    return b


def _extensions(elements: list[tuple[int, bytes]]) -> bytes:
    body = b"".join(bytes([(i << 4) | (len(d) - 1)]) + d for i, d in elements)
    body += b"\0" * (-len(body) % 4)
    return struct.pack("!HH", 0xBEDE, len(body) // 4) + body


def _rtp(pt: int, marker: int, seq: int, ts: int, ssrc: int, payload: bytes,
         elements: list[tuple[int, bytes]]) -> bytes:  # fmt: skip
    head = struct.pack("!BBHII", 0x90, pt | (marker << 7), seq & 0xFFFF, ts & 0xFFFFFFFF, ssrc)
    return head + _extensions(elements) + payload


def bundled_ssrcs() -> Builder:
    """Audio 0x1111AAAA (PT 111, 48 kHz) and video 0x2222BBBB (PT 96, 90 kHz) on one flow."""
    rng = random.Random(8285)
    events = []
    for i in range(50):
        t = 0.02 * i + rng.uniform(0.0, 0.003)
        level = struct.pack("!I", i)[1:]
        events.append((t, _rtp(111, 0, 3000 + i, 48_000 + 960 * i, 0x1111AAAA, b"\x55" * 60,
                               [(1, b"\x30"), (3, level)])))  # fmt: skip
    seq = 51_000
    for j in range(30):
        for k in range(3):
            seq += 1
            t = 0.0333 * j + 0.005 + 0.0004 * k
            frame = struct.pack("!I", j)[1:]
            packet = _rtp(96, int(k == 2), seq, 270_000 + 3000 * j, 0x2222BBBB, b"\xaa" * 240,
                          [(2, b"\x01\x02"), (3, frame)])  # fmt: skip
            events.append((t, packet))
    b = Builder()
    for t, payload in sorted(events):
        b.udp(t, CALLER, 50000, CALLEE, 3480, payload)
    return b


FIXTURES = {"rtp-timestamp-reset.pcap": timestamp_reset, "rtp-bundled-ssrc.pcap": bundled_ssrcs}


def main() -> None:
    DATA.mkdir(exist_ok=True)
    for name, make in FIXTURES.items():
        make().write(str(DATA / name))
        print(f"wrote {DATA / name}", file=sys.stderr)


if __name__ == "__main__":
    main()
