"""analysis/ice.py and the STUN pipeline on the lync-turn-tcp443 sample: pseudo-TLS on 443 is
not TLS, MS-TURN framing is cut, allocations, transactions, integrity and ICE nomination.

tshark 4.0.17 on the same capture: TLS "Client Hello"/"Server Hello, Server Hello Done" then
"Ignored Unknown Record" on 443, and only the 3 UDP STUN messages (frames 25-27) — it misses
the 8 MS-TURN messages on TCP and the 2 ICE checks inside them.
"""

from __future__ import annotations

import io
from pathlib import Path

from scenario_turn import PEER_PWD, PEER_UFRAG, ice_answer, ice_check, turn_tcp443

import lyncdump
from lyncdump.analysis.ice import IceAnalyzer
from lyncdump.media import stun as s


def _capture() -> lyncdump.api.Capture:
    data = turn_tcp443().pcap_bytes()
    return lyncdump.api.Capture(
        io.BytesIO(data), lyncdump.api.Options(stun_passwords=("edge-credential",))
    ).run()


def test_pseudo_tls_connection_is_media_not_tls() -> None:
    cap = _capture()
    messages = cap.stun_messages()
    assert [c.protocol for c in cap.connections] == ["stun-turn"]
    tcp = [m for m in messages if m.transport == "TCP"]
    assert len(tcp) == 8  # all missed by tshark
    assert [m.name for m in tcp][:4] == [
        "Allocate request",
        "Allocate error response",
        "Allocate request",
        "Allocate success response",
    ]
    assert not [d for d in cap.defects]


def test_allocation_and_relayed_media() -> None:
    cap = _capture()
    (alloc,) = cap.allocations()
    assert alloc.transport == "TCP" and alloc.state == "allocated"
    assert [str(r) for r in alloc.relayed] == ["198.51.100.10:55000"]
    assert str(alloc.mapped) == "192.0.2.77:61000"
    assert alloc.lifetime == 480 and alloc.bandwidth == 2000 and alloc.realm == "rtcmedia"
    assert str(alloc.active_destination) == "203.0.113.50:40000"
    (traffic,) = alloc.peers.values()
    assert traffic.kinds == {"rtp": 6, "stun": 2}
    assert cap.media is not None
    assert cap.media.expected_media[(bytes([198, 51, 100, 10]), 55000)] == "turn-relayed"


def test_integrity_with_sdp_password_and_stun_password() -> None:
    cap = _capture()
    by = {(m.frame, m.name): m for m in cap.stun_messages()}
    assert by[(14, "Binding request")].integrity == "valid"  # key: the peer's a=ice-pwd
    assert by[(14, "Binding request")].fingerprint == "valid"
    assert by[(12, "Allocate request")].integrity == "valid"  # --stun-password, SHA-256
    assert by[(8, "Allocate request")].integrity == "absent"


def test_transactions_rtt_and_retransmissions() -> None:
    cap = _capture()
    assert cap.media is not None
    an = cap.media.stun.analyzer
    allocate = [t for t in an.transactions.values() if t.request and t.request.frame == 8][0]
    assert allocate.outcome == "error 401 Unauthorized"
    assert round(allocate.rtt or 0, 3) == 0.02
    assert an.retransmissions == 1  # frame 27 repeats frame 26


def test_ice_nominated_pairs() -> None:
    (session,) = _capture().ice_sessions()
    assert session.ufrags == ("Lc1x", "Pe7r")
    relayed, direct = session.pairs
    assert (relayed.local_type, relayed.remote_type, relayed.via_turn) == ("relay", "host", True)
    assert relayed.nominated and direct.nominated
    assert session.path == "via Edge"  # the first nominated pair
    assert round(direct.rtt or 0, 3) == 0.02


