"""The STUN side of the media pipeline and its JSON contract: random and truncated datagrams
and TCP bytes never raise, MS-TURNBWM attributes decode to named fields, and every ``stun``,
``turn_allocation`` and ``ice_session`` record carries the fields docs/json.md lists."""

from __future__ import annotations

import json
import struct

from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st
from scenario_turn import _control, _ms, _tid, ice_check

from lyncdump.cli import command
from lyncdump.media import stun as s
from lyncdump.media.pipeline import MediaPipeline
from lyncdump.model import DefectLog

from ..conftest import CAPTURES

A, B = b"\x0a\x00\x00\x01", b"\x0a\x00\x00\x02"

STUN_FIELDS = {
    "record",
    "schema",
    "frame",
    "time",
    "src",
    "dst",
    "transport",
    "relayed_depth",
    "flavor",
    "type",
    "name",
    "class",
    "transaction_id",
    "length",
    "retransmission",
    "rtt",
    "error",
    "fingerprint",
    "integrity",
    "attributes",
}
ALLOCATION_FIELDS = {
    "record",
    "schema",
    "id",
    "client",
    "server",
    "transport",
    "flavor",
    "ms_version",
    "state",
    "first_frame",
    "start",
    "end",
    "relayed",
    "mapped",
    "lifetime",
    "bandwidth_kbps",
    "realm",
    "alternate_server",
    "multiplexed_session_id",
    "requests",
    "refreshes",
    "errors",
    "permissions",
    "channels",
    "active_destination",
    "peers",
}
ICE_FIELDS = {
    "record",
    "schema",
    "id",
    "ufrags",
    "start",
    "end",
    "implementation_version",
    "nominated",
    "path",
    "pairs",
}
PAIR_FIELDS = {
    "local",
    "remote",
    "local_type",
    "remote_type",
    "transport",
    "via_turn",
    "role",
    "checks",
    "succeeded",
    "failed",
    "state",
    "rtt",
    "use_candidate",
    "nominated",
    "errors",
    "first_frame",
}


def test_json_records_have_the_documented_fields() -> None:
    result = CliRunner().invoke(command, ["--json", str(CAPTURES / "lync-turn-tcp443.pcap")])
    assert result.exit_code == 0
    records = [json.loads(line) for line in result.stdout.splitlines()]
    kinds = [r["record"] for r in records]
    assert kinds[-1] == "capture"
    assert kinds.count("stun") == 13
    assert kinds.count("turn_allocation") == 1 and kinds.count("ice_session") == 1
    first_stun = kinds.index("stun")
    assert all(k != "session" for k in kinds[first_stun:])  # after the sessions
    for r in records:
        if r["record"] == "stun":
            assert set(r) == STUN_FIELDS | {"source"}
            for a in r["attributes"]:
                assert {"type", "name", "length"} <= set(a)
        elif r["record"] == "turn_allocation":
            assert set(r) == ALLOCATION_FIELDS | {"source"}
        elif r["record"] == "ice_session":
            assert set(r) == ICE_FIELDS | {"source"}
            for p in r["pairs"]:
                assert set(p) == PAIR_FIELDS
    error = next(r for r in records if r.get("type") == "0x0113")
    assert error["name"] == "Allocate error response"
    assert error["error"] == {"code": 401, "reason": "Unauthorized"}
    assert error["rtt"] == 0.02  # frame 9 answers frame 8, 20 ms later
    assert [a["name"] for a in error["attributes"]] == [
        "MAGIC-COOKIE",
        "MS-VERSION",
        "ERROR-CODE",
        "NONCE",
        "REALM",
    ]
    assert error["attributes"][4]["text"] == '"rtcmedia"'
    assert records[-1]["stun"]["messages"] == 13
    summary = CliRunner().invoke(
        command, ["--json", "--summary", str(CAPTURES / "lync-turn-tcp443.pcap")]
    )
    assert [json.loads(x)["record"] for x in summary.stdout.splitlines()] == ["input", "capture"]


def test_ms_turnbwm_attributes() -> None:
    tid = _tid(9)
    site = s.encode_address(bytes([192, 0, 2, 9]), 5000, tid, True)
    raw = _ms(
        0x0003,
        tid,
        [
            (0x8056, struct.pack("!HH", 0, 1)),
            (0x8057, bytes(range(16))),
            (0x8058, struct.pack("!IIII", 10, 20, 30, 40)),
            (0x805B, site),
            (0x805D, struct.pack("!III", 0xC0000000, 100, 200)),
            (0x8068, bytes([1, 2, 1, 0])),
            (0x8055, struct.pack("!HH", 2, 1)),
        ],
    )
    msg = s.parse(raw)
    fields = [s.attribute_fields(msg, a) for a in msg.attributes[1:]]
    assert fields[0] == {"message_type": "Reservation Commit"}
    assert fields[1] == {"hex": bytes(range(16)).hex()}
    assert fields[2] == {
        "min_send_kbps": 10,
        "max_send_kbps": 20,
        "min_recv_kbps": 30,
        "max_recv_kbps": 40,
    }
    assert fields[3] == {"address": "192.0.2.9:5000", "family": "IPv4"}
    assert fields[4] == {
        "valid": True,
        "max_send_kbps": 100,
        "max_recv_kbps": 200,
        "pstn_failover": True,
    }
    assert fields[5] == {
        "peer_location": "Internet",
        "self_location": "Intranet",
        "federation": "enterprise",
    }
    assert fields[6] == {"stream_type": "video", "service_quality": "reliable"}


