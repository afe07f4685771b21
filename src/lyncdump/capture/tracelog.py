"""Lync / Skype for Business trace logs: the text Snooper reads, as a source of SIP messages
and of the servers' diagnostic records.

Two formats, told apart by their content (never the file name):

* ``lync-server-log``: OCSLogger / CLS output formatted as text. Records sit between a header
  line ``TL_INFO(TF_PROTOCOL) [0]06E4.0EB4::01/18/2012-05:00:43.101.00005386 (SIPStack,...)``
  ending in ``$$begin_record`` and a ``$$end_record`` line; protocol records carry
  ``Direction``, ``Peer``, ``Start-Line``, the SIP headers and ``Message-Body``; other records
  (``Severity``, ``Text``, ``Result-Code``, ``SIP-Call-ID``, ``Data``...) are diagnostic
  events. A header line may also carry its event itself (``... Exit - route headers from
  untrusted source. Result 0xC3E93C5E(SIPPROXY_E_ROUTING)``) with or without a body after it.
* ``uccapi-log``: the client's ``MM/DD/YYYY|HH:MM:SS.mmm PID:TID LEVEL :: text`` lines, with each
  SIP message between ``Sending Packet - ...`` / ``Data Received - ...`` and the matching
  ``End of ...`` line.

The parsers are line-driven and keep no I/O of their own (``feed(lineno, line)`` returns what a
line completed); :class:`TraceLogReader` streams the file through them in 1 MiB reads, so a log
of hundreds of MB never sits in memory. Whatever does not fit the expected shape (unterminated
records, oversized lines, records without a start line) is skipped and reported as a
:class:`~lyncdump.model.Defect` of layer ``tracelog`` whose ``frame`` is the record number and
whose ``offset`` is the 1-based line number in the log. See docs/tracelog.md.

This module loads only when an input is a log (:func:`lyncdump.capture.open_input` tells a
capture by its first bytes first); what every run names (:class:`LogEvent`, the format and
severity names, the ``--log-host`` helpers) lives in :mod:`.logtypes` and is re-exported here.
"""

from __future__ import annotations

import calendar
import codecs
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

from ..errors import CaptureError
from ..model import Defect, Endpoint
from ..recent import ReadOnce
from ..sip.message import SipMessage, parse_message
from . import open_input
from .logtypes import (
    CLIENT_FORMAT,
    FLAGS,
    FORMATS,
    LEVELS,
    LOCAL_PLACEHOLDER,
    PEER_PLACEHOLDER,
    SERVER_FORMAT,
    SEVERITIES,
    LogEvent,
    ResultCode,
    log_host_for,
    parse_endpoint,
    unknown_log_hosts,
)
from .source import CHUNK, ByteStream, CaptureReader, open_stream

#: Longest line kept (a single-line XML document in a UccApi log can be long); longer lines
#: are dropped with a defect, so a file without line breaks cannot fill memory.
MAX_LINE = 1 << 20
#: Most characters kept for one record (a SIP message is at most 1 MiB, plus the record fields).
MAX_RECORD = (1 << 20) + (64 << 10)
#: Events (diagnostic and component records) kept per log; the rest are counted in a defect,
#: so a log of millions of diagnostics cannot fill memory.
MAX_EVENTS = 10_000
#: ... and the characters they may hold together (fields, text); a total, not a per-event limit.
MAX_EVENT_CHARS = 8 << 20
#: One field value of an event is cut to this many characters (with "…" at the end), and an
#: event keeps at most :data:`MAX_EVENT_FIELDS` fields.
MAX_FIELD = 4096
MAX_EVENT_FIELDS = 64
#: How much of the start of an input is looked at to tell a log from a capture.
SNIFF_BYTES = 64 << 10
#: Messages held back, at most, while the reader learns the logging server's name from the
#: log itself (see :class:`TraceLogReader`): a count and the characters of their text.
HOST_LOOKAHEAD = 256
HOST_LOOKAHEAD_CHARS = 4 << 20

_LAYER = "tracelog"

