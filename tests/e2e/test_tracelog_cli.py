"""``lyncdump`` on Lync trace logs, on logs and captures together (merged), and on stdin pipes.

Counts and values come from tshark 4.0.17 on the sample captures (27 SIP messages in
sip-udp-call.pcap, 21 in lync-signin-tcp.pcapng, 46 in federation.pcapng) and from the logs' own
text. federation.pcapng and its four logs were recorded together on loopback
(tools/make_tracelogs.py --record-federation): the capture was taken on the Front End's
address, the Front End, Edge and Mediation Server wrote server logs, the client a UccApi log.
"""

# ruff: noqa: E501 - expected output lines are kept whole
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
FED = CAPTURES / "federation.pcapng"
FED_FE = CAPTURES / "federation-fe01.server.log"
FED_EDGE = CAPTURES / "federation-edge.server.log"
FED_MED = CAPTURES / "federation-med01.server.log"
FED_CLIENT = CAPTURES / "federation-alice.uccapilog"
FED_ALL = [FED, FED_FE, FED_EDGE, FED_MED, FED_CLIENT]
# tshark -r federation.pcapng -Y sip -T fields -e frame.number -e ip.src -e ip.dst
#   -e sip.Method -e sip.Status-Code -e sip.Call-ID   (Call-IDs without "@127.0.0.10")
TSHARK_FED = [
    (10, "127.0.0.10", "127.0.0.20", "INVITE", "fed-call-1"),
    (12, "127.0.0.20", "127.0.0.10", "100", "fed-call-1"),
    (14, "127.0.0.20", "127.0.0.30", "INVITE", "fed-call-1"),
    (16, "127.0.0.30", "127.0.0.20", "100", "fed-call-1"),
    (18, "127.0.0.30", "127.0.0.20", "180", "fed-call-1"),
    (20, "127.0.0.20", "127.0.0.10", "180", "fed-call-1"),
    (22, "127.0.0.30", "127.0.0.20", "200", "fed-call-1"),
    (24, "127.0.0.20", "127.0.0.10", "200", "fed-call-1"),
    (26, "127.0.0.10", "127.0.0.20", "ACK", "fed-call-1"),
    (27, "127.0.0.20", "127.0.0.30", "ACK", "fed-call-1"),
    (30, "127.0.0.10", "127.0.0.20", "BYE", "fed-call-1"),
    (32, "127.0.0.20", "127.0.0.30", "BYE", "fed-call-1"),
    (34, "127.0.0.30", "127.0.0.20", "200", "fed-call-1"),
    (35, "127.0.0.20", "127.0.0.10", "200", "fed-call-1"),
    (36, "127.0.0.10", "127.0.0.20", "INVITE", "fed-call-2"),
    (37, "127.0.0.20", "127.0.0.10", "100", "fed-call-2"),
    (38, "127.0.0.20", "127.0.0.30", "INVITE", "fed-call-2"),
    (39, "127.0.0.30", "127.0.0.20", "100", "fed-call-2"),
    (42, "127.0.0.30", "127.0.0.20", "504", "fed-call-2"),
    (44, "127.0.0.20", "127.0.0.30", "ACK", "fed-call-2"),
    (45, "127.0.0.20", "127.0.0.10", "504", "fed-call-2"),
    (47, "127.0.0.10", "127.0.0.20", "ACK", "fed-call-2"),
    (50, "127.0.0.10", "127.0.0.20", "INVITE", "fed-call-3"),
    (52, "127.0.0.20", "127.0.0.10", "100", "fed-call-3"),
    (53, "127.0.0.20", "127.0.0.30", "INVITE", "fed-call-3"),
    (55, "127.0.0.30", "127.0.0.20", "100", "fed-call-3"),
    (58, "127.0.0.30", "127.0.0.20", "504", "fed-call-3"),
    (60, "127.0.0.20", "127.0.0.30", "ACK", "fed-call-3"),
    (61, "127.0.0.20", "127.0.0.10", "504", "fed-call-3"),
    (63, "127.0.0.10", "127.0.0.20", "ACK", "fed-call-3"),
    (65, "127.0.0.20", "127.0.0.30", "OPTIONS", "8c1d6f0e2b3a4c5d9e8f7a6b5c4d3e2f"),
    (67, "127.0.0.30", "127.0.0.20", "504", "8c1d6f0e2b3a4c5d9e8f7a6b5c4d3e2f"),
    (69, "127.0.0.10", "127.0.0.20", "INVITE", "pstn-call-1"),
    (71, "127.0.0.20", "127.0.0.10", "100", "pstn-call-1"),
    (72, "127.0.0.20", "127.0.0.50", "INVITE", "pstn-call-1"),
    (74, "127.0.0.50", "127.0.0.20", "100", "pstn-call-1"),
    (76, "127.0.0.50", "127.0.0.20", "183", "pstn-call-1"),
    (80, "127.0.0.20", "127.0.0.10", "183", "pstn-call-1"),
    (82, "127.0.0.50", "127.0.0.20", "200", "pstn-call-1"),
    (84, "127.0.0.20", "127.0.0.10", "200", "pstn-call-1"),
    (86, "127.0.0.10", "127.0.0.20", "ACK", "pstn-call-1"),
    (87, "127.0.0.20", "127.0.0.50", "ACK", "pstn-call-1"),
    (90, "127.0.0.50", "127.0.0.20", "BYE", "pstn-call-1"),
    (91, "127.0.0.20", "127.0.0.10", "BYE", "pstn-call-1"),
    (92, "127.0.0.10", "127.0.0.20", "200", "pstn-call-1"),
    (94, "127.0.0.20", "127.0.0.50", "200", "pstn-call-1"),
]
DIAGNOSTIC_FIELDS = {
    "record", "schema", "source", "record_number", "line", "time", "host", "level", "flag",
    "severity", "component", "function", "correlation", "text", "headline", "result_code",
    "result_name", "result_meaning", "ms_diagnostics", "call_id", "cseq", "cseq_method",
    "start_line", "peer", "data", "uris", "session", "message_frame", "joined_by",
}  # fmt: skip


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
    # The registrar named by the Via of its own requests, as the capture has it.
    assert (
        "  #1   +0.000000  192.168.1.50:5060 → 10.0.0.10:5060  UDP  REGISTER sip:example.com" in out
    )


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
    cap = recs[-1]
    assert cap["log_host"] == {"name": "sfvedge", "from": "[machine\\instance] prefix"}
    assert cap["diagnostics"] == {
        "total": 2,
        "by_severity": {"error": 1, "warning": 1},
        "by_result": {
            "0x80090325 SEC_E_UNTRUSTED_ROOT": 1,
            "0xC3E93D6F SIPPROXY_E_EPROUTING_MSG_ALLOWED_DOMAIN_NO_SRV_MATCH": 1,
        },
        "standalone": 1,
    }
    invite = recs[1]["messages"][0]
    assert (invite["frame"], invite["src"], invite["dst"], invite["transport"]) == (
        1,
        "192.0.2.10:50123",
        "sfvedge",
        "TLS",
    )
    assert invite["hop"] == {"source": "external edge", "destination": "internal edge"}
    assert [d["record_number"] for d in recs[1]["diagnostics"]] == [2]
    assert [(r["record_number"], r["session"]) for r in recs if r["record"] == "diagnostic"] == [
        (2, "quirk-call-1"),
        (4, None),
    ]


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
        f"=== merged: [A] {SERVER_LOG} (lync-server-log, written by 10.0.0.10:5060), "
        f"[B] {UDP} (pcap); 25 duplicate messages recognised"
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
        {"file": str(CLIENT_LOG), "format": "uccapi-log", "clock_offset": 0.0, "log_host": None},
        {"file": str(UDP), "format": "pcap", "clock_offset": 0.0, "log_host": None},
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


