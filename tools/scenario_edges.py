"""Sample captures for the TCP, TLS and SRTCP edge cases of issue 15 (each also run with the
options of its .args file, tools/update_expected.py):

    dtls-srtp-call.pcap       a call whose SDP negotiated DTLS-SRTP (UDP/TLS/RTP/SAVP): the keys
                              never cross the wire, so its SRTCP (RFC 3711 3.4: receiver report
                              header in clear, ciphertext, E flag and index, 10-byte tag) is
                              counted as encrypted and never read as report blocks; with the
                              keys given (--srtp-key, .args "keys") it is decrypted. The media
                              is protected by libsrtp itself (pylibsrtp).
    tcp-checksums.pcap        SIP over UDP and TCP from a host that offloads its checksums (the
                              field holds the pseudo-header sum, or 0, or a GRO-merged segment
                              bigger than the MTU) and three packets corrupted on the way (IPv4
                              header, UDP, TCP): .args "verify" runs --verify-checksums.
    tcp-data-after-rst.pcap   the client resets a SIP-over-TCP connection while the server's
                              200 OK is in flight: tshark shows those bytes, and so do we
                              (teams.pcap in the corpus is the real case, with TLS).
    tls-no-handshake.pcapng   a TLS connection already open when the capture began, its key log
                              embedded all the same: without the ClientHello's random no key can
                              be matched, and the output says so rather than ask for --keylog.
    tls-lost-bytes.pcapng     SIP over TLS 1.2 (key log embedded) with 2 KB of the client's
                              stream never captured: the records after the hole are found again
                              on the next record header, and decrypted.

The TLS connections are written by scenario_tls.TlsWriter (deterministic, its own record
protection; tshark decrypts them with the same key log). Everything here is deterministic.
"""

from __future__ import annotations

import base64
import struct

import dpkt
import pylibsrtp
from pcapgen import Builder, pcapng_with_secrets, sip
from scenario_tls import ECDHE_RSA_AES256_GCM_SHA384, POOL_NAME, TlsWriter, _hash, sample_identity

ALICE, BOB, POOL = "192.168.1.50", "192.168.1.77", "10.0.0.10"

# -- SRTCP on a DTLS-SRTP call ------------------------------------------------------------------

#: The SRTP master keys DTLS would have exported (RFC 5764 4.2), 16 bytes of key and 14 of salt
#: each; only the .args "keys" run knows them.
ALICE_SRTP = bytes(range(0x21, 0x21 + 30))
BOB_SRTP = bytes(range(0x81, 0x81 + 30))
SRTCP_CALL_ID = "e4c1a7b02d9f4c18b3a6@192.168.1.50"
FINGERPRINT = ":".join(f"{b:02X}" for b in _hash("dtls fingerprint", 32))


def srtp_keys_args() -> str:
    """The options line of dtls-srtp-call.pcap.args that gives the keys."""
    return " ".join(f"--srtp-key {base64.b64encode(k).decode()}" for k in (ALICE_SRTP, BOB_SRTP))


def _dtls_sdp(ip: str, port: int, setup: str) -> str:
    return "\n".join([
        "v=0", f"o=- 4711 0 IN IP4 {ip}", "s=session", f"c=IN IP4 {ip}", "t=0 0",
        f"m=audio {port} UDP/TLS/RTP/SAVP 0", f"a=rtcp:{port + 1}",
        f"a=fingerprint:sha-256 {FINGERPRINT}", f"a=setup:{setup}", "a=rtpmap:0 PCMU/8000",
    ]) + "\n"  # fmt: skip


def _call_msg(start: str, src: str, cseq: str, body: str = "") -> bytes:
    to_tag = "" if start.startswith("INVITE") else ";tag=9b8c7d"
    text = f"""{start}
Via: SIP/2.0/UDP {src}:5060;branch=z9hG4bKdtls{cseq.split()[0]}
From: <sip:alice@contoso.com>;tag=5e6f70
To: <sip:bob@contoso.com>{to_tag}
Call-ID: {SRTCP_CALL_ID}
CSeq: {cseq}
User-Agent: Microsoft Teams
Content-Length: auto
"""
    if body:
        text = text.replace("Content-Length", "Content-Type: application/sdp\nContent-Length")
        text += "\n" + body
    return sip(text)


