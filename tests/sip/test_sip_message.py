"""parse_message on RFC 4475 torture messages, Microsoft messages, and every accessor."""

from __future__ import annotations

import pytest

from lyncdump.errors import MalformedError
from lyncdump.model import Defect
from lyncdump.sip.headers import NameAddr
from lyncdump.sip.message import (
    KNOWN_METHODS,
    MAX_HEADERS,
    MAX_MESSAGE_SIZE,
    SipMessage,
    looks_like_sip,
    parse_message,
)
from lyncdump.sip.uri import SipUri, parse_uri

from . import sip_samples as S


def reasons(msg: SipMessage) -> list[str]:
    return [d.reason for d in msg.defects]


def uri_of(addr: NameAddr | None) -> SipUri:
    assert addr is not None and isinstance(addr.uri, SipUri)
    return addr.uri


# -- RFC 4475 valid messages ------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(S.VALID))
def test_valid_torture_messages_parse_cleanly(name: str) -> None:
    msg = parse_message(S.VALID[name], datagram=True)
    expected = {"dblreq": ["135 bytes after the body ignored"]}.get(name, [])
    expected = [r.replace("135", str(len(S.DBLREQ_SECOND))) for r in expected]
    assert reasons(msg) == expected
    # also every typed accessor works on them without raising
    _ = (msg.via, msg.from_, msg.to, msg.contact, msg.cseq, msg.route, msg.body_parts())


def test_wsinv() -> None:
    msg = parse_message(S.WSINV, datagram=True)
    assert msg.method == "INVITE"
    assert msg.request_uri == "sip:vivekg@chair-dnrc.example.com;unknownparam"
    to = msg.to
    assert to is not None and to.display is None and to.tag == "1918181833n"
    assert uri_of(to).user == "vivekg"
    from_ = msg.from_
    assert from_ is not None and from_.display == 'J Rosenberg \\"' and from_.tag == "98asjd8"
    assert msg.max_forwards == 68
    assert msg.call_id == "wsinv.ndaksdj@192.0.2.1"
    assert msg.content_length == len(S.SDP) and msg.body == S.SDP
    assert msg.cseq == (9, "INVITE")
    vias = msg.via
    assert [(v.transport, v.host, v.branch) for v in vias] == [
        ("UDP", "192.0.2.2", "390skdjuw"),
        ("TCP", "spindle.example.com", "z9hG4bK9ikj8"),
        ("UDP", "192.168.255.111", "z9hG4bK30239"),
    ]
    assert msg.header("Subject") == "" and msg.header("s") == ""
    assert msg.header("newfangledheader") == "newfangled value continued newfangled value"
    assert msg.header_values("UnknownHeaderWithUnusualValue") == [";;", ";;", ";"]
    assert msg.content_type == "application/sdp"
    (route,) = msg.route
    assert uri_of(route).params == {"lr": None, "unknownwith": "value", "unknown-no-value": None}
    (contact,) = msg.contact
    assert contact.display == 'Quoted string ""'
    assert contact.params == {"newparam": "newvalue", "secondparam": None, "q": "0.33"}
    assert [name for name, _ in msg.headers][:3] == ["TO", "from", "MaX-fOrWaRdS"]


def test_intmeth() -> None:
    msg = parse_message(S.INTMETH, datagram=True)
    assert msg.method == S.INTMETH_METHOD and msg.method not in KNOWN_METHODS
    assert msg.request_uri is not None
    uri = parse_uri(msg.request_uri)
    assert uri is not None
    assert (uri.user, uri.password, uri.host) == (S.INTMETH_USER, S.INTMETH_PASSWORD, "example.com")
    to = msg.to
    assert to is not None and to.display == "BEL:\x07 NUL:\x00 DEL:\x7f"
    assert uri_of(to).user == S.INTMETH_USER
    from_ = msg.from_
    assert from_ is not None
    assert from_.display == "token1~` token2'+_ token3*%!.-"
    assert from_.params == {"fromparam''~+*_!.-%": "работающий", "tag": "_token~1'+`*%!-."}
    assert msg.call_id == "intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}{"
    assert msg.cseq == (139122385, S.INTMETH_METHOD)
    assert msg.max_forwards == 255
    assert msg.header("extensionHeader-!.%*+_`'~") == "\ufeff大停電"