# ------------------------------------------------------------------ diagnostics in every view
def test_federation_capture_is_what_tshark_sees() -> None:
    rows = [
        (m.frame, m.src.ip, m.dst.ip, m.method or str(m.status), (m.call_id or "").split("@")[0])
        for m in lyncdump.open(FED).messages()
        if m.src is not None and m.dst is not None
    ]
    assert rows == TSHARK_FED


def test_edge_log_ladder_shows_its_diagnostics_at_their_time() -> None:
    code, out, err = run(str(FED_EDGE))
    assert code == 0, err
    lines = out.splitlines()
    # The refused call: INVITE from the Front End, 100 Trying, the warning, the 504.
    i = next(i for i, line in enumerate(lines) if line.startswith("CALL  fed-call-2@127.0.0.10"))
    assert "INVITE sip:carol@acano.example" in lines[i + 1] and "· SDP audio" in lines[i + 1]
    assert "hop internal edge → external edge" in lines[i + 1]
    assert "100 Trying" in lines[i + 2]
    assert lines[i + 3].startswith("  #16   +0.008000  !  warning sfvedge  0xC3E93D6F ")
    assert (
        "SIPPROXY_E_EPROUTING_MSG_ALLOWED_DOMAIN_NO_SRV_MATCH  The domain of the message"
        in (lines[i + 3])
    )
    assert lines[i + 3].endswith(
        "· about #14 INVITE; peer 127.0.0.20:51803; domain=acano.example; "
        "fqdn1=sip.other.example :5061"
    )
    assert lines[i + 4].strip().startswith("= federation: the domain's _sipfederationtls._tcp")
    assert lines[i + 4].endswith(
        "the client gets ms-diagnostics 1009 (SIP stack: DNS SRV record does not match the domain)"
    )
    assert "504 Server time-out" in lines[i + 5]
    # The error that names no call stands alone in the time line, marked.
    j = lines.index(
        "DIAGNOSTIC  error  0x8007274D WSAECONNREFUSED  2026-12-06 10:25:59.866000 UTC  sfvedge  "
        f"({FED_EDGE} record 24)"
    )
    assert lines[j + 1].startswith(
        "  #24   +0.000000  !! error   sfvedge  0x8007274D WSAECONNREFUSED"
    )
    assert lines[j - 1] == "" and lines[j - 2].startswith("  #23 ")  # after the call before it


