"""Link layer to UDP/TCP in one pass over the frame's bytes: the per-packet hot path.

Every frame of a capture goes through :meth:`PacketDecoder.decode`, so it works on the original
``bytes`` with precompiled ``struct`` readers and index arithmetic: no object is made per layer,
only the result tuple and the slices it holds. Anything that is not UDP or TCP yields None
quietly; anything malformed or cut short by the snap length yields None and a defect.
"""

from __future__ import annotations

import struct

from lyncdump.model import DefectLog
from lyncdump.net.ipfrag import FragmentReassembler

# libpcap LINKTYPE_ values this decoder understands.
LINKTYPE_NULL = 0
LINKTYPE_ETHERNET = 1
LINKTYPE_PPP = 9
LINKTYPE_RAW_12 = 12  # DLT_RAW on most BSDs
LINKTYPE_RAW_14 = 14  # DLT_RAW on OpenBSD
LINKTYPE_PPP_ETHER = 51
LINKTYPE_RAW = 101
LINKTYPE_LOOP = 108
LINKTYPE_LINUX_SLL = 113
LINKTYPE_IPV4 = 228
LINKTYPE_IPV6 = 229
LINKTYPE_LINUX_SLL2 = 276

SUPPORTED_LINKTYPES = frozenset(
    {
        LINKTYPE_NULL,
        LINKTYPE_ETHERNET,
        LINKTYPE_PPP,
        LINKTYPE_RAW_12,
        LINKTYPE_RAW_14,
        LINKTYPE_PPP_ETHER,
        LINKTYPE_RAW,
        LINKTYPE_LOOP,
        LINKTYPE_LINUX_SLL,
        LINKTYPE_IPV4,
        LINKTYPE_IPV6,
        LINKTYPE_LINUX_SLL2,
    }
)

PROTO_TCP = 6
PROTO_UDP = 17

_ETH_IPV4 = 0x0800
_ETH_IPV6 = 0x86DD
_ETH_PPPOE_SESSION = 0x8864
_ETH_MPLS = 0x8847
_ETH_MPLS_MCAST = 0x8848
_VLAN_TYPES = frozenset({0x8100, 0x88A8, 0x9100, 0x9200})
_PPP_IPV4 = 0x0021
_PPP_IPV6 = 0x0057

# BSD NULL/LOOP address family values that mean IPv6 (NetBSD/OpenBSD, FreeBSD, Darwin).
_AF_INET = 2
_AF_INET6 = frozenset({24, 28, 30})

# IPv6 extension headers in the generic format (next header, length in 8-octet units - 1).
_IP6_GENERIC_EXT = frozenset({0, 43, 60, 135, 139, 140})
_IP6_FRAGMENT = 44
_IP6_AH = 51

# Tunnels (IP in IP, IPv6 in IP) are followed this many levels deep at most.
_MAX_TUNNEL_DEPTH = 3

_unpack_ip4 = struct.Struct("!BxHxxHxB").unpack_from  # ver/ihl, total, flags/frag, proto
_unpack_ip6 = struct.Struct("!BxxxHB").unpack_from  # ver/class, payload length, next header
_unpack_udp = struct.Struct("!HHH").unpack_from  # sport, dport, length
_unpack_tcp = struct.Struct("!HHI4xBB").unpack_from  # sport, dport, seq, offset, flags
_unpack_u16 = struct.Struct("!H").unpack_from
_unpack_u32_le = struct.Struct("<I").unpack_from
_unpack_u32 = struct.Struct("!I").unpack_from
_unpack_frag6 = struct.Struct("!BxHI").unpack_from  # next header, offset/M, identification

DecodedPacket = tuple[int, bytes, int, bytes, int, bytes, int, int]
"""``(proto, src, sport, dst, dport, payload, seq, flags)``; seq and flags are 0 for UDP."""


