"""Calls through a relay that answers every call with one media address, recorded from real SIPp
traffic on loopback (tools/record_sipp.sh relay; scenarios in tools/sipp/): over UDP and over
TCP, 40 overlapping answered calls with RTP, 6 rejected with 486, 6 cancelled (487), 2 answered
PCMU while the caller sends PCMA, 2 with one-way audio, 1 caller behind a NAT.

Every call is checked one by one against its own SDP: its streams leave from and arrive at the
port its offer named, to and from the relay's one answer address, and nothing else. tshark
4.0.17 on the same files (``-Y sip``, ``-q -z rtp,streams``) counts 324 SIP messages and 88
RTP streams of 40 packets, none lost, in each; the last test compares every number of the
stream table with a live tshark run.
"""

from __future__ import annotations

import shutil
import subprocess
from collections import Counter

import pytest

import lyncdump
from lyncdump.analysis.calls import Call
from lyncdump.model import Endpoint

from ..conftest import CAPTURES

FILES = {"udp": CAPTURES / "sipp-relay-udp.pcapng.gz", "tcp": CAPTURES / "sipp-relay-tcp.pcapng.gz"}
RELAY = Endpoint("127.0.0.1", 6000)
_CACHE: dict[str, tuple[lyncdump.Capture, list[Call]]] = {}


def _calls(transport: str) -> tuple[lyncdump.Capture, list[Call]]:
    if transport not in _CACHE:
        cap = lyncdump.analyze(FILES[transport])
        _CACHE[transport] = (cap, cap.calls())
    return _CACHE[transport]


def _offer(call: Call) -> Endpoint:
    """The address the call's INVITE offered (c= and m= port of its SDP)."""
    sd = call.exchanges[0].offer_parts[0].sdp
    conn = sd.media_connection(sd.media[0])
    assert conn is not None
    return Endpoint(conn.address, sd.media[0].port)


def _service(call: Call) -> str:
    assert call.callee is not None
    return call.callee.split(":")[1].split("@")[0]


@pytest.mark.parametrize("transport", sorted(FILES))
def test_what_was_recorded(transport: str) -> None:
    cap, calls = _calls(transport)
    assert cap.stats.sip_messages == 324 and not cap.defects.items
    assert {m.transport for m in cap.messages()} == {transport.upper()}
    assert Counter(_service(c) for c in calls) == {
        "relay": 41, "busy": 6, "cancel": 6, "pcmu": 2, "oneway": 2,
    }  # fmt: skip
    assert Counter(c.state for c in calls) == {"completed": 45, "rejected": 6, "cancelled": 6}
    streams = cap.streams()
    assert len(streams) == 88 and {(s.packets, s.lost) for s in streams} == {(40, 0)}


@pytest.mark.parametrize("transport", sorted(FILES))
def test_forty_overlapping_calls_share_one_answer_address(transport: str) -> None:
    _cap, calls = _calls(transport)
    relayed = [c for c in calls if _service(c) == "relay" and _offer(c).ip == "127.0.0.1"]
    assert len(relayed) == 40
    assert {str(c.media[0].answer_address) for c in relayed} == {"127.0.0.1:6000"}
    # All forty are up at once: the last one began before the first one ended.
    assert max(c.start for c in relayed) < min(c.end for c in relayed)  # type: ignore[type-var]


@pytest.mark.parametrize("transport", sorted(FILES))
def test_every_answered_call_has_its_own_streams(transport: str) -> None:
    _cap, calls = _calls(transport)
    for call in calls:
        service, offer = _service(call), _offer(call)
        got = {(s.source, s.destination, s.join_rule) for s in call.streams}
        assert call.ambiguous == [], call.call_id
        if service in ("busy", "cancel"):
            assert got == set() and call.answer_time is None, call.call_id
            continue
        assert call.state == "completed" and call.end_reason == "BYE from caller"
        for st in call.streams:
            assert st.call_id == call.call_id and st.packets == 40 and st.mos == 4.41
            assert st.first_time >= call.answer_time  # type: ignore[operator]
        if service == "oneway":
            assert got == {(offer, Endpoint("127.0.0.1", 6020), "both ends")}, call.call_id
        elif offer.ip == "192.168.1.50":  # behind a NAT: the RTP leaves from the public address
            public = Endpoint("127.0.0.1", offer.port)
            assert got == {(public, RELAY, "by elimination"), (RELAY, public, "by elimination")}
        else:  # the source port is the offer's port, the destination the relay's one address
            assert got == {(offer, RELAY, "both ends"), (RELAY, offer, "both ends")}, call.call_id


@pytest.mark.parametrize("transport", sorted(FILES))
def test_outcomes_and_findings_call_by_call(transport: str) -> None:
    _cap, calls = _calls(transport)
    for call in calls:
        service = _service(call)
        kinds = sorted(f.kind for f in call.findings)
        if service == "busy":
            assert (call.state, call.end_reason, call.final_status) == (
                "rejected", "486 Busy Here", 486,
            )  # fmt: skip
            assert call.setup_time is not None and call.duration is None
        elif service == "cancel":
            assert (call.state, call.end_reason) == ("cancelled", "CANCEL, 487 Request Terminated")
        else:
            assert call.duration is not None and 1.4 < call.duration < 2.0
        if service == "pcmu":  # the answer says PCMU, the RTP is PCMA, both ways
            assert kinds == ["payload type not in answer"] * 2
            assert all("payload type 8 (g711A), not in the answer (PCMU/8000)" in f.detail
                       for f in call.findings)  # fmt: skip
        elif service == "oneway":
            assert kinds == ["one-way audio"]
            assert call.findings[0].detail == (
                "RTP from the caller only (40 packets); nothing from the callee"
            )
        elif _offer(call).ip == "192.168.1.50":
            assert kinds == ["unannounced media address"]
        else:
            assert kinds == [], call.call_id


@pytest.mark.parametrize("transport", sorted(FILES))
def test_summary_counts_calls_and_findings(transport: str) -> None:
    from click.testing import CliRunner

    from lyncdump.cli import command

    out = CliRunner().invoke(command, ["--summary", str(FILES[transport])]).stdout
    assert "  calls 57 (completed 45, rejected 6, cancelled 6)\n" in out
    assert (
        "    findings: one-way audio 2, payload type not in answer 4, unannounced media address 1\n"
    ) in out
    assert "    streams by join: both ends 86, by elimination 2\n" in out


@pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark not installed")
@pytest.mark.parametrize("transport", sorted(FILES))
def test_stream_table_equals_live_tshark(transport: str) -> None:
    out = subprocess.run(
        ["tshark", "-r", str(FILES[transport]), "-q", "-z", "rtp,streams"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    rows = {}
    for line in out.splitlines():
        p = line.split()
        if len(p) >= 15 and p[6].startswith("0x"):
            rows[(f"{p[2]}:{p[3]}", f"{p[4]}:{p[5]}")] = p
    cap, _calls_ = _calls(transport)
    got = {(str(s.source), str(s.destination)): s for s in cap.streams()}
    assert sorted(got) == sorted(rows)
    for key, p in rows.items():
        st = got[key]
        assert (st.ssrc, st.payload, st.packets, st.lost) == (int(p[6], 16), p[7], int(p[8]),
                                                              int(p[9]))  # fmt: skip
        mine = (st.min_delta, st.mean_delta, st.max_delta,
                st.min_jitter, st.mean_jitter, st.max_jitter)  # fmt: skip
        for a, b in zip(mine, (float(x) for x in p[11:17]), strict=True):
            assert abs(a - b) <= 0.0015, (key, mine, p)
