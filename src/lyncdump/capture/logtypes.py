"""What every run may name of the Lync trace logs, without their parsers.

The trace-log parsers (:mod:`.tracelog`: a dozen regular expressions, the line-driven record
parsers, the streaming reader) load only when an input is a log. What the pipeline, the
analysis and the command refer to on every run lives here: the format names, the severity
scale, :class:`LogEvent` (a public result type, named in the pipeline's event types) and its
:class:`ResultCode`, and the ``--log-host`` helpers. :mod:`.tracelog` re-exports all of it, so
``from lyncdump.capture.tracelog import LogEvent`` keeps working.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field

from ..model import Endpoint
from ..recent import ReadOnce

SERVER_FORMAT = "lync-server-log"
CLIENT_FORMAT = "uccapi-log"
FORMATS = (SERVER_FORMAT, CLIENT_FORMAT)

#: What the ladder shows for the logging server when nothing names it (no --log-host, no
#: ``[machine\\instance]`` prefix, no Via of its own), and for a record without ``Peer``.
LOCAL_PLACEHOLDER = "(log host)"
PEER_PLACEHOLDER = "(unknown peer)"

#: Trace levels (TL_*) from the most to the least severe, and the severity name each maps to.
LEVELS = {
    "FATAL": "fatal",
    "ERROR": "error",
    "WARN": "warning",
    "WARNING": "warning",
    "INFO": "info",
    "VERBOSE": "verbose",
    "NOISE": "noise",
}
#: Severity names from the most severe down; ``Severity:`` values are mapped onto them.
SEVERITIES = ("fatal", "error", "warning", "info", "verbose", "noise")
_SEVERITY_WORDS = {
    "fatal": "fatal",
    "critical": "fatal",
    "error": "error",
    "err": "error",
    "warning": "warning",
    "warn": "warning",
    "information": "info",
    "informational": "info",
    "info": "info",
    "verbose": "verbose",
    "debug": "verbose",
    "noise": "noise",
}
#: Trace flags (TF_*) documented for the server components; any other TF_ word is kept as is.
FLAGS = ("COMPONENT", "PROTOCOL", "CONNECTION", "SECURITY", "DIAG")


@dataclass(frozen=True, slots=True)
class ResultCode:
    """A Result-Code as a record writes it: the 32-bit value (an HRESULT) and its name.

    ``where`` says which of the three shapes held it: ``field`` (``Result-Code:``), ``text``
    (glued to the end of ``Text:``) or ``headline`` (``Result 0x...(NAME)`` on the first line).
    """

    value: int
    name: str | None
    where: str

    @property
    def hex(self) -> str:
        """``0xC3E93D6F``: eight upper-case digits, as Windows event logs print HRESULTs."""
        return f"0x{self.value:08X}"

    @property
    def failed(self) -> bool:
        """True for a failure HRESULT (the top bit set)."""
        return bool(self.value & 0x80000000)

    def __str__(self) -> str:
        return f"{self.hex} {self.name}" if self.name else self.hex


@dataclass(slots=True)
class LogEvent:
    """A record that is not a SIP message: a diagnostic (``Severity``, ``Text``,
    ``Result-Code``, ``SIP-Call-ID``...) or component trace, kept so a reader can see what the
    server reported. Each value a filter or a view needs is a plain attribute: ``severity``
    (``fatal`` ... ``noise``), ``result``, ``text``, ``call_id``, ``cseq``, ``start_line``,
    ``peer``, ``data`` (``Data:`` as key/value pairs), ``uris``, ``time``; ``source`` is the
    log's file name and ``record`` the record number in it."""

    record: int
    line: int
    time: float | None
    level: str | None
    flag: str | None
    component: str | None
    fields: dict[str, str] = field(default_factory=dict)
    text: str = ""
    headline: str = ""
    result: ResultCode | None = None
    data: dict[str, str] = field(default_factory=dict)
    machine: str | None = None
    instance: str | None = None
    process: str | None = None
    thread: str | None = None
    sequence: str | None = None
    correlation: str | None = None
    function: str | None = None
    location: str | None = None
    source: str | None = None

    # -- the values a filter asks for, plainly --------------------------------------------
    def _field(self, name: str) -> str | None:
        value = self.fields.get(name)
        if value is None:
            lower = name.lower()
            for key, v in self.fields.items():
                if key.lower() == lower:
                    return v or None
        return value or None

    @property
    def severity(self) -> str | None:
        """``Severity:`` mapped onto :data:`SEVERITIES`, else the trace level's (``TL_WARN`` →
        ``warning``); a value neither knows is kept lower-cased."""
        stated = self._field("Severity")
        if stated:
            word = stated.strip().lower()
            return _SEVERITY_WORDS.get(word, word)
        if self.level:
            return LEVELS.get(self.level.upper(), self.level.lower())
        return None

    @property
    def is_error(self) -> bool:
        """Fatal or error: what "errors only" keeps."""
        return self.severity in ("fatal", "error")

    @property
    def is_diagnostic(self) -> bool:
        """A record the views show: a TF_DIAG or ``LogType: diagnostic`` record, one with a
        Severity, a Result-Code or a SIP-Call-ID, or anything at warning level or worse."""
        if self.flag == "DIAG" or self.result is not None:
            return True
        if self._field("Severity") or self._field("SIP-Call-ID") or self._field("SIP-Start-Line"):
            return True
        if (self._field("LogType") or "").lower() == "diagnostic":
            return True
        return self.severity in ("fatal", "error", "warning")

    @property
    def result_code(self) -> str | None:
        """``0xC3E93D6F``, or None."""
        return self.result.hex if self.result is not None else None

    @property
    def result_name(self) -> str | None:
        return self.result.name if self.result is not None else None

    @property
    def call_id(self) -> str | None:
        return self._field("SIP-Call-ID")

    @property
    def start_line(self) -> str | None:
        return self._field("SIP-Start-Line")

    @property
    def cseq(self) -> tuple[int, str] | None:
        """``SIP-CSeq: 2066245576 INVITE`` → ``(2066245576, "INVITE")``."""
        value = self._field("SIP-CSeq")
        if not value:
            return None
        number, _, method = value.strip().partition(" ")
        if not number.isdigit() or len(number) > 10:
            return None
        return int(number), method.strip().upper()

    @property
    def peer(self) -> str | None:
        """``Peer:`` as written (``vcse.steven.lab:25002``)."""
        return self._field("Peer")

    @property
    def peer_endpoint(self) -> Endpoint | None:
        return parse_endpoint(self.peer)

    @property
    def method(self) -> str | None:
        """The SIP method the record is about (start line, else CSeq)."""
        line = self.start_line
        if line and not line.upper().startswith("SIP/"):
            return line.split(None, 1)[0].upper()
        cseq = self.cseq
        return cseq[1] if cseq else None

    @property
    def uris(self) -> list[str]:
        """SIP URIs the record names: the request URI of ``SIP-Start-Line`` and any ``sip:``
        or ``sips:`` / ``tel:`` value in ``Data`` (the user/URI filter looks at these and, once
        joined, at the session's)."""
        out: list[str] = []
        line = self.start_line
        if line and not line.upper().startswith("SIP/"):
            parts = line.split()
            if len(parts) >= 2:
                out.append(parts[1])
        for value in self.data.values():
            for word in value.replace(",", " ").split():
                word = word.strip("<>\"'")
                if word.lower().startswith(("sip:", "sips:", "tel:")) and word not in out:
                    out.append(word)
        return out

    @property
    def size(self) -> int:
        """Characters held (for the reader's total bound)."""
        return (
            sum(len(k) + len(v) for k, v in self.fields.items())
            + len(self.text)
            + len(self.headline)
            + 64
        )

    def to_dict(self) -> dict[str, object]:
        """The event as JSON (``log_events`` of the capture record, and diagnostic records)."""
        cseq = self.cseq
        return {
            "source": self.source,
            "record": self.record,
            "line": self.line,
            "time": self.time,
            "level": self.level,
            "flag": self.flag,
            "component": self.component,
            "function": self.function,
            "machine": self.machine,
            "correlation": self.correlation,
            "severity": self.severity,
            "text": self.text,
            "headline": self.headline or None,
            "result_code": self.result_code,
            "result_name": self.result_name,
            "call_id": self.call_id,
            "cseq": cseq[0] if cseq else None,
            "cseq_method": cseq[1] if cseq else None,
            "start_line": self.start_line,
            "peer": self.peer,
            "data": dict(self.data),
            "fields": dict(self.fields),
        }


