"""Sessions and transactions from hand-made messages: matching, retransmissions, kinds, outcomes."""

from __future__ import annotations

from lyncdump.analysis.sessions import SessionBuilder, classify
from lyncdump.model import Endpoint
from lyncdump.sip.message import SipMessage, parse_message

A = Endpoint("192.0.2.1", 5060)
B = Endpoint("192.0.2.2", 5060)


def msg(
    text: str, src: Endpoint = A, dst: Endpoint = B, t: float = 0.0, frame: int = 1
) -> SipMessage:
    raw = text.strip("\n").replace("\n", "\r\n").encode() + b"\r\n\r\n"
    m = parse_message(raw, datagram=True)
    m.src, m.dst, m.time, m.frame, m.first_frame, m.transport = src, dst, t, frame, frame, "UDP"
    return m


def request(
    method: str, cseq: int, branch: str | None = "z9hG4bK1", call_id: str = "c1", extra: str = ""
) -> str:
    via = "Via: SIP/2.0/UDP 192.0.2.1" + (f";branch={branch}" if branch else "")
    return f"""{method} sip:bob@example.com SIP/2.0
{via}
From: <sip:alice@example.com>;tag=a
To: <sip:bob@example.com>
Call-ID: {call_id}
CSeq: {cseq} {method}
{extra}Content-Length: 0"""


def response(
    status: int,
    reason: str,
    method: str,
    cseq: int,
    branch: str | None = "z9hG4bK1",
    call_id: str = "c1",
) -> str:
    via = "Via: SIP/2.0/UDP 192.0.2.1" + (f";branch={branch}" if branch else "")
    return f"""SIP/2.0 {status} {reason}
{via}
From: <sip:alice@example.com>;tag=a
To: <sip:bob@example.com>;tag=b
Call-ID: {call_id}
CSeq: {cseq} {method}
Content-Length: 0"""


def build(*messages: SipMessage):
    b = SessionBuilder()
    for m in messages:
        b.add(m)
    return b.sessions()


def test_register_challenge_flow() -> None:
    sessions = build(
        msg(request("REGISTER", 1, "z9hG4bKr1")),
        msg(response(401, "Unauthorized", "REGISTER", 1, "z9hG4bKr1"), B, A),
        msg(request("REGISTER", 2, "z9hG4bKr2")),
        msg(response(401, "Unauthorized", "REGISTER", 2, "z9hG4bKr2"), B, A),
        msg(request("REGISTER", 3, "z9hG4bKr3")),
        msg(response(200, "OK", "REGISTER", 3, "z9hG4bKr3"), B, A),
    )
    assert len(sessions) == 1
    s = sessions[0]
    assert s.kind == "registration"
    assert s.outcome == "REGISTER → 401, 401, 200"
    assert [t.final_status for t in s.transactions] == [401, 401, 200]


def test_retransmissions_are_counted_not_repeated() -> None:
    invite = request("INVITE", 1)
    ok = response(200, "OK", "INVITE", 1)
    s = build(msg(invite), msg(invite, t=0.5), msg(ok, B, A), msg(ok, B, A, t=1.0))[0]
    assert s.retransmissions == 2
    t = s.transactions[0]
    assert (t.request_retransmissions, t.response_retransmissions) == (1, 1)
    assert [r.status for r in t.responses] == [200]
    assert [m.retransmission for m in s.messages] == [False, True, False, True]


def test_same_request_from_another_hop_is_not_a_retransmission() -> None:
    s = build(
        msg(request("OPTIONS", 1)), msg(request("OPTIONS", 1), B, Endpoint("192.0.2.3", 5060))
    )[0]
    assert s.retransmissions == 0


def test_cancelled_invite() -> None:
    s = build(
        msg(request("INVITE", 1)),
        msg(response(180, "Ringing", "INVITE", 1), B, A),
        msg(request("CANCEL", 1)),
        msg(response(200, "OK", "CANCEL", 1), B, A),
        msg(response(487, "Request Terminated", "INVITE", 1), B, A),
    )[0]
    assert s.outcome == "INVITE → 487 after CANCEL"


def test_rfc2543_peers_without_branch_cookie() -> None:
    s = build(
        msg(request("OPTIONS", 7, branch=None)),
        msg(response(200, "OK", "OPTIONS", 7, branch=None), B, A),
        msg(request("OPTIONS", 8, branch="oldstyle")),
    )[0]
    assert [t.cseq for t in s.transactions] == [7, 8]
    assert s.transactions[0].final_status == 200
    assert s.transactions[1].outcome == "no response"


def test_response_without_request_makes_a_transaction() -> None:
    s = build(msg(response(183, "Session Progress", "INVITE", 3), B, A))[0]
    assert s.outcome == "INVITE → 183 (no final)"


def test_kinds() -> None:
    assert classify([msg(request("MESSAGE", 1))]) == "im"
    assert classify([msg(request("SUBSCRIBE", 1, extra="Event: presence\n"))]) == "presence"
    assert classify([msg(request("SUBSCRIBE", 1, extra="Event: dialog\n"))]) == "subscription"
    assert (
        classify([msg(request("BENOTIFY", 1, extra="Event: vnd-microsoft-roaming-self\n"))])
        == "presence"
    )
    assert classify([msg(request("NEGOTIATE", 1))]) == "negotiate"
    assert classify([msg(request("SERVICE", 1))]) == "service"
    assert classify([msg(request("OPTIONS", 1))]) == "options"
    assert classify([msg(request("REFER", 1))]) == "other"
    assert classify([msg(response(200, "OK", "INVITE", 1))]) == "other"
    im_invite = request(
        "INVITE", 1, extra="ms-text-format: text/plain; charset=UTF-8; ms-body=aGk=\n"
    )
    assert classify([msg(im_invite)]) == "im"
    assert classify([msg(request("INVITE", 1))]) == "call"


def test_sessions_keep_capture_order_and_times() -> None:
    sessions = build(
        msg(request("OPTIONS", 1, call_id="x"), t=1.0),
        msg(request("OPTIONS", 1, call_id="y"), t=2.0),
        msg(response(200, "OK", "OPTIONS", 1, call_id="x"), B, A, t=3.5),
    )
    assert [s.call_id for s in sessions] == ["x", "y"]
    assert sessions[0].duration == 2.5
    assert sessions[0].participants == ["sip:alice@example.com", "sip:bob@example.com"]
