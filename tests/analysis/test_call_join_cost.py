"""What a long run's call join costs: each call's SDP read once, each call joined about twice,
a join reading only the streams found since the last one, and ICE sessions and TURN
allocations found through indexes (analysis/calls.py, analysis/call_window.py).

The indexed ICE and TURN joins are checked against the loops they replaced (kept here as the
oracle: every ICE session against every call, every allocation against every call) on
random calls whose addresses and ufrags overlap.
"""

from __future__ import annotations

import io
import random
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import lyncdump
from lyncdump.analysis import calls as calls_module
from lyncdump.analysis.calls import Call, _join_allocations, _join_ice
from lyncdump.analysis.ice import Allocation, CandidatePair, IceSession
from lyncdump.analysis.sessions import Session
from lyncdump.model import Endpoint
from lyncdump.pipeline.core import Pipeline
from lyncdump.render import views

from .test_call_window import _sequential_calls


# -- the oracle: the loops the indexes replaced ------------------------------------------------
def _join_ice_loops(calls: list[Call], ice_sessions: list[IceSession]) -> None:
    for ice in ice_sessions:
        best: Call | None = None
        if ice.ufrags:
            for call in calls:
                if set(ice.ufrags) & call.ufrags:
                    best = call
        if best is None:
            for call in calls:
                if any(p.local in call.addresses or p.remote in call.addresses for p in ice.pairs):
                    best = call
        if best is not None:
            best.ice.append(ice)
            for p in ice.pairs:
                best.addresses.add(p.local)
                best.addresses.add(p.remote)


def _join_allocations_loops(calls: list[Call], allocations: list[Allocation]) -> None:
    for a in allocations:
        for call in calls:
            permitted = [p for p in a.permissions if p in call.addresses]
            if (
                any(r in call.addresses for r in a.relayed)
                or (a.active_destination is not None and a.active_destination in call.addresses)
                or permitted
            ):
                call.allocations.append(a)
                call.addresses.update(a.relayed)
                if permitted:
                    call.permissions[a.id] = permitted
                break


def _world(seed: int) -> tuple[list[Call], list[IceSession], list[Allocation]]:
    """Calls, ICE sessions and allocations drawn from a few addresses and ufrags, so that
    many of them share one (the cases where the order of the loops decides)."""
    rng = random.Random(seed)
    eps = [Endpoint(f"10.0.0.{i}", 5000 + i) for i in range(12)]
    ufrags = [f"u{i}" for i in range(6)]
    calls = []
    for i in range(rng.randint(0, 8)):
        c = Call(f"c{i}", Session(f"c{i}"))
        c.addresses = set(rng.sample(eps, rng.randint(0, 3)))
        c.ufrags = set(rng.sample(ufrags, rng.randint(0, 2)))
        calls.append(c)
    ices = []
    for i in range(rng.randint(0, 8)):
        pairs = [
            CandidatePair(rng.choice(eps), rng.choice(eps), "UDP") for _ in range(rng.randint(0, 3))
        ]
        ices.append(IceSession(i + 1, tuple(rng.sample(ufrags, rng.randint(0, 2))), pairs=pairs))
    allocs = []
    for i in range(rng.randint(0, 6)):
        a = Allocation(i + 1, rng.choice(eps), rng.choice(eps), "UDP", "rfc5766")
        a.relayed = rng.sample(eps, rng.randint(0, 2))
        a.permissions = rng.sample(eps, rng.randint(0, 2))
        a.active_destination = rng.choice([None, *eps])
        allocs.append(a)
    return calls, ices, allocs


def _outcome(calls: list[Call]) -> list[Any]:
    return [
        (
            [i.id for i in c.ice],
            [a.id for a in c.allocations],
            sorted(map(str, c.addresses)),
            {k: [str(e) for e in v] for k, v in c.permissions.items()},
        )
        for c in calls
    ]


@settings(max_examples=300, deadline=None)
@given(st.integers(min_value=0, max_value=2**32))
def test_indexed_ice_and_turn_joins_match_the_loops(seed: int) -> None:
    calls, ices, allocs = _world(seed)
    _join_ice(calls, ices)
    _join_allocations(calls, allocs)
    oracle, ices2, allocs2 = _world(seed)
    _join_ice_loops(oracle, ices2)
    _join_allocations_loops(oracle, allocs2)
    assert _outcome(calls) == _outcome(oracle)


# -- the window's cost --------------------------------------------------------------------------
def test_a_long_run_reads_each_calls_sdp_once_and_joins_it_about_twice(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    n = 300
    data = _sequential_calls(n)
    prepared: list[str] = []
    copies: list[str] = []
    listed: list[int] = []
    real_prepare, real_copy = calls_module.prepare_call, calls_module.unjoined_copy
    real_streams = Pipeline.streams

    def prepare(session: Session) -> Call:
        prepared.append(session.call_id)
        return real_prepare(session)

    def copy(call: Call) -> Call:
        copies.append(call.call_id)
        return real_copy(call)

    def streams(self: Pipeline) -> Any:
        listed.append(1)
        return real_streams(self)

    monkeypatch.setattr(calls_module, "prepare_call", prepare)
    monkeypatch.setattr(calls_module, "unjoined_copy", copy)
    monkeypatch.setattr(Pipeline, "streams", streams)
    lines: list[str] = []
    views.ndjson_view(lyncdump.stream(io.BytesIO(data)), lines.append)
    assert sorted(prepared) == sorted(f"c{k}" for k in range(n))  # once each
    # Each call is joined with its own group and with about one group before it.
    assert n <= len(copies) <= 3 * n
    # The whole list of streams is read once, for the stream records at the end.
    assert len(listed) == 1
    assert sum(line.startswith('{"record":"call"') for line in lines) == n


# -- ICE pairs carry the time of their first check -----------------------------------------------
@pytest.mark.parametrize("name", ["lync-av-call.pcapng", "lync-turn-tcp443.pcap"])
def test_ice_checks_are_dated_without_the_kept_stun_messages(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A call dates its ICE pairs by the pairs' own first check, not by looking the frame up
    among the STUN messages kept for output (which stop at their bound)."""
    from lyncdump.media import stun_pipeline

    from ..conftest import CAPTURES

    (whole,) = lyncdump.open(CAPTURES / name).calls()
    assert whole.check_times
    frames = {p.first_frame: p.first_time for ice in whole.ice for p in ice.pairs}
    assert all(frames[f] == t for f, t in whole.check_times.items())
    monkeypatch.setattr(stun_pipeline, "MAX_MESSAGES", 0)
    cap = lyncdump.open(CAPTURES / name)
    (bounded,) = cap.calls()
    assert not cap.stun_messages()
    assert bounded.check_times == whole.check_times
