"""Terminal manners under a real pseudo-terminal of 80 columns: width, colour, NO_COLOR,
ASCII under LC_ALL=C, the pager, progress on stderr only on a terminal, and a quiet exit 0
when the reader of a pipe goes away."""

from __future__ import annotations

import fcntl
import os
import re
import select
import struct
import subprocess
import sys
import termios
from pathlib import Path

import pytest

from lyncdump.render.text import LineStyle, display_width, fit_line, to_ascii

from ..conftest import CAPTURES

SIGNIN = CAPTURES / "lync-signin-failed.pcapng"
AV = CAPTURES / "lync-av-call.pcapng"
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def run_pty(args: list[str], env: dict[str, str] | None = None, cols: int = 80) -> str:
    """Run lyncdump with stdout and stderr on a pseudo-terminal of ``cols`` columns."""
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, cols, 0, 0))
    full_env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "NO_COLOR")}
    full_env.update({"TERM": "xterm", "PAGER": "cat"})
    full_env.update(env or {})
    proc = subprocess.Popen(
        [sys.executable, "-m", "lyncdump.cli", *args],
        stdin=subprocess.DEVNULL,
        stdout=slave,
        stderr=slave,
        env=full_env,
        close_fds=True,
    )
    os.close(slave)
    chunks = []
    while True:
        ready, _, _ = select.select([master], [], [], 30)
        if not ready:
            break
        try:
            data = os.read(master, 65536)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    proc.wait(timeout=30)
    os.close(master)
    assert proc.returncode == 0
    return b"".join(chunks).decode("utf-8", "replace").replace("\r\n", "\n")


def test_ladder_fits_80_columns_with_colour() -> None:
    out = run_pty([str(SIGNIN)])
    lines = [ANSI.sub("", line) for line in out.splitlines()]
    assert lines and max(display_width(line) for line in lines) <= 80
    assert any(line.endswith("…") for line in lines)
    assert "\x1b[33m401 Unauthorized" in out  # a challenge: yellow
    assert "\x1b[31mfailed\x1b[0m" in out
    # the same capture through a pipe: whole lines, no colour
    piped = subprocess.run(
        [sys.executable, "-m", "lyncdump.cli", str(SIGNIN)], capture_output=True, text=True
    ).stdout
    assert piped == (CAPTURES / "lync-signin-failed.pcapng.txt").read_text(encoding="utf-8")


def test_no_color_and_wide() -> None:
    out = run_pty([str(SIGNIN)], {"NO_COLOR": "1"})
    assert "\x1b[3" not in out
    wide = run_pty(["--wide", "--color=never", str(SIGNIN)])
    assert max(display_width(x) for x in wide.splitlines()) > 80
    columns = run_pty([str(SIGNIN)], {"COLUMNS": "60"})
    assert max(display_width(ANSI.sub("", x)) for x in columns.splitlines()) <= 60


def test_lc_all_c_falls_back_to_ascii() -> None:
    out = run_pty(["--color=never", str(SIGNIN)], {"LC_ALL": "C", "LANG": "C"})
    assert out.isascii()
    assert " -> " in out and "..." in out


def test_pager_gets_the_output(tmp_path: Path) -> None:
    seen = tmp_path / "paged.txt"
    pager = f"{sys.executable} -c \"import sys; open({str(seen)!r}, 'w').write(sys.stdin.read())\""
    out = run_pty(["--color=never", str(SIGNIN)], {"PAGER": pager, "LESS": ""})
    assert "REGISTRATION" not in out
    assert seen.read_text().startswith("REGISTRATION")
    off = run_pty(["--no-pager", "--color=never", str(SIGNIN)], {"PAGER": pager})
    assert "REGISTRATION" in off


def test_progress_only_on_a_terminal(tmp_path: Path) -> None:
    big = tmp_path / "big.pcapng"
    big.write_bytes(AV.read_bytes())
    env = {"PAGER": "cat"}
    out = run_pty(["--summary", "--color=never", str(big)], env)
    assert "UDP datagrams" in out  # the summary itself
    piped = subprocess.run(
        [sys.executable, "-m", "lyncdump.cli", "--summary", str(big)],
        capture_output=True,
        text=True,
    )
    assert piped.stderr == ""


