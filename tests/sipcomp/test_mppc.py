"""MPPC / RDP 4.0 codec: published vectors, hostile input, round trips."""

from __future__ import annotations

import hashlib
import random
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lyncdump.errors import MalformedError
from lyncdump.sipcomp.mppc import (
    HISTORY_SIZE,
    PACKET_AT_FRONT,
    PACKET_COMPRESSED,
    PACKET_FLUSHED,
    PLACEHOLDER,
    MppcCompressor,
    MppcDecompressor,
    _copy_code,
    describe_flags,
    flags_from_nibble,
    flags_to_nibble,
)

from . import sipcomp_samples as S

DATA = Path(__file__).parent / "data"
BELLS = b"for.whom.the.bell.tolls,.the.bell.tolls.for.thee!"
BELLS_RDP4 = bytes.fromhex("666f722e77686f6d2e7468652e62656c6c2e746f6c6c732cf4372e66fa1f199484")
AF_C = PACKET_AT_FRONT | PACKET_COMPRESSED


def bits(text: str) -> bytes:
    """'0101 1...' -> bytes, MSB first, zero padded."""
    text = text.replace(" ", "")
    text += "0" * (-len(text) % 8)
    return int(text, 2).to_bytes(len(text) // 8, "big") if text else b""


def data(name: str, sha256: str) -> bytes:
    raw = (DATA / name).read_bytes()
    assert hashlib.sha256(raw).hexdigest() == sha256, f"{name} damaged"
    return raw


# -- flags -----------------------------------------------------------------------------------


def test_flag_forms() -> None:
    assert (PACKET_FLUSHED, PACKET_AT_FRONT, PACKET_COMPRESSED) == (0x80, 0x40, 0x20)
    assert flags_from_nibble(0x8) == PACKET_FLUSHED
    assert flags_from_nibble(0x6) == AF_C
    assert flags_to_nibble(PACKET_COMPRESSED) == 0x2
    assert describe_flags(AF_C) == "AT_FRONT|COMPRESSED"
    assert describe_flags(0) == "none"


# -- MS-RDPBCGR 3.1.8.4.1 unit encodings -----------------------------------------------------


@pytest.mark.parametrize(
    ("stream", "expected"),
    [
        ("01010110", b"\x56"),  # literal 0x56
        ("10 1100111", b"\xe7"),  # literal 0xE7
        ("01100001 01100010 01100011 1111 000011 0", b"abcabc"),  # copy-offset 3, length 3
        ("01011000 1111 000001 110 111", b"X" * 16),  # length 15, offset 1 (replicating)
    ],
)
def test_rdpbcgr_unit_codes_decode(stream: str, expected: bytes) -> None:
    assert MppcDecompressor().decompress(bits(stream), AF_C) == expected


def test_rdpbcgr_unit_codes_encode() -> None:
    def as_bits(code: int, n: int) -> str:
        return format(code, f"0{n}b")

    assert as_bits(*_copy_code(3, 3)) == "1111000011" + "0"
    assert as_bits(*_copy_code(128, 3)).startswith("111001000000")
    assert as_bits(*_copy_code(1024, 3)).startswith("1100001011000000")
    assert as_bits(*_copy_code(3, 15)).endswith("110111")
    assert as_bits(*_copy_code(3, 120)).endswith("111110111000")
    assert as_bits(*_copy_code(3, 4097)).endswith("111111111110000000000001")


def test_long_offsets_and_lengths_decode() -> None:
    d = MppcDecompressor()
    hist = bytes(range(256)) * 32
    d.load_history(hist, 4096)
    # copy-offset 128 length 120, then copy-offset 1024 length 4 - spec bit strings
    out = d.decompress(
        bits("1110 01000000 111110 111000110 0001011000000 10 00"), PACKET_COMPRESSED
    )
    assert out == hist[4096 - 128 : 4096 - 128 + 120] + hist[4216 - 1024 : 4216 - 1024 + 4]


# -- published vectors -----------------------------------------------------------------------


def test_freerdp_bells_rdp4() -> None:
    assert MppcDecompressor().decompress(BELLS_RDP4, AF_C) == BELLS


def test_bells_through_our_compressor() -> None:
    flags, payload = MppcCompressor().compress(BELLS)
    assert flags == AF_C
    assert len(payload) <= len(BELLS_RDP4)
    assert MppcDecompressor().decompress(payload, flags) == BELLS


@pytest.mark.parametrize(
    ("hexdata", "expected"),
    [
        ("666f722e77686f6d2e7468652e62656c6c2e746f6c6c732cf4372efa23d3329080", BELLS),  # D1
        ("586364f0a16568", b"XcdcdcdYZ"),  # D2: overlapping copy <2,4>
        ("b3ab00", b"\xe7\x56"),  # D3
    ],
)
def test_derived_vectors(hexdata: str, expected: bytes) -> None:
    assert MppcDecompressor().decompress(bytes.fromhex(hexdata), AF_C) == expected


def test_d4_continues_previous_message() -> None:
    d = MppcDecompressor()
    d.decompress(BELLS_RDP4, AF_C)
    assert d.decompress(bytes.fromhex("fc7021"), PACKET_COMPRESSED) == b"for.whom!"


V6 = {
    "history": (
        "v6_history.bin",
        "911a2e782fb3658ec8d245e3c17a0da25360dd04ca5092be4073f09ad72e120e",
    ),
    "compressed": (
        "v6_compressed.bin",
        "b9d07a6adeafd07fd7b01d5890a6122dd0c23b44d682a2a953dd413d724d3319",
    ),
    "expected": (
        "v6_expected.bin",
        "176dc08bafbfab49b8ca4c234d1c2441a18c38afec5b26d4a9e44585f3b699b2",
    ),
}


def test_redemption_v6_at_front_reads_old_tail() -> None:
    history, compressed, expected = (data(*V6[k]) for k in ("history", "compressed", "expected"))
    d = MppcDecompressor()
    d.load_history(history, 0)
    assert d.decompress(compressed, AF_C) == expected
    assert d.position == len(expected)
    # the same bits against a zeroed history do not give it: the modulo-8192 wrap matters
    assert MppcDecompressor().decompress(compressed, AF_C) != expected


def test_redemption_v4_mid_buffer() -> None:
    history = data(
        "v4_history.bin", "a0186270e82e8fbdf6852cd19458bca5dc442793668e5a4dada3095054971769"
    )
    expected = data(
        "v4_expected.bin", "86199d43991dd3680a2310529b2a1256e445e04aa2f38e7cc3ceb5af18e8b86b"
    )
    d = MppcDecompressor()
    d.load_history(history, 2974)
    out = d.decompress(bytes.fromhex("e808c04c62d3c60266f8b458791862d57e44"), PACKET_COMPRESSED)
    assert out == expected


# -- flag semantics --------------------------------------------------------------------------


def test_at_front_keeps_history() -> None:
    d = MppcDecompressor()
    d.load_history(bytes(HISTORY_SIZE - 3) + b"abc", 5000)
    # write position back to 0, contents kept: offset 3 from 0 wraps to 8189
    assert d.decompress(bits("1111 000011 0"), AF_C) == b"abc"
    assert d.position == 3
    assert d.history[-3:] == b"abc"
    # AT_FRONT without COMPRESSED: position reset, payload passed through
    assert d.decompress(b"raw", PACKET_AT_FRONT) == b"raw"
    assert d.position == 0 and d.history[:3] == b"abc"


def test_flushed_resets_and_passes_raw() -> None:
    d = MppcDecompressor()
    d.decompress(BELLS_RDP4, AF_C)
    assert d.decompress(b"INVITE raw", PACKET_FLUSHED) == b"INVITE raw"
    assert d.position == 0
    assert d.history == bytearray(HISTORY_SIZE)
    # FLUSHED|COMPRESSED (RDP style): flush first, then decode
    assert d.decompress(BELLS_RDP4, PACKET_FLUSHED | AF_C) == BELLS


def test_not_compressed_passes_through_untouched() -> None:
    d = MppcDecompressor()
    d.decompress(BELLS_RDP4, AF_C)
    assert d.decompress(b"\xff\x00 anything", 0) == b"\xff\x00 anything"
    assert d.decompress(bytes.fromhex("fc7021"), PACKET_COMPRESSED) == b"for.whom!"


# -- hostile input ---------------------------------------------------------------------------


def check_malformed(exc: MalformedError) -> None:
    assert exc.layer == "mppc"
    assert isinstance(exc.offset, int) and exc.offset >= 0
    assert "bit offset" in exc.reason


@pytest.mark.parametrize(
    ("stream", "bit"),
    [
        ("01000001 1111 000000 0", 8),  # offset 0
        ("110 1111111111111 0", 0),  # offset 8511
        ("01000001 1111 000001 1111 1111 1111 0000 0000 0000", 18),  # 12 leading ones
        ("110 0", 0),  # truncated copy (padded to 8 bits, token needs 16+)
    ],
)
def test_corrupt_tokens(stream: str, bit: int) -> None:
    d = MppcDecompressor()
    with pytest.raises(MalformedError) as info:
        d.decompress(bits(stream), AF_C)
    check_malformed(info.value)
    assert info.value.offset == bit
    assert not d.exact  # after an error the history is unknown...
    assert d.decompress(b"SIP", PACKET_FLUSHED) == b"SIP"
    assert d.exact  # ...until a FLUSHED


def test_write_past_end_of_history() -> None:
    d = MppcDecompressor()
    d.load_history(bytes(HISTORY_SIZE), HISTORY_SIZE - 2)
    with pytest.raises(MalformedError) as info:
        d.decompress(bits("01000001 1111 000001 10 00"), PACKET_COMPRESSED)  # 'A' then 4 bytes
    check_malformed(info.value)
    d.load_history(bytes(HISTORY_SIZE), HISTORY_SIZE - 2)
    with pytest.raises(MalformedError) as info:
        d.decompress(b"abc", PACKET_COMPRESSED)  # three literals, room for two
    check_malformed(info.value)
    with pytest.raises(MalformedError):  # a whole history of literals from position 1
        d.load_history(bytes(HISTORY_SIZE), 1)
        d.decompress(b"a" * HISTORY_SIZE, PACKET_COMPRESSED)


def test_maximum_output_is_one_history() -> None:
    d = MppcDecompressor()
    out = d.decompress(b"a" + bits("1111 000001 111111111110 111111111110"), AF_C)
    assert len(out) == 1 + 8190
    big = b"a" + bits("1111 000001 111111111110 111111111111")  # 1 + 8191 = 8192
    assert len(MppcDecompressor().decompress(big, AF_C)) == HISTORY_SIZE


def test_error_state_is_mid_stream_like() -> None:
    d = MppcDecompressor()
    d.decompress(BELLS_RDP4, AF_C)
    with pytest.raises(MalformedError):
        d.decompress(bits("1111 000000 0"), PACKET_COMPRESSED)
    out = d.decompress(bytes.fromhex("fc7021"), PACKET_COMPRESSED)  # <49,8> + '!'
    assert out == bytes([PLACEHOLDER]) * 8 + b"!"
    assert d.last_partial
    assert d.last_known == b"\x00" * 8 + b"\x01"


def test_truncation_at_every_length() -> None:
    messages = S.sip_traffic(11, 6)
    comp = MppcCompressor()
    packets = [comp.compress(m) for m in messages]
    ref = MppcDecompressor()
    for (flags, payload), message in zip(packets, messages, strict=True):
        for cut in range(len(payload)):
            d = ref.copy()
            try:
                out = d.decompress(payload[:cut], flags)
            except MalformedError as exc:
                check_malformed(exc)
            else:
                assert message.startswith(out)
        assert ref.decompress(payload, flags) == message


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=2000), st.sampled_from([0x20, 0x60, 0xA0, 0xE0, 0x80, 0x00, 0x40]))
def test_random_bytes_never_raise_anything_else(payload: bytes, flags: int) -> None:
    d = MppcDecompressor()
    d.decompress(b"warm up the history " * 20, AF_C) if flags & 0x20 else None
    try:
        out = d.decompress(payload, flags)
    except MalformedError as exc:
        check_malformed(exc)
    else:
        assert flags & 0x20 == 0 or len(out) <= HISTORY_SIZE


