"""Real server-log record formats: every prefix variant, [correlation] numbers, records whose
first line carries the event, every TL_* level and TF_* flag, the three places a Result-Code is
written, Data, Direction hops, CRLF/LF and UTF-8/UTF-16, and how the logging server is named.

The fixtures are written here from the record shapes Microsoft and Cisco publish (Microsoft
support, "Test-CsFederatedPartner fails": an OCS 2007 R2 Edge SIPStack TF_PROTOCOL record and a
TL_ERROR(TF_COMPONENT) record with its event on the header line and no $$begin_record; Cisco TAC
212383: Skype for Business Edge TL_WARN/TL_ERROR(TF_DIAG) records with the Result-Code glued to
the end of Text and Data values padded inside their quotes), with our own names and values.
Levels and flags are those of the Communications Server 2007 SDK "Component Levels and Flags".
"""

# ruff: noqa: E501 - log lines are kept as the files have them
from __future__ import annotations

import codecs
import io

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import lyncdump
from lyncdump.capture.tracelog import (
    HOST_FROM_OPTION,
    HOST_FROM_PREFIX,
    HOST_FROM_VIA,
    HOST_UNKNOWN,
    LEVELS,
    LogEndpoint,
    LogEvent,
    LogMessage,
    ResultCode,
    ServerLogParser,
    log_host_for,
    parse_data,
    parse_direction,
    parse_header,
    parse_result,
    split_result_from_headline,
    split_result_from_text,
    unknown_log_hosts,
)

from .test_tracelog import feed_all

# An OCS 2007 R2 Edge: [0] prefixes, an OPTIONS from the Front End, then the component record
# that refuses its Route, with the event on its header line and no $$begin_record.
OCS_EDGE = """\
TL_INFO(TF_PROTOCOL) [0]06E4.0EB4::01/18/2012-05:00:43.101.00005386 (SIPStack,SIPAdminLog::TraceProtocolRecord:SIPAdminLog.cpp(125))$$begin_record
Trace-Correlation-Id: 2003888399
Instance-Id: 0000C23F
Direction: incoming;source="internal edge";destination="external edge"
Peer: fe.contoso.com:61182
Message-Type: request
Start-Line: OPTIONS sip:Options_User@fabrikam.com SIP/2.0
FROM: <sip:fe.contoso.com>;tag=77aa
To: <sip:Options_User@fabrikam.com>
CSeq: 1 OPTIONS
Call-ID: 2f9c0d8e7b6a45c3a1e0f9d8c7b6a5e4
MAX-FORWARDS: 70
VIA: SIP/2.0/TLS 10.1.1.1:61182;branch=z9hG4bK0a1b2c3d
ROUTE: <sip:sip.fabrikam.com;transport=tls;lr>;ms-edge-route
CONTACT: <sip:fe.contoso.com;transport=Tls>
CONTENT-LENGTH: 0
USER-AGENT: RTCC/4.0.0.0
Message-Body: -
$$end_record
TL_ERROR(TF_COMPONENT) [0]0860.0CDC::01/18/2012-05:00:43.122.000d0b31 (SIPStack,CSIPRequest::GetNextHopByRouteHeader:SIPRequest.cpp(2440))( 00000000028FDD70 ) Exit - route headers from untrusted source. Result 0xC3E93C5E(SIPPROXY_E_ROUTING)
LogType: diagnostic
Severity: warning
Text: Cannot process Route headers from a non-trusted source, or with first Route field in the set not matching the connection on which the request arrived
Result-Code: 0xc3e93c5e SIPPROXY_E_ROUTING
SIP-Start-Line: OPTIONS sip:Options_User@fabrikam.com SIP/2.0
SIP-Call-ID: 2f9c0d8e7b6a45c3a1e0f9d8c7b6a5e4
SIP-CSeq: 1 OPTIONS
$$end_record
"""
# A Skype for Business Edge (CLS): [machine\\instance] prefixes, correlation numbers, the
# Result-Code at the end of Text, Peer and padded Data.
SFB_EDGE = """\
TL_WARN(TF_DIAG) [edge01\\edge01]0584.0A44::03/02/2017-07:10:46.230.0000773E (SIPStack,SIPAdminLog::WriteDiagnosticEvent:SIPAdminLog.cpp(830)) [156659184] $$begin_record
Severity: warning
Text: The domain of the message resolved by DNS SRV but none of the FQDNs is in the same domain Result-Code: 0xc3e93d6f SIPPROXY_E_EPROUTING_MSG_ALLOWED_DOMAIN_NO_SRV_MATCH
SIP-Start-Line: INVITE sip:bob@partner.example SIP/2.0
SIP-Call-ID: 5d6e7f80-1a2b-4c3d-9e8f-a0b1c2d3e4f5
SIP-CSeq: 2066245576 INVITE
Peer: gw.partner.example:25002
Data: domain =" partner.example "; fqdn1 =" sbc.other.example :5061"
$$end_record
TL_ERROR(TF_DIAG) [edge01\\edge01]0B60.0D6C::03/02/2017-06:30:40.025.00005602 (SIPStack,SIPAdminLog::WriteDiagnosticEvent:SIPAdminLog.cpp(833)) [3634190282] $$begin_record
Severity: error
Text: Message cannot be routed because the peer's certificate does not contain a matching FQDN Result-Code: 0xc3e93d67 SIPPROXY_E_ROUTING_MSG_CERT_MISMATCH
SIP-Start-Line: INVITE sip:carol@partner.example SIP/2.0
SIP-Call-ID: 9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d
SIP-CSeq: 1567605805 INVITE
Peer: gw.partner.example:25001
Data: expected-fqdn =" sip.partner.example "; certName =" gw.partner.example ";info="The peer certificate does not contain a matching FQDN; see SAN"
$$end_record
"""


