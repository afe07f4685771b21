"""The streamed merged view says what the keep-all merge says.

``lyncdump server.log capture.pcap`` (the ladder, ``--summary``, ``--json``, ``--calls``,
``--call ID``, ``--streams-csv``) runs on the streaming merge (analysis/merge_stream.py, the
calls joined in a call window by analysis/merge_calls.py); :func:`lyncdump.merge` keeps
every input and every message (analysis/merge.py). The expected output here is rendered from
the keep-all merge the way the command rendered it before it streamed (render/merged.py), and
the command's output must equal it line for line: on every merged combination of the sample
logs and captures, and on a generated Front End log with its capture (thousands of messages,
sessions finishing all through the run; a second one with calls and their RTP).

What cannot be equal in general, and is not exercised by these inputs (docs/tracelog.md,
"Merged inputs, streamed"): a clock offset is learned on the first
``LOOKAHEAD_MESSAGES`` messages of each input rather than on all of them; a Call-ID that comes
back after its session went quiet is a second part (``part`` 2) rather than one session; a
diagnostic written after its session finished stands alone; and NDJSON session records come
in the order sessions finish (the keep-all order is first message; the generated test
compares them as a set for that reason); a call's block or record shows its streams as they
were when its join became final (RTP more than about 6 s after the call's last message is
left out), and ``call`` records come as joins become final.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner

import lyncdump
from lyncdump.analysis.merge import MergedCapture
from lyncdump.analysis.merge_stream import MergedStream, open_merged, open_pipelines
from lyncdump.cli import command
from lyncdump.cli_common import session_matches
from lyncdump.filters import compile_filter
from lyncdump.render import merged_views

from ..conftest import CAPTURES
from ..pipeline._bulk import write_bulk_pcap, write_bulk_server_log

COMBOS = [
    ["sip-udp-call.server.log", "sip-udp-call.pcap"],
    ["sip-udp-call.uccapilog", "sip-udp-call.pcap"],
    ["sip-udp-call.server.log", "sip-udp-call.uccapilog", "sip-udp-call.pcap"],
    ["lync-signin-tcp.server.log", "lync-signin-tcp.pcapng"],
    ["lync-signin-tcp.uccapilog", "lync-signin-tcp.server.log", "lync-signin-tcp.pcapng"],
    [
        "federation.pcapng",
        "federation-fe01.server.log",
        "federation-edge.server.log",
        "federation-med01.server.log",
        "federation-alice.uccapilog",
    ],
    ["federation-fe01.server.log", "federation-edge.server.log", "federation-med01.server.log"],
    ["federation-alice.uccapilog", "federation.pcapng"],
    ["quirks.server.log", "quirks.uccapilog"],
    ["quirks.server.log", "sip-udp-call.pcap"],
    ["sip-udp-call.pcap", "sip-udp-call.pcap"],
]
VIEWS = [
    [],
    ["--summary"],
    ["--json"],
    ["--json", "--summary"],
    ["-v"],
    ["--json", "-v"],
    ["--redact"],
    ["--filter", "kind=call"],
    ["--json", "--filter", "kind=call"],
]


def keep_all_output(paths: list[str], view: list[str]) -> list[str]:
    """The merged output rendered from :class:`MergedCapture` (the command's rendering before
    it streamed, still what ``--streams-csv`` prints)."""
    as_json = "--json" in view
    summary = "--summary" in view
    verbose = "-v" in view
    filters = compile_filter([view[view.index("--filter") + 1]] if "--filter" in view else [])
    merged = MergedCapture([lyncdump.open(p, redact="--redact" in view) for p in paths]).run()
    sessions = merged.sessions()
    diags = merged.diagnostics()
    shown = [s for s in sessions if session_matches(s, filters, logs=diags.of(s))]
    out: list[str] = []
    merged_views.keep_all_view(
        merged, sessions, shown, out.append, as_json=as_json, summary=summary, verbose=verbose,
        filters=filters,
    )  # fmt: skip
    return out


def streamed_output(paths: list[str], view: list[str]) -> list[str]:
    result = CliRunner().invoke(command, [*view, "--merge", *paths])
    assert result.exit_code == 0, result.output
    return result.stdout.splitlines()


@pytest.mark.parametrize("view", VIEWS, ids=" ".join)
@pytest.mark.parametrize("combo", COMBOS, ids=lambda c: "+".join(Path(p).stem for p in c))
def test_streamed_merge_equals_the_keep_all_merge(combo: list[str], view: list[str]) -> None:
    paths = [str(CAPTURES / name) for name in combo]
    expected = keep_all_output(paths, view)
    assert streamed_output(paths, view) == expected
    assert expected and expected[0]  # not an empty run


CALL_VIEWS = [
    ["--calls"],
    ["--calls", "--summary"],
    ["--calls", "--json"],
    ["--calls", "--json", "--summary"],
    ["--calls", "--filter", "kind=call"],
    ["--calls", "--redact", "--json"],
]


def keep_all_calls_output(paths: list[str], view: list[str]) -> list[str]:
    """``--calls`` / ``--call ID`` rendered from :class:`MergedCapture` (the command's
    output before the merged calls streamed)."""
    filters = compile_filter([view[view.index("--filter") + 1]] if "--filter" in view else [])
    merged = MergedCapture([lyncdump.open(p, redact="--redact" in view) for p in paths]).run()
    diags = merged.diagnostics()
    shown = [s for s in merged.sessions() if session_matches(s, filters, logs=diags.of(s))]
    out: list[str] = []
    only = view[view.index("--call") + 1] if "--call" in view else None
    assert merged_views.keep_all_calls_view(
        merged, shown, out.append, as_json="--json" in view, summary="--summary" in view,
        only=only,
    )  # fmt: skip
    return out


def keep_all_streams_csv(paths: list[str]) -> str:
    import io

    from lyncdump.render import streams as render_streams

    merged = MergedCapture([lyncdump.open(p) for p in paths]).run()
    handle = io.StringIO(newline="")
    render_streams.write_csv(handle, merged.streams())
    return handle.getvalue()


@pytest.mark.parametrize("view", CALL_VIEWS, ids=" ".join)
@pytest.mark.parametrize("combo", COMBOS, ids=lambda c: "+".join(Path(p).stem for p in c))
def test_streamed_merged_calls_equal_the_keep_all_ones(combo: list[str], view: list[str]) -> None:
    paths = [str(CAPTURES / name) for name in combo]
    expected = keep_all_calls_output(paths, view)
    assert streamed_output(paths, view) == expected
    assert expected and expected[-1]


@pytest.mark.parametrize("combo", COMBOS, ids=lambda c: "+".join(Path(p).stem for p in c))
def test_streamed_merged_call_by_id_and_streams_csv(combo: list[str], tmp_path: Path) -> None:
    """``--call ID`` for every call of the keep-all merge (and one that is not there);
    ``--streams-csv`` beside the ladder, ``--summary`` and ``--json`` (the streamed views now)
    and beside ``--calls``: the same table as the keep-all join's."""
    paths = [str(CAPTURES / name) for name in combo]
    merged = MergedCapture([lyncdump.open(p) for p in paths]).run()
    for call in merged.calls():
        view = ["--call", call.call_id]
        assert streamed_output(paths, view) == keep_all_calls_output(paths, view)
    missing = CliRunner().invoke(command, ["--call", "no-such-call", "--merge", *paths])
    assert missing.exit_code == 2 and missing.stdout == ""
    assert "no call with Call-ID 'no-such-call'" in missing.stderr
    table = keep_all_streams_csv(paths)
    for view in [[], ["--summary"], ["--json"], ["--calls"]]:
        csv = tmp_path / "streams.csv"
        got = streamed_output(paths, [*view, "--streams-csv", str(csv)])
        expected = (
            keep_all_calls_output(paths, view) if view == ["--calls"] else
            keep_all_output(paths, view)
        )  # fmt: skip
        assert got == expected
        with open(csv, newline="", encoding="utf-8") as handle:
            assert handle.read() == table


