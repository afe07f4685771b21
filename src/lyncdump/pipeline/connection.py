"""One TCP connection's layer stack: what each direction speaks, and the decoder for it.

The reassembler (net/tcp.py) turns segments into ordered bytes per direction; this module
decides what those bytes are and pushes them through the right sans-IO layers:

    sniff ─┬─► SIP framer ──────────────────────────► SIP messages
           ├─► MS-SIPCOMP decoder ─► SIP framer ─────► SIP messages (compressed)
           ├─► TLS session ─► (the same stack again, on the decrypted bytes)
           └─► media framing (STUN/TURN/ICE-TCP, RFC 4571) ─► media pipeline

A direction starts in ``SNIFF`` and is decided by its first bytes (a SIP start line, a TLS
record header, a STUN/TURN framing, or an MS-SIPCOMP header chain when the capture began after
NEGOTIATE). A SIP direction switches to MS-SIPCOMP at the byte after the NEGOTIATE / 200 OK
exchange (sipcomp.stream.NegotiationTracker). TLS plaintext is fed to an inner
:class:`TcpConnectionPipeline` of its own, marked encrypted, so it takes the clear path.

The connection keeps no message: each one goes to the run's ``deliver`` callback as soon as it
is parsed. When both directions are closed the layers are flushed (cut-off messages reported)
and the caller may drop the object.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Protocol

from .. import fastpath

# TlsSummary is a field of ConnectionSummary, named through the package so that
# typing.get_type_hints resolves it, loading tls/summary.py then (tls/__init__.py): a run
# without TLS never does (the handshake parser and decryption load with the first TLS
# connection, cryptography only when a session decrypts).
from .. import tls as tls_package
from ..errors import MalformedError
from ..model import DefectLog, Endpoint
from ..net.encap import Encapsulation
from ..sip.framing import FramedMessage, SipStreamFramer
from ..sip.message import SipMessage, looks_like_sip, parse_message
from ..sipcomp.budget import DecompressionBudget

if TYPE_CHECKING:
    from ..media.pipeline import MediaPipeline
    from ..net.tcp import TcpConnection
    from ..sip.websocket import WebSocketDecoder
    from ..sipcomp.stream import DecodedPacket, NegotiationTracker, SipcompStreamDecoder
    from ..tls.decrypt import TlsSession
    from ..tls.keys import TlsKeys


def turn_tcp_framing(data: bytes) -> str | None:
    """media/turn_tcp.detect: the TCP media framing the first bytes of a direction that is not
    SIP show, if any. The module loads with the first such direction (a capture of SIP over TCP
    has none)."""
    from ..media.turn_tcp import detect

    return detect(data)


def looks_like_upgrade(data: bytes) -> bool:
    """sip/websocket.looks_like_upgrade; that module loads with the first direction whose
    bytes start as HTTP would."""
    if data[:1] not in (b"G", b"H"):
        return False
    from ..sip.websocket import looks_like_upgrade as upgrade

    return upgrade(data)


#: The compiled helper that frames the whole plain messages of a chunk (None without it).
_frame_chunk: Any = fastpath.helper("sip_frame_chunk")
#: The compiled helper that frames them and delivers each as the fast path delivers what it
#: frames (None without it: they are framed by ``_frame_chunk`` and go to ``_deliver``).
_deliver_chunk: Any = fastpath.helper("sip_deliver_chunk")
#: The compiled helper that reads a chunk that is one whole NEGOTIATE message or its answer,
#: in the plain shape, with what the MS-SIPCOMP tracker needs of it (None without it).
_negotiate_chunk: Any = fastpath.helper("sip_negotiate_chunk")
#: The same reading, the message then made and delivered in C as ``sip_deliver_chunk``
#: delivers a clean one, and given back for the tracker (None without it).
_negotiate_deliver: Any = fastpath.helper("sip_negotiate_deliver")

#: How far into a TCP direction we look for a SIP start line before calling it "not SIP".
SNIFF_LIMIT = 64 * 1024

#: A direction whose first bytes are none of the known starts keeps them as they came (a SIP
#: start line cut across segments is then seen whole) until this many bytes or
#: ``PROBE_AFTER_CHUNKS`` segments, or a segment that starts like a compression packet header;
#: only then does the mid-connection MS-SIPCOMP probe start (a decoder of about 500 bytes). A
#: connection that sent a SYN and one unfinished line stays at a few hundred bytes.
PROBE_AFTER = 512
PROBE_AFTER_CHUNKS = 4

# What a direction speaks (Direction.mode).
SNIFF = 0  # not decided yet: the next bytes are sniffed
SIP = 1  # clear SIP, framed by Content-Length
SIPCOMP = 2  # MS-SIPCOMP packets, decompressed into the SIP framer
TLS = 3  # TLS records: the connection's TlsSession decrypts, the inner connection decodes
MEDIA = 4  # STUN/TURN/ICE-TCP/RFC 4571 framing: the media pipeline decodes
OTHER = 5  # none of the above: bytes are ignored
WEBSOCKET = 6  # an HTTP Upgrade, then WebSocket frames, one SIP message each (RFC 7118)

# How the compiled fast path reads a direction it was handed (FastPath.sip_own, _fastpath.c).
READ_SIP = 0  # clear SIP framed there, each message to _deliver
READ_RAW = 1  # each segment's bytes to _raw_data (the normal path)
READ_TLS = 2  # TLS records framed there, each record to _tls_record
READ_SIPCOMP = 3  # MS-SIPCOMP decoded and its SIP framed there, each message to _deliver
READ_FIRST = 4  # READ_SIP from the first byte of a direction not heard yet (see offer)


#: The hand of an MS-SIPCOMP direction whose decoder is fresh (no history, at position 0).
_FRESH: tuple[None, int] = (None, 0)

_sipcomp_stream: Any = None  # lyncdump.sipcomp.stream, once _stream() has loaded it


def _stream() -> Any:
    """The module lyncdump.sipcomp.stream, imported at its first use (a run without MS-SIPCOMP
    never loads it) and kept here: an import statement in the per-connection methods cost a
    module look-up for each connection (session 30)."""
    global _sipcomp_stream
    module = _sipcomp_stream
    if module is None:
        from ..sipcomp import stream as module

        _sipcomp_stream = module
    return module


def _looks_compressed(data: bytes) -> bool:
    """sipcomp.stream.looks_compressed, loading MS-SIPCOMP's decoder only for a direction
    that may carry it (a NEGOTIATE seen, or bytes that are no known protocol)."""
    return _stream().looks_compressed(data)  # type: ignore[no-any-return]


@dataclass(slots=True)
class ConnectionSummary:
    """What one TCP connection carried, for ``--summary`` and JSON."""

    id: int
    client: Endpoint
    server: Endpoint
    protocol: str = "unknown"
    sip_messages: int = 0
    compressed: bool = False
    #: Compression was assumed from the NEGOTIATE offer: its 200 OK came too late or never.
    compression_assumed: bool = False
    compression_layout: str | None = None
    wire_bytes: int = 0
    plain_bytes: int = 0
    tls: tls_package.summary.TlsSummary | None = None
    #: The tunnel its segments came through (ERSPAN, VXLAN ...; net/encap.py), None when plain.
    encapsulation: Encapsulation | None = None

    @property
    def compression_ratio(self) -> float | None:
        """Plain SIP bytes per compressed byte on the wire (MS-SIPCOMP connections only)."""
        if not self.compressed or not self.wire_bytes:
            return None
        return self.plain_bytes / self.wire_bytes

    def to_dict(self) -> dict[str, Any]:
        """A connection object of the ``capture`` record (docs/json.md)."""
        from ..render.json import connection_to_dict

        return connection_to_dict(self)

    def endpoints(self) -> tuple[Endpoint, Endpoint]:
        """(client, server): what every message of the connection is sent between."""
        return self.client, self.server


_CLIENT = ConnectionSummary.__dict__["client"]  # the dataclass's slots, for the subclass below
_SERVER = ConnectionSummary.__dict__["server"]


@lru_cache(maxsize=4096)
def _server_end(raw: bytes, port: int) -> Endpoint:
    """A server's Endpoint, one for all its connections (a sign-in storm opens thousands to
    a few servers; an Endpoint never changes)."""
    return Endpoint.from_raw(raw, port)


class TcpConnectionSummary(ConnectionSummary):
    """A :class:`ConnectionSummary` made for a connection of the reassembler: its endpoints
    are made when first read (the first message, or the listing at the end), from the
    connection's own key. A run lists up to 100,000 of these, most never read until the end,
    and many connections (a flood of half-open ones) never carry a message: two Endpoints
    and the text of a new address are about 300 bytes each time."""

    __slots__ = ("_key", "_flip")

    def __init__(
        self,
        conn_id: int,
        key: tuple[bytes, int, bytes, int],
        flip: bool,
        encapsulation: Encapsulation | None = None,
    ) -> None:
        self._key: tuple[bytes, int, bytes, int] | None = key
        self._flip = flip  # True when the client is the second endpoint of ``key``
        # The dataclass's __init__, field by field, its defaults (test_connection_ends.py
        # checks that they are all here): it would set the endpoints through the properties.
        self.id = conn_id
        _CLIENT.__set__(self, None)
        _SERVER.__set__(self, None)
        self.protocol = "unknown"
        self.sip_messages = 0
        self.compressed = False
        self.compression_assumed = False
        self.compression_layout = None
        self.wire_bytes = 0
        self.plain_bytes = 0
        self.tls = None
        self.encapsulation = encapsulation

    @property  # type: ignore[override]
    def client(self) -> Endpoint:
        return self._made(_CLIENT, 1 if self._flip else 0)

    @client.setter
    def client(self, value: Endpoint) -> None:
        _CLIENT.__set__(self, value)

    @property  # type: ignore[override]
    def server(self) -> Endpoint:
        return self._made(_SERVER, 0 if self._flip else 1)

    @server.setter
    def server(self, value: Endpoint) -> None:
        _SERVER.__set__(self, value)

    def endpoints(self) -> tuple[Endpoint, Endpoint]:
        """(client, server), both made at once when neither is yet (the first message of
        the connection): one call instead of two properties that each make one."""
        key = self._key
        if key is None or _CLIENT.__get__(self) is not None or _SERVER.__get__(self) is not None:
            return self.client, self.server
        if self._flip:
            client, server = Endpoint.from_raw(key[2], key[3]), _server_end(key[0], key[1])
        else:
            client, server = Endpoint.from_raw(key[0], key[1]), _server_end(key[2], key[3])
        _CLIENT.__set__(self, client)
        _SERVER.__set__(self, server)
        self._key = None
        return client, server

    def _made(self, slot: Any, which: int) -> Endpoint:
        """The endpoint in ``slot``, made from end ``which`` of the key on first read; the key
        is let go once both are made."""
        endpoint: Endpoint | None = slot.__get__(self)
        if endpoint is None:
            key = self._key
            assert key is not None
            if slot is _SERVER:
                endpoint = _server_end(key[2], key[3]) if which else _server_end(key[0], key[1])
            else:
                endpoint = (
                    Endpoint.from_raw(key[2], key[3])
                    if which
                    else Endpoint.from_raw(key[0], key[1])
                )
            slot.__set__(self, endpoint)
            if _CLIENT.__get__(self) is not None and _SERVER.__get__(self) is not None:
                self._key = None
        return endpoint


class RunContext(Protocol):
    """What a connection needs from the run it belongs to (pipeline.core.Pipeline)."""

    defects: DefectLog
    media: MediaPipeline | None
    max_sip_message: int
    #: The run's MS-SIPCOMP output budget (sipcomp.budget): each connection takes a share.
    decompression: DecompressionBudget

    def deliver(self, msg: SipMessage) -> None:
        """Take one parsed SIP message (sessions, statistics, media, consumers)."""

    def tls_keys(self) -> TlsKeys:
        """The run's TLS key sources (loaded on first use)."""