def _events(text: str) -> list[LogEvent]:
    return [i for i in feed_all(ServerLogParser(), text) if isinstance(i, LogEvent)]


# ---------------------------------------------------------------------------- published shapes
def test_component_record_with_its_event_on_the_header_line() -> None:
    parser = ServerLogParser()
    message, event = feed_all(parser, OCS_EDGE)
    assert isinstance(message, LogMessage) and isinstance(event, LogEvent)
    assert message.hop == ("internal edge", "external edge") and message.direction == "in"
    assert (event.record, event.line) == (2, 20)
    assert (event.level, event.flag, event.severity) == ("ERROR", "COMPONENT", "warning")
    assert event.headline == "Exit - route headers from untrusted source."
    assert event.text.startswith("Cannot process Route headers from a non-trusted source")
    # Both the header line and the field carry the code; the field is what we keep.
    assert event.result == ResultCode(0xC3E93C5E, "SIPPROXY_E_ROUTING", "field")
    assert (event.process, event.thread, event.sequence) == ("0860", "0CDC", "000d0b31")
    assert event.function == "CSIPRequest::GetNextHopByRouteHeader"
    assert event.location == "SIPRequest.cpp(2440)"
    assert event.machine is None and event.correlation is None
    assert event.call_id == "2f9c0d8e7b6a45c3a1e0f9d8c7b6a5e4"
    assert event.cseq == (1, "OPTIONS") and event.method == "OPTIONS"
    assert event.uris == ["sip:Options_User@fabrikam.com"]
    assert event.is_diagnostic and not event.is_error
    assert parser.defects == [] and parser.records == 2


