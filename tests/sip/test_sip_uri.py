"""URI parsing: sip/sips/tel, IPv6, parameters, headers, escapes, round trips."""

from __future__ import annotations

import pytest

from lyncdump.sip.uri import SipUri, parse_uri, split_params, unescape


def test_full_sip_uri() -> None:
    uri = parse_uri(
        "sips:alice:secret@Example.COM:5061;transport=TLS;Lr;maddr=10.0.0.1?Subject=hi&X=1"
    )
    assert uri == SipUri(
        "sips",
        user="alice",
        password="secret",
        host="Example.COM",
        port=5061,
        params={"transport": "TLS", "lr": None, "maddr": "10.0.0.1"},
        headers={"Subject": "hi", "X": "1"},
    )
    assert uri.transport == "tls"
    assert uri.aor == "sips:alice@example.com"
    assert (
        str(uri)
        == "sips:alice:secret@Example.COM:5061;transport=TLS;lr;maddr=10.0.0.1?Subject=hi&X=1"
    )


def test_host_only_and_scheme_case() -> None:
    uri = parse_uri("SIP:192.0.0.1:5061")
    assert uri is not None
    assert (uri.scheme, uri.user, uri.host, uri.port) == ("sip", None, "192.0.0.1", 5061)
    assert uri.aor == "sip:192.0.0.1"
    assert str(uri) == "sip:192.0.0.1:5061"


def test_ipv6() -> None:
    uri = parse_uri("sip:bob@[2001:db8::1]:5060;transport=tcp")
    assert uri is not None
    assert uri.host == "[2001:db8::1]"
    assert uri.port == 5060
    assert str(uri) == "sip:bob@[2001:db8::1]:5060;transport=tcp"
    uri = parse_uri("sip:[::1]")
    assert uri is not None and uri.host == "[::1]" and uri.port is None


def test_lync_gruu() -> None:
    uri = parse_uri("sip:alice@contoso.com;opaque=user:epid:QUIZk9sYMFSmrVfgEr8r4gAA;gruu")
    assert uri is not None
    assert uri.params == {"opaque": "user:epid:QUIZk9sYMFSmrVfgEr8r4gAA", "gruu": None}
    assert uri.is_gruu


def test_tel_uri() -> None:
    uri = parse_uri("tel:+1-201-555-0123;phone-context=example.com")
    assert uri is not None
    assert (uri.scheme, uri.user, uri.host) == ("tel", "+1-201-555-0123", "")
    assert uri.params == {"phone-context": "example.com"}
    assert str(uri) == "tel:+1-201-555-0123;phone-context=example.com"
    assert uri.aor == "tel:+1-201-555-0123"


def test_user_part_with_semicolons_and_escapes() -> None:
    # RFC 4475 semiuri / esc01: the user part runs to the first @.
    uri = parse_uri("sip:user;par=u%40example.net@example.com")
    assert uri is not None
    assert uri.user == "user;par=u%40example.net"
    assert uri.unescaped_user == "user;par=u@example.net"
    assert uri.host == "example.com" and uri.params == {}
    uri = parse_uri("sip:I%20have%20spaces@example.net")
    assert uri is not None and uri.unescaped_user == "I have spaces"
    assert unescape("null-%00-null") == "null-\x00-null"
    assert unescape("%Z%45") == "%ZE"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "sip:",
        "urn:uuid:4233FD41-093B-5FD6-B5D2-651ED55969E6",
        "http://example.com/",
        "sip:user@",
        "sip:host:99999",
        "sip:host:port",
        "sip:[::1",
        "sip:[::1]x",
        "sip:a b@host",
        "sip:host:",
        "tel:",
        ":nothing",
    ],
)
def test_unusable_uris_give_none(text: str) -> None:
    result = parse_uri(text)
    if text == "sip:a b@host":  # a space in the user part is tolerated; the host is fine
        assert result is not None and result.host == "host"
    else:
        assert result is None


@pytest.mark.parametrize(
    "text",
    [
        "sip:alice@example.com",
        "sip:alice@example.com:5060;transport=tcp",
        "sips:[2001:db8::2]:5061;maddr=x;lr?h=v",
        "sip:%61lice@example.com",
        "tel:911",
    ],
)
def test_round_trip(text: str) -> None:
    uri = parse_uri(text)
    assert uri is not None
    assert str(uri) == text
    assert parse_uri(str(uri)) == uri


def test_split_params_respects_quotes() -> None:
    assert split_params('a=1;b="x;y";c') == ["a=1", 'b="x;y"', "c"]
    assert split_params('a="q\\";";b') == ['a="q\\";"', "b"]
    assert split_params("a,b", ",") == ["a", "b"]
