"""The compiled transaction matcher (``_fastpath.sip_match``) against ``_match_python``.

Both run on two copies of the same parsed messages: generated sessions with every method the
matcher treats apart (INVITE, CANCEL, ACK, BYE, BENOTIFY ...), responses with and without
their request, repeats from the same and swapped endpoints, forked answers told apart by To
tag, branches with and without the magic cookie, and missing or malformed CSeq, Via and To.
Some messages have a header read before matching (the slots the compiled code looks at are
then filled). Everything must agree: the transactions field by field (request and responses
as the same messages), the counts, each message's flag, the kind, and the defects each
message noted, in order (reading CSeq, Via and To notes them the first time).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lyncdump.analysis import sessions
from lyncdump.analysis.sessions import Session, Transaction
from lyncdump.model import Endpoint
from lyncdump.sip.message import _UNSET, SipMessage, parse_message

pytestmark = pytest.mark.skipif(
    sessions._sip_match is None, reason="the compiled fast path is not in use"
)

ENDS = [Endpoint("192.0.2.1", 5060), Endpoint("192.0.2.2", 5060), Endpoint("192.0.2.3", 5061)]
METHODS = [
    "INVITE", "ACK", "CANCEL", "BYE", "BENOTIFY", "INFO", "SUBSCRIBE", "NOTIFY", "MESSAGE",
    "REGISTER", "OPTIONS",
]  # fmt: skip
VIAS = [
    "Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1",
    "Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK2",
    "Via: SIP/2.0/TLS 192.0.2.1:5061;branch=z9hG4bK1;received=192.0.2.9",
    "Via: SIP/2.0/UDP 192.0.2.1;branch=old-branch",
    "Via: SIP/2.0/UDP 192.0.2.1",
    "Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1, SIP/2.0/UDP 192.0.2.7;branch=z9hG4bKx",
    "v: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK2",
    "Via: garbage",
    "Via: SIP/2.0/UDP 192.0.2.1;branch=",
    'Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1;x="a,b"',
    "",
]
TOS = [
    "To: <sip:bob@example.com>;tag=b",
    "To: <sip:bob@example.com>;tag=c",
    "To: <sip:bob@example.com>",
    "To: <>",
    "To: <sip:bob@example.com;tag=b",
    "t: <sip:bob@example.com>;tag=b",
    "To: sip:bob@example.com;tag=",
    "",
]
CSEQS = ["{num} {method}", "{num} INVITE", "{num}", "x{num} {method}", "99999999999 {method}", ""]
STATUSES = [100, 180, 200, 200, 202, 401, 487, 500]


def _text(spec: tuple[Any, ...]) -> bytes:
    request, method, num, via, to, cseq, status, _src, _dst, _read = spec
    start = f"{method} sip:bob@example.com SIP/2.0" if request else f"SIP/2.0 {status} X"
    lines = [start]
    if VIAS[via]:
        lines.append(VIAS[via])
    lines.append("From: <sip:alice@example.com>;tag=a")
    if TOS[to]:
        lines.append(TOS[to])
    lines.append("Call-ID: c1")
    if CSEQS[cseq]:
        lines.append("CSeq: " + CSEQS[cseq].format(num=num, method=method))
    lines.append("Content-Length: 0")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def _message(spec: tuple[Any, ...], frame: int) -> SipMessage:
    src, dst, read = spec[7], spec[8], spec[9]
    m = parse_message(_text(spec), datagram=True)
    m.src, m.dst, m.time, m.frame, m.first_frame = ENDS[src], ENDS[dst], frame / 10, frame, frame
    # Headers read before matching (what a consumer of the message may have done).
    if read & 1:
        m.cseq  # noqa: B018
    if read & 2:
        m.via  # noqa: B018
    if read & 4:
        m.to  # noqa: B018
    if read & 8:
        m.note_address_defects()
    return m


_SPEC = st.tuples(
    st.booleans(),
    st.sampled_from(METHODS),
    st.integers(1, 3),
    st.integers(0, len(VIAS) - 1).map(lambda i: i if i < 7 or i % 2 else 0),
    st.integers(0, len(TOS) - 1),
    st.sampled_from([0, 0, 0, 0, 1, 2, 3, 4, 5]),
    st.sampled_from(STATUSES),
    st.integers(0, 2),
    st.integers(0, 2),
    st.sampled_from([0, 0, 0, 1, 2, 4, 8, 15]),
)


@st.composite
def _sessions(draw: st.DrawFn) -> list[tuple[Any, ...]]:
    """Specs with repeats: a later entry may copy an earlier one, its endpoints swapped or not,
    its To changed (a forked answer) or not."""
    specs = draw(st.lists(_SPEC, min_size=1, max_size=20))
    for _ in range(draw(st.integers(0, 10))):
        spec = list(specs[draw(st.integers(0, len(specs) - 1))])
        how = draw(st.integers(0, 3))
        if how == 1:
            spec[7], spec[8] = spec[8], spec[7]
        elif how == 2:
            spec[4] = draw(st.integers(0, len(TOS) - 1))
        specs.insert(draw(st.integers(0, len(specs))), tuple(spec))
    return specs


def _view(session: Session, kind: str) -> tuple[Any, ...]:
    index = {id(m): i for i, m in enumerate(session.messages)}
    transactions = [
        (t.method, t.cseq, t.branch, index[id(t.request)] if t.request is not None else None,
         [index[id(r)] for r in t.responses], t.request_retransmissions,
         t.response_retransmissions, t.cancelled, type(t.responses))
        for t in session.transactions
    ]  # fmt: skip
    flags = [m.retransmission for m in session.messages]
    defects = [m.take_new_defects() for m in session.messages]
    return kind, session.retransmissions, transactions, flags, defects


def _both(specs: list[tuple[Any, ...]], compiled: Any) -> None:
    ours = [_message(spec, i + 1) for i, spec in enumerate(specs)]
    theirs = [_message(spec, i + 1) for i, spec in enumerate(specs)]
    for m in ours + theirs:
        m.take_new_defects()  # the parse-time ones: the same on both sides
    a, b = Session("c1", ours), Session("c1", theirs)
    got = _view(a, compiled(a, ours))
    want = _view(b, sessions._match_python(b, theirs))
    assert got == want
    # Reading the rest afterwards notes the same, in the same order.
    for m in ours + theirs:
        m.from_  # noqa: B018
        m.to  # noqa: B018
        m.via  # noqa: B018
    assert [m.take_new_defects() for m in ours] == [m.take_new_defects() for m in theirs]


@settings(max_examples=400, deadline=None)
@given(_sessions())
def test_compiled_match_is_the_python_match(specs: list[tuple[Any, ...]]) -> None:
    _both(specs, sessions._match)


@dataclass(slots=True)
class _CountedTransaction(Transaction):
    """A Transaction class the compiled code cannot fill itself (__post_init__): it calls it."""

    def __post_init__(self) -> None:
        pass


class _Other:
    """A message class without SipMessage's slots: every field is read by name."""