def test_random_bytes_in_mid_stream_mode() -> None:
    rng = random.Random(3)
    d = MppcDecompressor(history_known=False)
    for _ in range(300):
        try:
            out = d.decompress(rng.randbytes(rng.randrange(1, 400)), rng.choice([0x20, 0x60]))
        except MalformedError as exc:
            check_malformed(exc)
        else:
            assert len(out) <= HISTORY_SIZE


# -- compressor and round trips --------------------------------------------------------------


def test_compressor_flag_sequence() -> None:
    c = MppcCompressor()
    d = MppcDecompressor()
    seen = []
    rng = random.Random(1)
    msgs = [S.sip_message(rng) for _ in range(4)] + [rng.randbytes(300)] + [S.sip_message(rng)]
    msgs += [b"x" * HISTORY_SIZE, S.sip_message(rng, 7000), S.sip_message(rng, 7000)]
    for m in msgs:
        flags, payload = c.compress(m)
        seen.append(flags)
        assert d.decompress(payload, flags) == m
        if flags & PACKET_FLUSHED:
            assert flags == PACKET_FLUSHED and payload == m
        else:
            assert len(payload) <= len(m)
    assert seen[0] == AF_C
    assert seen[4] == PACKET_FLUSHED  # random bytes would expand
    assert seen[5] == AF_C  # first packet after a flush
    assert seen[6] == PACKET_FLUSHED  # too big for the history
    assert seen[7] == AF_C and seen[8] == AF_C  # 7000 + 7000 does not fit: wrap


