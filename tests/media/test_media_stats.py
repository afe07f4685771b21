"""Stream statistics on synthetic streams whose right answers are known by construction
(loss, wrap, duplicates, reordering, comfort noise) and the flow heuristic that keeps random
UDP from being taken for RTP."""

from __future__ import annotations

import io
import random
import struct

from hypothesis import given
from hypothesis import strategies as st
from pcapgen import Builder

import lyncdump
from lyncdump.media.stats import StreamStats


def _feed(seqs: list[int], *, step_ms: float = 20.0, pts: list[int] | None = None) -> StreamStats:
    st = StreamStats(1, b"\x0a\x00\x00\x01", 1000, b"\x0a\x00\x00\x02", 2000)
    for i, seq in enumerate(seqs):
        pt = pts[i] if pts else 0
        st.packet(i + 1, 100.0 + i * step_ms / 1000, seq & 0xFFFF, (seq * 160) & 0xFFFFFFFF,
                  pt, 0, 172)  # fmt: skip
    return st


def test_perfect_stream() -> None:
    st = _feed(list(range(100)))
    assert (st.packets, st.expected, st.lost, st.sequence_errors) == (100, 100, 0, 0)
    assert abs(st.mean_delta - 20.0) < 1e-6 and st.max_jitter < 1e-6
    assert not st.problem and st.payload == "g711U"


def test_loss_across_sequence_wrap() -> None:
    seqs = [s for s in range(65500, 65600) if s not in (65534, 65535, 65540)]
    st = _feed(seqs)
    assert st.cycles == 1 and st.expected == 100 and st.lost == 3
    assert st.problem and st.sequence_errors == 2


def test_duplicates_make_loss_negative() -> None:
    st = _feed([1, 2, 3, 3, 4, 5])
    assert st.lost == -1 and st.duplicates == 1


def test_reordered_packet_is_a_sequence_error_not_a_loss() -> None:
    st = _feed([1, 2, 4, 3, 5])
    assert st.lost == 0 and st.out_of_order == 1 and st.sequence_errors == 2


def test_comfort_noise_packets_leave_delta_alone() -> None:
    st = _feed(list(range(10)), pts=[8, 8, 8, 13, 8, 8, 8, 8, 8, 8])
    assert st.payload == "g711A, CN"
    # The CN packet and the one after it are not "regular": 7 deltas count, all 20 ms.
    assert abs(st.min_delta - 20.0) < 1e-6 and abs(st.max_delta - 20.0) < 1e-6


def test_one_packet_stream_has_no_delta_or_jitter() -> None:
    st = _feed([7])
    assert (st.min_delta, st.max_delta, st.min_jitter) == (-1.0, 0.0, -1.0)
    assert not st.has_jitter


def _capture_of(payloads: list[bytes]) -> lyncdump.Capture:
    b = Builder()
    for i, p in enumerate(payloads):
        b.udp(0.02 * i, "10.1.1.1", 7000, "10.1.1.2", 7002, p)
    return lyncdump.analyze(io.BytesIO(b.pcap_bytes()))


def test_random_udp_is_not_rtp() -> None:
    rng = random.Random(5)
    payloads = [bytes([0x80 | rng.randrange(64)]) + rng.randbytes(60) for _ in range(200)]
    cap = _capture_of(payloads)
    assert cap.streams() == [] and cap.stats.rtp_like == 200


def test_four_in_sequence_packets_make_a_stream() -> None:
    pkts = [struct.pack("!BBHII", 0x80, 8, 10 + i, 160 * i, 0xABCDEF) + bytes(160)
            for i in range(4)]  # fmt: skip
    (st,) = _capture_of(pkts).streams()
    assert st.packets == 4 and st.ssrc == 0xABCDEF and not st.signalled
    assert _capture_of(pkts[:3]).streams() == []


def _tracker():  # type: ignore[no-untyped-def]
    from lyncdump.media.stats import RtpTracker
    from lyncdump.model import DefectLog

    defects = DefectLog()
    tracker = RtpTracker(defects)
    tracker.announce(b"\x0a\x00\x00\x02", 5000, 1, rtpmap={}, call_id="c")
    tracker.announce(b"\x0a\x00\x00\x02", 5001, 1, rtpmap={}, call_id="c")
    return tracker, defects


A_IP, B_IP = b"\x0a\x00\x00\x01", b"\x0a\x00\x00\x02"


