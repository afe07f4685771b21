"""Lync trace log parsers: server OCSLogger/CLS records and client UccApi packet blocks.

Hand-made logs with the quirks of ../shared/reference/ms-sip.md §4 (CRLF or LF, preambles,
glued or separate ``$$begin_record``, diagnostic records, missing fields, records cut short).
Timestamps are cross-checked against ``date -u -d`` (GNU coreutils) values written here.
"""

# ruff: noqa: E501 - log lines are kept as the files have them
from __future__ import annotations

import codecs
import gzip
import io
import os
import threading

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import lyncdump
from lyncdump.capture.tracelog import (
    CLIENT_FORMAT,
    MAX_FIELD,
    MAX_LINE,
    SERVER_FORMAT,
    LogEndpoint,
    LogEvent,
    LogMessage,
    ResultCode,
    ServerLogParser,
    TraceLogReader,
    UccApiLogParser,
    assemble,
    open_input,
    parse_endpoint,
    sniff,
    to_sip_message,
)
from lyncdump.errors import CaptureError, LyncdumpError
from lyncdump.model import Endpoint

HEADER = (
    "TL_INFO(TF_PROTOCOL) [0]06E4.0EB4::01/18/2012-05:00:43.101.00005386 "
    "(SIPStack,SIPAdminLog::TraceProtocolRecord:SIPAdminLog.cpp(125))$$begin_record"
)
OPTIONS_RECORD = f"""{HEADER}
Trace-Correlation-Id: 2003888399
Instance-Id: 0000C23F
Direction: incoming;source="internal edge";destination="external edge"
Peer: lyncservr.contoso.com:61182
Message-Type: request
Start-Line: OPTIONS sip:Options_User@fabrikam.com SIP/2.0
Via: SIP/2.0/TLS 10.0.0.5:61182;branch=z9hG4bKopt
To: <sip:Options_User@fabrikam.com>
From: <sip:ping@contoso.com>;tag=f1
CSeq: 1 OPTIONS
Call-ID: 017b06f397b14886bba5edf97ea206bd
Content-Length: 0
Message-Body: -
$$end_record
"""
OPTIONS_WIRE = (
    b"OPTIONS sip:Options_User@fabrikam.com SIP/2.0\r\n"
    b"Via: SIP/2.0/TLS 10.0.0.5:61182;branch=z9hG4bKopt\r\n"
    b"To: <sip:Options_User@fabrikam.com>\r\n"
    b"From: <sip:ping@contoso.com>;tag=f1\r\n"
    b"CSeq: 1 OPTIONS\r\n"
    b"Call-ID: 017b06f397b14886bba5edf97ea206bd\r\n"
    b"Content-Length: 0\r\n\r\n"
)
# date -u -d '2012-01-18 05:00:43.101' +%s.%N → 1326862843.101000000
OPTIONS_TIME = 1326862843.101

UCC_BLOCK = """04/16/2013|03:17:30.168 1F68:C14 INFO  :: Sending Packet - 192.168.100.100:5061 (From Local Address: 192.168.103.35:20323) {size} bytes:
04/16/2013|03:17:30.168 1F68:C14 INFO  :: MESSAGE sip:bob@contoso.com SIP/2.0
Via: SIP/2.0/TLS 192.168.103.35:20323;branch=z9hG4bKu2
From: <sip:alice@contoso.com>;tag=u2a
To: <sip:bob@contoso.com>
Call-ID: im-1
CSeq: 1 MESSAGE
Content-Type: text/plain
Content-Length: 12

hello
world
04/16/2013|03:17:30.168 1F68:C14 INFO  :: End of Sending Packet - 192.168.100.100:5061 (From Local Address: 192.168.103.35:20323) {size} bytes
"""
UCC_HEAD = (
    b"MESSAGE sip:bob@contoso.com SIP/2.0\r\n"
    b"Via: SIP/2.0/TLS 192.168.103.35:20323;branch=z9hG4bKu2\r\n"
    b"From: <sip:alice@contoso.com>;tag=u2a\r\n"
    b"To: <sip:bob@contoso.com>\r\n"
    b"Call-ID: im-1\r\n"
    b"CSeq: 1 MESSAGE\r\n"
    b"Content-Type: text/plain\r\n"
    b"Content-Length: 12\r\n\r\n"
)
# date -u -d '2013-04-16 03:17:30.168' +%s.%N → 1366082250.168000000
UCC_TIME = 1366082250.168


