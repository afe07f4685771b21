"""The clear NEGOTIATE exchange read in one compiled call gives exactly what the framer and the
tracker give.

A connection that compresses opens with NEGOTIATE and its answer in clear SIP. When such a
message is the whole of a segment and in the plain shape, ``sip_negotiate_chunk`` (_fastpath.c)
frames it and reads the three headers the tracker needs; the connection delivers it and feeds
``NegotiationTracker.on_fields`` without the Python framer and header scan
(pipeline/connection.py ``_negotiate_whole``). Anything else is refused and takes the framer as
before. These tests hold the helper's answer to Python's reading of the same bytes, check the
shapes it refuses, and decode NEGOTIATE exchanges of every kind (refused, answered with an
error or without LZ77-8K, retransmitted, provisional first, cut across segments, sharing a
segment, compressed bytes before the answer or without any NEGOTIATE) with and without the
compiled path. ``sip_negotiate_deliver`` also makes and delivers such a message in C when
``sip_make`` takes it (its takes, declines and refusals are checked), and a compressed
direction's decoder is put off until Python reads the direction (how many are made, and a
put-off one resumed after the fast path's hand-back as one made before it).
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest
from hostile import negotiate_exchange, sip
from hypothesis import given, settings
from hypothesis import strategies as st
from pcapgen import Builder

from lyncdump import fastpath
from lyncdump.errors import MalformedError
from lyncdump.pipeline import connection, core
from lyncdump.sip.framing import SipStreamFramer
from lyncdump.sip.message import parse_message
from lyncdump.sipcomp.budget import CAPTURE_ALLOWANCE, PACKET_CHARGE, DecompressionBudget
from lyncdump.sipcomp.stream import SipcompStreamEncoder, _negotiation_fields

from ..sipcomp.sipcomp_samples import sip_message
from .test_sip_tcp_fastpath import compare
from .test_sipcomp_fastpath import _owned_sipcomp, _Pipe, _send

needs_compiled = pytest.mark.skipif(
    not fastpath.AVAILABLE, reason="compiled fast path not in use (" + fastpath.describe() + ")"
)
pytestmark = needs_compiled

MAX = 65_535


def chunk(data: bytes, max_message: int = MAX) -> Any:
    helper = fastpath.helper("sip_negotiate_chunk")
    assert helper is not None
    return helper(data, max_message)


def python_reading(data: bytes) -> Any:
    """What the framer and the tracker make of ``data`` as one segment: None when the framer
    does not frame it as one whole message; else (header_end, length, fields), fields being
    what the tracker reads (Call-ID, CSeq number, offers) of a NEGOTIATE request or an answer
    whose CSeq names NEGOTIATE, "other" for another message, None when it does not parse (the
    connection reports it and the tracker never sees it)."""
    framer = SipStreamFramer(max_message=MAX)
    framer.receive_data(data, 1, 0.0)
    framed = framer.next_message()
    if framed is None or framer.defects or framer.next_message() is not None:
        return None
    if len(framed.data) != len(data) or framer.buffered:
        return None
    head = (framed.header_end, framed.content_length)
    try:
        msg = parse_message(
            framed.data, header_end=framed.header_end, content_length=framed.content_length
        )
    except MalformedError:
        return (*head, None)
    if msg.method is None:
        cseq = msg.cseq
        if cseq is None or cseq[1].upper() != "NEGOTIATE":
            return (*head, "other")
    elif msg.method.upper() != "NEGOTIATE":
        return (*head, "other")
    cseq_text, call_id, offers = _negotiation_fields(msg.headers_starting("cCiI"))
    return (*head, (call_id.strip(), cseq_text.strip().split(" ", 1)[0], offers))


def same_reading(data: bytes) -> Any:
    """The helper's answer for ``data``, asserted to be the framer's and the tracker's reading
    when it gives one (fields only where the message parses: otherwise neither reads them)."""
    found = chunk(data)
    if found is not None:
        reading = python_reading(data)
        assert reading is not None, "the framer frames it otherwise"
        assert found[:2] == reading[:2]
        assert reading[2] is None or found[2:] == reading[2]
    return found


REQUEST, ANSWER = negotiate_exchange()


def test_the_plain_exchange_is_read_as_python_reads_it() -> None:
    for data in (REQUEST, ANSWER):
        found = same_reading(data)
        assert found is not None
        assert python_reading(data)[2] == found[2:] == ("neg-1", "1", True)


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (b"NEGOTIATE sip:", b"OPTIONS sip:"),  # not NEGOTIATE
        (b"CSeq: 1 NEGOTIATE", b"CSeq: 1 OPTIONS"),  # an answer to something else
        (b"CSeq: 1 NEGOTIATE", b"CSeq: 1  NEGOTIATE"),  # CSeq not in the plain shape
        (b"CSeq: 1 NEGOTIATE", b"CSeq: 1234567890 NEGOTIATE"),
        (b"CSeq: 1 NEGOTIATE", b"CSeq: 1 NEGOTIATE\r\nCSeq: 2 NEGOTIATE"),  # twice
        (b"Call-ID: neg-1", b"Call-ID: neg-1\r\ni: neg-2"),  # two Call-IDs
        (b"Call-ID: neg-1\r\n", b""),  # none
        (b"Call-ID: neg-1", b"Call-ID: neg\x01-1"),  # a control byte
        (b"Call-ID: neg-1", "Call-ID: n\u00e9g-1".encode()),  # not ASCII
        (b"Compression: LZ77-8K", b"Compression: LZ77-8K\r\nCompression: None"),
        (b"Compression: LZ77-8K", b"Compression: LZ77-8K\r\n continued"),  # folding
        (b"Compression: LZ77-8K\r\n", b"Compression: LZ77-8K\n"),  # a bare LF
        (b"Content-Length: 0", b"Content-Length: 5"),  # the body is not all there
        (b"Content-Length: 0", b"l: 0"),  # not the plain Content-Length
    ],
)
def test_shapes_refused(old: bytes, new: bytes) -> None:
    for data in (REQUEST, ANSWER):
        if old in data:
            assert chunk(data.replace(old, new, 1)) is None


def test_whole_single_messages_only() -> None:
    assert chunk(REQUEST + REQUEST) is None  # two
    assert chunk(REQUEST + b"\r\n") is None  # a keep-alive after it
    assert chunk(b"\r\n" + REQUEST) is None  # one before it
    assert chunk(REQUEST[:-3]) is None  # not all there
    assert chunk(REQUEST + sip_message(random.Random(1))) is None
    assert chunk(REQUEST, max_message=len(REQUEST) - 1) is None  # past the bound
    assert chunk(REQUEST, max_message=len(REQUEST)) is not None
    assert chunk(b"") is None


def test_every_prefix_is_refused_and_every_byte_changed_read_as_python_reads_it() -> None:
    for data in (REQUEST, ANSWER):
        for end in range(len(data)):
            assert chunk(data[:end]) is None
        for at in range(len(data)):
            for byte in (0, 9, 10, 13, 32, 58, 0x7F, 0xC3):
                changed = data[:at] + bytes([byte]) + data[at + 1 :]
                same_reading(changed)


def test_compact_call_id_and_odd_case_are_read() -> None:
    data = (
        REQUEST.replace(b"Call-ID: neg-1", b"i:   neg-7 \t")
        .replace(b"NEGOTIATE sip", b"negotiate sip")
        .replace(b"CSeq: 1 NEGOTIATE", b"cseq :42 Negotiate")
        .replace(b"Compression: LZ77-8K", b"COMPRESSION: None, lz77-8k ;x=1")
    )
    found = same_reading(data)
    assert found is not None and python_reading(data)[2] == found[2:] == ("neg-7", "42", True)


# -- generated messages: whenever the helper answers, it is Python's answer ----------------------

_NAMES = {
    "cseq": ["CSeq", "cseq", "CSEQ", "CSeq ", "CSeq\t"],
    "call-id": ["Call-ID", "call-id", "i", "I", "Call-Id "],
    "compression": ["Compression", "compression", "COMPRESSION "],
}
_VALUES = {
    "cseq": [
        "1 NEGOTIATE", "7 negotiate", " 12 NEGOTIATE ", "1  NEGOTIATE", "1\tNEGOTIATE",
        "1 INVITE", "123456789 NEGOTIATE", "1234567890 NEGOTIATE", "x NEGOTIATE", "1", "",
        "1 NEGOTIATEX",
    ],
    "call-id": ["neg-1", " neg-1 ", "a b", "neg-1\x0b", "\u00e9", "", "x@y"],
    "compression": [
        "LZ77-8K", "lz77-8k", "None", "LZ77-8K;q=1", "None, LZ77-8K", " LZ77-8K ,None",
        "LZ77-8Kx", "", ";LZ77-8K", "LZ77-8K\t", "LZ77-8K\u00e9",
    ],
}  # fmt: skip
_OTHER = [
    "Via: SIP/2.0/TCP 10.0.0.1:50000;branch=z9hG4bKneg",
    "From: <sip:pool.contoso.com>;tag=n1",
    "To: <sip:pool.contoso.com>",
    "Max-Forwards: 70",
    "Contact: \u00e9tienne <sip:e@x>",
    "Content-Type: text/plain",
    "X:",
    "Cx: y",
    "Id: z",
]


@st.composite
def negotiation_messages(draw: st.DrawFn) -> bytes:
    if draw(st.booleans()):
        method = draw(st.sampled_from(["NEGOTIATE", "NEGOTIATE", "negotiate", "OPTIONS"]))
        start = f"{method} sip:pool.contoso.com SIP/2.0"
    else:
        status = draw(st.sampled_from([100, 180, 200, 202, 400, 488, 500, 606]))
        start = f"SIP/2.0 {status} Whatever"
    lines = [start]
    headers: list[str] = []
    for key in ("cseq", "call-id", "compression"):
        for _ in range(draw(st.sampled_from([0, 1, 1, 1, 1, 1, 1, 2]))):
            name = draw(st.sampled_from(_NAMES[key]))
            values = _VALUES[key]
            value = draw(st.sampled_from(values if draw(st.integers(0, 2)) == 0 else values[:2]))
            headers.append(f"{name}:{draw(st.sampled_from(['', ' ', '  ', chr(9)]))}{value}")
    headers += draw(st.lists(st.sampled_from(_OTHER), max_size=4))
    lines += draw(st.permutations(headers))
    body = draw(st.sampled_from(["", "", "hello", "a\r\nb"]))
    length = len(body.encode())
    if draw(st.integers(0, 9)) == 0:
        length += draw(st.sampled_from([-1, 1]))
    lines.append(f"Content-Length: {length}")
    eol = "\n" if draw(st.integers(0, 9)) == 0 else "\r\n"
    data = (eol.join(lines) + eol + eol + body).encode()
    return data + draw(st.sampled_from([b"", b"", b"", b"\r\n", b"OPTIONS"]))


@settings(max_examples=400, deadline=None)
@given(data=negotiation_messages())
def test_generated_messages_are_read_as_python_reads_them(data: bytes) -> None:
    same_reading(data)


def test_generated_messages_are_mostly_taken() -> None:
    """(The generator above is not so odd that the helper refuses everything.)"""
    assert chunk(sip("NEGOTIATE sip:a SIP/2.0\nCSeq: 3 NEGOTIATE\ni: q\n\n")) is not None


# -- whole connections, with and without the compiled path -----------------------------------


def _answer(status: str = "200 OK", compression: str = "LZ77-8K", call_id: str = "neg-1") -> bytes:
    return sip(
        f"SIP/2.0 {status}\nVia: SIP/2.0/TCP 10.0.0.1:50000;branch=z9hG4bKneg\n"
        "From: <sip:pool.contoso.com>;tag=n1\nTo: <sip:pool.contoso.com>;tag=n2\n"
        f"Call-ID: {call_id}\nCSeq: 1 NEGOTIATE\nCompression: {compression}\n\n"
    )


def _packets(seed: int, count: int = 4) -> bytes:
    rng = random.Random(seed)
    enc = SipcompStreamEncoder()
    return b"".join(enc.encode(sip_message(rng)) for _ in range(count))


def _clear(seed: int) -> bytes:
    return sip_message(random.Random(seed))


def _answer_without_from() -> bytes:
    return b"".join(line for line in ANSWER.splitlines(True) if not line.startswith(b"From:"))


#: In the plain shape for sip_negotiate_chunk, but not a message the compiled path makes
#: (no Via): Python parses it (and reports what it lacks), as before.
_NO_VIA = b"".join(line for line in REQUEST.splitlines(True) if not line.startswith(b"Via:"))
#: A NEGOTIATE that offers nothing (MS-CONMGMT's keep-alive negotiation): the tracker ignores it.
_NO_OFFER = b"".join(
    line for line in REQUEST.splitlines(True) if not line.startswith(b"Compression:")
)
_ANSWER_BODY = ANSWER.replace(b"Content-Length: 0", b"Content-Length: 4") + b"abcd"


# Each case: the segments of one connection as (direction, bytes, cuts[, order]).
CASES: dict[str, list[tuple[Any, ...]]] = {
    "plain": [(0, REQUEST, []), (1, ANSWER, []), (0, _packets(1), []), (1, _packets(2), [])],
    "error answer": [(0, REQUEST, []), (1, _answer("488 Not Acceptable Here"), []),
                     (0, _clear(3), []), (1, _clear(4), [])],
    "answer without LZ77-8K": [(0, REQUEST, []), (1, _answer(compression="None"), []),
                               (0, _clear(5), []), (1, _clear(6), [])],
    "unknown compression offered": [
        (0, REQUEST.replace(b"LZ77-8K", b"LZ99-64K"), []), (1, _answer(compression="LZ99-64K"), []),
        (0, _clear(7), []), (1, _packets(8), []),
    ],
    "provisional first": [(0, REQUEST, []), (1, _answer("100 Trying"), []), (1, ANSWER, []),
                          (0, _packets(9), []), (1, _packets(10), [])],
    "retransmitted": [(0, REQUEST, []), (0, REQUEST, []), (1, ANSWER, []), (1, ANSWER, []),
                      (0, _packets(11), []), (1, _packets(12), [])],
    "another Call-ID answered": [(0, REQUEST, []), (1, _answer(call_id="neg-2"), []),
                                 (0, _clear(13), []), (1, _packets(14), [])],
    "cut across segments": [(0, REQUEST, [17, 100]), (1, ANSWER, [200]),
                            (0, _packets(15), []), (1, _packets(16), [])],
    "sharing a segment": [(0, _clear(17) + REQUEST, []), (1, ANSWER + _packets(18), []),
                          (0, _packets(19), [])],
    "answered from the server side": [(1, REQUEST, []), (0, ANSWER, []),
                                      (1, _packets(20), []), (0, _packets(21), [])],
    "compressed before the answer": [(0, REQUEST, []), (0, _packets(22), []), (1, ANSWER, []),
                                     (1, _packets(23), [])],
    "compressed without NEGOTIATE": [(0, _packets(24, 12), []), (1, _packets(25, 12), [])],
    "answer without NEGOTIATE": [(1, ANSWER, []), (0, _clear(26), []), (1, _packets(27), [])],
    "data on both sides": [(0, REQUEST, []), (1, ANSWER, []), (0, _packets(28), [50]),
                           (1, _packets(29), [7]), (0, _packets(30), []), (1, REQUEST, [])],
    "negotiate again once compressed": [(0, REQUEST, []), (1, ANSWER, []), (0, REQUEST, []),
                                        (1, ANSWER, [])],
    # (session 31, sip_negotiate_deliver: the message made and delivered in C)
    "answer cut in the status line": [(0, REQUEST, []), (1, ANSWER, [5]), (0, _packets(31), []),
                                      (1, _packets(32), [])],
    "two answers in one segment": [(0, REQUEST, []), (1, ANSWER + ANSWER, []),
                                   (0, _packets(33), []), (1, _packets(34), [])],
    "request and its retransmission in one segment": [(0, REQUEST + REQUEST, []), (1, ANSWER, []),
                                                      (0, _packets(35), [])],
    "no answer": [(0, REQUEST, [])],
    "request without Via": [(0, _NO_VIA, []), (1, ANSWER, []), (0, _packets(36), []),
                            (1, _packets(37), [])],
    "answer without From": [(0, REQUEST, []), (1, _answer_without_from(), []),
                            (0, _packets(38), []), (1, _packets(39), [])],
    "answer with a body": [(0, REQUEST, []), (1, _ANSWER_BODY, []), (0, _packets(40), []),
                           (1, _packets(41), [])],
    "error answer then a new NEGOTIATE": [(0, REQUEST, []), (1, _answer("500 Server Error"), []),
                                          (0, REQUEST, []), (1, ANSWER, []),
                                          (0, _packets(42), []), (1, _packets(43), [])],
    # (the decoder put off while the fast path reads the direction)
    "a segment lost at the end": [(0, REQUEST, []), (1, ANSWER, []),
                                  (0, _packets(44, 6), [90, 200], [0, 2]), (1, _packets(45), [])],
    "segments out of order": [(0, REQUEST, []), (1, ANSWER, []),
                              (0, _packets(46, 6), [90, 200], [0, 2, 1]), (1, _packets(47), [])],
    "answer only, nothing compressed": [(0, REQUEST, []), (1, ANSWER, [])],
    # (session 32: the answer's first segment read raw is taken by _answer)
    "the server offers too, the client answers it": [
        (0, REQUEST, []), (1, REQUEST.replace(b"neg-1", b"neg-9"), []),
        (0, _answer(call_id="neg-9"), []), (0, _packets(53), []), (1, _packets(54), []),
    ],
    "answer not SIP": [(0, REQUEST, []), (1, bytes(range(40, 120)), []), (0, _clear(55), [])],
    "answer in TLS records": [(0, REQUEST, []), (1, b"\x16\x03\x01\x00\x04abcd", []),
                              (0, _clear(56), [])],
    "compressed answer holding SIP/2.0": [(0, REQUEST, []), (1, _packets(57) + b"SIP/2.0", []),
                                          (0, _packets(58), []), (1, _packets(59), [])],
    "compressed answer, then the 200 OK": [(0, REQUEST, []), (1, _packets(60), []),
                                           (1, ANSWER, []), (0, _packets(61), [])],
    # (session 32b: the opening NEGOTIATE taken by _negotiate_first, or refused by it)
    "NEGOTIATE without an offer": [(0, _NO_OFFER, []), (1, _answer(compression="None"), []),
                                   (0, _clear(62), []), (1, _clear(63), [])],
    "NEGOTIATE and a clear message in one segment": [(0, REQUEST + _clear(64), []),
                                                     (1, ANSWER, []), (1, _clear(65), [])],
    "NEGOTIATE without Via from the server side": [(1, _NO_VIA, []), (0, ANSWER, []),
                                                   (1, _packets(66), []), (0, _packets(67), [])],
    "NEGOTIATE as the server's first bytes after clear SIP": [
        (0, _clear(68), []), (1, REQUEST, []), (0, ANSWER, []), (1, _packets(69), []),
    ],
    "negotiate in lower case": [(0, REQUEST.replace(b"NEGOTIATE sip", b"negotiate sip"), []),
                                (1, ANSWER, []), (0, _packets(70), [])],
    # (the client's framer holds half a clear message when the answer switches it: its decoder
    # is fed that half, and the fast path is given the direction without a decoder's hand)
    "half a clear message before the answer": [(0, REQUEST, []), (0, _clear(71)[:40], []),
                                               (1, ANSWER, []), (0, _packets(72), []),
                                               (1, _packets(73), [])],
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("close", [False, True])
def test_negotiate_exchanges_decode_the_same(
    case: str, close: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    b = Builder()
    flow = b.tcp(("10.1.0.1", 40_000), ("10.0.0.10", 5061))
    flow.handshake(0.0)
    at = 0.1
    for direction, data, cuts, *order in CASES[case]:
        flow.send(at, direction, data, cuts=cuts, order=order[0] if order else None)
        at += 0.1
    if close:
        flow.close(at + 1.0)
    path = tmp_path / "neg.pcap"
    b.write(str(path))
    compare(path, monkeypatch)


def test_the_plain_exchange_takes_the_helper(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both messages of a plain exchange are read by the helper, not the framer (without
    ``sip_negotiate_deliver``, by ``sip_negotiate_chunk`` and delivered by Python)."""
    calls: list[Any] = []
    real = connection._negotiate_chunk

    def spy(data: bytes, max_message: int) -> Any:
        found = real(data, max_message)
        calls.append(found)
        return found

    monkeypatch.setattr(connection, "_negotiate_chunk", spy)
    monkeypatch.setattr(connection, "_negotiate_deliver", None)
    b = Builder()
    flow = b.tcp(("10.1.0.1", 40_000), ("10.0.0.10", 5061))
    flow.handshake(0.0)
    for n, (direction, data, cuts, *_) in enumerate(CASES["plain"]):
        flow.send(0.1 * (n + 1), direction, data, cuts=cuts)
    path = tmp_path / "plain.pcap"
    b.write(str(path))
    from lyncdump.api import Capture, Options

    messages = list(Capture(path, Options()).messages())
    assert len(calls) == 2 and all(found is not None for found in calls)
    assert [m.method for m in messages[:2]] == ["NEGOTIATE", None]
    assert all(m.compressed for m in messages[2:]) and len(messages) == 10


