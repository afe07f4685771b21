"""Write sample Lync trace logs into captures/ from our own sample captures, so their content
is known exactly: every SIP message lyncdump decodes from a capture becomes a server-log
(OCSLogger / CLS text) record and a UccApi client-log packet block.

    python tools/make_tracelogs.py             # writes captures/*.server.log, *.uccapilog
    python tools/update_expected.py NAME...    # then the expected outputs beside them

A server log is written from the registrar's side (the receiver of the capture's first message)
and holds only the messages it sent or received; a UccApi log from the client's side (the
sender of the first message). Two hand-made logs with the quirks real files have (CRLF line
ends, preambles, diagnostic records, a record cut short, interleaved trace lines) are written
from the literal text in QUIRKS_* below.
"""

# ruff: noqa: E501 - the sample logs are written as the text in the files: lines stay as they are.
from __future__ import annotations

import datetime as dt
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CAPTURES = ROOT / "captures"
sys.path.insert(0, str(ROOT / "src"))

import lyncdump  # noqa: E402
from lyncdump.model import Endpoint  # noqa: E402
from lyncdump.sip.message import SipMessage  # noqa: E402

#: capture → (server log machine context, client process:thread ids)
SOURCES = {
    "sip-udp-call.pcap": ("0", "1F68:C14"),
    "lync-signin-tcp.pcapng": ("fe01\\fe01", "2A0C:1B8"),
}


def _stamp(ts: float | None, sep: str) -> str:
    moment = dt.datetime.fromtimestamp(ts or 0.0, tz=dt.timezone.utc)
    return moment.strftime(f"%m/%d/%Y{sep}%H:%M:%S.") + f"{moment.microsecond // 1000:03d}"


def _split(m: SipMessage) -> tuple[list[str], list[str]]:
    """Header lines (start line first) and body lines of a message as on the wire."""
    head, _, _ = m.raw.partition(b"\r\n\r\n")
    lines = head.decode("utf-8", "surrogateescape").split("\r\n")
    body = m.body.decode("utf-8", "surrogateescape").splitlines() if m.body else []
    return lines, body


def _peer(m: SipMessage, local: Endpoint) -> tuple[str, Endpoint]:
    assert m.src is not None and m.dst is not None
    return ("outgoing", m.dst) if m.src == local else ("incoming", m.src)


def server_log(messages: list[SipMessage], local: Endpoint, ctx: str) -> str:
    """Records as OCSLogger / CLS formats them (see ../shared/reference/ms-sip.md §4.1)."""
    out = []
    seq = 0x5386
    for n, m in enumerate(messages):
        if local not in (m.src, m.dst):
            continue
        direction, peer = _peer(m, local)
        lines, body = _split(m)
        seq += 1
        out.append(
            f"TL_INFO(TF_PROTOCOL) [{ctx}]06E4.0EB4::{_stamp(m.time, '-')}.{seq:08X} "
            "(SIPStack,SIPAdminLog::TraceProtocolRecord:SIPAdminLog.cpp(125))$$begin_record"
        )
        out.append(f"Trace-Correlation-Id: {2003888399 + n}")
        out.append(f"Instance-Id: {0xC23F + n:08X}")
        out.append(f"Direction: {direction}")
        out.append(f"Peer: {peer}")
        out.append(f"Message-Type: {'request' if m.is_request else 'response'}")
        out.append(f"Start-Line: {lines[0]}")
        out.extend(lines[1:])
        if body:
            out.append(f"Message-Body: {body[0]}")
            out.extend(body[1:])
        else:
            out.append("Message-Body: -")
        out.append("$$end_record")
    return "\n".join(out) + "\n"


def uccapi_log(messages: list[SipMessage], local: Endpoint, ids: str) -> str:
    """Packet blocks as a Lync client writes them (ms-sip.md §4.2)."""
    out = []
    for m in messages:
        if local not in (m.src, m.dst):
            continue
        direction, peer = _peer(m, local)
        lines, body = _split(m)
        stamp = f"{_stamp(m.time, '|')} {ids} INFO  :: "
        what, where = (
            ("Sending Packet", "From") if direction == "outgoing" else ("Data Received", "To")
        )
        address = f"{peer} ({where} Local Address: {local}) {len(m.raw)} bytes"
        out.append(f"{stamp}{what} - {address}:")
        out.append(stamp + lines[0])
        out.extend(lines[1:])
        out.append("")
        out.extend(body)
        out.append(f"{stamp}End of {what} - {address}")
    return "\n".join(out) + "\n"


