"""A call must not claim an event whose message was not decoded (issue 15).

Responses prove little about their request: a 200 OK to a BYE says a BYE was sent, not when,
by whom, or that the capture holds it. A call's state, end time and end reason come from the
requests that were decoded (analysis/calls.py ``_ending``: a BYE transaction without its
request is passed over), so a 200 OK to a BYE the capture lacks (lost at the capture point,
or a WebSocket frame that was not decoded) leaves the call "in call", with no ``end``; a 200 OK
to a CANCEL the capture lacks does not make a 487 "CANCEL, ...". Captures are built here with
the small builder of test_media_join.py (SIP over UDP with SDP, RTP at 20 ms); each case is
checked beside the same capture *with* the missing request, so the test tells the two apart.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner

import lyncdump
from lyncdump.cli import command

from .test_media_join import PROXY, RELAY, Net, _msg, _sdp

T0 = 1_767_225_600.0


def _answered_call(*, bye_request: bool) -> Net:
    """INVITE at 0, 200 OK at 0.05, ACK, 50 RTP packets each way from 0.1, then at 2.0 the
    callee's 200 OK to the caller's BYE (CSeq 2), and the BYE itself at 1.99 only when
    ``bye_request``."""
    net = Net()
    cid, br = "bye-lost", "z9hG4bKbl"
    net.sip(0.0, PROXY, RELAY, _msg("INVITE sip:b@x SIP/2.0", cid, "1 INVITE", "f", None,
                                    _sdp("10.0.0.1", 20000), br))  # fmt: skip
    net.sip(0.05, RELAY, PROXY, _msg("SIP/2.0 200 OK", cid, "1 INVITE", "f", "t1",
                                     _sdp("10.0.0.2", 30000), br))  # fmt: skip
    net.sip(0.06, PROXY, RELAY, _msg("ACK sip:b@x SIP/2.0", cid, "1 ACK", "f", "t1", "", br + "a"))
    net.rtp(0.1, ("10.0.0.1", 20000), ("10.0.0.2", 30000), 0x11)
    net.rtp(0.1, ("10.0.0.2", 30000), ("10.0.0.1", 20000), 0x22)
    if bye_request:
        net.sip(1.99, PROXY, RELAY, _msg("BYE sip:b@x SIP/2.0", cid, "2 BYE", "f", "t1", "",
                                         br + "b"))  # fmt: skip
    net.sip(2.0, RELAY, PROXY, _msg("SIP/2.0 200 OK", cid, "2 BYE", "f", "t1", "", br + "b"))
    return net


def _cancelled_call(*, cancel_request: bool) -> Net:
    """INVITE at 0, 180 at 0.05, the 200 OK to a CANCEL at 0.1 (the CANCEL itself at 0.09 only
    when ``cancel_request``), then 487 to the INVITE at 0.11."""
    net = Net()
    cid, br = "cancel-lost", "z9hG4bKcl"
    net.sip(0.0, PROXY, RELAY, _msg("INVITE sip:b@x SIP/2.0", cid, "1 INVITE", "f", None,
                                    _sdp("10.0.0.1", 20004), br))  # fmt: skip
    net.sip(0.05, RELAY, PROXY, _msg("SIP/2.0 180 Ringing", cid, "1 INVITE", "f", "t1", "", br))
    if cancel_request:
        net.sip(0.09, PROXY, RELAY, _msg("CANCEL sip:b@x SIP/2.0", cid, "1 CANCEL", "f", None,
                                         "", br))  # fmt: skip
    net.sip(0.1, RELAY, PROXY, _msg("SIP/2.0 200 OK", cid, "1 CANCEL", "f", "t1", "", br))
    net.sip(0.11, RELAY, PROXY, _msg("SIP/2.0 487 Request Terminated", cid, "1 INVITE", "f",
                                     "t1", "", br))  # fmt: skip
    return net


def _write(net: Net, tmp_path: Path, name: str) -> Path:
    net.b.frames.sort(key=lambda f: f[0])
    path = tmp_path / name
    path.write_bytes(net.b.pcap_bytes())
    return path


def _call_record(path: Path) -> dict[str, Any]:
    """The ``call`` record ``lyncdump --calls --json`` writes (the streaming pipeline)."""
    out = CliRunner().invoke(command, ["--calls", "--json", str(path)]).stdout
    (record,) = [r for r in map(json.loads, out.splitlines()) if r["record"] == "call"]
    return record


def test_a_200_ok_to_a_bye_that_was_not_captured_does_not_end_the_call(tmp_path: Path) -> None:
    lost = _write(_answered_call(bye_request=False), tmp_path, "bye-lost.pcap")
    (call,) = lyncdump.analyze(lost).calls()
    assert call.state == "in call" and call.end is None
    assert call.end_reason == "no BYE before the capture ends"
    assert call.final_status == 200 and call.answer_time == T0 + 0.05
    assert call.bye_retransmissions == 0
    # Talk time runs to the last decoded message (the 200 OK at 2.0), not to a BYE.
    assert round(call.duration, 6) == 1.95  # type: ignore[arg-type]
    assert len(call.streams) == 2 and call.findings == []
    # The 200 OK itself was decoded and is shown as what it is: a response with no request.
    bye = [t for t in call.session.transactions if t.method == "BYE"]
    assert [(t.request, t.final_status) for t in bye] == [(None, 200)]

    record = _call_record(lost)
    assert (record["state"], record["end"], record["end_reason"]) == (
        "in call", None, "no BYE before the capture ends",
    )  # fmt: skip
    text = CliRunner().invoke(command, ["--calls", str(lost)]).stdout
    assert "talk 1.950s  in call (no BYE before the capture ends)\n" in text
    assert "completed" not in text and "BYE from" not in text
    summary = CliRunner().invoke(command, ["--summary", str(lost)]).stdout
    assert "  calls 1 (in call 1)\n" in summary

    # The same capture with its BYE: now, and only now, the call is completed by the caller.
    seen = _write(_answered_call(bye_request=True), tmp_path, "bye-seen.pcap")
    (completed,) = lyncdump.analyze(seen).calls()
    assert (completed.state, completed.end_reason) == ("completed", "BYE from caller")
    assert completed.end == T0 + 1.99
    assert _call_record(seen)["end"] == T0 + 1.99


def test_a_200_ok_to_a_cancel_that_was_not_captured_claims_no_cancel(tmp_path: Path) -> None:
    lost = _write(_cancelled_call(cancel_request=False), tmp_path, "cancel-lost.pcap")
    (call,) = lyncdump.analyze(io.BytesIO(lost.read_bytes())).calls()
    # The 487 was decoded: the INVITE was terminated; that a CANCEL did it is not claimed.
    assert (call.state, call.end_reason, call.end) == (
        "cancelled", "487 Request Terminated", T0 + 0.11,
    )  # fmt: skip
    (invite,) = [t for t in call.session.transactions if t.method == "INVITE"]
    assert not invite.cancelled and invite.outcome == "487"
    assert _call_record(lost)["end_reason"] == "487 Request Terminated"

    seen = _write(_cancelled_call(cancel_request=True), tmp_path, "cancel-seen.pcap")
    (cancelled,) = lyncdump.analyze(seen).calls()
    assert cancelled.end_reason == "CANCEL, 487 Request Terminated"
    (invite,) = [t for t in cancelled.session.transactions if t.method == "INVITE"]
    assert invite.cancelled and invite.outcome == "487 after CANCEL"
