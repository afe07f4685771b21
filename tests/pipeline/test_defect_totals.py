"""The capture's defect totals count what the views list: a From/To URI that does not parse is
found by the lazy parser only when read, so the pipeline reads From and To of every message
before it counts a session's defects (issue 15: "defect totals count every defect")."""

from __future__ import annotations

import io
import json

from click.testing import CliRunner
from pcapgen import Builder, sip

from lyncdump.cli import command


def _capture() -> bytes:
    b = Builder()
    text = (
        "OPTIONS sip:b@example.com SIP/2.0\n"
        "Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK1\n"
        "From: <sip:a@2001:db8::1>;tag=1\n"
        "To: <sip:b@2001:db8::2>\n"
        "Call-ID: bad-uris\nCSeq: 1 OPTIONS\nContent-Length: 0\n\n"
    )
    b.udp(1.0, "10.0.0.1", 5060, "10.0.0.2", 5060, sip(text))
    return b.pcap_bytes()


def test_from_and_to_defects_are_in_the_totals(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "bad-uris.pcap"
    path.write_bytes(_capture())
    out = CliRunner().invoke(command, ["--json", str(path)]).output
    records = [json.loads(line) for line in out.splitlines()]
    listed = [d for r in records if r["record"] == "session" for m in r["messages"]
              for d in m["defects"]]  # fmt: skip
    (capture,) = [r for r in records if r["record"] == "capture"]
    assert listed == [
        "From: unparsable URI 'sip:a@2001:db8::1'",
        "To: unparsable URI 'sip:b@2001:db8::2'",
    ]
    assert capture["defects_total"] == 2
    assert [(d["frame"], d["layer"], d["reason"]) for d in capture["defects"]] == [
        (1, "sip", reason) for reason in listed
    ]
    summary = CliRunner().invoke(command, ["--summary", str(path)]).output
    assert "  defects 2" in summary


def test_bytes_input_too() -> None:
    import lyncdump

    cap = lyncdump.open(io.BytesIO(_capture()))
    cap.sessions()
    assert sum("unparsable URI" in d.reason for d in cap.defects) == 2


def test_a_pipeline_without_sessions_logs_the_same_defects(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """``Pipeline(sessions=False)`` (a merge's inputs): messages and counts as before, no
    session events, and the defects a keep-all run's session emission logs, in its order."""
    from lyncdump.capture import open_input
    from lyncdump.pipeline import MessageDecoded, Pipeline, SessionFinished

    from ..conftest import CAPTURES

    for path in [tmp_path / "bad-uris.pcap", CAPTURES / "quirks.server.log"]:
        if path.name == "bad-uris.pcap":
            path.write_bytes(_capture())
        runs = {}
        for sessions in (True, False):
            p = Pipeline(open_input(str(path)), streaming=not sessions, sessions=sessions)
            events = list(p.events())
            runs[sessions] = (
                sum(type(e) is MessageDecoded for e in events),
                sum(type(e) is SessionFinished for e in events),
                p.stats.sip_messages,
                [(d.frame, d.layer, d.offset, d.reason) for d in p.defects],
            )
        with_sessions, without = runs[True], runs[False]
        assert without[1] == 0 < with_sessions[1]
        assert without[0] == without[2] == with_sessions[0] == with_sessions[2] > 0
        assert without[3] == with_sessions[3] and without[3]
