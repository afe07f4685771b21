"""The compiled fast path's delivery of the clear SIP messages it makes (_fastpath.c
``mk_deliver``): it counts them as ``Stats.count_message`` does, and hands a body on to the
media layer only when ``MediaPipeline.sip_message`` may do something with it. Both are
compared with the Python code they stand for."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import lyncdump
from lyncdump import fastpath
from lyncdump.capture import open_input
from lyncdump.errors import MalformedError
from lyncdump.media.ice_words import ice_words_py
from lyncdump.media.stats import sdp_bodies
from lyncdump.pipeline import connection, core
from lyncdump.render import views
from lyncdump.sip import message as lazy

from ..conftest import CAPTURES
from ..sip.test_sip_lazy_parity import recorded

_compiled = fastpath.compiled()
pytestmark = pytest.mark.skipif(
    _compiled is None or not lazy._made_ready, reason="needs the compiled module"
)

SAMPLES = sorted(p for p in CAPTURES.iterdir() if p.suffix in (".pcap", ".pcapng", ".cap", ".gz"))


def _message(start: str, cseq: str) -> lazy.SipMessage:
    data = (
        f"{start}\r\nVia: SIP/2.0/TCP h;branch=z9hG4bK1\r\nFrom: <sip:a@b>;tag=1\r\n"
        f"To: <sip:c@d>\r\nCall-ID: x\r\nCSeq: {cseq}\r\nContent-Length: 0\r\n\r\n"
    ).encode()
    return lazy.parse_message(data)


def _counts(stats: core.Stats) -> Any:
    return (
        stats.sip_messages,
        list(stats.methods.items()),
        list(stats.statuses.items()),
        list(stats.transports.items()),
    )


@pytest.mark.parametrize("limit", [0, 1, 5, 1000])
def test_counts_match_count_message(limit: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Methods and statuses past the bound go to "(other)", responses count by status, a
    message without a transport under "?": the same Counts, in the same order."""
    msgs = []
    for i in range(12):
        method = ["INVITE", "BYE", f"ODD{i}", "X-Ms-Thing", "invite"][i % 5]
        msgs.append(_message(f"{method} sip:x@y SIP/2.0", f"{i} {method}"))
        msgs.append(_message(f"SIP/2.0 {[200, 180, 486, 100 + i, 699][i % 5]} R", f"{i} BYE"))
    for i, m in enumerate(msgs):
        m.transport = ["TCP", "TLS", None, "", "UDP"][i % 5]
    monkeypatch.setattr(core, "MAX_COUNTED_NAMES", limit)
    python, made = core.Stats(), core.Stats()
    for m in msgs:
        python.count_message(m)
        _compiled.sip_count_message(made, m, limit)
    assert _counts(made) == _counts(python)
    assert python.sip_messages == len(msgs)


def test_counting_a_counter_that_is_full_already() -> None:
    python, made = core.Stats(), core.Stats()
    for stats in (python, made):
        for i in range(core.MAX_COUNTED_NAMES):
            stats.methods[f"M{i}"] = 1
    msgs = [_message("NEW sip:x SIP/2.0", "1 NEW"), _message("M7 sip:x SIP/2.0", "1 M7")]
    for m in msgs * 2:
        python.count_message(m)
        _compiled.sip_count_message(made, m, core.MAX_COUNTED_NAMES)
    assert _counts(made) == _counts(python)
    assert made.methods["(other)"] == 2 and made.methods["M7"] == 3


def _may_matter_in_python(msg: lazy.SipMessage, body: bytes) -> bool:
    """What MediaPipeline.sip_message looks at: ICE words, or an SDP or multipart type."""
    ctype = msg.content_type
    return bool(body) and (
        ice_words_py(body)
        or (ctype is not None and (ctype == "application/sdp" or ctype.startswith("multipart/")))
    )