def parse_endpoint(text: str | None) -> Endpoint | None:
    """``host:port``, ``[v6]:port``, ``host`` (port 0) or a bare IPv6 address → Endpoint."""
    if not text:
        return None
    return _ENDPOINTS(text)


def _read_endpoint(text: str) -> Endpoint | None:
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


#: Endpoint texts already read (a log names the same peers and Via addresses over and over;
#: an Endpoint is frozen, so one object serves every record).
_ENDPOINTS = ReadOnce(_read_endpoint, 4096, 128)


def log_host_for(path: str, values: Sequence[str]) -> str | None:
    """The ``--log-host`` value for the log at ``path``: ``LOG=HOST`` where LOG is that path
    or its file name, else a plain ``HOST`` (given for every log), else None."""
    plain = None
    for value in values:
        log, sep, host = value.rpartition("=")
        if not sep:
            plain = value.strip() or plain
        elif log and (log == path or log == os.path.basename(path)):
            return host.strip() or None
    return plain


def unknown_log_hosts(values: Sequence[str], paths: Sequence[str]) -> list[str]:
    """The ``LOG=HOST`` values whose LOG is none of ``paths`` (a typo the user should hear of)."""
    names = set(paths) | {os.path.basename(p) for p in paths}
    return [v for v in values if "=" in v and v.rpartition("=")[0] not in names]


__all__ = [
    "CLIENT_FORMAT",
    "FLAGS",
    "FORMATS",
    "LEVELS",
    "LOCAL_PLACEHOLDER",
    "PEER_PLACEHOLDER",
    "SERVER_FORMAT",
    "SEVERITIES",
    "LogEvent",
    "ResultCode",
    "log_host_for",
    "parse_endpoint",
    "unknown_log_hosts",
]
