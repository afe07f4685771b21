"""``lyncdump report``: the file, the exit codes, the options it shares with the main command."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from lyncdump.cli_report import report_command

from ..conftest import CAPTURES


def _doc(path: Path) -> dict:
    page = path.read_text(encoding="utf-8")
    m = re.search(r'<script type="application/json" id="report-data">(.*?)</script>', page, re.S)
    assert m is not None
    return json.loads(m.group(1))


def test_writes_one_file(tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    result = CliRunner().invoke(
        report_command, [str(CAPTURES / "lync-av-call.pcapng"), "-o", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert re.search(r"wrote .*report\.html: 1 calls, 1 sessions, 4 RTP streams", result.stderr)
    doc = _doc(out)
    assert doc["calls"][0]["path"] == "via Edge"
    assert [f.name for f in tmp_path.iterdir()] == ["report.html"]  # no temporary left


def test_several_captures_and_a_filter(tmp_path: Path) -> None:
    out = tmp_path / "r.html"
    args = [str(CAPTURES / "sipp-calls.pcapng"), str(CAPTURES / "lync-presence.pcapng")]
    result = CliRunner().invoke(report_command, [*args, "-o", str(out), "--filter", "kind=call"])
    assert result.exit_code == 0, result.output
    doc = _doc(out)
    assert [i["name"] for i in doc["inputs"]] == args
    assert doc["sessions"] and {s["kind"] for s in doc["sessions"]} == {"call"}


def test_trace_log_with_capture_is_merged(tmp_path: Path) -> None:
    out = tmp_path / "r.html"
    args = [str(CAPTURES / "lync-signin-tcp.server.log"), str(CAPTURES / "lync-signin-tcp.pcapng")]
    result = CliRunner().invoke(report_command, [*args, "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert _doc(out)["inputs"][0]["format"] == "merged"


def test_keys_are_used_and_never_written(tmp_path: Path) -> None:
    out = tmp_path / "r.html"
    keys = CAPTURES / "lync-tls-sipcomp.keys"
    result = CliRunner().invoke(
        report_command,
        [str(CAPTURES / "lync-tls-sipcomp.pcapng"), "-o", str(out), "--keylog", str(keys)],
    )
    assert result.exit_code == 0, result.output
    doc = _doc(out)
    assert doc["overview"]["sip_messages"] > 0
    page = out.read_text(encoding="utf-8")
    for line in keys.read_text().splitlines():
        parts = line.split()
        if len(parts) == 3:
            assert parts[2] not in page and parts[2].upper() not in page


def test_unreadable_input_gives_status_2_and_the_others(tmp_path: Path) -> None:
    bad = tmp_path / "bad.pcap"
    bad.write_bytes(b"not a capture at all")
    out = tmp_path / "r.html"
    result = CliRunner().invoke(
        report_command, [str(bad), str(CAPTURES / "sip-udp-call.pcap"), "-o", str(out)]
    )
    assert result.exit_code == 2
    assert "lyncdump:" in result.stderr and "bad.pcap" in result.stderr
    assert _doc(out)["calls"]  # the readable input is in the report


def test_nothing_readable_writes_nothing(tmp_path: Path) -> None:
    bad = tmp_path / "bad.pcap"
    bad.write_bytes(b"\x00" * 10)
    out = tmp_path / "r.html"
    result = CliRunner().invoke(report_command, [str(bad), "-o", str(out)])
    assert result.exit_code == 2
    assert "no report written" in result.stderr
    assert not out.exists()


def test_usage_errors() -> None:
    runner = CliRunner()
    assert runner.invoke(report_command, [str(CAPTURES / "sip-udp-call.pcap")]).exit_code == 2
    bad_filter = runner.invoke(
        report_command, [str(CAPTURES / "sip-udp-call.pcap"), "-o", "x.html", "--filter", "x=y"]
    )
    assert bad_filter.exit_code == 2 and "unknown field 'x'" in bad_filter.output


def test_unwritable_output(tmp_path: Path) -> None:
    out = tmp_path / "missing-folder" / "r.html"
    result = CliRunner().invoke(
        report_command, [str(CAPTURES / "sip-udp-call.pcap"), "-o", str(out)]
    )
    assert result.exit_code == 2
    assert "cannot write" in result.stderr


def test_subcommand_runs_from_the_console_entry_point(tmp_path: Path) -> None:
    out = tmp_path / "r.html"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    proc = subprocess.run(
        [sys.executable, "-m", "lyncdump.cli", "report", "--help"],
        capture_output=True, text=True, env=env, check=False,
    )  # fmt: skip
    assert proc.returncode == 0 and "--output" in proc.stdout and "--keylog" in proc.stdout
    proc = subprocess.run(
        [sys.executable, "-m", "lyncdump.cli", "report", str(CAPTURES / "sip-udp-call.pcap"),
         "-o", str(out)],
        capture_output=True, text=True, env=env, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    assert out.stat().st_size > 50_000


def test_log_host_and_diagnostics(tmp_path: Path) -> None:
    """--log-host names a server log's machine, as in the main command; the report holds the
    log's diagnostics and the command says how many."""
    out = tmp_path / "r.html"
    edge = str(CAPTURES / "federation-edge.server.log")
    result = CliRunner().invoke(report_command, [edge, "-o", str(out), "--log-host", "edge01"])
    assert result.exit_code == 0, result.output
    assert "3 calls, 4 sessions, 0 RTP streams, 4 diagnostics, 0 defects" in result.stderr
    doc = _doc(out)
    assert {d["host"] for d in doc["diagnostics"]} == {"edge01"}
    assert "edge01" in doc["addrs"]  # the log's own side of its messages
    args = [str(CAPTURES / "federation.pcapng"), str(CAPTURES / "federation-fe01.server.log"), edge]
    result = CliRunner().invoke(
        report_command,
        [*args, "-o", str(out), "--log-host", "federation-edge.server.log=edge01"],
    )
    assert result.exit_code == 0, result.output
    doc = _doc(out)
    assert doc["inputs"][0]["format"] == "merged"
    hosts = {d["number"]: d["host"] for d in doc["diagnostics"]}
    assert hosts == {
        "B#2": "fe01.contoso.com:5061",
        "C#16": "edge01",
        "C#21": "edge01",
        "C#24": "edge01",
        "C#26": "edge01",
    }
    wrong = CliRunner().invoke(report_command, [edge, "-o", str(out), "--log-host", "x.log=h"])
    assert wrong.exit_code == 2 and "LOG is not one of the inputs" in wrong.output


