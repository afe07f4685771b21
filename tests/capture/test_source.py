"""Opening inputs: paths, stdin, file objects, gzip, and every way that can fail."""

from __future__ import annotations

import gzip
import io
import os
import sys
import threading
import zlib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lyncdump.capture import open_capture
from lyncdump.errors import CaptureError, LyncdumpError

from . import _build as b
from ._helpers import Pipe, read_all

ETH = bytes(12) + b"\x08\x00" + bytes(40)
PCAP = b.pcap([(1700000000, 1, ETH), (1700000001, 2, ETH[:30]), (1700000002, 3, b"")])
PCAPNG = b.shb() + b.idb(1, tsresol=9) + b.epb(0, 1700000000_000000001, ETH) + b.dsb(7, b"k")
NETMON = b.netmon([(0, ETH, 1, 0), (10, ETH[:20], 1, 0)], minor=1)
EXPECTED = [
    (1700000000.000001, 1, ETH),
    (1700000001.000002, 1, ETH[:30]),
    (1700000002.000003, 1, b""),
]


def test_path_str_and_pathlike(tmp_path: Path) -> None:
    path = tmp_path / "a name.pcap"
    path.write_bytes(PCAP)
    for source in (str(path), path):
        with open_capture(source) as reader:
            assert reader.name == str(path)
            assert list(reader.frames()) == EXPECTED


def test_stdin(monkeypatch: pytest.MonkeyPatch) -> None:
    class Stdin:
        buffer = Pipe(gzip.compress(PCAP))

    monkeypatch.setattr(sys, "stdin", Stdin())
    reader = open_capture("-")
    assert reader.name == "<stdin>" and reader.compressed
    assert list(reader.frames()) == EXPECTED
    reader.close()
    monkeypatch.setattr(sys, "stdin", None)
    with pytest.raises(CaptureError, match="no standard input"):
        open_capture("-")


def test_a_callers_file_object_is_not_closed() -> None:
    f = io.BytesIO(PCAPNG)
    with open_capture(f) as reader:
        assert reader.format == "pcapng"
        assert len(list(reader.frames())) == 1
        assert reader.secrets == [(7, b"k")]
    assert not f.closed


def test_our_own_file_is_closed(tmp_path: Path) -> None:
    path = tmp_path / "x.cap"
    path.write_bytes(NETMON)
    reader = open_capture(path)
    assert reader.format == "netmon2"
    reader.close()
    reader.close()  # twice is fine


def test_file_object_not_at_offset_zero() -> None:
    f = io.BytesIO(b"junk" + NETMON)
    f.seek(4)
    assert [x[2] for x in open_capture(f).frames()] == [ETH, ETH[:20]]


@pytest.mark.parametrize("data", [PCAP, PCAPNG, NETMON], ids=["pcap", "pcapng", "netmon"])
@pytest.mark.parametrize("pipe", [False, True])
def test_gzip_of_every_format(data: bytes, pipe: bool) -> None:
    plain, err = read_all(data)
    assert err is None
    reader = open_capture(Pipe(gzip.compress(data)) if pipe else io.BytesIO(gzip.compress(data)))
    assert reader.compressed is True
    assert list(reader.frames()) == plain


def test_multi_member_gzip() -> None:
    data = gzip.compress(PCAP[:50]) + gzip.compress(PCAP[50:])
    assert read_all(data) == (EXPECTED, None)


def test_truncated_gzip_yields_what_it_can_then_fails() -> None:
    big = b.pcap([(i, 0, bytes([i % 256]) * 500) for i in range(2000)])
    full, _ = read_all(big)
    packed = gzip.compress(big)
    for cut in (len(packed) // 3, len(packed) - 9, len(packed) - 1):
        frames, err = read_all(packed[:cut])
        assert err is not None
        assert frames == full[: len(frames)]
        assert "truncated" in str(err) or "ends early" in str(err)


def test_corrupt_gzip() -> None:
    packed = bytearray(gzip.compress(PCAP * 3))
    packed[30] ^= 0xFF
    frames, err = read_all(bytes(packed))
    assert err is not None and "gzip" in str(err)
    assert isinstance(err, LyncdumpError)
    with pytest.raises(CaptureError, match="empty compressed file"):
        open_capture(io.BytesIO(gzip.compress(b"")))
    with pytest.raises(CaptureError, match="<stream>: .*gzip"):
        open_capture(io.BytesIO(b"\x1f\x8b\x08\x00garbage garbage"))
    raw = zlib.compress(PCAP)  # zlib, not gzip: not a capture
    with pytest.raises(CaptureError, match="not a pcap, pcapng or Network Monitor capture"):
        open_capture(io.BytesIO(raw))


def test_missing_file_and_directory(tmp_path: Path) -> None:
    missing = tmp_path / "nope.pcap"
    with pytest.raises(CaptureError) as info:
        open_capture(missing)
    assert str(info.value) == f"{missing}: No such file"
    with pytest.raises(CaptureError, match="is a directory"):
        open_capture(tmp_path)


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
def test_unreadable_file(tmp_path: Path) -> None:
    path = tmp_path / "secret.pcap"
    path.write_bytes(PCAP)
    path.chmod(0)
    with pytest.raises(CaptureError, match="permission denied"):
        open_capture(path)


def test_not_a_capture(tmp_path: Path) -> None:
    path = tmp_path / "notes.pcap"
    path.write_bytes(b"hello world, this is text\n")
    with pytest.raises(CaptureError) as info:
        open_capture(path)
    assert str(info.value) == (
        f"{path}: not a pcap, pcapng or Network Monitor capture (starts with 0x68656c6c)"
    )


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "<stream>: empty file"),
        (b"\xd4\xc3", "<stream>: too short to be a capture (2 bytes)"),
        (b"RTSS" + bytes(40), "Network Monitor 1.x capture, which is not supported"),
        (b"\xa1\xb2\xcd\x34" + bytes(40), "modified (Kuznetzov) pcap"),
        (b"BZh91AY&SY", "bzip2-compressed: decompress it first"),
        (b"\xfd7zXZ\x00\x00", "xz-compressed"),
        (b"\x28\xb5\x2f\xfd\x00", "zstd-compressed"),
    ],
)
def test_clear_messages_for_other_inputs(data: bytes, message: str) -> None:
    with pytest.raises(CaptureError, match=message.replace("(", r"\(").replace(")", r"\)")):
        open_capture(io.BytesIO(data))


