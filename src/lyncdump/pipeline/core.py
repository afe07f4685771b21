"""One pipeline for every source: frames or trace-log records in, events out.

A capture file, a live interface and a Lync trace log all go through :class:`Pipeline`:

    frames ─► net.decode (L2-L4, fragments) ─┬─ UDP: SIP by its first bytes, else media
                                             └─ TCP: net.tcp reassembly ─► one
                                                TcpConnectionPipeline per connection
    log records ─────────────────────────────────► SIP parser (same as captured messages)

Every SIP message goes through :meth:`Pipeline.deliver`: counts, the media side (SDP), NTLM
checks and redaction when asked for, then the session builder (a clean message the compiled
scan made is counted in C, then takes the rest of these steps: :meth:`Pipeline.fast_delivery`).
What comes out is a stream of events (pipeline/events.py) that consumers iterate; the
pipeline keeps only what is still open (sessions within their quiet span in a streaming run,
TCP connections, media streams), so a streaming consumer's memory follows what is open, not
the length of the capture.

The per-frame loop is one flat function: objects are built for SIP messages and TCP events,
never for routine media packets, and the compiled fast path (fastpath.py) takes routine RTP
before Python sees it.
"""

from __future__ import annotations

import os
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

# The result types of the public methods (above) are imported for real so that
# typing.get_type_hints resolves them; this one appears in no signature. The ICE/TURN result
# and STUN result types are named through their package (``analysis.ice.Allocation``): the hint
# loads that module when it is resolved, a run without STUN never does (analysis/__init__.py).
from .. import analysis
from .. import media as media_package
from ..analysis.diagnostics import DiagnosticIndex
from ..analysis.sessions import Session, SessionBuilder
from ..capture import is_trace_log
from ..capture.logtypes import SERVER_FORMAT, LogEvent
from ..capture.netmon import NETMON_LINKTYPE_BASE
from ..capture.source import CaptureReader
from ..errors import CaptureError, MalformedError
from ..fastpath import attach as attach_fast_path
from ..fastpath import helper as fast_helper
from ..media.pipeline import MediaPipeline
from ..media.stats import StreamStats
from ..model import Counts, Defect, DefectLog, Endpoint
from ..net.checksum import ChecksumStats
from ..net.decode import SUPPORTED_LINKTYPES, PacketDecoder
from ..net.encap import EncapsulationLog
from ..net.tcp import StreamData, StreamGap, TcpConnection, TcpReassembler
from ..options import Options
from ..recent import RecentKeys, RecentTable, text_key
from ..sip.message import SipMessage, looks_like_sip, parse_message
from ..sipcomp.budget import DecompressionBudget
from ..tls.keys import TlsKeys
from .connection import ConnectionSummary, TcpConnectionPipeline, TcpConnectionSummary
from .events import Event, InputFinished, LogRecord, MessageDecoded, SessionFinished

if TYPE_CHECKING:
    from ..analysis.diagnostics import DiagnosticJoiner
    from ..analysis.registration import SignatureVerifier
    from ..capture.tracelog import TraceLogReader
    from ..tls.keys import TlsKeys

#: Distinct request methods (and response codes) counted by name; hostile input can invent a
#: new method per message, so past this many the rest are counted under ``(other)``.
MAX_COUNTED_NAMES = 1000

#: TCP connections listed in the results; past this many they are counted, not listed.
MAX_LISTED_CONNECTIONS = 100_000

#: Frames between two checks for sessions gone quiet (a streaming run).
_ADVANCE_EVERY = 1024

#: Secrets found by redaction remembered to clean trace-log records (most recent kept).
_MAX_SECRETS = 10_000

