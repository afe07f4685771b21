"""TcpReassembler: ordering, retransmission, overlap, wraparound, close, reuse, bounds."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from lyncdump.model import DefectLog
from lyncdump.net.tcp import (
    ACK,
    FIN,
    RST,
    SEGMENT_OVERHEAD,
    SYN,
    StreamClosed,
    StreamData,
    StreamEvent,
    StreamGap,
    TcpReassembler,
)

CLIENT = (bytes([10, 0, 0, 1]), 50000)
SERVER = (bytes([10, 0, 0, 2]), 5061)
PSH_ACK = 0x18


class Wire:
    """Feeds segments with increasing frame numbers and keeps every event."""

    def __init__(self, **bounds: int) -> None:
        self.defects = DefectLog()
        self.tcp = TcpReassembler(self.defects, **bounds)
        self.frame = 0
        self.events: list[StreamEvent] = []

    def send(self, src, dst, seq: int, flags: int, payload: bytes = b"") -> list[StreamEvent]:
        self.frame += 1
        got = self.tcp.segment(
            self.frame, self.frame / 10, src[0], src[1], dst[0], dst[1], seq % 2**32, flags, payload
        )
        self.events.extend(got)
        return got

    def c(self, seq: int, payload: bytes = b"", flags: int = PSH_ACK) -> list[StreamEvent]:
        return self.send(CLIENT, SERVER, seq, flags, payload)

    def s(self, seq: int, payload: bytes = b"", flags: int = PSH_ACK) -> list[StreamEvent]:
        return self.send(SERVER, CLIENT, seq, flags, payload)

    def flush(self) -> list[StreamEvent]:
        got = self.tcp.flush()
        self.events.extend(got)
        return got

    def story(self, direction: int | None = None, conn_id: int | None = None) -> list[object]:
        """Events as readable items: bytes, ("gap", n), ("closed", reason)."""
        items: list[object] = []
        for event in self.events:
            if direction is not None and event.direction != direction:
                continue
            if conn_id is not None and event.conn.id != conn_id:
                continue
            if isinstance(event, StreamData):
                items.append(event.data)
            elif isinstance(event, StreamGap):
                items.append(("gap", event.missing))
            else:
                items.append(("closed", event.reason))
        return items


def handshake(wire: Wire, client_isn: int = 1000, server_isn: int = 5000) -> None:
    wire.c(client_isn, flags=SYN)
    wire.s(server_isn, flags=SYN | ACK)
    wire.c(client_isn + 1, flags=ACK)


def test_handshake_data_and_fin_in_order():
    wire = Wire()
    handshake(wire)
    [event] = wire.c(1001, b"REGISTER")
    assert isinstance(event, StreamData)
    assert (event.direction, event.data, event.frame, event.ts) == (0, b"REGISTER", 4, 0.4)
    conn = event.conn
    assert (conn.id, conn.client, conn.server, conn.last_frame, conn.last_ts) == (
        1,
        CLIENT,
        SERVER,
        4,
        0.4,
    )
    assert conn.syn_seen and conn.user is None and conn.closed is None
    wire.s(5001, b"SIP/2.0 200 OK")
    wire.c(1009, flags=FIN | ACK)
    wire.s(5015, flags=FIN | ACK)
    assert wire.story() == [b"REGISTER", b"SIP/2.0 200 OK", ("closed", "fin"), ("closed", "fin")]
    assert [e.direction for e in wire.events] == [0, 1, 0, 1]
    assert conn.closed == "fin"
    assert not list(wire.defects)


def test_out_of_order_waits_for_the_hole():
    wire = Wire()
    handshake(wire)
    assert wire.c(1011, b"klmnopqrst") == []
    assert wire.c(1021, b"uvwxyz") == []
    [event] = wire.c(1001, b"abcdefghij")
    assert event.data == b"abcdefghijklmnopqrstuvwxyz"
    assert wire.tcp.flush() == []


def test_retransmission_is_dropped_and_counted():
    wire = Wire()
    handshake(wire)
    wire.c(1001, b"hello")
    assert wire.c(1001, b"hello") == []
    wire.c(1011, b"later")
    assert wire.c(1011, b"later") == []  # a duplicate of pending data
    assert wire.events[0].conn.retransmissions == 2
    assert not list(wire.defects)


def test_partial_overlap_delivers_only_new_bytes():
    wire = Wire()
    handshake(wire)
    wire.c(1001, b"abcdef")
    [event] = wire.c(1004, b"XYZghi")  # overlaps delivered bytes: not compared
    assert event.data == b"ghi"
    assert not list(wire.defects)


def test_conflicting_overlap_with_pending_keeps_first_copy():
    wire = Wire()
    handshake(wire)
    wire.c(1011, b"klm")
    wire.c(1011, b"KLMn")
    [defect] = list(wire.defects)
    assert defect.layer == "tcp" and "conflicting overlap" in defect.reason and defect.frame == 5
    wire.c(1001, b"abcdefghij")
    assert wire.story() == [b"abcdefghijklmn"]


def test_mid_connection_start_first_sender_is_client():
    wire = Wire()
    # A direction first seen mid-connection holds its first data until its start is settled:
    # here by the first segment of the other direction.
    assert wire.s(777, b"NOTIFY sip:x SIP/2.0") == []
    [event] = wire.c(123456, b"SIP/2.0 200 OK")
    conn = event.conn
    assert (conn.client, conn.server, conn.syn_seen, event.direction) == (SERVER, CLIENT, False, 0)
    assert (event.data, event.frame) == (b"NOTIFY sip:x SIP/2.0", 1)
    [event] = wire.flush()
    assert event.direction == 1 and event.conn is conn and event.frame == 2


def test_syn_ack_first_names_the_initiator():
    wire = Wire()
    wire.s(5000, flags=SYN | ACK)
    assert wire.c(1001, b"data") == []
    [event] = wire.flush()
    assert event.conn.client == CLIENT and event.direction == 0 and not event.conn.syn_seen


def test_reordered_first_segments_of_a_connection_seen_mid_way():
    wire = Wire()
    # The capture starts mid-connection and the first two segments arrive swapped.
    assert wire.c(1010, b"klmnop") == []
    assert wire.c(1000, b"abcdefghij") == []  # earlier: the start moves back, still held
    events = wire.c(1016, b"qrs")  # after the held data: the start is settled
    assert [(e.data, e.frame) for e in events] == [
        (b"abcdefghij", 2),
        (b"klmnop", 2),  # available once frame 2 brought what comes before it
        (b"qrs", 3),
    ]
    assert events[0].conn.retransmissions == 0 and not list(wire.defects)


def test_held_first_segments_come_in_order_with_the_frame_that_completed_them():
    wire = Wire()
    wire.c(1020, b"uvw")
    wire.c(1010, b"klmnopqrst")
    wire.c(1000, b"abcdefghij")
    events = wire.s(9000, b"reply")  # the other direction settles the client's start
    assert [(e.direction, e.frame) for e in events] == [(0, 3), (0, 3), (0, 3)]
    assert b"".join(e.data for e in events) == b"abcdefghijklmnopqrstuvw"
    # The server's own first segment is held in its turn, until the client's next one.
    assert [(e.data, e.direction) for e in wire.c(1023, b"x")] == [(b"reply", 1), (b"x", 0)]


def test_holding_has_bounds():
    wire = Wire()
    wire.c(200_000, b"late")
    wire.c(200_000 - 70_000, b"too early")  # past HOLD_BACK: settles the start, then is old
    assert wire.story() == [b"late"]
    assert wire.events[0].conn.retransmissions == 1
    wire = Wire()
    for i in range(20):
        wire.c(10_000 - 10 * i, b"0123456789")
    # HOLD_SEGMENTS (16) held, the 17th settles the start; the rest are old.
    assert b"".join(wire.story()) == b"0123456789" * 16
    wire = Wire()
    wire.c(100, b"abc")
    events = wire.c(103, b"d", flags=PSH_ACK | FIN)  # a FIN settles it too
    assert wire.story() == [b"abc", b"d", ("closed", "fin")] and len(events) == 3


def test_bare_acks_cost_nothing():
    wire = Wire()
    assert wire.c(1, flags=ACK) == []
    assert len(wire.tcp) == 0


def test_keep_alive_probe_is_not_data():
    wire = Wire()
    handshake(wire)
    wire.c(1001, b"abc")
    assert wire.c(1003, b"\x00", flags=ACK) == []
    assert wire.events[0].conn.retransmissions == 0
    assert wire.c(1004, b"d")[0].data == b"d"


def test_sequence_wraparound():
    wire = Wire()
    isn = 2**32 - 6  # data starts at 2**32 - 5 and crosses zero
    handshake(wire, client_isn=isn)
    data = bytes(range(40))
    wire.c(isn + 1 + 20, data[20:])
    wire.c(isn + 1 + 10, data[10:20])
    wire.c(isn + 1, data[:10])
    wire.c(isn + 1 + 5, data[5:25])  # a retransmission across the wrap
    wire.c(isn + 1 + 40, flags=FIN | ACK)
    assert wire.story(0) == [data, ("closed", "fin")]
    assert wire.events[0].conn.retransmissions == 1


def test_fin_before_last_data_closes_after_it():
    wire = Wire()
    handshake(wire)
    wire.c(1006, flags=FIN | ACK)
    assert wire.c(1001, b"abcde") and wire.story(0) == [b"abcde", ("closed", "fin")]
    assert wire.c(1006, flags=FIN | ACK) == []  # retransmitted FIN


def test_data_after_fin_is_a_defect():
    wire = Wire()
    handshake(wire)
    wire.c(1001, b"abc", flags=FIN | ACK)
    assert wire.c(1005, b"zzz") == []
    assert "data after FIN" in wire.defects.items[0].reason
    assert wire.story(0) == [b"abc", ("closed", "fin")]


def test_rst_closes_the_connection_and_data_in_flight_still_comes():
    wire = Wire()
    handshake(wire)
    wire.c(1001, b"abc")
    wire.c(1010, b"pending")
    [gap, pending, closed] = wire.s(5001, flags=RST | ACK)
    assert (gap.missing, pending.data) == (6, b"pending")
    assert isinstance(closed, StreamClosed) and (closed.direction, closed.reason) == (1, "rst")
    assert closed.conn.closed == "rst"
    # Segments already on their way when the reset was sent are shown, as tshark shows them
    # (teams.pcap: 1,090 bytes of TLS from the server after the client's RST).
    [more] = wire.c(1017, b"more")
    assert (more.data, more.direction) == (b"more", 0)
    [late] = wire.s(5001, b"late")
    assert (late.data, late.direction) == (b"late", 1)
    # A second reset, a late FIN and retransmissions add nothing.
    assert wire.s(5005, flags=RST) == []
    assert wire.c(1021, flags=FIN | ACK) == []
    assert wire.c(1010, b"pending") == []
    # Out of order after the reset: kept, and delivered (after its gap) at the end.
    assert wire.c(1030, b"end") == []
    [gap2, end] = wire.flush()
    assert (gap2.missing, end.data) == (9, b"end")
    assert wire.story(0)[-3:] == [b"more", ("gap", 9), b"end"]


def test_rst_on_unknown_connection_is_ignored():
    wire = Wire()
    assert wire.c(1, flags=RST) == [] and len(wire.tcp) == 0


def test_port_reuse_after_close_starts_a_new_connection():
    wire = Wire()
    handshake(wire)
    wire.c(1001, b"one", flags=PSH_ACK | FIN)
    wire.s(5001, flags=FIN | ACK)
    handshake(wire, client_isn=900_000, server_isn=1)
    wire.c(900_001, b"two")
    assert wire.story(conn_id=1) == [b"one", ("closed", "fin"), ("closed", "fin")]
    assert wire.story(conn_id=2) == [b"two"]
    second = wire.events[-1].conn
    assert second.id == 2 and second.last_frame == 9 and second.syn_seen


def test_port_reuse_after_rst_and_far_syn():
    wire = Wire()
    handshake(wire)
    wire.c(1000, flags=SYN)  # a retransmitted SYN: same connection
    wire.c(1001, b"x")
    wire.s(5001, flags=RST)
    wire.c(1000, flags=SYN)  # after a reset: a new connection, even with the same ISN
    wire.c(1001, b"y")
    wire.c(3_000_000_000, flags=SYN)  # a SYN with another ISN on a live one: new again
    wire.c(3_000_000_001, b"z")
    ids = [e.conn.id for e in wire.events if isinstance(e, StreamData)]
    assert ids == [1, 2, 3]
    assert wire.story() == [b"x", ("closed", "rst"), b"y", b"z"]


def test_syn_ack_after_close_starts_a_new_connection_with_the_right_client():
    wire = Wire()
    handshake(wire)
    wire.c(1001, flags=FIN | ACK)
    wire.s(5001, flags=FIN | ACK)
    wire.s(77_000, flags=SYN | ACK)  # the new SYN was not captured
    assert wire.c(555, b"hi") == []  # the client's start is held until settled
    [event] = wire.flush()
    assert event.conn.id == 2 and event.conn.client == CLIENT and event.direction == 0


def test_mid_capture_syn_far_from_the_stream_is_a_new_connection():
    wire = Wire()
    wire.c(10, b"old")
    wire.c(2_000_000_000, flags=SYN)
    wire.c(2_000_000_001, b"new")
    assert [e.conn.id for e in wire.events] == [1, 2]


def test_pending_bound_skips_the_hole_with_a_gap():
    bound = 3 * (100 + SEGMENT_OVERHEAD)
    wire = Wire(max_pending_bytes=bound)
    handshake(wire)
    for i in range(3):
        assert wire.c(1001 + 50 + 100 * i, bytes([65 + i]) * 100) == []
    got = wire.c(1001 + 350, b"D" * 100)
    assert [type(e) for e in got] == [StreamGap, StreamData]
    assert got[0].missing == 50 and got[0].frame == 7
    assert got[1].data == b"A" * 100 + b"B" * 100 + b"C" * 100 + b"D" * 100
    # The bytes of the hole arrive late: old news.
    assert wire.c(1001, b"z" * 50) == []
    assert wire.c(1451, b"E")[0].data == b"E"


def test_flush_declares_gaps_and_delivers_pending():
    wire = Wire()
    handshake(wire)
    wire.c(1001, b"ab")
    wire.c(1005, b"ef")
    wire.c(1010, b"jk")
    wire.c(1014, flags=FIN | ACK)
    wire.s(5001, b"reply")
    got = wire.flush()
    assert wire.story(0) == [
        b"ab",
        ("gap", 2),
        b"ef",
        ("gap", 3),
        b"jk",
        ("gap", 2),
        ("closed", "fin"),
    ]
    assert all(e.frame == 8 for e in got)  # the connection's last frame


def test_connection_table_bound_forgets_closed_first():
    wire = Wire(max_connections=3)
    clients = [(bytes([10, 1, 0, i]), 40000 + i) for i in range(5)]
    wire.send(clients[0], SERVER, 100, SYN)
    wire.send(clients[0], SERVER, 101, FIN | ACK)
    wire.send(SERVER, clients[0], 500, FIN | ACK)  # connection 1 closed
    for client in clients[1:3]:
        wire.send(client, SERVER, 100, SYN)
    assert len(wire.tcp) == 3
    wire.send(clients[3], SERVER, 100, SYN)  # pushes out the closed connection 1, quietly
    assert len(wire.tcp) == 3 and not list(wire.defects)
    wire.send(clients[4], SERVER, 100, SYN)  # now an open one (2) must go
    assert len(wire.tcp) == 3
    [defect] = list(wire.defects)
    assert "connection table full" in defect.reason and "connection 2" in defect.reason
    assert wire.send(clients[1], SERVER, 101, PSH_ACK, b"late") == []
    got = [e for e in wire.flush() if isinstance(e, StreamData)]
    assert got[0].conn.id == 6 and not got[0].conn.syn_seen


@settings(max_examples=150, deadline=None)
@given(
    data=st.binary(min_size=1, max_size=2000),
    isn=st.one_of(st.integers(0, 2**32 - 1), st.integers(2**32 - 3000, 2**32 - 1)),
    cuts=st.lists(st.integers(1, 1999), max_size=25),
    extra=st.lists(st.tuples(st.integers(0, 1999), st.integers(1, 300)), max_size=10),
    order=st.randoms(use_true_random=False),
    with_syn=st.booleans(),
)
def test_any_segmentation_and_order_is_reassembled_exactly(data, isn, cuts, extra, order, with_syn):
    bounds = sorted({0, len(data), *(c for c in cuts if c < len(data))})
    segments = [(a, data[a:b]) for a, b in zip(bounds, bounds[1:], strict=False)]
    # Duplicates and overlapping retransmissions carry the same bytes.
    segments += [(a % len(data), data[a % len(data) : a % len(data) + n]) for a, n in extra]
    order.shuffle(segments)
    wire = Wire()
    if with_syn:
        wire.c(isn, flags=SYN)
    else:
        # Without a SYN the first segment seen sets the start: make it the first bytes.
        segments.insert(0, (0, data[:1]))
        isn = (isn - 1) % 2**32
    for offset, piece in segments:
        wire.c(isn + 1 + offset, piece)
    wire.c(isn + 1 + len(data), flags=FIN | ACK)
    wire.flush()
    story = wire.story()
    assert story[-1] == ("closed", "fin")
    assert all(isinstance(item, bytes) for item in story[:-1])  # no gap, no other close
    assert b"".join(story[:-1]) == data
    assert not list(wire.defects)


@settings(max_examples=150, deadline=None, derandomize=True)
@given(
    data=st.binary(min_size=10, max_size=600),
    isn=st.integers(0, 2**32 - 1),
    cuts=st.lists(st.integers(1, 599), min_size=1, max_size=12),
    first=st.integers(0, 15),
)
def test_mid_way_start_with_reordered_first_segments(data, isn, cuts, first):
    """Seen mid-way, the first segments may come latest first: as long as each one held lies
    before those held so far (at most HOLD_SEGMENTS of them), nothing is lost."""
    bounds = sorted({0, len(data), *(c for c in cuts if c < len(data))})
    segments = [(a, data[a:b]) for a, b in zip(bounds, bounds[1:], strict=False)]
    head = sorted(segments[: first + 1], key=lambda item: -item[0])
    wire = Wire()
    for offset, piece in head + segments[first + 1 :]:
        wire.c(isn + offset, piece)
    wire.c(isn + len(data), flags=FIN | ACK)
    wire.flush()
    story = wire.story()
    assert story[-1] == ("closed", "fin")
    assert b"".join(item for item in story[:-1] if isinstance(item, bytes)) == data
    assert not list(wire.defects)


def test_a_hole_not_filled_in_time_is_declared_lost():
    wire = Wire(hole_timeout=3.0)
    handshake(wire)
    wire.c(1001, b"abc")
    wire.c(1010, b"later")  # bytes 1004-1009 never come (the capture missed them)
    assert wire.story(0) == [b"abc"]
    wire.frame += 30  # 3 s of capture time later, the next segment of the connection ...
    [gap, later] = wire.s(5001, b"x")[:2]  # ... declares the hole lost and delivers
    assert (gap.missing, later.data, later.direction) == (6, b"later", 0)
    assert wire.c(1015, b"more")[0].data == b"more"
    # A hole filled in time is no hole at all.
    wire = Wire(hole_timeout=3.0)
    handshake(wire)
    wire.c(1005, b"efg")
    wire.frame += 20
    assert b"".join(e.data for e in wire.c(1001, b"abcd")) == b"abcdefg"
