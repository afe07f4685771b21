"""The compiled fast path opens routine TLS records itself and gives exactly what Python gives.

A direction read as READ_TLS whose session is routine (application data under an AEAD key)
gets a cache of its read state from ``_tls_record`` (``TlsSession.routine_hand``); the scan
then opens its records in C, one call of the AEAD's ``decrypt`` each, and hands anything else
back through ``_tls_record`` after giving the session its counts (``routine_back``).

Each test decodes one capture of real OpenSSL connections (tests/tls/tls_recorder.py) with the
compiled path and in pure Python and compares ``--json -v``, the keep-all messages and the TLS
counters, on connections that hit every reason to hand a record back: a key update, alerts, a
damaged record, lost bytes, records cut across segments, SIP messages cut across records and
many messages in one record; and checks that records were opened in C at all.
"""

from __future__ import annotations

import ssl
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pcapgen import Builder

import lyncdump
import lyncdump.pipeline.connection as connection
import lyncdump.pipeline.core as core
from lyncdump import fastpath
from lyncdump.tls.decrypt import TlsSession

from ..pipeline.test_sip_tcp_fastpath import compare
from . import tls_recorder as rec
from .test_tls_edge_cases import TLS12, messages

pytestmark = pytest.mark.skipif(not fastpath.AVAILABLE, reason="compiled fast path not in use")

TLS13_ONLY = {"min_version": ssl.TLSVersion.TLSv1_3, "max_version": ssl.TLSVersion.TLSv1_3}
GCM12 = {"ciphers": "ECDHE-RSA-AES256-GCM-SHA384", **TLS12}
CHACHA12 = {"ciphers": "ECDHE-RSA-CHACHA20-POLY1305", **TLS12}
CBC12 = {"ciphers": "ECDHE-RSA-AES128-SHA256", **TLS12}


def _mixed(count: int) -> list[tuple[int, bytes]]:
    """``messages(count)`` regrouped: some SIP messages cut in two writes (two records), some
    client messages written three at once (one record)."""
    sent = messages(count)
    out: list[tuple[int, bytes]] = []
    i = 0
    while i < len(sent):
        direction, payload = sent[i]
        if i % 5 == 1:
            half = len(payload) // 3
            out += [(direction, payload[:half]), (direction, payload[half:])]
        elif i % 7 == 2 and i + 4 < len(sent):
            out.append((direction, payload + sent[i + 2][1] + sent[i + 4][1]))
            out.append(sent[i + 1])
            out.append(sent[i + 3])
            i += 5
            continue
        else:
            out.append((direction, payload))
        i += 1
    return out


def _recording(
    folder: Path,
    kw: dict[str, Any],
    sent: list[tuple[int, bytes]],
    *,
    prepare: Callable[[ssl.SSLContext], None] | None = None,
    **run: Any,
) -> tuple[rec.Recording, str]:
    """A real connection's recording and its key log; ``prepare`` is called with the server's
    and then the client's context before they connect."""
    folder.mkdir()
    keylog = folder / "keys.log"
    server, client = rec.contexts(rec.server_identity(), folder, keylog=keylog, **kw)
    if prepare is not None:
        prepare(server)
        prepare(client)
    try:
        recording = rec.run(server, client, sent, **run)
    except rec.KeyUpdateUnavailable:
        run.pop("key_updates", None)
        recording = rec.run(server, client, sent, **run)
    return recording, keylog.read_text()


def _damage(recording: rec.Recording, nth_from_end: int) -> None:
    """One bit of a client delivery's last byte (a tag) flipped."""
    at = [k for k, (d, _) in enumerate(recording.chunks) if d == 0][-nth_from_end]
    direction, data = recording.chunks[at]
    recording.chunks[at] = (direction, data[:-1] + bytes([data[-1] ^ 1]))


