"""A connection's Python at its ends (issue 14, session 31): the endpoints made once for the
first message, the end of a connection that left nothing to report, a direction given back
by the fast path with its framer made where it was. Each shortcut is compared with the way it
stands for."""

from __future__ import annotations

import dataclasses
import random
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pcapgen import Builder, sip

import lyncdump.pipeline.connection as connection
from lyncdump.model import Endpoint
from lyncdump.pipeline.connection import ConnectionSummary, TcpConnectionSummary

from ..conftest import CAPTURES
from .test_sip_tcp_fastpath import _json, _keep_all, compare, generated, needs_compiled

V4 = (b"\x0a\x00\x00\x01", 5060, b"\x0a\x00\x00\x02", 50123)
V6 = (b"\x20\x01" + bytes(13) + b"\x01", 5061, b"\x20\x01" + bytes(13) + b"\x02", 40000)


@pytest.mark.parametrize("key", [V4, V6])
@pytest.mark.parametrize("flip", [False, True])
@pytest.mark.parametrize("first", ["none", "client", "server", "both"])
def test_endpoints_are_the_properties(
    key: tuple[bytes, int, bytes, int], flip: bool, first: str
) -> None:
    """endpoints() gives what the client and server properties give, whichever of them was
    read before, and the same objects the properties give afterwards."""
    made = TcpConnectionSummary(3, key, flip)
    twin = TcpConnectionSummary(3, key, flip)
    if first in ("client", "both"):
        made.client  # noqa: B018 - made before
    if first in ("server", "both"):
        made.server  # noqa: B018
    ends = made.endpoints()
    assert ends == (twin.client, twin.server)
    assert ends[0] is made.client and ends[1] is made.server
    assert made._key is None
    low, high = Endpoint.from_raw(key[0], key[1]), Endpoint.from_raw(key[2], key[3])
    assert ends == ((high, low) if flip else (low, high))


def test_a_summary_starts_as_the_dataclass_would() -> None:
    """TcpConnectionSummary sets each field itself (not through the dataclass's __init__):
    every field of ConnectionSummary, with its default."""
    enc = object()
    made = TcpConnectionSummary(9, V4, True, enc)  # type: ignore[arg-type]
    plain = ConnectionSummary(9, None, None, encapsulation=enc)  # type: ignore[arg-type]
    for f in dataclasses.fields(ConnectionSummary):
        if f.name not in ("client", "server"):
            assert getattr(made, f.name) == getattr(plain, f.name), f.name
    assert made.endpoints() == (
        Endpoint.from_raw(V4[2], V4[3]),
        Endpoint.from_raw(V4[0], V4[1]),
    )


def test_a_server_is_one_endpoint_for_its_connections() -> None:
    """Connections to one server share its Endpoint, made by either way of reading it."""
    server = (V4[0], V4[1])  # 10.0.0.1:5060, the lower end of the first two keys
    a = TcpConnectionSummary(1, V4, True)
    b = TcpConnectionSummary(2, (*server, V4[2], 50124), True)
    c = TcpConnectionSummary(3, (b"\x0a\x00\x00\x00", 40000, *server), False)
    assert a.endpoints()[1] is b.server is c.endpoints()[1]
    assert a.server == Endpoint.from_raw(*server)
    assert len({a.client, b.client, c.client}) == 3


def test_a_plain_summary_gives_its_endpoints() -> None:
    a, b = Endpoint("10.0.0.1", 1), Endpoint("10.0.0.2", 2)
    assert ConnectionSummary(1, a, b).endpoints() == (a, b)


def _the_long_way(monkeypatch: pytest.MonkeyPatch) -> None:
    """finish() through every step, as before the shortcut."""
    monkeypatch.setattr(connection, "_ended", lambda d: False)


