"""A key log followed while it is written (a live run): what KeyLogFollower reads from a
growing file, and TLS connections that wait for secrets written after their handshake was read.

The connections are real TLS made by Python's ssl module (tests/tls/tls_recorder.py); the key
log OpenSSL wrote is copied into the followed file at the moment a test chooses, which is the
race a live capture runs against the application that writes it. The oracle is the same
connection decoded with the whole key log known from the start.
"""

from __future__ import annotations

import json
import os
import ssl
from pathlib import Path

import pytest
import scenario_tls

from lyncdump.capture.tracelog import open_input
from lyncdump.errors import KeyMaterialError
from lyncdump.options import Options
from lyncdump.pipeline import Pipeline, load_tls_keys
from lyncdump.render.views import ndjson_view
from lyncdump.tls import decrypt
from lyncdump.tls.decrypt import TlsSession
from lyncdump.tls.keys import (
    KeyLog,
    KeyLogFollower,
    TlsKeys,
    follow_keylog,
    read_keylog,
)

from ..conftest import CAPTURES
from . import tls_recorder as rec

CR = bytes(range(32))
CR2 = bytes(range(1, 33))
SECRET = bytes(range(100, 148))
LINE = f"CLIENT_RANDOM {CR.hex()} {SECRET.hex()}\n"
LINE2 = f"CLIENT_RANDOM {CR2.hex()} {SECRET[::-1].hex()}\n"
SIP = scenario_tls.conversation()
TLS12 = {"max_version": ssl.TLSVersion.TLSv1_2, "ciphers": "ECDHE-RSA-AES256-GCM-SHA384"}


# ------------------------------------------------------------------------------ the follower
def test_follower_reads_what_is_appended_and_waits_for_a_line_to_end(tmp_path: Path) -> None:
    path = tmp_path / "keys.log"
    path.write_text("# SSL/TLS secrets log file\n")
    log = KeyLog()
    follower = KeyLogFollower(path)
    assert follower.read_new(log) == 0 and len(log) == 0
    assert follower.read_new(log) == 0  # unchanged: nothing read
    with path.open("a") as fh:
        fh.write(LINE + LINE2[:50])  # the writer is in the middle of the second line
    assert follower.read_new(log) == 1
    assert log.get("CLIENT_RANDOM", CR) == SECRET and log.get("CLIENT_RANDOM", CR2) is None
    with path.open("a") as fh:
        fh.write(LINE2[50:])
    assert follower.read_new(log) == 1
    assert log.get("CLIENT_RANDOM", CR2) == SECRET[::-1]
    assert follower.offset == len(path.read_bytes()) == follower.total
    with path.open("a") as fh:
        fh.write("CLIENT_RANDOM nothex x\n")
    assert follower.read_new(log) == 0
    assert log.bad_lines == [4]  # numbered in the file, across reads


def test_follower_reads_a_truncated_or_replaced_file_from_the_start(tmp_path: Path) -> None:
    path = tmp_path / "keys.log"
    path.write_text(LINE + LINE)
    log = KeyLog()
    follower = KeyLogFollower(path)
    assert follower.read_new(log) == 2
    path.write_text(LINE2)  # truncated (same inode), now shorter than what was read
    assert follower.read_new(log) == 1 and log.get("CLIENT_RANDOM", CR2) is not None
    replacement = tmp_path / "new.log"
    replacement.write_text("# new\n" + LINE + LINE2 + LINE)  # longer: only the inode tells
    os.replace(replacement, path)
    assert follower.read_new(log) == 3
    assert follower.offset == len(path.read_bytes())
    assert log.get("CLIENT_RANDOM", CR) == SECRET  # what was read before is kept


def test_follower_reads_at_most_its_bound_in_all(tmp_path: Path) -> None:
    path = tmp_path / "keys.log"
    path.write_text(LINE)
    log = KeyLog()
    follower = KeyLogFollower(path, limit=len(LINE) + 10)
    assert follower.read_new(log) == 1 and not follower.exhausted
    with path.open("a") as fh:
        fh.write(LINE2)
    assert follower.read_new(log) == 0  # 10 bytes read: no whole line
    assert follower.exhausted and follower.total == len(LINE) + 10
    with path.open("a") as fh:
        fh.write(LINE2)
    assert follower.read_new(log) == 0 and follower.total == len(LINE) + 10
    path.write_text(LINE2)  # truncated: re-reading would count too, and the bound is spent
    assert follower.read_new(log) == 0 and log.get("CLIENT_RANDOM", CR2) is None
    keys = TlsKeys(log, follower=follower)
    assert not keys.follows  # nothing more can come: connections do not wait


