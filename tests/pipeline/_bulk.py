"""Front-End-shaped SIP traffic in bulk for memory tests: many users, short sessions, hours.

Each user signs in (REGISTER, 401, REGISTER, 200), subscribes (SUBSCRIBE, 200, NOTIFY, 200),
sends an IM (MESSAGE, 200) and, every fifth user, places a call (INVITE, 180, 200, ACK, BYE,
200), all over UDP between one client address per user and one Front End, one message every
few milliseconds of capture time, so sessions open and go quiet all through the capture. Frames
are written with plain struct packing (no per-packet library objects): 200,000 messages take
about a second to write.
"""

from __future__ import annotations

import datetime as dt
import struct
from collections.abc import Iterator
from pathlib import Path

_FE = bytes([10, 0, 0, 1])
_START = 1_767_225_600  # 2026-01-01 00:00:00 UTC
_STEP_US = 2_000  # capture time between two messages


def _checksum(header: bytes) -> int:
    total = sum(struct.unpack("!10H", header))
    while total > 0xFFFF:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def _frame(src: bytes, sport: int, dst: bytes, dport: int, payload: bytes) -> bytes:
    udp = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, 64, 17, 0, src, dst)
    ip = ip[:10] + struct.pack("!H", _checksum(ip)) + ip[12:]
    return b"\x00\x15\x5d\x0a\x0b\x0c\x00\x15\x5d\x01\x02\x03\x08\x00" + ip + udp


def _message(
    start: str, call_id: str, cseq: str, user: str, extra: str = "", body: str = ""
) -> bytes:
    if body:
        extra += "Content-Type: application/sdp\r\n"
    return (
        f"{start}\r\n"
        f"Via: SIP/2.0/UDP 10.1.0.2:5060;branch=z9hG4bK{call_id}{cseq.split()[0]}\r\n"
        f"From: <sip:{user}@contoso.com>;tag=a{call_id}\r\n"
        f"To: <sip:{user}@contoso.com>\r\n"
        f"Call-ID: {call_id}\r\n"
        f"CSeq: {cseq}\r\n"
        f"{extra}"
        f"Content-Length: {len(body)}\r\n\r\n{body}"
    ).encode()


