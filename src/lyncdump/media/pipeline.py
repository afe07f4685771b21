"""Where the per-packet path hands everything that is not SIP: the media side of a capture.

``api.Capture`` calls :meth:`MediaPipeline.udp` for every UDP payload that does not start like
SIP, and :meth:`finish` at the end. The media decoders (STUN/TURN/ICE, RTP/RTCP) hang off this
one object so the capture loop stays a plain loop. The first byte sorts datagrams the RFC 7983
way: 0-3 STUN, 16-19 ZRTP, 20-63 DTLS, 64-79 TURN ChannelData, 128-191 RTP/RTCP.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..model import DefectLog
from . import ice_words as _words
from .stats import RtpTracker, StreamStats

if TYPE_CHECKING:
    from ..analysis.ice import PeerTraffic
    from .relay import RelayPath
    from .stun_pipeline import StunPipeline


class MediaPipeline:
    """Per-capture media state; fed datagrams in capture order."""

    def __init__(
        self,
        defects: DefectLog,
        srtp_keys: list[tuple[bytes, bytes]] | None = None,
        *,
        stun_keep: str = "all",
    ) -> None:
        self.defects = defects
        #: RTP/RTCP/SRTP streams and their statistics (issue 5).
        self.rtp = RtpTracker(defects, srtp_keys)
        self._rtp_datagram = self.rtp.datagram
        #: Datagrams whose first byte says RTP or RTCP version 2 (128-191).
        self.rtp_like = 0
        #: Media addresses learned from signalling, TURN and ICE -> what revealed them.
        self.expected_media: dict[tuple[bytes, int], str] = {}
        #: STUN/TURN/ICE (issue 4), made by :attr:`stun` for the first packet or SDP that
        #: needs it (a SIP-only capture never loads the STUN, TURN and ICE analyzers).
        self._stun: StunPipeline | None = None
        self._stun_keep = stun_keep
        #: The compiled fast path (lyncdump.fastpath), when the capture loop uses one: told
        #: which UDP 4-tuples carry plain RTP of which stream, as seen on the wire.
        self.fast: Any = None
        #: Flows (as RtpTracker keys them) -> the wire 4-tuples registered for them: they
        #: differ for MS-TURN relayed media.
        self._wire: dict[tuple[bytes, int, bytes, int], set[tuple[bytes, int, bytes, int]]] = {}

    @property
    def stun(self) -> StunPipeline:
        """STUN/TURN/ICE (issue 4): messages, allocations, ICE sessions, TCP framings; made
        on first use (it starts empty, so a later start changes nothing it reports)."""
        stun = self._stun
        if stun is None:
            from .stun_pipeline import StunPipeline

            stun = self._stun = StunPipeline(self.defects, self, keep=self._stun_keep)
        return stun

    @property
    def stun_started(self) -> StunPipeline | None:
        """The STUN/TURN/ICE pipeline if anything has used it yet, else None (nothing seen):
        what the summaries read, so that reading them does not load the analyzers."""
        return self._stun

    def use_fast_path(self, fast: Any) -> None:
        """Let the compiled fast path take routine RTP (see lyncdump/fastpath.py)."""
        self.fast = fast
        self.rtp.forget_flow = self._forget

    def _forget(self, key: tuple[bytes, int, bytes, int]) -> None:
        """A flow's streams changed (new SDP, new TURN news): Python takes it again."""
        fast = self.fast
        fast.forget(*key)
        for wire in self._wire.pop(key, ()):
            fast.forget(*wire)

    def relay_path(self, key: tuple[bytes, int, bytes, int]) -> RelayPath | None:
        """How TURN carried a flow so far (RtpTracker.relay_path)."""
        return self.rtp.relay_path(key)

    def set_relay_path(self, key: tuple[bytes, int, bytes, int], path: RelayPath) -> None:
        """A flow came through TURN: its streams say how (RtpTracker.set_relay_path)."""
        self.rtp.set_relay_path(key, path)

    def relay_changed(self, keys: list[tuple[bytes, int, bytes, int]]) -> None:
        """MS-TURN Set Active Destination began or ended rewriting these wire 4-tuples."""
        if self.fast is not None:
            for key in keys:
                self.fast.forget(*key)

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
            stun = self._stun
            if stun is not None and stun.active:  # MS-TURN Set Active Destination: raw relay
                self._relayed_media(frame, ts, src, sport, dst, dport, payload)
                return
            stream = self._rtp_datagram(frame, ts, src, sport, dst, dport, payload)
            if stream is not None and self.fast is not None:
                # RTP on a settled flow: its next routine packets may skip Python.
                self._register(src, sport, dst, dport, stream, None, False)

    def _relayed_media(
        self, frame: int, ts: float, src: bytes, sport: int, dst: bytes, dport: int, payload: bytes
    ) -> None:
        """RTP/RTCP while MS-TURN relaying is on somewhere: rewrite, count, then as usual."""
        nsrc, nsport, ndst, ndport, traffic, to_peer = self.stun.raw_media(
            src, sport, dst, dport, payload
        )
        stream = self._rtp_datagram(frame, ts, nsrc, nsport, ndst, ndport, payload)
        if stream is None or self.fast is None:
            return
        if nsrc is src and nsport == sport and ndst is dst and ndport == dport:
            self._register(src, sport, dst, dport, stream, None, False)
        elif traffic is not None:  # relayed and counted: the fast path counts it the same way
            self._wire.setdefault((nsrc, nsport, ndst, ndport), set()).add((src, sport, dst, dport))
            self._register(src, sport, dst, dport, stream, traffic, to_peer)

    def _register(
        self,
        src: bytes,
        sport: int,
        dst: bytes,
        dport: int,
        stream: StreamStats,
        traffic: PeerTraffic | None,
        to_peer: bool,
    ) -> None:
        """Hand a wire 4-tuple's stream to the fast path (with its SRTP key, if it has one)."""
        ok, srtp = self.rtp.srtp_for(stream)
        if ok:
            self.fast.register(src, sport, dst, dport, stream, traffic, to_peer, srtp)

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
    ) -> str:
        """Bytes of a TCP direction that carries media framing (api mode "media"); returns the
        connection's label so far: ``ice-tcp``, ``rtp-rfc4571`` or ``stun-turn``
        (StunPipeline.connection_label)."""
        return self.stun.tcp_data(conn_id, direction, data, frame, ts, src, sport, dst, dport)

    def tcp_gap(self, conn_id: int, direction: int, missing: int, frame: int, ts: float) -> None:
        """Bytes lost in a "media" TCP direction."""
        self.stun.tcp_gap(conn_id, direction, missing, frame, ts)

    def sip_message(self, msg: object, body: bytes | None = None) -> None:
        """Every SIP message, in order: bodies with ICE credentials and candidates are read.

        ``body`` is ``msg.body`` when the caller has it already (the property copies)."""
        if body is None:
            body = getattr(msg, "body", b"")
        if body:
            # Only a body that may hold ICE credentials goes to the STUN pipeline (which starts
            # with the first): one test, here.
            if _words.ice_words(body):
                self.stun.sip_body(body)
            self.rtp.sip_message(msg, body)  # type: ignore[arg-type]

    def finish(self) -> None:
        """End of capture: close whatever is still open."""
        if self._stun is not None:
            self._stun.finish()
        self.rtp.finish()
