"""The compiled session table (``_fastpath.SessionTable``) against the pure-Python builder.

Both builders are fed the same random message sequences (each its own copy of every message,
since matching flags retransmissions and reading headers notes defects); every step must give
the same sessions (the same messages in the same order, part, kind, transactions, counts and
flags), and the same ``len``, ``held``, ``early`` and ``open_since`` in between.
"""

from __future__ import annotations

import gc
import random
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lyncdump.analysis import sessions as sessions_mod
from lyncdump.analysis.sessions import PySessionBuilder, Session
from lyncdump.model import Endpoint
from lyncdump.sip.message import SipMessage, parse_message

pytestmark = pytest.mark.skipif(
    sessions_mod.SessionBuilder is PySessionBuilder, reason="the compiled fast path is not in use"
)

A = Endpoint("192.0.2.1", 5060)
B = Endpoint("192.0.2.2", 5060)

CALL_IDS = ["c1", "c2", "c3", "c4", "c5", "c6", None]  # None: no Call-ID header
REQUESTS = [
    "INVITE", "BYE", "ACK", "SUBSCRIBE", "NOTIFY", "BENOTIFY", "MESSAGE", "CANCEL", "INFO",
    "REGISTER", "OPTIONS", "SERVICE", "PUBLISH", "NEGOTIATE", "X-ODD",
]  # fmt: skip
STATUSES = [100, 180, 200, 202, 401, 486, 487]
GAPS = [0.0, 0.1, 0.9, 1.0, 1.1, 4.9, 5.0, 5.1, 31.9, 32.0, 32.1, 40.0]


class SubMessage(SipMessage):
    """A subclass: the table reads it by attribute, not at the slots' offsets."""

    __slots__ = ()


def sip_text(spec: dict[str, Any]) -> bytes:
    """The wire text of one message spec (see ``message_specs``)."""
    method = spec["cseq_method"]
    cseq = {
        "ok": f"CSeq: {spec['cseq']} {method}\n",
        "bad": "CSeq: x INVITE\n",
        "none": "",
    }[spec["cseq_kind"]]
    call_id = f"Call-ID: {spec['call_id']}\n" if spec["call_id"] is not None else ""
    via = f"Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK{spec['branch']}\n"
    body = ""
    extra = "" if spec.get("event") is None else f"Event: {spec['event']}\n"
    if spec["status"] is None:
        start = f"{spec['method']} sip:bob@example.com SIP/2.0\n"
        if spec["method"] == "INVITE" and spec["im"] == 1:
            extra += "Ms-Text-Format: text/plain; charset=UTF-8\n"
        elif spec["method"] == "INVITE" and spec["im"] == 2:
            body = "v=0\nm=message 5060 sip null\n"
            extra += "Content-Type: application/sdp\n"
        to = "To: <sip:bob@example.com>\n"
    else:
        start = f"SIP/2.0 {spec['status']} Whatever\n"
        to = "To: <sip:bob@example.com>;tag=b\n"
    text = (
        f"{start}{via}From: <sip:alice@example.com>;tag=a\n{to}{call_id}{cseq}{extra}"
        f"Content-Length: {len(body.replace(chr(10), chr(13) + chr(10)))}\n\n{body}"
    )
    return text.replace("\n", "\r\n").encode()


def make(spec: dict[str, Any]) -> SipMessage:
    m = parse_message(sip_text(spec), datagram=True)
    if spec["sub"]:
        m.__class__ = SubMessage
    request = spec["status"] is None
    m.src, m.dst = (A, B) if request else (B, A)
    m.time, m.frame, m.first_frame, m.transport = spec["time"], spec["frame"], spec["frame"], "UDP"
    return m


