"""The issue 15 edge-case samples (tools/scenario_edges.py) hold what their names say, checked
against independent oracles: libsrtp (pylibsrtp) for the SRTP/SRTCP of dtls-srtp-call.pcap,
tshark for the checksums, the data after an RST, and the TLS sessions. Their full outputs are
held by test_samples.py; these tests say why those outputs are right."""

from __future__ import annotations

import base64
import shutil
import struct
import subprocess
from pathlib import Path

import dpkt
import pytest
import scenario_edges as edges

import lyncdump
from lyncdump.capture import open_capture
from lyncdump.media.rtcp import srtcp_index
from lyncdump.media.srtp import SrtpContext

from ..conftest import CAPTURES

pylibsrtp = pytest.importorskip("pylibsrtp")
needs_tshark = pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark not installed")

SRTP_CALL = CAPTURES / "dtls-srtp-call.pcap"
CHECKSUMS = CAPTURES / "tcp-checksums.pcap"
AFTER_RST = CAPTURES / "tcp-data-after-rst.pcap"
NO_HANDSHAKE = CAPTURES / "tls-no-handshake.pcapng"
LOST_BYTES = CAPTURES / "tls-lost-bytes.pcapng"
KEYS = {50020: edges.ALICE_SRTP, 50040: edges.BOB_SRTP}  # sender's RTP port -> its key


def tshark(path: Path, *args: str) -> list[list[str]]:
    out = subprocess.run(
        ["tshark", "-r", str(path), *args], capture_output=True, text=True, check=True
    ).stdout
    return [line.split("\t") for line in out.splitlines()]


def udp_payloads(path: Path) -> list[tuple[int, int, int, bytes]]:
    """(frame, source port, destination port, payload) of every UDP datagram."""
    found = []
    with open_capture(str(path)) as reader:
        for number, (_ts, _lt, data) in enumerate(reader.frames(), 1):
            ip = dpkt.ethernet.Ethernet(data).data
            if isinstance(ip.data, dpkt.udp.UDP):
                found.append((number, ip.data.sport, ip.data.dport, bytes(ip.data.data)))
    return found


def sip_frames(capture: lyncdump.Capture) -> list[int]:
    return sorted(m.frame for m in capture.messages() if m.frame is not None)


def tshark_sip_frames(path: Path, *args: str) -> list[int]:
    """One frame number per SIP message tshark decodes (a frame may hold several)."""
    rows = tshark(path, *args, "-Y", "sip", "-T", "fields", "-e", "frame.number", "-e",
                  "sip.CSeq")  # fmt: skip
    return sorted(int(n) for n, cseqs in rows for _ in cseqs.split(","))


# -- SRTCP on a call whose SDP negotiated DTLS-SRTP --------------------------------------------


def test_the_keys_run_gives_the_keys_of_the_scenario() -> None:
    runs = dict((label, " ".join(o)) for label, o in _variants(SRTP_CALL))
    assert runs == {"keys": edges.srtp_keys_args()}


def _variants(capture: Path) -> list[tuple[str, list[str]]]:
    import update_expected

    return update_expected.variants(capture)


def test_srtcp_without_keys_is_counted_encrypted_and_never_read() -> None:
    capture = lyncdump.open(SRTP_CALL).run()
    assert not capture.defects.items
    streams = capture.streams()
    assert [(s.ssrc, s.encrypted, s.rtcp_reports, s.srtp_decrypted) for s in streams] == [
        (0xA11CE5, True, 0, 0),
        (0xB0B5, True, 0, 0),
    ]
    rtcp = [p for p in udp_payloads(SRTP_CALL) if p[1] in (50021, 50041)]
    assert len(rtcp) == len(edges.SRTCP_REPORTS) == 4
    # Each is SRTCP by its trailer: E flag set, index 1 and 2 per sender (libsrtp counts from 1).
    indexes = [srtcp_index(payload) for _f, _s, _d, payload in rtcp]
    assert indexes == [0x80000001] * 2 + [0x80000002] * 2