def test_compressor_uses_old_tail_after_at_front() -> None:
    rng = random.Random(2)
    first = rng.randbytes(3500).hex().encode()  # 7000 bytes that do not repeat themselves
    second = first[-3000:]  # all of it sits in the tail that AT_FRONT keeps
    c, d = MppcCompressor(), MppcDecompressor()
    f1, p1 = c.compress(first)
    f2, p2 = c.compress(second)
    assert f2 == AF_C
    assert len(p2) < 100  # long copies from the old pass
    assert d.decompress(p1, f1) == first
    assert d.decompress(p2, f2) == second
    assert MppcDecompressor().decompress(p2, f2) != second  # needs the tail


def test_compressor_edge_sizes() -> None:
    for n in (0, 1, 2, 3, 4, HISTORY_SIZE - 1):
        c, d = MppcCompressor(), MppcDecompressor()
        m = (b"ab" * HISTORY_SIZE)[:n]
        flags, payload = c.compress(m)
        assert d.decompress(payload, flags) == m
    flags, _ = MppcCompressor().compress(b"a" * HISTORY_SIZE)
    assert flags == PACKET_FLUSHED


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(S.sip_messages(), min_size=1, max_size=25))
def test_round_trip_sequences(messages: list[bytes]) -> None:
    c, d = MppcCompressor(), MppcDecompressor()
    after_flush = True
    for m in messages:
        flags, payload = c.compress(m)
        if flags & PACKET_COMPRESSED:
            assert flags & PACKET_FLUSHED == 0
            if after_flush:
                assert flags & PACKET_AT_FRONT
            after_flush = False
        else:
            assert flags == PACKET_FLUSHED
            after_flush = True
        assert d.decompress(payload, flags) == m
        assert d.exact