def test_summary_counts_diagnostics_by_severity_and_result() -> None:
    code, out, err = run("--summary", str(FED_EDGE))
    assert code == 0, err
    lines = out.splitlines()
    at = lines.index("  log host sfvedge (from the [machine\\instance] prefix)")
    assert lines[at : at + 7] == [
        "  log host sfvedge (from the [machine\\instance] prefix)",
        "  diagnostics 4 (error 2, warning 2; 3 in sessions, 1 alone)",
        "    0x8007274D WSAECONNREFUSED  1",
        "    0xC3E93C5E SIPPROXY_E_ROUTING  1",
        "    0xC3E93D67 SIPPROXY_E_ROUTING_MSG_CERT_MISMATCH  1",
        "    0xC3E93D6F SIPPROXY_E_EPROUTING_MSG_ALLOWED_DOMAIN_NO_SRV_MATCH  1",
        "  defects 0",
    ]
    code, out, err = run("--summary", str(FED_FE))
    assert "  log host fe01.contoso.com:5061 (from the top Via of its own messages)" in out
    assert "  other log events 1 (component records; in the JSON log_events)" in out


def test_json_carries_diagnostics_in_sessions_and_as_records() -> None:
    code, out, err = run("--json", str(FED_EDGE))
    assert code == 0, err
    recs = records(out)
    # Written after their session, as it finishes; those alone at the end: sort by record.
    diags = sorted(
        (r for r in recs if r["record"] == "diagnostic"), key=lambda r: r["record_number"]
    )
    assert all(set(d) == DIAGNOSTIC_FIELDS for d in diags)
    assert [
        (
            d["source"],
            d["record_number"],
            d["severity"],
            d["result_name"],
            d["session"],
            d["message_frame"],
        )
        for d in diags
    ] == [
        (
            str(FED_EDGE),
            16,
            "warning",
            "SIPPROXY_E_EPROUTING_MSG_ALLOWED_DOMAIN_NO_SRV_MATCH",
            "fed-call-2@127.0.0.10",
            14,
        ),
        (
            str(FED_EDGE),
            21,
            "error",
            "SIPPROXY_E_ROUTING_MSG_CERT_MISMATCH",
            "fed-call-3@127.0.0.10",
            19,
        ),
        (str(FED_EDGE), 24, "error", "WSAECONNREFUSED", None, None),
        (
            str(FED_EDGE),
            26,
            "warning",
            "SIPPROXY_E_ROUTING",
            "8c1d6f0e2b3a4c5d9e8f7a6b5c4d3e2f",
            25,
        ),
    ]
    cert = diags[1]
    assert (cert["result_code"], cert["ms_diagnostics"], cert["peer"], cert["host"]) == (
        "0xC3E93D67",
        1010,
        "sip.fabrikam.com:5061",
        "sfvedge",
    )
    assert cert["data"] == {
        "expected-fqdn": "sip.fabrikam.com",
        "certName": "edge.fabrikam.net",
        "info": "The peer certificate does not contain a matching FQDN",
    }
    assert (cert["level"], cert["flag"], cert["joined_by"]) == (
        "ERROR",
        "DIAG",
        "call-id, cseq, start-line",
    )
    routing = diags[3]
    assert routing["headline"] == "Exit - route headers from untrusted source."
    assert (routing["level"], routing["severity"]) == ("ERROR", "warning")  # as the record says
    session = next(r for r in recs if r.get("call_id") == "fed-call-3@127.0.0.10")
    assert [d["record_number"] for d in session["diagnostics"]] == [21]
    cap = recs[-1]
    assert cap["diagnostics"]["total"] == 4 and cap["diagnostics"]["standalone"] == 1


