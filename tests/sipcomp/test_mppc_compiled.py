"""The compiled MPPC decoder (``_fastpath.mppc_inflate``) against the pure-Python one.

Token by token on random and real (compressor-made) streams, in exact and mid-stream (unknown
history) mode, from any bit and write position; then whole MS-SIPCOMP streams through
:class:`SipcompStreamDecoder` with gaps, garbage, resynchronisation and a small decompression
budget, compared packet for packet and defect for defect.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lyncdump import fastpath
from lyncdump.errors import MalformedError
from lyncdump.sipcomp import mppc
from lyncdump.sipcomp.budget import DecompressionBudget
from lyncdump.sipcomp.mppc import HISTORY_SIZE, MppcCompressor
from lyncdump.sipcomp.stream import SipcompStreamDecoder, SipcompStreamEncoder

from . import sipcomp_samples as S

compiled = fastpath.compiled()
pytestmark = pytest.mark.skipif(
    compiled is None, reason="the compiled fast path is not in use (LYNCDUMP_PURE_PYTHON)"
)


def test_the_compiled_decoder_is_used_when_built() -> None:
    assert mppc._c_inflate is not None and mppc._c_inflate is compiled.mppc_inflate


def _python(hist, known, pos, limit, data, bit, bit_base):  # type: ignore[no-untyped-def]
    try:
        nbits = len(data) * 8
        return mppc._inflate(hist, known, pos, limit, mppc._views(data), bit, nbits, bit_base)
    except MalformedError as exc:
        return (exc.offset, exc.reason)


def _compiled(hist, known, pos, limit, data, bit, bit_base):  # type: ignore[no-untyped-def]
    got = compiled.mppc_inflate(hist, known, pos, limit, data, bit, len(data) * 8, bit_base)
    return got[:3] if got[2] >= 0 else (got[3], got[4])


def _at_bit(data: bytes, shift: int, rng: random.Random) -> bytes:
    """data started ``shift`` random bits into its first byte (the bits before a packet's
    first), zero-padded to whole bytes."""
    lead = "".join(rng.choice("01") for _ in range(shift))
    bits = lead + "".join(f"{b:08b}" for b in data)
    bits += "0" * (-len(bits) % 8)
    return int(bits, 2).to_bytes(len(bits) // 8, "big") if bits else b""


def _both(history: bytes, known: bytes | None, pos: int, limit: int, data: bytes, bit: int):  # type: ignore[no-untyped-def]
    """Run both decoders on copies of the same state; assert the same result and state."""
    results = []
    for run in (_python, _compiled):
        hist = bytearray(history)
        kn = None if known is None else bytearray(known)
        result = run(hist, kn, pos, limit, data, bit, 8 * 17)
        results.append((result, bytes(hist), None if kn is None else bytes(kn)))
    py, c = results
    assert c[0] == py[0]
    if len(py[0]) == 3:  # on an error the state is dropped (forget()), so only results count
        assert c[1] == py[1] and c[2] == py[2]
    return py[0]


def _real_stream(seed: int, count: int) -> tuple[list[bytes], bytes]:
    """Packets a compressor made of SIP traffic, and the history before the last one."""
    comp = MppcCompressor()
    dec = mppc.MppcDecompressor()
    packets = []
    history = bytes(dec.history)
    for message in S.sip_traffic(seed, count):
        flags, payload = comp.compress(message)
        history = bytes(dec.history)
        dec.decompress(payload, flags)
        packets.append(payload)
    return packets, history


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.binary(max_size=400),
    st.integers(0, HISTORY_SIZE),
    st.integers(0, HISTORY_SIZE),
    st.integers(0, 7),
    st.booleans(),
    st.integers(0, 2**32 - 1),
)
def test_random_bits_same_tokens_and_errors(
    data: bytes, pos: int, span: int, bit: int, mid: bool, seed: int
) -> None:
    rng = random.Random(seed)
    history = rng.randbytes(HISTORY_SIZE)
    known = bytes(rng.choice((0, 1)) for _ in range(HISTORY_SIZE)) if mid else None
    limit = min(HISTORY_SIZE, pos + span)
    _both(history, known, pos, limit, data, bit)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 2**32 - 1), st.integers(1, 12), st.booleans(), st.integers(0, 40))
def test_real_streams_same_output(seed: int, count: int, mid: bool, cut: int) -> None:
    packets, history = _real_stream(seed, count)
    data = packets[-1]
    rng = random.Random(seed)
    known = bytes(rng.choice((0, 1, 1, 1)) for _ in range(HISTORY_SIZE)) if mid else None
    pos = rng.randrange(HISTORY_SIZE)
    # whole, truncated, and with a few bits flipped: every stop reason and error turns up
    _both(history, known, pos, HISTORY_SIZE, data, 0)
    _both(history, known, pos, HISTORY_SIZE, data[: max(0, len(data) - cut)], 0)
    damaged = bytearray(data)
    for _ in range(1 + cut % 4):
        if damaged:
            damaged[rng.randrange(len(damaged))] ^= 1 << rng.randrange(8)
    _both(history, known, pos, rng.randrange(pos, HISTORY_SIZE + 1), bytes(damaged), cut % 8)


def _bits(text: str) -> bytes:
    """Bytes of an MSB-first bit string, zero padded."""
    text = text.replace(" ", "")
    text += "0" * (-len(text) % 8 + 8)
    return int(text, 2).to_bytes(len(text) // 8, "big")


@pytest.mark.parametrize(
    ("data", "pos", "at", "reason"),
    [
        (_bits("1111 000000 0"), 10, 136, "copy offset 0 outside 1..8191 at bit offset 136"),
        (_bits("110 " + "1" * 13 + " 0"), 10, 136,
         "copy offset 8511 outside 1..8191 at bit offset 136"),
        (_bits("1111 000001 " + "1" * 12), 10, 146,
         "length code with more than 11 leading ones at bit offset 146"),
        (_bits("1111 000001 0"), 8190, 136,
         "copy of 3 bytes at history position 8190 runs past the end (8192) at bit offset 136"),
    ],
)  # fmt: skip
def test_corrupt_tokens_same_message(data: bytes, pos: int, at: int, reason: str) -> None:
    """The bit offsets count from bit_base 136 (17 bytes before the input)."""
    assert _both(bytes(HISTORY_SIZE), None, pos, HISTORY_SIZE, data, 0) == (at, reason)


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError):
        compiled.mppc_inflate(bytearray(10), None, 0, 10, b"a", 0, 8, 0)
    with pytest.raises(TypeError):
        compiled.mppc_inflate(bytearray(HISTORY_SIZE), bytearray(3), 0, 10, b"a", 0, 8, 0)
    with pytest.raises(ValueError):
        compiled.mppc_inflate(bytearray(HISTORY_SIZE), None, 0, HISTORY_SIZE + 1, b"", 0, 0, 0)


# -- whole streams ------------------------------------------------------------------------------


@contextmanager
def _pure() -> Iterator[None]:
    saved = mppc._c_inflate
    mppc._c_inflate = None
    try:
        yield
    finally:
        mppc._c_inflate = saved


def _decode(events: list[bytes | int], mid: bool, budget: int | None):  # type: ignore[no-untyped-def]
    kw = {} if budget is None else {"budget": DecompressionBudget(budget, 64).connection()}
    dec = SipcompStreamDecoder(mid_stream=mid, **kw)
    out = []
    for n, ev in enumerate(events, 1):
        if isinstance(ev, int):
            dec.receive_gap(ev, n, float(n))
        else:
            dec.receive_data(ev, n, float(n))
        while (p := dec.next_packet()) is not None:
            out.append(p)
    dec.receive_eof()
    while (p := dec.next_packet()) is not None:
        out.append(p)
    return out, [(d.frame, d.offset, d.reason) for d in dec.defects]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(S.sip_messages(), min_size=1, max_size=12),
    st.lists(st.one_of(st.binary(max_size=200), st.integers(1, 400)), max_size=6),
    st.integers(1, 2000),
    st.booleans(),
    st.sampled_from([None, None, 2000, 20000]),
    st.integers(0, 2**32 - 1),
)
def test_streams_with_gaps_garbage_and_budget_decode_the_same(
    messages: list[bytes],
    damage: list[bytes | int],
    size: int,
    mid: bool,
    budget: int | None,
    seed: int,
) -> None:
    enc = SipcompStreamEncoder()
    wire = b"".join(enc.encode(m) for m in messages)
    start = random.Random(seed).randrange(len(wire)) if mid else 0
    events: list[bytes | int] = [wire[i : i + size] for i in range(start, len(wire), size)]
    rng = random.Random(seed)
    for ev in damage:  # garbage and gaps at random places: resynchronisation
        events.insert(rng.randrange(len(events) + 1), ev)
    events += [wire[: min(len(wire), 3000)]]  # and the stream again: history from FLUSHED
    got = _decode(events, mid, budget)
    with _pure():
        want = _decode(events, mid, budget)
    assert got == want


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 2**32 - 1), st.integers(1, 12), st.integers(0, 15), st.integers(0, 12))
def test_window_refills_at_every_bit_offset_and_near_the_input_end(
    seed: int, count: int, shift: int, cut: int
) -> None:
    """The compiled decoder refills its window from the 8 bytes at the token's byte (57 to 64
    real bits, by the bit offset) and only the last 8 bytes of the input with the zero-padded
    read (session 30): a packet started at any bit offset and cut anywhere in its last bytes
    decodes as the Python decoder decodes it, tokens, stop reasons and errors."""
    packets, history = _real_stream(seed, count)
    data = packets[-1]
    rng = random.Random(seed)
    shifted = _at_bit(data, shift, rng)
    pos = rng.randrange(HISTORY_SIZE)
    for end in (len(shifted), max(0, len(shifted) - cut), min(len(shifted), 9 + cut)):
        _both(history, None, pos, HISTORY_SIZE, shifted[:end], shift)
        _both(history, None, 0, min(HISTORY_SIZE, 40 + 16 * cut), shifted[:end], shift)


# -- the table-driven token decode (session 31) -------------------------------------------------

#: Offsets at each offset code's ends (6-, 8- and 13-bit codes) and copy lengths at the ends
#: of each length code width, the 8-bit table's last (31) and the first read bit by bit (32).
_OFFSETS = [1, 2, 63, 64, 65, 200, 319, 320, 321, 4000, 8190, 8191]
_LENGTHS = [3, 4, 7, 8, 15, 16, 17, 31, 32, 33, 63, 64, 127, 128, 255, 256, 1000, 4095, 4096]


def _tokens(draw_tokens: list[tuple[int, int] | bytes]) -> bytes:
    """An MSB-first stream of the given tokens (bytes: literals, (offset, length): a copy),
    made with the encoder's own token writers."""
    w = mppc._BitWriter()
    for token in draw_tokens:
        if isinstance(token, bytes):
            mppc._literals(w, token)
        else:
            code, bits = mppc._copy_code(*token)
            w.acc = (w.acc << bits) | code
            w.nacc += bits
    return w.finish()