def test_rtcp_report_blocks_and_round_trip_time() -> None:
    tracker, defects = _tracker()
    for i in range(10):
        rtp = struct.pack("!BBHII", 0x80, 0, 100 + i, 160 * i, 0xAAAA) + bytes(160)
        tracker.datagram(i + 1, 1000.0 + 0.02 * i, A_IP, 4000, B_IP, 5000, rtp)
    # The sender's SR at t=1000.5 (NTP middle 32 bits = LSR); the receiver answers at t=1000.8
    # after holding it 0.25 s (DLSR): RTT = 0.8 - 0.5 - 0.25 = 50 ms.
    ntp_sec = int(1000.5) + 2208988800
    ntp = (ntp_sec << 32) | int(0.5 * (1 << 32))
    sr = struct.pack("!BBHIQIII", 0x80, 200, 6, 0xAAAA, ntp, 1600, 10, 1600)
    tracker.datagram(20, 1000.5, A_IP, 4001, B_IP, 5001, sr)
    lsr = (ntp >> 16) & 0xFFFFFFFF
    block = struct.pack("!IIIIII", 0xAAAA, (26 << 24) | 1, 109, 80, lsr, int(0.25 * 65536))
    rr = struct.pack("!BBHI", 0x81, 201, 7, 0xBBBB) + block
    tracker.datagram(21, 1000.8, B_IP, 5001, A_IP, 4001, rr)
    (st,) = tracker.streams
    assert st.rtcp_reports == 1 and st.rtcp_cumulative_lost == 1
    assert abs(st.rtcp_fraction_lost - 26 / 256) < 1e-9
    assert abs(st.rtcp_jitter_ms - 10.0) < 1e-9  # 80 units of the 8 kHz clock
    assert abs(st.rtcp_rtt_ms - 50.0) < 0.1
    assert tracker.rtcp_types == {"SenderReport": 1, "ReceiverReport": 1}
    assert len(defects) == 0


def test_bad_packets_on_announced_flows_are_defects() -> None:
    tracker, defects = _tracker()
    tracker.datagram(1, 1.0, A_IP, 4000, B_IP, 5000, b"\x80\x00\x00")
    tracker.datagram(2, 1.0, A_IP, 4001, B_IP, 5001, b"\x80\xc9\x00\x09" + bytes(8))
    assert [(d.frame, d.layer) for d in defects] == [(1, "rtp"), (2, "rtcp")]
    # The same bytes on a flow nobody announced are just not RTP: no defect.
    tracker.datagram(3, 1.0, A_IP, 6000, A_IP, 6002, b"\x80\xc9\x00\x09" + bytes(8))
    assert len(defects) == 2


def test_bounds_on_flows_and_streams(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from lyncdump.media import stats

    monkeypatch.setattr(stats, "MAX_FLOWS", 3)
    monkeypatch.setattr(stats, "MAX_STREAMS_PER_FLOW", 2)
    tracker, defects = _tracker()
    pkt = struct.pack("!BBHII", 0x80, 0, 1, 0, 1) + bytes(20)
    for port in range(10):  # unannounced flows past the bound are not followed
        tracker.datagram(port, 1.0, A_IP, 7000 + port, A_IP, 9000, pkt)
    assert len(tracker._flows) == 3
    for ssrc in range(5):  # an announced flow with ever new SSRCs keeps 2 streams
        rtp = struct.pack("!BBHII", 0x80, 0, 1, 0, ssrc) + bytes(20)
        tracker.datagram(20 + ssrc, 1.0, A_IP, 4000, B_IP, 5000, rtp)
    assert len(tracker.streams) == 2
    assert sorted(d.reason.split(":")[0] for d in defects) == [
        "more than 3 RTP-like UDP flows",
        "too many SSRCs",
    ]


@given(st.lists(st.binary(min_size=1, max_size=40), max_size=30))
def test_random_datagrams_never_raise(datagrams: list[bytes]) -> None:
    tracker, _defects = _tracker()
    for i, d in enumerate(datagrams):
        payload = bytes([0x80 | (d[0] & 0x3F)]) + d[1:]
        tracker.datagram(i, 1.0 + i * 0.02, A_IP, 4000 + i % 2, B_IP, 5000 + i % 2, payload)
        tracker.datagram(i, 1.0 + i * 0.02, A_IP, 6000, A_IP, 6002, payload)


def test_mos_only_where_the_e_model_applies() -> None:
    assert _feed(list(range(50))).mos == 4.41  # 50 packets of G.711: one second, no loss
    assert _feed(list(range(49))).mos is None  # 0.98 s: too short to rate
    assert _feed(list(range(60)), pts=[13] * 60).mos is None  # comfort noise only
    assert _feed(list(range(60)), pts=[101] * 60).mos is None  # RFC 4733 events only
    assert _feed(list(range(60)), pts=[96] * 60).mos is None  # unnamed dynamic type
    assert _feed(list(range(60)), pts=[34] * 60).mos is None  # H.263 video
    mixed = _feed(list(range(60)), pts=[13] * 5 + [8] * 55)
    assert mixed.payload == "g711A, CN" and mixed.mos == 4.41  # rated on its speech codec
    lossy = _feed([s for s in range(100) if s % 10])
    assert lossy.mos is not None and lossy.mos < 4.0
