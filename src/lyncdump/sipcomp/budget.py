"""How much SIP the MS-SIPCOMP decoders may rebuild: a bound on decompressed bytes, in total.

MPPC lets about ten bytes on the wire (a header and one copy token) rebuild a message of up to
8 KiB, so a capture of a few megabytes could make gigabytes of SIP, every byte of it framed,
parsed and kept. A per-packet bound (one packet never passes the 8 KiB history) does not stop
that; a bound on the total does. Real Lync traffic compresses about 3:1 to 8:1 over a connection
(the samples: 2.2:1 to 6.8:1), so the bound is a ratio with some slack: a scope may produce at
most ``allowance`` bytes more than ``ratio`` times the compressed payload bytes it was given
(packet headers carry no SIP and earn nothing).

Each packet is charged at least :data:`PACKET_CHARGE` bytes: framing, parsing and keeping a SIP
message costs about the same whatever its size, so a flood of small messages each rebuilt by one
copy token (300 bytes from an 11-byte packet) is bounded in work too, not only in bytes. Real
traffic earns more than that: near-identical keep-alives (only CSeq and branch changing) take
about 20 payload bytes for 650, earning 640. CRLF keep-alives are charged their size.

Two scopes nest: one budget per capture (made by whoever runs the pipeline) and one per TCP
connection drawn from it (:meth:`DecompressionBudget.connection`, shared by the connection's two
directions), so one hostile connection cannot spend what the others need, and many connections
cannot each spend their own allowance. A refused draw stops the decoder of that direction; the
first refusal of each scope says why, later ones are short.

The compiled fast path charges the routine packet of the directions it reads on a mirror of
these counters (``_fastpath.c`` sipcomp_charge) and writes them back when it gives a direction
back, and whenever Python is about to read or charge a budget: while it holds charges, the
capture's budget has :attr:`DecompressionBudget.sync` set, which every read here calls first
with the budget read. Python reads and changes only that one and its parents, so the fast
path writes back and reads again only theirs.
"""

from __future__ import annotations

from collections.abc import Callable

__all__ = [
    "CAPTURE_ALLOWANCE",
    "CONNECTION_ALLOWANCE",
    "MAX_RATIO",
    "PACKET_CHARGE",
    "DecompressionBudget",
]

MAX_RATIO = 32
"""Decompressed bytes per compressed byte, on average over a scope, beyond the allowance."""
CAPTURE_ALLOWANCE = 8 << 20
"""Bytes a capture may decompress beyond ``MAX_RATIO`` times its compressed bytes."""
CONNECTION_ALLOWANCE = 1 << 20
"""Bytes one connection may decompress beyond ``MAX_RATIO`` times its compressed bytes."""
PACKET_CHARGE = 512
"""The least a decoded packet is charged (not a keep-alive), whatever it decompressed to."""


_new = object.__new__


class DecompressionBudget:
    """What one scope (a capture, or a connection within it) may still decompress.

    Decoders call :meth:`draw` for every packet they decode, before handing it on.
    """

    __slots__ = ("scope", "allowance", "ratio", "parent", "wire", "plain", "refused", "sync")

    def __init__(
        self,
        allowance: int = CAPTURE_ALLOWANCE,
        ratio: int = MAX_RATIO,
        *,
        parent: DecompressionBudget | None = None,
        scope: str = "capture",
    ) -> None:
        self.scope = scope
        self.allowance = allowance
        self.ratio = ratio
        self.parent = parent
        self.wire = 0
        """Compressed bytes charged so far (headers included)."""
        self.plain = 0
        """Decompressed bytes charged so far (at least ``PACKET_CHARGE`` per packet)."""
        self.refused = False
        """True once a draw was refused: the scope stays closed."""
        self.sync: Callable[[DecompressionBudget], object] | None = None
        """Set on the capture's budget while the compiled fast path holds charges of its own
        (``FastPath.sipcomp_sync``): called with the budget whose counters (or its parents')
        are about to be read or changed, first."""

    def connection(self, allowance: int = CONNECTION_ALLOWANCE) -> DecompressionBudget:
        """A budget for one TCP connection that also draws from this one."""
        # (__init__'s work written out, without its keyword call: one is made for every
        # MS-SIPCOMP connection)
        budget = _new(DecompressionBudget)
        budget.scope = "connection"
        budget.allowance = allowance
        budget.ratio = self.ratio
        budget.parent = self
        budget.wire = 0
        budget.plain = 0
        budget.refused = False
        budget.sync = None
        return budget

    def _synced(self) -> None:
        """Have the fast path write back what it charged (see the module docstring)."""
        top = self
        while top.parent is not None:
            top = top.parent
        if top.sync is not None:
            top.sync(self)

    def limit(self, wire: int = 0) -> int:
        """Decompressed bytes this scope allows once ``wire`` more compressed bytes came in."""
        self._synced()
        return self.allowance + self.ratio * (self.wire + wire)

    def draw(self, wire: int, plain: int, *, keepalive: bool = False) -> str | None:
        """Charge one packet (``wire`` bytes on the wire that rebuilt ``plain`` bytes).

        None when every scope allows it. Otherwise the packet must be dropped and decoding of
        its direction stopped; the string says why (in full the first time a scope refuses).
        """
        self._synced()
        if not keepalive and plain < PACKET_CHARGE:
            plain = PACKET_CHARGE
        node: DecompressionBudget | None = self
        while node is not None:  # (limit() written out: this runs for every packet)
            if node.refused or node.plain + plain > node.allowance + node.ratio * (
                node.wire + wire
            ):
                return node._refuse(wire, plain)
            node = node.parent
        node = self
        while node is not None:
            node.wire += wire
            node.plain += plain
            node = node.parent
        return None

    def _refuse(self, wire: int, plain: int) -> str:
        if self.refused:
            return (
                f"MS-SIPCOMP decoding stopped: this {self.scope}'s decompression budget "
                "is spent (see the first such defect)"
            )
        self.refused = True
        return (
            f"MS-SIPCOMP decoding stopped: this {self.scope} would decompress "
            f"{self.plain + plain} bytes from {self.wire + wire} compressed payload bytes, "
            f"over its budget of {self.ratio}x plus {self.allowance} bytes (packets count at "
            f"least {PACKET_CHARGE}; a decompression bomb?); the rest of the stream is not decoded"
        )

    def __repr__(self) -> str:
        self._synced()
        return (
            f"<DecompressionBudget {self.scope} {self.plain}/{self.limit()} bytes"
            f"{' refused' if self.refused else ''}>"
        )
