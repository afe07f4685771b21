"""The buffer pcap and pcapng readers keep for the whole run (capture/source.py ReadBuffer).

Every test shrinks the buffer (and the first read) to a few dozen bytes so that record and
block borders fall at every offset of a read; what comes out must not depend on where the
reads end: the same frames, the same secrets, the same error text.
"""

from __future__ import annotations

import gzip
import io
import struct
from collections.abc import Iterator
from pathlib import Path

import pytest

import lyncdump.pipeline.core as api
from lyncdump.api import Capture
from lyncdump.capture import open_capture, source
from lyncdump.errors import CaptureError

from ..media import test_media_fastpath as mf
from . import _build as b
from ._helpers import Pipe

Frames = list[tuple[float, int, bytes]]


def records(n: int = 12) -> list[tuple[int, int, bytes]]:
    """Frames of many lengths (0 to 300 bytes), each byte telling where it came from."""
    return [
        (1000 + i, i * 7, bytes((i * 31 + k) & 0xFF for k in range(i * i * 2))) for i in range(n)
    ]


PCAP = b.pcap(records())
PCAPNG = b"".join(
    [b.shb(), b.idb(1), b.idb(101, tsresol=9)]
    + [b.epb(i % 2, (1000 + i) * 10**6, data) for i, (_, _, data) in enumerate(records())]
    + [b.dsb(0x544C534B, b"CLIENT_RANDOM " + bytes(range(200))), b.epb(0, 5, b"last")]
)


def small(monkeypatch: pytest.MonkeyPatch, size: int) -> None:
    """Reads of ``size`` bytes into a buffer of ``size`` bytes."""
    monkeypatch.setattr(source, "CHUNK", size)
    monkeypatch.setattr(source, "READ_BUFFER", size)


def read(data: bytes, pipe: int = 0) -> tuple[Frames, str | None, list[tuple[int, bytes]]]:
    """Frames, the error text if any, and the secrets; ``pipe``: reads of at most that many
    bytes from a non-seekable stream."""
    frames: Frames = []
    src = Pipe(data, pipe) if pipe else io.BytesIO(data)
    reader = open_capture(src)
    try:
        for frame in reader.frames():
            frames.append(frame)
    except CaptureError as exc:  # the message names the input: the same one for both
        return frames, str(exc).replace("<pipe>", "<stream>"), reader.secrets
    finally:
        reader.close()
    return frames, None, reader.secrets


def reference(data: bytes) -> tuple[Frames, str | None, list[tuple[int, bytes]]]:
    """What the reader gives with its normal buffer: the whole test file in one read."""
    return read(data)


@pytest.mark.parametrize("data", [PCAP, PCAPNG], ids=["pcap", "pcapng"])
def test_borders_at_every_offset(monkeypatch: pytest.MonkeyPatch, data: bytes) -> None:
    want = reference(data)
    assert len(want[0]) == len(records()) + (1 if data is PCAPNG else 0) and want[1] is None
    for size in range(1, 340, 3):  # reads end at every offset of the records, some inside
        small(monkeypatch, size)  # headers; records bigger than the buffer make it grow
        assert read(data) == want, size
    for step in (1, 2, 5, 13, 64):
        small(monkeypatch, 97)
        assert read(data, pipe=step) == want, step


@pytest.mark.parametrize("data", [PCAP, PCAPNG], ids=["pcap", "pcapng"])
def test_frames_stay_intact_after_later_reads(monkeypatch: pytest.MonkeyPatch, data: bytes) -> None:
    """Frames are copies: reads that overwrite the buffer leave them as they were yielded."""
    want = [(ts, lt, bytes(d)) for ts, lt, d in reference(data)[0]]
    small(monkeypatch, 40)
    kept: Frames = []
    with open_capture(io.BytesIO(data)) as reader:
        for frame in reader.frames():
            assert type(frame[2]) is bytes
            kept.append(frame)
        secrets = reader.secrets
    assert kept == want
    assert all(type(s) is bytes for _, s in secrets)


def test_a_frame_much_bigger_than_the_buffer(monkeypatch: pytest.MonkeyPatch) -> None:
    big = bytes(range(256)) * 40
    data = b.pcap([(1, 0, b"a"), (2, 0, big), (3, 0, b"b" * 50)])
    want = reference(data)
    small(monkeypatch, 64)
    assert read(data) == want
    assert read(data, pipe=7) == want
    assert [len(f[2]) for f in want[0]] == [1, len(big), 50]


def test_a_pcapng_block_much_bigger_than_the_buffer(monkeypatch: pytest.MonkeyPatch) -> None:
    """The buffer grows for the block and goes back to its size after it."""
    secret = b"CLIENT_RANDOM " + bytes(range(256)) * 30
    data = (
        b.shb()
        + b.idb(1)
        + b.epb(0, 1, b"x" * 20)
        + b.dsb(0x544C534B, secret)
        + b.epb(0, 2, b"y" * 5000)
        + b"".join(b.epb(0, 3 + i, bytes([i]) * 30) for i in range(20))
    )
    want = reference(data)
    assert want[2] == [(0x544C534B, secret)]
    small(monkeypatch, 128)
    assert read(data) == want
    assert read(data, pipe=11) == want


@pytest.mark.parametrize("data", [PCAP, PCAPNG], ids=["pcap", "pcapng"])
def test_gzip_input(monkeypatch: pytest.MonkeyPatch, data: bytes) -> None:
    want = reference(data)
    packed = gzip.compress(data)
    for size in (16, 61, 200):
        small(monkeypatch, size)
        assert read(packed) == want
        assert read(packed, pipe=5) == want


