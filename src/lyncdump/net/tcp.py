"""TCP stream reassembly for a passive observer: segments in, ordered byte events out.

The consumer (the SIP framer, the TLS record reader) needs each direction of each connection as
a byte stream, and needs to know exactly where bytes are missing rather than get them glued over.
So the reassembler emits three kinds of events: :class:`StreamData` (new bytes in order),
:class:`StreamGap` (bytes that will never come) and :class:`StreamClosed`.

Positions are kept as unbounded stream offsets; wire sequence numbers are mapped to them by their
signed 32-bit distance from the next expected one, which makes wraparound at 2**32 a non-event.
Out-of-order bytes wait in a per-direction buffer bounded by ``max_pending_bytes``; delivered
bytes are not kept (a retransmission of delivered bytes is dropped without comparison).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from lyncdump.model import DefectLog
from lyncdump.net.ipfrag import merge_piece

FIN = 0x01
SYN = 0x02
RST = 0x04
ACK = 0x10

SEGMENT_OVERHEAD = 64
"""Bookkeeping charged per buffered out-of-order segment against ``max_pending_bytes``."""

_SYN_NEAR = 1 << 20
"""A SYN whose sequence is further than this from a live connection's starts a new one."""

HOLD_SEGMENTS = 16
"""A direction first seen mid-connection holds at most this many segments before its start is
settled (see :class:`TcpReassembler`)."""
HOLD_BACK = 1 << 16
"""How far before the first segment seen an earlier one may still move the start back."""

HOLE_TIMEOUT = 3.0
"""Seconds of capture time a hole may keep data waiting behind it before it is declared lost:
TCP retransmits within about that (RTO 1 s, once doubled); bytes the capture missed never come,
and what follows them should not wait for the end of the capture."""

SHARED_SERVER_VALUES = 4096
"""Server addresses and ports kept once for every connection's key (about 100 B each)."""

_MASK = 0xFFFFFFFF
_HALF = 0x80000000

Address = tuple[bytes, int]


class TcpConnection:
    """One TCP connection as seen on the wire; ``user`` is free for the consumer's own state.

    ``client`` is the initiator (sender of the SYN; without a SYN, of the first segment seen, or
    the receiver of a SYN-ACK); direction 0 of every event flows from ``client`` to ``server``.

    Memory: a connection is held for as long as it is open, up to the reassembler's bound, so it
    is kept small: its endpoints live in ``key``, its one entry in the reassembler's table (the
    lower endpoint first, so both directions find it), and a direction's reassembly state is
    made when that direction sends its first segment.
    """

    __slots__ = (
        "id",
        "key",
        "flip",
        "last_frame",
        "last_ts",
        "closed",
        "retransmissions",
        "user",
        "_h0",
        "_h1",
    )

    def __init__(
        self,
        conn_id: int,
        key: tuple[bytes, int, bytes, int],
        flip: bool,
        frame: int,
        ts: float,
    ) -> None:
        self.id = conn_id
        self.key = key
        """(address, port, address, port), the lower endpoint first: the table key."""
        self.flip = flip
        """True when the client is the second endpoint of ``key``."""
        self.last_frame = frame
        self.last_ts = ts
        self.closed: str | None = None
        """None while open; "fin" once both directions sent FIN, "rst" after a reset."""
        self.retransmissions = 0
        """Segments whose bytes had all been seen already."""
        self.user: Any = None
        self._h0 = _UNSEEN  # reassembly state of direction 0 (client to server)
        self._h1 = _UNSEEN

    @property
    def client(self) -> Address:
        key = self.key
        return (key[2], key[3]) if self.flip else (key[0], key[1])

    @property
    def server(self) -> Address:
        key = self.key
        return (key[0], key[1]) if self.flip else (key[2], key[3])

    @property
    def syn_seen(self) -> bool:
        """The client's SYN was seen (the capture has the connection's start)."""
        return self._h0.syn

    def _half(self, direction: int) -> _Half:
        return self._h1 if direction else self._h0

    def at_rest(self) -> bool:
        """Open, with nothing waiting behind a hole and no first segments held in either
        direction: what lets another reader take a direction's in-order bytes for a while
        (the compiled fast path, pipeline/connection.py ``offer``)."""
        h0, h1 = self._h0, self._h1
        return (
            self.closed is None
            and not h0.starts
            and not h1.starts
            and h0.held is None
            and h1.held is None
        )

    def next_seq(self, direction: int) -> int | None:
        """The sequence number of the next byte of a direction that has started and not
        ended (None otherwise)."""
        half = self._h1 if direction else self._h0
        if half.nxt < 0 or half.fin_at >= 0:
            return None
        return half.nxt32

    def taken_elsewhere(self, direction: int, count: int, frame: int, ts: float) -> None:
        """``count`` in-order bytes of a direction were read by another reader (the
        compiled fast path), the last of them in ``frame``: the stream moves on past them."""
        half = self._h1 if direction else self._h0
        half.nxt += count
        half.nxt32 = (half.nxt32 + count) & _MASK
        if frame > self.last_frame:
            self.last_frame = frame
            self.last_ts = ts

    def __repr__(self) -> str:
        return f"<TcpConnection #{self.id} {self.client!r} -> {self.server!r}>"


