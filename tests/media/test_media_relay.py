"""Relayed media says it is relayed: a stream that went through TURN names the server, the
allocation and the outer 5-tuple its packets travelled on (media/relay.py), in the library,
the stream line, ``--json``, ``--streams-csv`` and the export tables.

lyncdump counts relayed media as the flow the far end sees (relayed address ↔ peer); tshark
4.0.17 lists the same packets under the outer client ↔ server 5-tuple, and only with its RTP
heuristics on (``--enable-heuristic rtp_udp`` for raw MS-TURN media, ``rtp_stun`` for RTP
inside ChannelData and Send/Data indications; without them it lists none of these streams,
the SDP naming the relayed address and not the outer one). So ``relay.outer_src``,
``relay.outer_dst`` and the SSRC find tshark's row, whose numbers must equal the stream's.
tshark decodes no MS-TURN TCP framing (pseudo-TLS on 443 shows as "Ignored Unknown Record",
and ``-d tcp.port==443,stun`` finds no RTP either): those streams are checked against the
scenario that wrote them (tools/scenario_turn.py) and the allocation's per-peer counts.
"""

from __future__ import annotations

import csv
import io
import json
import pickle
import shutil
import struct
import subprocess
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from pcapgen import Builder

import lyncdump
from lyncdump.cli import command
from lyncdump.media import stats
from lyncdump.media import stun as s
from lyncdump.media.relay import RelayPath
from lyncdump.model import DefectLog, Endpoint

from ..conftest import CAPTURES

TSHARK = ["tshark", "--enable-heuristic", "rtp_udp", "--enable-heuristic", "rtp_stun"]
needs_tshark = pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark not installed")

# -- a capture with every RFC 5766 mechanism ----------------------------------------------------

CLIENT, TURN, PEER = "10.0.1.30", "198.51.100.30", "203.0.113.60"


def _tid(n: int) -> bytes:
    return s.MAGIC_COOKIE_BYTES + struct.pack("!III", 0x52454C41, 0x59000000, n)


def _xaddr(ip: str, port: int, tid: bytes) -> bytes:
    return s.encode_address(bytes(int(x) for x in ip.split(".")), port, tid, True)


def _rtp(seq: int, ssrc: int) -> bytes:
    return struct.pack("!BBHII", 0x80, 0, seq, seq * 160, ssrc) + bytes([0xD5]) * 160


def _channel(number: int, payload: bytes) -> bytes:
    return number.to_bytes(2, "big") + len(payload).to_bytes(2, "big") + payload


def rfc5766() -> Builder:
    """Three TURN clients of one server (RFC 5766, UDP 3478):

    - 10.0.1.30:50040 allocates (relayed 198.51.100.30:49200), permits the peer
      203.0.113.60:40010, sends 5 RTP packets in Send indications and gets 5 in Data
      indications, binds channel 0x4001, then 5 more each way in ChannelData;
    - 10.0.1.30:50042 allocates (relayed :49202) and sends 6 RTP packets on channel 0x4002,
      whose ChannelBind the capture missed (no peer known);
    - 10.0.1.30:50044 gets 6 RTP packets in Data indications from 203.0.113.60:40014 and its
      Allocate was not captured (no allocation, no relayed address).
    """
    b = Builder()
    c, srv = (CLIENT, 50040), (TURN, 3478)

    def up(t: float, data: bytes, client: tuple[str, int] = c) -> None:
        b.udp(t, client[0], client[1], srv[0], srv[1], data)

    def down(t: float, data: bytes, client: tuple[str, int] = c) -> None:
        b.udp(t, srv[0], srv[1], client[0], client[1], data)

    t1 = _tid(1)
    up(0.0, s.serialize(0x0003, t1, [(0x0019, bytes([17, 0, 0, 0]))]))
    down(0.01, s.serialize(0x0103, t1, [(0x0016, _xaddr(TURN, 49200, t1)),
                                        (0x0020, _xaddr("192.0.2.80", 50040, t1)),
                                        (0x000D, (600).to_bytes(4, "big"))]))  # fmt: skip
    t2 = _tid(2)
    up(0.02, s.serialize(0x0008, t2, [(0x0012, _xaddr(PEER, 40010, t2))]))
    down(0.03, s.serialize(0x0108, t2, []))
    t = 0.1
    for i in range(5):
        tid = _tid(100 + i)
        up(t, s.serialize(0x0016, tid, [(0x0012, _xaddr(PEER, 40010, tid)),
                                        (0x0013, _rtp(1000 + i, 0xA1A1A1A1))]))  # fmt: skip
        tid = _tid(200 + i)
        data = [(0x0012, _xaddr(PEER, 40010, tid)), (0x0013, _rtp(3000 + i, 0xB2B2B2B2))]
        down(t + 0.005, s.serialize(0x0017, tid, data))
        t += 0.02
    t3 = _tid(3)
    up(
        t,
        s.serialize(0x0009, t3, [(0x000C, b"\x40\x01\x00\x00"), (0x0012, _xaddr(PEER, 40010, t3))]),
    )
    down(t + 0.005, s.serialize(0x0109, t3, []))
    t += 0.01
    for i in range(5, 10):
        up(t, _channel(0x4001, _rtp(1000 + i, 0xA1A1A1A1)))
        down(t + 0.005, _channel(0x4001, _rtp(3000 + i, 0xB2B2B2B2)))
        t += 0.02
    c2 = (CLIENT, 50042)
    t4 = _tid(4)
    up(0.5, s.serialize(0x0003, t4, [(0x0019, bytes([17, 0, 0, 0]))]), c2)
    down(0.51, s.serialize(0x0103, t4, [(0x0016, _xaddr(TURN, 49202, t4)),
                                        (0x000D, (600).to_bytes(4, "big"))]), c2)  # fmt: skip
    for i in range(6):
        up(0.6 + i * 0.02, _channel(0x4002, _rtp(500 + i, 0xC3C3C3C3)), c2)
    c3 = (CLIENT, 50044)
    for i in range(6):
        tid = _tid(300 + i)
        data = [(0x0012, _xaddr(PEER, 40014, tid)), (0x0013, _rtp(700 + i, 0xD4D4D4D4))]
        down(0.8 + i * 0.02, s.serialize(0x0017, tid, data), c3)
    return b