def test_esc01() -> None:
    msg = parse_message(S.ESC01, datagram=True)
    assert msg.request_uri == "sip:sips%3Auser%40example.com@example.net"
    assert uri_of(msg.to).unescaped_user == "user"
    assert uri_of(msg.from_).unescaped_user == "I have spaces"
    assert msg.call_id == "esc01.239409asdfakjkn23onasd0-3234"
    assert msg.content_type == "application/sdp"  # "C:" compact form, upper case
    (contact,) = msg.contact
    assert uri_of(contact).params == {"%6c%72": None, "n%61me": "v%61lue%25%34%31"}


def test_escnull() -> None:
    msg = parse_message(S.ESCNULL, datagram=True)
    assert uri_of(msg.to).unescaped_user == "null-\x00-null"
    assert [uri_of(c).unescaped_user for c in msg.contact] == ["\x00", "\x00\x00"]
    assert msg.content_length == 0 and msg.body == b""


def test_esc02() -> None:
    msg = parse_message(S.ESC02, datagram=True)
    assert msg.method == "RE%47IST%45R"  # not REGISTER: no unescaping in method tokens
    assert msg.cseq == (29344, "RE%47IST%45R")
    to = msg.to
    assert to is not None and to.display == "%Z%45"
    assert [uri_of(c).user for c in msg.contact] == ["alias1", "alias3"]
    assert msg.header("C%6Fntact") == "<sip:alias2@host2.example.com>"
    assert "rport" in msg.via[0].params and msg.via[0].rport is None


def test_lwsdisp() -> None:
    msg = parse_message(S.LWSDISP, datagram=True)
    from_ = msg.from_
    assert from_ is not None and from_.display == "caller" and from_.tag == "323"


def test_longreq() -> None:
    msg = parse_message(S.LONGREQ, datagram=True)
    to = msg.to
    assert to is not None and to.display == S.LONG_DISPLAY and to.tag == S.LONG_TAG
    assert msg.call_id == S.LONG_CALL_ID
    assert len(msg.via) == S.LONG_VIAS
    assert msg.via[-1].host == f"sip{S.LONG_VIAS - 1}.example.com"
    unknown = [v for n, v in msg.headers if n.startswith("Unknown-")]
    assert len(unknown) == 1 and unknown[0].startswith(S.LONG_VALUE + ";")
    assert msg.body == S.SDP


def test_dblreq_keeps_first_message_only() -> None:
    msg = parse_message(S.DBLREQ, datagram=True)
    assert msg.method == "REGISTER" and msg.body == b""
    assert msg.raw == S.DBLREQ_FIRST
    assert msg.call_id == "dblreq.0ha0isndaksdj99sdfafnl3lk233412"  # "I:" compact
    (contact,) = msg.contact
    assert contact.display is None and uri_of(contact).host == "host.example.com"


def test_semiuri() -> None:
    msg = parse_message(S.SEMIURI, datagram=True)
    assert msg.request_uri == "sip:user;par=u%40example.net@example.com"
    assert msg.header_values("Accept") == [
        "application/sdp",
        "application/pkcs7-mime",
        "multipart/mixed",
        "multipart/signed",
        "message/sip",
        "message/sipfrag",
    ]


def test_transports() -> None:
    msg = parse_message(S.TRANSPORTS, datagram=True)
    assert [v.transport for v in msg.via] == ["UDP", "SCTP", "TLS", "UNKNOWN", "TCP"]
    assert msg.call_id == "transports.kijh4akdnaqjkwendsasfdj"


