"""IM conversations from captures/lync-im-conversation.pcapng and lync-signin-tcp.pcapng."""

from __future__ import annotations

import lyncdump
from lyncdump.analysis.im import im_text
from lyncdump.sip.message import parse_message

from ..conftest import CAPTURES


def test_conversation_events_and_delivery() -> None:
    (conv,) = lyncdump.open(str(CAPTURES / "lync-im-conversation.pcapng")).conversations()
    assert conv.participants == ["sip:alice@contoso.com", "sip:bob@contoso.com"]
    assert conv.endpoints == ["sip:alice@contoso.com", "sip:bob@contoso.com"]
    assert conv.conversation_id == "27bc7453-2f76-2e4f-b1a3-9cd577a24176"
    assert conv.message_count == 4
    start = conv.start or 0.0
    assert [
        (round((e.time or 0) - start, 2), e.sender, e.kind, e.text, e.content_type, e.status)
        for e in conv.events
    ] == [
        (
            0.0,
            "sip:alice@contoso.com",
            "message",
            "Hi Bob, got a minute for the Q1 numbers?",
            "text/plain",
            "delivered 200",
        ),
        (1.99, "sip:bob@contoso.com", "typing", None, None, None),
        (
            4.99,
            "sip:bob@contoso.com",
            "message",
            "Sure - call me in 5?",
            "text/plain",
            "delivered 200",
        ),
        (
            5.99,
            "sip:alice@contoso.com",
            "message",
            "Perfect, thanks & talk soon",
            "text/html",
            "delivered 200",
        ),
        (6.99, "sip:alice@contoso.com", "message", "(one more thing)", "text/plain", "failed 480"),
    ]


def test_signin_sample_conversation() -> None:
    (conv,) = lyncdump.open(str(CAPTURES / "lync-signin-tcp.pcapng")).conversations()
    assert [(e.kind, e.text) for e in conv.events] == [
        ("message", "hello"),
        ("typing", None),
        ("message", "are you joining the 10:00 review?"),
    ]


def _message(ctype: str, body: str) -> bytes:
    return (
        "MESSAGE sip:b@c SIP/2.0\r\nVia: SIP/2.0/TLS h;branch=z9hG4bK1\r\nFrom: <sip:a@c>;tag=1\r\n"
        f"To: <sip:b@c>\r\nCall-ID: x\r\nCSeq: 1 MESSAGE\r\nContent-Type: {ctype}\r\n"
        f"Content-Length: {len(body.encode())}\r\n\r\n{body}"
    ).encode()


def test_body_kinds() -> None:
    rtf = r"{\rtf1\fbidis\ansi\ansicpg1252{\fonttbl{\f0\fswiss Segoe UI;}}{\*\lyncflags<rtf=1>}\f0\fs20 Hello \b there\b0\par}"  # noqa: E501
    assert im_text(parse_message(_message("text/rtf", rtf))) == ("text/rtf", "Hello there")
    multi = (
        "--b1\r\nContent-Type: text/html\r\n\r\n<p>x</p>\r\n"
        "--b1\r\nContent-Type: text/plain\r\n\r\nplain wins\r\n--b1--\r\n"
    )
    assert im_text(parse_message(_message("multipart/alternative;boundary=b1", multi))) == (
        "text/plain",
        "plain wins",
    )
    assert im_text(parse_message(_message("application/xml", "<KeyboardActivity/>"))) is None


def _req(method: str, cseq: int, ctype: str, body: str, sender: str = "alice") -> bytes:
    return (
        f"{method} sip:x@c SIP/2.0\r\nVia: SIP/2.0/TLS h;branch=z9hG4bK{method}{cseq}\r\n"
        f"From: <sip:{sender}@c>;tag=1\r\nTo: <sip:b@c>;tag=2\r\nCall-ID: conf-im\r\n"
        f"CSeq: {cseq} {method}\r\nContent-Type: {ctype}\r\n"
        f"Content-Length: {len(body.encode())}\r\n\r\n{body}"
    ).encode()


def test_imdn_and_typing_stop_events() -> None:
    from lyncdump.analysis.im import analyze_conversation
    from lyncdump.analysis.sessions import SessionBuilder

    builder = SessionBuilder()
    for i, raw in enumerate(
        (
            _req("MESSAGE", 1, "text/plain", "hi all"),
            _req(
                "INFO",
                2,
                "application/xml",
                '<KeyboardActivity><status status="idle"/></KeyboardActivity>',
            ),  # noqa: E501
            _req(
                "BENOTIFY",
                3,
                "application/ms-imdn+xml",
                '<imdn xmlns="http://schemas.microsoft.com/rtc/2005/08/imdn"><message-id>7</message-id>'
                '<recipient uri="sip:bob@c"><status>200</status></recipient></imdn>',
                "mcu",
            ),
        )
    ):
        m = parse_message(raw)
        m.time = float(i)
        builder.add(m)
    (session,) = builder.sessions()
    conv = analyze_conversation(session)
    assert [(e.kind, e.text, e.status) for e in conv.events] == [
        ("message", "hi all", "no answer"),
        ("stopped typing", None, None),
        ("delivery", "IM delivery: sip:bob@c 200", None),
    ]
