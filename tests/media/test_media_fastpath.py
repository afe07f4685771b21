"""The compiled fast path gives exactly what the pure-Python path gives.

lyncdump._fastpath consumes routine RTP packets itself (docs/performance.md). Every test here
decodes the same input twice, once with the fast path and once with it switched off, and
compares everything a user can see: totals, every stream's numbers, defects, errors. The
inputs are chosen to sit on the borders of what the fast path takes: link types, IP and UDP
header oddities, payload type and SSRC changes, events, re-announcements, chunk boundaries,
and random damage.
"""

from __future__ import annotations

import io
import os
import random
import socket
import struct
import subprocess
import sys
from pathlib import Path

import dpkt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pcapgen import sip

import lyncdump.pipeline.core as api  # where a run attaches the fast path
from lyncdump import fastpath
from lyncdump.api import Capture, Options
from lyncdump.media.stats import StreamStats, rtp_header_length

from ..conftest import CAPTURES, corpus_dir

needs_compiled = pytest.mark.skipif(
    not fastpath.AVAILABLE, reason="compiled fast path not in use (" + fastpath.describe() + ")"
)

T0 = 1_767_225_600


# -- building captures ------------------------------------------------------------------------


def rtp(seq: int, rts: int, ssrc: int, pt: int = 0, marker: bool = False, size: int = 160) -> bytes:
    return (
        struct.pack(
            "!BBHII", 0x80, (0x80 if marker else 0) | pt, seq & 0xFFFF, rts & 0xFFFFFFFF, ssrc
        )
        + bytes([0xD5]) * size
    )


