"""The streaming run says what the whole-capture run says, on every sample and corpus file.

``lyncdump.open`` keeps every message and gives one session per Call-ID; ``lyncdump --json``
streams sessions as they finish, possibly in parts. Grouped by Call-ID, the parts must hold
the same messages with the same JSON, and every other record (STUN, streams, calls, the
capture record) must be the same.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import lyncdump
from lyncdump.cli import command
from lyncdump.render import json as render_json
from lyncdump.render import msview
from lyncdump.render.diagnostics import diagnostic_to_dict

from ..conftest import CAPTURES, corpus_dir

SAMPLES = sorted(
    p for p in CAPTURES.iterdir() if p.suffix in (".pcap", ".pcapng", ".log", ".uccapilog")
)
_CORPUS = corpus_dir()
CORPUS = (
    sorted(p for p in _CORPUS.iterdir() if p.is_file() and not p.suffix == ".md") if _CORPUS else []
)


def _whole_capture_sessions(path: Path) -> dict[str, dict[str, Any]]:
    cap = lyncdump.open(path)
    sessions = cap.sessions()
    return {
        s.call_id: msview.session_extra_fields(
            render_json.session_to_dict(s, diagnostics=s.diagnostics), s, sessions
        )
        for s in sessions
    }


def _streamed(path: Path) -> tuple[dict[str, list[dict[str, Any]]], list[dict[str, Any]]]:
    """Session records grouped by Call-ID (parts in order), and the other records."""
    result = CliRunner().invoke(command, ["--json", str(path)])
    assert result.exit_code in (0, 2), result.output
    by_call: dict[str, list[dict[str, Any]]] = defaultdict(list)
    others = []
    for line in result.output.splitlines():
        record = json.loads(line)
        if record["record"] == "input":  # the input announced; every record names it
            assert record["source"] == str(path)
            continue
        assert record.pop("source") == str(path)
        if record["record"] == "session":
            by_call[record["call_id"]].append(record)
        else:
            others.append(record)
    for parts in by_call.values():
        parts.sort(key=lambda r: r["part"])
        assert [r["part"] for r in parts] == list(range(1, len(parts) + 1))
    return by_call, others


def _other_records(path: Path) -> list[dict[str, Any]]:
    """What --json wrote besides sessions before streaming: built from the whole capture."""
    from lyncdump.render import calls as render_calls
    from lyncdump.render import streams as render_streams
    from lyncdump.render.stun_json import stun_records

    cap = lyncdump.open(path)
    sessions = cap.sessions()
    calls = cap.calls()  # settles each stream's call before the streams are written
    records = stun_records(cap)
    records.extend(render_streams.stream_to_dict(st) for st in cap.streams())
    records.extend(render_calls.call_records(calls, sessions))
    records.append(
        {
            **render_json.capture_to_dict(cap, sessions),
            **render_calls.calls_summary(calls, cap.streams()),
        }
    )
    return records


def _record_key(record: dict[str, Any]) -> tuple[int, int]:
    """Diagnostic records by record number first; the others keep their order."""
    if record["record"] == "diagnostic":
        return (0, record["record_number"])
    return (1, 0)


def _check(path: Path) -> None:
    whole = _whole_capture_sessions(path)
    streamed, others = _streamed(path)
    assert streamed.keys() == whole.keys()
    for call_id, record in whole.items():
        parts = streamed[call_id]
        if len(parts) == 1:  # the same session: the same record
            assert parts[0] == record, call_id
        else:  # parts of it: the same messages
            assert [m for p in parts for m in p["messages"]] == record["messages"], call_id
    expected = _other_records(path)
    # Defects are the same, found in another order (message defects as sessions finish).
    # Diagnostic records follow their session as it finishes, the rest before the STUN records.
    for d in lyncdump.open(path).diagnostics().all:
        record = diagnostic_to_dict(d)
        record.pop("source", None)  # the streamed records' source was checked and taken off
        expected.append(record)
    key = _record_key
    expected.sort(key=key)
    others.sort(key=key)
    for record in (*expected, *others):
        if record["record"] == "capture":
            record["defects"].sort(key=lambda d: (d["frame"] or 0, d["layer"], d["reason"]))
    assert others == expected


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.name)
def test_samples_stream_as_they_decode_whole(path: Path) -> None:
    _check(path)


@pytest.mark.parametrize("path", CORPUS, ids=lambda p: p.name)
def test_corpus_streams_as_it_decodes_whole(path: Path) -> None:
    _check(path)


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.name)
def test_forgetting_old_follow_ups_changes_no_record(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The sign-in follow-up index forgets what no session still to come can list after every
    finished session and with no margin, and the records stay those of the whole capture."""
    from lyncdump.analysis.registration import FollowUps

    monkeypatch.setattr(FollowUps, "FORGET_EVERY", 1)
    monkeypatch.setattr(FollowUps, "FORGET_MARGIN", 0.0)
    _check(path)