def media_addresses(u: int) -> tuple[bytes, bytes]:
    """The caller's and the callee's media address of user ``u``'s call (port 40000 / 50000)."""
    return bytes([10, 3, u // 250 % 250, u % 250 + 1]), bytes([10, 4, u // 250 % 250, u % 250 + 1])


def _sdp(address: bytes, port: int, session: int) -> str:
    ip = ".".join(str(b) for b in address)
    return (
        f"v=0\r\no=- {session} 1 IN IP4 {ip}\r\ns=-\r\nc=IN IP4 {ip}\r\nt=0 0\r\n"
        f"m=audio {port} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"
    )


#: RTP packets each way of a call's media (``media=True``), 2 ms apart after its ACK.
RTP_PACKETS = 10


def _rtp_frames(u: int, t_us: int) -> Iterator[tuple[int, bytes]]:
    caller, callee = media_addresses(u)
    for j in range(RTP_PACKETS):
        for k, (src, sport, dst, dport) in enumerate(
            [(caller, 40000, callee, 50000), (callee, 50000, caller, 40000)]
        ):
            header = struct.pack("!BBHII", 0x80, 0, j + 1, 160 * j, 0x1000_0000 + 2 * u + k)
            yield (
                t_us + 2000 * j + 1000 * k + 1000,
                _frame(src, sport, dst, dport, header + bytes(160)),
            )


def _user_messages(u: int, media: bool = False) -> list[tuple[bool, bytes]]:
    """(sent by the client, message) for one user's sign-in, presence, IM and maybe a call
    (``media``: its INVITE and 200 OK carry an SDP offer and answer)."""
    user = f"user{u}"
    reg, sub, im, call = f"r{u}", f"s{u}", f"m{u}", f"c{u}"
    uri = "sip:contoso.com"
    out = [
        (True, _message(f"REGISTER {uri} SIP/2.0", reg, "1 REGISTER", user)),
        (False, _message("SIP/2.0 401 Unauthorized", reg, "1 REGISTER", user,
                         'WWW-Authenticate: NTLM realm="SIP Communications Service"\r\n')),
        (True, _message(f"REGISTER {uri} SIP/2.0", reg, "2 REGISTER", user)),
        (False, _message("SIP/2.0 200 OK", reg, "2 REGISTER", user)),
        (True, _message(f"SUBSCRIBE sip:{user}@contoso.com SIP/2.0", sub, "1 SUBSCRIBE", user,
                        "Event: vnd-microsoft-roaming-self\r\n")),
        (False, _message("SIP/2.0 200 OK", sub, "1 SUBSCRIBE", user)),
        (False, _message(f"NOTIFY sip:{user}@10.1.0.2 SIP/2.0", sub, "2 NOTIFY", user,
                         "Event: vnd-microsoft-roaming-self\r\n")),
        (True, _message("SIP/2.0 200 OK", sub, "2 NOTIFY", user)),
        (True, _message(f"MESSAGE sip:peer{u}@contoso.com SIP/2.0", im, "1 MESSAGE", user)),
        (False, _message("SIP/2.0 200 OK", im, "1 MESSAGE", user)),
    ]  # fmt: skip
    if u % 5 == 0:
        out += [
            (
                True,
                _message(
                    f"INVITE sip:peer{u}@contoso.com SIP/2.0",
                    call,
                    "1 INVITE",
                    user,
                    body=_sdp(media_addresses(u)[0], 40000, u) if media else "",
                ),
            ),
            (False, _message("SIP/2.0 180 Ringing", call, "1 INVITE", user)),
            (
                False,
                _message(
                    "SIP/2.0 200 OK",
                    call,
                    "1 INVITE",
                    user,
                    body=_sdp(media_addresses(u)[1], 50000, u) if media else "",
                ),
            ),
            (True, _message(f"ACK sip:peer{u}@contoso.com SIP/2.0", call, "1 ACK", user)),
            (True, _message(f"BYE sip:peer{u}@contoso.com SIP/2.0", call, "2 BYE", user)),
            (False, _message("SIP/2.0 200 OK", call, "2 BYE", user)),
        ]
    return out


def _traffic(
    messages: int, interleave: int, step_us: int, media: bool = False
) -> Iterator[tuple[int, bool, bytes, bytes, int]]:
    """(capture time in µs, sent by the client, client address, message, user number) of at
    least ``messages`` messages, ``interleave`` users active at once (their messages
    alternate), as on a Front End."""
    written = 0
    t_us = 0
    user = 0
    while written < messages:
        batch = [_user_messages(user + i, media) for i in range(interleave)]
        user += interleave
        longest = max(len(b) for b in batch)
        for step in range(longest):
            for i, msgs in enumerate(batch):
                if step >= len(msgs):
                    continue
                from_client, payload = msgs[step]
                client = bytes([10, 1 + (user + i) // 65000 % 200, (user + i) // 250 % 250,
                                (user + i) % 250 + 1])  # fmt: skip
                t_us += step_us
                yield t_us, from_client, client, payload, user - interleave + i
                written += 1


def write_bulk_pcap(
    path: Path,
    messages: int,
    *,
    interleave: int = 50,
    step_us: int = _STEP_US,
    media: bool = False,
) -> int:
    """Write a pcap of at least ``messages`` SIP messages; returns how many it holds.

    ``interleave`` users are active at once (their messages alternate), as on a Front End;
    ``step_us``: capture time between two messages (at least 25 ms with ``media``: each
    call's RTP, :data:`RTP_PACKETS` each way, follows its ACK within 21 ms).
    """
    written = 0
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))

        def put(t_us: int, frame: bytes) -> None:
            sec, usec = divmod(t_us, 1_000_000)
            f.write(struct.pack("<IIII", _START + sec, usec, len(frame), len(frame)))
            f.write(frame)

        for t_us, from_client, client, payload, user in _traffic(
            messages, interleave, step_us, media
        ):
            if from_client:
                put(t_us, _frame(client, 5060, _FE, 5060, payload))
            else:
                put(t_us, _frame(_FE, 5060, client, 5060, payload))
            written += 1
            if media and payload.startswith(b"ACK "):
                for t, frame in _rtp_frames(user, t_us):
                    put(t, frame)
    return written


def _log_stamp(t_us: int) -> str:
    moment = dt.datetime.fromtimestamp(_START + t_us / 1e6, tz=dt.timezone.utc)
    return moment.strftime("%m/%d/%Y-%H:%M:%S.") + f"{moment.microsecond // 1000:03d}"


