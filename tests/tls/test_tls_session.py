"""TlsSession on the Lync sample's own bytes: the decryption checked against tshark 4.0.17's
decrypted record sizes for captures/lync-tls-nokeys.pcap with lync-tls-sipcomp.keys; then
every truncation and random bytes, which may only become defects."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from lyncdump.tls.decrypt import TlsSession
from lyncdump.tls.keys import KeyLog, TlsKeys

from .tls_samples import sample_flights

FLIGHTS, WRITER = sample_flights()


def _keys() -> TlsKeys:
    log = KeyLog()
    log.add_text(WRITER.keylog_line())
    return TlsKeys(log)


def _feed(session: TlsSession, flights: list[tuple[int, bytes]]) -> None:
    for i, (direction, data) in enumerate(flights):
        session.receive_data(direction, data, i + 1, float(i))


def test_sample_decrypts_like_tshark() -> None:
    session = TlsSession(_keys())
    _feed(session, FLIGHTS)
    # tshark: "Decrypted TLS" 16 and 16 (Finished), 276 (NEGOTIATE), 302 (200 OK)
    assert [len(p) for _, p, _, _ in session.plaintext] == [276, 302]
    assert session.summary.decrypted_records == 4
    assert session.summary.cipher_suite == "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"
    assert session.defects == []


def test_every_truncation_of_each_direction_is_quiet() -> None:
    client = b"".join(d for k, d in FLIGHTS if k == 0)
    server = b"".join(d for k, d in FLIGHTS if k == 1)
    for n in range(len(client) + 1):
        session = TlsSession(_keys())
        session.receive_data(1, server, 1, 0.0)
        session.receive_data(0, client[:n], 2, 0.0)
        assert session.defects == []


def test_flipped_bits_become_defects_never_exceptions() -> None:
    data = bytearray(b"".join(d for k, d in FLIGHTS if k == 0))
    for at in range(0, len(data), 13):
        broken = bytearray(data)
        broken[at] ^= 0x40
        session = TlsSession(_keys())
        session.receive_data(1, b"".join(d for k, d in FLIGHTS if k == 1), 1, 0.0)
        session.receive_data(0, bytes(broken), 2, 0.0)
        assert all(d.layer == "tls" for d in session.defects)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 1), st.binary(max_size=120)), max_size=8))
def test_random_bytes_never_raise(chunks: list[tuple[int, bytes]]) -> None:
    session = TlsSession(_keys())
    for direction, data in chunks:
        session.receive_data(direction, b"\x16\x03\x03" + data, 1, 0.0)
    session.finish()


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=400), st.integers(0, len(FLIGHTS) - 1))
def test_random_handshake_bodies_never_raise(body: bytes, keep: int) -> None:
    session = TlsSession(_keys())
    _feed(session, FLIGHTS[:keep])
    size = len(body) + 4
    mtype = body[0] if body else 1
    record = b"\x16\x03\x03" + size.to_bytes(2, "big") + bytes([mtype])
    record += len(body).to_bytes(3, "big") + body
    session.receive_data(keep % 2, record, 2, 0.0)
