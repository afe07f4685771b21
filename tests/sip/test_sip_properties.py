"""Property tests: truncation at every length, random bytes, random chunking and gaps.

parse_message may only raise MalformedError; the framer never raises, keeps its buffer
bounded and frames a clean stream the same way however it is chunked.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lyncdump.errors import MalformedError
from lyncdump.sip.framing import SipStreamFramer
from lyncdump.sip.message import SipMessage, looks_like_sip, parse_message

from . import sip_samples as S

SAMPLES = [*S.VALID.values(), *S.MS_MESSAGES.values(), S.BADINV01, S.SCALAR02, S.MULTI01]
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def touch_everything(msg: SipMessage) -> None:
    """Every accessor must answer without raising, whatever the message holds."""
    _ = (msg.start_line, msg.is_request, repr(msg), msg.via, msg.from_, msg.to, msg.call_id)
    _ = (msg.cseq, msg.contact, msg.route, msg.record_route, msg.content_type)
    _ = (msg.content_type_params, msg.content_length, msg.max_forwards, msg.expires)
    _ = (msg.supported, msg.require, msg.proxy_require, msg.allow, msg.body_text)
    for name, _value in msg.headers:
        msg.header(name)
        msg.header_values(name)
    for part in msg.body_parts():
        _ = (part.content_type, part.content_id, part.body_text, part.body_parts())
    for addr in [*msg.contact, *(a for a in (msg.from_, msg.to) if a is not None)]:
        _ = (addr.uri_text, addr.tag, addr.epid, addr.expires, addr.instance, str(addr.uri))


def parse_or_malformed(data: bytes, datagram: bool) -> SipMessage | None:
    try:
        msg = parse_message(data, datagram=datagram)
    except MalformedError as exc:
        assert exc.layer == "sip"
        return None
    touch_everything(msg)
    return msg


def test_truncation_at_every_length() -> None:
    for sample in SAMPLES:
        step = 1 if len(sample) < 3000 else 13
        for n in range(0, len(sample) + 1, step):
            for datagram in (True, False):
                msg = parse_or_malformed(sample[:n], datagram)
                if msg is not None:
                    assert msg.raw == sample[:n] or datagram


@SETTINGS
@given(st.binary(max_size=600))
def test_random_bytes(data: bytes) -> None:
    looks_like_sip(data)
    parse_or_malformed(data, True)
    parse_or_malformed(data, False)


_SIP_ALPHABET = st.sampled_from(
    [
        b"\r\n",
        b"\n",
        b" ",
        b"\t",
        b":",
        b";",
        b",",
        b"<",
        b">",
        b'"',
        b"\\",
        b"=",
        b"@",
        b"%",
        b"sip:",
        b"SIP/2.0",
        b"INVITE ",
        b"Via: ",
        b"Contact: ",
        b"CSeq: ",
        b"l: ",
        b"To: ",
        b"--b",
        b"multipart/mixed;boundary=b",
        b"Content-Type: ",
        b"9999",
        b"\x00",
        b"\xff",
        b"[",
        b"]",
        b"*",
        b"tag",
        b"a",
    ]
)


@SETTINGS
@given(st.lists(_SIP_ALPHABET, max_size=80))
def test_sip_shaped_noise(tokens: list[bytes]) -> None:
    data = b"INVITE sip:a@b SIP/2.0\r\n" + b"".join(tokens)
    parse_or_malformed(data, True)
    parse_or_malformed(data, False)


@SETTINGS
@given(st.sampled_from(SAMPLES), st.data())
def test_mutated_samples(sample: bytes, data: st.DataObject) -> None:
    buf = bytearray(sample)
    for _ in range(data.draw(st.integers(1, 8))):
        pos = data.draw(st.integers(0, len(buf)))
        action = data.draw(st.sampled_from(["flip", "insert", "delete"]))
        if action == "insert" or pos == len(buf):
            buf[pos:pos] = data.draw(st.binary(min_size=1, max_size=4))
        elif action == "flip":
            buf[pos] = data.draw(st.integers(0, 255))
        else:
            del buf[pos : pos + data.draw(st.integers(1, 10))]
    parse_or_malformed(bytes(buf), True)
    parse_or_malformed(bytes(buf), False)


STREAM_PARTS = [S.MS_NEGOTIATE, S.MS_INVITE, b"\r\n\r\n", S.MS_BENOTIFY, S.ESC01, S.MS_401]
STREAM = b"".join(STREAM_PARTS)
STREAM_MESSAGES = [p for p in STREAM_PARTS if p.strip(b"\r\n")]


@SETTINGS
@given(st.lists(st.integers(0, len(STREAM)), max_size=12))
def test_any_chunking_gives_the_same_messages(cuts: list[int]) -> None:
    points = [0, *sorted(cuts), len(STREAM)]
    framer = SipStreamFramer()
    out = []
    for i in range(len(points) - 1):
        framer.receive_data(STREAM[points[i] : points[i + 1]], i, float(i), wire_size=10)
        while (m := framer.next_message()) is not None:
            out.append(m)
    assert [m.data for m in out] == STREAM_MESSAGES
    assert framer.defects == []
    assert sum(m.wire_size or 0 for m in out) <= 10 * (len(points) - 1)
    for m in out:
        assert m.first_frame <= m.frame


_EVENT = st.one_of(
    st.tuples(st.just("data"), st.binary(max_size=300)),
    st.tuples(st.just("sip"), st.sampled_from(SAMPLES)),
    st.tuples(st.just("cut"), st.sampled_from(SAMPLES), st.integers(0, 2000)),
    st.tuples(st.just("gap"), st.integers(0, 3000)),
    st.tuples(
        st.just("take"),
    ),
)


@SETTINGS
@given(st.lists(_EVENT, max_size=25), st.sampled_from([400, 2000, 1 << 20]))
def test_framer_never_raises_and_stays_bounded(events: list[tuple], max_message: int) -> None:
    framer = SipStreamFramer(max_message=max_message)
    for frame, event in enumerate(events, start=1):
        kind = event[0]
        chunk = b""
        if kind == "data":
            chunk = event[1]
        elif kind == "sip":
            chunk = event[1]
        elif kind == "cut":
            chunk = event[1][: event[2]]
        if kind == "gap":
            framer.receive_gap(event[1], frame, float(frame))
        elif kind == "take":
            framer.take_remaining()
        else:
            framer.receive_data(chunk, frame, float(frame), wire_size=len(chunk) // 2 or None)
        while (m := framer.next_message()) is not None:
            assert m.data and len(m.data) <= max_message
            assert m.frame <= frame and m.first_frame <= m.frame
            parse_or_malformed(m.data, False)
        assert framer.buffered <= 2 * max_message + (1 << 16) + len(chunk)
        for d in framer.defects:
            assert d.layer == "sip" and d.frame is not None
    framer.close()