Chunk = tuple[bytes, int, float]
"""Bytes of one direction with the frame and time they came in."""


#: What the fast path gives back of an MS-SIPCOMP direction (TcpConnectionPipeline.reclaim):
#: (history position, compressed bytes decoded there, frame of the last packet framed, the
#: packets not all framed as (plain, wire, frame, ts), plain bytes of the first framed, the
#: history made there or None).
_SipcompState = tuple[int, int, int, list[tuple[bytes, int, int, float]], int, bytearray | None]

#: Direction.later: what the put-off decoder's ``resume_at`` takes (or None), and whether its
#: ``receive_eof`` was due.
_Later = tuple[tuple[int, int, int, float, bytearray | None] | None, bool]


class Direction:
    """One direction of a connection: its mode and the decoders of that mode."""

    __slots__ = (
        "mode", "framer", "sipcomp", "ws", "sniffed", "held", "held_frame", "held_ts", "owned",
        "resume", "later",
    )  # fmt: skip

    def __init__(self) -> None:
        self.mode = SNIFF
        self.framer: SipStreamFramer | None = None
        self.sipcomp: SipcompStreamDecoder | None = None
        self.ws: WebSocketDecoder | None = None
        self.sniffed = 0  # bytes looked at while sniffing
        #: Sniffed segments kept until the MS-SIPCOMP probe starts (PROBE_AFTER): the first
        #: one's bytes (its frame and time beside them), then a list of (data, frame, ts).
        self.held: bytes | list[Chunk] | None = None
        self.held_frame = 0
        self.held_ts = 0.0
        #: The compiled fast path reads this direction now (TcpConnectionPipeline.offer).
        self.owned = False
        #: While the fast path frames this direction's SIP, its framer is let go (192 B an
        #: idle one): what makes it again (SipStreamFramer.suspend).
        self.resume: tuple[int, int | None] | None = None
        #: An MS-SIPCOMP direction whose decoder is put off (``sipcomp`` None, see
        #: TcpConnectionPipeline._decoder): None while it would be a fresh one, else (what
        #: its ``resume_at`` takes, or None; whether its ``receive_eof`` was due).
        self.later: _Later | None = None

    def hold(self, data: bytes, frame: int, ts: float) -> int:
        """Keep one more sniffed segment; returns how many are kept."""
        held = self.held
        if held is None:
            self.held, self.held_frame, self.held_ts = data, frame, ts
            return 1
        if isinstance(held, bytes):
            held = self.held = [(held, self.held_frame, self.held_ts)]
        held.append((data, frame, ts))
        return len(held)

    def held_bytes(self) -> bytes:
        held = self.held
        if held is None:
            return b""
        return held if isinstance(held, bytes) else b"".join([c[0] for c in held])

    def take_held(self) -> list[Chunk]:
        """The kept segments, in order; none are kept afterwards."""
        held = self.held
        self.held = None
        if held is None:
            return []
        return [(held, self.held_frame, self.held_ts)] if isinstance(held, bytes) else held


_QUIET = Direction()
"""A direction that has sent nothing yet: shared and never changed (see ``_direction``)."""


def _quiet_framer(framer: SipStreamFramer | None) -> bool:
    """Whether closing this framer would report nothing: made, between messages, no defect
    to hand on."""
    return framer is not None and framer.at_rest and not framer.defects


def _ended(d: Direction) -> bool:
    """Whether :meth:`TcpConnectionPipeline.finish` has nothing to do for this direction: it
    sent nothing, or it speaks clear SIP with its framer between messages (or let go while
    the fast path framed it) and no defect to hand on, so closing the framer would report
    nothing (most directions of a run end so)."""
    if d is _QUIET:
        return True
    if d.mode != SIP or d.sipcomp is not None:
        return False
    return d.framer is None or _quiet_framer(d.framer)


def _put_off(d: Direction, layout: str | None) -> bool:
    """Whether :meth:`TcpConnectionPipeline.finish` only marks this direction's put-off
    decoder as ended: it sent nothing, or it speaks MS-SIPCOMP with no decoder made, its
    framer quiet, and what the decoder would adopt (if anything) has its layout noted, so
    making it to end it would report nothing."""
    if d is _QUIET:
        return True
    if d.mode != SIPCOMP or d.sipcomp is not None:
        return False
    framer = d.framer  # (_quiet_framer, written out: this runs for both directions)
    return (
        framer is not None
        and framer.at_rest
        and not framer.defects
        and (d.later is None or layout is not None)
    )


