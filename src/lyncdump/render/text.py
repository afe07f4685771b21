"""Human output: a ladder per session and a summary, as plain lines (the CLI prints them).

Times are absolute in UTC on header lines and relative to the session's first message on ladder
lines, so the same capture gives the same text on every machine.
"""

from __future__ import annotations

import datetime as _dt
import functools
import math
import re
from collections import Counter
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from ..analysis.sessions import Session
from ..model import Endpoint
from ..sip.message import SipMessage
from .facts import message_facts
from .tls import connection_note as tls_connection_note

if TYPE_CHECKING:
    from ..analysis.diagnostics import Diagnostic


#: Whole second (an int) -> ``2026-01-10 10:00:00``: the date and time of the sessions' header
#: lines, which are in time order, so most seconds repeat. Emptied when it reaches the limit:
#: at most _SECONDS_MAX entries of about 150 B (an int, a 19-character str, a dict slot),
#: about 150 kB.
_SECONDS: dict[int, str] = {}
_SECONDS_MAX = 1024
#: Timestamps whose second is cached: within these, float arithmetic on the second is exact
#: and the year has four digits (1970-01-01 to 5138-11-16).
_CACHED_SPAN = (0.0, 1e11)


def format_time(ts: float | None) -> str:
    """``2026-01-10 10:00:00.123456 UTC`` (or ``-`` when unknown).

    The microseconds are split off as ``datetime.fromtimestamp`` does (the fraction times a
    million, rounded half to even; a million carries into the second), so the cached text of
    the whole second gives what the datetime would."""
    if ts is None:
        return "-"
    low, high = _CACHED_SPAN
    if not low <= ts < high:  # also NaN
        return _format_time(ts)
    frac, whole = math.modf(ts)
    us = round(frac * 1e6)
    second = int(whole)
    if us >= 1_000_000:
        us -= 1_000_000
        second += 1
    text = _SECONDS.get(second)
    if text is None:
        if len(_SECONDS) >= _SECONDS_MAX:
            _SECONDS.clear()
        text = _SECONDS[second] = _format_time(float(second))[:19]
    return f"{text}.{us:06d} UTC"


def _format_time(ts: float) -> str:
    """:func:`format_time` without the cache: through a datetime."""
    try:
        moment = _dt.datetime.fromtimestamp(ts, tz=_dt.timezone.utc)
    except (OverflowError, OSError, ValueError):
        return f"{ts:.6f}"
    year = moment.year
    if year < 1000:  # %Y is not zero-padded for these on every platform: strftime's own text
        return moment.strftime("%Y-%m-%d %H:%M:%S.%f UTC")
    # Fields formatted directly: a third of the cost of strftime, once per ladder session.
    return (
        f"{year}-{moment.month:02d}-{moment.day:02d} {moment.hour:02d}:{moment.minute:02d}:"
        f"{moment.second:02d}.{moment.microsecond:06d} UTC"
    )


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
    # shorten() only where a text is too long: a call each is a third of the cost here.
    if m.is_request:
        method = m.method or ""
        uri = m.request_uri or ""
        if len(method) <= 60 and len(uri) <= 200:
            return f"{method} {uri}"
        return f"{shorten(method)} {shorten(uri, 200)}"
    text = f"{m.status} {m.reason}".rstrip()
    return text if len(text) <= 200 else shorten(text, 200)


def session_header(s: Session) -> str:
    # Each of the session's properties walks its messages or transactions: read each once.
    from_uri, to_uri, outcome = s.from_uri, s.to_uri, s.outcome
    parts = [s.kind.upper(), s.call_id]
    if from_uri or to_uri:
        parts.append(f"{from_uri or '(no From)'} → {to_uri or '(no To)'}")
    parts.append(format_time(s.start))
    parts.append(f"{s.duration:.3f}s")
    if outcome:
        parts.append(shorten(outcome, 300))
    return "  ".join(parts)