def test_truncated_datagrams_become_defects() -> None:
    full = ice_check(1, "a:b", "pw")
    for n in range(1, len(full)):
        defects = DefectLog()
        pipe = MediaPipeline(defects)
        pipe.udp(1, 0.0, A, 1, B, 2, full[:n])
        assert pipe.stun.messages == []


def test_tcp_bytes_one_at_a_time() -> None:
    stream = _control(_ms(0x0003, _tid(1), [])) * 3
    pipe = MediaPipeline(DefectLog())
    for i, byte in enumerate(stream):
        pipe.tcp_data(1, 0, bytes([byte]), i + 1, 0.0, A, 5000, B, 443)
    assert [m.name for m in pipe.stun.messages] == ["Allocate request"] * 3
    assert pipe.stun.messages[0].frame == 32  # 4-byte framing + 28-byte message


@settings(max_examples=300, deadline=None)
@given(st.binary(min_size=1, max_size=120))
def test_random_datagrams_never_raise(data: bytes) -> None:
    pipe = MediaPipeline(DefectLog())
    pipe.udp(1, 0.0, A, 1, B, 2, data)
    pipe.udp(2, 0.0, A, 1, B, 2, b"\x00\x01" + data)
    pipe.udp(3, 0.0, A, 1, B, 2, b"\x40\x00" + data)
    pipe.udp(4, 0.0, A, 1, B, 2, b"\xff\x10" + data)
    pipe.finish()


@settings(max_examples=200, deadline=None)
@given(st.lists(st.binary(max_size=80), max_size=5), st.sampled_from([b"", b"\x02\x00", b"\x00"]))
def test_random_tcp_never_raises(chunks: list[bytes], prefix: bytes) -> None:
    pipe = MediaPipeline(DefectLog())
    for i, chunk in enumerate([prefix, *chunks]):
        pipe.tcp_data(1, 0, chunk, i + 1, 0.0, A, 5000, B, 443)
    pipe.tcp_gap(1, 0, 10, 9, 0.0)
    pipe.tcp_data(1, 0, b"\x02\x00\x00\x14" + bytes(20), 10, 0.0, A, 5000, B, 443)


ATTRS = st.sampled_from(
    [
        0x0001,
        0x0006,
        0x0008,
        0x0009,
        0x000C,
        0x000D,
        0x0011,
        0x0012,
        0x0013,
        0x0016,
        0x0020,
        0x0024,
        0x0025,
        0x8008,
        0x8020,
        0x8028,
        0x8029,
        0x802A,
        0x8050,
        0x8055,
        0x8058,
        0x8095,
    ]
)


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(
        [
            0x0001,
            0x0101,
            0x0111,
            0x0003,
            0x0103,
            0x0113,
            0x0004,
            0x0006,
            0x0008,
            0x0009,
            0x0109,
            0x0016,
            0x0017,
            0x0115,
        ]
    ),
    st.lists(st.tuples(ATTRS, st.binary(max_size=40)), max_size=6),
    st.booleans(),
    st.booleans(),
)
def test_well_formed_messages_with_random_values_never_raise(
    msg_type: int, attrs: list[tuple[int, bytes]], ms: bool, reverse: bool
) -> None:
    """Valid headers, any attribute values: analysis, relaying and JSON must cope."""
    from lyncdump.render.stun_json import stun_to_dict

    if ms:
        attrs = [(0x000F, bytes.fromhex("72c64bc6")), *attrs]
    raw = s.serialize(msg_type, _tid(1), attrs, flavor=s.MS_TURN if ms else s.RFC5389)
    pipe = MediaPipeline(DefectLog())
    src, dst = (B, A) if reverse else (A, B)
    pipe.udp(1, 0.0, src, 1, dst, 2, raw)
    pipe.udp(2, 0.1, dst, 2, src, 1, raw)
    pipe.stun.analyzer.learn_sdp(b"a=ice-ufrag:x\r\na=ice-pwd:y\r\n")
    pipe.finish()
    for m in pipe.stun.messages:
        stun_to_dict(m)
    pipe.stun.analyzer.sessions()
    pipe.stun.analyzer.allocations()
