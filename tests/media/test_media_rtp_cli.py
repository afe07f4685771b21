"""The command line around RTP: stream lines under the call, --streams-csv, --srtp-key, the
summary count, and stream records in --json."""

from __future__ import annotations

import base64
import csv
import io
import json

from click.testing import CliRunner

from lyncdump.cli import command
from tests.conftest import CAPTURES

SAMPLE = str(CAPTURES / "lync-call-srtp.pcap")


def test_text_lists_streams_under_the_call_and_unsignalled_ones(tmp_path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "streams.csv"
    result = CliRunner().invoke(command, ["--streams-csv", str(out), SAMPLE])
    assert result.exit_code == 0, result.output
    text = result.output
    media = text.index("  media:")
    unsignalled = text.index("media without signalling:")
    assert media < text.index("0x000A11CE") < unsignalled < text.index("0x05EC0DE8")
    assert "DTMF 1#" in text and "SRTP 147 ok, 0 auth failures" in text
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))
    assert [r["ssrc"] for r in rows] == ["0x000A11CE", "0x00000B0B", "0x05EC0DE8"]
    assert rows[0]["lost"] == "3" and rows[0]["mean_delta_ms"] == "20.375"


def test_json_stream_records_and_summary() -> None:
    result = CliRunner().invoke(command, ["--json", SAMPLE])
    records = [json.loads(line) for line in result.output.splitlines()]
    streams = [r for r in records if r["record"] == "stream"]
    assert [r["ssrc_hex"] for r in streams] == ["0x000A11CE", "0x00000B0B", "0x05EC0DE8"]
    assert records[-1]["record"] == "capture"
    assert records[0]["record"] == "input"  # then the sessions
    assert streams[0]["call_id"] == records[1]["call_id"] and streams[2]["call_id"] is None
    summary = CliRunner().invoke(command, ["--summary", SAMPLE]).output
    assert "RTP streams 3 (2 with signalling), 357 RTP packets" in summary


def test_srtp_key_option_and_bad_key() -> None:
    wrong = base64.b64encode(bytes(30)).decode()
    result = CliRunner().invoke(command, ["--json", "--srtp-key", wrong, SAMPLE])
    streams = [json.loads(x) for x in result.output.splitlines() if '"record":"stream"' in x]
    # SDP keys still open the call; the wrong key is simply never the one that authenticates.
    assert streams[0]["srtp_decrypted"] == 147 and streams[0]["srtp_auth_failures"] == 0
    bad = CliRunner().invoke(command, ["--srtp-key", "not-base64!", SAMPLE])
    assert bad.exit_code == 2 and "not-base64" not in bad.output
