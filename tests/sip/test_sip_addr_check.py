"""The compiled From/To check (``_fastpath.sip_addr_check``, the ``sip_addr_plain`` that
``sip_addrs_clean`` runs on a text not seen before) and the bounded tables of sip/message.py.

The check may say "do not know" of any text; when it says clean, parse_name_addr must find no
problem in the text, nor in the key with placeholders that goes in ``_CLEAN_ADDRS`` for the
messages after it. The texts generated here sit near the edges of the subset it accepts.
"""

from __future__ import annotations

import pickle

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from lyncdump import fastpath
from lyncdump.recent import CleanKeys, RecentTexts
from lyncdump.sip import message as lazy
from lyncdump.sip.headers import parse_name_addr
from lyncdump.sip.message import _parse_addr, _split_addr, parse_message

compiled = fastpath.compiled()
needs_c = pytest.mark.skipif(
    compiled is None, reason="the compiled fast path is not in use (LYNCDUMP_PURE_PYTHON)"
)
SETTINGS = settings(max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Pieces a From/To text is made of, with the ones that sit on an edge of the subset.
_DISPLAY = st.sampled_from(
    [
        "",
        '"Al" ',
        '"Al"',
        '"A \\" l" ',
        '"A>l" ',
        '"A<l" ',
        '"A;l" ',
        '"Al',
        "Al ",
        "Al  Bo ",
        "Al:",
        'A"l ',
        "A>l ",
        " ",
        "\t",
        "Al\t",
        "Ål ",
        '"Ål" ',
        "Al",
        "*",
    ]
)
_SCHEME = st.sampled_from(
    ["sip:", "sips:", "SIP:", "SiPs:", "tel:", "sip", "sipx:", "http:", " sip:", ":", ""]
)
_USER = st.sampled_from(
    ["al@", "", "@", "a%20l@", "a%zz@", "a:pw@", "a;x=y@", "a?b@", "a b@", "a<b@", 'a"b@', "é@"]
)
_HOST = st.sampled_from(
    [
        "example.com",
        "EXAMPLE.com",
        "10.0.0.1",
        "[::1]",
        "[2001:db8::1]",
        "[]",
        "[::1",
        "[g::1]",
        "ex ample",
        "ex_ample",
        "",
        "-",
        "a/b",
        "a\\b",
        "ex\x01",
    ]
)
_PORT = st.sampled_from(
    ["", ":5061", ":0", ":65535", ":65536", ":99999", ":123456", ":", ":5o", ": 5", ":-1"]
)
_URI_PARAMS = st.sampled_from(
    ["", ";transport=tls", ";gruu", ";opaque=user:epid:x;gruu", "?h=v", ";", ";a b", ';q="x"']
)
_PARAM = st.sampled_from(
    [
        ";tag=9f3a",
        ";tag=",
        ";tag",
        ";epid=01ab",
        ";",
        ";;tag=1",
        "; tag=1",
        ";tag =1",
        ";tag= 1",
        ";tag=a b",
        ';tag="q"',
        ";tag=a>b",
        ";tag=a<b",
        ";=1",
        ";t@g=1",
        ";tag=\x01",
        ";tag=é",
        " ;tag=1",
        "x",
        " ",
        "\t",
        ">",
    ]
)


@st.composite
def _addr_texts(draw: st.DrawFn) -> str:
    text = (
        draw(_DISPLAY)
        + draw(st.sampled_from(["<", "", "<<"]))
        + draw(_SCHEME)
        + draw(_USER)
        + draw(_HOST)
        + draw(_PORT)
        + draw(_URI_PARAMS)
        + draw(st.sampled_from([">", "", ">>", " >"]))
        + "".join(draw(st.lists(_PARAM, max_size=4)))
    )
    if draw(st.booleans()):
        text = (
            draw(st.sampled_from([" ", "  ", "\t", ""]))
            + text
            + draw(st.sampled_from([" ", "\t", "", "\x0b"]))
        )
    return text


def _problems(text: str) -> list[str]:
    problems: list[str] = []
    if parse_name_addr(text, problems) is None and not problems:
        problems.append("no address")
    return problems


def _assert_sound(text: str) -> None:
    """When the C says clean: no problem in the text, its key, or _parse_addr's reading."""
    if not compiled.sip_addr_check(text):
        return
    assert _problems(text) == [], text
    split = _split_addr(text)
    if split is not None:
        assert _problems(split[0]) == [], text
        assert compiled.sip_addr_base(text) == split
    addr, found = _parse_addr(text)
    assert addr is not None and found == ()


@needs_c
@SETTINGS
@given(_addr_texts())
@example('"Al" <sip:al@example.com>;tag=9f;epid=3')
@example("<SIPS:[2001:db8::1]:65535;transport=tls>;tag=")
@example("Al Bo <sip:a%zz:pw@10.0.0.1:0?h=v>;gruu")
def test_clean_means_no_problem(text: str) -> None:
    _assert_sound(text)


@needs_c
@SETTINGS
@given(st.text(alphabet=st.sampled_from('<>"@:;=?[] \t\\%sipSIPexample.c1\x01é'), max_size=60))
def test_clean_means_no_problem_on_random_text(text: str) -> None:
    _assert_sound(text)


@needs_c
@SETTINGS
@given(_addr_texts(), st.data())
def test_truncated_and_changed_texts(text: str, data: st.DataObject) -> None:
    for cut in range(len(text) + 1):
        _assert_sound(text[:cut])
    if text:
        i = data.draw(st.integers(0, len(text) - 1))
        byte = data.draw(st.integers(0, 0x10FFFF).filter(lambda c: not 0xD800 <= c <= 0xDFFF))
        _assert_sound(text[:i] + chr(byte) + text[i + 1 :])


@needs_c
@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=80))
def test_random_bytes(raw: bytes) -> None:
    _assert_sound(raw.decode("latin-1"))
    _assert_sound(raw.decode("ascii", "replace"))