def test_sfb_records_with_the_result_code_glued_to_the_text() -> None:
    first, second = _events(SFB_EDGE)
    assert first.text == (
        "The domain of the message resolved by DNS SRV but none of the FQDNs is in the same domain"
    )
    assert first.result == ResultCode(
        0xC3E93D6F, "SIPPROXY_E_EPROUTING_MSG_ALLOWED_DOMAIN_NO_SRV_MATCH", "text"
    )
    assert first.data == {"domain": "partner.example", "fqdn1": "sbc.other.example :5061"}
    assert first.peer == "gw.partner.example:25002"
    assert first.peer_endpoint == lyncdump.Endpoint("gw.partner.example", 25002)
    assert (first.machine, first.instance, first.correlation) == ("edge01", "edge01", "156659184")
    assert first.cseq == (2066245576, "INVITE")
    assert (second.severity, second.result_code, second.result_name) == (
        "error",
        "0xC3E93D67",
        "SIPPROXY_E_ROUTING_MSG_CERT_MISMATCH",
    )
    assert second.data == {
        "expected-fqdn": "sip.partner.example",
        "certName": "gw.partner.example",
        "info": "The peer certificate does not contain a matching FQDN; see SAN",
    }
    # The raw fields stay as written.
    assert second.fields["Text"].endswith("SIPPROXY_E_ROUTING_MSG_CERT_MISMATCH")
    d = second.to_dict()
    assert (d["result_code"], d["result_name"], d["call_id"], d["cseq"], d["cseq_method"]) == (
        "0xC3E93D67",
        "SIPPROXY_E_ROUTING_MSG_CERT_MISMATCH",
        "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d",
        1567605805,
        "INVITE",
    )


# ------------------------------------------------------------------------- levels and flags
@pytest.mark.parametrize("level", ["FATAL", "ERROR", "WARN", "INFO", "VERBOSE", "NOISE"])
@pytest.mark.parametrize("flag", ["COMPONENT", "PROTOCOL", "CONNECTION", "SECURITY", "DIAG"])
def test_every_level_and_flag(level: str, flag: str) -> None:
    line = (
        f"TL_{level}(TF_{flag}) [1]0584.0A44::03/02/2017-07:10:46.230.0000773E "
        "(SIPStack,C::f:c.cpp(1)) something happened"
    )
    parser = ServerLogParser()
    items = feed_all(parser, line + "\n")
    assert parser.trace_lines == 1 and parser.levels == {level: 1} and parser.flags == {flag: 1}
    if level in ("FATAL", "ERROR", "WARN"):  # one-line warnings and errors are kept
        (event,) = items
        assert isinstance(event, LogEvent)
        assert (event.level, event.flag, event.severity) == (level, flag, LEVELS[level])
        assert event.text == event.headline == "something happened"
        assert event.record == 1 and event.is_diagnostic
    else:
        assert items == [] and parser.records == 0
    # As a multi-line record every level is a record.
    record = line.replace(" something happened", " $$begin_record") + "\nText: x\n$$end_record\n"
    (event,) = _events(record)
    assert (event.level, event.flag, event.severity) == (level, flag, LEVELS[level])


def test_unknown_level_and_flag_words_are_kept() -> None:
    (event,) = _events(
        "TL_TRACE(TF_MEMORY) [0]1.2::01/01/2020-00:00:00.000 (X,Y::z:a.cpp(1)) $$begin_record\nSeverity: Critical\n$$end_record\n"
    )
    assert (event.level, event.flag, event.severity) == ("TRACE", "MEMORY", "fatal")
    (event,) = _events("$$begin_record\nSeverity: Information\n$$end_record\n")
    assert event.severity == "info" and event.is_diagnostic and not event.is_error
    (event,) = _events("$$begin_record\nLogType: connection\nText: up\n$$end_record\n")
    assert event.severity is None and not event.is_diagnostic  # a component record
    (event,) = _events("$$begin_record\nSeverity: odd\n$$end_record\n")
    assert event.severity == "odd"