def test_analyzer_alone_error_response_and_sdp_draft6_password() -> None:
    an = IceAnalyzer()
    an.learn_sdp(b"a=candidate:QWxpY2VVc2Vy 1 UGFzc3dvcmQ UDP 0.830 10.0.0.1 5000\r\n")
    assert b"UGFzc3dvcmQ" in an.passwords
    req = s.parse(ice_check(9, f"{PEER_UFRAG}:x", PEER_PWD))
    req.src, req.dst, req.time = (b"\x0a\x00\x00\x01", 1), (b"\x0a\x00\x00\x02", 2), 1.0
    an.message(req)
    err = s.parse(
        s.serialize(0x0111, req.transaction, [(0x0009, bytes([0, 0, 4, 87]) + b"Role Conflict")])
    )
    err.src, err.dst, err.time = req.dst, req.src, 1.5
    an.message(err)
    (session,) = an.sessions()
    (pair,) = session.pairs
    assert pair.state == "failed" and pair.errors == [(487, "Role Conflict")]
    assert session.nominated is None and session.path is None
    assert next(iter(an.transactions.values())).outcome == "error 487 Role Conflict"
    assert ice_answer  # imported helper used by the sample


def test_udp_set_active_destination_relays_raw_media() -> None:
    from scenario_turn import turn_udp

    cap = lyncdump.api.Capture(io.BytesIO(turn_udp().pcap_bytes())).run()
    ms_turn, rfc = cap.allocations()
    assert [str(r) for r in ms_turn.relayed] == ["198.51.100.10:56000", "[2001:db8::10]:56002"]
    assert ms_turn.ms_version == 4
    assert str(ms_turn.active_destination) == "203.0.113.50:40002"
    (traffic,) = ms_turn.peers.values()
    assert (traffic.packets_to_peer, traffic.packets_from_peer) == (4, 4)
    assert traffic.kinds == {"rtp": 8}
    assert {f"0x{k:04x}": str(v) for k, v in rfc.channels.items()} == {
        "0x4001": "203.0.113.50:40004"
    }
    assert rfc.peers[next(iter(rfc.peers))].kinds == {"rtp": 6}
    assert cap.media is not None
    # Raw RTP after Set Active Destination, and ChannelData RTP, reach the RTP code as the
    # relayed flows (relayed address <-> peer), not as client <-> Edge.
    flows = {(s.src, s.sport, s.dst, s.dport) for s in cap.streams()}
    relay, peer = bytes([198, 51, 100, 10]), bytes([203, 0, 113, 50])
    assert (relay, 56000, peer, 40002) in flows and (peer, 40002, relay, 56000) in flows
    assert (bytes([198, 51, 100, 20]), 49170, peer, 40004) in flows
    bwm = cap.stun_messages()[0]
    assert [f"0x{a.type:04x}" for a in bwm.attributes] == [
        "0x000f",
        "0x8008",
        "0x8056",
        "0x8058",
        "0x8059",
        "0x8068",
        "0x8055",
        "0x0008",
    ]  # as tshark 4.0.17 lists them (frame 1)


def test_libnice_ms_ice2_run_is_one_session_per_ufrag_pair() -> None:
    """libnice in MS-ICE2 mode (tools/libnice/record.sh) pads USERNAME with NULs counted in its
    length: "BizK:nV2H\\0\\0\\0" one way, "nV2H:BizK\\0\\0\\0" the other. tshark 4.0.17
    (``-T fields -e stun.att.username``) shows BizK:nV2H in frames 1, 2, 5, 6 and nV2H:BizK in
    3, 4, 7-10: one agent pair, so one session whichever side checked first."""
    from lyncdump.analysis.ice import ufrag_pair

    cap = lyncdump.analyze(Path(__file__).parent / "data" / "libnice-msice2.pcapng")
    (session,) = cap.ice_sessions()
    assert session.ufrags == ("nV2H", "BizK") and session.implementation_version == 2
    pairs = {(str(p.local), str(p.remote), p.checks, p.role, p.nominated) for p in session.pairs}
    assert pairs == {
        ("127.0.0.1:41017", "127.0.0.1:41002", 1, "controlled", False),
        ("127.0.0.1:41002", "127.0.0.1:41017", 2, "controlling", True),
    }
    assert ufrag_pair(b"BizK:nV2H\x00\x00\x00") == (b"BizK", b"nV2H")
    assert ufrag_pair(b"nV2H:") is None and ufrag_pair(None) is None
