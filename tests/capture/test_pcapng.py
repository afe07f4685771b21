"""pcapng: interfaces, time resolutions, packet block kinds, sections, secrets, corruption."""

from __future__ import annotations

import io
import struct

import dpkt
import pytest

from lyncdump.capture import open_capture
from lyncdump.capture.pcapng import MAX_BLOCK
from lyncdump.errors import CaptureError

from . import _build as b
from ._helpers import read_all

ETH = bytes.fromhex("00112233445566778899aabb86dd") + bytes(range(50))


def test_dpkt_written_file_reads_back() -> None:
    f = io.BytesIO()
    w = dpkt.pcapng.Writer(f)
    w.writepkt(ETH, ts=1700000000.5)
    w.writepkt(ETH[:7], ts=1700000000.000001)
    reader = open_capture(io.BytesIO(f.getvalue()))
    assert reader.format == "pcapng"
    assert list(reader.frames()) == [(1700000000.5, 1, ETH), (1700000000.000001, 1, ETH[:7])]
    assert reader.secrets == []


@pytest.mark.parametrize("e", ["<", ">"])
def test_interfaces_with_their_own_linktype_and_resolution(e: str) -> None:
    data = (
        b.shb(e)
        + b.idb(1, e)  # default: µs
        + b.idb(113, e, tsresol=9)  # ns
        + b.idb(101, e, tsresol=0x80 | 20, tsoffset=100)  # 2^-20 s, +100 s
        + b.idb(0, e, tsresol=3, tsoffset=-1000)  # ms, -1000 s
        + b.epb(0, 1700000000_123456, ETH, e)
        + b.epb(1, 1700000000_123456789, ETH[:30], e)
        + b.epb(2, 1700000000 * 2**20 + 2**19, ETH, e)
        + b.epb(3, 1700000000_250, b"\2\0\0\0", e)
    )
    frames, err = read_all(data)
    assert err is None
    assert frames == [
        (1700000000.123456, 1, ETH),
        (1700000000.123456789, 113, ETH[:30]),
        (1700000100.5, 101, ETH),
        (1699999000.25, 0, b"\2\0\0\0"),
    ]


def test_epb_options_and_padding_are_not_data() -> None:
    data = b.shb() + b.idb(1) + b.epb(0, 0, b"abcde", opts=[b.option(1, b"a comment")])
    assert read_all(data) == ([(0.0, 1, b"abcde")], None)


def test_simple_and_obsolete_packet_blocks() -> None:
    data = (
        b.shb()
        + b.idb(1, snaplen=10)
        + b.idb(113, tsresol=9)
        + b.epb(1, 1700000000_000000001, ETH)
        + b.spb(ETH[:8])  # no time stamp: keeps the previous frame's
        + b.spb(ETH, orig=1000)  # captured length = min(snaplen 10, original, block)
        + b.opb(1, 1700000001_000000001, ETH)
    )
    frames, err = read_all(data)
    assert err is None
    assert frames == [
        (1700000000.000000001, 113, ETH),
        (1700000000.000000001, 1, ETH[:8]),
        (1700000000.000000001, 1, ETH[:10]),
        (1700000001.000000001, 113, ETH),
    ]


def test_decryption_secrets_are_kept_and_other_blocks_skipped() -> None:
    keylog = b"CLIENT_RANDOM 00112233 44556677\n"
    data = (
        b.shb(opts=[b.option(4, b"lyncdump test")])
        + b.dsb(0x544C534B, keylog)
        + b.idb(1)
        + b.block(4, struct.pack("<HH4s", 1, 4, b"\n\0\0\1") + b"host\0" + b"\0" * 4)  # NRB
        + b.epb(0, 1, ETH)
        + b.block(5, struct.pack("<III", 0, 0, 0))  # ISB
        + b.block(0x00000BAD, b"\0\0\0\0custom")
        + b.block(0x80000001, b"local use")
        + b.dsb(0x5353484B, b"ssh")
        + b.epb(0, 2, ETH)
    )
    reader = open_capture(io.BytesIO(data))
    frames = list(reader.frames())
    assert [f[0] for f in frames] == [0.000001, 0.000002]
    assert reader.secrets == [(0x544C534B, keylog), (0x5353484B, b"ssh")]


