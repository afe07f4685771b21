"""Live capture on the loopback interface (root here and in CI; skipped where sniffing is not
permitted), the privilege message, and ``lyncdump live`` as a user runs it.

The packets are our own SIP text sent to 127.0.0.1; the pcapng written with ``-w`` is checked
with lyncdump's reader and was cross-checked once with tshark 4.0.17 (``tshark -r out.pcapng``
shows "Request: OPTIONS sip:bob@example.com" and "Status: 200 OK (OPTIONS)").
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import lyncdump
from lyncdump.capture import live as live_module
from lyncdump.capture import open_capture
from lyncdump.capture.live import LivePermissionError, LiveSource
from lyncdump.errors import CaptureError
from lyncdump.pipeline import SessionFinished

from ..conftest import CAPTURES

MAIN = [sys.executable, "-c", "from lyncdump.cli import main; main()"]


def free_udp_port() -> int:
    """A port nothing listens on, different for each test run sharing this machine."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _sniffing_refused() -> str | None:
    try:
        sock = live_module._open_socket("lo", "udp port 9")
    except CaptureError as exc:
        return f"live capture not permitted here: {exc}"
    sock.close()
    return None


needs_sniffing = pytest.mark.skipif(
    _sniffing_refused() is not None, reason=str(_sniffing_refused())
)


def options_exchange(port: int, call_id: str, delay: float = 0.05) -> None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        sock.bind(("127.0.0.1", 0))
        me = sock.getsockname()[1]
        via = f"Via: SIP/2.0/UDP 127.0.0.1:{me};branch=z9hG4bK{call_id}\r\n"
        common = f"Call-ID: {call_id}\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
        for text in (
            f"OPTIONS sip:bob@example.com SIP/2.0\r\n{via}From: <sip:alice@example.com>;tag=a\r\n"
            f"To: <sip:bob@example.com>\r\n{common}",
            f"SIP/2.0 200 OK\r\n{via}From: <sip:alice@example.com>;tag=a\r\n"
            f"To: <sip:bob@example.com>;tag=b\r\n{common}",
        ):
            sock.sendto(text.encode(), ("127.0.0.1", port))
            time.sleep(delay)
    finally:
        sock.close()


# --------------------------------------------------------------------------- without sniffing
def test_no_privileges_is_one_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    class Refusing:
        loopback_name = "lo"

        @staticmethod
        def L2listen(**_kw: object) -> None:  # noqa: N802 - scapy's name
            raise PermissionError(1, "Operation not permitted")

        L2socket = L2listen

    import scapy.config

    monkeypatch.setattr(scapy.config, "conf", Refusing)
    with pytest.raises(LivePermissionError) as info:
        LiveSource("eth0").start()
    assert str(info.value) == (
        "eth0: live capture needs privileges (run as root or give python CAP_NET_RAW)"
    )