def test_text_mode_and_wrong_source_types() -> None:
    with pytest.raises(CaptureError, match="text mode"):
        open_capture(io.StringIO("abcd"))  # type: ignore[arg-type]
    with pytest.raises(CaptureError, match="cannot read a capture from a int"):
        open_capture(42)  # type: ignore[arg-type]


def test_frames_can_be_read_once() -> None:
    reader = open_capture(io.BytesIO(PCAP))
    assert len(list(reader.frames())) == 3
    with pytest.raises(CaptureError, match="already read"):
        reader.frames()


def test_read_errors_name_the_frame() -> None:
    class Failing(io.RawIOBase):
        def __init__(self) -> None:
            self.calls = 0

        def readable(self) -> bool:
            return True

        def readinto(self, buf: bytearray | memoryview) -> int:  # type: ignore[override]
            self.calls += 1
            if self.calls > 1:
                raise OSError(5, "Input/output error")
            buf[: len(PCAP)] = PCAP
            return len(PCAP)

    reader = open_capture(Failing())
    got = []
    with pytest.raises(CaptureError) as info:
        for frame in reader.frames():
            got.append(frame)
    assert got == EXPECTED
    assert str(info.value) == ("<stream>: read error: Input/output error (while reading frame 4)")


# ------------------------------------------------------------------ random input never escapes

PREFIXES = [
    b"",
    b"\xd4\xc3\xb2\xa1\x02\x00\x04\x00",
    b"\xa1\xb2\x3c\x4d",
    b"\x0a\x0d\x0d\x0a\x1c\x00\x00\x00\x4d\x3c\x2b\x1a\x01\x00",
    b"GMBU\x00\x02",
    b"GMBU\x03\x02\x01\x00",
    b"\x1f\x8b",
]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(PREFIXES), st.binary(max_size=600), st.booleans())
def test_random_bytes_raise_only_capture_error(prefix: bytes, tail: bytes, pipe: bool) -> None:
    frames, _ = read_all(prefix + tail, pipe=pipe)
    for ts, linktype, data in frames:
        assert isinstance(ts, float) and isinstance(linktype, int) and isinstance(data, bytes)


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from([PCAP, PCAPNG, NETMON, b.netmon([(0, ETH, 1, 1)], minor=3)]),
    st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), min_size=1, max_size=6),
)
def test_damaged_files_raise_only_capture_error(data: bytes, edits: list[tuple[int, int]]) -> None:
    damaged = bytearray(data)
    for where, value in edits:
        damaged[where % len(damaged)] = value
    read_all(bytes(damaged))


def test_live_pipe_yields_frames_before_the_writer_is_done() -> None:
    """``tcpdump -w - | lyncdump -``: frames come out as they arrive, not per megabyte."""
    r, w = os.pipe()
    os.write(w, PCAP[: 24 + 16 + len(ETH)])  # file header and one frame, writer stays open
    with os.fdopen(r, "rb") as pipe:
        state: dict[str, object] = {}

        def first_frame() -> None:
            frames = open_capture(pipe).frames()
            state["frames"] = frames
            state["first"] = next(frames)

        thread = threading.Thread(target=first_frame, daemon=True)
        thread.start()
        thread.join(timeout=5)
        waited = thread.is_alive()
        os.write(w, PCAP[24 + 16 + len(ETH) :])
        os.close(w)
        thread.join(timeout=5)
        assert not waited, "the reader waited for more input than one frame"
        assert state["first"] == EXPECTED[0]
        assert list(state["frames"]) == EXPECTED[1:]  # type: ignore[call-overload]