@needs_c
def test_the_common_texts_are_known_clean() -> None:
    for text in (
        '"Al" <sip:al@example.com>;tag=9f;epid=3',
        "<sip:b@example.com>",
        "Al Bo <sips:al@[::1]:5061;transport=tls>;tag=",
        "<sip:al@example.com;maddr=x@y>",
    ):
        assert compiled.sip_addr_check(text), text
    for text in (
        "<sip:al@example.com",
        "<sip:al@example.com>;",
        "<sip:al@example.com:65536>",
        "<tel:+1555>",
        '"A\\"l" <sip:al@example.com>',
        "sip:al@example.com",
        "<sip:al@exämple.com>",
    ):
        assert not compiled.sip_addr_check(text), text
    with pytest.raises(TypeError):
        compiled.sip_addr_check(b"<sip:al@example.com>")


@needs_c
def test_a_first_sighting_needs_no_python_parse(monkeypatch: pytest.MonkeyPatch) -> None:
    lazy._CLEAN_ADDRS.clear()
    calls: list[str] = []

    def spy(text: str, problems: list[str] | None = None) -> object:
        calls.append(text)
        return parse_name_addr(text, problems)

    data = (
        b"INVITE sip:b@example.com SIP/2.0\r\nVia: SIP/2.0/TLS h;branch=z9hG4bK1\r\n"
        b'From: "New" <sip:new1@example.com>;tag=5;epid=6\r\nTo: <sip:b2@example.com>\r\n'
        b"Call-ID: c1\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n"
    )
    index = compiled.sip_head(data, -1)[7]
    # Decided from the text alone: nothing looked up in the set, nothing added to it.
    assert compiled.sip_addrs_clean(index, lazy._CLEAN_ADDRS) == 3
    assert not lazy._CLEAN_ADDRS and lazy._CLEAN_ADDRS.chars == 0
    lazy._ADDRS.clear()
    lazy._BASES.clear()
    monkeypatch.setattr(lazy, "parse_name_addr", spy)
    msg = parse_message(data)
    assert msg._from is lazy._CHECKED and msg._to is lazy._CHECKED and calls == []
    assert msg.from_ is not None and msg.from_.tag == "5" and msg.defects == []
    plain: set[str] = set()
    assert compiled.sip_addrs_clean(index, plain) == 3 and not plain


@needs_c
def test_the_set_answers_for_texts_the_raw_check_cannot_decide() -> None:
    """A text sip_addr_plain does not accept is clean only when its key (placeholders for
    its token parameter values) is in the set Python fills; the set is never written."""
    escaped = '"A\\"l" <sip:al@example.com>;tag=1;epid=2'
    assert not compiled.sip_addr_check(escaped) and _problems(escaped) == []
    index = {"from": (escaped,), "to": ("<tel:+1555>;tag=3",)}
    keys = CleanKeys(8, 200)
    assert compiled.sip_addrs_clean(index, keys) == 0 and not keys
    key = _split_addr(escaped)[0]  # type: ignore[index]
    keys.note(key)
    assert compiled.sip_addrs_clean(index, keys) == 1  # another tag, the same key
    other = {"from": (escaped.replace("tag=1", "tag=99"),), "to": ("<tel:+1555>;tag=3",)}
    assert compiled.sip_addrs_clean(other, keys) == 1
    keys.note("<tel:+1555>;tag=\x010")
    assert compiled.sip_addrs_clean(index, keys) == 3
    assert keys == {key, "<tel:+1555>;tag=\x010"}  # read, not written
    # Twice the header, or not ASCII: Python reads it whatever the set holds.
    assert compiled.sip_addrs_clean({"from": (escaped, escaped)}, keys) == 0
    keys.note("<sip:\xe9@x>")
    assert compiled.sip_addrs_clean({"to": ("<sip:\xe9@x>",)}, keys) == 0