def session_lines(
    s: Session,
    *,
    verbose: bool = False,
    diagnostics: list[Diagnostic] | None = None,
    hosts: dict[str | None, str] | None = None,
    tag: Callable[[Any], str] | None = None,
    input_letter: Callable[[Any], str] | None = None,
) -> Iterator[str]:
    """The header line, then one ladder line per message (full text under it with verbose);
    the server-log ``diagnostics`` about the session sit among them at their time
    (render/diagnostics.py). ``tag(message or diagnostic)`` is appended to its line (the
    merged view's ``[A#5 B#12]``); ``input_letter(message or diagnostic)`` goes before its
    number (the merged view's ``A#5``: numbers of different inputs are told apart)."""
    yield session_header(s)
    start = s.start or 0.0
    endpoints = [f"{m.src} → {m.dst}" for m in s.messages]
    width = max((len(e) for e in endpoints), default=0)
    letter = input_letter or _no_letter
    numbers = [f"{letter(m)}#{m.frame}" for m in s.messages]
    frame_width = max((len(n) for n in numbers), default=2) - 1
    pending = list(diagnostics or ())
    if pending:
        from .diagnostics import ladder_lines

        frame_width = max(frame_width, *(len(f"{letter(d)}{d.record}") for d in pending))
    for m, ends, number in zip(s.messages, endpoints, numbers, strict=True):
        while pending and pending[0].time is not None and m.time is not None:
            first = pending[0]
            assert first.time is not None
            if first.time > m.time or (first.time == m.time and first.record > (m.frame or 0)):
                break  # same millisecond: log order (record numbers) decides
            diagnostic = pending.pop(0)
            yield from ladder_lines(
                diagnostic, start, frame_width, hosts, verbose=verbose, tag=tag,
                input_letter=input_letter,
            )  # fmt: skip
        rel = (m.time - start) if m.time is not None else 0.0
        line = (
            f"  {number.ljust(frame_width + 1)} {rel:+11.6f}  {ends.ljust(width)}  "
            f"{(m.transport or '?'):<4} {what(m)}"
        )
        facts = message_facts(m)
        dst, src = m.dst, m.src
        # A plain Endpoint has no hop: only a server log's endpoints do (no failed lookups).
        hop = (
            None
            if type(dst) is Endpoint and type(src) is Endpoint
            else getattr(dst if getattr(dst, "hop", None) else src, "hop", None)
        )
        if hop:  # a server log's Direction: the message's path through the logging server
            facts = [*facts, f"hop {hop[0] or '?'} → {hop[1] or '?'}"]
        if facts:
            line += "  · " + "; ".join(facts)
        yield line + ("  " + tag(m) if tag is not None else "")
        if verbose:
            for text_line in m.raw.decode("utf-8", "replace").splitlines():
                yield "      | " + text_line
            from .msview import verbose_lines

            for ms_line in verbose_lines(m):  # Microsoft headers and tokens decoded (msview)
                yield "      ~ " + ms_line
            for d in m.defects:
                yield f"      ! {d.reason}"
    for diagnostic in pending:
        yield from ladder_lines(
            diagnostic, start, frame_width, hosts, verbose=verbose, tag=tag,
            input_letter=input_letter,
        )  # fmt: skip


def _no_letter(_item: Any) -> str:
    """One input: numbers need no input letter."""
    return ""


def summary_lines(capture: Any, sessions: list[Session] | None = None) -> Iterator[str]:
    """Counts only: what ``--summary`` prints. Session counts come from ``sessions`` when
    given (a merged time line), else from the run's own totals."""
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
    # A trace-log message whose top Via names no transport counts as "?" (as on the ladder).
    by_transport = ", ".join(f"{t} {n}" for t, n in sorted(stats.transports.items()))
    yield f"  SIP messages {stats.sip_messages}" + (f" ({by_transport})" if by_transport else "")
    if stats.methods:
        yield "    requests:  " + ", ".join(
            f"{k} {v}" for k, v in sorted(stats.methods.items(), key=_name_key)
        )
    if stats.statuses:
        yield "    responses: " + ", ".join(
            f"{k} {v}" for k, v in sorted(stats.statuses.items(), key=_name_key)
        )
    if sessions is not None:
        kinds = Counter(s.kind for s in sessions)
        retrans = sum(s.retransmissions for s in sessions)
    else:
        kinds = stats.sessions
        retrans = stats.retransmissions
    yield f"  sessions {sum(kinds.values())}" + (
        " (" + ", ".join(f"{k} {v}" for k, v in sorted(kinds.items())) + ")" if kinds else ""
    )
    if retrans:
        yield f"  retransmissions {retrans}"
    conns = capture.connections
    if conns:
        total = max(len(conns), stats.connections)
        yield f"  TCP connections {total}" + (
            f" (the first {len(conns)} listed)" if total > len(conns) else ""
        )
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
                if getattr(c, "compression_assumed", False):
                    line += " (assumed: no 200 OK to NEGOTIATE seen first)"
            yield line
    if str(capture.format).endswith("-log") or capture.format == "merged":
        yield from _log_summary_lines(capture, sessions)
    yield f"  defects {len(capture.defects)}"


