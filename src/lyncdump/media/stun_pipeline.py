"""The STUN/TURN side of the media pipeline: datagrams and TCP streams in, messages out.

:class:`MediaPipeline` hands this object every UDP payload whose first byte says STUN (0-3),
ChannelData (64-79) or MS multiplexed TURN (0xFF), and every byte of TCP directions that
``api`` recognised as STUN/TURN (pseudo-TLS + MS-TURN framing, RFC 4571, plain TURN over TCP).
It parses the messages, feeds :class:`~lyncdump.analysis.ice.IceAnalyzer`, and hands what
TURN relays (DATA attributes, ChannelData, multiplexed frames, MS-TURN end-to-end data) back
into ``MediaPipeline.udp`` as if it had arrived on its own flow — relayed address to peer or
peer to relayed address — so the RTP inside reaches the RTP decoders. A depth guard stops
recursion (a DATA inside a DATA inside ...). Before handing RTP/RTCP on, it tells the RTP
tracker how the flow travelled (media/relay.py: mechanism, TURN server, allocation, the outer
5-tuple), so relayed streams say they are.
"""

from __future__ import annotations

from collections import Counter
from typing import Any, Protocol

from ..analysis.ice import IceAnalyzer, PeerTraffic
from ..errors import MalformedError
from ..model import DefectLog, Endpoint
from . import relay as r
from . import stun as s
from .demux import channel_data, classify, multiplexed_frame
from .stun_spool import StunMessages, StunSpool
from .turn_tcp import TcpMediaFramer, detect

#: How deep TURN encapsulation is followed (outer message = 0).
MAX_DEPTH = 2
#: Bound on STUN messages a whole-capture run (``lyncdump.open``) keeps for output; past it
#: they are counted, not stored (a streaming run spools them instead). A kept
#: message costs about 1.5 kB (the parsed attributes with it): 150 MB at the limit, from
#: about 15 MB of ICE checks (docs/architecture.md, benchmarks/bench_bounds.py).
MAX_MESSAGES = 100_000
#: (address, port) pairs kept once for every message that names them (a message holds its
#: source and destination, and ICE checks repeat a few pairs many times): about 250 B saved
#: per message kept.
MAX_SHARED_ENDPOINTS = 4096
#: Bytes a TCP direction may buffer while its framing is still unknown.
_MAX_UNDETECTED = 4096
#: Capture seconds a streaming run holds a STUN message before writing it to its spool
#: (media/stun_spool.py): its answer (RTT), retransmissions and the SDP keys that check its
#: integrity come sooner (a STUN transaction gives up after 39.5 s).
SETTLE = 60.0
#: Messages a streaming run holds at most while they settle; past it the oldest are
#: spooled early (a flood of checks within ``SETTLE`` seconds).
MAX_SETTLING = 20_000
#: Messages between two looks for settled ones.
_SETTLE_EVERY = 256


class _Host(Protocol):
    """What this needs from MediaPipeline (kept as a protocol to avoid an import cycle)."""

    def udp(
        self, frame: int, ts: float, src: bytes, sport: int, dst: bytes, dport: int, payload: bytes
    ) -> None: ...

    def expect_media(self, ip: bytes, port: int, source: str) -> None: ...

    def relay_changed(self, keys: list[tuple[bytes, int, bytes, int]]) -> None: ...

    def relay_path(self, key: tuple[bytes, int, bytes, int]) -> r.RelayPath | None: ...

    def set_relay_path(self, key: tuple[bytes, int, bytes, int], path: r.RelayPath) -> None: ...