# -------------------------------------------------------------------------- prefix variants
@pytest.mark.parametrize(
    "header, machine, instance, correlation",
    [
        (
            "TL_INFO(TF_DIAG) [0]0584.0A44::03/02/2017-07:10:46.230.0000773E (SIPStack,A::b:a.cpp(1))$$begin_record",
            None,
            None,
            None,
        ),
        (
            "TL_INFO(TF_DIAG) [3]0584.0A44::03/02/2017-07:10:46.230.0000773E (SIPStack,A::b:a.cpp(1)) $$begin_record",
            None,
            None,
            None,
        ),
        (
            "TL_INFO(TF_DIAG) [FE01\\RTCSRV]0584.0A44::03/02/2017-07:10:46.230.0000773E (SIPStack,A::b:a.cpp(1)) [42] $$begin_record",
            "FE01",
            "RTCSRV",
            "42",
        ),
        (
            "TL_INFO(TF_DIAG) [fe01\\fe01]0584.0A44::03/02/2017-07:10:46.230.0000773E (SIPStack,A::b:a.cpp(1))[42]$$begin_record",
            "fe01",
            "fe01",
            "42",
        ),
        (
            "TL_INFO(TF_DIAG) 0584.0A44::03/02/2017-07:10:46.230.0000773E (SIPStack,A::b:a.cpp(1)) [ 42 ] $$begin_record",
            None,
            None,
            "42",
        ),
        (
            "TL_INFO(TF_DIAG) [fe01\\fe01]0584.0A44::03/02/2017-07:10:46.230 (SIPStack,A::b)\n$$begin_record",
            "fe01",
            "fe01",
            None,
        ),
    ],
)
def test_prefix_variants(
    header: str, machine: str | None, instance: str | None, correlation: str | None
) -> None:
    (event,) = _events(header + "\nSeverity: error\nText: t\n$$end_record\n")
    assert (event.machine, event.instance, event.correlation) == (machine, instance, correlation)
    assert event.process == "0584" and event.thread == "0A44" and event.component == "SIPStack"
    # date -u -d '2017-03-02 07:10:46.230' +%s.%N → 1488438646.230000000
    assert event.time == pytest.approx(1488438646.23, abs=1e-6)


@pytest.mark.parametrize(
    "first",
    [
        "LogType: diagnostic",
        "Severity: error",
        "Text: boom",
        "Result-Code: 0x80004005 E_FAIL",
        "SIP-Call-ID: c",
        "SIP-Start-Line: BYE sip:a@b SIP/2.0",
    ],
)
def test_records_without_begin_record_start_at_a_body_field(first: str) -> None:
    text = f"TL_ERROR(TF_COMPONENT) [0]1.2::01/18/2012-05:07:42.622.000d0b31 (SIPStack,A::b:a.cpp(9)) event\n{first}\n$$end_record\n"
    parser = ServerLogParser()
    (event,) = feed_all(parser, text)
    assert isinstance(event, LogEvent) and event.headline == "event"
    assert parser.trace_lines == 0 and parser.stray_lines == 0 and parser.defects == []


def test_a_one_line_error_before_a_record_and_at_the_end() -> None:
    text = (
        "TL_ERROR(TF_CONNECTION) [0]1.2::01/18/2012-05:07:42.000 (SIPStack,C::c:c.cpp(1)) Connect failed. Result 0x8007274D(WSAECONNREFUSED)\n"
        + SFB_EDGE
        + "TL_FATAL(TF_COMPONENT) [0]1.2::01/18/2012-05:07:43.000 (SIPStack,C::c:c.cpp(1)) Out of memory\n"
    )
    parser = ServerLogParser()
    items = feed_all(parser, text)
    assert [(i.record, i.level) for i in items if isinstance(i, LogEvent)] == [
        (1, "ERROR"),
        (2, "WARN"),
        (3, "ERROR"),
        (4, "FATAL"),
    ]
    first = items[0]
    assert isinstance(first, LogEvent)
    assert first.result == ResultCode(0x8007274D, "WSAECONNREFUSED", "headline")
    assert first.text == "Connect failed."


@pytest.mark.parametrize(
    "encode",
    [
        lambda t: t.encode(),
        lambda t: t.replace("\n", "\r\n").encode(),
        lambda t: codecs.BOM_UTF8 + t.replace("\n", "\r\n").encode(),
        lambda t: codecs.BOM_UTF16_LE + t.replace("\n", "\r\n").encode("utf-16-le"),
        lambda t: t.encode("utf-16-le"),
        lambda t: codecs.BOM_UTF16_BE + t.encode("utf-16-be"),
    ],
    ids=["utf8-lf", "utf8-crlf", "utf8-bom-crlf", "utf16le-bom-crlf", "utf16le", "utf16be-bom"],
)
def test_encodings_and_line_ends_give_the_same_records(encode) -> None:  # type: ignore[no-untyped-def]
    capture = lyncdump.open(io.BytesIO(encode(OCS_EDGE + SFB_EDGE))).run()
    assert capture.format == "lync-server-log"
    assert [(e.record, e.result_code, e.text[:20]) for e in capture.log_events] == [
        (2, "0xC3E93C5E", "Cannot process Route"),
        (3, "0xC3E93D6F", "The domain of the me"),
        (4, "0xC3E93D67", "Message cannot be ro"),
    ]
    assert [m.call_id for m in capture.messages()] == ["2f9c0d8e7b6a45c3a1e0f9d8c7b6a5e4"]
    assert len(capture.defects) == 0


