"""A connection's Python at its ends (issue 14, session 31): the endpoints made once for the
first message, the end of a connection that left nothing to report, a direction given back
by the fast path with its framer made where it was. Each shortcut is compared with the way it
stands for."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import lyncdump.pipeline.connection as connection
from lyncdump.model import Endpoint
from lyncdump.pipeline.connection import ConnectionSummary, TcpConnectionSummary

from ..conftest import CAPTURES
from .test_sip_tcp_fastpath import _json, _keep_all, compare, generated

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


def test_a_plain_summary_gives_its_endpoints() -> None:
    a, b = Endpoint("10.0.0.1", 1), Endpoint("10.0.0.2", 2)
    assert ConnectionSummary(1, a, b).endpoints() == (a, b)


def _the_long_way(monkeypatch: pytest.MonkeyPatch) -> None:
    """finish() through every step, as before the shortcut."""
    monkeypatch.setattr(connection, "_ended", lambda d: False)


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
