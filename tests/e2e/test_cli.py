"""The ``lyncdump`` command as a user runs it: real values, exit codes, no tracebacks."""

from __future__ import annotations

import gzip
import json
import struct
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from lyncdump.cli import command

from ..conftest import CAPTURES

UDP = CAPTURES / "sip-udp-call.pcap"
TCP = CAPTURES / "lync-signin-tcp.pcapng"


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(command, list(args))
    return result.exit_code, result.stdout, result.stderr


def records(stdout: str) -> list[dict]:
    return [json.loads(line) for line in stdout.splitlines() if line.strip()]


def test_udp_sample_sessions() -> None:
    code, out, err = run("--json", str(UDP))
    assert code == 0, err
    recs = records(out)
    sessions = {r["call_id"]: r for r in recs if r["record"] == "session"}
    assert sessions["reg-1@192.168.1.50"]["kind"] == "registration"
    assert sessions["reg-1@192.168.1.50"]["outcome"] == "REGISTER → 401, 200"
    call = sessions["call-1@192.168.1.50"]
    assert call["kind"] == "call"
    assert call["outcome"] == "INVITE → 200; BYE → 200"
    assert call["retransmissions"] == 1
    assert call["from"] == "sip:alice@example.com" and call["to"] == "sip:bob@example.com"
    assert [m.get("method") or m.get("status") for m in call["messages"]] == [
        "INVITE",
        "INVITE",
        100,
        180,
        200,
        "ACK",
        "BYE",
        200,
    ]
    assert call["messages"][1]["retransmission"] is True
    assert abs(call["duration"] - 5.005) < 1e-6
    assert sessions["call-2@192.168.1.50"]["outcome"] == "INVITE → 487 after CANCEL"
    assert sessions["im-1@192.168.1.50"]["kind"] == "im"
    assert sessions["opt-1@10.0.0.10"]["kind"] == "options"
    assert sessions["sub-1@192.168.1.50"]["kind"] == "presence"
    summary = recs[-1]
    assert summary["record"] == "capture"
    assert summary["sip_messages"] == 27
    assert summary["methods"]["INVITE"] == 3
    assert summary["udp_datagrams"] == 127
    assert summary["defects_total"] == 0


def test_tcp_sample_reassembles_every_message() -> None:
    code, out, err = run("--json", str(TCP))
    assert code == 0, err
    recs = records(out)
    sessions = {r["call_id"]: r for r in recs if r["record"] == "session"}
    reg = sessions["3c1b6b0e5f8d4e7a9c2d1f0e8b7a6c5d"]
    assert reg["kind"] == "registration"
    assert reg["outcome"] == "REGISTER → 401, 200"
    first = reg["messages"][0]
    # The first REGISTER came in three segments (frames 4-6), the second in two swapped ones.
    assert (first["first_frame"], first["frame"], first["transport"]) == (4, 6, "TCP")
    assert first["src"] == "192.168.1.50:50123" and first["dst"] == "10.0.0.10:5060"
    assert reg["messages"][1]["facts"][0] == "offers NTLM, Kerberos"
    assert reg["messages"][2]["frame"] == 9
    assert reg["messages"][3]["facts"][:1] == ["expires 7200"]
    roaming = sessions["8f1d2c3b4a5e6f708192a3b4c5d6e7f8"]
    assert roaming["kind"] == "presence"
    assert [m.get("method") or m.get("status") for m in roaming["messages"]] == [
        "SUBSCRIBE",
        200,
        "BENOTIFY",
    ]
    assert sessions["9a8b7c6d5e4f30211f2e3d4c5b6a7980"]["kind"] == "service"
    im = sessions["5d6e7f8091a2b3c4d5e6f708192a3b4c"]
    assert im["kind"] == "im"
    assert im["outcome"] == "INVITE → 200; INFO → 200; MESSAGE → 200; BYE → 200"
    v6 = sessions["v6-options-1"]
    assert v6["messages"][0]["src"] == "[2001:db8::10]:5061"
    summary = recs[-1]
    assert summary["sip_messages"] == 21
    assert [c["protocol"] for c in summary["connections"]] == ["sip", "sip"]


