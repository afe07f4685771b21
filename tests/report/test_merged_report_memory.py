"""The merged report's memory is its document's, not the inputs': a Front End's server log and a
capture of the same traffic with calls and their RTP, merged into a report as
``lyncdump report fe01.log fe01.pcap -o report.html`` builds it (report/data.py on the
streaming merge), at two sizes.

The report keeps what its page embeds (a row per message shown, a record per session, call
and stream), so its traced memory grows with the input by that much and no more: at the end
of the run the document is what is left (``current``); the peak above it is the merge's
working set (the look-ahead, the sessions open, the call window, the pipelines' streams and
log records), which must stay flat when the input doubles. The keep-all merged report held
every message of both inputs and their sessions: its peak grew by about 15 MB from 1,680 to
3,360 messages per input (16.9 and 32.2 MB; the streamed one 13.4 and 15.8 MB, of which
3.7 and 6.8 MB are left at the end, 5.5 MB of it the larger run's document). Each run is a
process of its own, so nothing else in the test session is traced.
``LYNCDUMP_MEMTEST_MERGED_MESSAGES`` sets the smaller size (messages per input, rounded up to
whole batches of 50 users; the larger is twice that).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from ..pipeline._bulk import write_bulk_pcap, write_bulk_server_log

MESSAGES = int(os.environ.get("LYNCDUMP_MEMTEST_MERGED_MESSAGES", "1500"))

#: What the run may hold at its peak, the document of the larger input included (5.5 MB
#: measured at 3,360 messages; 15.8 MB peak).
PEAK_BOUND = 32 * 1024 * 1024
#: Growth of the peak above the document when the input doubles: the bounded tables filling
#: (parsed From/To texts, Call-IDs remembered) and the capture's streams and the log's
#: diagnostic records, which the pipelines keep. Measured: -0.7 MB (1,680 to 3,360
#: messages) and +2.5 MB (3,360 to 6,720); keeping the messages would add about 15 MB.
GROWTH_BOUND = 4 * 1024 * 1024

_RUN = r"""
import json, sys, tracemalloc
import lyncdump
from lyncdump.analysis.merge_stream import MergedStream, open_pipelines
from lyncdump.report.data import ReportData

log, pcap = sys.argv[1], sys.argv[2]
tracemalloc.start()
data = ReportData()
merged = MergedStream(open_pipelines([log, pcap], [lyncdump.Options(), lyncdump.Options()]))
data.consume_merged(merged)
current, peak = tracemalloc.get_traced_memory()
print(json.dumps({"peak": peak, "current": current, "sessions": len(data.sessions),
                  "calls": len(data.calls), "streams": len(data.streams),
                  "messages": merged.stats.sip_messages, "duplicates": merged.duplicates}))
"""


def _run(folder: Path, messages: int) -> dict[str, int]:
    log = folder / f"fe01-{messages}.log"
    pcap = log.with_suffix(".pcap")
    write_bulk_server_log(log, messages, step_us=50_000, media=True)
    write_bulk_pcap(pcap, messages, step_us=50_000, media=True)
    result = subprocess.run(
        [sys.executable, "-c", _RUN, str(log), str(pcap)],
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    )
    report: dict[str, int] = json.loads(result.stdout)
    assert report["messages"] == report["duplicates"] >= messages
    return report


def test_merged_report_memory_is_its_document(tmp_path: Path) -> None:
    small = _run(tmp_path, MESSAGES)
    large = _run(tmp_path, 2 * MESSAGES)
    # Every session shown, every call with its two streams (one call per 5 users).
    assert large["sessions"] > large["messages"] // 4
    assert large["calls"] * 2 == large["streams"] > large["messages"] // 30
    assert large["peak"] < PEAK_BOUND, (small, large)
    working = [r["peak"] - r["current"] for r in (small, large)]
    assert working[1] - working[0] < GROWTH_BOUND, (small, large)
