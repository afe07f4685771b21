"""What wrapped a frame, and what the decoder could not follow: the network layer's own facts.

Data-centre captures rarely hold traffic as the endpoints sent it: SPAN sessions arrive as
ERSPAN inside GRE, overlay networks add VXLAN or Geneve, provider links add MPLS labels and
802.1ad tags, Windows IPv6 candidates travel in Teredo. :class:`PacketDecoder` follows them
all down to UDP/TCP; this module keeps what it learned on the way, bounded:

- an :class:`Encapsulation` per distinct wrapping (outermost layer first), shared by every frame
  wrapped the same way and named on the messages and connections that came through it;
- frame counts per encapsulation kind (``ERSPAN II``, ``GRE / VXLAN`` ...);
- frame counts per kind of thing *not* decoded (``EtherType 0x0806 (ARP)``, ``IP protocol 50
  (ESP)``, ``GRE protocol 0x8881`` ...), so a capture that gives no SIP says why.

Nothing here is touched for a frame that is plain Ethernet/IP/UDP or TCP: the hot path pays
only on frames that are wrapped or not decoded.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from ..model import format_ip

#: Inner flows whose encapsulation is remembered; past it new flows are counted, not kept.
#: Each entry holds a 4-tuple of the inner flow (~250 bytes): 16,384 flows cost ~4 MB.
MAX_FLOWS = 16384
#: Distinct wrappings kept as shared objects (each a few hundred bytes).
MAX_ENCAPSULATIONS = 1024

#: One wrapping layer as the decoder records it: (kind, identifier, outer source, outer
#: destination). The identifier is the GRE key, ERSPAN session, VXLAN/Geneve VNI, the MPLS
#: label stack or the 802.1ad VLAN IDs (None when the kind has none); outer addresses are the
#: raw IP addresses of the tunnel's own header (None for MPLS and 802.1ad).
Layer = tuple[str, object, bytes | None, bytes | None]

_ID_NAMES = {
    "GRE": "key",
    "NVGRE": "VSID",
    "PPTP": "call",
    "ERSPAN I": None,
    "ERSPAN II": "session",
    "ERSPAN III": "session",
    "VXLAN": "VNI",
    "VXLAN-GPE": "VNI",
    "Geneve": "VNI",
}

ETHERTYPE_NAMES = {
    0x0806: "ARP",
    0x8035: "RARP",
    0x809B: "AppleTalk",
    0x8137: "IPX",
    0x8808: "Ethernet flow control",
    0x8809: "LACP",
    0x8863: "PPPoE discovery",
    0x888E: "802.1X",
    0x88CC: "LLDP",
    0x88E5: "MACsec",
    0x88F7: "PTP",
    0x8902: "CFM",
    0x22F3: "TRILL",
    0x893A: "IEEE 1905",
    0x9000: "loopback",
}

IP_PROTOCOL_NAMES = {
    0: "hop-by-hop",
    1: "ICMP",
    2: "IGMP",
    8: "EGP",
    43: "routing header",
    46: "RSVP",
    50: "ESP",
    51: "AH",
    58: "ICMPv6",
    59: "no next header",
    88: "EIGRP",
    89: "OSPF",
    103: "PIM",
    112: "VRRP",
    115: "L2TPv3",
    132: "SCTP",
    136: "UDP-Lite",
}

GRE_PROTOCOL_NAMES = {
    0x880B: "PPP",
    0x8881: "CDMA2000",
    0x88BE: "ERSPAN",
    0x22EB: "ERSPAN III",
    0x6558: "Ethernet",
    0x0001: "keepalive",
}


def _layer_text(layer: Layer, addresses: bool = True) -> str:
    kind, ident, src, dst = layer
    words = [kind]
    if ident is not None:
        if kind == "MPLS":
            labels = ident if isinstance(ident, tuple) else (ident,)
            words.append(("label " if len(labels) == 1 else "labels ") + "/".join(map(str, labels)))
        elif kind == "802.1ad":
            vids = ident if isinstance(ident, tuple) else (ident,)
            words.append("VLAN " + "/".join(map(str, vids)))
        else:
            name = _ID_NAMES.get(kind)
            words.append(f"{name} {ident}" if name else str(ident))
    if addresses and src is not None and dst is not None:
        words.append(f"{format_ip(src)} → {format_ip(dst)}")
    return " ".join(words)


@dataclass(frozen=True, slots=True)
class Encapsulation:
    """How a frame was wrapped around the IP packet that was decoded, outermost layer first.

    ``kind`` names the layers alone (``ERSPAN II``, ``GRE / VXLAN``), ``short`` adds their
    identifiers (``ERSPAN II session 7``), ``text`` the tunnel endpoints too
    (``ERSPAN II session 7 192.0.2.1 → 192.0.2.2``).
    """

    layers: tuple[Layer, ...]

    @property
    def kind(self) -> str:
        return " / ".join(layer[0] for layer in self.layers)

    @property
    def short(self) -> str:
        return " / ".join(_layer_text(layer, False) for layer in self.layers)

    @property
    def text(self) -> str:
        return " / ".join(_layer_text(layer) for layer in self.layers)

    def __str__(self) -> str:
        return self.text

    def to_dict(self) -> dict[str, object]:
        """For JSON: the kind, and each layer with its identifier and outer addresses."""
        out = []
        for kind, ident, src, dst in self.layers:
            layer: dict[str, object] = {"type": kind}
            if ident is not None:
                key = _ID_NAMES.get(kind) or {"MPLS": "labels", "802.1ad": "vlans"}.get(kind, "id")
                if kind in ("MPLS", "802.1ad"):
                    layer[key] = list(ident) if isinstance(ident, tuple) else [ident]
                else:
                    layer[key.lower()] = ident
            if src is not None and dst is not None:
                layer["outer_src"] = format_ip(src)
                layer["outer_dst"] = format_ip(dst)
            out.append(layer)
        return {"kind": self.kind, "text": self.text, "layers": out}


def not_decoded_name(key: tuple[str, int]) -> str:
    """Human name of a not-decoded frame kind as :class:`EncapsulationLog` counts them."""
    what, number = key
    if what == "ethertype":
        name = ETHERTYPE_NAMES.get(number)
        return f"EtherType 0x{number:04x}" + (f" ({name})" if name else "")
    if what == "ip":
        name = IP_PROTOCOL_NAMES.get(number)
        return f"IP protocol {number}" + (f" ({name})" if name else "")
    if what == "gre":
        name = GRE_PROTOCOL_NAMES.get(number)
        return f"GRE protocol 0x{number:04x}" + (f" ({name})" if name else "")
    if what == "gre-version":
        return f"GRE version {number}"
    if what == "ppp":
        return f"PPP protocol 0x{number:04x}"
    if what == "null":
        return f"BSD loopback family {number}"
    if what == "geneve":
        return f"Geneve protocol 0x{number:04x}"
    if what == "vxlan-gpe":
        return f"VXLAN-GPE next protocol {number}"
    if what == "erspan":
        return f"ERSPAN III frame type {number}"
    if what == "llc":
        return "802.3 LLC (no SNAP)"
    if what == "mpls":
        return "MPLS payload that is not IP or Ethernet"
    if what == "pppoe":
        return f"PPPoE code 0x{number:02x}"
    if what == "depth":
        return f"encapsulations nested deeper than {number}"
    return f"{what} {number}"


class EncapsulationLog:
    """Per capture: frames per encapsulation, inner flows → their encapsulation, and frames
    the decoder returned nothing for, by kind. Every table is bounded (module constants)."""

    __slots__ = ("frames", "not_decoded", "flows", "flows_not_kept", "_interned", "_last")

    def __init__(self) -> None:
        #: Frames per encapsulation kind (whether or not the inner packet was decoded).
        self.frames: Counter[str] = Counter()
        #: Frames that gave no UDP/TCP, per kind: ``(what, number)`` keys (not_decoded_name).
        self.not_decoded: Counter[tuple[str, int]] = Counter()
        #: Inner (src, sport, dst, dport) → how its frames were wrapped (the latest wrapping).
        self.flows: dict[tuple[bytes, int, bytes, int], Encapsulation] = {}
        self.flows_not_kept = 0
        self._interned: dict[tuple[Layer, ...], Encapsulation] = {}
        #: The last wrapped frame's payload and encapsulation (see :meth:`of_payload`).
        self._last: tuple[bytes, Encapsulation] | None = None

    def frame(self, layers: tuple[Layer, ...], packet: tuple[Any, ...] | None) -> None:
        """One wrapped frame: count it, and remember its flow when it decoded to UDP/TCP."""
        enc = self._interned.get(layers)
        if enc is None:
            enc = Encapsulation(layers)
            if len(self._interned) < MAX_ENCAPSULATIONS:
                self._interned[layers] = enc
        self.frames[enc.kind] += 1
        if packet is None:
            return
        self._last = (packet[5], enc)
        key = (packet[1], packet[2], packet[3], packet[4])
        flows = self.flows
        if key in flows or len(flows) < MAX_FLOWS:
            flows[key] = enc
        else:
            self.flows_not_kept += 1

    def of(self, src: bytes, sport: int, dst: bytes, dport: int) -> Encapsulation | None:
        """The encapsulation of a flow's frames (either direction), None when not wrapped."""
        flows = self.flows
        if not flows:
            return None
        return flows.get((src, sport, dst, dport)) or flows.get((dst, dport, src, sport))

    def of_payload(self, payload: bytes) -> Encapsulation | None:
        """The encapsulation of the frame that just decoded to ``payload`` (the very object the
        decoder returned), None when that frame was not wrapped: exact per datagram, where
        :meth:`of` says how a flow's frames were wrapped lately."""
        last = self._last
        if last is not None and last[0] is payload:
            return last[1]
        return None

    def not_decoded_names(self) -> Counter[str]:
        """The not-decoded counts with readable names, most frequent first."""
        out: Counter[str] = Counter()
        for key, count in self.not_decoded.most_common():
            out[not_decoded_name(key)] += count
        return out
