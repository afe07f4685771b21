"""Output of merged inputs: the usual ladder and NDJSON, plus which input saw each message.

Inputs get letters in command-line order (``[A] capture.pcap``, ``[B] server.log``). Frame
and record numbers are told apart by their input's letter: each ladder line starts with the
number of the copy drawn (``A#5``: frame 5 of input A, whose time and addresses the line shows;
a capture's copy is preferred) and ends with ``[A#5 B#12]``: the frame (capture) or record
(log) number in every input that saw the message; a diagnostic line starts with ``B#13``, its
log and record. JSON messages get ``file`` (the input whose copy ``frame``, ``time``, ``src``
and ``dst`` belong to) and ``sources``: ``[{"file", "frame"}]``; diagnostics joined to a
message get ``message_file`` beside ``message_frame``. An input whose clock was shifted to line
up says so in the legend and in ``inputs[].clock_offset``; a server log's machine is named in
the legend and in ``inputs[].log_host``.
"""

from __future__ import annotations

import string
from collections.abc import Callable, Iterator
from typing import Any, TypeAlias

from ..analysis.diagnostics import Diagnostic, DiagnosticFilter
from ..analysis.merge import MergedCapture
from ..analysis.merge_stream import MergedStream
from ..analysis.sessions import Session
from ..sip.message import SipMessage
from . import diagnostics as render_diag
from . import json as render_json
from . import text as render_text

#: The keep-all merge (the Python API) or the streaming one (the CLI's views, ``lyncdump report``):
#: both answer ``inputs``, ``offsets``, ``duplicates``, ``sources``, ``origin``, ``hosts``
#: and ``diagnostics`` (the streaming one for the session being shown).
Merged: TypeAlias = MergedCapture | MergedStream