_token = st.one_of(
    st.binary(min_size=1, max_size=20),
    st.tuples(
        st.one_of(st.sampled_from(_OFFSETS), st.integers(1, 8191)),
        st.one_of(st.sampled_from(_LENGTHS), st.integers(3, 300)),
    ),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_token, min_size=1, max_size=40), st.integers(0, 7), st.integers(0, 2**32 - 1))
def test_every_offset_and_length_code_at_every_bit_offset(
    tokens: list[tuple[int, int] | bytes], shift: int, seed: int
) -> None:
    """Copies of every offset code width and length code width (the table's lengths 3..31 and
    the longer codes read bit by bit), literals between them, started at any bit offset and cut
    anywhere: the compiled decoder gives the Python decoder's tokens, stops and errors."""
    data = _tokens(tokens)
    rng = random.Random(seed)
    shifted = _at_bit(data, shift, rng)
    history = rng.randbytes(HISTORY_SIZE)
    pos = rng.randrange(HISTORY_SIZE)
    for end in (len(shifted), rng.randrange(len(shifted) + 1)):
        _both(history, None, pos, HISTORY_SIZE, shifted[:end], shift)
        _both(history, None, 0, HISTORY_SIZE, shifted[:end], shift)
        # within 2048 bytes of pos: mppc_inflate's exact read, the MS-SIPCOMP scan's
        _both(history, None, pos, min(HISTORY_SIZE, pos + 2048), shifted[:end], shift)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=120), st.integers(0, 7), st.integers(0, 2**32 - 1))
