"""Every RTP stream tshark 4.0.17 lists for the corpus (ORACLES.md) has the same numbers here:
packets and lost exactly, delta and jitter within 0.01 ms. Streams tshark only finds when told
the port (``-d udp.port==N,rtp``) are checked against that run, whose values are written here."""

from __future__ import annotations

import pytest

import lyncdump
from tests.conftest import corpus_dir
from tests.corpus import oracles

CORPUS = corpus_dir()
pytestmark = pytest.mark.skipif(CORPUS is None, reason="corpus folder not present")

_CACHE: dict[str, lyncdump.Capture] = {}


def _capture(name: str) -> lyncdump.Capture:
    assert CORPUS is not None
    if name not in _CACHE:
        _CACHE[name] = lyncdump.analyze(CORPUS / name)
    return _CACHE[name]


def _oracle_rows() -> list[tuple[str, list[str]]]:
    if CORPUS is None:
        return []
    loaded = oracles.load(CORPUS / "ORACLES.md")
    return [(name, row) for name, o in loaded.items() for row in o.rtp_streams]


def _find(cap: lyncdump.Capture, src: str, dst: str, ssrc: int):  # type: ignore[no-untyped-def]
    for st in cap.streams():
        if str(st.source) == src and str(st.destination) == dst and st.ssrc == ssrc:
            return st
    raise AssertionError(f"no stream {src} -> {dst} 0x{ssrc:08X}")


def _check(st, pkts: int, lost: int, delta: tuple, jitter: tuple) -> None:  # type: ignore[no-untyped-def]
    assert st.packets == pkts
    assert st.lost == lost
    got_delta = (st.min_delta, st.mean_delta, st.max_delta)
    got_jitter = (st.min_jitter, st.mean_jitter, st.max_jitter)
    for g, w in zip(got_delta + got_jitter, delta + jitter, strict=True):
        assert abs(g - w) <= 0.01, (got_delta, got_jitter, delta, jitter)


@pytest.mark.parametrize(("name", "row"), _oracle_rows(), ids=lambda v: str(v)[:40])
def test_stream_matches_tshark(name: str, row: list[str]) -> None:
    # Row: start end src sport dst dport ssrc payload... pkts lost (pct) 6 numbers [X]
    cap = _capture(name)
    src, dst = f"{row[2]}:{row[3]}", f"{row[4]}:{row[5]}"
    ssrc = int(row[6], 16)
    rest = row[7:]
    problem = rest[-1] == "X"
    if problem:
        rest = rest[:-1]
    numbers = [float(x) for x in rest[-6:]]
    pkts, lost = int(rest[-9]), int(rest[-8])
    payload = " ".join(rest[:-9])
    st = _find(cap, src, dst, ssrc)
    _check(st, pkts, lost, tuple(numbers[:3]), tuple(numbers[3:]))
    assert st.payload == payload
    assert st.problem == problem


def test_oracle_rows_are_many() -> None:
    # 15 streams in ORACLES.md, incl. SIP_DTMF2's 2 lost packets and a TURN-relayed one.
    assert len(_oracle_rows()) == 15


@pytest.mark.parametrize(
    ("name", "src", "dst", "ssrc", "pkts", "delta", "jitter"),
    [
        # tshark -d udp.port==5000,rtp -z rtp,streams
        (
            "g711a.pcap",
            "10.1.3.143:5000",
            "10.1.6.18:2006",
            0xDEE0EE8F,
            236,
            (25.112, 29.998, 34.829),
            (0.002, 0.350, 0.829),
        ),
        # tshark -d udp.port==6000,rtp -z rtp,streams
        (
            "speech_8k_ulaw.pcap",
            "10.0.0.60:6000",
            "172.20.0.30:6000",
            0x12345678,
            835,
            (20.0, 20.0, 20.0),
            (0.0, 0.0, 0.0),
        ),
        # tshark -d udp.port==55050,rtp -z rtp,streams (G.729 between two STUN exchanges)
        (
            "stun_classic.pcap",
            "172.16.63.21:13958",
            "172.16.63.224:55050",
            0x3AA6D922,
            12,
            (0.556, 15.689, 20.045),
            (1.215, 2.086, 2.744),
        ),
        (
            "stun_classic.pcap",
            "172.16.63.224:55050",
            "172.16.63.21:13958",
            0x47D66FDE,
            8,
            (4.979, 18.905, 35.014),
            (0.450, 1.479, 2.214),
        ),
    ],  # fmt: skip
)
def test_unsignalled_rtp_found_by_heuristic(
    name: str, src: str, dst: str, ssrc: int, pkts: int, delta: tuple, jitter: tuple
) -> None:
    cap = _capture(name)
    st = _find(cap, src, dst, ssrc)
    assert not st.signalled and st.call_id is None
    _check(st, pkts, 0, delta, jitter)


def test_dtmf_digits_from_rfc4733_events() -> None:
    st = _find(_capture("SIP_DTMF2.cap"), "192.168.105.172:4376", "192.168.105.110:4376",
               0x5711BF84)  # fmt: skip
    # tshark -Y rtpevent -T fields -e rtpevent.event_id: events 6,7,8,9,1,2,3
    assert "".join("0123456789*#ABCD"[e[0]] for e in st.dtmf_events) == "6789123"
    assert st.call_id == "25672@192.168.105.110"


def test_no_streams_on_captures_without_rtp() -> None:
    for name in ("DTMFsipinfo.pcap", "c07-sip-r2.cap", "stun_tcp_multiple_msgs_same_pkt.pcap"):
        assert _capture(name).streams() == []