def feed_all(parser: ServerLogParser | UccApiLogParser, text: str) -> list[LogMessage | LogEvent]:
    items: list[LogMessage | LogEvent] = []
    lineno = 0
    for lineno, line in enumerate(text.split("\n"), 1):
        items.extend(parser.feed(lineno, line.removesuffix("\r")))
    items.extend(parser.close(lineno))
    return items


def read_log(data: bytes) -> tuple[lyncdump.Capture, list[lyncdump.SipMessage]]:
    capture = lyncdump.open(io.BytesIO(data))
    return capture, capture.messages()


# ------------------------------------------------------------------------------ server records
def test_server_protocol_record_rebuilds_the_wire_message() -> None:
    (item,) = feed_all(ServerLogParser(), OPTIONS_RECORD)
    assert isinstance(item, LogMessage)
    assert item.text == OPTIONS_WIRE
    assert item.record == 1 and item.line == 1
    assert item.time == pytest.approx(OPTIONS_TIME, abs=1e-6)
    assert item.direction == "in"
    assert item.peer == Endpoint("lyncservr.contoso.com", 61182)
    assert item.local is None and item.machine is None  # "[0]" is a CPU number, no name
    assert item.hop == ("internal edge", "external edge")
    assert item.via == Endpoint("10.0.0.5", 61182) and item.own_via is None  # not its own
    assert item.level == "INFO" and item.component == "SIPStack"
    assert item.fields["Trace-Correlation-Id"] == "2003888399"
    assert item.fields["Instance-Id"] == "0000C23F"
    msg = to_sip_message(item)
    assert msg.method == "OPTIONS" and msg.call_id == "017b06f397b14886bba5edf97ea206bd"
    assert msg.frame == msg.first_frame == 1
    assert str(msg.src) == "lyncservr.contoso.com:61182" and str(msg.dst) == "(log host)"
    assert isinstance(msg.dst, LogEndpoint) and msg.dst.hop == ("internal edge", "external edge")
    assert msg.transport == "TLS"
    assert msg.defects == []


def test_crlf_and_lf_logs_give_the_same_message() -> None:
    lf = feed_all(ServerLogParser(), OPTIONS_RECORD)
    crlf = feed_all(ServerLogParser(), OPTIONS_RECORD.replace("\n", "\r\n"))
    assert isinstance(lf[0], LogMessage) and isinstance(crlf[0], LogMessage)
    assert lf[0].text == crlf[0].text == OPTIONS_WIRE


def test_begin_record_on_its_own_line_and_machine_context() -> None:
    text = (
        "TL_INFO(TF_PROTOCOL) [fe01\\fe01]0584.0A44::03/02/2017-07:10:46.230.0000773E "
        "(SIPStack,SIPAdminLog::TraceProtocolRecord:SIPAdminLog.cpp(125)) [156659184]\n"
        "$$begin_record\n"
        "Direction: outgoing\nPeer: [2001:db8::1]:5061\nStart-Line: SIP/2.0 200 OK\n"
        "Call-ID: x\nCSeq: 1 OPTIONS\nMessage-Body: -\n$$end_record\n"
    )
    (item,) = feed_all(ServerLogParser(), text)
    assert isinstance(item, LogMessage)
    assert item.direction == "out" and item.machine == "fe01"
    assert item.correlation == "156659184"
    assert isinstance(item.local, LogEndpoint) and item.local.how == "[machine\\instance] prefix"
    assert (item.local.ip, item.local.port) == ("fe01", 0) and str(item.local) == "fe01"
    assert item.peer == Endpoint("2001:db8::1", 5061)
    assert item.src is item.local and item.dst == Endpoint("2001:db8::1", 5061)
    # date -u -d '2017-03-02 07:10:46.230' +%s.%N → 1488438646.230000000
    assert item.time == pytest.approx(1488438646.23, abs=1e-6)
    assert item.text == b"SIP/2.0 200 OK\r\nCall-ID: x\r\nCSeq: 1 OPTIONS\r\n\r\n"