@st.composite
def message_spec(draw: st.DrawFn) -> dict[str, Any]:
    request = draw(st.booleans())
    cseq_method = draw(st.sampled_from(REQUESTS))
    return {
        "call_id": draw(st.sampled_from(CALL_IDS)),
        "status": None if request else draw(st.sampled_from(STATUSES)),
        "method": cseq_method,
        "cseq_method": cseq_method,
        "cseq": draw(st.integers(1, 3)),
        "cseq_kind": draw(st.sampled_from(["ok", "ok", "ok", "ok", "bad", "none"])),
        "branch": draw(st.integers(1, 2)),
        "im": draw(st.integers(0, 2)),
        "gap": draw(st.sampled_from([0.0, 0.0, 0.0, *GAPS])),  # ties of last activity too
        "untimed": draw(st.integers(0, 15)) == 0,
        # None: no frame; 2**70: past a C long long (the table sorts with the Python key then)
        "frame_shift": draw(st.sampled_from([0, 0, 0, -2, 1, None, 2**70])),
        "sub": draw(st.integers(0, 7)) == 0,
    }


operation = st.one_of(
    message_spec().map(lambda spec: ("add", spec)),
    st.sampled_from(GAPS).map(lambda gap: ("advance", gap)),
    st.just(("finish", None)),
)


def describe(session: Session, index: dict[int, int]) -> tuple[Any, ...]:
    """Everything a session holds, its messages by their place in the input."""
    txns = [
        (
            t.method,
            t.cseq,
            t.branch,
            index[id(t.request)] if t.request is not None else None,
            [index[id(r)] for r in t.responses],
            t.request_retransmissions,
            t.response_retransmissions,
            t.cancelled,
        )
        for t in session.transactions
    ]
    return (
        session.call_id,
        [index[id(m)] for m in session.messages],
        [(m.retransmission, [str(d) for d in m.defects]) for m in session.messages],
        session.part,
        session.kind,
        session.retransmissions,
        txns,
        session.diagnostics,
    )


class Twin:
    """One builder and the messages it was given."""

    def __init__(self, builder: Any) -> None:
        self.builder = builder
        self.index: dict[int, int] = {}
        self.keep: list[SipMessage] = []

    def out(self, sessions: list[Session]) -> list[tuple[Any, ...]]:
        return [describe(s, self.index) for s in sessions]

    def state(self) -> tuple[Any, ...]:
        b = self.builder
        return (
            len(b),
            b.held,
            b.early,
            b.open_since(calls_only=True),
            b.open_since(calls_only=False),
            b.open_since(),
        )


def drive(
    ops: list[tuple[str, Any]], twins: tuple[Twin, ...], maker: Any
) -> Iterator[tuple[int, str, list[list[Session]]]]:
    """Give every twin the same steps (each its own messages, made by ``maker``): yields the
    step's number, its name and what each twin's builder returned."""
    now = 0.0
    frame = 10
    for i, (op, arg) in enumerate(ops):
        if op == "add":
            now += arg["gap"]
            frame += 3
            spec = {
                **arg,
                "time": None if arg["untimed"] else now,
                "frame": None if arg["frame_shift"] is None else frame + arg["frame_shift"],
            }
            results = []
            for twin in twins:
                m = maker(spec)
                twin.index[id(m)] = i
                twin.keep.append(m)
                results.append(twin.builder.add(m))
        elif op == "advance":
            now += arg
            results = [twin.builder.advance(now) for twin in twins]
        else:
            results = [twin.builder.finish() for twin in twins]
        yield i, op, results


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    quiet=st.sampled_from([None, 2.0, 5.0, 32.0]),
    settle=st.sampled_from([None, 1.0, 5.0]),
    by_frame=st.booleans(),
    max_held=st.sampled_from([1, 2, 3, 5, 200_000]),
    recent=st.sampled_from([1, 2, 3, 100_000]),
    ops=st.lists(operation, max_size=60),
)
def test_compiled_table_matches_python(
    quiet: float | None,
    settle: float | None,
    by_frame: bool,
    max_held: int,
    recent: int,
    ops: list[tuple[str, Any]],
) -> None:
    run_twins(quiet, settle, by_frame, max_held, recent, ops)


