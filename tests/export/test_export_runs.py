"""``lyncdump export`` and ``lyncdump.export.export``: folders, skipped files, exit codes,
N processes, continuous ring-buffer sets (docs/export.md)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import dpkt
import pytest
from click.testing import CliRunner

from lyncdump.capture import continuous, open_capture
from lyncdump.capture.continuous import ContinuousReader, ring_set_name
from lyncdump.cli_export import export_command
from lyncdump.export import export, find_inputs, part_name

from ..conftest import CAPTURES

pq = pytest.importorskip("pyarrow.parquet")


def rows(out: Path, table: str) -> list[dict[str, Any]]:
    return pq.read_table(out / table).to_pylist()


def without(items: list[dict[str, Any]], *keys: str) -> list[str]:
    """Rows as sorted JSON text, some columns left out."""
    return sorted(
        json.dumps({k: v for k, v in r.items() if k not in keys}, sort_keys=True, default=str)
        for r in items
    )


def split_ring(capture: Path, folder: Path, cuts: list[int], prefix: str = "edge") -> list[Path]:
    """The capture's frames in ``dumpcap -b`` ring files, cut before the given frame numbers."""
    with open_capture(str(capture)) as reader:
        frames = list(reader.frames())
    linktype = frames[0][1]
    bounds = [0, *[c - 1 for c in cuts], len(frames)]
    paths = []
    for n, (start, stop) in enumerate(zip(bounds, bounds[1:], strict=False), 1):
        path = folder / f"{prefix}_{n:05d}_2026010100{n:02d}00.pcap"
        with open(path, "wb") as handle:
            writer = dpkt.pcap.Writer(handle, linktype=linktype, nano=True)
            for ts, _lt, data in frames[start:stop]:
                writer.writepkt(data, ts=ts)
        paths.append(path)
    return paths


def test_a_folder_is_walked_and_non_captures_are_skipped_with_one_line(tmp_path: Path) -> None:
    inputs = tmp_path / "site-a" / "2026-01-01"
    inputs.mkdir(parents=True)
    shutil.copy(CAPTURES / "sip-udp-call.pcap", inputs)
    shutil.copy(CAPTURES / "lync-signin-tcp.server.log", inputs)
    (inputs / "notes.md").write_text("# not a capture\n")
    (inputs / ".hidden.pcap").write_bytes(b"ignored")
    out = tmp_path / "out"
    result = CliRunner().invoke(export_command, ["-o", str(out), str(tmp_path / "site-a")])
    assert result.exit_code == 0, result.output
    skipped = [line for line in result.stderr.splitlines() if "skipped" in line]
    assert skipped == [
        f"lyncdump: skipped {inputs / 'notes.md'}: not a pcap, pcapng or Network Monitor "
        "capture, nor a Lync trace log (starts with 0x23206e6f)"
    ]
    assert result.stderr.splitlines()[-1].startswith("exported 2 inputs to ")
    captures = rows(out, "captures")
    assert sorted(c["source"] for c in captures) == sorted(
        [str(inputs / "sip-udp-call.pcap"), str(inputs / "lync-signin-tcp.server.log")]
    )
    assert {c["format"] for c in captures} == {"pcap", "lync-server-log"}
    for table in ("messages", "sessions", "calls", "defects"):
        assert all(r["source"] in {c["source"] for c in captures} for r in rows(out, table))


def test_nothing_to_export_and_a_bad_input_exit_2(tmp_path: Path) -> None:
    notes = tmp_path / "notes.md"
    notes.write_text("hello\n")
    result = CliRunner().invoke(export_command, ["-o", str(tmp_path / "o"), str(notes)])
    assert result.exit_code == 2
    assert result.stderr.splitlines()[-1] == (
        "lyncdump: nothing to export: no capture or trace log among the inputs"
    )
    truncated = tmp_path / "cut.pcap"
    truncated.write_bytes((CAPTURES / "sip-udp-call.pcap").read_bytes()[:-30])
    result = CliRunner().invoke(export_command, ["-o", str(tmp_path / "o"), str(truncated)])
    assert result.exit_code == 2
    assert "cut.pcap: truncated" in result.stderr
    (capture,) = rows(tmp_path / "o", "captures")
    assert "truncated" in capture["error"] and capture["frames"] == 126  # what came before
    missing = CliRunner().invoke(export_command, ["-o", str(tmp_path / "o"), "no-such.pcap"])
    assert missing.exit_code == 2 and "no-such.pcap" in missing.stderr


def test_processes_write_the_same_dataset_as_one(tmp_path: Path) -> None:
    inputs = [
        str(CAPTURES / n)
        for n in ("sip-udp-call.pcap", "lync-av-call.pcapng", "lync-im-conversation.pcapng")
    ]
    one = export(inputs, str(tmp_path / "one"))
    two = export(inputs, str(tmp_path / "two"), processes=2)
    assert sorted(r.source for r in one) == sorted(r.source for r in two) == sorted(inputs)
    assert len({r.worker for r in two}) >= 1 and all(r.peak_rss > 0 for r in two)
    for table in ("messages", "sessions", "calls", "streams", "stun", "im", "captures"):
        assert without(rows(tmp_path / "one", table)) == without(rows(tmp_path / "two", table))
        names = sorted(p.name for p in (tmp_path / "one" / table).iterdir())
        assert names == sorted(p.name for p in (tmp_path / "two" / table).iterdir())
        assert names == sorted(part_name(i) + ".parquet" for i in inputs)