@needs_c
@SETTINGS
@given(_addr_texts(), st.lists(_PARAM, max_size=3))
def test_a_plain_text_answers_for_every_text_of_its_key(text: str, params: list[str]) -> None:
    """Why sip_addrs_clean need not note the keys of the texts sip_addr_plain accepts: any
    other text with the same key is accepted too (so the set could only repeat it)."""
    if not compiled.sip_addr_check(text):
        return
    split = _split_addr(text)
    if split is None:
        return
    base, real = split
    values = [p.partition("=")[2] for p in params]
    other = base
    for i, placeholder in sorted(enumerate(real), key=lambda item: -len(item[1])):
        value = values[i] if i < len(values) and values[i] else f"v{i}"
        other = other.replace(placeholder, value, 1)
    again = _split_addr(other)
    if again is not None and again[0] == base:
        assert compiled.sip_addr_check(other), (text, other)


def test_recent_texts_bounds_entries_and_characters() -> None:
    table: RecentTexts[int] = RecentTexts(4, 20)
    for i in range(10):
        table.put(f"k{i}", i)
    assert list(table) == ["k6", "k7", "k8", "k9"] and table.chars == 8
    table.put("x" * 15, 1)  # 23 characters: the oldest go until 20 or fewer remain
    assert list(table) == ["k8", "k9", "x" * 15] and table.chars == 19
    table.put("k9", 5)  # a known key keeps its place and its count
    assert table.chars == 19 and table["k9"] == 5
    table.put("y" * 21, 1)  # longer than the whole bound: not kept
    assert "y" * 21 not in table and table.chars == 19
    copy = pickle.loads(pickle.dumps(table))
    assert copy == table and copy.chars == table.chars and copy.char_limit == 20
    table.clear()
    assert table.chars == 0 and not table


def test_clean_keys_bounds_entries_and_characters() -> None:
    keys = CleanKeys(3, 10)
    for key in ("a", "bb", "cc"):
        keys.note(key)
    assert keys == {"a", "bb", "cc"} and keys.chars == 5
    keys.note("bb")
    assert keys.chars == 5
    keys.note("dd")  # past 3 entries: emptied first
    assert keys == {"dd"} and keys.chars == 2
    keys.note("e" * 9)  # past 10 characters: emptied first
    assert keys == {"e" * 9} and keys.chars == 9
    keys.note("f" * 11)  # longer than the bound: emptied, not kept
    assert keys == set() and keys.chars == 0
    copy = pickle.loads(pickle.dumps(CleanKeys(3, 10)))
    assert copy.limit == 3 and copy.char_limit == 10


@needs_c
def test_compiled_check_leaves_the_bounded_set_alone() -> None:
    keys = CleanKeys(3, 60)
    for i in range(50):
        index = {"from": (f"<sip:user{i}@example.com>;tag={i}",), "to": (f"<sip:u{i}@x.com>",)}
        assert compiled.sip_addrs_clean(index, keys) == 3
        assert not keys and keys.chars == 0
    long_text = "<sip:" + "u" * 600 + "@example.com>"
    assert compiled.sip_addrs_clean({"to": (long_text,)}, keys) == 2
    assert not keys


def test_the_tables_stay_bounded_and_results_equal(monkeypatch: pytest.MonkeyPatch) -> None:
    """Small bounds on every From/To table: the totals hold and every message's addresses,
    URIs and defects are what a run with room to spare gives."""

    def run() -> list[object]:
        lazy._ADDRS.clear()
        lazy._BASES.clear()
        lazy._URI_TEXTS.clear()
        lazy._CLEAN_ADDRS.clear()
        out: list[object] = []
        for i in range(300):
            user = i % 97
            frm = f'"User {user}" <sip:user{user}@example.com>;tag={i:x};epid={user}'
            to = f"<sip:peer{i % 31}@example.com>" + (f";tag={i}" if i % 3 else "")
            if i % 17 == 0:
                to = f"<sip:peer{i}@example.com>;;tag=1"  # a problem: an empty parameter
            data = (
                f"MESSAGE sip:b@example.com SIP/2.0\r\nVia: SIP/2.0/TLS h;branch=z9hG4bK{i}\r\n"
                f"From: {frm}\r\nTo: {to}\r\nCall-ID: c{i}\r\nCSeq: 1 MESSAGE\r\n"
                "Content-Length: 0\r\n\r\n"
            ).encode()
            msg = parse_message(data)
            msg.note_address_defects()
            out.append((msg.addr_uri("from"), msg.addr_uri("to"), list(msg.defects)))
            out.append((msg.from_, msg.to))
            for table in (lazy._ADDRS, lazy._BASES, lazy._URI_TEXTS):
                assert len(table) <= table.size and table.chars <= table.char_limit
                assert table.chars == sum(map(len, table))
            keys = lazy._CLEAN_ADDRS
            assert len(keys) <= keys.limit and keys.chars <= keys.char_limit
        return out

    wide = run()
    # (the tables' own objects: the compiled message maker holds _CLEAN_ADDRS)
    for name in ("_ADDRS", "_BASES", "_URI_TEXTS"):
        monkeypatch.setattr(getattr(lazy, name), "size", 8)
        monkeypatch.setattr(getattr(lazy, name), "char_limit", 300)
    monkeypatch.setattr(lazy._CLEAN_ADDRS, "limit", 8)
    monkeypatch.setattr(lazy._CLEAN_ADDRS, "char_limit", 200)
    narrow = run()
    assert narrow == wide