def random_spec(rng: random.Random) -> dict[str, Any]:
    """What ``message_spec`` draws, from a seeded generator."""
    request = rng.random() < 0.5
    cseq_method = rng.choice(REQUESTS)
    return {
        "call_id": rng.choice(CALL_IDS),
        "status": None if request else rng.choice(STATUSES),
        "method": cseq_method,
        "cseq_method": cseq_method,
        "cseq": rng.randint(1, 3),
        "cseq_kind": rng.choice(["ok", "ok", "ok", "ok", "bad", "none"]),
        "branch": rng.randint(1, 2),
        "im": rng.randint(0, 2),
        "gap": rng.choice([0.0, 0.0, 0.0, *GAPS]),
        "untimed": rng.randint(0, 15) == 0,
        "frame_shift": rng.choice([0, 0, 0, -2, 1, None, 2**70]),
        "sub": rng.randint(0, 7) == 0,
    }


def test_compiled_table_matches_python_on_long_runs() -> None:
    """Longer sequences than hypothesis tends to draw (it favours short, simple ones): every
    case of the comparison above, 300 seeded runs of up to 80 steps."""
    rng = random.Random(20261207)
    for _ in range(300):
        ops: list[tuple[str, Any]] = []
        for _ in range(rng.randint(10, 80)):
            r = rng.random()
            if r < 0.8:
                ops.append(("add", random_spec(rng)))
            elif r < 0.95:
                ops.append(("advance", rng.choice(GAPS)))
            else:
                ops.append(("finish", None))
        run_twins(
            rng.choice([None, 2.0, 5.0, 32.0]),
            rng.choice([None, 1.0, 5.0]),
            rng.random() < 0.5,
            rng.choice([1, 2, 3, 5, 200_000]),
            rng.choice([1, 2, 3, 100_000]),
            ops,
        )


def run_twins(
    quiet: float | None,
    settle: float | None,
    by_frame: bool,
    max_held: int,
    recent: int,
    ops: list[tuple[str, Any]],
) -> None:
    """Both builders through ``ops``, compared after every step."""
    kwargs = {"settle": settle, "by_frame": by_frame, "max_held": max_held}
    # How many emitted Call-IDs each remembers (their part numbers): small ones forget.
    saved = sessions_mod._RECENT_IDS
    sessions_mod._RECENT_IDS = recent
    try:
        py = Twin(PySessionBuilder(quiet, **kwargs))
        c = Twin(sessions_mod.SessionBuilder(quiet, **kwargs))
    finally:
        sessions_mod._RECENT_IDS = saved
    assert (c.builder.quiet, c.builder.settle, c.builder.by_frame, c.builder.max_held) == (
        py.builder.quiet,
        py.builder.settle,
        py.builder.by_frame,
        py.builder.max_held,
    )
    for i, op, results in drive(ops, (py, c), make):
        got = [twin.out(found) for twin, found in zip((py, c), results, strict=True)]
        assert got[1] == got[0], (i, op)
        assert c.state() == py.state(), (i, op)
    assert c.out(c.builder.finish()) == py.out(py.builder.finish())
    assert c.state() == py.state()


def test_quiet_none_keeps_everything_until_finish() -> None:
    specs = [
        {"call_id": cid, "status": None, "method": "MESSAGE", "cseq_method": "MESSAGE",
         "cseq": 1, "cseq_kind": "ok", "branch": 1, "im": 0, "sub": False,
         "time": 100.0 * n, "frame": n}
        for n, cid in enumerate(["c1", "c2", "c1", "c3"])
    ]  # fmt: skip
    c = sessions_mod.SessionBuilder()
    for spec in specs:
        assert c.add(make(spec)) == []
    assert (len(c), c.held, c.advance(1e9)) == (3, 4, [])
    assert [(s.call_id, len(s.messages), s.part) for s in c.sessions()] == [
        ("c1", 2, 1),
        ("c2", 1, 1),
        ("c3", 1, 1),
    ]
    assert (len(c), c.held) == (0, 0)


