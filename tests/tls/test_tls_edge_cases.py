"""TLS edge cases with real TLS from Python's ssl (OpenSSL) over memory BIOs: a TLS 1.3
KeyUpdate in each direction (made by OpenSSL's own SSL_key_update), records resynchronised
after lost TCP bytes, connections whose handshake is not in the capture, several RSA keys.
tshark (with the same key log) is the oracle where it decodes."""

from __future__ import annotations

import shutil
import ssl
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner
from pcapgen import Builder, sip

import lyncdump
from lyncdump.cli import command
from lyncdump.render.tls import footer_note

from . import tls_recorder as rec

TLS12 = {"max_version": ssl.TLSVersion.TLSv1_2}


def messages(count: int = 30) -> list[tuple[int, bytes]]:
    """Client MESSAGEs (about 700 bytes each) and the server's 200 OKs, alternating."""
    out = []
    for i in range(count):
        text = "x" * 400 + f" message {i}"
        out.append(
            (
                0,
                sip(f"""MESSAGE sip:bob@contoso.com SIP/2.0
Via: SIP/2.0/TLS 192.168.10.20:50123;branch=z9hG4bKm{i}
From: <sip:alice@contoso.com>;tag=a1
To: <sip:bob@contoso.com>
Call-ID: im-{i}@contoso.com
CSeq: {i + 1} MESSAGE
Content-Type: text/plain
Content-Length: auto

{text}"""),
            )
        )
        out.append(
            (
                1,
                sip(f"""SIP/2.0 200 OK
Via: SIP/2.0/TLS 192.168.10.20:50123;branch=z9hG4bKm{i}
From: <sip:alice@contoso.com>;tag=a1
To: <sip:bob@contoso.com>;tag=b{i}
Call-ID: im-{i}@contoso.com
CSeq: {i + 1} MESSAGE
Content-Length: 0
"""),
            )
        )
    return out


def record(tmp_path: Path, msgs: list[tuple[int, bytes]], **kw: object) -> tuple[Path, object]:
    keylog = tmp_path / "keys.log"
    key_updates = kw.pop("key_updates", None)
    server, client = rec.contexts(rec.server_identity(), tmp_path, keylog=keylog, **kw)  # type: ignore[arg-type]
    recording = rec.run(server, client, msgs, key_updates=key_updates)  # type: ignore[arg-type]
    return keylog, recording


def write(path: Path, recording: rec.Recording, *, lose: set[tuple[int, int]] = frozenset(),
          skip_chunks: int = 0, segment: int = 300) -> Path:  # fmt: skip
    """The recording as one TCP connection, pieces ``(chunk, piece)`` of ``lose`` never sent
    (a hole TCP reports as lost bytes) and the first ``skip_chunks`` chunks left out (with
    the TCP handshake: the capture starts mid-connection)."""
    b = Builder()
    flow = b.tcp((rec.CLIENT_IP, 50123), (rec.SERVER_IP, 5061))
    t = 0.0
    if not skip_chunks:
        flow.handshake(t)
    for index, (direction, data) in enumerate(recording.chunks):
        cuts = list(range(segment, len(data), segment))
        pieces = range(len(cuts) + 1)
        if index < skip_chunks:
            order: list[int] = []
        else:
            order = [k for k in pieces if (index, k) not in lose]
        flow.send(t + 0.01, direction, data, cuts=cuts, order=order)
        t += 0.01
    b.write(str(path))
    return path


def raw(capture: lyncdump.Capture) -> list[bytes]:
    return [m.raw for m in capture.messages()]


# -- TLS 1.3 KeyUpdate ------------------------------------------------------------------------


