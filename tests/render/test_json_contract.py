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
    "source",
    "kind",
    "call_id",
    "part",
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
    "registration",
    "conversation",
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
    "source",
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

INPUT_FIELDS = {"record", "schema", "source", "index", "inputs", "files"}

STREAM_FIELDS = {
    "record", "schema", "call_id", "join", "candidate_calls", "ssrc", "ssrc_hex", "src", "dst",
    "payload", "payload_types",
    "first_frame", "last_frame", "first_time", "last_time", "duration", "packets", "expected",
    "lost", "lost_percent", "sequence_errors", "duplicates", "out_of_order", "wrong_timestamps",
    "min_delta_ms",
    "mean_delta_ms", "max_delta_ms", "max_delta_frame", "min_jitter_ms", "mean_jitter_ms",
    "max_jitter_ms", "clock_rate", "bytes", "bitrate_kbps", "markers", "problem", "mos",
    "signalled", "encrypted", "srtp_decrypted", "srtp_auth_failures", "rtcp_reports",
    "rtcp_fraction_lost", "rtcp_cumulative_lost", "rtcp_jitter_ms", "rtcp_rtt_ms", "bye",
    "dtmf", "dtmf_events", "series",
}  # fmt: skip

CALL_FIELDS = {
    "record", "schema", "call_id", "kind", "conference_role", "caller", "callee", "start",
    "answer_time", "end", "duration", "setup_time", "state", "end_reason", "final_status",
    "invite_retransmissions", "bye_retransmissions", "holds", "modalities", "ice_version",
    "media", "exchanges", "nominated_pair", "allocations", "streams", "ambiguous_streams",
    "findings",
}  # fmt: skip
CALL_MEDIA_FIELDS = {
    "index", "media", "proto", "state", "offer_address", "answer_address", "codecs",
    "offered_codecs", "label", "direction", "crypto_suite", "offer_ufrag", "answer_ufrag",
    "offer_candidates", "answer_candidates",
}  # fmt: skip


def _records(*args: str) -> list[dict]:
    """The records after the ``input`` record, ``source`` checked and taken off nested
    ``stream`` objects' comparison (they are inside a call record, which carries it)."""
    result = CliRunner().invoke(command, ["--json", *args])
    assert result.exit_code == 0, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert set(records[0]) == INPUT_FIELDS and records[0]["record"] == "input"
    source = records[0]["source"]
    assert records[0]["files"] == [source] and records[0]["index"] == records[0]["inputs"] == 1
    assert all(r["source"] == source for r in records)
    return records[1:]


def test_each_input_of_a_run_is_announced_and_named_in_every_record() -> None:
    a, b = str(CAPTURES / "sip-udp-call.pcap"), str(CAPTURES / "lync-turn-udp.pcap")
    result = CliRunner().invoke(command, ["--json", a, b])
    assert result.exit_code == 0, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    inputs = [r for r in records if r["record"] == "input"]
    assert [(r["source"], r["index"], r["inputs"]) for r in inputs] == [(a, 1, 2), (b, 2, 2)]
    starts = [records.index(r) for r in inputs]
    captures = [i for i, r in enumerate(records) if r["record"] == "capture"]
    assert starts[0] == 0 and captures[0] < starts[1] and captures[1] == len(records) - 1
    assert {r["source"] for r in records[: starts[1]]} == {a}
    assert {r["source"] for r in records[starts[1] :]} == {b}


def test_every_record_has_the_documented_fields() -> None:
    for capture in ("sip-udp-call.pcap", "lync-signin-tcp.pcapng"):
        recs = _records(str(CAPTURES / capture))
        assert recs[-1]["record"] == "capture"
        # "calls" only when the capture has calls (docs/json.md)
        assert set(recs[-1]) - {"calls"} == CAPTURE_FIELDS
        for rec in recs[:-1]:
            if rec["record"] == "call":  # calls (docs/json.md, docs/calls.md)
                assert set(rec) == CALL_FIELDS | {"source"}
                for m in rec["media"]:
                    assert set(m) == CALL_MEDIA_FIELDS
                for st in rec["streams"]:
                    assert set(st) == STREAM_FIELDS
                continue
            if rec["record"] == "stream":  # RTP streams (docs/json.md, docs/media-rtp.md)
                assert set(rec) == STREAM_FIELDS | {"source"}
                assert isinstance(rec["ssrc"], int) and isinstance(rec["packets"], int)
                continue
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


def test_call_records_have_the_documented_fields() -> None:
    recs = _records("--calls", str(CAPTURES / "lync-av-call.pcapng"))
    calls = [r for r in recs if r["record"] == "call"]
    assert len(calls) == 1 and recs[-1]["record"] == "capture"
    assert set(calls[0]) == CALL_FIELDS | {"source"}
    assert [set(m) for m in calls[0]["media"]] == [CALL_MEDIA_FIELDS] * 2
    assert [set(st) for st in calls[0]["streams"]] == [STREAM_FIELDS] * 4


def test_verbose_adds_headers_and_body() -> None:
    recs = _records("-v", "--filter", "kind=im", str(CAPTURES / "sip-udp-call.pcap"))
    message = recs[0]["messages"][0]
    assert message["body"] == "Lunch at noon?"
    assert ["CSeq", "1 MESSAGE"] in message["headers"]


def test_summary_writes_only_the_capture_record() -> None:
    recs = _records("--summary", str(CAPTURES / "sip-udp-call.pcap"))
    assert [r["record"] for r in recs] == ["capture"]
    assert recs[0]["calls"] == {
        "total": 2,
        "states": {"cancelled": 1, "completed": 1},
        "findings": {},
        "streams_by_join": {"both ends": 2},
    }