@pytest.fixture(scope="module")
def rfc5766_pcap(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("relay") / "rfc5766-relay.pcap"
    rfc5766().write(str(path))
    return path


# -- what the streams must say -----------------------------------------------------------------


def _relay(via: list[str], transport: str, outer: tuple[str, str], server: str | None,
           relayed: str | None, allocation: int | None, channel: str | None = None
           ) -> dict[str, Any]:  # fmt: skip
    return {"via": via, "transport": transport, "outer_src": outer[0], "outer_dst": outer[1],
            "server": server, "relayed": relayed, "allocation": allocation,
            "channel": channel}  # fmt: skip


UP_A, DOWN_A = ("10.0.1.20:50020", "198.51.100.10:3478"), ("198.51.100.10:3478", "10.0.1.20:50020")
UP_C, DOWN_C = ("10.0.1.20:50030", "198.51.100.20:3478"), ("198.51.100.20:3478", "10.0.1.20:50030")
UP_T, DOWN_T = ("10.0.1.20:50011", "198.51.100.10:443"), ("198.51.100.10:443", "10.0.1.20:50011")
EDGE, EDGE_TCP, EDGE_RELAYED = "198.51.100.10:3478", "198.51.100.10:443", "198.51.100.10:56000"
ACTIVE, CHANNEL = ["active-destination"], ["channel-data"]

#: file -> (src, dst, SSRC, packets) -> relay object, for every stream of the file.
EXPECTED: dict[str, dict[tuple[str, str, int, int], dict[str, Any] | None]] = {
    "lync-turn-udp.pcap": {
        (EDGE_RELAYED, "203.0.113.50:40002", 0x11223344, 4):
            _relay(ACTIVE, "UDP", UP_A, EDGE, EDGE_RELAYED, 1),
        ("203.0.113.50:40002", EDGE_RELAYED, 0x11223344, 4):
            _relay(ACTIVE, "UDP", DOWN_A, EDGE, EDGE_RELAYED, 1),
        ("198.51.100.20:49170", "203.0.113.50:40004", 0x11223344, 3):
            _relay(CHANNEL, "UDP", UP_C, "198.51.100.20:3478", "198.51.100.20:49170", 2, "0x4001"),
        ("203.0.113.50:40004", "198.51.100.20:49170", 0x11223344, 3):
            _relay(CHANNEL, "UDP", DOWN_C, "198.51.100.20:3478", "198.51.100.20:49170", 2,
                   "0x4001"),
    },
    "lync-turn-tcp443.pcap": {
        ("198.51.100.10:55000", "203.0.113.50:40000", 0x11223344, 3):
            _relay(ACTIVE, "TCP", UP_T, EDGE_TCP, "198.51.100.10:55000", 1),
        ("203.0.113.50:40000", "198.51.100.10:55000", 0x11223344, 3):
            _relay(ACTIVE, "TCP", DOWN_T, EDGE_TCP, "198.51.100.10:55000", 1),
    },
    "lync-av-call.pcapng": {
        (EDGE_RELAYED, "203.0.113.50:40000", 0x00001001, 100):
            _relay(ACTIVE, "UDP", UP_A, EDGE, EDGE_RELAYED, 1),
        ("203.0.113.50:40000", EDGE_RELAYED, 0x00005005, 100):
            _relay(ACTIVE, "UDP", DOWN_A, EDGE, EDGE_RELAYED, 1),
        ("198.51.100.10:55000", "203.0.113.50:40002", 0x000007D0, 40):
            _relay(ACTIVE, "TCP", UP_T, EDGE_TCP, "198.51.100.10:55000", 2),
        ("203.0.113.50:40002", "198.51.100.10:55000", 0x00000BB8, 40):
            _relay(ACTIVE, "TCP", DOWN_T, EDGE_TCP, "198.51.100.10:55000", 2),
    },
    "sip-udp-call.pcap": {},  # a direct call: streams (if any) say nothing of a relay
}  # fmt: skip

UP_R = ("10.0.1.30:50040", "198.51.100.30:3478")
DOWN_R = ("198.51.100.30:3478", "10.0.1.30:50040")
RFC5766 = {
    ("198.51.100.30:49200", "203.0.113.60:40010", 0xA1A1A1A1, 10):
        _relay(["send-indication", "channel-data"], "UDP", UP_R, "198.51.100.30:3478",
               "198.51.100.30:49200", 1, "0x4001"),
    ("203.0.113.60:40010", "198.51.100.30:49200", 0xB2B2B2B2, 10):
        _relay(["data-indication", "channel-data"], "UDP", DOWN_R, "198.51.100.30:3478",
               "198.51.100.30:49200", 1, "0x4001"),
    # Channel 0x4002 was never bound in the capture: the flow keeps the outer addresses.
    ("10.0.1.30:50042", "198.51.100.30:3478", 0xC3C3C3C3, 6):
        _relay(CHANNEL, "UDP", ("10.0.1.30:50042", "198.51.100.30:3478"), "198.51.100.30:3478",
               "198.51.100.30:49202", 2, "0x4002"),
    # No Allocate captured: the server stands in for the relayed address.
    ("203.0.113.60:40014", "198.51.100.30:3478", 0xD4D4D4D4, 6):
        _relay(["data-indication"], "UDP", ("198.51.100.30:3478", "10.0.1.30:50044"),
               "198.51.100.30:3478", None, None),
}  # fmt: skip

#: tshark 4.0.17 ``--enable-heuristic rtp_udp --enable-heuristic rtp_stun -q -z rtp,streams``:
#: (outer src, outer dst, SSRC) -> packets, lost, delta min/mean/max, jitter min/mean/max (ms).
TSHARK_ROWS: dict[str, dict[tuple[str, str, int], tuple[Any, ...]]] = {
    "lync-turn-udp.pcap": {
        (*UP_A, 0x11223344): (4, 0, 20.0, 20.0, 20.0, 0.0, 0.0, 0.0),
        (*DOWN_A, 0x11223344): (4, 0, 20.0, 20.0, 20.0, 0.0, 0.0, 0.0),
        (*UP_C, 0x11223344): (3, 0, 20.0, 20.0, 20.0, 0.0, 0.0, 0.0),
        (*DOWN_C, 0x11223344): (3, 0, 20.0, 20.0, 20.0, 0.0, 0.0, 0.0),
    },
    "lync-turn-tcp443.pcap": {},  # MS-TURN TCP framing: tshark finds no RTP
    "lync-av-call.pcapng": {  # the audio on UDP 3478; the video on TCP 443 it does not see
        (*UP_A, 0x00001001): (100, 0, 20.0, 20.0, 20.0, 0.0, 0.0, 0.0),
        (*DOWN_A, 0x00005005): (100, 0, 16.0, 20.0, 24.0, 0.0, 0.976, 1.330),
    },
    "rfc5766-relay.pcap": {
        (*UP_R, 0xA1A1A1A1): (10, 0, 20.0, 21.111, 30.0, 0.0, 0.306, 0.625),
        (*DOWN_R, 0xB2B2B2B2): (10, 0, 20.0, 21.111, 30.0, 0.0, 0.306, 0.625),
        ("10.0.1.30:50042", "198.51.100.30:3478", 0xC3C3C3C3): (6, 0, 20.0, 20.0, 20.0, 0.0,
                                                                0.0, 0.0),
        ("198.51.100.30:3478", "10.0.1.30:50044", 0xD4D4D4D4): (6, 0, 20.0, 20.0, 20.0, 0.0,
                                                                0.0, 0.0),
    },
}  # fmt: skip


def _records(path: Path, *args: str) -> list[dict[str, Any]]:
    result = CliRunner().invoke(command, ["--json", *args, str(path)])
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.stdout.splitlines()]


