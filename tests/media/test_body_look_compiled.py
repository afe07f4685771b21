"""The compiled helpers of the media layer's look at SIP bodies (``_fastpath.ice_words`` and
``_fastpath.multipart_spans``) against the Python code they stand in for, and the delivery path
that hands the body on once against reading it again.

``ice_words`` must say exactly what ``b"candidate" in body or b"ice-pwd" in body`` says (the
words at every offset, cut, doubled, near misses); ``multipart_spans`` must give the same spans
and the same problem (boundary not found, no close delimiter) as the Python reference, on
bodies with preambles, epilogues, broken and prefixed boundaries, nested multiparts, bare LFs
and missing CRLFs, cut anywhere.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lyncdump import fastpath
from lyncdump.media import ice_words, stats
from lyncdump.media.pipeline import MediaPipeline
from lyncdump.media.stats import MediaSlot, part_head_matters_py
from lyncdump.model import DefectLog
from lyncdump.sip import message as sipmsg
from lyncdump.sip.message import MAX_HEADERS, multipart_spans, multipart_spans_py, parse_message

from .test_sdp_bodies import _message

compiled = fastpath.compiled()
needs_compiled = pytest.mark.skipif(
    compiled is None, reason="the compiled fast path is not in use (LYNCDUMP_PURE_PYTHON)"
)
SETTINGS = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])

WORDS = [b"candidate", b"ice-pwd"]
NEAR = [b"candidat", b"andidate", b"ice-pw", b"ce-pwd", b"Candidate", b"ICE-PWD", b"c", b"i",
        b"ce", b"id", b"cxxxxxxxe", b"ixxxxxd", b"candidatecandidate"]  # fmt: skip
FILLER = st.binary(max_size=80) | st.sampled_from([b"", b"x" * 31, b"a=ice-ufrag:abc\r\n"])


@st.composite
def _ice_bodies(draw: st.DrawFn) -> bytes:
    pieces = draw(st.lists(FILLER | st.sampled_from(WORDS + NEAR), max_size=8))
    body = b"".join(pieces)
    if draw(st.booleans()) and body:  # cut anywhere, from either side
        a = draw(st.integers(0, len(body)))
        b = draw(st.integers(a, len(body)))
        body = body[a:b]
    return body


@needs_compiled
def test_the_compiled_helpers_are_used_when_built() -> None:
    assert ice_words.ice_words is compiled.ice_words
    assert sipmsg._spans_c is compiled.multipart_spans


@needs_compiled
@SETTINGS
@given(body=_ice_bodies())
def test_ice_words_is_the_two_in_tests(body: bytes) -> None:
    assert compiled.ice_words(body) is ice_words.ice_words_py(body)


@needs_compiled
def test_ice_words_at_every_offset_and_length() -> None:
    for word in (*WORDS, *NEAR):
        for size in range(0, 70):
            for at in range(0, size + 1):
                body = (b"y" * at + word + b"z" * size)[:size]
                assert compiled.ice_words(body) is ice_words.ice_words_py(body), (word, body)
                body = b"c" * at + word + b"e" * (size - at)  # first/last bytes everywhere
                assert compiled.ice_words(body) is ice_words.ice_words_py(body), (word, body)


PART_LINES = [
    b"--b", b"--b--", b"--b ", b"--b\t", b"--bx", b"--b-", b"x--b", b"--", b"-", b"",
    b"Content-Type: application/sdp", b"Content-Type: multipart/mixed; boundary=in",
    b"--in", b"--in--", b"v=0", b"<x/>", b"\r", b"--b--junk", b"--b\r",
]  # fmt: skip


@st.composite
def _multipart_bodies(draw: st.DrawFn) -> bytes:
    lines = draw(st.lists(st.sampled_from(PART_LINES) | st.binary(max_size=12), max_size=30))
    ends = draw(st.lists(st.sampled_from([b"\r\n", b"\n", b"\r", b""]), min_size=len(lines),
                         max_size=len(lines)))  # fmt: skip
    body = b"".join(line + end for line, end in zip(lines, ends, strict=True))
    if draw(st.booleans()) and body:
        a = draw(st.integers(0, len(body)))
        b = draw(st.integers(a, len(body)))
        body = body[a:b]
    return body


def _both(body: bytes, boundary: str) -> None:
    """The compiled spans and problem are the Python reference's, directly and through
    multipart_spans."""
    assert compiled is not None
    problems_py: list[str] = []
    spans_py = multipart_spans_py(body, boundary, problems_py)
    delim = b"--" + boundary.encode("utf-8", "replace")
    spans_c, problem = compiled.multipart_spans(body, delim, MAX_HEADERS)
    assert spans_c == spans_py
    assert ([sipmsg._SPAN_PROBLEMS[problem]] if problem else []) == problems_py
    problems: list[str] = []
    assert multipart_spans(body, boundary, problems) == spans_py
    assert problems == problems_py


@needs_compiled
@SETTINGS
@given(body=_multipart_bodies(), boundary=st.sampled_from(["b", "in", "b-", "é", "x"]))
def test_multipart_spans_are_the_python_ones(body: bytes, boundary: str) -> None:
    _both(body, boundary)


@needs_compiled
def test_multipart_spans_every_cut_of_a_nested_body() -> None:
    body = (
        b"preamble\r\n--b\r\nContent-Type: text/plain\r\n\r\nhi\r\n--bb\r\nnot one\r\n"
        b"--b \r\nContent-Type: multipart/mixed; boundary=in\r\n\r\n--in\r\n\r\nv=0\r\n--in--\r\n"
        b"\r\n--b\n\nbare LF\n--b--\r\nepilogue --b\r\n"
    )
    for a in range(len(body) + 1):
        for b in range(a, len(body) + 1, 3):
            for boundary in ("b", "in"):
                _both(body[a:b], boundary)


@needs_compiled
def test_multipart_spans_stop_at_the_limit_like_python() -> None:
    body = b"".join(b"--b\r\n\r\n%d\r\n" % i for i in range(MAX_HEADERS + 5)) + b"--b--\r\n"
    problems: list[str] = []
    spans = multipart_spans(body, "b", problems)
    assert len(spans) == MAX_HEADERS
    assert problems == ["multipart body without close delimiter"]
    spans_c, problem = compiled.multipart_spans(body, b"--b", 3)  # type: ignore[union-attr]
    assert len(spans_c) == 3 and problem == 2
    assert compiled.multipart_spans(b"--b\r\n", b"--b", 0) == ([], 2)  # type: ignore[union-attr]
    with pytest.raises(ValueError):
        compiled.multipart_spans(b"x", b"", 5)  # type: ignore[union-attr]


SDP = (
    b"v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\n"
    b"a=ice-ufrag:abcd\r\na=ice-pwd:0123456789abcdefghijkl\r\n"
    b"m=audio 5000 RTP/AVP 0\r\na=candidate:1 1 UDP 2130706431 10.0.0.1 5000 typ host\r\n"
    b"a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz|2^31\r\n"
)


def _look(raw: bytes, hand_on: bool) -> tuple[object, ...]:
    msg = parse_message(raw)
    defects = DefectLog()
    media = MediaPipeline(defects)
    if hand_on:
        media.sip_message(msg, msg.body)
    else:
        media.sip_message(msg)
    an, rtp = media.stun.analyzer, media.rtp
    return (
        list(msg.defects),
        list(defects),
        sorted(media.expected_media.items()),
        sorted(an.passwords),
        sorted(an.ufrag_passwords.items()),
        sorted(rtp._expected.items()),
        sorted((k, _slot(v)) for k, v in rtp._slots.items()),
    )


def _slot(slot: MediaSlot) -> tuple[object, ...]:
    """What a slot says (its SDES keys: how many)."""
    return (slot.rtpmap, slot.call_id, slot.setup_frame, slot.source, slot.encrypted,
            len(slot.cryptos))  # fmt: skip


CTYPES = ["multipart/alternative; boundary=b", "application/sdp", "text/plain",
          "multipart/related", "multipart/mixed; boundary=in"]  # fmt: skip


@SETTINGS
@given(
    body=_multipart_bodies(),
    sdp_at=st.integers(0, 4),
    ctype=st.sampled_from(CTYPES),
)
def test_handing_the_body_on_is_reading_it_again(body: bytes, sdp_at: int, ctype: str) -> None:
    """MediaPipeline.sip_message(msg, body), compiled helpers on, learns and notes what
    sip_message(msg) does with the Python ones: the same ICE passwords, media addresses, SDES
    keys and defects in the same order."""
    cut = min(sdp_at * 20, len(body))
    body = body[:cut] + b"--b\r\nContent-Type: application/sdp\r\n\r\n" + SDP + body[cut:]
    if ctype == "application/sdp":
        body = SDP + body
    raw = _message(ctype, body)
    fast = _look(raw, True)
    saved = ice_words.ice_words, sipmsg._spans_c, stats._head_matters
    ice_words.ice_words = ice_words.ice_words_py
    sipmsg._spans_c = stats._head_matters = None
    try:
        slow = _look(raw, False)
    finally:
        ice_words.ice_words, sipmsg._spans_c, stats._head_matters = saved
    assert fast == slow


HEAD_LINES = [
    b"Content-Type: application/sdp", b"Content-Type: Application/S D P",
    b"content-type: text/plain", b"Content-Type: MULTIPART/mixed", b"multi-part", b"s\\dp",
    b"Content-ID: <x@y>", b"sd", b"p", b"multipar", b"", b"\r", b"x: sdp\xff", b"S\x00D\x00P",
]  # fmt: skip


@st.composite
def _parts(draw: st.DrawFn) -> tuple[bytes, int, int]:
    lines = draw(st.lists(st.sampled_from(HEAD_LINES) | st.binary(max_size=10), max_size=12))
    ends = draw(st.lists(st.sampled_from([b"\r\n", b"\n", b"\r", b""]), min_size=len(lines),
                         max_size=len(lines)))  # fmt: skip
    body = b"".join(line + end for line, end in zip(lines, ends, strict=True))
    a = draw(st.integers(0, len(body)))
    b = draw(st.integers(a, len(body)))
    return body, a, b


@needs_compiled
def test_the_part_head_helper_is_used_when_built() -> None:
    assert stats._head_matters is compiled.part_head_matters  # type: ignore[union-attr]


@needs_compiled
@SETTINGS
@given(part=_parts())
def test_part_head_matters_is_the_python_look(part: tuple[bytes, int, int]) -> None:
    body, a, b = part
    assert compiled.part_head_matters(body, a, b) is part_head_matters_py(body, a, b)  # type: ignore[union-attr]


@needs_compiled
def test_part_head_matters_every_span_of_a_part() -> None:
    body = b"X: y\r\nContent-Type: application/\r\n sdp\n\nv=0\r\n\r\nmultipart\n\r\nsdp"
    for a in range(len(body) + 1):
        for b in range(a, len(body) + 1):
            assert compiled.part_head_matters(body, a, b) is part_head_matters_py(body, a, b)  # type: ignore[union-attr]
    # Spans cached before --redact shortened the body reach past it: read as Python reads them.
    for a in range(len(body) + 5):
        for b in range(0, len(body) + 5):
            assert compiled.part_head_matters(body, a, b) is part_head_matters_py(body, a, b)  # type: ignore[union-attr]
    with pytest.raises(ValueError):
        compiled.part_head_matters(body, -1, 2)  # type: ignore[union-attr]
