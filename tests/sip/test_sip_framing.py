"""SipStreamFramer: chunking, keep-alives, gaps, garbage, bounds, hand-over, wire sizes."""

from __future__ import annotations

import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lyncdump.sip.framing import FramedMessage, SipStreamFramer
from lyncdump.sip.message import parse_message

from . import sip_samples as S

M1 = S.MS_NEGOTIATE
M2 = S.MS_INVITE  # has a body
M3 = S.MS_BENOTIFY


def drain(framer: SipStreamFramer) -> list[FramedMessage]:
    out = []
    while (msg := framer.next_message()) is not None:
        out.append(msg)
    return out


def feed(chunks: list[bytes], **kwargs: int) -> tuple[list[FramedMessage], SipStreamFramer]:
    framer = SipStreamFramer(**kwargs)
    out: list[FramedMessage] = []
    for i, chunk in enumerate(chunks, start=1):
        framer.receive_data(chunk, i, float(i))
        out.extend(drain(framer))
    return out, framer


def reasons(framer: SipStreamFramer) -> list[str]:
    return [d.reason for d in framer.defects]


def test_several_messages_in_one_chunk_with_keepalives() -> None:
    out, framer = feed([b"\r\n\r\n" + M1 + b"\r\n" + M2 + b"\r\n\r\n\r\n\r\n" + M3 + b"\r\n\r\n"])
    assert [m.data for m in out] == [M1, M2, M3]
    assert all((m.first_frame, m.frame, m.ts) == (1, 1, 1.0) for m in out)
    assert all(m.wire_size is None and not m.partial for m in out)
    assert framer.defects == []
    assert framer.buffered == 0


def test_one_message_over_many_chunks() -> None:
    chunks = [M2[i : i + 100] for i in range(0, len(M2), 100)]
    out, framer = feed(chunks)
    (msg,) = out
    assert msg.data == M2 and msg.first_frame == 1 and msg.frame == len(chunks)
    assert msg.ts == float(len(chunks))
    assert framer.defects == []


def test_every_split_of_a_two_message_stream() -> None:
    stream = M2 + b"\r\n\r\n" + M3
    end1 = len(M2)
    for cut in range(len(stream) + 1):
        out, framer = feed([stream[:cut], stream[cut:]])
        assert [m.data for m in out] == [M2, M3], cut
        assert framer.defects == [], cut
        first, second = out
        assert first.first_frame == (1 if cut > 0 else 2)
        assert first.frame == (1 if cut >= end1 else 2)
        assert second.first_frame == (1 if cut > end1 + 4 else 2)
        assert second.frame == 2 if cut < len(stream) else second.frame == 1


def test_bare_lf_messages_are_framed() -> None:
    lf = M1.replace(b"\r\n", b"\n")
    out, framer = feed([lf + lf[:10], lf[10:]])
    assert [m.data for m in out] == [lf, lf]
    assert framer.defects == []


def test_keepalives_only() -> None:
    out, framer = feed([b"\r\n\r\n", b"\r\n", b"\r", b"\n"])
    assert out == [] and framer.defects == [] and framer.buffered == 0


def test_garbage_then_resync_gives_one_defect() -> None:
    garbage = b"\x00\xffjunk line\r\nmore junk\r\nSIP/2.0 bad\r\n\x16\x03\x01\r\n"
    out, framer = feed([garbage[:5], garbage[5:20], garbage[20:] + M1[:30], M1[30:] + M3])
    assert [m.data for m in out] == [M1, M3]
    assert reasons(framer) == [f"{len(garbage)} bytes that are not SIP skipped to resynchronise"]
    (defect,) = framer.defects
    assert (defect.frame, defect.layer, defect.offset) == (1, "sip", 0)


def test_garbage_between_messages() -> None:
    out, framer = feed([M1 + b"HTTP/1.1 200 OK\r\n\r\n" + M2])
    assert [m.data for m in out] == [M1, M2]
    (defect,) = framer.defects
    assert defect.offset == len(M1) and defect.reason.startswith("19 bytes")


