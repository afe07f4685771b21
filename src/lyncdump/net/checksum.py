"""Optional checksum verification (``--verify-checksums``), off by default as in tshark.

Checksums in captures are often wrong for a harmless reason: the capturing host hands packets
to the capture before its network card fills them in (checksum offload), or merges segments
before the capture sees them (GRO/LRO). Flagging those would bury real corruption, so a bad
checksum is *offloaded*, accepted and counted, when:

- the IPv4 total length is 0 (segmentation offload: the card splits and checksums later);
- the field holds the pseudo-header sum alone, not complemented (Linux ``CHECKSUM_PARTIAL``:
  the card adds the payload), or 0 in a TCP header or an IPv4 header (never a valid value there
  for a checksum the sender computed, and what Windows offload leaves);
- the segment is larger than an Ethernet MTU allows (IP packet over 1500 bytes: merged by GRO
  or LRO, checksummed as its first piece);
- its source address has not sent one correct checksum of that kind so far in the capture
  (the capturing host offloading everything it sends) [I].

Any other bad checksum is corruption: a defect names it and the packet is dropped (a TCP
retransmission then fills the hole, as on the wire). A UDP checksum of 0 means none was sent
(RFC 768; RFC 6935 for tunnels over IPv6). The compiled fast path does not verify, so the run
goes through the pure-Python path when this is on.
:class:`ChecksumStats` counts what was verified, bad and offloaded for the summary.
"""

from __future__ import annotations

import array
import sys
from collections import Counter
from dataclasses import dataclass, field

from ..model import Counts, DefectLog
from .decode import DecodedPacket, PacketDecoder

#: Largest IP packet an Ethernet MTU carries: bigger ones were merged on the capturing host.
_MTU = 1500
#: Source addresses remembered (per checksum kind) for the offload test; then no more learned.
MAX_SOURCES = 65536

_SWAP = sys.byteorder == "little"


def ones_sum(data: bytes | memoryview, start: int = 0) -> int:
    """The 16-bit one's complement sum of ``data`` (odd length padded with a zero byte),
    folded, plus ``start``."""
    if len(data) % 2:
        data = bytes(data) + b"\x00"
    words = array.array("H", bytes(data))
    if _SWAP:
        words.byteswap()
    total = sum(words) + start
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return total


def pseudo_header_sum(src: bytes, dst: bytes, proto: int, length: int) -> int:
    """RFC 768/793 (IPv4) or RFC 8200 section 8.1 (IPv6) pseudo-header, summed and folded."""
    if len(src) == 4:
        extra = bytes((0, proto)) + length.to_bytes(2, "big")
    else:
        extra = length.to_bytes(4, "big") + bytes((0, 0, 0, proto))
    return ones_sum(src + dst + extra)


@dataclass(slots=True)
class ChecksumStats:
    """Checksums verified, per kind (``IPv4``, ``UDP``, ``TCP``): correct, bad (dropped),
    offloaded (wrong for a known harmless reason, accepted)."""

    good: Counter[str] = field(default_factory=Counts)
    bad: Counter[str] = field(default_factory=Counts)
    offloaded: Counter[str] = field(default_factory=Counts)

    def to_dict(self) -> dict[str, dict[str, int]]:
        return {
            "good": dict(sorted(self.good.items())),
            "bad": dict(sorted(self.bad.items())),
            "offloaded": dict(sorted(self.offloaded.items())),
        }


