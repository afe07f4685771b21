"""The merged view's memory is flat in the number of messages: a Front End's server log and a
capture of the same traffic, merged as ``lyncdump fe01.log fe01.pcap --summary`` and
``--json`` run them (analysis/merge_stream.py), at two sizes.

The generated traffic (tests/pipeline/_bulk.py) has one message every 50 ms, so that the
merged sessions, which wait 64 s with a server log among the inputs, turn over many times in
the run: about 1,300 messages are open at any moment, and the clock-offset look-ahead holds
the first 1,000 of each input at the start. The traced peak of the whole run (tracemalloc)
must stay under a bound that is those open messages' worth, and must grow by no more than the
bounded tables still filling when the input doubles (the 4,096 parsed From/To texts shared
between messages, the Call-IDs remembered for part numbers): the keep-all merge grows by about
15 kB a message (both inputs' copies and their sessions), so doubling 1,680 messages would add
about 25 MB. Each run is a process of its own, so nothing else in the test session is traced.
``LYNCDUMP_MEMTEST_MERGED_MESSAGES`` sets the smaller size (messages per input, rounded up to
whole batches of 50 users; the larger is twice that).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from ._bulk import write_bulk_pcap, write_bulk_server_log

MESSAGES = int(os.environ.get("LYNCDUMP_MEMTEST_MERGED_MESSAGES", "1500"))
STEP_US = 50_000

#: What the run may hold at its peak: the look-ahead (1,000 messages of each input), the
#: sessions open at any moment, the per-input reorder heaps and the merger's window.
PEAK_BOUND = 32 * 1024 * 1024
#: Growth of the peak when the input doubles: the bounded tables filling (the From/To texts
#: parsed once, ``sip.message._ADDRS``, about 500 bytes a distinct text up to 4,096 of them;
#: the Call-IDs of three session builders, about 100 bytes a session each) and the logs'
#: diagnostic records, which the pipelines keep up to their bound. Measured: 1.2-1.6 MB from
#: 1,680 to 3,360 messages; keeping the messages would add about 25 MB.
GROWTH_BOUND = 3 * 1024 * 1024

_RUN = r"""
import json, sys, tracemalloc
import lyncdump
from lyncdump.analysis.merge_stream import MergedStream, open_pipelines
from lyncdump.render import merged_views

log, pcap, mode = sys.argv[1], sys.argv[2], sys.argv[3]
tracemalloc.start()
merged = MergedStream(open_pipelines([log, pcap], [lyncdump.Options(), lyncdump.Options()]))
lines = [0]
def out(line):
    lines[0] += 1
if mode == "json":
    merged_views.ndjson_view(merged, out)
elif mode == "calls":
    merged_views.calls_view(merged, out)
else:
    merged_views.summary_view(merged, out)
current, peak = tracemalloc.get_traced_memory()
print(json.dumps({"peak": peak, "current": current, "lines": lines[0],
                  "messages": merged.stats.sip_messages, "duplicates": merged.duplicates}))
"""


def _run(folder: Path, messages: int, mode: str) -> dict[str, int]:
    media = mode == "calls"  # calls with SDP, and their RTP in the capture
    log = folder / f"fe01-{messages}{'-media' * media}.log"
    pcap = log.with_suffix(".pcap")
    if not log.exists():
        write_bulk_server_log(log, messages, step_us=STEP_US, media=media)
        write_bulk_pcap(pcap, messages, step_us=STEP_US, media=media)
    result = subprocess.run(
        [sys.executable, "-c", _RUN, str(log), str(pcap), mode],
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    )
    report: dict[str, int] = json.loads(result.stdout)
    assert report["messages"] == report["duplicates"] >= messages
    return report


def test_merged_memory_is_flat(tmp_path: Path) -> None:
    """--json (what --summary does, plus a record per session and the diagnostic records
    kept for the end; --summary measured by hand: 11.7 and 13.3 MB, docs/performance.md)."""
    mode = "json"
    small = _run(tmp_path, MESSAGES, mode)
    large = _run(tmp_path, 2 * MESSAGES, mode)
    # A record per session (3 or 4 per user of 10 or 16 messages).
    assert large["lines"] > large["messages"] // 6
    assert large["peak"] < PEAK_BOUND, (small, large)
    assert large["peak"] - small["peak"] < GROWTH_BOUND, (small, large)


def test_merged_calls_memory_is_flat(tmp_path: Path) -> None:
    """--calls: the merged INVITE sessions (every fifth user places a call, its RTP in the
    capture) are held in a call window until their media join is final, then kept as the
    lines of their block; the rest of the merge is what --json holds. Doubling the input adds
    the calls' lines and the capture's streams (two per call, which its pipeline keeps, as a
    single input's does), not the messages: the keep-all merge grew by about 25 MB."""
    small = _run(tmp_path, MESSAGES, "calls")
    large = _run(tmp_path, 2 * MESSAGES, "calls")
    calls = large["messages"] // 56  # one call per 5 users of 11.2 messages on average
    assert large["lines"] > 4 * calls  # a block of at least four lines per call
    assert large["peak"] < PEAK_BOUND, (small, large)
    assert large["peak"] - small["peak"] < GROWTH_BOUND, (small, large)
