"""pcap: both byte orders, µs and ns, streaming, truncation and corruption."""

from __future__ import annotations

import io
import struct

import dpkt
import pytest

from lyncdump.capture import MAX_FRAME, open_capture
from lyncdump.errors import CaptureError

from . import _build
from ._helpers import read_all

ETH = bytes.fromhex("00112233445566778899aabb0800") + bytes(range(46))


def dpkt_pcap(frames: list[tuple[float, bytes]], linktype: int = 1) -> bytes:
    f = io.BytesIO()
    w = dpkt.pcap.Writer(f, linktype=linktype)
    for ts, data in frames:
        w.writepkt(data, ts=ts)
    return f.getvalue()


def test_dpkt_written_file_reads_back() -> None:
    data = dpkt_pcap([(1700000000.25, ETH), (1700000001.000001, ETH[:20]), (1.5, b"")])
    reader = open_capture(io.BytesIO(data))
    assert reader.format == "pcap"
    assert reader.compressed is False
    assert reader.linktype == 1 and reader.nanosecond is False
    frames = list(reader.frames())
    assert frames == [(1700000000.25, 1, ETH), (1700000001.000001, 1, ETH[:20]), (1.5, 1, b"")]


@pytest.mark.parametrize("endian", ["<", ">"])
def test_microsecond_both_byte_orders(endian: str) -> None:
    data = _build.pcap(
        [(1121614760, 502123, ETH), (1121614761, 999999, b"\x01")], endian=endian, linktype=113
    )
    frames, err = read_all(data)
    assert err is None
    assert frames == [(1121614760.502123, 113, ETH), (1121614761.999999, 113, b"\x01")]


@pytest.mark.parametrize("endian", ["<", ">"])
def test_nanosecond_both_byte_orders(endian: str) -> None:
    data = _build.pcap([(1700000000, 123456789, ETH), (5, 1, b"x")], endian=endian, nano=True)
    reader = open_capture(io.BytesIO(data))
    assert reader.nanosecond is True
    frames = list(reader.frames())
    # The float nearest to the exact time, to the nanosecond where a double can hold it.
    assert frames[0][0] == 1700000000.123456789
    assert abs(frames[0][0] - 1700000000.123456789) < 2.4e-7
    assert frames[1] == (5.000000001, 1, b"x")


def test_linktype_ignores_fcs_bits() -> None:
    data = _build.pcap([(1, 0, ETH)], linktype=0x1000_0000 | 0x0400_0000 | 1)
    assert read_all(data)[0][0][1] == 1


def test_snaplen_and_origlen_do_not_matter() -> None:
    data = _build.pcap([(1, 0, ETH)], snaplen=10, orig_extra=1000)
    assert read_all(data)[0] == [(1.0, 1, ETH)]


def test_no_frames() -> None:
    assert read_all(_build.pcap([])) == ([], None)


def test_streams_from_a_pipe_with_short_reads() -> None:
    records = [(1700000000 + i, i, bytes([i % 256]) * (i % 300)) for i in range(3000)]
    data = _build.pcap(records)
    frames, err = read_all(data, pipe=True)
    assert err is None
    assert len(frames) == 3000
    assert frames[2999] == (1700002999.002999, 1, bytes([2999 % 256]) * (2999 % 300))


def test_frames_larger_than_read_chunks_cross_chunk_borders() -> None:
    records = [(i, 0, bytes([i]) * 65535) for i in range(40)]  # 2.6 MB: several 1 MiB chunks
    frames, err = read_all(_build.pcap(records))
    assert err is None
    assert [f[2] for f in frames] == [r[2] for r in records]


def test_frame_at_the_limit_is_read_and_above_it_is_refused() -> None:
    ok = _build.pcap([(1, 0, b"\0" * MAX_FRAME)])
    assert len(read_all(ok)[0][0][2]) == MAX_FRAME
    header = _build.pcap([])
    bad = header + struct.pack("<IIII", 1, 0, 0xFFFFFFF0, 60) + b"\0" * 64
    frames, err = read_all(_build.pcap([(1, 0, ETH)]) + bad[24:])
    assert len(frames) == 1
    assert err is not None
    assert str(err) == (
        "<stream>: corrupt at frame 2: record header says 4294967280 bytes, "
        "more than the 262144-byte limit"
    )


def test_truncated_record_message() -> None:
    data = _build.pcap([(1, 0, ETH), (2, 0, b"\0" * 1514)])
    frames, err = read_all(data[:-1314])
    assert len(frames) == 1
    assert str(err) == "<stream>: truncated at frame 2: record header says 1514 bytes, 200 remain"
    frames, err = read_all(data[: 24 + 16 + len(ETH) + 5])
    assert str(err) == "<stream>: truncated at frame 2: record header cut after 5 of 16 bytes"


def test_truncated_file_header() -> None:
    data = _build.pcap([])
    for cut in range(4, 24):
        with pytest.raises(CaptureError, match="truncated pcap file header"):
            open_capture(io.BytesIO(data[:cut]))


@pytest.mark.parametrize("nano", [False, True])
@pytest.mark.parametrize("pipe", [False, True])
def test_truncation_at_every_length(nano: bool, pipe: bool) -> None:
    records = [(1700000000 + i, i * 7, bytes([i]) * (i * 13 % 90)) for i in range(8)]
    data = _build.pcap(records, endian=">", nano=nano)
    full, err = read_all(data)
    assert err is None and len(full) == 8
    ends = []
    pos = 24
    for r in records:
        pos += 16 + len(r[2])
        ends.append(pos)
    for cut in range(len(data)):
        frames, err = read_all(data[:cut], pipe=pipe)
        if cut < 4:
            assert frames == [] and err is not None
            continue
        complete = sum(1 for e in ends if e <= cut)
        assert frames == full[:complete], cut
        if cut == 24 or cut in ends:
            assert err is None, cut
        else:
            assert err is not None, cut
            if cut > 24:
                assert f"at frame {complete + 1}:" in str(err)