@needs_compiled
@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(seed=st.integers(0, 2**32 - 1))
def test_finish_shortcut_on_generated_traffic(
    seed: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Connections cut inside a message, reset, closed, left open, given back at the end:
    the same output with finish()'s shortcut as through its every step (and the fast path
    against Python, which checks the framer a direction gets back)."""
    path = generated(random.Random(seed), tmp_path / f"e{seed}.pcap")
    compare(path, monkeypatch)
    short = _json(path), _keep_all(path)
    _the_long_way(monkeypatch)
    assert (_json(path), _keep_all(path)) == short


@pytest.mark.parametrize(
    "name", sorted(p.name for p in CAPTURES.iterdir() if p.suffix in (".pcap", ".pcapng"))
)
def test_finish_shortcut_on_samples(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    path = CAPTURES / name
    keylog = path.with_suffix(".keys")
    options = {"keylog": str(keylog)} if keylog.exists() else {}
    short = _json(path, **options)
    _the_long_way(monkeypatch)
    assert _json(path, **options) == short


def test_the_shortcut_is_taken_and_left(monkeypatch: pytest.MonkeyPatch) -> None:
    """_ended: a quiet direction and clear SIP at rest end with nothing to do; a framer
    holding part of a message, a defect not handed on, another mode do not."""
    from lyncdump.pipeline.connection import MEDIA, SIP, Direction, _ended
    from lyncdump.sip.framing import SipStreamFramer

    assert _ended(connection._QUIET)
    d = Direction()
    d.mode = SIP
    assert _ended(d)  # let go while the fast path framed it
    d.framer = SipStreamFramer()
    assert _ended(d)
    d.framer.receive_data(b"INVITE sip:x SIP/2.0\r\n", 1, 0.0)
    assert not _ended(d)
    d.framer = SipStreamFramer()
    d.framer._defect(1, 0, "x")
    assert not _ended(d)
    d.mode = MEDIA
    d.framer = None
    assert not _ended(d)


# -- a direction read by the fast path from its first byte (READ_FIRST) --------------------------

_REQUEST = sip(
    "REGISTER sip:example.com SIP/2.0\nVia: SIP/2.0/TCP 10.1.0.1:50000;branch=z9hG4bKr1\n"
    "From: <sip:a@example.com>;tag=1\nTo: <sip:a@example.com>\nCall-ID: first-1\n"
    "CSeq: 1 REGISTER\nContent-Length: auto\n"
)
_ANSWER = sip(
    "SIP/2.0 401 Unauthorized\nVia: SIP/2.0/TCP 10.1.0.1:50000;branch=z9hG4bKr1\n"
    "From: <sip:a@example.com>;tag=1\nTo: <sip:a@example.com>;tag=2\nCall-ID: first-1\n"
    "CSeq: 1 REGISTER\nContent-Length: auto\n"
)
_AGAIN = _REQUEST.replace(b"CSeq: 1", b"CSeq: 2").replace(b"bKr1", b"bKr2")
_OK = _ANSWER.replace(b"401 Unauthorized", b"200 OK").replace(b"CSeq: 1", b"CSeq: 2")
_OK = _OK.replace(b"bKr1", b"bKr2")

# What the server's first bytes may be: each (data, cuts, order).
SERVER_FIRST = {
    "whole": (_ANSWER, (), None),
    "two at once": (_ANSWER + _ANSWER.replace(b"401", b"403"), (), None),
    "keep-alive first": (b"\r\n\r\n" + _ANSWER, (), None),
    "cut after SIP/2.0": (_ANSWER, (30,), None),
    "cut inside SIP/2.0": (_ANSWER, (4,), None),
    "cut at once": (_ANSWER, (1,), None),
    "reordered": (_ANSWER, (40, 90), (1, 0, 2)),
    "not SIP": (b"\x16\x03\x01\x00\x05hello" * 3, (), None),
    "garbage before SIP/2.0": (b"hello there\r\n" + _ANSWER, (), None),
    "compact length": (_ANSWER.replace(b"Content-Length", b"l"), (), None),
    "negotiate": (_ANSWER.replace(b"REGISTER", b"NEGOTIATE"), (), None),
    "past the bound": (
        _ANSWER[:-4] + b"\r\nX: " + b"y" * 70_000 + b"\r\n\r\n",
        tuple(range(1400, 70_000, 1400)),
        None,
    ),
}


def _server_first(
    path: Path,
    data: bytes,
    cuts: tuple[int, ...],
    order: Any,
    end: str,
    client_cuts: tuple[int, ...] = (),
) -> Path:
    b = Builder()
    for conn in range(3):
        flow = b.tcp((f"10.1.0.{conn + 1}", 50_000 + conn), ("10.0.0.10", 5061))
        t = conn * 0.1
        flow.handshake(t)
        flow.send(t + 0.01, 0, _REQUEST, cuts=list(client_cuts))
        if end != "silent":
            flow.send(t + 0.02, 1, data, cuts=list(cuts), order=order)
            flow.send(t + 0.03, 0, _AGAIN)
            flow.send(t + 0.04, 1, _OK)
        if end == "closed":
            flow.close(t + 0.05)
    b.write(str(path))
    return path


@needs_compiled
@pytest.mark.parametrize("end", ["closed", "open", "silent", "client cut"])
@pytest.mark.parametrize("case", sorted(SERVER_FIRST))
def test_a_direction_read_from_its_first_byte(
    case: str, end: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The server's first bytes read by the fast path (a whole answer, several, a keep-alive
    before it, cut anywhere, reordered), or given back to Python's sniff (not SIP, garbage
    before the start line, what the fast path does not frame): the same output as Python
    alone; a server that never speaks, too."""
    data, cuts, order = SERVER_FIRST[case]
    client_cuts = (50, 120) if end == "client cut" else ()
    path = _server_first(tmp_path / "first.pcap", data, cuts, order, end, client_cuts)
    taken = compare(path, monkeypatch)
    if end != "silent" and case in ("whole", "two at once", "keep-alive first"):
        assert taken == 3 * 3 + (3 if case == "two at once" else 0)  # all but the first


@needs_compiled
@pytest.mark.parametrize("client_cuts", [(), (100,), (60, 200)])
def test_first_byte_reading_is_what_pays(
    client_cuts: tuple[int, ...], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The server's first answer never reaches Python's sniff when it is taken from the first
    byte: only the clients' first bytes are sniffed there (without the compiled path, all),
    also when the client's first message came in pieces (the server's direction is given
    back before each and taken again after it)."""
    data, cuts, order = SERVER_FIRST["whole"]
    path = _server_first(tmp_path / "first.pcap", data, cuts, order, "closed", client_cuts)
    compare(path, monkeypatch)
    sniffed: list[int] = []
    real = connection.TcpConnectionPipeline._sniff

    def spy(self: Any, direction: int, *args: Any) -> bool:
        sniffed.append(direction)
        return real(self, direction, *args)

    monkeypatch.setattr(connection.TcpConnectionPipeline, "_sniff", spy)
    _json(path)
    assert sniffed == [0, 0, 0]
