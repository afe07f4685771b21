"""``lyncdump`` on Lync trace logs, on logs and captures together (merged), and on stdin pipes.

Counts and values come from tshark 4.0.17 on the sample captures (27 SIP messages in
sip-udp-call.pcap, 21 in lync-signin-tcp.pcapng) and from the logs' own text.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

import lyncdump
from lyncdump.analysis.merge import MergedCapture, merge
from lyncdump.cli import command
from lyncdump.render.merged import legend_lines

from ..conftest import CAPTURES

UDP = CAPTURES / "sip-udp-call.pcap"
TCP = CAPTURES / "lync-signin-tcp.pcapng"
SERVER_LOG = CAPTURES / "sip-udp-call.server.log"
CLIENT_LOG = CAPTURES / "sip-udp-call.uccapilog"
MAIN = [sys.executable, "-c", "from lyncdump.cli import main; main()"]


def free_udp_port() -> int:
    """A port nothing listens on, different for each test run sharing this machine."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(command, list(args))
    return result.exit_code, result.stdout, result.stderr


def records(stdout: str) -> list[dict]:
    return [json.loads(line) for line in stdout.splitlines() if line.strip()]


# ------------------------------------------------------------------------------- single logs
def test_a_log_just_works() -> None:
    code, out, err = run(str(SERVER_LOG))
    assert code == 0, err
    assert "25 SIP messages in 25 records" in out
    assert "  #1   +0.000000  192.168.1.50:5060 → local:0  UDP  REGISTER sip:example.com" in out


def test_log_json_has_the_log_format_and_events() -> None:
    code, out, err = run("--json", str(CAPTURES / "quirks.server.log"))
    assert code == 0, err
    recs = records(out)
    cap = recs[-1]
    assert cap["record"] == "capture" and cap["format"] == "lync-server-log"
    assert cap["frames"] == 6 and cap["sip_messages"] == 4
    assert [e["severity"] for e in cap["log_events"]] == ["warning", "error"]
    assert cap["log_events"][1]["text"] == "Failed to complete outbound connection"
    assert recs[0]["record"] == "input"
    invite = recs[1]["messages"][0]
    assert (invite["frame"], invite["src"], invite["dst"], invite["transport"]) == (
        1,
        "192.0.2.10:50123",
        "sfvedge:0",
        "TLS",
    )


def test_log_on_stdin() -> None:
    proc = subprocess.run(
        [*MAIN, "--summary", "-"],
        input=CLIENT_LOG.read_bytes(),
        capture_output=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert b"- (uccapi-log): 27 records" in proc.stdout
    assert b"SIP messages 27 (UDP 27)" in proc.stdout


# -------------------------------------------------------------------------------- stdin pipes
WRITER = """
import sys, time
data = open(sys.argv[1], "rb").read()
step = int(sys.argv[2])
for i in range(0, len(data), step):
    sys.stdout.buffer.write(data[i:i + step])
    sys.stdout.buffer.flush()
    time.sleep(0.001)
"""


@pytest.mark.parametrize("path", [UDP, TCP], ids=["pcap", "pcapng"])
def test_capture_through_a_real_pipe_in_small_writes(path: Path) -> None:
    """Like ``tcpdump -U -w - | lyncdump -``: a writer process flushing small pieces."""
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(path), "997"], stdout=subprocess.PIPE
    )
    try:
        proc = subprocess.run(
            [*MAIN, "--summary", "-"], stdin=writer.stdout, capture_output=True, check=False
        )
    finally:
        assert writer.stdout is not None
        writer.stdout.close()
        writer.wait(10)
    assert proc.returncode == 0, proc.stderr
    expected = {UDP: b"SIP messages 27 (UDP 27)", TCP: b"SIP messages 21 (TCP 21)"}[path]
    assert expected in proc.stdout