# ----------------------------------------------------------------------------- small parsers
def test_result_code_forms() -> None:
    assert parse_result("0xc3e93d6f SIPPROXY_E_X") == ResultCode(
        0xC3E93D6F, "SIPPROXY_E_X", "field"
    )
    assert parse_result("0xC3E93C5E(SIPPROXY_E_ROUTING)") == ResultCode(
        0xC3E93C5E, "SIPPROXY_E_ROUTING", "field"
    )
    assert parse_result("0x80090325") == ResultCode(0x80090325, None, "field")
    assert parse_result("none here") is None
    code = ResultCode(0x80090325, "SEC_E_UNTRUSTED_ROOT", "field")
    assert (code.hex, str(code), code.failed) == (
        "0x80090325",
        "0x80090325 SEC_E_UNTRUSTED_ROOT",
        True,
    )
    assert not ResultCode(0x00090312, None, "field").failed
    assert split_result_from_text("a b Result-Code: 0xc3e93d67 NAME_X") == (
        "a b",
        ResultCode(0xC3E93D67, "NAME_X", "text"),
    )
    assert split_result_from_text("no code") == ("no code", None)
    assert split_result_from_headline("Exit. Result 0xC3E93C5E(SIPPROXY_E_ROUTING)") == (
        "Exit.",
        ResultCode(0xC3E93C5E, "SIPPROXY_E_ROUTING", "headline"),
    )
    assert split_result_from_headline("x result=0x80004005") == (
        "x",
        ResultCode(0x80004005, None, "headline"),
    )


def test_parse_data() -> None:
    assert parse_data('a =" x "; b=y;c="p;q" ; flag') == {
        "a": "x",
        "b": "y",
        "c": "p;q",
        "flag": "",
    }
    assert parse_data('open="never closed; x=1') == {"open": "never closed; x=1"}
    assert parse_data("") == {}
    assert len(parse_data(";".join(f"k{i}=v" for i in range(500)))) == 64


def test_parse_direction() -> None:
    assert parse_direction('incoming;source="internal edge";destination="external edge"') == (
        "in",
        ("internal edge", "external edge"),
    )
    assert parse_direction("outgoing") == ("out", None)
    assert parse_direction('outgoing;destination="external edge"') == ("out", ("", "external edge"))
    assert parse_direction("sideways") == (None, None)


def test_parse_header_parts() -> None:
    h = parse_header(
        "TL_WARN(TF_DIAG) [sfvedge\\sfvedge]0584.0A44::03/02/2017-07:10:46.230.0000773E "
        "(SIPStack,SIPAdminLog::WriteDiagnosticEvent:SIPAdminLog.cpp(830)) [156659184]",
        7,
    )
    assert (h.line, h.level, h.flag, h.machine, h.instance) == (
        7,
        "WARN",
        "DIAG",
        "sfvedge",
        "sfvedge",
    )
    assert (h.function, h.location, h.correlation, h.headline) == (
        "SIPAdminLog::WriteDiagnosticEvent",
        "SIPAdminLog.cpp(830)",
        "156659184",
        "",
    )
    bare = parse_header("TL_INFO(TF_COMPONENT) (X,Y) text only", 1)
    assert (bare.time, bare.component, bare.function, bare.headline) == (
        None,
        "X",
        "Y",
        "text only",
    )


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_small_parsers_take_any_text(text: str) -> None:
    parse_header("TL_X(TF_Y) " + text, 1)
    parse_header(text, 1)
    parse_data(text)
    parse_direction(text)
    split_result_from_text(text)
    split_result_from_headline(text)
    parse_result(text)