def test_filters_apply_to_lone_diagnostics() -> None:
    code, out, _ = run("--filter", "call-id=fed-call-2@127.0.0.10", str(FED_EDGE))
    assert code == 0 and "SIPPROXY_E_EPROUTING_MSG_ALLOWED_DOMAIN_NO_SRV_MATCH" in out
    assert "DIAGNOSTIC" not in out and "1 of 4 sessions shown" in out
    code, out, _ = run("--filter", "call-id=2d8f1c0e6a7b4c55aa0b7e1f33c4d9e1", str(FED_FE))
    assert code == 0 and out.startswith(
        "DIAGNOSTIC  warning  0xC3E93C2F SIPPROXY_E_UNKNOWN_USER_OR_EPID"
    )
    assert "0 of 5 sessions shown" in out
    code, out, _ = run("--json", "--filter", "kind=options", str(FED_EDGE))
    assert [r["record_number"] for r in records(out) if r["record"] == "diagnostic"] == [26]


def test_log_host_option() -> None:
    code, out, err = run("--log-host", "edge01.contoso.com:5061", str(FED_EDGE))
    assert code == 0, err
    assert "127.0.0.20:51803 → edge01.contoso.com:5061" in out and "sfvedge " not in out
    code, out, err = run(
        "--summary", "--log-host", "federation-med01.server.log=mediation01", str(FED_MED)
    )
    assert "  log host mediation01 (from the --log-host)" in out
    code, _, err = run("--log-host", "nope.log=x", str(FED_MED))
    assert code == 2 and "'nope.log=x': LOG is not one of the inputs" in err


