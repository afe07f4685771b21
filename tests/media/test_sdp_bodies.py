"""media.stats.sdp_bodies reads only the parts whose headers could name SDP (or a nested
multipart), and finds what reading every part finds: the same SDP bodies, the same defects."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from lyncdump.media.stats import _may_matter, sdp_bodies
from lyncdump.sip.message import SipMessage, parse_message


def _every_part(msg: SipMessage) -> list[bytes]:
    """The rule before: read every part (what body_parts gives), breadth first, 64 at most."""
    ctype = msg.content_type
    if not msg.body or ctype is None:
        return []
    if ctype == "application/sdp":
        return [msg.body]
    if not ctype.startswith("multipart/"):
        return []
    out: list[bytes] = []
    parts = list(msg.body_parts())
    depth = 0
    while parts and depth < 64:
        part = parts.pop(0)
        depth += 1
        if part.content_type == "application/sdp":
            out.append(part.body)
        elif part.content_type and part.content_type.startswith("multipart/"):
            parts.extend(part.body_parts())
    return out


def _message(content_type: str, body: bytes) -> bytes:
    return (
        "INVITE sip:bob@contoso.com SIP/2.0\r\nVia: SIP/2.0/TCP 10.0.0.1;branch=z9hG4bK1\r\n"
        "From: <sip:a@contoso.com>;tag=1\r\nTo: <sip:bob@contoso.com>\r\nCall-ID: c\r\n"
        f"CSeq: 1 INVITE\r\nContent-Type: {content_type}\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body


SDP = b"v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\n"

PART_TYPES = [
    "application/sdp",
    "Application/SDP",
    "application/ sdp",
    "application/s\tdp",
    "application/rlmi+xml",
    "text/plain",
    'multipart/alternative; boundary="inner"',
    "MULTIPART/mixed;boundary=inner",
    "application/pidf+xml",
]


@st.composite
def _bodies(draw: st.DrawFn) -> bytes:
    out = [b"preamble\r\n"] if draw(st.booleans()) else []
    for _ in range(draw(st.integers(0, 70))):
        kind = draw(st.sampled_from([*PART_TYPES, None]))
        out.append(b"--outer\r\n")
        if kind is None:
            out.append(b"\r\n" + SDP)  # a part without headers
            continue
        out.append(f"Content-Type: {kind}\r\n".encode())
        if draw(st.booleans()):
            out.append(b"Content-ID: <sdp-or-not@contoso.com>\r\n")
        out.append(b"\r\n")
        if "inner" in kind:
            inner = [b"--inner\r\nContent-Type: application/sdp\r\n\r\n" + SDP]
            if draw(st.booleans()):
                inner.append(b"\r\n--inner--")
            out.append(b"".join(inner))
        else:
            out.append(SDP if "sdp" in kind.lower().replace(" ", "") else b"<x/>")
        out.append(b"\r\n")
    if draw(st.booleans()):
        out.append(b"--outer--\r\n")
    return b"".join(out)


@settings(max_examples=300, deadline=None)
@given(body=_bodies(), boundary=st.sampled_from(["outer", "missing"]))
def test_the_sdp_parts_and_defects_are_those_of_reading_every_part(
    body: bytes, boundary: str
) -> None:
    raw = _message(f"multipart/alternative; boundary={boundary}", body)
    fast, slow = parse_message(raw), parse_message(raw)
    assert sdp_bodies(fast) == _every_part(slow)
    assert fast.defects == slow.defects


def test_a_presence_body_is_not_parsed_part_by_part() -> None:
    body = (
        b"--b\r\nContent-Type: application/rlmi+xml\r\n\r\n<list/>\r\n"
        b"--b\r\nContent-Type: application/msrtc-event-categories+xml\r\n\r\n<x/>\r\n--b--\r\n"
    )
    msg = parse_message(_message("multipart/related; boundary=b", body))
    assert sdp_bodies(msg) == []
    assert "parts" not in msg._cache  # the spans were enough
    assert msg.part_spans() == [(5, 50), (57, 117)]  # headers included
    assert [p.body for p in msg.body_parts()] == [b"<list/>", b"<x/>"]


def test_a_multipart_alternative_gives_its_sdp() -> None:
    body = b"--b\r\nContent-Type: application/sdp\r\n\r\n" + SDP + b"\r\n--b--\r\n"
    msg = parse_message(_message("multipart/alternative;boundary=b", body))
    assert sdp_bodies(msg) == [SDP]
    assert not msg.defects


# The filter on a part's header block, against the regular expression it replaced: "sdp" or
# "multipart" with anything but digits and lower-case letters between the letters.
_SPELLED = re.compile(
    b"|".join(b"[^0-9a-z]*".join(bytes([c]) for c in word) for word in (b"sdp", b"multipart"))
)


_HEAD_PIECES = [b"s", b"S", b"d", b"p", b"P", b"multi", b"MULTI", b"part", b"m", b"u", b"l",
                b"t", b"i", b"a", b"r", b" ", b"\t", b"/", b"\xe9", b"\x00", b"0", b"x", b"-",
                b"\r\n"]  # fmt: skip


@settings(max_examples=600, deadline=None)
@given(st.lists(st.sampled_from(_HEAD_PIECES), max_size=30))
def test_part_filter_is_the_spelled_expression(pieces: list[bytes]) -> None:
    head = b"".join(pieces)
    assert _may_matter(head) is (_SPELLED.search(head.lower()) is not None)