# --------------------------------------------------------------------------- the log's host
def _options(via: str, direction: str, start: str = "OPTIONS sip:x@y SIP/2.0") -> str:
    return (
        "TL_INFO(TF_PROTOCOL) [0]1.2::01/18/2012-05:00:43.101 (SIPStack,A::b:a.cpp(1))$$begin_record\n"
        f"Direction: {direction}\nPeer: 10.0.0.9:5061\nStart-Line: {start}\n"
        f"Via: SIP/2.0/TLS {via};branch=z9hG4bK1\nCall-ID: c\nCSeq: 1 OPTIONS\nMessage-Body: -\n$$end_record\n"
    )


def test_the_host_is_learned_from_its_own_via_and_named_back() -> None:
    # An incoming request (the peer's Via), then the server's own outgoing request.
    data = (
        _options("10.0.0.9:5061", "incoming") + _options("edge.contoso.com:5061", "outgoing")
    ).encode()
    capture = lyncdump.open(io.BytesIO(data))
    first, second = capture.messages()
    assert str(first.dst) == str(second.src) == "edge.contoso.com:5061"
    assert capture.log_host == (LogEndpoint("edge.contoso.com", 5061, HOST_FROM_VIA), HOST_FROM_VIA)
    # An incoming response's top Via is the server's own too.
    data = _options("fe.contoso.com", "incoming", "SIP/2.0 200 OK").encode()
    (message,) = lyncdump.open(io.BytesIO(data)).messages()
    assert str(message.dst) == "fe.contoso.com"


def test_option_beats_prefix_beats_via() -> None:
    prefixed = _options("edge.contoso.com:5061", "outgoing").replace("[0]", "[edge01\\edge01]")
    capture = lyncdump.open(io.BytesIO(prefixed.encode()))
    assert str(capture.messages()[0].src) == "edge01"
    assert capture.log_host is not None and capture.log_host[1] == HOST_FROM_PREFIX
    options = lyncdump.Options(log_host="edge01.contoso.com:5061")
    capture = lyncdump.Capture(io.BytesIO(prefixed.encode()), options)
    assert str(capture.messages()[0].src) == "edge01.contoso.com:5061"
    assert capture.log_host is not None and capture.log_host[1] == HOST_FROM_OPTION


