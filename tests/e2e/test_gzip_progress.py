"""A gzip input is bounded by what it expands to, not by its size on disk: the progress line
says how far it has expanded and to what (issue 16)."""

from __future__ import annotations

import gzip
import struct

from lyncdump.api import Capture, Options
from lyncdump.cli_common import Progress as _Progress
from lyncdump.cli_common import _gzip_sizes


def _zeros_pcap_gz(path, frames: int) -> int:
    record = struct.pack("<IIII", 1_700_000_000, 0, 1500, 1500) + bytes(1500)
    plain = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1) + record * frames
    path.write_bytes(gzip.compress(plain, 9))
    return len(plain)


def test_progress_line_of_a_gzip_input(tmp_path) -> None:
    path = tmp_path / "zeros.pcap.gz"
    expanded = _zeros_pcap_gz(path, 4000)
    assert _gzip_sizes(str(path)) == (path.stat().st_size, expanded)
    progress = _Progress("zeros.pcap.gz", str(path))
    capture = Capture(str(path), Options(progress=progress))  # the run tells it the reader
    assert progress.reader is capture._reader
    frames = capture._reader.frames()
    for _ in range(100):
        next(frames)
    line = progress.line(100)
    assert line.startswith("zeros.pcap.gz: 100 frames (")
    assert (
        f"of {expanded / 1e6:.1f} MB expanded from {path.stat().st_size / 1e6:.1f} MB of gzip"
        in (line)
    )
    read = capture._reader.position
    assert 0 < read <= expanded
    capture.close()


def test_progress_line_of_a_plain_capture(tmp_path) -> None:
    path = tmp_path / "zeros.pcap"
    path.write_bytes(gzip.decompress(gzip.compress(b"\xd4\xc3\xb2\xa1")))
    assert _gzip_sizes(str(path)) is None
    line = _Progress("zeros.pcap", str(path)).line(10)
    assert line.startswith("zeros.pcap: 10 frames (") and "gzip" not in line
    assert _gzip_sizes(str(tmp_path / "missing.gz")) is None
