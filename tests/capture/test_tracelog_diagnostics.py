"""Diagnostic records joined to their sessions and messages, and their result codes explained.

Logs are written here in the server record format; the codes and their meanings come from
the articles named in lyncdump/analysis/result_codes.py (Microsoft support, Cisco TAC 212383,
MS-OCER for the ms-diagnostics ErrorIds, winerror.h for HRESULT values).
"""

# ruff: noqa: E501 - log lines are kept as the files have them
from __future__ import annotations

import io

import lyncdump
from lyncdump.analysis.diagnostics import (
    Diagnostic,
    Timeline,
    diagnostic_matches,
    diagnostics_of,
    join,
    severity_rank,
)
from lyncdump.analysis.result_codes import KNOWN, describe, lookup
from lyncdump.capture.tracelog import LogEvent

from ..conftest import CAPTURES


def _record(
    time: str, direction: str, start: str, cseq: str, branch: str, call_id: str = "c1"
) -> str:
    return (
        f"TL_INFO(TF_PROTOCOL) [edge01\\edge01]0584.0A44::03/02/2017-07:10:{time} (SIPStack,SIPAdminLog::TraceProtocolRecord:SIPAdminLog.cpp(125)) $$begin_record\n"
        f"Direction: {direction}\nPeer: 10.0.0.5:61182\nStart-Line: {start}\n"
        f"Via: SIP/2.0/TLS 10.0.0.5:61182;branch={branch}\nFrom: <sip:a@contoso.com>;tag=f\n"
        f"To: <sip:b@partner.example>\nCall-ID: {call_id}\nCSeq: {cseq}\nContent-Length: 0\nMessage-Body: -\n$$end_record\n"
    )


def _diag(time: str, *fields: str, level: str = "WARN") -> str:
    return (
        f"TL_{level}(TF_DIAG) [edge01\\edge01]0584.0A44::03/02/2017-07:10:{time} (SIPStack,SIPAdminLog::WriteDiagnosticEvent:SIPAdminLog.cpp(830)) $$begin_record\n"
        + "\n".join(fields)
        + "\n$$end_record\n"
    )


INVITE = "INVITE sip:b@partner.example SIP/2.0"
LOG = (
    _record("46.000", "incoming", INVITE, "7 INVITE", "z9hG4bK1")
    + _record("46.500", "incoming", INVITE, "7 INVITE", "z9hG4bK1")  # a retransmission
    + _diag(
        "46.600",
        "Severity: warning",
        "Text: no SRV match Result-Code: 0xc3e93d6f SIPPROXY_E_EPROUTING_MSG_ALLOWED_DOMAIN_NO_SRV_MATCH",
        f"SIP-Start-Line: {INVITE}",
        "SIP-Call-ID: c1",
        "SIP-CSeq: 7 INVITE",
        'Data: domain="partner.example"; fqdn1="sip.other.example:5061"',
    )
    + _record("46.700", "outgoing", "SIP/2.0 504 Server time-out", "7 INVITE", "z9hG4bK1")
    + _diag(
        "46.710",
        "Severity: error",
        "Text: response failed",
        "SIP-Start-Line: SIP/2.0 504 Server time-out",
        "SIP-Call-ID: c1",
        level="ERROR",
    )
    + _diag(
        "46.720", "Severity: warning", "Text: by CSeq only", "SIP-Call-ID: c1", "SIP-CSeq: 7 INVITE"
    )
    + _diag(
        "46.730",
        "Severity: warning",
        "Text: a message not logged",
        "SIP-Call-ID: c1",
        "SIP-CSeq: 9 BYE",
    )
    + _diag(
        "47.000",
        "Severity: error",
        "Text: elsewhere",
        "SIP-Call-ID: other",
        "SIP-Start-Line: OPTIONS sip:x@partner.example SIP/2.0",
        level="ERROR",
    )
    + _diag(
        "45.000",
        "Severity: error",
        "Text: connect failed",
        "Peer: 10.9.9.9:5061",
        "Result-Code: 0x8007274D WSAECONNREFUSED",
        level="ERROR",
    )
    + "TL_INFO(TF_COMPONENT) [edge01\\edge01]1.2::03/02/2017-07:10:48.000 (SIPStack,A::b:a.cpp(1)) $$begin_record\nLogType: connection\nText: up\n$$end_record\n"
)