def test_unnamed_host_after_the_lookahead(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("lyncdump.capture.tracelog.HOST_LOOKAHEAD", 2)
    data = (_options("10.0.0.9:5061", "incoming") * 4 + _options("me:5061", "outgoing")).encode()
    capture = lyncdump.open(io.BytesIO(data))
    names = [str(m.dst) for m in capture.messages()[:4]]
    assert names == ["(log host)"] * 4  # held back no longer than the lookahead
    assert str(capture.messages()[4].src) == "(log host)"
    assert capture.log_host == (None, HOST_UNKNOWN)
    # With nothing to learn from, the messages come out anyway, in order.
    data = (_options("10.0.0.9:5061", "incoming") * 3).encode()
    assert [m.frame for m in lyncdump.open(io.BytesIO(data)).messages()] == [1, 2, 3]


def test_log_host_values() -> None:
    values = ("fe01.contoso.com", "logs/edge.log=edge01", "med.log=med01:5068")
    assert log_host_for("fe.log", values) == "fe01.contoso.com"
    assert log_host_for("logs/edge.log", values) == "edge01"
    assert log_host_for("/tmp/x/med.log", values) == "med01:5068"
    assert log_host_for("a.log", ()) is None
    assert unknown_log_hosts(values, ["fe.log", "logs/edge.log", "other/med.log"]) == []
    assert unknown_log_hosts(("nope.log=x",), ["fe.log"]) == ["nope.log=x"]


def test_log_endpoint_compares_and_pickles() -> None:
    import pickle

    a = LogEndpoint("edge01", 0, HOST_FROM_PREFIX, ("internal edge", "external edge"))
    assert pickle.loads(pickle.dumps(a)) == a and str(a) == "edge01"
    assert a != LogEndpoint("edge01", 0, HOST_FROM_PREFIX) and a.with_hop(None) != a
    assert a != lyncdump.Endpoint("edge01", 0) and hash(a) == hash(a.with_hop(a.hop))
    assert str(LogEndpoint("edge01", 5061)) == "edge01:5061"


def test_field_names_in_any_case() -> None:
    (event,) = _events(
        "$$begin_record\nSEVERITY: Error\nTEXT: upper Result-Code: 0x80090325 SEC_E_UNTRUSTED_ROOT\n"
        'sip-call-id: c9\nDATA: a="b"\n$$end_record\n'
    )
    assert (event.severity, event.text, event.result_code, event.call_id, event.data) == (
        "error",
        "upper",
        "0x80090325",
        "c9",
        {"a": "b"},
    )


# -- a batch of lines reads as the lines one by one ----------------------------------------------

_LINE_PIECES = [
    "TL_INFO(TF_PROTOCOL) [fe01\\fe01]06E4.0EB4::01/01/2026-00:00:00.002.00005387 "
    "(SIPStack,SIPAdminLog::TraceProtocolRecord:SIPAdminLog.cpp(125))$$begin_record",
    "TL_ERROR(TF_DIAG) [fe01\\fe01]06E4.0EB4::01/01/2026-00:00:01.000.0000538A (SIPStack,X::Y)",
    "TL_INFO(TF_COMPONENT) [0]0A44.0B20::01/01/2026-00:00:02.000.0000538B (SIPStack,A::B)",
    "TL_nonsense",
    "$$begin_record",
    "$$end_record",
    "tail$$end_record",
    "Direction: incoming",
    "Peer: 10.1.0.51:5060",
    "Message-Type: request",
    "LogType: diagnostic",
    "Text: something happened",
    "Start-Line: REGISTER sip:contoso.com SIP/2.0",
    "Start-Line: SIP/2.0 200 OK",
    "Via: SIP/2.0/TLS 10.1.0.2:5061;branch=z9hG4bKr01",
    "Call-ID: r0",
    "CSeq: 1 REGISTER",
    "Content-Length: 5",
    "Message-Body: -",
    "Message-Body: hello",
    "  indented line",
    "",
    "x" * 300,
    None,
]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.sampled_from(_LINE_PIECES), max_size=60),
    st.lists(st.integers(0, 60), max_size=4),
)
def test_feed_lines_reads_a_batch_as_feed_reads_each_line(
    lines: list[str | None], cuts: list[int]
) -> None:
    from lyncdump.capture.tracelog import ServerLogParser

    one = ServerLogParser()
    want: list[object] = []
    for lineno, line in enumerate(lines, 1):
        if line is not None:
            want.extend(one.feed(lineno, line))
    want.extend(one.close(len(lines)))
    batch = ServerLogParser()
    got: list[object] = []
    start = 0
    for cut in sorted({min(c, len(lines)) for c in cuts} | {len(lines)}):
        got.extend(batch.feed_lines(start, lines[start:cut]))
        start = cut
    got.extend(batch.close(len(lines)))
    assert got == want
    assert batch.defects == one.defects
    counts = ("records", "trace_lines", "stray_lines", "levels", "flags")
    assert [getattr(batch, c) for c in counts] == [getattr(one, c) for c in counts]


def test_endpoint_texts_are_read_once_and_the_table_is_bounded() -> None:
    from lyncdump.capture import logtypes

    logtypes._ENDPOINTS.table.clear()
    first = logtypes.parse_endpoint("10.1.0.51:5060")
    assert first == logtypes.Endpoint("10.1.0.51", 5060)
    assert logtypes.parse_endpoint("10.1.0.51:5060") is first  # frozen: one object serves
    assert logtypes.parse_endpoint("[2001:db8::1]:5061;x") == logtypes.Endpoint("2001:db8::1", 5061)
    assert logtypes.parse_endpoint("  ") is None and logtypes.parse_endpoint("  ") is None
    for n in range(logtypes._ENDPOINTS.size + 10):
        assert logtypes.parse_endpoint(f"10.2.{n // 256}.{n % 256}:5060") is not None
    assert len(logtypes._ENDPOINTS.table) <= logtypes._ENDPOINTS.size
    long = "h" * (logtypes._ENDPOINTS.longest + 1)
    assert logtypes.parse_endpoint(long) == logtypes.Endpoint(long, 0)
    assert long not in logtypes._ENDPOINTS.table