def test_new_section_resets_interfaces_and_may_change_byte_order() -> None:
    data = (
        b.shb("<")
        + b.idb(1, "<")
        + b.epb(0, 1_000000, ETH, "<")
        + b.shb(">")
        + b.idb(105, ">", tsresol=9)
        + b.epb(0, 2_000000000, ETH, ">")
    )
    assert read_all(data) == ([(1.0, 1, ETH), (2.0, 105, ETH)], None)
    # Interfaces of an earlier section are gone.
    data = b.shb() + b.idb(1) + b.idb(1) + b.shb() + b.idb(1) + b.epb(1, 0, ETH)
    frames, err = read_all(data)
    assert frames == []
    assert str(err) == (
        "<stream>: corrupt at frame 1: packet refers to interface 1, but 1 interface(s) "
        "are described"
    )


def test_big_blocks_cross_read_chunks() -> None:
    frames = [bytes([i]) * 200_000 for i in range(12)]
    data = b.shb() + b.idb(1) + b"".join(b.epb(0, i, f) for i, f in enumerate(frames))
    got, err = read_all(data, pipe=True)
    assert err is None
    assert [g[2] for g in got] == frames


@pytest.mark.parametrize(
    ("tail", "message"),
    [
        (struct.pack("<II", 6, 0xFFFFFFF0), "more than the 16777216-byte limit"),
        (struct.pack("<II", 6, MAX_BLOCK + 4), "more than the 16777216-byte limit"),
        (struct.pack("<II", 6, 13) + b"\0" * 20, "bad length 13"),
        (struct.pack("<II", 1, 8) + b"\0" * 20, "bad length 8"),
        (
            b.block(6, struct.pack("<IIIII", 0, 0, 0, 1000, 1000) + b"\0" * 8),
            "says 1000 captured bytes in a 40-byte block",
        ),
        (
            b.block(6, struct.pack("<IIIII", 0, 0, 0, 300000, 300000) + b"\0" * 300000),
            "more than the 262144-byte limit",
        ),
        (b.block(6, b"\0" * 8), "Enhanced Packet Block has a bad length 20"),
        (b.block(6, struct.pack("<IIIII", 7, 0, 0, 0, 0)), "refers to interface 7"),
        (
            b.block(6, struct.pack("<IIIII", 0, 0, 0, 0, 0))[:-4] + b"\0\0\0\0",
            "different length at its end",
        ),
        (b.block(3, b"\0" * 8)[:-4] + b"\0\0\0\0", "says 20 bytes at its start and 0 at its end"),
        (b.block(1, struct.pack("<HHIHH", 1, 0, 0, 9, 200)), "option 9 of 200 bytes runs past"),
        (b.block(0x0A, struct.pack("<II", 1, 99)), "says 99 bytes of secrets"),
        (b.block(0x0A0D0D0A, b"\x01\x02\x03\x04" + b"\0" * 12), "bad byte-order magic"),
        (b.block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 2, 0, -1)), "pcapng version 2.0"),
    ],
)
def test_corrupt_blocks_after_a_good_frame(tail: bytes, message: str) -> None:
    data = b.shb() + b.idb(1) + b.epb(0, 5, ETH) + tail
    frames, err = read_all(data)
    assert frames == [(0.000005, 1, ETH)]
    assert err is not None
    assert message in str(err)
    assert "at frame 2" in str(err)


def test_not_really_pcapng() -> None:
    with pytest.raises(CaptureError, match="bad byte-order magic"):
        open_capture(io.BytesIO(b"\x0a\x0d\x0d\x0a" + b"\0" * 40))
    with pytest.raises(CaptureError, match="truncated pcapng Section Header Block"):
        open_capture(io.BytesIO(b"\x0a\x0d\x0d\x0a\0\0"))


@pytest.mark.parametrize("e", ["<", ">"])
def test_truncation_at_every_length(e: str) -> None:
    blocks = [
        b.shb(e, opts=[b.option(2, b"hw")]),
        b.idb(1, e, tsresol=6),
        b.epb(0, 1, ETH, e),
        b.dsb(1, b"secret", e),
        b.idb(113, e, tsresol=9),
        b.epb(1, 2, ETH[:9], e),
        b.spb(ETH[:20], e),
        b.epb(0, 3, b"", e),
        b.opb(1, 4, ETH, e),
    ]
    data = b"".join(blocks)
    full, err = read_all(data)
    assert err is None and len(full) == 5
    ends, frames_before, pos, n = [], [], 0, 0
    for blk in blocks:
        pos += len(blk)
        n += struct.unpack_from(e + "I", blk)[0] in (2, 3, 6)
        ends.append(pos)
        frames_before.append(n)
    for cut in range(len(data)):
        frames, err = read_all(data[:cut], pipe=cut % 2 == 1)
        complete = max([frames_before[i] for i, end in enumerate(ends) if end <= cut], default=0)
        assert frames == full[:complete], cut
        if cut in ends:
            assert err is None, cut
        else:
            assert err is not None, cut
