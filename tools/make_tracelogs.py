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

import codecs
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


# -- a federation and PSTN scenario recorded on loopback ------------------------------------------
#
# Real TCP connections between real sockets on 127.0.0.x, captured by dumpcap "on the Front End"
# (only traffic to or from its address), while each server writes its own trace log as it sends
# and receives, in the record formats published for it (ms-sip.md §4.1, Microsoft's
# Test-CsFederatedPartner article, Cisco TAC 212383): the Front End an OCSLogger log with [0]
# prefixes (UTF-8, LF), the Edge a CLS log with [machine\instance] prefixes and correlation
# numbers (UTF-16 LE with BOM, CRLF), the Mediation Server an OCSLogger log whose clock runs
# MEDIATION_SKEW seconds ahead (UTF-8 with BOM, CRLF); the client a UccApi log in local time
# (UTC+1). The SIP elements are played by this script in turn: what each sends is what a proxy
# would (Via added and removed, Record-Route, Max-Forwards, hop-by-hop ACK of errors).

FED_DIR = CAPTURES
FED_CAPTURE = "federation.pcapng"
FED_LOGS = {
    "fe01": "federation-fe01.server.log",
    "sfvedge": "federation-edge.server.log",
    "med01": "federation-med01.server.log",
    "alice": "federation-alice.uccapilog",
}
#: The Mediation Server's clock is ahead by this much (its log is shifted back when merged).
MEDIATION_SKEW = 4.2
#: The client writes local time, one hour ahead of UTC.
CLIENT_UTC_OFFSET = 3600.0


class ServerLog:
    """Records as one server's SIPStack writes them (see the module comment above)."""

    def __init__(
        self,
        ctx: str,
        ids: str,
        *,
        skew: float = 0.0,
        correlation: bool = False,
        fqdn: str = "",
    ) -> None:
        self.ctx, self.ids, self.skew, self.correlation, self.fqdn = (
            ctx,
            ids,
            skew,
            correlation,
            fqdn,
        )
        self.lines: list[str] = []
        self.seq = 0x7730
        self.corr = 156659180

    def _head(self, level: str, flag: str, where: str, now: float) -> str:
        self.seq += 1
        self.corr += 1
        stamp = _stamp(now + self.skew, "-")
        return f"TL_{level}(TF_{flag}) [{self.ctx}]{self.ids}::{stamp}.{self.seq:08X} ({where})"

    def protocol(self, now: float, direction: str, peer: str, text: bytes) -> None:
        head, _, body = text.partition(b"\r\n\r\n")
        lines = head.decode().split("\r\n")
        where = "SIPStack,SIPAdminLog::TraceProtocolRecord:SIPAdminLog.cpp(125)"
        corr = f" [{self.corr + 1}]" if self.correlation else ""
        self.lines.append(self._head("INFO", "PROTOCOL", where, now) + f"{corr} $$begin_record")
        self.lines.append(f"Trace-Correlation-Id: {self.corr}")
        self.lines.append(f"Instance-Id: {self.seq:08X}")
        self.lines.append(f"Direction: {direction}")
        self.lines.append(f"Peer: {peer}")
        self.lines.append(
            f"Message-Type: {'response' if lines[0].startswith('SIP/') else 'request'}"
        )
        self.lines.append(f"Start-Line: {lines[0]}")
        self.lines.extend(lines[1:])
        if body:
            body_lines = body.decode().split("\r\n")
            if body_lines and body_lines[-1] == "":
                body_lines.pop()
            self.lines.append(f"Message-Body: {body_lines[0]}")
            self.lines.extend(body_lines[1:])
        else:
            self.lines.append("Message-Body: -")
        self.lines.append("$$end_record")

    def diagnostic(
        self, now: float, level: str, fields: list[str], *, glue_result: bool = False
    ) -> None:
        """A TF_DIAG record; with ``glue_result`` the Result-Code ends the Text line (SfB)."""
        where = "SIPStack,SIPAdminLog::WriteDiagnosticEvent:SIPAdminLog.cpp(830)"
        corr = f" [{self.corr + 1}]" if self.correlation else ""
        self.lines.append(self._head(level, "DIAG", where, now) + f"{corr} $$begin_record")
        if glue_result:
            text = next(i for i, f in enumerate(fields) if f.startswith("Text: "))
            code = next(i for i, f in enumerate(fields) if f.startswith("Result-Code: "))
            fields = list(fields)
            fields[text] += " " + fields.pop(code)
        self.lines.extend(fields)
        self.lines.append("$$end_record")

    def component_event(
        self, now: float, level: str, where: str, headline: str, fields: list[str]
    ) -> None:
        """A component record that carries its event on the header line, no $$begin_record."""
        self.lines.append(
            self._head(level, "COMPONENT", where, now) + f"( 00000000028FDD70 ) {headline}"
        )
        self.lines.extend(fields)
        self.lines.append("$$end_record")

    def trace(self, now: float, level: str, flag: str, where: str, text: str) -> None:
        """A one-line trace."""
        self.lines.append(self._head(level, flag, where, now) + f" {text}")

    def record(self, now: float, level: str, flag: str, where: str, fields: list[str]) -> None:
        self.lines.append(self._head(level, flag, where, now) + " $$begin_record")
        self.lines.extend(fields)
        self.lines.append("$$end_record")


