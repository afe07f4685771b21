"""Where the per-packet path hands everything that is not SIP: the media side of a capture.

``api.Capture`` calls :meth:`MediaPipeline.udp` for every UDP payload that does not start like
SIP, and :meth:`finish` at the end. The media decoders (STUN/TURN/ICE, RTP/RTCP) hang off this
one object so the capture loop stays a plain loop. The first byte sorts datagrams the RFC 7983
way: 0-3 STUN, 16-19 ZRTP, 20-63 DTLS, 64-79 TURN ChannelData, 128-191 RTP/RTCP.
"""

from __future__ import annotations

from collections.abc import Callable

from ..model import DefectLog
from .stats import RtpTracker
from .stun_pipeline import StunPipeline


class MediaPipeline:
    """Per-capture media state; fed datagrams in capture order."""

    def __init__(
        self, defects: DefectLog, srtp_keys: list[tuple[bytes, bytes]] | None = None
    ) -> None:
        self.defects = defects
        #: RTP/RTCP/SRTP streams and their statistics (issue 5).
        self.rtp = RtpTracker(defects, srtp_keys)
        self._rtp_datagram = self.rtp.datagram
        #: Datagrams whose first byte says RTP or RTCP version 2 (128-191).
        self.rtp_like = 0
        #: Media addresses learned from signalling, TURN and ICE -> what revealed them.
        self.expected_media: dict[tuple[bytes, int], str] = {}
        #: STUN/TURN/ICE (issue 4): messages, allocations, ICE sessions, TCP framings.
        self.stun = StunPipeline(defects, self)
        #: Called when MS-TURN relaying starts: the compiled fast path cannot follow the
        #: address rewriting and per-allocation counts, so the capture loop turns it off.
        self.on_relay: Callable[[], None] | None = None

    def relay_started(self) -> None:
        """An MS-TURN Set Active Destination succeeded: raw media is rewritten from now on."""
        if self.on_relay is not None:
            self.on_relay()
            self.on_relay = None

    def udp(
        self, frame: int, ts: float, src: bytes, sport: int, dst: bytes, dport: int, payload: bytes
    ) -> None:
        """One UDP payload that is not SIP (never empty)."""
        first = payload[0]
        if (first < 4 or 64 <= first <= 79 or first == 0xFF) and self.stun.udp(
            frame, ts, src, sport, dst, dport, payload
        ):
            return
        if 128 <= first <= 191:
            self.rtp_like += 1
            if self.stun.active:  # MS-TURN Set Active Destination: media is relayed raw
                src, sport, dst, dport = self.stun.raw_media(src, sport, dst, dport, payload)
            self._rtp_datagram(frame, ts, src, sport, dst, dport, payload)

    def expect_media(self, ip: bytes, port: int, source: str) -> None:
        """Remember that media is expected at ip:port (the first source that said so wins)."""
        self.expected_media.setdefault((ip, port), source)
        self.rtp.expect(ip, port, source)

    def tcp_data(
        self,
        conn_id: int,
        direction: int,
        data: bytes,
        frame: int,
        ts: float,
        src: bytes,
        sport: int,
        dst: bytes,
        dport: int,
    ) -> None:
        """Bytes of a TCP direction that carries media framing (api mode "media")."""
        self.stun.tcp_data(conn_id, direction, data, frame, ts, src, sport, dst, dport)

    def tcp_gap(self, conn_id: int, direction: int, missing: int, frame: int, ts: float) -> None:
        """Bytes lost in a "media" TCP direction."""
        self.stun.tcp_gap(conn_id, direction, missing, frame, ts)

    def sip_message(self, msg: object) -> None:
        """Every SIP message, in order: bodies with ICE credentials and candidates are read."""
        body = getattr(msg, "body", b"")
        if body:
            self.stun.sip_body(body)
            self.rtp.sip_message(msg)  # type: ignore[arg-type]

    def finish(self) -> None:
        """End of capture: close whatever is still open."""
        self.stun.finish()
        self.rtp.finish()