def test_text_ladder_shape() -> None:
    code, out, _ = run(str(UDP))
    assert code == 0
    lines = out.splitlines()
    header = next(line for line in lines if line.startswith("CALL  call-1@"))
    assert "sip:alice@example.com → sip:bob@example.com" in header
    assert "2026-01-01 00:00:01.000000 UTC" in header
    assert header.endswith("INVITE → 200; BYE → 200")
    assert any("INVITE sip:bob@example.com" in line and "SDP audio" in line for line in lines)
    assert any("401 Unauthorized" in line and "offers Digest" in line for line in lines)
    assert lines[-1].startswith("6 of 6 sessions shown, 27 SIP messages in 127 frames, 0 defects")


def test_verbose_prints_full_messages() -> None:
    code, out, _ = run("-v", "--filter", "kind=im", str(UDP))
    assert code == 0
    assert "      | Lunch at noon?" in out
    assert "      | Content-Type: text/plain;charset=UTF-8" in out


@pytest.mark.parametrize(
    ("flt", "call_ids"),
    [
        ("kind=call", ["call-1@192.168.1.50", "call-2@192.168.1.50"]),
        ("method=CANCEL", ["call-2@192.168.1.50"]),
        ("user=carol", ["call-2@192.168.1.50"]),
        ("call-id=im-1@192.168.1.50", ["im-1@192.168.1.50"]),
    ],
)
def test_filters(flt: str, call_ids: list[str]) -> None:
    code, out, _ = run("--json", "--filter", flt, str(UDP))
    assert code == 0
    assert [r["call_id"] for r in records(out) if r["record"] == "session"] == call_ids


def test_filters_combine() -> None:
    code, out, _ = run("--json", "--filter", "kind=call", "--filter", "user=bob", str(UDP))
    assert [r["call_id"] for r in records(out) if r["record"] == "session"] == [
        "call-1@192.168.1.50"
    ]


def test_bad_filter_is_a_usage_error() -> None:
    code, _, err = run("--filter", "colour=red", str(UDP))
    assert code == 2
    assert "unknown field 'colour'" in err


def test_summary_counts() -> None:
    code, out, _ = run("--summary", str(TCP))
    assert code == 0
    assert "SIP messages 21 (TCP 21)" in out
    assert "sessions 5 (im 1, options 1, presence 1, registration 1, service 1)" in out
    assert "#1 192.168.1.50:50123 → 10.0.0.10:5060  sip, 19 SIP messages" in out


def test_not_a_capture(tmp_path: Path) -> None:
    bogus = tmp_path / "notes.txt"
    bogus.write_text("hello, this is not a capture\n")
    code, out, err = run(str(bogus))
    assert code == 2
    assert out == ""
    assert err.startswith("lyncdump: ") and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_missing_file() -> None:
    code, _, err = run("/nonexistent/capture.pcap")
    assert code == 2
    assert "Traceback" not in err and err.startswith("lyncdump: ")


def test_truncated_capture_prints_what_it_decoded_then_fails(tmp_path: Path) -> None:
    data = UDP.read_bytes()
    cut = tmp_path / "cut.pcap"
    cut.write_bytes(data[: len(data) // 2])
    code, out, err = run(str(cut))
    assert code == 2
    assert "REGISTRATION  reg-1@192.168.1.50" in out
    assert "truncated" in err.lower()
    assert len(err.strip().splitlines()) == 1


def test_unknown_link_type(tmp_path: Path) -> None:
    data = bytearray(UDP.read_bytes())
    struct.pack_into("<I", data, 20, 147)  # LINKTYPE_USER0: nothing we decode
    odd = tmp_path / "user0.pcap"
    odd.write_bytes(bytes(data))
    code, _, err = run(str(odd))
    assert code == 2
    assert "link type 147" in err


def test_gzip_and_several_files(tmp_path: Path) -> None:
    gz = tmp_path / "udp.pcap.gz"
    gz.write_bytes(gzip.compress(UDP.read_bytes()))
    code, out, _ = run("--summary", str(gz), str(TCP))
    assert code == 0
    assert f"=== {gz}" in out and f"=== {TCP}" in out
    assert "SIP messages 27" in out and "SIP messages 21" in out


def test_console_script_reads_stdin() -> None:
    """The installed entry point, as a real process: `lyncdump - < file`."""
    proc = subprocess.run(
        [sys.executable, "-c", "from lyncdump.cli import main; main()", "--summary", "-"],
        input=UDP.read_bytes(),
        capture_output=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert b"SIP messages 27" in proc.stdout


def test_help_mentions_exit_status() -> None:
    code, out, _ = run("--help")
    assert code == 0
    assert "Exit status" in out and "--filter" in out and "--json" in out
