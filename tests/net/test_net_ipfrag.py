"""IP fragment reassembly: arrival orders, duplicates, overlaps, memory bound and timeout."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scapy.all import (
    IP,
    TCP,
    UDP,
    Ether,
    IPv6,
    IPv6ExtHdrDestOpt,
    IPv6ExtHdrFragment,
    Raw,
    fragment,
    fragment6,
)

from lyncdump.model import DefectLog
from lyncdump.net.decode import PacketDecoder
from lyncdump.net.ipfrag import (
    DATAGRAM_OVERHEAD,
    FRAGMENT_OVERHEAD,
    FragmentReassembler,
    merge_piece,
)

SRC4, DST4 = "192.0.2.10", "198.51.100.20"
RAW_SRC4, RAW_DST4 = bytes([192, 0, 2, 10]), bytes([198, 51, 100, 20])
SRC6, DST6 = "2001:db8::1", "2001:db8::2"
ETH = Ether(src="00:11:22:33:44:55", dst="66:77:88:99:aa:bb")
BODY = bytes(range(256)) * 12  # 3072 bytes, easy to spot misplaced pieces


def ipv4_fragments(payload: bytes = BODY, ident: int = 4321, size: int = 512) -> list[bytes]:
    packet = IP(src=SRC4, dst=DST4, id=ident) / UDP(sport=5060, dport=5061) / Raw(payload)
    return [bytes(ETH / piece) for piece in fragment(packet, fragsize=size)]


def ipv6_fragments(payload: bytes = BODY, ident: int = 99, size: int = 600) -> list[bytes]:
    packet = (
        IPv6(src=SRC6, dst=DST6)
        / IPv6ExtHdrFragment(id=ident)
        / IPv6ExtHdrDestOpt()  # part of the fragmentable part: must be walked after reassembly
        / UDP(sport=3478, dport=50000)
        / Raw(payload)
    )
    return [bytes(ETH / piece) for piece in fragment6(packet, size)]


def feed(frames: list[bytes], decoder: PacketDecoder | None = None, ts: float = 0.0):
    decoder = decoder or PacketDecoder(DefectLog())
    results = []
    for number, frame in enumerate(frames, 1):
        result = decoder.decode(number, ts, 1, frame)
        if result is not None:
            results.append((number, result))
    return results, decoder


def test_ipv4_in_order():
    frames = ipv4_fragments()
    assert len(frames) > 3
    results, decoder = feed(frames)
    assert results == [(len(frames), (17, RAW_SRC4, 5060, RAW_DST4, 5061, BODY, 0, 0))]
    assert not list(decoder.defects) and decoder.fragments.buffered == 0


@pytest.mark.parametrize("order", ["reversed", "shuffled", "duplicated"])
def test_ipv4_any_order(order):
    frames = ipv4_fragments()
    if order == "reversed":
        frames.reverse()
    elif order == "shuffled":
        random.Random(3).shuffle(frames)
    else:
        frames = frames[:2] + frames[:2] + frames[1:] + frames[-1:]
    results, decoder = feed(frames)
    [(_, result)] = results
    assert result[5] == BODY
    assert not list(decoder.defects)


def test_ipv4_frame_number_is_the_last_fragment():
    frames = ipv4_fragments()
    random.Random(5).shuffle(frames)
    results, _ = feed(frames)
    assert results[0][0] == len(frames)


def test_ipv4_fragments_of_tcp():
    packet = IP(src=SRC4, dst=DST4, id=7) / TCP(sport=1, dport=2, seq=9, flags="PA") / Raw(BODY)
    frames = [bytes(ETH / piece) for piece in fragment(packet, fragsize=1000)]
    results, _ = feed(frames[::-1])
    assert results[0][1] == (6, RAW_SRC4, 1, RAW_DST4, 2, BODY, 9, 0x18)


def test_datagrams_with_other_ids_or_addresses_do_not_mix():
    first = ipv4_fragments(BODY, ident=1)
    second = ipv4_fragments(BODY[::-1], ident=2)
    interleaved = [frame for pair in zip(first, second, strict=True) for frame in pair]
    results, decoder = feed(interleaved)
    assert [r[5] for _, r in results] == [BODY, BODY[::-1]]
    assert not list(decoder.defects)


def test_conflicting_overlap_keeps_first_copy_and_is_a_defect():
    frames = ipv4_fragments(size=512)
    forged = bytearray(frames[1])
    forged[-10:] = b"X" * 10  # same offset and length, different bytes
    results, decoder = feed([frames[0], frames[1], bytes(forged)] + frames[2:])
    assert results[0][1][5] == BODY
    assert [d.reason for d in decoder.defects] == ["conflicting overlap in fragments"]


def test_partial_overlap_with_equal_bytes_is_fine():
    # Hand-made IPv4 fragments of a UDP datagram: [0, 24) and [16, end) overlap by 8 bytes.
    datagram = bytes(UDP(sport=7, dport=8) / Raw(b"0123456789" * 5))
    udp = bytes(UDP(sport=7, dport=8, len=len(datagram), chksum=0) / Raw(b"0123456789" * 5))
    first = IP(src=SRC4, dst=DST4, id=3, flags="MF", frag=0, proto=17) / Raw(udp[:24])
    second = IP(src=SRC4, dst=DST4, id=3, frag=2, proto=17) / Raw(udp[16:])
    results, decoder = feed([bytes(ETH / second), bytes(ETH / first)])
    assert results[0][1][5] == b"0123456789" * 5
    assert not list(decoder.defects)


def test_ipv6_orders():
    frames = ipv6_fragments()
    assert len(frames) > 3
    for arrangement in (
        frames,
        frames[::-1],
        frames + frames[:1],
        random.Random(1).sample(frames, len(frames)),
    ):
        results, decoder = feed(list(arrangement))
        raw_src = bytes.fromhex("20010db8000000000000000000000001")
        raw_dst = bytes.fromhex("20010db8000000000000000000000002")
        assert [r for _, r in results] == [(17, raw_src, 3478, raw_dst, 50000, BODY, 0, 0)]
        assert not list(decoder.defects)


def test_ipv6_conflicting_overlap():
    frames = ipv6_fragments()
    forged = bytearray(frames[1])
    forged[-1] ^= 0xFF
    results, decoder = feed([bytes(forged)] + frames)
    assert results and results[0][1][5] != BODY  # the forged copy came first and won
    assert [d.reason for d in decoder.defects] == ["conflicting overlap in fragments"]


def test_memory_bound_evicts_oldest_with_defects():
    limit = 8000
    decoder = PacketDecoder(DefectLog(), max_fragment_bytes=limit)
    firsts = [ipv4_fragments(ident=i)[0] for i in range(20)]
    for number, frame in enumerate(firsts, 1):
        assert decoder.decode(number, 0.0, 1, frame) is None
        assert decoder.fragments.buffered <= limit
    evictions = [d for d in decoder.defects if "buffer full" in d.reason]
    kept = limit // (512 + FRAGMENT_OVERHEAD + DATAGRAM_OVERHEAD)
    assert len(evictions) == 20 - kept and len(decoder.fragments) == kept
    assert evictions[0].frame == 1  # the oldest went first
    # The newest datagram is still buffered and can complete.
    rest = ipv4_fragments(ident=19)[1:]
    results, _ = feed(rest, decoder)
    assert results and results[0][1][5] == BODY


def test_timeout_evicts_with_defect():
    decoder = PacketDecoder(DefectLog(), fragment_timeout=30.0)
    frames = ipv4_fragments()
    assert decoder.decode(1, 100.0, 1, frames[0]) is None
    # Other traffic's fragments 31 s later: the first set is dropped.
    for number, frame in enumerate(ipv4_fragments(ident=555), 2):
        decoder.decode(number, 131.0, 1, frame)
    [defect] = list(decoder.defects)
    assert defect.frame == 1 and "timed out" in defect.reason
    # Its remaining fragments can no longer make a whole datagram.
    for number, frame in enumerate(frames[1:], 50):
        assert decoder.decode(number, 131.5, 1, frame) is None


def test_flush_reports_incomplete_datagrams():
    frames = ipv4_fragments()
    results, decoder = feed(frames[:-1])
    assert not results
    decoder.flush()
    [defect] = list(decoder.defects)
    assert defect.layer == "ipv4" and "incomplete" in defect.reason
    assert decoder.fragments.buffered == 0 and len(decoder.fragments) == 0


def test_fragment_past_65535_is_a_defect():
    frag = IP(src=SRC4, dst=DST4, id=1, frag=8190, flags="MF", proto=17) / Raw(b"x" * 16)
    results, decoder = feed([bytes(ETH / frag)])
    assert not results and "past 65535" in decoder.defects.items[0].reason


def test_inconsistent_last_fragments_are_defects():
    defects = DefectLog()
    frags = FragmentReassembler(defects)
    assert frags.add(1, 0.0, ("k",), 0, True, b"a" * 8, 17, "ipv4") is None
    assert frags.add(2, 0.0, ("k",), 16, False, b"b" * 8, 17, "ipv4") is None
    assert frags.add(3, 0.0, ("k",), 8, False, b"c" * 8, 17, "ipv4") is None  # second "last"
    assert frags.add(4, 0.0, ("k",), 24, True, b"d" * 8, 17, "ipv4") is None  # past the end
    assert frags.add(5, 0.0, ("k",), 8, True, b"", 17, "ipv4") is None  # empty
    assert len(defects) == 3
    assert frags.add(6, 0.0, ("k",), 8, True, b"e" * 8, 17, "ipv4") == (
        17,
        b"a" * 8 + b"e" * 8 + b"b" * 8,
    )


def test_buffered_counts_overhead():
    frags = FragmentReassembler(DefectLog())
    frags.add(1, 0.0, ("k",), 0, True, b"a" * 8, 17, "ipv4")
    assert frags.buffered == 8 + FRAGMENT_OVERHEAD + DATAGRAM_OVERHEAD
    frags.add(2, 0.0, ("k",), 16, True, b"b" * 8, 17, "ipv4")
    assert frags.buffered == 16 + 2 * FRAGMENT_OVERHEAD + DATAGRAM_OVERHEAD
    frags.flush()
    assert frags.buffered == 0


def test_overhead_covers_what_python_holds():
    """The bound is memory held: first fragments (the flood case) cost no more than charged."""
    import tracemalloc

    n = 4000
    keys = [(bytes([10, 0, i >> 8, i & 255]), bytes([10, 0, 0, 2]), 17, i) for i in range(n)]
    datas = [bytes([i & 255]) * 8 for i in range(n)]
    frags = FragmentReassembler(DefectLog(), max_bytes=1 << 40)
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for i in range(n):
            frags.add(i, 0.0, keys[i], 0, True, datas[i], 17, "ipv4")
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    # the key tuples and payloads were made by the caller: add what they cost per datagram
    per_datagram = held / n + 72 + 2 * 40 + 48
    assert per_datagram <= 8 + FRAGMENT_OVERHEAD + DATAGRAM_OVERHEAD
    assert frags.buffered == n * (8 + FRAGMENT_OVERHEAD + DATAGRAM_OVERHEAD)


def _evicting_adds(limit: int, count: int) -> float:
    """Seconds for ``count`` first fragments once ``limit`` is full (each one evicts one)."""
    import time

    frags = FragmentReassembler(DefectLog(10), max_bytes=limit)
    fill = limit // (8 + FRAGMENT_OVERHEAD + DATAGRAM_OVERHEAD) + 1
    data = b"x" * 8
    for i in range(fill):
        frags.add(i, 0.0, ("k", i), 0, True, data, 17, "ipv4")
    start = time.perf_counter()
    for i in range(fill, fill + count):
        frags.add(i, 0.0, ("k", i), 0, True, data, 17, "ipv4")
    elapsed = time.perf_counter() - start
    assert len(frags) == fill - 1 and frags.buffered <= limit
    return elapsed


def test_eviction_cost_does_not_grow_with_what_is_buffered():
    """Issue 16: past the bound each new fragment copied the whole key list to evict one set,
    so 100k first fragments took 65 s. Evicting is O(1): 16 times more datagrams buffered must
    not make each eviction much slower (the old code was 16 times slower here)."""
    small = min(_evicting_adds(256 << 10, 20000) for _ in range(2))
    large = min(_evicting_adds(4 << 20, 20000) for _ in range(2))
    assert large < 4 * small + 0.05, (small, large)


# -- merge_piece ---------------------------------------------------------------------------------


def test_merge_piece_keeps_first_copy():
    starts: list[int] = []
    datas: list[bytes] = []
    assert merge_piece(starts, datas, 10, b"abcd") == (4, False)
    assert merge_piece(starts, datas, 20, b"wxyz") == (4, False)
    assert merge_piece(starts, datas, 8, b"..abcd......wxyz..") == (10, False)
    assert b"".join(datas) == b"..abcd......wxyz.."
    assert starts == [8, 10, 14, 20, 24]
    assert merge_piece(starts, datas, 11, b"BC") == (0, True)
    assert b"".join(datas) == b"..abcd......wxyz.."


@settings(max_examples=200, deadline=None)
@given(
    data=st.binary(min_size=1, max_size=300),
    cuts=st.lists(st.tuples(st.integers(0, 299), st.integers(1, 80)), min_size=1, max_size=30),
)
def test_merge_piece_rebuilds_the_covered_bytes(data, cuts):
    starts: list[int] = []
    datas: list[bytes] = []
    covered = bytearray(len(data))
    total = 0
    for start, length in cuts:
        start %= len(data)
        piece = data[start : start + length]
        added, conflict = merge_piece(starts, datas, start, piece)
        assert not conflict
        total += added
        covered[start : start + len(piece)] = b"\x01" * len(piece)
    assert total == sum(covered) == sum(len(d) for d in datas)
    for s, d in zip(starts, datas, strict=True):
        assert data[s : s + len(d)] == d
    assert all(a + len(d) <= b for a, d, b in zip(starts, datas, starts[1:], strict=False))
