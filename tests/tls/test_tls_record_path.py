"""The two ways records reach a TlsSession agree: the record reader on each TCP delivery
(``receive_data``) and whole records framed elsewhere (``receive_record``, the compiled fast
path's way, whose routine records hand their plaintext back instead of queueing it).

Real TLS from Python's ssl module (tests/tls/tls_recorder.py) in every version and mode the
session opens, with key updates, close_notify alerts, a damaged record, a wrong key and lost
bytes: the plaintext of each direction, the summary and the defects must be the same both
ways, and the plaintext must be what OpenSSL was given."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest

import lyncdump
from lyncdump import fastpath
from lyncdump.tls.decrypt import TlsSession
from lyncdump.tls.keys import KeyLog, TlsKeys

from ..pipeline.test_sip_tcp_fastpath import compare
from . import tls_recorder as rec
from .test_tls_edge_cases import SUITES, TLS12, messages

Chunk = tuple[int, bytes]


def _record(tmp_path: Path, kw: dict, **run: object) -> tuple[str, list[Chunk], list[Chunk]]:
    """(key log text, what went over the wire, the messages sent) of one connection."""
    keylog = tmp_path / "keys.log"
    sent = messages(6)
    server, client = rec.contexts(rec.server_identity(), tmp_path, keylog=keylog, **kw)
    recording = rec.run(server, client, sent, **run)  # type: ignore[arg-type]
    return keylog.read_text(), recording.chunks, sent


def _session(keylog: str) -> TlsSession:
    log = KeyLog()
    log.add_text(keylog)
    return TlsSession(TlsKeys(log))


def _records(data: bytes) -> list[bytes]:
    """``data`` cut into whole records (what the fast path hands over); a tail that is not
    one stays last."""
    out, pos = [], 0
    while len(data) - pos >= 5:
        end = pos + 5 + int.from_bytes(data[pos + 3 : pos + 5], "big")
        if end > len(data):
            break
        out.append(data[pos:end])
        pos = end
    if pos < len(data):
        out.append(data[pos:])
    return out


def _drain(session: TlsSession, into: list[tuple[int, bytes | int]]) -> None:
    into.extend((d, p) for d, p, _, _ in session.plaintext)
    session.plaintext.clear()


def _by_reader(keylog: str, chunks: list[Chunk], gaps: dict[int, int]) -> tuple:
    """Each delivery to the record reader; ``gaps``: bytes lost before a frame's delivery."""
    session = _session(keylog)
    out: list[tuple[int, bytes | int]] = []
    for frame, (direction, data) in enumerate(chunks, 1):
        if frame in gaps:
            session.receive_gap(direction, gaps[frame], frame, 0.0)
        session.receive_data(direction, data, frame, float(frame))
        _drain(session, out)
    session.finish()
    _drain(session, out)
    return out, session.summary.to_dict(), [d.to_dict() for d in session.defects]


def _by_records(keylog: str, chunks: list[Chunk], gaps: dict[int, int]) -> tuple:
    """As the connection feeds a direction the fast path reads: whole records while the
    session takes them, the record reader otherwise."""
    session = _session(keylog)
    out: list[tuple[int, bytes | int]] = []
    opened = 0
    for frame, (direction, data) in enumerate(chunks, 1):
        if frame in gaps:
            session.receive_gap(direction, gaps[frame], frame, 0.0)
        if not session.takes_records(direction):
            session.receive_data(direction, data, frame, float(frame))
            _drain(session, out)
            continue
        for record in _records(data):
            whole = len(record) >= 5 and len(record) == 5 + int.from_bytes(record[3:5], "big")
            if not whole or not session.takes_records(direction):
                session.receive_data(direction, record, frame, float(frame))
                _drain(session, out)
                continue
            plain = session.receive_record(direction, record, frame, float(frame))
            if plain is not None:
                assert not session.plaintext  # handed back only when nothing waits before it
                opened += 1
                out.append((direction, plain))
            _drain(session, out)
    session.finish()
    _drain(session, out)
    return out, session.summary.to_dict(), [d.to_dict() for d in session.defects], opened