class _Half:
    """Reassembly state of one direction."""

    __slots__ = (
        "nxt",
        "nxt32",
        "syn",
        "starts",
        "datas",
        "pending",
        "fin_at",
        "fin_done",
        "held",
        "waiting",
    )

    def __init__(self) -> None:
        self.nxt = -1  # stream offset of the next byte to deliver; -1 until the first segment
        self.nxt32 = 0  # the same position as a wire sequence number
        # This direction's SYN was seen: its sequence number is then (nxt32 - nxt - 1) mod 2**32
        # (nxt counts from the byte after it, and the two move together), kept as no number.
        self.syn = False
        # Out-of-order pieces: stream offsets (sorted, disjoint) and their bytes. The shared
        # empty lists stand for "none yet" and are never mutated: _buffer makes the real ones.
        self.starts: list[int] = _NO_STARTS
        self.datas: list[bytes] = _NO_DATAS
        self.pending = 0  # bytes charged for the pieces
        self.fin_at = -1  # stream offset of the FIN once seen
        self.fin_done = False
        #: A direction first seen mid-connection: its first segments (seq, data, frame, ts),
        #: held until the start is settled; None once it is (or when the SYN was seen).
        self.held: list[tuple[int, bytes, int, float]] | None = None
        #: Capture time since which data has been waiting behind a hole.
        self.waiting = 0.0


_NO_STARTS: list[int] = []
_NO_DATAS: list[bytes] = []
_UNSEEN = _Half()
"""The state of a direction that has sent nothing yet, shared and never changed: read where the
other direction's handling looks at it, replaced by its own :class:`_Half` on its first segment."""


@dataclass(slots=True)
class StreamData:
    """New bytes of one direction, in order, right after the previous data or gap."""

    conn: TcpConnection
    direction: int
    data: bytes
    frame: int
    ts: float


@dataclass(slots=True)
class StreamGap:
    """``missing`` bytes of one direction that will never be delivered; the next data follows."""

    conn: TcpConnection
    direction: int
    missing: int
    frame: int
    ts: float


@dataclass(slots=True)
class StreamClosed:
    """One direction ended: ``reason`` is "fin" (in order, after all its data) or "rst"."""

    conn: TcpConnection
    direction: int
    reason: str
    frame: int
    ts: float


StreamEvent = StreamData | StreamGap | StreamClosed


