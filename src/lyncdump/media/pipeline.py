"""Where the per-packet path hands everything that is not SIP: the media side of a capture.

``api.Capture`` calls :meth:`MediaPipeline.udp` for every UDP payload that does not start like
SIP, and :meth:`finish` at the end. The media decoders (STUN/TURN/ICE, RTP/RTCP) hang off this
one object so the capture loop stays a plain loop. The first byte sorts datagrams the RFC 7983
way: 0-3 STUN, 16-19 ZRTP, 20-63 DTLS, 64-79 TURN ChannelData, 128-191 RTP/RTCP.
"""

from __future__ import annotations

from ..model import DefectLog


class MediaPipeline:
    """Per-capture media state; fed datagrams in capture order."""

    def __init__(self, defects: DefectLog) -> None:
        self.defects = defects
        #: Datagrams whose first byte says RTP or RTCP version 2 (128-191).
        self.rtp_like = 0

    def udp(
        self, frame: int, ts: float, src: bytes, sport: int, dst: bytes, dport: int, payload: bytes
    ) -> None:
        """One UDP payload that is not SIP (never empty)."""
        first = payload[0]
        if 128 <= first <= 191:
            self.rtp_like += 1

    def finish(self) -> None:
        """End of capture: close whatever is still open."""