def test_exporting_again_replaces_the_parts(tmp_path: Path) -> None:
    path = str(CAPTURES / "sip-udp-call.pcap")
    export([path], str(tmp_path))
    export([path], str(tmp_path))
    assert len(rows(tmp_path, "messages")) == 27
    assert not [p for p in tmp_path.rglob(".*")]  # no temporary file left


def test_ring_names_group_into_sets() -> None:
    assert ring_set_name("cap/edge_00001_20260101120000.pcapng") == "cap/edge_*.pcapng"
    assert ring_set_name("cap/edge_00002_20260101130000.pcapng.gz") == "cap/edge_*.pcapng.gz"
    assert ring_set_name("cap/other.pcap") == "cap"


@pytest.mark.parametrize(
    ("name", "cuts"),
    [("sip-udp-call.pcap", [20, 60]), ("lync-compressed-tcp.pcap", [50, 120])],
)
def test_a_continuous_set_exports_as_the_whole_capture(
    tmp_path: Path, name: str, cuts: list[int]
) -> None:
    ring = tmp_path / "ring"
    ring.mkdir()
    parts = split_ring(CAPTURES / name, ring, cuts)
    whole = export([str(CAPTURES / name)], str(tmp_path / "whole"))[0]
    (joined,) = export([str(ring)], str(tmp_path / "set"), continuous=True)
    assert joined.source == str(ring / "edge_*.pcap") and joined.files == [str(p) for p in parts]
    assert joined.error is None and joined.frames == whole.frames
    for table in ("messages", "sessions", "calls", "streams", "connections"):
        assert without(rows(tmp_path / "set", table), "source") == without(
            rows(tmp_path / "whole", table), "source"
        ), table
    (capture,) = rows(tmp_path / "set", "captures")
    assert capture["files"] == [str(p) for p in parts] and capture["source"] == joined.source
    # Read file by file, the compressed TCP connection is cut: fewer messages decode.
    apart = export([str(p) for p in parts], str(tmp_path / "apart"))
    if name == "lync-compressed-tcp.pcap":
        assert sum(r.rows["messages"] for r in apart) < whole.rows["messages"]


def test_continuous_members_are_merged_in_time_order_and_errors_noted(tmp_path: Path) -> None:
    parts = split_ring(CAPTURES / "sip-udp-call.pcap", tmp_path, [40])
    cut = tmp_path / "edge_00003_20260101030000.pcap"
    cut.write_bytes(parts[1].read_bytes()[:-10])  # a last file cut short, after the others
    reader = ContinuousReader([str(cut), str(parts[1]), str(parts[0])], name="set")
    times = [ts for ts, _lt, _data in reader.frames()]
    assert times == sorted(times)
    assert len(times) == 127 + (127 - 39) - 1  # all of both parts, the cut copy less its last
    assert [m.path for m in reader.members] == [str(parts[0]), str(cut), str(parts[1])] or [
        m.path for m in reader.members
    ] == [str(parts[0]), str(parts[1]), str(cut)]
    assert len(reader.problems) == 1 and "truncated" in reader.problems[0]
    reader.close()
    # A member cut before its first frame is noted and left out; the set still reads.
    stub = tmp_path / "edge_00004_20260101040000.pcap"
    stub.write_bytes(parts[0].read_bytes()[:30])
    reader = ContinuousReader([str(parts[0]), str(stub)], name="set")
    assert len(list(reader.frames())) == 39 and len(reader.problems) == 1
    assert reader.format == "pcap"
    reader.close()


def test_overlapping_members_past_the_open_bound_wait_and_are_noted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Members that all overlap in time (capture points of one period) are opened at most
    MAX_OPEN_MEMBERS at once: the rest wait for one to end (every frame is still read, the
    later members' frames come after their time) and ``problems`` says how many waited; cut
    members are listed up to MAX_LISTED_PROBLEMS and counted past it."""
    monkeypatch.setattr(continuous, "MAX_OPEN_MEMBERS", 3)
    monkeypatch.setattr(continuous, "MAX_LISTED_PROBLEMS", 2)
    whole = (CAPTURES / "sip-udp-call.pcap").read_bytes()
    paths = []
    for k in range(6):
        path = tmp_path / f"point{k}.pcap"
        path.write_bytes(whole if k < 2 else whole[:-10])  # four cut short
        paths.append(str(path))
    reader = ContinuousReader(paths, name="set")
    opened: list[int] = []
    real_start = continuous.open_capture

    def counting_open(path: str):  # type: ignore[no-untyped-def]
        opened.append(len(reader._open))
        return real_start(path)

    monkeypatch.setattr(continuous, "open_capture", counting_open)
    frames = list(reader.frames())
    reader.close()
    assert len(frames) == 2 * 127 + 4 * 126  # every frame read
    assert max(opened) <= 2  # never a fourth file open
    problems = reader.problems
    assert [p for p in problems if "truncated" in p] == problems[:2]
    assert "2 more members with errors" in problems
    assert problems[-1].startswith("3 members overlapped more than 3 open ones")


def test_trace_logs_stay_on_their_own_with_continuous(tmp_path: Path) -> None:
    shutil.copy(CAPTURES / "sip-udp-call.server.log", tmp_path)
    shutil.copy(CAPTURES / "sip-udp-call.pcap", tmp_path)
    jobs = find_inputs([str(tmp_path)], continuous=True)
    assert sorted((j.source, j.continuous) for j in jobs) == [
        (str(tmp_path), True),
        (str(tmp_path / "sip-udp-call.server.log"), False),
    ]
