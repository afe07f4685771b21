"""The RTP cases issue 13 found wrong, on capture fixtures of our own (tests/media/rtp_fixtures.py)
and against tshark 4.0.17 ``-q -z rtp,streams``:

- a timestamp that restarts mid-stream gave a mean jitter of millions of ms and no problem;
- two SSRCs interleaved on one unsignalled flow (bundled audio and video with RFC 8285 header
  extensions) were not found at all; tshark's ``rtp_udp`` heuristic lists both.

The frozen values are tshark's on the committed files. The last test builds 40 streams with
random resets, jumps, losses, duplicates, late packets, markers, comfort noise and events, and
compares every number with a live tshark run (skipped when tshark is not installed).
"""

from __future__ import annotations

import random
import shutil
import struct
import subprocess
from pathlib import Path

import pytest
from pcapgen import Builder, sip

import lyncdump
from lyncdump.media.stats import StreamStats

from .rtp_fixtures import DATA, FIXTURES

#: tshark 4.0.17: SSRC → (payload, packets, lost, delta min/mean/max, jitter min/mean/max,
#: problem). Timestamp reset: ``-q -z rtp,streams``; bundle: ``--enable-heuristic rtp_udp``.
TSHARK = {
    "rtp-timestamp-reset.pcap": {
        0xFA0001: ("g711A", 100, 0, 18.284, 19.988, 21.623, 0.064, 0.414, 0.627, True),
        0xFA0002: ("g711A", 100, 0, 17.807, 20.010, 22.349, 0.032, 0.602, 0.847, False),
    },
    "rtp-bundled-ssrc.pcap": {
        0x1111AAAA: ("RTPType-111", 50, 0, 17.492, 19.961, 21.970, -1.0, 0.0, 0.0, False),
        0x2222BBBB: ("RTPType-96", 90, 0, 0.400, 15.341, 32.500, -1.0, 0.0, 0.0, False),
    },
}  # fmt: skip


def _row(st: StreamStats) -> tuple:  # type: ignore[type-arg]
    return (st.payload, st.packets, st.lost, st.min_delta, st.mean_delta, st.max_delta,
            st.min_jitter, st.mean_jitter, st.max_jitter, st.problem)  # fmt: skip


def _assert_same(got: tuple, want: tuple, what: object) -> None:  # type: ignore[type-arg]
    assert got[:3] == want[:3], what
    for a, b in zip(got[3:9], want[3:9], strict=True):
        assert abs(a - b) <= 0.0015, (what, got, want)
    assert got[9] == want[9], what


@pytest.mark.parametrize("name", sorted(FIXTURES))
def test_fixture_files_are_what_the_builder_writes(name: str) -> None:
    assert (DATA / name).read_bytes() == FIXTURES[name]().pcap_bytes()


@pytest.mark.parametrize("name", sorted(TSHARK))
def test_fixture_streams_equal_tshark(name: str) -> None:
    streams = lyncdump.analyze(DATA / name).streams()
    assert {st.ssrc for st in streams} == set(TSHARK[name])
    for st in streams:
        _assert_same(_row(st), TSHARK[name][st.ssrc], hex(st.ssrc))


def test_timestamp_reset_is_a_problem_not_a_huge_jitter() -> None:
    st = {s.ssrc: s for s in lyncdump.analyze(DATA / "rtp-timestamp-reset.pcap").streams()}
    reset = st[0xFA0001]
    # The 60 packets after the restart lie before the first timestamp: none of them moves the
    # clock, so jitter stays the network's (before the fix: 3,592,263 ms mean).
    assert reset.wrong_timestamps == 60 and reset.sequence_errors == 0
    assert reset.problem and reset.max_jitter < 1.0
    assert not st[0xFA0002].problem and st[0xFA0002].wrong_timestamps == 0


def test_bundled_ssrcs_are_found_without_signalling() -> None:
    streams = lyncdump.analyze(DATA / "rtp-bundled-ssrc.pcap").streams()
    assert [(s.ssrc, s.signalled, s.first_frame) for s in streams] == [
        (0x1111AAAA, False, 1), (0x2222BBBB, False, 2),
    ]  # fmt: skip
    video = streams[1]
    assert video.markers == 30 and video.bytes == 90 * (12 + 12 + 240)


def test_undecided_flows_hold_a_bounded_number_of_bytes(monkeypatch: pytest.MonkeyPatch) -> None:
    from lyncdump.media import stats
    from lyncdump.model import DefectLog

    monkeypatch.setattr(stats, "HEURISTIC_HOLD_BYTES", 20_000)
    tracker = stats.RtpTracker(DefectLog())
    rng = random.Random(5)
    for i in range(6000):  # random "version 2" datagrams on 300 flows: none is RTP
        payload = bytes([0x80 | rng.randrange(64)]) + rng.randbytes(rng.randrange(11, 300))
        tracker.datagram(i + 1, i * 0.001, b"\xcb\x00q\x07", 40000 + i % 300,
                         b"\xcb\x00q\x08", 9, payload)  # fmt: skip
        assert tracker._held_bytes <= 20_000
    assert all(len(f.pending or ()) <= stats.HEURISTIC_HOLD for f in tracker._flows.values())
    assert tracker.streams == []
    tracker.finish()
    assert tracker._held_bytes == 0


