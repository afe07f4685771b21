"""RTCP compounds from a real capture (nDPI's rtcp_multiple_pkts_in_the_same_datagram.pcap,
Linux cooked): every datagram decodes, with the values tshark 4.0.17 shows (``-T fields -e
rtcp.pt -e rtcp.senderssrc -e rtcp.ssrc.fraction -e rtcp.ssrc.cum_nr -e rtcp.ssrc.jitter``)."""

from __future__ import annotations

import dpkt
import pytest

from lyncdump.media.rtcp import ReceiverReport, SenderReport, SourceDescription, parse_rtcp
from tests.conftest import corpus_dir

CORPUS = corpus_dir()
pytestmark = pytest.mark.skipif(CORPUS is None, reason="corpus folder not present")

# (packet types, sender SSRC, fraction lost, cumulative lost, jitter) per datagram, from tshark
TSHARK = [
    ((200, 202), 0x5D931534, 0, 1, 0),
    ((201, 202), 0x01932DB4, 1, 1, 1),
    ((200, 202), 0x5D931534, 0, 1, 0),
    ((201, 202), 0x01932DB4, 0, 1, 6),
    ((200, 202), 0x5D931534, 0, 1, 0),
]


def test_compounds_match_tshark() -> None:
    assert CORPUS is not None
    with open(CORPUS / "rtcp_multiple_pkts_in_the_same_datagram.pcap", "rb") as fh:
        payloads = [bytes(dpkt.sll.SLL(buf).data.data.data) for _ts, buf in dpkt.pcap.Reader(fh)]
    assert len(payloads) == len(TSHARK)
    for data, (types, sender, fraction, cumulative, jitter) in zip(payloads, TSHARK, strict=True):
        packets = parse_rtcp(data)
        report, sdes = packets
        assert isinstance(sdes, SourceDescription) and sdes.chunks[0][0] == sender
        kind = SenderReport if types[0] == 200 else ReceiverReport
        assert isinstance(report, kind) and report.ssrc == sender
        (block,) = report.reports
        assert (block.fraction_lost, block.cumulative_lost, block.jitter) == (
            fraction,
            cumulative,
            jitter,
        )
