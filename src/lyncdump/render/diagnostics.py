"""Diagnostic records of Lync server logs in the text views and JSON.

In a session's ladder a diagnostic is a line at its time, marked ``!!`` (fatal, error) or
``!`` (warning), with the machine that logged it, its result code and name, its text and,
after ``·``, the message it is about, ``Peer`` and ``Data``; a second line (``=``) explains a
known result code. One that names no session stands in the time line on its own, as a
``DIAGNOSTIC`` block. ``--summary`` counts them by severity and result code; JSON carries each
as a ``diagnostic`` record and inside its session (docs/json.md, docs/tracelog.md).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from ..analysis.diagnostics import (
    Diagnostic,
    DiagnosticFilter,
    DiagnosticIndex,
    Timeline,
    diagnostic_matches,
    severity_rank,
)
from ..analysis.sessions import Session
from ..capture.logtypes import LOCAL_PLACEHOLDER

#: The mark in front of a diagnostic, by severity.
MARKS = {"fatal": "!!", "error": "!!", "warning": "! "}
#: Longest text kept on a ladder line (the JSON has all of it).
_TEXT_LIMIT = 300


def mark(d: Diagnostic) -> str:
    return MARKS.get(d.severity or "", "  ")


def host_of(d: Diagnostic, hosts: Mapping[str | None, str] | None = None) -> str:
    """The machine that logged it: its log's host (``--log-host``, prefix or Via), else the
    record's own ``[machine\\instance]`` prefix."""
    if hosts:
        name = hosts.get(d.source)
        if name:
            return name
    return d.host or d.machine or LOCAL_PLACEHOLDER


def _short(text: str, limit: int = _TEXT_LIMIT) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def details(d: Diagnostic, input_letter: Callable[[Any], str] | None = None) -> list[str]:
    """``about #5 INVITE``, ``call x ... not in the input``, ``peer h:p``, ``k=v`` ...
    (``input_letter(message)``: the merged view's ``about A#5 INVITE``)."""
    out: list[str] = []
    if d.message is not None:
        m = d.message
        what = m.method or (f"{m.status}" if m.status is not None else "?")
        letter = input_letter(m) if input_letter is not None else ""
        out.append(f"about {letter}#{m.frame} {what}")
    elif d.session is None and d.call_id:
        about = d.start_line or (f"CSeq {d.cseq[0]} {d.cseq[1]}" if d.cseq else "")
        out.append(f"call {d.call_id}" + (f" ({_short(about, 120)})" if about else ""))
        out.append("no such session in the input")
    elif d.session is not None and (d.start_line or d.cseq):
        about = d.start_line or (f"CSeq {d.cseq[0]} {d.cseq[1]}" if d.cseq else "")
        out.append(f"about {_short(about, 120)} (not in the input)")
    if d.peer:
        out.append(f"peer {d.peer}")
    for key, value in d.data.items():
        out.append(f"{key}={_short(value, 120)}" if value else key)
    return out


def ladder_lines(
    d: Diagnostic,
    start: float,
    frame_width: int,
    hosts: Mapping[str | None, str] | None = None,
    *,
    verbose: bool = False,
    tag: Callable[[Any], str] | None = None,
    input_letter: Callable[[Any], str] | None = None,
) -> Iterator[str]:
    """The ladder line of a diagnostic (aligned with the message lines) and its explanation;
    ``tag(d)`` is appended to the line (the merged view's ``[B#13]``), ``input_letter(d)``
    put before its record number (the merged view's ``B#13``)."""
    rel = (d.time - start) if d.time is not None else 0.0
    code = " ".join(x for x in (d.result_code, d.result_name) if x)
    severity = (d.severity or "-").ljust(7)
    number = f"{input_letter(d) if input_letter is not None else ''}#{d.record}"
    line = f"  {number.ljust(frame_width + 1)} {rel:+11.6f}  {mark(d)} {severity} "
    line += f"{host_of(d, hosts)}  " + (f"{code}  " if code else "") + _short(d.text or "-")
    more = details(d, input_letter)
    if more:
        line += "  · " + "; ".join(more)
    yield line + ("  " + tag(d) if tag is not None else "")
    explanation = d.explanation
    if explanation:
        yield " " * (frame_width + 3) + "= " + explanation
    if verbose:
        for name, value in d.event.fields.items():
            yield "      | " + f"{name}: {value}"


def standalone_lines(
    d: Diagnostic,
    hosts: Mapping[str | None, str] | None = None,
    *,
    verbose: bool = False,
    tag: Callable[[Any], str] | None = None,
    input_letter: Callable[[Any], str] | None = None,
) -> Iterator[str]:
    """A diagnostic that stands alone in the time line: a header and its ladder line."""
    from .text import format_time

    code = " ".join(x for x in (d.result_code, d.result_name) if x)
    head = ["DIAGNOSTIC", d.severity or "-"]
    if code:
        head.append(code)
    head.append(format_time(d.time))
    head.append(host_of(d, hosts))
    if d.source:
        head.append(f"({d.source} record {d.record})")
    yield "  ".join(head)
    width = len(str(d.record)) + (len(input_letter(d)) if input_letter is not None else 0)
    yield from ladder_lines(
        d, d.time or 0.0, width, hosts, verbose=verbose, tag=tag, input_letter=input_letter
    )


