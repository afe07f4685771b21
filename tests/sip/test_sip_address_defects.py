"""note_address_defects: the defects reading From and To finds, without building the addresses."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from lyncdump.sip import message as M
from lyncdump.sip.message import parse_message

from ._compiled import without


def _msg(frm: str | None, to: str | None) -> bytes:
    lines = [
        "MESSAGE sip:bob@contoso.com SIP/2.0",
        "Via: SIP/2.0/TLS 10.0.0.1:5061;branch=z9hG4bK1",
    ]
    if frm is not None:
        lines.append(f"From: {frm}")
    if to is not None:
        lines.append(f"To: {to}")
    lines += ["Call-ID: abc", "CSeq: 1 MESSAGE", "Content-Length: 0", "", ""]
    return "\r\n".join(lines).encode()


TEXTS = [
    '"Alice" <sip:alice@contoso.com>;tag=9;epid=1',
    '"Alice" <sip:alice@contoso.com>;tag=10;epid=2',  # the same base: shared and clean
    "<sip:alice@[::1>;tag=1",
    "<sip:alice@[::1>;tag=2",  # the same broken base
    "sip:bob@contoso.com;tag=x",
    "<urn:x>",
    "<>",
    '"unclosed <sip:a@b>;tag=1',
    None,
]


def _check(frm: str | None, to: str | None) -> None:
    ours, theirs = parse_message(_msg(frm, to)), parse_message(_msg(frm, to))
    ours.note_address_defects()
    theirs.from_  # noqa: B018
    theirs.to  # noqa: B018
    assert ours.defects == theirs.defects
    assert ours.take_new_defects() == theirs.take_new_defects()
    # Reading them afterwards gives the addresses and no defect twice.
    assert (ours.from_, ours.to) == (theirs.from_, theirs.to)
    assert ours.defects == theirs.defects


def test_every_text_notes_what_reading_it_notes() -> None:
    for _ in range(2):  # the second round finds the parses shared
        for frm in TEXTS:
            for to in TEXTS:
                _check(frm, to)


def test_the_same_without_the_compiled_helper() -> None:
    with without(M, "_addr_base"):
        M._ADDRS.clear()
        M._BASES.clear()
        test_every_text_notes_what_reading_it_notes()


def test_to_alone_then_both() -> None:
    m = parse_message(_msg("<sip:alice@[::1>;tag=1", "<>"))
    m.note_address_defects(from_=False)
    to_only = [d.reason for d in m.defects]
    assert to_only and all(r.startswith("To: ") for r in to_only)
    m.note_address_defects()
    assert [d.reason for d in m.defects][: len(to_only)] == to_only
    assert any(d.reason.startswith("From: ") for d in m.defects)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet='<>"; =@:sipa\\[]x', max_size=30), st.sampled_from(TEXTS[:3]))
def test_any_text(frm: str, to: str) -> None:
    if "\r" in frm or "\n" in frm:
        return
    _check(frm, to)


def test_a_message_whose_addresses_were_checked_pickles() -> None:
    """From/To checked (no defect) but not built yet travel to another process as such (a
    Dask worker, an export process) and are built there when asked."""
    import pickle

    first = parse_message(_msg('"Al" <sip:al@example.com>;tag=1', "<sip:b@example.com>;tag=2"))
    first.note_address_defects()
    msg = parse_message(_msg('"Al" <sip:al@example.com>;tag=3', "<sip:b@example.com>;tag=4"))
    msg.note_address_defects()
    assert msg._from is M._CHECKED and msg._to is M._CHECKED
    twin = pickle.loads(pickle.dumps(msg))
    assert twin._from is M._CHECKED and twin._to is M._CHECKED
    assert twin.from_ == msg.from_ and twin.to == msg.to
    assert twin.from_ is not None and twin.from_.tag == "3" and twin.defects == []