def test_head_closing_the_pipe_is_a_quiet_exit_0() -> None:
    many = [str(CAPTURES / "sipp-calls.pcapng")] * 20
    proc = subprocess.Popen(
        [sys.executable, "-m", "lyncdump.cli", *many],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None
    proc.stdout.readline()
    proc.stdout.close()  # what `| head -1` does
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0
    assert err == b""


def test_progress_bar_says_share_rate_and_time_left(tmp_path: Path) -> None:
    import io

    from lyncdump.capture.tracelog import open_input
    from lyncdump.cli_common import Progress

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    reader = open_input(AV)
    screen = Tty()
    bar = Progress("lync-av-call.pcapng", str(AV), reader=reader, stream=screen)
    for _ts, _lt, _data in reader.frames():
        pass
    bar(313, 0.0)
    bar(314, 0.0)
    text = screen.getvalue()
    assert "lync-av-call.pcapng" in text and "100%" in text
    assert "313 frames" in text or "314 frames" in text
    assert "/s" in text
    bar.stop()
    assert screen.getvalue().endswith("\r\x1b[K\x1b[?25h")


def test_fit_line_cuts_facts_first_then_long_fields() -> None:
    line = (
        "  #5   +0.050000  10.1.1.10:5061 → 10.1.2.60:52001  TCP  401 Unauthorized  · "
        "offers NTLM, Kerberos"
    )
    assert fit_line(line, 80).endswith("offers NTLM, K…") or display_width(fit_line(line, 80)) <= 80
    long_uri = "  #4   +0.000000  10.0.0.1:5060 → 10.0.0.2:5060  UDP  INVITE sip:" + "x" * 200
    cut = fit_line(long_uri, 80)
    assert display_width(cut) <= 80 and "10.0.0.1:5060 → 10.0.0.2:5060" in cut
    assert fit_line("      | " + "y" * 300, 80).endswith("y")  # -v text wraps, never cut
    assert display_width(fit_line("界" * 100, 41)) <= 41


def test_ascii_and_style() -> None:
    assert to_ascii("a → b · c… é") == "a -> b | c... \\xe9"
    style = LineStyle(None, False, True)
    assert style("x ⇄ y") == "x <-> y"


@pytest.mark.parametrize("flag", ["--color=always", "--colour=always"])
def test_color_always_colours_a_pipe(flag: str) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "lyncdump.cli", flag, str(SIGNIN)], capture_output=True, text=True
    ).stdout
    assert "\x1b[" in out


def test_clear_progress_wipes_every_input_bar(monkeypatch: pytest.MonkeyPatch) -> None:
    """A merged run reads its inputs side by side: each input's bar is wiped before output."""
    import io

    from lyncdump import cli_common

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    screen = Tty()
    monkeypatch.setattr(sys, "stderr", screen)
    monkeypatch.setattr(cli_common, "_current_progress", [])
    bars = [cli_common.progress_printer(name) for name in ("fe01.log", "capture.pcap")]
    for bar in bars:
        assert bar is not None
        bar(1000, 0.0)
    cli_common.clear_progress()
    assert all(bar is not None and not bar.enabled for bar in bars)
    assert screen.getvalue().count("\r\x1b[K\x1b[?25h") == 2
    assert cli_common._current_progress == []


def test_output_lines_write_as_each_line_would(capsys: pytest.CaptureFixture[str]) -> None:
    from lyncdump.cli_common import Output
    from lyncdump.render.text import LineStyle

    lines = ["REGISTER  a → b", "  #1 +0.000000  x → y  TCP  REGISTER sip:b", ""]
    for style in (LineStyle(), LineStyle(width=20, ascii=True)):
        one, many = Output(style, pager=False), Output(style, pager=False)
        for line in lines:
            one(line)
        one.close()
        by_line = capsys.readouterr().out
        many.lines(lines)
        many.lines([])
        many.close()
        assert capsys.readouterr().out == by_line
        assert by_line.count("\n") == 3