def letter(index: int) -> str:
    """``A``..``Z``, then ``AA``, ``AB``..."""
    letters = string.ascii_uppercase
    return letters[index] if index < 26 else letters[index // 26 - 1] + letters[index % 26]


def legend_lines(merged: Merged) -> Iterator[str]:
    """``merged: [A] x.pcap (pcap), [B] y.log (lync-server-log, fe01); 12 ...``."""
    parts = []
    for i, (c, offset) in enumerate(zip(merged.inputs, merged.offsets, strict=True)):
        notes = [c.format]
        host = getattr(c, "log_host", None)
        if host is not None and host[0] is not None:
            notes.append(f"written by {host[0]}")
        if offset:
            notes.append(f"clock shifted {offset:+.3f}s")
        parts.append(f"[{letter(i)}] {c.name} ({', '.join(notes)})")
    yield f"=== merged: {', '.join(parts)}; {merged.duplicates} duplicate messages recognised"


def _letters(merged: Merged) -> dict[str, str]:
    return {c.name: letter(i) for i, c in enumerate(merged.inputs)}


def _tag(merged: Merged, m: SipMessage) -> str:
    index = {id(c): i for i, c in enumerate(merged.inputs)}
    seen = sorted((index[id(c)], frame) for c, frame in merged.sources(m))
    return "[" + " ".join(f"{letter(i)}#{frame}" for i, frame in seen) + "]"


def letter_of(merged: Merged) -> Callable[[Any], str]:
    """The letter of the input an item's number belongs to: a message's copy shown, a
    diagnostic's log, a stream's, TURN allocation's or ICE session's capture ("?" unknown)."""
    letters = _letters(merged)

    def input_letter(item: Any) -> str:
        if isinstance(item, Diagnostic):
            return letters.get(item.source or "", "?")
        if isinstance(item, SipMessage):
            found = merged.origin(item)
        else:
            index = merged.media_input(item)
            found = None if index is None else (index, None)
        return "?" if found is None else letter(found[0])

    return input_letter


def file_of(merged: Merged, item: Any) -> str | None:
    """The name of the input a message's shown copy (or a stream's media) comes from."""
    if isinstance(item, SipMessage):
        found = merged.origin(item)
        index = None if found is None else found[0]
    else:
        index = merged.media_input(item)
    return None if index is None else merged.inputs[index].name


def tag_of(merged: Merged) -> Callable[[Any], str]:
    """``[A#5 B#12]`` for a message (every input that saw it), ``[B#13]`` for a diagnostic."""
    letters = _letters(merged)

    def tag(item: Any) -> str:
        if isinstance(item, Diagnostic):
            return f"[{letters.get(item.source or '', '?')}#{item.record}]"
        return _tag(merged, item)

    return tag


def session_lines(
    merged: Merged,
    s: Session,
    *,
    verbose: bool = False,
    diagnostics: list[Diagnostic] | None = None,
) -> Iterator[str]:
    """The ladder of :func:`lyncdump.render.text.session_lines`, each message line tagged with
    the inputs that saw it, each diagnostic line with the log it comes from."""
    yield from render_text.session_lines(
        s,
        verbose=verbose,
        diagnostics=diagnostics,
        hosts=merged.hosts(),
        tag=tag_of(merged),
        input_letter=letter_of(merged),
    )


def session_to_dict(merged: Merged, s: Session, *, verbose: bool = False) -> dict[str, Any]:
    index = merged.diagnostics()
    diagnostics = index.of(s)
    record = render_json.session_to_dict(
        s, verbose=verbose, diagnostics=diagnostics, hosts=index.hosts
    )
    for m, out in zip(s.messages, record["messages"], strict=True):
        out["file"] = file_of(merged, m)
        out["sources"] = [{"file": c.name, "frame": frame} for c, frame in merged.sources(m)]
    for d, out in zip(diagnostics or (), record.get("diagnostics", ()), strict=True):
        out["message_file"] = file_of(merged, d.message) if d.message is not None else None
    return record


def call_to_dict(merged: Merged, call: Any) -> dict[str, Any]:
    """A ``call`` record (render/calls.py) of the merged calls, saying which input each
    number belongs to: ``offer_file``/``answer_file`` beside each exchange's frames, ``file``
    in each stream and allocation (the capture its media was seen in)."""
    from .calls import call_to_dict as one_call

    record = one_call(call)
    for e, out in zip(call.exchanges, record["exchanges"], strict=True):
        out["offer_file"] = file_of(merged, e.offer)
        out["answer_file"] = file_of(merged, e.answer) if e.answer is not None else None
    for st, out in zip(call.streams, record["streams"], strict=True):
        out["file"] = file_of(merged, st)
    for a, out in zip(call.allocations, record["allocations"], strict=True):
        out["file"] = file_of(merged, a)
    return record


def diagnostic_records(
    merged: Merged,
    sessions: list[Session],
    filters: DiagnosticFilter = (),
) -> list[dict[str, Any]]:
    """The ``diagnostic`` records of :func:`render_diag.records`, each with ``message_file``:
    the input whose copy ``message_frame`` numbers."""
    index = merged.diagnostics()
    chosen = render_diag.shown(index, sessions, filters)
    out = render_diag.records(index, sessions, filters)
    for d, record in zip(chosen, out, strict=True):
        record["message_file"] = file_of(merged, d.message) if d.message is not None else None
    return out


def capture_to_dict(merged: Merged, sessions: list[Session] | None) -> dict[str, Any]:
    """The closing record; session counts from ``sessions`` when given, else the merge's
    own totals (the streaming merge counts sessions as they finish)."""
    record = render_json.capture_to_dict(merged, sessions)
    hosts = merged.hosts()
    record["inputs"] = [
        {
            "file": c.name,
            "format": c.format,
            "clock_offset": offset,
            "log_host": hosts.get(c.name),
        }
        for c, offset in zip(merged.inputs, merged.offsets, strict=True)
    ]
    record["duplicates"] = merged.duplicates
    record["log_events"] = [e.to_dict() for e in merged.log_events]
    record["diagnostics"] = render_diag.counts_to_dict(merged.diagnostics())
    return record


__all__ = [
    "call_to_dict",
    "capture_to_dict",
    "diagnostic_records",
    "file_of",
    "legend_lines",
    "letter",
    "letter_of",
    "session_lines",
    "session_to_dict",
    "tag_of",
]
