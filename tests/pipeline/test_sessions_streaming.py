"""SessionBuilder in a streaming run: when a session is finished, and what it then holds."""

from __future__ import annotations

import pytest

from lyncdump.analysis.sessions import SessionBuilder
from lyncdump.model import Endpoint
from lyncdump.sip.message import SipMessage, parse_message

A = Endpoint("10.0.0.2", 5060)
B = Endpoint("10.0.0.1", 5060)


def msg(
    start: str, call_id: str, cseq: str, t: float, frame: int, *, branch: str = "1"
) -> SipMessage:
    text = (
        f"{start}\r\nVia: SIP/2.0/UDP 10.0.0.2;branch=z9hG4bK{branch}\r\n"
        f"From: <sip:a@x>;tag=1\r\nTo: <sip:b@x>\r\nCall-ID: {call_id}\r\nCSeq: {cseq}\r\n"
        "Content-Length: 0\r\n\r\n"
    )
    m = parse_message(text.encode())
    m.time, m.frame = t, frame
    is_request = not start.startswith("SIP/")
    m.src, m.dst = (A, B) if is_request else (B, A)
    return m


def feed(builder: SessionBuilder, messages: list[SipMessage]) -> list[tuple[float, str, int]]:
    """(time of the message that finished it, Call-ID, part) of each session emitted."""
    out = []
    for m in messages:
        for s in builder.add(m):
            out.append((m.time, s.call_id, s.part))
    return out


def test_keep_all_emits_nothing_until_finish_in_first_message_order() -> None:
    builder = SessionBuilder()
    ms = [msg("OPTIONS sip:b@x SIP/2.0", "b", "1 OPTIONS", 0.0, 2),
          msg("OPTIONS sip:b@x SIP/2.0", "a", "1 OPTIONS", 100.0, 3)]  # fmt: skip
    assert feed(builder, ms) == []
    assert [s.call_id for s in builder.finish()] == ["b", "a"]
    assert len(builder) == 0 and builder.held == 0


def test_unanswered_session_finishes_once_quiet_for_the_quiet_span() -> None:
    builder = SessionBuilder(32.0)
    ms = [
        msg("OPTIONS sip:b@x SIP/2.0", "a", "1 OPTIONS", 0.1, 1),  # never answered
        msg("OPTIONS sip:b@x SIP/2.0", "b", "1 OPTIONS", 32.0, 3),  # a: 31.9 s quiet: open
        msg("OPTIONS sip:b@x SIP/2.0", "c", "1 OPTIONS", 32.2, 4),  # a: 32.1 s: finished
    ]
    assert feed(builder, ms) == [(32.2, "a", 1)]
    assert [s.call_id for s in builder.advance(64.1)] == ["b"]  # c: 31.9 s quiet
    assert [s.call_id for s in builder.advance(64.3)] == ["c"]


def test_answered_session_settles_after_t4() -> None:
    builder = SessionBuilder(32.0)
    ms = [
        msg("OPTIONS sip:b@x SIP/2.0", "a", "1 OPTIONS", 0.0, 1),
        msg("SIP/2.0 100 Trying", "a", "1 OPTIONS", 0.05, 2),  # provisional: still waiting
        msg("OPTIONS sip:b@x SIP/2.0", "b", "1 OPTIONS", 5.1, 3),
        msg("SIP/2.0 200 OK", "b", "1 OPTIONS", 5.2, 4),
        msg("OPTIONS sip:b@x SIP/2.0", "c", "1 OPTIONS", 10.3, 5),  # b answered, 5.1 s quiet
    ]
    assert feed(builder, ms) == [(10.3, "b", 1)]
    assert builder.advance(32.0) == []
    assert [s.call_id for s in builder.advance(32.1)] == ["a"]


def test_benotify_and_ack_expect_no_answer() -> None:
    builder = SessionBuilder(32.0)
    ms = [
        msg("BENOTIFY sip:b@x SIP/2.0", "n", "3 BENOTIFY", 0.0, 1),
        msg("OPTIONS sip:b@x SIP/2.0", "z", "1 OPTIONS", 5.5, 2),
    ]
    assert feed(builder, ms) == [(5.5, "n", 1)]


def test_emitted_session_is_matched_in_frame_order() -> None:
    builder = SessionBuilder(1.0)
    # TCP can complete the response before the request (a request over many segments).
    resp = msg("SIP/2.0 200 OK", "a", "1 OPTIONS", 0.2, 5)
    req = msg("OPTIONS sip:b@x SIP/2.0", "a", "1 OPTIONS", 0.1, 4)
    assert feed(builder, [resp, req]) == []
    (session,) = builder.advance(10.0)
    assert [m.frame for m in session.messages] == [4, 5]
    (txn,) = session.transactions
    assert txn.request is req and txn.responses == [resp] and txn.final_status == 200