def test_body_line_ends_chosen_by_content_length() -> None:
    body = ["v=0", "o=- 0 0 IN IP4 192.0.2.10", "s=session"]
    head = b"INVITE sip:b@x SIP/2.0\r\nContent-Length: N\r\n\r\n"
    crlf = "\r\n".join(body).encode()
    for size, want in (
        (len(crlf) + 2, crlf + b"\r\n"),
        (len(crlf), crlf),
        (len("\n".join(body)), "\n".join(body).encode()),
        (len("\n".join(body)) + 1, "\n".join(body).encode() + b"\n"),
    ):
        got = assemble("INVITE sip:b@x SIP/2.0", ["Content-Length: N"], body, size, False)
        assert got == head + want
    # No size known, or none that fits: CRLF without a final line end.
    assert assemble("INVITE sip:b@x SIP/2.0", [], body, None, False).endswith(b"s=session")
    assert assemble("INVITE sip:b@x SIP/2.0", [], body, 999, False).endswith(b"s=session")


def test_body_on_the_message_body_line_and_after_it() -> None:
    text = (
        f"{HEADER}\nDirection: incoming\nPeer: 10.0.0.1:5061\nStart-Line: MESSAGE sip:b@x SIP/2.0\n"
        "Call-ID: im\nCSeq: 1 MESSAGE\nContent-Type: text/plain\nContent-Length: 13\n"
        "Message-Body: hello\nworld!\n$$end_record\n"
    )
    (item,) = feed_all(ServerLogParser(), text)
    assert isinstance(item, LogMessage)
    msg = to_sip_message(item)
    assert msg.body == b"hello\r\nworld!"
    assert not any("Content-Length" in d.reason for d in msg.defects)
    # Body starting on the line after an empty Message-Body:
    (item2,) = feed_all(
        ServerLogParser(), text.replace("Message-Body: hello\n", "Message-Body:\nhello\n")
    )
    assert isinstance(item2, LogMessage) and item2.text == item.text


def test_diagnostic_records_are_events() -> None:
    text = (
        "TL_WARN(TF_DIAG) [sfvedge\\sfvedge]0584.0A44::03/02/2017-07:10:46.230.0000773E "
        "(SIPStack,SIPAdminLog::WriteDiagnosticEvent:SIPAdminLog.cpp(830)) [156659184] $$begin_record\n"
        "Severity: warning\nText: Routing failed\n"
        "Result-Code: 0xc3e93d6f SIPPROXY_E_EPROUTING_MSG_ALLOWED_DOMAIN_NO_SRV_MATCH\n"
        "SIP-Call-ID: c1\n$$end_record\n"
        # A diagnostic record whose header line has no $$begin_record (seen in a quoted log).
        "TL_ERROR(TF_COMPONENT) [0]0584.0A44::03/02/2017-07:10:47.000.0000773F (SIPStack,X::Y:x.cpp(1))\n"
        "LogType: connection\nSeverity: error\nText: Failed to connect\n$$end_record\n"
    )
    parser = ServerLogParser()
    first, second = feed_all(parser, text)
    assert isinstance(first, LogEvent) and isinstance(second, LogEvent)
    assert (first.record, first.severity, first.text) == (1, "warning", "Routing failed")
    assert first.result == ResultCode(
        0xC3E93D6F, "SIPPROXY_E_EPROUTING_MSG_ALLOWED_DOMAIN_NO_SRV_MATCH", "field"
    )
    assert first.result_code == "0xC3E93D6F"
    assert first.result_name == "SIPPROXY_E_EPROUTING_MSG_ALLOWED_DOMAIN_NO_SRV_MATCH"
    assert (first.level, first.flag, first.component) == ("WARN", "DIAG", "SIPStack")
    assert (first.machine, first.instance, first.process, first.thread) == (
        "sfvedge",
        "sfvedge",
        "0584",
        "0A44",
    )
    assert (first.sequence, first.correlation) == ("0000773E", "156659184")
    assert first.function == "SIPAdminLog::WriteDiagnosticEvent"
    assert first.location == "SIPAdminLog.cpp(830)"
    assert first.call_id == "c1" and first.is_diagnostic
    assert (second.record, second.severity, second.text) == (2, "error", "Failed to connect")
    assert second.to_dict()["result_code"] is None and second.is_error
    assert parser.defects == []


