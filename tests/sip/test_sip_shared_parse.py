"""From and To parsed once per distinct text: the same values and defects on every message."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from lyncdump.sip import message as M
from lyncdump.sip.headers import parse_name_addr
from lyncdump.sip.message import parse_message

from ._compiled import without


def _msg(frm: str, to: str = "<sip:bob@contoso.com>") -> bytes:
    return (
        "MESSAGE sip:bob@contoso.com SIP/2.0\r\n"
        "Via: SIP/2.0/TLS 10.0.0.1:5061;branch=z9hG4bK1\r\n"
        f"From: {frm}\r\nTo: {to}\r\nCall-ID: abc\r\nCSeq: 1 MESSAGE\r\n"
        "Content-Length: 0\r\n\r\n"
    ).encode()


def test_every_message_gets_the_defect_of_a_shared_bad_uri() -> None:
    bad = "<sip:alice@[::1>;tag=1"
    first, second = parse_message(_msg(bad)), parse_message(_msg(bad))
    for m in (first, second):
        assert m.from_ is not None and m.from_.params == {"tag": "1"}
        assert [d.reason for d in m.defects] == ["From: unparsable URI 'sip:alice@[::1'"]
    assert second.from_ is first.from_  # parsed once


def test_shared_values_equal_a_fresh_parse() -> None:
    texts = ['"Alice" <sip:alice@contoso.com>;tag=9;epid=1', "sip:bob@contoso.com", "<urn:x>", " "]
    for text in texts * 2:
        m = parse_message(_msg("<sip:a@b>", to=text)) if text.strip() else None
        if m is None:
            continue
        assert m.to == parse_name_addr(text.strip())


def test_the_table_is_bounded_and_skips_long_texts() -> None:
    for i in range(M._SHARED_MAX + 50):
        parse_message(_msg(f"<sip:user{i}@contoso.com>;tag={i}")).from_  # noqa: B018
    assert len(M._ADDRS) <= M._SHARED_MAX
    long = "<sip:" + "a" * M._SHARED_TEXT_MAX + "@contoso.com>"
    assert parse_message(_msg(long)).from_ is not None
    assert long not in M._ADDRS


_ADDR_PIECES = [
    '"Al;tag=x"', " ", "<", ">", "sip:", "a", "@", "b.com", ";tag=", ";TAG=", "t1", "9f-x",
    ";epid=2", ";", "=", '"', "\\", ",", "[::1", "]", ":5061", "<sip:a@b>", "urn:x", "tel:+1", "é",
    ";tag=x;epid=1", " <sip:u@h> ", "x=", "\x01", "\x010",
]  # fmt: skip


@settings(max_examples=500, deadline=None)
@given(st.lists(st.sampled_from(_ADDR_PIECES), max_size=12).map("".join))
def test_an_address_plus_a_tag_parses_as_the_whole_text(text: str) -> None:
    """The shortcut for ``<address>;tag=token;epid=token`` (the address parsed once with
    placeholders for the values, split in C or in Python) gives what parsing the whole text
    gives: the same values, parameters in the same order, the same problems."""
    problems: list[str] = []
    want = parse_name_addr(text, problems)
    for python in (False, True):
        with without(M, "_addr_base", when=python):
            got, got_problems = M._parse_addr(text)
        assert (got, got_problems) == (want, tuple(problems))
        if want is not None:
            assert got is not None and list(got.params.items()) == list(want.params.items())
            assert got.raw == want.raw


def test_addresses_are_shared_across_tags_and_bounded() -> None:
    M._BASES.clear()
    first = parse_message(_msg('"Al" <sip:al@contoso.com>;tag=1;epid=e1')).from_
    second = parse_message(_msg('"Al" <sip:al@contoso.com>;tag=2;epid=e2')).from_
    assert first is not None and second is not None
    assert list(second.params.items()) == [("tag", "2"), ("epid", "e2")]
    assert second.uri is first.uri  # the address was parsed once
    assert len(M._BASES) == 1
    for i in range(M._SHARED_MAX + 50):
        parse_message(_msg(f"<sip:user{i}@contoso.com>;tag={i}")).from_  # noqa: B018
    assert len(M._BASES) <= M._SHARED_MAX