def _write(path: Path, recordings: list[rec.Recording], segment: int, lose: dict[int, int]) -> Path:
    """rec.write_capture, but ``lose`` maps a recording's index to one of its deliveries
    whose segments never reach the capture (the bytes are lost)."""
    b = Builder()
    t = 0.0
    for i, recording in enumerate(recordings):
        flow = b.tcp((rec.CLIENT_IP, 50200 + i), (rec.SERVER_IP, 5061))
        flow.handshake(t)
        t += 0.01
        for k, (direction, data) in enumerate(recording.chunks):
            cuts = list(range(segment, len(data), segment))
            gone = lose.get(i) == k
            flow.send(t, direction, data, cuts=cuts, order=[] if gone else None)
            t += 0.001 * (len(cuts) + 1) + 0.01
        flow.close(t + 0.01)
        t += 0.1
    b.write(str(path))
    return path


def _tls_counts(path: Path, keys: Path) -> list[dict[str, Any]]:
    capture = lyncdump.open(path, keylog=keys).run()
    return [c.tls.to_dict() for c in capture.connections if c.tls is not None]


def _decode_both(
    path: Path, keys: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[int, int, list[dict[str, Any]]]:
    """compare() both ways; then the records the fast path opened itself (routine_back), the
    SIP messages it framed (FastPath.sip_messages) and the TLS counters, which must be the
    same in pure Python."""
    framed = compare(path, monkeypatch, keylog=str(keys))
    opened: list[int] = []
    real = TlsSession.routine_back

    def spy(self: TlsSession, direction: int, state: Any, records: int, *rest: Any) -> None:
        opened.append(records)
        real(self, direction, state, records, *rest)

    with monkeypatch.context() as m:
        m.setattr(TlsSession, "routine_back", spy)
        fast = _tls_counts(path, keys)
    with monkeypatch.context() as m:
        m.setattr(core, "attach_fast_path", lambda reader, every, advance=0: (None, None))
        m.setattr(connection, "_frame_chunk", None)
        pure = _tls_counts(path, keys)
    assert fast == pure
    return sum(opened), framed, fast


CONNECTIONS: list[tuple[dict[str, Any], dict[str, Any], str]] = [
    (TLS13_ONLY, {"key_updates": {3: (0, True), 8: (1, False), 12: (0, False)}}, "key updates"),
    (GCM12, {"close": True}, "AES-GCM, close_notify"),
    (CHACHA12, {"close": True}, "ChaCha20, close_notify"),
    (CBC12, {"close": True}, "CBC: never opened in C"),
    (TLS13_ONLY, {}, "damaged"),
    (GCM12, {}, "TLS 1.2 damaged"),
    (TLS13_ONLY, {"close": True}, "lost bytes"),
    (CHACHA12, {}, "ChaCha20 lost bytes"),
]


@pytest.mark.parametrize("segment", [1400, 500, 9])
def test_every_hand_back_decodes_alike(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, segment: int
) -> None:
    recordings, logs = [], []
    for i, (kw, run, _) in enumerate(CONNECTIONS):
        recording, log = _recording(tmp_path / str(i), kw, _mixed(16), **run)
        if "damaged" in CONNECTIONS[i][2]:
            _damage(recording, 4)
        recordings.append(recording)
        logs.append(log)
    lose = {i: len(r.chunks) - 6 for i, r in enumerate(recordings) if "lost" in CONNECTIONS[i][2]}
    keys = tmp_path / "all.keys"
    keys.write_text("".join(logs))
    path = _write(tmp_path / "tls.pcap", recordings, segment, lose)
    opened, framed_in_c, counts = _decode_both(path, keys, monkeypatch)
    assert opened > 40  # most application records were opened in C
    assert framed_in_c > 40  # and most of their messages framed there
    assert sum(c["failed_records"] for c in counts) >= 2  # the damaged ones
    updates = sum(c.get("key_updates", 0) for c in counts)
    assert updates == 0 or updates >= 3  # (0: SSL_key_update not reachable here)
    assert all(c["decrypted_records"] for c in counts)


def test_records_held_across_tiny_segments_open_alike(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One TLS 1.3 connection in 3-byte segments: every record is put together in C from many
    segments, then opened there."""
    recording, log = _recording(tmp_path / "a", TLS13_ONLY, messages(10))
    keys = tmp_path / "k.keys"
    keys.write_text(log)
    path = _write(tmp_path / "small.pcap", [recording], 3, {})
    opened, framed_in_c, counts = _decode_both(path, keys, monkeypatch)
    # (with 3-byte segments the scan gives the connection back often, and each direction's
    # first record after that goes through Python: fewer messages are framed in C)
    assert opened >= 8 and framed_in_c >= 1
    assert counts[0]["failed_records"] == 0


def _spoil(hand: tuple[Any, ...], how: str) -> tuple[Any, ...]:
    h = list(hand)
    if how == "iv":
        h[2] = h[2][:-1]
    elif how == "flavour":
        h[4] = 9
    elif how == "seq":
        h[3] = 1 << 64
    elif how == "lists":
        h[5] = list(h[5]) + [None]
    elif how == "short":
        h = h[:5]
    return tuple(h)


@pytest.mark.parametrize("how", ["iv", "flavour", "seq", "lists", "short"])
def test_a_hand_the_scan_cannot_use_leaves_records_to_python(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    """A routine hand of another shape is not taken: every record goes through _tls_record,
    with the same result."""
    recording, log = _recording(tmp_path / "a", GCM12 if how == "iv" else {}, messages(6))
    keys = tmp_path / "k.keys"
    keys.write_text(log)
    path = _write(tmp_path / "c.pcap", [recording], 1400, {})
    real = TlsSession.routine_hand

    def spoiled(self: TlsSession, direction: int) -> tuple[Any, ...] | None:
        hand = real(self, direction)
        return None if hand is None else _spoil(hand, how)

    with pytest.MonkeyPatch.context() as m:  # (compare() undoes monkeypatch's own changes)
        m.setattr(TlsSession, "routine_hand", spoiled)
        opened, framed_in_c, counts = _decode_both(path, keys, monkeypatch)
    assert opened == 0 and framed_in_c == 0
    assert counts[0]["decrypted_records"] > 0


def test_negotiate_inside_tls_stops_the_framing_in_c(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SIP over TLS framed in C in both directions, then the NEGOTIATE exchange (Python frames
    it: the other direction's framing in C stops when the negotiation appears) and
    MS-SIPCOMP packets after it, which the inner connection decodes in Python."""
    import random

    from hostile import negotiate_exchange

    from ..pipeline.test_sipcomp_fastpath import compressed_pieces

    rng = random.Random(7)
    neg, ok = negotiate_exchange()
    sent = messages(8) + [(0, neg), (1, ok)]
    for direction in (0, 1):
        for piece in compressed_pieces(rng, 0, direction, 6, odd=False):
            sent.append((direction, piece))
    recording, log = _recording(tmp_path / "a", GCM12, sent)
    keys = tmp_path / "k.keys"
    keys.write_text(log)
    path = _write(tmp_path / "negotiate.pcap", [recording], 1400, {})
    opened, framed_in_c, counts = _decode_both(path, keys, monkeypatch)
    assert opened >= 8 and framed_in_c >= 4
    capture = lyncdump.open(path, keylog=keys).run()
    assert any(c.compressed for c in capture.connections)


def test_a_read_state_changed_by_the_other_direction_is_seen(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The session changes the server's read state while the scan holds it (here: when a
    client record fails, as a new handshake or a followed key log could): the scan sees it
    on the session's list before the server's next record, which then goes through Python
    (not decrypted, as in pure Python)."""
    import lyncdump.tls.decrypt as decrypt

    recording, log = _recording(tmp_path / "a", TLS13_ONLY, messages(10))
    _damage(recording, 3)
    keys = tmp_path / "k.keys"
    keys.write_text(log)
    path = _write(tmp_path / "changed.pcap", [recording], 1400, {})
    real = TlsSession._failed

    def failed(self: TlsSession, d: int, rec: Any, reason: str) -> None:
        real(self, d, rec, reason)
        self._read[1 - d] = decrypt._NO_KEYS  # (in place, as the session always does)

    with pytest.MonkeyPatch.context() as m:
        m.setattr(TlsSession, "_failed", failed)
        opened, framed_in_c, counts = _decode_both(path, keys, monkeypatch)
        shown = len(list(lyncdump.open(path, keylog=keys).run().messages()))
    assert opened >= 4 and framed_in_c >= 4
    assert counts[0]["failed_records"] == 1
    assert shown < 19  # the server's records after the failure were not opened
