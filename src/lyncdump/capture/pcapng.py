"""pcapng files: a stream of typed blocks, each ``type, total length, body, total length``.

What we read: Section Header Blocks (each section may change byte order and resets the
interfaces), Interface Description Blocks (link type, snap length, ``if_tsresol``,
``if_tsoffset``), Enhanced, Simple and obsolete Packet Blocks (the frames), Decryption Secrets
Blocks (kept in ``reader.secrets`` for TLS). Every other block (name resolution, statistics,
comments, custom...) is skipped by its length.

The Enhanced Packet Block, nearly every block of a real file, has an inline fast path; all
other blocks go through a slower, fully checked one.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterator

from ..errors import CaptureError
from .source import CHUNK, MAX_FRAME, ByteStream, CaptureReader, ReadBuffer

#: The largest block we accept (Wireshark uses the same bound); a longer block length is
#: corruption, refused before any byte of it is read.
MAX_BLOCK = 16 * 1024 * 1024
#: Bound on the Decryption Secrets kept in memory for one capture.
MAX_SECRETS = 64 * 1024 * 1024

_SHB = 0x0A0D0D0A
_IDB = 0x00000001
_OPB = 0x00000002  # obsolete Packet Block
_SPB = 0x00000003
_EPB = 0x00000006
_DSB = 0x0000000A
_BOM_LITTLE = b"\x4d\x3c\x2b\x1a"
_BOM_BIG = b"\x1a\x2b\x3c\x4d"
_OPT_TSRESOL = 9
_OPT_TSOFFSET = 14

_BLOCK_NAMES = {
    _SHB: "Section Header Block",
    _IDB: "Interface Description Block",
    _OPB: "Packet Block",
    _SPB: "Simple Packet Block",
    _EPB: "Enhanced Packet Block",
    _DSB: "Decryption Secrets Block",
}


def _block_name(btype: int) -> str:
    return _BLOCK_NAMES.get(btype, f"block of type 0x{btype:08x}")


class _Structs:
    """The precompiled unpackers of one byte order (a section can switch it)."""

    __slots__ = ("endian", "header", "epb", "u32", "opb", "shb", "idb", "q")

    def __init__(self, endian: str) -> None:
        self.endian = endian
        self.header = struct.Struct(endian + "II").unpack_from
        self.epb = struct.Struct(endian + "IIIIIII").unpack_from
        self.u32 = struct.Struct(endian + "I").unpack_from
        self.opb = struct.Struct(endian + "HHIIII").unpack_from
        self.shb = struct.Struct(endian + "HH").unpack_from
        self.idb = struct.Struct(endian + "HHI").unpack_from
        self.q = struct.Struct(endian + "q").unpack_from


_LITTLE = _Structs("<")
_BIG = _Structs(">")

# One interface: (link type, timestamp units per second, if_tsoffset in units, snap length).
_Interface = tuple[int, int, int, int]


class PcapngReader(CaptureReader):
    """A pcapng file read front to back; see :class:`CaptureReader` for the contract."""

    format = "pcapng"

    def __init__(self, stream: ByteStream, head: bytes) -> None:
        super().__init__(stream, head)
        buf = head
        while len(buf) < 12:
            more = stream.read(CHUNK)
            if not more:
                raise CaptureError(f"{self.name}: truncated pcapng Section Header Block")
            buf += more
        if buf[8:12] not in (_BOM_LITTLE, _BOM_BIG):
            raise CaptureError(
                f"{self.name}: not a pcapng file (bad byte-order magic 0x{buf[8:12].hex()})"
            )
        self._buf = buf
        self._secret_bytes = 0
        #: Set by :func:`lyncdump.fastpath.attach` before frames are read: ``skip(big_endian,
        #: interfaces, buf, pos, end, count)`` consumes routine Enhanced Packet Blocks at
        #: ``pos`` itself and returns the new ``(pos, count, time of the last packet it
        #: consumed)``.
        self.skip: Callable[..., tuple[int, int, float]] | None = None

    def _frames(self) -> Iterator[tuple[float, int, bytes]]:
        s = _LITTLE
        header, epb, u32 = s.header, s.epb, s.u32
        ifaces: list[_Interface] = []
        limit = MAX_FRAME
        rb = ReadBuffer(self._stream, self._buf)
        self._buf = b""
        buf, view, pos, base = rb.data, rb.view, 0, 0
        count = 0
        last_ts = 0.0
        skip = self.skip  # set before the first frame is asked for
        while True:
            end = rb.end
            need = 8  # bytes wanted at pos before the loop below can go on
            while end - pos >= 8:
                if skip is not None:
                    before = count
                    pos, count, skipped_ts = skip(s is _BIG, ifaces, buf, pos, end, count)
                    if count != before:
                        last_ts = skipped_ts
                    if end - pos < 8:
                        break
                btype, blen = header(buf, pos)
                if btype == _EPB and 32 <= blen <= end - pos:
                    _, _, iface, high, low, caplen, _ = epb(buf, pos)
                    if (
                        caplen > blen - 32
                        or caplen > limit
                        or blen & 3
                        or u32(buf, pos + blen - 4)[0] != blen
                    ):
                        raise self._bad_packet(pos, blen, caplen, count + 1, base)
                    try:
                        linktype, units, offset, _ = ifaces[iface]
                    except IndexError:
                        raise self._no_interface(iface, len(ifaces), count + 1) from None
                    count += 1
                    start = pos + 28
                    last_ts = ((high << 32 | low) + offset) / units
                    yield last_ts, linktype, view[start : start + caplen].tobytes()
                    pos += blen
                    continue

                # Every other block, and any block not yet wholly in the buffer.
                if btype == _SHB:
                    if end - pos < 12:
                        need = 12
                        break
                    bom = buf[pos + 8 : pos + 12]
                    if bom == _BOM_LITTLE:
                        s = _LITTLE
                    elif bom == _BOM_BIG:
                        s = _BIG
                    else:
                        raise self._error(
                            "corrupt",
                            count + 1,
                            f"Section Header Block at byte {base + pos} has bad byte-order "
                            f"magic 0x{bom.hex()}",
                        )
                    header, epb, u32 = s.header, s.epb, s.u32
                    btype, blen = header(buf, pos)
                self._check_length(btype, blen, count + 1, base + pos)
                if blen > end - pos:
                    need = blen
                    break
                if u32(buf, pos + blen - 4)[0] != blen:
                    raise self._error(
                        "corrupt",
                        count + 1,
                        f"{_block_name(btype)} at byte {base + pos} says {blen} bytes at its "
                        f"start and {u32(buf, pos + blen - 4)[0]} at its end",
                    )
                if btype == _SHB:
                    self._section(buf, pos, blen, s, count + 1)
                    ifaces = []
                elif btype == _IDB:
                    ifaces.append(self._interface(buf, pos, blen, s, count + 1, base))
                elif btype == _OPB or btype == _SPB or btype == _EPB:
                    if btype == _EPB:  # only a too-short EPB gets here
                        raise self._bad_packet(pos, blen, 0, count + 1, base)
                    ts, linktype, data = self._old_packet(
                        buf, pos, blen, btype, s, ifaces, last_ts, count + 1, base
                    )
                    count += 1
                    last_ts = ts
                    yield ts, linktype, data
                elif btype == _DSB:
                    self._secrets(buf, pos, blen, s, count + 1, base)
                pos += blen
            base += pos
            if not rb.refill(pos, count + 1, need - (end - pos)):
                left = end - pos
                if left == 0:
                    return
                if left < 8:
                    detail = f"block header cut after {left} of 8 bytes"
                else:
                    btype, blen = header(rb.data, 0)  # refill moved the tail to the front
                    detail = f"{_block_name(btype)} says {blen} bytes, {left} remain"
                raise self._error("truncated", count + 1, detail)
            buf, view, pos = rb.data, rb.view, 0

    # ------------------------------------------------------------------ checked slow paths

    def _check_length(self, btype: int, blen: int, frame: int, at: int) -> None:
        if blen < 12 or blen & 3:
            raise self._error(
                "corrupt",
                frame,
                f"{_block_name(btype)} at byte {at} has a bad length {blen} "
                "(must be a multiple of 4, at least 12)",
            )
        if blen > MAX_BLOCK:
            raise self._error(
                "corrupt",
                frame,
                f"{_block_name(btype)} at byte {at} says {blen} bytes, more than the "
                f"{MAX_BLOCK}-byte limit",
            )

    def _bad_packet(self, pos: int, blen: int, caplen: int, frame: int, base: int) -> CaptureError:
        """Why an Enhanced Packet Block failed the fast path's combined check."""
        name = _block_name(_EPB)
        if blen < 32 or blen & 3:
            return self._error("corrupt", frame, f"{name} has a bad length {blen}")
        if caplen > blen - 32:
            return self._error(
                "corrupt", frame, f"{name} says {caplen} captured bytes in a {blen}-byte block"
            )
        if caplen > MAX_FRAME:
            return self._error(
                "corrupt",
                frame,
                f"{name} says {caplen} captured bytes, more than the {MAX_FRAME}-byte limit",
            )
        return self._error(
            "corrupt",
            frame,
            f"{name} at byte {base + pos} says {blen} bytes at its start and a different "
            "length at its end",
        )

    def _no_interface(self, iface: int, known: int, frame: int) -> CaptureError:
        return self._error(
            "corrupt",
            frame,
            f"packet refers to interface {iface}, but {known} interface(s) are described",
        )

    def _section(self, buf: bytearray, pos: int, blen: int, s: _Structs, frame: int) -> None:
        if blen < 28:
            raise self._error(
                "corrupt", frame, f"Section Header Block of {blen} bytes is too short"
            )
        major, minor = s.shb(buf, pos + 12)
        if major != 1:
            raise self._error(
                "unsupported", frame, f"pcapng version {major}.{minor} (only 1.x is defined)"
            )

    def _interface(
        self, buf: bytearray, pos: int, blen: int, s: _Structs, frame: int, base: int
    ) -> _Interface:
        if blen < 20:
            raise self._error(
                "corrupt", frame, f"Interface Description Block of {blen} bytes is too short"
            )
        linktype, _, snaplen = s.idb(buf, pos + 8)
        units = 1_000_000
        offset_seconds = 0
        p, stop = pos + 16, pos + blen - 4
        while p + 4 <= stop:
            code, olen = s.shb(buf, p)
            if code == 0:
                break
            value = p + 4
            if value + olen > stop:
                raise self._error(
                    "corrupt",
                    frame,
                    f"Interface Description Block at byte {base + pos}: option {code} of "
                    f"{olen} bytes runs past the block",
                )
            if code == _OPT_TSRESOL and olen >= 1:
                res = buf[value]
                units = 1 << (res & 0x7F) if res & 0x80 else 10**res
            elif code == _OPT_TSOFFSET and olen >= 8:
                offset_seconds = s.q(buf, value)[0]
            p = value + ((olen + 3) & ~3)
        return (linktype, units, offset_seconds * units, snaplen)

    def _old_packet(
        self,
        buf: bytearray,
        pos: int,
        blen: int,
        btype: int,
        s: _Structs,
        ifaces: list[_Interface],
        last_ts: float,
        frame: int,
        base: int,
    ) -> tuple[float, int, bytes]:
        """A Simple or obsolete Packet Block: rare, so checked field by field."""
        name = _block_name(btype)
        if btype == _SPB:
            if blen < 16:
                raise self._error("corrupt", frame, f"{name} of {blen} bytes is too short")
            if not ifaces:
                raise self._no_interface(0, 0, frame)
            linktype, _, _, snaplen = ifaces[0]
            caplen = min(s.u32(buf, pos + 8)[0], blen - 16)
            if snaplen:
                caplen = min(caplen, snaplen)
            start = pos + 12
            ts = last_ts  # an SPB has no time stamp: keep time running from the last frame
        else:
            if blen < 32:
                raise self._error("corrupt", frame, f"{name} of {blen} bytes is too short")
            iface, _, high, low, caplen, _ = s.opb(buf, pos + 8)
            if caplen > blen - 32:
                raise self._error(
                    "corrupt", frame, f"{name} says {caplen} captured bytes in a {blen}-byte block"
                )
            if iface >= len(ifaces):
                raise self._no_interface(iface, len(ifaces), frame)
            linktype, units, offset, _ = ifaces[iface]
            ts = ((high << 32 | low) + offset) / units
            start = pos + 28
        if caplen > MAX_FRAME:
            raise self._error(
                "corrupt",
                frame,
                f"{name} at byte {base + pos} says {caplen} captured bytes, more than the "
                f"{MAX_FRAME}-byte limit",
            )
        return ts, linktype, bytes(buf[start : start + caplen])

    def _secrets(
        self, buf: bytearray, pos: int, blen: int, s: _Structs, frame: int, base: int
    ) -> None:
        if blen < 20:
            raise self._error("corrupt", frame, f"Decryption Secrets Block of {blen} bytes")
        stype, slen = s.header(buf, pos + 8)
        if slen > blen - 20:
            raise self._error(
                "corrupt",
                frame,
                f"Decryption Secrets Block at byte {base + pos} says {slen} bytes of secrets "
                f"in a {blen}-byte block",
            )
        self._secret_bytes += slen
        if self._secret_bytes > MAX_SECRETS:
            raise self._error(
                "corrupt", frame, f"more than {MAX_SECRETS} bytes of Decryption Secrets"
            )
        self.secrets.append((stype, bytes(buf[pos + 16 : pos + 16 + slen])))