class ChecksumVerifyingDecoder(PacketDecoder):
    """:class:`PacketDecoder` that verifies IPv4 header, UDP and TCP checksums first; a plain
    PacketDecoder pays nothing for this (the checks live in these overrides only)."""

    __slots__ = ("checksums", "_senders", "_unsized")

    def __init__(
        self,
        defects: DefectLog,
        *,
        max_fragment_bytes: int = 4 << 20,
        fragment_timeout: float = 30.0,
    ) -> None:
        super().__init__(
            defects, max_fragment_bytes=max_fragment_bytes, fragment_timeout=fragment_timeout
        )
        self.checksums = ChecksumStats()
        #: (kind, source address) -> True once it sent a correct checksum of that kind.
        self._senders: dict[tuple[str, bytes], bool] = {}
        #: The IP header being decoded gave no length (0: segmentation offload).
        self._unsized = False

    def _offload(self, kind: str, src: bytes, size: int, value: int, partial: int) -> bool:
        """Is this bad checksum one of the harmless kinds (module docstring)?"""
        if value == partial or (value == 0 and kind != "UDP") or size > _MTU or self._unsized:
            return True
        return not self._senders.get((kind, src), False)

    def _good(self, kind: str, src: bytes) -> None:
        self.checksums.good[kind] += 1
        key = (kind, src)
        if key in self._senders or len(self._senders) < MAX_SOURCES:
            self._senders[key] = True

    def _bad(
        self, frame: int, kind: str, src: bytes, size: int, value: int, want: int, partial: int
    ) -> bool:
        """Count a bad checksum; True when the packet must be dropped (real corruption)."""
        if self._offload(kind, src, size, value, partial):
            self.checksums.offloaded[kind] += 1
            return False
        self.checksums.bad[kind] += 1
        what = "header" if kind == "IPv4" else "segment" if kind == "TCP" else "datagram"
        self.defects.add(
            frame,
            kind.lower(),
            10 if kind == "IPv4" else 16 if kind == "TCP" else 6,
            f"{kind} checksum 0x{value:04x} wrong (should be 0x{want:04x}): {what} dropped",
        )
        return True

    def _ipv4(self, frame: int, ts: float, data: bytes, off: int, n: int) -> DecodedPacket | None:
        self._unsized = n - off >= 4 and not (data[off + 2] or data[off + 3])
        if n - off >= 20 and data[off] >> 4 == 4:
            ihl = (data[off] & 0x0F) << 2
            total = (data[off + 2] << 8) | data[off + 3]
            if 20 <= ihl <= n - off and total:
                value = (data[off + 10] << 8) | data[off + 11]
                header = data[off : off + ihl]
                rest = ones_sum(header[:10] + header[12:])
                want = (~rest) & 0xFFFF
                src = data[off + 12 : off + 16]
                if value == want:
                    self._good("IPv4", src)
                elif self._bad(frame, "IPv4", src, total, value, want, want):
                    return None
        return super()._ipv4(frame, ts, data, off, n)

    def _ipv6(self, frame: int, ts: float, data: bytes, off: int, n: int) -> DecodedPacket | None:
        self._unsized = n - off >= 6 and not (data[off + 4] or data[off + 5])
        return super()._ipv6(frame, ts, data, off, n)

    def _l4(
        self,
        frame: int,
        ts: float,
        proto: int,
        src: bytes,
        dst: bytes,
        data: bytes,
        start: int,
        end: int,
    ) -> DecodedPacket | None:
        if proto == 17 and end - start >= 8:
            length = (data[start + 4] << 8) | data[start + 5]
            value = (data[start + 6] << 8) | data[start + 7]
            # 0: no checksum (UDP over IPv4; tunnels over IPv6, RFC 6935): nothing to verify.
            if 8 <= length <= end - start and value != 0:
                if self._check(frame, "UDP", 17, src, dst, data, start, start + length, value):
                    return None
        elif proto == 6 and end - start >= 20:
            value = (data[start + 16] << 8) | data[start + 17]
            if self._check(frame, "TCP", 6, src, dst, data, start, end, value):
                return None
        return super()._l4(frame, ts, proto, src, dst, data, start, end)

    def _check(
        self,
        frame: int,
        kind: str,
        proto: int,
        src: bytes,
        dst: bytes,
        data: bytes,
        start: int,
        end: int,
        value: int,
    ) -> bool:
        """Verify one UDP/TCP checksum; True when the packet is to be dropped."""
        size = end - start
        partial = pseudo_header_sum(src, dst, proto, size)
        body = data[start:end]
        zeroed = body[: 6 if proto == 17 else 16] + b"\x00\x00" + body[8 if proto == 17 else 18 :]
        want = (~ones_sum(zeroed, partial)) & 0xFFFF
        if proto == 17 and want == 0:
            want = 0xFFFF  # RFC 768: a computed 0 is sent as all ones
        if value == want:
            self._good(kind, src)
            return False
        ip_size = size + (20 if len(src) == 4 else 40)
        return self._bad(frame, kind, src, ip_size, value, want, partial)