# ------------------------------------------------- several server logs and a capture, merged
def test_front_end_edge_mediation_client_and_capture_merged() -> None:
    merged = merge([lyncdump.open(p) for p in FED_ALL])
    # The Mediation Server's clock ran 4.2 s ahead, the client wrote local time (UTC+1).
    assert merged.offsets == [0.0, 0.0, 0.0, -4.2, -3600.0]
    messages = merged.messages()
    assert len(messages) == 58 and merged.duplicates == 92
    letters = {str(p): i for i, p in enumerate(FED_ALL)}

    def seen(m: lyncdump.SipMessage) -> dict[int, int | None]:
        return {letters[c.name]: frame for c, frame in merged.sources(m)}

    # Every SIP frame tshark sees is one message, shown once with every source that saw it.
    by_frame = {seen(m).get(0): m for m in messages if 0 in seen(m)}
    assert sorted(by_frame) == [row[0] for row in TSHARK_FED]
    # The Front End → Edge INVITE of the refused call: capture, Front End log and Edge log.
    invite = by_frame[38]
    assert seen(invite) == {0: 38, 1: 19, 2: 14}
    assert (str(invite.src), str(invite.dst)) == ("127.0.0.20:51803", "127.0.0.30:5061")
    # Client → Front End: capture, Front End and client logs.
    assert seen(by_frame[36]) == {0: 36, 1: 17, 4: 8}
    # Front End → Mediation → gateway: the second hop only in the Mediation log, named by it.
    pstn = [m for m in messages if m.call_id == "pstn-call-1@127.0.0.10" and m.method == "INVITE"]
    assert [seen(m) for m in pstn] == [{0: 69, 1: 35, 4: 16}, {0: 72, 1: 37, 3: 1}, {3: 3}]
    assert (str(pstn[2].src), str(pstn[2].dst)) == ("med01.contoso.com:5068", "127.0.0.60:5060")
    # Edge → federated partner: only in the Edge log.
    fed = [m for m in messages if m.call_id == "fed-call-1@127.0.0.10" and m.method == "INVITE"]
    assert [seen(m) for m in fed] == [{0: 10, 1: 3, 4: 1}, {0: 14, 1: 5, 2: 1}, {2: 3}]
    assert (str(fed[2].src), str(fed[2].dst)) == ("sfvedge", "127.0.0.40:5061")
    assert getattr(fed[2].src, "hop", None) == ("internal edge", "external edge")
    # Diagnostics joined to the sessions, to the copy their own log saw.
    index = merged.diagnostics()
    joined = {d.result_name: d for d in index.all}
    assert set(joined) == {
        "SIPPROXY_E_UNKNOWN_USER_OR_EPID",
        "SIPPROXY_E_EPROUTING_MSG_ALLOWED_DOMAIN_NO_SRV_MATCH",
        "SIPPROXY_E_ROUTING_MSG_CERT_MISMATCH",
        "WSAECONNREFUSED",
        "SIPPROXY_E_ROUTING",
    }
    srv = joined["SIPPROXY_E_EPROUTING_MSG_ALLOWED_DOMAIN_NO_SRV_MATCH"]
    assert srv.session is not None and srv.session.call_id == "fed-call-2@127.0.0.10"
    assert srv.message is invite and srv.source == str(FED_EDGE)
    assert joined["SIPPROXY_E_ROUTING_MSG_CERT_MISMATCH"].message is by_frame[53]
    assert joined["SIPPROXY_E_ROUTING"].message is by_frame[65]
    assert [d.result_name for d in index.standalone] == [
        "SIPPROXY_E_UNKNOWN_USER_OR_EPID",  # a subscription no input holds
        "WSAECONNREFUSED",  # names no call
    ]
    # The record times moved with their log's clock: the Edge's are not shifted.
    assert srv.time is not None and abs(srv.time - (invite.time or 0)) < 0.05


def test_merged_cli_text_and_json() -> None:
    code, out, err = run(*map(str, FED_ALL))
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].startswith(
        f"=== merged: [A] {FED} (pcapng), [B] {FED_FE} (lync-server-log, written by fe01.contoso.com:5061)"
    )
    assert (
        f"[D] {FED_MED} (lync-server-log, written by med01.contoso.com:5068, clock shifted -4.200s)"
        in lines[0]
    )
    assert lines[0].endswith("; 92 duplicate messages recognised")
    assert lines[1].startswith("DIAGNOSTIC  warning  0xC3E93C2F SIPPROXY_E_UNKNOWN_USER_OR_EPID")
    assert lines[2].endswith("[B#2]")
    refused = next(i for i, line in enumerate(lines) if "!  warning sfvedge  0xC3E93D6F" in line)
    assert lines[refused].endswith(
        "· about #38 INVITE; peer 127.0.0.20:51803; domain=acano.example; fqdn1=sip.other.example :5061  [C#16]"
    )
    assert lines[refused - 1].endswith("100 Trying  [A#39 B#20 C#15]")
    assert lines[refused + 2].endswith(
        '504 Server time-out  · ms-diagnostics 1009 "No match for domain in DNS SRV results" (SIP stack: DNS SRV record does not match the domain)  [A#42 B#21 C#17]'
    )
    assert any(
        line.startswith("  #3 ") and "sfvedge → 127.0.0.40:5061" in line and line.endswith("[C#3]")
        for line in lines
    )
    assert (
        lines[-1]
        == "5 of 5 sessions shown, 58 SIP messages (92 seen twice) from 5 inputs, 5 diagnostics (2 errors), 0 defects"
    )
    code, out, err = run("--json", *map(str, FED_ALL))
    recs = records(out)
    diags = [r for r in recs if r["record"] == "diagnostic"]
    assert [(Path(d["source"]).name, d["record_number"], d["message_frame"]) for d in diags] == [
        ("federation-fe01.server.log", 2, None),
        ("federation-edge.server.log", 16, 38),
        ("federation-edge.server.log", 21, 53),
        ("federation-edge.server.log", 24, None),
        ("federation-edge.server.log", 26, 65),
    ]
    cap = recs[-1]
    assert [i["log_host"] for i in cap["inputs"]] == [
        None,
        "fe01.contoso.com:5061",
        "sfvedge",
        "med01.contoso.com:5068",
        None,
    ]
    assert cap["diagnostics"]["total"] == 5 and cap["duplicates"] == 92
    call = next(r for r in recs if r.get("call_id") == "fed-call-2@127.0.0.10")
    assert [d["record_number"] for d in call["diagnostics"]] == [16]
    invite = next(m for m in call["messages"] if m["frame"] == 38)
    assert [(Path(s["file"]).name, s["frame"]) for s in invite["sources"]] == [
        ("federation.pcapng", 38),
        ("federation-fe01.server.log", 19),
        ("federation-edge.server.log", 14),
    ]
    code, out, err = run("--summary", *map(str, FED_ALL))
    assert "  diagnostics 5 (error 2, warning 3; 3 in sessions, 2 alone)" in out


