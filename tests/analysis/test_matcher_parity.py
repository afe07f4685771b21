"""The transaction matcher and session kinds against the set-based matcher they replaced.

sessions.py keeps a session's request keys in a list until a transaction key repeats and reads
a response's To tag only when a kept response of its transaction could be the same one; the
oracle below is the earlier matcher (every key in a set, every response's To tag read, kinds by
a second walk), on generated sessions full of repeats, forks, odd branches, CSeq methods that
differ from the request's and broken To headers.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from lyncdump.analysis.sessions import SessionBuilder, classify
from lyncdump.model import Endpoint
from lyncdump.sip.message import SipMessage, parse_message

ENDS = [Endpoint("192.0.2.1", 5060), Endpoint("192.0.2.2", 5060), Endpoint("192.0.2.3", 5061)]
METHODS = ["INVITE", "ACK", "CANCEL", "BYE", "INFO", "SUBSCRIBE", "BENOTIFY", "MESSAGE"]
BRANCHES = ["z9hG4bK1", "z9hG4bK2", "old-branch", None]
TOS = ["<sip:bob@example.com>;tag=b", "<sip:bob@example.com>;tag=c", "<sip:bob@example.com>", "<>"]


def _txn(method: str, cseq: int, branch: str | None) -> dict[str, Any]:
    return {"method": method, "cseq": cseq, "branch": branch, "request": None, "responses": [],
            "req_rx": 0, "resp_rx": 0, "cancelled": False}  # fmt: skip


def _oracle(messages: list[SipMessage]) -> tuple[list[Any], int, list[bool], str]:
    """The earlier _TransactionMatcher and classify, verbatim in what they compute."""
    transactions: dict[tuple[Any, ...], dict[str, Any]] = {}
    order: list[dict[str, Any]] = []
    seen_requests: set[tuple[Any, ...]] = set()
    seen_responses: set[tuple[Any, ...]] = set()
    retransmissions = 0
    flags = []
    for m in messages:
        flag = False
        cseq = m.cseq
        if cseq is not None:
            num, cmethod = cseq
            branch = m.top_branch
            bkey = branch if branch and branch.startswith("z9hG4bK") else None
            key = (bkey, num, cmethod)
            txn = transactions.get(key)
            if m.is_request:
                method = m.method or cmethod
                if method == "CANCEL" and (bkey, num, "INVITE") in transactions:
                    transactions[(bkey, num, "INVITE")]["cancelled"] = True
                seen_key = (bkey, num, method, m.src, m.dst)
                if txn is not None and seen_key in seen_requests:
                    txn["req_rx"] += 1
                    retransmissions += 1
                    flag = True
                else:
                    seen_requests.add(seen_key)
                    if txn is None:
                        txn = _txn(method, num, branch)
                        transactions[key] = txn
                        order.append(txn)
                    if txn["request"] is None:
                        txn["request"] = m
            else:
                to = m.to
                tag = ((to.tag if to is not None else None) or "").encode()
                resp_key = (bkey, num, cmethod, m.status or 0, m.src, m.dst, tag)
                if txn is None:
                    txn = _txn(cmethod, num, branch)
                    transactions[key] = txn
                    order.append(txn)
                if resp_key in seen_responses:
                    txn["resp_rx"] += 1
                    retransmissions += 1
                    flag = True
                else:
                    seen_responses.add(resp_key)
                    txn["responses"].append(m)
        flags.append(flag)
    kind = classify(messages)
    return order, retransmissions, flags, kind


def _message(spec: tuple[Any, ...], frame: int) -> SipMessage:
    request, method, cseq_method, num, branch, status, to, src, dst = spec
    via = "Via: SIP/2.0/UDP 192.0.2.1" + (f";branch={branch}" if branch else "")
    start = f"{method} sip:bob@example.com SIP/2.0" if request else f"SIP/2.0 {status} X"
    text = (
        f"{start}\r\n{via}\r\nFrom: <sip:alice@example.com>;tag=a\r\nTo: {to}\r\n"
        f"Call-ID: c1\r\nCSeq: {num} {cseq_method}\r\nContent-Length: 0\r\n\r\n"
    )
    m = parse_message(text.encode(), datagram=True)
    m.src, m.dst, m.time, m.frame, m.first_frame = ENDS[src], ENDS[dst], frame / 10, frame, frame
    return m


_SPEC = st.tuples(
    st.booleans(),
    st.sampled_from(METHODS),
    st.sampled_from(METHODS),
    st.integers(1, 3),
    st.sampled_from(BRANCHES),
    st.sampled_from([100, 180, 200, 200, 401, 487]),
    st.sampled_from(TOS),
    st.integers(0, 2),
    st.integers(0, 2),
)


def _same_method(spec: tuple[Any, ...]) -> tuple[Any, ...]:
    """Mostly a CSeq method equal to the request's (what real peers send)."""
    request, method, cseq_method, *rest = spec
    return (request, method, method if request and hash(spec) % 4 else cseq_method, *rest)


@settings(max_examples=300, deadline=None)
@given(st.lists(_SPEC.map(_same_method), min_size=1, max_size=24))
def test_matcher_and_kind_match_the_set_based_matcher(specs: list[tuple[Any, ...]]) -> None:
    # Two copies of the same messages: accessors cache, and the oracle must not feed the matcher.
    ours = [_message(spec, i + 1) for i, spec in enumerate(specs)]
    theirs = [_message(spec, i + 1) for i, spec in enumerate(specs)]
    builder = SessionBuilder()
    for m in ours:
        builder.add(m)
    (session,) = builder.finish()
    order, retransmissions, flags, kind = _oracle(theirs)
    assert session.kind == kind
    assert session.retransmissions == retransmissions
    assert [m.retransmission for m in session.messages] == flags
    got = [
        (t.method, t.cseq, t.branch, t.request.frame if t.request else None,
         [r.frame for r in t.responses], t.request_retransmissions,
         t.response_retransmissions, t.cancelled)
        for t in session.transactions
    ]  # fmt: skip
    want = [
        (t["method"], t["cseq"], t["branch"], t["request"].frame if t["request"] else None,
         [r.frame for r in t["responses"]], t["req_rx"], t["resp_rx"], t["cancelled"])
        for t in order
    ]  # fmt: skip
    assert got == want
    # The defects reading found, in the same order (the To of responses first, then From/To).
    for m in ours:
        m.note_address_defects()
    for m in theirs:
        m.from_  # noqa: B018
        m.to  # noqa: B018
    assert [m.defects for m in ours] == [m.defects for m in theirs]


def test_forked_answers_with_the_same_status_are_told_apart_by_their_to_tag() -> None:
    spec = (False, "INVITE", "INVITE", 1, "z9hG4bK1", 200, TOS[0], 1, 0)
    forked = (False, "INVITE", "INVITE", 1, "z9hG4bK1", 200, TOS[1], 1, 0)
    invite = (True, "INVITE", "INVITE", 1, "z9hG4bK1", 0, TOS[2], 0, 1)
    messages = [_message(s, i + 1) for i, s in enumerate([invite, spec, forked, spec])]
    builder = SessionBuilder()
    for m in messages:
        builder.add(m)
    (session,) = builder.finish()
    (txn,) = session.transactions
    assert [r.frame for r in txn.responses] == [2, 3]
    assert txn.response_retransmissions == 1
    assert [m.retransmission for m in session.messages] == [False, False, False, True]
