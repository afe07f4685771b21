"""Real captures written by others (../shared/corpus or $LYNCDUMP_CORPUS), checked against
what tshark 4.0.17 says of them (ORACLES.md, and the literal values below)."""

from __future__ import annotations

import io
import os
import re
import struct
from pathlib import Path

import pytest

from lyncdump.capture import open_capture

from ._helpers import read_all


def _corpus() -> Path:
    env = os.environ.get("LYNCDUMP_CORPUS")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[2].parent / "shared" / "corpus"


CORPUS = _corpus()
pytestmark = pytest.mark.skipif(
    not (CORPUS / "ORACLES.md").is_file(), reason=f"no capture corpus at {CORPUS}"
)


def _oracle_counts() -> dict[str, int]:
    """``{file name: "Number of packets"}`` from ORACLES.md."""
    path = CORPUS / "ORACLES.md"
    if not path.is_file():
        return {}
    counts: dict[str, int] = {}
    name = ""
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("## "):
            name = line[3:].strip()
        m = re.match(r"Number of packets:\s+(\d+)", line)
        if m and name:
            counts[name] = int(m.group(1))
    return counts


COUNTS = _oracle_counts()
FORMATS = {"pcap": "pcap", "pcapng": "pcapng", "Microsoft NetMon 2.x": "netmon2"}


def test_oracle_lists_files() -> None:
    assert len(COUNTS) >= 20
    assert COUNTS["c07-sip-r2.cap"] == 39


@pytest.mark.parametrize("name", sorted(COUNTS) or ["(none)"])
def test_every_file_opens_with_tshark_frame_count(name: str) -> None:
    with open_capture(CORPUS / name) as reader:
        frames = list(reader.frames())
        assert reader.format in ("pcap", "pcapng", "netmon2")
    assert len(frames) == COUNTS[name]


# tshark -r FILE -c 2 -T fields -e frame.time_epoch -e frame.encap_type -e frame.cap_len
# (wiretap encapsulations: 1 Ethernet, 15 NULL/Loopback, 25 Linux SLL; the LINKTYPE numbers
# are 1, 0 and 113). NetMon: tshark takes the header's SYSTEMTIME as local time; these values
# are with TZ=UTC, which is how lyncdump always reads it.
LITERALS = [
    ("c07-sip-r2.cap", "netmon2", 1, [1121614760.502, 1121614760.502], [92, 271], 1121614772.454),
    (
        "b2bua-asterisk.pcapng",
        "pcapng",
        1,
        [1463595783.881485, 1463595783.881793],
        [728, 630],
        1463595811.065741,
    ),
    (
        "rtcp_multiple_pkts_in_the_same_datagram.pcap",
        "pcap",
        113,
        [1502626544.321377, 1502626544.329483],
        [156, 136],
        1502626552.361361,
    ),
    (
        "h263-over-rtp.pcap",
        "pcap",
        0,
        [1208261984.291540, 1208261984.480770],
        [971, 373],
        1208261985.768136,
    ),
]


@pytest.mark.parametrize(("name", "fmt", "linktype", "first", "lengths", "last"), LITERALS)
def test_timestamps_and_link_types_match_tshark(
    name: str, fmt: str, linktype: int, first: list[float], lengths: list[int], last: float
) -> None:
    with open_capture(CORPUS / name) as reader:
        assert reader.format == fmt
        frames = list(reader.frames())
    for (ts, lt, data), want_ts, want_len in zip(frames, first, lengths, strict=False):
        assert ts == pytest.approx(want_ts, abs=1e-6)
        assert lt == linktype
        assert len(data) == want_len
    assert frames[-1][0] == pytest.approx(last, abs=1e-6)


def test_netmon_truncated_in_its_first_kilobytes() -> None:
    data = (CORPUS / "c07-sip-r2.cap").read_bytes()
    full, err = read_all(data)
    assert err is None and len(full) == 39
    table, length = struct.unpack_from("<II", data, 24)
    ends = [
        o + 16 + struct.unpack_from("<QII", data, o)[2]
        for o in struct.unpack_from(f"<{length // 4}I", data, table)
    ]
    for cut in range(0, 5000):
        frames, err = read_all(data[:cut], pipe=cut % 3 == 0)
        assert err is not None, cut
        complete = sum(1 for e in ends if e <= cut)
        assert frames == full[:complete], cut
    # and cut near its end, in the frame table
    for cut in range(len(data) - 200, len(data)):
        frames, err = read_all(data[:cut])
        assert err is not None and frames == full[: len(frames)]


def test_netmon_corpus_file_from_a_pipe_matches_the_file() -> None:
    data = (CORPUS / "c07-sip-r2.cap").read_bytes()
    assert read_all(data, pipe=True) == read_all(data)
    assert read_all(io.BytesIO(data).getvalue()) == read_all(data)