def test_round_trip_long_session_wraps_many_times() -> None:
    messages = S.sip_traffic(5, 150)
    c, d = MppcCompressor(), MppcDecompressor()
    fronts = 0
    for m in messages:
        flags, payload = c.compress(m)
        fronts += bool(flags & PACKET_AT_FRONT)
        assert d.decompress(payload, flags) == m
    assert fronts >= 5


def test_incremental_decode_never_waits_forever() -> None:
    d = MppcDecompressor()
    d.start_packet(AF_C)
    # 'a' then a copy whose length code is 40 bits long, for a declared size of 2
    payload = bits("01100001 110 0000000000000 111111111110 000000000000") + bytes(50)
    with pytest.raises(MalformedError) as info:
        d.decode_some(payload, 0, 2)
    check_malformed(info.value)
    d.start_packet(AF_C)  # literals that never stop short of the declared size
    with pytest.raises(MalformedError):
        d.decode_some(b"\xff" * 100 + b"abc", 0, 5000)  # 0xff...: length code of 12+ ones
    d = MppcDecompressor()
    d.start_packet(AF_C)
    bit, done = d.decode_some(b"ab", 0, 5)  # genuinely short: wait for more
    assert (bit, done) == (16, False)


def test_incremental_decode_matches_whole() -> None:
    messages = S.sip_traffic(9, 10)
    c = MppcCompressor()
    whole, parts = MppcDecompressor(), MppcDecompressor()
    for m in messages:
        flags, payload = c.compress(m)
        assert whole.decompress(payload, flags) == m
        parts.start_packet(flags)
        bit, done = 0, False
        for n in range(1, len(payload) + 1, 7):
            bit, done = parts.decode_some(payload[:n], bit, len(m))
            if done:
                break
        if not done:
            bit, done = parts.decode_some(payload, bit, len(m))
        assert done and (bit + 7) // 8 == len(payload)
        assert parts.finish_packet() == m
