"""Issue 16: the record sequence search after lost bytes is bounded per search and in total
per direction (a hole's size is only declared, so holes cost the input nothing)."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest

import lyncdump
from lyncdump.tls import decrypt

from .test_tls_edge_cases import messages, raw, record, write


def _lossy(tmp_path: Path) -> tuple[Path, Path, list[bytes]]:
    msgs = messages(12)
    try:
        keylog, recording = record(tmp_path, msgs)
    except (ssl.SSLError, AssertionError) as exc:
        pytest.skip(f"TLS 1.3: {exc}")
    chunks = recording.chunks  # type: ignore[attr-defined]
    first = next(i for i, (d, c) in enumerate(chunks) if d == 0 and b"\x17\x03" in c[:3]) + 8
    lose = {(first, 1), (first, 2)} | {(first + 2, p) for p in range(4)}
    path = write(tmp_path / "lossy.pcap", recording, lose=lose)  # type: ignore[arg-type]
    return path, keylog, [m for _, m in msgs]


def test_a_direction_whose_search_budget_is_spent_stops_decrypting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path, keylog, sent = _lossy(tmp_path)
    found = lyncdump.open(path, keylog=keylog).run()
    assert "client TLS stream resynchronised after lost bytes" in " ".join(
        d.reason for d in found.defects
    )
    monkeypatch.setattr(decrypt, "MAX_SEQUENCE_SEARCH_TOTAL", 0)
    capture = lyncdump.open(path, keylog=keylog).run()
    reasons = [d.reason for d in capture.defects]
    assert (
        "client record sequence not found after lost bytes (0 tried; 0 tried after earlier "
        "holes): the rest of the direction is not decrypted"
    ) in reasons
    got = raw(capture)
    client = [m for m in got if m.startswith(b"MESSAGE")]
    assert len(client) < len([m for m in raw(found) if m.startswith(b"MESSAGE")])
    assert all(m in sent for m in got)