def test_gap_inside_headers_then_resync() -> None:
    framer = SipStreamFramer()
    framer.receive_data(M2[:50], 1, 1.0)
    assert drain(framer) == []
    framer.receive_gap(20, 2, 2.0)
    framer.receive_data(M2[70:] + M3, 3, 3.0)
    out = drain(framer)
    assert [m.data for m in out] == [M3]
    assert reasons(framer) == [
        "20 bytes lost from the stream: partial message of 50 bytes dropped",
        f"{len(M2) - 70} bytes that are not SIP skipped to resynchronise",
    ]
    assert framer.defects[0].frame == 2 and framer.defects[1].frame == 2


def test_gap_inside_a_known_body_keeps_sync() -> None:
    body_at = M2.index(b"\r\n\r\n") + 4
    framer = SipStreamFramer()
    framer.receive_data(M2[: body_at + 10], 1, 1.0)
    assert drain(framer) == []
    framer.receive_gap(30, 2, 2.0)
    framer.receive_data(M2[body_at + 40 : body_at + 60], 3, 3.0)
    assert drain(framer) == []
    framer.receive_data(M2[body_at + 60 :] + M3, 4, 4.0)
    out = drain(framer)
    assert [m.data for m in out] == [M3]
    assert reasons(framer) == [
        f"30 bytes lost from the stream: partial message of {body_at + 10} bytes dropped"
    ]


def test_gap_longer_than_the_rest_of_the_body() -> None:
    body_at = M2.index(b"\r\n\r\n") + 4
    framer = SipStreamFramer()
    framer.receive_data(M2[: body_at + 10], 1, 1.0)
    framer.receive_gap(len(M2) + 5, 2, 2.0)  # eats the end of M2 and 5 bytes of M3
    framer.receive_data(M3[5:] + M1, 3, 3.0)
    out = drain(framer)
    assert [m.data for m in out] == [M1]
    assert reasons(framer)[1] == f"{len(M3) - 5} bytes that are not SIP skipped to resynchronise"


def test_gap_landing_in_a_method_name() -> None:
    # "IFY sip:... SIP/2.0" right after a gap looks like a request line; it is not one.
    framer = SipStreamFramer()
    framer.receive_data(M1[:20], 1, 1.0)
    framer.receive_gap(len(M1) - 20 + 5, 2, 2.0)
    framer.receive_data(M3[5:] + M2, 3, 3.0)
    assert [m.data for m in drain(framer)] == [M2]
    # but a known method right after the gap is taken
    framer = SipStreamFramer()
    framer.receive_data(M1[:20], 1, 1.0)
    framer.receive_gap(len(M1) - 20, 2, 2.0)
    framer.receive_data(M3, 3, 3.0)
    assert [m.data for m in drain(framer)] == [M3]
    assert len(framer.defects) == 1


def test_resync_finds_a_start_line_glued_to_a_body() -> None:
    # Bodies often end without CRLF; after a gap the next message starts mid-line.
    for glued in (M1, S.MS_NEGOTIATE_OK, M3):
        framer = SipStreamFramer()
        framer.receive_data(b"\xffgarbage<xml>x</xml>", 1, 1.0)
        framer.receive_data(glued + M2, 2, 2.0)
        assert [m.data for m in drain(framer)] == [glued, M2]
        assert reasons(framer) == ["20 bytes that are not SIP skipped to resynchronise"]
    # an unknown method glued to text cannot be told apart from the text: skipped
    framer = SipStreamFramer()
    framer.receive_data(b"\xffjunkFOO sip:a@b SIP/2.0\r\nl: 0\r\n\r\n" + M1, 1, 1.0)
    assert [m.data for m in drain(framer)] == [M1]


def test_gap_at_a_message_boundary_is_silent() -> None:
    framer = SipStreamFramer()
    framer.receive_data(M1 + b"\r\n", 1, 1.0)
    framer.receive_gap(100, 2, 2.0)
    framer.receive_data(M3, 3, 3.0)
    assert [m.data for m in drain(framer)] == [M1, M3]
    assert framer.defects == []


