"""Layer 2 to layer 4: frames in, UDP datagrams and TCP byte-stream events out.

``PacketDecoder`` (decode.py) turns a captured frame into a plain tuple, reassembling IP
fragments on the way (ipfrag.py) and following tunnels (what wrapped a frame, and what was not
decoded, is kept in encap.py); ``TcpReassembler`` (tcp.py) turns TCP segments into ordered
stream events per direction, with explicit gaps. docs/network.md lists what is decoded and the
bounds that apply.
"""

from lyncdump.net.decode import SUPPORTED_LINKTYPES, DecodedPacket, PacketDecoder
from lyncdump.net.encap import Encapsulation, EncapsulationLog
from lyncdump.net.ipfrag import FragmentReassembler
from lyncdump.net.tcp import (
    StreamClosed,
    StreamData,
    StreamEvent,
    StreamGap,
    TcpConnection,
    TcpReassembler,
)

__all__ = [
    "SUPPORTED_LINKTYPES",
    "DecodedPacket",
    "Encapsulation",
    "EncapsulationLog",
    "FragmentReassembler",
    "PacketDecoder",
    "StreamClosed",
    "StreamData",
    "StreamEvent",
    "StreamGap",
    "TcpConnection",
    "TcpReassembler",
]
