"""Cut a SIP byte stream (one TCP/TLS direction) into messages, h11 style.

Push bytes with :meth:`SipStreamFramer.receive_data`, pull whole messages with
:meth:`SipStreamFramer.next_message` until it returns None. Messages end where
Content-Length says (RFC 3261 18.3). The framer copes with what captures contain: CRLF
keep-alives, segments lost by the capture (:meth:`~SipStreamFramer.receive_gap`), garbage,
and a stream that switches to MS-SIPCOMP compression after NEGOTIATE
(:meth:`~SipStreamFramer.take_remaining`).

Work is linear in the stream size: the buffer is searched with ``find`` and regexes from
where the previous search stopped, and consumed bytes are dropped in large steps.
Memory is bounded by about twice ``max_message`` plus one chunk, provided the caller drains
:meth:`~SipStreamFramer.next_message` after every chunk.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .. import fastpath
from ..model import Defect
from .message import KNOWN_METHODS, start_line_matches

__all__ = ["FramedMessage", "SipStreamFramer"]

_LAYER = "sip"
_KEEPALIVE_RE = re.compile(rb"[\r\n]+")
# A Content-Length (or compact ``l``) header line inside a header block, folding allowed.
_CL_RE = re.compile(rb"\n(?:content-length|l)[ \t]*:((?:[^\r\n]|\r?\n[ \t])*)", re.IGNORECASE)
_DIGITS_RE = re.compile(rb"[0-9]+")
_CL_NAME = b"\ncontent-length"
_TOKEN_BYTES = frozenset(
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-.!%*_+`'~"
)
_COMPACT_AT = 1 << 16  # drop consumed bytes once this many (and half the buffer) are consumed
_OWN_CHUNK_LIMIT = 1 << 16  # chunks up to this size are also kept as they came (see _emit)

_START, _HEADERS, _BODY, _RESYNC, _SKIP = range(5)

# What an idle framer holds: shared, empty and never changed. A framer lives as long as its
# connection and is idle between messages (a Front End's signed-in clients), so its buffer,
# chunk list and defect list are made when something goes in and let go when it is consumed.
_NO_BUF = bytearray()
_NO_CHUNKS: list[tuple[int, int, int, float, int | None, bool, bytes | None]] = []
_NO_DEFECTS: list[Defect] = []


def _known_start(buf: bytearray, start: int) -> bool:
    """Stricter test for the bytes right after a gap, which may be the tail of a method name
    (``IFY sip:...`` after ``BENOT`` was lost): only a status line or a known method counts."""
    if buf.startswith(b"SIP/2.0 ", start):
        return True
    space = buf.find(b" ", start, start + 16)
    return space > start and buf[start:space].decode("ascii", "replace") in KNOWN_METHODS


def _embedded_start(buf: bytearray, start: int, eol: int) -> int:
    """Offset of a start line that begins inside the line ``buf[start:eol]``, or -1.

    Request lines are recognised by their `` SIP/2.0`` end and a known method glued to what
    precedes it (``...</xml>NOTIFY sip:... SIP/2.0``); status lines by ``SIP/2.0 NNN``.
    """
    end = eol - 1 if eol > start and buf[eol - 1] == 13 else eol
    if buf.endswith(b" SIP/2.0", start, end):
        space = buf.rfind(b" ", start, end - 8)
        if space > start:
            t = space
            while t > start and space - t < 16 and buf[t - 1] in _TOKEN_BYTES:
                t -= 1
            run = buf[t:space].decode("ascii")
            for i in range(len(run)):  # longest known method that ends the run
                if run[i:] in KNOWN_METHODS:
                    if t + i > start and start_line_matches(buf, t + i, eol + 1):
                        return t + i
                    break
    at = buf.find(b"SIP/2.0 ", start + 1, end)
    if at > 0 and start_line_matches(buf, at, eol + 1):
        return at
    return -1


@dataclass(slots=True)
class FramedMessage:
    """The bytes of one message and where they came from.

    ``frame``/``ts`` are those of the chunk holding the last byte, ``first_frame`` of the chunk
    holding the first. ``wire_size`` is this message's share of the chunks' wire sizes (None if
    no chunk carried one); ``partial`` is true if any contributing chunk was partial.

    What framing already read, handed to :func:`~lyncdump.sip.message.parse_message` so it is
    not read twice: ``header_end``, the offset in ``data`` of the empty line that ends the
    headers, and ``content_length``, the value of the only Content-Length header when it is
    plain digits (None when there were none, several, or a malformed one).
    """

    data: bytes
    first_frame: int
    frame: int
    ts: float
    wire_size: int | None
    partial: bool
    header_end: int | None = None
    content_length: int | None = None


def _only_content_length(buf: bytearray, start: int, end: int) -> int | None:
    """The Content-Length of the header block ``buf[start:end]`` when it is the usual case, found
    with plain searches: one ``Content-Length`` line (no compact ``l``), a plain number of at
    most 15 digits, not folded. None for anything else: the regex path then decides."""
    low = buf[start:end].lower()
    at = low.find(_CL_NAME)
    if at < 0 or low.find(_CL_NAME, at + 15) >= 0 or b"\nl" in low:
        return None
    eol = low.find(b"\n", at + 15)
    if eol < 0 or low[eol + 1 : eol + 2] in (b" ", b"\t"):
        return None
    name, colon, value = low[at + 15 : eol].partition(b":")
    if not colon or name.strip(b" \t") or not value.strip(b" \t\r").isdigit():
        return None
    value = value.strip(b" \t\r")
    return int(value) if len(value) <= 15 else None


#: The compiled end-of-headers search (``_fastpath.sip_frame_head``), or None.
_frame_head: Callable[..., Any] | None = fastpath.helper("sip_frame_head")


class SipStreamFramer:
    """Frames SIP messages out of one direction of a stream (see the module docstring).

    ``defects`` collects framing problems (frame numbers filled in, ``offset`` = byte offset
    in the stream as fed to this framer); the consumer drains it.
    """

    # Slots and lists, not deques: a framer lives as long as its connection, and a Front End
    # keeps thousands of client connections open (a deque is 600 B even when empty).
    __slots__ = (
        "max_message", "defects", "_buf", "_base", "_pos", "_state", "_scan", "_end",
        "_header_end", "_length", "_rs", "_rs_at_line", "_gap_at", "_rs_scan", "_skip_start",
        "_skip_frame", "_skipped", "_last_frame", "_chunks", "_ready",
    )  # fmt: skip

    def __init__(self, *, max_message: int = 1 << 20) -> None:
        self.max_message = max_message
        # Shared empty ones until a defect is found (the consumer drains this list).
        self.defects: list[Defect] = _NO_DEFECTS
        self._buf = _NO_BUF  # the unconsumed bytes (a buffer of its own once bytes come)
        self._base = 0  # stream offset of _buf[0]
        self._pos = 0  # stream offset of the first unconsumed byte (message start)
        self._state = _START
        self._scan = 0  # START/HEADERS: where the search for LF / the empty line resumes
        self._end = 0  # BODY: end of the message; SKIP: end of the bytes to drop
        self._header_end = 0  # BODY: where the empty line is, from the message start
        self._length: int | None = None  # BODY: the only Content-Length, when plain digits
        self._rs = 0  # RESYNC: where the search for a start line resumes
        self._rs_at_line = False  # RESYNC: _rs is the start of a candidate line
        self._gap_at = -1  # RESYNC: stream offset right after a gap (candidate, not a line start)
        self._rs_scan = 0  # RESYNC: where the search for the LF ending that line resumes
        self._skip_start = 0  # RESYNC: stream offset where discarding began
        self._skip_frame: int | None = None
        self._skipped = 0  # RESYNC: bytes already dropped for the bound
        self._last_frame: int | None = None
        # (start, end, frame, ts, wire_size, partial, bytes) for each chunk still in the buffer,
        # oldest first (a few at a time: consumed ones leave in one slice); the chunk's own
        # bytes (small chunks only) let a message that lies in one chunk be handed over without
        # copying it out of the buffer twice.
        self._chunks = _NO_CHUNKS
        # (_NO_CHUNKS: none)
        # messages completed before a gap or the end of the stream, not yet pulled, the
        # earliest last (None: none)
        self._ready: list[FramedMessage] | None = None

    # -- input ---------------------------------------------------------------------------

    def receive_data(
        self,
        data: bytes,
        frame: int,
        ts: float,
        *,
        wire_size: int | None = None,
        partial: bool = False,
    ) -> None:
        """Append the next bytes of the stream (``frame``/``ts`` of the packet carrying them)."""
        self._last_frame = frame
        if not data:
            return
        buf = self._buf
        start = self._base + len(buf)
        own = data if type(data) is bytes and len(data) <= _OWN_CHUNK_LIMIT else None
        chunk = (start, start + len(data), frame, ts, wire_size, partial, own)
        if buf is _NO_BUF:
            self._buf = bytearray(data)
            self._chunks = [chunk]
        else:
            buf += data
            self._chunks.append(chunk)

    def receive_gap(self, missing: int, frame: int, ts: float) -> None:
        """``missing`` bytes of the stream were not captured at this point.

        A message in progress is dropped (one defect). If the gap fell inside a body whose
        end is known, framing continues right after that body; otherwise the framer
        resynchronises on the next line that looks like a SIP start line.
        """
        self._drain()
        self._last_frame = frame
        end = self._base + len(self._buf)
        missing = max(missing, 0)
        state = self._state
        pending = end - self._pos
        if state in (_BODY, _SKIP):
            if state == _BODY:
                self._defect(
                    frame,
                    self._pos,
                    f"{missing} bytes lost from the stream: partial message of "
                    f"{pending} bytes dropped",
                )
            left = self._end - end - missing
            self._consume_to(end)
            if left > 0:
                self._state, self._end = _SKIP, end + left
            elif left == 0:
                self._state, self._scan = _START, end
            else:
                self._begin_resync(end, at_line=True, frame=frame)
                self._gap_at = end
            return
        if state == _RESYNC:
            self._rs, self._rs_at_line, self._rs_scan = end, True, end
            self._gap_at = end
            return
        if state == _HEADERS or (pending and self._has_payload(self._pos, end)):
            self._defect(
                frame,
                self._pos,
                f"{missing} bytes lost from the stream: partial message of {pending} bytes dropped",
            )
        self._consume_to(end)
        self._begin_resync(end, at_line=True, frame=frame)
        self._gap_at = end

    # -- output --------------------------------------------------------------------------

    def next_message(self) -> FramedMessage | None:
        """The next complete message, or None when more data is needed."""
        ready = self._ready
        if ready is not None:
            msg = ready.pop()  # the earliest is last
            if not ready:
                self._ready = None
            return msg
        return self._step()

    def _drain(self) -> None:
        """Frame everything complete now (before a gap or the end changes the stream)."""
        framed: list[FramedMessage] = []
        while True:
            msg = self._step()
            if msg is None:
                break
            framed.append(msg)
        if framed:
            # Newest first, so that next_message() takes the earliest off the end in constant
            # time (a buffer of small messages before a gap can hold thousands).
            framed.reverse()
            self._ready = framed if self._ready is None else framed + self._ready

    def _step(self) -> FramedMessage | None:
        while True:
            state = self._state
            buf = self._buf
            base = self._base
            end = base + len(buf)
            if state == _START:
                rel = self._pos - base
                if rel < len(buf) and buf[rel] in b"\r\n":
                    m = _KEEPALIVE_RE.match(buf, rel)
                    if m is not None:
                        self._consume_to(base + m.end())
                        buf = self._buf  # a new one when all was consumed
                        base = self._base
                        rel = self._pos - base
                if rel >= len(buf):
                    return None
                eol = buf.find(b"\n", max(rel, self._scan - base))
                if eol < 0:
                    if buf[rel] in _TOKEN_BYTES and len(buf) - rel <= self.max_message:
                        self._scan = base + len(buf)
                        return None
                    self._begin_resync(self._pos, at_line=False)
                elif start_line_matches(buf, rel, eol + 1):
                    self._state, self._scan = _HEADERS, self._pos
                else:
                    self._begin_resync(self._pos, at_line=False)
            elif state == _HEADERS:
                if not self._find_header_end():
                    return None
            elif state == _BODY:
                if end < self._end:
                    return None
                return self._emit()
            elif state == _SKIP:
                if end < self._end:
                    self._consume_to(end)
                    return None
                self._consume_to(self._end)
                self._state = _START
                self._scan = self._pos
            else:  # _RESYNC
                if not self._resync():
                    return None

    def take_remaining(self) -> bytes:
        """Hand over every unconsumed byte and start afresh.

        Used when the stream switches to MS-SIPCOMP after a NEGOTIATE / 200 OK: the caller must
        check each message before asking for the next one, then take the rest from here.
        A pending resynchronisation is cancelled without a defect (its bytes are handed over).
        """
        buf = self._buf
        rel = self._pos - self._base
        # One copy of what is left (a slice of the bytearray, then bytes, made two).
        out = bytes(buf) if not rel else bytes(memoryview(buf)[rel:]) if rel < len(buf) else b""
        self._reset()
        return out

    def _reset(self) -> None:
        """Drop every unconsumed byte and start afresh at the end of the stream so far."""
        self._base += len(self._buf)
        self._pos = self._base
        self._buf = _NO_BUF
        self._chunks = _NO_CHUNKS
        self._state = _START
        self._scan = self._pos
        self._skipped = 0

    def close(self) -> None:
        """The stream ended: report a message left incomplete or bytes being skipped.

        Complete messages still buffered stay available from :meth:`next_message`.
        """
        self._drain()
        end = self._base + len(self._buf)
        frame = self._last_frame
        if self._state == _RESYNC:
            skipped = self._skipped + end - self._pos
            if skipped:
                self._defect(
                    self._skip_frame, self._skip_start, f"{skipped} bytes that are not SIP skipped"
                )
        elif self._state in (_HEADERS, _BODY) or (
            self._state == _START and self._has_payload(self._pos, end)
        ):
            self._defect(
                frame, self._pos, f"stream ended inside a message ({end - self._pos} bytes)"
            )
        self._reset()

    @property
    def buffered(self) -> int:
        """Bytes held in memory now (for bounds checks and statistics)."""
        return len(self._buf)

    @property
    def at_rest(self) -> bool:
        """Between messages with nothing held: the next byte starts a message (or CR/LF)."""
        return self._buf is _NO_BUF and self._state == _START and self._ready is None

    def suspend(self) -> tuple[int, int | None]:
        """What a framer at rest needs to be made again (:meth:`resumed`): its stream offset
        and last frame. A connection whose direction another reader frames for a while (the
        compiled fast path) lets the framer go meanwhile."""
        assert self.at_rest
        return self._base, self._last_frame

    @classmethod
    def resumed(cls, state: tuple[int, int | None], *, max_message: int) -> SipStreamFramer:
        """A framer at rest at the stream offset and last frame :meth:`suspend` gave."""
        framer = cls(max_message=max_message)
        framer._base = framer._pos = framer._scan = state[0]
        framer._last_frame = state[1]
        return framer

    def skip_framed(self, count: int, last_frame: int) -> None:
        """``count`` bytes of the stream were framed by another reader (the compiled fast
        path) while this framer was at rest, the last of them in ``last_frame``: offsets move
        on past them, as if they had been fed and framed here."""
        if count:
            self._base += count
            self._pos = self._scan = self._base
            self._last_frame = last_frame

    def drop_framed(self, count: int) -> None:
        """The first ``count`` bytes held were framed by another reader (the compiled
        MS-SIPCOMP path gives back a packet whose first messages it delivered): consumed as
        if framed here, the chunk that holds them kept for the wire shares of the rest."""
        if count:
            self._consume_to(self._pos + count)
            self._scan = self._pos

    # -- internals -----------------------------------------------------------------------

    def _defect(self, frame: int | None, offset: int | None, reason: str) -> None:
        if self.defects is _NO_DEFECTS:
            self.defects = []
        self.defects.append(Defect(frame, _LAYER, offset, reason))

    def _has_payload(self, start: int, end: int) -> bool:
        """True when [start, end) holds more than CR/LF (i.e. part of a message)."""
        rel, rel_end = start - self._base, end - self._base
        m = _KEEPALIVE_RE.match(self._buf, rel, rel_end)
        return (m.end() if m is not None else rel) < rel_end

    def _frame_at(self, offset: int) -> int | None:
        for start, stop, frame, *_ in self._chunks:
            if start <= offset < stop:
                return frame
        return self._last_frame

    def _consume_to(self, offset: int) -> None:
        """Mark everything before stream offset ``offset`` as used; free memory in big steps."""
        self._pos = offset
        chunks = self._chunks
        if chunks and chunks[0][1] <= offset:
            done = 1
            while done < len(chunks) and chunks[done][1] <= offset:
                done += 1
            del chunks[:done]
        rel = offset - self._base
        if rel >= len(self._buf):
            # All consumed: the framer is idle and holds nothing of its own.
            self._buf = _NO_BUF
            self._chunks = _NO_CHUNKS
            self._base = offset
        elif rel >= _COMPACT_AT and rel * 2 >= len(self._buf):
            del self._buf[:rel]
            self._base = offset

    def _begin_resync(self, offset: int, *, at_line: bool, frame: int | None = None) -> None:
        """Start discarding at ``offset``; ``at_line``: a candidate start line begins there."""
        self._state = _RESYNC
        self._skip_start = offset
        self._skip_frame = frame if frame is not None else self._frame_at(offset)
        self._skipped = 0
        self._rs, self._rs_at_line, self._rs_scan = offset, at_line, offset
        self._gap_at = -1

    def _resync(self) -> bool:
        """Look for the next line that looks like a start line; True when framing resumes.

        Besides lines that begin with a start line, a start line glued to the end of the line
        before it (a body without a final CRLF, then the next message) is found too.
        """
        buf = self._buf
        base = self._base
        rel = self._rs - base
        while True:
            eol = buf.find(b"\n", max(rel, self._rs_scan - base))
            if eol < 0:
                self._rs_scan = base + len(buf)
                if len(buf) - rel > self.max_message:
                    rel, self._rs_at_line = len(buf), False
                break
            found = -1
            if (
                self._rs_at_line
                and start_line_matches(buf, rel, eol + 1)
                and (base + rel != self._gap_at or _known_start(buf, rel))
            ):
                found = rel
            else:
                found = _embedded_start(buf, rel, eol)
            if found >= 0:
                skipped = self._skipped + base + found - self._pos
                if skipped:
                    self._defect(
                        self._skip_frame,
                        self._skip_start,
                        f"{skipped} bytes that are not SIP skipped to resynchronise",
                    )
                self._consume_to(base + found)
                self._state = _START
                self._scan = self._pos
                return True
            rel, self._rs_at_line = eol + 1, True
        self._rs = base + rel
        if self._rs - self._pos > self.max_message:
            self._skipped += self._rs - self._pos
            self._consume_to(self._rs)
        return False

    def _find_header_end(self) -> bool:
        """HEADERS state: look for the empty line; on success move to BODY (or resync)."""
        buf = self._buf
        base = self._base
        start = self._pos - base
        scan = self._scan - base
        if _frame_head is not None:
            found = _frame_head(buf, start, scan)
            if found is not None:
                header_end, body_start, plain = found
                if plain >= 0:
                    self._length = length = plain
                else:
                    length, self._length = self._content_length(start, header_end)
                return self._headers_found(start, header_end, body_start, length)
            a = b = -1
        else:
            # The first empty line, CRLF or bare LF: plain finds (the second stops at the first).
            a = buf.find(b"\n\r\n", scan)
            b = buf.find(b"\n\n", scan, a + 1 if a >= 0 else len(buf))
        if a < 0 and b < 0:
            self._scan = base + max(len(buf) - 2, start)
            if len(buf) - start > self.max_message:
                self._defect(
                    self._frame_at(self._pos),
                    self._pos,
                    f"no end of headers within {self.max_message} bytes",
                )
                self._begin_resync(self._pos, at_line=False)
                return True
            return False
        if b >= 0:
            header_end, body_start = b + 1, b + 2
        else:
            header_end, body_start = a + 1, a + 3
        length, self._length = self._content_length(start, header_end)
        return self._headers_found(start, header_end, body_start, length)

    def _headers_found(
        self, start: int, header_end: int, body_start: int, length: int | None
    ) -> bool:
        """The empty line is at ``header_end`` (buffer offsets): on to BODY, or resync when the
        message would exceed the bound."""
        base = self._base
        self._header_end = header_end - start
        if length is None:
            length = 0
        size = body_start - start + length
        if size > self.max_message:
            self._defect(
                self._frame_at(self._pos),
                self._pos,
                f"message of {size} bytes exceeds the {self.max_message}-byte bound",
            )
            self._begin_resync(self._pos, at_line=False)
            return True
        self._state, self._end = _BODY, base + body_start + length
        return True

    def _content_length(self, start: int, header_end: int) -> tuple[int | None, int | None]:
        """Content-Length of the header block buf[start:header_end], with defects; and the
        same value again when it is the only one and plain digits (handed to the parser)."""
        buf = self._buf
        length = _only_content_length(buf, start, header_end)
        if length is not None:
            return length, length
        # Anything else is read with the regex (folding allowed), and not handed over: its
        # value can stop short of the line's end (a stray CR), the parser's cannot.
        values: list[bytes] = [
            m.group(1).strip(b" \t\r\n") for m in _CL_RE.finditer(buf, start, header_end)
        ]
        frame = self._frame_at(self._base + header_end - 1)
        offset = self._base + start
        if not values:
            self._defect(frame, offset, "no Content-Length on a stream: body taken as empty")
            return None, None
        if len(set(values)) > 1:
            self._defect(frame, offset, "several Content-Length headers disagree: first used")
        value = values[0]
        if _DIGITS_RE.fullmatch(value) is None:
            self._defect(frame, offset, f"bad Content-Length {value[:40]!r}: body taken as empty")
            return None, None
        if len(value) > 15:
            return 10**15, None
        return int(value), None

    def _emit(self) -> FramedMessage:
        start, stop = self._pos, self._end
        data: bytes | None = None
        first_frame = frame = -1
        ts = 0.0
        wire: int | None = None
        partial = False
        for c_start, c_end, c_frame, c_ts, c_wire, c_partial, c_data in self._chunks:
            if c_end <= start:
                continue
            if c_start >= stop:
                break
            if first_frame < 0:
                first_frame = c_frame
                if c_data is not None and stop <= c_end:  # the message lies in this chunk
                    data = (
                        c_data
                        if c_start == start and c_end == stop
                        else c_data[start - c_start : stop - c_start]
                    )
            frame, ts = c_frame, c_ts
            partial = partial or c_partial
            if c_wire is not None:
                length = c_end - c_start
                lo, hi = max(start, c_start) - c_start, min(stop, c_end) - c_start
                share = c_wire * hi // length - c_wire * lo // length
                wire = share if wire is None else wire + share
        if data is None:
            rel = start - self._base
            data = bytes(memoryview(self._buf)[rel : rel + stop - start])
        self._consume_to(stop)
        self._state = _START
        self._scan = stop
        return FramedMessage(
            data, first_frame, frame, ts, wire, partial, self._header_end, self._length
        )
