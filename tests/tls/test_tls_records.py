"""Record framing: whole records at any cut, bad headers refused, bounded, never a stray raise."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lyncdump.errors import MalformedError
from lyncdump.tls.records import MAX_FRAGMENT, RecordReader, looks_like_record

RECORDS = (
    bytes.fromhex("160303000401020304")  # handshake, 4 bytes
    + bytes.fromhex("140303000101")  # change_cipher_spec
    + bytes.fromhex("1703030000")  # empty application data
    + bytes.fromhex("1703030003")
    + b"abc"
)


def _all(reader: RecordReader) -> list[tuple[int, int, bytes]]:
    out = []
    while (rec := reader.next_record()) is not None:
        out.append((rec.content_type, rec.version, rec.fragment))
    return out


def test_records_come_out_whole_whatever_the_cut() -> None:
    want = [
        (22, 0x0303, b"\x01\x02\x03\x04"),
        (20, 0x0303, b"\x01"),
        (23, 0x0303, b""),
        (23, 0x0303, b"abc"),
    ]
    for cut in range(len(RECORDS) + 1):
        reader = RecordReader()
        got = []
        reader.receive_data(RECORDS[:cut], 1, 0.0)
        got += _all(reader)
        reader.receive_data(RECORDS[cut:], 2, 0.0)
        got += _all(reader)
        assert got == want, cut
        assert reader.pending == 0


def test_byte_at_a_time_keeps_offsets_and_frames() -> None:
    reader = RecordReader()
    seen = []
    for i, byte in enumerate(RECORDS):
        reader.receive_data(bytes([byte]), i + 1, 0.0)
        while (rec := reader.next_record()) is not None:
            seen.append((rec.offset, rec.frame))
    assert seen == [(0, 9), (9, 15), (15, 20), (20, 28)]


def test_truncated_record_waits() -> None:
    for n in range(len(RECORDS)):
        reader = RecordReader()
        reader.receive_data(RECORDS[:n], 1, 0.0)
        _all(reader)  # never raises on a prefix of valid records


def test_not_tls_raises_malformed() -> None:
    reader = RecordReader()
    reader.receive_data(b"INVITE sip:x SIP/2.0\r\n", 1, 0.0)
    with pytest.raises(MalformedError) as info:
        reader.next_record()
    assert info.value.layer == "tls" and "not a TLS record header" in info.value.reason


def test_oversized_record_is_refused() -> None:
    reader = RecordReader()
    size = MAX_FRAGMENT + 1
    reader.receive_data(bytes([23, 3, 3, size >> 8, size & 0xFF]), 1, 0.0)
    with pytest.raises(MalformedError, match="exceeds"):
        reader.next_record()


def test_sniff() -> None:
    assert looks_like_record(b"\x16\x03\x01\x02\x00")
    assert not looks_like_record(b"\x16\xfe\xfd")  # DTLS
    assert not looks_like_record(b"\x16")


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200), st.integers(min_value=0, max_value=200))
def test_random_bytes_raise_only_malformed(data: bytes, cut: int) -> None:
    reader = RecordReader()
    try:
        reader.receive_data(data[:cut], 1, 0.0)
        _all(reader)
        reader.receive_data(data[cut:], 2, 0.0)
        _all(reader)
    except MalformedError:
        pass


def test_reader_resynchronises_on_a_confirmed_header_after_a_gap() -> None:
    from lyncdump.tls.records import RecordReader

    record = b"\x17\x03\x03\x00\x08" + b"ABCDEFGH"
    reader = RecordReader()
    reader.receive_data(record + record[:6], 1, 0.0)
    assert reader.next_record() is not None and reader.next_record() is None
    reader.receive_gap(40)
    # Junk with a fake header (length 3, not followed by a header), then a real record's
    # first bytes: it waits to be confirmed by what follows it.
    junk = b"\x00\x16\x03\x01\x00\x03xyz\x99"
    reader.receive_data(junk + record[:9], 2, 0.0)
    assert reader.next_record() is None and reader.resyncing
    # It ends where the bytes received end: confirmed (records often end with a segment).
    reader.receive_data(record[9:], 3, 0.0)
    got = reader.next_record()
    assert got is not None and got.fragment == b"ABCDEFGH" and not reader.resyncing
    assert reader.skipped == len(junk)
    assert got.offset == len(record) + 6 + 40 + len(junk)  # in the direction's bytes
    reader.receive_data(record, 4, 0.0)
    assert reader.next_record() is not None