QUIRKS_SERVER = """\
*** Lync Server logging tool: analysed log (text) ***
Start time: 03/02/2017 07:10:46

TL_INFO(TF_COMPONENT) [sfvedge\\sfvedge]0584.0A44::03/02/2017-07:10:46.100.00007730 (SIPStack,SIPAdminLog::TraceConnectionRecord:SIPAdminLog.cpp(160)) connection accepted from 192.0.2.10:50123
TL_INFO(TF_PROTOCOL) [sfvedge\\sfvedge]0584.0A44::03/02/2017-07:10:46.200.00007731 (SIPStack,SIPAdminLog::TraceProtocolRecord:SIPAdminLog.cpp(125)) [156659183] $$begin_record
Trace-Correlation-Id: 156659183
Instance-Id: 0000773D
Direction: incoming;source="external edge";destination="internal edge"
Peer: 192.0.2.10:50123
Message-Type: request
Start-Line: INVITE sip:bob@fabrikam.com SIP/2.0
Via: SIP/2.0/TLS 192.0.2.10:50123;branch=z9hG4bKq1
From: <sip:alice@contoso.com>;tag=q1a
To: <sip:bob@fabrikam.com>
Call-ID: quirk-call-1
CSeq: 1 INVITE
Content-Type: application/sdp
Content-Length: 88
Message-Body: v=0
o=- 0 0 IN IP4 192.0.2.10
s=session
c=IN IP4 192.0.2.10
m=audio 5004 RTP/AVP 0
$$end_record
TL_WARN(TF_DIAG) [sfvedge\\sfvedge]0584.0A44::03/02/2017-07:10:46.230.0000773E (SIPStack,SIPAdminLog::WriteDiagnosticEvent:SIPAdminLog.cpp(830)) [156659184] $$begin_record
LogType: diagnostic
Severity: warning
Text: Message was not sent because the remote domain has no SRV record
Result-Code: 0xc3e93d6f SIPPROXY_E_EPROUTING_MSG_ALLOWED_DOMAIN_NO_SRV_MATCH
SIP-Start-Line: INVITE sip:bob@fabrikam.com SIP/2.0
SIP-Call-ID: quirk-call-1
SIP-CSeq: 1 INVITE
Peer: 192.0.2.10:50123
$$end_record
TL_INFO(TF_PROTOCOL) [sfvedge\\sfvedge]0584.0A44::03/02/2017-07:10:46.240.0000773F (SIPStack,SIPAdminLog::TraceProtocolRecord:SIPAdminLog.cpp(125))
$$begin_record
Trace-Correlation-Id: 156659185
Direction: outgoing
Peer: 192.0.2.10:50123
Message-Type: response
Start-Line: SIP/2.0 504 Server time-out
Via: SIP/2.0/TLS 192.0.2.10:50123;branch=z9hG4bKq1
From: <sip:alice@contoso.com>;tag=q1a
To: <sip:bob@fabrikam.com>;tag=e504
Call-ID: quirk-call-1
CSeq: 1 INVITE
ms-diagnostics: 1010;reason="Certificate trust with another server could not be established";source="sfvedge.contoso.com"
Content-Length: 0
Message-Body: -
$$end_record
TL_ERROR(TF_DIAG) [sfvedge\\sfvedge]0584.0A44::03/02/2017-07:10:46.250.00007740 (SIPStack,SIPAdminLog::WriteDiagnosticEvent:SIPAdminLog.cpp(830))
LogType: diagnostic
Severity: error
Text: Failed to complete outbound connection
Peer: fabrikam-edge.fabrikam.com:5061
Result-Code: 0x80090325 SEC_E_UNTRUSTED_ROOT
$$end_record
TL_INFO(TF_PROTOCOL) [sfvedge\\sfvedge]0584.0A44::03/02/2017-07:10:46.300.00007741 (SIPStack,SIPAdminLog::TraceProtocolRecord:SIPAdminLog.cpp(125))$$begin_record
Trace-Correlation-Id: 156659186
Direction: incoming
Message-Type: request
Start-Line: ACK sip:bob@fabrikam.com SIP/2.0
Via: SIP/2.0/TLS 192.0.2.10:50123;branch=z9hG4bKq1
From: <sip:alice@contoso.com>;tag=q1a
To: <sip:bob@fabrikam.com>;tag=e504
Call-ID: quirk-call-1
CSeq: 1 ACK
Content-Length: 0
Message-Body: -
$$end_record
TL_INFO(TF_PROTOCOL) [sfvedge\\sfvedge]0584.0A44::03/02/2017-07:10:47.000.00007742 (SIPStack,SIPAdminLog::TraceProtocolRecord:SIPAdminLog.cpp(125))$$begin_record
Trace-Correlation-Id: 156659187
Direction: incoming
Peer: [2001:db8::10]:5061
Message-Type: request
Start-Line: OPTIONS sip:Options_User@contoso.com SIP/2.0
Via: SIP/2.0/TLS [2001:db8::10]:5061;branch=z9hG4bKq2
From: <sip:ping@contoso.com>;tag=q2
To: <sip:Options_User@contoso.com>
Call-ID: quirk-options-1
CSeq: 1 OPTIONS
Content-Length: 0
Message-Body: -
"""