def test_srtcp_and_srtp_decrypt_as_libsrtp_does() -> None:
    """Every SRTCP datagram opened with libsrtp and with lyncdump's own SRTP code gives the same
    compound, the receiver report the scenario sent; every SRTP packet authenticates."""
    inbound = {
        port: pylibsrtp.Session(
            pylibsrtp.Policy(key=key, ssrc_type=pylibsrtp.Policy.SSRC_ANY_INBOUND)
        )
        for port, key in KEYS.items()
    }
    mine = {port: SrtpContext(key[:16], key[16:]) for port, key in KEYS.items()}
    reports = []
    rtp = {50020: 0, 50040: 0}
    for _frame, sport, _dport, payload in udp_payloads(SRTP_CALL):
        if sport in KEYS:
            inbound[sport].unprotect(payload)  # raises on a bad tag
            rtp[sport] += 1
        elif sport - 1 in KEYS:
            theirs = inbound[sport - 1].unprotect_rtcp(payload)
            ours = mine[sport - 1].unprotect_rtcp(payload)
            assert ours == theirs
            reports.append(theirs)
    assert reports == [edges.receiver_report(*r[1:]) for r in edges.SRTCP_REPORTS]
    keys = [base64.b64encode(k).decode() for k in KEYS.values()]
    capture = lyncdump.open(SRTP_CALL, srtp_keys=keys).run()
    assert not capture.defects.items
    by_ssrc = {s.ssrc: s for s in capture.streams()}
    alice, bob = by_ssrc[0xA11CE5], by_ssrc[0xB0B5]
    assert (alice.srtp_decrypted, bob.srtp_decrypted) == (rtp[50020], rtp[50040]) == (98, 100)
    assert alice.srtp_auth_failures == bob.srtp_auth_failures == 0
    # The reports about each stream (from the other side), the last one's values.
    assert (alice.rtcp_reports, alice.rtcp_cumulative_lost, alice.rtcp_jitter_ms) == (2, 2, 3.5)
    assert (bob.rtcp_reports, bob.rtcp_cumulative_lost, bob.rtcp_jitter_ms) == (2, 0, 9 / 8)


@needs_tshark
def test_srtcp_and_rtp_as_tshark_counts_them() -> None:
    srtcp = tshark(SRTP_CALL, "-Y", "srtcp", "-T", "fields", "-e", "frame.number")
    rtcp_frames = [f for f, s, _d, _p in udp_payloads(SRTP_CALL) if s in (50021, 50041)]
    assert [int(row[0]) for row in srtcp] == rtcp_frames
    streams = tshark(SRTP_CALL, "-q", "-z", "rtp,streams")
    rows = [r[0].split() for r in streams if "g711U" in r[0]]
    theirs = sorted((int(r[6], 16), int(r[8]), int(r[9])) for r in rows)
    capture = lyncdump.open(SRTP_CALL).run()
    assert theirs == sorted((s.ssrc, s.packets, s.lost) for s in capture.streams())
    assert tshark_sip_frames(SRTP_CALL) == sip_frames(capture)


# -- checksums: offloaded and damaged ----------------------------------------------------------

MONITOR = bytes(map(int, edges.MONITOR.split(".")))


def _monitor_frames() -> list[int]:
    with open_capture(str(CHECKSUMS)) as reader:
        return [n for n, (_t, _l, d) in enumerate(reader.frames(), 1) if d[26:30] == MONITOR]


def test_verification_drops_the_damaged_and_accepts_the_offloaded() -> None:
    plain = lyncdump.open(CHECKSUMS).run()
    checked = lyncdump.open(CHECKSUMS, verify_checksums=True).run()
    assert len(plain.messages()) == 16 and not plain.defects.items
    dropped = [(d.frame, d.layer) for d in checked.defects]
    assert dropped == [(6, "ipv4"), (8, "udp"), (17, "tcp")]
    # Frame 17's segment comes again intact (frame 18): no SIP message is lost over TCP.
    assert [m.frame for m in checked.messages() if m.transport == "TCP"] == [
        m.frame if m.frame != 17 else 18 for m in plain.messages() if m.transport == "TCP"
    ]
    assert len(checked.messages()) == 14  # the two 200s of frames 6 and 8
    stats = checked.stats.checksums
    assert stats is not None
    assert stats.bad == {"IPv4": 1, "UDP": 1, "TCP": 1}
    assert sum(stats.offloaded.values()) == len(_monitor_frames()) == 11


@needs_tshark
def test_tshark_calls_bad_the_dropped_and_the_offloaded() -> None:
    """tshark (its checks on) knows no offload: it flags the monitor's frames and the three
    damaged ones; lyncdump drops the damaged and accepts the monitor's."""
    rows = tshark(CHECKSUMS, "-o", "ip.check_checksum:TRUE", "-o", "udp.check_checksum:TRUE",
                  "-o", "tcp.check_checksum:TRUE", "-Y", "ip.checksum.status == 0 || "
                  "udp.checksum.status == 0 || tcp.checksum.status == 0", "-T", "fields",
                  "-e", "frame.number")  # fmt: skip
    theirs = [int(r[0]) for r in rows]
    checked = lyncdump.open(CHECKSUMS, verify_checksums=True).run()
    dropped = [d.frame for d in checked.defects]
    assert theirs == sorted(dropped + _monitor_frames())
    # Without checks, tshark decodes every SIP message, as lyncdump does by default.
    assert tshark_sip_frames(CHECKSUMS) == sip_frames(lyncdump.open(CHECKSUMS).run())


