"""MS-SIPCOMP ("LZ77-8K"): SIP compressed with MPPC / RDP 4.0 over an 8 KiB history.

:mod:`.mppc` is the codec (both directions), :mod:`.stream` the per-direction packet framing
and the NEGOTIATE tracking that says when a connection switches to it, :mod:`.budget` the bound
on what all the decoders of a capture may decompress.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lyncdump.sipcomp.budget import DecompressionBudget
    from lyncdump.sipcomp.mppc import (
        HISTORY_SIZE,
        PACKET_AT_FRONT,
        PACKET_COMPRESSED,
        PACKET_FLUSHED,
        PLACEHOLDER,
        MppcCompressor,
        MppcDecompressor,
    )
    from lyncdump.sipcomp.stream import (
        DEFAULT_LAYOUT,
        LAYOUTS,
        DecodedPacket,
        HeaderLayout,
        NegotiationTracker,
        SipcompStreamDecoder,
        SipcompStreamEncoder,
        encode_packet,
    )

#: Where each name of the package lives. They load on first use (PEP 562), so a run that only
#: needs the decompression budget (every capture: pipeline/core.py) does not build the packet
#: decoder's classes; ``from lyncdump.sipcomp import MppcDecompressor`` works as before.
_SUBMODULE = {
    "DecompressionBudget": "budget",
    "HISTORY_SIZE": "mppc",
    "PACKET_AT_FRONT": "mppc",
    "PACKET_COMPRESSED": "mppc",
    "PACKET_FLUSHED": "mppc",
    "PLACEHOLDER": "mppc",
    "MppcCompressor": "mppc",
    "MppcDecompressor": "mppc",
    "DEFAULT_LAYOUT": "stream",
    "LAYOUTS": "stream",
    "DecodedPacket": "stream",
    "HeaderLayout": "stream",
    "NegotiationTracker": "stream",
    "SipcompStreamDecoder": "stream",
    "SipcompStreamEncoder": "stream",
    "encode_packet": "stream",
}

__all__ = [
    "DEFAULT_LAYOUT",
    "HISTORY_SIZE",
    "LAYOUTS",
    "PACKET_AT_FRONT",
    "PACKET_COMPRESSED",
    "PACKET_FLUSHED",
    "PLACEHOLDER",
    "DecodedPacket",
    "DecompressionBudget",
    "HeaderLayout",
    "MppcCompressor",
    "MppcDecompressor",
    "NegotiationTracker",
    "SipcompStreamDecoder",
    "SipcompStreamEncoder",
    "encode_packet",
]


def __getattr__(name: str) -> Any:
    if name in ("budget", "mppc", "stream"):  # ``lyncdump.sipcomp.stream`` as an attribute
        return importlib.import_module(f"{__name__}.{name}")
    submodule = _SUBMODULE.get(name)
    if submodule is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{submodule}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