def test_component_trace_lines_and_preamble_are_counted_not_kept() -> None:
    text = (
        "Log analysed by the Logging Tool\n\n"
        "TL_INFO(TF_COMPONENT) [0]0584.0A44::03/02/2017-07:10:46.000.00000001 (SIPStack,C::f:c.cpp(1)) hello\n"
        "TL_INFO(TF_COMPONENT) [0]0584.0A44::03/02/2017-07:10:46.001.00000002 (SIPStack,C::f:c.cpp(1)) again\n"
        + OPTIONS_RECORD
    )
    parser = ServerLogParser()
    items = feed_all(parser, text)
    assert [type(i) for i in items] == [LogMessage]
    assert parser.trace_lines == 2 and parser.stray_lines == 1 and parser.records == 1


def test_unterminated_records() -> None:
    cut = OPTIONS_RECORD.replace("$$end_record\n", "")
    parser = ServerLogParser()
    items = feed_all(parser, cut + OPTIONS_RECORD + cut)
    assert [i.record for i in items] == [1, 2, 3]
    assert all(isinstance(i, LogMessage) and i.text == OPTIONS_WIRE for i in items)
    assert [d.reason for d in parser.defects] == [
        "line 1: record has no $$end_record (cut short?)",
        "line 30: log ends inside a record (no $$end_record)",
    ]
    assert [d.frame for d in parser.defects] == [1, 3]


def test_missing_fields_use_placeholders() -> None:
    text = (
        "$$begin_record\nStart-Line: BYE sip:b@x SIP/2.0\nCall-ID: c\nCSeq: 2 BYE\n$$end_record\n"
    )
    (item,) = feed_all(ServerLogParser(), text)
    assert isinstance(item, LogMessage)
    assert item.time is None and item.direction is None and item.peer is None
    msg = to_sip_message(item)
    assert (str(msg.src), str(msg.dst), msg.transport) == ("(unknown peer)", "(log host)", None)


def test_protocol_record_without_start_line_is_a_defect() -> None:
    text = f"{HEADER}\nDirection: incoming\nMessage-Type: request\n$$end_record\n"
    parser = ServerLogParser()
    (item,) = feed_all(parser, text)
    assert isinstance(item, LogEvent)
    assert [d.reason for d in parser.defects] == [
        "line 1: protocol record without a Start-Line skipped"
    ]


def test_ucma_arrow_variant() -> None:
    text = (
        "01/08/2022-11:36:14.354 [0x000021ac] - --> Message to Send (Dest Address IP:  "
        "10.50.14.2:4165):$$begin_record\nDirection: outgoing\n"
        "Start-Line: OPTIONS sip:x SIP/2.0\nCall-ID: a\nCSeq: 1 OPTIONS\n$$end_record\n"
    )
    (item,) = feed_all(ServerLogParser(), text)
    assert isinstance(item, LogMessage)
    assert item.direction == "out" and item.peer == Endpoint("10.50.14.2", 4165)
    # date -u -d '2022-01-08 11:36:14.354' +%s.%N → 1641641774.354000000
    assert item.time == pytest.approx(1641641774.354, abs=1e-6)


# ------------------------------------------------------------------------------ UccApi blocks
def test_uccapi_block_with_first_line_on_the_prefixed_line() -> None:
    size = len(UCC_HEAD) + len(b"hello\r\nworld")
    (item,) = feed_all(UccApiLogParser(), UCC_BLOCK.format(size=size))
    assert isinstance(item, LogMessage)
    assert item.text == UCC_HEAD + b"hello\r\nworld"
    assert item.direction == "out" and item.time == pytest.approx(UCC_TIME, abs=1e-6)
    assert item.peer == Endpoint("192.168.100.100", 5061)
    assert item.local == Endpoint("192.168.103.35", 20323)
    assert item.level == "INFO"
    msg = to_sip_message(item)
    assert (str(msg.src), str(msg.dst), msg.transport) == (
        "192.168.103.35:20323",
        "192.168.100.100:5061",
        "TLS",
    )
    assert msg.defects == []


