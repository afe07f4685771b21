"""The sample logs of captures/ (written by tools/make_tracelogs.py from our sample captures)
read back to the messages of those captures.

Oracle: tshark 4.0.17 on the captures, e.g.
``tshark -r sip-udp-call.pcap -Y sip -T fields -e frame.time_epoch -e sip.Call-ID -e sip.CSeq
-e sip.Method -e sip.Status-Code -e ip.src -e udp.srcport``; its values are written below.
"""

from __future__ import annotations

import pytest

import lyncdump

from ..conftest import CAPTURES

# (time, Call-ID, CSeq, method or status, sender) per SIP frame of sip-udp-call.pcap (tshark).
TSHARK_UDP = [
    (1767225600.000, "reg-1@192.168.1.50", "1 REGISTER", "REGISTER", "192.168.1.50:5060"),
    (1767225600.012, "reg-1@192.168.1.50", "1 REGISTER", "401", "10.0.0.10:5060"),
    (1767225600.030, "reg-1@192.168.1.50", "2 REGISTER", "REGISTER", "192.168.1.50:5060"),
    (1767225600.041, "reg-1@192.168.1.50", "2 REGISTER", "200", "10.0.0.10:5060"),
    (1767225601.000, "call-1@192.168.1.50", "314159 INVITE", "INVITE", "192.168.1.50:5060"),
    (1767225601.500, "call-1@192.168.1.50", "314159 INVITE", "INVITE", "192.168.1.50:5060"),
    (1767225601.510, "call-1@192.168.1.50", "314159 INVITE", "100", "10.0.0.10:5060"),
    (1767225601.800, "call-1@192.168.1.50", "314159 INVITE", "180", "10.0.0.10:5060"),
    (1767225604.200, "call-1@192.168.1.50", "314159 INVITE", "200", "10.0.0.10:5060"),
    (1767225604.210, "call-1@192.168.1.50", "314159 ACK", "ACK", "192.168.1.50:5060"),
    (1767225606.000, "call-1@192.168.1.50", "231 BYE", "BYE", "192.168.1.77:5060"),
    (1767225606.005, "call-1@192.168.1.50", "231 BYE", "200", "192.168.1.50:5060"),
    (1767225607.000, "call-2@192.168.1.50", "1 INVITE", "INVITE", "192.168.1.50:5060"),
    (1767225607.010, "call-2@192.168.1.50", "1 INVITE", "100", "10.0.0.10:5060"),
    (1767225607.300, "call-2@192.168.1.50", "1 INVITE", "180", "10.0.0.10:5060"),
    (1767225609.000, "call-2@192.168.1.50", "1 CANCEL", "CANCEL", "192.168.1.50:5060"),
    (1767225609.010, "call-2@192.168.1.50", "1 CANCEL", "200", "10.0.0.10:5060"),
    (1767225609.020, "call-2@192.168.1.50", "1 INVITE", "487", "10.0.0.10:5060"),
    (1767225609.030, "call-2@192.168.1.50", "1 ACK", "ACK", "192.168.1.50:5060"),
    (1767225610.000, "im-1@192.168.1.50", "1 MESSAGE", "MESSAGE", "192.168.1.50:5060"),
    (1767225610.020, "im-1@192.168.1.50", "1 MESSAGE", "200", "10.0.0.10:5060"),
    (1767225611.000, "opt-1@10.0.0.10", "1 OPTIONS", "OPTIONS", "10.0.0.10:5060"),
    (1767225611.002, "opt-1@10.0.0.10", "1 OPTIONS", "200", "192.168.1.50:5060"),
    (1767225612.000, "sub-1@192.168.1.50", "1 SUBSCRIBE", "SUBSCRIBE", "192.168.1.50:5060"),
    (1767225612.010, "sub-1@192.168.1.50", "1 SUBSCRIBE", "200", "10.0.0.10:5060"),
    (1767225612.020, "sub-1@192.168.1.50", "1 NOTIFY", "NOTIFY", "10.0.0.10:5060"),
    (1767225612.030, "sub-1@192.168.1.50", "1 NOTIFY", "200", "192.168.1.50:5060"),
]
# tshark on lync-signin-tcp.pcapng: Call-ID and CSeq of the TCP SIP messages in order (frame 14
# carries two messages, the IPv6 OPTIONS pair is on another connection).
TSHARK_TCP_CSEQ = [
    ("3c1b6b0e5f8d4e7a9c2d1f0e8b7a6c5d", "1 REGISTER"),
    ("3c1b6b0e5f8d4e7a9c2d1f0e8b7a6c5d", "1 REGISTER"),
    ("3c1b6b0e5f8d4e7a9c2d1f0e8b7a6c5d", "2 REGISTER"),
    ("3c1b6b0e5f8d4e7a9c2d1f0e8b7a6c5d", "2 REGISTER"),
]


