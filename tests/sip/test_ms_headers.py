"""Microsoft headers ([MS-SIP], [MS-SIPRE], [MS-OCER]) decoded from real values quoted in the
reference notes: epid/instance/GRUU pairs from public messages, ms-diagnostics samples."""

from __future__ import annotations

import base64
import encodings.aliases

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from lyncdump.cli import command
from lyncdump.sip.message import parse_message
from lyncdump.sip.ms import (
    diagnostic_meaning,
    diagnostics_of,
    endpoint_list,
    epid_to_instance,
    gruu_opaque_for,
    instance_from_gruu_opaque,
    keep_alive,
    ms_header_summary,
    parse_conversation_id,
    parse_diagnostics,
    parse_text_format,
    text_formats,
)


def test_epid_to_instance_real_pairs() -> None:
    # [MS-SIPRE] example and three pairs from public Lync/OCS messages
    assert epid_to_instance("01010101") == "4b1682a8-f968-5701-83fc-7c6741dc6697"
    assert epid_to_instance("8248ca9ebb") == "4233fd41-093b-5fd6-b5d2-651ed55969e6"
    assert epid_to_instance("2ebb6f264f") == "124841e4-264d-52e8-96c5-d22aa8cdc316"
    assert epid_to_instance("c8ca638a15") == "34d859db-6585-5f91-a3b4-de853c15347d"


def test_gruu_opaque_both_ways() -> None:
    assert (
        gruu_opaque_for("34d859db-6585-5f91-a3b4-de853c15347d")
        == "user:epid:21nYNIVlkV-jtN6FPBU0fQAA"
    )
    assert instance_from_gruu_opaque("user:epid:QJJYwWDmT1mos0tV81jLwQAA") == (
        "c1589240-e660-594f-a8b3-4b55f358cbc1"
    )
    assert (
        instance_from_gruu_opaque("21nYNIVlkV-jtN6FPBU0fQAA")
        == "34d859db-6585-5f91-a3b4-de853c15347d"
    )
    assert instance_from_gruu_opaque("user:epid:!!") is None
    assert instance_from_gruu_opaque("user:epid:AAAA") is None


def test_diagnostics_lenient_grammar() -> None:
    d = parse_diagnostics(
        '1009; reason ="DNS SRV record does not match"; domain ="contoso.com"; fqdn1 ="sip.contoso.com";source="edge.fabrikam.com"'  # noqa: E501
    )
    assert (d.code, d.reason, d.source) == (
        1009,
        "DNS SRV record does not match",
        "edge.fabrikam.com",
    )
    assert d.extras == {"domain": "contoso.com", "fqdn1": "sip.contoso.com"}
    assert d.meaning == "SIP stack: DNS SRV record does not match the domain"
    p = parse_diagnostics(
        '2013;reason="msrtc-event-categories extension required"', "ms-diagnostics-public"
    )
    assert p.source is None and p.code == 2013
    assert p.short() == (
        'ms-diagnostics-public 2013 "msrtc-event-categories extension required" '
        "(presence: peer lacks msrtc-event-categories)"
    )
    sub = parse_diagnostics('52001.1;reason="x";HRESULT="0x80090322(SEC_E_WRONG_PRINCIPAL)"')
    assert (sub.code, sub.subcode, sub.extras["hresult"]) == (
        52001,
        "1",
        "0x80090322(SEC_E_WRONG_PRINCIPAL)",
    )
    assert sub.meaning is None
    junk = parse_diagnostics("garbage")
    assert junk.code is None and junk.short() == "ms-diagnostics ?"


def test_diagnostic_ranges() -> None:
    assert diagnostic_meaning(1013) == "SIP stack: clock skew between client and server"
    assert diagnostic_meaning(6500) == "IM MCU"
    assert diagnostic_meaning(17002) == "client version filter: client version not allowed"
    assert diagnostic_meaning(90001) == "PIC"
    assert diagnostic_meaning(50000) is None