class TcpConnectionPipeline:
    """The layers of one TCP connection (see the module docstring).

    Fed the reassembler's events for its connection (:meth:`data`, :meth:`gap`,
    :meth:`closed`) and, at the end of the input, :meth:`finish`.
    """

    __slots__ = (
        "conn",
        "summary",
        "ctx",
        "_d0",
        "_d1",
        "negotiation",
        "tls",
        "inner",
        "encrypted",
        "closed_dirs",
        "budget",
        "gone",
        "ends",
        "_hand",
    )

    def __init__(
        self,
        conn: TcpConnection,
        summary: ConnectionSummary,
        ctx: RunContext,
        *,
        encrypted: bool = False,
    ) -> None:
        self.conn = conn
        self.summary = summary
        self.ctx = ctx
        # Both made on first use: most connections never speak in both directions or negotiate.
        self._d0 = _QUIET
        self._d1 = _QUIET
        self.negotiation: NegotiationTracker | None = None
        self.tls: TlsSession | None = None  # both directions of a TLS connection share it
        self.inner: TcpConnectionPipeline | None = None  # the decrypted side of TLS
        self.encrypted = encrypted  # True on the inner side: its messages came over TLS
        self.closed_dirs = 0  # bit per direction that ended (FIN or RST)
        self.budget: DecompressionBudget | None = None  # MS-SIPCOMP output, both directions
        self.gone = False  # the reassembler let go of the connection (port reuse, its bound)
        #: (client, server), read from the summary on the first message (see _ends).
        self.ends: tuple[Endpoint, Endpoint] | None = None
        #: What the compiled path needs to deliver a message it made (see _make_hand).
        self._hand: tuple[Any, ...] | None = None

    # -- input ------------------------------------------------------------------------------
    def data(self, direction: int, data: bytes, frame: int, ts: float) -> None:
        """New in-order bytes of one direction."""
        d = self._d1 if direction else self._d0
        if d is _QUIET:
            if (
                data.startswith(b"NEGOTIATE ")
                and self.negotiation is None
                and _negotiate_deliver is not None
                and _frame_chunk is not None  # (data()'s path below asks both first)
                and _negotiate_chunk is not None
                and self._negotiate_first(direction, data, frame, ts)
            ):
                return  # (an MS-SIPCOMP connection's opening NEGOTIATE, as a rule)
            d = self._direction(direction)
        mode = d.mode
        if mode == SNIFF:
            if self._sniff(direction, data, frame, ts):
                return  # the mid-connection MS-SIPCOMP probe kept the bytes
            mode = d.mode
        if mode == SIP:
            framer = d.framer
            assert framer is not None
            negotiation = self.negotiation
            if (
                negotiation is not None
                and negotiation.offered
                and not framer.buffered
                and _looks_compressed(data)
            ):
                self._assume_compression(direction, data, frame, ts)
                return
            if _frame_chunk is not None and framer.at_rest:
                if negotiation is None:
                    # The whole plain messages at the start are framed by the compiled helper
                    # (each TLS record usually carries one); the framer takes what follows.
                    data = self._deliver_whole(direction, data, frame, ts, framer)
                    if not data:
                        return
                if _negotiate_chunk is not None and self._negotiate_whole(
                    direction, data, frame, ts, framer
                ):
                    return
            framer.receive_data(data, frame, ts)
            self._drain_framer(direction)
        elif mode == SIPCOMP:
            decoder = d.sipcomp
            if decoder is None:
                decoder = self._decoder(d)
            decoder.receive_data(data, frame, ts)
            self._drain_sipcomp(direction)
        elif mode == TLS:
            self._tls_bytes(direction, data, frame, ts)
        elif mode == WEBSOCKET:
            assert d.ws is not None
            d.ws.receive_data(data, frame, ts)
            self._drain_websocket(direction)
        elif mode == MEDIA:
            media = self.ctx.media
            if media is not None:
                c = self.conn
                a, b = (c.client, c.server) if direction == 0 else (c.server, c.client)
                # What the connection carried so far: ice-tcp, rtp-rfc4571 or stun-turn.
                self.summary.protocol = media.tcp_data(c.id, direction, data, frame, ts, *a, *b)

    def gap(self, direction: int, missing: int, frame: int, ts: float) -> None:
        """``missing`` bytes of one direction will never come; the next data follows them."""
        d = self._d1 if direction else self._d0
        if d.mode == SIP and d.framer is not None:
            d.framer.receive_gap(missing, frame, ts)
            self._drain_framer(direction)
        elif d.mode == SIPCOMP:
            self._decoder(d).receive_gap(missing, frame, ts)
            self._drain_sipcomp(direction)
        elif d.mode == MEDIA and self.ctx.media is not None:
            self.ctx.media.tcp_gap(self.conn.id, direction, missing, frame, ts)
        elif d.mode == TLS and self.tls is not None:
            self.tls.receive_gap(direction, missing, frame, ts)
            self._tls_bytes(direction, b"", frame, ts)
        elif d.mode == WEBSOCKET and d.ws is not None:
            d.ws.receive_gap(missing, frame, ts)
            self._drain_websocket(direction)

    def closed(self, direction: int) -> bool:
        """One direction ended; True once both have (the caller may then :meth:`finish`)."""
        self._drain_framer(direction)
        self.closed_dirs |= 1 << direction
        return self.closed_dirs == 3

    def finish(self) -> None:
        """No more input: flush TLS and the framers, reporting what was left cut off."""
        if self.tls is None:
            d0, d1 = self._d0, self._d1
            if _ended(d0) and _ended(d1):
                return  # clear SIP between messages (or silence) both ways: nothing left to say
            layout = self.summary.compression_layout
            if self.inner is None and _put_off(d0, layout) and _put_off(d1, layout):
                # MS-SIPCOMP put off and quiet both ways (or silence), as the fast path gives
                # most compressed connections back at the end of the input: what the loop
                # below would do, without its other tests.
                if d0 is not _QUIET:
                    later = d0.later
                    d0.later = (None if later is None else later[0], True)
                if d1 is not _QUIET:
                    later = d1.later
                    d1.later = (None if later is None else later[0], True)
                return
        for direction, d in enumerate(self.dirs):
            if d.held is not None and d.mode == SNIFF:  # what was kept for the probe, probed
                self._start_probe(direction)
            if d.mode == SNIFF and d.sipcomp is not None:
                d.sipcomp = None  # nothing more will come
        if self.tls is not None:
            self.tls.finish()
            self._tls_bytes(0, b"", self.conn.last_frame, self.conn.last_ts)
        if self.inner is not None:
            self.inner.finish()
        for direction, d in enumerate(self.dirs):
            decoder = d.sipcomp
            if decoder is None and d.mode == SIPCOMP:  # put off: fresh, or in sync and empty
                later = d.later
                if _quiet_framer(d.framer) and (
                    later is None or self.summary.compression_layout is not None
                ):
                    # (what receive_eof and the test below find of such a decoder: nothing)
                    d.later = (None if later is None else later[0], True)
                    continue
                decoder = self._decoder(d)
            if decoder is not None and d.mode == SIPCOMP:  # what it held back, decided
                decoder.receive_eof()
                if (
                    _quiet_framer(d.framer)
                    and not decoder.holds_output
                    and (decoder.layout is None or self.summary.compression_layout is not None)
                ):
                    continue  # nothing left on either side (as most directions end): done
                self._drain_sipcomp(direction)
            if d.framer is not None and d.mode in (SIP, SIPCOMP):
                d.framer.close()
                self._drain_framer(direction)
            elif d.ws is not None and d.mode == WEBSOCKET:
                d.ws.close()
                self._drain_websocket(direction)

    # -- the compiled fast path ---------------------------------------------------------------
    def offer(self, fast: Any) -> None:
        """Hand the directions of a connection at rest to the compiled fast path
        (``FastPath.sip_own``, _fastpath.c), which reads the routine segments that follow: a
        direction that speaks clear SIP with its framer between messages is framed there,
        each message going to :meth:`_deliver`; TLS between records has its records framed
        there, each going to :meth:`_tls_record`; MS-SIPCOMP, WebSocket, media and TLS in the
        middle of a record have their in-order bytes handed to :meth:`data` (through
        :meth:`_raw_data`), as the reassembler would, until they can be framed there. Clear
        SIP in the middle of a message stays Python's until its framer is at rest. A
        direction not heard yet whose other direction speaks clear SIP is read as SIP from its
        first byte (``READ_FIRST``), so a sign-in's first answer is framed and delivered there
        too. Anything unusual gives the direction back through :meth:`reclaim` before Python
        reads the connection again."""
        if self.gone or self.summary.encapsulation is not None:
            return
        conn = self.conn
        if not conn.at_rest():
            return
        # (address, port, address, port), the lower endpoint first; the client is its second
        # end when flip: the sender of a direction is the key's first end when they agree
        key, flip = conn.key, conn.flip
        for direction in (0, 1):
            d = self._d1 if direction else self._d0
            mode = d.mode
            if d.owned or mode == OTHER:
                continue
            if mode == SNIFF:
                # Not heard yet (quiet, or given back before its first byte), while the other
                # direction speaks clear SIP (a sign-in's server before its first answer):
                # read from its first byte there, when that segment holds "SIP/2.0", which
                # _sniff would call SIP (else it comes back before Python reads it); see
                # reclaim.
                other = self._d0 if direction else self._d1
                if d.sniffed or d.held is not None or d.sipcomp is not None or other.mode != SIP:
                    continue
                # After the other direction's NEGOTIATE, its answer may switch both directions
                # to MS-SIPCOMP: each segment goes to data() as it comes (READ_RAW), and
                # _raw_data hands both directions to the fast path once they switched.
                kind = READ_FIRST if self.negotiation is None else READ_RAW
            else:
                if mode == SIP and self.negotiation is not None:
                    continue  # (what _read_as says: clear SIP after a NEGOTIATE stays Python's)
                read_as = self._read_as(d, direction)
                if read_as is None:
                    continue
                if isinstance(read_as, tuple):  # MS-SIPCOMP, with the decoder's hand
                    kind, hand = READ_SIPCOMP, read_as
                else:
                    kind = read_as
            nxt = conn.next_seq(direction)
            if nxt is None:
                continue
            if kind == READ_FIRST or mode == SNIFF:
                d = self._direction(direction)
            a0, a1, b0, b1 = key if flip == bool(direction) else (key[2], key[3], key[0], key[1])
            d.owned = fast.sip_own(
                a0,
                a1,
                b0,
                b1,
                direction,
                nxt,
                self.ctx.max_sip_message,
                self,  # its _deliver, _tls_record, _raw_data, reclaim, _sipcomp_rest: by name
                kind,
                *((hand,) if kind == READ_SIPCOMP else ()),
            )
            if d.owned and kind == READ_SIP:
                assert d.framer is not None
                d.resume = d.framer.suspend()
                d.framer = None
            elif d.owned and kind == READ_FIRST:
                d.resume = (0, None)  # (as a framer made for its first bytes would be)

    def _read_as(self, d: Direction, direction: int) -> int | tuple[bytearray | None, int] | None:
        """How the fast path may read a direction from the next byte on: its SIP framed there
        (clear SIP, the framer between messages, no MS-SIPCOMP negotiation), its TLS records
        framed there (between records, no key awaited), its MS-SIPCOMP decoded there (given as
        the decoder's hand, :meth:`_sipcomp_hand`, which stands for ``READ_SIPCOMP``: the
        decoder is asked once), or each segment handed over raw. None: not at all. Clear SIP
        is never read raw: a NEGOTIATE framed by Python inside the fast path's call could
        switch the other direction while the fast path frames it."""
        mode = d.mode
        if mode == SIP:
            framer = d.framer
            if self.negotiation is None and framer is not None and framer.at_rest:
                return READ_SIP
            return None
        if mode == TLS:
            if self.tls is not None and self.tls.takes_records(direction):
                return READ_TLS
        elif mode == SIPCOMP:
            hand = self._sipcomp_hand(d)
            if hand is not None:
                return hand
        return READ_RAW

    def _raw_data(
        self, direction: int, data: bytes, frame: int, ts: float
    ) -> int | tuple[bytearray | None, int]:
        """In-order bytes the fast path read but does not frame: the normal path takes them;
        returns how the fast path may read what follows (:meth:`_read_as`, else raw still),
        for MS-SIPCOMP the decoder's history and position (:meth:`_sipcomp_hand`). A direction
        read raw from before its first byte (the answer to the other direction's NEGOTIATE)
        may turn out clear SIP and stay read raw: safe, as no direction of a connection with a
        NEGOTIATE exchange is framed by the fast path, so nothing Python reads here can switch
        one the fast path frames."""
        d = self._d1 if direction else self._d0
        negotiation = self.negotiation
        if (
            d.mode == SNIFF
            and d.held is None
            and d.sipcomp is None
            and negotiation is not None
            and negotiation.offered
            and _negotiate_deliver is not None
        ):  # (the answer to the other direction's NEGOTIATE, as a rule)
            # When it switched this direction, what _read_as would give: a fresh decoder's
            # hand (its framer made at rest, the budget taken, nothing held back).
            kind: Any = _FRESH if self._answer(direction, data, frame, ts) else None
        else:
            self.data(direction, data, frame, ts)
            kind = None
        d = self._d1 if direction else self._d0
        if kind is None:
            kind = self._read_as(d, direction)
        other = self._d0 if direction else self._d1
        if other.mode == SIPCOMP and not other.owned and d.mode == SIPCOMP:
            # A NEGOTIATE's answer read here switched both directions: the other one is handed
            # to the fast path now (sip_own takes the reverse of the direction it reads raw
            # while this call runs), so its first packet is not Python's either.
            fast = getattr(self.ctx, "fast_sip", None)
            if fast is not None:
                self._own_switched(fast, 1 - direction, other)
        return READ_RAW if kind is None else kind

    def _own_switched(self, fast: Any, direction: int, d: Direction) -> None:
        """:meth:`offer` from inside :meth:`_raw_data` once a NEGOTIATE's answer switched
        both directions: the direction read raw is the fast path's already, so only the
        other one (``d``, MS-SIPCOMP and not owned) is handed over, as :meth:`offer`'s loop
        would hand it (:meth:`_read_as` of an MS-SIPCOMP direction: its decoder's hand, a
        fresh one's as a rule, else each segment raw)."""
        if self.gone or self.summary.encapsulation is not None:
            return
        conn = self.conn
        if not conn.at_rest():
            return
        hand = self._sipcomp_hand(d)  # (first, as offer asks: it may make the decoder)
        nxt = conn.next_seq(direction)
        if nxt is None:
            return
        key = conn.key
        a0, a1, b0, b1 = key if conn.flip == bool(direction) else (key[2], key[3], key[0], key[1])
        max_message = self.ctx.max_sip_message
        if hand is None:
            d.owned = fast.sip_own(a0, a1, b0, b1, direction, nxt, max_message, self, READ_RAW)
        else:
            d.owned = fast.sip_own(
                a0, a1, b0, b1, direction, nxt, max_message, self, READ_SIPCOMP, hand
            )

    def _answer(self, direction: int, data: bytes, frame: int, ts: float) -> bool:
        """The first segment of a direction read raw after the other direction's NEGOTIATE
        offer (:meth:`_raw_data`), taken as :meth:`data` would take it (:meth:`_sniff`, then
        :meth:`_negotiate_whole` when it is clear SIP), with the compiled
        ``sip_negotiate_deliver`` asked first and once: when it makes and delivers the segment
        as one whole NEGOTIATE message (the routine 200 OK), the direction is set up as the
        sniff would leave it (clear SIP, a fresh framer moved past the message) and the
        tracker steps, without the sniff's tests and :meth:`data`'s dispatch. True when that
        message switched this direction to MS-SIPCOMP (its decoder put off and fresh)."""
        made = _negotiate_deliver(self, direction, data, frame, ts, self.ctx.max_sip_message)
        d = self._direction(direction)
        if made is None:  # not one whole NEGOTIATE message: as data() takes it
            if self._sniff(direction, data, frame, ts):
                return False  # (kept for the MS-SIPCOMP probe)
            if d.mode != SIP:
                self.data(direction, data, frame, ts)  # (decided: data() reads that mode)
                return False
            framer = d.framer
            assert framer is not None and framer.at_rest  # (a fresh one: nothing was held)
            if _looks_compressed(data):  # (a first segment holding "SIP/2.0" somewhere)
                self._assume_compression(direction, data, frame, ts)
                return False
            framer.receive_data(data, frame, ts)  # (_negotiate_whole would refuse it)
            self._drain_framer(direction)
            return False
        self._sniffed_negotiate(d, direction, data, frame, ts, made)
        return made is not False and d.mode == SIPCOMP

    def _negotiate_first(self, direction: int, data: bytes, frame: int, ts: float) -> bool:
        """A direction's first segment, starting with a NEGOTIATE request line, on a
        connection with no NEGOTIATE exchange yet (an MS-SIPCOMP connection's opening
        segment): :meth:`data`'s path for it (:meth:`_sniff` calls it SIP, ``sip_deliver_chunk``
        refuses a message that names NEGOTIATE, then :meth:`_negotiate_whole`) with only
        ``sip_negotiate_deliver`` asked. False when it does not take the segment as one
        whole NEGOTIATE message: nothing was done, and :meth:`data` reads it as before."""
        made = _negotiate_deliver(self, direction, data, frame, ts, self.ctx.max_sip_message)
        if made is None:
            return False
        self._sniffed_negotiate(self._direction(direction), direction, data, frame, ts, made)
        return True

    def _sniffed_negotiate(
        self, d: Direction, direction: int, data: bytes, frame: int, ts: float, made: Any
    ) -> None:
        """A direction's first segment that ``sip_negotiate_deliver`` read as one whole
        message of a NEGOTIATE exchange (``made``: what it gave, not None): the direction set
        up as :meth:`_sniff` sets up clear SIP (the helper's start line is one looks_like_sip
        accepts, and it names SIP/2.0), then followed as :meth:`_negotiate_whole` would."""
        d.sniffed += len(data)
        d.mode = SIP
        framer = d.framer = SipStreamFramer(max_message=self.ctx.max_sip_message)
        self.summary.protocol = "sip"
        if made is False:  # the shape, but not a message the helper makes: Python parses it
            if not self._negotiate_parsed(direction, data, frame, ts, framer):
                framer.receive_data(data, frame, ts)
                self._drain_framer(direction)
            return
        msg, call_id, cseq_number, offers = made
        framer.skip_framed(len(data), frame)
        self._negotiated(direction, msg, call_id, cseq_number, offers)

    def _sipcomp_hand(self, d: Direction) -> tuple[bytearray | None, int] | None:
        """What the fast path needs to decode an MS-SIPCOMP direction from the next byte on
        (the decoder's history, written in place there, and write position; no history for
        a decoder that has read nothing yet, whose first packet the fast path may take), or
        None when the decoder or the framer after it is not at a clean point
        (sipcomp/stream.py ``handover``; docs/architecture.md)."""
        decoder, framer = d.sipcomp, d.framer
        if framer is None or not framer.at_rest or self.budget is None:
            return None
        if decoder is None:
            if d.mode != SIPCOMP:
                return None
            if d.later is None:
                return _FRESH  # (a fresh decoder's handover)
            decoder = self._decoder(d)
        return decoder.handover()

    def _tls_record(
        self, direction: int, record: bytes, frame: int, ts: float
    ) -> bool | tuple[Any, ...]:
        """A whole TLS record the fast path framed: decrypted and handed on as the record
        reader's would be; False when the fast path must stop reading records there (the
        direction died, or a key is now awaited); when the direction's next application data
        record would be routine, what the fast path needs to open such records itself
        (``TlsSession.routine_hand``), else True."""
        session = self.tls
        assert session is not None
        plain = session.receive_record(direction, record, frame, ts)
        if plain is not None:  # the routine record: its plaintext straight to the inner side
            self._tls_plain(direction, plain, frame, ts)
            # A record that opened left no defect, nothing queued and the direction reading.
            return session.routine_hand(direction) or True
        if session.defects or session.plaintext:
            self._tls_bytes(direction, b"", frame, ts)
        if not session.reads_on(direction):
            return False
        return session.routine_hand(direction) or True

    def _tls_plain(
        self,
        direction: int,
        plain: bytes,
        frame: int,
        ts: float,
        skip: int = 0,
        skip_frame: int = 0,
    ) -> TcpConnectionPipeline | None:
        """The plaintext of a routine application data record (opened by the TLS session, or
        by the fast path under the session's key) to the decrypted side, after ``skip`` bytes
        of that side's SIP that the fast path framed itself (the last in ``skip_frame``).
        Returns the decrypted side when the fast path may frame that direction's next
        plaintext itself (:meth:`_frames_whole`), else None."""
        inner = self.inner
        if inner is None:
            inner = self._inner()
        if skip:
            inner._skip_framed(direction, skip, skip_frame)
        inner.data(direction, plain, frame, ts)
        summary = self.summary
        if summary.protocol != "tls":  # what the plaintext speaks, as the inner sniff saw it
            assert self.tls is not None
            self.tls.summary.application = summary.protocol
            summary.protocol = "tls"
        return inner if inner._frames_whole(direction) else None

    def _frames_whole(self, direction: int) -> bool:
        """Whether :meth:`data` would frame the whole messages at the start of this direction's
        next bytes with ``sip_frame_chunk`` (clear SIP, its framer at rest, no MS-SIPCOMP
        negotiation): then the fast path may frame them itself and :meth:`_deliver` each."""
        d = self._d1 if direction else self._d0
        framer = d.framer
        return (
            d.mode == SIP
            and self.negotiation is None
            and framer is not None
            and framer.at_rest
            and _frame_chunk is not None
        )

    def _skip_framed(self, direction: int, count: int, last_frame: int) -> None:
        """The fast path framed and delivered ``count`` bytes of this direction's SIP (the
        last in ``last_frame``) while its framer was at rest (:meth:`_frames_whole`)."""
        d = self._d1 if direction else self._d0
        assert d.framer is not None
        d.framer.skip_framed(count, last_frame)

    def _tls_sync(
        self,
        direction: int,
        state: Any,
        records: int,
        size: int,
        plain: int,
        seq: int,
        frame: int,
        skip: int = 0,
        skip_frame: int = 0,
    ) -> None:
        """The fast path gives the TLS session the counts of the routine records it opened
        itself (``TlsSession.routine_back``), and the decrypted side's framer the SIP bytes
        it framed there (:meth:`_skip_framed`), before any other code may read them."""
        assert self.tls is not None
        if records:
            self.tls.routine_back(direction, state, records, size, plain, seq, frame)
        if skip:
            assert self.inner is not None
            self.inner._skip_framed(direction, skip, skip_frame)

    def reclaim(
        self,
        direction: int,
        framed: int,
        taken: int,
        chunks: list[tuple[bytes, int, float]],
        last_frame: int,
        last_ts: float,
        sipcomp: _SipcompState | None = None,
    ) -> None:
        """The fast path gives a direction back: it took ``taken`` bytes since :meth:`offer`
        and framed ``framed`` of them (none when it handed each segment to :meth:`data`); the
        rest (a message in progress, or what follows a NEGOTIATE) comes as the segments that
        brought it. An MS-SIPCOMP direction also gives ``sipcomp`` (:meth:`_sipcomp_back`).
        A direction taken before its first byte (``READ_FIRST``) is clear SIP from here when
        the fast path framed some of it (its first bytes held "SIP/2.0", as :meth:`_sniff`
        would have found), else what comes back is sniffed as if it came now."""
        d = self._d1 if direction else self._d0
        d.owned = False
        self.conn.taken_elsewhere(direction, taken, last_frame, last_ts)
        resume = d.resume
        if resume is not None and d.mode == SNIFF:  # taken from its first byte (offer)
            if framed:  # what _sniff would have done with its first bytes (they held SIP/2.0)
                d.mode = SIP
            else:  # nothing framed: the bytes given back are sniffed as they come
                resume = d.resume = None
        if resume is not None:
            d.resume = None
            if framed and sipcomp is None:  # (SipStreamFramer.skip_framed's work, done here)
                resume = (resume[0] + framed, last_frame)
                framed = 0
            d.framer = SipStreamFramer.resumed(resume, max_message=self.ctx.max_sip_message)
        if sipcomp is not None:
            self._sipcomp_back(direction, d, framed, chunks, last_frame, last_ts, sipcomp)
            return
        if framed and d.mode != TLS:  # (a TLS record reader counted each record it was given)
            assert d.framer is not None
            d.framer.skip_framed(framed, last_frame)
        for data, frame, ts in chunks:
            self.data(direction, data, frame, ts)

    def _sipcomp_rest(
        self,
        direction: int,
        framed: int,
        taken: int,
        last_frame: int,
        last_ts: float,
        position: int,
        consumed: int,
        plain_frame: int,
        made: bytearray | None,
    ) -> None:
        """:meth:`reclaim` of an MS-SIPCOMP direction with nothing held and no packet
        pending (every one the fast path reads at the end of the input), its state given
        flat, so no list or tuple is built for it. A direction whose decoder was made (or is
        owed its adoption) takes :meth:`reclaim`'s whole path."""
        d = self._d1 if direction else self._d0
        if d.sipcomp is not None or d.later is not None or d.resume is not None:
            state: _SipcompState = (position, consumed, plain_frame, [], 0, made)
            self.reclaim(direction, framed, taken, [], last_frame, last_ts, state)
            return
        d.owned = False
        self.conn.taken_elsewhere(direction, taken, last_frame, last_ts)
        self._still_put_off(d, consumed, position, last_frame, last_ts, made)
        if framed:
            framer = d.framer
            assert framer is not None
            framer.skip_framed(framed, plain_frame)

    def _still_put_off(
        self,
        d: Direction,
        consumed: int,
        position: int,
        last_frame: int,
        last_ts: float,
        made: bytearray | None,
    ) -> None:
        """A put-off decoder's direction given back with nothing left (the end of input, as
        a rule): what ``resume_at`` would do is kept for the decoder's making
        (``Direction.later``), with the layout it would note; one that was not taken stays
        fresh."""
        if made is not None:
            d.later = ((consumed, position, last_frame, last_ts, made), False)
            if self.summary.compression_layout is None:  # (the layout resume_at sets)
                self.summary.compression_layout = _stream().DEFAULT_LAYOUT.name
        else:
            assert consumed == 0

    def _sipcomp_back(
        self,
        direction: int,
        d: Direction,
        framed: int,
        chunks: list[tuple[bytes, int, float]],
        last_frame: int,
        last_ts: float,
        state: _SipcompState,
    ) -> None:
        """An MS-SIPCOMP direction given back: the decoder moves on past the ``consumed``
        compressed bytes decoded there (history ``position``; ``made``, the history the fast
        path made when it took the direction's first packet), the framer past the ``framed``
        plain bytes whose messages were delivered; the packets decoded but not all framed go
        to the framer (already counted and charged), ``skip`` bytes of the first delivered;
        then the compressed bytes not decoded come again as their segments."""
        position, consumed, plain_frame, packets, skip, made = state
        decoder, framer = d.sipcomp, d.framer
        assert framer is not None
        if decoder is None and d.later is None and not packets and not chunks:
            self._still_put_off(d, consumed, position, last_frame, last_ts, made)
            framer.skip_framed(framed, plain_frame)
            return
        if decoder is None:
            decoder = self._decoder(d)
        decoder.resume_at(consumed, position, last_frame, last_ts, made)
        if made is not None and self.summary.compression_layout is None:
            self.summary.compression_layout = decoder.layout  # (as _drain_sipcomp notes it)
        framer.skip_framed(framed, plain_frame)
        if packets:
            for plain, wire, frame, ts in packets:
                framer.receive_data(plain, frame, ts, wire_size=wire)
            framer.drop_framed(skip)
        for data, frame, ts in chunks:
            self.data(direction, data, frame, ts)
        if packets and not chunks:
            self._drain_sipcomp(direction)

    # -- deciding what a direction speaks ---------------------------------------------------
    def _direction(self, direction: int) -> Direction:
        """The direction's own state, made when it first needs one."""
        d = self._d1 if direction else self._d0
        if d is _QUIET:
            d = Direction()
            if direction:
                self._d1 = d
            else:
                self._d0 = d
        return d

    @property
    def dirs(self) -> tuple[Direction, Direction]:
        """Both directions' state (a shared, unchanging one for a direction not heard yet)."""
        return self._d0, self._d1

    def _sniff(self, direction: int, data: bytes, frame: int, ts: float) -> bool:
        """Decide what a direction speaks from its first bytes.

        Returns True when the bytes were consumed here (the MS-SIPCOMP probe keeps them),
        False when the caller should hand them to the mode chosen (if any).
        """
        d = self._d1 if direction else self._d0
        d.sniffed += len(data)
        summary = self.summary
        if d.held is not None and looks_like_sip(d.held_bytes() + data):
            # a start line cut across segments: the framer gets it whole
            d.mode = SIP
            framer = d.framer = SipStreamFramer(max_message=self.ctx.max_sip_message)
            summary.protocol = "sip"
            for chunk, f, t in d.take_held():
                framer.receive_data(chunk, f, t)
        elif looks_like_sip(data) or b"SIP/2.0" in data:
            d.mode = SIP
            d.framer = SipStreamFramer(max_message=self.ctx.max_sip_message)
            summary.protocol = "sip"
        elif turn_tcp_framing(data) is not None or any(x.mode == MEDIA for x in self.dirs):
            # STUN/TURN/ICE-TCP (media/turn_tcp.py): MS-TURN pseudo-TLS is caught here, before
            # the TLS test below, so it is never taken for real TLS.
            d.mode = MEDIA
            summary.protocol = "stun-turn"
        elif looks_like_upgrade(data):
            # SIP over WebSocket (RFC 7118), or plain HTTP: the handshake tells (sip/websocket).
            d.mode = WEBSOCKET
            from ..sip.websocket import WebSocketDecoder

            d.ws = WebSocketDecoder(
                client=data.startswith(b"GET "), max_message=self.ctx.max_sip_message
            )
            summary.protocol = "websocket"
        elif data[:1] in (b"\x16", b"\x17", b"\x15", b"\x14") and data[1:2] == b"\x03":
            # TLS records: decrypted by one session per connection (tls/decrypt.py), whose
            # plaintext takes the clear path on an inner connection of its own.
            d.mode = TLS
            summary.protocol = "tls"
            if self.tls is None:
                from ..tls.decrypt import TlsSession

                self.tls = TlsSession(self.ctx.tls_keys())
                summary.tls = self.tls.summary
        else:
            return self._probe_sipcomp(direction, data, frame, ts)
        d.held = None  # decided: what was kept for the probe is not needed
        return False

    def _probe_sipcomp(self, direction: int, data: bytes, frame: int, ts: float) -> bool:
        """A capture that starts after NEGOTIATE: find compression packets by their header
        chain. Until a layout is recognised nothing is reported; past the sniff limit the
        direction is given up as not SIP and the probe's bytes are dropped. The first bytes
        are only kept (``PROBE_AFTER``): the probe starts when there are more."""
        d = self._d1 if direction else self._d0
        probe = d.sipcomp
        if probe is None:
            kept = d.hold(data, frame, ts)
            if (
                kept < PROBE_AFTER_CHUNKS
                and d.sniffed <= PROBE_AFTER
                and not _looks_compressed(data)
            ):
                return True  # no candidate header yet: the probe waits
            self._start_probe(direction)
            return True
        probe.receive_data(data, frame, ts)
        self._probed(direction, probe)
        return True

    def _start_probe(self, direction: int) -> None:
        """Start the MS-SIPCOMP probe on the bytes kept so far."""
        d = self._d1 if direction else self._d0
        held = d.take_held()
        probe = d.sipcomp = _stream().SipcompStreamDecoder(mid_stream=True, budget=self._budget())
        for chunk, f, t in held:  # fed as they came, as if the probe had been there all along
            if d.mode == SNIFF:
                probe.receive_data(chunk, f, t)
                if probe.layout is not None:
                    self._probed(direction, probe)
            else:
                self.data(direction, chunk, f, t)
        if d.mode == SNIFF:
            self._probed(direction, probe)

    def _probed(self, direction: int, probe: SipcompStreamDecoder) -> None:
        """Switch to MS-SIPCOMP once the probe knows the layout; give up past the limit."""
        d = self._d1 if direction else self._d0
        if probe.layout is not None:
            d.mode = SIPCOMP
            d.framer = SipStreamFramer(max_message=self.ctx.max_sip_message)
            self.summary.protocol = "sip"
            self.summary.compressed = True
            self._drain_sipcomp(direction)
        elif d.sniffed > SNIFF_LIMIT:
            d.mode = OTHER
            d.sipcomp = None

    def _budget(self) -> DecompressionBudget:
        """The connection's share of the run's decompression budget (both directions; the
        decrypted side of TLS shares its connection's)."""
        if self.budget is None:
            self.budget = self.ctx.decompression.connection()
        return self.budget

    # -- TLS --------------------------------------------------------------------------------
    def _tls_bytes(self, direction: int, data: bytes, frame: int, ts: float) -> None:
        """Feed a TLS direction; decrypted application data goes to the inner connection."""
        session = self.tls
        if session is None:
            return
        if data:
            session.receive_data(direction, data, frame, ts)
        if session.defects:
            add = self.ctx.defects.add
            for defect in session.defects:
                add(defect.frame, defect.layer, defect.offset, defect.reason)
            session.defects.clear()
        if not session.plaintext:
            return
        inner = self.inner
        if inner is None:
            inner = self._inner()
        for d, chunk, f, t in session.plaintext:  # an int is a hole (bytes lost in TCP)
            if isinstance(chunk, int):
                inner.gap(d, chunk, f, t)
            else:
                inner.data(d, chunk, f, t)
        session.plaintext.clear()
        summary = self.summary
        if summary.protocol != "tls":  # what the plaintext speaks, as the inner sniff saw it
            session.summary.application = summary.protocol
            summary.protocol = "tls"

    def _inner(self) -> TcpConnectionPipeline:
        """The decrypted side of TLS, made with the first plaintext."""
        inner = self.inner = TcpConnectionPipeline(
            self.conn, self.summary, self.ctx, encrypted=True
        )
        inner.budget = self.budget
        return inner

    # -- WebSocket ----------------------------------------------------------------------------
    def _drain_websocket(self, direction: int) -> None:
        """Each complete WebSocket message is one SIP message (RFC 7118 §5)."""
        d = self._d1 if direction else self._d0
        ws = d.ws
        if ws is None:
            return
        if ws.handshake is not None and not ws.client and ws.handshake.status == 101:
            # The server's answer says which extension both directions use.
            from ..sip.websocket import deflate_parameters

            params = deflate_parameters(ws.handshake.header("sec-websocket-extensions"))
            if not ws.deflate_agreed:
                ws.deflate_agreed = True
                for other in self.dirs:
                    if other.ws is not None:
                        other.ws.use_deflate(params)
        while True:
            message = ws.next_message()
            if message is None:
                break
            try:
                msg = parse_message(message.payload, datagram=True)
            except MalformedError as exc:
                self.ctx.defects.add(message.frame, exc.layer, exc.offset, exc.reason)
                continue
            msg.frame = message.frame
            msg.first_frame = message.first_frame
            msg.time = message.ts
            self._ends(msg, direction)
            msg.transport = "WSS" if self.encrypted else "WS"
            msg.stream_id = self.conn.id
            msg.encapsulation = self.summary.encapsulation
            self.summary.sip_messages += 1
            self.ctx.deliver(msg)
        if ws.defects:
            add = self.ctx.defects.add
            for defect in ws.defects:
                add(defect.frame, defect.layer, defect.offset, defect.reason)
            ws.defects.clear()
        if not ws.websocket:
            d.mode = OTHER  # plain HTTP (or not a handshake at all)
            d.ws = None
            if self.summary.protocol == "websocket":
                self.summary.protocol = "http"

    # -- SIP and MS-SIPCOMP -------------------------------------------------------------------
    def _drain_framer(self, direction: int) -> None:
        """Pull every complete message out of a direction's framer, switching to MS-SIPCOMP
        the moment the NEGOTIATE exchange says the next byte is compressed."""
        d = self._d1 if direction else self._d0
        framer = d.framer
        if framer is None:
            return
        while True:
            framed = framer.next_message()
            if framed is None:
                break
            # Re-read every time: a NEGOTIATE exchange switches the mode inside this loop.
            compressed = d.mode == SIPCOMP
            msg = self._stream_message(direction, framed, compressed)
            if msg is not None and not compressed:
                self._negotiation(direction, msg)
        if framer.defects:
            add = self.ctx.defects.add
            for defect in framer.defects:
                add(defect.frame, defect.layer, defect.offset, defect.reason)
            framer.defects.clear()

    def _negotiation(self, direction: int, msg: SipMessage) -> None:
        """Follow NEGOTIATE / 200 OK; switch the directions it names to MS-SIPCOMP."""
        if msg.method is None:
            cseq = msg.cseq
            if cseq is None or cseq[1].upper() != "NEGOTIATE":
                return
            cseq_method: str | None = cseq[1]
        elif msg.method.upper() != "NEGOTIATE":
            return
        else:
            cseq = msg.cseq
            cseq_method = cseq[1] if cseq else None
        negotiation = self.negotiation
        if negotiation is None:
            negotiation = self.negotiation = _stream().NegotiationTracker()
        # Only a name starting with C or I can be one the tracker reads (CSeq, Call-ID or i,
        # Compression): the other headers are not read at all (session 30).
        switches = negotiation.on_message(
            direction, msg.method, msg.status, cseq_method, msg.headers_starting("cCiI")
        )
        for switching in switches:
            self._start_compression(switching, msg.frame or 0, msg.time or 0.0)

    def _negotiate_whole(
        self, direction: int, data: bytes, frame: int, ts: float, framer: SipStreamFramer
    ) -> bool:
        """``data`` (clear SIP, ``framer`` at rest) as one whole NEGOTIATE request or its
        answer, read by the compiled ``sip_negotiate_chunk`` with the headers the tracker
        needs: delivered and followed as :meth:`_drain_framer` and :meth:`_negotiation` would,
        without the framer's steps and the header scan. False when the helper is not sure
        (another message, more than one, an unusual shape): the framer takes ``data`` then.
        With ``sip_negotiate_deliver`` a clean message is also made and delivered in C (the
        fast path's delivery), so only the tracker's step is Python's."""
        if _negotiate_deliver is not None:
            made = _negotiate_deliver(self, direction, data, frame, ts, self.ctx.max_sip_message)
            if made is None:
                return False
            if made is not False:
                msg, call_id, cseq_number, offers = made
                framer.skip_framed(len(data), frame)
                self._negotiated(direction, msg, call_id, cseq_number, offers)
                return True
        return self._negotiate_parsed(direction, data, frame, ts, framer)

    def _negotiate_parsed(
        self, direction: int, data: bytes, frame: int, ts: float, framer: SipStreamFramer
    ) -> bool:
        """:meth:`_negotiate_whole` without ``sip_negotiate_deliver`` (or when it does not
        make the message): the helper's reading, the message parsed and delivered by
        Python."""
        found = _negotiate_chunk(data, self.ctx.max_sip_message)
        if found is None:
            return False
        header_end, length, call_id, cseq_number, offers = found
        framer.skip_framed(len(data), frame)
        msg = self._deliver(direction, data, frame, frame, ts, header_end, length)
        if msg is not None:
            self._negotiated(direction, msg, call_id, cseq_number, offers)
        return True

    def _negotiated(
        self, direction: int, msg: SipMessage, call_id: str, cseq_number: str, offers: bool
    ) -> None:
        """The tracker's step for a NEGOTIATE exchange's message read by the compiled helper
        (:meth:`_negotiate_whole`), as :meth:`_negotiation` takes one from the framer."""
        negotiation = self.negotiation
        if negotiation is None:
            negotiation = self.negotiation = _stream().NegotiationTracker()
        switches = negotiation.on_fields(
            direction, msg.method, msg.status, call_id, cseq_number, offers
        )
        for switching in switches:
            self._start_compression(switching, msg.frame or 0, msg.time or 0.0)

    def _assume_compression(self, direction: int, data: bytes, frame: int, ts: float) -> None:
        """Compressed bytes right after a NEGOTIATE offering LZ77-8K, before its 200 OK was
        seen (lost at the capture point, or later in capture order than these bytes, as TLS
        records and capture timing can make it): decode them as MS-SIPCOMP from an empty
        history, and say so."""
        who = "client" if direction == 0 else "server"
        self.ctx.defects.add(
            frame,
            "sipcomp",
            None,
            f"the {who}'s bytes are compressed before the 200 OK to NEGOTIATE was seen: "
            "LZ77-8K assumed from the NEGOTIATE offer",
        )
        self.summary.compression_assumed = True
        assert self.negotiation is not None  # it offered compression
        self.negotiation.assume(direction)
        self._start_compression(direction, frame, ts)
        d = self._d1 if direction else self._d0
        self._decoder(d).receive_data(data, frame, ts)
        self._drain_sipcomp(direction)

    def _start_compression(self, direction: int, frame: int, ts: float) -> None:
        """From the next byte on, this direction carries MS-SIPCOMP packets, not plain SIP.

        ``frame``/``ts`` (of the message that made the switch) stand for the bytes the framer
        already held beyond it."""
        d = self._d1 if direction else self._d0
        if d is _QUIET:
            d = self._direction(direction)
        elif d.mode == SIPCOMP:
            return
        framer = d.framer
        if framer is None:
            rest = b""
            d.framer = SipStreamFramer(max_message=self.ctx.max_sip_message)
        elif framer.at_rest:
            # (the routine switch: take_remaining of a framer at rest gives nothing and leaves
            # it as it is, its offsets already at the end of the stream)
            rest = b""
        else:
            rest = framer.take_remaining()
        d.mode = SIPCOMP
        # The decoder is put off until Python reads the direction (_decoder): the fast path
        # takes a routine direction from its first packet, and at the end of input one in
        # sync with nothing held needs none.
        d.sipcomp = None
        d.later = None
        if self.budget is None:  # the connection's share, taken now as when the decoder was
            self.budget = self.ctx.decompression.connection()  # made here (_budget)
        self.summary.compressed = True
        if rest:
            self._decoder(d).receive_data(rest, frame, ts)
            self._drain_sipcomp(direction)

    def _decoder(self, d: Direction) -> SipcompStreamDecoder:
        """An MS-SIPCOMP direction's decoder, made now if it was put off
        (:meth:`_start_compression`) and brought to where the fast path left it
        (``Direction.later``): a fresh one, or one that adopts the history the fast path
        made, ended if :meth:`finish` passed it by."""
        decoder = d.sipcomp
        if decoder is None:
            decoder = d.sipcomp = _stream().SipcompStreamDecoder(budget=self._budget())
            later = d.later
            if later is not None:
                d.later = None
                resume, ended = later
                if resume is not None:
                    decoder.resume_at(*resume)
                if ended:
                    decoder.receive_eof()
        return decoder

    def _drain_sipcomp(self, direction: int) -> None:
        """Decompressed packets go into the same SIP framer as clear text would."""
        d = self._d1 if direction else self._d0
        decoder = d.sipcomp
        framer = d.framer
        if decoder is None or framer is None:
            return
        summary = self.summary
        while True:
            packet = decoder.next_packet()
            if packet is None:
                break
            summary.wire_bytes += packet.wire_size
            summary.plain_bytes += len(packet.plain)
            if packet.partial:
                self._drain_framer(direction)
                if not framer.buffered:
                    self._partial_packet(direction, packet)
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
        if decoder.defects:
            add = self.ctx.defects.add
            for defect in decoder.defects:
                add(defect.frame, defect.layer, defect.offset, defect.reason)
            decoder.defects.clear()
        self._drain_framer(direction)

    def _partial_packet(self, direction: int, packet: DecodedPacket) -> None:
        """A compression packet decoded without its history (capture began mid-connection).

        Its unknown bytes are ``?``. One packet carries one message [I], so it is parsed on its
        own: shown, marked partial, when its start line survived; otherwise reported, never
        printed as if it were SIP."""
        try:
            parse_message(packet.plain, datagram=True)
        except MalformedError:
            unknown = packet.plain.count(b"?")
            self.ctx.defects.add(
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
        self._stream_message(direction, framed, True)

    def _deliver_whole(
        self, direction: int, data: bytes, frame: int, ts: float, framer: SipStreamFramer
    ) -> bytes:
        """The whole plain messages at the start of ``data`` (clear SIP, ``framer`` at rest),
        framed by the compiled ``sip_frame_chunk`` and delivered, the framer moved past them;
        returns the bytes after them, for the framer. With ``sip_deliver_chunk`` each message
        is made and delivered in C as the fast path's later ones are (the first message of a
        direction, most of a sign-in's connection, no longer goes through Python's parse and
        delivery); what it cannot make still comes to :meth:`_deliver`."""
        whole = len(data)
        deliver_chunk = _deliver_chunk
        if deliver_chunk is not None:
            consumed = deliver_chunk(self, direction, data, frame, ts, self.ctx.max_sip_message)
            if not consumed:
                return data
        else:
            assert _frame_chunk is not None
            consumed, found = _frame_chunk(data, self.ctx.max_sip_message)
            if not consumed:
                return data
            for start, size, header_end, length in found:
                self._deliver(
                    direction,
                    data if size == whole else data[start : start + size],
                    frame,
                    frame,
                    ts,
                    header_end,
                    length,
                )
        framer.skip_framed(consumed, frame)
        return data[consumed:] if consumed < whole else b""

    def _ends(self, msg: SipMessage, direction: int) -> None:
        """Sender and receiver of a message of this direction (every message shares them)."""
        ends = self.ends
        if ends is None:
            ends = self.ends = self.summary.endpoints()
        if direction:
            msg.dst, msg.src = ends
        else:
            msg.src, msg.dst = ends

    def _make_hand(self) -> tuple[Any, ...]:
        """What every message of this connection shares, for the compiled fast path, which
        makes the clean messages it frames itself and does :meth:`_deliver`'s work on them
        (``mk_deliver`` in _fastpath.c): client and server, transport, stream id,
        encapsulation, the summary that counts them, and how the run takes them. A run
        that offers ``fast_delivery`` (pipeline.core.Pipeline) has them counted there and
        gets each with its body, or None when the media layer would do nothing with it;
        any other run gets each at its ``deliver``. When that function is the run's
        shortest one, ``direct_sessions`` may name its session table and emit, which the
        compiled path then calls C to C for a message without a body for the media layer.
        Made on the first such message."""
        ends = self.ends
        if ends is None:
            ends = self.ends = self.summary.endpoints()
        ctx = self.ctx
        fast = getattr(ctx, "fast_delivery", None)
        deliver, stats, limit = fast() if fast is not None else (ctx.deliver, None, 0)
        direct = getattr(ctx, "direct_sessions", None) if fast is not None else None
        hand = self._hand = (
            ends[0], ends[1], "TLS" if self.encrypted else "TCP", self.conn.id,
            self.summary.encapsulation, self.summary, deliver, stats, limit,
            direct(deliver) if direct is not None else None,
        )  # fmt: skip
        return hand

    def _stream_message(
        self, direction: int, framed: FramedMessage, compressed: bool
    ) -> SipMessage | None:
        """Parse one framed message and deliver it; None when it could not be parsed."""
        return self._deliver(
            direction,
            framed.data,
            framed.first_frame,
            framed.frame,
            framed.ts,
            framed.header_end,
            framed.content_length,
            compressed,
            framed.wire_size,
            framed.partial,
        )

    def _deliver(
        self,
        direction: int,
        data: bytes,
        first_frame: int,
        frame: int,
        ts: float,
        header_end: int | None,
        content_length: int | None,
        compressed: bool = False,
        wire_size: int | None = None,
        partial: bool = False,
    ) -> SipMessage | None:
        """Parse one framed message (from the framer, or the compiled fast path) and
        deliver it; None when it could not be parsed."""
        try:
            msg = parse_message(data, header_end=header_end, content_length=content_length)
        except MalformedError as exc:
            self.ctx.defects.add(frame, exc.layer, exc.offset, exc.reason)
            return None
        msg.frame = frame
        msg.first_frame = first_frame
        msg.time = ts
        self._ends(msg, direction)
        msg.transport = "TLS" if self.encrypted else "TCP"
        msg.stream_id = self.conn.id
        if compressed:
            msg.compressed = True
            msg.wire_size = wire_size
        msg.partial = partial
        msg.encapsulation = self.summary.encapsulation
        self.summary.sip_messages += 1
        self.ctx.deliver(msg)
        return msg


__all__ = [
    "SNIFF_LIMIT",
    "ConnectionSummary",
    "Direction",
    "RunContext",
    "TcpConnectionPipeline",
    "TcpConnectionSummary",
]