def summary_lines(index: DiagnosticIndex) -> Iterator[str]:
    """``diagnostics 3 (error 1, warning 2; 2 in sessions, 1 alone)`` and the result codes."""
    if not index.enabled:
        return
    by_severity, by_result = index.counts()
    total = len(index)  # those a streaming run only counted too
    if not total:
        yield "  diagnostics 0"
        return
    severities = ", ".join(
        f"{k} {v}" for k, v in sorted(by_severity.items(), key=lambda kv: severity_rank(kv[0]))
    )
    alone = len(index.standalone)
    yield f"  diagnostics {total} ({severities}; {total - alone} in sessions, {alone} alone)"
    for code, n in sorted(by_result.items(), key=lambda kv: (-kv[1], kv[0])):
        yield f"    {code}  {n}"


def diagnostic_to_dict(
    d: Diagnostic, hosts: Mapping[str | None, str] | None = None
) -> dict[str, Any]:
    """A ``diagnostic`` record (also the shape of each entry of a session's ``diagnostics``)."""
    from .json import SCHEMA_VERSION

    e = d.event
    cseq = d.cseq
    return {
        "record": "diagnostic",
        "schema": SCHEMA_VERSION,
        "source": e.source,
        "record_number": e.record,
        "line": e.line,
        "time": e.time,
        "host": host_of(d, hosts),
        "level": e.level,
        "flag": e.flag,
        "severity": d.severity,
        "component": e.component,
        "function": e.function,
        "correlation": e.correlation,
        "text": e.text,
        "headline": e.headline or None,
        "result_code": d.result_code,
        "result_name": d.result_name,
        "result_meaning": d.explanation,
        "ms_diagnostics": d.ms_diagnostics,
        "call_id": d.call_id,
        "cseq": cseq[0] if cseq else None,
        "cseq_method": cseq[1] if cseq else None,
        "start_line": d.start_line,
        "peer": d.peer,
        "data": dict(d.data),
        "uris": d.uris,
        "session": d.session.call_id if d.session is not None else None,
        "message_frame": d.message.frame if d.message is not None else None,
        "joined_by": d.joined_by,
    }


def shown(
    index: DiagnosticIndex,
    sessions: Iterable[Session],
    filters: DiagnosticFilter = (),
) -> list[Diagnostic]:
    """The diagnostics of the sessions shown, and those alone that pass the filters."""
    if not index.enabled:
        return []
    keep = {id(s) for s in sessions}
    return [
        d
        for d in index.all
        if (id(d.session) in keep if d.session is not None else diagnostic_matches(d, filters))
    ]


def records(
    index: DiagnosticIndex,
    sessions: Iterable[Session] | None = None,
    filters: DiagnosticFilter = (),
) -> list[dict[str, Any]]:
    """Each diagnostic as its own NDJSON record, by time (with ``sessions``, only those of
    the sessions shown and the lone ones that pass ``filters``)."""
    chosen = index.all if sessions is None else shown(index, sessions, filters)
    if not index.enabled:
        return []
    return [diagnostic_to_dict(d, index.hosts) for d in chosen]


class TimelineText:
    """The lone diagnostics of an input as ``DIAGNOSTIC`` blocks between the session
    ladders, in time order (each block followed by an empty line)."""

    def __init__(
        self,
        index: DiagnosticIndex,
        filters: DiagnosticFilter = (),
        *,
        verbose: bool = False,
        tag: Callable[[Any], str] | None = None,
        input_letter: Callable[[Any], str] | None = None,
    ) -> None:
        alone = [d for d in index.standalone if diagnostic_matches(d, filters)]
        self._timeline = Timeline(alone if index.enabled else ())
        self._hosts = index.hosts
        self._verbose = verbose
        self._tag = tag
        self._letter = input_letter

    def before(self, session: Session) -> Iterator[str]:
        """Blocks of the diagnostics earlier than the session's first message."""
        return self.before_time(session.start)

    def before_time(self, time: float | None) -> Iterator[str]:
        """Blocks of the diagnostics earlier than ``time``."""
        for d in self._timeline.before(time):
            yield from standalone_lines(
                d, self._hosts, verbose=self._verbose, tag=self._tag, input_letter=self._letter
            )
            yield ""

    def rest(self) -> Iterator[str]:
        for d in self._timeline.rest():
            yield from standalone_lines(
                d, self._hosts, verbose=self._verbose, tag=self._tag, input_letter=self._letter
            )
            yield ""


def counts_to_dict(index: DiagnosticIndex) -> dict[str, Any]:
    """``{"total", "by_severity", "by_result", "standalone"}`` for the capture record."""
    by_severity, by_result = index.counts()
    return {
        "total": len(index),
        "by_severity": dict(sorted(by_severity.items())),
        "by_result": dict(sorted(by_result.items())),
        "standalone": len(index.standalone),
    }


__all__ = [
    "MARKS",
    "TimelineText",
    "counts_to_dict",
    "details",
    "diagnostic_to_dict",
    "host_of",
    "ladder_lines",
    "mark",
    "records",
    "shown",
    "standalone_lines",
    "summary_lines",
]