def test_published_record_shapes_as_a_new_user_reads_them(tmp_path: Path) -> None:
    """Issue 20's first try: one SIPStack protocol record and three diagnostic records in the
    shapes Microsoft and Cisco publish (our own names and values). Every diagnostic is shown,
    with its code read wherever it was written, and the session is not drawn from '?'."""
    from ..capture.test_tracelog_records import OCS_EDGE, SFB_EDGE

    log = tmp_path / "edge.log"
    log.write_bytes((OCS_EDGE + SFB_EDGE).replace("\n", "\r\n").encode("utf-16"))
    code, out, err = run(str(log))
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].startswith("OPTIONS  2f9c0d8e7b6a45c3a1e0f9d8c7b6a5e4  sip:fe.contoso.com → ")
    assert lines[1].startswith("  #1   +0.000000  fe.contoso.com:61182 → (log host)  TLS  OPTIONS")
    assert lines[1].endswith("· hop internal edge → external edge")
    assert lines[2].startswith(
        "  #2   +0.021000  !  warning (log host)  0xC3E93C5E SIPPROXY_E_ROUTING"
    )
    assert lines[2].endswith("· about #1 OPTIONS")
    blocks = [line for line in lines if line.startswith("DIAGNOSTIC")]
    assert [b.split("  ")[1:3] for b in blocks] == [
        ["error", "0xC3E93D67 SIPPROXY_E_ROUTING_MSG_CERT_MISMATCH"],
        ["warning", "0xC3E93D6F SIPPROXY_E_EPROUTING_MSG_ALLOWED_DOMAIN_NO_SRV_MATCH"],
    ]
    code, out, err = run("--summary", str(log))
    assert "  diagnostics 3 (error 1, warning 2; 1 in sessions, 2 alone)" in out
    assert "  log host not named (no [machine\\instance] prefix, no Via): use --log-host" in out
    code, out, err = run("--json", "--log-host", "edge.contoso.com", str(log))
    recs = records(out)
    assert [
        (r["result_code"], r["result_name"], r["host"]) for r in recs if r["record"] == "diagnostic"
    ] == [
        ("0xC3E93C5E", "SIPPROXY_E_ROUTING", "edge.contoso.com"),
        ("0xC3E93D67", "SIPPROXY_E_ROUTING_MSG_CERT_MISMATCH", "edge.contoso.com"),
        ("0xC3E93D6F", "SIPPROXY_E_EPROUTING_MSG_ALLOWED_DOMAIN_NO_SRV_MATCH", "edge.contoso.com"),
    ]
    assert recs[1]["messages"][0]["dst"] == "edge.contoso.com"
    assert all(e["result_code"] for e in recs[-1]["log_events"])