def test_gap_before_undrained_messages_keeps_them() -> None:
    framer = SipStreamFramer()
    framer.receive_data(M1 + M3 + M2[:40], 1, 1.0)
    framer.receive_gap(10, 2, 2.0)  # caller had not pulled M1 and M3 yet
    framer.receive_data(M1, 3, 3.0)
    assert [m.data for m in drain(framer)] == [M1, M3, M1]
    assert reasons(framer) == ["10 bytes lost from the stream: partial message of 40 bytes dropped"]


def test_missing_content_length() -> None:
    no_cl = b"OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/TCP h\r\n\r\n"
    out, framer = feed([no_cl + M1])
    assert [m.data for m in out] == [no_cl, M1]
    assert reasons(framer) == ["no Content-Length on a stream: body taken as empty"]
    # with a body, the body bytes are then skipped as not-SIP
    out, framer = feed([no_cl + b"some body\r\n" + M1])
    assert [m.data for m in out] == [no_cl, M1]
    assert reasons(framer) == [
        "no Content-Length on a stream: body taken as empty",
        "11 bytes that are not SIP skipped to resynchronise",
    ]


def test_content_length_variants() -> None:
    compact = b"MESSAGE sip:a@b SIP/2.0\r\nl :\r\n 3\r\n\r\nabc"
    disagree = b"MESSAGE sip:a@b SIP/2.0\r\nContent-Length: 2\r\nCONTENT-LENGTH: 9\r\n\r\nab"
    bad = b"MESSAGE sip:a@b SIP/2.0\r\nContent-Length: -1\r\n\r\n"
    out, framer = feed([compact + disagree + bad + M1])
    assert [m.data for m in out] == [compact, disagree, bad, M1]
    assert reasons(framer) == [
        "several Content-Length headers disagree: first used",
        "bad Content-Length b'-1': body taken as empty",
    ]
    # a header named like "l" but longer is not Content-Length
    other = b"MESSAGE sip:a@b SIP/2.0\r\nLocation: 5\r\nl: 0\r\n\r\n"
    out, framer = feed([other])
    assert [m.data for m in out] == [other] and framer.defects == []


def test_over_bound_header_block_and_content_length() -> None:
    huge_headers = b"OPTIONS sip:a@b SIP/2.0\r\n" + b"X: " + b"y" * 400
    out, framer = feed([huge_headers, b"z" * 100 + b"\r\n" + M1], max_message=300)
    assert [m.data for m in out] == [M1]
    assert reasons(framer)[0] == "no end of headers within 300 bytes"
    assert reasons(framer)[1].endswith("bytes that are not SIP skipped to resynchronise")
    big = b"MESSAGE sip:a@b SIP/2.0\r\nContent-Length: 100000000000000000000\r\n\r\nxyz\r\n"
    out, framer = feed([big + M1])
    assert [m.data for m in out] == [M1]
    assert reasons(framer)[0].endswith("bytes exceeds the 1048576-byte bound")
    assert len(framer.defects) == 2


def test_long_garbage_without_newlines_is_bounded() -> None:
    framer = SipStreamFramer(max_message=1000)
    for i in range(200):
        framer.receive_data(b"\x01" * 97, i, 0.0)
        assert drain(framer) == []
        assert framer.buffered <= 2 * 1000 + 97
    framer.receive_data(b"\n" + M1, 999, 1.0)
    assert [m.data for m in drain(framer)] == [M1]
    assert reasons(framer) == [f"{200 * 97 + 1} bytes that are not SIP skipped to resynchronise"]


def test_long_start_line_is_bounded() -> None:
    framer = SipStreamFramer(max_message=1000)
    framer.receive_data(b"INVITE sip:" + b"a" * 2000, 1, 0.0)
    assert drain(framer) == []
    assert framer.buffered <= 2 * 1000 + 2011
    framer.receive_data(b" SIP/2.0\r\n" + M1, 2, 0.0)
    assert [m.data for m in drain(framer)] == [M1]
    assert len(framer.defects) == 1


def test_take_remaining_after_negotiate() -> None:
    compressed = b"\x20\x00\x05\x41\xb3\x00\x4e\x45\x47"  # whatever follows is not ours to read
    framer = SipStreamFramer()
    framer.receive_data(S.MS_NEGOTIATE_OK + compressed, 1, 1.0)
    msg = framer.next_message()
    assert msg is not None and msg.data == S.MS_NEGOTIATE_OK
    assert framer.take_remaining() == compressed
    assert framer.next_message() is None and framer.defects == [] and framer.buffered == 0
    # the framer can be used again afterwards
    framer.receive_data(M1, 2, 2.0)
    again = framer.next_message()
    assert again is not None and again.data == M1 and again.frame == 2


