"""--verify-checksums: IPv4 header, UDP and TCP checksums verified, bad ones dropped with a
defect, offloaded ones (pseudo-header sum only, 0, merged segments, a sender that never got one
right) accepted; tshark (with its checksum preferences on) is the oracle for what is bad."""

from __future__ import annotations

import io
import shutil
import struct
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st
from scapy.all import IP, TCP, UDP, Ether, IPv6, Raw

import lyncdump
import lyncdump.pipeline.core as api  # where a run attaches the fast path
from lyncdump.cli import command
from lyncdump.model import DefectLog
from lyncdump.net.checksum import ChecksumVerifyingDecoder, ones_sum, pseudo_header_sum
from lyncdump.net.decode import PacketDecoder

from ..conftest import CAPTURES
from ..media.test_media_fastpath import pcap

SIP = b"OPTIONS sip:a@b SIP/2.0\r\nContent-Length: 0\r\n\r\n"
ETH = Ether(src="00:11:22:33:44:55", dst="66:77:88:99:aa:bb")


def frame(l4: object, *, v6: bool = False, **ip: object) -> bytes:
    if v6:
        return bytes(ETH / IPv6(src="2001:db8::1", dst="2001:db8::2") / l4)  # type: ignore[operator]
    return bytes(ETH / IP(src="10.0.0.1", dst="10.0.0.2", **ip) / l4)  # type: ignore[operator]


def udp(**kw: object) -> object:
    return UDP(sport=5060, dport=5060, **kw) / Raw(SIP)


def tcp(**kw: object) -> object:
    return TCP(sport=5061, dport=50000, seq=1, flags="PA", **kw) / Raw(SIP)


def with_bytes(data: bytes, at: int, value: int) -> bytes:
    return data[:at] + struct.pack("!H", value) + data[at + 2 :]


def run(*frames: bytes) -> tuple[list[object], ChecksumVerifyingDecoder, DefectLog]:
    defects = DefectLog()
    decoder = ChecksumVerifyingDecoder(defects)
    return [decoder.decode(i, 0.0, 1, f) for i, f in enumerate(frames, 1)], decoder, defects


UDP_CSUM = 14 + 20 + 6
TCP_CSUM = 14 + 20 + 16
IP_CSUM = 14 + 10


def test_one_s_complement_sum_and_pseudo_header() -> None:
    # RFC 1071's example: 0001 f203 f4f5 f6f7 sums to 0xddf2.
    assert ones_sum(bytes.fromhex("0001f203f4f5f6f7")) == 0xDDF2
    assert ones_sum(b"\x01") == 0x0100
    v4 = pseudo_header_sum(bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2]), 17, 8)
    assert v4 == ones_sum(bytes([10, 0, 0, 1, 10, 0, 0, 2, 0, 17, 0, 8]))


@pytest.mark.parametrize("v6", [False, True])
def test_correct_checksums_pass_and_are_counted(v6: bool) -> None:
    results, decoder, defects = run(frame(udp(), v6=v6), frame(tcp(), v6=v6))
    assert all(r is not None for r in results) and not list(defects)
    counts = decoder.checksums
    assert (counts.good["UDP"], counts.good["TCP"]) == (1, 1)
    assert counts.good["IPv4"] == (0 if v6 else 2)
    assert not counts.bad and not counts.offloaded


def test_a_bad_checksum_after_good_ones_is_dropped_with_a_defect() -> None:
    good = frame(udp())
    bad = with_bytes(good, UDP_CSUM, 0x1234)
    results, decoder, defects = run(good, bad, frame(tcp()), with_bytes(frame(tcp()), TCP_CSUM, 7))
    assert results[0] is not None and results[1] is None
    assert results[2] is not None and results[3] is None
    reasons = [(d.frame, d.layer, d.reason) for d in defects]
    want_udp = struct.unpack_from("!H", good, UDP_CSUM)[0]
    assert reasons[0] == (2, "udp", f"UDP checksum 0x1234 wrong (should be 0x{want_udp:04x}): "
                          "datagram dropped")  # fmt: skip
    assert reasons[1][:2] == (4, "tcp") and "segment dropped" in reasons[1][2]
    assert decoder.checksums.bad == {"UDP": 1, "TCP": 1}


def test_ipv4_header_checksum() -> None:
    good = frame(udp())
    results, decoder, defects = run(good, with_bytes(good, IP_CSUM, 0xBEEF))
    assert results[1] is None and decoder.checksums.bad["IPv4"] == 1
    assert "IPv4 checksum 0xbeef wrong" in list(defects)[0].reason


def test_offload_is_recognised_and_accepted() -> None:
    good_udp, good_tcp = frame(udp()), frame(tcp())
    partial = pseudo_header_sum(bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2]), 6, len(bytes(tcp())))
    frames = [
        good_udp,
        good_tcp,  # the sender has checksummed right: later bad ones would be corruption
        with_bytes(good_tcp, TCP_CSUM, partial),  # Linux CHECKSUM_PARTIAL
        with_bytes(good_tcp, TCP_CSUM, 0),  # left at 0
        with_bytes(good_tcp, IP_CSUM, 0),  # IPv4 header checksum offloaded too
        # A segment merged by GRO: bigger than an Ethernet MTU, checksummed as its first part.
        with_bytes(frame(TCP(sport=5061, dport=50000, flags="PA") / Raw(bytes(3000))), TCP_CSUM, 1),
        # Segmentation offload: IPv4 total length 0.
        with_bytes(with_bytes(good_tcp, 14 + 2, 0), TCP_CSUM, 99),
    ]
    results, decoder, defects = run(*frames)
    assert all(r is not None for r in results) and not list(defects)
    assert decoder.checksums.offloaded == {"TCP": 4, "IPv4": 1}
    # A sender that never got one right: the capturing host offloading what it sends.
    other = bytes(ETH / IP(src="10.0.0.9", dst="10.0.0.2") / udp())
    results, decoder, defects = run(with_bytes(other, UDP_CSUM, 0x4242))
    assert results[0] is not None and decoder.checksums.offloaded == {"UDP": 1}