_TS = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})[-|T ](\d{1,2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?")
_TL = re.compile(r"\s*TL_(\w+)\(TF_(\w+)\)\s*(?:\[([^\]]*)\])?")
_PID_TID = re.compile(r"\s*([0-9A-Fa-f]{1,8})\.([0-9A-Fa-f]{1,8})::")
_SEQ = re.compile(r"\.([0-9A-Fa-f]{1,16})")
_WHERE = re.compile(r"\s*\(([A-Za-z][\w.\- ]*),([^()]*)(?:\((\d+)\))?\)")
_CORRELATION = re.compile(r"\[\s*(\d{1,20})\s*\]\s*$")
_POINTER = re.compile(r"\(\s*(?:0x)?[0-9A-Fa-f]{4,16}\s*\)\s*")
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
#: Result codes as the three record shapes write them: ``Result-Code: 0xc3e93d6f NAME`` (its own
#: field, or glued to the end of ``Text:``) and ``Result 0xC3E93C5E(NAME)`` on a header line.
_RESULT_FIELD = re.compile(r"(0x[0-9A-Fa-f]{1,8})\b(?:\s*\(?\s*([A-Za-z_][A-Za-z0-9_]*)\s*\)?)?")
_RESULT_IN_TEXT = re.compile(r"\s*\bResult-Code\s*:\s*(0x[0-9A-Fa-f]{1,8})\b(?:\s+([A-Za-z_]\w*))?")
_RESULT_HEADLINE = re.compile(
    r"\s*\bResult\s*[:=]?\s*(0x[0-9A-Fa-f]{1,8})\b\s*(?:\(\s*([A-Za-z_]\w*)\s*\))?", re.IGNORECASE
)
#: Body field names that start a record when they follow a header line without $$begin_record.
_BODY_FIELDS = frozenset(
    {
        "logtype",
        "severity",
        "text",
        "result-code",
        "sip-start-line",
        "sip-call-id",
        "sip-cseq",
        "trace-correlation-id",
        "instance-id",
        "direction",
        "message-type",
        "start-line",
    }
)
_WORST = ("TL_WARN", "TL_ERROR", "TL_FATAL")


class LogEndpoint(Endpoint):
    """A side of a message named by a server log rather than by an address: the logging
    server (``how`` says what named it) or a peer the log did not name. It prints without a
    port when the log gives none (``sfvedge``, not ``sfvedge:0``). ``hop`` is the message's
    path through the server from ``Direction: ...;source="internal edge";destination=...``."""

    __slots__ = ("how", "hop")
    how: str
    hop: tuple[str, str] | None

    def __init__(
        self, ip: str, port: int = 0, how: str = "", hop: tuple[str, str] | None = None
    ) -> None:
        super().__init__(ip, port)
        object.__setattr__(self, "how", how)
        object.__setattr__(self, "hop", hop)

    def __str__(self) -> str:
        if self.port:
            return Endpoint.__str__(self)
        return self.ip

    def __repr__(self) -> str:
        return f"LogEndpoint({self.ip!r}, {self.port}, how={self.how!r}, hop={self.hop!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, LogEndpoint):
            return NotImplemented
        return (self.ip, self.port, self.hop) == (other.ip, other.port, other.hop)

    def __hash__(self) -> int:
        return hash((self.ip, self.port, self.hop))

    def __reduce__(self) -> tuple[object, ...]:
        return (LogEndpoint, (self.ip, self.port, self.how, self.hop))

    def with_hop(self, hop: tuple[str, str] | None) -> LogEndpoint:
        return self if hop == self.hop else LogEndpoint(self.ip, self.port, self.how, hop)


#: How the logging server was named, in the words the summary and JSON use.
HOST_FROM_OPTION = "--log-host"
HOST_FROM_PREFIX = "[machine\\instance] prefix"
HOST_FROM_VIA = "top Via of its own messages"
HOST_UNKNOWN = "not named by the log"

_LOCAL = LogEndpoint(LOCAL_PLACEHOLDER, 0, HOST_UNKNOWN)
_PEER = LogEndpoint(PEER_PLACEHOLDER, 0, "no Peer field")


@dataclass(slots=True)
class LogMessage:
    """One SIP message found in a log, with what the log says about where it went.

    ``record`` is the record's 1-based number in the log (it becomes ``SipMessage.frame``),
    ``line`` the line its record starts on, ``time`` seconds since the epoch taken as UTC,
    ``direction`` ``"in"``/``"out"`` as seen by the machine that wrote the log (or None).
    ``text`` is the message rebuilt with CRLF line ends, as it was on the wire. ``hop`` is
    ``(source, destination)`` of the ``Direction`` field (``("internal edge", "external
    edge")``), ``via`` the sent-by of the message's top Via, ``machine`` the machine of a
    ``[machine\\instance]`` prefix.
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
    hop: tuple[str, str] | None = None
    via: Endpoint | None = None
    machine: str | None = None
    correlation: str | None = None
    source: str | None = None

    @property
    def is_response(self) -> bool:
        return self.text.startswith(b"SIP/")

    @property
    def own_via(self) -> Endpoint | None:
        """The logging machine's own address when the message shows it: the top Via of a
        request it sent, or of a response it received (RFC 3261 routes responses by Via)."""
        if self.via is None or self.direction is None:
            return None
        if (self.direction == "out") != self.is_response:
            return self.via
        return None

    @property
    def src(self) -> Endpoint:
        """Sender: the local side for outgoing messages, the peer otherwise (placeholders
        ``(log host)`` / ``(unknown peer)`` for a side the log does not name)."""
        if self.direction == "out":
            return self.local or _LOCAL.with_hop(self.hop)
        return self.peer or _PEER

    @property
    def dst(self) -> Endpoint:
        if self.direction == "out":
            return self.peer or _PEER
        return self.local or _LOCAL.with_hop(self.hop)


LogItem = LogMessage | LogEvent


# -- small parsers -----------------------------------------------------------------------------
#: Seconds since the epoch at the start of each ``MM/DD/YYYY`` text read (a log spans a few
#: days; timegm is linear in the time of day). Emptied when full.
_DAYS: dict[tuple[str, str, str], int] = {}
_DAYS_MAX = 1024


def parse_timestamp(match: re.Match[str]) -> float | None:
    """``MM/DD/YYYY`` + ``HH:MM:SS[.fff]`` groups → seconds since the epoch, read as UTC."""
    g = match.groups()
    try:
        month, day, year = int(g[0]), int(g[1]), int(g[2])
        hour, minute, second = int(g[3]), int(g[4]), int(g[5])
    except (TypeError, ValueError):
        return None
    if not (1 <= month <= 12 and 1 <= day <= 31 and hour < 24 and minute < 60 and second < 61):
        return None
    date = (g[0], g[1], g[2])
    start = _DAYS.get(date)
    if start is None:
        start = calendar.timegm((year, month, day, 0, 0, 0, 0, 0, 0))
        if len(_DAYS) >= _DAYS_MAX:
            _DAYS.clear()
        _DAYS[date] = start
    seconds = start + hour * 3600 + minute * 60 + second
    frac = g[6]
    if frac:
        return seconds + int(frac) / (10 ** len(frac))
    return float(seconds)


def parse_result(text: str, where: str = "field") -> ResultCode | None:
    """``0xc3e93d6f SIPPROXY_E_ROUTING`` or ``0xC3E93C5E(SIPPROXY_E_ROUTING)`` → ResultCode."""
    m = _RESULT_FIELD.search(text)
    if m is None:
        return None
    return ResultCode(int(m.group(1), 16), m.group(2), where)


def split_result_from_text(text: str) -> tuple[str, ResultCode | None]:
    """``Text: ... same domain Result-Code: 0xc3e93d6f NAME`` → the text without the glued
    Result-Code, and the code (SfB Edge records write it so)."""
    m = _RESULT_IN_TEXT.search(text)
    if m is None:
        return text, None
    code = ResultCode(int(m.group(1), 16), m.group(2), "text")
    return (text[: m.start()] + text[m.end() :]).strip(), code


def split_result_from_headline(text: str) -> tuple[str, ResultCode | None]:
    """``Exit - route headers from untrusted source. Result 0xC3E93C5E(SIPPROXY_E_ROUTING)`` →
    the text before ``Result`` and the code."""
    m = _RESULT_HEADLINE.search(text)
    if m is None:
        return text, None
    code = ResultCode(int(m.group(1), 16), m.group(2), "headline")
    return (text[: m.start()] + text[m.end() :]).strip(), code


def parse_data(text: str, limit: int = MAX_EVENT_FIELDS) -> dict[str, str]:
    """``Data: domain =" acano.steven.lab "; fqdn1 =" vcse.steven.lab :5061"`` → key/value
    pairs: ``;``-separated ``name = value`` items, quotes removed with the blanks inside them
    (the records pad quoted values), ``;`` inside quotes kept. An item without ``=`` becomes a
    key with an empty value."""
    out: dict[str, str] = {}
    items: list[str] = []
    current: list[str] = []
    quoted = False
    for ch in text:
        if ch == '"':
            quoted = not quoted
            current.append(ch)
        elif ch == ";" and not quoted:
            items.append("".join(current))
            current = []
        else:
            current.append(ch)
    items.append("".join(current))
    for item in items:
        name, sep, value = item.partition("=")
        name = name.strip()
        if not name or len(out) >= limit:
            continue
        value = value.strip()
        if len(value) >= 2 and value[0] == '"' and value[-1] == '"':
            value = value[1:-1]
        elif value.startswith('"'):
            value = value[1:]
        out.setdefault(name, _cut(value.strip()) if sep else "")
    return out


def parse_direction(value: str) -> tuple[str | None, tuple[str, str] | None]:
    """``incoming;source="internal edge";destination="external edge"`` → ``("in",
    ("internal edge", "external edge"))``; either side of the hop may be ``""``."""
    return _DIRECTIONS(value)


def _read_direction(value: str) -> tuple[str | None, tuple[str, str] | None]:
    head, _, rest = value.partition(";")
    word = head.strip().lower()
    direction = "in" if word.startswith("in") else "out" if word.startswith("out") else None
    params = parse_data(rest) if rest else {}
    lower = {k.lower(): v for k, v in params.items()}
    src, dst = lower.get("source", ""), lower.get("destination", "")
    return direction, ((src, dst) if src or dst else None)


#: Direction texts already read (a log has a handful).
_DIRECTIONS = ReadOnce(_read_direction, 256, MAX_FIELD)


def _cut(value: str, limit: int = MAX_FIELD) -> str:
    return value if len(value) <= limit else value[: limit - 1] + "…"


def _content_length(headers: list[str]) -> int | None:
    for line in headers:
        name, sep, value = line.partition(":")
        if sep and name.strip().lower() in ("content-length", "l"):
            value = value.strip()
            return int(value) if value.isdigit() and len(value) < 10 else None
    return None


def _top_via(headers: list[str]) -> Endpoint | None:
    """The sent-by of the first Via line (``SIP/2.0/TLS 10.0.0.5:61182;branch=...``)."""
    for line in headers:
        name, sep, value = line.partition(":")
        if sep and name.strip().lower() in ("via", "v"):
            parts = value.strip().split(None, 1)
            if len(parts) != 2:
                return None
            return parse_endpoint(parts[1].split(";", 1)[0].split(",", 1)[0])
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
class LogHeader:
    """What a record's header line says; every part is optional.

    ``TL_WARN(TF_DIAG) [sfvedge\\sfvedge]0584.0A44::03/02/2017-07:10:46.230.0000773E
    (SIPStack,SIPAdminLog::WriteDiagnosticEvent:SIPAdminLog.cpp(830)) [156659184]`` gives level
    ``WARN``, flag ``DIAG``, machine and instance ``sfvedge``, process ``0584``, thread ``0A44``,
    the time, sequence ``0000773E``, component ``SIPStack``, function
    ``SIPAdminLog::WriteDiagnosticEvent``, location ``SIPAdminLog.cpp(830)`` and correlation
    ``156659184``; ``headline`` is any text after all that (a one-line event's message).
    """

    line: int
    time: float | None = None
    level: str | None = None
    flag: str | None = None
    machine: str | None = None
    instance: str | None = None
    process: str | None = None
    thread: str | None = None
    sequence: str | None = None
    component: str | None = None
    function: str | None = None
    location: str | None = None
    correlation: str | None = None
    headline: str = ""
    direction: str | None = None
    peer: str | None = None


def _read_tail(tail: str) -> tuple[str | None, str | None, str | None, str | None, str]:
    """The parts of a header line after its time: ``(component,function:file(line))``, then
    an optional ``(pointer)``, the headline and a ``[correlation]`` at the end."""
    component = function = location = correlation = None
    pos = 0
    where = _WHERE.match(tail)
    if where is not None:
        component = where.group(1).strip()
        name, _, file = where.group(2).rpartition(":")
        if name.endswith(":"):  # "Class::Method" without a file: no split
            name, file = where.group(2), ""
        function = (name or where.group(2)).strip() or None
        if file.strip():
            location = file.strip() + (f"({where.group(3)})" if where.group(3) else "")
        pos = where.end()
    rest = tail[pos:].strip()
    corr = _CORRELATION.search(rest)
    if corr is not None:
        correlation = corr.group(1)
        rest = rest[: corr.start()].rstrip()
    pointer = _POINTER.match(rest)
    if pointer is not None:
        rest = rest[pointer.end() :]
    return component, function, location, correlation, _cut(rest.strip(), MAX_FIELD)


#: What follows the time (and sequence number) of a record's header line, read (a log repeats
#: a few: the component and function that wrote each kind of record).
_TAILS = ReadOnce(_read_tail, 1024, 256)


def parse_header(text: str, lineno: int) -> LogHeader:
    """Read an OCSLogger / CLS record header line (or the UCMA ``-->``/``<--`` variant)."""
    h = LogHeader(lineno)
    m = _TL.match(text)
    pos = 0
    if m is not None:
        h.level, h.flag, ctx = m.group(1).upper(), m.group(2).upper(), m.group(3)
        pos = m.end()
        if ctx and "\\" in ctx:
            # [machine\instance]; [0] (a CPU number) names nothing.
            machine, _, instance = ctx.partition("\\")
            h.machine = machine.strip() or None
            h.instance = instance.strip() or None
        ids = _PID_TID.match(text, pos)
        if ids is not None:
            h.process, h.thread = ids.group(1), ids.group(2)
            pos = ids.end()
    ts = _TS.search(text, pos)
    if ts is not None:
        h.time = parse_timestamp(ts)
        pos = ts.end()
        seq = _SEQ.match(text, pos)
        if seq is not None:
            h.sequence = seq.group(1)
            pos = seq.end()
    if m is not None:
        found = _TAILS(text[pos:])
        h.component, h.function, h.location, h.correlation, h.headline = found
    else:
        # The UCMA-derived variant: "... --> Message to Send (Dest Address IP: a:p):$$begin_record".
        if "-->" in text:
            h.direction = "out"
        elif "<--" in text:
            h.direction = "in"
        a = _ARROW_PEER.search(text)
        if a is not None:
            h.peer = a.group(1).rstrip("):")
    return h


@dataclass(slots=True)
class _Record:
    header: LogHeader
    number: int
    lines: list[str] = field(default_factory=list)
    size: int = 0
    overflow: bool = False


#: Local sides kept per server log parser (machine, hop); emptied when full.
_LOCALS_MAX = 256


class ServerLogParser:
    """Line-driven parser of server (OCSLogger / CLS) text logs; see the module docstring.

    Records start at ``$$begin_record`` (after a header line, on it, or on the next line), or
    at a header line followed by a record field (``LogType:``, ``Severity:``, ``Text:``...)
    without one. A header line with nothing after it is a one-line trace: counted in
    ``trace_lines``, and kept as an event (a record of its own) at warning level or worse.
    """

    format = SERVER_FORMAT

    def __init__(self) -> None:
        self.defects: list[Defect] = []
        self.records = 0
        self.trace_lines = 0
        self.stray_lines = 0
        #: Records and one-line traces by level (``TL_`` word) and flag (``TF_`` word).
        self.levels: Counter[str] = Counter()
        self.flags: Counter[str] = Counter()
        self._record: _Record | None = None
        self._pending: tuple[str, int] | None = None  # a header line, parsed when needed
        #: The logging machine as a message's local side, by machine and hop (see _finish).
        self._locals: dict[tuple[str, tuple[str, str] | None], LogEndpoint] = {}

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
            out: list[LogItem] = []
            before = line[:begin]
            if before.strip():
                out = self._drop_pending()
                header = parse_header(before, lineno)
            elif self._pending is not None:
                header = parse_header(*self._pending)
                self._pending = None
            else:
                header = LogHeader(lineno)
            self._start(header)
            after = line[begin + len("$$begin_record") :]
            if after.strip():
                assert self._record is not None
                self._append(self._record, after.strip())
            return out
        if (line.startswith("TL_") or line[:1].isspace()) and _TL.match(line) is not None:
            # Parsed only if a record follows or it is a warning or worse: most such lines are
            # one-line component traces.
            out = self._drop_pending()
            self._pending = (line, lineno)
            return out
        if self._pending is not None:
            name, sep, _ = line.partition(":")
            if sep and name.strip().lower() in _BODY_FIELDS:
                # A record whose header line lacks $$begin_record.
                header = parse_header(*self._pending)
                self._pending = None
                self._start(header)
                assert self._record is not None
                self._append(self._record, line)
                return []
            out = self._drop_pending()
        else:
            out = []
        if line.strip() and line.strip() != "$$end_record":
            self.stray_lines += 1
        return out

    def feed_lines(self, lineno: int, lines: list[str | None]) -> list[LogItem]:
        """:meth:`feed` for each line of a batch, numbered from ``lineno + 1`` (None: a line
        too long, already reported); returns the records they completed. A line inside a
        record with neither ``$$`` nor a ``TL_`` start, most lines of a log, is taken here
        without a call."""
        out: list[LogItem] = []
        feed = self.feed
        for line in lines:
            lineno += 1
            if line is None:
                continue
            rec = self._record
            if rec is not None and "$$" not in line and not line.startswith("TL_"):
                rec.size += len(line) + 2
                if rec.size > MAX_RECORD:
                    self._overflow(rec)
                elif not rec.overflow:
                    rec.lines.append(line)
                continue
            items = feed(lineno, line)
            if items:
                out.extend(items)
        return out

    def close(self, lineno: int) -> list[LogItem]:
        """End of input: a record still open is delivered as far as it got."""
        out = self._drop_pending()
        rec = self._record
        self._record = None
        if rec is None:
            return out
        self._defect(rec, rec.header.line, "log ends inside a record (no $$end_record)")
        return out + self._finish(rec, partial=True)

    def _start(self, header: LogHeader) -> None:
        self.records += 1
        self._count(header)
        self._record = _Record(header, self.records)

    def _count(self, header: LogHeader) -> None:
        if header.level:
            self.levels[header.level] += 1
        if header.flag:
            self.flags[header.flag] += 1

    def _drop_pending(self) -> list[LogItem]:
        """A header line nothing followed: a one-line trace, kept at warning level or worse."""
        pending = self._pending
        if pending is None:
            return []
        self._pending = None
        self.trace_lines += 1
        line, lineno = pending
        if not line.lstrip().startswith(_WORST):
            level = _TL.match(line)
            if level is not None:
                self.levels[level.group(1).upper()] += 1
                self.flags[level.group(2).upper()] += 1
            return []
        header = parse_header(line, lineno)
        self.records += 1
        self._count(header)
        return [self._event(_Record(header, self.records), {})]

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
            if len(fields) < MAX_EVENT_FIELDS:
                fields.setdefault(name, value.strip())
        if start_at < 0:
            if "Message-Type" in fields or (
                fields.get("Direction") and not any(k.startswith("SIP-") for k in fields)
            ):
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
        direction, hop = parse_direction(fields.get("Direction", ""))
        direction = direction or h.direction
        peer = parse_endpoint(fields.get("Peer") or h.peer)
        local = None
        if h.machine:
            # One object per machine and hop (frozen): a log names a few.
            local = self._locals.get((h.machine, hop))
            if local is None:
                if len(self._locals) >= _LOCALS_MAX:
                    self._locals.clear()
                local = self._locals[h.machine, hop] = LogEndpoint(
                    h.machine, 0, HOST_FROM_PREFIX, hop
                )
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
                hop=hop,
                via=_top_via(headers),
                machine=h.machine,
                correlation=h.correlation or fields.get("Trace-Correlation-Id"),
            )
        ]

    def _event(self, rec: _Record, fields: dict[str, str]) -> LogEvent:
        h = rec.header
        fields = {k: _cut(v) for k, v in fields.items()}
        named = {k.lower(): v for k, v in fields.items()}  # records vary in name case
        headline, result = split_result_from_headline(h.headline) if h.headline else ("", None)
        text = named.get("text")
        if text is not None:
            text, in_text = split_result_from_text(text)
            result = in_text or result
        elif rec.lines:
            text = " ".join(line.strip() for line in rec.lines if ":" not in line)[:1000]
        if not text:
            text = headline
        own = named.get("result-code")
        if own:
            result = parse_result(own, "field") or result
        data = parse_data(named["data"]) if named.get("data") else {}
        return LogEvent(
            rec.number,
            h.line,
            h.time,
            h.level,
            h.flag,
            h.component,
            fields,
            _cut(text or ""),
            headline,
            result,
            data,
            machine=h.machine,
            instance=h.instance,
            process=h.process,
            thread=h.thread,
            sequence=h.sequence,
            correlation=h.correlation,
            function=h.function,
            location=h.location,
        )


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
    :class:`CaptureReader` without frames, so ``Capture`` holds either kind of reader.

    Every item gets ``source`` (the log's name). In a server log the logging machine becomes
    the local side of each message: ``log_host`` when given (``--log-host``, ``host`` or
    ``host:port``), else the machine of a ``[machine\\instance]`` prefix, else the address in
    the top Via of a request it sent or a response it received (learned from the log itself:
    up to :data:`HOST_LOOKAHEAD` messages are held back until one shows it), else the
    placeholder ``(log host)``. ``host`` and ``host_from`` say which, for the summary.
    """

    def __init__(
        self, stream: ByteStream, head: bytes, fmt: str, log_host: str | None = None
    ) -> None:
        super().__init__(stream, head)
        self.format = fmt
        self.defects: list[Defect] = []
        self.bytes_read = 0
        self.lines = 0
        #: Events seen (kept or not), and the characters of those kept.
        self.events = 0
        self.event_chars = 0
        self.dropped_events = 0
        self.log_host = log_host
        #: The logging machine as the local side of messages, and what named it.
        self.host: LogEndpoint | None = None
        self.host_from = HOST_UNKNOWN
        self.parser: ServerLogParser | UccApiLogParser = (
            ServerLogParser() if fmt == SERVER_FORMAT else UccApiLogParser()
        )
        self._head = head
        self._given: LogEndpoint | None = None
        self._held: list[LogItem] = []
        self._held_messages = 0
        self._held_chars = 0
        self._gave_up = False

    def _frames(self) -> Iterator[tuple[float, int, bytes]]:
        return iter(())

    def items(self) -> Iterator[LogItem]:
        """Every message and event, streaming; call once."""
        if self._started:
            raise CaptureError(f"{self.name}: items() was already read; open the log again")
        self._started = True
        if self.log_host and self.format == SERVER_FORMAT:
            given = parse_endpoint(self.log_host)
            if given is not None:
                self._given = LogEndpoint(given.ip, given.port, HOST_FROM_OPTION)
                self.host, self.host_from = self._given, HOST_FROM_OPTION
        parser = self.parser
        lineno = 0
        self.events = 0
        if isinstance(parser, ServerLogParser):
            feed_lines = parser.feed_lines
            for first, lines in self._batches():
                out = feed_lines(first, lines)
                lineno = first + len(lines)
                if out:
                    yield from self._deliver(out)
        else:
            feed = parser.feed
            for lineno, lines in self._batches():
                for line in lines:
                    lineno += 1
                    if line is not None:
                        out = feed(lineno, line)
                        if out:
                            yield from self._deliver(out)
        yield from self._deliver(parser.close(lineno))
        yield from self._release(self.host)
        if self.dropped_events:
            self.defects.append(
                Defect(
                    None,
                    _LAYER,
                    None,
                    f"{self.dropped_events} more events not kept (the first "
                    f"{self.events - self.dropped_events} are; at most {MAX_EVENTS} events and "
                    f"{MAX_EVENT_CHARS} characters of them per log)",
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

    def _deliver(self, items: list[LogItem]) -> Iterator[LogItem]:
        """Every message, named; events up to the bounds. Held back while the host is unknown."""
        server = self.format == SERVER_FORMAT
        for item in items:
            item.source = self.name
            if isinstance(item, LogEvent):
                self.events += 1
                size = item.size
                if self.events > MAX_EVENTS or self.event_chars + size > MAX_EVENT_CHARS:
                    self.dropped_events += 1
                    continue
                self.event_chars += size
            elif server:
                if self._given is not None:
                    item.local = self._given.with_hop(item.hop)
                elif item.local is not None:
                    if self.host is None and isinstance(item.local, LogEndpoint):
                        self.host, self.host_from = item.local.with_hop(None), HOST_FROM_PREFIX
                elif self.host is not None:
                    item.local = self.host.with_hop(item.hop)
                elif not self._gave_up:
                    own = item.own_via
                    if own is not None:
                        self.host = LogEndpoint(own.ip, own.port, HOST_FROM_VIA)
                        self.host_from = HOST_FROM_VIA
                        yield from self._release(self.host)
                        item.local = self.host.with_hop(item.hop)
                    else:
                        self._hold(item)
                        if self._held_messages > HOST_LOOKAHEAD or (
                            self._held_chars > HOST_LOOKAHEAD_CHARS
                        ):
                            self._gave_up = True
                            yield from self._release(None)
                        continue
            if self._held:
                self._hold(item)
                continue
            yield item

    def _hold(self, item: LogItem) -> None:
        self._held.append(item)
        if isinstance(item, LogMessage):
            self._held_messages += 1
            self._held_chars += len(item.text)

    def _release(self, host: LogEndpoint | None) -> Iterator[LogItem]:
        """The items held back, their messages' local side named ``host`` (or a placeholder)."""
        held, self._held, self._held_chars, self._held_messages = self._held, [], 0, 0
        for item in held:
            if isinstance(item, LogMessage) and item.local is None and host is not None:
                item.local = host.with_hop(item.hop)
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


__all__ = [
    "CLIENT_FORMAT",
    "FLAGS",
    "FORMATS",
    "LEVELS",
    "LOCAL_PLACEHOLDER",
    "PEER_PLACEHOLDER",
    "SERVER_FORMAT",
    "SEVERITIES",
    "LogEndpoint",
    "LogEvent",
    "LogHeader",
    "LogMessage",
    "ResultCode",
    "ServerLogParser",
    "TraceLogReader",
    "UccApiLogParser",
    "open_input",
    "parse_data",
    "parse_direction",
    "parse_endpoint",
    "parse_header",
    "parse_result",
    "sniff",
    "sniff_path",
    "log_host_for",
    "to_sip_message",
    "unknown_log_hosts",
]