def _compare(keylog: str, chunks: list[Chunk], gaps: dict[int, int] | None = None) -> tuple:
    gaps = gaps or {}
    plain, summary, defects = _by_reader(keylog, chunks, gaps)
    plain2, summary2, defects2, opened = _by_records(keylog, chunks, gaps)
    assert plain2 == plain
    assert summary2 == summary
    assert defects2 == defects
    return plain, summary, defects, opened


def _stream(plain: list[tuple[int, bytes | int]], direction: int) -> bytes:
    return b"".join(p for d, p in plain if d == direction and isinstance(p, bytes))


def _sent(sent: list[Chunk], direction: int) -> bytes:
    return b"".join(m for d, m in sent if d == direction)


@pytest.mark.parametrize("name, kw", SUITES, ids=[s[0] for s in SUITES])
def test_each_version_and_mode_opens_alike_with_close_notify(
    tmp_path: Path, name: str, kw: dict
) -> None:
    keylog, chunks, sent = _record(tmp_path, kw, close=True)
    plain, summary, defects, opened = _compare(keylog, chunks)
    assert _stream(plain, 0) == _sent(sent, 0)
    assert _stream(plain, 1) == _sent(sent, 1)
    assert opened == len(sent)  # every application record took the one-call path
    assert summary["alerts"] == ["client warning close_notify", "server warning close_notify"]
    assert summary["failed_records"] == 0 and defects == []


def test_key_updates_in_both_directions(tmp_path: Path) -> None:
    try:
        keylog, chunks, sent = _record(
            tmp_path, {}, key_updates={2: (0, True), 5: (1, False), 8: (0, False)}
        )
    except rec.KeyUpdateUnavailable as exc:
        pytest.skip(f"SSL_key_update not reachable: {exc}")
    plain, summary, defects, opened = _compare(keylog, chunks)
    assert _stream(plain, 0) == _sent(sent, 0) and _stream(plain, 1) == _sent(sent, 1)
    assert summary["key_updates"] == 4 and summary["failed_records"] == 0
    assert opened == len(sent) and defects == []


@pytest.mark.parametrize("name, kw", SUITES[:4], ids=[s[0] for s in SUITES[:4]])
def test_a_damaged_record_fails_alike_and_the_next_ones_open(
    tmp_path: Path, name: str, kw: dict
) -> None:
    keylog, chunks, sent = _record(tmp_path, kw)
    # The client's third application message: one bit flipped in its last byte (the tag).
    at = [i for i, (d, _) in enumerate(chunks) if d == 0][-3]
    direction, data = chunks[at]
    chunks[at] = (direction, data[:-1] + bytes([data[-1] ^ 1]))
    plain, summary, defects, _ = _compare(keylog, chunks)
    assert summary["failed_records"] == 1
    assert [d["reason"] for d in defects] == [
        "client record does not decrypt: "
        + ("record MAC check failed" if "CBC" in name else "AEAD tag check failed")
    ]
    assert _stream(plain, 1) == _sent(sent, 1)
    lost = [m for d, m in sent if d == 0][-3]
    assert _stream(plain, 0) == _sent(sent, 0).replace(lost, b"", 1)


@pytest.mark.parametrize("name, kw", SUITES[:2], ids=[s[0] for s in SUITES[:2]])
def test_a_wrong_key_fails_alike_until_the_direction_is_given_up(
    tmp_path: Path, name: str, kw: dict
) -> None:
    keylog, chunks, sent = _record(tmp_path, kw)
    # Every secret's last hex digit changed: the handshake records fail first.
    wrong = "\n".join(
        line[:-1] + ("0" if line[-1] != "0" else "1") for line in keylog.split("\n") if line
    )
    plain, summary, defects, opened = _compare(wrong, chunks)
    assert plain == [] and opened == 0
    assert summary["decrypted_records"] == 0 and summary["failed_records"] > 0
    assert any("given up" in d["reason"] or "does not decrypt" in d["reason"] for d in defects)