def _name_key(item: tuple[object, int]) -> tuple[int, str]:
    """Counted names in order, the ``(other)`` bucket last (methods are text, codes numbers)."""
    name = item[0]
    if name == "(other)":
        return (1, "")
    return (0, f"{name:>12}" if isinstance(name, int) else str(name))


def _log_summary_lines(capture: Any, sessions: list[Session] | None) -> Iterator[str]:
    """Trace logs: the logging server's name and how it was found, and the diagnostics."""
    from ..analysis.diagnostics import diagnostics_of
    from .diagnostics import summary_lines as diagnostic_summary

    host = getattr(capture, "log_host", None)
    if host is not None:
        if host[0] is not None:
            yield f"  log host {host[0]} (from the {host[1]})"
        else:
            yield "  log host not named (no [machine\\instance] prefix, no Via): use --log-host"
    index = getattr(capture, "diagnostics", None)
    index = index() if callable(index) else diagnostics_of(capture, sessions or [])
    yield from diagnostic_summary(index)
    events = getattr(capture, "log_events", None) or []
    others = sum(1 for e in events if not e.is_diagnostic)
    if others:
        yield f"  other log events {others} (component records; in the JSON log_events)"


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


# -- terminal manners: width, ASCII, colour (the CLI decides when; docs/cli.md "Terminal") ------

#: What the ladder draws with, and what a terminal that cannot print it gets instead.
ASCII_FALLBACK = {
    "→": "->",
    "←": "<-",
    "⇄": "<->",
    "…": "...",
    "·": "|",
    "×": "x",
    "≥": ">=",
    "≤": "<=",
    "—": "-",
    "–": "-",
    "µ": "u",
    "⚠": "!",
}
_ASCII_TABLE = str.maketrans(ASCII_FALLBACK)


def to_ascii(line: str) -> str:
    """The line in ASCII: arrows as ``->``, ``…`` as ``...``; other characters escaped."""
    return line.translate(_ASCII_TABLE).encode("ascii", "backslashreplace").decode("ascii")


def can_print(encoding: str | None) -> bool:
    """True when text in ``encoding`` can hold the ladder's arrows and ellipsis."""
    if not encoding:
        return False
    try:
        "→⇄…·×".encode(encoding)
    except (LookupError, UnicodeEncodeError):
        return False
    return True


def _char_width(c: str) -> int:
    import unicodedata

    if unicodedata.combining(c):
        return 0
    return 2 if unicodedata.east_asian_width(c) in ("W", "F") else 1


def display_width(text: str) -> int:
    """Columns a terminal needs for ``text`` (wide East Asian characters take two)."""
    if text.isascii():
        return len(text)
    return sum(_char_width(c) for c in text)


def _cut_end(text: str, width: int, ellipsis: str) -> str:
    if display_width(text) <= width:
        return text
    room = width - display_width(ellipsis)
    out = []
    used = 0
    for c in text:
        w = _char_width(c) if not c.isascii() else 1
        if used + w > room:
            break
        out.append(c)
        used += w
    return "".join(out).rstrip() + ellipsis


#: Fields of a ladder line are separated by two spaces; facts follow " · ".
_FACTS = "  · "
_MIN_FIELD = 12


def fit_line(line: str, width: int | None, *, ellipsis: str = "…") -> str:
    """``line`` cut to ``width`` columns (None: as it is). The facts after `` · `` are cut
    first; then long fields before them (a Call-ID, a long request URI) are shortened with
    ``…`` where they stand, endpoints and times kept whole as long as possible; then the end.
    ``-v`` message text (``      | ...``) is never cut: the terminal wraps it."""
    if width is None or display_width(line) <= width:
        return line
    if line.startswith("      | "):
        return line
    head, sep, facts = line.partition(_FACTS if ellipsis == "…" else "  | ")
    head_width = display_width(head)
    if sep and head_width + len(sep) + 8 <= width:
        return head + sep + _cut_end(facts, width - head_width - len(sep), ellipsis)
    if sep and head_width + 3 <= width:
        return head + "  " + ellipsis
    fields = head.split("  ")
    excess = head_width - width
    # Plain fields first (Call-IDs, URIs, counters), then times, then "a → b" pairs.
    passes: list[Callable[[str], bool]] = [
        lambda f: "→" not in f and "->" not in f and not _TIME_FIELD.match(f),
        lambda f: "→" not in f and "->" not in f,
        lambda f: True,
    ]
    for allowed in passes:
        while excess > 0:
            cuttable = [
                i
                for i, f in enumerate(fields)
                if i > 0 and allowed(f) and display_width(f) > _MIN_FIELD
            ]
            if not cuttable:
                break
            longest = max(cuttable, key=lambda i: display_width(fields[i]))
            size = display_width(fields[longest])
            fields[longest] = _cut_end(fields[longest], max(_MIN_FIELD, size - excess), ellipsis)
            excess -= size - display_width(fields[longest])
    return _cut_end("  ".join(fields), width, ellipsis)