def test_take_remaining_mid_message_and_during_resync() -> None:
    framer = SipStreamFramer()
    framer.receive_data(M2[:77], 1, 1.0)
    assert framer.next_message() is None
    assert framer.take_remaining() == M2[:77]
    framer.receive_data(b"\x99garbage", 2, 2.0)
    assert framer.next_message() is None
    assert framer.take_remaining() == b"\x99garbage"
    assert framer.defects == []


def test_close_reports_unfinished_work() -> None:
    framer = SipStreamFramer()
    framer.receive_data(M1 + M2[:60], 1, 1.0)
    framer.close()
    assert [m.data for m in drain(framer)] == [M1]
    assert reasons(framer) == ["stream ended inside a message (60 bytes)"]
    framer = SipStreamFramer()
    framer.receive_data(b"\xff\xfe junk", 1, 1.0)
    assert framer.next_message() is None
    framer.close()
    assert reasons(framer) == ["7 bytes that are not SIP skipped"]
    framer = SipStreamFramer()
    framer.receive_data(b"\r\n\r\n", 1, 1.0)
    framer.close()
    assert framer.defects == []


def test_wire_size_one_chunk_per_message_is_exact() -> None:
    framer = SipStreamFramer()
    out = []
    for i, (data, wire) in enumerate([(M1, 111), (M2, 222), (M3, 333)], start=1):
        framer.receive_data(data, i, float(i), wire_size=wire)
        out.extend(drain(framer))
    assert [m.wire_size for m in out] == [111, 222, 333]


def test_wire_size_split_and_shared_chunks() -> None:
    stream = M1 + M2 + M3
    cuts = [0, 50, len(M1) + 10, len(M1) + len(M2) + 5, len(stream)]
    wires = [7, 101, 333, 55]
    framer = SipStreamFramer()
    out = []
    for i in range(4):
        partial = i == 2
        framer.receive_data(
            stream[cuts[i] : cuts[i + 1]], i + 1, float(i), wire_size=wires[i], partial=partial
        )
        out.extend(drain(framer))
    assert [m.data for m in out] == [M1, M2, M3]
    assert sum(m.wire_size or 0 for m in out) == sum(wires)
    assert [m.partial for m in out] == [False, True, True]
    assert [(m.first_frame, m.frame) for m in out] == [(1, 2), (2, 3), (3, 4)]
    # proportional: M1 got all of chunk 1 and its bytes' worth of chunk 2
    chunk2 = cuts[2] - cuts[1]
    assert out[0].wire_size == 7 + 101 * (len(M1) - 50) // chunk2


def test_wire_size_none_without_wire_sizes_and_mixed() -> None:
    framer = SipStreamFramer()
    framer.receive_data(M1[:20], 1, 1.0)
    framer.receive_data(M1[20:], 2, 2.0, wire_size=40)
    framer.receive_data(M3, 3, 3.0)
    out = drain(framer)
    assert [m.wire_size for m in out] == [40, None]


def test_framed_messages_parse() -> None:
    out, framer = feed([b"".join(S.MS_MESSAGES.values())])
    assert len(out) == len(S.MS_MESSAGES)
    for framed, raw in zip(out, S.MS_MESSAGES.values(), strict=True):
        assert framed.data == raw
        assert parse_message(framed.data).defects == []


@pytest.mark.parametrize("chunk", [1, 7, 100])
def test_large_message_in_small_chunks_is_linear(chunk: int) -> None:
    body = b"x" * (200_000 if chunk > 1 else 30_000)
    big = (
        b"MESSAGE sip:a@b SIP/2.0\r\n"
        + b"X: y\r\n" * 2000
        + b"Content-Length: %d\r\n\r\n" % len(body)
    )
    stream = big + body
    framer = SipStreamFramer()
    start = time.perf_counter()
    got = []
    for i in range(0, len(stream), chunk):
        framer.receive_data(stream[i : i + chunk], i, 0.0)
        got.extend(drain(framer))
    assert [m.data for m in got] == [stream]
    assert time.perf_counter() - start < 3.0