# -- TCP data after an RST ---------------------------------------------------------------------


@needs_tshark
def test_data_after_rst_is_decoded_as_tshark_decodes_it() -> None:
    capture = lyncdump.open(AFTER_RST).run()
    rst = [int(r[0]) for r in tshark(AFTER_RST, "-Y", "tcp.flags.reset == 1", "-T", "fields",
                                     "-e", "frame.number")]  # fmt: skip
    assert rst == [5]
    assert tshark_sip_frames(AFTER_RST) == sip_frames(capture) == [4, 6, 7]
    assert [m.status or m.method for m in capture.messages()] == ["REGISTER", 401, "NOTIFY"]
    (conn,) = capture.connections
    assert conn.to_dict()["sip_messages"] == 3


# -- TLS without its handshake, TLS after lost bytes -------------------------------------------


def _secrets(path: Path) -> bytes:
    with open_capture(str(path)) as reader:
        list(reader.frames())
        return b"".join(data for _t, data in reader.secrets)


def test_a_connection_without_its_handshake_says_no_key_can_help() -> None:
    assert b"CLIENT_RANDOM " in _secrets(NO_HANDSHAKE)  # the keys are there, all the same
    capture = lyncdump.open(NO_HANDSHAKE).run()
    (conn,) = capture.connections
    tls = conn.tls
    assert tls is not None and tls.handshake_missing and not tls.decrypted
    assert tls.records > 0 and not capture.messages()
    assert "no key log or RSA key can open this connection" in (tls.note or "")


@needs_tshark
def test_tshark_cannot_open_it_either(tmp_path: Path) -> None:
    keys = tmp_path / "keys.log"
    keys.write_bytes(_secrets(NO_HANDSHAKE))
    assert tshark_sip_frames(NO_HANDSHAKE, "-o", f"tls.keylog_file:{keys}") == []


def test_records_after_lost_bytes_are_found_again() -> None:
    capture = lyncdump.open(LOST_BYTES).run()
    methods = {m.call_id: [] for m in capture.messages()}
    for m in capture.messages():
        methods[m.call_id].append(m.method or m.status)
    # MESSAGEs 2 and 3 were in the hole; every other one and every 200 OK decrypted.
    for i in range(10):
        expected = [200] if i in (2, 3) else ["MESSAGE", 200]
        assert sorted(methods[f"tls-im-{i}@contoso.com"], key=str) == sorted(expected, key=str), i
    reasons = [(d.frame, d.reason) for d in capture.defects]
    assert reasons == [
        (30, "2056 bytes missing in the client's TLS stream; resynchronising on the next record"),
        (30, "client TLS stream resynchronised after lost bytes: 2 records missing"),
    ]
    tls = capture.connections[0].tls
    assert tls is not None and tls.decrypted and tls.failed_records == 0


@needs_tshark
def test_tshark_decodes_a_subset_tls_stops_at_the_hole_for_it(tmp_path: Path) -> None:
    """tshark decrypts the server's direction whole and the client's up to the hole; after it
    tshark's TLS reassembly decodes nothing more in that direction, where lyncdump resyncs."""
    keys = tmp_path / "keys.log"
    keys.write_bytes(_secrets(LOST_BYTES))
    theirs = tshark_sip_frames(LOST_BYTES, "-o", f"tls.keylog_file:{keys}")
    capture = lyncdump.open(LOST_BYTES).run()
    ours = sip_frames(capture)
    assert set(theirs) <= set(ours) and (len(theirs), len(ours)) == (12, 18)
    server = [m.frame for m in capture.messages() if m.status == 200]
    assert sorted(server) == [f for f in theirs if f in server] and len(server) == 10


def test_samples_are_made_again_byte_for_byte(tmp_path: Path) -> None:
    for name, make in edges.SAMPLES.items():
        path = tmp_path / name
        make().write(str(path))
        assert path.read_bytes() == (CAPTURES / name).read_bytes(), name


def test_the_srtcp_trailer_is_rfc_3711() -> None:
    """Header in clear, then ciphertext, E flag and 31-bit index, 10-byte tag."""
    (_f, _s, _d, first) = [p for p in udp_payloads(SRTP_CALL) if p[1] == 50021][0]
    clear = edges.receiver_report(*edges.SRTCP_REPORTS[0][1:])
    assert first[:8] == clear[:8] and first[8 : len(clear)] != clear[8:]
    assert len(first) == len(clear) + 4 + 10
    assert struct.unpack("!I", first[len(clear) : len(clear) + 4])[0] == 0x80000001