def test_lost_bytes_resynchronise_alike(tmp_path: Path) -> None:
    keylog, chunks, sent = _record(tmp_path, {})
    # The second-to-last client delivery is lost: the reader resynchronises after it.
    at = [i for i, (d, _) in enumerate(chunks) if d == 0][-2]
    gone = len(chunks[at][1])
    chunks[at] = (0, b"")
    plain, summary, defects, _ = _compare(keylog, chunks, {at + 1: gone})
    assert [d["reason"] for d in defects] == [
        f"{gone} bytes missing in the client's TLS stream; resynchronising on the next record",
        "client TLS stream resynchronised after lost bytes: 1 records missing",
    ]
    assert (0, gone) in plain  # the hole, where the lost message was
    lost = [m for d, m in sent if d == 0][-2]
    assert _stream(plain, 0) == _sent(sent, 0).replace(lost, b"", 1)
    assert _stream(plain, 1) == _sent(sent, 1)


def test_records_cut_across_deliveries_open_alike(tmp_path: Path) -> None:
    keylog, chunks, sent = _record(tmp_path, {"max_version": ssl.TLSVersion.TLSv1_3})
    # Each delivery cut into 7-byte pieces: the session's reader holds the record parts, so
    # records are handed over whole only where a piece ends one at rest.
    cut = [(d, data[i : i + 7]) for d, data in chunks for i in range(0, len(data), 7)]
    plain, summary, defects, _ = _compare(keylog, cut)
    assert _stream(plain, 0) == _sent(sent, 0) and _stream(plain, 1) == _sent(sent, 1)
    assert defects == []


# -- through the connection: the compiled scan's records against the pure-Python path ---------


@pytest.mark.skipif(not fastpath.AVAILABLE, reason="compiled fast path not in use")
@pytest.mark.parametrize("segment", [1400, 300, 7])
def test_captures_decode_alike_with_and_without_the_fast_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, segment: int
) -> None:
    """One capture, one connection each: TLS 1.3 with key updates, TLS 1.2 AES-GCM and
    AES-CBC ending with close_notify, and TLS 1.3 with a damaged record; segments of
    ``segment`` bytes cut records across segments. ``--json -v`` and the keep-all messages
    must be the same with the records framed by the compiled scan and by Python."""
    recordings = []
    lines = []
    for i, (kw, run) in enumerate(
        [
            ({}, {"key_updates": {2: (0, True), 5: (1, False)}}),
            ({"ciphers": "ECDHE-RSA-AES256-GCM-SHA384", **TLS12}, {"close": True}),
            ({"ciphers": "ECDHE-RSA-AES128-SHA256", **TLS12}, {"close": True}),
            ({}, {}),
        ]
    ):
        folder = tmp_path / str(i)
        folder.mkdir()
        keylog = folder / "keys.log"
        server, client = rec.contexts(rec.server_identity(), folder, keylog=keylog, **kw)
        try:
            recording = rec.run(server, client, messages(6), **run)  # type: ignore[arg-type]
        except rec.KeyUpdateUnavailable:
            recording = rec.run(server, client, messages(6))
        if i == 3:  # one bit of the client's third application message flipped
            at = [k for k, (d, _) in enumerate(recording.chunks) if d == 0][-3]
            direction, data = recording.chunks[at]
            recording.chunks[at] = (direction, data[:-1] + bytes([data[-1] ^ 1]))
        recordings.append(recording)
        lines.append(keylog.read_text())
    keys = tmp_path / "all.keys"
    keys.write_text("".join(lines))
    path = rec.write_capture(tmp_path / "tls.pcap", recordings, segment=segment)
    compare(path, monkeypatch, keylog=str(keys))
    capture = lyncdump.open(path, keylog=keys).run()
    sent = [m for _, m in messages(6)]
    got = [m.raw for m in capture.messages()]
    assert len(got) == 4 * len(sent) - 1  # all but the damaged one
    assert sum(c.tls.failed_records for c in capture.connections if c.tls) == 1
