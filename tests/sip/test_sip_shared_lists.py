"""Contact/Route lists parsed once per text and From/To URIs as text once per address: each
gives what the long way gives."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from lyncdump.sip import message as M
from lyncdump.sip.headers import parse_name_addr
from lyncdump.sip.message import SipMessage, parse_message

from ._compiled import without


def _msg(extra: str, frm: str = "<sip:al@contoso.com>;tag=1", to: str = "<sip:bo@b.com>") -> bytes:
    return (
        "REGISTER sip:contoso.com SIP/2.0\r\n"
        "Via: SIP/2.0/TLS 10.0.0.1:5061;branch=z9hG4bK1\r\n"
        f"From: {frm}\r\nTo: {to}\r\nCall-ID: abc\r\nCSeq: 1 REGISTER\r\n"
        f"{extra}Content-Length: 0\r\n\r\n"
    ).encode()


def _fresh_list(m: SipMessage, name: str) -> tuple[list[object], list[str]]:
    """What ``_name_addr_list`` gave before the table: each item parsed, problems in order."""
    problems: list[str] = []
    out = []
    for item in m.header_values(name):
        addr = parse_name_addr(item, problems)
        if addr is not None:
            out.append(addr)
    return out, problems


_CONTACT_PIECES = [
    "<sip:a@10.0.0.1:5061;transport=tls>", ";expires=3600", ";EXPIRES=7200", ";expires=x",
    ';+sip.instance="<urn:uuid:1>"', ";gruu", ',', " ", '"', "<", ">", "sip:", "*", "é",
    ";", "=", '"Al, B" ', "[::1", "\\", 'methods="INVITE, BYE"', "tel:+1", ";;",
]  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.lists(st.sampled_from(_CONTACT_PIECES), min_size=1, max_size=8).map("".join),
        min_size=1,
        max_size=3,
    ),
    st.sampled_from(["Contact", "m", "Route", "Record-Route"]),
)
def test_a_shared_list_equals_a_fresh_parse_on_every_message(values: list[str], name: str) -> None:
    """Two messages with the same values (the second from the table) each get the addresses
    and the defects, in order, that parsing their own values gives."""
    extra = "".join(f"{name}: {v}\r\n" for v in values)
    for _ in range(2):
        m, fresh = parse_message(_msg(extra)), parse_message(_msg(extra))
        key = {"m": "contact"}.get(name, name.lower())
        want, problems = _fresh_list(fresh, key)
        label = {"contact": "Contact", "route": "Route", "record-route": "Record-Route"}[key]
        got = getattr(m, key.replace("-", "_"))
        assert got == want
        reasons = [d.reason for d in m.defects if d.reason.startswith(label + ":")]
        assert reasons == [f"{label}: {p}" for p in dict.fromkeys(problems)]


def test_the_list_table_is_bounded_and_skips_long_texts() -> None:
    M._ADDR_LISTS.clear()
    for i in range(M._ADDR_LISTS_MAX + 20):
        assert parse_message(_msg(f"Contact: <sip:u{i}@h>;expires={i}\r\n")).contact
    assert len(M._ADDR_LISTS) == M._ADDR_LISTS_MAX
    long = "<sip:" + "a" * M._ADDR_LIST_TEXT_MAX + "@h>"
    m = parse_message(_msg(f"Contact: {long}\r\n"))
    assert m.contact[0].uri_text == long[1:-1]
    assert (long,) not in M._ADDR_LISTS
    first = parse_message(_msg("Contact: <sip:x@h>\r\n")).contact
    second = parse_message(_msg("Contact: <sip:x@h>\r\n")).contact
    assert first == second and first is not second  # each message its own list


_ADDR_PIECES = [
    '"Al"', " ", "<", ">", "sip:", "a", "@", "b.com", ";tag=", "t1", ";epid=2", ";", "=", '"',
    "[::1", "]", ":5061", "urn:x", "tel:+1", "é", ";TAG=x", "<sip:u@h;transport=tls>",
]  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(
    st.lists(st.sampled_from(_ADDR_PIECES), min_size=1, max_size=10).map("".join),
    st.lists(st.sampled_from(["1", "2", "x-9", "abc"]), min_size=2, max_size=2),
    st.booleans(),
)
def test_the_uri_text_is_the_built_addresses(base: str, tags: list[str], python: bool) -> None:
    """``addr_uri`` gives ``str(from_.uri)`` / ``str(to.uri)`` and the same defects, for
    texts seen before with other tags (the URI text from the table) and new ones."""
    with without(M, "_addr_base", when=python):
        for tag in tags:
            frm = f"{base};tag={tag}" if base.strip() else "<sip:a@b>"
            raw = _msg("", frm=frm, to=base if base.strip() else "<sip:b@c>")
            m, ref = parse_message(raw), parse_message(raw)
            for which in ("from", "to"):
                m.note_address_defects()
                ref.note_address_defects()
                addr = ref.from_ if which == "from" else ref.to
                want = str(addr.uri) if addr is not None and addr.uri is not None else None
                assert m.addr_uri(which) == want
            assert [d.reason for d in m.defects] == [d.reason for d in ref.defects]


def test_the_uri_text_table_is_bounded() -> None:
    assert M._URI_TEXTS.size == M._KEYS_MAX and M._URI_TEXTS.char_limit == M._KEYS_CHARS
    table = M._URI_TEXTS
    saved = table.size, table.char_limit
    table.size, table.char_limit = 1024, 16 * 1024  # the real bounds, scaled down
    try:
        for i in range(2000):
            m = parse_message(_msg("", frm=f"<sip:u{i}@h>;tag=1" + "p" * (i % 50)))
            m.note_address_defects()
            assert m.addr_uri("from") == f"sip:u{i}@h"
            assert len(table) <= 1024 and table.chars <= 16 * 1024
    finally:
        table.size, table.char_limit = saved
    assert table.chars == sum(map(len, table))