class TcpReassembler:
    """Follows every TCP connection of a capture and turns segments into stream events.

    Bounds: at most ``max_pending_bytes`` of out-of-order data per direction (payload plus
    ``SEGMENT_OVERHEAD`` per segment; past it the oldest hole is declared a gap), and at most
    ``max_connections`` connections remembered (closed ones are forgotten first).
    """

    __slots__ = (
        "_defects",
        "_max_pending",
        "_max_connections",
        "_hole_timeout",
        "_table",
        "_lookup",
        "_closed",
        "_next_id",
        "_servers",
        "on_forget",
    )

    def __init__(
        self,
        defects: DefectLog,
        *,
        max_pending_bytes: int = 1 << 20,
        max_connections: int = 100_000,
        hole_timeout: float = HOLE_TIMEOUT,
    ) -> None:
        self._defects = defects
        self._max_pending = max_pending_bytes
        self._hole_timeout = hole_timeout
        self._max_connections = max(1, max_connections)
        # (address, port, address, port), the lower endpoint first -> connection, oldest first.
        # Ordered dicts: at the bound the oldest is taken from the front for every new
        # connection, which a plain dict pays for with a scan over the entries deleted before
        # it (lyncdump.recent). The table is looked up through a bound ``get`` (a method
        # looked up on an OrderedDict costs more than on a dict).
        self._table: OrderedDict[tuple[bytes, int, bytes, int], TcpConnection] = OrderedDict()
        self._lookup = self._table.get
        self._closed: OrderedDict[int, TcpConnection] = OrderedDict()  # in order of closing
        self._next_id = 1
        # One copy of each server address and port the table's keys name: many connections
        # go to a few servers, and each key would otherwise hold copies of its own.
        self._servers: dict[bytes | int, bytes | int] = {}
        #: Called with each connection the table lets go of (port reuse, the bound), before
        #: what it still holds is delivered: a reader that took some of its bytes gives
        #: them back then (pipeline/core.py).
        self.on_forget: Callable[[TcpConnection], None] | None = None

    def __len__(self) -> int:
        return len(self._table)

    def segment(
        self,
        frame: int,
        ts: float,
        src: bytes,
        sport: int,
        dst: bytes,
        dport: int,
        seq: int,
        flags: int,
        payload: bytes,
    ) -> list[StreamEvent]:
        """Take one TCP segment (as decoded) and return the events it causes, often none."""
        if not payload and not flags & 0x07:
            return []  # a bare ACK says nothing about the byte streams
        events: list[StreamEvent] = []
        # One table entry per connection: keyed with the lower endpoint first.
        low = src < dst or (src == dst and sport <= dport)
        key = (src, sport, dst, dport) if low else (dst, dport, src, sport)
        conn = self._lookup(key)
        if conn is None:
            if flags & RST:
                return events  # a reset of a connection never seen: nothing to close
            conn, direction = self._open(frame, ts, key, low, flags, events)
        else:
            direction = 0 if low != conn.flip else 1
            if flags & SYN and self._is_new_connection(conn, direction, seq):
                self._forget(conn, events)
                conn, direction = self._open(frame, ts, key, low, flags, events)
            elif conn.closed == "rst" and (flags & RST or not payload):
                # After a reset only data still in flight (tshark shows it, and so do we) or a
                # new SYN means anything: a second RST or a late FIN adds nothing.
                return events
        conn.last_frame = frame
        conn.last_ts = ts
        if direction:
            half, other = conn._h1, conn._h0
            if half is _UNSEEN:
                half = conn._h1 = _Half()
        else:
            half, other = conn._h0, conn._h1
            if half is _UNSEEN:
                half = conn._h0 = _Half()
        if half.starts and ts - half.waiting > self._hole_timeout:
            self._expire(conn, direction, half, frame, ts, events)
        if other.starts and ts - other.waiting > self._hole_timeout:
            self._expire(conn, 1 - direction, other, frame, ts, events)
        if other.held is not None:
            self._release(conn, 1 - direction, other, events)
        if half.held is not None:
            if not flags & (SYN | FIN | RST) and self._hold(half, seq, payload, frame, ts):
                return events
            self._release(conn, direction, half, events)
        if flags & SYN:
            if half.nxt < 0:
                half.syn = True
                half.nxt = 0
                half.nxt32 = (seq + 1) & _MASK
            seq = (seq + 1) & _MASK
        elif half.nxt < 0:
            half.nxt = 0
            half.nxt32 = seq
            if payload and not flags & (FIN | RST):
                # First seen mid-connection: the segments may arrive reordered, so the first one
                # seen need not be the earliest. Hold it until the start is settled.
                half.held = [(seq, payload, frame, ts)]
                return events
        if flags & RST:
            self._reset(conn, direction, frame, ts, events)
            return events

        diff = ((seq - half.nxt32 + _HALF) & _MASK) - _HALF
        start = half.nxt + diff  # stream offset of the first payload byte
        size = len(payload)
        if size:
            if diff == 0 and half.fin_at < 0 and not half.starts:
                events.append(StreamData(conn, direction, payload, frame, ts))
                half.nxt += size
                half.nxt32 = (half.nxt32 + size) & _MASK
            elif diff + size <= 0:
                if not (diff == -1 and size == 1 and not flags & (SYN | FIN)):
                    conn.retransmissions += 1  # (a 1-byte keep-alive probe is not one)
            else:
                self._buffer(conn, direction, half, start, payload, frame, ts, events)
        if flags & FIN:
            self._fin(conn, direction, half, start + size, frame, ts, events)
        return events

    def flush(self) -> list[StreamEvent]:
        """End of capture: declare every hole a gap and deliver what was waiting behind it."""
        events: list[StreamEvent] = []
        for conn in list(self._table.values()):
            self._drain_all(conn, events)
        return events

    # -- a direction first seen mid-connection ----------------------------------------------------

    @staticmethod
    def _hold(half: _Half, seq: int, payload: bytes, frame: int, ts: float) -> bool:
        """Keep holding while segments only move the start back (reordered first segments);
        False when this segment settles it (it lies at or after the held start, or holding
        would pass its bounds)."""
        held = half.held
        assert held is not None
        diff = ((seq - half.nxt32 + _HALF) & _MASK) - _HALF
        if not payload or diff >= 0 or diff < -HOLD_BACK or len(held) >= HOLD_SEGMENTS:
            return False
        held.append((seq, payload, frame, ts))
        half.nxt32 = seq  # the earliest byte seen so far starts the stream
        return True

    def _release(
        self, conn: TcpConnection, direction: int, half: _Half, events: list[StreamEvent]
    ) -> None:
        """The start is settled: deliver the held segments in stream order, each at the latest
        frame among it and those before it (when the data was all there)."""
        held = half.held
        assert held is not None
        half.held = None
        base = half.nxt32
        held.sort(key=lambda item: (item[0] - base) & _MASK)
        frame, ts = 0, 0.0
        for seq, payload, f, t in held:
            if f > frame:
                frame, ts = f, t
            diff = ((seq - half.nxt32 + _HALF) & _MASK) - _HALF
            if diff == 0 and not half.starts:
                events.append(StreamData(conn, direction, payload, frame, ts))
                self._skip(half, len(payload))
            elif diff + len(payload) > 0:
                self._buffer(conn, direction, half, half.nxt + diff, payload, frame, ts, events)
            else:
                conn.retransmissions += 1

    # -- connections ----------------------------------------------------------------------------

    def _open(
        self,
        frame: int,
        ts: float,
        key: tuple[bytes, int, bytes, int],
        low: bool,
        flags: int,
        events: list[StreamEvent],
    ) -> tuple[TcpConnection, int]:
        """Start a connection; the SYN sender (or the first sender) becomes the client.
        ``low``: the sender is the first endpoint of ``key``."""
        syn = flags & (SYN | ACK)
        # the client is the sender, but for a SYN-ACK (we missed the SYN, and the SYN-ACK
        # names the initiator as its destination)
        flip = low if syn == SYN | ACK else not low
        a, ap, b, bp = key
        if flip:  # the server is the first endpoint
            key = (self._server(a), self._server(ap), b, bp)  # type: ignore[assignment]
        else:
            key = (a, ap, self._server(b), self._server(bp))  # type: ignore[assignment]
        conn = TcpConnection(self._next_id, key, flip, frame, ts)
        direction = 1 if syn == SYN | ACK else 0
        self._next_id += 1
        self._table[key] = conn
        if len(self._table) > self._max_connections:
            self._evict(events)
        return conn, direction

    def _server(self, value: bytes | int) -> bytes | int:
        """The one copy of a server address or port (up to ``SHARED_SERVER_VALUES`` of them)."""
        servers = self._servers
        shared = servers.get(value)
        if shared is None:
            if len(servers) < SHARED_SERVER_VALUES:
                servers[value] = value
            return value
        return shared

    def _is_new_connection(self, conn: TcpConnection, direction: int, seq: int) -> bool:
        """A SYN (or SYN-ACK) on a known 4-tuple: a retransmission, or port reuse by a new one?"""
        if conn.closed is not None:
            return True
        half = conn._half(direction)
        if half.fin_done or half.fin_at >= 0 or conn._half(1 - direction).fin_done:
            return True
        if half.nxt < 0:
            return False  # first thing this side says: the other side spoke first (mid-capture)
        if half.syn:
            return seq != (half.nxt32 - half.nxt - 1) & _MASK
        distance = ((seq + 1 - half.nxt32 + _HALF) & _MASK) - _HALF
        return abs(distance) > _SYN_NEAR

    def _forget(self, conn: TcpConnection, events: list[StreamEvent]) -> None:
        """Remove a connection from the tables, delivering whatever it still had waiting."""
        if self.on_forget is not None:
            self.on_forget(conn)
        self._drain_all(conn, events)
        if self._table.get(conn.key) is conn:
            del self._table[conn.key]
        self._closed.pop(conn.id, None)

    def _evict(self, events: list[StreamEvent]) -> None:
        """The table is full: forget the connection closed longest ago, else the oldest one."""
        if self._closed:
            victim = next(iter(self._closed.values()))
        else:
            victim = next(iter(self._table.values()))
            self._defects.add(
                victim.last_frame,
                "tcp",
                None,
                f"connection table full ({self._max_connections}): "
                f"stopped following open connection {victim.id}",
            )
        self._forget(victim, events)

    def _mark_closed(self, conn: TcpConnection, reason: str) -> None:
        if conn.closed is None:
            conn.closed = reason
            self._closed[conn.id] = conn

    # -- byte streams ---------------------------------------------------------------------------

    def _buffer(
        self,
        conn: TcpConnection,
        direction: int,
        half: _Half,
        start: int,
        payload: bytes,
        frame: int,
        ts: float,
        events: list[StreamEvent],
    ) -> None:
        """Out of order, or overlapping what is delivered or waiting: merge it into the buffer."""
        if start < half.nxt:
            payload = payload[half.nxt - start :]  # already delivered: only the new part counts
            start = half.nxt
        if half.fin_done or (half.fin_at >= 0 and start + len(payload) > half.fin_at):
            self._beyond_fin(conn, direction, frame)
            if half.fin_done or start >= half.fin_at:
                return
            payload = payload[: half.fin_at - start]
        pieces = len(half.starts)
        if not pieces:
            half.waiting = ts
            if half.starts is _NO_STARTS:
                half.starts = []
                half.datas = []
        added, conflict = merge_piece(half.starts, half.datas, start, payload)
        if conflict:
            self._defects.add(
                frame, "tcp", None, f"connection {conn.id}: conflicting overlap (first copy kept)"
            )
        if not added:
            conn.retransmissions += 1
            return
        half.pending += added + SEGMENT_OVERHEAD * (len(half.starts) - pieces)
        if half.starts[0] == half.nxt:
            self._deliver(conn, direction, half, frame, ts, events)
        while half.pending > self._max_pending and half.starts:
            missing = half.starts[0] - half.nxt
            events.append(StreamGap(conn, direction, missing, frame, ts))
            self._skip(half, missing)
            self._deliver(conn, direction, half, frame, ts, events)

    def _expire(
        self,
        conn: TcpConnection,
        direction: int,
        half: _Half,
        frame: int,
        ts: float,
        events: list[StreamEvent],
    ) -> None:
        """Data has waited behind a hole longer than the hole timeout: the hole is lost."""
        while half.starts:
            missing = half.starts[0] - half.nxt
            events.append(StreamGap(conn, direction, missing, frame, ts))
            self._skip(half, missing)
            self._deliver(conn, direction, half, frame, ts, events)

    def _deliver(
        self,
        conn: TcpConnection,
        direction: int,
        half: _Half,
        frame: int,
        ts: float,
        events: list[StreamEvent],
    ) -> None:
        """Hand over the buffered pieces that now continue the stream, as one event."""
        starts, datas = half.starts, half.datas
        count = 0
        position = half.nxt
        while count < len(starts) and starts[count] == position:
            position += len(datas[count])
            count += 1
        if count:
            chunk = datas[0] if count == 1 else b"".join(datas[:count])
            del starts[:count]
            del datas[:count]
            half.pending -= len(chunk) + SEGMENT_OVERHEAD * count
            events.append(StreamData(conn, direction, chunk, frame, ts))
            self._skip(half, len(chunk))
        self._check_fin(conn, direction, half, frame, ts, events)

    @staticmethod
    def _skip(half: _Half, count: int) -> None:
        half.nxt += count
        half.nxt32 = (half.nxt32 + count) & _MASK

    def _check_fin(
        self,
        conn: TcpConnection,
        direction: int,
        half: _Half,
        frame: int,
        ts: float,
        events: list[StreamEvent],
    ) -> None:
        """Close the direction once every byte before its FIN has been delivered or skipped."""
        if half.fin_at < 0 or half.fin_done or half.nxt < half.fin_at:
            return
        half.fin_done = True
        self._skip(half, 1)  # the FIN takes a sequence number
        if half.starts:
            self._beyond_fin(conn, direction, frame)
            half.starts.clear()
            half.datas.clear()
            half.pending = 0
        events.append(StreamClosed(conn, direction, "fin", frame, ts))
        if conn._half(1 - direction).fin_done:
            self._mark_closed(conn, "fin")

    def _fin(
        self,
        conn: TcpConnection,
        direction: int,
        half: _Half,
        fin_at: int,
        frame: int,
        ts: float,
        events: list[StreamEvent],
    ) -> None:
        """Remember where this direction ends; close it now if everything before has come."""
        if half.fin_at >= 0:
            if fin_at != half.fin_at and not half.fin_done:
                self._defects.add(
                    frame, "tcp", None, f"connection {conn.id}: FIN at a different sequence"
                )
            return
        if fin_at < half.nxt:
            return  # stale: the stream already went past it (after a gap)
        half.fin_at = fin_at
        starts, datas = half.starts, half.datas
        if starts and starts[-1] + len(datas[-1]) > fin_at:
            self._beyond_fin(conn, direction, frame)
            while starts and starts[-1] >= fin_at:
                starts.pop()
                half.pending -= len(datas.pop()) + SEGMENT_OVERHEAD
            if starts and starts[-1] + len(datas[-1]) > fin_at:
                cut = starts[-1] + len(datas[-1]) - fin_at
                datas[-1] = datas[-1][:-cut]
                half.pending -= cut
        self._check_fin(conn, direction, half, frame, ts, events)

    def _beyond_fin(self, conn: TcpConnection, direction: int, frame: int) -> None:
        self._defects.add(
            frame, "tcp", None, f"connection {conn.id} direction {direction}: data after FIN"
        )

    def _reset(
        self,
        conn: TcpConnection,
        direction: int,
        frame: int,
        ts: float,
        events: list[StreamEvent],
    ) -> None:
        """A reset ends both directions: what was waiting behind holes is delivered first."""
        for d in (0, 1):
            self._drain_half(conn, d, conn._half(d), frame, ts, events, close_fin=False)
        self._mark_closed(conn, "rst")
        events.append(StreamClosed(conn, direction, "rst", frame, ts))

    def _drain_all(self, conn: TcpConnection, events: list[StreamEvent]) -> None:
        close_fin = conn.closed != "rst"
        for d in (0, 1):
            if conn._half(d).held is not None:
                self._release(conn, d, conn._half(d), events)
        for d in (0, 1):
            self._drain_half(
                conn, d, conn._half(d), conn.last_frame, conn.last_ts, events, close_fin=close_fin
            )

    def _drain_half(
        self,
        conn: TcpConnection,
        direction: int,
        half: _Half,
        frame: int,
        ts: float,
        events: list[StreamEvent],
        *,
        close_fin: bool,
    ) -> None:
        """Skip every remaining hole (as gaps) so all buffered bytes, and the FIN, come out."""
        while half.starts:
            missing = half.starts[0] - half.nxt
            if missing:
                events.append(StreamGap(conn, direction, missing, frame, ts))
                self._skip(half, missing)
            self._deliver(conn, direction, half, frame, ts, events)
        if close_fin and half.fin_at >= 0 and not half.fin_done:
            events.append(StreamGap(conn, direction, half.fin_at - half.nxt, frame, ts))
            self._skip(half, half.fin_at - half.nxt)
            self._check_fin(conn, direction, half, frame, ts, events)