def test_follower_skips_an_overlong_line_to_its_end(tmp_path: Path) -> None:
    path = tmp_path / "keys.log"
    path.write_bytes(b"x" * 5000)
    log = KeyLog()
    follower = KeyLogFollower(path)
    assert follower.read_new(log) == 0
    with path.open("ab") as fh:
        fh.write(b"y" * 100)
    assert follower.read_new(log) == 0
    with path.open("a") as fh:
        fh.write("zz\n" + LINE)
    assert follower.read_new(log) == 1 and log.bad_lines == []


def test_follow_keylog_waits_for_a_file_not_written_yet(tmp_path: Path) -> None:
    path = tmp_path / "sslkeys.log"
    log, follower = follow_keylog(path)  # the application creates it later
    keys = TlsKeys(log, follower=follower)
    assert keys.follows and not keys.empty
    assert keys.secret("CLIENT_RANDOM", CR) is None
    path.write_text(LINE)
    assert keys.secret("CLIENT_RANDOM", CR) == (SECRET, "key log")
    with pytest.raises(KeyMaterialError, match="does not exist"):
        follow_keylog(tmp_path / "no-such-folder" / "keys.log")
    bad = tmp_path / "bad.log"
    bad.write_text(f"CLIENT_RANDOM {CR.hex()}\n")
    with pytest.raises(KeyMaterialError, match="no NSS key log line") as info:
        follow_keylog(bad)
    assert CR.hex() not in str(info.value)
    headed = tmp_path / "headed.log"
    headed.write_text("# TLS secrets log file, generated by OpenSSL / Python\n")
    assert len(follow_keylog(headed)[0]) == 0  # a header alone: nothing yet, no error


def test_follow_keylog_leaves_an_unfinished_line_for_later(tmp_path: Path) -> None:
    path = tmp_path / "keys.log"
    path.write_text(LINE + LINE2[:101])  # read_keylog would take the cut secret as it is
    cut = read_keylog(path).get("CLIENT_RANDOM", CR2)
    assert cut is not None and cut != SECRET[::-1]
    log, follower = follow_keylog(path)
    assert len(log) == 1 and log.get("CLIENT_RANDOM", CR2) is None
    with path.open("a") as fh:
        fh.write(LINE2[101:])
    assert TlsKeys(log, follower=follower).secret("CLIENT_RANDOM", CR2) == (
        SECRET[::-1],
        "key log",
    )


# ------------------------------------------------------------- connections that wait for keys
def _recording(tmp_path: Path, **kw: object) -> tuple[rec.Recording, str]:
    keylog = tmp_path / "openssl-keys.log"
    server, client = rec.contexts(rec.server_identity(), tmp_path, keylog=keylog, **kw)  # type: ignore[arg-type]
    recording = rec.run(server, client, SIP)
    return recording, keylog.read_text()


def _decode(recording: rec.Recording, keys: TlsKeys, lines: str, at: int | None) -> TlsSession:
    """Each chunk of the recording as one TCP segment; the key log lines are appended to the
    followed file after chunk ``at`` (never when None)."""
    session = TlsSession(keys)
    for i, (direction, data) in enumerate(recording.chunks):
        session.receive_data(direction, data, i + 1, float(i))
        if i == at:
            assert keys.follower is not None
            with open(keys.follower.path, "a") as fh:
                fh.write(lines)
    session.finish()
    return session


def _followed(tmp_path: Path) -> TlsKeys:
    log, follower = follow_keylog(tmp_path / "followed.log")
    return TlsKeys(log, follower=follower)


def _known(lines: str) -> TlsKeys:
    log = KeyLog()
    log.add_text(lines)
    return TlsKeys(log)