def test_fewer_bits_than_the_input_holds(data: bytes, bit: int, seed: int) -> None:
    """nbits below the input's length (the window reads bytes past nbits; only the bits before
    it are tokens): the same stops, output and errors as the Python decoder given that nbits."""
    rng = random.Random(seed)
    nbits = rng.randrange(len(data) * 8 + 1)
    history = rng.randbytes(HISTORY_SIZE)
    pos = rng.randrange(HISTORY_SIZE)
    results = []
    for c in (False, True):
        hist = bytearray(history)
        try:
            if c:
                got = compiled.mppc_inflate(hist, None, pos, HISTORY_SIZE, data, bit, nbits, 5)
                result = got[:3] if got[2] >= 0 else (got[3], got[4])
            else:
                result = mppc._inflate(
                    hist, None, pos, HISTORY_SIZE, mppc._views(data), bit, nbits, 5
                )
        except MalformedError as exc:
            result = (exc.offset, exc.reason)
        results.append((result, bytes(hist) if len(result) == 3 else None))
    assert results[0] == results[1]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(S.sip_messages(), min_size=1, max_size=20), st.integers(0, 2**32 - 1))
def test_round_trips_across_flushes_and_restarts(messages: list[bytes], seed: int) -> None:
    """Compressor to decompressor over a direction whose history restarts (AT_FRONT when a
    message does not fit behind the position, FLUSHED for one too big or incompressible):
    every message comes back, compiled and in Python, with the same history after each."""
    rng = random.Random(seed)
    stream = []
    for m in messages:
        stream.append(m)
        roll = rng.random()
        if roll < 0.15:
            stream.append(rng.randbytes(rng.randrange(1, 3000)))  # incompressible: FLUSHED
        elif roll < 0.25:
            stream.append(m * (HISTORY_SIZE // max(1, len(m)) + 1))  # too big: FLUSHED
    comp = MppcCompressor()
    packets = [comp.compress(m) for m in stream]
    fast = mppc.MppcDecompressor()
    with _pure():
        slow = mppc.MppcDecompressor()
        for (flags, payload), m in zip(packets, stream, strict=True):
            assert slow.decompress(payload, flags) == m
    slow = mppc.MppcDecompressor()
    for (flags, payload), m in zip(packets, stream, strict=True):
        assert fast.decompress(payload, flags) == m
        with _pure():
            assert slow.decompress(payload, flags) == m
        assert fast.history == slow.history and fast.position == slow.position


# -- copies in 16-byte pieces (session 31) -------------------------------------------------------

#: Offsets around the pieces' rules: below, at and above 16 (a copy longer than its offset
#: replicates), and the far ends whose reads start in the previous pass's tail, less than 16
#: bytes ahead of the write position or wrapping past the history's end.
_SHORT_OFFSETS = [1, 2, 3, 7, 8, 9, 15, 16, 17, 31, 32, 33]
_FAR_OFFSETS = [8100, 8160, 8175, 8176, 8177, 8180, 8190, 8191]

_piece_token = st.one_of(
    st.binary(min_size=1, max_size=24),
    st.tuples(
        st.one_of(
            st.sampled_from(_SHORT_OFFSETS),
            st.sampled_from(_FAR_OFFSETS),
            st.integers(1, 64),
            st.integers(1, 8191),
        ),
        st.one_of(st.sampled_from(_LENGTHS[:12]), st.integers(3, 80), st.integers(3, 600)),
    ),
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(_piece_token, min_size=1, max_size=30),
    st.sampled_from([0, 1, 5, 15, 16, 17, 100, 4000, 7900, 8100, 8150, 8170, 8176, 8180, 8190]),
    st.integers(0, 7),
    st.booleans(),
    st.integers(0, 2**32 - 1),
)
def test_long_overlapping_and_wrapping_copies(
    tokens: list[tuple[int, int] | bytes], pos: int, shift: int, mid: bool, seed: int
) -> None:
    """The compiled decoder copies in 16-byte pieces, keeping the 16 bytes past a copy aside
    (session 31): valid streams of long copies, copies that replicate a short offset, copies
    that read the previous pass's tail from the write position's first bytes (ahead by less
    than 16, or wrapping past the history's end) and copies that end at or near the history's
    end give the Python decoder's history, known-map, stops and errors, from any bit offset
    and write position, exact or mid-stream, whole or cut."""
    data = _tokens(tokens)
    rng = random.Random(seed)
    shifted = _at_bit(data, shift, rng)
    history = rng.randbytes(HISTORY_SIZE)
    known = bytes(rng.choice((0, 1, 1, 1)) for _ in range(HISTORY_SIZE)) if mid else None
    limit = rng.choice((HISTORY_SIZE, HISTORY_SIZE, min(HISTORY_SIZE, pos + rng.randrange(600))))
    for end in (len(shifted), rng.randrange(len(shifted) + 1)):
        _both(history, known, pos, limit, shifted[:end], shift)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=400), st.integers(0, HISTORY_SIZE), st.integers(0, 7), st.booleans())