def test_many_small_messages_in_one_big_buffer() -> None:
    msgs = M1 * 3000  # about 1 MB delivered at once, then drained
    framer = SipStreamFramer()
    framer.receive_data(msgs, 1, 0.0)
    start = time.perf_counter()
    assert len(drain(framer)) == 3000
    assert time.perf_counter() - start < 3.0
    assert framer.buffered == 0


# -- what the framer hands over to the parser --------------------------------------------------


def test_handover_of_header_end_and_content_length() -> None:
    msg = S.MS_MESSAGES[sorted(S.MS_MESSAGES)[0]]
    framer = SipStreamFramer()
    framer.receive_data(msg + msg[:10], 1, 0.0)
    framed = framer.next_message()
    assert framed is not None and framed.data == msg
    head, _, body = msg.partition(b"\r\n\r\n")
    assert framed.header_end == len(head) + 2
    assert framed.content_length == len(body)
    assert framed.data is not msg  # two messages' bytes in the chunk: a copy of the first


def test_a_message_that_is_the_whole_chunk_is_not_copied() -> None:
    msg = S.MS_MESSAGES[sorted(S.MS_MESSAGES)[0]]
    framer = SipStreamFramer()
    framer.receive_data(msg, 1, 0.0)
    framed = framer.next_message()
    assert framed is not None and framed.data is msg


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        (b"Content-Length: 12", (12, 12)),
        (b"content-length:12", (12, 12)),
        (b"CONTENT-LENGTH \t: 0007 ", (7, 7)),
        (b"Content-Length:\r5\r", (5, 5)),
        # anything unusual is read by the regex and not handed over
        (b"Content-Length: 12\r\nContent-Length: 12", (12, None)),
        (b"l: 5", (5, None)),
        (b"Content-Length:\r\n 12", (12, None)),  # folded
        (b"Content-Length: 1\r2", (1, None)),  # the parser reads "1\r2": not a number
        (b"Content-Length: 1234567890123456", (10**15, None)),
        (b"Content-Lengthy: 3\r\nContent-Length: 4", (4, None)),
        (b"Content-Length: x", (None, None)),
        (b"Content-Length: 3\r\nl: 4", (3, None)),  # they disagree: the first is used
    ],
)
def test_content_length_fast_and_regex_paths(
    lines: bytes, expected: tuple[int | None, int | None]
) -> None:
    block = b"MESSAGE sip:a@b SIP/2.0\r\nCall-ID: x\r\n" + lines + b"\r\n"
    framer = SipStreamFramer()
    framer.receive_data(block, 1, 0.0)
    assert framer._content_length(0, len(block)) == expected


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [
                b"Content-Length",
                b"content-length",
                b"l",
                b"L",
                b"Content-Lengths",
                b"X-L",
                b"Content-Length ",
                b" Content-Length",
                b"Via",
            ]  # fmt: skip
        ),
        max_size=4,
    ),
    st.lists(
        st.sampled_from([b" 12", b"0", b"\t7 ", b"x", b"", b" 1\r2", b"99999999999999999"]),
        min_size=4,
        max_size=4,
    ),  # fmt: skip
    st.sampled_from([b"\r\n", b"\n", b"\r\n ", b"\r\n\t"]),
)
def test_only_content_length_agrees_with_the_regex(
    names: list[bytes], values: list[bytes], eol: bytes
) -> None:
    from lyncdump.sip.framing import _CL_RE, _DIGITS_RE, _only_content_length

    block = bytearray(b"MESSAGE sip:a@b SIP/2.0")
    for name, value in zip(names, values, strict=False):
        block += eol + name + b":" + value
    block += b"\r\n"
    fast = _only_content_length(block, 0, len(block))
    found = [m.group(1).strip(b" \t\r\n") for m in _CL_RE.finditer(block, 0, len(block))]
    if fast is not None:
        assert len(found) == 1 and _DIGITS_RE.fullmatch(found[0]) and fast == int(found[0])
