"""Corpus: every STUN message tshark 4.0.17 finds (Auto mode) is found by lyncdump with the same
type and attribute codes, and what tshark's STUN dissector misses is counted per file."""

from __future__ import annotations

from collections import defaultdict

import pytest

import lyncdump
from tests.conftest import corpus_dir
from tests.media.stun_tshark_oracle import CLASSICSTUN, ICMP_QUOTED, TSHARK, UNKNOWN_TO_TSHARK

CORPUS = corpus_dir()
pytestmark = pytest.mark.skipif(CORPUS is None, reason="corpus folder absent")

#: Per file: (messages on the wire tshark's STUN dissector misses, of them on TCP, STUN messages
#: found inside TURN DATA / 0xFF10 frames (tshark shows none of those as stun.type)).
EXTRA = {
    # 6 MS-TURN Data Indications (0x0115, random 128-bit IDs) that only classicstun decodes.
    "teams.pcap": (6, 0, 14),
    # TCP: 12 RFC 4571-framed MS-ICE2 checks and 13 TURN-over-TCP messages; tshark finds them
    # all too, so 0 missed on TCP; inside: ICE checks in Send/Data indications and ChannelData.
    "stun.pcap": (0, 0, 47),
    "stun_tcp_multiple_msgs_same_pkt.pcap": (0, 0, 0),
    "stun_msteams_unidir.pcapng": (0, 0, 0),
    "skype-conference-call.pcap": (0, 0, 0),
    # tshark's stun.type finds none; classicstun finds these 2.
    "stun_classic.pcap": (2, 0, 0),
}


def _ours(
    name: str,
) -> tuple[dict[int, list[str]], dict[int, list[str]], list, lyncdump.api.Capture]:
    assert CORPUS is not None
    cap = lyncdump.api.Capture(str(CORPUS / name))
    messages = cap.stun_messages()
    types: dict[int, list[str]] = defaultdict(list)
    attrs: dict[int, list[str]] = defaultdict(list)
    for m in messages:
        if m.depth:
            continue
        types[m.frame or 0].append(f"0x{m.msg_type:04x}")
        attrs[m.frame or 0].extend(f"0x{a.type:04x}" for a in m.attributes)
    return types, attrs, messages, cap


@pytest.mark.parametrize("name", sorted(EXTRA))
def test_every_tshark_stun_message_found(name: str) -> None:
    types, attrs, messages, cap = _ours(name)
    oracle = dict(TSHARK.get(name, {}))
    skipped = ICMP_QUOTED.get(name, set())
    for frame, (t_types, t_attrs) in oracle.items():
        if frame in skipped:
            continue
        assert ",".join(types.get(frame, [])) == t_types, frame
        known = [a for a in attrs[frame] if int(a, 16) not in UNKNOWN_TO_TSHARK]
        assert ",".join(known) == t_attrs, frame
    classic = CLASSICSTUN.get(name, {})
    for frame, (c_type, c_attrs) in classic.items():
        assert ",".join(types[frame]) == c_type
        assert ",".join(attrs[frame]) == c_attrs
    missed, missed_tcp, inner = EXTRA[name]
    extra_frames = [f for f in types if f not in oracle]
    assert sum(len(types[f]) for f in extra_frames) == missed
    tcp_extra = [
        m for m in messages if not m.depth and m.frame in extra_frames and m.transport == "TCP"
    ]
    assert len(tcp_extra) == missed_tcp
    assert sum(1 for m in messages if m.depth) == inner
    assert not [d for d in cap.defects if d.layer in ("stun", "turn-tcp")]


def test_teams_allocations_and_ice() -> None:
    assert CORPUS is not None
    cap = lyncdump.api.Capture(str(CORPUS / "teams.pcap"))
    allocs = cap.allocations()
    granted = [a for a in allocs if a.relayed]
    # tshark -V frame 1275: MAPPED-ADDRESS 52.114.250.141:3480, XOR-MAPPED 80.181.206.72:57543.
    first = granted[0]
    assert str(first.client) == "192.168.1.6:50016"
    assert str(first.server) == "52.114.250.141:3478"
    assert [str(r) for r in first.relayed] == ["52.114.250.141:3480"]
    assert str(first.mapped) == "80.181.206.72:57543"
    assert first.lifetime == 60 and first.bandwidth == 12000 and first.ms_version == 6
    challenged = allocs[0]
    assert challenged.state == "challenged"
    assert challenged.errors[0][0] == 401
    assert challenged.realm == "rtcmedia"
    sessions = cap.ice_sessions()
    assert [x.ufrags for x in sessions] == [("FY32", "o5/I"), ("+mIv", "JFwj")]
    nominated = sessions[0].nominated
    assert nominated is not None
    assert (str(nominated.local), str(nominated.remote)) == (
        "192.168.1.6:50016",
        "93.71.110.205:16332",
    )
    assert sessions[0].path == "direct"
    # The MS-TURN Send requests' DATA (inner ICE checks) went to the peer through the relay.
    assert str(next(iter(first.peers))) == "93.71.110.205:16332"


def test_stun_pcap_channel_data_reaches_rtcp() -> None:
    assert CORPUS is not None
    cap = lyncdump.api.Capture(str(CORPUS / "stun.pcap"))
    fb = [a for a in cap.allocations() if a.channels]
    assert len(fb) == 1
    assert {f"0x{k:04x}": str(v) for k, v in fb[0].channels.items()} == {
        "0x4003": "185.170.139.1:12176"
    }
    peer = fb[0].peers[next(p for p in fb[0].peers if str(p) == "185.170.139.1:12176")]
    assert peer.kinds["rtcp"] == 11
    assert cap.media is not None
    assert cap.media.expected_media  # relayed, mapped and peer addresses were learned
