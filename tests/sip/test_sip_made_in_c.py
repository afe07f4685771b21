"""A SipMessage made by the compiled module (``sip_message``, what the fast path's clear SIP
delivery makes) is the message ``_lazy_message`` makes: the same slots right after parsing,
then the same value from every accessor and the same defects, in the same order, whichever
accessors are read first.

Messages come from every sample capture (the bytes and hand-over the pipeline parses), their
mutations, the torture and MS samples, hostile header blocks and hypothesis. C makes only the
clean case and says None for the rest; the test also checks that it makes most of what the
samples hold, so the comparison is not empty.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lyncdump import fastpath
from lyncdump.errors import MalformedError
from lyncdump.sip import message as lazy
from lyncdump.sip.framing import SipStreamFramer

from . import sip_samples as S
from .test_sip_lazy_parity import (
    SETTINGS,
    _inputs,
    _mutations,
    messages,
    recorded,
    snapshot,
)

_compiled = fastpath.compiled()
pytestmark = pytest.mark.skipif(
    _compiled is None or not lazy._made_ready, reason="needs the compiled module"
)


def _python(data: bytes, he: int, cl: int | None) -> Any:
    """What parse_message gives without the message made in C (sip_head, then _lazy_message,
    or the Python parser)."""
    saved = lazy._made_ready
    lazy._made_ready = False
    try:
        return lazy.parse_message(data, header_end=None if he < 0 else he, content_length=cl)
    except MalformedError as exc:
        return exc
    finally:
        lazy._made_ready = saved


def _pure(data: bytes, he: int, cl: int | None) -> Any:
    """parse_message without any compiled head reading (so without the value cache either):
    the reference for what the cache hands out."""
    saved = lazy._made_ready, lazy._sip_head
    lazy._made_ready, lazy._sip_head = False, None
    try:
        return lazy.parse_message(data, header_end=None if he < 0 else he, content_length=cl)
    finally:
        lazy._made_ready, lazy._sip_head = saved


def _slots(msg: lazy.SipMessage) -> list[tuple[str, Any]]:
    """Every slot as made (markers by identity)."""
    out: list[tuple[str, Any]] = []
    for name in lazy.SipMessage.__slots__:
        value = getattr(msg, name)
        if value is lazy._UNSET or value is lazy._CHECKED:
            value = repr(value.__reduce__())
        out.append((name, value, type(value).__name__))
    return out


def check(data: bytes, he: int = -1, cl: int | None = None) -> bool:
    """C's message == Python's, slots then accessors in both orders; True when C made one."""
    made = _compiled.sip_message(data, he, cl)
    if made is None:
        return False
    assert type(made) is lazy.SipMessage
    reference = _python(data, he, cl)
    assert isinstance(reference, lazy.SipMessage), data[:200]
    assert _slots(made) == _slots(reference), data[:200]
    pure = _pure(data, he, cl)
    assert made._index == pure._index and made._cseq == pure.cseq, data[:200]
    assert (made.method, made.request_uri, made.status, made.reason) == (
        pure.method,
        pure.request_uri,
        pure.status,
        pure.reason,
    )
    assert made.take_new_defects() == reference.take_new_defects() == []
    for typed_first in (True, False):
        a = _compiled.sip_message(data, he, cl)
        b = _python(data, he, cl)
        assert snapshot(a, typed_first) == snapshot(b, typed_first), data[:200]
        assert a.take_new_defects() == b.take_new_defects()
        a.note_address_defects()
        b.note_address_defects()
        assert a.take_new_defects() == b.take_new_defects()
    return True


def check_framed(data: bytes) -> int:
    """The message as the stream framer cuts it, with what the framer hands over."""
    framer = SipStreamFramer()
    framer.receive_data(data + b"\r\n\r\nOPTIONS sip:x SIP/2.0\r\n", 1, 0.0)
    made = 0
    while (framed := framer.next_message()) is not None:
        he = framed.header_end if framed.header_end is not None else -1
        made += check(framed.data, he, framed.content_length)
    return made


@pytest.mark.parametrize(
    "path", [p for p in _inputs() if p.parent.name == "captures"], ids=lambda p: p.name
)
def test_every_sample_message_and_its_mutations(path: Any) -> None:
    calls = recorded(path)
    made = 0
    seen: set[bytes] = set()
    for data, _datagram, handover in calls:
        he = handover.get("header_end")
        made += check(data, -1 if he is None else he, handover.get("content_length"))
        made += check(data)
        for variant in _mutations(data):
            if variant not in seen:
                seen.add(variant)
                check(variant)
                check_framed(variant)
    if path.name == "lync-compressed-tcp.pcap":  # most of its messages are the clean case
        assert made >= len(calls), (made, len(calls))


def test_torture_and_ms_samples() -> None:
    made = 0
    for data in [*S.VALID.values(), *S.MS_MESSAGES.values(), S.BADINV01, S.SCALAR02, S.MULTI01]:
        made += check(data)
        for variant in _mutations(data):
            check(variant)
            check_framed(variant)
    assert made > 0


_CLEAN = (
    b"INVITE sip:bob@example.com SIP/2.0\r\n"
    b"Via: SIP/2.0/TLS 10.0.0.1:5061;branch=z9hG4bK1\r\n"
    b"From: <sip:alice@example.com>;tag=a1\r\nTo: <sip:bob@example.com>\r\n"
    b"Call-ID: c1\r\nCSeq: 1 INVITE\r\nContent-Type: application/sdp\r\n"
    b"Content-Length: 4\r\n\r\nv=0\n"
)


def _hostile() -> Iterator[bytes]:
    head, _, body = _CLEAN.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    yield _CLEAN
    yield b"\r\n".join([*lines, b"Via: SIP/2.0/TCP h;branch=z9hG4bK2"]) + b"\r\n\r\n" + body
    for dup in (b"Call-ID: c2", b"CSeq: 1 INVITE", b"From: <sip:x@y>", b"To: <sip:x@y>"):
        yield b"\r\n".join([*lines, dup]) + b"\r\n\r\n" + body
    yield b"\r\n".join([*lines, b"Max-Forwards: 1", b"Max-Forwards: 2"]) + b"\r\n\r\n" + body
    yield b"\r\n".join([*lines, b"Content-Type: text/plain"]) + b"\r\n\r\n" + body
    yield b"\r\n".join([*lines, b"Content-Length: 4"]) + b"\r\n\r\n" + body
    for drop in range(1, len(lines)):
        yield b"\r\n".join(lines[:drop] + lines[drop + 1 :]) + b"\r\n\r\n" + body
    for cseq in (b"CSeq: 1 BYE", b"CSeq: 99999999999 INVITE", b"CSeq: x", b"CSeq: 1  INVITE"):
        yield _CLEAN.replace(b"CSeq: 1 INVITE", cseq)
    for length in (b"0", b"3", b"5", b"+4", b"04", b"4 ", b"4x", b"9" * 30, b""):
        yield _CLEAN.replace(b"Content-Length: 4", b"Content-Length: " + length)
    yield _CLEAN.replace(b"Content-Length: 4", b"l: 4")
    yield _CLEAN + b"extra"
    yield _CLEAN[:-2]
    yield b"\r\n".join([lines[0], *(b"X-H%d: v" % i for i in range(300)), *lines[1:]]) + (
        b"\r\n\r\n" + body
    )
    yield b"\r\n".join([*lines, b"X-Long: " + b"a" * 70000]) + b"\r\n\r\n" + body
    yield _CLEAN.replace(b"SIP/2.0\r\n", b"SIP/2.1\r\n", 1)
    yield _CLEAN.replace(b"<sip:alice@example.com>;tag=a1", b'"A" <sip:a@b>;tag=1;tag=2')
    yield _CLEAN.replace(b"<sip:alice@example.com>;tag=a1", b"<sip:a@b;tag=c")
    yield _CLEAN.replace(b"<sip:bob@example.com>\r\n", b"sip:x@y;tag=z\r\n")
    yield _CLEAN.replace(b"From: <sip:alice@example.com>;tag=a1", b"From: \xc3\xa9 <sip:a@b>")
    yield b"SIP/2.0 200 OK\r\n" + b"\r\n".join(lines[1:])  # no empty line
    yield b"SIP/2.0 200 OK\r\n" + b"\r\n".join(lines[1:]) + b"\r\n\r\n" + body
    yield b"SIP/2.0 999 Odd\r\n" + b"\r\n".join(lines[1:]) + b"\r\n\r\n" + body
    yield (
        b"FOO sip:x SIP/2.0\r\n"
        + b"\r\n".join(lines[1:]).replace(b"INVITE", b"FOO")
        + (b"\r\n\r\n" + body)
    )


def test_hostile_header_blocks() -> None:
    made = 0
    for data in _hostile():
        he = data.find(b"\r\n\r\n")
        made += check(data)
        made += check(data, he + 2 if he >= 0 else -1)
        body = len(data) - he - 4 if he >= 0 else None
        made += check(data, -1, body)
        check_framed(data)
    assert made >= 6


@SETTINGS
@given(messages())
def test_generated_messages(data: bytes) -> None:
    check(data)
    check_framed(data)


@SETTINGS
@given(messages(), st.integers(1, 50))
def test_generated_streams(data: bytes, chunk: int) -> None:
    framer = SipStreamFramer()
    stream = data + b"\r\n\r\n" + data
    for i in range(0, len(stream), chunk):
        framer.receive_data(stream[i : i + chunk], i, 0.0)
        while (framed := framer.next_message()) is not None:
            he = framed.header_end if framed.header_end is not None else -1
            check(framed.data, he, framed.content_length)


def test_parse_message_uses_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """parse_message's compiled path gives the message made in C for the clean case."""
    made: list[Any] = []

    def spy(*args: Any) -> Any:
        made.append(_compiled.sip_message(*args))
        return made[-1]

    monkeypatch.setattr(lazy, "_sip_message", spy)
    msg = lazy.parse_message(_CLEAN)
    assert made == [msg] and type(msg) is lazy.SipMessage
    assert msg.frame is None and msg.transport is None and msg.take_new_defects() == []
    assert msg.body == b"v=0\n" and msg.call_id == "c1" and msg.cseq == (1, "INVITE")
    assert lazy.parse_message(b"INVITE sip:x SIP/2.0\r\n\r\n").defects  # Python's
    assert made[-1] is None