def test_mpart01() -> None:
    msg = parse_message(S.MPART01, datagram=True)
    assert msg.content_type == "multipart/mixed"
    assert msg.content_type_params == {"boundary": "7a9cbec02ceef655"}
    text, sig = msg.body_parts()
    assert text.content_type == "text/plain" and text.body == b"Hello"
    assert text.header("content-transfer-encoding") == "binary"
    assert sig.content_type == "application/octet-stream" and sig.body == S.MPART_SIGNATURE
    assert msg.header_values("Date") == ["Sat, 15 Oct 2005 04:44:56 GMT"]  # never split
    assert msg.via[0].params["rport"] is None


def test_unreason_and_noreason() -> None:
    msg = parse_message(S.UNREASON, datagram=True)
    assert (msg.status, msg.reason, msg.is_request) == (200, S.UNREASON_TEXT, False)
    assert msg.start_line == f"SIP/2.0 200 {S.UNREASON_TEXT}"
    msg = parse_message(S.NOREASON, datagram=True)
    assert (msg.status, msg.reason) == (100, "")
    assert msg.start_line == "SIP/2.0 100"


# -- RFC 4475 invalid messages ----------------------------------------------------------------


def test_badinv01_junk_separators_are_defects() -> None:
    # Via "192.0.2.15;;,;,,": the first entry survives, the ";" entry cannot be a Via.
    msg = parse_message(S.BADINV01, datagram=True)
    assert [v.host for v in msg.via] == ["192.0.2.15"]
    (contact,) = msg.contact
    assert contact.display == "Joe" and contact.params == {}
    assert "Via: empty parameter" in reasons(msg)
    assert "Via: unparsable Via ';'" in reasons(msg)
    assert "Contact: empty parameter" in reasons(msg)


def test_clerr_content_length_larger_than_datagram() -> None:
    # Content-Length 9999 on UDP: the body is what the datagram holds, plus a defect.
    msg = parse_message(S.CLERR, datagram=True)
    assert msg.body == S.SDP
    assert reasons(msg) == [f"Content-Length 9999 but only {len(S.SDP)} bytes follow the headers"]


def test_ncl_negative_content_length() -> None:
    # A negative length is not a number we accept: defect, body = rest of datagram.
    msg = parse_message(S.NCL, datagram=True)
    assert msg.body == S.SDP and msg.content_length is None
    assert reasons(msg) == ["bad Content-Length value '-999'"]


def test_scalar02_overlarge_values() -> None:
    # CSeq beyond 2**32-1, Max-Forwards over 255, absurd Expires: accessors give None + note.
    msg = parse_message(S.SCALAR02, datagram=True)
    assert msg.cseq is None and msg.max_forwards is None and msg.expires is None
    assert msg.contact[0].expires is None
    assert "malformed CSeq '36893488147419103232 REGISTER'" in reasons(msg)
    assert "bad Max-Forwards value '300'" in reasons(msg)
    assert any(r.startswith("bad Expires value") for r in reasons(msg))


def test_mcl01_multiple_content_lengths() -> None:
    # Two Content-Length values that disagree: no way to know, keep the whole datagram.
    msg = parse_message(S.MCL01, datagram=True)
    assert msg.content_length is None
    assert msg.body.startswith(b"There's no way")
    assert "several Content-Length headers that disagree" in reasons(msg)


def test_insuf_missing_required_headers() -> None:
    # No Call-ID, From, To: parseable, but flagged.
    msg = parse_message(S.INSUF, datagram=True)
    assert msg.call_id is None and msg.from_ is None and msg.to is None
    assert reasons(msg) == ["missing From, To, Call-ID"]


def test_bext01_and_bcast_are_application_level() -> None:
    # Unknown Require tags and a broadcast Via are for the UA to reject, not the parser.
    msg = parse_message(S.BEXT01, datagram=True)
    assert msg.require == ["nothingSupportedHere"] and reasons(msg) == []
    msg = parse_message(S.BCAST, datagram=True)
    assert msg.via[1].host == "255.255.255.255" and reasons(msg) == []


def test_quotbal_unterminated_quote() -> None:
    # To cannot be read: accessor gives None and notes why.
    msg = parse_message(S.QUOTBAL, datagram=True)
    assert msg.to is None
    assert reasons(msg) == ["To: unterminated quoted display name"]