def test_uccapi_first_line_on_its_own_line_and_received_direction() -> None:
    text = UCC_BLOCK.format(size=0).replace(
        "INFO  :: MESSAGE sip:bob@contoso.com SIP/2.0\n",
        "INFO  :: Data\nMESSAGE sip:bob@contoso.com SIP/2.0\n",
    )
    text = text.replace("Sending Packet - ", "Data Received - ").replace("From Local", "To Local")
    parser = UccApiLogParser()
    (item,) = feed_all(parser, text)
    assert isinstance(item, LogMessage)
    assert item.direction == "in" and item.src == Endpoint("192.168.100.100", 5061)
    assert item.text.startswith(b"MESSAGE sip:bob@contoso.com SIP/2.0\r\n")
    # The size 0 the log gave does not match: reported, message kept.
    assert parser.interleaved_lines == 1
    assert [d.reason for d in parser.defects] == [
        f"line 1: log says 0 bytes, message rebuilt has {len(UCC_HEAD) + 12}"
    ]


def test_uccapi_byte_count_picks_the_body_line_ends() -> None:
    lf = len(UCC_HEAD) + len(b"hello\nworld")
    (item,) = feed_all(UccApiLogParser(), UCC_BLOCK.format(size=lf))
    assert isinstance(item, LogMessage) and item.text == UCC_HEAD + b"hello\nworld"


def test_uccapi_missing_markers() -> None:
    size = len(UCC_HEAD) + 12
    block = UCC_BLOCK.format(size=size)
    lines = block.splitlines(keepends=True)
    no_end = "".join(lines[:-1])
    parser = UccApiLogParser()
    items = feed_all(parser, no_end + block + lines[-1] + no_end)
    assert [i.record for i in items] == [1, 2, 3]
    assert all(isinstance(i, LogMessage) and i.text == UCC_HEAD + b"hello\r\nworld" for i in items)
    assert [d.reason for d in parser.defects] == [
        "line 1: packet record has no End marker",
        "line 26: End of packet marker without its start",
        "line 27: log ends inside a packet record",
    ]


def test_parse_endpoint_forms() -> None:
    assert parse_endpoint("10.0.0.1:5061") == Endpoint("10.0.0.1", 5061)
    assert parse_endpoint("[2001:db8::1]:5061") == Endpoint("2001:db8::1", 5061)
    assert parse_endpoint("2001:db8::1") == Endpoint("2001:db8::1", 0)
    assert parse_endpoint("pool.contoso.com") == Endpoint("pool.contoso.com", 0)
    assert parse_endpoint("edge:5061;transport=tls") == Endpoint("edge", 5061)
    assert parse_endpoint("  ") is None and parse_endpoint(None) is None
    assert parse_endpoint("host:99999999") == Endpoint("host", 0)


# ------------------------------------------------------------------------- detection, reading
def test_format_detected_from_content_not_name(tmp_path: os.PathLike[str]) -> None:
    assert sniff(OPTIONS_RECORD.encode()) == SERVER_FORMAT
    assert sniff(UCC_BLOCK.format(size=1).encode()) == CLIENT_FORMAT
    assert sniff(b"hello world\n") is None and sniff(b"") is None
    path = os.path.join(tmp_path, "looks-like.pcap")
    with open(path, "w", encoding="utf-8") as f:
        f.write(OPTIONS_RECORD)
    capture = lyncdump.open(path)
    assert capture.format == "lync-server-log"
    assert [m.raw for m in capture.messages()] == [OPTIONS_WIRE]
    assert capture.stats.frames == 1 and capture.stats.sip_messages == 1
    assert capture.stats.first_time == pytest.approx(OPTIONS_TIME)


@pytest.mark.parametrize(
    "encode",
    [
        lambda t: t.encode("utf-8"),
        lambda t: codecs.BOM_UTF8 + t.encode("utf-8"),
        lambda t: codecs.BOM_UTF16_LE + t.encode("utf-16-le"),
        lambda t: t.encode("utf-16-le"),
        lambda t: codecs.BOM_UTF16_BE + t.encode("utf-16-be"),
        lambda t: gzip.compress(t.encode("utf-8"), mtime=0),
    ],
    ids=["utf8", "utf8-bom", "utf16le-bom", "utf16le", "utf16be-bom", "gzip"],
)
def test_encodings_and_gzip(encode) -> None:  # type: ignore[no-untyped-def]
    capture, messages = read_log(encode(OPTIONS_RECORD + OPTIONS_RECORD.replace("\n", "\r\n")))
    assert capture.format == "lync-server-log"
    assert [m.raw for m in messages] == [OPTIONS_WIRE, OPTIONS_WIRE]
    assert list(capture.defects) == []


