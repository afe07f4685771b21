"""Link layer to UDP/TCP in one pass over the frame's bytes: the per-packet hot path.

Every frame of a capture goes through :meth:`PacketDecoder.decode`, so it works on the original
``bytes`` with precompiled ``struct`` readers and index arithmetic: no object is made per layer,
only the result tuple and the slices it holds. Anything that is not UDP or TCP yields None and
is counted by kind (``encap.not_decoded``); anything malformed or cut short by the snap length
yields None and a defect.

Tunnels and mirrored traffic are followed down to the inner UDP/TCP, recursively, at most
:data:`MAX_ENCAPSULATION_DEPTH` layers deep: GRE (RFC 2784/2890, with keys, sequence numbers
and RFC 1701 routing; NVGRE; PPTP's enhanced GRE), ERSPAN types I, II and III (Cisco's draft,
the GRE protocols 0x88BE and 0x22EB), IP-in-IP, 6in4, 4in6 and IPv6-in-IPv6, VXLAN (UDP 4789 and
Linux's 8472), VXLAN-GPE (4790), Geneve (6081), Teredo (RFC 4380: UDP 3544, and any port when
the inner IPv6 packet fills the datagram exactly and has a 2001::/32 address), MPLS (to IP or,
after a pseudowire control word, Ethernet) and 802.1ad / QinQ tags. A frame that went through
any of them is recorded in ``encap`` (:mod:`lyncdump.net.encap`), which names it on the messages
and connections it carried; a plain frame never touches it.
"""

from __future__ import annotations

import struct
from collections.abc import Callable

from lyncdump.model import DefectLog
from lyncdump.net.encap import EncapsulationLog, Layer
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

#: Wrapping layers (tunnels, MPLS, 802.1ad) followed in one frame at most; deeper ones are
#: counted as not decoded. Bounds the recursion a hostile frame can cause.
MAX_ENCAPSULATION_DEPTH = 4

_GRE_IPV4 = 0x0800
_GRE_IPV6 = 0x86DD
_GRE_ETHERNET = 0x6558
_GRE_ERSPAN = 0x88BE
_GRE_ERSPAN3 = 0x22EB
_GRE_PPP = 0x880B

#: UDP ports of the tunnels followed over UDP (either end of the datagram).
_VXLAN_PORTS = frozenset({4789, 8472})
_VXLAN_GPE_PORT = 4790
_GENEVE_PORT = 6081
_TEREDO_PORT = 3544
_UDP_TUNNEL_PORTS = frozenset({4789, 8472, 4790, 6081, 3544})
#: The Teredo prefix 2001:0000::/32 (RFC 4380 section 2.6).
_TEREDO_PREFIX = b"\x20\x01\x00\x00"

_unpack_ip4 = struct.Struct("!BxHxxHxB").unpack_from  # ver/ihl, total, flags/frag, proto
_unpack_ip6 = struct.Struct("!BxxxHB").unpack_from  # ver/class, payload length, next header
_unpack_udp = struct.Struct("!HHH").unpack_from  # sport, dport, length
_unpack_tcp = struct.Struct("!HHI4xBB").unpack_from  # sport, dport, seq, offset, flags
_unpack_u16 = struct.Struct("!H").unpack_from
_unpack_u32_le = struct.Struct("<I").unpack_from
_unpack_u32 = struct.Struct("!I").unpack_from
_unpack_frag6 = struct.Struct("!BxHI").unpack_from  # next header, offset/M, identification
_unpack_gre = struct.Struct("!HH").unpack_from  # flags/version, protocol type

DecodedPacket = tuple[int, bytes, int, bytes, int, bytes, int, int]
"""``(proto, src, sport, dst, dport, payload, seq, flags)``; seq and flags are 0 for UDP."""


