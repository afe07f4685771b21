"""Endpoint roles (report/roles.py) from what the decoders learned."""

from __future__ import annotations

from lyncdump import open as open_capture
from lyncdump.analysis.calls import build_calls
from lyncdump.analysis.ice import Allocation
from lyncdump.analysis.sessions import SessionBuilder
from lyncdump.model import Endpoint
from lyncdump.report.roles import RoleBook, endpoint_roles, host_of
from lyncdump.sip.message import parse_message

from ..conftest import CAPTURES


def _msg(text: str, src: str, dst: str, frame: int):
    m = parse_message(text.replace("\n", "\r\n").encode(), datagram=True)
    host, port = src.rsplit(":", 1)
    m.src = Endpoint(host, int(port))
    host, port = dst.rsplit(":", 1)
    m.dst = Endpoint(host, int(port))
    m.frame = frame
    m.time = float(frame)
    return m


REGISTER = """REGISTER sip:contoso.com SIP/2.0
Via: SIP/2.0/TLS 10.0.1.20:50500;branch=z9hG4bK1
From: <sip:alice@contoso.com>;tag=a
To: <sip:alice@contoso.com>
Call-ID: reg-1
CSeq: 1 REGISTER
Content-Length: 0

"""


def test_host_of_addresses() -> None:
    assert host_of("10.0.0.1:5061") == "10.0.0.1"
    assert host_of("[2001:db8::1]:5061") == "[2001:db8::1]"
    assert host_of(Endpoint("2001:db8::1", 5061)) == "[2001:db8::1]"
    assert host_of("frontend.contoso.com") == "frontend.contoso.com"
    assert host_of(None) is None


def test_register_names_client_and_front_end() -> None:
    builder = SessionBuilder()
    builder.add(_msg(REGISTER, "10.0.1.20:50500", "10.0.0.10:5061", 1))
    roles = endpoint_roles(builder.sessions())
    assert roles == {"10.0.1.20": "client", "10.0.0.10": "Front End"}


def test_turn_server_and_relay_are_the_edge_and_beat_weaker_roles() -> None:
    a = Allocation(1, Endpoint("10.0.1.20", 50020), Endpoint("198.51.100.10", 3478), "UDP", "ms")
    a.relayed.append(Endpoint("198.51.100.11", 56000))
    book = RoleBook()
    builder = SessionBuilder()
    # a REGISTER sent to the Edge (a remote user): the Edge stays the Edge
    builder.add(_msg(REGISTER, "10.0.1.20:50500", "198.51.100.10:443", 1))
    for s in builder.sessions():
        book.session(s)
    book.allocation(a)
    assert book.roles() == {
        "10.0.1.20": "client",
        "198.51.100.10": "Edge",
        "198.51.100.11": "Edge",
    }


def test_proxy_between_two_hosts() -> None:
    builder = SessionBuilder()
    text = REGISTER.replace("REGISTER sip:contoso.com", "OPTIONS sip:bob@contoso.com")
    text = text.replace("CSeq: 1 REGISTER", "CSeq: 1 OPTIONS").replace("reg-1", "opt-1")
    builder.add(_msg(text, "10.0.1.20:50500", "10.0.0.10:5061", 1))
    builder.add(_msg(text.replace("z9hG4bK1", "z9hG4bK2"), "10.0.0.10:5061", "10.0.2.30:5061", 2))
    assert endpoint_roles(builder.sessions()) == {"10.0.0.10": "proxy"}


def test_sample_call_via_edge() -> None:
    cap = open_capture(str(CAPTURES / "lync-av-call.pcapng"))
    calls = build_calls(cap.sessions(), cap.streams(), cap.ice_sessions(), cap.allocations())
    roles = endpoint_roles(cap.sessions(), calls, cap.allocations())
    assert roles["10.0.1.20"] == "client"
    assert roles["198.51.100.10"] == "Edge"  # TURN server and relayed address
    assert roles["203.0.113.50"] == "peer"  # the answer's media
    assert roles["10.0.0.10"] == "Front End"  # where the INVITE went


def test_conference_leg_names_the_av_mcu() -> None:
    from lyncdump.analysis.calls import Call
    from lyncdump.analysis.offer_answer import NegotiatedMedia
    from lyncdump.analysis.sessions import Session

    invite = _msg(
        REGISTER.replace("REGISTER sip:contoso.com", "INVITE sip:alice@contoso.com;gruu;"
                         "opaque=app:conf:audio-video:id:7QK4").replace("1 REGISTER", "1 INVITE"),
        "10.1.2.50:51700", "10.1.1.10:5061", 1,
    )  # fmt: skip
    call = Call("conf-1", Session("conf-1", [invite]), conference_role="AV MCU")
    call.media = [
        NegotiatedMedia(0, "audio", "RTP/SAVP", Endpoint("10.1.2.50", 50010),
                        Endpoint("10.1.1.40", 49152)),
    ]  # fmt: skip
    roles = endpoint_roles((), [call])
    assert roles == {"10.1.2.50": "client", "10.1.1.40": "AV MCU", "10.1.1.10": "Front End"}


def test_conference_focus_sample() -> None:
    cap = open_capture(str(CAPTURES / "lync-conference-c3p.pcapng"))
    calls = build_calls(cap.sessions(), cap.streams(), cap.ice_sessions(), cap.allocations())
    assert [c.conference_role for c in calls] == ["focus"]
    roles = endpoint_roles(cap.sessions(), calls, cap.allocations())
    assert roles == {"10.1.2.50": "client", "10.1.1.10": "Front End"}
