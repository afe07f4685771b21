"""Every result type is a dataclass as far as the standard tools can tell (issue 18):
``dataclasses.fields``/``asdict`` work, so ``pd.DataFrame(list_of_results)`` gives one row per
item with named columns; ``typing.get_type_hints`` resolves; a pickle round trip keeps the
values. StreamStats (on the compiled RtpCore or its pure-Python stand-in), PeerTraffic (on
RelayCore) and the lazily parsed SipMessage get their fields from lyncdump/resultclass.py."""

from __future__ import annotations

import collections
import dataclasses
import inspect
import pickle
import typing
from typing import Any

import pytest

import lyncdump
from lyncdump import fastpath
from lyncdump.analysis.ice import PeerTraffic
from lyncdump.media.stats import StreamStats

from ..conftest import CAPTURES
from .test_library import _results

pd = pytest.importorskip("pandas")

#: Samples that hold every result type between them (relayed media, SRTP, IM, sign-in,
#: TLS, tunnels, trace logs and their events, defects).
SAMPLES = [
    "lync-av-call.pcapng",
    "lync-call-srtp.pcap",
    "lync-im-conversation.pcapng",
    "lync-signin-tcp.pcapng",
    "lync-tls-sipcomp.pcapng",
    "lync-turn-udp.pcap",
    "sip-tunnels.pcapng",
    "lync-signin-tcp.server.log",
    "lync-compressed-midstream.pcap",  # defects
    "quirks.server.log",  # log events (TF_DIAG)
]


def results(cap: lyncdump.Capture) -> dict[str, list[Any]]:
    """Every result type of test_library's list, and the peer traffic of each allocation."""
    out = {table: list(items) for table, items in _results(cap).items()}
    out["peer_traffic"] = [p for a in out["allocations"] for p in a.peers.values()]
    return out


def _all_results() -> dict[str, list[Any]]:
    merged: dict[str, list[Any]] = collections.defaultdict(list)
    for name in SAMPLES:
        for table, items in results(lyncdump.open(CAPTURES / name)).items():
            merged[table] += items
    return merged


@pytest.fixture(scope="module")
def every_result() -> dict[str, list[Any]]:
    return _all_results()


TABLES = [
    "messages", "sessions", "transactions", "calls", "streams", "stun", "allocations",
    "peer_traffic", "ice", "pairs", "registrations", "conversations", "im_events", "defects",
    "connections", "log_events",
]  # fmt: skip


@pytest.mark.parametrize("table", TABLES)
def test_every_result_is_a_dataclass_for_the_standard_tools(
    every_result: dict[str, list[Any]], table: str
) -> None:
    items = every_result[table]
    assert items, f"the samples hold no {table}"
    cls = type(items[0])
    assert dataclasses.is_dataclass(cls), cls
    names = [f.name for f in dataclasses.fields(cls)]
    hints = typing.get_type_hints(cls)
    assert set(names) <= set(hints), cls
    for item in items:
        plain = dataclasses.asdict(item)
        assert list(plain) == names
        for value in plain.values():
            # asdict rebuilds a Counter from (key, count) pairs, counting the pairs: no field
            # may hold one.
            assert not isinstance(value, collections.Counter), (cls, names)
        twin = pickle.loads(pickle.dumps(item))
        assert type(twin) is cls
        if hasattr(item, "to_dict"):  # a session's diagnostics compare by identity
            assert twin.to_dict() == item.to_dict()
        else:
            assert dataclasses.asdict(twin) == plain
    frame = pd.DataFrame(items)
    assert frame.shape == (len(items), len(names))
    assert list(frame.columns) == names


def test_streams_as_a_dataframe_have_the_json_values() -> None:
    cap = lyncdump.open(CAPTURES / "lync-call-srtp.pcap")
    streams = cap.streams()
    frame = pd.DataFrame(streams)
    records = [s.to_dict() for s in streams]
    assert list(frame["ssrc"]) == [r["ssrc"] for r in records]
    assert list(frame["lost"]) == [r["lost"] for r in records] == [3, 0, 0]
    assert list(frame["packets"]) == [r["packets"] for r in records]
    assert list(frame["mos"]) == [r["mos"] for r in records]
    assert [f"{e['ip']}:{e['port']}" for e in frame["source"]] == [r["src"] for r in records]
    assert list(frame["srtp_decrypted"]) == [r["srtp_decrypted"] for r in records]
    plain = dataclasses.asdict(streams[0])
    assert plain["source"] == {"ip": "192.168.1.50", "port": 50020}
    assert plain["relay"] is None and plain["dtmf_events"] == [
        tuple(e) for e in streams[0].dtmf_events
    ]


def test_fields_of_a_compiled_base_have_no_default() -> None:
    """The slots and members of RtpCore/RelayCore (compiled or not) are values, not defaults."""
    for cls in (StreamStats, PeerTraffic, lyncdump.SipMessage):
        for f in dataclasses.fields(cls):
            assert f.default is dataclasses.MISSING and not f.init, (cls, f.name)
    # Nothing else changed: no generated __init__, __repr__ or __eq__.
    assert list(inspect.signature(StreamStats).parameters)[:2] == ["ssrc", "src"]
    for name in ("__repr__", "__eq__"):
        assert name not in StreamStats.__dict__
    assert "__eq__" not in lyncdump.SipMessage.__dict__
    assert repr(PeerTraffic()).startswith("PeerTraffic(packets_to_peer=0")


def test_relayed_peer_traffic_kinds_survive_asdict() -> None:
    cap = lyncdump.open(CAPTURES / "lync-av-call.pcapng")
    traffic = [p for a in cap.allocations() for p in a.peers.values()][0]
    assert dataclasses.asdict(traffic)["kinds"] == {"rtcp": 4, "rtp": 200, "stun": 2}
    assert traffic.kinds == {"rtcp": 4, "rtp": 200, "stun": 2}
    assert pd.DataFrame([traffic]).loc[0, "packets_to_peer"] == traffic.packets_to_peer == 103


def test_which_core_is_tested() -> None:
    """The suite runs once with the compiled core and once with LYNCDUMP_PURE_PYTHON=1."""
    base = StreamStats.__mro__[1]
    assert base is (fastpath.RtpCore)
    assert base.__name__ in ("RtpCore", "PyRtpCore")


def test_asdict_copies_the_counters_of_the_run_statistics() -> None:
    """``Stats`` and ``ChecksumStats`` count in Counters: ``asdict`` must copy the counts, not
    count the (name, count) pairs it rebuilds them from."""
    cap = lyncdump.open(CAPTURES / "tcp-checksums.pcap", verify_checksums=True)
    cap.run()
    stats = dataclasses.asdict(cap.stats)
    assert stats["methods"] == dict(cap.stats.methods) == {"OPTIONS": 8}
    assert stats["statuses"] == dict(cap.stats.statuses)
    checksums = cap.stats.checksums
    assert checksums is not None and sum(checksums.offloaded.values()) == 11
    assert stats["checksums"]["offloaded"] == dict(checksums.offloaded)
    assert stats["checksums"]["bad"] == dict(checksums.bad)