def test_key_update_in_both_directions_made_by_openssl(tmp_path: Path) -> None:
    msgs = messages(8)
    # The client updates and asks the server to (message 4), the server updates on its own
    # (before message 9), the client again without asking (message 12).
    updates = {4: (0, True), 9: (1, False), 12: (0, False)}
    try:
        keylog, recording = record(tmp_path, msgs, key_updates=updates)
    except rec.KeyUpdateUnavailable as exc:
        pytest.skip(f"SSL_key_update not reachable: {exc}")
    path = write(tmp_path / "ku.pcap", recording)  # type: ignore[arg-type]
    capture = lyncdump.open(path, keylog=keylog).run()
    assert raw(capture) == [m for _, m in msgs]
    tls = capture.connections[0].tls
    assert tls is not None and tls.version == "TLS 1.3" and tls.failed_records == 0
    assert not capture.defects.items
    if shutil.which("tshark") is None:
        return
    out = subprocess.run(
        ["tshark", "-r", str(path), "-o", f"tls.keylog_file:{keylog}", "-Y",
         "tls.handshake.type == 24", "-T", "fields", "-e", "tcp.srcport"],
        capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    # Four KeyUpdates on the wire: client (requested), server's answer, server, client.
    assert out == ["50123", "5061", "5061", "50123"]
    sips = subprocess.run(
        ["tshark", "-r", str(path), "-o", f"tls.keylog_file:{keylog}", "-q", "-z", "sip,stat"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert f"Number of SIP messages: {len(msgs)}" in sips


# -- lost TCP bytes --------------------------------------------------------------------------

SUITES = [
    ("TLS 1.3", {}),
    ("TLS 1.2 AES-GCM", {"ciphers": "ECDHE-RSA-AES256-GCM-SHA384", **TLS12}),
    ("TLS 1.2 ChaCha20", {"ciphers": "ECDHE-RSA-CHACHA20-POLY1305", **TLS12}),
    ("TLS 1.2 AES-CBC", {"ciphers": "ECDHE-RSA-AES128-SHA256", **TLS12}),
    (
        "TLS 1.0 AES-CBC",
        {
            "ciphers": "ECDHE-RSA-AES128-SHA:@SECLEVEL=0",
            "min_version": ssl.TLSVersion.TLSv1,
            "max_version": ssl.TLSVersion.TLSv1,
        },
    ),
]


@pytest.mark.parametrize("name, kw", SUITES, ids=[s[0] for s in SUITES])
def test_records_resynchronise_after_lost_bytes(tmp_path: Path, name: str, kw: dict) -> None:
    msgs = messages(30)
    try:
        keylog, recording = record(tmp_path, msgs, **kw)
    except (ssl.SSLError, AssertionError) as exc:
        pytest.skip(f"{name}: {exc}")
    chunks = recording.chunks  # type: ignore[attr-defined]
    first = next(i for i, (d, c) in enumerate(chunks) if d == 0 and b"\x17\x03" in c[:3]) + 20
    assert chunks[first][0] == 0
    # One hole in the client's stream: the end of one MESSAGE, all of the next two.
    lose = {(first, 1), (first, 2)} | {(first + k, p) for k in (2, 4) for p in range(4)}
    path = write(tmp_path / "lossy.pcap", recording, lose=lose)  # type: ignore[arg-type]
    capture = lyncdump.open(path, keylog=keylog).run()
    got = raw(capture)
    sent = [m for _, m in msgs]
    lost = {sent.index(m) for m in sent if m not in got}
    client_lost = sorted(i for i in lost if msgs[i][0] == 0)
    assert all(msgs[i][0] == 0 for i in lost), "the server's direction is untouched"
    index = (first - next(i for i, (d, c) in enumerate(chunks) if c.startswith(b"\x17"))) // 2
    hole = [index, index + 1, index + 2]
    if name.startswith("TLS 1.0"):
        # CBC chains its IV through records: the first record after the hole only gives the
        # IV of the next one.
        assert [i // 2 for i in client_lost] == [*hole, index + 3]
    else:
        assert [i // 2 for i in client_lost] == hole
        reasons = [d.reason for d in capture.defects]
        assert "client TLS stream resynchronised after lost bytes: 3 records missing" in reasons
    # In each direction, everything else in order (the client's messages after the hole wait
    # for it to be declared lost, so the two directions interleave differently).
    for d in (0, 1):
        mine = [m for i, (direction, m) in enumerate(msgs) if direction == d and i not in lost]
        assert [m for m in got if msgs[sent.index(m)][0] == d] == mine


def test_rc4_and_keyless_directions_after_lost_bytes() -> None:
    """Without keys, records are still framed again after a hole (and counted)."""
    from lyncdump.tls.decrypt import TlsSession
    from lyncdump.tls.keys import TlsKeys

    session = TlsSession(TlsKeys())
    record = b"\x17\x03\x03\x00\x10" + bytes(16)
    session.receive_data(0, record + record[:9], 1, 0.0)
    session.receive_gap(0, 100, 2, 0.0)
    session.receive_data(0, bytes(7) + record + record, 3, 0.0)  # junk, then records
    assert session.summary.records == 3
    assert "resynchronising" in session.defects[-1].reason


# -- the handshake is not in the capture -----------------------------------------------------


def test_connection_without_its_handshake_says_no_key_can_help(tmp_path: Path) -> None:
    msgs = messages(4)
    keylog, recording = record(tmp_path, msgs, ciphers="ECDHE-RSA-AES256-GCM-SHA384", **TLS12)
    handshake = next(i for i, (_d, c) in enumerate(recording.chunks) if c.startswith(b"\x17"))  # type: ignore[attr-defined]
    path = write(tmp_path / "late.pcap", recording, skip_chunks=handshake)  # type: ignore[arg-type]
    capture = lyncdump.open(path, keylog=keylog).run()
    (conn,) = capture.connections
    tls = conn.tls
    assert tls is not None and not tls.decrypted and tls.handshake_missing
    assert tls.needs is None and tls.records > 0
    assert tls.note == (
        "the handshake is not in the capture (the connection began before it): keys are "
        "matched by the client random it carries, so no key log or RSA key can open this "
        "connection"
    )
    assert footer_note(capture) == (
        "1 TLS connection not decrypted: it began before the capture, and without the "
        "handshake no key can open it"
    )
    result = CliRunner().invoke(command, ["--summary", "--keylog", str(keylog), str(path)])
    assert "not decrypted: the handshake is not in the capture" in result.output
    assert "would let lyncdump decode" not in result.output


# -- several RSA keys ------------------------------------------------------------------------


def test_several_rsa_keys_each_connection_uses_its_server_s(tmp_path: Path) -> None:
    msgs = messages(2)
    keylog, recording = record(tmp_path, msgs, ciphers="AES128-GCM-SHA256", **TLS12)
    path = write(tmp_path / "rsa.pcap", recording)  # type: ignore[arg-type]
    right = tmp_path / "server.key"  # written by rec.contexts for the recording's identity
    other = rec.server_identity("pool02.contoso.com")
    wrong = tmp_path / "other.key"
    wrong.write_bytes(other.key_pem(b"secret"))  # encrypted: needs the password
    # One password for several keys: the unencrypted one is read without it.
    capture = lyncdump.open(path, rsa_key=(wrong, right), rsa_key_password="secret").run()
    assert raw(capture) == [m for _, m in msgs]
    assert capture.connections[0].tls.key_source == "RSA key"  # type: ignore[union-attr]
    result = CliRunner().invoke(
        command,
        ["--summary", "--rsa-key", str(wrong), "--rsa-key", str(right),
         "--rsa-key-password", "secret", str(path)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "decrypted with RSA key" in result.output
    # A single path still works as before.
    assert raw(lyncdump.open(path, rsa_key=right).run()) == [m for _, m in msgs]
    only_wrong = lyncdump.open(path, rsa_key=(wrong,), rsa_key_password="secret").run()
    assert only_wrong.messages() == []
    note = only_wrong.connections[0].tls.note  # type: ignore[union-attr]
    assert note is not None and note.startswith("the RSA key given is not this server's")


# -- the sample --------------------------------------------------------------------------------

SAMPLE = Path(__file__).resolve().parents[2] / "captures" / "lync-tls13-keyupdate.pcapng"


@pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark not installed")
def test_keyupdate_sample_matches_tshark() -> None:
    """tshark decrypts the sample with its embedded key log: the same SIP in the same frames,
    and its KeyUpdates where lyncdump counts them."""
    capture = lyncdump.open(SAMPLE).run()
    ours = [(m.frame, m.method, m.status) for m in capture.messages()]
    out = subprocess.run(
        ["tshark", "-r", str(SAMPLE), "-Y", "sip or tls.handshake.type == 24", "-T", "fields",
         "-e", "frame.number", "-e", "tls.handshake.type", "-e", "sip.Method",
         "-e", "sip.Status-Code"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    rows = [line.split("\t") for line in out.splitlines()]
    theirs = [(int(f), m or None, int(s) if s else None) for f, _t, m, s in rows if m or s]
    assert ours == theirs and len(ours) == 6
    tls = capture.connections[0].tls
    assert tls is not None and tls.version == "TLS 1.3" and tls.failed_records == 0
    assert tls.key_updates == sum(1 for row in rows if row[1] == "24") == 3
