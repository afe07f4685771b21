"""SRTCP recognised by its trailer (RFC 3711 3.4, RFC 7714 9) and the flow's SRTP state, so its
ciphertext is never read as report blocks: unit cases made with libsrtp and lyncdump's own
protect, and the corpus captures that carry SRTCP without keys (teams.pcap's 12 bogus "MS
extension" defects, skype-conference-call.pcap, stun.pcap, Asterisk_ZFONE_XLITE.pcap)."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import lyncdump
from lyncdump.media import stats
from lyncdump.media.rtcp import srtcp_index, srtcp_kind, walks_as_rtcp
from lyncdump.media.srtp import SrtpContext

RR = struct.pack("!BBHI", 0x81, 201, 7, 0x1234) + struct.pack("!IIIIII", 9, 0, 77, 3, 0, 0)
SDES = struct.pack("!BBHI", 0x81, 202, 3, 0x1234) + b"\x01\x02ab\x00\x00\x00\x00"
BARE = struct.pack("!BBHI", 0x80, 201, 1, 0x1234)  # a receiver report without blocks
COMPOUND = RR + SDES


def protected(suite: str, packet: bytes, index: int, mki_length: int = 0) -> bytes:
    size = 32 if "256" in suite else 16
    salt = 12 if suite.startswith("AEAD") else 14
    ctx = SrtpContext(bytes(range(size)), bytes(range(salt)), suite, mki_length)
    return ctx.protect_rtcp(packet, index, mki=1 if mki_length else 0)


def test_plain_rtcp_is_plain() -> None:
    assert walks_as_rtcp(COMPOUND) and srtcp_index(COMPOUND) is None
    assert srtcp_index(COMPOUND, srtp=True) is None
    assert srtcp_kind(COMPOUND, None) is None


@pytest.mark.parametrize("suite", ["AES_CM_128_HMAC_SHA1_80", "AEAD_AES_128_GCM"])
@pytest.mark.parametrize("mki", [0, 1])
@pytest.mark.parametrize("packet", [RR, COMPOUND, BARE], ids=["rr", "compound", "bare"])
def test_srtcp_is_recognised_by_its_trailer(suite: str, mki: int, packet: bytes) -> None:
    for index in (1, 2, 100_000):
        data = protected(suite, packet, index, mki)
        assert not walks_as_rtcp(data)
        assert srtcp_index(data) == 0x80000000 | index
        assert srtcp_kind(data, None) == "SRTCP encrypted"
        assert srtcp_kind(data, packet) == "SRTCP decrypted"


def test_authenticated_only_srtcp_needs_the_flow_s_srtp_state() -> None:
    # E flag clear: the compound is in clear up to the index, then MKI and tag.
    data = COMPOUND + struct.pack("!I", 5) + bytes(10)
    assert srtcp_index(data) is None  # could be anything: not claimed on an unknown flow
    assert srtcp_index(data, srtp=True) == 5


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.binary(max_size=300))
def test_never_raises(data: bytes) -> None:
    srtcp_index(data)
    srtcp_index(b"\x80\xc9" + data, srtp=True)
    walks_as_rtcp(data)


def _srtcp_words(path: Path) -> list[tuple[int, int]]:
    """(SSRC, index) of every datagram lyncdump counted as SRTCP encrypted."""
    seen: list[tuple[int, int]] = []
    original = stats.RtpTracker._rtcp

    def spy(self, flow, frame, ts, payload):  # type: ignore[no-untyped-def]
        word = srtcp_index(payload)
        if word is not None:
            seen.append((struct.unpack_from("!I", payload, 4)[0], word & 0x7FFFFFFF))
        return original(self, flow, frame, ts, payload)

    stats.RtpTracker._rtcp = spy  # type: ignore[method-assign]
    try:
        lyncdump.analyze(path)
    finally:
        stats.RtpTracker._rtcp = original  # type: ignore[method-assign]
    return seen


@pytest.mark.parametrize(
    "name, count",
    [
        ("teams.pcap", 12),
        ("skype-conference-call.pcap", 155),
        ("stun.pcap", 15),
        ("Asterisk_ZFONE_XLITE.pcap", 5),
    ],
)
def test_corpus_srtcp_is_counted_not_misread(corpus: Path, name: str, count: int) -> None:
    cap = lyncdump.analyze(corpus / name)
    tracker = cap.media.rtp  # type: ignore[union-attr]
    assert tracker.rtcp_types.get("SRTCP encrypted") == count
    assert not [d for d in cap.defects if d.layer == "rtcp"]
    assert not any("MS extension" in d.reason for d in cap.defects)
    # Real SRTCP: per sender, the indices never go back (RFC 3711 3.4 counts them up).
    words = _srtcp_words(corpus / name)
    assert len(words) == count
    by_ssrc: dict[int, list[int]] = {}
    for ssrc, index in words:
        by_ssrc.setdefault(ssrc, []).append(index)
    for indices in by_ssrc.values():
        assert indices == sorted(indices)