def test_not_made_for_another_class() -> None:
    """sip_message_setup refuses a class whose slots it does not know, and nothing is made
    until the real one is given again."""

    class Other:
        __slots__ = ("method",)

    try:
        assert (
            _compiled.sip_message_setup(
                Other, lazy._UNSET, lazy._CHECKED, lazy._CLEAN_ADDRS, lazy._presolve_addr
            )
            is False
        )
        assert _compiled.sip_message(_CLEAN, -1, None) is None
    finally:
        assert _compiled.sip_message_setup(
            lazy.SipMessage, lazy._UNSET, lazy._CHECKED, lazy._CLEAN_ADDRS, lazy._presolve_addr
        )
    assert type(_compiled.sip_message(_CLEAN, -1, None)) is lazy.SipMessage


# -- the value cache (sip_head's recent core header values) ----------------------------------


def _response(request: bytes, status: bytes = b"200 OK") -> bytes:
    """A response to ``request``: its Via (with received parameters, as a server adds),
    From, To (with a tag), Call-ID and CSeq, no body."""
    head = request.split(b"\r\n\r\n", 1)[0].split(b"\r\n")
    keep = [
        line for line in head[1:] if line.split(b":", 1)[0] in (b"From", b"To", b"Call-ID", b"CSeq")
    ]
    via = next(line for line in head if line.startswith(b"Via:"))
    lines = [b"SIP/2.0 " + status, via + b";received=10.0.0.9", *keep, b"Content-Length: 0"]
    return (
        b"\r\n".join(lines).replace(
            b"To: <sip:bob@example.com>", b"To: <sip:bob@example.com>;tag=b7"
        )
        + b"\r\n\r\n"
    )


