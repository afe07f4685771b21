"""The library's front door: ``lyncdump.open(path)`` gives a :class:`Capture` to ask questions of.

The pipeline is a loop over frames that calls the sans-IO layers in turn (see design.md):
capture → net decode → (UDP datagram | TCP stream events) → SIP framing/parsing (MS-SIPCOMP
when negotiated) → sessions. It runs once, lazily, on the first question asked.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, BinaryIO

from .analysis.sessions import Session, SessionBuilder
from .capture.netmon import NETMON_LINKTYPE_BASE
from .capture.source import CaptureReader
from .capture.tracelog import LogEvent, TraceLogReader, open_input, to_sip_message
from .errors import CaptureError, MalformedError
from .fastpath import attach as attach_fast_path
from .media.pipeline import MediaPipeline
from .media.turn_tcp import detect as turn_tcp_framing
from .model import DefectLog, Endpoint
from .net.decode import SUPPORTED_LINKTYPES, PacketDecoder
from .net.tcp import StreamClosed, StreamData, StreamGap, TcpConnection, TcpReassembler
from .sip.framing import FramedMessage, SipStreamFramer
from .sip.message import SipMessage, looks_like_sip, parse_message
from .sipcomp.stream import DecodedPacket, NegotiationTracker, SipcompStreamDecoder

if TYPE_CHECKING:  # imported where used: a run pays only for the layers its capture needs
    from .analysis.calls import Call
    from .analysis.ice import Allocation, IceSession
    from .analysis.im import Conversation
    from .analysis.registration import Registration
    from .media.stats import StreamStats
    from .media.stun import StunMessage
    from .tls.decrypt import TlsSession, TlsSummary
    from .tls.keys import TlsKeys

Source = str | os.PathLike[str] | BinaryIO

#: How far into a TCP direction we look for a SIP start line before calling it "not SIP".
_SNIFF_LIMIT = 64 * 1024


@dataclass(frozen=True, slots=True)
class Options:
    """Everything that tunes a run; one frozen value so a run is reproducible from it."""

    max_tcp_pending: int = 1 << 20
    max_fragment_bytes: int = 4 << 20
    max_sip_message: int = 1 << 20
    max_defects: int = 10000
    progress: Callable[[int, float], None] | None = None
    progress_every: int = 8192
    #: Passwords tried on STUN MESSAGE-INTEGRITY (besides ICE passwords learned from SDP).
    stun_passwords: tuple[str, ...] = ()
    #: TLS keys: an NSS key log file, and an RSA private key (PEM, DER or PKCS#12) with the
    #: password that opens it; pcapng Decryption Secrets Blocks are always used (docs/tls.md).
    keylog: str | os.PathLike[str] | None = None
    rsa_key: str | os.PathLike[str] | None = None
    rsa_key_password: str | None = field(default=None, repr=False)  # never shown
    #: Remove IM text, credentials, auth tokens and keys from every message (``--redact``).
    redact: bool = False
    #: Check NTLMv2 proofs and SIP signatures with this password; never printed or kept.
    ntlm_password: str | None = field(default=None, repr=False)
    #: SRTP master keys (base64 of key || salt, as in ``a=crypto inline:``) tried on every
    #: RTP/RTCP flow besides the keys of the call's SDP.
    srtp_keys: tuple[str, ...] = ()


@dataclass(slots=True)
class ConnectionSummary:
    """What one TCP connection carried, for ``--summary`` and JSON."""

    id: int
    client: Endpoint
    server: Endpoint
    protocol: str = "unknown"
    sip_messages: int = 0
    compressed: bool = False
    compression_layout: str | None = None
    wire_bytes: int = 0
    plain_bytes: int = 0
    tls: TlsSummary | None = None

    @property
    def compression_ratio(self) -> float | None:
        if not self.compressed or not self.wire_bytes:
            return None
        return self.plain_bytes / self.wire_bytes


@dataclass(slots=True)
class Stats:
    """Counts over the whole run (the ``--summary`` view)."""

    frames: int = 0
    udp_datagrams: int = 0
    tcp_segments: int = 0
    rtp_like: int = 0
    sip_messages: int = 0
    bytes: int = 0
    first_time: float | None = None
    last_time: float | None = None
    methods: Counter[str] = field(default_factory=Counter)
    statuses: Counter[int] = field(default_factory=Counter)

    def count_messages(self, messages: list[SipMessage]) -> None:
        """The SIP totals: how many messages, and of each request method and response status."""
        self.sip_messages = len(messages)
        for m in messages:
            if m.method is not None:
                self.methods[m.method] += 1
            elif m.status is not None:
                self.statuses[m.status] += 1


class _Direction:
    """Per TCP direction: what protocol it speaks and the sans-IO decoder for it."""

    __slots__ = ("mode", "framer", "sipcomp", "sniffed")

    def __init__(self) -> None:
        self.mode = "unknown"  # unknown | sip | sipcomp | other
        self.framer: SipStreamFramer | None = None
        self.sipcomp: SipcompStreamDecoder | None = None
        self.sniffed = 0


class _ConnState:
    __slots__ = ("dirs", "negotiation", "summary", "tls", "plain", "encrypted")

    def __init__(self, summary: ConnectionSummary, encrypted: bool = False) -> None:
        self.dirs = (_Direction(), _Direction())
        self.negotiation = NegotiationTracker()
        self.summary = summary
        self.tls: TlsSession | None = None  # both directions of a TLS connection share it
        self.plain: TcpConnection | None = None  # its decrypted side, with its own _ConnState
        self.encrypted = encrypted  # True on that decrypted side: messages came over TLS


class Capture:
    """One capture file (or stream) and everything decoded from it.

    Construction opens the file and checks its format; decoding happens on the first call to
    :meth:`messages`, :meth:`sessions`, :meth:`run` and friends. A capture that ends in error
    (truncated, unknown link type) keeps what was decoded before the error in ``error``.
    """

    def __init__(self, source: Source | CaptureReader, options: Options | None = None) -> None:
        self.options = options or Options()
        for key in self.options.srtp_keys:
            from .media.srtp import parse_key as parse_srtp_key

            parse_srtp_key(key)  # a key that cannot be used fails here, never printed
        if isinstance(source, (str, os.PathLike)):
            self.name = os.fspath(source)
        else:
            self.name = str(getattr(source, "name", "<stream>"))
        # A reader object (live capture) is used as given; a trace log is told by its content.
        self._reader = source if isinstance(source, CaptureReader) else open_input(source)
        self.format: str = self._reader.format
        #: Diagnostic and component records of a Lync trace log (empty for captures).
        self.log_events: list[LogEvent] = []
        self.defects = DefectLog(self.options.max_defects)
        self.stats = Stats()
        self.connections: list[ConnectionSummary] = []
        self.error: CaptureError | None = None
        self._messages: list[SipMessage] = []
        self._sessions: list[Session] | None = None
        self._done = False
        self._connections_seen: list[TcpConnection] = []
        self.media: MediaPipeline | None = None
        try:
            self.tls_keys = _tls_keys(self.options, getattr(self._reader, "secrets", None))
        except BaseException:
            self._reader.close()
            raise

    # -- questions -------------------------------------------------------------------------
    def run(self) -> Capture:
        """Decode the whole capture once; later calls return at once."""
        if not self._done:
            self._done = True
            try:
                if isinstance(self._reader, TraceLogReader):
                    self._decode_log(self._reader)
                else:
                    self._decode()
            finally:
                self._reader.close()
            self._ms_after_decode()
        return self

    def _ms_after_decode(self) -> None:
        """Steps that need every message: NTLM checks with the password, then redaction."""
        if self.options.ntlm_password:
            from .analysis.registration import verify_signatures

            verify_signatures(self._messages, self.options.ntlm_password)
        if self.options.redact:
            from .render.redact import redact_messages

            redact_messages(self._messages)

    def messages(self) -> list[SipMessage]:
        """Every SIP message, in capture order (by the frame that completed it)."""
        self.run()
        return self._messages

    def sessions(self) -> list[Session]:
        """SIP messages grouped by Call-ID, with transactions matched and a kind each."""
        self.run()
        if self._sessions is None:
            builder = SessionBuilder()
            for m in self._messages:
                builder.add(m)
            self._sessions = builder.sessions()
        return self._sessions

    def registrations(self) -> list[Registration]:
        """Each sign-in (REGISTER session) analysed: schemes, round trips, identity, cause."""
        from .analysis.registration import registrations

        return registrations(self.sessions())

    def conversations(self) -> list[Conversation]:
        """Each IM session as a conversation: messages, typing, delivery status."""
        from .analysis.im import conversations

        return conversations(self.sessions())

    def stun_messages(self) -> list[StunMessage]:
        """Every STUN/TURN message (relayed ones inside TURN too), in capture order."""
        self.run()
        return self.media.stun.messages if self.media is not None else []

    def streams(self) -> list[StreamStats]:
        """Every RTP stream (source, destination, SSRC) with its quality, by first packet."""
        self.run()
        if self.media is None:
            return []
        return sorted(self.media.rtp.streams, key=lambda st: st.first_frame)

    def calls(self) -> list[Call]:
        """Each INVITE dialog as a call joined to its media: offer/answer, ICE, TURN, streams."""
        from .analysis.calls import build_calls

        stun_times = {
            m.frame: m.time
            for m in self.stun_messages()
            if m.frame is not None and m.time is not None and m.cls == 0
        }
        return build_calls(
            self.sessions(), self.streams(), self.ice_sessions(), self.allocations(), stun_times
        )

    def allocations(self) -> list[Allocation]:
        """TURN allocations (RFC 5766 and MS-TURN) with their addresses, peers and media."""
        self.run()
        return self.media.stun.analyzer.allocations() if self.media is not None else []

    def ice_sessions(self) -> list[IceSession]:
        """ICE connectivity checks per ufrag pair, candidate pairs and the nominated one."""
        self.run()
        return self.media.stun.analyzer.sessions() if self.media is not None else []

    def close(self) -> None:
        self._reader.close()

    def __enter__(self) -> Capture:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the pipeline ----------------------------------------------------------------------
    def _decode(self) -> None:
        opts = self.options
        defects = self.defects
        decoder = PacketDecoder(defects, max_fragment_bytes=opts.max_fragment_bytes)
        tcp = TcpReassembler(defects, max_pending_bytes=opts.max_tcp_pending)
        decode = decoder.decode
        segment = tcp.segment
        srtp_keys = []
        if opts.srtp_keys:
            from .media.srtp import parse_key as parse_srtp_key

            srtp_keys = [parse_srtp_key(k) for k in opts.srtp_keys]
        media = self.media = MediaPipeline(defects, srtp_keys)
        for password in opts.stun_passwords:
            media.stun.analyzer.add_password(password.encode("utf-8"))
        media_udp = media.udp
        # The compiled fast path (when built) takes routine RTP itself: from the pcap/pcapng
        # reader's buffer, or here frame by frame for other readers (docs/performance.md).
        fast, fast_frame = attach_fast_path(
            self._reader, opts.progress_every if opts.progress else 0
        )
        # Frames a scan consumed are counted when the next frame reaches Python.
        take_frames = None
        if fast is not None:
            media.use_fast_path(fast)
            if fast_frame is None:
                take_frames = fast.take_frames
        stats = self.stats
        progress = opts.progress
        every = opts.progress_every
        frame = 0
        nbytes = 0
        udp = 0
        tcp_count = 0
        ts = 0.0
        first_ts: float | None = None
        known_linktypes: set[int] = set()
        try:
            for ts, linktype, data in self._reader.frames():
                frame += 1
                if take_frames is not None:
                    frame += take_frames()
                nbytes += len(data)
                if first_ts is None:
                    first_ts = ts
                if linktype not in known_linktypes:
                    if linktype >= NETMON_LINKTYPE_BASE:
                        # Network Monitor's own records (events, network info): not traffic.
                        continue
                    if linktype not in SUPPORTED_LINKTYPES:
                        raise CaptureError(
                            f"{self.name}: unsupported link type {linktype} at frame {frame}"
                        )
                    known_linktypes.add(linktype)
                if progress is not None and frame % every == 0:
                    progress(frame, ts)
                if fast_frame is not None and fast_frame(frame, ts, linktype, data):
                    continue  # routine RTP, accounted by the compiled fast path
                decoded = decode(frame, ts, linktype, data)
                if decoded is None:
                    continue
                proto, src, sport, dst, dport, payload, seq, flags = decoded
                if proto == 17:
                    udp += 1
                    if not payload:
                        continue
                    first = payload[0]
                    # RTP/RTCP, STUN/TURN, DTLS and ZRTP never start with a SIP letter.
                    if (first < 0x41 or first >= 0x80) or not looks_like_sip(payload):
                        media_udp(frame, ts, src, sport, dst, dport, payload)
                    else:
                        self._udp_sip(frame, ts, src, sport, dst, dport, payload)
                else:
                    tcp_count += 1
                    if payload or flags & 0x07:
                        for event in segment(
                            frame, ts, src, sport, dst, dport, seq, flags, payload
                        ):
                            self._tcp_event(event)
        except CaptureError as exc:
            self.error = exc
        self._finish_streams(tcp, decoder)
        media.finish()
        # TCP messages complete when their last byte arrives, which a flush can make late.
        self._messages.sort(key=lambda m: m.frame or 0)
        if fast is not None:
            frame += fast.take_frames()
            nbytes += fast.bytes
            udp += fast.udp
            media.rtp_like += fast.rtp_like
            if fast.last_frame == frame:
                ts = fast.last_time
        stats.frames = frame
        stats.bytes = nbytes
        stats.udp_datagrams = udp
        stats.tcp_segments = tcp_count
        stats.rtp_like = media.rtp_like
        stats.first_time = first_ts
        stats.last_time = ts if frame else None
        stats.count_messages(self._messages)

    def _decode_log(self, reader: TraceLogReader) -> None:
        """A Lync trace log: its SIP messages take the same parser, sessions and renderers;
        ``frame`` is the record number (docs/tracelog.md)."""
        stats = self.stats
        try:
            for item in reader.items():
                if isinstance(item, LogEvent):
                    self.log_events.append(item)
                    continue
                try:
                    msg = to_sip_message(item)
                except MalformedError as exc:
                    self.defects.add(item.record, exc.layer, exc.offset, exc.reason)
                    continue
                self._add_message(msg)
        except CaptureError as exc:
            self.error = exc
        self.defects.extend(reader.defects)
        times = [m.time for m in self._messages if m.time is not None]
        stats.frames = reader.parser.records
        stats.bytes = reader.bytes_read
        stats.first_time = min(times, default=None)
        stats.last_time = max(times, default=None)
        stats.count_messages(self._messages)

    def _udp_sip(
        self, frame: int, ts: float, src: bytes, sport: int, dst: bytes, dport: int, payload: bytes
    ) -> None:
        try:
            msg = parse_message(payload, datagram=True)
        except MalformedError as exc:
            self.defects.add(frame, exc.layer, exc.offset, exc.reason)
            return
        msg.frame = msg.first_frame = frame
        msg.time = ts
        msg.src = Endpoint.from_raw(src, sport)
        msg.dst = Endpoint.from_raw(dst, dport)
        msg.transport = "UDP"
        self._add_message(msg)

    def _add_message(self, msg: SipMessage) -> None:
        for d in msg.take_new_defects():  # all of them, the first time (docs/sip.md)
            self.defects.add(msg.frame if d.frame is None else d.frame, d.layer, d.offset, d.reason)
        self._messages.append(msg)
        if self.media is not None:
            self.media.sip_message(msg)

    # -- TCP ---------------------------------------------------------------------------------
    def _conn_state(self, conn: TcpConnection) -> _ConnState:
        state = conn.user
        if state is None:
            summary = ConnectionSummary(
                id=conn.id,
                client=Endpoint.from_raw(*conn.client),
                server=Endpoint.from_raw(*conn.server),
            )
            self.connections.append(summary)
            self._connections_seen.append(conn)
            state = conn.user = _ConnState(summary)
        return state  # type: ignore[no-any-return]

    def _tcp_event(self, event: object) -> None:
        if isinstance(event, StreamData):
            state = self._conn_state(event.conn)
            d = state.dirs[event.direction]
            if d.mode == "unknown" and self._sniff(state, d, event.data, event.frame, event.ts):
                # The sniffer consumed these bytes (a mid-connection MS-SIPCOMP probe).
                if d.mode == "sipcomp":
                    self._drain_sipcomp(event.conn, event.direction)
                return
            if d.mode == "sip":
                assert d.framer is not None
                d.framer.receive_data(event.data, event.frame, event.ts)
                self._drain_framer(event.conn, event.direction)
            elif d.mode == "sipcomp":
                assert d.sipcomp is not None
                d.sipcomp.receive_data(event.data, event.frame, event.ts)
                self._drain_sipcomp(event.conn, event.direction)
            elif d.mode == "tls":
                self._tls_bytes(
                    event.conn, state, event.direction, event.data, event.frame, event.ts
                )
            elif d.mode == "media" and self.media is not None:
                c, e = event.conn, event
                a, b = (c.client, c.server) if e.direction == 0 else (c.server, c.client)
                self.media.tcp_data(c.id, e.direction, e.data, e.frame, e.ts, *a, *b)
        elif isinstance(event, StreamGap):
            state = self._conn_state(event.conn)
            d = state.dirs[event.direction]
            if d.mode == "sip" and d.framer is not None:
                d.framer.receive_gap(event.missing, event.frame, event.ts)
                self._drain_framer(event.conn, event.direction)
            elif d.mode == "sipcomp" and d.sipcomp is not None:
                d.sipcomp.receive_gap(event.missing, event.frame, event.ts)
                self._drain_sipcomp(event.conn, event.direction)
            elif d.mode == "media" and self.media is not None:
                gap = event
                self.media.tcp_gap(gap.conn.id, gap.direction, gap.missing, gap.frame, gap.ts)
            elif d.mode == "tls" and state.tls is not None:
                state.tls.receive_gap(event.direction, event.missing, event.frame, event.ts)
                self._tls_bytes(event.conn, state, event.direction, b"", event.frame, event.ts)
        elif isinstance(event, StreamClosed):
            state = self._conn_state(event.conn)
            self._drain_framer(event.conn, event.direction)

    def _sniff(self, state: _ConnState, d: _Direction, data: bytes, frame: int, ts: float) -> bool:
        """Decide what a TCP direction speaks from its first bytes.

        Returns True when the bytes were consumed here (the MS-SIPCOMP probe keeps them),
        False when the caller should hand them to the mode chosen (if any).
        """
        d.sniffed += len(data)
        if looks_like_sip(data) or b"SIP/2.0" in data:
            d.mode = "sip"
            d.framer = SipStreamFramer(max_message=self.options.max_sip_message)
            state.summary.protocol = "sip"
        elif turn_tcp_framing(data) is not None or any(x.mode == "media" for x in state.dirs):
            # STUN/TURN/ICE-TCP (media/turn_tcp.py): MS-TURN pseudo-TLS is caught here, before
            # the TLS test below, so it is never taken for real TLS.
            d.mode = "media"
            state.summary.protocol = "stun-turn"
        elif data[:1] in (b"\x16", b"\x17", b"\x15", b"\x14") and data[1:2] == b"\x03":
            # TLS records: decrypted by one session per connection (tls/decrypt.py), whose
            # plaintext takes the clear-TCP path on a connection of its own (_tls_bytes).
            d.mode = "tls"
            state.summary.protocol = "tls"
            if state.tls is None:
                from .tls.decrypt import TlsSession

                state.tls = TlsSession(self.tls_keys)
                state.summary.tls = state.tls.summary
        else:
            return self._probe_sipcomp(state, d, data, frame, ts)
        return False

    def _probe_sipcomp(
        self, state: _ConnState, d: _Direction, data: bytes, frame: int, ts: float
    ) -> bool:
        """A capture that starts after NEGOTIATE: find compression packets by their header
        chain. Until a layout is recognised nothing is reported; past the sniff limit the
        direction is given up as not SIP and the probe's bytes are dropped."""
        probe = d.sipcomp
        if probe is None:
            probe = d.sipcomp = SipcompStreamDecoder(mid_stream=True)
        probe.receive_data(data, frame, ts)
        if probe.layout is not None:
            d.mode = "sipcomp"
            d.framer = SipStreamFramer(max_message=self.options.max_sip_message)
            state.summary.protocol = "sip"
            state.summary.compressed = True
        elif d.sniffed > _SNIFF_LIMIT:
            d.mode = "other"
            d.sipcomp = None
        return True

    def _tls_bytes(
        self,
        conn: TcpConnection,
        state: _ConnState,
        direction: int,
        data: bytes,
        frame: int,
        ts: float,
    ) -> None:
        """Feed a TLS direction; decrypted application data goes down the clear-TCP path."""
        session = state.tls
        if session is None:
            return
        if data:
            session.receive_data(direction, data, frame, ts)
        for defect in session.defects:
            self.defects.add(defect.frame, defect.layer, defect.offset, defect.reason)
        session.defects.clear()
        if not session.plaintext:
            return
        plain = state.plain
        if plain is None:
            plain = state.plain = TcpConnection(conn.id, conn.client, conn.server, frame, ts, True)
            plain.user = _ConnState(state.summary, encrypted=True)
            self._connections_seen.append(plain)
        for d, chunk, f, t in session.plaintext:
            self._tcp_event(StreamData(plain, d, chunk, f, t))
        session.plaintext.clear()
        summary = state.summary
        if summary.protocol != "tls":  # what the plaintext speaks, as the inner sniff saw it
            session.summary.application = summary.protocol
            summary.protocol = "tls"

    def _drain_framer(self, conn: TcpConnection, direction: int) -> None:
        """Pull every complete message out of a direction's framer, switching to MS-SIPCOMP
        the moment the NEGOTIATE exchange says the next byte is compressed."""
        state: _ConnState | None = conn.user
        if state is None:
            return
        d = state.dirs[direction]
        framer = d.framer
        if framer is None:
            return
        while True:
            framed = framer.next_message()
            if framed is None:
                break
            switches = self._stream_message(conn, state, direction, framed, d.mode == "sipcomp")
            for switching in switches:
                self._start_compression(conn, state, switching)
        for defect in framer.defects:
            self.defects.add(defect.frame, defect.layer, defect.offset, defect.reason)
        framer.defects.clear()

    def _start_compression(self, conn: TcpConnection, state: _ConnState, direction: int) -> None:
        """From the next byte on, this direction carries MS-SIPCOMP packets, not plain SIP."""
        d = state.dirs[direction]
        if d.mode == "sipcomp":
            return
        rest = d.framer.take_remaining() if d.framer is not None else b""
        if d.framer is None:
            d.framer = SipStreamFramer(max_message=self.options.max_sip_message)
        d.mode = "sipcomp"
        d.sipcomp = SipcompStreamDecoder()
        state.summary.compressed = True
        if rest:
            last = self._messages[-1] if self._messages else None
            frame = last.frame if last is not None and last.frame is not None else 0
            ts = last.time if last is not None and last.time is not None else 0.0
            d.sipcomp.receive_data(rest, frame, ts)
            self._drain_sipcomp(conn, direction)

    def _drain_sipcomp(self, conn: TcpConnection, direction: int) -> None:
        """Decompressed packets go into the same SIP framer as clear text would."""
        state: _ConnState = conn.user
        d = state.dirs[direction]
        decoder = d.sipcomp
        framer = d.framer
        if decoder is None or framer is None:
            return
        summary = state.summary
        while True:
            packet = decoder.next_packet()
            if packet is None:
                break
            summary.wire_bytes += packet.wire_size
            summary.plain_bytes += len(packet.plain)
            if packet.partial:
                self._drain_framer(conn, direction)
                if not framer.buffered:
                    self._partial_packet(conn, state, direction, packet)
                    continue
            framer.receive_data(
                packet.plain,
                packet.frame,
                packet.ts,
                wire_size=packet.wire_size,
                partial=packet.partial,
            )
        if decoder.layout and summary.compression_layout is None:
            summary.compression_layout = decoder.layout
        for defect in decoder.defects:
            self.defects.add(defect.frame, defect.layer, defect.offset, defect.reason)
        decoder.defects.clear()
        self._drain_framer(conn, direction)

    def _partial_packet(
        self, conn: TcpConnection, state: _ConnState, direction: int, packet: DecodedPacket
    ) -> None:
        """A compression packet decoded without its history (capture began mid-connection).

        Its unknown bytes are ``?``. One packet carries one message [I], so it is parsed on its
        own: shown, marked partial, when its start line survived; otherwise reported, never
        printed as if it were SIP."""
        try:
            msg = parse_message(packet.plain, datagram=True)
        except MalformedError:
            unknown = packet.plain.count(b"?")
            self.defects.add(
                packet.frame,
                "sipcomp",
                None,
                f"compressed message of {len(packet.plain)} bytes not shown: {unknown} of its "
                "bytes come from history sent before the capture began",
            )
            return
        framed = FramedMessage(
            packet.plain, packet.frame, packet.frame, packet.ts, packet.wire_size, True
        )
        del msg  # parsed once to test it; _stream_message parses and records it
        self._stream_message(conn, state, direction, framed, True)

    def _finish_streams(self, tcp: TcpReassembler, decoder: PacketDecoder) -> None:
        """End of input: deliver what TCP still holds, then report what was left unfinished
        (IP fragments never completed, SIP messages cut off by the end of the capture)."""
        decoder.flush()
        for event in tcp.flush():
            self._tcp_event(event)
        for conn in self._connections_seen:
            state: _ConnState | None = conn.user
            if state is None:
                continue
            if state.tls is not None:
                state.tls.finish()
            for direction, d in enumerate(state.dirs):
                if d.framer is not None and d.mode in ("sip", "sipcomp"):
                    d.framer.close()
                    self._drain_framer(conn, direction)

    def _stream_message(
        self,
        conn: TcpConnection,
        state: _ConnState,
        direction: int,
        framed: FramedMessage,
        compressed: bool,
    ) -> list[int]:
        """Parse one framed message; returns the directions that switch to compression now."""
        try:
            msg = parse_message(
                framed.data, header_end=framed.header_end, content_length=framed.content_length
            )
        except MalformedError as exc:
            self.defects.add(framed.frame, exc.layer, exc.offset, exc.reason)
            return []
        msg.frame = framed.frame
        msg.first_frame = framed.first_frame
        msg.time = framed.ts
        src, dst = (conn.client, conn.server) if direction == 0 else (conn.server, conn.client)
        msg.src = Endpoint.from_raw(*src)
        msg.dst = Endpoint.from_raw(*dst)
        msg.transport = "TLS" if state.encrypted else "TCP"
        msg.stream_id = conn.id
        msg.compressed = compressed
        msg.wire_size = framed.wire_size if compressed else None
        msg.partial = framed.partial
        state.summary.sip_messages += 1
        self._add_message(msg)
        cseq = msg.cseq
        # Only a NEGOTIATE exchange switches compression on; other messages keep their headers
        # unread (on_message reads the whole header list).
        if (msg.method or (cseq[1] if cseq else "")).upper() != "NEGOTIATE":
            return []
        return state.negotiation.on_message(
            direction, msg.method, msg.status, cseq[1] if cseq else None, msg.headers
        )


def _tls_keys(options: Options, secrets: list[tuple[int, bytes]] | None) -> TlsKeys:
    """The run's TLS key sources; a key file that cannot be used raises KeyMaterialError."""
    from .tls.keys import TlsKeys, load_rsa_key, read_keylog

    keylog = read_keylog(options.keylog) if options.keylog is not None else None
    rsa_keys = []
    if options.rsa_key is not None:
        rsa_keys.append(load_rsa_key(options.rsa_key, options.rsa_key_password))
    return TlsKeys(keylog, rsa_keys, secrets)


def open(source: Source, **options: object) -> Capture:  # noqa: A001 - mirrors builtins.open on purpose
    """Open a capture or a Lync trace log (path, ``"-"`` for stdin, or a binary file object)
    for analysis; which one is told from the content (docs/tracelog.md).

    Keyword options are the fields of :class:`Options`. Raises :class:`CaptureError` when the
    input is not a capture lyncdump can read.
    """
    return Capture(source, Options(**options))  # type: ignore[arg-type]


def analyze(source: Source, **options: object) -> Capture:
    """Open and decode in one call (``open(...).run()``)."""
    return open(source, **options).run()


__all__ = ["Capture", "ConnectionSummary", "Options", "Stats", "open", "analyze"]