def _joined() -> tuple[lyncdump.Capture, list[Diagnostic]]:
    capture = lyncdump.open(io.BytesIO(LOG.encode()))
    index = diagnostics_of(capture, capture.sessions())
    return capture, index.all


def test_join_by_call_id_cseq_and_start_line() -> None:
    capture, diags = _joined()
    (session,) = capture.sessions()
    by_text = {d.text: d for d in diags}
    assert list(by_text) == [  # by time: the connect failure first
        "connect failed",
        "no SRV match",
        "response failed",
        "by CSeq only",
        "a message not logged",
        "elsewhere",
    ]
    srv = by_text["no SRV match"]
    # The INVITE was logged twice (frames 1 and 2): the copy nearest before the record.
    assert srv.session is session and srv.message is not None and srv.message.frame == 2
    assert srv.joined_by == "call-id, cseq, start-line"
    assert by_text["response failed"].message.status == 504  # type: ignore[union-attr]
    assert by_text["by CSeq only"].message.frame == 2  # type: ignore[union-attr]
    unlogged = by_text["a message not logged"]
    assert unlogged.session is session and unlogged.message is None
    assert unlogged.joined_by == "call-id"
    assert by_text["elsewhere"].session is None and by_text["connect failed"].session is None
    # The component record is not a diagnostic.
    assert len(capture.log_events) == 7 and len(diags) == 6


def test_the_index_per_session_alone_and_counted() -> None:
    capture, _ = _joined()
    (session,) = capture.sessions()
    index = diagnostics_of(capture, capture.sessions())
    assert [d.text for d in index.of(session) or []] == [
        "no SRV match",
        "response failed",
        "by CSeq only",
        "a message not logged",
    ]
    assert [d.text for d in index.standalone] == ["connect failed", "elsewhere"]
    by_severity, by_result = index.counts()
    assert by_severity == {"error": 3, "warning": 3}
    assert by_result == {
        "0xC3E93D6F SIPPROXY_E_EPROUTING_MSG_ALLOWED_DOMAIN_NO_SRV_MATCH": 1,
        "0x8007274D WSAECONNREFUSED": 1,
    }
    assert index.hosts == {capture.name: "edge01"}
    # A capture holds no diagnostics: the index is off and views add nothing.
    pcap = lyncdump.open(CAPTURES / "sip-udp-call.pcap")
    off = diagnostics_of(pcap, pcap.sessions())
    assert not off.enabled and off.of(pcap.sessions()[0]) is None and len(off) == 0


def test_diagnostic_fields_for_filters() -> None:
    _, diags = _joined()
    srv = next(d for d in diags if d.text == "no SRV match")
    assert (srv.level, srv.severity, srv.is_error, srv.is_warning) == (
        "WARN",
        "warning",
        False,
        True,
    )
    assert (srv.result_code, srv.result_value, srv.result_name) == (
        "0xC3E93D6F",
        0xC3E93D6F,
        "SIPPROXY_E_EPROUTING_MSG_ALLOWED_DOMAIN_NO_SRV_MATCH",
    )
    assert srv.ms_diagnostics == 1009 and "ms-diagnostics 1009" in (srv.explanation or "")
    assert srv.call_id == "c1" and srv.cseq == (7, "INVITE") and srv.start_line == INVITE
    assert srv.uris == ["sip:b@partner.example", "sip:a@contoso.com"]
    assert srv.data == {"domain": "partner.example", "fqdn1": "sip.other.example:5061"}
    assert srv.machine == "edge01" and srv.record == 3 and srv.time is not None
    assert srv.source == "<stream>"


