"""MS-SIPCOMP when the 200 OK to NEGOTIATE is not seen first (issue 15).

TLS records and capture timing can put the client's first compressed bytes before the server's
200 OK in capture order, and a capture point can lose the 200 OK altogether. Bytes that follow
a NEGOTIATE offering LZ77-8K and start like an MS-SIPCOMP packet are then decoded as
compressed from an empty history, and a defect says what was assumed.

The cases: plain TCP (captures/lync-compressed-tcp.pcap), TLS 1.2 (captures/lync-tls-sipcomp.pcapng,
the deterministic writer of tools/scenario_tls.py) and TLS 1.3, recorded here from Python's ssl
module (OpenSSL over memory BIOs, tests/tls/tls_recorder.py: TLS_AES_256_GCM_SHA384 and the
client's key log) carrying the same NEGOTIATE, 200 OK and MS-SIPCOMP conversation as the TLS 1.2
sample. In each, the 200 OK is moved after the client's first compressed frame, or dropped.
"""

from __future__ import annotations

import ssl
from collections import Counter
from pathlib import Path

import dpkt
import pytest
import scenario_tls

import lyncdump
from lyncdump.sipcomp.stream import SipcompStreamEncoder

from ..conftest import CAPTURES
from ..tls import tls_recorder as rec

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


TLS13 = "tls13-sipcomp (recorded)"
CASES = [
    ("lync-compressed-tcp.pcap", {}),
    ("lync-tls-sipcomp.pcapng", {"keylog": str(CAPTURES / "lync-tls-sipcomp.keys")}),
    (TLS13, {}),
]


def tls13_sipcomp(folder: Path) -> tuple[Path, dict[str, str]]:
    """Real TLS 1.3 around NEGOTIATE, its 200 OK and the compressed sign-in and IM of the TLS 1.2
    sample (tools/scenario_tls.py); the capture and the client's key log in ``folder``."""
    encoders = (SipcompStreamEncoder(), SipcompStreamEncoder())
    wire = [(0, scenario_tls.NEGOTIATE), (1, scenario_tls.NEGOTIATE_OK)]
    wire += [(d, encoders[d].encode(m)) for d, m in scenario_tls.conversation()]
    keylog = folder / "tls13.keys"
    server, client = rec.contexts(
        rec.server_identity(), folder, keylog=keylog, min_version=ssl.TLSVersion.TLSv1_3
    )
    recording = rec.run(server, client, wire)
    assert recording.version == "TLSv1.3" and recording.cipher == "TLS_AES_256_GCM_SHA384"
    return recording.write_pcap(folder / "tls13-sipcomp.pcap"), {"keylog": str(keylog)}


def _source(name: str, options: dict[str, str], folder: Path) -> tuple[Path, dict[str, str]]:
    if name == TLS13:
        return tls13_sipcomp(folder)
    return CAPTURES / name, options


@pytest.mark.parametrize(("name", "options"), CASES, ids=[c[0] for c in CASES])
def test_200_ok_later_in_capture_order(name: str, options: dict[str, str], tmp_path: Path) -> None:
    source, options = _source(name, options, tmp_path)
    original = lyncdump.open(source, **options)
    if name == TLS13:  # the recording itself decodes whole: 8 messages, 6 of them compressed
        assert [m.compressed for m in original.messages()] == [False, False] + [True] * 6
        assert original.connections[0].tls.version == "TLS 1.3"  # type: ignore[union-attr]
        assert not original.defects
    ok_frame, first_compressed = _negotiation(original)
    frames, linktype = _frames(source)
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


@pytest.mark.parametrize(("name", "options"), CASES, ids=[c[0] for c in CASES])
def test_200_ok_lost(name: str, options: dict[str, str], tmp_path: Path) -> None:
    source, options = _source(name, options, tmp_path)
    original = lyncdump.open(source, **options)
    ok_frame, _ = _negotiation(original)
    frames, linktype = _frames(source)
    del frames[ok_frame - 1]
    path = tmp_path / "lost-200.pcap"
    _write(path, frames, linktype)
    cap = lyncdump.open(path, **options)
    expected = _summary(original)
    expected[(200, str(next(m.src for m in original.messages() if m.frame == ok_frame)))] -= 1
    assert _summary(cap) == +expected  # every message but the lost 200 OK
    reasons = [d.reason for d in cap.defects]
    assert any("client's bytes are " + ASSUMED in r for r in reasons)
    assert any("server's bytes are " + ASSUMED in r for r in reasons)
