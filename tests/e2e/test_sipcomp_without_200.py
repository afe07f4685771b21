"""MS-SIPCOMP when the 200 OK to NEGOTIATE is not seen first (issue 15).

TLS records and capture timing can put the client's first compressed bytes before the server's
200 OK in capture order, and a capture point can lose the 200 OK altogether. Bytes that follow
a NEGOTIATE offering LZ77-8K and start like an MS-SIPCOMP packet are then decoded as
compressed from an empty history, and a defect says what was assumed.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import dpkt
import pytest

import lyncdump

from ..conftest import CAPTURES

ASSUMED = "compressed before the 200 OK to NEGOTIATE was seen: LZ77-8K assumed"


def _frames(path: Path) -> tuple[list[tuple[float, bytes]], int]:
    with open(path, "rb") as f:
        reader = dpkt.pcapng.Reader(f) if path.suffix == ".pcapng" else dpkt.pcap.Reader(f)
        return [(ts, bytes(buf)) for ts, buf in reader], reader.datalink()


def _write(path: Path, frames: list[tuple[float, bytes]], linktype: int) -> None:
    with open(path, "wb") as f:
        writer = dpkt.pcap.Writer(f, linktype=linktype, nano=False)
        for ts, buf in frames:
            writer.writepkt(buf, ts)


def _negotiation(cap: lyncdump.Capture) -> tuple[int, int]:
    """Frame of the 200 OK to NEGOTIATE, and of the client's first compressed message."""
    messages = cap.messages()
    ok = next(m for m in messages if m.status == 200 and m.cseq and m.cseq[1] == "NEGOTIATE")
    client = ok.dst
    first = next(m for m in messages if m.compressed and m.src == client)
    assert ok.frame is not None and first.first_frame is not None
    return ok.frame, first.first_frame


def _summary(cap: lyncdump.Capture) -> Counter[object]:
    return Counter((m.method or m.status, str(m.src)) for m in cap.messages())


CASES = [
    ("lync-compressed-tcp.pcap", {}),
    ("lync-tls-sipcomp.pcapng", {"keylog": str(CAPTURES / "lync-tls-sipcomp.keys")}),
]


@pytest.mark.parametrize(("name", "options"), CASES, ids=[c[0] for c in CASES])
def test_200_ok_later_in_capture_order(name: str, options: dict[str, str], tmp_path: Path) -> None:
    original = lyncdump.open(CAPTURES / name, **options)
    ok_frame, first_compressed = _negotiation(original)
    frames, linktype = _frames(CAPTURES / name)
    moved = frames.pop(ok_frame - 1)
    frames.insert(first_compressed, moved)  # right after the client's first compressed frame
    path = tmp_path / "late-200.pcap"
    _write(path, frames, linktype)
    cap = lyncdump.open(path, **options)
    assert _summary(cap) == _summary(original)
    assert [d.reason for d in cap.defects if ASSUMED in d.reason] == [
        "the client's bytes are " + ASSUMED + " from the NEGOTIATE offer"
    ]
    assert not [d for d in cap.defects if "not SIP" in d.reason]
    (conn,) = [c for c in cap.connections if c.compressed]
    assert conn.compression_assumed


def test_200_ok_lost(tmp_path: Path) -> None:
    original = lyncdump.open(CAPTURES / "lync-compressed-tcp.pcap")
    ok_frame, _ = _negotiation(original)
    frames, linktype = _frames(CAPTURES / "lync-compressed-tcp.pcap")
    del frames[ok_frame - 1]
    path = tmp_path / "lost-200.pcap"
    _write(path, frames, linktype)
    cap = lyncdump.open(path)
    expected = _summary(original)
    expected[(200, str(next(m.src for m in original.messages() if m.frame == ok_frame)))] -= 1
    assert _summary(cap) == +expected  # every message but the lost 200 OK
    reasons = [d.reason for d in cap.defects]
    assert any("client's bytes are " + ASSUMED in r for r in reasons)
    assert any("server's bytes are " + ASSUMED in r for r in reasons)
