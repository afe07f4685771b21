"""Calls: signalling joined to ICE, TURN and RTP (issue 7), on the samples of captures/.

captures/lync-av-call.pcapng values were cross-checked with tshark 4.0.17 by hand:
``-Y sip`` gives INVITE at frame 6 (``-2 -V``: reassembled from segments #4, #5, #6), 200 OK
frame 18, BYE frame
312; ``-z rtp,streams`` with ``-d udp.port==3478,rtp`` is not possible for SRTP relayed raw,
so stream packet counts are the scenario's own (100 audio, 40 video per direction).
"""

from __future__ import annotations

import lyncdump
from lyncdump.analysis.calls import build_calls, conference_role

from ..conftest import CAPTURES


def _calls(name: str) -> list[lyncdump.analysis.calls.Call]:  # type: ignore[name-defined]
    return lyncdump.analyze(CAPTURES / name).calls()


def test_lync_av_call_joined_to_ice_turn_and_srtp_streams() -> None:
    (call,) = _calls("lync-av-call.pcapng")
    assert call.call_id == "8c1f3a52b7d94e06a1c2d3e4f5a6b7c8"
    assert (call.caller, call.callee) == ("sip:alice@contoso.com", "sip:bob@fabrikam.com")
    assert call.state == "completed" and call.end_reason == "BYE from caller"
    assert call.kind == "call" and call.modalities == ["audio", "video"]
    assert call.ice_version == "19"
    assert round(call.answer_time - call.start, 4) == 1.9896 == round(call.setup_time, 4)
    assert round(call.duration, 4) == 2.5  # talk time: 200 OK to BYE
    assert call.findings == [] and call.ambiguous == []
    assert (call.messages[0].first_frame, call.messages[0].frame) == (4, 6)
    audio, video = call.media
    assert (str(audio.offer_address), str(audio.answer_address)) == (
        "198.51.100.10:56000", "203.0.113.50:40000",
    )  # fmt: skip
    assert video.codecs == ["X-H264UC/90000"]
    assert [i.ufrags for i in call.ice] == [("Au1x", "Pa7r"), ("Vi2x", "Pv8r")]
    pair = call.nominated
    assert pair is not None and call.path == "via Edge"
    assert (str(pair.local), str(pair.remote)) == ("198.51.100.10:56000", "203.0.113.50:40000")
    assert [(a.transport, str(a.server)) for a in call.allocations] == [
        ("UDP", "198.51.100.10:3478"), ("TCP", "198.51.100.10:443"),
    ]  # fmt: skip
    streams = {(st.ssrc, st.packets, st.srtp_decrypted) for st in call.streams}
    assert streams == {(0x1001, 100, 100), (0x5005, 100, 100), (2000, 40, 40), (3000, 40, 40)}


def test_cancelled_and_completed_calls_of_the_udp_sample() -> None:
    calls = {c.call_id: c for c in _calls("sip-udp-call.pcap")}
    done = calls["call-1@192.168.1.50"]
    assert done.state == "completed" and done.end_reason == "BYE from callee"
    assert len(done.streams) == 2
    cancelled = calls["call-2@192.168.1.50"]
    assert cancelled.state == "cancelled"
    assert cancelled.end_reason == "CANCEL, 487 Request Terminated"
    assert cancelled.media[0].state == "offered" and cancelled.streams == []
    assert cancelled.duration is None and cancelled.final_status == 487


def test_rejected_call_carries_ms_diagnostics() -> None:
    (call,) = _calls("quirks.server.log")
    assert call.state == "rejected"
    assert call.end_reason == (
        "504 Server time-out; ms-diagnostics 1010 Certificate trust with another server "
        "could not be established"
    )


def test_conference_join_is_told_from_a_call() -> None:
    (call,) = _calls("lync-conference-c3p.pcapng")
    assert call.kind == "conference" and call.conference_role == "focus"
    assert conference_role("sip:a@x;gruu;opaque=app:conf:audio-video:id:7Q") == "AV MCU"
    assert conference_role("sip:a@x;gruu;opaque=app:conf:applicationsharing:id:1") == "AS MCU"
    assert conference_role("sip:bob@fabrikam.com") is None


def test_unlabelled_stream_joins_the_call_by_address_and_time() -> None:
    cap = lyncdump.analyze(CAPTURES / "sip-udp-call.pcap")
    streams = cap.streams()
    for st in streams:
        st.call_id = None  # as if no SDP had labelled them
    calls = build_calls(cap.sessions(), streams)
    by_id = {c.call_id: c for c in calls}
    assert len(by_id["call-1@192.168.1.50"].streams) == 2
    # same offer address, but the streams began before call-2's INVITE
    assert by_id["call-2@192.168.1.50"].streams == []
    assert {st.call_id for st in streams} == {"call-1@192.168.1.50"}
    assert {st.join_rule for st in streams} == {"both ends"}