def ipv4(src: str, dst: str, sport: int, dport: int, payload: bytes, **kw: int) -> bytes:
    u = dpkt.udp.UDP(sport=sport, dport=dport, data=payload)
    u.ulen = kw.pop("ulen", 8 + len(payload))
    ip = dpkt.ip.IP(
        src=bytes(map(int, src.split("."))), dst=bytes(map(int, dst.split("."))), p=17, data=u
    )
    raw = bytearray(bytes(ip))
    if "total" in kw:
        raw[2:4] = kw.pop("total").to_bytes(2, "big")
    if "frag" in kw:
        raw[6:8] = kw.pop("frag").to_bytes(2, "big")
    if "options" in kw:
        opts = bytes(kw.pop("options"))
        raw = bytearray([0x40 | (5 + len(opts) // 4)]) + raw[1:20] + opts + raw[20:]
        raw[2:4] = (len(raw)).to_bytes(2, "big")
    assert not kw, kw
    return bytes(raw)


ETH = b"\x00\x15\x5d\x0a\x0b\x0c\x00\x15\x5d\x01\x02\x03"


def ipv6(src: str, dst: str, sport: int, dport: int, payload: bytes, **kw: int) -> bytes:
    """An IPv6 packet around UDP; ``plen`` overrides the payload length, ``hop_by_hop`` puts an
    (empty) extension header first, ``fragment`` an atomic fragment header."""
    udp = struct.pack("!HHHH", sport, dport, kw.pop("ulen", 8 + len(payload)), 0) + payload
    nh, ext = 17, b""
    if kw.pop("hop_by_hop", 0):
        nh, ext = 0, bytes([17, 0, 1, 4, 0, 0, 0, 0])
    if kw.pop("fragment", 0):
        nh, ext = 44, bytes([17, 0, 0, 0, 0, 0, 0, 1])
    plen = kw.pop("plen", len(ext) + len(udp))
    assert not kw, kw
    header = struct.pack("!IHBB", 0x60000000, plen, nh, 64)
    header += socket.inet_pton(socket.AF_INET6, src) + socket.inet_pton(socket.AF_INET6, dst)
    return header + ext + udp


def link(linktype: int, ip: bytes, vlans: int = 0) -> bytes:
    etype = b"\x86\xdd" if ip[0] >> 4 == 6 else b"\x08\x00"
    if linktype == 1:
        tags = b"".join(b"\x81\x00" + (100 + i).to_bytes(2, "big") for i in range(vlans))
        return ETH + tags + etype + ip
    if linktype == 113:
        return b"\x00\x00\x00\x01\x00\x06" + b"\x00\x15\x5d\x01\x02\x03\x00\x00" + etype + ip
    if linktype == 276:
        return etype + b"\x00\x00" + b"\x00\x00\x00\x02\x00\x01\x00\x06" + bytes(8) + ip
    return ip  # 101, 228, 229


def pcap(frames: list[tuple[float, bytes]], linktype: int = 1, *, big: bool = False,
         nano: bool = False) -> bytes:  # fmt: skip
    e = ">" if big else "<"
    out = [struct.pack(e + "IHHiIII", 0xA1B23C4D if nano else 0xA1B2C3D4, 2, 4, 0, 0, 65535,
                       linktype)]  # fmt: skip
    scale = 10**9 if nano else 10**6
    for t, data in frames:
        units = round(t * scale)
        out.append(struct.pack(e + "IIII", units // scale, units % scale, len(data), len(data)))
        out.append(data)
    return b"".join(out)


def pcapng(frames: list[tuple[float, int, bytes]], interfaces: list[tuple[int, int]]) -> bytes:
    """Frames as (time, interface, data); interfaces as (linktype, tsresol exponent)."""

    def block(btype: int, body: bytes) -> bytes:
        body += b"\x00" * (-len(body) % 4)
        n = len(body) + 12
        return struct.pack("<II", btype, n) + body + struct.pack("<I", n)

    out = [block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1))]
    for linktype, res in interfaces:
        opt = struct.pack("<HHB3x", 9, 1, res) + struct.pack("<HH", 0, 0)
        out.append(block(1, struct.pack("<HHI", linktype, 0, 65535) + opt))
    for t, iface, data in frames:
        units = round(t * 10 ** interfaces[iface][1])
        out.append(block(6, struct.pack("<IIIII", iface, units >> 32, units & 0xFFFFFFFF,
                                        len(data), len(data)) + data))  # fmt: skip
    return b"".join(out)


def sdp_message(
    method: str, call: str, ip: str, port: int, rtpmap: str, cseq: int = 1, proto: str = "RTP/AVP"
) -> bytes:
    return sip(
        f"""{method} sip:b@example.com SIP/2.0
Via: SIP/2.0/UDP {ip}:5060;branch=z9hG4bK{call}{cseq}
From: <sip:a@example.com>;tag=1
To: <sip:b@example.com>
Call-ID: {call}
CSeq: {cseq} {method}
Content-Type: application/sdp
Content-Length: auto

v=0
o=- 1 {cseq} IN {"IP6" if ":" in ip else "IP4"} {ip}
s=-
c=IN {"IP6" if ":" in ip else "IP4"} {ip}
t=0 0
m=audio {port} {proto} {rtpmap}
"""
    )


def torture(linktype: int = 1, v6: bool = False, **ipkw: object) -> list[tuple[float, bytes]]:
    """Signalled and unsignalled RTP with every change that must go back to Python."""
    rng = random.Random(5)
    frames: list[tuple[float, bytes]] = []
    a, b = ("2001:db8::1", "2001:db8::2") if v6 else ("10.0.0.1", "10.0.0.2")
    c, d = ("2001:db8::3", "2001:db8::4") if v6 else ("10.0.0.3", "10.0.0.4")
    ip = ipv6 if v6 else ipv4

    def add(t: float, src: str, sport: int, dst: str, dport: int, payload: bytes, **kw: int):
        frames.append((T0 + t, link(linktype, ip(src, dst, sport, dport, payload, **kw))))

    sdp = "0 8 13 101\r\na=rtpmap:101 telephone-event/8000"
    add(0.0, a, 5060, b, 5060, sdp_message("INVITE", "torture", a, 4000, sdp))
    add(0.01, b, 5060, a, 5060, sdp_message("INVITE", "torture-b", b, 6000, sdp))
    seq, rts = 65500, 4_294_960_000  # both wrap during the call
    t = 0.1
    for i in range(400):
        t += 0.02 + rng.uniform(-0.003, 0.004)
        pt, marker = 0, i % 97 == 0
        if 150 <= i < 160:
            pt = 13  # comfort noise
        if 200 <= i < 205:
            pt = 101  # telephone event
        if i == 250:
            pt = 8  # codec change
        step = 1
        if i % 53 == 0:
            step = 0  # duplicate
        elif i % 71 == 0:
            step = 3  # loss
        elif i % 89 == 0:
            step = -2  # reordered
        seq += step
        rts += 160 if i % 61 else -320  # now and then a timestamp going back
        payload = rtp(seq, rts, 0x1111, pt, marker)
        if pt == 101:
            duration = (160 * (i - 199)).to_bytes(2, "big")
            payload = payload[:12] + bytes([5, 0x80 if i == 204 else 0]) + duration
        add(t, a, 4000, b, 6000, payload)
        add(t + 0.001, b, 6000, a, 4000, rtp(i, 160 * i, 0x2222, 0))
        if i % 3 == 0:  # a second SSRC interleaved on the same flow
            add(t + 0.002, b, 6000, a, 4000, rtp(1000 + i, 7 * i, 0x3333, 8))
        if i % 50 == 0:  # RTCP receiver report on the RTP port
            rr = struct.pack("!BBHI", 0x81, 201, 7, 0x2222) + struct.pack(
                "!IIIIII", 0x1111, 0x01000002, 0x10000 + seq, 12, 0, 0
            )
            add(t + 0.003, b, 6000, a, 4000, rr)
        if i % 40 == 0:  # STUN on the media port
            add(t + 0.004, a, 4000, b, 6000, struct.pack("!HHI", 1, 0, 0x2112A442) + bytes(12))
        if i % 30 == 0:  # unsignalled RTP, found by the heuristic, and random UDP
            for k in range(6):
                add(t + 0.005, c, 7000, d, 7002, rtp(i + k, 160 * (i + k), 0x4444, 0))
            add(t + 0.006, c, 9000, d, 9000, bytes(rng.randrange(256) for _ in range(40)))
        if i == 300:  # re-INVITE: new payload map for the same addresses
            add(t + 0.007, a, 5060, b, 5060, sdp_message("INVITE", "torture", a, 4000,
                                                         "0 8 96\r\na=rtpmap:96 PCMU/16000",
                                                         cseq=2))  # fmt: skip
        if i == 320:  # header oddities on a routine packet (Python takes them)
            seq += 1
            rts += 160
            add(t + 0.008, a, 4000, b, 6000, rtp(seq, rts, 0x1111, 0), **ipkw)  # type: ignore[arg-type]
    return frames


# -- running both paths --------------------------------------------------------------------


def snapshot(capture: Capture) -> dict[str, object]:
    """Everything a user can see of a run, as plain values."""
    capture.run()
    fields = fastpath.CORE_FIELDS + StreamStats.__slots__
    streams = [
        {f: getattr(s, f) for f in fields if f not in ("_rtpmap", "_pt_cache")}
        for s in capture.streams()
    ]
    s = capture.stats
    relayed = [
        (
            a.id,
            str(ep),
            t.packets_to_peer,
            t.bytes_to_peer,
            t.packets_from_peer,
            t.bytes_from_peer,
            sorted(t.kinds.items()),
        )  # fmt: skip
        for a in capture.allocations()
        for ep, t in a.peers.items()
    ]
    return {
        "relayed": relayed,
        "stats": (
            s.frames,
            s.udp_datagrams,
            s.tcp_segments,
            s.rtp_like,
            s.sip_messages,
            s.bytes,
            s.first_time,
            s.last_time,
        ),  # fmt: skip
        "streams": streams,
        "defects": [(d.frame, d.layer, d.offset, d.reason) for d in capture.defects],
        "stun": len(capture.stun_messages()),
        "messages": [(m.frame, m.method, m.status) for m in capture.messages()],
        "error": str(capture.error),
        "rtcp": capture.media.rtp.rtcp_packets if capture.media else None,
    }


def both(source: bytes | Path, monkeypatch: pytest.MonkeyPatch, **options: object):
    """(fast snapshot, pure snapshot, frames the fast path consumed)."""
    taken: list[object] = []
    per_frame_taken = [0]
    real = api.attach_fast_path

    def spy(reader: object, every: int, advance: int = 0) -> tuple[object, object]:
        fast, per_frame = real(reader, every, advance)
        taken.append(fast)
        if per_frame is not None:  # count what the per-frame call takes, as scans count

            def counted(frame: int, ts: float, linktype: int, data: bytes) -> bool:
                took = bool(per_frame(frame, ts, linktype, data))
                per_frame_taken[0] += took
                return took

            return fast, counted
        return fast, per_frame

    def open_(src: bytes | Path) -> Capture:
        stream = io.BytesIO(src) if isinstance(src, bytes) else src
        return Capture(stream, Options(**options))  # type: ignore[arg-type]

    monkeypatch.setattr(api, "attach_fast_path", spy)
    fast = snapshot(open_(source))
    monkeypatch.setattr(api, "attach_fast_path", lambda reader, every, advance=0: (None, None))
    pure = snapshot(open_(source))
    monkeypatch.setattr(api, "attach_fast_path", real)
    consumed = taken[0].frames if taken and taken[0] is not None else 0  # type: ignore[attr-defined]
    return fast, pure, consumed + per_frame_taken[0]


def check(source: bytes | Path, monkeypatch: pytest.MonkeyPatch, **options: object) -> int:
    fast, pure, consumed = both(source, monkeypatch, **options)
    assert fast == pure
    return consumed


# -- the module ---------------------------------------------------------------------------


def test_compiled_fast_path_is_built() -> None:
    """An install with a C compiler must build it: a silent fallback would lose the speed."""
    if os.environ.get("LYNCDUMP_PURE_PYTHON", "") not in ("", "0"):
        pytest.skip("LYNCDUMP_PURE_PYTHON is set")
    assert fastpath.AVAILABLE, (
        "lyncdump._fastpath was not built (no C compiler at install time?); "
        "set LYNCDUMP_PURE_PYTHON=1 to test the pure-Python path alone"
    )
    assert "compiled" in fastpath.describe()


def test_pure_python_switch_is_honoured() -> None:
    code = (
        "from lyncdump import fastpath; from lyncdump.media.stats import StreamStats;"
        "print(fastpath.AVAILABLE, StreamStats.__mro__[1].__module__, fastpath.describe())"
    )
    env = dict(os.environ, LYNCDUMP_PURE_PYTHON="1")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True).stdout.split(" ", 2)  # fmt: skip
    assert out[0] == "False"
    assert out[1] == "lyncdump.fastpath"
    assert "LYNCDUMP_PURE_PYTHON" in out[2]
    version = subprocess.run([sys.executable, "-m", "lyncdump.cli", "--version"], env=env,
                             capture_output=True, text=True, check=True).stdout  # fmt: skip
    assert version.startswith("lyncdump ")
    assert "pure Python (LYNCDUMP_PURE_PYTHON is set)" in version


@needs_compiled
def test_api_errors_are_clear() -> None:
    fast = fastpath._compiled.FastPath(0)
    with pytest.raises(TypeError, match="needs an RtpCore"):
        fast.register(b"\x01\x02\x03\x04", 1, b"\x01\x02\x03\x05", 2, object())
    stream = StreamStats(1, bytes(16), 1, bytes(16), 2)
    assert fast.register(bytes(16), 1, bytes(16), 2, stream) is True  # IPv6
    assert fast.register(bytes(16), 1, bytes(4), 2, stream) is False  # mixed sizes: no key
    assert fast.register(b"\x01\x02\x03\x04", 70000, b"\x01\x02\x03\x05", 2, stream) is False
    fast.forget(b"\x01\x02\x03\x04", 1, b"\x01\x02\x03\x05", 2)  # unknown flow: nothing
    with pytest.raises(ValueError, match="outside the buffer"):
        fast.scan_pcap(False, False, 1, b"abc", 0, 10, 0)
    with pytest.raises(ValueError, match="progress_every"):
        fastpath._compiled.FastPath(-1)


@needs_compiled
def test_tables_grow_and_keep_every_stream() -> None:
    fast = fastpath._compiled.FastPath(0)
    streams = []
    for i in range(5000):
        s = StreamStats(i, bytes([10, 0, i >> 8, i & 255]), 1000 + i % 7, b"\x0a\x00\x00\x01", 2)
        streams.append(s)
        assert fast.register(s.src, s.sport, s.dst, s.dport, s) is True
    for s in streams[:10]:
        fast.forget(s.src, s.sport, s.dst, s.dport)
    del streams  # the table holds its own references
    import gc

    gc.collect()


# -- the per-packet update ------------------------------------------------------------------

packet_steps = st.lists(
    st.tuples(
        st.floats(min_value=-0.01, max_value=0.2),  # arrival step, seconds
        st.sampled_from([1, 1, 1, 1, 0, 2, 5, -1, -3, 300, -300, 40000]),  # sequence step
        st.sampled_from([160, 160, 160, 0, -160, 320, 1 << 31, 12345]),  # timestamp step
        st.sampled_from([0, 0, 0, 8, 13, 19, 96, 101, 127]),  # payload type
        st.booleans(),  # marker
        st.integers(min_value=12, max_value=1500),  # size
    ),
    min_size=1,
    max_size=300,
)


@needs_compiled
@settings(max_examples=300, deadline=None)
@given(steps=packet_steps, start_seq=st.integers(0, 65535), start_ts=st.integers(0, 2**32 - 1))
def test_compiled_update_equals_python(steps, start_seq: int, start_ts: int) -> None:
    """StreamStats._packet() (Python) and its compiled twin agree on every field, whether the
    twin is called directly or through the compiled packet() that falls back to Python."""
    rtpmap = {101: ("telephone-event", 8000), 96: ("SILK", 16000), 127: ("x-data", 0)}
    key = (b"\x01\x02\x03\x04", 1, b"\x01\x02\x03\x05", 2)
    ours, theirs, dispatched = (StreamStats(7, *key, rtpmap) for _ in range(3))
    t, seq, rts = 1_767_225_600.5, start_seq, start_ts
    taken = 0
    for frame, (dt, dseq, dts, pt, marker, size) in enumerate(steps, 1):
        t += dt
        seq = (seq + dseq) & 0xFFFF
        rts = (rts + dts) & 0xFFFFFFFF
        theirs._packet(frame, t, seq, rts, pt, marker, size)
        dispatched.packet(frame, t, seq, rts, pt, marker, size)
        if ours._fast_packet(frame, t, seq, rts, pt, marker, size):
            taken += 1
        else:
            ours._packet(frame, t, seq, rts, pt, marker, size)
        for f in fastpath.CORE_FIELDS + ("payload_types", "clock_rate", "series"):
            assert getattr(ours, f) == getattr(theirs, f) == getattr(dispatched, f), (frame, f)
    assert ours.time_series() == theirs.time_series() == dispatched.time_series()
    if len(steps) > 1 and all(s[3] == steps[0][3] for s in steps) and steps[0][3] != 101:
        # One payload type, no events: all but the first, and but each packet that opens a
        # new time-series bucket (Python closes the previous one).
        assert taken == len(steps) - len(ours.series) - 1


@needs_compiled
def test_compiled_packet_falls_back_for_odd_arguments() -> None:
    """An int time, a bool marker, a payload: the right implementation takes each."""
    a = StreamStats(7, b"\x01\x02\x03\x04", 1, b"\x01\x02\x03\x05", 2)
    b = StreamStats(7, b"\x01\x02\x03\x04", 1, b"\x01\x02\x03\x05", 2)
    calls = [
        (1, 10.0, 5, 160, 0, 0, 172),
        (2, 10.02, 6, 320, 0, 0, 172, b"payload"),
        (3, 10, 7, 480, 0, 0, 172),  # an int time
        (4, 10.06, 8, 640, 0, False, 172),  # a bool marker
    ]
    for args in calls:
        a._packet(*args)
        b.packet(*args)
    a._packet(5, 10.08, 9, 800, 0, 0, 172, payload=None)
    b.packet(5, 10.08, 9, 800, 0, 0, 172, payload=None)  # keywords: Python's
    for f in fastpath.CORE_FIELDS:
        assert getattr(a, f) == getattr(b, f), f
    with pytest.raises(TypeError):
        b.packet(*range(9))
    with pytest.raises(TypeError):
        b.packet(*range(8), payload=None)


# -- whole captures ---------------------------------------------------------------------------


@needs_compiled
@pytest.mark.parametrize("linktype,vlans", [(1, 0), (1, 1), (1, 2), (113, 0), (276, 0), (101, 0),
                                            (228, 0)])  # fmt: skip
def test_link_types(linktype: int, vlans: int, monkeypatch: pytest.MonkeyPatch) -> None:
    frames = torture(linktype)
    if vlans:
        frames = [(t, ETH + b"".join(b"\x81\x00\x00\x01" for _ in range(vlans)) + d[12:])
                  for t, d in frames]  # fmt: skip
    consumed = check(pcap(frames, linktype), monkeypatch)
    assert consumed > 500


@needs_compiled
@pytest.mark.parametrize("linktype", [1, 113, 276, 101, 229])
def test_ipv6(linktype: int, monkeypatch: pytest.MonkeyPatch) -> None:
    assert check(pcap(torture(linktype, v6=True), linktype), monkeypatch) > 500


@needs_compiled
@pytest.mark.parametrize(
    "oddity",
    [
        {"plen": 0},
        {"plen": 9},
        {"plen": 3000},
        {"ulen": 0},
        {"ulen": 9000},
        {"hop_by_hop": 1},
        {"fragment": 1},
    ],  # fmt: skip
)
def test_ipv6_header_oddities(oddity: dict[str, int], monkeypatch: pytest.MonkeyPatch) -> None:
    check(pcap(torture(1, v6=True, **oddity)), monkeypatch)


@needs_compiled
@pytest.mark.parametrize(
    "oddity",
    [
        {"options": b"\x01\x01\x01\x00"},  # IPv4 options
        {"total": 0},  # segmentation offload: no total length
        {"ulen": 0},  # UDP length 0
        {"ulen": 7},  # bad UDP length: a defect
        {"ulen": 4000},  # UDP length past the packet: a defect
        {"total": 19},  # IP total below the header: a defect
        {"total": 3000},  # IP total past the capture: a defect
        {"frag": 0x2000},  # first fragment, never completed
        {"frag": 0x4000},  # don't-fragment bit: routine
    ],
)
def test_header_oddities(oddity: dict[str, int], monkeypatch: pytest.MonkeyPatch) -> None:
    check(pcap(torture(1, **oddity)), monkeypatch)


@needs_compiled
def test_ethernet_padding_and_snap_length(monkeypatch: pytest.MonkeyPatch) -> None:
    frames = torture()
    padded = [(t, d + b"\x00" * 6) if i % 5 == 0 else (t, d) for i, (t, d) in enumerate(frames)]
    check(pcap(padded), monkeypatch)
    cut = [(t, d[:60]) if i % 7 == 0 else (t, d) for i, (t, d) in enumerate(frames)]
    check(pcap(cut), monkeypatch)


@needs_compiled
@pytest.mark.parametrize("big,nano", [(True, False), (False, True), (True, True)])
def test_pcap_variants(big: bool, nano: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    assert check(pcap(torture(), big=big, nano=nano), monkeypatch) > 500


@needs_compiled
def test_pcapng_interfaces_and_resolutions(monkeypatch: pytest.MonkeyPatch) -> None:
    eth = torture(1)
    raw = torture(101)
    frames = [(t, 0, d) for t, d in eth] + [(t + 0.0005, 1, d) for t, d in raw]
    frames.sort(key=lambda f: f[0])
    data = pcapng(frames, [(1, 6), (101, 9)])
    assert check(data, monkeypatch) > 1000


@needs_compiled
def test_pcapng_simple_packet_block_after_fast_frames(monkeypatch: pytest.MonkeyPatch) -> None:
    """A Simple Packet Block has no time: it takes the previous packet's, even a fast one."""
    frames = torture(1)
    data = pcapng([(t, 0, d) for t, d in frames], [(1, 6)])
    spb_body = struct.pack("<I", len(frames[-1][1])) + frames[-1][1]
    spb_body += b"\x00" * (-len(spb_body) % 4)
    n = len(spb_body) + 12
    spb = struct.pack("<II", 3, n) + spb_body + struct.pack("<I", n)
    fast, pure, consumed = both(data + spb, monkeypatch)
    assert consumed > 500
    assert fast == pure


@needs_compiled
def test_small_reads_split_records_everywhere(monkeypatch: pytest.MonkeyPatch) -> None:
    """Records cut by the reader's buffer end go back to Python and resume correctly."""
    data = pcap(torture())

    class Trickle(io.RawIOBase):
        def __init__(self) -> None:
            self.buf = io.BytesIO(data)

        def readable(self) -> bool:
            return True

        def readinto(self, b: bytearray) -> int:  # type: ignore[override]
            chunk = self.buf.read(min(len(b), 997))
            b[: len(chunk)] = chunk
            return len(chunk)

    def open_trickle() -> Capture:
        return Capture(io.BufferedReader(Trickle(), 997))

    monkeypatch.setattr(api, "attach_fast_path", api.attach_fast_path)
    fast = snapshot(open_trickle())
    monkeypatch.setattr(api, "attach_fast_path", lambda reader, every, advance=0: (None, None))
    pure = snapshot(open_trickle())
    assert fast == pure


@needs_compiled
def test_progress_frames_are_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    data = pcap(torture())
    calls: dict[str, list[tuple[int, float]]] = {"fast": [], "pure": []}
    real = api.attach_fast_path
    for name, attach in (("fast", real), ("pure", lambda reader, every, advance=0: (None, None))):
        monkeypatch.setattr(api, "attach_fast_path", attach)
        Capture(
            io.BytesIO(data),
            Options(progress=lambda f, t, n=name: calls[n].append((f, t)), progress_every=100),
        ).run()
    assert calls["fast"] == calls["pure"]
    assert len(calls["fast"]) >= 10


@needs_compiled
def test_truncated_file_keeps_fast_frames(monkeypatch: pytest.MonkeyPatch) -> None:
    data = pcap(torture())
    fast, pure, consumed = both(data[: len(data) - 50], monkeypatch)
    assert fast == pure
    assert "truncated" in str(fast["error"])
    assert consumed > 500


@needs_compiled
@pytest.mark.parametrize("seed", range(40))
def test_random_damage(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Flipped bytes anywhere (record headers included): both paths agree, nothing breaks."""
    rng = random.Random(seed)
    data = bytearray(pcap(torture()[:900]))
    for _ in range(rng.randrange(1, 40)):
        at = rng.randrange(24, len(data))
        data[at] = rng.randrange(256)
    check(bytes(data), monkeypatch)


@needs_compiled
def test_random_datagrams_on_a_registered_flow(monkeypatch: pytest.MonkeyPatch) -> None:
    """Garbage on an RTP flow's 5-tuple: byte 0 in the RTP range, any length."""
    rng = random.Random(1)
    frames = torture()[:300]
    t = frames[-1][0]
    for i in range(500):
        size = rng.choice([0, 1, 2, 11, 12, 13, 40, 200])
        junk = bytes([rng.randrange(128, 192)]) + bytes(rng.randrange(256) for _ in range(size))
        frames.append((t + i * 0.01, link(1, ipv4("10.0.0.2", "10.0.0.1", 6000, 4000, junk))))
    check(pcap(frames), monkeypatch)


# -- the samples and the corpus --------------------------------------------------------------


def _captures() -> list[Path]:
    paths = sorted(p for p in CAPTURES.iterdir() if p.suffix in (".pcap", ".pcapng"))
    corpus = corpus_dir()
    if corpus is not None:
        paths += sorted(
            p for p in corpus.iterdir() if p.is_file() and p.suffix not in (".md", ".txt")
        )
    return paths


@needs_compiled
@pytest.mark.parametrize("path", _captures(), ids=lambda p: p.name)
def test_samples_and_corpus(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    check(path.read_bytes(), monkeypatch)


def edge_relay() -> bytes:
    """An Edge's view: MS-TURN over UDP, Set Active Destination, raw RTP on the allocation,
    a new destination, then forwarding ended; a direct flow besides."""
    from scenario_turn import CLIENT, EDGE, PEER, _addr, _ms, _tid

    frames: list[tuple[float, bytes]] = []
    client, edge = (CLIENT, 50020), (EDGE, 3478)
    version = (0x8008, (3).to_bytes(4, "big"))
    key = b"edge-credential"

    def udp(t: float, a: tuple[str, int], b: tuple[str, int], data: bytes) -> None:
        frames.append((T0 + t, link(1, ipv4(a[0], b[0], a[1], b[1], data))))

    udp(0.0, client, edge, _ms(0x0003, _tid(1), [version], key))
    granted = [(0x000D, (480).to_bytes(4, "big")), (0x0001, _addr(EDGE, 56000, _tid(1), False)),
               version]  # fmt: skip
    udp(0.02, edge, client, _ms(0x0103, _tid(1), granted, key))
    t, seq = 0.1, 0
    for n, peer_port in enumerate((40002, 40004, 0)):
        tid = _tid(10 + n)
        dest_ip = PEER if peer_port else "0.0.0.0"
        udp(t, client, edge, _ms(0x0006, tid, [version, (0x0011, _addr(dest_ip, peer_port, tid,
                                                                        False))], key))  # fmt: skip
        udp(t + 0.01, edge, client, _ms(0x0106, tid, [version], key))
        t += 0.02
        for i in range(300):
            t += 0.02
            seq += 1
            pt = 8 if 100 <= i < 110 else 0
            udp(t, client, edge, rtp(seq, 160 * seq, 0xA1, pt, i == 0))
            udp(t + 0.001, edge, client, rtp(seq, 160 * seq, 0xB2, 0))
            udp(t + 0.002, ("10.9.9.9", 7000), ("10.9.9.8", 7002), rtp(seq, 160 * seq, 0xC3, 0))
            if i % 100 == 50:
                rr = struct.pack("!BBHI", 0x81, 201, 7, 0xA1) + struct.pack(
                    "!IIIIII", 0xB2, 0, seq, 12, 0, 0
                )
                udp(t + 0.003, client, edge, rr)
    return pcap(frames)


@needs_compiled
def test_relayed_media_edge(monkeypatch: pytest.MonkeyPatch) -> None:
    """MS-TURN relayed raw media: rewritten and counted per peer the same on both paths."""
    fast, pure, consumed = both(edge_relay(), monkeypatch)
    assert fast == pure
    assert consumed > 2000
    peers = {r[1]: r[2:6] for r in fast["relayed"]}  # type: ignore[union-attr]
    assert set(peers) == {"203.0.113.50:40002", "203.0.113.50:40004"}
    assert all(counts[0] > 290 and counts[2] > 290 for counts in peers.values())


@needs_compiled
@pytest.mark.parametrize("minor", [0, 3])
def test_netmon_frames_one_by_one(minor: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Readers without a scan (NetMon, live) offer each frame to FastPath.frame."""
    from ..capture._build import netmon

    frames = torture() + [(t + 0.0005, link(1, ipv4("10.0.0.9", "10.0.0.8", 1, 2, b"x")))
                          for t, _ in torture()[:5]]  # fmt: skip
    frames.sort(key=lambda f: f[0])
    records = [(round((t - T0) * 1e6), d, 1, 0) for t, d in frames]
    assert check(netmon(records, minor=minor), monkeypatch) > 500
    assert check(netmon(records[:700], minor=minor, table=False), monkeypatch) > 300


@needs_compiled
def test_frame_call_checks_its_arguments() -> None:
    fast = fastpath._compiled.FastPath(0)
    with pytest.raises(TypeError, match="int, float, int, bytes"):
        fast.frame(1, 2, 1, b"")
    assert fast.frame(1, 0.5, 1, b"") is False
    assert fast.frame(1, 0.5, 10**30, b"x" * 60) is False


@pytest.mark.parametrize(
    "sample", sorted(p.name for p in CAPTURES.iterdir() if p.suffix in (".pcap", ".pcapng"))
)
def test_pure_python_run_gives_the_expected_sample_output(sample: str) -> None:
    """The pure-Python path in a process of its own (no compiled base class at all) prints
    what the samples' expected outputs say: CI runs the compiled path, this keeps the other."""
    env = dict(os.environ, LYNCDUMP_PURE_PYTHON="1")
    out = subprocess.run(
        [sys.executable, "-m", "lyncdump.cli", "--json", sample],
        cwd=CAPTURES, env=env, capture_output=True, text=True, check=False,
    ).stdout  # fmt: skip
    assert out == (CAPTURES / f"{sample}.ndjson").read_text(encoding="utf-8")


# -- SRTP with known keys -----------------------------------------------------------------------


@needs_compiled
@settings(max_examples=200, deadline=None)
@given(key=st.binary(min_size=0, max_size=100), data=st.binary(min_size=0, max_size=300))
def test_hmac_sha1_equals_hashlib(key: bytes, data: bytes) -> None:
    import hashlib
    import hmac

    assert fastpath._compiled.hmac_sha1(key, data) == hmac.new(key, data, hashlib.sha1).digest()


def srtp_call(suite: str = "AES_CM_128_HMAC_SHA1_80", mki: int = 0) -> bytes:
    """A call with SDES keys: rollover, bad tags, events, CSRCs, an extension, short packets,
    SRTCP, and a flow whose packets were made with another key than the SDP's."""
    import base64

    from lyncdump.media.srtp import SrtpContext

    rng = random.Random(9)
    frames: list[tuple[float, bytes]] = []
    a, b = "10.1.0.1", "10.1.0.2"
    keys = [bytes(rng.randrange(256) for _ in range(30)) for _ in range(3)]

    def add(t: float, src: str, sport: int, dst: str, dport: int, payload: bytes) -> None:
        frames.append((T0 + t, link(1, ipv4(src, dst, sport, dport, payload))))

    def crypto(key: bytes) -> str:
        suffix = f"|2^31|{mki}:1" if mki else ""
        return f"a=crypto:1 {suite} inline:{base64.b64encode(key).decode()}{suffix}"

    rtpmap = "0 101\na=rtpmap:101 telephone-event/8000\n"
    offer = sdp_message("INVITE", "srtp", a, 4000, rtpmap + crypto(keys[0]), proto="RTP/SAVP")
    answer = sdp_message("INVITE", "srtp-b", b, 6000, rtpmap + crypto(keys[1]), proto="RTP/SAVP")
    add(0.0, a, 5060, b, 5060, offer)
    add(0.01, b, 5060, a, 5060, answer)
    tag = 10 if suite.endswith("80") else 4
    senders = [
        (a, 4000, b, 6000, 0x1111, SrtpContext(keys[0][:16], keys[0][16:], suite, 1 if mki else 0)),
        (b, 6000, a, 4000, 0x2222, SrtpContext(keys[1][:16], keys[1][16:], suite, 1 if mki else 0)),
        # the SDP of 10.1.0.3 is never seen: sent with keys[2], SDP of b's port says keys[1]
        ("10.1.0.3", 6000, a, 4000, 0x3333, SrtpContext(keys[2][:16], keys[2][16:], suite)),
    ]
    t = 0.1
    for i in range(400):
        t += 0.02
        for n, (src, sport, dst, dport, ssrc, ctx) in enumerate(senders):
            if n == 2 and i % 4:
                continue
            seq = (65400 + i) & 0xFFFF
            roc = (65400 + i) >> 16
            pt = 101 if 200 <= i < 204 else 0
            rts = 160 * (200 if pt == 101 else i)  # one event: one timestamp
            header = struct.pack("!BBHII", 0x80, pt, seq, rts, ssrc)
            if i == 50:
                header = struct.pack("!BBHII", 0x81, pt, seq, 160 * i, ssrc) + b"\x00\x00\x00\x09"
            if i == 60:
                header = (struct.pack("!BBHII", 0x90, pt, seq, 160 * i, ssrc)
                          + b"\xbe\xde\x00\x01" + b"\x10\xaa\x00\x00")  # fmt: skip
            body = bytes([5, 0x80 if i == 203 else 0, 0, 160]) if pt == 101 else bytes(160)
            packet = ctx.protect(header + body, len(header), roc=roc, mki=1 if mki else 0)
            if i % 37 == 5:
                packet = packet[:-1] + bytes([packet[-1] ^ 1])  # bad tag
            if i == 77:
                packet = packet[: 12 + tag - 1]  # too short for its tag
            add(t + 0.001 * n, src, sport, dst, dport, packet)
        if i % 100 == 99:
            rr = struct.pack("!BBHI", 0x81, 201, 7, 0x2222) + struct.pack(
                "!IIIIII", 0x1111, 0x01000002, 0x10000, 12, 0, 0
            )
            add(t + 0.005, b, 6000, a, 4000, senders[1][5].protect_rtcp(rr, i // 100 + 1))
    return pcap(frames)


@needs_compiled
@pytest.mark.parametrize(
    "suite,mki",
    [
        ("AES_CM_128_HMAC_SHA1_80", 0),
        ("AES_CM_128_HMAC_SHA1_32", 0),
        ("AES_CM_128_HMAC_SHA1_80", 1),
    ],  # fmt: skip
)
def test_srtp_with_known_keys(suite: str, mki: int, monkeypatch: pytest.MonkeyPatch) -> None:
    fast, pure, consumed = both(srtp_call(suite, mki), monkeypatch)
    assert fast == pure
    assert consumed > 600
    streams = {s["ssrc"]: s for s in fast["streams"]}  # type: ignore[index, union-attr]
    ok = streams[0x1111]
    assert ok["srtp_decrypted"] > 380 and 10 <= ok["srtp_auth_failures"] <= 13
    assert [e[0] for e in ok["dtmf_events"]] == [5]  # decrypted for the event alone
    assert streams[0x3333]["srtp_decrypted"] == 0


def test_srtp_authenticated_but_not_decrypted_for_statistics() -> None:
    """unprotect(decrypt=False) checks the tag and moves the rollover state, nothing more."""
    from lyncdump.media.srtp import SrtpContext

    ctx = SrtpContext(bytes(range(16)), bytes(range(14)))
    packet = ctx.protect(struct.pack("!BBHII", 0x80, 0, 7, 160, 5) + b"secret payload", 12)
    rx = SrtpContext(bytes(range(16)), bytes(range(14)))
    assert rx.unprotect(packet, 12, decrypt=False) is packet
    assert rx.roc(5) == 0 and rx._ssrcs[5].s_l == 7
    assert rx.unprotect(packet[:-1] + b"\x00", 12, decrypt=False) is None
    assert rx.unprotect(packet, 12).endswith(b"secret payload")  # type: ignore[union-attr]


srtp_steps = st.lists(
    st.tuples(
        st.sampled_from([1, 1, 1, 2, 0, -1, -5, 100, 20000, 33000, -33000, 40000]),  # seq step
        st.integers(0, 2),  # CSRC count
        st.booleans(),  # header extension
        st.sampled_from([160, 0, 3]),  # payload bytes
        st.sampled_from(["ok", "ok", "ok", "bad tag", "cut", "csrcs lie", "extension lies"]),
    ),
    min_size=1,
    max_size=120,
)


@needs_compiled
@settings(max_examples=300, deadline=None)
@given(steps=srtp_steps, start=st.integers(0, 65535), tag=st.sampled_from([4, 10]),
       mki=st.sampled_from([0, 1]))  # fmt: skip
def test_srtp_check_equals_python(steps, start: int, tag: int, mki: int) -> None:
    """Rollover estimation and state updates: the compiled check against unprotect()."""
    from lyncdump.media.srtp import SrtpContext

    suite = "AES_CM_128_HMAC_SHA1_80" if tag == 10 else "AES_CM_128_HMAC_SHA1_32"
    sender = SrtpContext(bytes(range(16)), bytes(range(14)), suite, mki)
    ours = SrtpContext(bytes(range(16)), bytes(range(14)), suite, mki)
    theirs = SrtpContext(bytes(range(16)), bytes(range(14)), suite, mki)
    index = start
    for dseq, csrcs, ext, size, damage in steps:
        index = max(0, index + dseq)
        seq, roc = index & 0xFFFF, index >> 16
        header = struct.pack("!BBHII", 0x80 | (0x10 if ext else 0) | csrcs, 0, seq, 0, 9)
        header += bytes(4 * csrcs) + (b"\xbe\xde\x00\x01\x10\xaa\x00\x00" if ext else b"")
        if damage == "csrcs lie":  # authentic, but the header says more than there is
            header = bytes([0x8F]) + header[1:12]
        elif damage == "extension lies":
            header = bytes([0x90]) + header[1:12] + b"\xbe\xde\x00\x40"
        packet = sender.protect(header + bytes(size), len(header), roc=roc, mki=mki)
        if damage == "bad tag":
            packet = packet[:-1] + bytes([packet[-1] ^ 0x40])
        elif damage == "cut":
            packet = packet[: 12 + tag + mki - 1]
        hlen = rtp_header_length(packet)
        expected = hlen >= 0 and theirs.unprotect(packet, hlen, decrypt=False) is not None
        state = ours._ssrcs.get(9)
        if state is None:  # as unprotect makes it on the sender's first packet
            from lyncdump.media.srtp import _SsrcState

            state = ours._ssrcs[9] = _SsrcState()
        got = fastpath._compiled.srtp_check(state, ours._rtp_auth, tag, mki, packet)
        assert got == expected
        a, b = ours._ssrcs[9], theirs._ssrcs.get(9)
        if b is not None:
            assert (a.roc, a.s_l, a.started) == (b.roc, b.s_l, b.started)


@needs_compiled
@settings(max_examples=2000, deadline=None)
@given(
    num=st.one_of(
        st.integers(-(2**63) + 1, 2**63 - 1),
        st.integers(1_700_000_000 * 10**9, 1_800_000_000 * 10**9),  # nanosecond times
    ),
    den=st.sampled_from([10**6, 10**9, 10**7, 1 << 20, 1 << 30, 3, 10**12]),
)
def test_packet_times_are_the_nearest_double(num: int, den: int) -> None:
    """The compiled num / den (packet times) is Python's correctly rounded int division."""
    got = fastpath._compiled.ratio(num, den)
    assert got is None or got == num / den


@needs_compiled
@settings(max_examples=500, deadline=None)
@given(m=st.integers(2**52, 2**53 - 1), shift=st.integers(1, 40), sign=st.sampled_from([1, -1]))
def test_packet_times_round_half_to_even(m: int, shift: int, sign: int) -> None:
    """Exactly halfway between two doubles: the even one, as Python rounds."""
    num, den = sign * (2 * m + 1), 1 << shift  # (m + 1/2) * 2^(1 - shift)
    got = fastpath._compiled.ratio(num, den)
    assert got is None or got == num / den


def test_objects_on_a_core_base_copy_and_pickle() -> None:
    """A C base type has no pickle support of its own: these go through their fields."""
    import copy
    import pickle

    from lyncdump.analysis.ice import PeerTraffic
    from lyncdump.media.srtp import SrtpContext

    s = StreamStats(1, b"\x01\x02\x03\x04", 1, b"\x01\x02\x03\x05", 2, {0: ("PCMU", 8000)})
    s.packet(1, 1.0, 5, 160, 0, 0, 172)
    s.packet(2, 1.02, 6, 320, 0, 128, 172)
    s.call_id = "abc"
    for twin in (pickle.loads(pickle.dumps(s)), copy.deepcopy(s), copy.copy(s)):
        for f in fastpath.CORE_FIELDS + StreamStats.__slots__:
            assert getattr(twin, f) == getattr(s, f), f
        twin.packet(3, 1.04, 7, 480, 0, 0, 172)  # and it goes on counting
        assert twin.packets == 3 and s.packets == 2
    p = PeerTraffic()
    p.packets_to_peer, p.bytes_to_peer = 3, 516
    p._kinds["rtp"] += 3
    assert pickle.loads(pickle.dumps(p)) == p == copy.copy(p)
    ctx = SrtpContext(bytes(16), bytes(14))
    ctx.unprotect(ctx.protect(struct.pack("!BBHII", 0x80, 0, 1, 0, 9) + bytes(10), 12), 12)
    state = pickle.loads(pickle.dumps(ctx._ssrcs[9]))
    assert (state.roc, state.s_l, state.started) == (0, 1, True)