def test_a_dropped_half_full_table_releases_its_messages() -> None:
    spec = {"call_id": "c1", "status": None, "method": "INVITE", "cseq_method": "INVITE",
            "cseq": 1, "cseq_kind": "ok", "branch": 1, "im": 0, "sub": False,
            "time": 1.0, "frame": 1}  # fmt: skip
    messages = []
    for n, cid in enumerate(["c1", "c2", "c1", None]):
        messages.append(make({**spec, "call_id": cid, "time": 1.0 + n, "frame": n}))
    before = [sys.getrefcount(m) for m in messages]
    b = sessions_mod.SessionBuilder(5.0)
    for message in messages:
        b.add(message)
    del message
    assert len(b) == 3
    assert [sys.getrefcount(m) for m in messages] != before
    del b
    gc.collect()
    assert [sys.getrefcount(m) for m in messages] == before


def test_an_error_in_a_message_read_leaves_the_table_usable() -> None:
    class Broken(SipMessage):
        __slots__ = ()

        @property
        def call_id(self) -> str | None:
            raise RuntimeError("no")

    spec = {"call_id": "c1", "status": None, "method": "MESSAGE", "cseq_method": "MESSAGE",
            "cseq": 1, "cseq_kind": "ok", "branch": 1, "im": 0, "sub": False,
            "time": 1.0, "frame": 1}  # fmt: skip
    b = sessions_mod.SessionBuilder(5.0)
    b.add(make(spec))
    broken = make({**spec, "time": 2.0})
    broken.__class__ = Broken
    with pytest.raises(RuntimeError):
        b.add(broken)
    assert (len(b), b.held) == (1, 1)
    out = b.add(make({**spec, "call_id": "c2", "time": 30.0}))
    assert [s.call_id for s in out] == ["c1"]
    assert [s.call_id for s in b.finish()] == ["c2"]
    assert (len(b), b.held) == (0, 0)


EVENTS = [
    None, "presence", "Presence ; id=1", "  vnd-microsoft-roaming-self", "PRESENCE.WPENDING",
    "vnd-microsoft-provisioning-v2;x", "dialog", "", ";presence", "présence", "presence\x1f",
    "vnd-microsoft-roaming-contactsX", "registration",
]  # fmt: skip


def event_message(method: str, event: str | None, how: int, call_id: str) -> SipMessage:
    """A first request of an event package; how: 0 as parsed, 1 its Event read before, 2 its
    headers parsed whole, 3 a subclass, 4 Event given twice, 5 the compact form."""
    name = "o" if how == 5 else "Event"
    lines = "" if event is None else f"{name}: {event}\r\n" * (2 if how == 4 else 1)
    data = (
        f"{method} sip:bob@example.com SIP/2.0\r\nVia: SIP/2.0/TCP h;branch=z9hG4bK1\r\n"
        f"From: <sip:a@b>;tag=1\r\nTo: <sip:c@d>\r\nCall-ID: {call_id}\r\n"
        f"CSeq: 1 {method}\r\n{lines}Content-Length: 0\r\n\r\n"
    ).encode()
    m = parse_message(data)
    if how == 1:
        m.header("Event")
    elif how == 2:
        m.headers  # noqa: B018
    elif how == 3:
        m.__class__ = SubMessage
    m.time, m.frame = 1.0, 1
    return m


def test_event_package_kinds_match_python() -> None:
    """The kind of a session opened by SUBSCRIBE, NOTIFY, BENOTIFY or PUBLISH, read in C from
    the Event header (scanned for as _view_values scans), is the Python's, and the message
    is left as the Python leaves it (its index, lookups)."""
    for method in ("SUBSCRIBE", "NOTIFY", "BENOTIFY", "PUBLISH"):
        for event in EVENTS:
            for how in range(6):
                got = []
                for builder in (PySessionBuilder(), sessions_mod.SessionBuilder()):
                    m = event_message(method, event, how, f"{method}{event}{how}")
                    builder.add(m)
                    (session,) = builder.finish()
                    got.append((session.kind, m._index, m._lookups, m._complete))
                assert got[1] == got[0], (method, event, how)


