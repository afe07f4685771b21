"""The result types work with the tools people reach for (issue 18): ``to_dict()`` gives the
documented JSON, dataclasses convert with ``dataclasses.asdict``, everything pickles (for
multiprocessing), ``typing.get_type_hints`` resolves, and the package says it is typed."""

from __future__ import annotations

import dataclasses
import inspect
import json
import pickle
import typing
from collections import Counter
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import lyncdump
from lyncdump.analysis.calls import Call
from lyncdump.analysis.ice import Allocation, CandidatePair, IceSession, PeerTraffic
from lyncdump.analysis.im import Conversation, ImEvent
from lyncdump.analysis.offer_answer import Exchange, NegotiatedMedia
from lyncdump.analysis.registration import Registration, RoundTrip
from lyncdump.capture.tracelog import LogEvent
from lyncdump.cli import command
from lyncdump.media.stats import StreamStats
from lyncdump.media.stun import StunMessage
from lyncdump.pipeline import InputFinished, LogRecord, MessageDecoded, Pipeline, SessionFinished

from ..conftest import CAPTURES, corpus_dir

SAMPLES = sorted(
    p for p in CAPTURES.iterdir() if p.suffix in (".pcap", ".pcapng", ".log", ".uccapilog")
)
_CORPUS = corpus_dir()
CORPUS = (
    sorted(p for p in _CORPUS.iterdir() if p.is_file() and p.suffix != ".md") if _CORPUS else []
)


def _ndjson(path: Path) -> list[dict[str, Any]]:
    result = CliRunner().invoke(command, ["--json", str(path)])
    assert result.exit_code in (0, 2), result.output
    records = [json.loads(line) for line in result.output.splitlines()]
    for r in records:
        del r["source"]
    return [r for r in records if r["record"] != "input"]


def _results(cap: lyncdump.Capture) -> dict[str, list[Any]]:
    sessions = cap.sessions()
    conversations = cap.conversations()
    return {
        "messages": cap.messages(),
        "sessions": sessions,
        "transactions": [t for s in sessions for t in s.transactions],
        "calls": cap.calls(),
        "streams": cap.streams(),
        "stun": cap.stun_messages(),
        "allocations": cap.allocations(),
        "ice": cap.ice_sessions(),
        "pairs": [p for x in cap.ice_sessions() for p in x.pairs],
        "registrations": cap.registrations(),
        "conversations": conversations,
        "im_events": [e for c in conversations for e in c.events],
        "defects": list(cap.defects),
        "connections": cap.connections,
        "log_events": cap.log_events,
    }


def _check_to_dict(path: Path) -> None:
    """Every result's to_dict() is the record (or object) ``lyncdump --json`` writes."""
    records = _ndjson(path)
    by_kind: dict[str, list[dict[str, Any]]] = {}
    for r in records:
        by_kind.setdefault(r["record"], []).append(r)
    cap = lyncdump.open(path)
    sessions = cap.sessions()
    got = {s.call_id: s.to_dict(others=sessions) for s in sessions}
    parts = Counter(r["call_id"] for r in by_kind.get("session", []))
    for record in by_kind.get("session", []):
        if parts[record["call_id"]] == 1:
            assert got[record["call_id"]] == record
    assert [m.to_dict() for m in cap.stun_messages()] == by_kind.get("stun", [])
    assert [a.to_dict() for a in cap.allocations()] == by_kind.get("turn_allocation", [])
    assert [x.to_dict() for x in cap.ice_sessions()] == by_kind.get("ice_session", [])
    assert [st.to_dict() for st in cap.streams()] == by_kind.get("stream", [])
    assert [c.to_dict() for c in cap.calls()] == by_kind.get("call", [])
    (capture,) = by_kind["capture"]
    assert [c.to_dict() for c in cap.connections] == capture["connections"]
    defects = sorted(capture["defects"], key=lambda d: (d["frame"] or 0, d["layer"], d["reason"]))
    found = [d.to_dict() for d in cap.defects]
    assert sorted(found, key=lambda d: (d["frame"] or 0, d["layer"], d["reason"])) == defects
    # The objects nested in records.
    written = [m for r in by_kind.get("session", []) for m in r["messages"]]
    mine = [m.to_dict() for m in cap.messages()]
    assert sorted(map(json.dumps, mine)) == sorted(map(json.dumps, written))
    # A Call-ID that came back is several session records; compare the whole ones.
    whole = {r["call_id"]: r for r in by_kind.get("session", []) if r["part"] == 1}
    whole = {
        k: r
        for k, r in whole.items()
        if not any(x["part"] > 1 and x["call_id"] == k for x in by_kind["session"])
    }
    for reg in cap.registrations():
        if reg.call_id in whole:
            assert reg.to_dict() == whole[reg.call_id]["registration"]
    for conv in cap.conversations():
        if conv.call_id in whole:
            assert conv.to_dict() == whole[conv.call_id]["conversation"]
            assert [e.to_dict() for e in conv.events] == whole[conv.call_id]["conversation"][
                "events"
            ]


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.name)
def test_to_dict_is_the_documented_json_on_samples(path: Path) -> None:
    _check_to_dict(path)


