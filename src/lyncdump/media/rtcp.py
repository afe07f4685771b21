"""RTCP compound packets (RFC 3550, 4585, 3611) with Microsoft's [MS-RTP] extensions.

:func:`parse_rtcp` takes one datagram (a compound packet) and returns the list of packets in
it, each a small typed object. Microsoft appends "profile-specific extensions" (TLVs, types
1-14) after the report blocks of SR/RR packets and sends application feedback in PSFB FMT 15
and a 12-byte picture loss indication in PSFB FMT 1 (reference ms-media.md 5.1, 5.2); both are
decoded here. A compound with a bad length raises :class:`MalformedError` (the pipeline makes
it a Defect); unknown packet types are kept raw, never fatal.

SRTCP (RFC 3711 3.4) keeps only the first 8 octets in clear (the first packet's header and
SSRC); the rest is ciphertext, followed by the E flag and 31-bit SRTCP index, an optional MKI
and the authentication tag (with AES-GCM, RFC 7714 9, the tag ends the ciphertext and the index
comes last). Parsing that ciphertext as report blocks and [MS-RTP] extensions gives nonsense
(teams.pcap: "MS extension type 51802 length 44210 bad"), so :func:`srtcp_index` recognises it
first: a compound that does not walk as RTCP, whose first header fits before a 4-aligned E flag
and index with the E flag set where the tag and MKI sizes put them (or, on a flow known to use
SRTP, an authenticated-only compound that walks exactly up to that point).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from ..errors import MalformedError

SR, RR, SDES, BYE, APP, RTPFB, PSFB, XR = 200, 201, 202, 203, 204, 205, 206, 207

#: [MS-RTP] 2.2.11 profile-specific extension names by type.
MS_EXTENSION_NAMES = {
    1: "estimated bandwidth",
    4: "packet loss notification",
    5: "video preference",
    6: "padding",
    7: "policy server bandwidth",
    8: "TURN server bandwidth",
    9: "audio healer metrics",
    10: "receiver-side bandwidth limit",
    11: "packet train packet",
    12: "peer info exchange",
    13: "network congestion notification",
    14: "modality send bandwidth limit",
}

SDES_ITEMS = {1: "CNAME", 2: "NAME", 3: "EMAIL", 4: "PHONE", 5: "LOC", 6: "TOOL", 7: "NOTE",
              8: "PRIV"}  # fmt: skip


@dataclass(frozen=True, slots=True)
class ReportBlock:
    """RFC 3550 6.4.1 reception report about ``ssrc``."""

    ssrc: int
    fraction_lost: int
    cumulative_lost: int
    highest_sequence: int
    jitter: int
    lsr: int
    dlsr: int


@dataclass(frozen=True, slots=True)
class MsExtension:
    """One [MS-RTP] profile-specific extension: ``type``, raw ``data`` and decoded ``fields``."""

    type: int
    data: bytes
    fields: dict[str, int] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return MS_EXTENSION_NAMES.get(self.type, f"type {self.type}")


@dataclass(slots=True)
class SenderReport:
    ssrc: int
    ntp: int
    rtp_timestamp: int
    packets: int
    octets: int
    reports: list[ReportBlock] = field(default_factory=list)
    extensions: list[MsExtension] = field(default_factory=list)

    @property
    def ntp_middle(self) -> int:
        """The middle 32 bits of the NTP timestamp (what LSR echoes)."""
        return (self.ntp >> 16) & 0xFFFFFFFF


@dataclass(slots=True)
class ReceiverReport:
    ssrc: int
    reports: list[ReportBlock] = field(default_factory=list)
    extensions: list[MsExtension] = field(default_factory=list)


@dataclass(slots=True)
class SourceDescription:
    """SDES chunks: ``[(ssrc, [(item name, text)])]``."""

    chunks: list[tuple[int, list[tuple[str, str]]]] = field(default_factory=list)


@dataclass(slots=True)
class Goodbye:
    ssrcs: list[int]
    reason: str | None = None


@dataclass(slots=True)
class AppDefined:
    subtype: int
    ssrc: int
    name: str
    data: bytes


@dataclass(slots=True)
class Feedback:
    """RTPFB (205) or PSFB (206): ``fmt`` names the message (RFC 4585 6.1)."""

    packet_type: int
    fmt: int
    sender_ssrc: int
    media_ssrc: int
    fci: bytes
    nacks: list[int] = field(default_factory=list)
    ms_type: int | None = None
    ms_msis: list[int] = field(default_factory=list)
    ms_fields: dict[str, int] = field(default_factory=dict)

    @property
    def name(self) -> str:
        if self.packet_type == RTPFB:
            return {1: "NACK", 3: "TMMBR", 4: "TMMBN", 15: "transport-cc"}.get(
                self.fmt, f"RTPFB {self.fmt}"
            )
        if self.fmt == 1:
            return "MS PLI" if len(self.fci) == 12 else "PLI"
        if self.fmt == 15:
            return {1: "MS video source request", 3: "MS dominant speaker history"}.get(
                self.ms_type or -1, "application feedback"
            )
        return {2: "SLI", 3: "RPSI", 4: "FIR"}.get(self.fmt, f"PSFB {self.fmt}")


@dataclass(slots=True)
class ExtendedReport:
    """RFC 3611 XR: blocks as ``(type, data)``; VoIP metrics (type 7) decoded."""

    ssrc: int
    blocks: list[tuple[int, bytes]] = field(default_factory=list)
    voip_metrics: list[dict[str, int]] = field(default_factory=list)


@dataclass(slots=True)
class UnknownRtcp:
    packet_type: int
    count: int
    data: bytes


RtcpPacket = (
    SenderReport | ReceiverReport | SourceDescription | Goodbye | AppDefined | Feedback
    | ExtendedReport | UnknownRtcp
)  # fmt: skip


def walks_as_rtcp(data: bytes) -> bool:
    """RTCP headers (version 2, packet type 192-223) whose lengths add up to all of ``data``."""
    pos, n = 0, len(data)
    while pos + 4 <= n:
        if data[pos] >> 6 != 2 or not 192 <= data[pos + 1] <= 223:
            return False
        pos += 4 * (((data[pos + 2] << 8) | data[pos + 3]) + 1)
    return pos == n and n > 0


def srtcp_index(data: bytes, *, srtp: bool = False) -> int | None:
    """The E flag and SRTCP index word when ``data`` is SRTCP, None when it is plain RTCP (or
    neither). ``srtp``: the flow is known to use SRTP (keys, RTP/SAVP, authenticated SRTP), so
    an authenticated-only compound (E flag clear) is recognised too.

    The trailer is placed for HMAC-SHA1 (10-byte tag, or 4 as ZRTP's HS32 gives; MKI of 0-3
    bytes) and for AES-GCM (MKI of 0-3 bytes): the 4-byte alignment of RTCP leaves one MKI
    size for each."""
    n = len(data)
    if n < 8 + 4 + 10 or data[0] >> 6 != 2 or not 192 <= data[1] <= 223:
        return None
    if walks_as_rtcp(data):
        return None
    first = 4 * (((data[2] << 8) | data[3]) + 1)
    found: list[int] = []
    # HMAC-SHA1 tags after the index: 80 bits (RFC 3711), 32 bits (ZRTP's HS32, as Zfone
    # sends); GCM's tag is inside the ciphertext (0 here).
    for tag in (10, 4, 0):
        mki = (n - tag) % 4
        pos = n - tag - mki - 4
        if pos < 8 or first > pos - (16 if tag == 0 else 0):
            continue
        word = (data[pos] << 24) | (data[pos + 1] << 16) | (data[pos + 2] << 8) | data[pos + 3]
        if word & 0x80000000 or (srtp and tag and walks_as_rtcp(data[:pos])):
            found.append(word)
    # Both places can hold an E flag by chance (ciphertext is random): a real index counts up
    # from 0 by one per report, so one below 2^24 (years of reports) wins; then HMAC-SHA1.
    for word in found:
        if word & 0x7FFFFFFF < 1 << 24:
            return word
    return found[0] if found else None


def srtcp_kind(data: bytes, opened: bytes | None, *, srtp: bool = False) -> str | None:
    """How an RTCP datagram is counted: ``SRTCP decrypted`` (a key opened it: ``opened``),
    ``SRTCP encrypted`` (SRTCP by its trailer, no key opened it: never parse it further), or
    None for plain RTCP."""
    if opened is not None:
        return "SRTCP decrypted"
    if srtcp_index(data, srtp=srtp) is not None:
        return "SRTCP encrypted"
    return None


def parse_rtcp(data: bytes) -> list[RtcpPacket]:
    """Every packet of an RTCP compound, in order."""
    out: list[RtcpPacket] = []
    offset = 0
    n = len(data)
    if n < 4:
        raise MalformedError("rtcp", 0, f"RTCP header needs 4 bytes, have {n}")
    while offset < n:
        if n - offset < 4:
            raise MalformedError("rtcp", offset, "trailing bytes shorter than an RTCP header")
        b0, pt, words = struct.unpack_from("!BBH", data, offset)
        if b0 >> 6 != 2:
            raise MalformedError("rtcp", offset, f"RTCP version {b0 >> 6}, expected 2")
        length = 4 * (words + 1)
        if offset + length > n:
            raise MalformedError(
                "rtcp", offset, f"RTCP length {length} exceeds the {n - offset} bytes left"
            )
        body_end = offset + length
        if b0 & 0x20:
            pad = data[body_end - 1]
            if pad == 0 or pad > length - 4:
                raise MalformedError("rtcp", body_end - 1, f"bad padding count {pad}")
            body_end -= pad
        out.append(_packet(data, offset, b0 & 0x1F, pt, body_end))
        offset += length
    return out


def _report_blocks(data: bytes, start: int, count: int, end: int) -> list[ReportBlock]:
    if start + 24 * count > end:
        raise MalformedError("rtcp", start, f"{count} report blocks do not fit")
    blocks = []
    for i in range(count):
        ssrc, lost_word, high, jitter, lsr, dlsr = struct.unpack_from(
            "!IIIIII", data, start + 24 * i
        )
        cumulative = lost_word & 0xFFFFFF
        if cumulative & 0x800000:
            cumulative -= 0x1000000
        blocks.append(ReportBlock(ssrc, lost_word >> 24, cumulative, high, jitter, lsr, dlsr))
    return blocks


def _ms_extensions(data: bytes, start: int, end: int) -> list[MsExtension]:
    """[MS-RTP] 2.2.11 TLVs after the report blocks (length includes the 4-byte header)."""
    out: list[MsExtension] = []
    i = start
    while i + 4 <= end and len(out) < 20:
        etype, elen = struct.unpack_from("!HH", data, i)
        if elen < 4 or i + elen > end:
            raise MalformedError("rtcp", i, f"MS extension type {etype} length {elen} bad")
        body = bytes(data[i + 4 : i + elen])
        out.append(MsExtension(etype, body, _ms_fields(etype, body)))
        i += elen
    return out


def _ms_fields(etype: int, body: bytes) -> dict[str, int]:
    n = len(body)
    if etype == 1 and n >= 8:
        ssrc, bw = struct.unpack_from("!Ii", body, 0)
        f = {"ssrc": ssrc, "bandwidth": bw}
        if n >= 12:
            f["confidence"] = body[8] >> 4
        return f
    if etype == 4 and n >= 4:
        return {"sequence": struct.unpack_from("!H", body, 2)[0]}
    if etype == 5 and n >= 16:
        w, h, br, fr = struct.unpack_from("!HHIH", body, 4)
        return {"width": w, "height": h, "bitrate": br, "frame_rate": fr}
    if etype in (7, 8, 10) and n >= 8:
        return {"max_bandwidth": struct.unpack_from("!I", body, 4)[0]}
    if etype == 9 and n >= 20:
        ssrc, conc, stre, comp, total = struct.unpack_from("!IIIII", body, 0)
        return {"ssrc": ssrc, "concealed_frames": conc, "stretched_frames": stre,
                "compressed_frames": comp, "total_frames": total}  # fmt: skip
    if etype == 11 and n >= 8:
        ssrc, a, b, count = struct.unpack_from("!IBBH", body, 0)
        return {"ssrc": ssrc, "last": a >> 7, "index": a & 0x7F, "packets": b & 0x7F,
                "train_bytes": count}  # fmt: skip
    if etype == 12 and n >= 12:
        ssrc, inbound, outbound = struct.unpack_from("!III", body, 0)
        return {"ssrc": ssrc, "inbound_bandwidth": inbound, "outbound_bandwidth": outbound}
    if etype == 13 and n >= 9:
        sec, frac = struct.unpack_from("!II", body, 0)
        return {"ntp_seconds": sec, "ntp_fraction": frac, "congestion": body[8]}
    if etype == 14 and n >= 8:
        return {"modality": body[0], "send_limit": struct.unpack_from("!I", body, 4)[0]}
    return {}


def _packet(data: bytes, start: int, count: int, pt: int, end: int) -> RtcpPacket:
    body = start + 4
    if pt == SR:
        if end - body < 24:
            raise MalformedError("rtcp", start, "sender report shorter than 28 bytes")
        ssrc, ntp, rts, pkts, octets = struct.unpack_from("!IQIII", data, body)
        blocks = _report_blocks(data, body + 24, count, end)
        exts = _ms_extensions(data, body + 24 + 24 * count, end)
        return SenderReport(ssrc, ntp, rts, pkts, octets, blocks, exts)
    if pt == RR:
        if end - body < 4:
            raise MalformedError("rtcp", start, "receiver report shorter than 8 bytes")
        (ssrc,) = struct.unpack_from("!I", data, body)
        blocks = _report_blocks(data, body + 4, count, end)
        exts = _ms_extensions(data, body + 4 + 24 * count, end)
        return ReceiverReport(ssrc, blocks, exts)
    if pt == SDES:
        return _sdes(data, body, count, end)
    if pt == BYE:
        if body + 4 * count > end:
            raise MalformedError("rtcp", start, f"BYE with {count} sources does not fit")
        ssrcs = list(struct.unpack_from(f"!{count}I", data, body))
        i = body + 4 * count
        reason = None
        if i < end:
            rlen = data[i]
            if i + 1 + rlen > end:
                raise MalformedError("rtcp", i, "BYE reason truncated")
            reason = bytes(data[i + 1 : i + 1 + rlen]).decode("utf-8", "replace")
        return Goodbye(ssrcs, reason)
    if pt == APP:
        if end - body < 8:
            raise MalformedError("rtcp", start, "APP packet shorter than 12 bytes")
        (ssrc,) = struct.unpack_from("!I", data, body)
        name = bytes(data[body + 4 : body + 8]).decode("latin-1")
        return AppDefined(count, ssrc, name, bytes(data[body + 8 : end]))
    if pt in (RTPFB, PSFB):
        return _feedback(data, start, pt, count, end)
    if pt == XR:
        return _xr(data, start, end)
    return UnknownRtcp(pt, count, bytes(data[body:end]))


def _sdes(data: bytes, body: int, count: int, end: int) -> SourceDescription:
    chunks: list[tuple[int, list[tuple[str, str]]]] = []
    i = body
    for _ in range(count):
        if i + 4 > end:
            raise MalformedError("rtcp", i, "SDES chunk truncated")
        (ssrc,) = struct.unpack_from("!I", data, i)
        i += 4
        items: list[tuple[str, str]] = []
        while True:
            if i >= end:
                raise MalformedError("rtcp", i, "SDES items not terminated")
            item = data[i]
            if item == 0:
                i = (i + 4) & ~3  # skip the terminator and pad to a 32-bit boundary
                break
            if i + 2 > end or i + 2 + data[i + 1] > end:
                raise MalformedError("rtcp", i, "SDES item truncated")
            ilen = data[i + 1]
            text = bytes(data[i + 2 : i + 2 + ilen]).decode("utf-8", "replace")
            items.append((SDES_ITEMS.get(item, str(item)), text))
            i += 2 + ilen
        chunks.append((ssrc, items))
    return SourceDescription(chunks)


def _feedback(data: bytes, start: int, pt: int, fmt: int, end: int) -> Feedback:
    if end - start < 12:
        raise MalformedError("rtcp", start, "feedback packet shorter than 12 bytes")
    sender, media = struct.unpack_from("!II", data, start + 4)
    fci = bytes(data[start + 12 : end])
    fb = Feedback(pt, fmt, sender, media, fci)
    if pt == RTPFB and fmt == 1:
        for j in range(0, len(fci) - 3, 4):
            pid, blp = struct.unpack_from("!HH", fci, j)
            fb.nacks.append(pid)
            fb.nacks.extend((pid + k + 1) & 0xFFFF for k in range(16) if blp >> k & 1)
    elif pt == PSFB and fmt == 15 and len(fci) >= 4:
        ms_type, ms_len = struct.unpack_from("!HH", fci, 0)
        if ms_len < 4 or ms_len > len(fci):
            raise MalformedError("rtcp", start + 12, f"MS feedback length {ms_len} bad")
        fb.ms_type = ms_type
        if ms_type == 1 and ms_len >= 20:
            # Video Source Request: MSI, request id, version, key-frame flag, entry count/size
            msi, req, _res, ver, kf, entries, esize = struct.unpack_from("!IHHBBBB", fci, 4)
            fb.ms_fields = {
                "msi": msi,
                "request_id": req,
                "version": ver,
                "key_frame": kf & 1,
                "entries": entries,
                "entry_length": esize,
            }
        if ms_type == 3:
            fb.ms_msis = [struct.unpack_from("!I", fci, j)[0] for j in range(4, ms_len - 3, 4)]
    return fb


def _xr(data: bytes, start: int, end: int) -> ExtendedReport:
    if end - start < 8:
        raise MalformedError("rtcp", start, "XR packet shorter than 8 bytes")
    (ssrc,) = struct.unpack_from("!I", data, start + 4)
    xr = ExtendedReport(ssrc)
    i = start + 8
    while i + 4 <= end:
        bt, _spec, words = struct.unpack_from("!BBH", data, i)
        blen = 4 * words
        if i + 4 + blen > end:
            raise MalformedError("rtcp", i, f"XR block type {bt} length {blen} too long")
        block = bytes(data[i + 4 : i + 4 + blen])
        xr.blocks.append((bt, block))
        if bt == 7 and len(block) >= 32:
            (src, loss, discard, burst_d, gap_d, burst_ms, gap_ms, rtd, esd, signal, noise,
             rerl, gmin, r_factor, ext_r, mos_lq, mos_cq, rx, _r, jb_nom, jb_max,
             jb_abs) = struct.unpack_from("!IBBBBHHHHbbBBBBBBBBHHH", block, 0)  # fmt: skip
            xr.voip_metrics.append({
                "ssrc": src, "loss_rate": loss, "discard_rate": discard,
                "burst_density": burst_d, "gap_density": gap_d, "burst_duration_ms": burst_ms,
                "gap_duration_ms": gap_ms, "round_trip_delay_ms": rtd,
                "end_system_delay_ms": esd, "signal_level": signal, "noise_level": noise,
                "rerl": rerl, "gmin": gmin, "r_factor": r_factor, "ext_r_factor": ext_r,
                "mos_lq": mos_lq, "mos_cq": mos_cq, "rx_config": rx,
                "jb_nominal": jb_nom, "jb_maximum": jb_max, "jb_abs_max": jb_abs,
            })  # fmt: skip
        i += 4 + blen
    return xr