@pytest.mark.parametrize("data", [PCAP, PCAPNG], ids=["pcap", "pcapng"])
def test_truncated_tails_give_the_same_error_whatever_the_reads(
    monkeypatch: pytest.MonkeyPatch, data: bytes
) -> None:
    start = 24 if data is PCAP else 28  # past the file header / Section Header Block
    for cut in range(start, len(data)):
        monkeypatch.undo()
        want = reference(data[:cut])
        for size in (29, 100):
            small(monkeypatch, size)
            got = read(data[:cut])
            assert got == want, (cut, size)
        assert read(data[:cut], pipe=3) == want, cut


def test_corrupt_records_give_the_same_error_whatever_the_reads(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    corrupt = [
        PCAP + struct.pack("<IIII", 1, 0, 0x7FFFFFFF, 0) + bytes(64),
        PCAPNG + b.block(6, bytes(40))[:-4] + b"\x00\x00\x00\x00",
        PCAPNG + b"\x06\x00\x00\x00\x0d\x00\x00\x00" + bytes(8),
    ]
    for data in corrupt:
        want = reference(data)
        assert want[1] is not None and "corrupt" in want[1]
        for size in (13, 50, 333):
            small(monkeypatch, size)
            assert read(data) == want


# ------------------------------------------------------------------ ByteStream.readinto


class ReadOnly:
    """A file object with nothing but ``read`` (no readinto): a copy into the buffer."""

    def __init__(self, data: bytes, step: int) -> None:
        self._data = io.BytesIO(data)
        self._step = step

    def read(self, n: int = -1) -> bytes:
        return self._data.read(min(n, self._step))


class RawReadOnly(io.RawIOBase):
    """io.RawIOBase with ``read`` only: its inherited readinto raises NotImplementedError."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        return self._data.read(min(n, 33))


@pytest.mark.parametrize("data", [PCAP, PCAPNG], ids=["pcap", "pcapng"])
def test_file_objects_without_readinto(monkeypatch: pytest.MonkeyPatch, data: bytes) -> None:
    want = reference(data)[0]
    small(monkeypatch, 50)
    for f in (ReadOnly(data, 9), RawReadOnly(data)):
        with open_capture(f) as reader:  # type: ignore[arg-type]
            assert list(reader.frames()) == want


def test_readinto_that_gives_nothing_ready_or_too_much() -> None:
    class Sulky(io.RawIOBase):
        def __init__(self, answer: object) -> None:
            self.answer = answer
            self.calls = 0

        def readable(self) -> bool:
            return True

        def readinto(self, buf: memoryview) -> object:  # type: ignore[override]
            self.calls += 1
            if self.calls == 1:
                buf[: len(PCAP) // 2] = PCAP[: len(PCAP) // 2]
                return len(PCAP) // 2
            return self.answer

    with pytest.raises(CaptureError, match="non-blocking input with no data ready"):
        list(open_capture(Sulky(None)).frames())
    with pytest.raises(CaptureError, match=r"read error: readinto returned 99999999999 \("):
        list(open_capture(Sulky(99_999_999_999)).frames())


# ------------------------------------------------------------------ compiled scan = Python


def runs(data: bytes) -> Iterator[Capture]:
    yield Capture(io.BytesIO(data))
    yield Capture(io.BufferedReader(Pipe(data, 61), 61))


@mf.needs_compiled
@pytest.mark.parametrize("fmt", ["pcap", "pcapng"])
def test_the_compiled_scan_reads_the_small_buffer_like_python(
    monkeypatch: pytest.MonkeyPatch, fmt: str
) -> None:
    """scan_pcap/scan_pcapng stop at the buffer's end and resume after each refill."""
    frames = mf.torture()
    if fmt == "pcap":
        data = mf.pcap(frames)
    else:
        data = mf.pcapng([(t, 0, d) for t, d in frames], [(1, 6)])
    small(monkeypatch, 300)
    real_attach = api.attach_fast_path
    for capture in runs(data):
        monkeypatch.setattr(api, "attach_fast_path", real_attach)
        fast = mf.snapshot(capture)
        monkeypatch.setattr(api, "attach_fast_path", lambda reader, every, advance=0: (None, None))
        pure = mf.snapshot(Capture(io.BytesIO(data)))
        assert fast == pure
        assert fast["stats"][0] == len(frames)  # type: ignore[index]


# ------------------------------------------------------------------ files on disk


def test_a_small_file_is_read_whole_and_what_is_appended_later_too(tmp_path: Path) -> None:
    """The buffer of a file smaller than a chunk is the file's size at the first read; bytes
    written after it (a capture still being written) are read too, into the usual buffer once
    a read fills the small one or a record does not fit in it."""
    cut = 24 + 16 + 2 * 2 + 16 + 8 * 2 + 16  # three whole records
    path = tmp_path / "growing.pcap"
    path.write_bytes(PCAP[:cut])
    with open_capture(path) as reader:
        frames = reader.frames()
        first = next(frames)
        with path.open("ab") as f:
            f.write(PCAP[cut:])
        got = [first, *frames]
    assert got == reference(PCAP)[0]


@pytest.mark.parametrize("data", [PCAP, PCAPNG], ids=["pcap", "pcapng"])
def test_files_on_disk_cut_anywhere(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "cut"
    for cut in range(len(data) - 300, len(data)):
        path.write_bytes(data[:cut])
        frames: Frames = []
        error = None
        try:
            with open_capture(path) as reader:
                frames.extend(reader.frames())
        except CaptureError as exc:
            error = str(exc).replace(str(path), "<stream>")
        assert (frames, error, reader.secrets) == reference(data[:cut]), cut