def _plaintext(session: TlsSession) -> list[tuple[int, bytes | int, int]]:
    return [(d, data, frame) for d, data, frame, _ in session.plaintext]


@pytest.mark.parametrize("tls", ["1.3", "1.2"])
def test_keys_written_after_the_server_flight_decrypt_everything(tmp_path: Path, tls: str) -> None:
    recording, lines = _recording(tmp_path, **(TLS12 if tls == "1.2" else {}))
    # chunk 0 ClientHello, 1 the server's flight; TLS 1.3: 2 the client's Finished;
    # TLS 1.2: 2 ClientKeyExchange, ChangeCipherSpec, Finished, 3 the server's.
    assert recording.chunks[0][0] == 0 and recording.chunks[1][0] == 1
    oracle = _decode(recording, _known(lines), lines, None)
    assert oracle.summary.decrypted and oracle.summary.failed_records == 0
    keys = _followed(tmp_path)
    late = _decode(recording, keys, lines, 1 if tls == "1.3" else 2)
    assert _plaintext(late) == _plaintext(oracle)
    assert b"".join(p for d, p, _ in _plaintext(late) if d == 0) == b"".join(
        m for d, m in SIP if d == 0
    )
    assert late.summary.to_dict() == oracle.summary.to_dict()
    assert late.summary.key_source == "key log" and late.summary.note is None
    assert late.defects == [] and keys.held == 0


def test_tls13_application_secrets_written_after_the_handshake_ones(tmp_path: Path) -> None:
    recording, lines = _recording(tmp_path)
    handshake = "".join(line + "\n" for line in lines.splitlines() if "HANDSHAKE" in line)
    rest = "".join(line + "\n" for line in lines.splitlines() if "HANDSHAKE" not in line)
    keys = _followed(tmp_path)
    with open(keys.follower.path, "a") as fh:  # type: ignore[union-attr]
        fh.write(handshake)
    late = _decode(recording, keys, rest, 2)  # after the client's Finished
    oracle = _decode(recording, _known(lines), lines, None)
    assert _plaintext(late) == _plaintext(oracle)
    assert late.summary.to_dict() == oracle.summary.to_dict() and late.defects == []


def test_a_segment_of_either_direction_looks_again(tmp_path: Path) -> None:
    recording, lines = _recording(tmp_path)
    late_line = next(line for line in lines.splitlines() if "CLIENT_TRAFFIC_SECRET_0" in line)
    keys = _followed(tmp_path)
    with open(keys.follower.path, "a") as fh:  # type: ignore[union-attr]
        fh.write(lines.replace(late_line + "\n", ""))
    session = TlsSession(keys)
    # 0 ClientHello, 1 the server's flight, 2 the client's Finished (its application secret is
    # missing: the client direction waits from there), 3 tickets, 4 the client's REGISTER.
    for i, (direction, data) in enumerate(recording.chunks[:5]):
        session.receive_data(direction, data, i + 1, float(i))
    assert recording.chunks[4][0] == 0 and recording.chunks[5][0] == 1
    assert [d for d, *_ in session.plaintext] == [] and session._read[0] is decrypt._WAITING
    with open(keys.follower.path, "a") as fh:  # type: ignore[union-attr]
        fh.write(late_line + "\n")
    session.receive_data(1, recording.chunks[5][1], 6, 5.0)  # the server's answer
    assert [(d, p, frame) for d, p, frame, _ in session.plaintext] == [
        (0, SIP[0][1], 5),  # the client's REGISTER, held since frame 5, comes first
        (1, SIP[1][1], 6),
    ]
    assert session.summary.key_source == "key log" and session.defects == []