@pytest.mark.parametrize(
    ("data", "why"),
    [
        (S.LTGTRURI, "Request-URI in <> is not a URI"),
        (S.LWSRURI, "whitespace inside the Request-URI gives four words"),
        (S.BIGCODE, "status code has more than three digits"),
    ],
)
def test_unreadable_start_lines_raise(data: bytes, why: str) -> None:
    with pytest.raises(MalformedError) as info:
        parse_message(data, datagram=True)
    assert info.value.layer == "sip" and info.value.offset == 0, why


def test_lwsstart_and_badvers_parse_with_defects() -> None:
    # Tolerant reading: extra spaces and an unknown version are shown, and flagged.
    msg = parse_message(S.LWSSTART, datagram=True)
    assert msg.request_uri == "sip:user@example.com"
    assert reasons(msg) == ["irregular whitespace in the request line"]
    msg = parse_message(S.BADVERS, datagram=True)
    assert msg.version == "SIP/7.0"
    assert reasons(msg) == ["unexpected version 'SIP/7.0'"]
    assert msg.via == [] or msg.via[0].protocol == "SIP/7.0"
    assert not looks_like_sip(S.BADVERS)


def test_mismatch01_cseq_method() -> None:
    msg = parse_message(S.MISMATCH01, datagram=True)
    assert reasons(msg) == ["CSeq method INVITE differs from OPTIONS"]


def test_multi01_repeated_single_headers() -> None:
    msg = parse_message(S.MULTI01, datagram=True)
    assert msg.call_id == "multi01.98asdh@192.0.2.1"  # the first one wins
    assert set(reasons(msg)) == {
        "Call-ID appears 2 times",
        "CSeq appears 2 times",
        "From appears 2 times",
        "To appears 2 times",
        "Max-Forwards appears 2 times",
    }


# -- Microsoft messages -----------------------------------------------------------------------


def test_ms_register() -> None:
    msg = parse_message(S.MS_REGISTER)
    assert reasons(msg) == []
    from_ = msg.from_
    assert from_ is not None and from_.epid == "8248ca9ebb" and from_.tag == "8f4e2a1b9c"
    (contact,) = msg.contact
    assert contact.instance == "urn:uuid:4233FD41-093B-5FD6-B5D2-651ED55969E6"
    assert contact.params["methods"].startswith("INVITE, MESSAGE")  # type: ignore[union-attr]
    assert uri_of(contact).transport == "tls"
    assert msg.supported == [
        "gruu-10",
        "adhoclist",
        "msrtc-event-categories",
        "ms-forking",
        "ms-cluster-failover",
        "ms-userservices-state-notification",
    ]
    (auth,) = msg.header_values("Authorization")
    assert auth.startswith('NTLM qop="auth", realm="SIP Communications Service", ')
    assert msg.header("ms-keep-alive") == "UAC;hop-hop=yes"
    assert msg.via[0].branch is None and msg.via[0].port == 50512


def test_ms_401() -> None:
    msg = parse_message(S.MS_401)
    assert msg.status == 401 and reasons(msg) == []
    challenges = msg.header_values("www-authenticate")
    assert [c.split(" ", 1)[0] for c in challenges] == ["NTLM", "Kerberos"]
    assert msg.header_values("ms-diagnostics") == [
        '1000;reason="Final handshake failed, retry";source="fe01.contoso.com"'
    ]
    assert msg.header_values("Date") == ["Tue, 09 Feb 2017 10:11:12 GMT"]
    assert msg.via[0].ms_received_port == 50512
    assert msg.via[0].params["ms-received-cid"] == "1E00"


def test_ms_negotiate_and_ok() -> None:
    msg = parse_message(S.MS_NEGOTIATE)
    assert msg.method == "NEGOTIATE" and "NEGOTIATE" in KNOWN_METHODS
    assert msg.header("compression") == "LZ77-8K"
    assert msg.max_forwards == 0 and msg.cseq == (1, "NEGOTIATE")
    to = msg.to
    assert to is not None and to.tag is None and uri_of(to).host == "192.0.0.1"
    ok = parse_message(S.MS_NEGOTIATE_OK)
    assert ok.status == 200 and ok.header("Compression") == "LZ77-8K"
    assert reasons(msg) == [] and reasons(ok) == []