#: The compiled test of which messages of a finished session _emit must still note From/To
#: and take defects of (most have nothing: read clean when made), or None (every message).
_sip_to_note: Any = fast_helper("sip_to_note")


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
    methods: Counter[str] = field(default_factory=Counts)
    statuses: Counter[int] = field(default_factory=Counts)
    #: SIP messages per transport (UDP, TCP, TLS; ``?`` where a log did not say).
    transports: Counter[str] = field(default_factory=Counts)
    #: Sessions per kind, and retransmissions, counted as sessions are emitted.
    sessions: Counter[str] = field(default_factory=Counts)
    retransmissions: int = 0
    #: TCP connections seen (``connections`` lists at most MAX_LISTED_CONNECTIONS of them).
    connections: int = 0
    #: Frames per encapsulation kind (``ERSPAN II``, ``GRE / VXLAN``), and frames that gave no
    #: UDP/TCP per kind (``EtherType 0x0806 (ARP)``): net/encap.py.
    encapsulated: Counter[str] = field(default_factory=Counts)
    not_decoded: Counter[str] = field(default_factory=Counts)
    #: With ``Options.verify_checksums``: checksums good, bad and offloaded per kind.
    checksums: ChecksumStats | None = None

    def count_message(self, m: SipMessage) -> None:
        """Add one SIP message to the totals."""
        self.sip_messages += 1
        # _count inlined: called for every message
        method = m.method
        if method is not None:
            methods = self.methods
            if method in methods or len(methods) < MAX_COUNTED_NAMES:
                methods[method] += 1
            else:
                methods["(other)"] += 1
        else:
            status = m.status
            if status is not None:
                statuses = self.statuses
                if status in statuses or len(statuses) < MAX_COUNTED_NAMES:
                    statuses[status] += 1
                else:
                    statuses["(other)"] += 1  # type: ignore[index]
        self.transports[m.transport or "?"] += 1

    def count_messages(self, messages: list[SipMessage]) -> None:
        """The SIP totals of a whole list (a merged time line counts its own)."""
        for m in messages:
            self.count_message(m)

    def count_session(self, session: Session) -> None:
        """Add one emitted session (a later part of a Call-ID is not a new session)."""
        if session.part == 1:
            self.sessions[session.kind] += 1
        self.retransmissions += session.retransmissions


class _MessageDefects:
    """The defects of a run without sessions, taken from each message as it is delivered and
    logged at the end where a keep-all run's sessions log theirs: after the input's own
    defects, by Call-ID in order of the Call-ID's first message, each Call-ID's in frame order
    (the sessions of :meth:`SessionBuilder.finish`, each in frame order). At most ``limit``
    are kept (a DefectLog's bound), past it they are counted per layer; the first message of
    the last :data:`_FIRST_SEEN` Call-IDs is remembered, the oldest dropped in batches
    (``recent.RecentKeys``; an older one orders its defects where they were found)."""

    __slots__ = ("limit", "kept", "arrivals", "first_seen", "by_call", "dropped")

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.kept = 0
        self.arrivals = 0
        self.first_seen = RecentKeys(_FIRST_SEEN)  # by recent.text_key of the Call-ID
        #: Call-ID → (its first message's arrival, [(frame, defect), ...]).
        self.by_call: dict[str, tuple[int, list[tuple[int, Defect]]]] = {}
        self.dropped: dict[str, int] = {}

    def message(self, m: SipMessage) -> None:
        """Every message delivered: note its Call-ID's first arrival, take its defects."""
        call_id = m.call_id or "(no Call-ID)"
        first_seen = self.first_seen
        arrival = self.arrivals
        self.arrivals = arrival + 1
        key = text_key(call_id)
        first = first_seen.get(key)
        if first < 0:
            first = arrival
            first_seen.put(key, arrival)
        found = m.take_new_defects()
        if not found:
            return
        frame = m.frame
        group = self.by_call.get(call_id)
        for d in found:
            if self.kept >= self.limit:
                self.dropped[d.layer] = self.dropped.get(d.layer, 0) + 1
                continue
            if group is None:
                group = self.by_call[call_id] = (first, [])
            self.kept += 1
            if d.frame is None:
                d = Defect(frame, d.layer, d.offset, d.reason)
            group[1].append((frame or 0, d))

    def log_into(self, log: DefectLog) -> None:
        """Add them to ``log`` in the keep-all order, and forget them."""
        groups = sorted(self.by_call.values(), key=lambda g: g[0])
        self.by_call = {}
        for _, group in groups:
            group.sort(key=lambda item: item[0])
            for _, d in group:
                log.add(d.frame, d.layer, d.offset, d.reason)
        for layer, count in self.dropped.items():
            log.dropped[layer] = log.dropped.get(layer, 0) + count
        self.dropped = {}


#: Call-IDs whose first message a run without sessions remembers (to order their defects).
_FIRST_SEEN = 100_000


def _count(counter: Counter[str] | Counter[int], key: str | int) -> None:
    if key in counter or len(counter) < MAX_COUNTED_NAMES:
        counter[key] += 1  # type: ignore[index]
    else:
        counter["(other)"] += 1  # type: ignore[index]