def _streams(path: Path) -> dict[tuple[str, str, int, int], dict[str, Any] | None]:
    return {
        (r["src"], r["dst"], r["ssrc"], r["packets"]): r["relay"]
        for r in _records(path)
        if r["record"] == "stream"
    }


def _numbers(st: Any) -> tuple[Any, ...]:
    return (st.packets, st.lost, st.min_delta, st.mean_delta, st.max_delta, st.min_jitter,
            st.mean_jitter, st.max_jitter)  # fmt: skip


def _same_as_tshark(streams: list[Any], rows: dict[tuple[str, str, int], tuple[Any, ...]]) -> None:
    """Every relayed stream is the tshark row of its outer 5-tuple and SSRC, number for number;
    every tshark row is a relayed stream (TCP-relayed streams have no row: tshark misses them)."""
    by_outer = {
        (str(st.relay.outer_src), str(st.relay.outer_dst), st.ssrc): st
        for st in streams
        if st.relay is not None and st.relay.transport == "UDP"
    }
    assert sorted(by_outer) == sorted(rows)
    for key, want in rows.items():
        got = _numbers(by_outer[key])
        assert got[:2] == want[:2], key
        for g, w in zip(got[2:], want[2:], strict=True):
            assert abs(g - w) <= 0.0015, (key, got, want)


