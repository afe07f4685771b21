"""A streaming run over a server log hands each joined diagnostic out with its session and
only counts it (analysis/diagnostics.py ``DiagnosticJoiner(keep_joined=False)``): the totals
are those of the whole-log run, and memory does not hold the diagnostics of the whole log."""

from __future__ import annotations

from pathlib import Path

import lyncdump

from ._bulk import write_bulk_server_log


def test_a_streaming_run_counts_joined_diagnostics_without_holding_them(tmp_path: Path) -> None:
    log = tmp_path / "fe01.log"
    _messages, diagnostics = write_bulk_server_log(log, 4000)
    assert diagnostics > 20
    whole = lyncdump.open(log).diagnostics()
    events = list(lyncdump.stream(log))
    pipeline = events[-1].pipeline  # type: ignore[attr-defined]
    streamed = pipeline.diagnostics()
    handed = [d for e in events if hasattr(e, "session") for d in e.session.diagnostics or ()]
    assert len(streamed) == len(whole) == diagnostics
    assert streamed.counts() == whole.counts()
    assert len(streamed.standalone) == len(whole.standalone) > 0
    # The joined ones went out with their sessions; the index holds only the lone ones.
    assert len(handed) == len(whole) - len(whole.standalone)
    assert streamed.all == streamed.standalone