def test_a_response_shares_its_requests_values() -> None:
    """The values a response repeats byte for byte are the request's own objects (one-value
    headers share the tuple); what differs is decoded anew; both messages stay equal to
    Python's."""
    _compiled.sip_value_cache(True)
    request = _CLEAN.replace(b"Call-ID: c1", b"Call-ID: shared-1")
    assert check(request)
    response = _response(request)
    assert check(response)
    a = _compiled.sip_message(request, -1, None)
    b = _compiled.sip_message(response, -1, None)
    for key in ("from", "call-id"):
        assert a._index[key] is b._index[key], key
    assert a._index["to"] != b._index["to"]  # the tag
    assert a._index["via"] is not b._index["via"]  # Via is never shared
    assert a._cseq is b._cseq == (1, "INVITE")  # the plain CSeq read once
    # Two Via lines: each its own str, in a tuple of their own.
    two = _CLEAN.replace(
        b"Via: SIP/2.0/TLS 10.0.0.1:5061;branch=z9hG4bK1\r\n",
        b"Via: SIP/2.0/TLS a;branch=z9hG4bK1\r\nVia: SIP/2.0/TLS b;branch=z9hG4bK2\r\n",
    )
    assert check(two) and check(two)
    m = _compiled.sip_message(two, -1, None)
    assert m._index["via"] == ("SIP/2.0/TLS a;branch=z9hG4bK1", "SIP/2.0/TLS b;branch=z9hG4bK2")
    assert m.top_branch == "z9hG4bK1"