class PacketDecoder:
    """Turns captured frames into UDP datagrams and TCP segments, reassembling IP fragments.

    One decoder per capture: it owns the fragment buffers, bounded by ``max_fragment_bytes``
    and ``fragment_timeout`` (seconds of capture time), and ``encap``, what it learned about
    wrapped and not-decoded frames. Call :meth:`flush` at the end so that datagrams still
    missing fragments are reported.
    """

    __slots__ = ("defects", "fragments", "encap", "_unsupported", "_path")

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
        self.encap = EncapsulationLog()
        self._unsupported: set[int] = set()
        #: The wrapping layers of the frame being decoded, outermost first (empty when plain).
        self._path: list[Layer] = []

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
                return self._ipv4(frame, ts, data, 14, n)
            return self._ethertype(frame, ts, data, 14, n, etype, "ethernet")
        if linktype == 101 or linktype == 12 or linktype == 14:
            return self._raw_ip(frame, ts, data, 0, len(data), "raw")
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
            return self._ipv4(frame, ts, data, 0, len(data))
        if linktype == 229:
            return self._ipv6(frame, ts, data, 0, len(data))
        if linktype == 9:
            return self._ppp(frame, ts, data, 0, len(data), "ppp")
        if linktype == 51:
            return self._pppoe(frame, ts, data, 0, len(data))
        if linktype not in self._unsupported:
            # Once per link type: a capture of an unknown type would otherwise flood the log.
            self._unsupported.add(linktype)
            self.defects.add(frame, "link", None, f"unsupported link type {linktype}")
        return None

    # -- wrapping layers ------------------------------------------------------------------------

    def _wrapped(
        self, layer: Layer, decode_inner: Callable[..., DecodedPacket | None], *args: object
    ) -> DecodedPacket | None:
        """Decode what ``layer`` wraps (``decode_inner(*args)``) with the layer on the frame's
        path; the outermost wrapper records the frame in ``encap`` once the inner is done."""
        path = self._path
        outermost = not path
        path.append(layer)
        try:
            if len(path) > MAX_ENCAPSULATION_DEPTH:
                self.encap.not_decoded[("depth", MAX_ENCAPSULATION_DEPTH)] += 1
                result = None
            else:
                result = decode_inner(*args)
            if outermost:
                self.encap.frame(tuple(path), result)
        finally:
            if outermost:
                path.clear()
        return result

    def _not_decoded(self, what: str, number: int) -> None:
        """Count a frame that gives no UDP/TCP (also what a tunnel carries that is not
        followed: the frame then counts as wrapped and as not decoded)."""
        self.encap.not_decoded[(what, number)] += 1

    # -- link layer -----------------------------------------------------------------------------

    def _ether(self, frame: int, ts: float, data: bytes, off: int, n: int) -> DecodedPacket | None:
        """An Ethernet frame inside a tunnel (ERSPAN, VXLAN, Geneve, GRE bridging, MPLS PW)."""
        if n - off < 14:
            self.defects.add(
                frame, "ethernet", 0, f"inner frame of {n - off} bytes, header needs 14"
            )
            return None
        etype = (data[off + 12] << 8) | data[off + 13]
        if etype == 0x0800:
            return self._ipv4(frame, ts, data, off + 14, n)
        return self._ethertype(frame, ts, data, off + 14, n, etype, "ethernet")

    def _ethertype(
        self, frame: int, ts: float, data: bytes, off: int, n: int, etype: int, layer: str
    ) -> DecodedPacket | None:
        """Follow an EtherType through VLAN tags, 802.3 SNAP, PPPoE and MPLS to IP."""
        if etype in _VLAN_TYPES:
            first = etype
            vids: list[int] = []
            while etype in _VLAN_TYPES:
                if n - off < 4:
                    self.defects.add(frame, "vlan", 0, f"tag needs 4 bytes, {n - off} captured")
                    return None
                vids.append(((data[off] << 8) | data[off + 1]) & 0x0FFF)
                etype = (data[off + 2] << 8) | data[off + 3]
                off += 4
            if first != 0x8100:
                # 802.1ad (QinQ, and the older 0x9100/0x9200): provider tags are named on
                # what they carried; customer 802.1Q tags are ordinary and stay unnamed.
                return self._wrapped(
                    ("802.1ad", tuple(vids), None, None),
                    self._ethertype,
                    frame,
                    ts,
                    data,
                    off,
                    n,
                    etype,
                    "vlan",
                )
            layer = "vlan"
        if etype == _ETH_IPV4:
            return self._ipv4(frame, ts, data, off, n)
        if etype == _ETH_IPV6:
            return self._ipv6(frame, ts, data, off, n)
        if etype < 0x0600 and (layer == "ethernet" or layer == "vlan"):
            # IEEE 802.3 length field: only LLC/SNAP can carry an EtherType onwards.
            if (
                n - off >= 8
                and data[off] == 0xAA
                and data[off + 1] == 0xAA
                and data[off + 2] == 0x03
            ):
                return self._ethertype(
                    frame, ts, data, off + 8, n, (data[off + 6] << 8) | data[off + 7], "snap"
                )
            self._not_decoded("llc", 0)
            return None
        if etype == _ETH_PPPOE_SESSION:
            return self._pppoe(frame, ts, data, off, n)
        if etype == _ETH_MPLS or etype == _ETH_MPLS_MCAST:
            return self._mpls(frame, ts, data, off, n)
        self._not_decoded("ethertype", etype)
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
            return self._ipv4(frame, ts, data, 4, len(data))
        if family in _AF_INET6:
            return self._ipv6(frame, ts, data, 4, len(data))
        self._not_decoded("null", family)
        return None

    def _raw_ip(
        self, frame: int, ts: float, data: bytes, off: int, n: int, layer: str
    ) -> DecodedPacket | None:
        """No link header: the IP version nibble says which IP it is."""
        if n <= off:
            self.defects.add(frame, layer, 0, "no IP header captured")
            return None
        version = data[off] >> 4
        if version == 4:
            return self._ipv4(frame, ts, data, off, n)
        if version == 6:
            return self._ipv6(frame, ts, data, off, n)
        self.defects.add(frame, layer, 0, f"IP version {version}")
        return None

    def _ppp(
        self, frame: int, ts: float, data: bytes, off: int, n: int, layer: str
    ) -> DecodedPacket | None:
        """PPP: optional address/control bytes, then a 1- or 2-byte protocol field."""
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
            return self._ipv4(frame, ts, data, off, n)
        if proto == _PPP_IPV6:
            return self._ipv6(frame, ts, data, off, n)
        self._not_decoded("ppp", proto)
        return None

    def _pppoe(self, frame: int, ts: float, data: bytes, off: int, n: int) -> DecodedPacket | None:
        """PPPoE session header (RFC 2516): version/type, code, session id, length, then PPP."""
        if n - off < 6:
            self.defects.add(frame, "pppoe", 0, f"header needs 6 bytes, {n - off} captured")
            return None
        if data[off + 1] != 0:  # only session data (code 0) carries PPP frames
            self._not_decoded("pppoe", data[off + 1])
            return None
        return self._ppp(frame, ts, data, off + 6, n, "pppoe")

    def _mpls(self, frame: int, ts: float, data: bytes, off: int, n: int) -> DecodedPacket | None:
        """MPLS label stack down to the bottom-of-stack entry: IP guessed by its version
        nibble, or, behind a pseudowire control word (first nibble 0), an Ethernet frame."""
        labels: list[int] = []
        while True:
            if n - off < 4:
                self.defects.add(frame, "mpls", 0, "label stack truncated")
                return None
            labels.append((data[off] << 12) | (data[off + 1] << 4) | (data[off + 2] >> 4))
            bottom = data[off + 2] & 1
            off += 4
            if bottom:
                break
        return self._wrapped(
            ("MPLS", tuple(labels), None, None), self._mpls_payload, frame, ts, data, off, n
        )

    def _mpls_payload(
        self, frame: int, ts: float, data: bytes, off: int, n: int
    ) -> DecodedPacket | None:
        if n - off < 1:
            self.defects.add(frame, "mpls", 0, "nothing after the label stack")
            return None
        version = data[off] >> 4
        if version == 4:
            return self._ipv4(frame, ts, data, off, n)
        if version == 6:
            return self._ipv6(frame, ts, data, off, n)
        if version == 0 and n - off >= 18:
            # RFC 4385 control word, then an Ethernet pseudowire (RFC 4448) when what follows
            # has an EtherType that leads somewhere: otherwise it is some other pseudowire.
            etype = (data[off + 16] << 8) | data[off + 17]
            if etype in (0x0800, 0x86DD) or etype in _VLAN_TYPES:
                return self._ether(frame, ts, data, off + 4, n)
        self._not_decoded("mpls", 0)
        return None

    # -- IP -------------------------------------------------------------------------------------

    def _ipv4(self, frame: int, ts: float, data: bytes, off: int, n: int) -> DecodedPacket | None:
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
            )
        return self._ip_payload(
            frame, ts, proto, data[off + 12 : off + 16], data[off + 16 : off + 20], data, start, end
        )

    def _ipv6(self, frame: int, ts: float, data: bytes, off: int, n: int) -> DecodedPacket | None:
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
        may_fragment: bool,
    ) -> DecodedPacket | None:
        """Walk extension headers from ``pos`` until UDP/TCP, a fragment, or something opaque."""
        while True:
            if nh == 17 or nh == 6:
                return self._l4(frame, ts, nh, src, dst, data, pos, end)
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
            # ICMPv6, ESP, no next header, a tunnel, or unknown.
            return self._ip_payload(frame, ts, nh, src, dst, data, pos, end)

    def _ip_payload(
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
        """An IP payload that is neither UDP nor TCP: a tunnel to follow, or counted."""
        if proto == 47:
            return self._gre(frame, ts, src, dst, data, start, end)
        if proto == 4:
            kind = "IP-in-IP" if len(src) == 4 else "4in6"
            return self._wrapped((kind, None, src, dst), self._ipv4, frame, ts, data, start, end)
        if proto == 41:
            kind = "6in4" if len(src) == 4 else "IPv6-in-IPv6"
            return self._wrapped((kind, None, src, dst), self._ipv6, frame, ts, data, start, end)
        self._not_decoded("ip", proto)
        return None

    # -- tunnels --------------------------------------------------------------------------------

    def _gre(
        self, frame: int, ts: float, src: bytes, dst: bytes, data: bytes, start: int, end: int
    ) -> DecodedPacket | None:
        """GRE (RFC 2784, 2890; RFC 1701 routing; RFC 2637 enhanced GRE) and what it carries."""
        if end - start < 4:
            self.defects.add(frame, "gre", 0, f"header needs 4 bytes, {end - start} available")
            return None
        flags, proto = _unpack_gre(data, start)
        version = flags & 7
        pos = start + 4
        key: int | None = None
        seq = False
        if version == 0:
            if flags & 0xC000:  # checksum or routing present: checksum + offset words
                pos += 4
            if flags & 0x2000:
                if end - pos < 4:
                    self.defects.add(frame, "gre", pos - start, "key truncated")
                    return None
                key = _unpack_u32(data, pos)[0]
                pos += 4
            if flags & 0x1000:
                seq = True
                pos += 4
            if flags & 0x4000:  # RFC 1701 source route entries, ended by a null SRE
                while True:
                    if end - pos < 4:
                        self.defects.add(frame, "gre", pos - start, "source route truncated")
                        return None
                    family = _unpack_u16(data, pos)[0]
                    length = data[pos + 3]
                    pos += 4 + length
                    if family == 0 and length == 0:
                        break
        elif version == 1:
            # PPTP (RFC 2637): key = payload length + call ID, optional sequence and ack.
            key = _unpack_u16(data, pos + 2)[0] if end - pos >= 4 else None
            pos += 4
            if flags & 0x1000:
                pos += 4
            if flags & 0x0080:
                pos += 4
        else:
            self._not_decoded("gre-version", version)
            return None
        if pos > end:
            self.defects.add(frame, "gre", 0, f"header of {pos - start} bytes truncated")
            return None
        if proto == _GRE_IPV4:
            return self._wrapped(("GRE", key, src, dst), self._ipv4, frame, ts, data, pos, end)
        if proto == _GRE_IPV6:
            return self._wrapped(("GRE", key, src, dst), self._ipv6, frame, ts, data, pos, end)
        if proto == _GRE_ERSPAN:
            if not seq:
                # Type I: no sequence number and no ERSPAN header, the mirrored frame at once.
                layer: Layer = ("ERSPAN I", None, src, dst)
                return self._wrapped(layer, self._ether, frame, ts, data, pos, end)
            if end - pos < 8:
                self.defects.add(frame, "erspan", 0, f"type II header needs 8 bytes, {end - pos}")
                return None
            session = _unpack_u16(data, pos + 2)[0] & 0x03FF
            layer = ("ERSPAN II", session, src, dst)
            return self._wrapped(layer, self._ether, frame, ts, data, pos + 8, end)
        if proto == _GRE_ERSPAN3:
            return self._erspan3(frame, ts, src, dst, data, pos, end)
        if proto == _GRE_ETHERNET:
            if key is not None and not flags & 0x9000:
                layer = ("NVGRE", key >> 8, src, dst)  # RFC 7637: VSID in the key's top 24 bits
            else:
                layer = ("GRE", key, src, dst)
            return self._wrapped(layer, self._ether, frame, ts, data, pos, end)
        if proto == _GRE_PPP:
            layer = ("PPTP" if version == 1 else "GRE", key, src, dst)
            return self._wrapped(layer, self._ppp, frame, ts, data, pos, end, "ppp")
        if proto == _ETH_MPLS or proto == _ETH_MPLS_MCAST:
            return self._wrapped(("GRE", key, src, dst), self._mpls, frame, ts, data, pos, end)
        return self._wrapped(("GRE", key, src, dst), self._not_decoded, "gre", proto)

    def _erspan3(
        self, frame: int, ts: float, src: bytes, dst: bytes, data: bytes, pos: int, end: int
    ) -> DecodedPacket | None:
        """ERSPAN type III: a 12-byte header (plus an 8-byte platform subheader when O is set);
        frame type 0 is Ethernet, 2 an IP packet."""
        if end - pos < 12:
            self.defects.add(frame, "erspan", 0, f"type III header needs 12 bytes, {end - pos}")
            return None
        session = _unpack_u16(data, pos + 2)[0] & 0x03FF
        word = _unpack_u16(data, pos + 10)[0]
        frame_type = (word >> 10) & 0x1F
        inner = pos + (20 if word & 1 else 12)
        if inner > end:
            self.defects.add(frame, "erspan", 12, "platform-specific subheader truncated")
            return None
        layer: Layer = ("ERSPAN III", session, src, dst)
        if frame_type == 0:
            return self._wrapped(layer, self._ether, frame, ts, data, inner, end)
        if frame_type == 2:
            return self._wrapped(layer, self._raw_ip, frame, ts, data, inner, end, "erspan")
        return self._wrapped(layer, self._not_decoded, "erspan", frame_type)

    def _udp_tunnel(
        self,
        frame: int,
        ts: float,
        src: bytes,
        sport: int,
        dst: bytes,
        dport: int,
        data: bytes,
        pos: int,
        end: int,
    ) -> DecodedPacket | bool | None:
        """A UDP payload that may be a tunnel: the inner result (None when the inner packet
        gave nothing), or False when the payload is not the tunnel its port suggests."""
        size = end - pos
        b0 = data[pos]
        if dport in _VXLAN_PORTS or (sport in _VXLAN_PORTS and dport not in _UDP_TUNNEL_PORTS):
            # RFC 7348: flags (I set), 24 reserved bits, VNI, 8 reserved bits; an Ethernet frame.
            # Reserved bits must be 0 (VXLAN-GBP's 0x88 keeps its policy in bytes 2-3): random
            # UDP on the port is not taken for VXLAN.
            if size < 8 + 14 or b0 & 0x7F != 0x08 or data[pos + 7]:
                return False
            if b0 == 0x08 and (data[pos + 1] or data[pos + 2] or data[pos + 3]):
                return False
            vni = _unpack_u32(data, pos + 4)[0] >> 8
            layer: Layer = ("VXLAN", vni, src, dst)
            return self._wrapped(layer, self._ether, frame, ts, data, pos + 8, end)
        if dport == _GENEVE_PORT or sport == _GENEVE_PORT:
            # RFC 8926: version 0, option length in 4-byte words, O and C flags (reserved bits
            # 0), protocol type, VNI, a reserved byte (0).
            if size < 8 or b0 >> 6 or data[pos + 1] & 0x3F or data[pos + 7]:
                return False
            inner = pos + 8 + ((b0 & 0x3F) << 2)
            if inner > end:
                return False
            proto = _unpack_u16(data, pos + 2)[0]
            layer = ("Geneve", _unpack_u32(data, pos + 4)[0] >> 8, src, dst)
            if proto == _GRE_ETHERNET:
                return self._wrapped(layer, self._ether, frame, ts, data, inner, end)
            if proto == _ETH_IPV4 or proto == _ETH_IPV6:
                return self._wrapped(layer, self._raw_ip, frame, ts, data, inner, end, "geneve")
            return self._wrapped(layer, self._not_decoded, "geneve", proto)
        if dport == _VXLAN_GPE_PORT or sport == _VXLAN_GPE_PORT:
            # VXLAN-GPE: version 0, I flag; next protocol 1 IPv4, 2 IPv6, 3 Ethernet, 5 MPLS.
            if size < 8 or b0 & 0x30 or not b0 & 0x08 or data[pos + 7]:
                return False
            if data[pos + 1] or data[pos + 2]:  # reserved
                return False
            layer = ("VXLAN-GPE", _unpack_u32(data, pos + 4)[0] >> 8, src, dst)
            nxt = data[pos + 3] if b0 & 0x04 else 3
            if nxt == 1 or nxt == 2:
                return self._wrapped(layer, self._raw_ip, frame, ts, data, pos + 8, end, "vxlan")
            if nxt == 3:
                return self._wrapped(layer, self._ether, frame, ts, data, pos + 8, end)
            if nxt == 5:
                return self._wrapped(layer, self._mpls, frame, ts, data, pos + 8, end)
            return self._wrapped(layer, self._not_decoded, "vxlan-gpe", nxt)
        return self._teredo(frame, ts, src, sport, dst, dport, data, pos, end)

    def _teredo(
        self,
        frame: int,
        ts: float,
        src: bytes,
        sport: int,
        dst: bytes,
        dport: int,
        data: bytes,
        pos: int,
        end: int,
    ) -> DecodedPacket | bool | None:
        """Teredo (RFC 4380): optional authentication and origin indications, then an IPv6
        packet filling the datagram. Off port 3544 the inner packet must also carry a Teredo
        (2001::/32) address, as direct client-to-client traffic does."""
        on_port = sport == _TEREDO_PORT or dport == _TEREDO_PORT
        if data[pos] == 0 and on_port and end - pos >= 2:
            if data[pos + 1] == 1:  # authentication indicator
                if end - pos < 4:
                    return False
                pos += 4 + data[pos + 2] + data[pos + 3] + 9
            if end - pos >= 8 and data[pos] == 0 and data[pos + 1] == 0:  # origin indication
                pos += 8
        if end - pos < 40 or data[pos] >> 4 != 6:
            return False
        if 40 + ((data[pos + 4] << 8) | data[pos + 5]) != end - pos:
            return False
        if not on_port and (
            data[pos + 8 : pos + 12] != _TEREDO_PREFIX
            and data[pos + 24 : pos + 28] != _TEREDO_PREFIX
        ):
            return False
        return self._wrapped(("Teredo", None, src, dst), self._ipv6, frame, ts, data, pos, end)

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
    ) -> DecodedPacket | None:
        """UDP or TCP header between ``start`` and ``end`` of ``data``; anything else goes to
        :meth:`_ip_payload` (a reassembled datagram can be a tunnel too)."""
        if proto == 17:
            if end - start < 8:
                self.defects.add(frame, "udp", 0, f"header needs 8 bytes, {end - start} available")
                return None
            sport, dport, length = _unpack_udp(data, start)
            if length == 0:
                # Jumbogram or UDP segmentation offload: the IP length bounds the datagram.
                pend = end
            elif length < 8:
                self.defects.add(frame, "udp", 4, f"length {length} < 8")
                return None
            elif length > end - start:
                self.defects.add(
                    frame, "udp", 4, f"length {length} exceeds the {end - start} bytes carried"
                )
                return None
            else:
                pend = start + length
            pos = start + 8
            if pend > pos:
                b0 = data[pos]
                # Tunnels over UDP start below 0x80 (VXLAN-GBP with 0x88): RTP never pays more.
                if (b0 < 0x80 or b0 == 0x88) and (
                    dport in _UDP_TUNNEL_PORTS
                    or sport in _UDP_TUNNEL_PORTS
                    or (b0 >> 4 == 6 and pend - pos >= 40)
                ):
                    inner = self._udp_tunnel(frame, ts, src, sport, dst, dport, data, pos, pend)
                    if inner is not False:
                        return inner if isinstance(inner, tuple) else None
            return (17, src, sport, dst, dport, data[pos:pend], 0, 0)
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
        return self._ip_payload(frame, ts, proto, src, dst, data, start, end)