class PacketDecoder:
    """Turns captured frames into UDP datagrams and TCP segments, reassembling IP fragments.

    One decoder per capture: it owns the fragment buffers, bounded by ``max_fragment_bytes``
    and ``fragment_timeout`` (seconds of capture time). Call :meth:`flush` at the end so that
    datagrams still missing fragments are reported.
    """

    __slots__ = ("defects", "fragments", "_unsupported")

    def __init__(
        self,
        defects: DefectLog,
        *,
        max_fragment_bytes: int = 4 << 20,
        fragment_timeout: float = 30.0,
    ) -> None:
        self.defects = defects
        self.fragments = FragmentReassembler(
            defects, max_bytes=max_fragment_bytes, timeout=fragment_timeout
        )
        self._unsupported: set[int] = set()

    def flush(self) -> None:
        """End of capture: report datagrams whose fragments never all arrived."""
        self.fragments.flush()

    def decode(self, frame: int, ts: float, linktype: int, data: bytes) -> DecodedPacket | None:
        """Decode one frame down to UDP/TCP; None when there is nothing for layer 4."""
        if linktype == 1:
            n = len(data)
            if n < 14:
                self.defects.add(frame, "ethernet", 0, f"frame of {n} bytes, header needs 14")
                return None
            etype = (data[12] << 8) | data[13]
            if etype == 0x0800:
                return self._ipv4(frame, ts, data, 14, n, 0)
            return self._ethertype(frame, ts, data, 14, n, etype, "ethernet")
        if linktype == 101 or linktype == 12 or linktype == 14:
            return self._raw_ip(frame, ts, data, 0, "raw")
        if linktype == 113:
            if len(data) < 16:
                self.defects.add(frame, "sll", 0, f"frame of {len(data)} bytes, header needs 16")
                return None
            etype = (data[14] << 8) | data[15]
            return self._ethertype(frame, ts, data, 16, len(data), etype, "sll")
        if linktype == 276:
            if len(data) < 20:
                self.defects.add(frame, "sll2", 0, f"frame of {len(data)} bytes, header needs 20")
                return None
            etype = (data[0] << 8) | data[1]
            return self._ethertype(frame, ts, data, 20, len(data), etype, "sll2")
        if linktype == 0 or linktype == 108:
            return self._null(frame, ts, data, linktype)
        if linktype == 228:
            return self._ipv4(frame, ts, data, 0, len(data), 0)
        if linktype == 229:
            return self._ipv6(frame, ts, data, 0, len(data), 0)
        if linktype == 9:
            return self._ppp(frame, ts, data, 0, "ppp")
        if linktype == 51:
            return self._pppoe(frame, ts, data, 0)
        if linktype not in self._unsupported:
            # Once per link type: a capture of an unknown type would otherwise flood the log.
            self._unsupported.add(linktype)
            self.defects.add(frame, "link", None, f"unsupported link type {linktype}")
        return None

    # -- link layer -----------------------------------------------------------------------------

    def _ethertype(
        self, frame: int, ts: float, data: bytes, off: int, n: int, etype: int, layer: str
    ) -> DecodedPacket | None:
        """Follow an EtherType through VLAN tags, 802.3 SNAP, PPPoE and MPLS to IP."""
        if etype in _VLAN_TYPES:
            while etype in _VLAN_TYPES:
                if n - off < 4:
                    self.defects.add(frame, "vlan", 0, f"tag needs 4 bytes, {n - off} captured")
                    return None
                etype = (data[off + 2] << 8) | data[off + 3]
                off += 4
            layer = "vlan"
        if etype == _ETH_IPV4:
            return self._ipv4(frame, ts, data, off, n, 0)
        if etype == _ETH_IPV6:
            return self._ipv6(frame, ts, data, off, n, 0)
        if etype < 0x0600 and (layer == "ethernet" or layer == "vlan"):
            # IEEE 802.3 length field: only LLC/SNAP can carry an EtherType onwards.
            if n - off < 8:
                return None
            if data[off] == 0xAA and data[off + 1] == 0xAA and data[off + 2] == 0x03:
                return self._ethertype(
                    frame, ts, data, off + 8, n, (data[off + 6] << 8) | data[off + 7], "snap"
                )
            return None
        if etype == _ETH_PPPOE_SESSION:
            return self._pppoe(frame, ts, data, off)
        if etype == _ETH_MPLS or etype == _ETH_MPLS_MCAST:
            return self._mpls(frame, ts, data, off)
        return None

    def _null(self, frame: int, ts: float, data: bytes, linktype: int) -> DecodedPacket | None:
        """BSD loopback: a 4-byte address family, host order for NULL, network order for LOOP."""
        if len(data) < 4:
            self.defects.add(frame, "null", 0, f"frame of {len(data)} bytes, header needs 4")
            return None
        if linktype == 108:
            family = _unpack_u32(data, 0)[0]
        else:
            # Host order of the capturing machine, which may not be ours: small values decide.
            family = _unpack_u32_le(data, 0)[0]
            if family > 0xFFFF:
                family = _unpack_u32(data, 0)[0]
        if family == _AF_INET:
            return self._ipv4(frame, ts, data, 4, len(data), 0)
        if family in _AF_INET6:
            return self._ipv6(frame, ts, data, 4, len(data), 0)
        return None

    def _raw_ip(
        self, frame: int, ts: float, data: bytes, off: int, layer: str
    ) -> DecodedPacket | None:
        """No link header: the IP version nibble says which IP it is."""
        n = len(data)
        if n <= off:
            self.defects.add(frame, layer, 0, "no IP header captured")
            return None
        version = data[off] >> 4
        if version == 4:
            return self._ipv4(frame, ts, data, off, n, 0)
        if version == 6:
            return self._ipv6(frame, ts, data, off, n, 0)
        self.defects.add(frame, layer, 0, f"IP version {version}")
        return None

    def _ppp(
        self, frame: int, ts: float, data: bytes, off: int, layer: str
    ) -> DecodedPacket | None:
        """PPP: optional address/control bytes, then a 1- or 2-byte protocol field."""
        n = len(data)
        if n - off >= 2 and data[off] == 0xFF and data[off + 1] == 0x03:
            off += 2
        if n - off < 1:
            self.defects.add(frame, layer, 0, "no PPP protocol captured")
            return None
        if data[off] & 1:  # protocol field compressed to one byte (RFC 1661 PFC)
            proto = data[off]
            off += 1
        else:
            if n - off < 2:
                self.defects.add(frame, layer, 0, "PPP protocol field truncated")
                return None
            proto = (data[off] << 8) | data[off + 1]
            off += 2
        if proto == _PPP_IPV4:
            return self._ipv4(frame, ts, data, off, n, 0)
        if proto == _PPP_IPV6:
            return self._ipv6(frame, ts, data, off, n, 0)
        return None

    def _pppoe(self, frame: int, ts: float, data: bytes, off: int) -> DecodedPacket | None:
        """PPPoE session header (RFC 2516): version/type, code, session id, length, then PPP."""
        n = len(data)
        if n - off < 6:
            self.defects.add(frame, "pppoe", 0, f"header needs 6 bytes, {n - off} captured")
            return None
        if data[off + 1] != 0:  # only session data (code 0) carries PPP frames
            return None
        return self._ppp(frame, ts, data, off + 6, "pppoe")

    def _mpls(self, frame: int, ts: float, data: bytes, off: int) -> DecodedPacket | None:
        """MPLS label stack down to the bottom-of-stack entry, then IP guessed by its version."""
        n = len(data)
        while True:
            if n - off < 4:
                self.defects.add(frame, "mpls", 0, "label stack truncated")
                return None
            bottom = data[off + 2] & 1
            off += 4
            if bottom:
                break
        if n - off < 1:
            return None
        version = data[off] >> 4
        if version == 4:
            return self._ipv4(frame, ts, data, off, n, 0)
        if version == 6:
            return self._ipv6(frame, ts, data, off, n, 0)
        return None  # pseudowire or something else: not ours

    # -- IP -------------------------------------------------------------------------------------

    def _ipv4(
        self, frame: int, ts: float, data: bytes, off: int, n: int, depth: int
    ) -> DecodedPacket | None:
        """IPv4 header checks, padding trim by total length, fragments to the reassembler."""
        if n - off < 20:
            self.defects.add(frame, "ipv4", 0, f"header needs 20 bytes, {n - off} captured")
            return None
        ver_ihl, total, frag, proto = _unpack_ip4(data, off)
        ihl = (ver_ihl & 0x0F) << 2
        if ver_ihl >> 4 != 4:
            self.defects.add(frame, "ipv4", 0, f"version {ver_ihl >> 4}")
            return None
        if ihl < 20:
            self.defects.add(frame, "ipv4", 0, f"header length {ihl} < 20")
            return None
        if total == 0:
            # Segmentation offload on the capturing host leaves 0 here: trust the capture.
            end = n
        else:
            end = off + total
            if total < ihl:
                self.defects.add(frame, "ipv4", 2, f"total length {total} < header {ihl}")
                return None
            if end > n:
                self.defects.add(
                    frame, "ipv4", 2, f"truncated: total length {total}, {n - off} captured"
                )
                return None
        start = off + ihl
        if start > end:
            self.defects.add(frame, "ipv4", 0, f"header length {ihl}, {end - off} captured")
            return None
        if frag & 0x3FFF:
            done = self.fragments.add(
                frame,
                ts,
                (
                    data[off + 12 : off + 16],
                    data[off + 16 : off + 20],
                    proto,
                    _unpack_u16(data, off + 4)[0],
                ),
                (frag & 0x1FFF) << 3,
                bool(frag & 0x2000),
                data[start:end],
                proto,
                "ipv4",
            )
            if done is None:
                return None
            payload = done[1]
            return self._l4(
                frame,
                ts,
                proto,
                data[off + 12 : off + 16],
                data[off + 16 : off + 20],
                payload,
                0,
                len(payload),
                depth,
            )
        if proto == 17 or proto == 6:
            return self._l4(
                frame,
                ts,
                proto,
                data[off + 12 : off + 16],
                data[off + 16 : off + 20],
                data,
                start,
                end,
                depth,
            )
        if (proto == 4 or proto == 41) and depth < _MAX_TUNNEL_DEPTH:
            return self._tunnel(frame, ts, proto, data, start, end, depth)
        return None

    def _ipv6(
        self, frame: int, ts: float, data: bytes, off: int, n: int, depth: int
    ) -> DecodedPacket | None:
        """IPv6 fixed header, then the extension header chain (RFC 8200 section 4)."""
        if n - off < 40:
            self.defects.add(frame, "ipv6", 0, f"header needs 40 bytes, {n - off} captured")
            return None
        first, plen, nh = _unpack_ip6(data, off)
        if first >> 4 != 6:
            self.defects.add(frame, "ipv6", 0, f"version {first >> 4}")
            return None
        if plen == 0:
            # Jumbogram or segmentation offload: the capture is the only length we have.
            end = n
        else:
            end = off + 40 + plen
            if end > n:
                self.defects.add(
                    frame, "ipv6", 4, f"truncated: payload length {plen}, {n - off - 40} captured"
                )
                return None
        return self._ipv6_chain(
            frame,
            ts,
            data[off + 8 : off + 24],
            data[off + 24 : off + 40],
            data,
            off + 40,
            end,
            nh,
            depth,
            True,
        )

    def _ipv6_chain(
        self,
        frame: int,
        ts: float,
        src: bytes,
        dst: bytes,
        data: bytes,
        pos: int,
        end: int,
        nh: int,
        depth: int,
        may_fragment: bool,
    ) -> DecodedPacket | None:
        """Walk extension headers from ``pos`` until UDP/TCP, a fragment, or something opaque."""
        while True:
            if nh == 17 or nh == 6:
                return self._l4(frame, ts, nh, src, dst, data, pos, end, depth)
            if nh in _IP6_GENERIC_EXT or nh == _IP6_AH:
                if end - pos < 2:
                    self.defects.add(frame, "ipv6", pos, f"extension header {nh} truncated")
                    return None
                if nh == _IP6_AH:
                    size = (data[pos + 1] + 2) << 2
                else:
                    size = (data[pos + 1] + 1) << 3
                if end - pos < size:
                    self.defects.add(
                        frame, "ipv6", pos, f"extension header {nh} of {size} bytes truncated"
                    )
                    return None
                nh = data[pos]
                pos += size
                continue
            if nh == _IP6_FRAGMENT:
                if end - pos < 8:
                    self.defects.add(frame, "ipv6", pos, "fragment header truncated")
                    return None
                nh, offset_flags, ident = _unpack_frag6(data, pos)
                pos += 8
                offset = offset_flags & 0xFFF8
                more = offset_flags & 1
                if not offset and not more:
                    continue  # atomic fragment (RFC 6946): nothing to wait for
                if not may_fragment:
                    self.defects.add(frame, "ipv6", pos - 8, "fragment header inside a fragment")
                    return None
                done = self.fragments.add(
                    frame, ts, (src, dst, ident), offset, bool(more), data[pos:end], nh, "ipv6"
                )
                if done is None:
                    return None
                nh, payload = done
                data, pos, end, may_fragment = payload, 0, len(payload), False
                continue
            if (nh == 4 or nh == 41) and depth < _MAX_TUNNEL_DEPTH:
                return self._tunnel(frame, ts, nh, data, pos, end, depth)
            return None  # ICMPv6, ESP, no next header, or unknown: nothing for layer 4

    def _tunnel(
        self, frame: int, ts: float, proto: int, data: bytes, start: int, end: int, depth: int
    ) -> DecodedPacket | None:
        """IP in IP (4) or IPv6 in IP (41): decode the inner packet within the outer's bounds."""
        inner = data[start:end] if end != len(data) else data
        off = start if inner is data else 0
        if proto == 4:
            return self._ipv4(frame, ts, inner, off, len(inner), depth + 1)
        return self._ipv6(frame, ts, inner, off, len(inner), depth + 1)

    # -- transport ------------------------------------------------------------------------------

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
        depth: int,
    ) -> DecodedPacket | None:
        """UDP or TCP header between ``start`` and ``end`` of ``data``; other protocols: None."""
        if proto == 17:
            if end - start < 8:
                self.defects.add(frame, "udp", 0, f"header needs 8 bytes, {end - start} available")
                return None
            sport, dport, length = _unpack_udp(data, start)
            if length == 0:
                # Jumbogram or UDP segmentation offload: the IP length bounds the datagram.
                return (17, src, sport, dst, dport, data[start + 8 : end], 0, 0)
            if length < 8:
                self.defects.add(frame, "udp", 4, f"length {length} < 8")
                return None
            if length > end - start:
                self.defects.add(
                    frame, "udp", 4, f"length {length} exceeds the {end - start} bytes carried"
                )
                return None
            return (17, src, sport, dst, dport, data[start + 8 : start + length], 0, 0)
        if proto == 6:
            if end - start < 20:
                self.defects.add(frame, "tcp", 0, f"header needs 20 bytes, {end - start} available")
                return None
            sport, dport, seq, doff, flags = _unpack_tcp(data, start)
            doff = (doff >> 4) << 2
            if doff < 20:
                self.defects.add(frame, "tcp", 12, f"data offset {doff} < 20")
                return None
            if doff > end - start:
                self.defects.add(
                    frame, "tcp", 12, f"data offset {doff} exceeds the {end - start} bytes carried"
                )
                return None
            return (6, src, sport, dst, dport, data[start + doff : end], seq, flags)
        if (proto == 4 or proto == 41) and depth < _MAX_TUNNEL_DEPTH:
            return self._tunnel(frame, ts, proto, data, start, end, depth)
        return None
