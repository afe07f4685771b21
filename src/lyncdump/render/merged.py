"""Output of merged inputs: the usual ladder and NDJSON, plus which input saw each message.

Inputs get letters in command-line order (``[A] capture.pcap``, ``[B] server.log``); each
ladder line ends with ``[A#5 B#12]``: the frame (capture) or record (log) number in every
input that saw the message; a diagnostic line ends with ``[B#13]``, the log and record it comes
from. JSON messages get ``sources``: ``[{"file", "frame"}]``; an input whose clock was shifted
to line up says so in the legend and in ``inputs[].clock_offset``; a server log's machine is
named in the legend and in ``inputs[].log_host``.
"""

from __future__ import annotations

import string
from collections.abc import Callable, Iterator
from typing import Any

from ..analysis.diagnostics import Diagnostic
from ..analysis.merge import MergedCapture
from ..analysis.sessions import Session
from ..sip.message import SipMessage
from . import diagnostics as render_diag
from . import json as render_json
from . import text as render_text


def letter(index: int) -> str:
    """``A``..``Z``, then ``AA``, ``AB``..."""
    letters = string.ascii_uppercase
    return letters[index] if index < 26 else letters[index // 26 - 1] + letters[index % 26]


def legend_lines(merged: MergedCapture) -> Iterator[str]:
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


def _letters(merged: MergedCapture) -> dict[str, str]:
    return {c.name: letter(i) for i, c in enumerate(merged.inputs)}


def _tag(merged: MergedCapture, m: SipMessage) -> str:
    index = {id(c): i for i, c in enumerate(merged.inputs)}
    seen = sorted((index[id(c)], frame) for c, frame in merged.sources(m))
    return "[" + " ".join(f"{letter(i)}#{frame}" for i, frame in seen) + "]"


def tag_of(merged: MergedCapture) -> Callable[[Any], str]:
    """``[A#5 B#12]`` for a message (every input that saw it), ``[B#13]`` for a diagnostic."""
    letters = _letters(merged)

    def tag(item: Any) -> str:
        if isinstance(item, Diagnostic):
            return f"[{letters.get(item.source or '', '?')}#{item.record}]"
        return _tag(merged, item)

    return tag


def session_lines(
    merged: MergedCapture,
    s: Session,
    *,
    verbose: bool = False,
    diagnostics: list[Diagnostic] | None = None,
) -> Iterator[str]:
    """The ladder of :func:`lyncdump.render.text.session_lines`, each message line tagged with
    the inputs that saw it, each diagnostic line with the log it comes from."""
    yield from render_text.session_lines(
        s, verbose=verbose, diagnostics=diagnostics, hosts=merged.hosts(), tag=tag_of(merged)
    )


def session_to_dict(merged: MergedCapture, s: Session, *, verbose: bool = False) -> dict[str, Any]:
    index = merged.diagnostics()
    record = render_json.session_to_dict(
        s, verbose=verbose, diagnostics=index.of(s), hosts=index.hosts
    )
    for m, out in zip(s.messages, record["messages"], strict=True):
        out["sources"] = [{"file": c.name, "frame": frame} for c, frame in merged.sources(m)]
    return record


def capture_to_dict(merged: MergedCapture, sessions: list[Session]) -> dict[str, Any]:
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
    "capture_to_dict",
    "legend_lines",
    "letter",
    "session_lines",
    "session_to_dict",
    "tag_of",
]