class StunPipeline:
    """STUN/TURN decoding for one capture."""

    def __init__(
        self,
        defects: DefectLog,
        host: _Host,
        passwords: list[bytes] | None = None,
        *,
        keep: str = "all",
    ):
        self.defects = defects
        self.host = host
        self.analyzer = IceAnalyzer(passwords)
        #: What becomes of each message once analysed: ``all`` keeps it (up to
        #: :data:`MAX_MESSAGES`), ``spool`` writes it to :attr:`spool` once settled (a
        #: streaming run whose output lists them), ``none`` only counts it.
        self.keep = keep
        #: The messages kept (``all``), or still settling (``spool``).
        self.messages: list[s.StunMessage] = []
        #: Messages counted and not kept (past the bound, or ``none``).
        self.dropped = 0
        self.spool: StunSpool | None = StunSpool() if keep == "spool" else None
        self._until_settle = _SETTLE_EVERY
        #: Every message by name, and those relayed inside TURN, kept or not (the summaries).
        self.names: Counter[str] = Counter()
        self.relayed = 0
        self.counts: Counter[str] = Counter()
        self.depth = 0
        self._tcp: dict[tuple[int, int], Any] = {}
        #: Per TCP connection: [framing, STUN messages, RTP/RTCP frames] it carried, for
        #: :meth:`connection_label`.
        self._carried: dict[int, list[Any]] = {}
        #: UDP 4-tuples an MS-TURN Set Active Destination succeeded on: raw media there goes
        #: between the relayed address and the destination (no TURN header any more).
        #: (src, sport, dst, dport) -> (new src, new dst, client, server, peer, to_peer).
        self.active: dict[tuple[bytes, int, bytes, int], tuple[Any, ...]] = {}
        self._endpoints: dict[tuple[bytes, int], tuple[bytes, int]] = {}

    # -- UDP -------------------------------------------------------------------------------
    def udp(
        self,
        frame: int,
        ts: float,
        src: bytes,
        sport: int,
        dst: bytes,
        dport: int,
        payload: bytes,
        transport: str = "UDP",
    ) -> bool:
        """One datagram (or one unframed record); True when it was STUN/TURN."""
        first = payload[0]
        if first < 4:
            if not s.is_stun_datagram(payload):
                if s.looks_like_stun(payload):
                    self.defects.add(frame, "stun", 2, "message length does not match datagram")
                return False
            try:
                msg = s.parse(payload)
            except MalformedError as exc:
                self.defects.add(frame, exc.layer, exc.offset, exc.reason)
                return True
            self._message(msg, frame, ts, (src, sport), (dst, dport), transport)
            return True
        if 64 <= first <= 79:
            cd = channel_data(payload)
            if cd is None:
                return False
            self.counts["channel-data"] += 1
            self._channel_data(frame, ts, (src, sport), (dst, dport), transport, *cd)
            return True
        if first == 0xFF:
            mux = multiplexed_frame(payload)
            if mux is None:
                return False
            self.counts["multiplexed"] += 1
            a, b = (src, sport), (dst, dport)
            self._mark(a, b, r.MULTIPLEXED, transport, a, b, mux[1], session=mux[0])
            self._reinject(frame, ts, a, b, mux[1])
            return True
        return False

    # -- TCP -------------------------------------------------------------------------------
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
        """Bytes of a TCP direction api decided carries STUN/TURN/ICE-TCP; returns what the
        connection is known to carry so far (:meth:`connection_label`)."""
        key = (conn_id, direction)
        state = self._tcp.get(key)
        if not isinstance(state, TcpMediaFramer):
            pending = (state or b"") + data
            framing = detect(pending)
            if framing is None:
                if len(pending) > _MAX_UNDETECTED:
                    self.defects.add(frame, "turn-tcp", 0, "no STUN/TURN framing recognised")
                    pending = pending[-_MAX_UNDETECTED // 2 :]
                self._tcp[key] = pending
                return self.connection_label(conn_id)
            if framing == "pseudo-tls":
                state = TcpMediaFramer("ms-turn", pseudo_tls=True)
                self.counts["pseudo-tls"] += 1
                other = self._tcp.get((conn_id, 1 - direction))
                if other is None:
                    self._tcp[(conn_id, 1 - direction)] = TcpMediaFramer("ms-turn", pseudo_tls=True)
            else:
                state = TcpMediaFramer(framing)
            self._tcp[key] = state
            data = pending
            carried = self._carried.setdefault(conn_id, [None, 0, 0])
            if carried[0] is None or framing == "pseudo-tls":
                carried[0] = framing
        framer: TcpMediaFramer = state
        framer.receive_data(data, frame, ts)
        self._drain(framer, src, sport, dst, dport, self._carried[conn_id])
        return self.connection_label(conn_id)

    def connection_label(self, conn_id: int) -> str:
        """What a media TCP connection carried, as ``--summary`` names it: ``ice-tcp`` (RFC 4571
        framing with STUN connectivity checks, and usually RTP after them), ``rtp-rfc4571``
        (RFC 4571 with RTP/RTCP and no STUN, e.g. a capture begun after the checks), and
        ``stun-turn`` for TURN to a server (MS-TURN framing, pseudo-TLS, RFC 6062) or while
        nothing is known yet."""
        carried = self._carried.get(conn_id)
        if carried is None or carried[0] != "rfc4571":
            return "stun-turn"
        if carried[1]:
            return "ice-tcp"
        if carried[2]:
            return "rtp-rfc4571"
        return "stun-turn"

    def tcp_gap(self, conn_id: int, direction: int, missing: int, frame: int, ts: float) -> None:
        state = self._tcp.get((conn_id, direction))
        if isinstance(state, TcpMediaFramer):
            state.receive_gap(missing, frame, ts)
            self._flush_defects(state)
        elif state is not None:
            self._tcp[(conn_id, direction)] = b""

    def _drain(
        self,
        framer: TcpMediaFramer,
        src: bytes,
        sport: int,
        dst: bytes,
        dport: int,
        carried: list[Any],
    ) -> None:
        a, b = (src, sport), (dst, dport)
        while True:
            unit = framer.next_frame()
            if unit is None:
                break
            payload = unit.payload
            if not payload:
                continue
            first = payload[0]
            if first < 4:
                carried[1] += 1
            elif 0x80 <= first <= 0xBF:
                carried[2] += 1
            if unit.kind == "control":
                try:
                    msg = s.parse(payload)
                except MalformedError as exc:
                    self.defects.add(unit.frame, exc.layer, exc.offset, exc.reason)
                    continue
                self._message(msg, unit.frame, unit.ts, a, b, "TCP")
            elif unit.kind == "message" or classify(payload) == "stun":
                if payload[0] < 4:
                    try:
                        msg = s.parse(payload)
                    except MalformedError as exc:
                        self.defects.add(unit.frame, exc.layer, exc.offset, exc.reason)
                        continue
                    self._message(msg, unit.frame, unit.ts, a, b, "TCP")
                else:
                    self.udp(unit.frame, unit.ts, src, sport, dst, dport, payload, "TCP")
            elif framer.framing == "ms-turn":
                self._tcp_end_to_end(unit.frame, unit.ts, a, b, payload)
            else:
                if not self.udp(unit.frame, unit.ts, src, sport, dst, dport, payload, "TCP"):
                    self._reinject(unit.frame, unit.ts, a, b, payload)
        self._flush_defects(framer)

    def _tcp_end_to_end(
        self, frame: int, ts: float, a: tuple[bytes, int], b: tuple[bytes, int], payload: bytes
    ) -> None:
        """MS-TURN type 0x03 data: media to or from the active destination."""
        an = self.analyzer
        alloc = an.allocation_for(a, b, "TCP")
        to_peer = alloc is not None
        if alloc is None:
            alloc = an.allocation_for(b, a, "TCP")
        if alloc is not None and alloc.active_destination is not None:
            client, server = (a, b) if to_peer else (b, a)
            relayed = an.relayed_address(client, server, "TCP") or server
            peer = alloc.active_destination_raw
            if peer is not None:
                an.relayed(client, server, "TCP", peer, to_peer, len(payload), classify(payload))
                src, dst = (relayed, peer) if to_peer else (peer, relayed)
                self._mark(src, dst, r.ACTIVE_DESTINATION, "TCP", a, b, payload)
                self._reinject(frame, ts, src, dst, payload)
                return
        if not self.udp(frame, ts, a[0], a[1], b[0], b[1], payload, "TCP"):
            self._reinject(frame, ts, a, b, payload)

    def _flush_defects(self, framer: TcpMediaFramer) -> None:
        for frame, offset, reason in framer.defects:
            self.defects.add(frame, "turn-tcp", offset, reason)
        framer.defects.clear()

    # -- messages --------------------------------------------------------------------------
    def _message(
        self,
        msg: s.StunMessage,
        frame: int,
        ts: float,
        src: tuple[bytes, int],
        dst: tuple[bytes, int],
        transport: str,
    ) -> None:
        msg.frame = frame
        msg.time = ts
        msg.src = self._endpoint(src)
        msg.dst = self._endpoint(dst)
        msg.transport = transport
        msg.depth = self.depth
        self.analyzer.message(msg)
        name = msg.name
        self.counts[name] += 1
        self.names[name] += 1
        if msg.depth:
            self.relayed += 1
        if self.spool is not None:
            self.messages.append(msg)
            self._until_settle -= 1
            if self._until_settle <= 0:
                self._until_settle = _SETTLE_EVERY
                self._settle(ts)
        elif self.keep == "all" and len(self.messages) < MAX_MESSAGES:
            self.messages.append(msg)
        else:
            self.dropped += 1
        if not msg.retransmission:
            self._learn(msg)
            self._relay(msg)

    @property
    def total(self) -> int:
        """Every message seen (kept, spooled or only counted)."""
        spooled = self.spool.count if self.spool is not None else 0
        return len(self.messages) + spooled + self.dropped

    def all_messages(self) -> list[s.StunMessage] | StunMessages:
        """The messages kept, in the order seen: the list (``all``), or the spool then those
        still settling (``spool``; iterate it, it is not a list)."""
        if self.spool is None:
            return self.messages
        return StunMessages(self.spool, self.messages)

    def _settle(self, now: float) -> None:
        """Spool the messages older than :data:`SETTLE` seconds (and the oldest past
        :data:`MAX_SETTLING`), their integrity checked again with the keys known by now."""
        msgs = self.messages
        limit = now - SETTLE
        over = len(msgs) - MAX_SETTLING
        cut = 0
        for m in msgs:
            if cut >= over and (m.time is None or m.time >= limit):
                break
            cut += 1
        if not cut:
            return
        an = self.analyzer
        recheck = bool(an.passwords or an.ufrag_passwords)
        spool = self.spool
        assert spool is not None
        for m in msgs[:cut]:
            if recheck and m.integrity == "unchecked":
                an.recheck_integrity(m)
            spool.add(m)
        del msgs[:cut]

    def _endpoint(self, endpoint: tuple[bytes, int]) -> tuple[bytes, int]:
        """The one kept copy of an (address, port) pair (up to ``MAX_SHARED_ENDPOINTS``)."""
        shared = self._endpoints.get(endpoint)
        if shared is None:
            if len(self._endpoints) < MAX_SHARED_ENDPOINTS:
                self._endpoints[endpoint] = endpoint
            return endpoint
        return shared

    def _learn(self, msg: s.StunMessage) -> None:
        """Tell the media side which addresses TURN and ICE revealed."""
        expect = self.host.expect_media
        cls, method = msg.cls, msg.method
        if cls == 2 and method == 3:
            for attr in (s.A_RELAYED, s.A_MAPPED, s.A_MS_ALT_MAPPED):
                if attr == s.A_MAPPED and msg.flavor != s.MS_TURN:
                    continue
                addr = msg.address(attr)
                if addr is not None:
                    expect(addr[0], addr[1], "turn-relayed")
            for attr in (s.A_XOR_MAPPED, s.A_MS_XOR_MAPPED):
                addr = msg.address(attr)
                if addr is not None:
                    expect(addr[0], addr[1], "turn-mapped")
        elif cls == 2 and method == 1:
            addr = msg.address(s.A_XOR_MAPPED) or msg.address(s.A_MS_XOR_MAPPED)
            if addr is not None:
                expect(addr[0], addr[1], "stun-mapped")
            if msg.dst is not None and msg.src is not None:
                req = self.analyzer.transactions.get((msg.transaction, msg.dst, msg.src))
                if (
                    req is not None
                    and req.request is not None
                    and req.request.has(s.A_USE_CANDIDATE)
                ):
                    expect(msg.src[0], msg.src[1], "ice-nominated")
                    expect(msg.dst[0], msg.dst[1], "ice-nominated")
        elif msg.msg_type == 0x0006 and msg.flavor == s.MS_TURN:
            addr = msg.address(s.A_DESTINATION)
            if addr is not None:
                expect(addr[0], addr[1], "turn-active-destination")
        elif msg.msg_type == 0x0106 and msg.flavor == s.MS_TURN:
            self._activate(msg)
        elif cls == 0 and method in (8, 9):
            addr = msg.peer_address()
            if addr is not None:
                expect(addr[0], addr[1], "turn-peer")

    def _activate(self, msg: s.StunMessage) -> None:
        """Set Active Destination succeeded: later raw media on that UDP 4-tuple is relayed."""
        if msg.depth or msg.transport != "UDP" or msg.src is None or msg.dst is None:
            return
        an = self.analyzer
        t = an.transactions.get((msg.transaction, msg.dst, msg.src))
        if t is None or t.request is None or t.request.src is None or t.request.dst is None:
            return
        client, server = t.request.src, t.request.dst
        dest = t.request.address(s.A_DESTINATION)
        ended = [k for k, v in self.active.items() if v[2] == client and v[3] == server]
        for key in ended:
            del self.active[key]
        if ended:
            self.host.relay_changed(ended)
        if dest is None or dest[1] == 0:
            return  # an all-zero destination ends forwarding
        relayed = an.relayed_address(client, server, "UDP") or server
        self.host.relay_changed(
            [
                (client[0], client[1], server[0], server[1]),
                (server[0], server[1], client[0], client[1]),
            ]
        )
        self.active[(client[0], client[1], server[0], server[1])] = (
            relayed,
            dest,
            client,
            server,
            dest,
            True,
        )
        self.active[(server[0], server[1], client[0], client[1])] = (
            dest,
            relayed,
            client,
            server,
            dest,
            False,
        )

    def raw_media(
        self, src: bytes, sport: int, dst: bytes, dport: int, payload: bytes
    ) -> tuple[bytes, int, bytes, int, PeerTraffic | None, bool]:
        """The flow a raw RTP/RTCP datagram really belongs to: relayed address ↔ destination
        on an MS-TURN allocation with an active destination, else the datagram's own; with
        the relayed counts it went to (None when not relayed or not counted) and whether it
        went towards the peer."""
        hit = self.active.get((src, sport, dst, dport))
        if hit is None:
            return src, sport, dst, dport, None, False
        new_src, new_dst, client, server, peer, to_peer = hit
        traffic = self.analyzer.relayed(
            client, server, "UDP", peer, to_peer, len(payload), classify(payload)
        )
        outer = ((src, sport), (dst, dport))
        self._mark(new_src, new_dst, r.ACTIVE_DESTINATION, "UDP", *outer, payload)
        return new_src[0], new_src[1], new_dst[0], new_dst[1], traffic, to_peer

    def _relay(self, msg: s.StunMessage) -> None:
        """Send / Data messages: the DATA inside goes back into the pipeline as its own flow."""
        data = msg.get(s.A_DATA)
        if data is None or not data or msg.src is None or msg.dst is None:
            return
        an = self.analyzer
        if msg.msg_type in s.DATA_INDICATION_TYPES:
            peer = msg.peer_address()
            client, server = msg.dst, msg.src
            to_peer = False
        elif (msg.msg_type in (0x0004, 0x0006) and msg.flavor == s.MS_TURN) or (
            msg.msg_type == 0x0016
        ):
            peer = msg.address(s.A_DESTINATION) if msg.flavor == s.MS_TURN else None
            peer = peer or msg.peer_address()
            client, server = msg.src, msg.dst
            to_peer = True
        else:
            return
        if peer is None:
            return
        self.host.expect_media(peer[0], peer[1], "turn-peer")
        transport = msg.transport
        an.relayed(client, server, transport, peer, to_peer, len(data), classify(data))
        relayed = an.relayed_address(client, server, transport) or server
        src, dst = (relayed, peer) if to_peer else (peer, relayed)
        via = r.SEND_INDICATION if to_peer else r.DATA_INDICATION
        self._mark(src, dst, via, transport, msg.src, msg.dst, data, server=server)
        self._reinject(msg.frame or 0, msg.time or 0.0, src, dst, data)

    def _channel_data(
        self,
        frame: int,
        ts: float,
        src: tuple[bytes, int],
        dst: tuple[bytes, int],
        transport: str,
        channel: int,
        payload: bytes,
    ) -> None:
        an = self.analyzer
        peer = an.channel_peer(src, dst, transport, channel)
        to_peer = peer is not None
        client, server = (src, dst)
        if peer is None:
            peer = an.channel_peer(dst, src, transport, channel)
            client, server = (dst, src)
        if peer is None:
            # Channel never bound in the capture: the flow keeps the outer addresses.
            self._mark(src, dst, r.CHANNEL_DATA, transport, src, dst, payload, channel=channel)
            self._reinject(frame, ts, src, dst, payload)
            return
        an.relayed(client, server, transport, peer, to_peer, len(payload), classify(payload))
        relayed = an.relayed_address(client, server, transport) or server
        a, b = (relayed, peer) if to_peer else (peer, relayed)
        self._mark(a, b, r.CHANNEL_DATA, transport, src, dst, payload, channel=channel)
        self._reinject(frame, ts, a, b, payload)

    def _mark(
        self,
        src: tuple[bytes, int],
        dst: tuple[bytes, int],
        via: str,
        transport: str,
        outer_src: tuple[bytes, int],
        outer_dst: tuple[bytes, int],
        payload: bytes,
        *,
        channel: int | None = None,
        server: tuple[bytes, int] | None = None,
        session: bytes | None = None,
    ) -> None:
        """Tell the RTP tracker that the flow src → dst came through TURN this way, on the
        client ↔ server 5-tuple ``outer_src`` → ``outer_dst`` (RTP and RTCP only; once per
        flow and mechanism: later packets cost one dictionary look-up). ``server`` names the
        server when no allocation is known; ``session`` is an 0xFF10 frame's session ID."""
        if not payload or not 128 <= payload[0] <= 191:
            return
        key = (src[0], src[1], dst[0], dst[1])
        old = self.host.relay_path(key)
        if old is not None and via in old.via:
            return
        an = self.analyzer
        alloc = an.allocation_for_session(session) if session is not None else None
        alloc = (
            alloc
            or an.allocation_for(outer_src, outer_dst, transport)
            or an.allocation_for(outer_dst, outer_src, transport)
        )
        relayed = server_ep = None
        if alloc is not None:
            server_ep = alloc.server
            if alloc.relayed_raw is not None:
                relayed = Endpoint.from_raw(*alloc.relayed_raw)
        elif server is not None:
            server_ep = Endpoint.from_raw(*server)
        path = r.RelayPath(
            via=(via,),
            transport=transport,
            outer_src=Endpoint.from_raw(*outer_src),
            outer_dst=Endpoint.from_raw(*outer_dst),
            server=server_ep,
            relayed=relayed,
            allocation=alloc.id if alloc is not None else None,
            channel=channel,
        )
        self.host.set_relay_path(key, path.including(old))

    def _reinject(
        self, frame: int, ts: float, src: tuple[bytes, int], dst: tuple[bytes, int], data: bytes
    ) -> None:
        if not data or self.depth >= MAX_DEPTH:
            return
        self.depth += 1
        try:
            self.host.udp(frame, ts, src[0], src[1], dst[0], dst[1], data)
        finally:
            self.depth -= 1

    # -- SIP -------------------------------------------------------------------------------
    def sip_body(self, body: bytes) -> None:
        """SDP (or multipart with SDP) seen in SIP: learn ICE passwords and candidate types.
        MediaPipeline.sip_message hands over only the bodies that may hold them
        (``media/ice_words.py``), and starts this pipeline for the first one."""
        self.analyzer.learn_sdp(body)

    def finish(self) -> None:
        """End of capture: integrity of messages seen before their SDP is checked again."""
        an = self.analyzer
        if not (an.passwords or an.ufrag_passwords):
            return
        # A response's keys come from its request; its transaction may have been forgotten
        # (ICE keeps transactions for minutes), but a kept response's request is kept too.
        requests: dict[tuple[bytes, Any, Any], s.StunMessage] = {}
        for msg in self.messages:
            cls = msg.cls
            if cls == 0:
                requests.setdefault((msg.transaction, msg.src, msg.dst), msg)
            if msg.integrity != "unchecked":
                continue
            request = None
            if cls >= 2 and msg.src is not None and msg.dst is not None:
                request = requests.get((msg.transaction, msg.dst, msg.src))
            an.recheck_integrity(msg, request)