def test_event_kinds_without_the_view_names() -> None:
    """A table not given sip/message.py's view names asks the Python _kind."""
    table = sessions_mod.fastpath.helper("SessionTable")
    builder = table(
        None, None, True, 100, Session, sessions_mod.Transaction, SipMessage,
        sessions_mod._UNSET, sessions_mod._kind, sessions_mod._invite_is_im,
        sessions_mod._frame_key, 100,
    )  # fmt: skip
    builder.add(event_message("SUBSCRIBE", "presence", 0, "x"))
    assert [s.kind for s in builder.finish()] == ["presence"]
    with pytest.raises(TypeError):
        table(
            None, None, True, 100, Session, sessions_mod.Transaction, SipMessage,
            sessions_mod._UNSET, sessions_mod._kind, sessions_mod._invite_is_im,
            sessions_mod._frame_key, 100, view=({}, b"x"),
        )  # fmt: skip


def test_event_kinds_are_read_in_c() -> None:
    """A plain ASCII Event value, read or not yet, needs no call of the Python _kind (one
    whose headers were parsed whole is looked up by the Python, as _values does then)."""
    asked: list[Any] = []

    def kind(first: Any, invite: bool) -> str:
        asked.append(first)
        return sessions_mod._kind(first, invite)

    table = sessions_mod.fastpath.helper("SessionTable")
    from lyncdump.sip import message as lazy

    builder = table(
        None, None, True, 100, Session, sessions_mod.Transaction, SipMessage,
        sessions_mod._UNSET, kind, sessions_mod._invite_is_im, sessions_mod._frame_key, 100,
        view=(lazy._VIEW_LOWER, lazy._VIEW_SCANNED),
    )  # fmt: skip
    for i, event in enumerate(["presence", "dialog;x", None]):
        for how in (0, 1, 4, 5):
            builder.add(event_message("SUBSCRIBE", event, how, f"e{i}{how}"))
    kinds = [s.kind for s in builder.finish()]
    assert kinds == ["presence"] * 4 + ["subscription"] * 8
    assert asked == []
    builder.add(event_message("SUBSCRIBE", "presence", 2, "w"))
    assert [s.kind for s in builder.finish()] == ["presence"]
    assert len(asked) == 1
    asked.clear()
    builder.add(event_message("SUBSCRIBE", "présence", 0, "u"))
    builder.add(event_message("SUBSCRIBE", "presence", 3, "s"))
    assert [s.kind for s in builder.finish()] == ["subscription", "presence"]
    assert len(asked) == 2


# -- counting mode (count_only=True, for --summary) ---------------------------------------------

#: How a counting-mode spec's message is read before the table takes it: 0 not at all, 1 its
#: From/To checked and its defects taken (what sip_make and the connection leave), 2 that and
#: its To built (a To tag read notes nothing then), 3 that and its Via list read, 4 only its
#: From/To checked (defects left to take).
PREPS = [0, 1, 1, 1, 2, 2, 3, 4]
COUNT_EVENTS = [None, None, "presence", "dialog", "Presence;x", "présence"]


def count_spec(rng: random.Random) -> dict[str, Any]:
    """``random_spec`` with what counting mode looks at: how far the message was read before
    (``prep``), an Event header, more requests and responses of one transaction (repeats)."""
    spec = random_spec(rng)
    spec["sub"] = rng.randint(0, 15) == 0
    spec["prep"] = rng.choice(PREPS)
    spec["event"] = rng.choice(COUNT_EVENTS)
    if rng.random() < 0.3:  # the CSeq of an event package, repeated often
        spec["method"] = spec["cseq_method"] = rng.choice(["SUBSCRIBE", "BENOTIFY", "NOTIFY"])
    return spec


def count_make(spec: dict[str, Any]) -> SipMessage:
    m = make(spec)
    prep = spec.get("prep", 0)
    if prep:
        m.note_address_defects()
        if prep != 4:
            m.take_new_defects()
        if prep == 2:
            m.to  # noqa: B018
        elif prep == 3:
            m.via  # noqa: B018
            m.take_new_defects()
    return m


