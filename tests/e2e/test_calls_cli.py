"""``--calls``, ``--call CALL-ID`` and ``--call CALL-ID -w FILE`` end to end.

The export was cross-checked with tshark 4.0.17 by hand: ``tshark -z conv,udp -z conv,tcp`` on
the written file lists 10.0.1.20:50500 <-> 10.0.0.10:5061 with 9 frames (the 12 of the
original minus the 3 handshake segments, which belong to no message), :50011 <-> :443 with all
92, :50020 <-> :3478 with all 210 and :50010 <-> 203.0.113.50:40000 with its 2 checks: 313
frames in all, 316 in the original.
"""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

import lyncdump
from lyncdump.capture.writer import PcapngWriter
from lyncdump.cli import command

from ..conftest import CAPTURES

AV = str(CAPTURES / "lync-av-call.pcapng")
CALL_ID = "8c1f3a52b7d94e06a1c2d3e4f5a6b7c8"


def _run(*args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(command, list(args))


def test_calls_view_prints_a_block_with_ladder_and_media_events() -> None:
    result = _run("--calls", AV)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"CALL  {CALL_ID}  sip:alice@contoso.com → sip:bob@fabrikam.com")
    assert lines[0].endswith("setup 1.990s  talk 2.500s  completed (BYE from caller)")
    assert any("· offer (2 SDP parts: ICE v6+ICE v19)" in x for x in lines)
    assert any("200 OK  · answer chose part 2 (ICE v19)" in x for x in lines)
    assert any("RTP g711U 100 pkts" in x for x in lines)
    assert any("RTP X-H264UC 40 pkts" in x for x in lines)
    assert any(x.startswith("  ICE v19 Au1x/Pa7r: nominated 198.51.100.10:56000") for x in lines)
    assert lines[-1] == "1 of 1 calls shown"


def test_calls_json_and_unknown_call() -> None:
    result = _run("--calls", "--json", AV)
    records = [json.loads(x) for x in result.stdout.splitlines()]
    (call,) = [r for r in records if r["record"] == "call"]
    assert call["call_id"] == CALL_ID and call["state"] == "completed"
    assert call["nominated_pair"]["path"] == "via Edge"
    assert [m["media"] for m in call["media"]] == ["audio", "video"]
    assert sorted(s["ssrc"] for s in call["streams"]) == [2000, 3000, 0x1001, 0x5005]
    missing = _run("--call", "nope", AV)
    assert missing.exit_code == 2 and "no call with Call-ID 'nope'" in missing.stderr


def test_write_needs_a_call() -> None:
    result = _run("-w", "/tmp/x.pcapng", AV)
    assert result.exit_code == 2 and "needs --call" in result.output


def test_call_export_holds_signalling_and_media(tmp_path: Path) -> None:
    out = tmp_path / "call.pcapng"
    result = _run("--call", CALL_ID, "-w", str(out), AV)
    assert result.exit_code == 0, result.output
    assert f"wrote 313 frames of call {CALL_ID}" in result.stderr
    cap = lyncdump.analyze(out)
    assert cap.stats.frames == 313
    (call,) = cap.calls()
    assert call.call_id == CALL_ID and call.state == "completed"
    assert len(call.streams) == 4 and len(call.allocations) == 2
    assert sum(st.srtp_decrypted for st in call.streams) == 280


def test_default_output_has_a_calls_section() -> None:
    result = _run(str(CAPTURES / "sip-udp-call.pcap"))
    assert "\nCalls (2)\n" in result.stdout
    filtered = _run("--filter", "call-id=call-1@192.168.1.50", str(CAPTURES / "sip-udp-call.pcap"))
    assert "\nCalls (1)\n" in filtered.stdout


def test_pcapng_writer_blocks(tmp_path: Path) -> None:
    path = tmp_path / "w.pcapng"
    with open(path, "wb") as handle:
        writer = PcapngWriter(handle)
        writer.packet(1.5, 101, bytes(range(21)))  # raw IP link type, odd length: padded
    data = path.read_bytes()
    assert data[:4] == bytes.fromhex("0a0d0d0a") and data[8:12] == bytes.fromhex("4d3c2b1a")
    assert len(data) % 4 == 0 and writer.packets == 1


def test_write_from_a_trace_log_is_refused_without_a_file(tmp_path: Path) -> None:
    out = tmp_path / "x.pcapng"
    log = str(CAPTURES / "sip-udp-call.server.log")
    result = _run("--call", "call-1@192.168.1.50", "-w", str(out), log)
    assert result.exit_code == 2 and "a trace log has no frames to write" in result.stderr
    assert not out.exists()


def test_ambiguous_streams_are_shown_as_such(tmp_path: Path) -> None:
    """Two calls through one relay and media from an address neither names: the default view
    lists the stream apart with its candidate calls, --calls shows it on both, JSON too."""
    from ..analysis.test_media_join import RELAY, Net, _sdp, call

    net = Net()
    call(net, 0.0, "a", _sdp("10.0.0.1", 20000), _sdp(RELAY, 6000), bye=4.0)
    call(net, 0.1, "b", _sdp("10.0.0.1", 20004), _sdp(RELAY, 6000), bye=4.0)
    net.rtp(0.5, ("192.0.2.77", 40000), (RELAY, 6000), 0x44)
    net.b.frames.sort(key=lambda f: f[0])
    path = tmp_path / "ambiguous.pcap"
    path.write_bytes(net.b.pcap_bytes())
    text = _run(str(path)).stdout
    assert "\nmedia matching several calls (ambiguous):\n  192.0.2.77:40000 → 10.5.5.5:6000" in text
    assert text.count("ambiguous: 192.0.2.77:40000 → 10.5.5.5:6000 0x00000044 matches 2 calls") == 2
    block = _run("--calls", "--call", "a", str(path)).stdout
    assert "(ambiguous: matches 2 calls (a, b) equally)" in block
    records = [json.loads(x) for x in _run("--json", str(path)).stdout.splitlines()]
    (stream,) = [r for r in records if r["record"] == "stream"]
    assert (stream["call_id"], stream["join"], stream["candidate_calls"]) == (
        None, "ambiguous", ["a", "b"],
    )  # fmt: skip
    calls = [r for r in records if r["record"] == "call"]
    assert [c["ambiguous_streams"][0]["candidate_calls"] for c in calls] == [["a", "b"]] * 2
    assert records[-1]["calls"]["streams_by_join"] == {"ambiguous": 1}
