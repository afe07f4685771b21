"""MS-SIPCOMP ("LZ77-8K"): SIP compressed with MPPC / RDP 4.0 over an 8 KiB history.

:mod:`.mppc` is the codec (both directions), :mod:`.stream` the per-direction packet framing
and the NEGOTIATE tracking that says when a connection switches to it, :mod:`.budget` the bound
on what all the decoders of a capture may decompress.
"""

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
