"""--summary of inputs whose messages lack a field the summary counts (issue 16, item 1)."""

from __future__ import annotations

from click.testing import CliRunner

from lyncdump.cli import command

# The smallest trace log that showed it: one message whose top Via names no transport.
_LOG = """\
01/01/2026|00:00:00.000 1F68:C14 INFO  :: Sending Packet - 10.0.0.10:5060 (From Local Address: 192.168.1.50:5060) 100 bytes:
01/01/2026|00:00:00.000 1F68:C14 INFO  :: OPTIONS sip:example.com SIP/2.0
Via: SIP/2.0 h
Call-ID: a
CSeq: 1 OPTIONS
Content-Length: 0

01/01/2026|00:00:00.000 1F68:C14 INFO  :: End of Sending Packet - 10.0.0.10:5060 (From Local Address: 192.168.1.50:5060) 100 bytes
01/01/2026|00:00:00.012 1F68:C14 INFO  :: Sending Packet - 10.0.0.10:5060 (From Local Address: 192.168.1.50:5060) 100 bytes:
01/01/2026|00:00:00.012 1F68:C14 INFO  :: OPTIONS sip:example.com SIP/2.0
Via: SIP/2.0/UDP h
Call-ID: b
CSeq: 1 OPTIONS
Content-Length: 0

01/01/2026|00:00:00.012 1F68:C14 INFO  :: End of Sending Packet - 10.0.0.10:5060 (From Local Address: 192.168.1.50:5060) 100 bytes
"""  # noqa: E501


def test_summary_counts_a_message_without_transport(tmp_path) -> None:
    path = tmp_path / "no-transport.uccapilog"
    path.write_text(_LOG)
    result = CliRunner().invoke(command, ["--summary", str(path)])
    assert result.exit_code == 0, result.output
    assert "  SIP messages 2 (? 1, UDP 1)" in result.output.splitlines()
