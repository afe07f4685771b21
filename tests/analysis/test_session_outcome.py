"""``Session.outcome`` (runs counted as they come, a status kept as a number) against the way
it was written first: a text per transaction, then the runs of equal texts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from lyncdump.analysis.sessions import Session, Transaction, _short_method


@dataclass
class _Response:
    status: int | None


def _runs(outcomes: list[str]) -> list[str]:
    """The first way's runs of equal texts: ``["200", "200", "200", "401"]`` →
    ``["200 ×3", "401"]``."""
    out: list[str] = []
    count = 0
    for i, outcome in enumerate(outcomes):
        count += 1
        if i + 1 == len(outcomes) or outcomes[i + 1] != outcome:
            out.append(f"{outcome} ×{count}" if count > 2 else ", ".join([outcome] * count))
            count = 0
    return out


def _first_way(session: Session) -> str:
    per_method: dict[str, list[str]] = {}
    for t in session.transactions:
        if t.method in ("ACK", "CANCEL"):
            continue
        if t.method == "BENOTIFY" and not t.responses:
            continue
        per_method.setdefault(t.method, []).append(t.outcome)
    return "; ".join(
        f"{_short_method(method)} → {', '.join(_runs(outs))}" for method, outs in per_method.items()
    )


_METHODS = ["INVITE", "REGISTER", "SUBSCRIBE", "BENOTIFY", "ACK", "CANCEL", "MESSAGE", "X" * 50]
_STATUSES = [None, 100, 180, 183, 199, 200, 200, 202, 401, 407, 487, 500, 603, 0, -1, 1000]


@st.composite
def _session(draw: st.DrawFn) -> Session:
    session = Session("c")
    for i in range(draw(st.integers(0, 12))):
        t = Transaction(draw(st.sampled_from(_METHODS)), i, None)
        t.responses = [
            _Response(s)  # type: ignore[misc]
            for s in draw(st.lists(st.sampled_from(_STATUSES), max_size=4))
        ]
        t.cancelled = draw(st.booleans())
        session.transactions.append(t)
    return session


@given(_session())
@settings(max_examples=2000, deadline=None)
def test_outcome_as_first_written(session: Session) -> None:
    assert session.outcome == _first_way(session)


def test_runs_and_mixed_outcomes() -> None:
    session = Session("c")
    specs: list[tuple[str, list[Any], bool]] = [
        ("REGISTER", [401], False),
        ("REGISTER", [401], False),
        ("REGISTER", [401], False),
        ("REGISTER", [200], False),
        ("INVITE", [100, 180], False),
        ("INVITE", [487], True),
        ("INVITE", [180], True),
        ("BENOTIFY", [], False),
        ("SUBSCRIBE", [], False),
        ("SUBSCRIBE", [], False),
    ]
    for i, (method, statuses, cancelled) in enumerate(specs):
        t = Transaction(method, i, None)
        t.responses = [_Response(s) for s in statuses]  # type: ignore[misc]
        t.cancelled = cancelled
        session.transactions.append(t)
    assert session.outcome == (
        "REGISTER → 401 ×3, 200; INVITE → 180 (no final), 487 after CANCEL, "
        "180 (no final) after CANCEL; SUBSCRIBE → no response, no response"
    )
    assert session.outcome == _first_way(session)