#: Messages of the generated Front End traffic (whole batches of 50 users: 3,000 asked for).
GENERATED = 3360


@pytest.fixture(scope="module")
def front_end(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """A Front End's server log and a capture of the same 3,360 messages, one every 50 ms
    (168 s: sessions finish all through the run)."""
    folder = tmp_path_factory.mktemp("merge")
    log, pcap = folder / "fe01.log", folder / "fe01.pcap"
    written, diagnostics = write_bulk_server_log(log, 3000, step_us=50_000)
    assert write_bulk_pcap(pcap, 3000, step_us=50_000) == written == GENERATED
    assert diagnostics == 30  # one every tenth user of 300
    return [str(log), str(pcap)]


@pytest.mark.parametrize("view", [[], ["--summary"], ["--json", "--summary"]], ids=" ".join)
def test_generated_front_end_log_and_capture_in_order(
    front_end: list[str], view: list[str]
) -> None:
    """The ladder (put back in order of first message) and the summaries are equal as they
    are; every message is a copy seen by both inputs."""
    expected = keep_all_output(front_end, view)
    assert streamed_output(front_end, view) == expected
    if view == ["--json", "--summary"]:
        record = json.loads(expected[-1])
        assert record["duplicates"] == record["sip_messages"] == GENERATED
        assert record["diagnostics"]["standalone"] >= 1


def test_generated_front_end_json_records_are_the_keep_all_ones(front_end: list[str]) -> None:
    """NDJSON session records come as sessions finish (here that is also the order of first
    message: every user's sessions have the same shape), the diagnostic records and the
    capture record after them, in the keep-all order."""
    expected = keep_all_output(front_end, ["--json"])
    got = streamed_output(front_end, ["--json"])
    sessions_expected = [line for line in expected if '"record":"session"' in line]
    sessions_got = [line for line in got if '"record":"session"' in line]
    assert len(sessions_got) == 960  # 300 users: sign-in, presence, IM; 60 calls
    assert sorted(sessions_got) == sorted(sessions_expected)
    assert got[len(sessions_got) :] == expected[len(sessions_expected) :]


@pytest.fixture(scope="module")
def front_end_calls(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """The Front End traffic with media: each of the 60 calls' INVITE and 200 OK carry SDP
    (in the log too), and the capture holds 10 RTP packets each way after each ACK. More
    calls than the call window holds (32): calls are joined and let go while the merge runs."""
    folder = tmp_path_factory.mktemp("merge-calls")
    log, pcap = folder / "fe01.log", folder / "fe01.pcap"
    written, _ = write_bulk_server_log(log, 3000, step_us=50_000, media=True)
    assert write_bulk_pcap(pcap, 3000, step_us=50_000, media=True) == written == GENERATED
    return [str(log), str(pcap)]


@pytest.mark.parametrize(
    "view",
    [["--calls"], ["--calls", "--summary"], ["--calls", "--json"], ["--call", "c145"]],
    ids=" ".join,
)
def test_generated_calls_with_media_equal_the_keep_all_ones(
    front_end_calls: list[str], view: list[str], tmp_path: Path
) -> None:
    """60 calls, each with its two RTP streams, joined in a call window while the merge
    streams: the same blocks (in time line order), the same records and the same stream
    table as the keep-all join of every call at the end."""
    expected = keep_all_calls_output(front_end_calls, view)
    csv = tmp_path / "streams.csv"
    got = streamed_output(front_end_calls, [*view, "--streams-csv", str(csv)])
    assert got == expected
    with open(csv, newline="", encoding="utf-8") as handle:
        assert handle.read() == keep_all_streams_csv(front_end_calls)
    if view == ["--calls"]:
        assert expected[-1] == "60 of 60 calls shown"
        assert sum(line == "  streams 2, 20 RTP packets" for line in expected) == 60
    if view == ["--calls", "--json"]:
        capture = json.loads(expected[-1])
        assert capture["calls"]["total"] == 60
        assert capture["calls"]["streams_by_join"] == {"both ends": 120}


def test_merged_calls_are_let_go_while_the_merge_runs(front_end_calls: list[str]) -> None:
    """The window hands each call on once no call still to come can claim its streams: most
    calls go before the merge ends, and the merge stops answering for their messages."""
    from lyncdump.analysis.merge_calls import MergedCalls

    merged = open_merged(front_end_calls)
    handed: list[tuple[str, int, int]] = []
    running = [True]

    def on_call(call: object, shown: bool, order: int) -> None:
        assert merged.sources(call.session.messages[0])  # type: ignore[attr-defined]
        handed.append((call.call_id, len(call.streams), running[0]))  # type: ignore[attr-defined]

    joined = MergedCalls(merged, on_call)
    held = []
    for session in merged.sessions():
        joined.add(session, True)
        held.append(len(joined.window))
    running[0] = False
    joined.finish()
    assert len(handed) == joined.tally.total == 60
    assert all(streams == 2 for _, streams, _ in handed)
    assert sum(during for _, _, during in handed) >= 20  # let go before the end of the merge
    assert max(held) <= 40 and merged._open == {} and merged._held == set()


def test_a_stream_answers_for_the_session_being_shown_only(front_end: list[str]) -> None:
    """What a finished session's messages needed (their entries) is dropped once the next
    session is asked for: the stream holds open sessions, not the run."""
    merged = open_merged(front_end)
    held = []
    for session in merged.sessions():
        assert merged.sources(session.messages[0])  # answered while it is being shown
        held.append(len(merged._open))
    # Sessions wait 64 s with a server log among the inputs (1,280 messages here), and the
    # calls in progress: a part of the 3,360 that does not grow with the run.
    assert max(held) < 2000 < merged.stats.sip_messages == GENERATED
    assert merged._open == {} and len(merged._merger) == 0
    assert merged.duplicates == GENERATED


# -- the shared rules ---------------------------------------------------------------------------
def test_learn_offsets_lines_up_inputs_through_those_already_lined_up() -> None:
    from lyncdump.analysis.merge import learn_offsets

    ref = [(("a",), 100.0), (("b",), 101.0), (("c",), 102.0)]
    local_time = [(("a",), 7300.004), (("b",), 7301.003), (("c",), 7302.0)]  # 2 h off
    behind_it = [(("c",), 7298.0), (("d",), 7299.0)]  # shares only "c" with the second
    drifting = [(("a",), 200.0), (("b",), 901.0), (("c",), 5.0)]  # no offset agrees
    offsets = learn_offsets([ref, local_time, behind_it, drifting], 0)
    assert offsets == [0.0, -7200.0, -7196.0, 0.0]


def test_the_merger_forgets_an_entry_once_the_window_has_passed_it() -> None:
    from lyncdump.analysis.merge import Merger, copy_key
    from lyncdump.sip.message import parse_message

    def message(n: int, t: float) -> object:
        m = parse_message(
            f"OPTIONS sip:x SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK{n}\r\nCall-ID: c{n}\r\n"
            f"CSeq: 1 OPTIONS\r\nFrom: <sip:a>;tag=1\r\nTo: <sip:b>\r\n\r\n".encode()
        )
        m.time, m.frame = t, n
        return m

    merger = Merger([False, False], window=2.0)
    out = []
    for t in range(100):  # input 0 sends message t at t s, input 1 sees it 0.5 s later
        for index, dt in ((0, 0.0), (1, 0.5)):
            m = message(t, t + dt)
            out.extend(merger.add(index, m, copy_key(m)))  # type: ignore[arg-type]
            assert len(merger) <= 4  # the last 2 s only, whatever the length of the run
    out.extend(merger.finish())
    assert merger.duplicates == 100 and len(out) == 100 and len(merger) == 0
    assert [e.message.frame for e in out] == list(range(100))
    assert all(e.seen == [(0, e.number), (1, e.number)] and e.copies == [] for e in out)
    late = message(0, 50.0)  # a copy of message 0 well past the window: a new entry
    assert merger.add(1, late, copy_key(late)) == [] and merger.duplicates == 100  # type: ignore[arg-type]


def test_inputs_whose_time_stands_still_stay_bounded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Hostile timestamps (every frame at the same time): the reorder heaps and the copy
    window never see time move on, so their count bounds decide, and a defect says so."""
    from lyncdump.analysis import merge_stream

    monkeypatch.setattr(merge_stream, "MAX_WAITING", 50)
    monkeypatch.setattr(merge_stream, "MAX_OPEN_ENTRIES", 100)
    monkeypatch.setattr(merge_stream, "LOOKAHEAD_MESSAGES", 20)  # it fills the heaps first
    pcap = tmp_path / "frozen.pcap"
    total = write_bulk_pcap(pcap, 1000, step_us=0)
    merged = MergedStream(open_pipelines([str(pcap), str(pcap)], [lyncdump.Options()] * 2))
    seen = {"waiting": 0, "open": 0, "added": 0}
    add = merged._merger.add

    def watched(index: int, m: object, key: object) -> object:
        seen["waiting"] = max(seen["waiting"], *(len(i.heap) for i in merged._inputs))
        seen["added"] += 1
        out = add(index, m, key)  # type: ignore[arg-type]
        seen["open"] = max(seen["open"], len(merged._merger))
        return out

    merged._merger.add = watched  # type: ignore[method-assign]
    for _session in merged.sessions():
        pass
    assert seen["added"] == 2 * total
    assert seen["waiting"] <= 51 and seen["open"] <= 100
    assert merged.stats.sip_messages + merged.duplicates == 2 * total
    assert merged._merger.early > 0
    assert any("left the copy window early" in d.reason for d in merged.defects)


# -- defects of the inputs, without sessions of their own ---------------------------------------
def _message(start: str, call_id: str, cseq: str, from_: str, to: str) -> bytes:
    return (
        f"{start}\r\nVia: SIP/2.0/UDP 10.1.0.2:5060;branch=z9hG4bK{call_id}{cseq.split()[0]}\r\n"
        f"From: {from_}\r\nTo: {to}\r\nCall-ID: {call_id}\r\nCSeq: {cseq}\r\n"
        "Content-Length: 0\r\n\r\n"
    ).encode()


@pytest.fixture(scope="module")
def broken_pair(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """A Front End's log and capture of two interleaved OPTIONS transactions whose From/To
    are broken (both inputs have each defect), a Call-ID ``z`` whose first message is clean
    and whose second is not, and, in the capture only, a truncated IPv4 frame between them."""
    from ..pipeline._bulk import server_log_record, sip_frame, write_pcap

    client = bytes([10, 1, 0, 2])
    opts = "OPTIONS sip:fe SIP/2.0"
    messages = [
        (True, _message(opts, "a", "1 OPTIONS", "<sip:u@x;tag=1", "<sip:fe>")),
        (True, _message(opts, "z", "1 OPTIONS", "<sip:u@x>;tag=3", "<sip:fe>")),
        (True, _message(opts, "b", "1 OPTIONS", "<sip:u@x>;tag=2;;", "<sip:fe>")),
        None,
        (False, _message("SIP/2.0 200 OK", "a", "1 OPTIONS", "<sip:u@x;tag=1", "<sip:fe>;tag=9")),
        (False, _message("SIP/2.0 200 OK", "b", "1 OPTIONS", "<sip:u@x>;tag=2;;", '"fe <sip:fe>')),
        (False, _message("SIP/2.0 200 OK", "z", "1 OPTIONS", "<sip:u@x>;tag=3", "<sip:fe;tag=7")),
    ]  # fmt: skip
    folder = tmp_path_factory.mktemp("defects")
    log, pcap = folder / "fe01.log", folder / "fe01.pcap"
    frames = []
    with open(log, "w", encoding="utf-8", newline="\n") as f:
        for i, item in enumerate(messages):
            t_us = (i + 1) * 100_000
            if item is None:  # an IPv4 header that promises more than was captured
                frames.append((t_us, sip_frame(True, client, b"x" * 40)[:40]))
                continue
            frames.append((t_us, sip_frame(item[0], client, item[1])))
            f.write(server_log_record(t_us, 0x100 + i, item[0], client, item[1]))
    write_pcap(pcap, frames)
    return [str(log), str(pcap)]


@pytest.mark.parametrize("view", [["-v"], ["--json", "--summary"]], ids=" ".join)
def test_the_inputs_defects_are_the_keep_all_ones_in_the_keep_all_order(
    broken_pair: list[str], view: list[str]
) -> None:
    """The inputs' pipelines build no sessions: each message's defects are taken as it is
    delivered and logged at the end of its input where the keep-all run's sessions log them
    (by Call-ID in order of first message, then frame), after the input's own defects."""
    expected = keep_all_output(broken_pair, view)
    got = streamed_output(broken_pair, view)
    assert got == expected
    if view == ["-v"]:
        listed = got[got.index("defects:") + 1 :]
        assert listed == [
            "  frame 1: sip: fe01.log: From: missing > after URI",  # record numbers
            "  frame 4: sip: fe01.log: From: missing > after URI",
            "  frame 6: sip: fe01.log: To: missing > after URI",
            "  frame 3: sip: fe01.log: From: empty parameter",
            "  frame 5: sip: fe01.log: To: unterminated quoted display name",
            "  frame 5: sip: fe01.log: From: empty parameter",
            "  frame 4: ipv4: fe01.pcap: truncated: total length 68, 26 captured at offset 2",
            "  frame 1: sip: fe01.pcap: From: missing > after URI",
            "  frame 5: sip: fe01.pcap: From: missing > after URI",
            "  frame 7: sip: fe01.pcap: To: missing > after URI",
            "  frame 3: sip: fe01.pcap: From: empty parameter",
            "  frame 6: sip: fe01.pcap: To: unterminated quoted display name",
            "  frame 6: sip: fe01.pcap: From: empty parameter",
        ]


@pytest.mark.parametrize("combo", COMBOS, ids=lambda c: "+".join(Path(p).stem for p in c))
def test_the_keep_all_merge_counts_its_sessions_as_the_streamed_one(combo: list[str]) -> None:
    """``MergedCapture.stats`` holds the sessions per kind and the retransmissions, as a
    single input's and the streamed merge's statistics do."""
    paths = [str(CAPTURES / p) for p in combo]
    merged = MergedCapture([lyncdump.open(p) for p in paths]).run()
    sessions = merged.sessions()
    firsts = [s for s in sessions if s.part == 1]
    assert dict(merged.stats.sessions) == dict(Counter(s.kind for s in firsts))
    assert merged.stats.retransmissions == sum(s.retransmissions for s in sessions)
    merged.sessions()  # asked again: counted once
    assert sum(merged.stats.sessions.values()) == len(firsts)
    streamed = MergedStream(open_pipelines(paths, [lyncdump.Options()] * len(paths)))
    for _session in streamed.sessions():
        pass
    assert dict(streamed.stats.sessions) == dict(merged.stats.sessions)
    assert streamed.stats.retransmissions == merged.stats.retransmissions