def _first_frame(st: StreamStats) -> int:
    return st.first_frame


class Pipeline:
    """One run over one input (see the module docstring).

    ``streaming=False`` keeps every session until the input ends (what
    :class:`lyncdump.Capture` needs to answer questions about the whole capture);
    ``streaming=True`` emits each session once it has been quiet for ``options.session_quiet``
    seconds of capture time. ``messages=False`` leaves out the per-message events;
    ``join_diagnostics=False`` leaves a server log's diagnostics unjoined (the merged stream
    joins them to the merged sessions, analysis/merge_stream.py). ``sessions=False`` builds
    no sessions at all (the inputs of a merge, whose sessions are the merge's): each message's
    defects, and those reading From/To finds, are taken as it is delivered and logged at the
    end in the order a keep-all run's sessions log them (:class:`_MessageDefects`).
    ``count_sessions=True`` says the consumer reads no session but calls (``--summary``): a
    streaming run that builds sessions, with no message events, signature check, redaction or
    diagnostics to join, then has the compiled session table count the others instead of
    emitting them (counting mode, analysis/sessions.py); ``stats`` holds the same totals
    once the input has ended (not before: the counts are added when the sessions finish).
    Iterate :meth:`events` once; afterwards ``stats``, ``connections``, ``defects``, ``media``,
    ``log_events`` and ``error`` hold the results.
    """

    def __init__(
        self,
        reader: CaptureReader,
        options: Options | None = None,
        *,
        name: str | None = None,
        streaming: bool = False,
        messages: bool = True,
        tls_keys: TlsKeys | None = None,
        join_diagnostics: bool = True,
        sessions: bool = True,
        stun_messages: bool = True,
        count_sessions: bool = False,
    ) -> None:
        self.options = options = options or Options()
        if options.max_frames is not None or options.bpf:  # -c N, -f EXPR (capture/select.py)
            from ..capture.select import select_frames

            if is_trace_log(reader):
                if options.bpf:
                    reader.close()
                    raise CaptureError(f"{reader.name}: a BPF filter (-f) needs a capture file")
            else:
                reader = select_frames(reader, options.max_frames, options.bpf)
        self.reader = reader
        self.name = name if name is not None else str(getattr(reader, "name", "<stream>"))
        self.format: str = reader.format
        self.defects = DefectLog(options.max_defects)
        self.stats = Stats()
        self.connections: list[ConnectionSummary] = []
        self.error: CaptureError | None = None
        #: Diagnostic and component records of a Lync trace log (empty for captures).
        self.log_events: list[LogEvent] = []
        #: A server log's machine as its messages' local side, and what named it (else None).
        self.log_host: tuple[Endpoint | None, str] | None = None
        self.media: MediaPipeline | None = None
        self.max_sip_message = options.max_sip_message
        #: MS-SIPCOMP output of the whole run, shared out per connection (sipcomp.budget).
        self.decompression = DecompressionBudget()
        #: Which tunnels frames came through (the frame decoder's, once decoding starts).
        self._encap = EncapsulationLog()
        self.streaming = streaming
        self._want_messages = messages
        #: What the media layer does with each STUN message: keep it (a whole-capture run, up
        #: to a bound), spool it once settled (a streaming run whose output lists them) or
        #: only count it (media/stun_pipeline.py).
        self._stun_keep = "all" if not streaming else ("spool" if stun_messages else "none")
        self._build_sessions = sessions
        #: Without sessions: the messages' defects, taken as they are delivered.
        self._message_defects = None if sessions else _MessageDefects(options.max_defects)
        self._tls_keys = tls_keys
        # Counting mode only where nothing but the consumer could want the sessions it
        # counts: no message events, no check or redaction of messages, no diagnostics to
        # join (a server log), sessions built and emitted as they finish.
        count_only = (
            count_sessions
            and streaming
            and sessions
            and not messages
            and not options.ntlm_password
            and not options.redact
            and self.format != SERVER_FORMAT
        )
        self._sessions = SessionBuilder(
            options.session_quiet if streaming else None,
            max_held=options.max_held_messages,
            count_only=count_only,
        )
        # Open connections, oldest first (ordered: the oldest leaves from the front at the bound).
        self._live: OrderedDict[int, TcpConnectionPipeline] = OrderedDict()
        #: The compiled fast path while a capture is read (it reads routine SIP over TCP),
        #: and the connection to offer it once the current segment's events are handled.
        self._fast_sip: Any = None
        #: What direct_sessions gives the fast path (made once).
        self._direct: tuple[Any, Callable[[list[Session]], None]] | None = None
        self._to_offer: TcpConnectionPipeline | None = None
        self._pending: list[Event] = []
        self._in_flight: list[Event] = []  # the batch being handed out
        #: Call sessions a consumer holds back from those after it (a filter that decides
        #: them at the end): id → start, so that settled_before() waits for them.
        self._held_back: dict[int, float] = {}
        self._verifier: SignatureVerifier | None = None
        self._redact: Callable[[SipMessage], set[str]] | None = None
        #: Secrets redaction found in messages, most recent last (to clean log records).
        self._secrets: RecentTable[str, None] = RecentTable(_MAX_SECRETS)
        if options.ntlm_password:
            from ..analysis.registration import SignatureVerifier

            self._verifier = SignatureVerifier(options.ntlm_password)
        if options.redact:
            from ..render.redact import redact_message

            self._redact = redact_message
        self._diagnostics: DiagnosticJoiner | None = None
        self._diagnostic_index: DiagnosticIndex | None = None
        if self.format == SERVER_FORMAT:
            from ..analysis.diagnostics import DiagnosticJoiner

            # A merged run joins every log's diagnostics to the merged sessions itself.
            self._diagnostics = (
                DiagnosticJoiner(self.name, keep_joined=not streaming) if join_diagnostics else None
            )
            if streaming:
                # A diagnostic can be written up to a transaction's life after the message it
                # is about (a timeout): sessions of a server log wait twice as long.
                wait = 2 * options.session_quiet
                self._sessions = SessionBuilder(
                    wait, settle=wait, max_held=options.max_held_messages
                )
        watch = getattr(options.progress, "watch", None)
        if watch is not None:
            watch(reader)  # a progress line that tells how far the input was read
        self._started = False

    # -- what the renderers ask of a run (the CaptureView of render/) ------------------------
    def stun_messages(
        self,
    ) -> list[media_package.stun.StunMessage] | media_package.stun_spool.StunMessages:
        """Every STUN/TURN message kept (relayed ones inside TURN too), in capture order: a
        list in a whole-capture run; in a streaming run those it spooled (none when it was
        built with ``stun_messages=False``), to iterate."""
        stun = self.media.stun_started if self.media is not None else None
        return stun.all_messages() if stun is not None else []

    def streams(self) -> list[StreamStats]:
        """Every RTP stream (source, destination, SSRC) with its quality, by first packet."""
        if self.media is None:
            return []
        return sorted(self.media.rtp.streams, key=_first_frame)

    #: The order of :meth:`streams` (a sort key).
    stream_order = staticmethod(_first_frame)

    def new_streams(self, read: int | None) -> tuple[list[StreamStats], int]:
        """The streams found since ``read`` (None: since the start) in the order they were
        found, and the mark to read on from: a consumer that reads as the run goes."""
        if self.media is None:
            return [], 0
        found = self.media.rtp.streams
        return found[read or 0 :], len(found)

    def allocations(self) -> list[analysis.ice.Allocation]:
        """TURN allocations (RFC 5766 and MS-TURN) with their addresses, peers and media."""
        stun = self.media.stun_started if self.media is not None else None
        return stun.analyzer.allocations() if stun is not None else []

    def ice_sessions(self) -> list[analysis.ice.IceSession]:
        """ICE connectivity checks per ufrag pair, candidate pairs and the nominated one."""
        stun = self.media.stun_started if self.media is not None else None
        return stun.analyzer.sessions() if stun is not None else []

    def diagnostics(self) -> DiagnosticIndex:
        """A server log's diagnostic records, joined to their sessions or alone (final once
        the input is read; disabled for inputs that hold none)."""
        if self._diagnostic_index is None:
            from ..analysis.diagnostics import DiagnosticIndex

            return DiagnosticIndex([], enabled=False)
        return self._diagnostic_index

    def log_hosts(self) -> dict[str | None, str]:
        """The name of the machine that wrote this log, by source name (for the views)."""
        host = self.log_host
        return {self.name: str(host[0])} if host is not None and host[0] is not None else {}

    @property
    def held_messages(self) -> int:
        """SIP messages held in sessions still open (what a streaming run keeps)."""
        return self._sessions.held

    # -- the run ----------------------------------------------------------------------------
    def events(self) -> Iterator[Event]:
        """Decode the whole input, yielding events as they happen; call once."""
        if self._started:
            raise CaptureError(f"{self.name}: this pipeline already ran")
        self._started = True
        try:
            if is_trace_log(self.reader):
                yield from self._run_log(self.reader)
            else:
                yield from self._run_frames()
        finally:
            self.reader.close()
        yield from self._finish_sessions()
        yield InputFinished(self)

    def tls_keys(self) -> TlsKeys:
        """The run's TLS key sources (the key log, RSA keys, the capture's own secrets)."""
        if self._tls_keys is None:
            self._tls_keys = load_tls_keys(
                self.options,
                getattr(self.reader, "secrets", None),
                follow=follows_keys(self.reader),
            )
        return self._tls_keys

    def deliver(self, msg: SipMessage) -> None:
        """Every SIP message, from any layer: counts, media, checks, then its session."""
        self.stats.count_message(msg)
        # The body is a copy each time it is read: read once (only for the media layer), handed on.
        body = msg.body if self.media is not None else None
        self._counted(msg, body or None)

    @property
    def fast_sip(self) -> Any:
        """The compiled fast path while a capture is read (None otherwise): a connection's
        _raw_data may hand it the reverse of the direction it reads raw."""
        return self._fast_sip

    def fast_delivery(self) -> tuple[Callable[[SipMessage, bytes | None], None], Stats, int]:
        """How the compiled fast path delivers a message it made: it counts the message itself
        (:meth:`Stats.count_message`'s rule, ``limit`` names) in ``stats``, then calls the
        function with the message and its body, None when the body cannot matter to the media
        layer. The function is :meth:`deliver` after the count, chosen once for the run: the
        common one (sessions built; no signature check, redaction or message events) is the
        shortest."""
        plain = (
            self._verifier is None
            and self._redact is None
            and not self._want_messages
            and self._build_sessions
        )
        return (self._counted_plain if plain else self._counted), self.stats, MAX_COUNTED_NAMES

    def direct_sessions(
        self, deliver: Callable[[SipMessage, bytes | None], None]
    ) -> tuple[Any, Callable[[list[Session]], None]] | None:
        """The session table and :meth:`_emit`, for the compiled fast path to do
        :meth:`_counted_plain`'s work C to C on a message without a body for the media layer
        (``table.add``, then ``_emit`` of what it finished): when ``deliver`` (what
        :meth:`fast_delivery` gave) is that function and the table is the compiled one with
        its own ``add``; else None."""
        table = self._sessions
        compiled = fast_helper("SessionTable")
        if (
            deliver != self._counted_plain
            or compiled is None
            or not isinstance(table, compiled)
            or type(table).add is not compiled.add
        ):
            return None
        # One pair for the run: every connection's hand holds it (memory is per connection).
        direct = self._direct
        if direct is None or direct[0] is not table:
            direct = self._direct = (table, self._emit)
        return direct

    def _counted(self, msg: SipMessage, body: bytes | None) -> None:
        """:meth:`deliver` of a message counted already (see :meth:`fast_delivery`); ``body``:
        None when it cannot matter to the media layer."""
        if body is not None and self.media is not None:
            self.media.sip_message(msg, body)
        if self._verifier is not None:
            self._verifier.check(msg)
        if self._redact is not None:
            for secret in self._redact(msg):  # kept to clean trace-log records of them
                self._secrets.put(secret, None)
        if self._want_messages:
            self._pending.append(MessageDecoded(msg))
        if not self._build_sessions:
            self._take_defects(msg)
            return
        finished = self._sessions.add(msg)
        if finished:
            self._emit(finished)

    def _counted_plain(self, msg: SipMessage, body: bytes | None) -> None:
        """:meth:`_counted` when only the media layer and the sessions take the message."""
        if body is not None:
            media = self.media
            if media is not None:
                media.sip_message(msg, body)
        finished = self._sessions.add(msg)
        if finished:
            self._emit(finished)

    def _take_defects(self, m: SipMessage) -> None:
        """Take what a message's parsing and accessors found so far, with what the session
        builder (CSeq, top Via) and every view (From/To) would find: a run without sessions
        takes at delivery what :meth:`_emit` takes of a session's messages."""
        # In the order the session builder and _emit read them (a message's own defects are
        # listed in the order they were found).
        if m.cseq is not None:
            m.top_branch  # noqa: B018 - read for the defects it finds
            if not m.is_request:
                m.note_address_defects(from_=False)  # as transaction matching does
        m.note_address_defects()
        self._message_defects.message(m)  # type: ignore[union-attr]

    def _emit(self, sessions: list[Session]) -> None:
        stats = self.stats
        add = self.defects.add
        pending = self._pending
        joiner = self._diagnostics
        to_note = _sip_to_note
        for session in sessions:
            stats.count_session(session)
            if joiner is not None:
                session.diagnostics = joiner.session(session)
            # What parsing and every accessor run so far found (sessions, media, checks), and
            # From/To, which every view shows: so the totals count what any view will list
            # (docs/sip.md, "Defects").
            # (The compiled sip_to_note leaves out the messages with nothing to note or take.)
            messages = session.messages
            for m in messages if to_note is None else to_note(messages):
                m.note_address_defects()
                for d in m.take_new_defects():
                    add(m.frame if d.frame is None else d.frame, d.layer, d.offset, d.reason)
            pending.append(SessionFinished(session, self))

    def _finish_sessions(self) -> Iterator[Event]:
        self._emit(self._sessions.finish())
        # Counting mode: the sessions counted instead of emitted (none otherwise).
        kinds, retransmissions = self._sessions.counted()
        if kinds or retransmissions:
            counts = self.stats.sessions
            for kind, n in kinds.items():
                counts[kind] += n
            self.stats.retransmissions += retransmissions
        if self._message_defects is not None:
            self._message_defects.log_into(self.defects)
        if self._diagnostics is not None:
            self._diagnostic_index = self._diagnostics.finish(self.log_hosts())
        if self._sessions.early:
            self.defects.add(
                None,
                "sip",
                None,
                f"{self._sessions.early} sessions emitted before they went quiet: more than "
                f"{self._sessions.max_held} messages were held in open sessions",
            )
        yield from self._take_pending()

    def _take_pending(self) -> Iterator[Event]:
        pending = self._pending
        if pending:
            self._pending = []
            self._in_flight = pending
            yield from pending
            self._in_flight = []

    def hold_back(self, session: Session) -> None:
        """A consumer will hand ``session`` (a call) on only at the end of the input: the
        calls after it must not be joined as if it did not exist (see settled_before)."""
        if session.start is not None:
            self._held_back[id(session)] = session.start

    def settled_before(self) -> float:
        """A capture time before which every call of the input has been emitted: no session
        that may be a call, open, queued or not yet seen, starts earlier (what lets a
        consumer finish joining calls whose media no other call can claim any more)."""
        t = self._not_handed_since(calls_only=True)
        for back in self._held_back.values():
            if back < t:
                t = back
        return t

    def unseen_since(self) -> float:
        """A capture time at or before the first message of every session not handed to the
        consumer yet (open, queued, being handed out, or not seen at all): what lets an index
        of earlier messages (the sign-in follow-ups) forget what no session can ask for."""
        return self._not_handed_since(calls_only=False)

    def _not_handed_since(self, *, calls_only: bool) -> float:
        """The earliest start of the sessions (those that may be calls, with ``calls_only``)
        open in the builder or queued for the consumer; the latest time seen when none is."""
        t = self._sessions.open_since(calls_only=calls_only)
        for queue in (self._in_flight, self._pending):
            for event in queue:
                if type(event) is not SessionFinished:
                    continue
                session = event.session  # type: ignore[union-attr]
                if calls_only and session.kind != "call":
                    continue
                start = session.start
                if start is not None and start < t:
                    t = start
        return t

    # -- capture frames ---------------------------------------------------------------------
    def _run_frames(self) -> Iterator[Event]:
        opts = self.options
        defects = self.defects
        reader = self.reader
        decoder = _decoder_class(opts)(defects, max_fragment_bytes=opts.max_fragment_bytes)
        self._encap = decoder.encap
        tcp = TcpReassembler(defects, max_pending_bytes=opts.max_tcp_pending)
        decode = decoder.decode
        segment = tcp.segment
        srtp_keys = []
        if opts.srtp_keys:
            from ..media.srtp import parse_key as parse_srtp_key

            srtp_keys = [parse_srtp_key(k) for k in opts.srtp_keys]
        media = self.media = MediaPipeline(defects, srtp_keys, stun_keep=self._stun_keep)
        for password in opts.stun_passwords:
            media.stun.analyzer.add_password(password.encode("utf-8"))
        media_udp = media.udp
        # The compiled fast path (when built) takes routine RTP itself: from the pcap/pcapng
        # reader's buffer, or here frame by frame for other readers (docs/performance.md).
        streaming = self.streaming and self._build_sessions
        fast, fast_frame = (
            (None, None)  # checksums are verified in Python only
            if opts.verify_checksums
            else attach_fast_path(
                reader,
                opts.progress_every if opts.progress else 0,
                _ADVANCE_EVERY if streaming else 0,
            )
        )
        # Frames a scan consumed are counted when the next frame reaches Python.
        take_frames = None
        # Directions of TCP connections the fast path reads (routine SIP) go back to Python
        # before Python handles any other segment of their connection.
        sip_release = None
        if fast is not None:
            media.use_fast_path(fast)
            if fast_frame is None:
                take_frames = fast.take_frames
            sip_release = fast.sip_release
            self._fast_sip = fast
            tcp.on_forget = self._release_connection
        stats = self.stats
        progress = opts.progress
        every = opts.progress_every
        sessions = self._sessions
        udp_sip = self._udp_sip
        tcp_event = self._tcp_event
        frame = 0
        nbytes = 0
        udp = 0
        tcp_count = 0
        ts = 0.0
        first_ts: float | None = None
        known_linktypes: set[int] = set()
        try:
            for ts, linktype, data in reader.frames():
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
                if streaming and frame % _ADVANCE_EVERY == 0:
                    finished = sessions.advance(ts)
                    if finished:
                        self._emit(finished)
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
                        udp_sip(frame, ts, src, sport, dst, dport, payload)
                else:
                    tcp_count += 1
                    if payload or flags & 0x07:
                        if sip_release is not None:
                            sip_release(src, sport, dst, dport)
                        for event in segment(
                            frame, ts, src, sport, dst, dport, seq, flags, payload
                        ):
                            tcp_event(event)
                        if self._to_offer is not None:
                            self._to_offer.offer(fast)
                            self._to_offer = None
                if self._pending:
                    yield from self._take_pending()
        except CaptureError as exc:
            self.error = exc
        # End of input: deliver what TCP still holds, then close every connection's layers
        # (IP fragments never completed and messages cut off by the end are reported).
        decoder.flush()
        if fast is not None:
            fast.sip_release_all()
            self._fast_sip = None
        for event in tcp.flush():
            tcp_event(event)
        for conn_pipe in list(self._live.values()):
            conn_pipe.finish()
        self._live.clear()
        media.finish()
        if self._redact is not None:
            from ..render.redact import redact_streams

            redact_streams(media.rtp.streams)  # DTMF: when and how long, not which key
        if fast is not None:
            frame += fast.take_frames()
            nbytes += fast.bytes
            udp += fast.udp
            tcp_count += fast.tcp
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
        stats.encapsulated = decoder.encap.frames
        stats.not_decoded = decoder.encap.not_decoded_names()
        stats.checksums = getattr(decoder, "checksums", None)
        yield from self._take_pending()

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
        msg.encapsulation = self._encap.of_payload(payload)
        self.deliver(msg)

    def _tcp_event(self, event: object) -> None:
        conn: TcpConnection = event.conn  # type: ignore[attr-defined]
        pipe: TcpConnectionPipeline | None = conn.user
        if pipe is None:
            pipe = conn.user = self._open_connection(conn)
        if type(event) is StreamData:
            pipe.data(event.direction, event.data, event.frame, event.ts)
            if self._fast_sip is not None:
                # offered once the segment's every event is in (a held first segment comes
                # out together with the one that settled it)
                self._to_offer = pipe
        elif type(event) is StreamGap:
            pipe.gap(event.direction, event.missing, event.frame, event.ts)
        elif pipe.closed(event.direction):  # type: ignore[attr-defined]
            # Both directions ended: flush the layers now and stop holding the connection.
            pipe.finish()
            self._live.pop(conn.id, None)

    def _release_connection(self, conn: TcpConnection) -> None:
        """The reassembler lets go of a connection: the fast path gives back what it read."""
        if self._fast_sip is not None:
            a, b = conn.client, conn.server
            self._fast_sip.sip_release(*a, *b)
            if conn.user is not None:
                conn.user.gone = True

    def _open_connection(self, conn: TcpConnection) -> TcpConnectionPipeline:
        summary = TcpConnectionSummary(
            conn.id, conn.key, conn.flip, self._encap.of(*conn.client, *conn.server)
        )
        self.stats.connections += 1
        if len(self.connections) < MAX_LISTED_CONNECTIONS:
            self.connections.append(summary)
        pipe = TcpConnectionPipeline(conn, summary, self)
        live = self._live
        live[conn.id] = pipe
        if len(live) > MAX_LISTED_CONNECTIONS:
            # The reassembler forgot the oldest already (its table has the same bound).
            oldest = next(iter(live.values()))
            del live[oldest.conn.id]
            oldest.finish()
        return pipe

    # -- trace logs -------------------------------------------------------------------------
    def _run_log(self, reader: TraceLogReader) -> Iterator[Event]:
        """A Lync trace log: its SIP messages take the same parser, sessions and renderers;
        ``frame`` is the record number (docs/tracelog.md)."""
        from ..capture.tracelog import to_sip_message

        stats = self.stats
        first: float | None = None
        last: float | None = None
        limit = self.options.max_frames  # -c N: records of the log
        last_record = 0  # -c stops here: the records decoded (the reader reads ahead)
        cut = False
        try:
            for count, item in enumerate(reader.items()):
                if limit is not None:
                    if count >= limit:
                        cut = True
                        break
                    last_record = max(last_record, item.record)
                if isinstance(item, LogEvent):
                    if self._redact is not None:
                        from ..render.redact import clean_log_events

                        clean_log_events([item], self._secrets)
                    self.log_events.append(item)
                    if self._diagnostics is not None:
                        self._diagnostics.event(item)
                    self._pending.append(LogRecord(item))
                else:
                    try:
                        msg = to_sip_message(item)
                    except MalformedError as exc:
                        self.defects.add(item.record, exc.layer, exc.offset, exc.reason)
                        continue
                    if self.log_host is None and reader.format == SERVER_FORMAT:
                        self.log_host = (reader.host, reader.host_from)
                        if self._diagnostics is not None and reader.host is not None:
                            self._diagnostics.host = str(reader.host)
                    t = msg.time
                    if t is not None:
                        first = t if first is None or t < first else first
                        last = t if last is None or t > last else last
                        if self.streaming and self._build_sessions:
                            self._emit(self._sessions.advance(t))
                    self.deliver(msg)
                if self._pending:
                    yield from self._take_pending()
        except CaptureError as exc:
            self.error = exc
        self.defects.extend(reader.defects)
        if reader.format == SERVER_FORMAT:
            self.log_host = (reader.host, reader.host_from)
        stats.frames = last_record if cut else reader.parser.records
        stats.bytes = reader.bytes_read
        stats.first_time = first
        stats.last_time = last
        yield from self._take_pending()