def _summary(m: lyncdump.SipMessage) -> tuple[float, str | None, str, str, str]:
    cseq = m.cseq
    assert cseq is not None and m.time is not None
    what = m.method if m.method is not None else str(m.status)
    return (round(m.time, 3), m.call_id, f"{cseq[0]} {cseq[1]}", what, str(m.src))


def test_uccapi_log_holds_every_message_of_the_capture() -> None:
    capture = lyncdump.open(CAPTURES / "sip-udp-call.uccapilog")
    messages = capture.messages()
    assert capture.format == "uccapi-log"
    assert [_summary(m) for m in messages] == TSHARK_UDP
    original = lyncdump.open(CAPTURES / "sip-udp-call.pcap").messages()
    assert [m.raw for m in messages] == [m.raw for m in original]
    assert [str(m.dst) for m in messages] == [str(m.dst) for m in original]
    assert [m.frame for m in messages] == list(range(1, 28))
    assert {m.transport for m in messages} == {"UDP"}
    assert len(capture.defects) == 0


def test_server_log_holds_what_the_registrar_saw() -> None:
    capture = lyncdump.open(CAPTURES / "sip-udp-call.server.log")
    messages = capture.messages()
    assert capture.format == "lync-server-log"
    seen = [t for t in TSHARK_UDP if t[2] != "231 BYE"]  # bob → alice directly: not via it
    # The log names the registrar by the top Via of its own requests (OPTIONS, NOTIFY):
    # 10.0.0.10:5060, as tshark sees it.
    assert [_summary(m) for m in messages] == seen
    assert capture.log_host is not None and str(capture.log_host[0]) == "10.0.0.10:5060"
    assert capture.log_host[1] == "top Via of its own messages"
    assert len(messages) == 25
    sessions = capture.sessions()
    assert [s.kind for s in sessions] == [
        "registration",
        "call",
        "call",
        "im",
        "options",
        "presence",
    ]
    # The retransmitted INVITE (tshark frame 6) is still recognised as one.
    assert [m.retransmission for m in sessions[1].messages].count(True) == 1


@pytest.mark.parametrize("name", ["lync-signin-tcp.server.log", "lync-signin-tcp.uccapilog"])
def test_tcp_sample_logs(name: str) -> None:
    capture = lyncdump.open(CAPTURES / name)
    messages = capture.messages()
    original = [
        m
        for m in lyncdump.open(CAPTURES / "lync-signin-tcp.pcapng").messages()
        if "10.0.0.10" in (m.src.ip if m.src else "", m.dst.ip if m.dst else "")
    ]
    assert len(messages) == len(original) == 19
    assert [m.raw for m in messages] == [m.raw for m in original]
    cseqs = [(m.call_id, f"{m.cseq[0]} {m.cseq[1]}") for m in messages[:4] if m.cseq]
    assert cseqs == TSHARK_TCP_CSEQ
    # Log times have millisecond resolution: tshark's 1767225600.010400 is logged as .010.
    assert messages[0].time == pytest.approx(1767225600.010, abs=1e-6)
    assert {m.transport for m in messages} == {"TCP"}
    assert len(capture.defects) == 0


def test_quirks_server_log() -> None:
    capture = lyncdump.open(CAPTURES / "quirks.server.log")
    messages = capture.messages()
    assert [(m.frame, m.method or m.status) for m in messages] == [
        (1, "INVITE"),
        (3, 504),
        (5, "ACK"),
        (6, "OPTIONS"),
    ]
    assert [(e.record, e.severity, e.result_code, e.result_name) for e in capture.log_events] == [
        (2, "warning", "0xC3E93D6F", "SIPPROXY_E_EPROUTING_MSG_ALLOWED_DOMAIN_NO_SRV_MATCH"),
        (4, "error", "0x80090325", "SEC_E_UNTRUSTED_ROOT"),
    ]
    invite = messages[0]
    assert invite.body.endswith(b"m=audio 5004 RTP/AVP 0\r\n") and len(invite.body) == 88
    assert str(invite.dst) == "sfvedge" and str(messages[2].src) == "(unknown peer)"
    assert str(messages[3].src) == "[2001:db8::10]:5061"
    assert [d.reason for d in capture.defects] == [
        "line 71: log ends inside a record (no $$end_record)",
        "2 lines outside any record skipped",
    ]


def test_quirks_uccapi_log() -> None:
    capture = lyncdump.open(CAPTURES / "quirks.uccapilog")
    messages = capture.messages()
    assert [(m.frame, m.method or m.status, len(m.raw)) for m in messages] == [
        (1, "REGISTER", 354),
        (2, 500, 301),
        (3, "MESSAGE", 282),
        (4, 200, 204),
    ]
    assert messages[2].body == b"Hello Bob\r\nsecond line"
    assert [d.reason for d in capture.defects] == [
        "line 40: End of packet marker without its start",
        "line 41: log ends inside a packet record",
        "1 line outside any record skipped",
        "1 trace line inside packet records skipped",
    ]
