"""MS-ICE over TCP with legacy STUN: RFC 4571 frames carrying RFC 3489-style STUN (no magic
cookie) and RTP, as libnice's OC2007 mode sends them (captures/ice-tcp-oc2007*.pcap, recorded by
tools/record_icetcp.sh). libnice is the oracle for the STUN (every MESSAGE-INTEGRITY it computed
checks with the candidate passwords it printed), tshark for the RTP (Decode As rtp on TCP reads
RFC 4571 framing), and the connection labels say what each connection carried."""

from __future__ import annotations

import base64
import shutil
import struct
import subprocess

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import lyncdump
from lyncdump.media import stun as s
from lyncdump.media.turn_tcp import RFC4571, TcpMediaFramer, detect

from ..conftest import CAPTURES

FULL = CAPTURES / "ice-tcp-oc2007.pcap"
LATE = CAPTURES / "ice-tcp-oc2007-late.pcap"
CANDIDATES = CAPTURES / "ice-tcp-oc2007.candidates"


def candidate_passwords() -> tuple[str, ...]:
    return tuple(
        line.split()[-1] for line in CANDIDATES.read_text().splitlines() if " password " in line
    )


def classic_check(tid: bytes = bytes(range(16)), username: bytes = b"A" * 32 + b":1:\0") -> bytes:
    """An RFC 3489-style Binding request: USERNAME then a MESSAGE-INTEGRITY, no cookie."""
    body = struct.pack("!HH", 6, len(username)) + username + struct.pack("!HH", 8, 20) + bytes(20)
    return struct.pack("!HH", 1, len(body)) + tid + body


def framed(message: bytes) -> bytes:
    return struct.pack("!H", len(message)) + message


# -- detection and framing ---------------------------------------------------------------------


def test_rfc4571_with_classic_stun_is_detected_whole_or_by_its_first_segment() -> None:
    frame = framed(classic_check())
    assert detect(frame) == RFC4571
    for cut in (22, 26, 40, len(frame) - 1):
        assert detect(frame[:cut]) == RFC4571, cut
    # Lengths that disagree, or a type that is not Binding / Shared Secret: not this framing.
    assert detect(struct.pack("!H", len(frame) - 1) + frame[2:]) is None
    assert detect(frame[:2] + b"\x00\x03" + frame[4:]) is None


def test_framer_cuts_classic_stun_and_rtp_and_resyncs_on_them() -> None:
    rtp = struct.pack("!BBHII", 0x80, 0, 7, 160, 0x1234) + bytes(160)
    stream = framed(classic_check()) + framed(rtp) + framed(classic_check(bytes(16)))
    framer = TcpMediaFramer(RFC4571)
    framer.receive_data(stream, 1, 0.0)
    units = [framer.next_frame() for _ in range(3)]
    assert [u.payload for u in units if u] == [classic_check(), rtp, classic_check(bytes(16))]
    # After lost bytes, the next classic STUN frame or a run of RTP frames is found again.
    framer.receive_gap(10, 2, 0.0)
    framer.receive_data(b"\x12\x34\x00" + framed(classic_check()), 3, 0.0)
    unit = framer.next_frame()
    assert unit is not None and unit.payload == classic_check()
    # A stray byte that makes the start look like a 39 kB RTP frame: waited for up to the
    # resync window, then the run of real frames behind it is found.
    framer.receive_gap(10, 4, 0.0)
    framer.receive_data(b"\x99" + framed(rtp) * 10, 5, 0.0)
    assert framer.next_frame() is None
    framer.receive_data(framed(rtp) * 20, 6, 0.0)
    assert [framer.next_frame().payload for _ in range(30)] == [rtp] * 30  # type: ignore[union-attr]
    assert framer.next_frame() is None
    assert [d[2] for d in framer.defects][-1] == "1 bytes skipped to resync framing"


@settings(max_examples=200, deadline=None, derandomize=True)
@given(st.binary(max_size=200))
def test_detect_never_raises(data: bytes) -> None:
    detect(data)
    detect(framed(classic_check()) + data)


# -- usernames and integrity ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "username, draft6",
    [
        (b"Lc1x:Pe7r", False),  # RFC 5245 ufrag pair
        (b"abc+/9:XYZ", False),
        (bytes(range(100, 132)) + b":1:" + bytes(range(140, 172)) + b":1\x00\x00\x00", True),
        (bytes(64) + b"\x01:1:" + bytes(32) + b":1\x00\x00\x00", False),  # 4+ NULs of padding
        (b"x" * 33 + b":2:" + b"y" * 33 + b":2\x00", True),
        (b"x" * 32 + b":1:" + b"y" * 32 + b":2\x00\x00\x00", False),  # components differ
        (b"\xff" * 8, False),
    ],
)
def test_draft6_usernames(username: bytes, draft6: bool) -> None:
    assert s.is_draft6_username(username) is draft6


