"""The compiled fast path's delivery of the clear SIP messages it makes (_fastpath.c
``mk_deliver``): it counts them as ``Stats.count_message`` does, and hands a body on to the
media layer only when ``MediaPipeline.sip_message`` may do something with it. Both are
compared with the Python code they stand for."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import lyncdump
from lyncdump import fastpath
from lyncdump.capture import open_input
from lyncdump.errors import MalformedError
from lyncdump.media.ice_words import ice_words_py
from lyncdump.media.stats import sdp_bodies
from lyncdump.pipeline import core
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
    no SDP part, not multipart); every body it lets through that Python would look at too."""
    for data, datagram, handover in recorded(path):
        try:
            msg = lazy.parse_message(data, datagram=datagram, **handover)
        except MalformedError:
            continue
        body = msg.body
        if _may_matter_in_python(msg, body):
            assert _gate(msg, body), data[:300]
        elif not _gate(msg, body):
            assert sdp_bodies(msg, body) == [] and not ice_words_py(body)


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
