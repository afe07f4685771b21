"""The JSON field names documented in docs/json.md are a public contract: hold them here."""

from __future__ import annotations

import json

from click.testing import CliRunner

from lyncdump.cli import command

from ..conftest import CAPTURES

MESSAGE_FIELDS = {
    "frame",
    "first_frame",
    "time",
    "src",
    "dst",
    "transport",
    "stream",
    "call_id",
    "cseq",
    "cseq_method",
    "from",
    "to",
    "from_tag",
    "to_tag",
    "content_type",
    "body_size",
    "size",
    "compressed",
    "wire_size",
    "partial",
    "retransmission",
    "facts",
    "defects",
}
SESSION_FIELDS = {
    "record",
    "schema",
    "kind",
    "call_id",
    "start",
    "end",
    "duration",
    "from",
    "to",
    "participants",
    "outcome",
    "retransmissions",
    "transactions",
    "messages",
}
TRANSACTION_FIELDS = {
    "method",
    "cseq",
    "branch",
    "final_status",
    "outcome",
    "responses",
    "request_retransmissions",
    "response_retransmissions",
    "cancelled",
}
CAPTURE_FIELDS = {
    "record",
    "schema",
    "file",
    "format",
    "frames",
    "bytes",
    "first_time",
    "last_time",
    "udp_datagrams",
    "tcp_segments",
    "sip_messages",
    "methods",
    "statuses",
    "sessions",
    "connections",
    "defects_total",
    "defects",
    "error",
}


def _records(*args: str) -> list[dict]:
    result = CliRunner().invoke(command, ["--json", *args])
    assert result.exit_code == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


def test_every_record_has_the_documented_fields() -> None:
    for capture in ("sip-udp-call.pcap", "lync-signin-tcp.pcapng"):
        recs = _records(str(CAPTURES / capture))
        assert recs[-1]["record"] == "capture"
        assert set(recs[-1]) == CAPTURE_FIELDS
        for rec in recs[:-1]:
            assert rec["record"] == "session"
            assert set(rec) == SESSION_FIELDS
            assert "method" not in rec
            for t in rec["transactions"]:
                assert set(t) == TRANSACTION_FIELDS
            for m in rec["messages"]:
                request_only = {"method", "request_uri"}
                response_only = {"status", "reason"}
                extra = set(m) - MESSAGE_FIELDS
                assert extra in (request_only, response_only), extra
                assert isinstance(m["frame"], int) and isinstance(m["time"], float)
                assert isinstance(m["cseq"], int)
                if "status" in m:
                    assert isinstance(m["status"], int)


def test_verbose_adds_headers_and_body() -> None:
    recs = _records("-v", "--filter", "kind=im", str(CAPTURES / "sip-udp-call.pcap"))
    message = recs[0]["messages"][0]
    assert message["body"] == "Lunch at noon?"
    assert ["CSeq", "1 MESSAGE"] in message["headers"]


def test_summary_writes_only_the_capture_record() -> None:
    recs = _records("--summary", str(CAPTURES / "sip-udp-call.pcap"))
    assert [r["record"] for r in recs] == ["capture"]