def test_ms_service_and_benotify() -> None:
    msg = parse_message(S.MS_SERVICE)
    assert msg.method == "SERVICE"
    assert msg.content_type == "application/msrtc-category-publish+xml"
    assert msg.body_text.startswith("<publish")
    (contact,) = msg.contact
    assert uri_of(contact).is_gruu
    msg = parse_message(S.MS_BENOTIFY)
    assert msg.method == "BENOTIFY" and reasons(msg) == []
    assert msg.content_type_params == {"charset": "UTF-8"}
    assert msg.body_text.endswith("é</roamingData>")
    (info,) = msg.header_values("Authentication-Info")
    assert 'rspauth="01000000000000007E9F0B24E3A1C2D4"' in info
    assert msg.via[0].params["branched"] == "FALSE"
    assert msg.via[0].params["ms-internal-info"] == "aBcDeFgHiJ"
    to = msg.to
    assert to is not None and to.epid == "8248ca9ebb"
    assert msg.header("Subscription-State") == "active;expires=34564"


def test_ms_invite_multipart_alternative() -> None:
    msg = parse_message(S.MS_INVITE)
    assert reasons(msg) == []
    parts = msg.body_parts()
    assert [p.content_type for p in parts] == ["application/sdp", "application/sdp"]
    assert parts[0].body == S.MS_INVITE_SDP and parts[1].body == S.MS_INVITE_SDP
    assert parts[0].content_id == "<d4c8b2e4d1b5ae5c7a8a1dc4c58b7e10@contoso.com>"
    assert parts[0].body_text.startswith("v=0")
    assert parts[0].body_parts() == []
    assert msg.header_values("ms-text-format")[0].endswith("; ms-body=cXdl")
    (diag,) = msg.header_values("ms-client-diagnostics")
    assert "PortRange=1025:65000" in diag
    assert msg.header_values("Ms-Conversation-ID") == ["AdKCmsXnWsuhc2xmTvmPnAzDf3dtcw=="]
    endpoints = msg.header_values("EndPoints")
    assert endpoints == ["<sip:alice@contoso.com>", "<sip:bob@contoso.com>;epid=2ebb6f264f"]
    assert "BENOTIFY" in msg.allow and len(msg.allow) == 8
    from_ = msg.from_
    assert from_ is not None and from_.display == "Alice Example"


def test_ms_info_typing() -> None:
    msg = parse_message(S.MS_INFO)
    assert msg.method == "INFO" and msg.content_type == "application/xml"
    assert b"KeyboardActivity" in msg.body
    assert uri_of(msg.to).is_gruu is False


# -- general rules ----------------------------------------------------------------------------


def test_contact_wildcard_unregister() -> None:
    data = S.build(
        [
            "REGISTER sip:contoso.com SIP/2.0",
            "Via: SIP/2.0/TLS 192.168.1.20:50512;branch=z9hG4bKw",
            "From: <sip:alice@contoso.com>;tag=1",
            "To: <sip:alice@contoso.com>",
            "Call-ID: w1",
            "CSeq: 9 REGISTER",
            "Contact: *",
            "Expires: 0",
            "Content-Length: 0",
        ]
    )
    msg = parse_message(data)
    (contact,) = msg.contact
    assert contact.is_wildcard and contact.uri_text == "*"
    assert msg.expires == 0 and msg.defects == []


def test_header_lookup_rules() -> None:
    msg = parse_message(S.ESCNULL)
    assert msg.header("content-length") == "0" and msg.header("l") == "0"
    assert msg.header("Call-ID") == msg.header("i") == msg.header("CALL-ID")
    assert msg.header("X-Absent") is None and msg.header_values("X-Absent") == []
    assert len(msg.header_values("contact")) == 2 and len(msg.header_values("m")) == 2


