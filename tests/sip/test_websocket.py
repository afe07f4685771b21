"""SIP over WebSocket (RFC 7118 / RFC 6455 / RFC 7692): the sans-IO decoder, then a real
client/server pair recorded on loopback (captures/sip-websocket.pcapng) against tshark."""

from __future__ import annotations

import os
import shutil
import subprocess
import zlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import lyncdump
from lyncdump.sip.websocket import WebSocketDecoder, deflate_parameters

from ..conftest import CAPTURES

REQUEST = (
    b"GET /sip HTTP/1.1\r\nHost: ws.example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Protocol: sip\r\n"
    b"Sec-WebSocket-Version: 13\r\n\r\n"
)
ANSWER = (
    b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    b"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nSec-WebSocket-Protocol: sip\r\n\r\n"
)
SIP = b"OPTIONS sip:bob@example.com SIP/2.0\r\nCall-ID: ws\r\nCSeq: 1 OPTIONS\r\n\r\n"
KEY = b"\x37\xfa\x21\x3d"


def frame(payload: bytes, opcode: int = 1, *, fin: bool = True, key: bytes | None = KEY,
          rsv1: bool = False) -> bytes:  # fmt: skip
    b0 = (0x80 if fin else 0) | (0x40 if rsv1 else 0) | opcode
    n = len(payload)
    if n < 126:
        head = bytes([b0, (0x80 if key else 0) | n])
    elif n < 1 << 16:
        head = bytes([b0, (0x80 if key else 0) | 126]) + n.to_bytes(2, "big")
    else:
        head = bytes([b0, (0x80 if key else 0) | 127]) + n.to_bytes(8, "big")
    if key is None:
        return head + payload
    masked = bytes(b ^ key[i % 4] for i, b in enumerate(payload))
    return head + key + masked