# -- the compiled budget mirror reads a budget's counters from its slots -------------------------


class _PropertyBudget(DecompressionBudget):
    """A capture budget whose allowance is a property: the compiled mirror reads that one by
    name (and the others from the slots its class inherits)."""

    __slots__ = ("_allow",)

    @property  # type: ignore[override]
    def allowance(self) -> int:
        return self._allow

    @allowance.setter
    def allowance(self, value: int) -> None:
        self._allow = value


@pytest.mark.parametrize("cls", [DecompressionBudget, _PropertyBudget])
def test_compiled_budget_reads_the_counters_by_slot_or_by_name(cls: type) -> None:
    """The capture's allowance lets packets 0..5 through, packet 5 exactly at the limit; a
    Python draw after packet 2 makes the mirrors read the counters again. Whether the mirror
    reads them from the slots or by name, the fast path gives the direction back at packet 6
    with the same counts."""
    fast = fastpath.compiled().FastPath(0)
    top = cls(CAPTURE_ALLOWANCE, 1)
    conn = top.connection(CAPTURE_ALLOWANCE)
    pipe = _Pipe(conn)
    flow, packets = _owned_sipcomp(fast, pipe, 40_000)
    costs = [max(plain, PACKET_CHARGE) - payload for _, payload, plain in packets]
    top.allowance = sum(costs[:6])
    for n, (wire, _, _) in enumerate(packets):
        _send(fast, flow, wire, n + 2)
        if n == 2:
            assert top.draw(0, 0, keepalive=True) is None  # (charges nothing)
        if pipe.reclaimed:
            break
    assert len(pipe.delivered) == 6 and len(pipe.reclaimed) == 1
    assert conn.wire == top.wire == sum(p[1] for p in packets[:6])
    assert conn.plain == top.plain == sum(max(p[2], PACKET_CHARGE) for p in packets[:6])


