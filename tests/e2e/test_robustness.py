"""Hostile captures through the whole pipeline: defects and clear errors, never a traceback."""

from __future__ import annotations

import io
import struct

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import lyncdump
from lyncdump.errors import LyncdumpError

from ..conftest import CAPTURES


def pcap(frames: list[bytes], linktype: int = 1) -> bytes:
    out = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, linktype)]
    for i, frame in enumerate(frames):
        out.append(struct.pack("<IIII", 1_700_000_000 + i, 0, len(frame), len(frame)) + frame)
    return b"".join(out)


ETH_IP_UDP = bytes.fromhex("00155d0a0b0c00155d0102030800")


def udp_frame(payload: bytes, sport: int = 5060, dport: int = 5060) -> bytes:
    ip = struct.pack(
        "!BBHHHBBH4s4s",
        0x45,
        0,
        28 + len(payload),
        1,
        0,
        64,
        17,
        0,
        bytes([10, 0, 0, 1]),
        bytes([10, 0, 0, 2]),
    )
    return ETH_IP_UDP + ip + struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload


def tcp_frame(payload: bytes, seq: int, flags: int = 0x18) -> bytes:
    ip = struct.pack(
        "!BBHHHBBH4s4s",
        0x45,
        0,
        40 + len(payload),
        1,
        0,
        64,
        6,
        0,
        bytes([10, 0, 0, 1]),
        bytes([10, 0, 0, 2]),
    )
    tcp = struct.pack("!HHIIBBHHH", 50000, 5061, seq, 0, 0x50, flags, 65535, 0, 0)
    return ETH_IP_UDP + ip + tcp + payload


def run(data: bytes) -> lyncdump.Capture:
    try:
        cap = lyncdump.open(io.BytesIO(data))
    except LyncdumpError:
        raise
    cap.sessions()
    return cap


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.binary(max_size=300), max_size=20))
def test_random_frames_never_raise(frames: list[bytes]) -> None:
    cap = run(pcap(frames))
    assert cap.stats.frames == len(frames)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.binary(max_size=400), max_size=12), st.booleans())
def test_random_payloads_on_sip_ports_never_raise(payloads: list[bytes], tcp: bool) -> None:
    frames = []
    seq = 1000
    for p in payloads:
        if tcp:
            frames.append(tcp_frame(p, seq))
            seq += len(p)
        else:
            frames.append(udp_frame(p))
    cap = run(pcap(frames))
    assert cap.stats.frames == len(frames)


@settings(max_examples=100, deadline=None)
@given(st.data())
def test_mangled_sample_stream_never_raises(data: st.DataObject) -> None:
    """Real SIP, then compressed SIP, with bytes flipped inside the TCP payloads."""
    raw = bytearray((CAPTURES / "lync-compressed-tcp.pcap").read_bytes())
    for _ in range(data.draw(st.integers(1, 20))):
        pos = data.draw(st.integers(24 + 16 + 54, len(raw) - 1))
        raw[pos] = data.draw(st.integers(0, 255))
    try:
        cap = run(bytes(raw))
    except LyncdumpError:
        return  # a flipped record length may make the file itself unreadable: a clear error
    assert cap.stats.frames > 0


def test_sip_flood_on_one_connection_stays_bounded() -> None:
    """A header block that never ends is dropped at the message bound, with one defect."""
    frames = [tcp_frame(b"INVITE sip:x SIP/2.0\r\n", 1)]
    seq = 1 + 22
    chunk = b"X-Junk: " + b"a" * 1400 + b"\r\n"
    for _ in range(900):  # ~1.2 MB of headers, over the 1 MiB message bound
        frames.append(tcp_frame(chunk, seq))
        seq += len(chunk)
    cap = run(pcap(frames))
    assert cap.stats.sip_messages == 0
    reasons = [d.reason for d in cap.defects]
    assert reasons == [
        "no end of headers within 1048576 bytes",
        "1269022 bytes that are not SIP skipped",
    ]


def test_progress_callback_is_called() -> None:
    calls: list[int] = []
    cap = lyncdump.open(
        CAPTURES / "sip-udp-call.pcap", progress=lambda n, ts: calls.append(n), progress_every=32
    )
    cap.run()
    assert calls == [32, 64, 96]
