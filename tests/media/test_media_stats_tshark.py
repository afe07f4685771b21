"""Awkward streams (sequence wrap, duplicates, reordering, comfort noise, markers, telephone
events, a payload change, a restart, two SSRCs on one flow, timestamp resets, jumps and wraps)
built here, announced by SDP, with
the values tshark 4.0.17 ``-q -z rtp,streams`` printed for the same capture written into the
test (the capture is rebuilt in memory; `build(name).write(path)` gives it to tshark)."""

from __future__ import annotations

import io
import random
import struct

import pytest
from pcapgen import Builder, sip

import lyncdump

A, B = "10.0.0.1", "10.0.0.2"


def _sdp(ip: str, port: int) -> str:
    return (f"v=0\no=- 0 0 IN IP4 {ip}\ns=-\nc=IN IP4 {ip}\nt=0 0\n"
            f"m=audio {port} RTP/AVP 0 8 13 101\na=rtpmap:101 telephone-event/8000\n")  # fmt: skip


def _msg(start: str, body: str) -> bytes:
    return sip(
        f"{start}\nVia: SIP/2.0/UDP {A};branch=z9hG4bK1\nFrom: <sip:a@x>;tag=1\nTo: <sip:b@x>\n"
        f"Call-ID: c1\nCSeq: 1 INVITE\nContent-Type: application/sdp\nContent-Length: auto\n\n"
        + body
    )


def _packets(name: str) -> list[tuple[float, int, int, int, int, int]]:
    """(arrival offset s, seq, ts, pt, marker, ssrc) for one scenario."""
    rng = random.Random(name)
    out = []
    seq0 = 65500 if name == "wrap" else 1000
    for i in range(150):
        t = 0.02 * i + rng.uniform(0, 0.005)
        seq, ts, pt, marker, ssrc = (seq0 + i) & 0xFFFF, 1600 + 160 * i, 0, 0, 7
        if name == "wrap" and i in (35, 36, 80):
            continue
        if name == "duplicates" and i in (20, 21, 70):
            out.append((t + 0.001, seq, ts, pt, marker, ssrc))
        if name == "reorder" and i in (30, 90):
            t += 0.045
        if name == "cn" and 40 <= i < 60:
            if i % 4:
                continue
            pt = 13
        if name == "markers" and i % 25 == 0:
            marker = 1
        if name == "events" and 50 <= i < 56:
            pt, ts, marker = 101, 1600 + 160 * 50, int(i == 50)
        if name == "pt_change" and i >= 75:
            pt = 8
        if name == "restart" and i >= 100:
            seq, ts = (40000 + i) & 0xFFFF, 900000 + 160 * i
        if name == "two_ssrc" and i >= 75:
            ssrc, seq, ts = 9, 5000 + i, 77777 + 160 * i
        if name == "ts_reset" and i >= 75:  # the timestamp restarts, the sequence runs on
            ts = 160 * (i - 75)
        if name == "ts_far" and i >= 75:  # a jump more than 2^31 ahead: "before" the start
            ts = 3_000_000_000 + 160 * i
        if name == "ts_back" and i in (40, 90):  # a late timestamp, still after the first
            ts -= 800
        if name == "ts_wrap":  # the timestamp wraps through 2^32: no reset
            ts = (0xFFFFF000 + 160 * i) & 0xFFFFFFFF
        if name == "seq_ts_reset" and i >= 75:  # both restart (an IVR replaying a prompt)
            seq, ts = i - 75, 160 * (i - 75)
        if name == "reset_twice" and 50 <= i < 100:
            ts = 160 * (i - 50)
        if name == "reset_twice" and i >= 100:
            ts = 999 + 160 * (i - 100)
        out.append((t, seq, ts, pt, marker, ssrc))
    return out


SCENARIOS = ("wrap", "duplicates", "reorder", "cn", "markers", "events", "pt_change", "restart",
             "two_ssrc", "ts_reset", "ts_far", "ts_back", "ts_wrap", "seq_ts_reset",
             "reset_twice")  # fmt: skip