def test_bare_lf_tolerated() -> None:
    data = S.build(S.MS_NEGOTIATE.decode().split("\r\n")[:-2], eol="\n")
    msg = parse_message(data)
    assert msg.method == "NEGOTIATE" and msg.header("Compression") == "LZ77-8K"
    assert reasons(msg) == ["bare LF line ending (CRLF expected)"]


def test_leading_crlf_skipped_and_empty_rejected() -> None:
    msg = parse_message(b"\r\n\r\n" + S.BEXT01)
    assert msg.method == "OPTIONS"
    for data in (b"", b"\r\n\r\n", b"\n"):
        with pytest.raises(MalformedError):
            parse_message(data)


def test_header_line_problems() -> None:
    data = S.build(
        [
            "OPTIONS sip:a@b SIP/2.0",
            "Via: SIP/2.0/UDP h;branch=z9hG4bK1",
            "no colon here",
            "Bad Name: x",
            "From: <sip:a@b>;tag=1",
            "To: <sip:a@b>",
            "Call-ID: 1",
            "CSeq: 1 OPTIONS",
            "Empty:",
            "l: 0",
        ]
    )
    msg = parse_message(data)
    assert msg.header("Empty") == ""
    assert [(d.reason, d.offset) for d in msg.defects] == [
        ("header line skipped: no valid name", data.index(b"no colon")),
        ("header line skipped: no valid name", data.index(b"Bad Name")),
    ]
    assert all(d.frame is None and d.layer == "sip" for d in msg.defects)


def test_continuation_of_start_line_is_skipped() -> None:
    msg = parse_message(b"OPTIONS sip:a@b SIP/2.0\r\n folded\r\nl: 0\r\n\r\n")
    assert "continuation line without a header skipped" in reasons(msg)


def test_non_utf8_header_text() -> None:
    msg = parse_message(b"MESSAGE sip:a@b SIP/2.0\r\nSubject: caf\xe9\r\nl: 0\r\n\r\n")
    assert msg.header("subject") == "café"
    assert "header text is not UTF-8 (read as Latin-1)" in reasons(msg)


def test_truncated_headers_and_stream_body_checks() -> None:
    msg = parse_message(b"OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/TCP h")
    assert msg.via[0].host == "h"
    assert "no empty line after the headers (truncated?)" in reasons(msg)
    # datagram=False: body is whatever the framer cut; disagreement is reported
    body_msg = b"MESSAGE sip:a@b SIP/2.0\r\nContent-Length: 2\r\n\r\nabcd"
    msg = parse_message(body_msg)
    assert msg.body == b"abcd" and "Content-Length 2 but 4 bytes follow the headers" in reasons(msg)
    msg = parse_message(b"MESSAGE sip:a@b SIP/2.0\r\n\r\nabcd")
    assert "no Content-Length on a stream message" in reasons(msg)
    msg = parse_message(b"MESSAGE sip:a@b SIP/2.0\r\n\r\nabcd", datagram=True)
    assert msg.body == b"abcd" and "no Content-Length on a stream message" not in reasons(msg)


def test_status_line_variants() -> None:
    msg = parse_message(b"SIP/2.0 180\r\n\r\n")
    assert msg.status == 180 and msg.reason == ""
    assert "no space after the status code" in reasons(msg)
    msg = parse_message(b"SIP/2.0 999 Odd\r\n\r\n")
    assert "status code 999 outside 100-699" in reasons(msg)
    msg = parse_message(b"sip/2.0 200 OK\r\n\r\n")
    assert msg.status == 200 and "unexpected version 'sip/2.0'" in reasons(msg)
    for bad in (b"SIP/2.0 20 OK\r\n\r\n", b"SIP/2.0  OK\r\n\r\n", b"HTTP/1.1 200 OK\r\n\r\n"):
        with pytest.raises(MalformedError):
            parse_message(bad)