def _many_frames_pcap(path: Path, frames: int) -> None:
    """A classic pcap of ``frames`` small Ethernet frames (no IP: nothing to decode), enough
    for the progress line, which is drawn every 8,192 frames."""
    import struct

    record = struct.pack("<IIII", 1_700_000_000, 0, 60, 60) + bytes(60)
    header = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)
    path.write_bytes(header + record * frames)


def test_progress_on_a_terminal_not_on_a_pipe(tmp_path: Path) -> None:
    """On a terminal stderr shows the progress bar (the input, frames, then wiped) before the
    summary line; through a pipe stderr holds the summary line alone."""
    from .test_terminal import run_pty

    big = tmp_path / "big.pcap"
    _many_frames_pcap(big, 20_000)
    out = tmp_path / "tty.html"
    screen = run_pty(["report", str(big), "-o", str(out)])
    assert out.exists()
    drawn, _, summary = screen.rpartition("wrote ")
    assert "big.pcap" in drawn and "frames" in drawn and "%" in drawn  # the bar, its share
    assert "\x1b[K" in drawn  # wiped before the summary
    assert summary.startswith(f"{out}: 0 calls, 0 sessions, 0 RTP streams")

    piped = subprocess.run(
        [sys.executable, "-m", "lyncdump.cli", "report", str(big), "-o", str(tmp_path / "p.html")],
        capture_output=True,
        text=True,
    )
    assert piped.returncode == 0
    assert piped.stdout == ""
    assert re.fullmatch(
        r"wrote \S+p\.html: 0 calls, 0 sessions, 0 RTP streams, 0 defects \(\d+\.\d MB\)\n",
        piped.stderr,
    )
