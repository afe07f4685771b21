"""Memory stays flat in the number of SIP messages: a streaming run keeps what is open only.

A generated Front-End-shaped capture of 200,000 SIP messages (tests/pipeline/_bulk.py) goes
through ``--summary`` and ``--json`` as the CLI runs them. tracemalloc slows Python several
times over, so it traces the last quarter of the run only: what a streaming run allocates for
those 50,000 messages must be freed again as their sessions finish. A run that kept messages,
sessions or rendered records would hold them all at the end of the window and fail.
Each mode runs in a process of its own, so nothing else in the test session is traced.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ._bulk import write_bulk_pcap

MESSAGES = int(os.environ.get("LYNCDUMP_MEMTEST_MESSAGES", "200000"))

#: What the traced window may allocate and still hold: the sessions open at any one time (a
#: few seconds of traffic), the media and connection tables, Python's own caches.
PEAK_BOUND = 24 * 1024 * 1024
HELD_AT_END_BOUND = 8 * 1024 * 1024

_RUN = r"""
import json, sys, tracemalloc
import lyncdump
from lyncdump.pipeline import SessionFinished
from lyncdump.render import views

path, mode, total = sys.argv[1], sys.argv[2], int(sys.argv[3])
seen = 0
window = {}

def traced(events):
    global seen
    for event in events:
        if type(event) is SessionFinished:
            seen += len(event.session.messages)
            if not tracemalloc.is_tracing() and seen >= total * 3 // 4:
                tracemalloc.start()
        yield event
    window["current"], window["peak"] = tracemalloc.get_traced_memory()

lines = [0]
def out(line):
    lines[0] += 1

events = traced(lyncdump.stream(path, messages=mode == "json"))
if mode == "json":
    pipeline = views.ndjson_view(events, out)
else:
    pipeline = views.summary_view(events, out)
print(json.dumps({**window, "lines": lines[0], "messages": pipeline.stats.sip_messages,
                  "held": pipeline.held_messages}))
"""


@pytest.fixture(scope="module")
def bulk(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int]:
    path = tmp_path_factory.mktemp("bulk") / "front-end.pcap"
    return path, write_bulk_pcap(path, MESSAGES)


@pytest.mark.parametrize("mode", ["summary", "json"])
def test_streaming_memory_is_flat(bulk: tuple[Path, int], mode: str) -> None:
    path, total = bulk
    result = subprocess.run(
        [sys.executable, "-c", _RUN, str(path), mode, str(total)],
        capture_output=True,
        text=True,
        check=True,
        timeout=900,
    )
    report = json.loads(result.stdout)
    assert report["messages"] == total
    assert report["held"] == 0  # every session was emitted by the end
    if mode == "json":  # one record per session: 4 or 5 per user, then the capture record
        assert report["lines"] > total // 4
    assert report["peak"] < PEAK_BOUND, report
    assert report["current"] < HELD_AT_END_BOUND, report