def test_bounds() -> None:
    big = b"MESSAGE sip:a@b SIP/2.0\r\nl: 0\r\n\r\n" + b"x" * MAX_MESSAGE_SIZE
    with pytest.raises(MalformedError, match="exceeds 1 MiB"):
        parse_message(big)
    many = b"OPTIONS sip:a@b SIP/2.0\r\n" + b"X: y\r\n" * (MAX_HEADERS + 1) + b"\r\n"
    with pytest.raises(MalformedError, match="more than 1000 header fields"):
        parse_message(many)
    ok = b"OPTIONS sip:a@b SIP/2.0\r\n" + b"X: y\r\n" * MAX_HEADERS + b"\r\n"
    assert len(parse_message(ok).headers) == MAX_HEADERS


def test_accessors_on_bad_values_never_raise() -> None:
    data = S.build(
        [
            "INVITE sip:a@b SIP/2.0",
            "Via: nonsense",
            "From: <sip:a@b",
            "To: ",
            "Call-ID: x",
            "CSeq: one INVITE",
            "Max-Forwards: ²",
            "Expires: -1",
            "Contact: <sip:ok@host>, junk<",
            "Content-Type: multipart/mixed",
            "Content-Length: 3",
        ],
        b"abc",
    )
    msg = parse_message(data)
    assert msg.via == [] and msg.from_ is None and msg.to is None
    assert msg.cseq is None and msg.max_forwards is None and msg.expires is None
    assert [uri_of(c).user for c in msg.contact] == ["ok"]
    assert msg.body_parts() == []
    assert "multipart body without boundary parameter" in reasons(msg)
    # notes are recorded once however often the accessor is called
    count = len(msg.defects)
    _ = (msg.via, msg.from_, msg.cseq, msg.max_forwards, msg.body_parts())
    assert len(msg.defects) == count


def test_multipart_edge_cases() -> None:
    head = "MESSAGE sip:a@b SIP/2.0\r\nContent-Type: multipart/mixed; boundary=b1\r\n\r\n"
    msg = parse_message(
        head.encode()
        + b"preamble\r\n--b1\r\n\r\nno headers\r\n--b1\r\nX: 1\r\n\r\n\r\n--b1--\r\nepilogue"
    )
    parts = msg.body_parts()
    assert [(p.headers, p.body) for p in parts] == [([], b"no headers"), ([("X", "1")], b"")]
    msg = parse_message(head.encode() + b"--b1\r\nContent-Type: text/plain\r\n\r\nopen end")
    (part,) = msg.body_parts()
    assert part.body == b"open end"
    assert "multipart body without close delimiter" in reasons(msg)
    msg = parse_message(head.encode() + b"--b1x is not a delimiter\r\n")
    assert msg.body_parts() == []
    assert "multipart boundary not found in body" in reasons(msg)
    nested = (
        b"--b1\r\nContent-Type: multipart/alternative; boundary=in\r\n\r\n"
        b"--in\r\n\r\ninner\r\n--in--\r\n--b1--\r\n"
    )
    (outer,) = parse_message(head.encode() + nested).body_parts()
    assert [p.body for p in outer.body_parts()] == [b"inner"]


def test_body_text_charsets() -> None:
    base = "MESSAGE sip:a@b SIP/2.0\r\nContent-Type: text/plain; charset={}\r\n\r\n"
    msg = parse_message(base.format("ISO-8859-1").encode() + b"caf\xe9")
    assert msg.body_text == "café"
    msg = parse_message(base.format("no-such-charset").encode() + b"caf\xc3\xa9\xff")
    assert msg.body_text == "café\ufffd"
    msg = parse_message(base.format("base64").encode() + b"abc")
    assert msg.body_text == "abc"


