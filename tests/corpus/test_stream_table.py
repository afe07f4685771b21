"""lyncdump's stream table equals tshark's on every corpus file: every stream, every number.

Wireshark's RTP analysis only sees what its SDP dissector set up unless its ``rtp_udp``
heuristic is on; lyncdump also finds unsignalled RTP by a heuristic of its own. The oracle is
therefore ``tshark --enable-heuristic rtp_udp -q -z rtp,streams`` (4.0.17), frozen below for
every file of the corpus, files with no stream included: lyncdump must list exactly these
streams (so its heuristic invents none on UDP that is not RTP: STUN, TURN, DTLS, Skype and
Teams traffic, RTCP on its own) with the same packets, loss, delta, jitter and problem flag.
The streams tshark finds without the heuristic are ORACLES.md's (tests/media/
test_media_corpus_rtp.py); they are all in this table too.
"""

from __future__ import annotations

import pytest

import lyncdump
from tests.conftest import corpus_dir

CORPUS = corpus_dir()
pytestmark = pytest.mark.skipif(CORPUS is None, reason="corpus folder not present")

#: file -> [(src, dst, SSRC, payload, packets, lost, delta min/mean/max, jitter min/mean/max,
#: problem)]
TABLE = {
    "Asterisk_ZFONE_XLITE.pcap": [
        ("192.168.10.41:64508", "192.168.10.2:18874", 0xBEE0F2ED, "g711U", 2, 0,
         (20.427, 20.427, 20.427, 0.027, 0.027, 0.027), False),
        ("192.168.10.41:64508", "192.168.10.40:49848", 0xBEE0F2ED, "g711U", 205, 369,
         (17.818, 56.318, 4680.243, 0.138, 0.402, 1.265), True),
        ("192.168.10.40:49848", "192.168.10.41:64508", 0xB72A7104, "g711U", 790, 1,
         (0.082, 20.075, 102.076, 0.100, 0.484, 6.824), True),
    ],
    "DTMFsipinfo.pcap": [],
    "SIP_CALL_RTP_G711": [
        ("200.57.7.202:30000", "200.57.7.196:40362", 0x00002E3D, "g711A", 6, 0,
         (19.805, 22.008, 30.043, 0.012, 0.257, 0.639), False),
        ("200.57.7.196:40376", "200.57.7.204:8000", 0x58F33DEA, "g711A", 891, 0,
         (18.870, 20.498, 379.905, 0.004, 0.099, 0.251), False),
        ("200.57.7.199:4800", "200.57.7.196:40378", 0x58F33DEA, "g711A", 891, 0,
         (19.590, 20.500, 379.912, 0.001, 0.030, 0.078), False),
        ("200.57.7.196:40378", "200.57.7.199:4800", 0xD2BD4E3E, "g711A", 548, 0,
         (0.135, 44.102, 5843.747, 0.452, 2.548, 7.400), False),
        ("200.57.7.204:8000", "200.57.7.196:40376", 0xD2BD4E3E, "g711A", 548, 0,
         (0.159, 44.102, 5843.742, 0.388, 2.517, 7.407), False),
    ],
    "SIP_DTMF2.cap": [
        ("192.168.105.172:4376", "192.168.105.110:4376", 0x5711BF84,
         "g711A, telephone-event", 666, 0,
         (29.930, 30.001, 30.068, 0.002, 1.522, 15.767), False),
        ("192.168.105.110:4374", "192.168.105.172:4376", 0x9A7B5382, "g711A", 665, 2,
         (29.902, 30.092, 60.002, 0.003, 0.010, 0.019), True),
    ],
    "b2bua-asterisk.pcapng": [
        ("172.16.98.145:8000", "172.16.98.1:8000", 0x6AB21E82, "g711U", 355, 0,
         (0.069, 20.106, 52.351, 0.062, 7.361, 10.171), False),
        ("172.16.98.1:8000", "172.16.98.145:8000", 0x44830D58, "g711U", 1, 0,
         (-1.000, 0.000, 0.000, -1.000, 0.000, 0.000), False),
    ],
    "c07-sip-r2.cap": [],
    "dtmf_2833_1.pcap": [
        ("192.168.0.3:49176", "192.168.0.1:10000", 0x0E05384E, "rtpevent", 10, -2,
         (0.041, 15.548, 20.072, -1.000, 0.000, 0.000), True),
    ],
    "g711a.pcap": [
        ("10.1.3.143:5000", "10.1.6.18:2006", 0xDEE0EE8F, "g711A", 236, 0,
         (25.112, 29.998, 34.829, 0.002, 0.350, 0.829), False),
    ],
    "h263-over-rtp.pcap": [
        ("192.168.6.199:57128", "192.168.6.199:32976", 0x5482ECE0, "h263", 45, 0,
         (0.013, 18.875, 324.072, 0.001, 15.505, 32.186), False),
    ],
    "rtcp_multiple_pkts_in_the_same_datagram.pcap": [],
    "sip-488-codec-reject.pcapng": [],
    "sip-over-tcp.pcap": [
        ("10.33.6.100:6000", "10.33.6.101:6050", 0x5A3361B3, "g711A, CN", 24, 0,
         (19.838, 19.999, 20.158, 0.010, 0.039, 0.069), False),
        ("10.33.6.101:6050", "10.33.6.100:6000", 0x42F433D4, "g711A, CN", 42, 0,
         (12.659, 19.907, 23.982, 0.414, 2.304, 3.063), False),
    ],
    "sip-rtp-g711.pcap": [
        ("10.0.2.15:28102", "10.0.2.20:6000", 0x343FFA34, "g711A", 414, 0,
         (19.867, 20.000, 20.115, 0.001, 0.004, 0.019), False),
        ("10.0.2.15:27942", "10.0.2.20:6000", 0x343DA99B, "g711U", 425, 0,
         (19.957, 20.000, 20.049, 0.001, 0.006, 0.010), False),
    ],
    "skype-conference-call.pcap": [
        ("192.168.2.20:49282", "104.46.40.49:60642", 0xE074C700, "RTPType-104, RTPType-118", 31, 0,
         (8.236, 20.009, 25.884, -1.000, 0.000, 0.000), False),
    ],
    "speech_8k_ulaw.pcap": [
        ("10.0.0.60:6000", "172.20.0.30:6000", 0x12345678, "g711U", 835, 0,
         (20.000, 20.000, 20.000, 0.000, 0.000, 0.000), False),
    ],
    "stun.pcap": [
        ("192.168.12.169:49153", "142.250.82.99:3478", 0xD3F9FD82, "RTPType-111", 6, 0,
         (9.045, 18.974, 28.113, -1.000, 0.000, 0.000), False),
    ],
    "stun_classic.pcap": [
        ("172.16.63.224:55050", "172.16.63.21:13958", 0x47D66FDE, "g729", 8, 0,
         (4.979, 18.905, 35.014, 0.450, 1.479, 2.214), False),
        ("172.16.63.21:13958", "172.16.63.224:55050", 0x3AA6D922, "g729", 12, 0,
         (0.556, 15.689, 20.045, 1.215, 2.086, 2.744), False),
    ],
    "stun_msteams_unidir.pcapng": [],
    "stun_tcp_multiple_msgs_same_pkt.pcap": [],
    "teams.pcap": [
        ("93.71.110.205:16332", "192.168.1.6:50016", 0x000074EC, "RTPType-104", 18, 0,
         (9.245, 20.546, 29.240, -1.000, 0.000, 0.000), False),
    ],
}  # fmt: skip


def test_every_corpus_file_is_in_the_table() -> None:
    assert CORPUS is not None
    files = {p.name for p in CORPUS.iterdir() if p.is_file() and p.suffix != ".md"}
    assert files == set(TABLE)


@pytest.mark.parametrize("name", sorted(TABLE))
def test_stream_table_equals_tshark(name: str) -> None:
    assert CORPUS is not None
    got = {(str(s.source), str(s.destination), s.ssrc): s
           for s in lyncdump.analyze(CORPUS / name).streams()}  # fmt: skip
    want = {(src, dst, ssrc): rest for src, dst, ssrc, *rest in TABLE[name]}
    assert sorted(got) == sorted(want)
    for key, (payload, packets, lost, numbers, problem) in want.items():
        st = got[key]
        assert (st.payload, st.packets, st.lost, st.problem) == (payload, packets, lost, problem)
        mine = (st.min_delta, st.mean_delta, st.max_delta,
                st.min_jitter, st.mean_jitter, st.max_jitter)  # fmt: skip
        for a, b in zip(mine, numbers, strict=True):
            assert abs(a - b) <= 0.0015, (key, mine, numbers)