def _generic(session: Session, messages: list[SipMessage]) -> str:
    first, invite = sessions._sip_match(session, messages, _CountedTransaction, _Other, _UNSET)
    return sessions._kind(first, invite)


@settings(max_examples=100, deadline=None)
@given(_sessions())
def test_compiled_match_by_name_is_the_python_match(specs: list[tuple[Any, ...]]) -> None:
    """The same results with the slots read by name and Transaction called (the classes the
    compiled code was set up for change between calls, and back)."""
    _both(specs, _generic)
    _both(specs, sessions._match)


def test_retransmitted_request_and_forked_responses() -> None:
    invite = (True, "INVITE", 1, 0, 2, 0, 0, 0, 1, 0)
    ok_b = (False, "INVITE", 1, 0, 0, 0, 200, 1, 0, 0)
    ok_c = (False, "INVITE", 1, 0, 1, 0, 200, 1, 0, 0)
    cancel = (True, "CANCEL", 1, 0, 2, 0, 0, 0, 1, 0)
    specs = [invite, invite, ok_b, ok_c, ok_b, cancel]
    messages = [_message(s, i + 1) for i, s in enumerate(specs)]
    session = Session("c1", messages)
    assert sessions._match(session, messages) == "call"
    txn, cancel_txn = session.transactions
    assert txn.request is messages[0] and txn.responses == [messages[2], messages[3]]
    assert (txn.request_retransmissions, txn.response_retransmissions) == (1, 1)
    assert txn.cancelled and cancel_txn.method == "CANCEL" and cancel_txn.request is messages[5]
    assert session.retransmissions == 2
    assert [m.retransmission for m in messages] == [False, True, False, False, True, False]
    _both(specs, sessions._match)


def test_bad_arguments_raise() -> None:
    with pytest.raises(TypeError):
        sessions._sip_match(Session("c1"), [], Transaction, SipMessage)
    with pytest.raises(TypeError):
        sessions._sip_match(Session("c1"), 5, Transaction, SipMessage, _UNSET)