def _gate(msg: lazy.SipMessage, body: bytes) -> bool:
    values = msg._values("content-type")
    return bool(_compiled.sip_body_matters(values[0] if values else None, body))


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.name)
def test_the_body_gate_on_every_sample_body(path: Path) -> None:
    """A body the gate leaves out is one the media layer would do nothing with (no ICE words,
    no SDP part, nothing noted on the way: a multipart body without an SDP part); every other
    body Python would look at it lets through."""
    for data, datagram, handover in recorded(path):
        try:
            msg = lazy.parse_message(data, datagram=datagram, **handover)
        except MalformedError:
            continue
        body = msg.body
        if _gate(msg, body):
            continue
        msg.take_new_defects()
        assert sdp_bodies(msg, body) == [] and not ice_words_py(body), data[:300]
        assert msg.take_new_defects() == []
        if _may_matter_in_python(msg, body):
            assert (msg.content_type or "").startswith("multipart/"), data[:300]


@pytest.mark.parametrize(
    "ctype",
    [
        "application/sdp", "Application/SDP", "application/sdp;x=1", "application/sdp \t; x",
        "multipart/alternative;boundary=b", "MULTIPART/mixed", "application/ sdp",
        '"application/sdp"', "application/sdp x", "application/sdpx", "application/pidf+xml",
        "text/plain", "text/plain; charset=utf-8", "", ";", "multipart", "x/multipart/",
        "application/sdp\x0b", "appli cation/sdp",
    ],
)  # fmt: skip
@pytest.mark.parametrize("body", [b"v=0\r\n", b"a=candidate:1 1 UDP", b"x ice-pwd:y", b""])
def test_the_body_gate_on_odd_content_types(ctype: str, body: bytes) -> None:
    data = (
        "INVITE sip:x@y SIP/2.0\r\nVia: SIP/2.0/TCP h;branch=z9hG4bK1\r\nFrom: <sip:a@b>;tag=1"
        f"\r\nTo: <sip:c@d>\r\nCall-ID: x\r\nCSeq: 1 INVITE\r\nContent-Type: {ctype}\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    msg = lazy.parse_message(data)
    if _may_matter_in_python(msg, msg.body):
        assert _gate(msg, msg.body)
    assert _compiled.sip_body_matters(None, body) == (bool(body) and ice_words_py(body))


def _ndjson(path: Path) -> list[str]:
    lines: list[str] = []
    views.ndjson_view(lyncdump.stream(path), lines.append, verbose=True)
    return lines


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.name)
def test_gated_and_ungated_runs_agree(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The same output when every body goes to the media layer (the gate switched off), and
    when the run has no fast_delivery at all (each message to deliver, counted there)."""
    gated = _ndjson(path)
    real = core.Pipeline.fast_delivery

    def ungated(self: core.Pipeline) -> tuple[Any, ...]:
        deliver, stats, limit = real(self)
        return (lambda msg, body: deliver(msg, msg.body)), stats, limit

    monkeypatch.setattr(core.Pipeline, "fast_delivery", ungated)
    assert _ndjson(path) == gated
    monkeypatch.delattr(core.Pipeline, "fast_delivery")
    assert _ndjson(path) == gated


def test_a_run_chooses_its_delivery_once() -> None:
    """The common run (sessions, no checks, no message events) gets the short function."""
    pipe = core.Pipeline(open_input(str(SAMPLES[0])), messages=False)
    deliver, stats, limit = pipe.fast_delivery()
    assert deliver == pipe._counted_plain and stats is pipe.stats
    assert limit == core.MAX_COUNTED_NAMES
    pipe.reader.close()
    pipe = core.Pipeline(open_input(str(SAMPLES[0])), messages=True)
    assert pipe.fast_delivery()[0] == pipe._counted
    pipe.reader.close()


def test_the_plain_delivery_names_its_session_table() -> None:
    """Only the shortest delivery, with the compiled table and its own ``add``, is done C to
    C (``mk_direct``): any other gets None and the scan calls the function."""
    pipe = core.Pipeline(open_input(str(SAMPLES[0])), messages=False)
    deliver = pipe.fast_delivery()[0]
    assert pipe.direct_sessions(deliver) == (pipe._sessions, pipe._emit)
    assert pipe.direct_sessions(deliver) is pipe.direct_sessions(deliver)  # one per run
    assert pipe.direct_sessions(pipe._counted) is None
    assert pipe.direct_sessions(lambda msg, body: None) is None

    class Spied(type(pipe._sessions)):  # type: ignore[misc]
        __slots__ = ()

        def add(self, m: lazy.SipMessage) -> Any:
            return super().add(m)

    pipe._sessions = Spied()
    assert pipe.direct_sessions(deliver) is None
    pipe.reader.close()


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.name)
def test_direct_and_python_delivery_agree(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The same NDJSON and summary when the scan hands messages to the session table C to C
    as when every message goes through Pipeline._counted_plain, and the direct way is taken
    for messages without a body for the media layer."""
    calls = []
    real = core.Pipeline._counted_plain

    def counted(self: core.Pipeline, msg: lazy.SipMessage, body: bytes | None) -> None:
        calls.append(body)
        real(self, msg, body)

    monkeypatch.setattr(core.Pipeline, "_counted_plain", counted)
    direct = _ndjson(path), views_summary(path)
    through_python = len(calls)
    assert all(body is not None for body in calls)
    monkeypatch.setattr(core.Pipeline, "direct_sessions", lambda self, deliver: None)
    calls.clear()
    assert (_ndjson(path), views_summary(path)) == direct
    assert len(calls) >= through_python


def test_the_direct_way_is_taken() -> None:
    """Without the direct way, messages without a body for the media layer reach
    Pipeline._counted_plain (so the test above compares two different routes)."""
    seen: list[bytes | None] = []
    real = core.Pipeline._counted_plain

    def counted(self: core.Pipeline, msg: lazy.SipMessage, body: bytes | None) -> None:
        seen.append(body)
        real(self, msg, body)

    with pytest.MonkeyPatch.context() as m:
        m.setattr(core.Pipeline, "_counted_plain", counted)
        m.setattr(core.Pipeline, "direct_sessions", lambda self, deliver: None)
        views_summary(CAPTURES / "federation.pcapng")
    assert any(body is None for body in seen)


def views_summary(path: Path) -> str:
    out: list[str] = []
    views.summary_view(lyncdump.stream(path), out.append)
    return "".join(out)


def _addressed(frm: str, extra: str = "", call_id: str = "x", cseq: int = 1) -> lazy.SipMessage:
    data = (
        f"INVITE sip:x@y SIP/2.0\r\nVia: SIP/2.0/TCP h;branch=z9hG4bK{cseq}\r\nFrom: {frm}\r\n"
        f"To: <sip:c@d>\r\nCall-ID: {call_id}\r\nCSeq: {cseq} INVITE\r\n{extra}"
        "Content-Length: 0\r\n\r\n"
    ).encode()
    return lazy.parse_message(data)


def test_sip_to_note_leaves_out_only_settled_messages() -> None:
    """A message read clean is left out; one whose From was not read, or that holds defects
    not taken yet, or that is not a SipMessage, is kept, in order."""
    clean = _addressed("<sip:a@b>;tag=1")
    unread = _addressed("<sip:a@b")
    doubled = _addressed("<sip:a@b>;tag=1", "CSeq: 2 INVITE\r\n")
    other = object()
    assert _compiled.sip_to_note([clean, clean]) == ()
    assert _compiled.sip_to_note([]) == ()
    messages = [clean, unread, other, doubled, clean]
    assert _compiled.sip_to_note(messages) == [unread, other, doubled]
    doubled.take_new_defects()
    unread.note_address_defects()
    assert _compiled.sip_to_note(messages) == [unread, other]  # (its defect not taken)
    unread.take_new_defects()
    assert _compiled.sip_to_note(messages) == [other]
    with pytest.raises(TypeError):
        _compiled.sip_to_note((clean,))


def _emitted_defects(monkeypatch: pytest.MonkeyPatch, compiled: bool) -> list[Any]:
    if not compiled:
        monkeypatch.setattr(core, "_sip_to_note", None)
    pipe = core.Pipeline(open_input(str(SAMPLES[0])), messages=False)
    froms = ["<sip:a@b>;tag=1", "<sip:a@b", '"q <sip:a@b>', "<sip:a@b>;tag=1"]
    extras = ["", "", "CSeq: 9 INVITE\r\n", "Max-Forwards: 1\r\nMax-Forwards: 2\r\n"]
    for i in range(12):
        m = _addressed(froms[i % 4], extras[i % 3], call_id=f"c{i % 3}", cseq=i + 1)
        m.frame = i + 1
        m.time = float(i)
        pipe._sessions.add(m)
    pipe._emit(pipe._sessions.finish())
    pipe.reader.close()
    return [(d.frame, d.layer, d.offset, d.reason) for d in pipe.defects] + [
        len(pipe.defects),
        dict(pipe.stats.sessions),
        len(pipe._pending),
    ]


def test_emit_notes_the_same_defects_in_the_same_order(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pipeline._emit with the compiled sip_to_note and with every message looked at."""
    compiled = _emitted_defects(monkeypatch, True)
    assert len(compiled) > 3
    assert _emitted_defects(monkeypatch, False) == compiled


# -- counting: the dict fast path and what it leaves to the generic one --------------------------


class _Odd(Counter[str]):
    """A counter whose assignment is not dict's: counted the generic way (its own methods)."""

    def __setitem__(self, key: str, value: int) -> None:
        super().__setitem__(key, value * 10)


@pytest.mark.parametrize("kind", ["counts", "counter", "dict", "odd"])
def test_counting_other_counters_and_big_values(kind: str) -> None:
    """A plain dict, a Counter, a subclass with its own __setitem__, a count past 2**63 and a
    count that is not an int: the compiled count gives what Python's += gives."""
    make = {"counts": core.Counts, "counter": Counter, "dict": dict, "odd": _Odd}[kind]
    msgs = [_message("INVITE sip:x SIP/2.0", "1 INVITE"), _message("BYE sip:x SIP/2.0", "2 BYE")]
    for m in msgs:
        m.transport = "TLS"
    python, made = core.Stats(), core.Stats()
    for stats in (python, made):
        stats.methods = make()
        dict.__setitem__(stats.methods, "INVITE", 2**63 - 1)
        dict.__setitem__(stats.methods, "BYE", 1.5)
        stats.transports = make()
        dict.__setitem__(stats.transports, "TLS", 7)
    for m in msgs * 2:
        python.count_message(m)
        _compiled.sip_count_message(made, m, core.MAX_COUNTED_NAMES)
    assert _counts(made) == _counts(python)
    assert [type(v) for v in made.methods.values()] == [type(v) for v in python.methods.values()]
    if kind != "odd":
        assert made.methods["INVITE"] == 2**63 + 1


def test_counting_a_new_key_into_a_plain_dict_raises_as_python_does() -> None:
    """(No __missing__: the first count of a new key is a KeyError both ways.)"""
    m = _message("INVITE sip:x SIP/2.0", "1 INVITE")
    for count in (core.Stats.count_message, lambda s, m: _compiled.sip_count_message(s, m, 5)):
        stats = core.Stats()
        stats.methods = {}  # type: ignore[assignment]
        with pytest.raises(KeyError):
            count(stats, m)


# -- the multipart pre-check (mk_multipart_quiet) against sdp_bodies ----------------------------

_SDP = b"v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\n" + (
    b"m=audio 5000 RTP/AVP 0\r\n"
)


def _multipart_message(ctype: str, body: bytes) -> lazy.SipMessage:
    data = (
        "SIP/2.0 200 OK\r\nVia: SIP/2.0/TLS h;branch=z9hG4bK1\r\nFrom: <sip:a@b>;tag=1\r\n"
        f"To: <sip:c@d>;tag=2\r\nCall-ID: x\r\nCSeq: 1 SUBSCRIBE\r\nContent-Type: {ctype}\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    return lazy.parse_message(data)


def _check_pre_check(ctype: str, body: bytes) -> bool:
    """The gate's answer; when it leaves the body out, Python finds no SDP and notes nothing."""
    msg = _multipart_message(ctype, body)
    values = msg._values("content-type")
    gate = bool(_compiled.sip_body_matters(values[0] if values else None, body))
    if not gate:
        msg.take_new_defects()
        assert sdp_bodies(msg, body) == [], (ctype, body[:400])
        assert msg.take_new_defects() == [], (ctype, body[:400])
    return gate


def _presence(boundary: str, heads: list[bytes], close: bool = True) -> bytes:
    parts = [b"--" + boundary.encode() + b"\r\n" + h + b"\r\n\r\n<x/>\r\n" for h in heads]
    return b"".join(parts) + (b"--" + boundary.encode() + b"--\r\n" if close else b"")


_XML = b"Content-Type: application/pidf+xml"


@pytest.mark.parametrize(
    ("ctype", "body", "gate"),
    [
        ("multipart/related;boundary=b1", _presence("b1", [_XML] * 3), False),
        ('Multipart/Related; type="application/rlmi+xml"; Boundary="b1"',
         _presence("b1", [_XML, b"Content-ID: <1>"]), False),
        ("multipart/related;boundary=b1", _presence("b1", [_XML, b"Content-Type: APPLICATION/SDP"]),
         True),
        ("multipart/related;boundary=b1", _presence("b1", [_XML, b"Content-Type: multipart/x"]),
         True),
        ("multipart/related;boundary=b1", _presence("b1", [_XML], close=False), True),
        ("multipart/related;boundary=b2", _presence("b1", [_XML]), True),
        ("multipart/related", _presence("b1", [_XML]), True),
        ("multipart/related;boundary=", _presence("b1", [_XML]), True),
        ("multipart/related;boundary", _presence("b1", [_XML]), True),
        ('multipart/related;boundary="b\\1"', _presence("b1", [_XML]), True),
        ("multipart/related;boundary=b2;boundary=b1", _presence("b1", [_XML]), False),
        ('multipart/related;x="a;boundary=b2";boundary=b1', _presence("b1", [_XML]), False),
        ("multipart/related;boundary=" + "b" * 257, _presence("b" * 257, [_XML]), True),
        ("multipart/related;boundary=b1", _presence("b1", [b"X-Note: s-d-p"]), True),
        ("multipart/related;boundary=b1", b"--b1--\r\n", False),
    ],
)  # fmt: skip
def test_the_pre_check_on_chosen_bodies(ctype: str, body: bytes, gate: bool) -> None:
    assert _check_pre_check(ctype, body) == gate


@pytest.mark.parametrize(("parts", "gate"), [(999, False), (1000, True), (1001, True)])
def test_the_pre_check_stops_where_part_spans_does(parts: int, gate: bool) -> None:
    """part_spans cuts at most MAX_HEADERS parts and notes a missing close delimiter past it."""
    assert lazy.MAX_HEADERS == 1000
    body = _presence("b", [_XML] * parts)
    assert _check_pre_check("multipart/related;boundary=b", body) == gate


_HEADS = st.sampled_from(
    [
        b"Content-Type: application/pidf+xml", b"Content-Type: application/sdp",
        b"content-type:APPLICATION/SDP", b"Content-Type: multipart/alternative;boundary=in",
        b"Content-Type: text/plain", b"Content-ID: <a@b>", b"", b"X: s\x00d\xffp",
        b"Content-Type: application/rlmi+xml\r\nContent-Transfer-Encoding: binary",
        b"Content-Type: Application/Sdp\nX: y", b"Content-Type: multi part/x",
    ]
)  # fmt: skip
_BODIES = st.sampled_from([b"<x/>", _SDP, b"--in\r\nContent-Type: application/sdp\r\n\r\n" + _SDP])
_SEPS = st.sampled_from([b"\r\n", b"\n", b"\r\n\r\n", b"", b" ", b"--"])


@st.composite
def _multipart(draw: st.DrawFn) -> tuple[str, bytes]:
    boundary = draw(st.sampled_from(["b1", "Rlmi-Boundary-1a", "=_x", "a b", "b"]))
    used = draw(st.sampled_from([boundary, boundary, boundary + "x", boundary[:-1] or "q"]))
    quote = draw(st.sampled_from(["", '"', " "]))
    ctype = draw(
        st.sampled_from(
            [
                "multipart/related;boundary={q}{b}{q}",
                "MULTIPART/Related; Boundary = {q}{b}{q}",
                'multipart/mixed; type="a;b"; boundary={q}{b}{q}',
                "multipart/x;boundary={q}{b}",
                "multipart/x;boundary={q}{b}{q};boundary=zz",
                "multipart/x; charset=x",
                "multipart/alternative;\tboundary={q}{b}{q}",
            ]
        )
    ).format(q=quote, b=boundary)
    out = draw(st.sampled_from([b"", b"preamble\r\n"]))
    for _ in range(draw(st.integers(0, 70))):
        sep = draw(_SEPS)
        out += b"--" + used.encode() + sep + draw(_HEADS) + sep + draw(_SEPS) + draw(_BODIES)
        out += draw(st.sampled_from([b"\r\n", b"\n", b""]))
    out += draw(st.sampled_from([b"--" + used.encode() + b"--", b"--" + used.encode(), b""]))
    cut = draw(st.integers(0, 3))
    return ctype, out[: len(out) - cut] if cut < 3 else out


@settings(max_examples=400, deadline=None)
@given(_multipart())
def test_the_pre_check_against_sdp_bodies(case: tuple[str, bytes]) -> None:
    """Random part layouts, nested multiparts, truncated or wrong boundaries, types in any
    case, up to 70 parts: whenever the compiled check leaves a body out, sdp_bodies finds no
    SDP part in it and notes nothing."""
    _check_pre_check(*case)


class _Loose:
    """Counts kept in an instance dict (no slots): counted through getattr and setattr."""

    def __init__(self) -> None:
        self.sip_messages: Any = 0
        self.methods: Any = core.Counts()
        self.statuses: Any = core.Counts()
        self.transports: Any = core.Counts()


class _Watched(_Loose):
    def __setattr__(self, name: str, value: Any) -> None:
        super().__setattr__(name, value + 100 if name == "sip_messages" and value else value)


@dataclass(slots=True)
class _Slotted:
    sip_messages: Any = 0
    methods: Any = field(default_factory=core.Counts)
    statuses: Any = field(default_factory=core.Counts)
    transports: Any = field(default_factory=core.Counts)


@pytest.mark.parametrize("make", [_Loose, _Watched, _Slotted, core.Stats])
@pytest.mark.parametrize("start", [0, 2**63 - 2, 2**70, 1.5])
def test_counting_into_other_holders(make: Any, start: Any) -> None:
    """The message total read and written in its slot (or not: an instance dict, a class with
    its own __setattr__), past 2**63, a float: what Stats.count_message's += gives."""
    msgs = [_message("INVITE sip:x SIP/2.0", "1 INVITE"), _message("SIP/2.0 200 OK", "1 BYE")]
    python, made = make(), make()
    python.sip_messages = made.sip_messages = start
    for m in msgs * 2:
        core.Stats.count_message(python, m)  # type: ignore[arg-type]
        _compiled.sip_count_message(made, m, core.MAX_COUNTED_NAMES)
    assert _counts(made) == _counts(python)
    assert type(made.sip_messages) is type(python.sip_messages)


def test_a_slot_replaced_on_the_class_is_looked_up_again() -> None:
    """The slot offsets remembered per type are dropped when the type changes."""

    @dataclass(slots=True)
    class Holder:
        sip_messages: Any = 0
        methods: Any = field(default_factory=core.Counts)
        statuses: Any = field(default_factory=core.Counts)
        transports: Any = field(default_factory=core.Counts)

    m = _message("INVITE sip:x SIP/2.0", "1 INVITE")
    h = Holder()
    _compiled.sip_count_message(h, m, 10)
    assert h.sip_messages == 1
    written: list[Any] = []
    Holder.sip_messages = property(lambda self: 41, lambda self, v: written.append(v))  # type: ignore[assignment]
    _compiled.sip_count_message(h, m, 10)
    assert written == [42] and dict(h.methods) == {"INVITE": 2}


# -- the first messages of a direction (sip_deliver_chunk) -------------------------------------


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.name)
def test_first_messages_made_in_c_agree(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The whole messages at the start of a direction's bytes, made and delivered by
    ``sip_deliver_chunk`` (connection.py ``_deliver_whole``), give the same NDJSON and summary
    as when each goes to ``_deliver``, Python's parse and delivery."""
    made = _ndjson(path), views_summary(path)
    monkeypatch.setattr(connection, "_deliver_chunk", None)
    assert (_ndjson(path), views_summary(path)) == made


class _Summary:
    sip_messages = 0


class _Pipe:
    """What ``sip_deliver_chunk`` reads of a TcpConnectionPipeline: its hand (made on the
    first message) and ``_deliver`` for what is not made there."""

    def __init__(self, hand: bool) -> None:
        self._hand: Any = None
        self.hand = hand
        self.summary = _Summary()
        self.made: list[lazy.SipMessage] = []
        self.parsed: list[tuple[Any, ...]] = []

    def _make_hand(self) -> Any:
        if not self.hand:
            return None
        self._hand = (
            ("10.0.0.1", 5060), ("10.0.0.2", 5061), "TCP", 7, None, self.summary,
            self.made.append, None, 0, None,
        )  # fmt: skip
        return self._hand

    def _deliver(self, *args: Any) -> None:
        self.parsed.append(args)


def _sip(cseq: int, extra: str = "", body: str = "") -> bytes:
    return (
        f"MESSAGE sip:b@y SIP/2.0\r\nVia: SIP/2.0/TCP h;branch=z9hG4bK{cseq}\r\n"
        f"From: <sip:a@x>;tag=1\r\nTo: <sip:b@y>\r\nCall-ID: c\r\nCSeq: {cseq} MESSAGE\r\n"
        f"{extra}Content-Length: {len(body)}\r\n\r\n{body}"
    ).encode()


@pytest.mark.parametrize("hand", [True, False])
@pytest.mark.parametrize(
    "tail", [b"", b"\r\n", b"MESSAGE sip:b@y SIP/2.0\r\nVia: x", b"not a start line\r\n\r\n"]
)
def test_deliver_chunk_against_the_python_loop(hand: bool, tail: bytes) -> None:
    """``sip_deliver_chunk`` frames as ``sip_frame_chunk`` does; it makes the clean messages
    (as the fast path makes those it frames) and gives the others, or all of them when the
    pipe has no hand, to ``_deliver`` with the arguments ``_deliver_whole`` gives it."""
    chunk = (
        _sip(1)
        + b"\r\n"
        + _sip(2, "Call-ID: twice\r\n")  # a header given twice: parsed by Python
        + _sip(3, body="hello")
        + tail
    )
    consumed, found = _compiled.sip_frame_chunk(chunk, 1 << 16)
    pipe = _Pipe(hand)
    assert _compiled.sip_deliver_chunk(pipe, 1, chunk, 42, 1.5, 1 << 16) == consumed
    expect = [
        (1, chunk[start : start + size], 42, 42, 1.5, header_end, length)
        for start, size, header_end, length in found
    ]
    if not hand:
        assert pipe.made == [] and pipe.parsed == expect
        return
    assert [args[1] for args in pipe.parsed] == [expect[1][1]]
    assert pipe.parsed == [expect[1]]
    assert pipe.summary.sip_messages == 2
    for msg, (_, data, *_rest) in zip(pipe.made, [expect[0], expect[2]], strict=True):
        python = lazy.parse_message(data)
        assert (msg.raw, msg.method, msg.body, msg.call_id) == (
            python.raw, python.method, python.body, python.call_id,
        )  # fmt: skip
        assert (msg.frame, msg.first_frame, msg.time, msg.transport, msg.stream_id) == (
            42, 42, 1.5, "TCP", 7,
        )  # fmt: skip
        assert (msg.src, msg.dst) == (("10.0.0.2", 5061), ("10.0.0.1", 5060))


def test_deliver_chunk_takes_a_whole_chunk_as_it_is() -> None:
    """One message filling the chunk is made from the chunk itself (no copy)."""
    chunk = _sip(5)
    pipe = _Pipe(True)
    assert _compiled.sip_deliver_chunk(pipe, 0, chunk, 3, 0.25, 1 << 16) == len(chunk)
    assert len(pipe.made) == 1 and pipe.made[0].raw is chunk
    with pytest.raises(TypeError):
        _compiled.sip_deliver_chunk(pipe, 0, bytearray(chunk), 3, 0.25, 1 << 16)