def test_conversation_id() -> None:
    c = parse_conversation_id("AdxQvQ4AGPiVFj5xQ0e2o0n8XJ0t8g==")
    assert c is not None
    assert c.time is not None and c.time.strftime("%Y-%m-%d %H:%M:%S") == "2025-11-08 14:36:22"
    assert c.guid == "1695f818-713e-4743-b6a3-49fc5c9d2df2"  # bytes 6-21 as a Windows GUID
    assert parse_conversation_id("AAAA") is None
    assert parse_conversation_id("%%%") is None


def test_text_format_first_message_and_font() -> None:
    f = parse_text_format(
        "text/plain; charset=UTF-8;msgr=WAAtAE0ATQBTAC0ASQBNAC0ARgBvAHIAbQBhAHQAOgAgAEYATgA9AFMAZQBnAG8AZQAlADIAMABVAEkAOwAgAEUARgA9ADsAIABDAE8APQAwADsAIABDAFMAPQAwADsAIABQAEYAPQAwAA0ACgANAAoADQA;ms-body=cXdl"  # noqa: E501
    )
    assert (f.content_type, f.charset, f.text) == ("text/plain", "UTF-8", "qwe")
    assert f.font == "FN=Segoe%20UI; EF=; CO=0; CS=0; PF=0"
    assert parse_text_format("text/html; ms-body=***").text is None
    assert parse_text_format("text/plain; charset=bogus; ms-body=aGk=").text == "hi"


@pytest.mark.parametrize(
    "charset", ["zlib", "idna", "undefined", "utf\x008", "base64", "rot13", "punycode", "hex"]
)
def test_text_format_with_a_charset_that_is_not_text(charset: str) -> None:
    """Issue 16, item 2: binary codecs, codecs that refuse errors="replace" and a NUL in the
    name raised out of parse_text_format (exit 3 in the CLI); they fall back to UTF-8."""
    f = parse_text_format(f"text/plain; charset={charset}; ms-body=SGVsbG8gw7w=")
    assert f.text == "Hello \u00fc"
    assert f.charset == charset


def test_text_format_charsets_that_are_text_still_apply() -> None:
    assert parse_text_format("text/plain; charset=latin-1; ms-body=SGVsbG8gw7w=").text == (
        "Hello \u00c3\u00bc"
    )
    assert parse_text_format('text/plain; charset="UTF-16LE"; ms-body=aABpAA==').text == "hi"


_CODEC_NAMES = sorted(set(encodings.aliases.aliases) | set(encodings.aliases.aliases.values()))


@settings(max_examples=300, deadline=None, derandomize=True)
@given(
    st.sampled_from(_CODEC_NAMES)
    | st.text(alphabet=st.characters(blacklist_characters=";"), max_size=12),
    st.binary(max_size=40),
)
def test_text_format_any_charset_any_body(charset: str, raw: bytes) -> None:
    """Every codec Python knows (text or not) and random names, on random bytes."""
    value = f"text/plain; charset={charset}; ms-body={base64.b64encode(raw).decode()}"
    f = parse_text_format(value)
    assert raw == b"" or isinstance(f.text, str)


@pytest.mark.parametrize("args", [[], ["-v"], ["--json", "-v"], ["--calls"], ["--summary"]])
def test_cli_on_an_invite_with_a_zlib_charset(tmp_path, args: list[str]) -> None:
    """The smallest capture of item 2: one INVITE whose first IM names charset=zlib."""
    from hostile import pcap, sip, udp

    invite = sip(
        "INVITE sip:bob@contoso.com SIP/2.0\nVia: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bK1\n"
        "From: <sip:alice@contoso.com>;tag=1\nTo: <sip:bob@contoso.com>\nCall-ID: im-1\n"
        "CSeq: 1 INVITE\nms-text-format: text/plain; charset=zlib; ms-body=aGVsbG8=\n\n"
    )
    path = tmp_path / "zlib-charset.pcap"
    path.write_bytes(pcap([udp(invite)]))
    result = CliRunner().invoke(command, [*args, str(path)])
    assert result.exit_code == 0, result.output
    if not args:
        assert '"hello"' in result.output  # the first IM, read as UTF-8