# -- the samples ----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_sample_streams_name_their_relay(name: str) -> None:
    """Every stream of the TURN samples carries the relay object the scenario implies (MS-TURN
    raw media on UDP 3478 and TCP 443 after Set Active Destination, RFC 5766 ChannelData);
    every other stream carries null."""
    got = _streams(CAPTURES / name)
    relayed = {k: v for k, v in got.items() if v is not None}
    assert relayed == EXPECTED[name]


@pytest.mark.parametrize("name", sorted(k for k in TSHARK_ROWS if k in EXPECTED))
def test_relayed_streams_are_tsharks_rows_of_the_outer_5_tuple(name: str) -> None:
    _same_as_tshark(lyncdump.analyze(CAPTURES / name).streams(), TSHARK_ROWS[name])


def test_tcp_relayed_streams_match_what_the_allocation_relayed() -> None:
    """tshark sees none of the TCP 443 media: the allocation's per-peer counts (packets that
    went through the MS-TURN framer, whatever they were) and the scenario are the oracle."""
    cap = lyncdump.analyze(CAPTURES / "lync-turn-tcp443.pcap")
    (alloc,) = cap.allocations()
    traffic = alloc.peers["203.0.113.50:40000"]
    relayed = [st for st in cap.streams() if st.relay is not None]
    (up,) = [st for st in relayed if st.relay.outer_src == alloc.client]
    (down,) = [st for st in relayed if st.relay.outer_dst == alloc.client]
    assert (up.packets, down.packets) == (3, 3) == (traffic.kinds["rtp"] // 2,) * 2
    assert up.relay.allocation == down.relay.allocation == alloc.id
    assert [up.relay.outer_src, up.relay.outer_dst] == [alloc.client, alloc.server]
    assert [down.relay.outer_src, down.relay.outer_dst] == [alloc.server, alloc.client]
    assert str(up.source) == str(alloc.relayed[0]) == "198.51.100.10:55000"


# -- every RFC 5766 mechanism ---------------------------------------------------------------


def test_send_data_indications_and_channel_data(rfc5766_pcap: Path) -> None:
    """Send indications then ChannelData on one flow: one stream (as tshark shows one), its
    mechanisms in the order seen; an unbound channel keeps the outer addresses; Data
    indications without a captured Allocate name the server and no allocation."""
    assert _streams(rfc5766_pcap) == RFC5766
    _same_as_tshark(lyncdump.analyze(rfc5766_pcap).streams(), TSHARK_ROWS["rfc5766-relay.pcap"])


@needs_tshark
@pytest.mark.parametrize("name", sorted(TSHARK_ROWS))
def test_frozen_tshark_rows_are_what_tshark_prints(name: str, rfc5766_pcap: Path) -> None:
    path = rfc5766_pcap if name == "rfc5766-relay.pcap" else CAPTURES / name
    out = subprocess.run(
        [*TSHARK, "-r", str(path), "-q", "-z", "rtp,streams"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    rows = {}
    for line in out.splitlines():
        p = line.split()
        if len(p) >= 17 and p[6].startswith("0x"):
            numbers = (int(p[8]), int(p[9]), *(float(x) for x in p[11:17]))
            rows[(f"{p[2]}:{p[3]}", f"{p[4]}:{p[5]}", int(p[6], 16))] = numbers
    want = TSHARK_ROWS[name]
    assert sorted(rows) == sorted(want)
    for key, numbers in rows.items():
        assert numbers == pytest.approx(want[key], abs=0.0005), key


# -- the outputs ----------------------------------------------------------------------------------


def test_stream_line_says_relayed(rfc5766_pcap: Path) -> None:
    out = CliRunner().invoke(command, [str(rfc5766_pcap)]).stdout
    assert (
        "  198.51.100.30:49200 → 203.0.113.60:40010  0xA1A1A1A1  g711U  10 pkts  lost 0 (0.0%)  "
        "delta 20.000/21.111/30.000 ms  jitter 0.000/0.306/0.625 ms  · relayed by TURN "
        "198.51.100.30:3478 (#1, relayed 198.51.100.30:49200) on UDP 10.0.1.30:50040 → "
        "198.51.100.30:3478, Send indication + ChannelData 0x4001\n"
    ) in out
    assert (
        "· relayed by TURN 198.51.100.30:3478 on UDP 198.51.100.30:3478 → 10.0.1.30:50044, "
        "Data indication\n"
    ) in out
    tcp = CliRunner().invoke(command, ["--calls", str(CAPTURES / "lync-turn-tcp443.pcap")]).stdout
    assert (
        "· relayed by TURN 198.51.100.10:443 (#1, relayed 198.51.100.10:55000) on TCP "
        "198.51.100.10:443 → 10.0.1.20:50011, data frames after Set Active Destination\n"
    ) in tcp
    udp = CliRunner().invoke(command, [str(CAPTURES / "lync-turn-udp.pcap")]).stdout
    assert "on UDP 10.0.1.20:50020 → 198.51.100.10:3478, raw after Set Active Destination\n" in udp


def test_call_records_carry_the_relay_of_their_streams() -> None:
    (call,) = [r for r in _records(CAPTURES / "lync-av-call.pcapng", "--calls")
               if r["record"] == "call"]  # fmt: skip
    got = {(st["src"], st["dst"], st["ssrc"], st["packets"]): st["relay"] for st in call["streams"]}
    assert got == EXPECTED["lync-av-call.pcapng"]


def test_streams_csv_has_the_relay_columns(tmp_path: Path) -> None:
    out = tmp_path / "streams.csv"
    result = CliRunner().invoke(
        command, ["--streams-csv", str(out), str(CAPTURES / "lync-turn-udp.pcap")]
    )
    assert result.exit_code == 0
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))
    assert [(r["src"], r["relay_via"], r["relay_transport"], r["relay_outer_src"],
             r["relay_outer_dst"], r["relay_server"], r["relay_relayed"], r["relay_allocation"],
             r["relay_channel"]) for r in rows] == [
        (EDGE_RELAYED, "active-destination", "UDP", *UP_A, EDGE, EDGE_RELAYED, "1", ""),
        ("203.0.113.50:40002", "active-destination", "UDP", *DOWN_A, EDGE, EDGE_RELAYED, "1", ""),
        ("198.51.100.20:49170", "channel-data", "UDP", *UP_C, "198.51.100.20:3478",
         "198.51.100.20:49170", "2", "0x4001"),
        ("203.0.113.50:40004", "channel-data", "UDP", *DOWN_C, "198.51.100.20:3478",
         "198.51.100.20:49170", "2", "0x4001"),
    ]  # fmt: skip
    direct = tmp_path / "direct.csv"
    CliRunner().invoke(
        command, ["--streams-csv", str(direct), str(CAPTURES / "lync-call-srtp.pcap")]
    )
    plain = list(csv.DictReader(io.StringIO(direct.read_text(encoding="utf-8"))))
    assert plain and all(r["relay_via"] == r["relay_outer_src"] == "" for r in plain)


def test_export_tables_hold_the_relay(rfc5766_pcap: Path, tmp_path: Path) -> None:
    """The streams table's ``relay`` struct round-trips to the JSON (nulls included)."""
    pytest.importorskip("pyarrow")
    from ..export.test_tables import check_tables, read_table

    check_tables(rfc5766_pcap, tmp_path)
    rows = {r["ssrc"]: r["relay"] for r in read_table(tmp_path, "streams").to_pylist()}
    assert rows[0xA1A1A1A1]["via"] == ["send-indication", "channel-data"]
    assert (rows[0xA1A1A1A1]["outer_src_ip"], rows[0xA1A1A1A1]["outer_src_port"]) == (
        "10.0.1.30", 50040)  # fmt: skip
    assert rows[0xD4D4D4D4]["relayed_ip"] is None and rows[0xD4D4D4D4]["allocation"] is None


# -- the library, bounds and both paths ------------------------------------------------------


def test_library_stream_relay_is_a_value_that_pickles(rfc5766_pcap: Path) -> None:
    cap = lyncdump.analyze(rfc5766_pcap)
    st = next(st for st in cap.streams() if st.ssrc == 0xA1A1A1A1)
    assert st.relay == RelayPath(
        via=("send-indication", "channel-data"), transport="UDP",
        outer_src=Endpoint("10.0.1.30", 50040), outer_dst=Endpoint("198.51.100.30", 3478),
        server=Endpoint("198.51.100.30", 3478), relayed=Endpoint("198.51.100.30", 49200),
        allocation=1, channel=0x4001,
    )  # fmt: skip
    assert pickle.loads(pickle.dumps(st)).relay == st.relay
    assert st.relay.allocation == cap.allocations()[0].id


def test_relay_paths_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    """One path per relayed flow direction, at most MAX_FLOWS of them: past it new flows are
    simply not described (their packets are still counted)."""
    monkeypatch.setattr(stats, "MAX_FLOWS", 2)
    tracker = stats.RtpTracker(DefectLog())
    path = RelayPath(("channel-data",), "UDP", Endpoint("10.0.0.1", 1), Endpoint("10.0.0.2", 2))
    for port in range(5):
        tracker.set_relay_path((b"\x0a\x00\x00\x01", port, b"\x0a\x00\x00\x02", 9), path)
    assert len(tracker._relays) == 2
    assert tracker.relay_path((b"\x0a\x00\x00\x01", 4, b"\x0a\x00\x00\x02", 9)) is None


def test_non_media_inside_turn_describes_no_flow(rfc5766_pcap: Path) -> None:
    """ICE checks and garbage relayed through TURN are not RTP: no relay path is kept for them."""
    cap = lyncdump.analyze(rfc5766_pcap)
    assert cap.media is not None
    assert len(cap.media.rtp._relays) == 4  # the four RTP flow directions, nothing else
    for name in ("lync-turn-tcp443.pcap",):  # its Send request carries an ICE check
        tcp = lyncdump.analyze(CAPTURES / name)
        assert tcp.media is not None and len(tcp.media.rtp._relays) == 2


def test_compiled_and_pure_paths_agree_on_relayed_media(
    rfc5766_pcap: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ChannelData and indications always take the Python path; raw MS-TURN media after Set
    Active Destination is taken over by the compiled fast path once its flow is settled, after
    the first packet has set the stream's relay: both paths give the same streams, relay
    included (test_media_fastpath.snapshot compares every StreamStats slot)."""
    from lyncdump import fastpath

    from .test_media_fastpath import both, edge_relay

    if not fastpath.AVAILABLE:
        pytest.skip("compiled fast path not in use (" + fastpath.describe() + ")")
    fast, pure, _ = both(rfc5766_pcap.read_bytes(), monkeypatch)
    assert fast == pure
    assert all(st["relay"] is not None for st in fast["streams"])  # type: ignore[union-attr]
    fast, pure, consumed = both(edge_relay(), monkeypatch)
    assert fast == pure
    assert consumed > 2000  # the Edge's raw relayed media went through the fast path
    relays = {st["relay"] for st in fast["streams"]}  # type: ignore[union-attr]
    assert {r.via for r in relays if r is not None} == {("active-destination",)}
    assert None in relays  # the direct flow beside it
