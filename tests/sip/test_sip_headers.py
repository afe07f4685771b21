"""Header grammar: name-addr, Via, multi-value splitting, media types, compact names."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lyncdump.sip.headers import (
    COMPACT_FORMS,
    canonical_name,
    parse_header_lines,
    parse_media_type,
    parse_name_addr,
    parse_params,
    parse_via,
    split_header_values,
    unquote_string,
)
from lyncdump.sip.uri import SipUri


def test_compact_forms_complete() -> None:
    assert sorted(COMPACT_FORMS) == sorted("imelcfskt vorbuxjdayn".replace(" ", ""))
    assert canonical_name("I") == "call-id"
    assert canonical_name("CSEQ") == "cseq"
    assert canonical_name("Content-Length") == "content-length"
    assert canonical_name("z") == "z"


def test_name_addr_quoted_display_and_params() -> None:
    na = parse_name_addr('"Alice \\"A\\" Example" <sip:alice@contoso.com>;tag=abc;epid=8248ca9ebb')
    assert na is not None
    assert na.display == 'Alice "A" Example'
    assert isinstance(na.uri, SipUri) and na.uri.user == "alice"
    assert na.tag == "abc" and na.epid == "8248ca9ebb"
    assert na.uri_text == "sip:alice@contoso.com"


def test_name_addr_forms() -> None:
    bare = parse_name_addr("sip:user@example.com;tag=1;expires=60")
    assert bare is not None
    assert bare.display is None and bare.tag == "1" and bare.expires == 60
    assert isinstance(bare.uri, SipUri) and bare.uri.params == {}
    tight = parse_name_addr("caller<sip:caller@example.com>;tag=323")
    assert tight is not None and tight.display == "caller" and tight.tag == "323"
    tokens = parse_name_addr("A.  Bell <sip:a.g.bell@example.com>")
    assert tokens is not None and tokens.display == "A. Bell"
    spaced = parse_name_addr("< sip:t.watson@example.org >")
    assert spaced is not None and spaced.uri_text == "sip:t.watson@example.org"
    other = parse_name_addr("<urn:uuid:1234>")
    assert other is not None and other.uri == "urn:uuid:1234"
    star = parse_name_addr("*")
    assert star is not None and star.is_wildcard


def test_name_addr_contact_params_with_brackets_in_quotes() -> None:
    text = (
        '<sip:192.168.1.20:50512;transport=tls;ms-opaque=d3470f2e1d>;methods="INVITE, MESSAGE"'
        ';proxy=replace;+sip.instance="<urn:uuid:4233FD41-093B-5FD6-B5D2-651ED55969E6>"'
    )
    na = parse_name_addr(text)
    assert na is not None
    assert isinstance(na.uri, SipUri) and na.uri.params["ms-opaque"] == "d3470f2e1d"
    assert na.params["methods"] == "INVITE, MESSAGE"
    assert na.params["proxy"] == "replace"
    assert na.instance == "urn:uuid:4233FD41-093B-5FD6-B5D2-651ED55969E6"
    # addr-spec whose parameter value holds "<": still an addr-spec
    bare = parse_name_addr('sip:a@b;+sip.instance="<urn:uuid:x>"')
    assert bare is not None and bare.uri_text == "sip:a@b" and bare.instance == "urn:uuid:x"


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ('"Mr. J. User <sip:j.user@example.com>', "unterminated quoted display name"),
        ('"Joe" sip:joe@example.com', "quoted display name without <uri>"),
        ("Joe <sip:joe@example.com", "missing > after URI"),
        ("", "empty address"),
        ("<>", "empty URI"),
    ],
)
def test_name_addr_failures(text: str, problem: str) -> None:
    problems: list[str] = []
    assert parse_name_addr(text, problems) is None
    assert problems == [problem]


def test_name_addr_soft_problems() -> None:
    problems: list[str] = []
    na = parse_name_addr('"Joe" <sip:joe@example.org>;;;;', problems)
    assert na is not None and na.params == {}
    assert "empty parameter" in problems
    problems = []
    na = parse_name_addr("<sip:host:99999>", problems)
    assert na is not None and na.uri == "sip:host:99999"
    assert problems == ["unparsable URI 'sip:host:99999'"]
    problems = []
    na = parse_name_addr("<sip:a@b> junk", problems)
    assert na is not None and problems == ["text after > that is not a parameter"]


def test_expires_param_bounds() -> None:
    na = parse_name_addr("<sip:user@host129.example.com>;expires=280297596632815")
    assert na is not None and na.expires is None
    na = parse_name_addr("<sip:a@b>;expires=x")
    assert na is not None and na.expires is None


def test_via_fields() -> None:
    via = parse_via(
        "SIP/2.0/TLS 192.168.1.20:50512;branch=z9hG4bK1;received=10.1.1.1;rport=4000;"
        "ms-received-port=50512;ms-received-cid=1E00"
    )
    assert via is not None
    assert (via.protocol, via.transport, via.host, via.port) == (
        "SIP/2.0",
        "TLS",
        "192.168.1.20",
        50512,
    )
    assert via.branch == "z9hG4bK1" and via.received == "10.1.1.1" and via.rport == 4000
    assert via.ms_received_port == 50512 and via.params["ms-received-cid"] == "1E00"
    assert via.sent_by == "192.168.1.20:50512"


def test_via_odd_spacing_ipv6_and_rport_flag() -> None:
    via = parse_via("SIP  /   2.0 /udp [2001:db8::9] : 5060 ; rport ; branch = z9hG4bKx")
    assert via is not None
    assert (via.transport, via.host, via.port) == ("UDP", "[2001:db8::9]", 5060)
    assert "rport" in via.params and via.rport is None and via.branch == "z9hG4bKx"


@pytest.mark.parametrize(
    "text",
    ["", ";", "SIP/2.0/UDP", "SIP/2.0 host", "SIP/2.0/UDP host:99999", "SIP/2.0/UDP [::1"],
)
def test_via_failures(text: str) -> None:
    problems: list[str] = []
    assert parse_via(text, problems) is None
    assert problems


def test_split_header_values() -> None:
    assert split_header_values('<sip:a@b;x=1,2>, "Doe, J" <sip:c@d>,, sip:e@f') == [
        "<sip:a@b;x=1,2>",
        '"Doe, J" <sip:c@d>',
        "sip:e@f",
    ]
    assert split_header_values("  ") == []
    assert split_header_values('a="un,terminated') == ['a="un,terminated']


def test_params_and_quotes() -> None:
    assert parse_params(' tag = 98asjd8 ; q=0.33;novalue ;X="a;b"') == {
        "tag": "98asjd8",
        "q": "0.33",
        "novalue": None,
        "x": "a;b",
    }
    assert unquote_string('"a\\\\b\\"c"') == 'a\\b"c'
    assert unquote_string("  plain ") == "plain"


def test_media_type() -> None:
    assert parse_media_type('Multipart/Alternative ; boundary="----=_Next;Part"; X=1') == (
        "multipart/alternative",
        {"boundary": "----=_Next;Part", "x": "1"},
    )
    assert parse_media_type("text/plain;charset") == ("text/plain", {"charset": ""})


def test_header_lines() -> None:
    problems: list[tuple[int, str]] = []
    headers = parse_header_lines(
        [" orphan", "Content-Type: text/plain", "  ;charset=utf-8", "bad line", "X:", ""], problems
    )
    assert headers == [("Content-Type", "text/plain ;charset=utf-8"), ("X", "")]
    assert problems == [
        (0, "continuation line without a header"),
        (3, "header line skipped: no valid name"),
    ]


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=' \t;=",/aAbB-+.\u00a0é', max_size=40), st.integers(0, 300))
def test_media_type_is_parse_media_type_s_type(text: str, pad: int) -> None:
    """The remembered media type is what parsing gives, for short and long values alike."""
    from lyncdump.sip.headers import _MEDIA_TYPE_TEXT_MAX, media_type

    for value in (text, text + "x" * pad):
        assert media_type(value) == parse_media_type(value)[0]
        assert media_type(value) == parse_media_type(value)[0]  # from the table the second time
    assert _MEDIA_TYPE_TEXT_MAX == 256