@settings(max_examples=300, deadline=None)
@given(
    st.integers(1, 12),
    st.integers(1, 31),
    st.integers(1971, 2099),
    st.integers(0, 23),
    st.integers(0, 59),
    st.integers(0, 60),
    st.sampled_from(["", "1", "002", "123456", "9999999"]),
)
def test_timestamps_read_through_the_day_table_are_timegm(
    month: int, day: int, year: int, hour: int, minute: int, second: int, frac: str
) -> None:
    import calendar
    import re

    from lyncdump.capture import tracelog

    text = f"{month:02d}/{day:02d}/{year}-{hour:02d}:{minute:02d}:{second:02d}"
    pattern = r"(\d+)/(\d+)/(\d+)-(\d+):(\d+):(\d+)(?:\.(\d+))?"
    match = re.fullmatch(pattern, text + (f".{frac}" if frac else ""))
    assert match is not None
    want = float(calendar.timegm((year, month, day, hour, minute, second, 0, 0, 0)))
    if frac:
        want += int(frac) / (10 ** len(frac))
    for _ in range(2):  # the second time from the table
        assert tracelog.parse_timestamp(match) == want


def test_direction_texts_are_read_once_and_the_table_is_bounded() -> None:
    from lyncdump.capture import tracelog

    tracelog._DIRECTIONS.table.clear()
    text = 'incoming;source="internal edge";destination="external edge"'
    first = tracelog.parse_direction(text)
    assert first == ("in", ("internal edge", "external edge"))
    assert tracelog.parse_direction(text) is first
    assert tracelog.parse_direction("") == (None, None)
    for n in range(tracelog._DIRECTIONS.size + 5):
        assert tracelog.parse_direction(f"outgoing;source=s{n}") == ("out", (f"s{n}", ""))
    assert len(tracelog._DIRECTIONS.table) <= tracelog._DIRECTIONS.size


_HEADER_TAILS = [
    " (SIPStack,SIPAdminLog::TraceProtocolRecord:SIPAdminLog.cpp(125))",
    " (SIPStack,SIPAdminLog::WriteDiagnosticEvent:SIPAdminLog.cpp(830)) [156659184]",
    " (S4,CConnection::Method) ( 0x1A2B3C4D ) headline text [42]",
    " (Comp,Fn:file.cpp) plain headline",
    " no where part at all [7]",
    "",
    " (Bad,",
]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(_HEADER_TAILS), min_size=1, max_size=3).map("".join))
def test_header_tails_read_from_the_table_are_read_as_new(tail: str) -> None:
    from lyncdump.capture import tracelog

    line = "TL_WARN(TF_DIAG) [fe01\\fe01]0584.0A44::03/02/2017-07:10:46.230.0000773E" + tail
    tracelog._TAILS.table.clear()
    first = tracelog.parse_header(line, 1)
    again = tracelog.parse_header(line, 1)
    assert again == first
    assert (first.level, first.flag, first.machine, first.sequence) == (
        "WARN",
        "DIAG",
        "fe01",
        "0000773E",
    )
    parts = (first.component, first.function, first.location, first.correlation)
    assert parts + (first.headline,) == tracelog._read_tail(line[line.index("773E") + 4 :])


def test_a_diagnostic_header_reads_every_part() -> None:
    from lyncdump.capture import tracelog

    line = (
        "TL_WARN(TF_DIAG) [sfvedge\\sfvedge]0584.0A44::03/02/2017-07:10:46.230.0000773E "
        "(SIPStack,SIPAdminLog::WriteDiagnosticEvent:SIPAdminLog.cpp(830)) [156659184]"
    )
    for _ in range(2):
        h = tracelog.parse_header(line, 3)
        assert (h.component, h.function, h.location, h.correlation, h.headline) == (
            "SIPStack",
            "SIPAdminLog::WriteDiagnosticEvent",
            "SIPAdminLog.cpp(830)",
            "156659184",
            "",
        )
