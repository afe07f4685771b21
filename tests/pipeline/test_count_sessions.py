"""``--summary``'s counting mode (issue 14): the sessions that are not calls are counted in the
compiled session table, not built, and the summary says what it says without it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from pcapgen import Builder, sip

import lyncdump.streaming
from lyncdump.analysis import sessions as sessions_mod
from lyncdump.analysis.sessions import PySessionBuilder
from lyncdump.cli import command
from lyncdump.pipeline.events import InputFinished
from lyncdump.render import views

A, P = "10.0.0.2", "10.0.0.1"


def request(method: str, call_id: str, cseq: int, branch: str, extra: str = "") -> bytes:
    return sip(
        f"""{method} sip:pool@example.com SIP/2.0
Via: SIP/2.0/UDP {A}:5060;branch=z9hG4bK{branch}
From: <sip:alice@example.com>;tag=a1
To: <sip:bob@example.com>
Call-ID: {call_id}
CSeq: {cseq} {method}
{extra}Content-Length: 0
"""
    )


def response(status: str, method: str, call_id: str, cseq: int, branch: str) -> bytes:
    return sip(
        f"""SIP/2.0 {status}
Via: SIP/2.0/UDP {A}:5060;branch=z9hG4bK{branch}
From: <sip:alice@example.com>;tag=a1
To: <sip:bob@example.com>;tag=b2
Call-ID: {call_id}
CSeq: {cseq} {method}
Content-Length: 0
"""
    )


def capture(path: Path) -> Path:
    """Sign-in, presence, options and a call over UDP, with requests and responses sent
    twice (retransmissions), a Call-ID that comes back after it went quiet (a second part),
    a response whose request was not captured, and a From that notes a defect."""
    b = Builder()
    t = 0.0

    def up(data: bytes, gap: float = 0.1) -> None:
        nonlocal t
        t += gap
        b.udp(t, A, 5060, P, 5060, data)

    def down(data: bytes, gap: float = 0.1) -> None:
        nonlocal t
        t += gap
        b.udp(t, P, 5060, A, 5060, data)

    up(request("REGISTER", "reg-1", 1, "r1"))
    up(request("REGISTER", "reg-1", 1, "r1"), 0.5)  # again: the 401 was slow
    down(response("401 Unauthorized", "REGISTER", "reg-1", 1, "r1"))
    down(response("401 Unauthorized", "REGISTER", "reg-1", 1, "r1"))  # again
    up(request("REGISTER", "reg-1", 2, "r2"))
    down(response("200 OK", "REGISTER", "reg-1", 2, "r2"))
    up(request("SUBSCRIBE", "sub-1", 1, "s1", "Event: presence\n"))
    down(response("200 OK", "SUBSCRIBE", "sub-1", 1, "s1"))
    down(request("BENOTIFY", "sub-1", 2, "s2", "Event: presence\n"))
    up(request("OPTIONS", "opt-1", 1, "o1"))
    down(response("200 OK", "OPTIONS", "opt-1", 1, "o1"))
    down(response("200 OK", "SERVICE", "svc-1", 7, "v1"))  # its request not captured
    up(request("MESSAGE", "im-1", 1, "m1").replace(b"<sip:alice@example.com>", b"<sip:alice"))
    down(response("200 OK", "MESSAGE", "im-1", 1, "m1"))
    up(request("INVITE", "call-1", 1, "i1"))
    up(request("INVITE", "call-1", 1, "i1"), 0.5)  # a call's retransmission
    down(response("200 OK", "INVITE", "call-1", 1, "i1"))
    up(request("ACK", "call-1", 1, "i1a"))
    up(request("BYE", "call-1", 2, "i2"), 3.0)
    down(response("200 OK", "BYE", "call-1", 2, "i2"))
    up(request("OPTIONS", "opt-1", 2, "o2"), 60.0)  # the Call-ID again: a second part
    down(response("200 OK", "OPTIONS", "opt-1", 2, "o2"))
    up(request("OPTIONS", "opt-1", 2, "o2"))  # again, after its answer
    out = path / "count.pcap"
    b.write(str(out))
    return out


def summary(path: Path, count: bool) -> tuple[list[str], Any]:
    lines: list[str] = []
    events = lyncdump.streaming.open_stream(path, count_sessions=count)
    pipeline = views.summary_view(events, lines.append)
    return lines, pipeline


def test_counting_mode_gives_the_same_summary(tmp_path: Path) -> None:
    path = capture(tmp_path)
    normal, run = summary(path, False)
    counted, counting = summary(path, True)
    assert counted == normal
    assert run._sessions.counted() == ({}, 0)
    text = "\n".join(normal)
    assert "sessions 6 (" in text and "retransmissions 4" in text, text
    assert "defects" in text
    if sessions_mod.SessionBuilder is PySessionBuilder:
        return
    assert counting._sessions.count_only
    kinds, retransmissions = counting._sessions.counted()
    # The presence, options (both parts) and response-only ("other") sessions are counted;
    # built: the call, the IM session whose From notes a defect, and the sign-in (telling
    # its two 401s apart reads To tags of Tos only checked: building them could note).
    assert kinds == {"presence": 1, "options": 1, "other": 1}, kinds
    assert retransmissions == 1  # the OPTIONS sent again


def test_counting_mode_only_for_summary_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The command line asks for it with --summary alone: a filter, -w, --calls or --json
    read every session."""
    path = capture(tmp_path)
    asked: list[bool] = []
    real = lyncdump.streaming.open_stream

    def spy(*args: Any, count_sessions: bool = False, **kwargs: Any) -> Any:
        asked.append(count_sessions)
        return real(*args, count_sessions=count_sessions, **kwargs)

    monkeypatch.setattr(lyncdump.streaming, "open_stream", spy)
    runs = [
        (["--summary"], True),
        (["--summary", "--json"], False),
        (["--summary", "--calls"], False),
        (["--summary", "-Y", "kind == 'options'"], False),
        (["--summary", "-w", str(tmp_path / "out.pcapng")], False),
        ([], False),
        (["--json", "-v"], False),
    ]
    for options, expected in runs:
        asked.clear()
        result = CliRunner().invoke(command, [*options, str(path)])
        assert result.exit_code in (0, 2), (options, result.output)
        assert asked == [expected], options


def test_the_pipeline_keeps_todays_mode_where_others_read_sessions(tmp_path: Path) -> None:
    """Message events, a signature check or redaction: the sessions are built."""
    path = capture(tmp_path)
    for extra in ({"messages": True}, {"redact": True}, {"ntlm_password": "x"}):
        events = lyncdump.streaming.open_stream(path, count_sessions=True, **extra)
        for event in events:
            if type(event) is InputFinished:
                assert not event.pipeline._sessions.count_only, extra
