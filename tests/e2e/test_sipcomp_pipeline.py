"""MS-SIPCOMP end to end: NEGOTIATE seen → exact decompression; capture cut mid-connection →
nothing shown until the history is known again, and never garbage as SIP."""

from __future__ import annotations

import lyncdump

from ..conftest import CAPTURES

FULL = CAPTURES / "lync-compressed-tcp.pcap"
MID = CAPTURES / "lync-compressed-midstream.pcap"


def test_every_message_after_negotiate_is_decompressed() -> None:
    cap = lyncdump.analyze(FULL)
    messages = cap.messages()
    assert len(messages) == 187
    assert not cap.defects.items
    negotiate, ok = messages[0], messages[1]
    assert negotiate.method == "NEGOTIATE" and not negotiate.compressed
    assert ok.status == 200 and not ok.compressed
    rest = messages[2:]
    assert all(m.compressed and not m.partial for m in rest)
    assert all(m.wire_size is not None and 0 < m.wire_size for m in rest)
    # The photos went FLUSHED: raw bytes plus a 6-byte header.
    photos = [m for m in rest if b"<photo" in m.body]
    assert len(photos) == 2
    assert all(m.wire_size == len(m.raw) + 6 for m in photos)
    (conn,) = cap.connections
    assert conn.compressed and conn.compression_layout == "h6-u16be-plain"
    assert conn.plain_bytes == sum(len(m.raw) for m in rest)
    assert conn.wire_bytes == sum(m.wire_size or 0 for m in rest)
    assert conn.compression_ratio is not None and conn.compression_ratio > 5
    kinds = {s.call_id: s for s in cap.sessions()}
    assert kinds["7d2c4f10a3b94e0c8e1f5a6b7c8d9e0f"].outcome == "REGISTER → 401, 401, 200"
    assert kinds["im-5d6e7f8091a2b3c4d5e6f708192a3b4c"].outcome == (
        "INVITE → 200; MESSAGE → 200 ×60; BYE → 200"
    )


def test_history_wraps_several_times_in_each_direction() -> None:
    cap = lyncdump.analyze(FULL)
    plain = [0, 0]
    for m in cap.messages()[2:]:
        plain[0 if m.src is not None and m.src.port == 51000 else 1] += len(m.raw)
    assert min(plain) > 3 * 8192


def test_mid_connection_capture_resumes_at_the_flushed_packets() -> None:
    cap = lyncdump.analyze(MID)
    messages = cap.messages()
    # Nothing before the first FLUSHED packet of each direction can be shown.
    first = messages[0]
    assert (first.method, first.frame, first.compressed, first.partial) == (
        "SERVICE",
        62,
        True,
        False,
    )
    assert all(m.compressed for m in messages)
    reasons = {d.reason.split(":")[0] for d in cap.defects}
    assert reasons == {r for r in reasons if r.startswith("compressed message of")}, (
        "only 'history unknown' defects are expected"
    )
    assert len(cap.defects) == 68
    full = {(m.frame, m.raw) for m in lyncdump.analyze(FULL).messages()}
    offset = 60  # frames cut from the front (tools/scenario_sipcomp.py MIDSTREAM_CUT)
    assert all((m.frame + offset, m.raw) in full for m in messages)


def test_summary_shows_ratio_and_layout() -> None:
    from click.testing import CliRunner

    from lyncdump.cli import command

    out = CliRunner().invoke(command, ["--summary", str(FULL)]).stdout
    assert "187 SIP messages, LZ77-8K 16190 B on the wire for 109501 B of SIP (ratio 6.76:1)" in out
    assert "layout h6-u16be-plain" in out
