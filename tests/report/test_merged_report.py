"""The merged report streams and says what the keep-all merged report says.

``lyncdump report server.log capture.pcap`` (and :func:`lyncdump.report.build_report` with
``merge=True``) runs on the streaming merge (analysis/merge_stream.py): each merged session
becomes its record as it finishes, the calls are joined to the captures' media in a call
window (analysis/merge_calls.py). :meth:`ReportData.add_merged` on a keep-all
:class:`MergedCapture` (every input decoded whole first) is the oracle: the document the
command embeds in its page must equal it on every merged combination of the sample logs and
captures the merged views' parity tests use, and on a generated Front End log with its
capture (960 sessions, 60 calls with their RTP, server-log diagnostics).

What cannot be equal in general, and is not exercised by these inputs, is what the streamed
merged views already say (docs/tracelog.md, "Merged inputs, streamed"; docs/report.md): a
Call-ID that comes back after its session went quiet is a second part, a diagnostic written
after its session finished stands alone, a sign-in lists the follow-up subscriptions seen
before it was shown, and a call's figures are its streams' when its join became final.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import lyncdump
from lyncdump.analysis.merge import MergedCapture
from lyncdump.analysis.merge_stream import open_merged
from lyncdump.analysis.registration import FollowUps
from lyncdump.cli import command
from lyncdump.cli_common import parse_filters, session_matches
from lyncdump.cli_report import report_command
from lyncdump.report.data import ReportData, to_json

from ..analysis.test_merge_stream import COMBOS
from ..conftest import CAPTURES
from ..pipeline._bulk import write_bulk_pcap, write_bulk_server_log

VARIANTS = [
    [],
    ["--filter", "kind=call"],
    ["--filter", "method=REGISTER"],
    ["--filter", "log.error"],
    ["--redact"],
]


def keep_all_document(paths: list[str], args: list[str]) -> dict[str, Any]:
    """The document of the keep-all merge, as the command built it before it streamed."""
    filters = parse_filters([args[args.index("--filter") + 1]] if "--filter" in args else [])
    redact = "--redact" in args
    data = ReportData(redacted=redact)
    merged = MergedCapture([lyncdump.open(p, redact=redact) for p in paths]).run()
    data.add_merged(
        merged,
        matches=lambda s: session_matches(s, filters),
        filtered=not filters.empty,
        filters=filters,
    )
    # What the page embeds: the JSON text of the document, read back.
    return json.loads(to_json(data.document()))


def embedded(path: Path) -> dict[str, Any]:
    page = path.read_text(encoding="utf-8")
    m = re.search(r'<script type="application/json" id="report-data">(.*?)</script>', page, re.S)
    assert m is not None
    return json.loads(m.group(1))


def command_document(paths: list[str], args: list[str], out: Path) -> dict[str, Any]:
    result = CliRunner().invoke(report_command, [*args, "--merge", *paths, "-o", str(out)])
    assert result.exit_code == 0, result.output
    return embedded(out)


@pytest.mark.parametrize("args", VARIANTS, ids=" ".join)
@pytest.mark.parametrize("combo", COMBOS, ids=lambda c: "+".join(Path(p).stem for p in c))
def test_streamed_merged_report_equals_the_keep_all_one(
    combo: list[str], args: list[str], tmp_path: Path
) -> None:
    paths = [str(CAPTURES / name) for name in combo]
    expected = keep_all_document(paths, args)
    got = command_document(paths, args, tmp_path / "r.html")
    assert got == expected
    assert got["inputs"][0]["format"] == "merged"
    if not args:
        assert got["sessions"] and got["addrs"]


def test_merged_report_counts_the_retransmissions_of_its_sessions(tmp_path: Path) -> None:
    """The overview counts what the sessions show (the keep-all merge's own totals counted
    messages only: its report said 0 beside a session with a retransmission)."""
    paths = [str(CAPTURES / "sip-udp-call.server.log"), str(CAPTURES / "sip-udp-call.pcap")]
    doc = command_document(paths, [], tmp_path / "r.html")
    shown = sum(s["retransmissions"] for s in doc["sessions"])
    assert doc["overview"]["retransmissions"] == shown == 1


def test_merged_report_filters_on_the_diagnostics_joined(tmp_path: Path) -> None:
    """``--filter log.error`` judges a merged session on the server-log diagnostics joined to
    it, as the main command's merged view and a log's own report do (the merged report used
    to show no session: the diagnostics were not attached to the sessions it tested)."""
    paths = [
        str(CAPTURES / "federation.pcapng"),
        str(CAPTURES / "federation-fe01.server.log"),
        str(CAPTURES / "federation-edge.server.log"),
    ]
    doc = command_document(paths, ["--filter", "log.error"], tmp_path / "r.html")
    assert len(doc["sessions"]) == 1
    session = doc["sessions"][0]
    errors = [doc["diagnostics"][i] for i in session["diags"] if doc["diagnostics"][i]["error"]]
    assert errors and all(d["session"] == session["id"] for d in errors)
    shown = CliRunner().invoke(command, ["--filter", "log.error", *paths])
    assert shown.stdout.splitlines()[-1].startswith("1 of 5 sessions shown")


#: Messages of the generated Front End traffic (300 users, 60 of them place a call).
GENERATED = 3360


@pytest.fixture(scope="module")
def front_end_calls(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """A Front End's server log and a capture of the same traffic, one message every 50 ms
    (168 s: sessions finish all through the run); the 60 calls carry SDP and the capture
    holds their RTP, 10 packets each way (tests/pipeline/_bulk.py)."""
    folder = tmp_path_factory.mktemp("merged-report")
    log, pcap = folder / "fe01.log", folder / "fe01.pcap"
    written, diagnostics = write_bulk_server_log(log, 3000, step_us=50_000, media=True)
    assert write_bulk_pcap(pcap, 3000, step_us=50_000, media=True) == written == GENERATED
    assert diagnostics == 30
    return [str(log), str(pcap)]


@pytest.mark.parametrize("args", [[], ["--filter", "kind=call"]], ids=" ".join)
def test_generated_merged_report_equals_the_keep_all_one(
    front_end_calls: list[str], args: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Calls joined and let go while the merge runs (more calls than the call window holds),
    the sign-in follow-ups forgotten every 50 sessions: the same document as the keep-all
    merge's."""
    monkeypatch.setattr(FollowUps, "FORGET_EVERY", 50)
    filters = parse_filters(tuple(args[1:]))
    data = ReportData()
    merged = open_merged(front_end_calls)
    data.consume_merged(
        merged,
        matches=lambda s: session_matches(s, filters),
        filtered=not filters.empty,
        filters=filters,
    )
    got = json.loads(to_json(data.document()))
    assert got == keep_all_document(front_end_calls, args)
    assert merged._open == {} and merged._held == set()  # every call let go
    calls = got["calls"]
    assert len(calls) == 60 and all(len(c["streams"]) == 2 for c in calls)
    assert len(got["streams"]) == 120
    assert all(got["streams"][i]["call"] == c["id"] for c in calls for i in c["streams"])
    assert all(got["sessions"][c["session"]]["call_id"] == c["call_id"] for c in calls)
    if not args:
        assert len(got["sessions"]) == 960
        signins = [s for s in got["sessions"] if s["kind"] == "registration"]
        assert len(signins) == 300
        assert all(
            s["registration"]["follow_ups"] == ["SUBSCRIBE vnd-microsoft-roaming-self → 200"]
            for s in signins
        )
        assert got["overview"]["diagnostics"]["total"] == 30
        assert got["overview"]["sip_messages"] == GENERATED


def test_the_follow_up_index_forgets_while_the_merge_runs(
    front_end_calls: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The sign-in follow-ups are noted message by message and forgotten once every session
    still to come started later: the index holds the open sessions' time span (and a margin),
    not the run."""
    monkeypatch.setattr(FollowUps, "FORGET_EVERY", 50)
    held: list[int] = []
    finished = FollowUps.finished

    def watched(self: FollowUps, run: Any) -> None:
        finished(self, run)
        held.append(len(self))

    monkeypatch.setattr(FollowUps, "finished", watched)
    ReportData().consume_merged(open_merged(front_end_calls))
    assert len(held) == 960
    # Sessions wait 64 s with a server log among the inputs, and the index keeps 60 s more:
    # about 220 users' worth of the 168 s run; at the end a third of it is left.
    assert max(held) < 300 and held[-1] <= 120
