"""Human output: a ladder per session and a summary, as plain lines (the CLI prints them).

Times are absolute in UTC on header lines and relative to the session's first message on ladder
lines, so the same capture gives the same text on every machine.
"""

from __future__ import annotations

import datetime as _dt
from collections import Counter
from collections.abc import Iterator
from typing import Any

from ..analysis.sessions import Session
from ..sip.message import SipMessage
from .facts import message_facts
from .tls import connection_note as tls_connection_note


def format_time(ts: float | None) -> str:
    """``2026-01-10 10:00:00.123456 UTC`` (or ``-`` when unknown)."""
    if ts is None:
        return "-"
    try:
        moment = _dt.datetime.fromtimestamp(ts, tz=_dt.timezone.utc)
    except (OverflowError, OSError, ValueError):
        return f"{ts:.6f}"
    return moment.strftime("%Y-%m-%d %H:%M:%S.%f UTC")


def format_size(n: int) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000  # type: ignore[assignment]
    return f"{n} B"


def shorten(text: str, limit: int = 60) -> str:
    """Hostile traffic can carry a 4,000-character method name: keep lines readable."""
    if len(text) <= limit:
        return text
    return f"{text[: limit - 20]}… ({len(text)} characters)"


def what(m: SipMessage) -> str:
    """``INVITE sip:bob@example.com`` or ``200 OK``."""
    if m.is_request:
        return f"{shorten(m.method or '')} {shorten(m.request_uri or '', 200)}"
    return shorten(f"{m.status} {m.reason}".rstrip(), 200)


def session_header(s: Session) -> str:
    parts = [s.kind.upper(), s.call_id]
    if s.from_uri or s.to_uri:
        parts.append(f"{s.from_uri or '?'} → {s.to_uri or '?'}")
    parts.append(format_time(s.start))
    parts.append(f"{s.duration:.3f}s")
    if s.outcome:
        parts.append(shorten(s.outcome, 300))
    return "  ".join(parts)


def session_lines(s: Session, *, verbose: bool = False) -> Iterator[str]:
    """The header line, then one ladder line per message (full text under it with verbose)."""
    yield session_header(s)
    start = s.start or 0.0
    endpoints = [f"{m.src} → {m.dst}" for m in s.messages]
    width = max((len(e) for e in endpoints), default=0)
    frame_width = max((len(str(m.frame)) for m in s.messages), default=1)
    for m, ends in zip(s.messages, endpoints, strict=True):
        rel = (m.time - start) if m.time is not None else 0.0
        line = (
            f"  #{str(m.frame).ljust(frame_width)} {rel:+11.6f}  {ends.ljust(width)}  "
            f"{(m.transport or '?'):<4} {what(m)}"
        )
        facts = message_facts(m)
        if facts:
            line += "  · " + "; ".join(facts)
        yield line
        if verbose:
            for text_line in m.raw.decode("utf-8", "replace").splitlines():
                yield "      | " + text_line
            from .msview import verbose_lines

            for ms_line in verbose_lines(m):  # Microsoft headers and tokens decoded (msview)
                yield "      ~ " + ms_line
            for d in m.defects:
                yield f"      ! {d.reason}"


def summary_lines(capture: Any, sessions: list[Session]) -> Iterator[str]:
    """Counts only: what ``--summary`` prints."""
    stats = capture.stats
    span = 0.0
    if stats.first_time is not None and stats.last_time is not None:
        span = stats.last_time - stats.first_time
    yield (
        f"{capture.name} ({capture.format}): {stats.frames} "
        f"{'records' if capture.format.endswith('-log') else 'frames'}, "
        f"{format_size(stats.bytes)}, "
        f"{span:.3f}s from {format_time(stats.first_time)}"
    )
    yield f"  UDP datagrams {stats.udp_datagrams}, TCP segments {stats.tcp_segments}"
    yield from _network_lines(stats)
    transports = Counter(m.transport for m in capture.messages())
    by_transport = ", ".join(f"{t} {n}" for t, n in sorted(transports.items()))
    yield f"  SIP messages {stats.sip_messages}" + (f" ({by_transport})" if by_transport else "")
    if stats.methods:
        yield "    requests:  " + ", ".join(f"{k} {v}" for k, v in sorted(stats.methods.items()))
    if stats.statuses:
        yield "    responses: " + ", ".join(f"{k} {v}" for k, v in sorted(stats.statuses.items()))
    kinds = Counter(s.kind for s in sessions)
    yield f"  sessions {len(sessions)}" + (
        " (" + ", ".join(f"{k} {v}" for k, v in sorted(kinds.items())) + ")" if kinds else ""
    )
    retrans = sum(s.retransmissions for s in sessions)
    if retrans:
        yield f"  retransmissions {retrans}"
    conns = capture.connections
    if conns:
        yield f"  TCP connections {len(conns)}"
        for c in conns:
            line = f"    #{c.id} {c.client} → {c.server}  {c.protocol}"
            if getattr(c, "tls", None) is not None:
                line += " " + tls_connection_note(c.tls)
            if c.sip_messages:
                line += f", {c.sip_messages} SIP messages"
            if getattr(c, "encapsulation", None) is not None:
                line += f", via {c.encapsulation.text}"
            if c.compressed:
                ratio = c.compression_ratio
                line += f", LZ77-8K {c.wire_bytes} B on the wire for {c.plain_bytes} B of SIP" + (
                    f" (ratio {ratio:.2f}:1)" if ratio else ""
                )
                if c.compression_layout:
                    line += f", layout {c.compression_layout}"
            yield line
    events = getattr(capture, "log_events", None)  # diagnostic records of a Lync trace log
    if events:
        severities = Counter(e.severity or "-" for e in events)
        yield (
            f"  log events {len(events)} ("
            + ", ".join(f"{k} {v}" for k, v in sorted(severities.items()))
            + ")"
        )
    yield f"  defects {len(capture.defects)}"


def _network_lines(stats: Any) -> Iterator[str]:
    """Tunnelled frames by kind and frames not decoded by kind, when there are any."""
    wrapped = getattr(stats, "encapsulated", None)
    if wrapped:
        kinds = ", ".join(f"{k} {v}" for k, v in sorted(wrapped.items()))
        yield f"  encapsulated frames {sum(wrapped.values())} ({kinds})"
    skipped = getattr(stats, "not_decoded", None)
    if skipped:
        kinds = ", ".join(f"{k} {v}" for k, v in skipped.items())
        yield f"  frames not decoded {sum(skipped.values())} ({kinds})"
    checksums = getattr(stats, "checksums", None)  # --verify-checksums (net/checksum.py)
    if checksums is not None:
        parts = []
        for kind in ("IPv4", "UDP", "TCP"):
            good, bad, off = (checksums.good[kind], checksums.bad[kind], checksums.offloaded[kind])
            if good or bad or off:
                parts.append(f"{kind} {good} good, {bad} bad, {off} offloaded")
        yield "  checksums " + ("; ".join(parts) if parts else "none verified")


def defect_lines(capture: Any, limit: int | None = None) -> Iterator[str]:
    for i, d in enumerate(capture.defects):
        if limit is not None and i >= limit:
            yield f"  ... {len(capture.defects) - limit} more (all of them with -v or --json)"
            return
        yield f"  {d}"
    for layer, count in sorted(capture.defects.dropped.items()):
        yield f"  ... and {count} more {layer} defects not kept"
