"""Hand-packed capture files for the tests: the cases dpkt's writers cannot make."""

from __future__ import annotations

import struct
from collections.abc import Iterable, Sequence

# ---------------------------------------------------------------- pcap


def pcap(
    records: Iterable[tuple[int, int, bytes]],
    *,
    linktype: int = 1,
    endian: str = "<",
    nano: bool = False,
    snaplen: int = 65535,
    orig_extra: int = 0,
) -> bytes:
    """A pcap file; each record is (seconds, fraction in µs or ns, data)."""
    magic = 0xA1B23C4D if nano else 0xA1B2C3D4
    out = [struct.pack(endian + "IHHiIII", magic, 2, 4, 0, 0, snaplen, linktype)]
    for sec, frac, data in records:
        out.append(struct.pack(endian + "IIII", sec, frac, len(data), len(data) + orig_extra))
        out.append(data)
    return b"".join(out)


# ---------------------------------------------------------------- pcapng


def _pad(data: bytes) -> bytes:
    return data + b"\0" * (-len(data) % 4)


def option(code: int, value: bytes, endian: str = "<") -> bytes:
    return struct.pack(endian + "HH", code, len(value)) + _pad(value)


def options(opts: Sequence[bytes], endian: str = "<") -> bytes:
    if not opts:
        return b""
    return b"".join(opts) + struct.pack(endian + "HH", 0, 0)


def block(btype: int, body: bytes, endian: str = "<") -> bytes:
    body = _pad(body)
    total = len(body) + 12
    return struct.pack(endian + "II", btype, total) + body + struct.pack(endian + "I", total)


def shb(endian: str = "<", opts: Sequence[bytes] = ()) -> bytes:
    body = struct.pack(endian + "IHHq", 0x1A2B3C4D, 1, 0, -1) + options(opts, endian)
    return block(0x0A0D0D0A, body, endian)


def idb(
    linktype: int,
    endian: str = "<",
    snaplen: int = 0,
    tsresol: int | None = None,
    tsoffset: int | None = None,
    extra: Sequence[bytes] = (),
) -> bytes:
    opts = list(extra)
    if tsresol is not None:
        opts.append(option(9, bytes([tsresol]), endian))
    if tsoffset is not None:
        opts.append(option(14, struct.pack(endian + "q", tsoffset), endian))
    body = struct.pack(endian + "HHI", linktype, 0, snaplen) + options(opts, endian)
    return block(1, body, endian)


def epb(
    iface: int,
    ts: int,
    data: bytes,
    endian: str = "<",
    orig: int | None = None,
    opts: Sequence[bytes] = (),
) -> bytes:
    orig = len(data) if orig is None else orig
    body = struct.pack(endian + "IIIII", iface, ts >> 32, ts & 0xFFFFFFFF, len(data), orig)
    return block(6, body + _pad(data) + options(opts, endian), endian)


def spb(data: bytes, endian: str = "<", orig: int | None = None) -> bytes:
    orig = len(data) if orig is None else orig
    return block(3, struct.pack(endian + "I", orig) + data, endian)


def opb(iface: int, ts: int, data: bytes, endian: str = "<") -> bytes:
    """The obsolete Packet Block (type 2)."""
    body = struct.pack(endian + "HHIIII", iface, 0, ts >> 32, ts & 0xFFFFFFFF, len(data), len(data))
    return block(2, body + data, endian)


def dsb(secrets_type: int, data: bytes, endian: str = "<") -> bytes:
    return block(0x0A, struct.pack(endian + "II", secrets_type, len(data)) + data, endian)


# ---------------------------------------------------------------- Network Monitor 2.x


def netmon(
    frames: Sequence[tuple[int, bytes, int, int]],
    *,
    minor: int = 0,
    network: int = 1,
    start: tuple[int, ...] = (2023, 11, 4, 14, 13, 22, 20, 123),
    header_size: int = 128,
    table: bool = True,
) -> bytes:
    """A NetMon 2.x file; each frame is (µs since start, data, media type, UTC FILETIME).

    The media type and FILETIME go to the per-frame trailer, present from version 2.1 and 2.3.
    """
    year, month, dow, day, hour, minute, sec, msec = start
    records: list[bytes] = []
    offsets = []
    size = 0
    for delta, data, net, utc in frames:
        offsets.append(header_size + size)
        rec = struct.pack("<QII", delta, len(data), len(data)) + data
        if minor >= 1:
            rec += struct.pack("<H", net)
        if minor >= 2:
            rec += struct.pack("<I", 0)
        if minor >= 3:
            rec += struct.pack("<QB", utc, 0)
        records.append(rec)
        size += len(rec)
    body = b"".join(records)
    ftable = struct.pack(f"<{len(offsets)}I", *offsets)
    hdr = struct.pack(
        "<4sBBH8H10I",
        b"GMBU",
        minor,
        2,
        network,
        year,
        month,
        dow,
        day,
        hour,
        minute,
        sec,
        msec,
        header_size + len(body),
        len(ftable),
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
    ).ljust(header_size, b"\0")
    return hdr + body + (ftable if table else b"")