_TIME_FIELD = re.compile(r"^\d{4}-\d\d-\d\d ")


_RESET = "\033[0m"
_BOLD, _DIM, _RED, _GREEN, _YELLOW, _CYAN = "1", "2", "31", "32", "33", "36"


def _paint(text: str, *codes: str) -> str:
    return f"\033[{';'.join(codes)}m{text}{_RESET}"


#: The patterns :func:`colorize` paints (status, method, header, bad words, MOS, loss),
#: compiled with the first coloured line: output that is not a terminal never needs them.
@functools.cache
def _colour_patterns() -> tuple[re.Pattern[str], ...]:
    return (
        re.compile(r"(  (?:UDP|TCP|TLS|WSS?|SCTP|\?)\s+)([1-6]\d\d)( [^·]*?)?(?=  ·|$)"),
        re.compile(r"(  (?:UDP|TCP|TLS|WSS?|SCTP|\?)\s+)([A-Z][A-Z0-9_-]*)(?= )"),
        re.compile(r"^(?:[A-Z]{2,}(?: [A-Z]+)?)  \S"),
        re.compile(
            r"\b(failed|rejected|INVALID|MISMATCH|not decrypted|no answer|no response|"
            r"timed out|unreadable|cancelled|wrong password|clock skew)\b"
        ),
        re.compile(r"\bMOS (\d+(?:\.\d+)?)"),
        re.compile(r"\blost (-?\d+) \((\d+(?:\.\d+)?)%\)"),
    )


def _status_colour(code: int) -> str:
    if code < 200:
        return _CYAN
    if code < 300:
        return _GREEN
    if code < 400:
        return _CYAN
    if code in (401, 407):
        return _YELLOW  # a challenge is the normal first answer
    return _RED


def colorize(line: str) -> str:
    """ANSI colours for a terminal: status classes on ladder lines, failures in red,
    quality (MOS, loss) by how bad it is, session headers in bold."""
    if line.startswith("      | "):
        return line
    if line.startswith("      ! ") or line.lstrip().startswith("cause:"):
        return _paint(line, _RED)
    ladder_status, ladder_method, header, bad_words, mos_value, lost_share = _colour_patterns()
    if header.match(line):
        return _paint(line, _BOLD)

    def status(m: re.Match[str]) -> str:
        text = m.group(2) + (m.group(3) or "")
        return m.group(1) + _paint(text, _status_colour(int(m.group(2))))

    out = ladder_status.sub(status, line, count=1)
    if out is line or out == line:
        out = ladder_method.sub(lambda m: m.group(1) + _paint(m.group(2), _BOLD), line, count=1)

    def mos(m: re.Match[str]) -> str:
        value = float(m.group(1))
        colour = _GREEN if value >= 4.0 else _YELLOW if value >= 3.5 else _RED
        return _paint(m.group(0), colour)

    def lost(m: re.Match[str]) -> str:
        pct = float(m.group(2))
        if pct < 1.0:
            return m.group(0)
        return _paint(m.group(0), _YELLOW if pct < 5.0 else _RED)

    out = mos_value.sub(mos, out)
    out = lost_share.sub(lost, out)
    return bad_words.sub(lambda m: _paint(m.group(0), _RED), out)


class LineStyle:
    """How lines reach a terminal: ASCII instead of arrows, cut to a width, coloured."""

    __slots__ = ("width", "color", "ascii")

    def __init__(self, width: int | None = None, color: bool = False, ascii: bool = False):
        self.width = width
        self.color = color
        self.ascii = ascii

    @property
    def plain(self) -> bool:
        return self.width is None and not self.color and not self.ascii

    def __call__(self, line: str) -> str:
        if self.ascii:
            line = to_ascii(line)
        if self.width is not None:
            line = fit_line(line, self.width, ellipsis="..." if self.ascii else "…")
        if self.color:
            line = colorize(line)
        return line
