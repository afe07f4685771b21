"""How a relayed RTP stream travelled: the TURN server, its allocation and the outer 5-tuple.

Media that goes through a TURN server is counted as the flow the far end sees — between the
allocation's relayed address and the peer (media/stun_pipeline.py rewrites it so) — because
that is the flow SDP candidates, ICE and the peer's own statistics name. On the wire, though,
those packets travelled between the TURN client and the server, wrapped in one of:

- RFC 5766 ChannelData (``channel-data``, with its channel number), over UDP or TCP;
- a Send indication (RFC 5766) or MS-TURN Send request (``send-indication``), client → server;
- a Data indication (RFC 5766 or MS-TURN) (``data-indication``), server → client;
- nothing at all after an MS-TURN Set Active Destination (``active-destination``): raw
  RTP/RTCP on the allocation's UDP 4-tuple, or MS-TURN TCP end-to-end data frames (type 3);
- an MS-TURN 0xFF10 multiplexed frame (``multiplexed``), whose inner flow keeps the outer
  addresses (the frame names a TURN session, not a peer).

A :class:`RelayPath` says which, so a user comparing with a capture tool that keys streams by
the outer addresses (Wireshark's RTP Streams lists these packets under the client ↔ server
5-tuple) can find the same packets. One object per flow direction, shared by its streams and
replaced (never changed) when a flow shows a second mechanism (Send indications before a
ChannelBind, ChannelData after it).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from ..model import Endpoint

CHANNEL_DATA = "channel-data"
SEND_INDICATION = "send-indication"
DATA_INDICATION = "data-indication"
ACTIVE_DESTINATION = "active-destination"
MULTIPLEXED = "multiplexed"


@dataclass(frozen=True, slots=True)
class RelayPath:
    """One relayed flow direction as it appeared on the wire.

    ``outer_src``/``outer_dst`` over ``transport`` are the addresses of the packets that
    carried the media (TURN client → server towards the peer, server → client from it).
    ``server``, ``relayed`` and ``allocation`` (the ``turn_allocation`` record's ``id``) are
    None when the capture lacks what names them (the Allocate exchange, a ChannelBind).
    """

    via: tuple[str, ...]
    transport: str
    outer_src: Endpoint
    outer_dst: Endpoint
    server: Endpoint | None = None
    relayed: Endpoint | None = None
    allocation: int | None = None
    channel: int | None = None

    def including(self, other: RelayPath | None) -> RelayPath:
        """This path with what ``other`` (an earlier path of the same flow) already said:
        its mechanisms first, its outer addresses and allocation kept."""
        if other is None:
            return self
        via = other.via + tuple(v for v in self.via if v not in other.via)
        return replace(
            other,
            via=via,
            server=other.server or self.server,
            relayed=other.relayed or self.relayed,
            allocation=other.allocation if other.allocation is not None else self.allocation,
            channel=other.channel if other.channel is not None else self.channel,
        )


__all__ = [
    "ACTIVE_DESTINATION",
    "CHANNEL_DATA",
    "DATA_INDICATION",
    "MULTIPLEXED",
    "SEND_INDICATION",
    "RelayPath",
]
