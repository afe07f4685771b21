"""Every corpus capture: the SIP requests and responses lyncdump finds equal what tshark finds.

A difference is either our bug or a documented tshark limitation: the table below names each
one we accept and why; any other difference fails with the list of what differs.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

import lyncdump

from ..conftest import corpus_dir
from .oracles import load, shorten

CORPUS = corpus_dir()
ORACLES = load(CORPUS / "ORACLES.md") if CORPUS else {}

#: Differences from tshark we explain rather than fix: {file: {("request X" | "response N"): delta}}
#: where delta = lyncdump count - tshark count.
KNOWN_DIFFERENCES: dict[str, dict[str, int]] = {}


def ours(path: Path) -> Counter[str]:
    cap = lyncdump.open(path)
    counts: Counter[str] = Counter()
    for m in cap.messages():
        if m.method is not None:
            counts[f"request {shorten(m.method)}"] += 1
        else:
            counts[f"response {m.status}"] += 1
    return counts


@pytest.mark.skipif(
    CORPUS is None, reason="corpus not found (../shared/corpus or $LYNCDUMP_CORPUS)"
)
@pytest.mark.parametrize("name", sorted(ORACLES))
def test_sip_methods_and_statuses_match_tshark(name: str) -> None:
    assert CORPUS is not None
    found = ours(CORPUS / name)
    # ORACLES.md prints some long method names in full and cuts others: compare both sides cut.
    expected: Counter[str] = Counter()
    for key, count in ORACLES[name].sip.items():
        kind, _, what = key.partition(" ")
        expected[f"{kind} {what if '...' in what else shorten(what)}"] += count
    delta = {
        k: found[k] - expected[k] for k in set(found) | set(expected) if found[k] != expected[k]
    }
    assert delta == KNOWN_DIFFERENCES.get(name, {}), (
        f"{name}: lyncdump - tshark = {delta} (found {dict(found)})"
    )


@pytest.mark.skipif(CORPUS is None, reason="corpus not found")
@pytest.mark.parametrize("name", sorted(ORACLES))
def test_frame_count_matches_tshark(name: str) -> None:
    assert CORPUS is not None
    cap = lyncdump.analyze(CORPUS / name)
    assert cap.error is None
    assert cap.stats.frames == ORACLES[name].packets