def run_counting(
    quiet: float | None,
    settle: float | None,
    by_frame: bool,
    max_held: int,
    recent: int,
    ops: list[tuple[str, Any]],
) -> tuple[int, int]:
    """A counting table and a normal one (both compiled) through ``ops``: after every step
    the counting one's sessions are the normal one's (the same, in the same order) less
    those it counted, and each it left out is one counting may leave out: not a call, with
    nothing for Pipeline._emit to note or take (sip_to_note gives none), its kind (first
    parts) and retransmissions what counted() grew by. ``len``, ``held``, ``early`` and
    ``open_since`` stay the same. Returns how many sessions were counted, and their
    retransmissions."""
    to_note = sessions_mod.fastpath.helper("sip_to_note")
    kwargs = {"settle": settle, "by_frame": by_frame, "max_held": max_held}
    saved = sessions_mod._RECENT_IDS
    sessions_mod._RECENT_IDS = recent
    try:
        normal = Twin(sessions_mod.SessionBuilder(quiet, **kwargs))
        counting = Twin(sessions_mod.SessionBuilder(quiet, count_only=True, **kwargs))
    finally:
        sessions_mod._RECENT_IDS = saved
    assert (normal.builder.count_only, counting.builder.count_only) == (False, True)
    kinds: dict[str, int] = {}
    retransmissions = 0
    left_out = 0

    def compare(all_: list[Session], some: list[Session], where: Any) -> None:
        nonlocal retransmissions, left_out
        got = counting.out(some)
        it = iter(got)
        pending = next(it, None)
        for session, described in zip(all_, normal.out(all_), strict=True):
            if described == pending:
                pending = next(it, None)
                continue
            # Left out: counted.
            assert session.kind != "call", where
            assert list(to_note(session.messages)) == [], where
            left_out += 1
            if session.part == 1:
                kinds[session.kind] = kinds.get(session.kind, 0) + 1
            retransmissions += session.retransmissions
        assert pending is None, where  # every session of the counting table was matched
        assert counting.builder.counted() == (kinds, retransmissions), where
        assert counting.state() == normal.state(), where

    for i, op, out in drive(ops, (normal, counting), count_make):
        compare(out[0], out[1], (i, op))
    compare(normal.builder.finish(), counting.builder.finish(), "end")
    return left_out, retransmissions


def count_ops(rng: random.Random, steps: int) -> list[tuple[str, Any]]:
    """Random steps; a quarter of the messages repeat an earlier one (a retransmission when
    it comes from the same side), read as far as another."""
    ops: list[tuple[str, Any]] = []
    added: list[dict[str, Any]] = []
    for _ in range(steps):
        r = rng.random()
        if r < 0.8:
            spec = count_spec(rng)
            if added and rng.random() < 0.25:
                spec = {**rng.choice(added[-4:]), "prep": spec["prep"], "gap": spec["gap"]}
            added.append(spec)
            ops.append(("add", spec))
        elif r < 0.95:
            ops.append(("advance", rng.choice(GAPS)))
        else:
            ops.append(("finish", None))
    return ops


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    quiet=st.sampled_from([None, 2.0, 5.0, 32.0]),
    settle=st.sampled_from([None, 1.0, 5.0]),
    by_frame=st.booleans(),
    max_held=st.sampled_from([1, 2, 3, 5, 200_000]),
    recent=st.sampled_from([1, 2, 3, 100_000]),
    seed=st.integers(0, 2**32 - 1),
    steps=st.integers(0, 60),
)
def test_counting_table_counts_what_a_normal_table_emits(
    quiet: float | None,
    settle: float | None,
    by_frame: bool,
    max_held: int,
    recent: int,
    seed: int,
    steps: int,
) -> None:
    run_counting(quiet, settle, by_frame, max_held, recent, count_ops(random.Random(seed), steps))


def test_counting_table_on_long_runs() -> None:
    """300 seeded runs of up to 80 steps; enough sessions are counted (and enough are not)
    for the comparison to mean something."""
    rng = random.Random(20261207 + 14)
    counted = retransmissions = 0
    for _ in range(300):
        n, r = run_counting(
            rng.choice([None, 2.0, 5.0, 32.0]),
            rng.choice([None, 1.0, 5.0]),
            rng.random() < 0.5,
            rng.choice([1, 2, 3, 5, 200_000]),
            rng.choice([1, 2, 3, 100_000]),
            count_ops(rng, rng.randint(10, 80)),
        )
        counted += n
        retransmissions += r
    assert (counted > 300, retransmissions > 30) == (True, True), (counted, retransmissions)