def test_value_cache_hits_misses_and_bounds() -> None:
    entries, text_max, held, hits, misses = _compiled.sip_value_cache(True)
    assert (held, hits, misses) == (0, 0, 0) and entries == 1024 and text_max == 256
    assert _compiled.sip_message(_CLEAN, -1, None) is not None
    # From, To, Call-ID, CSeq, Content-Type, Content-Length: each new (Via is never held)
    assert _compiled.sip_value_cache()[2:] == (6, 0, 6)
    assert _compiled.sip_message(_CLEAN, -1, None) is not None
    assert _compiled.sip_value_cache()[2:] == (6, 6, 6)  # the same bytes again: all found
    assert check(_CLEAN)
    # A value past the bound is decoded each time and never held.
    long_id = b"L" * (text_max + 1)
    data = _CLEAN.replace(b"Call-ID: c1", b"Call-ID: " + long_id)
    before = _compiled.sip_value_cache()
    assert check(data) and check(data)
    a = _compiled.sip_message(data, -1, None)
    b = _compiled.sip_message(data, -1, None)
    assert a._index["call-id"] == b._index["call-id"] == (long_id.decode(),)
    assert a._index["call-id"] is not b._index["call-id"]
    at_bound = _CLEAN.replace(b"Call-ID: c1", b"Call-ID: " + b"M" * text_max)
    check(at_bound)
    c = _compiled.sip_message(at_bound, -1, None)
    d = _compiled.sip_message(at_bound, -1, None)
    assert c._index["call-id"] is d._index["call-id"]
    # Many distinct values: the cache never holds more than its entries.
    for i in range(3000):
        _compiled.sip_message(_CLEAN.replace(b"Call-ID: c1", b"Call-ID: n%d" % i), -1, None)
    assert _compiled.sip_value_cache()[2] <= entries
    assert _compiled.sip_value_cache()[3] >= before[3]
    _compiled.sip_value_cache(True)
    assert _compiled.sip_value_cache()[2:] == (0, 0, 0)
    with pytest.raises(TypeError):
        _compiled.sip_value_cache(True, False)


def test_values_that_collide_in_the_cache_stay_apart() -> None:
    """Same bytes under another header, or other bytes in the same entry: never confused
    (the entry is taken only after key, length and bytes compare equal)."""
    _compiled.sip_value_cache(True)
    same = _CLEAN.replace(b"Call-ID: c1", b"Call-ID: <sip:bob@example.com>")
    assert check(same)
    m = _compiled.sip_message(same, -1, None)
    assert m._index["call-id"] == m._index["to"] == ("<sip:bob@example.com>",)
    assert m._index["call-id"] is not m._index["to"]
    for i in range(2000):  # fill every entry many times over, then read the first again
        check(_CLEAN.replace(b"Call-ID: c1", b"Call-ID: k%d" % i)) if i % 400 == 0 else (
            _compiled.sip_message(_CLEAN.replace(b"Call-ID: c1", b"Call-ID: k%d" % i), -1, None)
        )
    assert check(same)


@SETTINGS
@given(messages(), st.booleans())
def test_generated_messages_and_their_responses(data: bytes, cold: bool) -> None:
    """A generated message, then a response built from it, made with a warm or an empty
    cache: equal to Python's slot for slot either way, and again from the cache."""
    if cold:
        _compiled.sip_value_cache(True)
    check(data)
    if b"\r\n\r\n" in data and data.startswith(
        tuple(
            m.encode()
            for m in (
                "INVITE",
                "MESSAGE",
                "BYE",
                "OPTIONS",
                "REGISTER",
                "SUBSCRIBE",
                "NOTIFY",
                "INFO",
                "ACK",
                "CANCEL",
                "PRACK",
                "UPDATE",
                "REFER",
                "PUBLISH",
                "SERVICE",
                "NEGOTIATE",
                "BENOTIFY",
            )
        )
    ):
        try:
            response = _response(data, b"180 Ringing")
        except StopIteration:  # no Via line
            return
        check(response)
        check(response)
    check(data)