def test_udp_without_a_checksum_is_not_verified() -> None:
    results, decoder, _ = run(with_bytes(frame(udp()), UDP_CSUM, 0))
    assert results[0] is not None and not decoder.checksums.good["UDP"]


def test_plain_decoder_never_looks() -> None:
    bad = with_bytes(frame(udp()), UDP_CSUM, 0x1234)
    assert PacketDecoder(DefectLog()).decode(1, 0.0, 1, bad) is not None


# -- through the pipeline and the command line ---------------------------------------------------


def _corrupted_capture() -> bytes:
    """SIP over UDP and over one TCP connection, every checksum right except those of frames
    4 (UDP) and 7 (TCP)."""
    frames = []
    seq = 1
    for i in range(8):
        payload = SIP.replace(b"a@b", f"a{i}@b".encode())
        if i % 2:
            pkt = frame(UDP(sport=5060, dport=5060) / Raw(payload))
        else:
            pkt = frame(TCP(sport=5061, dport=50000, seq=seq, flags="PA") / Raw(payload))
            seq += len(payload)
        if i == 3:
            pkt = with_bytes(pkt, UDP_CSUM, 0x0BAD)
        if i == 6:
            pkt = with_bytes(pkt, TCP_CSUM, 0x0BAD)
        frames.append((1_767_225_600 + i * 0.01, pkt))
    return pcap(frames)


def test_bad_packets_never_reach_sip(monkeypatch: pytest.MonkeyPatch) -> None:
    data = _corrupted_capture()
    plain = lyncdump.open(io.BytesIO(data)).run()
    checked = lyncdump.open(io.BytesIO(data), verify_checksums=True).run()
    assert len(plain.messages()) == 8
    # Frame 7's segment is dropped: a hole in the TCP stream, after which the SIP framer finds
    # the next message (frame 8) again.
    assert [m.frame for m in checked.messages()] == [1, 2, 3, 5, 6, 8]
    dropped = [(d.frame, d.layer) for d in checked.defects if d.layer in ("ipv4", "udp", "tcp")]
    assert dropped == [(4, "udp"), (7, "tcp")]
    assert checked.stats.checksums is not None
    assert checked.stats.checksums.bad == {"UDP": 1, "TCP": 1}
    assert plain.stats.checksums is None
    # The compiled fast path does not verify: it is not used when verifying.
    taken = []
    monkeypatch.setattr(api, "attach_fast_path", lambda *a: taken.append(a) or (None, None))
    lyncdump.open(io.BytesIO(data), verify_checksums=True).run()
    assert taken == []


@pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark not installed")
def test_the_frames_tshark_calls_bad_are_those_dropped(tmp_path: Path) -> None:
    path = tmp_path / "corrupted.pcap"
    path.write_bytes(_corrupted_capture())
    out = subprocess.run(
        ["tshark", "-r", str(path), "-o", "ip.check_checksum:TRUE", "-o", "udp.check_checksum:TRUE",
         "-o", "tcp.check_checksum:TRUE", "-Y", "udp.checksum.status == 0 || tcp.checksum.status"
         " == 0 || ip.checksum.status == 0", "-T", "fields", "-e", "frame.number"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    theirs = [int(n) for n in out.split()]
    checked = lyncdump.open(path, verify_checksums=True).run()
    assert [d.frame for d in checked.defects if d.layer in ("ipv4", "udp", "tcp")] == theirs


def test_cli_flag_summary_and_json() -> None:
    sample = str(CAPTURES / "sipp-calls.pcapng")
    result = CliRunner().invoke(command, ["--verify-checksums", "--summary", sample])
    assert result.exit_code == 0
    # SIPp on loopback: Linux leaves every UDP/TCP checksum to the (absent) card.
    assert (
        "  checksums IPv4 250 good, 0 bad, 0 offloaded; UDP 0 good, 0 bad, 60 offloaded; "
        "TCP 0 good, 0 bad, 190 offloaded"
    ) in result.output
    assert "SIP messages 180" in result.output
    result = CliRunner().invoke(command, ["--verify-checksums", "--json", "--summary", sample])
    record = __import__("json").loads(result.output.splitlines()[-1])
    assert record["checksums"] == {
        "good": {"IPv4": 250},
        "bad": {},
        "offloaded": {"TCP": 190, "UDP": 60},
    }
    plain = CliRunner().invoke(command, ["--summary", sample]).output
    assert "checksums" not in plain


@settings(max_examples=200, deadline=None, derandomize=True)
@given(st.binary(max_size=120), st.sampled_from([b"\x08\x00", b"\x86\xdd"]))
def test_random_packets_never_raise(data: bytes, etype: bytes) -> None:
    run(bytes(12) + etype + data)
    run(bytes(12) + b"\x08\x00\x45\x00\x00\x00" + bytes(3) + b"\x11" + data)
