"""RFC 3264 offer/answer over a dialog: initial, early media, offer in the 200 (answer in
ACK), UPDATE, refused re-INVITE, and which multipart/alternative part a Lync answer chose."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

import lyncdump
from lyncdump.analysis.offer_answer import choose_part, current_media, negotiate, sdp_parts
from lyncdump.sip.message import SipMessage, parse_message

from ..conftest import CAPTURES


def _sdp(ip: str, port: int, pts: str = "0 8", extra: str = "") -> str:
    return (
        f"v=0\r\no=- 1 1 IN IP4 {ip}\r\ns=-\r\nc=IN IP4 {ip}\r\nt=0 0\r\n"
        f"m=audio {port} RTP/AVP {pts}\r\n{extra}"
    )


def _msg(start: str, cseq: str, sdp: str = "", frame: int = 1) -> SipMessage:
    head = (
        f"{start}\r\nVia: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bK{cseq.replace(' ', '')}\r\n"
        "From: <sip:a@x>;tag=1\r\nTo: <sip:b@x>\r\nCall-ID: oa-1\r\n"
        f"CSeq: {cseq}\r\n"
    )
    if sdp:
        head += f"Content-Type: application/sdp\r\nContent-Length: {len(sdp)}\r\n\r\n{sdp}"
    else:
        head += "Content-Length: 0\r\n\r\n"
    m = parse_message(head.encode())
    m.frame = frame
    m.time = float(frame)
    return m


def test_initial_offer_early_answer_then_update_and_refused_reinvite() -> None:
    msgs = [
        _msg("INVITE sip:b@x SIP/2.0", "1 INVITE", _sdp("10.0.0.1", 5000), 1),
        _msg("SIP/2.0 183 Session Progress", "1 INVITE", _sdp("10.0.0.2", 6000, "8"), 2),
        _msg("SIP/2.0 200 OK", "1 INVITE", _sdp("10.0.0.2", 6000, "8"), 3),
        _msg("ACK sip:b@x SIP/2.0", "1 ACK", "", 4),
        _msg("UPDATE sip:b@x SIP/2.0", "2 UPDATE", _sdp("10.0.0.1", 5002, "0"), 5),
        _msg("SIP/2.0 200 OK", "2 UPDATE", _sdp("10.0.0.2", 6002, "0"), 6),
        _msg("INVITE sip:b@x SIP/2.0", "3 INVITE", _sdp("10.0.0.1", 5004, "9"), 7),
        _msg("SIP/2.0 488 Not Acceptable Here", "3 INVITE", "", 8),
    ]
    exchanges = negotiate(msgs)
    assert [(e.kind, e.state) for e in exchanges] == [
        ("initial", "early"), ("UPDATE", "answered"), ("re-INVITE", "rejected (488)"),
    ]  # fmt: skip
    first = exchanges[0]
    assert first.answer is msgs[1] and first.early  # the 183 answered; the 200 repeats it
    (m,) = first.media
    assert (str(m.offer_address), str(m.answer_address)) == ("10.0.0.1:5000", "10.0.0.2:6000")
    assert m.offered_codecs == ["PCMU/8000", "PCMA/8000"] and m.codecs == ["PCMA/8000"]
    # The refused re-INVITE leaves the UPDATE's negotiation in force.
    (now,) = current_media(exchanges)
    assert (str(now.answer_address), now.codecs) == ("10.0.0.2:6002", ["PCMU/8000"])


def test_offer_in_200_answer_in_ack() -> None:
    msgs = [
        _msg("INVITE sip:b@x SIP/2.0", "1 INVITE", "", 1),
        _msg("SIP/2.0 200 OK", "1 INVITE", _sdp("10.0.0.2", 6000, "0 8"), 2),
        _msg("ACK sip:b@x SIP/2.0", "1 ACK", _sdp("10.0.0.1", 5000, "8"), 3),
    ]
    (e,) = negotiate(msgs)
    assert e.kind == "offer-in-answer" and e.offer is msgs[1] and e.answer is msgs[2]
    assert e.media[0].codecs == ["PCMA/8000"] and e.media[0].state == "active"


def test_rejected_m_line_and_retransmission_skipped() -> None:
    offer = _msg("INVITE sip:b@x SIP/2.0", "1 INVITE", _sdp("10.0.0.1", 5000), 1)
    again = _msg("INVITE sip:b@x SIP/2.0", "1 INVITE", _sdp("10.0.0.1", 5000), 2)
    again.retransmission = True
    answer = _msg("SIP/2.0 200 OK", "1 INVITE", _sdp("10.0.0.2", 0), 3)
    (e,) = negotiate([offer, again, answer])
    assert e.media[0].state == "rejected" and e.media[0].codecs == []


def test_lync_multipart_offer_and_the_part_the_answer_chose() -> None:
    cap = lyncdump.analyze(CAPTURES / "lync-av-call.pcapng")
    (session,) = [s for s in cap.sessions() if s.kind == "call"]
    invite = session.messages[0]
    parts = sdp_parts(invite)
    # tshark 4.0.17: Content-Disposition "...; ms-proxy-2007fallback" on the first part only;
    # sdp.media = "audio 50100 RTP/SAVP 0 101", "audio 56000 ...", "video 55000 ... 122 123"
    assert [(p.fallback, p.ice_version) for p in parts] == [(True, "6"), (False, "19")]
    assert [(m.media, m.port) for p in parts for m in p.sdp.media] == [
        ("audio", 50100), ("audio", 56000), ("video", 55000),
    ]  # fmt: skip
    (e,) = negotiate(session.messages)
    assert e.chosen == 1
    assert e.chosen_part is not None and not e.chosen_part.fallback
    audio, video = e.media
    assert audio.codecs == ["PCMU/8000", "telephone-event/8000"]
    assert (audio.offer_ufrag, audio.answer_ufrag) == ("Au1x", "Pa7r")
    assert (audio.offer_candidates, audio.answer_candidates) == (4, 1)
    assert video.codecs == ["X-H264UC/90000"] and video.label == "main-video"
    assert audio.crypto_suite == "AES_CM_128_HMAC_SHA1_80"


def test_choose_part_falls_back_to_the_last_non_fallback_part() -> None:
    v6 = b"v=0\r\nc=IN IP4 10.0.0.1\r\nm=audio 1 RTP/AVP 0\r\na=candidate:u 1 p UDP 0.5 1.2.3.4 5\n"
    plain = b"v=0\r\nc=IN IP4 10.0.0.1\r\nm=audio 2 RTP/AVP 0\r\n"
    from lyncdump.analysis.offer_answer import SdpPart
    from lyncdump.sdp import parse_sdp

    parts = [SdpPart(parse_sdp(v6), True, 0), SdpPart(parse_sdp(plain), False, 1)]
    assert choose_part(parts, SdpPart(parse_sdp(v6))) == 0  # a draft-6 answer
    assert choose_part(parts, SdpPart(parse_sdp(plain))) == 1


@given(st.binary(max_size=300), st.binary(max_size=300))
def test_random_bodies_never_raise(offer: bytes, answer: bytes) -> None:
    a = _msg("INVITE sip:b@x SIP/2.0", "1 INVITE", offer.decode("latin-1"), 1)
    b = _msg("SIP/2.0 200 OK", "1 INVITE", answer.decode("latin-1"), 2)
    for e in negotiate([a, b]):
        _ = (e.state, e.chosen_part, [m.codecs for m in e.media])