def test_live_command_without_cap_net_raw_exits_2() -> None:
    setpriv = shutil.which("setpriv")
    if setpriv is None or os.geteuid() != 0:
        pytest.skip("needs root and setpriv to drop CAP_NET_RAW")
    proc = subprocess.run(
        [setpriv, "--bounding-set=-net_raw", *MAIN, "live", "-i", "lo"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 2
    assert proc.stderr == (
        "lyncdump: lo: live capture needs privileges (run as root or give python CAP_NET_RAW)\n"
    )
    assert proc.stdout == ""


def test_unknown_interface_exits_2() -> None:
    proc = subprocess.run(
        [*MAIN, "live", "-i", "nosuch-if0"], capture_output=True, text=True, timeout=60, check=False
    )
    assert proc.returncode == 2
    assert proc.stderr.startswith("lyncdump: nosuch-if0: ") and proc.stderr.count("\n") == 1


def test_live_help_and_main_help() -> None:
    proc = subprocess.run([*MAIN, "live", "--help"], capture_output=True, text=True, check=False)
    assert proc.returncode == 0
    for option in ("-i, --interface", "--bpf", "-w, --write", "--duration"):
        assert option in proc.stdout
    proc = subprocess.run([*MAIN, "--help"], capture_output=True, text=True, check=False)
    assert "lyncdump live -i IFACE" in proc.stdout


# ------------------------------------------------------------------------------ on loopback
@needs_sniffing
def test_loopback_capture_decodes_as_packets_arrive(tmp_path: Path) -> None:
    port = free_udp_port()  # others may run these tests at the same time
    out = tmp_path / "live.pcapng"
    source = LiveSource("lo", bpf=f"udp port {port}", write=out, duration=20).start()
    capture = lyncdump.Capture(source)
    seen_during_capture: list[str] = []

    def tick() -> None:
        messages = capture.messages()
        if len(messages) >= 2 and not seen_during_capture:
            seen_during_capture.append(messages[0].start_line)
            options_exchange(port, "live-2")
        if len(messages) >= 4:
            source.stop()

    source.tick = tick
    sender = threading.Timer(0.3, options_exchange, (port, "live-1"))
    sender.start()
    started = time.monotonic()
    capture.run()
    sender.join()
    assert time.monotonic() - started < 15, "stop() did not end the capture"
    assert seen_during_capture == ["OPTIONS sip:bob@example.com SIP/2.0"]
    messages = capture.messages()
    assert [(m.call_id, m.method or m.status) for m in messages] == [
        ("live-1", "OPTIONS"),
        ("live-1", 200),
        ("live-2", "OPTIONS"),
        ("live-2", 200),
    ]
    assert all(m.transport == "UDP" for m in messages)
    assert all(m.dst == lyncdump.Endpoint("127.0.0.1", port) for m in messages)
    assert capture.format == "live" and capture.stats.frames == 4  # no doubled loopback copies
    assert [s.outcome for s in capture.sessions()] == ["OPTIONS → 200", "OPTIONS → 200"]
    saved = lyncdump.open(out)
    assert saved.format == "pcapng"
    assert [m.raw for m in saved.messages()] == [m.raw for m in messages]


@needs_sniffing
def test_duration_ends_the_capture() -> None:
    source = LiveSource("lo", bpf="udp port 9", duration=0.5).start()
    started = time.monotonic()
    capture = lyncdump.Capture(source).run()
    assert 0.4 < time.monotonic() - started < 5
    assert capture.stats.frames == 0 and capture.messages() == []


def _start_live(*args: str) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [*MAIN, "live", "-i", "lo", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stderr is not None
    for _ in range(20):  # skip any warning scapy prints first
        line = proc.stderr.readline()  # ours is printed once the interface is open
        if line.startswith("lyncdump:") or not line:
            break
    assert line.startswith("lyncdump: listening on lo"), line
    return proc


@needs_sniffing
def test_live_command_prints_lines_then_the_summary_after_duration(tmp_path: Path) -> None:
    port = free_udp_port()  # others may run these tests at the same time
    out = tmp_path / "cli.pcapng"
    proc = _start_live("--bpf", f"udp port {port}", "--duration", "3", "-w", str(out))
    options_exchange(port, "cli-1")
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 0, stderr
    lines = stdout.splitlines()
    assert lines[0] == "+ session cli-1  sip:alice@example.com → sip:bob@example.com"
    assert lines[1].startswith("  [cli-1] #1 ") and lines[1].endswith(
        f"→ 127.0.0.1:{port}  UDP  OPTIONS sip:bob@example.com"
    )
    assert lines[2].startswith("  [cli-1] #2 ") and lines[2].endswith("UDP  200 OK")
    assert "live:lo (live): 2 frames" in stdout
    assert "  sessions 1 (options 1)" in lines
    assert f"  saved 2 frames to {out}" in lines
    assert len(lyncdump.open(out).messages()) == 2


@needs_sniffing
def test_live_command_ctrl_c_prints_the_summary() -> None:
    port = free_udp_port()  # others may run these tests at the same time
    proc = _start_live("--bpf", f"udp port {port}")
    options_exchange(port, "cli-2")
    time.sleep(1.0)
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 0, stderr
    assert "  [cli-2] #2 " in stdout and "SIP messages 2 (UDP 2)" in stdout


@needs_sniffing
def test_live_json_writes_each_session_record_then_the_capture_record() -> None:
    port = free_udp_port()
    proc = _start_live("--bpf", f"udp port {port}", "--duration", "3", "--json", "--redact")
    options_exchange(port, "json-1")
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 0, stderr
    records = [json.loads(line) for line in stdout.splitlines()]
    assert [r["record"] for r in records] == ["session", "capture"]
    session, capture = records
    assert (session["call_id"], session["kind"], session["outcome"]) == (
        "json-1",
        "options",
        "OPTIONS → 200",
    )
    assert [m["transport"] for m in session["messages"]] == ["UDP", "UDP"]
    assert capture["file"] == "live:lo" and capture["sip_messages"] == 2


@needs_sniffing
def test_stream_over_a_live_source_gives_messages_then_sessions() -> None:
    port = free_udp_port()
    source = LiveSource("lo", bpf=f"udp port {port}", duration=3).start()
    sender = threading.Timer(0.3, options_exchange, (port, "stream-1"))
    sender.start()
    kinds = []
    for event in lyncdump.stream(source, messages=True):
        kinds.append(type(event).__name__)
        if isinstance(event, SessionFinished):
            assert event.session.outcome == "OPTIONS → 200"
    sender.join()
    assert kinds == ["MessageDecoded", "MessageDecoded", "SessionFinished", "InputFinished"]


# ------------------------------------------------------- the reader without a real interface
class _FakeSocket:
    """Stands in for scapy's capture socket: Ethernet frames come out of a socketpair."""

    def __init__(self) -> None:
        from scapy.layers.l2 import Ether

        self.LL = Ether
        self.inject, self._out = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)

    def fileno(self) -> int:
        return self._out.fileno()

    def recv_raw(self, size: int) -> tuple[object, bytes, float]:
        return self.LL, self._out.recv(size), 1767225600.0

    def close(self) -> None:
        self._out.close()
        self.inject.close()


def _udp_frames() -> list[bytes]:
    reader = open_capture(CAPTURES / "sip-udp-call.pcap")
    try:
        return [data for _, _, data in list(reader.frames())[:4]]
    finally:
        reader.close()


def test_live_source_pipeline_without_privileges(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    fake = _FakeSocket()
    monkeypatch.setattr(live_module, "_open_socket", lambda iface, bpf: fake)
    frames = _udp_frames()
    out = tmp_path / "fake.pcapng"
    source = LiveSource("fake0", write=out, duration=30).start()
    assert source.linktype == 1
    capture = lyncdump.Capture(source)
    calls = {"ticks": 0}

    def tick() -> None:
        calls["ticks"] += 1
        if calls["ticks"] == 1:
            for frame in frames:
                fake.inject.send(frame)
        if len(capture.messages()) == 4:
            source.stop()

    source.tick = tick
    capture.run()
    # The first four frames of sip-udp-call.pcap (tshark: REGISTER, 401, REGISTER, 200).
    assert [m.method or m.status for m in capture.messages()] == ["REGISTER", 401, "REGISTER", 200]
    assert all(m.time == 1767225600.0 for m in capture.messages())
    assert source.captured == 4 and source.dropped == 0
    assert [m.raw for m in lyncdump.open(out).messages()] == [m.raw for m in capture.messages()]


def test_a_full_queue_drops_and_counts(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = _FakeSocket()
    monkeypatch.setattr(live_module, "_open_socket", lambda iface, bpf: fake)
    monkeypatch.setattr(live_module, "MAX_QUEUED", 2)
    frames = _udp_frames()
    source = LiveSource("fake0").start()
    for frame in frames:
        fake.inject.send(frame)
    deadline = time.monotonic() + 10
    while source.dropped < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    source.stop()
    capture = lyncdump.Capture(source).run()
    assert source.dropped == 2 and capture.stats.frames == 2
    assert [m.method or m.status for m in capture.messages()] == ["REGISTER", 401]