@pytest.mark.parametrize("path", CORPUS, ids=lambda p: p.name)
def test_to_dict_is_the_documented_json_on_the_corpus(path: Path) -> None:
    _check_to_dict(path)


def _check_tools(path: Path) -> None:
    cap = lyncdump.open(path)
    results = _results(cap)
    for name, items in results.items():
        for item in items:
            if dataclasses.is_dataclass(item):
                plain = dataclasses.asdict(item)  # no "unhashable type: 'dict'"
                assert isinstance(plain, dict), name
            twin = pickle.loads(pickle.dumps(item))
            assert type(twin) is type(item)
            if hasattr(item, "to_dict"):
                assert twin.to_dict() == item.to_dict(), name


@pytest.mark.parametrize("path", SAMPLES + CORPUS, ids=lambda p: p.name)
def test_results_convert_with_asdict_and_pickle(path: Path) -> None:
    _check_tools(path)


def test_asdict_of_a_relayed_call_keeps_its_allocation_peers() -> None:
    cap = lyncdump.open(CAPTURES / "lync-av-call.pcapng")
    alloc = [a for a in cap.allocations() if a.peers][0]
    plain = dataclasses.asdict(alloc)
    assert plain["peers"].keys() == alloc.peers.keys()
    assert all(isinstance(k, str) and ":" in k for k in plain["peers"])
    assert plain["client"] == {"ip": alloc.client.ip, "port": alloc.client.port}
    calls = [c for c in cap.calls() if c.allocations]
    assert calls and alloc.id in [a["id"] for a in dataclasses.asdict(calls[0])["allocations"]]


def test_every_result_type_has_to_dict() -> None:
    for cls in (
        lyncdump.SipMessage, lyncdump.Session, lyncdump.Transaction, Call, StreamStats,
        StunMessage, Allocation, IceSession, CandidatePair, Registration, Conversation,
        ImEvent, lyncdump.Defect, lyncdump.ConnectionSummary, LogEvent,
    ):  # fmt: skip
        assert callable(getattr(cls, "to_dict", None)), cls


PUBLIC_CLASSES = [
    *(getattr(lyncdump, n) for n in lyncdump.__all__ if inspect.isclass(getattr(lyncdump, n))),
    Call, Allocation, CandidatePair, IceSession, PeerTraffic, Conversation, ImEvent,
    Registration, RoundTrip, Exchange, NegotiatedMedia, StreamStats, StunMessage, Pipeline,
    MessageDecoded, SessionFinished, LogRecord, InputFinished, LogEvent,
]  # fmt: skip


@pytest.mark.parametrize("cls", PUBLIC_CLASSES, ids=lambda c: c.__qualname__)
def test_type_hints_of_the_public_api_resolve(cls: type) -> None:
    typing.get_type_hints(cls)
    for name, value in vars(cls).items():
        if name.startswith("_") and name != "__init__":
            continue
        if isinstance(value, property):
            value = value.fget
        if isinstance(value, (classmethod, staticmethod)):
            value = value.__func__
        if inspect.isfunction(value):
            typing.get_type_hints(value)  # no NameError from a TYPE_CHECKING-only import


def test_type_hints_of_the_calls_question() -> None:
    hints = typing.get_type_hints(lyncdump.Capture.calls)
    assert hints["return"] == list[Call]
    assert typing.get_type_hints(InputFinished)["pipeline"] is Pipeline
    for function in (lyncdump.open, lyncdump.analyze, lyncdump.stream):
        typing.get_type_hints(function)


def test_the_package_says_it_is_typed() -> None:
    assert resources.files("lyncdump").joinpath("py.typed").is_file()
    pyproject = (CAPTURES.parent / "pyproject.toml").read_text(encoding="utf-8")
    assert 'lyncdump = ["py.typed"]' in pyproject  # shipped in wheels too (package-data)