def test_dumpcap_pipe_to_stdin() -> None:
    """A real capture tool writing pcapng to a pipe: ``dumpcap -w - | lyncdump -``."""
    if shutil.which("dumpcap") is None:
        pytest.skip("dumpcap is not installed")
    port = free_udp_port()  # others may run these tests at the same time
    dumpcap = subprocess.Popen(
        ["dumpcap", "-i", "lo", "-f", f"udp port {port}", "-a", "duration:3", "-w", "-"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert dumpcap.stdout is not None and dumpcap.stderr is not None
    started = dumpcap.stderr.readline().decode(errors="replace")  # "Capturing on 'Loopback: lo'"
    if not started.startswith("Capturing on"):
        dumpcap.kill()
        dumpcap.wait(10)
        pytest.skip(f"dumpcap cannot capture on lo here: {started.strip()}")
    reader = subprocess.Popen(
        [*MAIN, "--json", "-"], stdin=dumpcap.stdout, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    dumpcap.stdout.close()
    try:
        _send_options(port, "pipe-1")
        out, err = reader.communicate(timeout=30)
    finally:
        dumpcap.wait(30)
        dumpcap.stderr.close()
    assert reader.returncode == 0, err
    recs = records(out.decode())
    assert recs[-1]["format"] == "pcapng"
    session = next(r for r in recs if r["record"] == "session")
    assert session["call_id"] == "pipe-1" and session["outcome"] == "OPTIONS → 200"


def _send_options(port: int, call_id: str) -> None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        sock.bind(("127.0.0.1", 0))
        me = sock.getsockname()[1]
        for text in (
            f"OPTIONS sip:bob@example.com SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:{me};"
            f"branch=z9hG4bK{call_id}\r\nFrom: <sip:alice@example.com>;tag=a\r\n"
            f"To: <sip:bob@example.com>\r\nCall-ID: {call_id}\r\nCSeq: 1 OPTIONS\r\n"
            "Content-Length: 0\r\n\r\n",
            f"SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.1:{me};branch=z9hG4bK{call_id}\r\n"
            f"From: <sip:alice@example.com>;tag=a\r\nTo: <sip:bob@example.com>;tag=b\r\n"
            f"Call-ID: {call_id}\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n",
        ):
            sock.sendto(text.encode(), ("127.0.0.1", port))
            time.sleep(0.05)
    finally:
        sock.close()


# ------------------------------------------------------------------------------------- merge
def test_log_and_capture_are_merged_by_default() -> None:
    code, out, err = run(str(SERVER_LOG), str(UDP))
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == (
        f"=== merged: [A] {SERVER_LOG} (lync-server-log), [B] {UDP} (pcap); "
        "25 duplicate messages recognised"
    )
    # Seen by both: the capture's copy with its real addresses, both numbers noted.
    assert any(
        line.startswith("  #1   +0.000000  192.168.1.50:5060 → 10.0.0.10:5060  UDP  REGISTER")
        and line.endswith("[A#1 B#1]")
        for line in lines
    )
    # The BYE went from bob to alice directly: only in the capture (tshark frame 111).
    assert any(
        "BYE sip:alice@192.168.1.50:5060" in line and line.endswith("[B#111]") for line in lines
    )
    assert "27 SIP messages (25 seen twice) from 2 inputs" in lines[-1]


def test_no_merge_shows_each_input() -> None:
    code, out, err = run("--no-merge", str(SERVER_LOG), str(UDP))
    assert code == 0, err
    assert f"=== {SERVER_LOG}" in out and f"=== {UDP}" in out
    assert "merged" not in out


def test_two_captures_are_not_merged_unless_asked() -> None:
    code, out, _ = run("--summary", str(UDP), str(UDP))
    assert out.count("SIP messages 27") == 2
    code, out, err = run("--summary", "--merge", str(UDP), str(UDP))
    assert code == 0, err
    # The same capture twice: every message seen twice, kept once.
    assert "27 duplicate messages recognised" in out and "SIP messages 27 (UDP 27)" in out


def test_merged_json_names_the_sources() -> None:
    code, out, err = run("--json", str(CLIENT_LOG), str(UDP))
    assert code == 0, err
    recs = records(out)
    cap = recs[-1]
    assert cap["format"] == "merged" and cap["duplicates"] == 27 and cap["sip_messages"] == 27
    assert cap["inputs"] == [
        {"file": str(CLIENT_LOG), "format": "uccapi-log", "clock_offset": 0.0},
        {"file": str(UDP), "format": "pcap", "clock_offset": 0.0},
    ]
    call = next(r for r in recs if r.get("call_id") == "call-1@192.168.1.50")
    bye = next(m for m in call["messages"] if m.get("method") == "BYE")
    assert bye["sources"] == [
        {"file": str(CLIENT_LOG), "frame": 11},
        {"file": str(UDP), "frame": 111},
    ]
    assert bye["frame"] == 111 and bye["src"] == "192.168.1.77:5060"


def test_merge_keeps_retransmissions_and_prefers_capture_copies() -> None:
    merged = merge([lyncdump.open(SERVER_LOG), lyncdump.open(UDP)])
    messages = merged.messages()
    assert len(messages) == 27 and merged.duplicates == 25
    invites = [m for m in messages if m.method == "INVITE" and m.call_id == "call-1@192.168.1.50"]
    assert len(invites) == 2  # tshark frames 5 and 6: a retransmission, not a duplicate
    assert [[(c.name, f) for c, f in merged.sources(m)] for m in invites] == [
        [(str(SERVER_LOG), 5), (str(UDP), 5)],
        [(str(SERVER_LOG), 6), (str(UDP), 6)],
    ]
    assert all(str(m.dst) == "10.0.0.10:5060" for m in invites)
    sessions = merged.sessions()
    assert sessions[1].retransmissions == 1
    assert [m.time for m in messages] == sorted(m.time or 0.0 for m in messages)


def test_a_log_in_local_time_is_shifted_onto_the_capture_clock() -> None:
    log, cap = lyncdump.open(CLIENT_LOG), lyncdump.open(UDP)
    log.run()
    for m in log.messages():
        m.time = (m.time or 0.0) - 7200  # a client at UTC-2 writes local time
    merged = MergedCapture([log, cap]).run()
    assert merged.offsets == [7200.0, 0.0]
    assert merged.duplicates == 27 and len(merged.messages()) == 27
    assert [round(m.time or 0, 3) for m in log.messages()][:2] == [1767225600.0, 1767225600.012]
    assert "[A] " + str(CLIENT_LOG) + " (uccapi-log, clock shifted +7200.000s)" in next(
        legend_lines(merged)
    )


def test_copies_that_do_not_agree_on_an_offset_stay_apart() -> None:
    log, cap = lyncdump.open(CLIENT_LOG), lyncdump.open(UDP)
    log.run()
    for i, m in enumerate(log.messages()):
        m.time = (m.time or 0.0) + 100 * i  # no single clock offset explains these
    merged = MergedCapture([log, cap]).run()
    assert merged.offsets == [0.0, 0.0]
    assert merged.duplicates == 1 and len(merged.messages()) == 53  # only the first lines up


def test_merge_reports_unreadable_inputs(tmp_path: Path) -> None:
    missing = os.path.join(tmp_path, "nope.log")
    code, _, err = run("--merge", str(UDP), missing)
    assert code == 2 and err.strip() == f"lyncdump: {missing}: No such file"
