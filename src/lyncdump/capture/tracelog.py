"""Lync / Skype for Business trace logs: the text Snooper reads, as a source of SIP messages.

Two formats, told apart by their content (never the file name):

* ``lync-server-log``: OCSLogger / CLS output formatted as text. Records sit between a header
  line ``TL_INFO(TF_PROTOCOL) [0]06E4.0EB4::01/18/2012-05:00:43.101.00005386 (SIPStack,...)``
  ending in ``$$begin_record`` and a ``$$end_record`` line; protocol records carry
  ``Direction``, ``Peer``, ``Start-Line``, the SIP headers and ``Message-Body``; other records
  (``Severity``, ``Text``, ``Result-Code``...) are diagnostic events.
* ``uccapi-log``: the client's ``MM/DD/YYYY|HH:MM:SS.mmm PID:TID LEVEL :: text`` lines, with each
  SIP message between ``Sending Packet - ...`` / ``Data Received - ...`` and the matching
  ``End of ...`` line.

The parsers are line-driven and keep no I/O of their own (``feed(lineno, line)`` returns what a
line completed); :class:`TraceLogReader` streams the file through them in 1 MiB reads, so a log
of hundreds of MB never sits in memory. Whatever does not fit the expected shape (unterminated
records, oversized lines, records without a start line) is skipped and reported as a
:class:`~lyncdump.model.Defect` of layer ``tracelog`` whose ``frame`` is the record number and
whose ``offset`` is the 1-based line number in the log. See docs/tracelog.md.
"""

from __future__ import annotations

import calendar
import codecs
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO

from ..errors import CaptureError
from ..model import Defect, Endpoint
from ..sip.message import SipMessage, parse_message
from .netmon import NetmonReader
from .pcap import PcapReader
from .pcapng import PcapngReader
from .source import CHUNK, ByteStream, CaptureReader, detect, open_stream

SERVER_FORMAT = "lync-server-log"
CLIENT_FORMAT = "uccapi-log"
FORMATS = (SERVER_FORMAT, CLIENT_FORMAT)

#: Longest line kept (a single-line XML document in a UccApi log can be long); longer lines
#: are dropped with a defect, so a file without line breaks cannot fill memory.
MAX_LINE = 1 << 20
#: Most characters kept for one record (a SIP message is at most 1 MiB, plus the record fields).
MAX_RECORD = (1 << 20) + (64 << 10)
#: Events (diagnostic and component records) kept per log; the rest are counted in a defect,
#: so a log of millions of diagnostics cannot fill memory.
MAX_EVENTS = 10_000
#: How much of the start of an input is looked at to tell a log from a capture.
SNIFF_BYTES = 64 << 10

#: What the ladder shows for the side of a message the log does not name (server logs only
#: name the peer; the local machine's name is used when the header line gives one).
LOCAL_PLACEHOLDER = "local"
#: ... and for a record without a ``Peer`` field.
PEER_PLACEHOLDER = "peer"
_LOCAL = Endpoint(LOCAL_PLACEHOLDER, 0)
_PEER = Endpoint(PEER_PLACEHOLDER, 0)

_LAYER = "tracelog"

