"""A single input's report joins its calls in a call window (report/data.py ``consume``), as
``--json`` does, instead of keeping every INVITE session whole until the input ends.

The oracle is the way ``consume`` worked before, kept here: every call session held to the
end, then joined at once (``calls_of``) and turned into records with the streams
(``ReportData._media``). The documents must be equal on every sample capture, filtered and
not, and on a generated capture with more calls than the window holds (calls let go while
the input runs).
"""

from __future__ import annotations

import io
from typing import Any

import pytest

import lyncdump
from lyncdump.analysis import call_window
from lyncdump.analysis.registration import FollowUps
from lyncdump.analysis.sessions import Session
from lyncdump.pipeline import InputFinished, MessageDecoded, SessionFinished
from lyncdump.render.views import calls_of
from lyncdump.report.data import ReportData

from ..analysis.test_call_window import _sequential_calls
from ..conftest import CAPTURES

SAMPLES = sorted(
    p.name
    for p in CAPTURES.iterdir()
    if p.suffix in (".pcap", ".pcapng", ".gz") and not p.name.endswith((".keys", ".args"))
)


def _keep_all(data: ReportData, events: Any, matches: Any, filtered: bool) -> None:
    """``ReportData.consume`` as it was: every call session kept, joined at the end."""
    index = len(data.inputs)
    first_diagnostic = len(data.diagnostics)
    follow = FollowUps()
    call_sessions: list[Session] = []
    shown_calls: set[int] = set()
    end = None
    for event in events:
        kind = type(event)
        if kind is MessageDecoded:
            follow.message(event.message)
        elif kind is SessionFinished:
            follow.finished(event.pipeline)
            session = event.session
            if session.kind == "call":
                call_sessions.append(session)
            if not matches(session):
                continue
            if session.kind == "call":
                shown_calls.add(id(session))
            data._session(session, follow, index, session.diagnostics)
        elif kind is InputFinished:
            end = event
    assert end is not None
    pipeline = end.pipeline
    found = pipeline.diagnostics()
    data._diagnostics_alone(found, index, ())
    data._name_hosts(found, first_diagnostic)
    calls = calls_of(pipeline, call_sessions)
    data._media(
        index,
        [c for c in calls if id(c.session) in shown_calls],
        pipeline.streams(),
        pipeline.ice_sessions(),
        pipeline.allocations(),
        filtered,
    )
    data._input(pipeline, index)


def _documents(source: Any, matches: Any = None) -> tuple[dict[str, Any], dict[str, Any]]:
    def events() -> Any:
        src = io.BytesIO(source) if isinstance(source, bytes) else source
        return lyncdump.stream(src, messages=True, stun_messages=False)

    filtered = matches is not None
    pick = matches or (lambda _s: True)
    streamed = ReportData()
    streamed.consume(events(), matches=pick, filtered=filtered)
    whole = ReportData()
    _keep_all(whole, events(), pick, filtered)
    return streamed.document(), whole.document()


def _calls_only(s: Session) -> bool:
    return s.kind == "call"


@pytest.mark.parametrize("name", SAMPLES)
@pytest.mark.parametrize("matches", [None, _calls_only], ids=["all", "calls"])
def test_sample_reports_equal_the_whole_join(name: str, matches: Any) -> None:
    streamed, whole = _documents(CAPTURES / name, matches)
    assert streamed == whole


@pytest.mark.parametrize("matches", [None, _calls_only], ids=["all", "calls"])
def test_calls_let_go_while_the_input_runs_give_the_same_report(
    matches: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(call_window, "CALL_WINDOW", 4)
    monkeypatch.setattr(call_window, "_SETTLE_EVERY", 2)
    data = _sequential_calls(40)
    let_go: list[int] = []
    real_add = call_window.CallWindow.add

    def add(self: Any, session: Any, pipeline: Any) -> Any:
        out = real_add(self, session, pipeline)
        let_go.append(len(out))
        return out

    monkeypatch.setattr(call_window.CallWindow, "add", add)
    streamed, whole = _documents(data, matches)
    assert sum(let_go) > 20  # most calls became records before the input ended
    assert len(streamed["calls"]) == 40
    assert streamed == whole