def test_context_fields_default_and_repr() -> None:
    msg = parse_message(S.MS_NEGOTIATE)
    assert msg.frame is None and msg.first_frame is None and msg.time is None
    assert msg.src is None and msg.dst is None and msg.transport is None
    assert msg.stream_id is None and msg.wire_size is None
    assert msg.compressed is False and msg.partial is False and msg.retransmission is False
    assert "NEGOTIATE sip:192.0.0.1:5061 SIP/2.0" in repr(msg)
    with pytest.raises(AttributeError):
        msg.not_a_field = True  # type: ignore[attr-defined]
    empty = SipMessage()
    assert empty.headers == [] and empty.via == [] and empty.cseq is None


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"SIP/2.0 200 OK\r\n", True),
        (b"SIP/2.0 ", True),
        (b"SIP/2.0 2xx", False),
        (b"INVITE sip:bob@contoso.com SIP/2.0\r\nVia: x", True),
        (b"NEGOTIATE sip:192.0.0.1:5061 SIP/2.0\r\n", True),
        (b"BENOTIFY sip:a@b SIP/2.0\n", True),
        (b"OPTIONS sip:a@b SIP/2.0", True),
        (b"INVITE  sip:a@b SIP/2.0\r\n", False),
        (b"INVITE <sip:a@b> SIP/2.0\r\n", False),
        (b"INVITE sip:a@b SIP/2.0 \r\n", False),
        (b"GET / HTTP/1.1\r\n", False),
        (b"\x80\x00\x01\x02" * 50, False),
        (b"\x16\x03\x01\x02\x00", False),
        (b"", False),
    ],
)
def test_looks_like_sip(data: bytes, expected: bool) -> None:
    assert looks_like_sip(data) is expected


# -- lazy parsing (issue 14) ------------------------------------------------------------------


def test_core_header_spellings_are_all_found() -> None:
    from lyncdump.sip import message as M

    for spelling, key in M._CORE_SPELLINGS.items():
        m = M._CORE_RE.match(b"\n" + spelling + b" \t: value")
        assert m is not None and m.groups() == (spelling, b"value"), spelling
        assert key == M.canonical_name(spelling.decode())
    for other in (b"Contact", b"Timestamp", b"Via2", b"Froms", b"Max-Forward", b"Lines"):
        assert M._CORE_RE.match(b"\n" + other + b": value") is None, other


def test_a_clean_message_is_read_on_demand() -> None:
    msg = parse_message(S.MS_MESSAGES[sorted(S.MS_MESSAGES)[0]])
    assert msg._buf is not None and msg._headers is None  # nothing but the core read yet
    assert msg.call_id and msg.cseq and msg.via
    assert msg._headers is None
    names = [name for name, _ in msg.headers]  # now the list is built
    assert msg._headers is not None and names[0]
    assert msg.header(names[0]) == msg.headers[0][1]


def test_defects_are_handed_out_once_each() -> None:
    raw = b"INVITE sip:a@b SIP/2.0\r\nVia: nonsense\r\nCall-ID: x\r\nCSeq: 1 BYE\r\n\r\n"
    msg = parse_message(raw)
    first = msg.take_new_defects()
    assert [d.reason for d in first] == ["missing From, To", "CSeq method BYE differs from INVITE"]
    assert msg.take_new_defects() == []
    assert msg.via == []  # the accessor finds a problem now
    (later,) = msg.take_new_defects()
    assert later.reason == "Via: unparsable Via 'nonsense'"
    assert msg.take_new_defects() == []
    assert [d.reason for d in msg.defects][-1] == later.reason


def test_a_message_without_defects_has_an_empty_list() -> None:
    msg = parse_message(S.MS_MESSAGES[sorted(S.MS_MESSAGES)[0]])
    assert msg.take_new_defects() == [] and msg.defects == []
    msg.defects.append(Defect(None, "sip", None, "noted by a caller"))  # a real list
    assert [d.reason for d in msg.take_new_defects()] == ["noted by a caller"]


def test_assigning_headers_and_body_replaces_what_was_read() -> None:
    msg = parse_message(S.MS_MESSAGES[sorted(S.MS_MESSAGES)[0]])
    body = msg.body
    msg.headers = [("Call-ID", "replaced"), ("Content-Type", "text/plain")]
    assert msg.call_id == "replaced" and msg.content_type == "text/plain"
    assert msg.header("CSeq") is None and msg.body == body
    msg.body = b"new"
    assert msg.body == b"new"