def decode(data: bytes, *, client: bool = True, chunk: int = 0, **kw: int) -> WebSocketDecoder:
    dec = WebSocketDecoder(client=client, **kw)
    if chunk:
        for i in range(0, len(data), chunk):
            dec.receive_data(data[i : i + chunk], i // chunk + 1, float(i))
    else:
        dec.receive_data(data, 1, 0.0)
    return dec


def messages(dec: WebSocketDecoder) -> list[bytes]:
    out = []
    while (m := dec.next_message()) is not None:
        out.append(m.payload)
    return out


def test_rfc6455_masked_hello_example() -> None:
    # RFC 6455 §5.7: a single-frame masked text message containing "Hello".
    dec = decode(REQUEST + bytes.fromhex("818537fa213d7f9f4d5158"))
    assert messages(dec) == [b"Hello"] and not dec.defects
    assert dec.handshake is not None and dec.handshake.header("sec-websocket-protocol") == "sip"


def test_server_side_unmasked_fragments_and_a_ping_between() -> None:
    # RFC 6455 §5.7: "Hel" then "lo" as two fragments; a ping may come in between.
    data = (
        ANSWER + bytes.fromhex("010348656c") + frame(b"x", 9, key=None) + bytes.fromhex("80026c6f")
    )
    dec = decode(data, client=False)
    assert messages(dec) == [b"Hello"] and not dec.defects


@pytest.mark.parametrize("size", [125, 126, 65535, 65536, 70000])
def test_lengths_in_7_16_and_64_bits(size: int) -> None:
    payload = SIP + b"x" * (size - len(SIP))
    dec = decode(REQUEST + frame(payload), chunk=1000)
    (m,) = messages(dec)
    assert m == payload


def test_every_split_gives_the_same_messages() -> None:
    data = (
        REQUEST + frame(SIP[:20], fin=False) + frame(b"ping", 9) + frame(SIP[20:], 0) + frame(SIP)
    )
    for chunk in range(1, 40):
        assert messages(decode(data, chunk=chunk)) == [SIP, SIP], chunk


def test_frame_and_first_frame_of_a_fragmented_message() -> None:
    dec = WebSocketDecoder(client=True)
    dec.receive_data(REQUEST, 4, 1.0)
    dec.receive_data(frame(SIP[:10], fin=False), 5, 2.0)
    dec.receive_data(frame(SIP[10:], 0), 7, 3.0)
    m = dec.next_message()
    assert m is not None and (m.first_frame, m.frame, m.ts, m.payload) == (5, 7, 3.0, SIP)


def _deflated(messages_: list[bytes], *, takeover: bool = True) -> list[bytes]:
    comp = zlib.compressobj(wbits=-15)
    out = []
    for payload in messages_:
        if not takeover:
            comp = zlib.compressobj(wbits=-15)
        data = comp.compress(payload) + comp.flush(zlib.Z_SYNC_FLUSH)
        assert data.endswith(b"\x00\x00\xff\xff")
        out.append(frame(data[:-4], rsv1=True))
    return out


@pytest.mark.parametrize("takeover", [True, False])
def test_permessage_deflate_with_and_without_context_takeover(takeover: bool) -> None:
    second = SIP.replace(b"ws", b"w2")
    dec = WebSocketDecoder(client=True)
    params = "permessage-deflate" + ("" if takeover else "; client_no_context_takeover")
    dec.use_deflate(deflate_parameters(params))
    dec.receive_data(REQUEST + b"".join(_deflated([SIP, second, SIP], takeover=takeover)), 1, 0)
    assert messages(dec) == [SIP, second, SIP] and not dec.defects


def test_compressed_frame_without_the_extension_is_reported() -> None:
    dec = decode(REQUEST + _deflated([SIP])[0] + frame(SIP))
    assert messages(dec) == [SIP]
    assert [d.reason for d in dec.defects] == [
        "compressed frame (RSV1) without permessage-deflate agreed"
    ]


def test_deflate_bomb_stops_at_the_message_bound() -> None:
    bomb = zlib.compressobj(wbits=-15)
    data = bomb.compress(b"\0" * (4 << 20)) + bomb.flush(zlib.Z_SYNC_FLUSH)
    dec = WebSocketDecoder(client=True, max_message=1 << 20)
    dec.use_deflate({})
    dec.receive_data(REQUEST + frame(data[:-4], rsv1=True) + frame(SIP), 1, 0)
    assert messages(dec) == [SIP]
    assert "inflates past 1048576 bytes" in dec.defects[0].reason


def test_oversized_message_is_skipped_without_buffering_it() -> None:
    dec = WebSocketDecoder(client=True, max_message=1000)
    dec.receive_data(REQUEST, 1, 0)
    big = frame(b"y" * 50_000, fin=False) + frame(b"z" * 50_000, 0)
    for i in range(0, len(big), 1460):
        dec.receive_data(big[i : i + 1460], 2, 0)
        assert len(dec._buf) < 2000  # the payload is dropped as it comes
    dec.receive_data(frame(SIP), 3, 0)
    assert messages(dec) == [SIP]
    assert [d.reason for d in dec.defects] == ["WebSocket message over 1000 bytes skipped"]


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (frame(b"", 3), "frame with unknown opcode 3"),
        (frame(b"a" * 126, 9), "control frame (opcode 9) of more than 125 bytes"),
        (frame(b"", 9, fin=False), "control frame (opcode 9) fragmented"),
        (bytes([0x81, 0xFF]) + b"\xff" * 8 + KEY, "64-bit frame length with its top bit set"),
    ],
)
def test_bad_frames_end_the_direction_with_a_defect(data: bytes, reason: str) -> None:
    dec = decode(REQUEST + data + frame(SIP))
    assert messages(dec) == []
    assert [d.reason for d in dec.defects] == [reason]


def test_unmasked_client_frame_is_reported_and_read() -> None:
    dec = decode(REQUEST + frame(SIP, key=None))
    assert messages(dec) == [SIP]
    assert [d.reason for d in dec.defects] == ["unmasked frame from the client"]