def test_answered_call_waits_for_its_bye() -> None:
    builder = SessionBuilder(32.0)
    call = [
        msg("INVITE sip:b@x SIP/2.0", "call", "1 INVITE", 0.0, 1),
        msg("SIP/2.0 200 OK", "call", "1 INVITE", 1.0, 2),
        msg("ACK sip:b@x SIP/2.0", "call", "1 ACK", 1.1, 3, branch="2"),
    ]
    assert feed(builder, call) == []
    assert builder.advance(3600.0) == []  # an hour of media, no SIP: still in progress
    bye = [
        msg("BYE sip:b@x SIP/2.0", "call", "2 BYE", 3600.5, 4, branch="3"),
        msg("SIP/2.0 200 OK", "call", "2 BYE", 3600.6, 5, branch="3"),
    ]
    assert feed(builder, bye) == []
    (session,) = builder.advance(3633.0)
    assert session.kind == "call" and len(session.messages) == 5


def test_unanswered_invite_times_out_like_any_transaction() -> None:
    builder = SessionBuilder(32.0)
    assert feed(builder, [msg("INVITE sip:b@x SIP/2.0", "x", "1 INVITE", 0.0, 1)]) == []
    assert builder.advance(31.0) == []
    (session,) = builder.advance(40.0)
    assert session.transactions[0].outcome == "no response"


def test_a_call_id_that_comes_back_is_a_new_part() -> None:
    builder = SessionBuilder(32.0)
    first = [
        msg("REGISTER sip:x SIP/2.0", "reg", "1 REGISTER", 0.0, 1),
        msg("SIP/2.0 200 OK", "reg", "1 REGISTER", 0.1, 2),
    ]
    later = [  # the refresh ten minutes later, same Call-ID (as Lync does)
        msg("REGISTER sip:x SIP/2.0", "reg", "2 REGISTER", 600.0, 3, branch="2"),
        msg("SIP/2.0 200 OK", "reg", "2 REGISTER", 600.1, 4, branch="2"),
    ]
    assert feed(builder, first + later) == [(600.0, "reg", 1)]  # settled long before
    (again,) = builder.finish()
    assert (again.call_id, again.part, len(again.messages)) == ("reg", 2, 2)


def test_late_retransmission_within_the_span_joins_its_session() -> None:
    builder = SessionBuilder(32.0)
    ms = [
        msg("OPTIONS sip:b@x SIP/2.0", "a", "1 OPTIONS", 0.0, 1),
        msg("OPTIONS sip:b@x SIP/2.0", "a", "1 OPTIONS", 16.0, 2),  # timer E, much later
        msg("SIP/2.0 200 OK", "a", "1 OPTIONS", 16.1, 3),
    ]
    feed(builder, ms)
    (session,) = builder.finish()
    assert session.retransmissions == 1 and ms[1].retransmission


@pytest.mark.parametrize("max_held", [1, 3, 10])
def test_held_messages_are_bounded_in_total(max_held: int) -> None:
    builder = SessionBuilder(3600.0, max_held=max_held)
    emitted = 0
    for i in range(50):
        emitted += len(builder.add(msg("OPTIONS sip:b@x SIP/2.0", f"id{i}", "1 OPTIONS", i, i)))
        assert builder.held <= max(max_held, 1)
    assert emitted + len(builder.finish()) == 50
    assert builder.early == emitted


def test_arrival_order_for_a_merged_time_line() -> None:
    builder = SessionBuilder(by_frame=False)
    # Frames of two inputs mean nothing to each other: arrival (time) order is kept.
    feed(builder, [msg("OPTIONS sip:b@x SIP/2.0", "a", "1 OPTIONS", 0.0, 9),
                   msg("SIP/2.0 200 OK", "a", "1 OPTIONS", 0.1, 2)])  # fmt: skip
    (session,) = builder.finish()
    assert [m.frame for m in session.messages] == [9, 2]
    assert session.transactions[0].final_status == 200


def test_subscription_dialog_waits_the_quiet_span_for_its_notifies() -> None:
    builder = SessionBuilder(32.0)
    ms = [
        msg("SUBSCRIBE sip:b@x SIP/2.0", "s", "1 SUBSCRIBE", 0.0, 1),
        msg("SIP/2.0 200 OK", "s", "1 SUBSCRIBE", 0.1, 2),
        msg("BENOTIFY sip:a@x SIP/2.0", "s", "2 BENOTIFY", 20.0, 3, branch="2"),
    ]
    assert feed(builder, ms) == []
    assert builder.advance(51.9) == []
    (session,) = builder.advance(52.1)
    assert [m.method or m.status for m in session.messages] == ["SUBSCRIBE", 200, "BENOTIFY"]
