"""Handshake parsing on the sample's messages, checked against tshark 4.0.17's decode of
captures/lync-tls-sipcomp.pcapng (values below), truncation at every length, random bytes."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lyncdump.errors import MalformedError
from lyncdump.tls.handshake import (
    HandshakeAssembler,
    _extensions,
    _Reader,
    parse_certificate,
    parse_client_hello,
    parse_new_session_ticket,
    parse_server_hello,
    summarize_certificate,
)

from .tls_samples import handshake_body, sample_flights

FLIGHTS, WRITER = sample_flights()
CLIENT_HELLO = handshake_body(FLIGHTS[0][1])
SERVER_HELLO = handshake_body(FLIGHTS[1][1])
CERTIFICATE = handshake_body(FLIGHTS[2][1])


def test_client_hello_fields_match_tshark() -> None:
    hello = parse_client_hello(CLIENT_HELLO)
    # tshark: tls.handshake.extensions_server_name, tls.handshake.ciphersuite
    assert hello.sni == "pool01.contoso.com"
    assert [f"0x{s:04x}" for s in hello.cipher_suites] == (
        "0xc030,0xc02f,0xc028,0xc027,0xc014,0xc013,0x009d,0x009c,0x003d,0x0035".split(",")
    )
    assert hello.random.hex() == "c9566dc831d87a7ac13a2d751250f1c8abb5077cf4744c980ab192b81436fe09"
    assert hello.session_id == b"" and hello.legacy_version == 0x0303
    assert not hello.extended_master_secret and hello.session_ticket is None


def test_server_hello_fields_match_tshark() -> None:
    hello = parse_server_hello(SERVER_HELLO)
    assert hello.cipher_suite == 0xC030 and hello.version == 0x0303
    # tshark: tls.handshake.session_id
    assert hello.session_id.hex() == (
        "d036b9a1a7317aece907c93cca4cfd5bb7438ad806d9034b358059783114eb37"
    )
    assert not hello.is_retry_request


def test_certificate_summary_matches_tshark_x509() -> None:
    chain = parse_certificate(CERTIFICATE, tls13=False)
    assert len(chain) == 1
    cert = summarize_certificate(chain[0])
    assert cert.subject == "O=Contoso,CN=pool01.contoso.com"
    assert cert.issuer == "DC=com,DC=contoso,CN=Contoso Issuing CA 01"
    # tshark: x509ce.dNSName
    assert cert.san == (
        "DNS:pool01.contoso.com",
        "DNS:fe01.contoso.com",
        "DNS:sip.contoso.com",
        "DNS:lyncdiscover.contoso.com",
    )
    assert (cert.not_before, cert.not_after) == ("2025-06-01T00:00:00Z", "2027-06-01T00:00:00Z")


def test_bad_der_is_a_malformed_error() -> None:
    with pytest.raises(MalformedError, match="certificate not readable"):
        summarize_certificate(b"\x30\x03\x02\x01\x00")


@pytest.mark.parametrize(
    "parse, body",
    [
        (parse_client_hello, CLIENT_HELLO),
        (parse_server_hello, SERVER_HELLO),
        (lambda b: parse_certificate(b, False), CERTIFICATE),
        (lambda b: parse_new_session_ticket(b, True), bytes(4 + 4 + 1) + b"\x00\x02ab"),
    ],
)
def test_truncation_at_every_length_raises_only_malformed(parse, body: bytes) -> None:  # type: ignore[no-untyped-def]
    parse(body)
    for n in range(len(body)):
        try:
            parse(body[:n])
        except MalformedError:
            pass


def test_assembler_joins_and_splits_messages() -> None:
    stream = b"".join(r[5:] for d, r in FLIGHTS[1:5] if d == 1)
    for cut in (1, 3, 4, 100, len(stream) - 1):
        asm = HandshakeAssembler()
        got = asm.feed(stream[:cut]) + asm.feed(stream[cut:])
        assert [t for t, _, _ in got] == [2, 11, 12, 14]
        assert b"".join(raw for _, _, raw in got) == stream


def test_assembler_bounds_a_message() -> None:
    with pytest.raises(MalformedError, match="exceeds the bound"):
        HandshakeAssembler().feed(b"\x0b\xff\xff\xff")


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_random_bytes_raise_only_malformed(data: bytes) -> None:
    for parse in (parse_client_hello, parse_server_hello):
        try:
            parse(data)
        except MalformedError:
            pass
    for tls13 in (False, True):
        try:
            parse_certificate(data, tls13)
        except MalformedError:
            pass


def _extensions_by_reader(body: bytes, at: int) -> list[tuple[int, bytes]] | MalformedError:
    """The extension walk with the reader alone (what _extensions's hand walk must match)."""
    r = _Reader(body, "hello", at)
    if r.left == 0:
        return []
    try:
        ext = r.sub(2, "extensions")
        out = []
        while ext.left:
            etype = ext.u16()
            out.append((etype, ext.vector(2)))
    except MalformedError as exc:
        return exc
    return out


@settings(max_examples=500, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 65535), st.binary(max_size=40)), max_size=12),
    st.integers(-3, 3),
    st.binary(max_size=3),
)
def test_extension_walk_matches_the_reader(
    extensions: list[tuple[int, bytes]], skew: int, junk: bytes
) -> None:
    """Well-formed lists, lists whose declared total is off by a few bytes either way, and
    bytes after them: the same extensions, or the same error and offset."""
    block = b"".join(t.to_bytes(2, "big") + len(d).to_bytes(2, "big") + d for t, d in extensions)
    total = max(0, len(block) + skew)
    body = b"\x03\x03" + total.to_bytes(2, "big") + block + junk
    want = _extensions_by_reader(body, 2)
    r = _Reader(body, "hello", 2)
    try:
        got: list[tuple[int, bytes]] | MalformedError = _extensions(r)
    except MalformedError as exc:
        got = exc
    if isinstance(want, MalformedError):
        assert isinstance(got, MalformedError)
        assert (got.offset, got.reason) == (want.offset, want.reason)
    else:
        assert got == want
        assert r.pos == 4 + total