def _msg() -> bytes:
    return (
        b"INVITE sip:bob@contoso.com SIP/2.0\r\nVia: SIP/2.0/TLS h;branch=z9hG4bK1\r\n"
        b"From: <sip:alice@contoso.com>;tag=1;epid=9f3c6a1d07\r\nTo: <sip:bob@contoso.com>\r\n"
        b"Call-ID: c\r\nCSeq: 1 INVITE\r\n"
        b"EndPoints: <sip:alice@contoso.com>, <sip:bob@contoso.com>;epid=4be2a0c511\r\n"
        b"ms-text-format: text/plain; charset=UTF-8; ms-body=aGVsbG8=\r\n"
        b"ms-im-format: text/html; charset=UTF-8; ms-body=PGI+aGVsbG88L2I+\r\n"
        b"ms-keep-alive: UAC;hop-hop=yes\r\nms-subnet: 10.1.2.0\r\n"
        b'ms-diagnostics: 1003;reason="User does not exist";source="fe01"\r\n'
        b'ms-client-diagnostics: 51007;reason="Callee media connectivity diagnosis info"\r\n'
        b"Content-Length: 0\r\n\r\n"
    )


def test_message_level_helpers() -> None:
    m = parse_message(_msg())
    assert [(f.content_type, f.text) for f in text_formats(m)] == [
        ("text/plain", "hello"),
        ("text/html", "<b>hello</b>"),
    ]
    assert endpoint_list(m) == [
        ("sip:alice@contoso.com", None),
        ("sip:bob@contoso.com", "4be2a0c511"),
    ]
    assert [d.header for d in diagnostics_of(m)] == ["ms-diagnostics", "ms-client-diagnostics"]
    assert ms_header_summary(m)[:2] == [
        "endpoints: IM session participants",
        "ms-text-format: format (and text) of the first IM",
    ]
    assert keep_alive("UAS; tcp=no; hop-hop=yes; end-end=no; timeout=300") == {
        "role": "UAS",
        "tcp": "no",
        "hop-hop": "yes",
        "end-end": "no",
        "timeout": "300",
    }


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_header_decoders_never_raise(text: str) -> None:
    parse_diagnostics(text)
    parse_conversation_id(text)
    parse_text_format(text)
    keep_alive(text)
    instance_from_gruu_opaque(text)
    d = parse_diagnostics(text)
    d.short()


def test_conversation_id_of_a_public_sfb_message() -> None:
    """A Skype for Business 2015 value quoted in the reference notes: it decodes to 2017-03-23,
    the date the notes give for that lab capture."""
    c = parse_conversation_id("AdKjt1Xy9lDJ8KRjRYaBRsRaq4N/vw==")
    assert c is not None and c.time is not None
    assert c.time.strftime("%Y-%m-%d %H:%M:%S") == "2017-03-23 09:24:56"


@given(st.binary(min_size=16, max_size=16))
def test_guid_text_is_uuid_text(raw: bytes) -> None:
    import uuid

    from lyncdump.sip.ms import _guid_text

    assert _guid_text(raw) == str(uuid.UUID(bytes_le=raw))


@given(st.text(max_size=40))
def test_epid_to_instance_as_through_uuid(epid: str) -> None:
    import hashlib
    import uuid

    from lyncdump.sip.ms import _NAMESPACE_LE

    raw = bytearray(hashlib.sha1(_NAMESPACE_LE + epid.encode("ascii", "replace")).digest()[:16])
    raw[7] = (raw[7] & 0x0F) | 0x50
    raw[8] = (raw[8] & 0x3F) | 0x80
    assert epid_to_instance(epid) == str(uuid.UUID(bytes_le=bytes(raw)))