def write_bulk_server_log(
    path: Path,
    messages: int,
    *,
    interleave: int = 50,
    step_us: int = _STEP_US,
    media: bool = False,
) -> tuple[int, int]:
    """The Front End's server log of the traffic :func:`write_bulk_pcap` writes with the same
    arguments (the same messages at the same times, to the millisecond), and a diagnostic
    record after every tenth user's sign-in (its REGISTER session); every hundredth names a
    Call-ID no input holds (it stands alone). Returns (messages, diagnostics)."""
    written = diagnostics = 0
    seq = 0x5386
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        for t_us, from_client, client, payload, user in _traffic(
            messages, interleave, step_us, media
        ):
            head_text, _, body = payload.decode().partition("\r\n\r\n")
            head = head_text.split("\r\n")
            peer = f"{'.'.join(str(b) for b in client)}:5060"
            seq += 1
            f.write(
                f"TL_INFO(TF_PROTOCOL) [fe01\\fe01]06E4.0EB4::{_log_stamp(t_us)}.{seq:08X} "
                "(SIPStack,SIPAdminLog::TraceProtocolRecord:SIPAdminLog.cpp(125))$$begin_record\n"
                f"Trace-Correlation-Id: {seq}\nInstance-Id: {seq:08X}\n"
                f"Direction: {'incoming' if from_client else 'outgoing'}\nPeer: {peer}\n"
                f"Message-Type: {'response' if head[0].startswith('SIP/') else 'request'}\n"
                f"Start-Line: {head[0]}\n"
                + "\n".join(head[1:])
                + "\nMessage-Body: "
                + ("\n".join(body.rstrip("\r\n").split("\r\n")) if body else "-")
                + "\n$$end_record\n"
            )
            written += 1
            if user % 10 == 0 and head[0] == "SIP/2.0 200 OK" and "REGISTER" in payload.decode():
                seq += 1
                call_id = f"r{user}" if user % 100 else f"gone{user}"
                f.write(
                    f"TL_WARN(TF_DIAG) [fe01\\fe01]06E4.0EB4::{_log_stamp(t_us)}.{seq:08X} "
                    "(SIPStack,SIPAdminLog::WriteDiagnosticEvent:SIPAdminLog.cpp(830)) "
                    "$$begin_record\nLogType: diagnostic\nSeverity: warning\n"
                    "Text: Failed to notify a subscriber: no user or endpoint for the "
                    "subscription\n"
                    "Result-Code: 0xc3e93c2f SIPPROXY_E_UNKNOWN_USER_OR_EPID\n"
                    "SIP-Start-Line: SIP/2.0 200 OK\n"
                    f"SIP-Call-ID: {call_id}\nSIP-CSeq: 2 REGISTER\n$$end_record\n"
                )
                diagnostics += 1
    return written, diagnostics


def write_pcap(path: Path, frames: list[tuple[int, bytes]]) -> None:
    """A pcap of ``(capture time in µs, Ethernet frame)``, as the bulk writers write theirs."""
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for t_us, frame in frames:
            sec, usec = divmod(t_us, 1_000_000)
            f.write(struct.pack("<IIII", _START + sec, usec, len(frame), len(frame)))
            f.write(frame)


def sip_frame(from_client: bool, client: bytes, payload: bytes) -> bytes:
    """A UDP datagram between a client and the Front End (port 5060 both sides)."""
    if from_client:
        return _frame(client, 5060, _FE, 5060, payload)
    return _frame(_FE, 5060, client, 5060, payload)


def server_log_record(t_us: int, seq: int, from_client: bool, client: bytes, payload: bytes) -> str:
    """The Front End's server-log record of one message it received or sent."""
    head, _, body = payload.decode().partition("\r\n\r\n")
    lines = head.split("\r\n")
    peer = f"{'.'.join(str(b) for b in client)}:5060"
    return (
        f"TL_INFO(TF_PROTOCOL) [fe01\\fe01]06E4.0EB4::{_log_stamp(t_us)}.{seq:08X} "
        "(SIPStack,SIPAdminLog::TraceProtocolRecord:SIPAdminLog.cpp(125))$$begin_record\n"
        f"Trace-Correlation-Id: {seq}\nInstance-Id: {seq:08X}\n"
        f"Direction: {'incoming' if from_client else 'outgoing'}\nPeer: {peer}\n"
        f"Message-Type: {'response' if lines[0].startswith('SIP/') else 'request'}\n"
        f"Start-Line: {lines[0]}\n" + "\n".join(lines[1:])
        + "\nMessage-Body: " + ("\n".join(body.rstrip("\r\n").split("\r\n")) if body else "-")
        + "\n$$end_record\n"
    )  # fmt: skip