class ClientLog:
    """A UccApi client log (ms-sip.md §4.2), in the client's local time."""

    def __init__(self, ids: str) -> None:
        self.ids = ids
        self.lines: list[str] = []

    def packet(self, now: float, sent: bool, peer: str, local: str, text: bytes) -> None:
        stamp = f"{_stamp(now + CLIENT_UTC_OFFSET, '|')} {self.ids} INFO  :: "
        what, where = ("Sending Packet", "From") if sent else ("Data Received", "To")
        address = f"{peer} ({where} Local Address: {local}) {len(text)} bytes"
        head, _, body = text.partition(b"\r\n\r\n")
        lines = head.decode().split("\r\n")
        self.lines.append(f"{stamp}{what} - {address}:")
        self.lines.append(stamp + lines[0])
        self.lines.extend(lines[1:])
        self.lines.append("")
        if body:
            self.lines.extend(body.decode().split("\r\n"))
        self.lines.append(f"{stamp}End of {what} - {address}")

    def trace(self, now: float, text: str) -> None:
        self.lines.append(f"{_stamp(now + CLIENT_UTC_OFFSET, '|')} {self.ids} VERBOSE :: {text}")


class Node:
    """A SIP element on a loopback address: its listening socket, its connections, its log."""

    def __init__(
        self, name: str, ip: str, port: int, fqdn: str, log: ServerLog | ClientLog | None
    ) -> None:
        import socket

        self.name, self.ip, self.port, self.fqdn, self.log = name, ip, port, fqdn, log
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind((ip, port))
        self.listener.listen(8)
        self.conns: dict[str, object] = {}
        #: How the server names its interfaces in Direction (Edge only): per peer, the
        #: parameters of what arrives from it and of what is sent to it.
        self.side: dict[str, tuple[str, str]] = {}

    def close(self) -> None:
        for c in self.conns.values():
            c.close()  # type: ignore[attr-defined]
        self.listener.close()


def _connect(a: Node, b: Node, source_ip: str | None = None) -> None:
    import socket

    out = socket.create_connection((b.ip, b.port), source_address=(source_ip or a.ip, 0))
    inc, _ = b.listener.accept()
    a.conns[b.name] = out
    b.conns[a.name] = inc


def _recv_message(sock) -> bytes:  # type: ignore[no-untyped-def]
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(65536)
    head, _, rest = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    while len(rest) < length:
        rest += sock.recv(65536)
    assert len(rest) == length, "one message per read in this scenario"
    return head + b"\r\n\r\n" + rest


def _addr(sock, peer: bool) -> str:  # type: ignore[no-untyped-def]
    host, port = sock.getpeername() if peer else sock.getsockname()
    return f"{host}:{port}"


def send(a: Node, b: Node, text: bytes, gap: float = 0.004) -> None:
    """``a`` sends ``text`` to ``b`` over their connection; both log it as it happens."""
    import time

    out, inc = a.conns[b.name], b.conns[a.name]
    now = time.time()
    out.sendall(text)  # type: ignore[attr-defined]
    got = _recv_message(inc)
    assert got == text
    if isinstance(a.log, ServerLog):
        a.log.protocol(now, "outgoing" + a.side.get(b.name, ("", ""))[1], _addr(out, True), text)
    elif isinstance(a.log, ClientLog):
        a.log.packet(now, True, _addr(out, True), _addr(out, False), text)
    later = time.time()
    if isinstance(b.log, ServerLog):
        b.log.protocol(later, "incoming" + b.side.get(a.name, ("", ""))[0], _addr(inc, True), text)
    elif isinstance(b.log, ClientLog):
        b.log.packet(later, False, _addr(inc, True), _addr(inc, False), text)
    time.sleep(gap)