def _decoder_class(options: Options) -> type[PacketDecoder]:
    """The frame decoder for a run: the checksum-verifying one only when asked for."""
    if options.verify_checksums:
        from ..net.checksum import ChecksumVerifyingDecoder

        return ChecksumVerifyingDecoder
    return PacketDecoder


def load_tls_keys(
    options: Options, secrets: list[tuple[int, bytes]] | None, *, follow: bool = False
) -> TlsKeys:
    """The run's TLS key sources; a key file that cannot be used raises KeyMaterialError.

    ``follow`` (a live run): the key log is read as it grows, and connections whose secrets
    are not in it yet wait for them a little (tls/keys.py, tls/decrypt.py)."""
    from ..tls.keys import TlsKeys, follow_keylog, load_rsa_key, read_keylog

    keylog = follower = None
    if options.keylog is not None:
        if follow:
            keylog, follower = follow_keylog(options.keylog)
        else:
            keylog = read_keylog(options.keylog)
    paths = options.rsa_key
    if isinstance(paths, (str, os.PathLike)):
        paths = (paths,)
    rsa_keys = [load_rsa_key(path, options.rsa_key_password) for path in paths or ()]
    return TlsKeys(keylog, rsa_keys, secrets, follower)


def follows_keys(reader: object) -> bool:
    """Whether a run over ``reader`` follows its key log: a live capture does (the
    applications it watches write their secrets while it runs), and so does standard input
    (``tcpdump -U -w - | lyncdump --keylog F -`` is a live capture too); a file does not."""
    return getattr(reader, "format", None) == "live" or getattr(reader, "name", None) == "<stdin>"


__all__ = [
    "MAX_COUNTED_NAMES",
    "MAX_LISTED_CONNECTIONS",
    "Pipeline",
    "Stats",
    "follows_keys",
    "load_tls_keys",
]