_TS = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})[-|T ](\d{1,2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?")
_TL = re.compile(r"\s*TL_(\w+)\(TF_(\w+)\)\s*(?:\[([^\]]*)\])?")
_COMPONENT = re.compile(r"\(([A-Za-z][\w.\- ]*),")
_UCC_PREFIX = re.compile(
    r"(\d{1,2})/(\d{1,2})/(\d{4})\|(\d{1,2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?\s+"
    r"([0-9A-Fa-f]+):([0-9A-Fa-f]+)\s+(\w+)\s*::\s?"
)
_UCC_PACKET = re.compile(
    r"\s*(?P<end>End of\s+)?(?P<what>Sending Packet|Data Received)\s*-\s*(?P<peer>[^\s(]+)?\s*"
    r"(?:\((?:From|To)\s+Local Address:\s*(?P<local>[^)\s]*)\s*\))?\s*"
    r"(?:(?P<size>\d+)\s*bytes)?",
    re.IGNORECASE,
)
_SIP_START = re.compile(r"(?:[A-Za-z][A-Za-z0-9.!%*_+`'~-]*\s+\S+\s+SIP/\d\.\d|SIP/\d\.\d\s+\d{3})")
_ARROW_PEER = re.compile(r"Address(?:\s+IP)?:\s*([^\s)]+)", re.IGNORECASE)


@dataclass(slots=True)
class LogMessage:
    """One SIP message found in a log, with what the log says about where it went.

    ``record`` is the record's 1-based number in the log (it becomes ``SipMessage.frame``),
    ``line`` the line its record starts on, ``time`` seconds since the epoch taken as UTC,
    ``direction`` ``"in"``/``"out"`` as seen by the machine that wrote the log (or None).
    ``text`` is the message rebuilt with CRLF line ends, as it was on the wire.
    """

    record: int
    line: int
    time: float | None
    direction: str | None
    peer: Endpoint | None
    local: Endpoint | None
    text: bytes
    fields: dict[str, str] = field(default_factory=dict)
    level: str | None = None
    component: str | None = None
    partial: bool = False

    @property
    def src(self) -> Endpoint:
        """Sender: the local side for outgoing messages, the peer otherwise (placeholders
        ``local:0`` / ``peer:0`` for a side the log does not name)."""
        if self.direction == "out":
            return self.local or _LOCAL
        return self.peer or _PEER

    @property
    def dst(self) -> Endpoint:
        if self.direction == "out":
            return self.peer or _PEER
        return self.local or _LOCAL


@dataclass(slots=True)
class LogEvent:
    """A record that is not a SIP message: a diagnostic (``Severity``, ``Text``,
    ``Result-Code``) or component trace, kept so a reader can see what the server reported."""

    record: int
    line: int
    time: float | None
    level: str | None
    flag: str | None
    component: str | None
    fields: dict[str, str] = field(default_factory=dict)
    text: str = ""

    @property
    def severity(self) -> str | None:
        return self.fields.get("Severity") or (self.level.lower() if self.level else None)

    @property
    def result_code(self) -> str | None:
        return self.fields.get("Result-Code")

    def to_dict(self) -> dict[str, object]:
        """The event as JSON (``log_events`` of the capture record)."""
        return {
            "record": self.record,
            "line": self.line,
            "time": self.time,
            "level": self.level,
            "flag": self.flag,
            "component": self.component,
            "severity": self.severity,
            "text": self.text,
            "result_code": self.result_code,
            "fields": dict(self.fields),
        }


LogItem = LogMessage | LogEvent


# -- small parsers -----------------------------------------------------------------------------
def parse_timestamp(match: re.Match[str]) -> float | None:
    """``MM/DD/YYYY`` + ``HH:MM:SS[.fff]`` groups → seconds since the epoch, read as UTC."""
    try:
        month, day, year, hour, minute, second = (int(g) for g in match.groups()[:6])
    except (TypeError, ValueError):
        return None
    if not (1 <= month <= 12 and 1 <= day <= 31 and hour < 24 and minute < 60 and second < 61):
        return None
    frac = match.group(7)
    seconds = calendar.timegm((year, month, day, hour, minute, second, 0, 0, 0))
    if frac:
        seconds += int(frac) / (10 ** len(frac))
    return float(seconds)


def parse_endpoint(text: str | None) -> Endpoint | None:
    """``host:port``, ``[v6]:port``, ``host`` (port 0) or a bare IPv6 address → Endpoint."""
    if not text:
        return None
    text = text.strip().split(";", 1)[0].split()[0] if text.strip() else ""
    if not text:
        return None
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else ""
    elif text.count(":") == 1:
        host, _, port = text.partition(":")
    else:
        host, port = text, ""
    if not host:
        return None
    return Endpoint(host, int(port) if port.isdigit() and len(port) <= 5 else 0)


def _content_length(headers: list[str]) -> int | None:
    for line in headers:
        name, sep, value = line.partition(":")
        if sep and name.strip().lower() in ("content-length", "l"):
            value = value.strip()
            return int(value) if value.isdigit() and len(value) < 10 else None
    return None


def _to_bytes(text: str) -> bytes:
    return text.encode("utf-8", "surrogateescape")


def assemble(
    start_line: str, headers: list[str], body_lines: list[str], size: int | None, total: bool
) -> bytes:
    """The message as on the wire: CRLF after every header line, the body re-joined.

    Logs lose the body's line ends; of CRLF or LF, with or without a final one, the variant
    whose length matches ``size`` (the body's Content-Length, or with ``total`` the whole
    message's byte count the log gives) wins; CRLF otherwise.
    """
    head = _to_bytes("\r\n".join([start_line, *headers])) + b"\r\n\r\n"
    if not body_lines:
        return head
    crlf = _to_bytes("\r\n".join(body_lines))
    if size is None:
        return head + crlf
    want = size - len(head) if total else size
    lf = _to_bytes("\n".join(body_lines))
    for candidate in (crlf, crlf + b"\r\n", lf, lf + b"\n"):
        if len(candidate) == want:
            return head + candidate
    return head + crlf


def _defect(frame: int | None, line: int, reason: str) -> Defect:
    """A skipped part of a log: ``frame`` is the record number, the reason names the line."""
    return Defect(frame, _LAYER, None, f"line {line}: {reason}")


# -- the server log parser -----------------------------------------------------------------------
@dataclass(slots=True)
class _Header:
    line: int
    time: float | None
    level: str | None
    flag: str | None
    machine: str | None
    component: str | None
    direction: str | None = None
    peer: str | None = None


@dataclass(slots=True)
class _Record:
    header: _Header
    number: int
    lines: list[str] = field(default_factory=list)
    size: int = 0
    overflow: bool = False


def _parse_header(text: str, lineno: int) -> _Header:
    """What a record's header line says; every part is optional."""
    level = flag = machine = component = direction = peer = None
    m = _TL.match(text)
    if m is not None:
        level, flag, ctx = m.group(1), m.group(2), m.group(3)
        if ctx and "\\" in ctx:
            machine = ctx.rsplit("\\", 1)[1] or None
    ts = _TS.search(text)
    time = parse_timestamp(ts) if ts is not None else None
    c = _COMPONENT.search(text, ts.end() if ts is not None else 0)
    if c is not None and m is not None:
        component = c.group(1).strip()
    if m is None:
        # The UCMA-derived variant: "... --> Message to Send (Dest Address IP: a:p):$$begin_record".
        if "-->" in text:
            direction = "out"
        elif "<--" in text:
            direction = "in"
        a = _ARROW_PEER.search(text)
        if a is not None:
            peer = a.group(1).rstrip("):")
    return _Header(lineno, time, level, flag, machine, component, direction, peer)


class ServerLogParser:
    """Line-driven parser of server (OCSLogger / CLS) text logs; see the module docstring."""

    format = SERVER_FORMAT

    def __init__(self) -> None:
        self.defects: list[Defect] = []
        self.records = 0
        self.trace_lines = 0
        self.stray_lines = 0
        self._record: _Record | None = None
        self._pending: tuple[str, int] | None = None  # a header line, parsed when needed

    def feed(self, lineno: int, line: str) -> list[LogItem]:
        """One line (without its line end); returns the records it completed."""
        rec = self._record
        if rec is not None:
            # The common case, a line inside a record, costs two substring tests.
            if "$$" in line:
                end = line.find("$$end_record")
                if end >= 0:
                    before = line[:end]
                    if before.strip():
                        self._append(rec, before)
                    self._record = None
                    return self._finish(rec)
                if "$$begin_record" in line:
                    return self._cut_short(rec, lineno, line)
            elif line.startswith("TL_") and _TL.match(line) is not None:
                return self._cut_short(rec, lineno, line)
            rec.size += len(line) + 2
            if rec.size > MAX_RECORD:
                self._overflow(rec)
            elif not rec.overflow:
                rec.lines.append(line)
            return []
        begin = line.find("$$begin_record") if "$$" in line else -1
        if begin >= 0:
            before = line[:begin]
            if before.strip():
                header = _parse_header(before, lineno)
                if self._pending is not None:
                    self.trace_lines += 1
            elif self._pending is not None:
                header = _parse_header(*self._pending)
            else:
                header = _Header(lineno, None, None, None, None, None)
            self._pending = None
            self.records += 1
            self._record = _Record(header, self.records)
            after = line[begin + len("$$begin_record") :]
            if after.strip():
                self._append(self._record, after.strip())
            return []
        if (line.startswith("TL_") or line[:1].isspace()) and _TL.match(line) is not None:
            # Parsed only if a record follows: most such lines are one-line component traces.
            if self._pending is not None:
                self.trace_lines += 1
            self._pending = (line, lineno)
            return []
        if self._pending is not None and line[:8].lower() in ("logtype:", "severity"):
            # A diagnostic record whose header line lacks $$begin_record.
            self.records += 1
            self._record = _Record(_parse_header(*self._pending), self.records)
            self._pending = None
            self._append(self._record, line)
            return []
        if self._pending is not None:
            self.trace_lines += 1
            self._pending = None
        if line.strip() and line.strip() != "$$end_record":
            self.stray_lines += 1
        return []

    def close(self, lineno: int) -> list[LogItem]:
        """End of input: a record still open is delivered as far as it got."""
        if self._pending is not None:
            self.trace_lines += 1
            self._pending = None
        rec = self._record
        self._record = None
        if rec is None:
            return []
        self._defect(rec, rec.header.line, "log ends inside a record (no $$end_record)")
        return self._finish(rec, partial=True)

    def _append(self, rec: _Record, line: str) -> None:
        rec.size += len(line) + 2
        if rec.size > MAX_RECORD:
            self._overflow(rec)
        elif not rec.overflow:
            rec.lines.append(line)

    def _overflow(self, rec: _Record) -> None:
        if not rec.overflow:
            rec.overflow = True
            rec.lines = []
            self._defect(rec, rec.header.line, f"record longer than {MAX_RECORD} characters")

    def _cut_short(self, rec: _Record, lineno: int, line: str) -> list[LogItem]:
        """A new record (or header line) before this one's ``$$end_record``."""
        self._record = None
        self._defect(rec, rec.header.line, "record has no $$end_record (cut short?)")
        out = self._finish(rec)
        out.extend(self.feed(lineno, line))
        return out

    def _defect(self, rec: _Record | None, lineno: int, reason: str) -> None:
        self.defects.append(_defect(rec.number if rec else None, lineno, reason))

    def _finish(self, rec: _Record, partial: bool = False) -> list[LogItem]:
        if rec.overflow:
            return []
        h = rec.header
        fields: dict[str, str] = {}
        lines = rec.lines
        start_at = -1
        for i, text in enumerate(lines):
            name, sep, value = text.partition(":")
            name = name.strip()
            if not sep or not name or " " in name:
                continue
            if name.lower() == "start-line":
                fields["Start-Line"] = value.strip()
                start_at = i
                break
            fields.setdefault(name, value.strip())
        if start_at < 0:
            if "Message-Type" in fields or fields.get("Direction"):
                self._defect(rec, h.line, "protocol record without a Start-Line skipped")
            return [self._event(rec, fields)]
        rest = lines[start_at + 1 :]
        body: list[str] = []
        for i, text in enumerate(rest):
            first = text[:1]
            if first in "Mm \t" and text.lstrip()[:13].lower() == "message-body:":
                value = text.partition(":")[2].strip()
                body = rest[i + 1 :]
                if value and value != "-":
                    body.insert(0, value)
                rest = rest[:i]
                break
        headers = [text for text in rest if text and not text.isspace()]
        if len(body) == 1 and not body[0].strip():
            body = []
        direction = h.direction
        dir_text = fields.get("Direction", "").lower()
        if dir_text.startswith("in"):
            direction = "in"
        elif dir_text.startswith("out"):
            direction = "out"
        peer = parse_endpoint(fields.get("Peer") or h.peer)
        local = Endpoint(h.machine, 0) if h.machine else None
        size = _content_length(headers) if body else None
        raw = assemble(fields["Start-Line"], headers, body, size, False)
        return [
            LogMessage(
                record=rec.number,
                line=h.line,
                time=h.time,
                direction=direction,
                peer=peer,
                local=local,
                text=raw,
                fields=fields,
                level=h.level,
                component=h.component,
                partial=partial,
            )
        ]

    def _event(self, rec: _Record, fields: dict[str, str]) -> LogEvent:
        h = rec.header
        text = fields.get("Text")
        if text is None:
            text = " ".join(line.strip() for line in rec.lines if ":" not in line)[:1000]
        return LogEvent(rec.number, h.line, h.time, h.level, h.flag, h.component, fields, text)


# -- the client (UccApi) log parser -------------------------------------------------------------
@dataclass(slots=True)
class _Packet:
    number: int
    line: int
    time: float | None
    direction: str
    peer: Endpoint | None
    local: Endpoint | None
    size: int | None
    level: str
    lines: list[str] = field(default_factory=list)
    chars: int = 0
    overflow: bool = False


class UccApiLogParser:
    """Line-driven parser of client UccApi logs; see the module docstring."""

    format = CLIENT_FORMAT

    def __init__(self) -> None:
        self.defects: list[Defect] = []
        self.records = 0
        self.trace_lines = 0
        self.stray_lines = 0
        self.interleaved_lines = 0
        self._packet: _Packet | None = None

    def feed(self, lineno: int, line: str) -> list[LogItem]:
        """One line (without its line end); returns the message it completed, if any."""
        # Only prefixed lines ("MM/DD/YYYY|...") need the regular expression.
        prefix = _UCC_PREFIX.match(line) if "|" in line[:11] else None
        packet = self._packet
        if prefix is None:
            if packet is None:
                if line.strip():
                    self.stray_lines += 1
                return []
            if packet.lines or line.strip():
                self._append(packet, line)
            return []
        text = line[prefix.end() :]
        marker = _UCC_PACKET.match(text) if "acket" in text or "eceived" in text else None
        if (
            marker is not None
            and marker.group("what") is not None
            and (marker.group("peer") or marker.group("size") or marker.group("end"))
        ):
            out: list[LogItem] = []
            if marker.group("end"):
                if packet is None:
                    self.defects.append(
                        _defect(None, lineno, "End of packet marker without its start")
                    )
                    return []
                self._packet = None
                return self._finish(packet)
            if packet is not None:
                self._packet = None
                self.defects.append(
                    _defect(packet.number, packet.line, "packet record has no End marker")
                )
                out = self._finish(packet, partial=True)
            self.records += 1
            size = marker.group("size")
            self._packet = _Packet(
                number=self.records,
                line=lineno,
                time=parse_timestamp(prefix),
                direction="out" if marker.group("what").lower().startswith("send") else "in",
                peer=parse_endpoint(marker.group("peer")),
                local=parse_endpoint(marker.group("local")),
                size=int(size) if size and len(size) < 10 else None,
                level=prefix.group(10),
            )
            return out
        if packet is not None and not packet.lines and _SIP_START.match(text.strip()):
            # The first SIP line shares the prefixed line.
            self._append(packet, text.strip())
            return []
        if packet is not None:
            self.interleaved_lines += 1
        else:
            self.trace_lines += 1
        return []

    def close(self, lineno: int) -> list[LogItem]:
        packet = self._packet
        self._packet = None
        if packet is None:
            return []
        self.defects.append(_defect(packet.number, packet.line, "log ends inside a packet record"))
        return self._finish(packet, partial=True)

    def _append(self, packet: _Packet, line: str) -> None:
        if packet.overflow:
            return
        packet.chars += len(line) + 2
        if packet.chars > MAX_RECORD:
            packet.overflow = True
            self.defects.append(
                _defect(packet.number, packet.line, f"packet longer than {MAX_RECORD} chars")
            )
            return
        packet.lines.append(line)

    def _finish(self, packet: _Packet, partial: bool = False) -> list[LogItem]:
        if packet.overflow:
            return []
        lines = packet.lines
        while lines and not lines[-1].strip():
            lines.pop()
        if not lines:
            self.defects.append(_defect(packet.number, packet.line, "empty packet record"))
            return []
        try:
            blank = next(i for i, text in enumerate(lines) if not text.strip())
        except StopIteration:
            blank = len(lines)
        headers = lines[1:blank]
        body = lines[blank + 1 :]
        text = assemble(lines[0], headers, body, packet.size, True)
        if not partial and packet.size is not None and packet.size != len(text):
            self.defects.append(
                _defect(
                    packet.number,
                    packet.line,
                    f"log says {packet.size} bytes, message rebuilt has {len(text)}",
                )
            )
        return [
            LogMessage(
                record=packet.number,
                line=packet.line,
                time=packet.time,
                direction=packet.direction,
                peer=packet.peer,
                local=packet.local,
                text=text,
                level=packet.level,
                partial=partial,
            )
        ]


# -- format detection and the streaming reader ----------------------------------------------------
def _encoding(head: bytes) -> tuple[str, int]:
    """Text encoding of a log and the length of its byte-order mark."""
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8", 3
    if head.startswith(codecs.BOM_UTF16_LE):
        return "utf-16-le", 2
    if head.startswith(codecs.BOM_UTF16_BE):
        return "utf-16-be", 2
    sample = head[:512]
    if len(sample) >= 8:
        if sample[1::2].count(0) > len(sample) // 4 and sample[0::2].count(0) == 0:
            return "utf-16-le", 0
        if sample[0::2].count(0) > len(sample) // 4 and sample[1::2].count(0) == 0:
            return "utf-16-be", 0
    return "utf-8", 0


def sniff(head: bytes) -> str | None:
    """``lync-server-log``, ``uccapi-log`` or None, from the first bytes of an input."""
    if not head:
        return None
    encoding, bom = _encoding(head)
    text = head[bom:SNIFF_BYTES].decode(encoding, "replace")
    for line in text.splitlines()[:2000]:
        if "$$begin_record" in line or _TL.match(line) is not None:
            return SERVER_FORMAT
        prefix = _UCC_PREFIX.match(line)
        if prefix is not None:
            return CLIENT_FORMAT
    return None


def sniff_path(path: str) -> str | None:
    """The log format of a file (gzip undone), or None for anything else or an unreadable file."""
    if path == "-":
        return None
    try:
        stream, head = open_stream(path)
    except CaptureError:
        return None
    try:
        return sniff(head)
    finally:
        stream.close()


class TraceLogReader(CaptureReader):
    """A trace log read front to back: ``items()`` yields :class:`LogMessage` and
    :class:`LogEvent` in log order; ``defects`` collects what was skipped. It is a
    :class:`CaptureReader` without frames, so ``Capture`` holds either kind of reader."""

    def __init__(self, stream: ByteStream, head: bytes, fmt: str) -> None:
        super().__init__(stream, head)
        self.format = fmt
        self.defects: list[Defect] = []
        self.bytes_read = 0
        self.lines = 0
        #: Events seen (kept or not).
        self.events = 0
        self.parser: ServerLogParser | UccApiLogParser = (
            ServerLogParser() if fmt == SERVER_FORMAT else UccApiLogParser()
        )
        self._head = head

    def _frames(self) -> Iterator[tuple[float, int, bytes]]:
        return iter(())

    def items(self) -> Iterator[LogItem]:
        """Every message and event, streaming; call once."""
        if self._started:
            raise CaptureError(f"{self.name}: items() was already read; open the log again")
        self._started = True
        parser = self.parser
        feed = parser.feed
        lineno = 0
        self.events = 0
        for lineno, lines in self._batches():
            for line in lines:
                lineno += 1
                if line is not None:
                    out = feed(lineno, line)
                    if out:
                        yield from self._bounded(out)
        yield from self._bounded(parser.close(lineno))
        if self.events > MAX_EVENTS:
            self.defects.append(
                Defect(
                    None,
                    _LAYER,
                    None,
                    f"{self.events - MAX_EVENTS} more events not kept (the first {MAX_EVENTS} are)",
                )
            )
        self.defects.extend(parser.defects)
        parser.defects.clear()
        skipped = parser.stray_lines
        if skipped:
            self.defects.append(
                Defect(None, _LAYER, None, f"{_lines(skipped)} outside any record skipped")
            )
        interleaved = getattr(parser, "interleaved_lines", 0)
        if interleaved:
            self.defects.append(
                Defect(
                    None,
                    _LAYER,
                    None,
                    f"{_lines(interleaved, 'trace line')} inside packet records skipped",
                )
            )

    def _bounded(self, items: list[LogItem]) -> Iterator[LogItem]:
        """Every message; events up to :data:`MAX_EVENTS`."""
        for item in items:
            if isinstance(item, LogEvent):
                self.events += 1
                if self.events > MAX_EVENTS:
                    continue
            yield item

    def _batches(self) -> Iterator[tuple[int, list[str | None]]]:
        """The lines of each chunk read, after the line number before the first of them;
        a line over :data:`MAX_LINE` is None (reported here)."""
        encoding, bom = _encoding(self._head)
        decoder = codecs.getincrementaldecoder(encoding)(
            "surrogateescape" if encoding == "utf-8" else "replace"
        )
        chunk = self._head[bom:]
        self.bytes_read = len(self._head)
        self._head = b""
        pending = ""
        skipping = False
        lineno = 0
        read = self._stream.read
        while True:
            final = not chunk
            text = decoder.decode(chunk, final)
            if pending:
                text = pending + text
            if "\r" in text:
                text = text.replace("\r\n", "\n")
            parts: list[str | None] = text.split("\n")  # type: ignore[assignment]
            pending = "" if final else parts.pop()  # type: ignore[assignment]
            # The rest of a line already reported as too long is dropped with it.
            drop_first = skipping and bool(parts)
            if parts and max(map(len, parts)) > MAX_LINE:  # type: ignore[arg-type]
                for i, part in enumerate(parts):
                    if part is not None and len(part) > MAX_LINE and not (drop_first and i == 0):
                        parts[i] = None
                        self.defects.append(
                            _defect(
                                None, lineno + i + 1, f"line longer than {MAX_LINE} chars skipped"
                            )
                        )
            if drop_first:
                parts[0] = None
                skipping = False
            yield lineno, parts
            lineno += len(parts)
            if len(pending) > MAX_LINE:
                self.defects.append(
                    _defect(None, lineno + 1, f"line longer than {MAX_LINE} chars skipped")
                )
                pending = ""
                skipping = True
            if final:
                break
            chunk = read(CHUNK)
            self.bytes_read += len(chunk)
        self.lines = lineno

    def __repr__(self) -> str:
        return f"<TraceLogReader {self.name!r} ({self.format})>"


def _lines(n: int, what: str = "line") -> str:
    return f"{n} {what}" + ("" if n == 1 else "s")


def to_sip_message(item: LogMessage) -> SipMessage:
    """The log's message through the same SIP parser as captured ones, with the log's context:
    ``frame`` = record number, ``time`` from the record, endpoints from Peer / Local Address,
    ``transport`` from the top Via. Raises :class:`MalformedError` like ``parse_message``."""
    msg = parse_message(item.text)
    msg.frame = msg.first_frame = item.record
    msg.time = item.time
    msg.src = item.src
    msg.dst = item.dst
    msg.transport = _top_via_transport(msg.header("via"))
    return msg


def _top_via_transport(via: str | None) -> str | None:
    """``SIP/2.0/TLS host;...`` → ``TLS`` without parsing the whole Via list."""
    if not via:
        return None
    sent = via.split(None, 1)[0].split(",", 1)[0].split("/")
    return sent[2].strip().upper() if len(sent) == 3 and sent[2].strip() else None


_CAPTURE_READERS: dict[str, type[CaptureReader]] = {
    "pcap": PcapReader,
    "pcapng": PcapngReader,
    "netmon2": NetmonReader,
}


def open_input(
    source: str | os.PathLike[str] | IO[bytes],
) -> CaptureReader | TraceLogReader:
    """Open a capture or a trace log, told apart by content: what ``Capture`` reads.

    Captures get the same readers and error messages as :func:`lyncdump.capture.open_capture`.
    """
    stream, head = open_stream(source)
    try:
        if not head:
            what = "empty compressed file" if stream.compressed else "empty file"
            raise CaptureError(f"{stream.name}: {what}")
        try:
            fmt: str | None = detect(head)
        except ValueError:
            fmt = None
        if fmt is not None:
            return _CAPTURE_READERS[fmt](stream, head)
        while len(head) < 4096:
            more = stream.read(CHUNK)
            if not more:
                break
            head += more
        log_format = sniff(head)
        if log_format is not None:
            return TraceLogReader(stream, head, log_format)
        try:
            fmt = detect(head)
        except ValueError as exc:
            gz = " (after gzip decompression)" if stream.compressed else ""
            what = str(exc).replace(
                "not a pcap, pcapng or Network Monitor capture",
                "not a pcap, pcapng or Network Monitor capture, nor a Lync trace log",
            )
            raise CaptureError(f"{stream.name}: {what}{gz}") from None
        return _CAPTURE_READERS[fmt](stream, head)
    except BaseException:
        stream.close()
        raise


__all__ = [
    "CLIENT_FORMAT",
    "SERVER_FORMAT",
    "LogEvent",
    "LogMessage",
    "ServerLogParser",
    "TraceLogReader",
    "UccApiLogParser",
    "open_input",
    "parse_endpoint",
    "sniff",
    "sniff_path",
    "to_sip_message",
]