def test_random_bytes_at_any_write_position(data: bytes, pos: int, shift: int, mid: bool) -> None:
    """Random input from any write position (near the history's end too) and bit offset: the
    compiled decoder stops, faults and writes exactly as the Python decoder."""
    rng = random.Random(len(data) * 8191 + pos)
    history = rng.randbytes(HISTORY_SIZE)
    known = bytes(rng.choice((0, 1)) for _ in range(HISTORY_SIZE)) if mid else None
    _both(history, known, pos, HISTORY_SIZE, data, shift)


# -- the exact read's zone (session 32) ----------------------------------------------------------


@pytest.mark.parametrize("ahead", range(1, 17))
def test_copies_reading_the_zone_after_literal_runs_and_pieces(ahead: int) -> None:
    """The exact read (the MS-SIPCOMP scan's; mppc_inflate's with known None and a limit at
    most 2048 bytes on) stores whole 8- and 16-byte pieces and lets the up to 15 bytes past
    its position hold anything until it returns (session 32). A copy whose offset makes it
    read the previous pass's tail ``ahead`` bytes past the write position (off = 8192 -
    ahead) right after a literal run or a copy that wrote into those bytes, at the history's
    start, middle and end, at several bit offsets and limits, whole and cut short: the Python
    decoder's history, stops and errors, so the zone is put back both before such a read and
    when the call ends early."""
    rng = random.Random(ahead)
    history = rng.randbytes(HISTORY_SIZE)
    off = HISTORY_SIZE - ahead
    for run in range(1, 10):
        for before in (b"a" * run, (40, 17)):
            for length in (3, 16, 17, 40):
                data = _tokens([before, (off, length), b"z", (off, 3)])
                for shift in (0, 3, 7):
                    shifted = _at_bit(data, shift, rng)
                    for pos in (0, 9, 100, 8140, 8170):
                        if pos + (run if isinstance(before, bytes) else 17) >= off:
                            continue  # the copy would read behind, not the tail
                        # mppc_inflate takes the exact read up to 2048 bytes from pos
                        made = (run if isinstance(before, bytes) else 17) + length + 4
                        for limit in (made, made - 1, made + 20, 2048, HISTORY_SIZE - pos):
                            limit = min(HISTORY_SIZE, pos + limit)
                            for end in (len(shifted), len(shifted) - 1, len(shifted) // 2):
                                _both(history, None, pos, limit, shifted[:end], shift)
            if isinstance(before, tuple):
                break  # the copy before does not depend on the run


# -- the carried window (session 32, third round) -----------------------------------------------


@pytest.mark.parametrize("shift", range(8))
def test_carried_window_over_short_copies_runs_and_the_body_end(shift: int) -> None:
    """The body loop carries its 64-bit window from token to token, filling the bits a token
    used from the 64 stream bits after the window (session 32, third round), and leaves the
    input's last 17 bytes to the careful loop. Copies of every length 3..16 at every offset
    1..20 (replicating ones included) and at offsets that read the previous pass's tail,
    back to back or between literal runs of 1 to 9 bytes (the window's 8 and more) and high
    literals, from every bit offset, cut at every length within the last 24 bytes, at the
    history's start and end, exact read or not: the Python decoder's history, stops and
    errors."""
    rng = random.Random(shift)
    history = rng.randbytes(HISTORY_SIZE)
    for off in [*range(1, 21), 8176, 8185, 8191]:
        tokens: list[tuple[int, int] | bytes] = [b"seed-bytes-0123456789"]
        for length in range(3, 17):
            tokens.append((off, length))
            if length % 3 == 0:
                tokens.append((off, 19 - length))  # two copies back to back
            run = 1 + (length * 5 + off) % 9
            tokens.append(bytes(rng.randrange(0x20, 0x7F) for _ in range(run)))
            if length % 4 == 1:
                tokens.append(b"\xe9")  # a high literal
        shifted = _at_bit(_tokens(tokens), shift, rng)
        for pos in (0, 5000, 8100):
            for end in [len(shifted), *range(max(0, len(shifted) - 24), len(shifted))]:
                data = shifted[:end]
                _both(history, None, pos, min(HISTORY_SIZE, pos + 2048), data, shift)
                if end == len(shifted):
                    _both(history, None, pos, HISTORY_SIZE, data, shift)
                    _both(history, bytes(HISTORY_SIZE), pos, HISTORY_SIZE, data, shift)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.one_of(
            st.binary(min_size=1, max_size=12),
            st.tuples(st.integers(1, 40), st.integers(3, 20)),
            st.tuples(st.integers(8170, 8191), st.integers(3, 20)),
        ),
        min_size=1,
        max_size=60,
    ),
    st.integers(0, 7),
    st.integers(0, HISTORY_SIZE),
    st.integers(0, 2**32 - 1),
)
def test_carried_window_random_short_tokens(
    tokens: list[tuple[int, int] | bytes], shift: int, pos: int, seed: int
) -> None:
    """Random streams of short copies (near offsets, and the previous pass's tail) and
    literals of any bytes, from any bit offset and write position, cut anywhere, in the
    exact read and the others: the Python decoder's history, stops and errors."""
    rng = random.Random(seed)
    shifted = _at_bit(_tokens(tokens), shift, rng)
    history = rng.randbytes(HISTORY_SIZE)
    for end in (len(shifted), rng.randrange(len(shifted) + 1)):
        _both(history, None, pos, min(HISTORY_SIZE, pos + 2048), shifted[:end], shift)
        short = min(HISTORY_SIZE, pos + rng.randrange(1, 400))
        _both(history, None, pos, short, shifted[:end], shift)
        _both(history, None, pos, HISTORY_SIZE, shifted[:end], shift)