# -- random streams against a live tshark -----------------------------------------------------


def _random_stream(rng: random.Random) -> list[tuple[float, int, int, int, int]]:
    out = []
    seq = rng.randrange(65536)
    ts = rng.choice((rng.randrange(1 << 32), 0xFFFFFFFF - rng.randrange(5000), rng.randrange(3000)))
    t = 0.0
    pt = rng.choice((0, 8))
    for _ in range(120):
        t += 0.02 + rng.uniform(-0.004, 0.006)
        r = rng.random()
        marker, p = 0, pt
        if r < 0.03:
            ts = rng.randrange(1 << 32)  # a random reset
        elif r < 0.05:
            ts = (ts - rng.randrange(160, 200_000)) & 0xFFFFFFFF  # a jump back
        elif r < 0.07:
            seq = rng.randrange(65536)  # a sequence reset
        elif r < 0.09:
            seq = (seq + rng.randrange(2, 6)) & 0xFFFF  # loss
        elif r < 0.11:
            out.append((t - 0.001, seq, ts, p, 0))  # a duplicate
        elif r < 0.13:
            marker = 1
        elif r < 0.15:
            p = 13
        elif r < 0.17:
            p = 101
        elif r < 0.19:
            seq = (seq - rng.randrange(1, 4)) & 0xFFFF  # late
        out.append((t, seq, ts, p, marker))
        seq = (seq + 1) & 0xFFFF
        ts = (ts + 160) & 0xFFFFFFFF
    return out


def _random_capture(seed: int, count: int) -> Builder:
    rng = random.Random(seed)
    b = Builder()
    for k in range(count):
        a, z = f"10.1.{k}.1", f"10.2.{k}.2"
        for first, src, dst, port in (("INVITE sip:b@x SIP/2.0", a, z, 4000),
                                      ("SIP/2.0 200 OK", z, a, 5000)):  # fmt: skip
            sdp = (f"v=0\no=- 0 0 IN IP4 {src}\ns=-\nc=IN IP4 {src}\nt=0 0\nm=audio {port} "
                   "RTP/AVP 0 8 13 101\na=rtpmap:101 telephone-event/8000\n")  # fmt: skip
            msg = sip(f"{first}\nVia: SIP/2.0/UDP {a};branch=z9hG4bK{k}\nFrom: <sip:a@x>;tag=1\n"
                      f"To: <sip:b@x>\nCall-ID: r{k}\nCSeq: 1 INVITE\nContent-Type: "
                      f"application/sdp\nContent-Length: auto\n\n{sdp}")  # fmt: skip
            b.udp(k * 0.001 + (0.1 if port == 5000 else 0.0), src, 5060, dst, 5060, msg)
        for t, seq, ts, pt, marker in _random_stream(rng):
            body = struct.pack("!BBH", 1, 0x0A, 160) if pt == 101 else b"\xd5" * 160
            rtp = struct.pack("!BBHII", 0x80, pt | (marker << 7), seq, ts, 7 + k) + body
            b.udp(0.2 + t, a, 4000, z, 5000, rtp)
    b.frames.sort(key=lambda f: f[0])
    return b


def _tshark_streams(path: Path) -> dict[int, tuple]:  # type: ignore[type-arg]
    out = subprocess.run(
        ["tshark", "-r", str(path), "-q", "-z", "rtp,streams"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    rows = {}
    for line in out.splitlines():
        p = line.split()
        if len(p) < 15 or not p[6].startswith("0x"):
            continue
        problem = p[-1] == "X"
        if problem:
            p = p[:-1]
        pct = max(i for i, x in enumerate(p) if x.startswith("("))
        numbers = tuple(float(x) for x in p[-6:])
        rows[int(p[6], 16)] = (" ".join(p[7 : pct - 2]), int(p[pct - 2]), int(p[pct - 1]),
                               *numbers, problem)  # fmt: skip
    return rows


@pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark not installed")
@pytest.mark.parametrize("seed", [1])
def test_random_streams_equal_live_tshark(seed: int, tmp_path: Path) -> None:
    path = tmp_path / f"random{seed}.pcap"
    _random_capture(seed, 40).write(str(path))
    want = _tshark_streams(path)
    got = {st.ssrc: _row(st) for st in lyncdump.analyze(path).streams()}
    assert len(want) == 40 and set(got) == set(want)
    for ssrc, row in want.items():
        _assert_same(got[ssrc], row, ssrc)