def test_rfc3489_integrity_covers_the_text_padded_to_64_bytes() -> None:
    import hashlib
    import hmac

    key = b"0123456789abcdef"
    head = classic_check()[: 20 + 4 + 36]  # up to MESSAGE-INTEGRITY: 60 bytes
    mac = hmac.new(key, head + bytes(4), hashlib.sha1).digest()
    msg = s.parse(head + struct.pack("!HH", 8, 20) + mac)
    assert msg.flavor == s.RFC3489
    assert s.check_integrity(msg, [key]) == "valid"
    assert s.check_integrity(msg, [b"wrong"]) == "invalid"
    # The password as SDP and libnice write it, base64, is decoded for classic STUN.
    assert s.check_integrity(msg, s.integrity_keys(msg, [base64.b64encode(key)])) == "valid"


# -- the recorded capture ----------------------------------------------------------------------


def test_every_check_is_decoded_and_matched_with_libnice_s_integrity() -> None:
    cap = lyncdump.analyze(FULL, stun_passwords=candidate_passwords())
    messages = cap.stun_messages()
    assert [(m.name, m.flavor, m.transport) for m in messages] == [
        ("Binding request", "rfc3489", "TCP"),
        ("Binding request", "rfc3489", "TCP"),
        ("Binding success response", "rfc3489", "TCP"),
        ("Binding success response", "rfc3489", "TCP"),
        ("Binding request", "rfc3489", "TCP"),
        ("Binding request", "rfc3489", "TCP"),
        ("Binding success response", "rfc3489", "TCP"),
        ("Binding success response", "rfc3489", "TCP"),
    ]
    assert {m.integrity for m in messages} == {"valid"}
    assert all(m.transaction[:4] != s.MAGIC_COOKIE_BYTES for m in messages)
    assert all(s.is_draft6_username(m.get(s.A_USERNAME) or b"") for m in messages)
    responses = [m for m in messages if m.is_response]
    assert all(m.rtt is not None and m.rtt >= 0 for m in responses)
    # Without the passwords the checks are there, their integrity unchecked.
    assert {m.integrity for m in lyncdump.analyze(FULL).stun_messages()} == {"unchecked"}
    assert not cap.defects.items


def test_one_ice_session_with_its_tcp_pairs_all_answered() -> None:
    cap = lyncdump.analyze(FULL)
    (session,) = cap.ice_sessions()
    assert session.ufrags == ()  # MS-ICE draft 6 names candidates, not agents
    assert len(session.pairs) == 4
    assert {p.transport for p in session.pairs} == {"TCP"}
    assert all(p.checks == 1 and p.succeeded == 1 for p in session.pairs)


def test_connections_are_labelled_by_what_they_carried() -> None:
    full = lyncdump.analyze(FULL)
    assert [c.protocol for c in full.connections] == ["ice-tcp", "ice-tcp"]
    late = lyncdump.analyze(LATE)
    assert late.connections[0].protocol == "rtp-rfc4571"
    assert late.stun_messages() == []
    # The connection with nothing after the checks carried nothing to name.
    assert late.connections[1].protocol == "unknown"
    for cap in (full, late):
        streams = cap.streams()
        assert sorted(st.ssrc for st in streams) == [0x0C2007A1, 0x0C2007B2]
        assert [st.packets for st in streams] == [25, 25]
        assert all(st.lost == 0 for st in streams)


@pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark not installed")
@pytest.mark.parametrize("path", [FULL, LATE], ids=lambda p: p.name)
def test_rtp_frames_match_tshark_decode_as(path: object) -> None:
    cap = lyncdump.analyze(path)
    conn = next(c for c in cap.connections if c.protocol in ("ice-tcp", "rtp-rfc4571"))
    port = conn.server.port
    out = subprocess.run(
        ["tshark", "-r", str(path), "-d", f"tcp.port=={port},rtp", "-Y", "rtp",
         "-T", "fields", "-e", "rtp.ssrc", "-e", "rtp.seq"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    theirs: dict[int, list[int]] = {}
    for line in out.splitlines():
        ssrc, seq = line.split("\t")
        if not ssrc:
            continue  # a segment tshark shows as RTP without a whole packet in it
        theirs.setdefault(int(ssrc, 16), []).append(int(seq))
    ours = {st.ssrc: st.packets for st in cap.streams()}
    assert ours == {ssrc: len(seqs) for ssrc, seqs in theirs.items()}
    assert all(seqs == list(range(1000, 1025)) for seqs in theirs.values())