def test_keys_that_never_come_end_as_without_keys(tmp_path: Path) -> None:
    recording, lines = _recording(tmp_path)
    without = _decode(recording, TlsKeys(KeyLog()), lines, None)
    keys = _followed(tmp_path)
    waited = _decode(recording, keys, lines, None)
    assert waited.plaintext == [] and keys.held == 0
    assert waited.summary.to_dict() == without.summary.to_dict()
    assert waited.summary.note == "no TLS 1.3 secrets for this client random in the keys given"
    assert waited.summary.encrypted_bytes == without.summary.encrypted_bytes > 0
    # 10 segments: the handshake's lookup at the ServerHello (2), then one per segment after,
    # before its records: the last one finds nothing either, and its record is not held.
    assert len(recording.chunks) == 2 + decrypt.MAX_KEY_RETRIES
    assert waited.summary.records == 17  # 2 hellos, 15 records encrypted or after them
    assert [(d.frame, d.reason) for d in waited.defects] == [
        (
            10,
            "client and server TLS keys not in the followed key log (looked 8 more times): "
            "14 records held are not decrypted",
        )
    ]


def test_waiting_is_bounded_in_lookups_records_and_bytes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    recording, lines = _recording(tmp_path)
    keys = _followed(tmp_path)
    session = TlsSession(keys)
    looks: list[int] = []
    real = KeyLogFollower.read_new

    def counted(follower: KeyLogFollower, log: KeyLog) -> int:
        looks.append(1)
        return real(follower, log)

    monkeypatch.setattr(KeyLogFollower, "read_new", counted)
    for i, (direction, data) in enumerate(recording.chunks[:2]):
        session.receive_data(direction, data, i + 1, 0.0)
    assert len(looks) == 1  # the handshake's lookup: one read for the four secrets
    record = recording.chunks[2][1]  # the client's encrypted flight, seen again and again
    frame = 3
    while decrypt._WAITING in session._read:
        session.receive_data(0, record, frame, 0.0)
        frame += 1
        assert frame < 100
    assert session._tries == decrypt.MAX_KEY_RETRIES and session._held == []
    assert len(looks) == 1 + decrypt.MAX_KEY_RETRIES  # one per TCP segment, a few times
    assert keys.held == 0
    assert "(looked 8 more times)" in session.defects[-1].reason
    # Bytes: a run's connections hold at most MAX_HELD_TOTAL together.
    monkeypatch.setattr(decrypt, "MAX_HELD_TOTAL", 3000)
    sessions = [TlsSession(keys) for _ in range(3)]
    for s in sessions:
        for direction, data in recording.chunks[:2]:
            s.receive_data(direction, data, 1, 0.0)  # one frame: no lookup after the first
        assert keys.held <= 3000
    assert any("too many records held" in d.reason for s in sessions for d in s.defects)
    for s in sessions:
        s.finish()
    assert keys.held == 0


def test_waiting_holds_at_most_its_records(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    recording, lines = _recording(tmp_path)
    monkeypatch.setattr(decrypt, "MAX_HELD_RECORDS", 2)
    keys = _followed(tmp_path)
    session = _decode(recording, keys, lines, 1)  # too late: two records are all it holds
    assert session.plaintext == [] and not session.summary.decrypted
    assert "too many records held" in session.defects[0].reason and keys.held == 0


# ------------------------------------------------------------------ files: exactly as before
TLS_SAMPLES = [
    "lync-tls-nokeys.pcap",
    "lync-tls-sipcomp.pcapng",
    "lync-tls13-keyupdate.pcapng",
    "sip-websocket.pcapng",
]


def _ndjson(name: str, keylog: str | None, *, follow: bool) -> list[str]:
    options = Options(keylog=keylog)
    reader = open_input(name)
    keys = load_tls_keys(options, getattr(reader, "secrets", None), follow=follow)
    pipeline = Pipeline(reader, options, name=name, streaming=True, tls_keys=keys)
    lines: list[str] = []
    ndjson_view(pipeline.events(), lines.append, source=name)
    return lines


@pytest.mark.parametrize("name", TLS_SAMPLES)
def test_files_decode_as_before_and_a_full_followed_log_changes_nothing(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(CAPTURES)
    once = _ndjson(name, None, follow=False)
    assert once == (CAPTURES / f"{name}.ndjson").read_text().splitlines()  # the CLI's output
    keylog = "lync-tls-sipcomp.keys"
    assert _ndjson(name, keylog, follow=True) == _ndjson(name, keylog, follow=False)
    record = json.loads(_ndjson(name, keylog, follow=True)[-1])
    assert all(c["tls"]["decrypted"] for c in record["connections"] if c.get("tls"))