def _msg(first: str, headers: list[tuple[str, str]], body: str = "") -> bytes:
    raw = body.encode()
    lines = [first, *(f"{n}: {v}" for n, v in headers), f"Content-Length: {len(raw)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + raw


def _sdp(ip: str, port: int, sess: int) -> str:
    return (
        f"v=0\r\no=- {sess} 1 IN IP4 {ip}\r\ns=session\r\nc=IN IP4 {ip}\r\nt=0 0\r\n"
        f"m=audio {port} RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\n"
    )


class Dialog:
    """One call or request along a chain of nodes, each proxy adding and removing its Via."""

    def __init__(self, call_id: str, frm: str, to: str, uri: str, chain: list[Node]) -> None:
        self.call_id, self.frm, self.to, self.uri, self.chain = call_id, frm, to, uri, chain
        self.to_tag: str | None = None
        self.routes: list[str] = []

    def _via(self, node: Node, branch: str) -> tuple[str, str]:
        return ("Via", f"SIP/2.0/TCP {node.fqdn}:{node.port};branch=z9hG4bK{branch}")

    def request_hops(
        self,
        method: str,
        cseq: int,
        branch: str,
        *,
        body: str = "",
        extra: list[tuple[str, str]] | None = None,
        stop: int | None = None,
        record_route: bool = False,
        uri: str | None = None,
    ) -> list[bytes]:
        """The request as each hop of the chain carries it (one text per hop)."""
        texts = []
        vias: list[tuple[str, str]] = []
        rr: list[tuple[str, str]] = []
        hops = len(self.chain) - 1 if stop is None else stop
        extra = list(extra or [])
        for i in range(hops):
            node = self.chain[i]
            if i:  # each proxy takes its own Route off the top (loose routing)
                first_route = next((j for j, h in enumerate(extra) if h[0] == "Route"), None)
                if first_route is not None:
                    del extra[first_route]
            vias.insert(0, self._via(node, f"{branch}{i}"))
            if record_route and i > 0:
                rr.insert(0, ("Record-Route", f"<sip:{node.fqdn}:{node.port};transport=tcp;lr>"))
            to = self.to + (f";tag={self.to_tag}" if self.to_tag and method != "INVITE" else "")
            headers = [
                *vias,
                ("Max-Forwards", str(70 - i)),
                *rr,
                ("From", self.frm),
                ("To", to),
                ("Call-ID", self.call_id),
                ("CSeq", f"{cseq} {method}"),
                *extra,
            ]
            if body:
                headers.append(("Content-Type", "application/sdp"))
            texts.append(_msg(f"{method} {uri or self.uri} SIP/2.0", headers, body))
        return texts

    def response_hops(
        self,
        request_texts: list[bytes],
        status: str,
        *,
        tag: str | None = None,
        body: str = "",
        extra: list[tuple[str, str]] | None = None,
        first: int | None = None,
    ) -> list[bytes]:
        """The response to the request carried hop by hop back (one text per hop, the far
        end's first); ``first`` is the hop that answers (default: the last)."""
        out = []
        last = len(request_texts) - 1 if first is None else first
        for i in range(last, -1, -1):
            req = request_texts[i].decode().split("\r\n")
            headers = [tuple(line.split(": ", 1)) for line in req[1:] if ": " in line]
            keep = [
                h for h in headers if h[0] in ("Via", "Record-Route", "From", "Call-ID", "CSeq")
            ]
            to = next(v for n, v in headers if n == "To")
            if tag and ";tag=" not in to:
                to += f";tag={tag}"
            hdrs = [*keep, ("To", to), *(extra or [])]
            if body:
                hdrs.append(("Content-Type", "application/sdp"))
            out.append(_msg(f"SIP/2.0 {status}", hdrs, body))  # type: ignore[arg-type]
        return out


def record_federation() -> None:
    """Record captures/federation.pcapng and the four logs beside it (needs root, dumpcap)."""
    import shutil
    import subprocess
    import tempfile
    import time

    if shutil.which("dumpcap") is None:
        raise SystemExit("dumpcap is needed (apt-get install tshark)")
    fe_log = ServerLog("0", "06E4.0EB4", fqdn="fe01.contoso.com")
    edge_log = ServerLog("sfvedge\\sfvedge", "0584.0A44", correlation=True)
    med_log = ServerLog("0", "0B60.0D6C", skew=MEDIATION_SKEW)
    alice_log = ClientLog("1F68:C14")
    alice = Node("alice", "127.0.0.10", 5070, "127.0.0.10", alice_log)
    fe = Node("fe01", "127.0.0.20", 5061, "fe01.contoso.com", fe_log)
    edge = Node("sfvedge", "127.0.0.30", 5061, "sfvedge.contoso.com", edge_log)
    edge_out = Node("sfvedge-ext", "127.0.0.31", 5061, "sip.contoso.com", edge_log)
    partner = Node("partner", "127.0.0.40", 5061, "sip.fabrikam.com", None)
    med = Node("med01", "127.0.0.50", 5068, "med01.contoso.com", med_log)
    gw = Node("gw", "127.0.0.60", 5060, "gw1.contoso.com", None)
    nodes = [alice, fe, edge, edge_out, partner, med, gw]
    # The Edge names its two interfaces in Direction; one log, one machine.
    inward = ';source="external edge";destination="internal edge"'
    outward = ';source="internal edge";destination="external edge"'
    edge.side = {"fe01": (outward, inward)}
    edge_out.side = {"partner": (inward, outward)}
    tmp = Path(tempfile.mkdtemp())
    pcap = tmp / "fed.pcapng"
    cap = subprocess.Popen(
        ["dumpcap", "-q", "-i", "lo", "-f", "tcp and host 127.0.0.20", "-w", str(pcap)],
        stderr=subprocess.DEVNULL,
    )
    time.sleep(2)
    try:
        _connect(alice, fe)
        _connect(fe, edge)
        _connect(edge_out, partner)
        _connect(fe, med)
        _connect(med, gw)
        _federation_calls(alice, fe, edge, edge_out, partner, med, gw)
        time.sleep(1)
    finally:
        for n in nodes:
            n.close()
        time.sleep(1)
        cap.terminate()
        cap.wait(10)
    shutil.copy(pcap, FED_DIR / FED_CAPTURE)
    shutil.rmtree(tmp)
    (FED_DIR / FED_LOGS["fe01"]).write_bytes(("\n".join(fe_log.lines) + "\n").encode())
    (FED_DIR / FED_LOGS["sfvedge"]).write_bytes(
        codecs.BOM_UTF16_LE + ("\r\n".join(edge_log.lines) + "\r\n").encode("utf-16-le")
    )
    (FED_DIR / FED_LOGS["med01"]).write_bytes(
        codecs.BOM_UTF8 + ("\r\n".join(med_log.lines) + "\r\n").encode()
    )
    (FED_DIR / FED_LOGS["alice"]).write_bytes(("\n".join(alice_log.lines) + "\n").encode())
    print(f"wrote captures/{FED_CAPTURE}, " + ", ".join(f"captures/{n}" for n in FED_LOGS.values()))


def _federation_calls(
    alice: Node, fe: Node, edge: Node, edge_out: Node, partner: Node, med: Node, gw: Node
) -> None:
    """The scenario: a federated call that works, two that the Edge refuses (DNS SRV outside
    the domain, certificate without the FQDN), an OPTIONS the Edge refuses (ms-edge-route),
    a PSTN call through the Mediation Server hung up by the far end, and lone diagnostics."""
    import time

    assert isinstance(fe.log, ServerLog) and isinstance(edge.log, ServerLog)
    assert isinstance(med.log, ServerLog) and isinstance(alice.log, ClientLog)
    alice_from = "<sip:alice@contoso.com>;tag=a1b2c3;epid=01010101c7"
    fe.log.trace(
        time.time(),
        "INFO",
        "COMPONENT",
        "SIPStack,CSIPStack::Start:stack.cpp(88)",
        "SIP stack started",
    )
    fe.log.trace(
        time.time(),
        "VERBOSE",
        "CONNECTION",
        "SIPStack,CConnection::Accept:conn.cpp(301)",
        "accepted connection from 127.0.0.10",
    )
    fe.log.record(
        time.time(),
        "INFO",
        "CONNECTION",
        "SIPStack,SIPAdminLog::TraceConnectionRecord:SIPAdminLog.cpp(160)",
        ["LogType: connection", "Text: TLS negotiation succeeded", "Peer: 127.0.0.10"],
    )
    # The stale subscription of Microsoft's event 32263 article: a Call-ID no input holds.
    fe.log.diagnostic(
        time.time(),
        "WARN",
        [
            "LogType: diagnostic",
            "Severity: warning",
            "Text: Failed to notify a subscriber: no user or endpoint for the subscription",
            "Result-Code: 0xc3e93c2f SIPPROXY_E_UNKNOWN_USER_OR_EPID",
            "SIP-Start-Line: BENOTIFY sip:carl@contoso.com;opaque=user:epid:xAUi4qqLLV2vAU1Avc2xDQAA;gruu SIP/2.0",
            "SIP-Call-ID: 2d8f1c0e6a7b4c55aa0b7e1f33c4d9e1",
            "SIP-CSeq: 12 BENOTIFY",
        ],
    )
    sdp_a = _sdp("127.0.0.10", 50000, 1001)

    # 1. A federated call that works: alice → FE → Edge → fabrikam, answered, hung up by alice.
    d = Dialog(
        "fed-call-1@127.0.0.10",
        alice_from,
        "<sip:bob@fabrikam.com>",
        "sip:bob@fabrikam.com",
        [alice, fe, edge_out, partner],
    )
    contact = [("Contact", "<sip:alice@127.0.0.10:5070;transport=tcp>")]
    inv = d.request_hops("INVITE", 1, "fed1", body=sdp_a, extra=contact, record_route=True)
    send(alice, fe, inv[0])
    send(fe, alice, d.response_hops(inv, "100 Trying", first=0)[0])
    send(fe, edge, inv[1])
    send(edge, fe, d.response_hops(inv, "100 Trying", first=1)[0])
    send(edge_out, partner, inv[2])
    ring = d.response_hops(inv, "180 Ringing", tag="b0b")
    send(partner, edge_out, ring[0])
    send(edge, fe, ring[1])
    send(fe, alice, ring[2])
    time.sleep(0.3)
    ok = d.response_hops(
        inv,
        "200 OK",
        tag="b0b",
        body=_sdp("127.0.0.40", 40000, 2002),
        extra=[("Contact", "<sip:bob@127.0.0.40:5061;transport=tcp>")],
    )
    send(partner, edge_out, ok[0])
    send(edge, fe, ok[1])
    send(fe, alice, ok[2])
    d.to_tag = "b0b"
    route = [
        ("Route", "<sip:fe01.contoso.com:5061;transport=tcp;lr>"),
        ("Route", "<sip:sip.contoso.com:5061;transport=tcp;lr>"),
    ]
    ack = d.request_hops(
        "ACK", 1, "fed1ack", extra=route, uri="sip:bob@127.0.0.40:5061;transport=tcp"
    )
    send(alice, fe, ack[0])
    send(fe, edge, ack[1])
    send(edge_out, partner, ack[2])
    time.sleep(0.5)
    bye = d.request_hops(
        "BYE", 2, "fed1bye", extra=route, uri="sip:bob@127.0.0.40:5061;transport=tcp"
    )
    send(alice, fe, bye[0])
    send(fe, edge, bye[1])
    send(edge_out, partner, bye[2])
    bye_ok = d.response_hops(bye, "200 OK")
    send(partner, edge_out, bye_ok[0])
    send(edge, fe, bye_ok[1])
    send(fe, alice, bye_ok[2])

    # 2. A federated call the Edge refuses: the domain's SRV record points outside it.
    d = Dialog(
        "fed-call-2@127.0.0.10",
        alice_from.replace("a1b2c3", "a4d5e6"),
        "<sip:carol@acano.example>",
        "sip:carol@acano.example",
        [alice, fe, edge],
    )
    inv = d.request_hops("INVITE", 1, "fed2", body=sdp_a, extra=contact, record_route=True)
    send(alice, fe, inv[0])
    send(fe, alice, d.response_hops(inv, "100 Trying", first=0)[0])
    send(fe, edge, inv[1])
    send(edge, fe, d.response_hops(inv, "100 Trying")[0])
    edge.log.diagnostic(
        time.time(),
        "WARN",
        [
            "Severity: warning",
            "Text: The domain of the message resolved by DNS SRV but none of the FQDNs is in the same domain",
            "Result-Code: 0xc3e93d6f SIPPROXY_E_EPROUTING_MSG_ALLOWED_DOMAIN_NO_SRV_MATCH",
            "SIP-Start-Line: INVITE sip:carol@acano.example SIP/2.0",
            "SIP-Call-ID: fed-call-2@127.0.0.10",
            "SIP-CSeq: 1 INVITE",
            f"Peer: {_addr(edge.conns['fe01'], True)}",
            'Data: domain =" acano.example "; fqdn1 =" sip.other.example :5061"',
        ],
        glue_result=True,
    )
    diag = [
        (
            "ms-diagnostics",
            '1009;reason="No match for domain in DNS SRV results";'
            'domain="acano.example";fqdn1="sip.other.example:5061";source="sip.contoso.com"',
        ),
        ("Server", "RTC/6.0"),
    ]
    refused = d.response_hops(inv, "504 Server time-out", tag="e504a", extra=diag)
    send(edge, fe, refused[0])
    d.to_tag = "e504a"
    ack = d.request_hops("ACK", 1, "fed2", uri="sip:carol@acano.example")
    send(fe, edge, ack[1])
    send(fe, alice, refused[1])
    send(alice, fe, ack[0])

    # 3. ... and one whose next hop's certificate does not name the FQDN it was reached by.
    d = Dialog(
        "fed-call-3@127.0.0.10",
        alice_from.replace("a1b2c3", "a7f8a9"),
        "<sip:dave@fabrikam.com>",
        "sip:dave@fabrikam.com",
        [alice, fe, edge],
    )
    inv = d.request_hops("INVITE", 1, "fed3", body=sdp_a, extra=contact, record_route=True)
    send(alice, fe, inv[0])
    send(fe, alice, d.response_hops(inv, "100 Trying", first=0)[0])
    send(fe, edge, inv[1])
    send(edge, fe, d.response_hops(inv, "100 Trying")[0])
    edge.log.diagnostic(
        time.time(),
        "ERROR",
        [
            "Severity: error",
            "Text: Message cannot be routed because the peer's certificate does not contain a matching FQDN",
            "Result-Code: 0xc3e93d67 SIPPROXY_E_ROUTING_MSG_CERT_MISMATCH",
            "SIP-Start-Line: INVITE sip:dave@fabrikam.com SIP/2.0",
            "SIP-Call-ID: fed-call-3@127.0.0.10",
            "SIP-CSeq: 1 INVITE",
            "Peer: sip.fabrikam.com:5061",
            'Data: expected-fqdn =" sip.fabrikam.com "; certName =" edge.fabrikam.net ";'
            'info="The peer certificate does not contain a matching FQDN"',
        ],
        glue_result=True,
    )
    diag = [
        (
            "ms-diagnostics",
            '1010;reason="Certificate trust with another server could not be '
            'established";ErrorType="The peer certificate does not contain a matching FQDN";'
            'tls-target="sip.fabrikam.com";PeerServer="edge.fabrikam.net";'
            'HRESULT="0x80090322(SEC_E_WRONG_PRINCIPAL)";source="sip.contoso.com"',
        ),
        ("Server", "RTC/6.0"),
    ]
    refused = d.response_hops(inv, "504 Server time-out", tag="e504b", extra=diag)
    send(edge, fe, refused[0])
    d.to_tag = "e504b"
    ack = d.request_hops("ACK", 1, "fed3", uri="sip:dave@fabrikam.com")
    send(fe, edge, ack[1])
    send(fe, alice, refused[1])
    send(alice, fe, ack[0])
    # The Edge's own failed connection attempt: a one-line error naming no call.
    edge.log.trace(
        time.time(),
        "ERROR",
        "CONNECTION",
        "SIPStack,CSIPConnection::OnConnectComplete:conn.cpp(1208)",
        "Outgoing connection to 127.0.0.41:5061 failed. Result 0x8007274D(WSAECONNREFUSED)",
    )

    # 4. Test-CsFederatedPartner -ProxyFqdn: an OPTIONS with ms-edge-route the Edge refuses.
    d = Dialog(
        "8c1d6f0e2b3a4c5d9e8f7a6b5c4d3e2f",
        "<sip:fe01.contoso.com>;tag=0f1e2d",
        "<sip:Options_User@fabrikam.com>",
        "sip:Options_User@fabrikam.com",
        [fe, edge],
    )
    opt = d.request_hops(
        "OPTIONS",
        1,
        "opt",
        extra=[
            ("ROUTE", "<sip:sip.fabrikam.com;transport=tls;lr>;ms-edge-route"),
            ("CONTACT", "<sip:fe01.contoso.com;transport=Tls>"),
            ("USER-AGENT", "RTCC/5.0.0.0"),
        ],
    )
    send(fe, edge, opt[0])
    edge.log.component_event(
        time.time(),
        "ERROR",
        "SIPStack,CSIPRequest::GetNextHopByRouteHeader:SIPRequest.cpp(2440)",
        "Exit - route headers from untrusted source. Result 0xC3E93C5E(SIPPROXY_E_ROUTING)",
        [
            "LogType: diagnostic",
            "Severity: warning",
            "Text: Cannot process Route headers from a non-trusted source, or with first Route field in the set not matching the connection on which the request arrived",
            "Result-Code: 0xc3e93c5e SIPPROXY_E_ROUTING",
            "SIP-Start-Line: OPTIONS sip:Options_User@fabrikam.com SIP/2.0",
            "SIP-Call-ID: 8c1d6f0e2b3a4c5d9e8f7a6b5c4d3e2f",
            "SIP-CSeq: 1 OPTIONS",
        ],
    )
    send(edge, fe, d.response_hops(opt, "504 Server time-out", tag="e504c")[0])

    # 5. A PSTN call: alice → FE → Mediation → gateway; the far end hangs up.
    d = Dialog(
        "pstn-call-1@127.0.0.10",
        alice_from.replace("a1b2c3", "a0b0c0"),
        "<sip:+15551234567@contoso.com;user=phone>",
        "sip:+15551234567@contoso.com;user=phone",
        [alice, fe, med, gw],
    )
    inv = d.request_hops("INVITE", 1, "pstn", body=sdp_a, extra=contact, record_route=True)
    send(alice, fe, inv[0])
    send(fe, alice, d.response_hops(inv, "100 Trying", first=0)[0])
    send(fe, med, inv[1])
    send(med, fe, d.response_hops(inv, "100 Trying", first=1)[0])
    send(med, gw, inv[2])
    prog = d.response_hops(
        inv, "183 Session Progress", tag="gw77", body=_sdp("127.0.0.60", 30000, 3003)
    )
    send(gw, med, prog[0])
    send(med, fe, prog[1])
    send(fe, alice, prog[2])
    time.sleep(0.2)
    ok = d.response_hops(
        inv,
        "200 OK",
        tag="gw77",
        body=_sdp("127.0.0.60", 30000, 3003),
        extra=[("Contact", "<sip:+15551234567@127.0.0.60:5060;transport=tcp>")],
    )
    send(gw, med, ok[0])
    send(med, fe, ok[1])
    send(fe, alice, ok[2])
    d.to_tag = "gw77"
    route = [
        ("Route", "<sip:fe01.contoso.com:5061;transport=tcp;lr>"),
        ("Route", "<sip:med01.contoso.com:5068;transport=tcp;lr>"),
    ]
    ack = d.request_hops(
        "ACK", 1, "pstnack", extra=route, uri="sip:+15551234567@127.0.0.60:5060;transport=tcp"
    )
    send(alice, fe, ack[0])
    send(fe, med, ack[1])
    send(med, gw, ack[2])
    time.sleep(0.5)
    # The gateway hangs up: BYE the other way along the route.
    back = Dialog(
        "pstn-call-1@127.0.0.10",
        "<sip:+15551234567@contoso.com;user=phone>;tag=gw77",
        "<sip:alice@contoso.com>;tag=a0b0c0",
        "sip:alice@127.0.0.10:5070;transport=tcp",
        [gw, med, fe, alice],
    )
    bye = back.request_hops("BYE", 2, "pstnbye")
    send(gw, med, bye[0])
    send(med, fe, bye[1])
    send(fe, alice, bye[2])
    bye_ok = back.response_hops(bye, "200 OK")
    send(alice, fe, bye_ok[0])
    send(fe, med, bye_ok[1])
    send(med, gw, bye_ok[2])
    med.log.trace(
        time.time(),
        "INFO",
        "COMPONENT",
        "MediationServer,CallManager::OnBye:call.cpp(77)",
        "call ended by the gateway",
    )


def main() -> None:
    if sys.argv[1:] == ["--record-federation"]:
        record_federation()
        return
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
