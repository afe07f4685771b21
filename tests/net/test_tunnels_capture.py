"""Tunnelled traffic end to end: the sample capture against tshark, names on messages and
connections, the summary counts, and the compiled fast path leaving every wrapped frame to
Python (so both paths give the same results)."""

from __future__ import annotations

import io
import shutil
import subprocess

import pytest
from scapy.all import GRE, IP, UDP, Dot1AD, Dot1Q, Ether, IPv6, Raw
from scapy.contrib.erspan import ERSPAN_II
from scapy.contrib.mpls import MPLS
from scapy.layers.vxlan import VXLAN

import lyncdump
import lyncdump.pipeline.core as api  # where a run attaches the fast path
from lyncdump import fastpath

from ..conftest import CAPTURES
from ..media.test_media_fastpath import both, pcap, torture

TUNNELS = CAPTURES / "sip-tunnels.pcapng"

#: What each UDP call of the sample went through (tools/scenario_tunnels.py).
UDP_CALLS = {
    1: "ERSPAN I",
    2: "ERSPAN II",
    3: "ERSPAN III",
    4: "VXLAN",
    5: "Geneve",
    6: "GRE",
    7: "IP-in-IP",
    8: "MPLS",
    9: "802.1ad",
    10: "6in4",
}


def _tshark_sip(path: object) -> list[tuple[int, str | None, int | None]]:
    out = subprocess.run(
        ["tshark", "--enable-heuristic", "teredo_udp", "-r", str(path), "-Y", "sip",
         "-T", "fields", "-e", "frame.number", "-e", "sip.Method", "-e", "sip.Status-Code"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    rows = []
    for line in out.splitlines():
        number, method, status = line.split("\t")
        rows.append((int(number), method or None, int(status) if status else None))
    return rows


@pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark not installed")
def test_same_messages_in_the_same_frames_as_tshark() -> None:
    cap = lyncdump.analyze(TUNNELS)
    ours = [(m.frame, m.method, m.status) for m in cap.messages()]
    assert len(ours) == 180
    assert ours == _tshark_sip(TUNNELS)
    assert not cap.defects.items


def test_every_message_names_its_wrapping() -> None:
    cap = lyncdump.analyze(TUNNELS)
    for m in cap.messages():
        enc = m.encapsulation
        assert enc is not None, m.frame
        call = int((m.call_id or "").split("-", 1)[0])
        if m.transport == "TCP":
            assert enc.short == "GRE key 9 / VXLAN VNI 42"
        elif m.cseq and m.cseq[1] == "BYE":
            assert enc.kind == "Teredo"
            outer = enc.layers[0][2:]
            via_relay = bytes([65, 54, 227, 120]) in outer
            assert via_relay == (call <= 5)
        else:
            assert enc.kind == UDP_CALLS[call]
    (conn,) = cap.connections
    assert conn.encapsulation is not None
    assert conn.encapsulation.text == (
        "GRE key 9 192.0.2.1 → 192.0.2.2 / VXLAN VNI 42 172.16.10.1 → 172.16.20.1"
    )


def test_summary_counts_wrapped_and_not_decoded_frames() -> None:
    stats = lyncdump.analyze(TUNNELS).stats
    assert dict(stats.encapsulated) == {
        "GRE / VXLAN": 190,
        "Teredo": 20,
        **{kind: 4 for kind in UDP_CALLS.values() if kind != "GRE"},
        "GRE": 5,  # 4 SIP frames and the one carrying protocol 0x8881
        "GRE / GRE / GRE / GRE / GRE": 1,
    }
    assert dict(stats.not_decoded) == {
        "EtherType 0x0806 (ARP)": 2,
        "IP protocol 50 (ESP)": 1,
        "GRE protocol 0x8881 (CDMA2000)": 1,
        "encapsulations nested deeper than 4": 1,
    }


def test_json_names_the_wrapping_only_where_there_is_one() -> None:
    from lyncdump.render.json import capture_to_dict, message_to_dict

    cap = lyncdump.analyze(TUNNELS)
    first = message_to_dict(cap.messages()[0])
    assert first["encapsulation"]["kind"] == "GRE / VXLAN"
    assert first["encapsulation"]["layers"][1] == {
        "type": "VXLAN",
        "vni": 42,
        "outer_src": "172.16.10.1",
        "outer_dst": "172.16.20.1",
    }
    record = capture_to_dict(cap, cap.sessions())
    assert record["encapsulated"]["Teredo"] == 20
    assert record["not_decoded"]["IP protocol 50 (ESP)"] == 1
    assert record["connections"][0]["encapsulation"]["kind"] == "GRE / VXLAN"
    plain = lyncdump.analyze(CAPTURES / "sip-udp-call.pcap")
    assert "encapsulation" not in message_to_dict(plain.messages()[0])
    assert "encapsulated" not in capture_to_dict(plain, plain.sessions())


# -- the compiled fast path gives wrapped frames to Python ----------------------------------------


def _wrap(kind: str, frame: bytes) -> bytes:
    """An Ethernet frame of torture() inside a wrapping."""
    outer = Ether(src="00:1b:21:0a:0b:01", dst="00:1b:21:0a:0b:09")
    ip = frame[14:]
    v6 = frame[12:14] == b"\x86\xdd"
    if kind == "vxlan":
        pkt = outer / IP(src="172.16.0.1", dst="172.16.0.2") / UDP(sport=50000, dport=4789)
        return bytes(pkt / VXLAN(vni=1, flags=0x08) / Raw(frame))
    if kind == "gre":
        proto = 0x86DD if v6 else 0x0800
        return bytes(outer / IP(src="192.0.2.1", dst="192.0.2.2") / GRE(proto=proto) / Raw(ip))
    if kind == "erspan":
        gre = GRE(proto=0x88BE, seqnum_present=1)
        return bytes(outer / IP(src="192.0.2.1", dst="192.0.2.9") / gre / ERSPAN_II() / Raw(frame))
    if kind == "qinq":
        etype = 0x86DD if v6 else 0x0800
        return bytes(outer / Dot1AD(vlan=10) / Dot1Q(vlan=20, type=etype) / Raw(ip))
    if kind == "mpls":
        return bytes(Ether(type=0x8847) / MPLS(label=16, s=1) / Raw(ip))
    if kind == "6in4":
        return bytes(outer / IP(src="192.0.2.1", dst="192.0.2.2", proto=4 if not v6 else 41) / ip)
    if kind == "teredo":
        # Only IPv6 packets fit in Teredo: the IPv4 ones go through the relay port as they are
        # not, so wrap those in GRE instead.
        if not v6:
            return _wrap("gre", frame)
        pkt = outer / IP(src="198.51.100.7", dst="198.51.100.8")
        return bytes(pkt / UDP(sport=3544, dport=40000) / Raw(IPv6(ip).build()))
    raise ValueError(kind)


KINDS = ["vxlan", "gre", "erspan", "qinq", "mpls", "6in4", "teredo"]


def _parity(data: bytes, monkeypatch: pytest.MonkeyPatch) -> int:
    fast, pure, consumed = both(data, monkeypatch)
    assert fast == pure
    counts = []
    for use_fast in (True, False):
        if not use_fast:
            monkeypatch.setattr(
                api, "attach_fast_path", lambda reader, every, advance=0: (None, None)
            )
        cap = lyncdump.open(io.BytesIO(data)).run()
        counts.append((dict(cap.stats.encapsulated), dict(cap.stats.not_decoded)))
    monkeypatch.undo()
    assert counts[0] == counts[1]
    return consumed


@pytest.mark.skipif(not fastpath.AVAILABLE, reason="compiled fast path not in use")
@pytest.mark.parametrize("v6", [False, True])
@pytest.mark.parametrize("kind", KINDS)
def test_wrapped_rtp_is_never_taken_by_the_fast_path(
    kind: str, v6: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    frames = torture(v6=v6)
    wrapped = [(t, _wrap(kind, f)) for t, f in frames]
    assert _parity(pcap(wrapped), monkeypatch) == 0
    # Half wrapped, half plain: only plain frames are taken, results equal.
    mixed = [(t, _wrap(kind, f) if i % 2 else f) for i, (t, f) in enumerate(frames)]
    consumed = _parity(pcap(mixed), monkeypatch)
    assert 0 < consumed <= len(frames) // 2


@pytest.mark.skipif(not fastpath.AVAILABLE, reason="compiled fast path not in use")
def test_sample_capture_parity(monkeypatch: pytest.MonkeyPatch) -> None:
    assert _parity(TUNNELS.read_bytes(), monkeypatch) == 0