def receiver_report(ssrc: int, about: int, fraction: int, cumulative: int, jitter: int) -> bytes:
    """An RTCP receiver report with one block and an SDES CNAME: the compound in clear."""
    block = struct.pack("!IIIIII", about, (fraction << 24) | cumulative, 9050, jitter, 0, 0)
    rr = struct.pack("!BBHI", 0x81, 201, 7, ssrc) + block
    cname = f"{ssrc:08x}@contoso".encode()
    item = bytes([1, len(cname)]) + cname + b"\x00"
    item += b"\x00" * (-len(item) % 4)
    sdes = struct.pack("!BBHI", 0x81, 202, 1 + len(item) // 4, ssrc) + item
    return rr + sdes


def _rtp(seq: int, ts: int, ssrc: int, fill: int) -> bytes:
    return struct.pack("!BBHII", 0x80, 0, seq, ts, ssrc) + bytes([fill]) * 160


def _session(key: bytes) -> pylibsrtp.Session:
    return pylibsrtp.Session(
        pylibsrtp.Policy(key=key, ssrc_type=pylibsrtp.Policy.SSRC_ANY_OUTBOUND)
    )


#: (sender, SSRC, about SSRC, fraction lost /256, cumulative lost, jitter) of each report, in
#: the order they are sent (the clear text the tests compare with).
SRTCP_REPORTS = [
    ("alice", 0xA11CE5, 0xB0B5, 0, 0, 12),
    ("bob", 0xB0B5, 0xA11CE5, 5, 2, 31),
    ("alice", 0xA11CE5, 0xB0B5, 0, 0, 9),
    ("bob", 0xB0B5, 0xA11CE5, 0, 2, 28),
]


def dtls_srtp_call() -> Builder:
    b = Builder()
    b.udp(0.000, ALICE, 5060, POOL, 5060, _call_msg("INVITE sip:bob@contoso.com SIP/2.0", ALICE,
          "1 INVITE", _dtls_sdp(ALICE, 50020, "actpass")))  # fmt: skip
    b.udp(0.004, POOL, 5060, ALICE, 5060, _call_msg("SIP/2.0 100 Trying", POOL, "1 INVITE"))
    b.udp(0.600, POOL, 5060, ALICE, 5060, _call_msg("SIP/2.0 200 OK", POOL, "1 INVITE",
          _dtls_sdp(BOB, 50040, "active")))  # fmt: skip
    b.udp(0.610, ALICE, 5060, POOL, 5060, _call_msg("ACK sip:bob@contoso.com SIP/2.0", ALICE,
          "1 ACK"))  # fmt: skip
    sessions = {"alice": _session(ALICE_SRTP), "bob": _session(BOB_SRTP)}
    ends = {"alice": (ALICE, 50020, BOB, 50040), "bob": (BOB, 50040, ALICE, 50020)}
    packets: list[tuple[float, str, bytes]] = []
    for i in range(100):  # 2 s of G.711 each way; alice's packets 30 and 31 lost
        if i not in (30, 31):
            packets.append((0.70 + 0.02 * i, "alice", _rtp(12000 + i, 160 * i, 0xA11CE5, 0xFE)))
        packets.append((0.705 + 0.02 * i, "bob", _rtp(700 + i, 8000 + 160 * i, 0xB0B5, 0xD5)))
    for t, who, clear in packets:
        src, sport, dst, dport = ends[who]
        b.udp(t, src, sport, dst, dport, sessions[who].protect(clear))
    for n, (who, ssrc, about, fraction, cumulative, jitter) in enumerate(SRTCP_REPORTS):
        src, sport, dst, dport = ends[who]
        report = receiver_report(ssrc, about, fraction, cumulative, jitter)
        b.udp(1.2 + 0.5 * n, src, sport + 1, dst, dport + 1, sessions[who].protect_rtcp(report))
    b.frames.sort(key=lambda f: f[0])
    b.udp(3.000, ALICE, 5060, POOL, 5060, _call_msg("BYE sip:bob@contoso.com SIP/2.0", ALICE,
          "2 BYE"))  # fmt: skip
    b.udp(3.010, POOL, 5060, ALICE, 5060, _call_msg("SIP/2.0 200 OK", POOL, "2 BYE"))
    return b


# -- checksums: offloaded and corrupted ----------------------------------------------------------


def _options(n: int, via: str, src: str) -> bytes:
    return sip(f"""OPTIONS sip:pool@contoso.com SIP/2.0
Via: SIP/2.0/{via} {src}:5060;branch=z9hG4bKck{n}
From: <sip:monitor@contoso.com>;tag=ck{n}
To: <sip:pool@contoso.com>
Call-ID: checksum-{n}@{src}
CSeq: 1 OPTIONS
Max-Forwards: 70
Content-Length: 0
""")


def _ok(n: int, via: str, src: str) -> bytes:
    return sip(f"""SIP/2.0 200 OK
Via: SIP/2.0/{via} {src}:5060;branch=z9hG4bKck{n}
From: <sip:monitor@contoso.com>;tag=ck{n}
To: <sip:pool@contoso.com>;tag=ok{n}
Call-ID: checksum-{n}@{src}
CSeq: 1 OPTIONS
Content-Length: 0
""")


def _with_field(frame: bytes, at: int, value: int) -> bytes:
    """``frame`` with the 16-bit field at byte ``at`` set to ``value``."""
    return frame[:at] + struct.pack("!H", value) + frame[at + 2 :]


def _pseudo_sum(frame: bytes, proto: int, length: int) -> int:
    """The folded pseudo-header sum (not complemented) a CHECKSUM_PARTIAL host leaves."""
    words = frame[26:34] + bytes((0, proto)) + length.to_bytes(2, "big")
    total = sum(struct.unpack("!6H", words))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return total


IP_CSUM, L4 = 14 + 10, 14 + 20  # Ethernet II, IPv4 without options
MONITOR = "192.168.1.60"  # offloads every checksum it sends (captured on that host)


def _corrupt(frame: bytes, at: int) -> bytes:
    return _with_field(frame, at, struct.unpack_from("!H", frame, at)[0] ^ 0x5A5A)


def tcp_checksums() -> Builder:
    """A monitor pings the pool with OPTIONS over UDP, then over TCP; the capture was taken on
    the monitor, which leaves its checksums to its network card: its UDP checksums hold the
    pseudo-header sum only (Linux CHECKSUM_PARTIAL), its TCP checksums are 0, and its last two
    pings went out as one 1,9xx-byte segment merged before the capture saw it (GRO). The
    pool's answers carry correct checksums except three damaged on the way: an IPv4 header
    (frame 6), a UDP datagram (frame 8) and a TCP segment (frame 17, the answer to the merged
    pings), the last one sent again intact as frame 18 (a retransmission)."""
    b = Builder()
    monitor = bytes(map(int, MONITOR.split(".")))
    for i in range(4):
        ping = _options(i, "UDP", MONITOR)
        b.udp(0.1 * i, MONITOR, 5060, POOL, 5060, ping)
        t, frame = b.frames.pop()
        b.frames.append((t, _with_field(frame, L4 + 6, _pseudo_sum(frame, 17, 8 + len(ping)))))
        b.udp(0.1 * i + 0.002, POOL, 5060, MONITOR, 5060, _ok(i, "UDP", MONITOR))
    flow = b.tcp((MONITOR, 50600), (POOL, 5060), isn=(0x10000000, 0x90000000))
    flow.handshake(0.5)
    t = 0.6
    for i in (4, 5, 6):
        ping = _options(i, "TCP", MONITOR)
        ok = _ok(i, "TCP", MONITOR)
        if i == 6:  # two pings in one merged segment, answered in one
            ping += _options(7, "TCP", MONITOR).replace(
                b"Max-Forwards: 70", b"Subject: " + b"padding " * 160
            )
            ok += _ok(7, "TCP", MONITOR)
        flow.send(t, 0, ping)
        flow.send(t + 0.002, 1, ok)
        t += 0.1
    flow.close(t)
    for k, (ts, frame) in enumerate(b.frames):  # offloaded: the monitor's TCP checksums are 0
        if frame[23] == 6 and frame[26:30] == monitor:
            b.frames[k] = (ts, _with_field(frame, L4 + 16, 0))
    for number, at in ((6, IP_CSUM), (8, L4 + 6), (17, L4 + 16)):  # damaged on the way
        ts, frame = b.frames[number - 1]
        assert frame[26:30] != monitor
        b.frames[number - 1] = (ts, _corrupt(frame, at))
        if number == 17:
            b.frames.insert(number, (ts + 0.2, frame))
    return b


# -- TCP data after RST -------------------------------------------------------------------------


def tcp_data_after_rst() -> Builder:
    """alice's client sends REGISTER and resets the connection 1 ms later (it gave up); the
    pool's 401 was already on the wire and arrives after the RST, and so does a NOTIFY the pool
    had queued. tshark shows both; they belong to the connection, closed or not."""
    b = Builder()
    flow = b.tcp((ALICE, 50700), (POOL, 5060), isn=(0x2000, 0x7000))
    flow.handshake(0.0)
    register = sip(f"""REGISTER sip:contoso.com SIP/2.0
Via: SIP/2.0/TCP {ALICE}:50700;branch=z9hG4bKrst1
From: <sip:alice@contoso.com>;tag=r1
To: <sip:alice@contoso.com>
Call-ID: rst-register@{ALICE}
CSeq: 1 REGISTER
Contact: <sip:alice@{ALICE}:50700;transport=tcp>
Expires: 3600
Content-Length: 0
""")
    flow.send(0.01, 0, register)
    # The RST: sequence number right after the REGISTER, no ACK of the server's data.
    rst = flow._segment(0, flow.seq[0], flow.seq[1], dpkt.tcp.TH_RST | dpkt.tcp.TH_ACK, b"")
    b.add(0.011, rst)
    challenge = sip(f"""SIP/2.0 401 Unauthorized
Via: SIP/2.0/TCP {ALICE}:50700;branch=z9hG4bKrst1
From: <sip:alice@contoso.com>;tag=r1
To: <sip:alice@contoso.com>;tag=pool401
Call-ID: rst-register@{ALICE}
CSeq: 1 REGISTER
WWW-Authenticate: Digest realm="contoso.com", nonce="6a1c2b3d4e5f", algorithm=MD5, qop="auth"
Content-Length: 0
""")
    notify = sip(f"""NOTIFY sip:alice@{ALICE}:50700;transport=tcp SIP/2.0
Via: SIP/2.0/TCP {POOL}:5060;branch=z9hG4bKrst2
From: <sip:alice@contoso.com>;tag=sub1
To: <sip:alice@contoso.com>;tag=sub2
Call-ID: rst-subscription@{POOL}
CSeq: 7 NOTIFY
Event: registration-notify
Subscription-State: terminated;reason=deactivated
Content-Length: 0
""")
    # In flight when the RST left: cut in two segments, the second after a retransmission gap.
    data = challenge + notify
    flow.send(0.012, 1, data, cuts=[len(challenge)], step=0.004)
    return b


# -- TLS: no handshake, lost bytes ----------------------------------------------------------------


def _message(i: int) -> bytes:
    return sip(f"""MESSAGE sip:bob@contoso.com SIP/2.0
Via: SIP/2.0/TLS {ALICE}:50800;branch=z9hG4bKtls{i}
From: <sip:alice@contoso.com>;tag=t{i}
To: <sip:bob@contoso.com>
Call-ID: tls-im-{i}@contoso.com
CSeq: {i + 1} MESSAGE
Content-Type: text/plain
Content-Length: auto

Message {i}: {"the quick brown fox jumps over the lazy dog " * 40}""")


def _message_ok(i: int) -> bytes:
    return sip(f"""SIP/2.0 200 OK
Via: SIP/2.0/TLS {ALICE}:50800;branch=z9hG4bKtls{i}
From: <sip:alice@contoso.com>;tag=t{i}
To: <sip:bob@contoso.com>;tag=ok{i}
Call-ID: tls-im-{i}@contoso.com
CSeq: {i + 1} MESSAGE
Content-Length: 0
""")


class _KeyedCapture(Builder):
    """A Builder whose pcapng carries a key log in a Decryption Secrets Block."""

    keylog = b""

    def pcapng_bytes(self) -> bytes:
        return pcapng_with_secrets(super().pcapng_bytes(), self.keylog)


def _tls_im(label: str, count: int, drop: frozenset[int] = frozenset(),
            skip_handshake: bool = False, every: float = 0.02) -> _KeyedCapture:  # fmt: skip
    """SIP MESSAGEs (about 2 KB: two 1,460-byte segments each) and their 200s over one TLS 1.2
    connection, its key log embedded. ``drop``: client segments, counted from the first
    MESSAGE's, never captured; ``skip_handshake``: the capture starts after the handshake (no
    SYN, no ClientHello), the connection being older than the capture; ``every``: seconds
    between two MESSAGEs."""
    b = _KeyedCapture()
    flow = b.tcp((ALICE, 50800), (POOL, 5061), isn=(0x5A000000, 0x6B000000))
    state = {"clock": 0.01, "captured": not skip_handshake, "app": False, "client_segments": 0}

    def send(direction: int, data: bytes) -> None:
        cuts = list(range(1460, len(data), 1460))
        order = list(range(len(cuts) + 1))
        if direction == 0 and state["app"]:
            first = state["client_segments"]
            order = [k for k in order if first + k not in drop]
            state["client_segments"] = first + len(cuts) + 1
        if state["captured"]:
            flow.send(state["clock"], direction, data, cuts=cuts, order=order)
        else:  # before the capture began: only the sequence numbers move on
            flow.seq[direction] += len(data)
        state["clock"] += 0.002 * (len(cuts) + 1)

    if not skip_handshake:
        flow.handshake(0.0)
    key, cert = sample_identity()
    tls = TlsWriter(ECDHE_RSA_AES256_GCM_SHA384, 0x0303, _hash(f"{label} master", 48), label, send)
    tls.client_hello(POOL_NAME)
    tls.server_flight(cert, key, _hash(f"{label} session"))
    tls.client_flight()
    b.keylog = (f"# NSS key log of captures/{label} (sample keys, nothing real)\n"
                + tls.keylog_line()).encode()  # fmt: skip
    state["captured"] = state["app"] = True
    for i in range(count):
        state["clock"] += every
        tls.application_data(0, _message(i))
        state["clock"] += 0.01
        tls.application_data(1, _message_ok(i))
    flow.close(state["clock"] + 0.2)
    return b


def tls_no_handshake() -> Builder:
    return _tls_im("tls-no-handshake.pcapng", 4, skip_handshake=True)


def tls_lost_bytes() -> Builder:
    # Client segments 5 and 6 (counted from the first MESSAGE's): the end of MESSAGE 2's record
    # and the start of MESSAGE 3's are never captured. A MESSAGE a second: what follows the
    # hole waits behind it until TCP declares it lost (net/tcp.py HOLE_TIMEOUT, 3 s).
    return _tls_im("tls-lost-bytes.pcapng", 10, drop=frozenset({5, 6}), every=1.0)


SAMPLES = {
    "dtls-srtp-call.pcap": dtls_srtp_call,
    "tcp-checksums.pcap": tcp_checksums,
    "tcp-data-after-rst.pcap": tcp_data_after_rst,
    "tls-no-handshake.pcapng": tls_no_handshake,
    "tls-lost-bytes.pcapng": tls_lost_bytes,
}
