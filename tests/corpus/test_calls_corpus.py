"""Every SIP call of the corpus is found with its streams attached (issue 7).

tshark 4.0.17 has no ``-z voip,calls`` (VoIP Calls is a GUI dialog), so the oracle is what
that dialog is built from, run by hand: the INVITE dialogs of
``tshark -Y 'sip.Method == "INVITE" || sip.Status-Code >= 200' -T fields -e sip.Call-ID ...``
and the streams of ``tshark -z rtp,streams`` with ``rtp.setup-frame`` (the SIP frame whose SDP
set each stream up; it names the call). The values are written below.
"""

from __future__ import annotations

import pytest

import lyncdump
from tests.conftest import corpus_dir

CORPUS = corpus_dir()
pytestmark = pytest.mark.skipif(CORPUS is None, reason="corpus folder not present")

#: file -> {Call-ID: (final INVITE status or None, {(src, dst, ssrc, packets)})}
EXPECTED = {
    "SIP_CALL_RTP_G711": {
        # setup frames 1 and 498 (INVITE, 200 OK of this Call-ID)
        "12013223@200.57.7.195": (200, {
            ("200.57.7.204:8000", "200.57.7.196:40376", 0xD2BD4E3E, 548),
            ("200.57.7.196:40376", "200.57.7.204:8000", 0x58F33DEA, 891),
        }),
        # 100, 180, no final; the 0x2E3D stream of tshark is set up by MGCP (frame 2945)
        "12015624@200.57.7.195": (None, set()),
    },
    "sip-rtp-g711.pcap": {
        "1-1966@10.0.2.20": (200, {("10.0.2.15:27942", "10.0.2.20:6000", 0x343DA99B, 425)}),
        "1-1968@10.0.2.20": (200, {("10.0.2.15:28102", "10.0.2.20:6000", 0x343FFA34, 414)}),
    },
    "SIP_DTMF2.cap": {
        "5514@192.168.105.110": (603, set()),
        "25672@192.168.105.110": (200, {
            ("192.168.105.172:4376", "192.168.105.110:4376", 0x5711BF84, 666),
            ("192.168.105.110:4374", "192.168.105.172:4376", 0x9A7B5382, 665),
        }),
    },
    "sip-over-tcp.pcap": {
        "158936656982201062716@10.33.6.100": (200, {
            ("10.33.6.100:6000", "10.33.6.101:6050", 0x5A3361B3, 24),
            ("10.33.6.101:6050", "10.33.6.100:6000", 0x42F433D4, 42),
        }),
    },
    "Asterisk_ZFONE_XLITE.pcap": {
        # 401 then the authenticated INVITE answered 200; re-INVITE at frame 1036
        "ZDYzOWVlNjEwM2NjZTBjNzliNmM1ZTNiOGZjNWFhN2E.": (200, {
            ("192.168.10.40:49848", "192.168.10.41:64508", 0xB72A7104, 790),
            ("192.168.10.41:64508", "192.168.10.40:49848", 0xBEE0F2ED, 205),
            ("192.168.10.41:64508", "192.168.10.2:18874", 0xBEE0F2ED, 2),
        }),
    },
    "b2bua-asterisk.pcapng": {
        # tshark sets both streams up by frame 37, the re-INVITE of the first leg (the newest
        # SDP naming their addresses). Asterisk re-INVITEd both its legs to point at each
        # other (frames 35 and 37, 7 ms apart; answers 38 and 41): each leg negotiated this
        # media, so it is on both legs (rule "B2BUA legs").
        "M2Q0ZDc1ZGM1NzIyMTlhZTA3NDU3NTgzMzA5YmJmZWQ.": (200, {
            ("172.16.98.145:8000", "172.16.98.1:8000", 0x6AB21E82, 355),
            ("172.16.98.1:8000", "172.16.98.145:8000", 0x44830D58, 1),
        }),
        "37686afc57ce24ac655742b3644a7bb8@172.16.98.101:5060": (200, {
            ("172.16.98.145:8000", "172.16.98.1:8000", 0x6AB21E82, 355),
            ("172.16.98.1:8000", "172.16.98.145:8000", 0x44830D58, 1),
        }),
    },
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_call_found_with_its_streams(name: str) -> None:
    assert CORPUS is not None
    calls = {c.call_id: c for c in lyncdump.analyze(CORPUS / name).calls()}
    expected = EXPECTED[name]
    assert set(calls) == set(expected)
    for call_id, (final, streams) in expected.items():
        call = calls[call_id]
        got = {(str(st.source), str(st.destination), st.ssrc, st.packets) for st in call.streams}
        assert got == streams, call_id
        if final is None:
            assert call.state == "no answer"
        elif final < 300:
            assert call.answer_time is not None
        else:
            assert call.state == "rejected" and call.end_reason.startswith(str(final))


def test_states_and_negotiation_on_the_corpus() -> None:
    assert CORPUS is not None
    (call,) = lyncdump.analyze(CORPUS / "sip-over-tcp.pcap").calls()
    assert call.state == "completed" and call.end_reason == "BYE from callee"
    (audio,) = call.media
    # tshark: sdp.media "audio 6000 RTP/AVP 8 13 101" offered, answered from 10.33.6.101:6050
    assert str(audio.offer_address) == "10.33.6.100:6000"
    assert str(audio.answer_address) == "10.33.6.101:6050"
    assert audio.codecs == ["PCMA/8000", "CN/8000", "telephone-event/8000"]
    asterisk = lyncdump.analyze(CORPUS / "Asterisk_ZFONE_XLITE.pcap").calls()[0]
    kinds = [(e.kind, e.state) for e in asterisk.exchanges]
    assert kinds == [("initial", "rejected (401)"), ("initial", "answered"),
                     ("re-INVITE", "answered")]  # fmt: skip
    dtmf = {c.call_id: c for c in lyncdump.analyze(CORPUS / "SIP_DTMF2.cap").calls()}
    assert dtmf["5514@192.168.105.110"].end_reason == "603 Decline"


def test_call_export_matches_tshark_selection(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """tshark -Y 'sip.Call-ID=="1-1966@10.0.2.20" || (udp.port==27942 && udp.port==6000)'
    on sip-rtp-g711.pcap selects 431 frames: the call's 6 SIP messages and its RTP flow."""
    from lyncdump.capture.writer import write_call

    assert CORPUS is not None
    calls = {c.call_id: c for c in lyncdump.analyze(CORPUS / "sip-rtp-g711.pcap").calls()}
    out = tmp_path / "call.pcapng"
    assert write_call(CORPUS / "sip-rtp-g711.pcap", out, calls["1-1966@10.0.2.20"]) == 431
    again = lyncdump.analyze(out)
    assert [c.call_id for c in again.calls()] == ["1-1966@10.0.2.20"]
    assert [st.packets for st in again.streams()] == [425]


def test_outcomes_findings_and_join_rules_on_the_corpus() -> None:
    """Outcomes as signalling says them (tshark -Y sip: 12015624 gets 100 and 180 and no final
    response; SIP_DTMF2's answered call and SIP_CALL_RTP_G711's have no BYE in the capture;
    c07-sip-r2's INVITE gets no response at all), and the b2bua legs sharing their media."""
    assert CORPUS is not None

    def calls(name: str) -> dict[str, lyncdump.analysis.calls.Call]:  # type: ignore[name-defined]
        return {c.call_id: c for c in lyncdump.analyze(CORPUS / name).calls()}

    g711 = calls("SIP_CALL_RTP_G711")
    ringing = g711["12015624@200.57.7.195"]
    assert ringing.state == "no answer"
    assert ringing.end_reason == "INVITE never answered; last 180 Ringing"
    up = g711["12013223@200.57.7.195"]
    assert (up.state, up.end_reason) == ("in call", "no BYE before the capture ends")
    assert up.duration is not None and up.duration > 20 and up.findings == []
    (lost,) = calls("c07-sip-r2.cap").values()
    assert lost.end_reason == "INVITE never answered; no response at all"
    dtmf = calls("SIP_DTMF2.cap")["25672@192.168.105.110"]
    # The PBX at .110 names its own ports on both sides; the phone at .172 is in no SDP of
    # this dialog (the other leg was not captured): media from an unannounced address, but
    # RTP flows both ways between the two hosts, so no one-way audio.
    assert [f.kind for f in dtmf.findings] == ["unannounced media address"]
    assert {st.join_rule for st in dtmf.streams} == {"one end"}
    for leg in calls("b2bua-asterisk.pcapng").values():
        assert {(st.join_rule, st.candidate_calls) for st in leg.streams} == {
            ("B2BUA legs", ("M2Q0ZDc1ZGM1NzIyMTlhZTA3NDU3NTgzMzA5YmJmZWQ.",
                            "37686afc57ce24ac655742b3644a7bb8@172.16.98.101:5060")),
        }  # fmt: skip