def counted_spec(**changes: Any) -> dict[str, Any]:
    spec = {"call_id": "c1", "status": None, "method": "REGISTER", "cseq_method": "REGISTER",
            "cseq": 1, "cseq_kind": "ok", "branch": 1, "im": 0, "sub": False, "prep": 1,
            "time": 1.0, "frame": 1}  # fmt: skip
    spec.update(changes)
    return spec


def test_counting_mode_counts_retransmissions_and_parts() -> None:
    """A REGISTER sent twice (one retransmission), its response twice with the To built (the
    tags compared in C: another), a later part of the same Call-ID; an INVITE (a call) and a
    group with a defect left to take are emitted."""
    b = sessions_mod.SessionBuilder(5.0, count_only=True)
    for spec in (
        counted_spec(),
        counted_spec(frame=2),
        counted_spec(status=200, frame=3, prep=2),
        counted_spec(status=200, frame=4, prep=2),
        counted_spec(call_id="c2", method="INVITE", cseq_method="INVITE", frame=5),
        # a malformed CSeq, noted when parsed and not taken: a defect left to take
        counted_spec(
            call_id="c3", method="MESSAGE", cseq_method="MESSAGE", frame=6, cseq_kind="bad", prep=4
        ),
    ):
        assert b.add(count_make(spec)) == []
    out = b.add(count_make(counted_spec(time=10.0, frame=7, cseq=2)))
    assert sorted((s.call_id, s.kind) for s in out) == [("c2", "call"), ("c3", "im")]
    assert b.counted() == ({"registration": 1}, 2)
    assert b.finish() == []
    assert b.counted() == ({"registration": 1}, 2)  # a second part: no new session
    assert (len(b), b.held) == (0, 0)


def test_a_checked_to_tag_is_not_read_by_counting() -> None:
    """Two equal responses whose To was only checked: telling them apart builds the To,
    which could note something: the session is built, as without counting mode."""
    b = sessions_mod.SessionBuilder(5.0, count_only=True)
    messages = [
        count_make(counted_spec()),
        count_make(counted_spec(status=200, frame=3)),
        count_make(counted_spec(status=200, frame=4)),
    ]
    for m in messages:
        b.add(m)
    (session,) = b.finish()
    assert (session.kind, session.retransmissions) == ("registration", 1)
    assert b.counted() == ({}, 0)


def test_the_python_builder_takes_count_only_and_counts_nothing() -> None:
    b = PySessionBuilder(5.0, count_only=True)
    b.add(count_make(counted_spec()))
    assert [s.kind for s in b.finish()] == ["registration"]
    assert (b.count_only, b.counted()) == (False, ({}, 0))


def test_counting_mode_reads_event_kinds_as_the_table_does() -> None:
    """A counting table names an event package's kind from the Event header without changing
    the message (it is dropped once counted): the same kinds as a normal table, for every
    value and way the message was read before; those it cannot tell (a value not plain
    ASCII, headers parsed whole, a subclass) are built, and read as a normal table reads
    them."""
    for method in ("SUBSCRIBE", "NOTIFY", "BENOTIFY", "PUBLISH"):
        for event in EVENTS:
            for how in range(6):
                got = []
                for count in (False, True):
                    builder = sessions_mod.SessionBuilder(count_only=count)
                    m = event_message(method, event, how, f"{method}{event}{how}")
                    m.note_address_defects()
                    m.take_new_defects()
                    state = (m._index and dict(m._index), m._lookups)
                    builder.add(m)
                    out = builder.finish()
                    kinds, _ = builder.counted()
                    if out:
                        (session,) = out
                        got.append((session.kind, m._index, m._lookups))
                    else:
                        (kind,) = kinds
                        assert (m._index and dict(m._index), m._lookups) == state
                        got.append((kind, None, None))
                if got[1][1] is None:  # counted: the kind alone is compared
                    assert got[1][0] == got[0][0], (method, event, how)
                else:
                    assert got[1] == got[0], (method, event, how)
