"""Network Monitor 2.x: versions, media types, time stamps, the frame table, damage."""

from __future__ import annotations

import gzip
import io
import struct

import pytest

from lyncdump.capture import NETMON_LINKTYPE_BASE, open_capture
from lyncdump.capture.netmon import map_media_type
from lyncdump.errors import CaptureError

from . import _build as b
from ._helpers import read_all

IP4 = bytes.fromhex("4500001c000100004011f97e0a0000010a00000204d204d20008f7f3")
ETH = bytes(12) + b"\x08\x00" + IP4
# 2023-11-14 13:22:20.123 UTC (the SYSTEMTIME fields: year, month, weekday, day, h, m, s, ms)
START = (2023, 11, 2, 14, 13, 22, 20, 123)
START_TS = 1699968140.123
FILETIME = 133437500000000000  # 2023-11-06 13:13:20 UTC (tshark: 1699276400)


def test_version_2_0_uses_the_file_media_type_and_start_time() -> None:
    data = b.netmon([(0, ETH, 0, 0), (1_500_000, ETH[:20], 0, 0)], minor=0, start=START)
    reader = open_capture(io.BytesIO(data))
    assert reader.format == "netmon2"
    assert reader.version == (2, 0)
    frames = list(reader.frames())
    assert frames == [(START_TS, 1, ETH), (START_TS + 1.5, 1, ETH[:20])]


def test_version_2_1_per_frame_media_types() -> None:
    media = [1, 2, 7, 8, 9, 0xE000 | 113, 0xE000 | 228, 0xE000, 3, 4, 0xFFE0, 0xFFFB, 0xFFFF]
    data = b.netmon([(i, IP4, m, 0) for i, m in enumerate(media)], minor=1, start=START)
    frames, err = read_all(data)
    assert err is None
    assert [f[1] for f in frames] == [
        1,
        6,
        101,
        101,
        101,
        113,
        228,
        0,
        NETMON_LINKTYPE_BASE + 3,
        NETMON_LINKTYPE_BASE + 4,
        NETMON_LINKTYPE_BASE + 0xFFE0,
        NETMON_LINKTYPE_BASE + 0xFFFB,
        NETMON_LINKTYPE_BASE + 0xFFFF,
    ]
    assert all(f[2] == IP4 for f in frames)
    assert frames[3][0] == pytest.approx(START_TS + 0.000003, abs=1e-7)


def test_records_tshark_skips_are_not_frames() -> None:
    data = b.netmon(
        [
            (0, ETH, 1, 0),
            (1, b"x", 0xFFFD, 0),
            (2, b"y", 0xFFFC, 0),
            (3, b"z", 0xFFFE, 0),
            (4, ETH, 1, 0),
        ],
        minor=2,
        start=START,
    )
    frames, err = read_all(data)
    assert err is None
    assert [f[0] for f in frames] == [START_TS, START_TS + 0.000004]


def test_version_2_3_uses_the_utc_filetime() -> None:
    frames_in = [(0, ETH, 1, FILETIME), (7, ETH, 1, FILETIME + 1), (9, ETH, 1, 0)]
    frames, err = read_all(b.netmon(frames_in, minor=3, start=START))
    assert err is None
    assert frames[0][0] == 1699276400.0
    assert frames[1][0] == 1699276400.0000001
    assert frames[2][0] == pytest.approx(START_TS + 0.000009, abs=1e-7)  # no FILETIME: start


def test_802_11_radio_header_is_stripped() -> None:
    radio = bytes([2]) + struct.pack("<H", 32) + bytes(29)
    wlan = bytes.fromhex("08020000") + bytes(20)
    data = b.netmon([(0, radio + wlan, 6, 0), (0, b"\2", 6, 0)], minor=1)
    frames, _ = read_all(data)
    assert frames[0][1:] == (105, wlan)
    assert frames[1][1:] == (NETMON_LINKTYPE_BASE + 6, b"\2")  # too short to strip


def test_map_media_type() -> None:
    assert map_media_type(1, b"a") == (1, b"a")
    assert map_media_type(0xE001, b"a") == (1, b"a")
    assert map_media_type(0xEFFF, b"a") == (0xFFF, b"a")
    assert map_media_type(5, b"a") == (NETMON_LINKTYPE_BASE + 5, b"a")


def test_frame_table_order_is_file_order() -> None:
    data = bytearray(b.netmon([(1, ETH, 1, 0), (2, IP4, 1, 0)], minor=1))
    table = struct.unpack_from("<I", data, 24)[0]
    first, second = struct.unpack_from("<II", data, table)
    struct.pack_into("<II", data, table, second, first)
    frames, _ = read_all(bytes(data))
    assert [f[2] for f in frames] == [IP4, ETH]


@pytest.mark.parametrize("source", ["pipe", "gzip"])
def test_non_seekable_input_is_read_into_memory(source: str) -> None:
    data = b.netmon([(i, bytes([i % 256]) * 200, 1, 0) for i in range(5000)], minor=2)
    if source == "gzip":
        frames, err = read_all(gzip.compress(data))
    else:
        frames, err = read_all(data, pipe=True)
    assert err is None
    assert len(frames) == 5000 and frames[4999][2] == bytes([4999 % 256]) * 200


def test_big_seekable_file_is_read_through_a_window() -> None:
    data = b.netmon([(i, bytes([i % 256]) * 1400, 1, 0) for i in range(2000)], minor=1)
    assert len(data) > 2 * (1 << 20)
    frames, err = read_all(data)
    assert err is None and len(frames) == 2000
    assert frames[1999][2] == bytes([1999 % 256]) * 1400


def test_missing_frame_table_frames_are_found_by_walking() -> None:
    data = b.netmon([(i, ETH, 1, 0) for i in range(3)], minor=1, table=False)
    frames, err = read_all(data)
    assert len(frames) == 3
    assert err is not None and "truncated at frame 4" in str(err)
    assert "before its frame table" in str(err)


def test_frame_table_pointing_past_the_end() -> None:
    data = bytearray(b.netmon([(0, ETH, 1, 0), (1, ETH, 1, 0)], minor=1))
    table = struct.unpack_from("<I", data, 24)[0]
    struct.pack_into("<I", data, table + 4, 10_000_000)
    frames, err = read_all(bytes(data))
    assert len(frames) == 1
    assert str(err) == (
        "<stream>: truncated at frame 2: frame table points at byte 10000000, 0 bytes remain "
        "(16 needed)"
    )


def test_absurd_record_length() -> None:
    data = bytearray(b.netmon([(0, ETH, 1, 0), (1, ETH, 1, 0)], minor=1))
    struct.pack_into("<I", data, 128 + 16 + len(ETH) + 2 + 12, 0xFFFFFFFF)
    frames, err = read_all(bytes(data))
    assert len(frames) == 1
    assert "corrupt at frame 2" in str(err) and "more than the 262144-byte limit" in str(err)


def test_bad_header() -> None:
    with pytest.raises(CaptureError, match=r"truncated Network Monitor file header \(20 of 32"):
        open_capture(io.BytesIO(b"GMBU" + bytes(16)))
    with pytest.raises(CaptureError, match="Network Monitor version 3.0 is not supported"):
        open_capture(io.BytesIO(b"GMBU\x00\x03" + bytes(60)))
    # A nonsense start time is not fatal.
    data = b.netmon([(5, ETH, 1, 0)], start=(0, 13, 0, 0, 0, 0, 0, 0))
    assert read_all(data) == ([(0.000005, 1, ETH)], None)