def test_filters_on_lone_diagnostics() -> None:
    _, diags = _joined()
    elsewhere = next(d for d in diags if d.text == "elsewhere")
    assert diagnostic_matches(elsewhere, [("call-id", "other")])
    assert not diagnostic_matches(elsewhere, [("call-id", "c1")])
    assert diagnostic_matches(elsewhere, [("user", "X@PARTNER")])
    assert diagnostic_matches(elsewhere, [("method", "options")])
    assert not diagnostic_matches(elsewhere, [("method", "INVITE")])
    assert not diagnostic_matches(elsewhere, [("kind", "call")])
    assert diagnostic_matches(elsewhere, [])


def test_timeline_hands_out_lone_records_by_time() -> None:
    _, diags = _joined()
    alone = [d for d in diags if d.session is None]
    timeline = Timeline(reversed(alone))
    first, second = sorted(alone, key=lambda d: d.time or 0)
    assert timeline.before(first.time) == []
    assert timeline.before((first.time or 0) + 0.001) == [first]
    assert timeline.before(None) == []
    assert timeline.rest() == [second] and timeline.rest() == []


def test_seen_by_prefers_the_record_s_own_log() -> None:
    capture, _ = _joined()
    sessions = capture.sessions()
    event = next(e for e in capture.log_events if e.text == "no SRV match")
    event.source = "edge.log"

    def seen_by(m: lyncdump.SipMessage) -> list[str]:
        return ["edge.log"] if m.frame == 1 else ["fe.log"]

    (d,) = join(sessions, [event], seen_by=seen_by).all
    assert d.message is not None and d.message.frame == 1


def test_records_before_every_copy_join_the_first() -> None:
    capture, _ = _joined()
    event = LogEvent(
        99, 1, 0.0, "WARN", "DIAG", None, {"SIP-Call-ID": "c1", "SIP-CSeq": "7 INVITE"}
    )
    (d,) = join(capture.sessions(), [event]).all
    assert d.message is not None and d.message.frame == 1
    untimed = LogEvent(
        98, 1, None, "WARN", "DIAG", None, {"SIP-Call-ID": "c1", "SIP-CSeq": "7 INVITE"}
    )
    (d,) = join(capture.sessions(), [untimed]).all
    assert d.message is not None and d.message.frame == 1


def test_severity_rank() -> None:
    assert [severity_rank(s) for s in ("fatal", "error", "warning", "info", "odd", None)] == [
        0,
        1,
        2,
        3,
        6,
        6,
    ]


# ------------------------------------------------------------------------------ result codes
def test_known_codes_and_their_ms_diagnostics() -> None:
    assert lookup(0xC3E93C5E).name == "SIPPROXY_E_ROUTING"  # type: ignore[union-attr]
    cert = lookup(0xC3E93D67)
    assert cert is not None and cert.ms_diagnostics == 1010 and "212383" in (cert.link_source or "")
    text = describe(0xC3E93D67)
    assert text is not None and text.endswith(
        "the client gets ms-diagnostics 1010 (SIP stack: certificate not trusted)"
    )
    assert "can be ignored" in (describe(0xC3E93C2F) or "")
    # By name when the record gives no known value.
    assert "split domain" in (
        describe(None, "SIPPROXY_E_EPROUTING_MSG_INVALID_EXT_SPLIT_DOMAIN") or ""
    )
    # Every value's name is unique and names its value once.
    assert len({k.name for k in KNOWN.values()}) == len(KNOWN)


def test_unknown_codes_are_described_from_their_parts() -> None:
    assert describe(0xC3E93FFF, "SIPPROXY_E_ROUTING_SOMETHING_NEW") == (
        "SIP proxy: routing; Lync / Skype for Business server code"
    )
    assert describe(0x80070005, None) == "Win32 error 5"
    assert describe(0x80090399, "SEC_E_NEW") == "Windows security (TLS / authentication) error"
    assert describe(0x00000000) == "success code"
    assert describe(0x80004005) is None
    assert describe(None) is None
