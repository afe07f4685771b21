"""Output of merged inputs: the usual ladder and NDJSON, plus which input saw each message.

Inputs get letters in command-line order (``[A] capture.pcap``, ``[B] server.log``); each
ladder line ends with ``[A#5 B#12]``: the frame (capture) or record (log) number in every
input that saw the message. JSON messages get ``sources``: ``[{"file", "frame"}]``; an input
whose clock was shifted to line up says so in the legend and in ``inputs[].clock_offset``.
"""

from __future__ import annotations

import string
from collections.abc import Iterator
from typing import Any

from ..analysis.merge import MergedCapture
from ..analysis.sessions import Session
from ..sip.message import SipMessage
from . import json as render_json
from . import text as render_text


def letter(index: int) -> str:
    """``A``..``Z``, then ``AA``, ``AB``..."""
    letters = string.ascii_uppercase
    return letters[index] if index < 26 else letters[index // 26 - 1] + letters[index % 26]


def legend_lines(merged: MergedCapture) -> Iterator[str]:
    """``merged: [A] x.pcap (pcap), [B] y.log (lync-server-log); 12 messages seen twice``."""
    inputs = ", ".join(
        f"[{letter(i)}] {c.name} ({c.format}"
        + (f", clock shifted {offset:+.3f}s" if offset else "")
        + ")"
        for i, (c, offset) in enumerate(zip(merged.inputs, merged.offsets, strict=True))
    )
    yield f"=== merged: {inputs}; {merged.duplicates} duplicate messages recognised"


def _tag(merged: MergedCapture, m: SipMessage) -> str:
    index = {id(c): i for i, c in enumerate(merged.inputs)}
    seen = merged.sources(m)
    return "[" + " ".join(f"{letter(index[id(c)])}#{frame}" for c, frame in seen) + "]"


def session_lines(merged: MergedCapture, s: Session, *, verbose: bool = False) -> Iterator[str]:
    """The ladder of :func:`lyncdump.render.text.session_lines`, each message line tagged."""
    messages = iter(s.messages)
    for i, line in enumerate(render_text.session_lines(s, verbose=verbose)):
        if i and line.startswith("  #"):
            line += "  " + _tag(merged, next(messages))
        yield line


def session_to_dict(merged: MergedCapture, s: Session, *, verbose: bool = False) -> dict[str, Any]:
    record = render_json.session_to_dict(s, verbose=verbose)
    for m, out in zip(s.messages, record["messages"], strict=True):
        out["sources"] = [{"file": c.name, "frame": frame} for c, frame in merged.sources(m)]
    return record


def capture_to_dict(merged: MergedCapture, sessions: list[Session]) -> dict[str, Any]:
    record = render_json.capture_to_dict(merged, sessions)
    record["inputs"] = [
        {"file": c.name, "format": c.format, "clock_offset": offset}
        for c, offset in zip(merged.inputs, merged.offsets, strict=True)
    ]
    record["duplicates"] = merged.duplicates
    record["log_events"] = [e.to_dict() for e in merged.log_events]
    return record


__all__ = ["capture_to_dict", "legend_lines", "letter", "session_lines", "session_to_dict"]