def test_close_frame_ends_the_direction() -> None:
    dec = decode(REQUEST + frame(SIP) + frame(b"\x03\xe8", 8) + frame(SIP))
    assert messages(dec) == [SIP]


def test_plain_http_is_not_websocket() -> None:
    dec = decode(b"GET /index.html HTTP/1.1\r\nHost: x\r\n\r\n" + frame(SIP))
    assert not dec.websocket and messages(dec) == []
    server = decode(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", client=False)
    assert not server.websocket


def test_gap_and_cut_off_message_are_reported() -> None:
    dec = decode(REQUEST + frame(SIP)[:-5])
    dec.close()
    assert "stream ended inside a WebSocket message" in dec.defects[0].reason
    dec = decode(REQUEST + frame(SIP))
    dec.receive_gap(100, 2, 1.0)
    dec.receive_data(frame(SIP), 3, 2.0)
    assert messages(dec) == [SIP]  # the one before the gap; nothing after it
    assert "100 bytes missing" in dec.defects[0].reason


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.binary(max_size=600), st.booleans())
def test_random_bytes_never_raise(data: bytes, client: bool) -> None:
    dec = decode((REQUEST if client else ANSWER) + data, client=client, chunk=7)
    messages(dec)
    dec.close()


@settings(max_examples=200, deadline=None, derandomize=True)
@given(st.integers(min_value=0, max_value=200))
def test_truncation_at_every_length(cut: int) -> None:
    data = REQUEST + frame(SIP[:30], fin=False) + frame(SIP[30:], 0)
    dec = decode(data[: len(REQUEST) + cut])
    got = messages(dec)
    dec.close()
    assert got in ([], [SIP])


# -------------------------------------------------- a real pair on loopback, against tshark
SAMPLE = CAPTURES / "sip-websocket.pcapng"


def test_recorded_sample_every_message_over_ws_and_wss() -> None:
    cap = lyncdump.open(SAMPLE)
    got = [(m.transport, m.method or m.status, m.call_id) for m in cap.messages()]
    assert len(got) == 33 and not len(cap.defects)
    assert {t for t, _, _ in got} == {"WS", "WSS"}
    by_call = {s.call_id: s.outcome for s in cap.sessions()}
    assert by_call == {
        "reg-ws": "REGISTER → 401, 200",
        "call-ws": "INVITE → 200; BYE → 200",
        "reg-deflate": "REGISTER → 401, 200",
        "call-deflate": "INVITE → 200; BYE → 200",
        "reg-wss": "REGISTER → 401, 200",
        "call-wss": "INVITE → 200; BYE → 200",
    }
    invite = next(m for m in cap.messages() if m.call_id == "call-ws" and m.method == "INVITE")
    assert invite.first_frame < invite.frame  # three fragments, a ping between
    assert b"m=audio 20000" in invite.body


@pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark is not installed")
def test_recorded_sample_against_tshark() -> None:
    """tshark 4.0 decodes every unfragmented message (it does not join fragments)."""
    out = subprocess.run(
        ["tshark", "-r", str(SAMPLE), "-Y", "sip", "-T", "fields", "-e", "frame.number",
         "-e", "sip.Method", "-e", "sip.Status-Code", "-e", "sip.Call-ID"],
        capture_output=True, text=True, check=True, env={**os.environ, "LC_ALL": "C"},
    ).stdout  # fmt: skip
    theirs = set()
    for line in out.splitlines():
        frame_no, method, status, call_id = line.split("\t")
        theirs.add((int(frame_no), method or int(status), call_id))
    ours = {(m.frame, m.method or m.status, m.call_id) for m in lyncdump.open(SAMPLE).messages()}
    assert len(theirs) == 32 and theirs <= ours
    (extra,) = ours - theirs
    assert extra[1:] == ("INVITE", "call-ws")
