"""The compiled SIP helpers (``_fastpath.sip_frame_head``, ``sip_head``, ``sip_top_branch``)
against the Python code they stand in for.

``sip_head`` is checked message by message in test_sip_lazy_parity.py (compiled, pure Python and
the eager reference parser agree on every accessor and defect). Here: the framer cuts the same
messages with the same defects whether it finds the end of the headers in C or in Python, and the
topmost Via branch read in C is what parsing the Via list gives, with the same defects.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lyncdump import fastpath
from lyncdump.sip import framing
from lyncdump.sip import message as lazy
from lyncdump.sip.framing import SipStreamFramer
from lyncdump.sip.message import parse_message

from . import sip_samples as S
from ._compiled import without
from .test_sip_lazy_parity import messages

compiled = fastpath.compiled()
pytestmark = pytest.mark.skipif(
    compiled is None, reason="the compiled fast path is not in use (LYNCDUMP_PURE_PYTHON)"
)
SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def test_the_compiled_helpers_are_used_when_built() -> None:
    assert framing._frame_head is compiled.sip_frame_head
    assert lazy._sip_head is compiled.sip_head
    assert lazy._top_branch is compiled.sip_top_branch
    assert lazy._addr_base is compiled.sip_addr_base
    assert lazy._addrs_clean is compiled.sip_addrs_clean


def frame_all(stream: bytes, chunk: int, gaps: dict[int, int]) -> list[object]:
    """Everything the framer gives for ``stream`` fed in ``chunk``-byte pieces (with a gap of
    gaps[i] bytes before piece i): messages with what they hand over, then the defects."""
    framer = SipStreamFramer(max_message=4096)
    out: list[object] = []
    for n, i in enumerate(range(0, len(stream), chunk)):
        if n in gaps:
            framer.receive_gap(gaps[n], n, float(n))
        framer.receive_data(stream[i : i + chunk], n, float(n))
        while (m := framer.next_message()) is not None:
            out.append((m.data, m.first_frame, m.frame, m.header_end, m.content_length))
    framer.close()
    while (m := framer.next_message()) is not None:
        out.append((m.data, m.first_frame, m.frame, m.header_end, m.content_length))
    out.extend(framer.defects)
    return out


def same_framing(stream: bytes, chunk: int, gaps: dict[int, int] | None = None) -> None:
    got = frame_all(stream, chunk, gaps or {})
    with without(framing, "_frame_head"):
        want = frame_all(stream, chunk, gaps or {})
    assert got == want, stream[:300]


@pytest.mark.parametrize("chunk", [1, 7, 64, 1 << 16])
def test_sample_messages_frame_the_same(chunk: int) -> None:
    stream = b"\r\n".join([*S.VALID.values(), *S.MS_MESSAGES.values(), S.BADINV01, S.SCALAR02])
    same_framing(stream, chunk)


@pytest.mark.parametrize(
    "head",
    [
        b"content-length: 3",
        b"Content-Length:3",
        b"CONTENT-LENGTH \t: 3 \r",
        b"Content-Length: 3\r\n\t",
        b"Content-Length: 3\r\nContent-Length: 3",
        b"l: 3",
        b"Location: x\r\nContent-Length: 3",
        b"Content-Length: x3",
        b"Content-Length: 0000000000000003",
        b"Content-Length: 9999999999999999999",
        b"Content-Length: 3 4",
        b"Content-Length: +3",
        b"Content-Lengthy: 3",
        b"X: 1",
    ],
)
@pytest.mark.parametrize("eol", [b"\r\n", b"\n"])
def test_content_length_spellings_frame_the_same(head: bytes, eol: bytes) -> None:
    message = b"MESSAGE sip:a@b SIP/2.0" + eol + head.replace(b"\r\n", eol) + eol + eol + b"abc"
    same_framing(message + eol + message + b"OPTIONS sip:x SIP/2.0" + eol + eol, 5)


@SETTINGS
@given(
    st.lists(messages(), min_size=1, max_size=4),
    st.integers(1, 80),
    st.dictionaries(st.integers(0, 40), st.integers(0, 50), max_size=2),
)
def test_generated_streams_frame_the_same(
    parts: list[bytes], chunk: int, gaps: dict[int, int]
) -> None:
    same_framing(b"\r\n".join(parts), chunk, gaps)


@SETTINGS
@given(st.binary(max_size=600), st.integers(1, 80))
def test_random_bytes_frame_the_same(data: bytes, chunk: int) -> None:
    same_framing(data, chunk)
    same_framing(b"SIP/2.0 200 OK\r\nContent-Length: 2\r\n" + data, chunk)


# -- whole messages of one chunk (sip_frame_chunk) ------------------------------------------------


def chunk_then_framer(data: bytes, max_message: int) -> list[object]:
    """What pipeline/connection.py does with a chunk that reaches a framer at rest: the whole
    plain messages at its start from ``sip_frame_chunk``, the rest through the framer."""
    consumed, found = compiled.sip_frame_chunk(data, max_message)
    out: list[object] = [
        (data[start : start + size], 1, 1, header_end, length)
        for start, size, header_end, length in found
    ]
    framer = SipStreamFramer(max_message=max_message)
    framer.skip_framed(consumed, 1)
    if consumed < len(data):
        framer.receive_data(data[consumed:], 1, 0.0)
    framer.close()
    while (m := framer.next_message()) is not None:
        out.append((m.data, m.first_frame, m.frame, m.header_end, m.content_length))
    out.extend(framer.defects)
    return out


def framer_alone(data: bytes, max_message: int) -> list[object]:
    framer = SipStreamFramer(max_message=max_message)
    framer.receive_data(data, 1, 0.0)
    framer.close()
    out: list[object] = []
    while (m := framer.next_message()) is not None:
        out.append((m.data, m.first_frame, m.frame, m.header_end, m.content_length))
    out.extend(framer.defects)
    return out


def same_chunk_framing(data: bytes, max_message: int = 4096) -> None:
    assert chunk_then_framer(data, max_message) == framer_alone(data, max_message), data[:300]


def test_chunk_framing_of_sample_messages() -> None:
    stream = b"\r\n".join([*S.VALID.values(), *S.MS_MESSAGES.values(), S.BADINV01, S.SCALAR02])
    same_chunk_framing(stream, 1 << 20)
    for cut in range(0, len(stream), 97):
        same_chunk_framing(stream[:cut], 1 << 20)
    same_chunk_framing(stream, 300)  # messages past the bound


@pytest.mark.parametrize(
    "head",
    [b"content-length: 3", b"Content-Length:3", b"l: 3", b"Content-Length: 3\r\n\t", b"X: 1",
     b"Content-Length: 3\r\nContent-Length: 3", b"Content-Length: 9999999999999999999",
     b"CSeq: 1 NEGOTIATE\r\nContent-Length: 3", b"Content-Length: 3\r\nSupported: x"],
)  # fmt: skip
@pytest.mark.parametrize("eol", [b"\r\n", b"\n"])
def test_chunk_framing_of_content_length_spellings(head: bytes, eol: bytes) -> None:
    message = b"MESSAGE sip:a@b SIP/2.0" + eol + head.replace(b"\r\n", eol) + eol + eol + b"abc"
    same_chunk_framing(b"\r\n" + message + eol + message + b"OPTIONS sip:x SIP/2.0" + eol + eol)
    same_chunk_framing(message + message)


@SETTINGS
@given(st.lists(messages(), min_size=1, max_size=4), st.sampled_from([b"", b"\r\n", b"\n\n"]))
def test_chunk_framing_of_generated_messages(parts: list[bytes], glue: bytes) -> None:
    same_chunk_framing(glue.join(parts))
    same_chunk_framing(glue.join(parts)[:-1])


@SETTINGS
@given(st.binary(max_size=600))
def test_chunk_framing_of_random_bytes(data: bytes) -> None:
    same_chunk_framing(data)
    same_chunk_framing(b"SIP/2.0 200 OK\r\nContent-Length: 2\r\n\r\nab" + data)


# A header block that names NEGOTIATE anywhere (any case) is left to Python (MS-SIPCOMP may
# follow it); the compiled scan tests sixteen positions at a time, so the word is put at every
# offset around those blocks, cut short, and in every case.
_FILLER = st.text(alphabet="nNgGeEoOtTiIaA -:;=x", max_size=70)


def _scan_takes(header_text: str) -> bool:
    message = f"OPTIONS sip:a@b SIP/2.0\r\nX-Note: {header_text}\r\nContent-Length: 0\r\n\r\n"
    consumed, found = compiled.sip_frame_chunk(message.encode(), 1 << 20)
    assert consumed in (0, len(message)) and len(found) == (1 if consumed else 0)
    return bool(found)


@SETTINGS
@given(_FILLER, st.sampled_from(["negotiate", "NEGOTIATE", "NeGoTiAtE", "negotiat", "egotiate",
                                 "nXgotiate", "ngotiate", ""]), _FILLER)  # fmt: skip
def test_a_header_naming_negotiate_is_left_to_python(before: str, word: str, after: str) -> None:
    text = before + word + after
    assert _scan_takes(text) is ("negotiate" not in f"X-Note: {text}".lower())


@pytest.mark.parametrize("offset", range(40))
def test_negotiate_at_every_offset_is_seen(offset: int) -> None:
    assert not _scan_takes("x" * offset + "Negotiate")
    assert not _scan_takes("x" * offset + "NEGOTIATE" + "x" * (39 - offset))
    assert _scan_takes("x" * offset + "NEGOTIATx")


# -- the view headers' scan (sip_header_scan against _VIEW_RE) -------------------------------------

_SCAN_NAMES = [
    "Event",
    "event",
    "EVENT",
    "o",
    "O",
    "Contact",
    "m",
    "M",
    "Expires",
    "eXpires",
    "Expires-X",
    "Expire",
    "User-Agent",
    "WWW-Authenticate",
    "Ms-Diagnostics",
    "ms-diagnostics-public",
    "Reason",
    "Via",
    "To",
    "X",
    "",
    "Eve nt",
    "Event\x00",
]
_SCAN_LINES = st.tuples(
    st.sampled_from(_SCAN_NAMES),
    st.sampled_from(["", " ", "\t", " \t "]),
    st.sampled_from([":", "", "=", ": :"]),
    st.text(alphabet="ab ;=\t\x01\xe9:,\u20ac", max_size=12),
    st.sampled_from(["\r\n", "\n", " \r\n", "\t\r\n", "\r\r\n"]),
).map("".join)


def _regex_scan(buf: bytes, start: int, end: int) -> dict[str, object]:
    index: dict[str, object] = {}
    for name, raw in lazy._VIEW_RE.findall(buf, start, end):
        key = lazy._VIEW_SPELLINGS.get(name) or lazy._VIEW_SPELLINGS[name.lower()]
        index[key] = (*index.get(key, ()), raw[:-1].rstrip(b" \t").decode("utf-8"))  # type: ignore[misc]
    return index


@SETTINGS
@given(st.lists(_SCAN_LINES, max_size=8), st.integers(0, 3))
def test_header_scan_finds_what_the_expression_finds(lines: list[str], cut: int) -> None:
    buf = ("INVITE sip:a@b SIP/2.0\r\n" + "".join(lines) + "\r\n").encode()
    start, end = buf.index(b"\n"), len(buf) - 2 - cut
    index: dict[str, object] = {}
    try:
        compiled.sip_header_scan(buf, start, end, lazy._VIEW_LOWER, index)
    except UnicodeDecodeError:  # a value cut inside a character (never from the lazy parse)
        with pytest.raises(UnicodeDecodeError):
            _regex_scan(buf, start, end)
        return
    assert index == _regex_scan(buf, start, end)


def test_header_scan_appends_to_what_the_index_holds() -> None:
    buf = b"SIP/2.0 200 OK\r\nEvent: a\r\no: b \r\nm:<sip:x>\r\n\r\n"
    index: dict[str, object] = {"event": ("z",), "call-id": ("c",)}
    compiled.sip_header_scan(buf, buf.index(b"\n"), len(buf) - 2, lazy._VIEW_LOWER, index)
    assert index == {"event": ("z", "a", "b"), "call-id": ("c",), "contact": ("<sip:x>",)}
    with pytest.raises(TypeError):
        compiled.sip_header_scan(buf, 0, 5, {"event": "event"}, {})
    with pytest.raises(TypeError):
        compiled.sip_header_scan(buf, 0, 5, lazy._VIEW_LOWER)


# -- the topmost Via branch ----------------------------------------------------------------------

_VIA_PIECES = [
    "SIP/2.0/TLS", "SIP/2.0/TCP ", "sip/2.0/udp", " ", "  ", "host", "10.0.0.1", ":5061", ":70000",
    ":", "[::1]", "@", ";branch=z9hG4bK1", ";Branch = B2 ", ";branch", ";branch=", ";;", ";rport",
    ";received=1.2.3.4", ",", ", ", '"q;x"', "<", ">", "\t", "é", "/", "ms-received-port=5",
]  # fmt: skip
_VIA_VALUES = st.lists(st.sampled_from(_VIA_PIECES), max_size=12).map("".join)


def via_message(values: list[str]) -> bytes:
    vias = "".join(f"Via: {v}\r\n" for v in values)
    return (
        f"OPTIONS sip:a@b SIP/2.0\r\n{vias}From: <sip:a@b>;tag=1\r\nTo: <sip:b@c>\r\n"
        "Call-ID: 1\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
    ).encode()


def branch_and_defects(data: bytes, compiled_branch: bool) -> tuple[object, ...]:
    with without(lazy, "_top_branch", when=not compiled_branch):
        msg = parse_message(data)
        branch = msg.top_branch
        first = [d.reason for d in msg.defects]
        msg.via  # noqa: B018 - what a view asks next
        return branch, first, [d.reason for d in msg.defects]


def via_first_branch(data: bytes) -> str | None:
    vias = parse_message(data).via
    return vias[0].branch if vias else None


@SETTINGS
@given(st.lists(_VIA_VALUES.map(str.strip), max_size=3))
def test_top_branch_is_the_first_via_branch(values: list[str]) -> None:
    data = via_message(values)
    got = branch_and_defects(data, True)
    assert got == branch_and_defects(data, False)
    assert got[0] == via_first_branch(data)


_VIA_ENTRIES = st.builds(
    lambda transport, space, host, port, params: (
        f"{transport}{space}{host}{port}" + "".join(f";{p}" for p in params)
    ),
    st.sampled_from(["SIP/2.0/TCP", "SIP/2.0/TLS", "sip/2.0/tls", "SIP//TLS", "SIP/2.0/", "/2/3"]),
    st.sampled_from([" ", "  ", "/ "]),
    st.sampled_from(["10.0.0.10", "host.example.com", "a@b", "[::1]", "", "h:"]),
    st.sampled_from(["", ":5060", ":65536", ":", ":12a", ":12345678901"]),
    st.lists(
        st.sampled_from([
            "branch=z9hG4bKb5bb12b04ac1", "branched=FALSE", 'ms-internal-info="b5;b,12aA"', "rport",
            'ms-internal-info="open', "received=10.0.0.1", "branch", "BRANCH = 2 ", "", "=x",
            'a"b=1', 'branch="q"', "x" * 40, "ms-received-cid=100", "\\", "<", "\t",
        ]),
        max_size=7,
    ),
)  # fmt: skip


@SETTINGS
@given(st.lists(st.lists(_VIA_ENTRIES, min_size=1, max_size=3).map(", ".join), max_size=3))
def test_routine_via_values_give_the_python_branch(values: list[str]) -> None:
    """Whole Via entries, mostly well formed, long and with quoted values: the compiled reading
    (memchr and sixteen-byte steps) answers what parsing the list gives, or leaves it to Python."""
    data = via_message(values)
    got = branch_and_defects(data, True)
    assert got == branch_and_defects(data, False)
    assert got[0] == via_first_branch(data)
    answer = compiled.sip_top_branch(values)
    assert answer is False or answer == got[0]


@pytest.mark.parametrize(
    ("values", "branch", "in_c"),
    [
        (["SIP/2.0/TLS 10.0.0.1:5061;branch=z9hG4bKa;rport"], "z9hG4bKa", True),
        (["SIP/2.0/TLS h;branch=1;BRANCH=2"], "2", True),  # the last one, as the dict keeps it
        (["SIP/2.0/TLS h;branch"], None, True),
        (["SIP/2.0/TLS h", "SIP/2.0/TLS g;branch=2"], None, True),
        (["SIP/2.0/TLS bad:port;branch=1", "SIP/2.0/TLS g;branch=2"], "2", False),
        (['SIP/2.0/TLS h;branch="q"'], "q", False),
        (["SIP/2.0/TLS h;;branch=1"], "1", False),
        # the routine forms, long enough for the sixteen-byte steps, quoted values included
        (['SIP/2.0/TCP 10.0.0.10:5060;branch=z9hG4bKb5;branched=FALSE;ms-info="b5;b,1"'],
         "z9hG4bKb5", True),
        (["SIP/2.0/TLS 10.1.0.1:50000;branch=z9hG4bKa1;received=10.1.0.1, SIP/2.0/TLS g;branch=2"],
         "z9hG4bKa1", True),
        (['SIP/2.0/TLS 10.1.0.1:50000;branch=z9hG4bKa1;x="open'], "z9hG4bKa1", False),
        (['SIP/2.0/TLS 10.1.0.1:5000;branch=z9hG4bKa1;x="a", SIP/2.0/TLS "g"'], "z9hG4bKa1", False),
        ([], None, True),
    ],
)  # fmt: skip
def test_top_branch_cases(values: list[str], branch: str | None, in_c: bool) -> None:
    assert compiled.sip_top_branch(values) == (branch if in_c else False)
    assert parse_message(via_message(values)).top_branch == branch


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(TypeError):
        compiled.sip_head(bytearray(b"x"), -1)
    with pytest.raises(TypeError):
        compiled.sip_frame_head(b"x", 0, 0)
    with pytest.raises(TypeError):
        compiled.sip_top_branch(5)
    assert compiled.sip_top_branch([b"SIP/2.0/TLS h"]) is False
    assert compiled.sip_frame_head(bytearray(b"x"), 5, 0) is None


@pytest.mark.parametrize(
    ("value", "cseq"),
    [
        ("1 INVITE", (1, "INVITE")),
        ("4294967295  BYE", (4294967295, "BYE")),
        ("007\tSERVICE", (7, "SERVICE")),
        ("2 X-Custom", (2, "X-Custom")),
        ("4294967296 BYE", None),  # too large: Python notes the malformed CSeq
        ("36893488147419103232 REGISTER", None),  # 20 digits would overflow 64 bits
        ("123456789012345678901 BYE", None),
        ("1 INVITE x", None),
        ("1INVITE", None),
        ("INVITE", None),
        ("1 ", None),
    ],
)
def test_plain_cseq_values_are_read_in_c(value: str, cseq: tuple[int, str] | None) -> None:
    data = via_message(["SIP/2.0/TLS h;branch=z9hG4bK1"]).replace(
        b"CSeq: 1 OPTIONS", f"CSeq: {value}".encode()
    )
    head = compiled.sip_head(data, -1)
    assert head is not None and head[9] == cseq
    msg = parse_message(data)
    with without(lazy, "_sip_head"):
        want = parse_message(data)
    assert (msg.cseq, [d.reason for d in msg.defects]) == (
        want.cseq,
        [d.reason for d in want.defects],
    )


# -- From/To addresses with placeholders ----------------------------------------------------------

_ADDR_PIECES = [
    '"Al;tag=x"', " ", "<", ">", "sip:", "a", "@", "b.com", ";tag=", ";TAG=", "t1", "9f-x", ";",
    "=", '"', ",", ":5061", "<sip:a@b>", "é", "\x01", "x=", ";epid=2", "0123456789",
]  # fmt: skip


@SETTINGS
@given(st.lists(st.sampled_from(_ADDR_PIECES), max_size=14).map("".join))
def test_addr_base_is_the_python_split(text: str) -> None:
    got = compiled.sip_addr_base(text)
    if text.isascii():
        assert got == lazy._split_addr(text)
    else:
        assert got is None  # non-ASCII text is parsed whole


def test_addr_base_with_many_parameters() -> None:
    text = "<sip:a@b>" + "".join(f";p{i}=v{i}" for i in range(200))
    got = compiled.sip_addr_base(text)
    assert got == lazy._split_addr(text)
    assert got is not None and got[1]["\x01199"] == "v199"
    with pytest.raises(TypeError):
        compiled.sip_addr_base(b"<sip:a>;tag=1")


# -- From/To known to read without a problem ------------------------------------------------------


def _defects_of(data: bytes) -> tuple[list[str], object, object]:
    msg = parse_message(data)
    msg.note_address_defects()
    return [d.reason for d in msg.defects], msg.from_, msg.to


def _with_addrs(from_: str, to: str) -> bytes:
    return (
        f"OPTIONS sip:b@example.com SIP/2.0\r\nVia: SIP/2.0/TLS h;branch=z9hG4bK1\r\n"
        f"From: {from_}\r\nTo: {to}\r\nCall-ID: c1\r\nCSeq: 1 OPTIONS\r\n"
        "Content-Length: 0\r\n\r\n"
    ).encode()


@SETTINGS
@given(
    st.lists(st.sampled_from(_ADDR_PIECES), max_size=14).map("".join),
    st.lists(st.sampled_from(_ADDR_PIECES), max_size=14).map("".join),
)
def test_addresses_marked_clean_give_what_python_gives(from_: str, to: str) -> None:
    """Whatever the table of clean texts holds, a message's From/To defects and addresses are
    the ones the pure-Python reading gives (a text twice: the second reading may come from the
    table)."""
    if "\r" in from_ + to or "\n" in from_ + to:
        return
    data = _with_addrs(from_, to)
    with without(lazy, "_sip_head"), without(lazy, "_addrs_clean"), without(lazy, "_addr_base"):
        want = _defects_of(data)
    assert _defects_of(data) == want
    assert _defects_of(data) == want


def test_clean_addresses_are_known_after_one_reading() -> None:
    lazy._CLEAN_ADDRS.clear()
    data = _with_addrs('"Al" <sip:al@example.com>;tag=9f;epid=3', "<sip:b@example.com>")
    first = parse_message(data)
    assert first._from is lazy._CHECKED and first._to is lazy._CHECKED  # read at parse time
    index = compiled.sip_head(data, -1)[7]
    assert compiled.sip_addrs_clean(index, lazy._CLEAN_ADDRS) == 3
    # Both are texts the compiled check knows from their bytes: their keys need no noting.
    assert '"Al" <sip:al@example.com>;tag=\x010;epid=\x011' not in lazy._CLEAN_ADDRS
    assert "<sip:b@example.com>" not in lazy._CLEAN_ADDRS
    # Another tag of the same address is known (so is a new text the compiled check knows
    # is clean); a text with a problem never is.
    other = _with_addrs('"Al" <sip:al@example.com>;tag=77;epid=3', "<sip:b@example.com>;tag=1")
    index = compiled.sip_head(other, -1)[7]
    assert compiled.sip_addrs_clean(index, lazy._CLEAN_ADDRS) == 3
    assert not lazy._CLEAN_ADDRS
    bad = _with_addrs("<sip:al@example.com", "<sip:b@example.com>")
    msg = parse_message(bad)
    assert msg._from is lazy._UNSET and msg._to is lazy._CHECKED
    assert "<sip:al@example.com" not in lazy._CLEAN_ADDRS
    msg.note_address_defects()
    assert [d.reason for d in msg.defects] == _defects_of(bad)[0] != []
    # Twice the same header, or none: Python reads it.
    assert compiled.sip_addrs_clean({"from": ("<sip:b@example.com>",) * 2}, lazy._CLEAN_ADDRS) == 0
    assert compiled.sip_addrs_clean({}, lazy._CLEAN_ADDRS) == 0
    assert compiled.sip_addrs_clean({"to": ("<sip:b@example.com>",)}, set()) == 2
    assert compiled.sip_addrs_clean({"to": ("<sip:b@example.com",)}, set()) == 0
    with pytest.raises(TypeError):
        compiled.sip_addrs_clean({}, [])


def test_the_table_of_clean_addresses_is_bounded() -> None:
    lazy._CLEAN_ADDRS.clear()
    for i in range(lazy._KEYS_MAX + 10):
        lazy._clean_addr(f"<sip:user{i}@example.com>")
    assert 0 < len(lazy._CLEAN_ADDRS) <= lazy._KEYS_MAX
    assert lazy._CLEAN_ADDRS.chars <= lazy._KEYS_CHARS
    lazy._clean_addr("<sip:" + "x" * lazy._SHARED_TEXT_MAX + "@example.com>")
    assert len(lazy._CLEAN_ADDRS) <= lazy._KEYS_MAX
    assert not any(len(k) > lazy._SHARED_TEXT_MAX for k in lazy._CLEAN_ADDRS)