def build(name: str) -> Builder:
    b = Builder()
    b.udp(0.0, A, 5060, B, 5060, _msg("INVITE sip:b@x SIP/2.0", _sdp(A, 4000)))
    b.udp(0.1, B, 5060, A, 5060, _msg("SIP/2.0 200 OK", _sdp(B, 5000)))
    for t, seq, ts, pt, marker, ssrc in sorted(_packets(name)):
        payload = struct.pack("!BBH", 1, 0x0A, 160) if pt == 101 else b"\xd5" * 160
        rtp = struct.pack("!BBHII", 0x80, pt | (marker << 7), seq, ts, ssrc) + payload
        b.udp(0.2 + t, A, 4000, B, 5000, rtp)
    return b


#: tshark 4.0.17 -q -z rtp,streams on build(name): SSRC, payload, pkts, lost, delta
#: min/mean/max, jitter min/mean/max, problem flag.
EXPECTED: dict[str, list[tuple]] = {
    'wrap': [
        (7, 'g711U', 147, 3, 15.495, 20.382, 59.125, 0.162, 1.566, 2.159, True),
    ],
    'duplicates': [
        (7, 'g711U', 153, -3, 1.0, 19.592, 23.794, 0.102, 1.478, 2.259, True),
    ],
    'reorder': [
        (7, 'g711U', 150, 0, 2.437, 19.999, 41.204, 0.234, 2.706, 7.256, True),
    ],
    'cn': [
        (7, 'g711U, CN', 135, 15, 15.474, 19.993, 24.105, 0.126, 1.457, 2.045, True),
    ],
    'markers': [
        (7, 'g711U', 150, 0, 15.64, 20.026, 24.839, 0.004, 1.423, 2.069, False),
    ],
    'events': [
        (7, 'g711U, telephone-event', 150, 0, 15.358, 19.995, 24.894, 0.186, 2.457, 8.833, False),
    ],
    'pt_change': [
        (7, 'g711U, g711A', 150, 0, 15.548, 20.011, 24.416, 0.015, 1.428, 2.138, False),
    ],
    'restart': [
        (7, 'g711U', 150, 39000, 15.613, 20.002, 24.611, 0.083, 725.207, 7020.037, True),
    ],
    'two_ssrc': [
        (9, 'g711U', 75, 0, 15.836, 19.995, 24.536, 0.057, 1.114, 1.758, False),
        (7, 'g711U', 75, 0, 15.808, 19.992, 24.126, 0.004, 1.389, 2.095, False),
    ],
    # Packets whose timestamp lies before the first one's (within 2^31 behind it, or more than
    # 2^31 ahead) are "wrong timestamps": a problem, never regular, and the clock does not move
    # on them; the first in-sequence packet after them measures the whole gap (max delta 219).
    'ts_reset': [
        (7, 'g711U', 150, 0, 15.302, 21.353, 219.29, 0.193, 12.777, 107.836, True),
    ],
    'ts_far': [
        (7, 'g711U', 150, 0, 16.071, 19.965, 24.398, 0.154, 1.367, 2.061, True),
    ],
    'ts_back': [
        (7, 'g711U', 150, 0, 15.465, 20.005, 24.747, 0.01, 4.252, 13.798, False),
    ],
    'ts_wrap': [
        (7, 'g711U', 150, 0, 15.344, 20.006, 24.673, 0.098, 1.601, 2.044, False),
    ],
    'seq_ts_reset': [
        (7, 'g711U', 150, 64461, 15.24, 21.341, 219.044, 0.121, 12.599, 107.961, True),
    ],
    'reset_twice': [
        (7, 'g711U', 150, 0, 15.757, 21.957, 219.967, 0.068, 15.257, 76.393, True),
    ],
}  # fmt: skip


@pytest.mark.parametrize("name", SCENARIOS)
def test_matches_tshark(name: str) -> None:
    cap = lyncdump.analyze(io.BytesIO(build(name).pcap_bytes()))
    got = {
        st.ssrc: (st.payload, st.packets, st.lost, st.min_delta, st.mean_delta, st.max_delta,
                  st.min_jitter, st.mean_jitter, st.max_jitter, st.problem)
        for st in cap.streams()
    }  # fmt: skip
    want = EXPECTED[name]
    assert sorted(got) == sorted(w[0] for w in want)
    for ssrc, payload, pkts, lost, *numbers, problem in want:
        g = got[ssrc]
        assert g[:3] == (payload, pkts, lost)
        for a, b in zip(g[3:9], numbers, strict=True):
            assert abs(a - b) <= 0.0015, (name, g, numbers)
        assert g[9] == problem