# -- the NEGOTIATE exchange's messages made and delivered in C (sip_negotiate_deliver) -------


def _deliver_spy(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    calls: list[Any] = []
    real = connection._negotiate_deliver
    assert real is not None

    def spy(*args: Any) -> Any:
        made = real(*args)
        calls.append(made if made is None or made is False else made[1:])
        return made

    monkeypatch.setattr(connection, "_negotiate_deliver", spy)
    return calls


def _messages(case: str, tmp_path: Path) -> list[Any]:
    b = Builder()
    flow = b.tcp(("10.1.0.1", 40_000), ("10.0.0.10", 5061))
    flow.handshake(0.0)
    for n, (direction, data, cuts, *order) in enumerate(CASES[case]):
        flow.send(0.1 * (n + 1), direction, data, cuts=cuts, order=order[0] if order else None)
    path = tmp_path / "neg.pcap"
    b.write(str(path))
    from lyncdump.api import Capture, Options

    return list(Capture(path, Options()).messages())


def test_the_plain_exchange_is_made_in_c(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Both messages of a plain exchange are made and delivered by sip_negotiate_deliver, and
    the tracker still switches both directions."""
    calls = _deliver_spy(monkeypatch)
    messages = _messages("plain", tmp_path)
    assert calls == [("neg-1", "1", True), ("neg-1", "1", True)]
    assert [m.method for m in messages[:2]] == ["NEGOTIATE", None]
    assert messages[1].status == 200 and messages[1].frame == messages[1].first_frame
    assert all(m.compressed for m in messages[2:]) and len(messages) == 10


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("request without Via", [False, ("neg-1", "1", True)]),  # Python parses the request
        ("answer without From", [("neg-1", "1", True), False]),
        ("answer with a body", [("neg-1", "1", True), ("neg-1", "1", True)]),
        ("two answers in one segment", [("neg-1", "1", True), None]),  # the framer's
        # the answer's first part asked once (_answer), then sniffed, then framed
        ("answer cut in the status line", [("neg-1", "1", True), None]),
        # the opening segment asked by _negotiate_first, refused, then by data()'s path again
        ("NEGOTIATE and a clear message in one segment", [None, None, ("neg-1", "1", True)]),
        ("NEGOTIATE without Via from the server side", [False, ("neg-1", "1", True)]),
        ("negotiate in lower case", [False, ("neg-1", "1", True)]),  # (data()'s path only)
    ],
)
def test_what_the_compiled_delivery_takes_and_refuses(
    case: str, expected: list[Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = _deliver_spy(monkeypatch)
    _messages(case, tmp_path)
    assert calls == expected


@pytest.mark.parametrize(
    ("case", "sniffed"),
    [
        # the routine NEGOTIATE and 200 OK: set up by _negotiate_first and _answer, not sniffed
        ("plain", []),
        ("provisional first", []),
        ("answer without From", []),  # (parsed by Python, as _negotiate_whole would)
        ("request without Via", []),  # (the same, for the opening NEGOTIATE)
        ("answered from the server side", []),
        ("the server offers too, the client answers it", []),
        ("two answers in one segment", [1]),  # not one whole message: as data() takes it
        ("answer not SIP", [1]),
        ("compressed answer holding SIP/2.0", [1]),
        # the opening segment not one whole NEGOTIATE (or not its first): data() sniffs it
        ("NEGOTIATE and a clear message in one segment", [0]),
        ("request and its retransmission in one segment", [0]),
        ("cut across segments", [0, 0, 1]),
        ("negotiate in lower case", [0]),
        ("NEGOTIATE without an offer", [1]),  # (no offer: the answer takes data()'s path)
        # (the server's direction was taken by the fast path before its first byte)
        ("NEGOTIATE as the server's first bytes after clear SIP", [0, 1]),
    ],
)
def test_the_answer_read_raw_is_sniffed_only_when_unusual(
    case: str, sniffed: list[int], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Which directions are sniffed: the routine opening NEGOTIATE (a quiet direction's first
    segment, no exchange yet) and the 200 OK read raw are set up without the sniff."""
    seen: list[int] = []
    real = connection.TcpConnectionPipeline._sniff

    def spy(self: Any, direction: int, *args: Any) -> bool:
        seen.append(direction)
        return real(self, direction, *args)

    monkeypatch.setattr(connection.TcpConnectionPipeline, "_sniff", spy)
    _messages(case, tmp_path)
    assert seen == sniffed


# -- the decoder put off while the fast path reads the direction (Direction.later) ------------


@pytest.mark.parametrize(
    ("case", "made"),
    [
        ("plain", 0),  # both directions read by the fast path from their first packet
        ("answer only, nothing compressed", 0),
        # a hole in the client's stream: the connection is not at rest, so Python reads both
        # directions until the end (the client's gap comes from tcp.flush)
        ("a segment lost at the end", 2),
        ("compressed before the answer", 1),  # Python decodes the client's first packets
    ],
)
def test_decoders_are_made_only_when_python_reads_the_direction(
    case: str, made: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lyncdump.sipcomp import stream

    count = [0]
    real = stream.SipcompStreamDecoder

    class Counted(real):  # type: ignore[misc, valid-type]
        __slots__ = ()

        def __init__(self, **kwargs: Any) -> None:
            count[0] += 1
            super().__init__(**kwargs)

    monkeypatch.setattr(stream, "SipcompStreamDecoder", Counted)
    messages = _messages(case, tmp_path)
    assert count[0] == made
    assert any(m.compressed for m in messages) or case.startswith("answer only")


def _three_packets_read(seed: int) -> tuple[list[bytes], bytes, int, Any, str | None]:
    """Six MS-SIPCOMP packets of one direction; the first three as one segment, the plain
    bytes a decoder makes of them, its hand after them (a made history) and its layout."""
    rng = random.Random(seed)
    enc = SipcompStreamEncoder()
    wire = [enc.encode(sip_message(rng)) for _ in range(6)]
    first = b"".join(wire[:3])
    reader = connection._stream().SipcompStreamDecoder()
    reader.receive_data(first, 5, 0.5)
    plain = 0
    while (packet := reader.next_packet()) is not None:
        plain += len(packet.plain)
    hand = reader.handover()
    assert hand is not None and hand[0] is not None
    return wire, first, plain, hand, reader.layout


def _handed_back(eager: bool, end: bool) -> tuple[list[bytes], list[Any], Any]:
    """A connection after the NEGOTIATE exchange whose client direction the fast path read
    from its first packet (three packets, the history it made), given back with nothing left;
    then ``finish`` if ``end``, then three more packets. ``eager``: the decoder made before
    the hand-back (as before the put-off), else put off until the packets come."""
    from .test_connection_sniff import _connection

    wire, first, plain, hand, layout = _three_packets_read(7)

    pipe, run = _connection(REQUEST)
    pipe.data(1, ANSWER, 3, 0.3)
    d = pipe.dirs[0]
    assert d.mode == connection.SIPCOMP and d.sipcomp is None and d.later is None
    assert pipe._sipcomp_hand(d) == (None, 0)  # the fast path may take the first packet
    if eager:
        pipe._decoder(d)
    state = (hand[1], len(first), 5, [], 0, bytearray(hand[0]))
    pipe.reclaim(0, plain, len(first), [], 5, 0.5, state)
    assert (d.sipcomp is None) != eager
    assert pipe.summary.compression_layout == layout
    if end:
        pipe.finish()
    pipe.data(0, b"".join(wire[3:]), 6, 0.6)
    pipe.finish()
    return [m.raw for m in run.messages], list(run.defects), pipe.summary.compression_layout


@pytest.mark.parametrize("end", [False, True])
def test_a_put_off_decoder_resumes_where_the_fast_path_left_it(end: bool) -> None:
    eager = _handed_back(True, end)
    assert _handed_back(False, end) == eager
    messages, defects, _ = eager
    assert len(messages) == (2 if end else 5) and not defects


# -- the answer read raw by the fast path, both directions handed over from there (session 32) --


def _stream_data_events(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, int]]:
    """(direction, frame) of every segment the reassembler handed to a connection."""
    from lyncdump.net.tcp import StreamData

    seen: list[tuple[int, int]] = []
    real = core.Pipeline._tcp_event

    def spy(self: Any, event: Any) -> None:
        if type(event) is StreamData:
            seen.append((event.direction, event.frame))
        real(self, event)

    monkeypatch.setattr(core.Pipeline, "_tcp_event", spy)
    return seen


def test_the_answer_and_both_compressed_directions_skip_the_reassembler(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After the client's NEGOTIATE (Python's: a connection's first segment) the server's
    answer is read raw by the fast path and handed to ``data`` there; once it switched both
    directions, both are read as MS-SIPCOMP from their first packet: no later segment of the
    connection reaches the reassembler."""
    seen = _stream_data_events(monkeypatch)
    messages = _messages("plain", tmp_path)
    assert [direction for direction, _ in seen] == [0]
    assert [m.method for m in messages[:2]] == ["NEGOTIATE", None]
    assert all(m.compressed for m in messages[2:]) and len(messages) == 10


@pytest.mark.parametrize(
    ("case", "python_reads"),
    [
        # declined: the client's clear SIP is Python's (a direction with a NEGOTIATE exchange
        # is never framed there), which gives the server's back: its clear SIP is Python's
        ("error answer", [0, 0, 1]),
        ("answer without LZ77-8K", [0, 0, 1]),
        # compressed bytes before the answer: Python's (assumed compression), as before
        ("compressed before the answer", [0, 0, 1]),
        # the answer cut: both parts handed to data() raw; the switch then hands both over
        ("cut across segments", [0, 0, 0]),
    ],
)
def test_the_answer_read_raw_leaves_python_what_is_unusual(
    case: str, python_reads: list[int], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen = _stream_data_events(monkeypatch)
    _messages(case, tmp_path)
    assert [direction for direction, _ in seen] == python_reads


def _many_connections(path: Path, count: int, seed: int) -> None:
    """``count`` connections whose NEGOTIATE exchanges interleave (every request, then every
    answer, then the compressed traffic): the fast path's table grows while answers are read
    raw, each of which hands over the other direction."""
    rng = random.Random(seed)
    b = Builder()
    flows = []
    for n in range(count):
        flow = b.tcp((f"10.1.{n // 200}.{n % 200 + 1}", 40_000 + n), ("10.0.0.10", 5061))
        flow.handshake(0.001 * n)
        flows.append(flow)
    at = 1.0
    for step in range(4):
        order = list(range(count))
        rng.shuffle(order)
        for n in order:
            if step == 0:
                flows[n].send(at, 0, REQUEST.replace(b"neg-1", b"neg-%d" % n), cuts=[])
            elif step == 1:
                flows[n].send(at, 1, ANSWER.replace(b"neg-1", b"neg-%d" % n), cuts=[])
            else:
                flows[n].send(at, step % 2, _packets(seed * 1000 + n * 4 + step, 2), cuts=[])
            at += 0.001
    b.write(str(path))


def test_many_answers_read_raw_decode_the_same(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "many.pcap"
    _many_connections(path, 150, 7)
    compare(path, monkeypatch)
    # Kept whole (no streamed run, whose every 1,024th frame is Python's): each connection's
    # NEGOTIATE alone reached the reassembler.
    seen = _stream_data_events(monkeypatch)
    from lyncdump.api import Capture, Options

    made: list[Any] = []
    real = core.attach_fast_path
    monkeypatch.setattr(
        core, "attach_fast_path", lambda *a: made.append(real(*a)[0]) or (made[-1], None)
    )
    messages = list(Capture(path, Options()).messages())
    assert len(messages) == 150 * 6 and len(seen) == 150 and all(d == 0 for d, _ in seen)
    assert made[0].sip_messages == 150 * 2 * 2  # every compressed message framed there


def test_only_the_reverse_of_a_direction_read_raw_is_taken_inside_its_call(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Inside a callback the fast path's table must not change: ``sip_own`` takes nothing
    there but the reverse of the direction whose ``_raw_data`` is running."""
    tried: list[Any] = []
    real = connection.TcpConnectionPipeline._raw_data

    def spy(self: Any, direction: int, data: bytes, frame: int, ts: float) -> Any:
        fast = self.ctx.fast_sip
        if fast is not None and not tried:
            unrelated = (b"\x0a\x09\x09\x09", 1234, b"\x0a\x09\x09\x0a", 5061)
            tried.append(fast.sip_own(*unrelated, 0, 0, MAX, self, connection.READ_RAW))
        return real(self, direction, data, frame, ts)

    monkeypatch.setattr(connection.TcpConnectionPipeline, "_raw_data", spy)
    seen = _stream_data_events(monkeypatch)
    messages = _messages("plain", tmp_path)
    assert tried == [False]
    assert [direction for direction, _ in seen] == [0] and len(messages) == 10


@pytest.mark.parametrize(
    ("case", "hand"),
    [
        ("plain", [(0, connection.READ_SIPCOMP)]),  # a fresh decoder's hand
        ("answer cut in the status line", [(0, connection.READ_SIPCOMP)]),
        # the client's decoder was fed half a clear message: no clean point, read raw
        ("half a clear message before the answer", [(0, connection.READ_RAW)]),
    ],
)
def test_the_answer_hands_the_client_over_as_offer_would(
    case: str, hand: list[Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``_own_switched`` (session 32b) gives the client's direction to the fast path from
    inside the answer's ``_raw_data`` as ``offer`` would: with its decoder's hand when there
    is one, else read raw; the outputs are pure Python's either way."""
    kinds: list[Any] = []

    class Spy:
        def __init__(self, fast: Any) -> None:
            self.fast = fast

        def sip_own(self, *args: Any) -> bool:
            kinds.append((args[4], args[8]))
            owned: bool = self.fast.sip_own(*args)
            return owned

    real = connection.TcpConnectionPipeline._own_switched

    def spy(self: Any, fast: Any, direction: int, d: Any) -> None:
        real(self, Spy(fast), direction, d)

    monkeypatch.setattr(connection.TcpConnectionPipeline, "_own_switched", spy)
    _messages(case, tmp_path)
    assert kinds == hand