def test_allocation_joined_by_its_permissions_alone() -> None:
    """A TURN allocation whose relayed address is not in the SDP (e.g. the far end's Edge) still
    relays the call when CreatePermission / Send named one of the call's addresses."""
    from lyncdump.analysis.ice import Allocation
    from lyncdump.model import Endpoint

    cap = lyncdump.analyze(CAPTURES / "lync-av-call.pcapng")
    far_edge = Allocation(
        id=99,
        client=Endpoint("203.0.113.50", 50000),
        server=Endpoint("203.0.113.1", 3478),
        transport="UDP",
        flavor="ms-turn",
        state="allocated",
        relayed=[Endpoint("203.0.113.1", 61000)],
        permissions=[Endpoint("192.0.2.200", 1), Endpoint("198.51.100.10", 56000)],
    )
    (call,) = build_calls(cap.sessions(), cap.streams(), cap.ice_sessions(), [far_edge])
    assert [a.id for a in call.allocations] == [99]
    assert call.permissions == {99: [Endpoint("198.51.100.10", 56000)]}
    from lyncdump.render.calls import call_to_dict, summary_lines

    record = call_to_dict(call)
    assert record["allocations"][0]["call_permissions"] == ["198.51.100.10:56000"]
    assert any("permissions for 198.51.100.10:56000" in line for line in summary_lines(call))


def test_mos_is_for_speech_only() -> None:
    (call,) = _calls("lync-av-call.pcapng")
    mos = {st.ssrc: st.mos for st in call.streams}
    assert mos[2000] is None and mos[3000] is None  # X-H264UC video: the E-model rates speech
    assert mos[0x1001] is not None and mos[0x1001] > 4.0


# -- outcomes and findings on captures built for them (helpers of test_media_join) ------------


def test_bye_never_answered_counts_its_retransmissions() -> None:
    from .test_media_join import PROXY, RELAY, Net, _msg, _sdp, call

    net = Net()
    call(net, 0.0, "b", _sdp("10.0.0.1", 20000), _sdp("10.0.0.2", 30000))
    for i in range(4):  # the BYE and three retransmissions (same branch), never answered
        net.sip(2.0 + 0.5 * 2**i, PROXY, RELAY,
                _msg("BYE sip:b@x SIP/2.0", "b", "2 BYE", "f", "t1", "", "z9hG4bKbye"))  # fmt: skip
    (c,) = net.analyze().calls()
    assert c.state == "BYE unanswered"
    assert c.end_reason == "BYE from caller, never answered (3 retransmissions)"
    # talk time: from the 200 OK (+0.05 s) to the first BYE (+2.5 s)
    assert c.bye_retransmissions == 3 and round(c.duration, 2) == 2.45  # type: ignore[arg-type]


def test_invite_never_answered_and_request_timeout() -> None:
    from .test_media_join import PROXY, RELAY, Net, _msg, _sdp

    net = Net()
    offer = _sdp("10.0.0.1", 20000)
    for i in range(3):
        net.sip(0.5 * i, PROXY, RELAY, _msg("INVITE sip:b@x SIP/2.0", "lost", "1 INVITE", "f",
                                            None, offer, "z9hG4bKlost"))  # fmt: skip
    net.sip(0.0, PROXY, RELAY, _msg("INVITE sip:b@x SIP/2.0", "slow", "1 INVITE", "f", None,
                                    offer, "z9hG4bKslow"))  # fmt: skip
    net.sip(0.1, RELAY, PROXY, _msg("SIP/2.0 183 Session Progress", "slow", "1 INVITE", "f",
                                    "t1", _sdp("10.0.0.2", 30000), "z9hG4bKslow"))  # fmt: skip
    net.sip(32.0, RELAY, PROXY, _msg("SIP/2.0 408 Request Timeout", "slow", "1 INVITE", "f",
                                     "t1", "", "z9hG4bKslow"))  # fmt: skip
    calls = {c.call_id: c for c in net.analyze().calls()}
    lost, slow = calls["lost"], calls["slow"]
    assert (lost.state, lost.end_reason) == (
        "no answer", "INVITE never answered; no response at all, 2 retransmissions",
    )  # fmt: skip
    assert lost.invite_retransmissions == 2 and lost.duration is None
    assert (slow.state, slow.end_reason, slow.final_status) == (
        "rejected", "408 Request Timeout", 408,
    )  # fmt: skip
    assert round(slow.setup_time, 1) == 32.0  # type: ignore[arg-type]


def test_rtp_where_srtp_was_negotiated() -> None:
    import base64

    from .test_media_join import Net, _sdp, call

    key = base64.b64encode(bytes(range(30))).decode()
    crypto = f"a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:{key}"
    offer = _sdp("10.0.0.1", 20000, crypto).replace("RTP/AVP", "RTP/SAVP")
    answer = _sdp("10.0.0.2", 30000, crypto).replace("RTP/AVP", "RTP/SAVP")
    net = Net()
    call(net, 0.0, "s", offer, answer, bye=3.0)
    net.rtp(0.2, ("10.0.0.1", 20000), ("10.0.0.2", 30000), 0xF1)  # plain RTP, no auth tag
    (c,) = net.analyze().calls()
    kinds = [f.kind for f in c.findings]
    assert kinds == ["RTP where SRTP was negotiated", "one-way audio"]
    assert c.findings[0].detail.startswith("none of the 50 packets 10.0.0.1:20000 → 10.0.0.2:30000")