def test_latin1_bytes_survive_unchanged() -> None:
    record = OPTIONS_RECORD.replace(
        "From: <sip:ping@contoso.com>", 'From: "J\xe9r\xf4me" <sip:ping@contoso.com>'
    )
    capture, (msg,) = read_log(record.encode("latin-1"))
    assert b'"J\xe9r\xf4me"' in msg.raw  # the bytes as the log had them


def test_not_a_log_nor_a_capture_keeps_the_capture_error() -> None:
    with pytest.raises(CaptureError) as info:
        lyncdump.open(io.BytesIO(b"just some text\n" * 10))
    assert str(info.value) == (
        "<stream>: not a pcap, pcapng or Network Monitor capture, nor a Lync trace log "
        "(starts with 0x6a757374)"
    )
    with pytest.raises(CaptureError, match="empty file"):
        lyncdump.open(io.BytesIO(b""))


def test_captures_still_open_as_captures() -> None:
    from ..conftest import CAPTURES

    reader = open_input(CAPTURES / "sip-udp-call.pcap")
    try:
        assert reader.format == "pcap" and not isinstance(reader, TraceLogReader)
    finally:
        reader.close()


class _CountingReader(io.RawIOBase):
    """A file object that records how much was read of it."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)
        self.read_bytes = 0

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:  # type: ignore[no-untyped-def]
        n = self._data.readinto(b)
        self.read_bytes += n
        return n


def test_big_logs_are_streamed() -> None:
    """The first message comes out long before the file is read (4 MB of records)."""
    data = (OPTIONS_RECORD * 8000).encode()
    assert len(data) > 4_000_000
    source = _CountingReader(data)
    reader = open_input(source)  # type: ignore[arg-type]
    assert isinstance(reader, TraceLogReader)
    items = reader.items()
    first = next(items)
    assert isinstance(first, LogMessage) and first.text == OPTIONS_WIRE
    assert source.read_bytes <= 2 << 20
    assert sum(1 for _ in items) == 7999
    assert reader.bytes_read == len(data) and reader.lines == 15 * 8000 + 1


def test_lines_longer_than_the_limit_are_dropped() -> None:
    junk = "x" * (MAX_LINE + 10)
    capture, messages = read_log((OPTIONS_RECORD + junk + "\n" + OPTIONS_RECORD).encode())
    assert [m.raw for m in messages] == [OPTIONS_WIRE, OPTIONS_WIRE]
    assert [d.reason for d in capture.defects] == [
        f"line 16: line longer than {MAX_LINE} chars skipped"
    ]
    # ... also when the file ends inside it, without a line break.
    capture, messages = read_log((OPTIONS_RECORD + junk).encode())
    assert len(messages) == 1 and len(capture.defects) == 1


def test_stdin_pipe_streams_a_log(monkeypatch: pytest.MonkeyPatch) -> None:
    r, w = os.pipe()
    data = (OPTIONS_RECORD * 3).encode()
    writer = threading.Thread(target=lambda: (os.write(w, data), os.close(w)), daemon=True)
    writer.start()
    with os.fdopen(r, "rb") as pipe:
        monkeypatch.setattr("sys.stdin", io.TextIOWrapper(pipe))
        capture = lyncdump.open("-")
        assert capture.format == "lync-server-log" and len(capture.messages()) == 3
    writer.join(5)


# ------------------------------------------------------------------------ robustness
def test_truncation_at_every_length_raises_nothing() -> None:
    size = len(UCC_HEAD) + 12
    for text in (OPTIONS_RECORD * 2, UCC_BLOCK.format(size=size) * 2):
        data = text.encode()
        for n in range(len(data) + 1):
            try:
                capture = lyncdump.open(io.BytesIO(data[:n]))
            except CaptureError:
                continue
            capture.sessions()
            assert len(capture.messages()) <= 2


LOG_BITS = st.sampled_from(
    [
        "$$begin_record",
        "$$end_record",
        "Start-Line: INVITE sip:a@b SIP/2.0",
        "Start-Line: SIP/2.0 200 OK",
        "Message-Body: -",
        "Message-Body: x",
        "Peer: [::1]:5",
        "Direction: in",
        "Content-Length: 3",
        "Call-ID: a",
        "Severity: error",
        "LogType: x",
        "Text: t Result-Code: 0xc3e93d6f N",
        "Result-Code: 0xZZ",
        'Data: a =" b"; c="d',
        "SIP-Call-ID: a",
        "SIP-CSeq: 99999999999 X",
        'Direction: incoming;source="x";destination=',
        "TL_ERROR(TF_COMPONENT) [m\\i]1.2::01/01/2020-00:00:00.000.0a (A,B::c:d.cpp(1))( 0F ) x. Result 0x8(E_X)",
        "TL_WARN(TF_DIAG) [7] [12] $$begin_record",
        "TL_FATAL(TF_X)",
        HEADER,
        "TL_INFO(TF_DIAG) [0]1.2::13/45/2012-99:00:43.101",
        "04/16/2013|03:17:30.168 1F68:C14 INFO :: Sending Packet - 1.2.3.4:5 (From Local Address: ::1) 3 bytes:",
        "04/16/2013|03:17:30.168 1F68:C14 INFO :: End of Sending Packet - x",
        "04/16/2013|03:17:30.168 1F68:C14 INFO :: SIP/2.0 100 Trying",
        "04/16/2013|03:17:30.168 1F68:C14 INFO :: Data Received - :99999999",
        "",
        "\r",
    ]
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(LOG_BITS, st.text(max_size=40)), max_size=40))
def test_random_log_lines_never_raise(lines: list[str]) -> None:
    for parser in (ServerLogParser(), UccApiLogParser()):
        items = feed_all(parser, "\n".join(lines))
        for item in items:
            if isinstance(item, LogMessage):
                try:
                    to_sip_message(item)
                except LyncdumpError:
                    pass


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from([b"$$begin_record\n", b"TL_INFO(TF_X) ", b"01/01/2020|00:00:00.000 1:2 I :: "]),
    st.binary(max_size=800),
)
def test_random_bytes_raise_only_lyncdump_errors(prefix: bytes, tail: bytes) -> None:
    try:
        capture = lyncdump.open(io.BytesIO(prefix + tail))
        capture.sessions()
    except LyncdumpError:
        pass


def test_events_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("lyncdump.capture.tracelog.MAX_EVENTS", 3)
    diag = "$$begin_record\nSeverity: error\nText: boom\n$$end_record\n"
    capture, messages = read_log((diag * 5 + OPTIONS_RECORD).encode())
    assert [e.record for e in capture.log_events] == [1, 2, 3]
    assert [m.frame for m in messages] == [6]
    assert [d.reason for d in capture.defects] == [
        "2 more events not kept (the first 3 are; at most 3 events and 8388608 characters of "
        "them per log)"
    ]


def test_event_characters_are_bounded_in_total(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("lyncdump.capture.tracelog.MAX_EVENT_CHARS", 1500)
    diag = "$$begin_record\nSeverity: error\nText: " + "x" * 300 + "\n$$end_record\n"
    capture, messages = read_log((diag * 5 + OPTIONS_RECORD).encode())
    # Each holds ~680 characters (the Text field and the text): two fit in 1500.
    assert [e.record for e in capture.log_events] == [1, 2]
    assert sum(e.size for e in capture.log_events) <= 1500
    assert [m.frame for m in messages] == [6]
    assert capture.defects.items[0].reason.startswith("3 more events not kept (the first 2 are")


def test_long_field_values_are_cut() -> None:
    text = "$$begin_record\nSeverity: error\nText: " + "y" * 10_000 + "\n$$end_record\n"
    (event,) = feed_all(ServerLogParser(), text)
    assert isinstance(event, LogEvent)
    assert len(event.text) == MAX_FIELD and event.text.endswith("…")