QUIRKS_UCCAPI = """\
Lync UccApi trace, client version 15.0.4569.1503
04/16/2013|03:17:30.100 1F68:C14 INFO  :: Initializing SIP stack
04/16/2013|03:17:30.168 1F68:C14 INFO  :: Sending Packet - 192.168.100.100:5061 (From Local Address: 192.168.103.35:20323) 354 bytes:
04/16/2013|03:17:30.168 1F68:C14 INFO  :: REGISTER sip:contoso.com SIP/2.0
Via: SIP/2.0/TLS 192.168.103.35:20323;branch=z9hG4bKu1
From: <sip:alice@contoso.com>;tag=u1a
To: <sip:alice@contoso.com>
Call-ID: quirk-reg-1
CSeq: 1 REGISTER
Contact: <sip:192.168.103.35:20323;transport=tls>;methods="INVITE, MESSAGE, INFO, OPTIONS, BYE, CANCEL, NOTIFY, ACK, REFER, BENOTIFY"
Content-Length: 0

04/16/2013|03:17:30.168 1F68:C14 INFO  :: End of Sending Packet - 192.168.100.100:5061 (From Local Address: 192.168.103.35:20323) 354 bytes
04/16/2013|03:17:30.200 1F68:9A0 VERBOSE :: CUccSipEndpoint::OnRegisterResponse state=registering
04/16/2013|03:17:30.205 1F68:C14 INFO :: Data Received - 192.168.100.100:5061 (To Local Address: 192.168.103.35:20323) 301 bytes:
SIP/2.0 500 Server Internal Error
Via: SIP/2.0/TLS 192.168.103.35:20323;branch=z9hG4bKu1
04/16/2013|03:17:30.205 1F68:9A0 VERBOSE :: interleaved trace line from another thread
From: <sip:alice@contoso.com>;tag=u1a
To: <sip:alice@contoso.com>;tag=s500
Call-ID: quirk-reg-1
CSeq: 1 REGISTER
ms-diagnostics: 15000;reason="Unknown error";source="pool.contoso.com"
Content-Length: 0

04/16/2013|03:17:30.205 1F68:C14 INFO :: End of Data Received -192.168.100.100:5061 (To Local Address: 192.168.103.35:20323) 301 bytes
04/16/2013|03:17:31.000 1F68:C14 INFO  :: Sending Packet - 192.168.100.100:5061 (From Local Address: 192.168.103.35:20323) 282 bytes:
04/16/2013|03:17:31.000 1F68:C14 INFO  :: MESSAGE sip:bob@contoso.com SIP/2.0
Via: SIP/2.0/TLS 192.168.103.35:20323;branch=z9hG4bKu2
From: <sip:alice@contoso.com>;tag=u2a
To: <sip:bob@contoso.com>
Call-ID: quirk-im-1
CSeq: 1 MESSAGE
Content-Type: text/plain; charset=UTF-8
Content-Length: 22

Hello Bob
second line
04/16/2013|03:17:31.000 1F68:C14 INFO  :: End of Sending Packet - 192.168.100.100:5061 (From Local Address: 192.168.103.35:20323) 282 bytes
04/16/2013|03:17:31.020 1F68:C14 INFO  :: End of Data Received - 192.168.100.100:5061 (To Local Address: 192.168.103.35:20323) 10 bytes
04/16/2013|03:17:31.030 1F68:C14 INFO  :: Data Received - 192.168.100.100:5061 (To Local Address: 192.168.103.35:20323) 290 bytes:
04/16/2013|03:17:31.030 1F68:C14 INFO  :: SIP/2.0 200 OK
Via: SIP/2.0/TLS 192.168.103.35:20323;branch=z9hG4bKu2
From: <sip:alice@contoso.com>;tag=u2a
To: <sip:bob@contoso.com>;tag=b2
Call-ID: quirk-im-1
CSeq: 1 MESSAGE
Content-Length: 0
"""


def main() -> None:
    for capture_name, (ctx, ids) in SOURCES.items():
        messages = lyncdump.open(CAPTURES / capture_name).messages()
        first = messages[0]
        assert first.src is not None and first.dst is not None
        stem = capture_name.split(".")[0]
        targets = {
            f"{stem}.server.log": server_log(messages, first.dst, ctx),
            f"{stem}.uccapilog": uccapi_log(messages, first.src, ids),
        }
        for name, text in targets.items():
            (CAPTURES / name).write_bytes(text.encode("utf-8"))
            print(f"wrote captures/{name}")
        counts = Counter(m.src == first.dst or m.dst == first.dst for m in messages)
        print(f"  {capture_name}: {counts[True]} of {len(messages)} messages seen by the server")
    # CRLF line ends for the server quirks log, LF for the client one.
    (CAPTURES / "quirks.server.log").write_bytes(QUIRKS_SERVER.replace("\n", "\r\n").encode())
    (CAPTURES / "quirks.uccapilog").write_bytes(QUIRKS_UCCAPI.encode())
    print("wrote captures/quirks.server.log, captures/quirks.uccapilog")


if __name__ == "__main__":
    main()
