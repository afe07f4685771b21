"""One small expression language for ``--filter``/``-Y`` and ``lyncdump check --fail-on``.

An expression tests the things a run finds — sessions, calls, streams, sign-ins, TCP
connections, the capture itself, and (once joined to sessions) trace-log diagnostics — by
their fields::

    kind=call and stream.mos < 3.5
    user~alice and (status >= 400 or call.setup_ms > 3s)
    ip == 10.0.0.0/8 and time >= 2026-01-01T10:00:00 and time <= "2026-01-01 10:05"
    not method=OPTIONS
    call-failed                       # a named predicate (the check rules are ones)

Grammar (docs/cli.md "Filter expressions" is the user's page)::

    expression := term { ("or" | "||") term }
    term       := factor { ("and" | "&&") factor }
    factor     := ("not" | "!") factor | "(" expression ")" | test
    test       := FIELD [ OP VALUE | "in" "(" VALUE { "," VALUE } ")" ]
    OP         := "==" | "=" | "!=" | "<" | "<=" | ">" | ">=" | "~" | "!~"
    VALUE      := a quoted string ("..." or '...') or a bare word (no space, no parenthesis)

It is read by a hand-written tokenizer and recursive-descent parser (no ``eval``); a mistake
is a :class:`FilterError` naming the column. Fields live in one table (:data:`FIELDS`) keyed
``scope.name``; session fields may be written bare (``kind``, ``user``). Each field says how
to get its value(s) from the object of its scope; a field with several values (a session's
methods, a call's codecs) matches when one of them does, and ``!=``/``!~`` mean "none of
them". ``=`` is ``==``, except for fields marked fuzzy (``user``, ``from``, reasons, texts)
where it is a case-insensitive substring, as ``--filter user=alice`` always was.

Evaluation is three-valued (Kleene): a test whose object is not known yet (a call's media
while its session has just finished) is *unknown*; ``false and unknown`` is false, ``true or
unknown`` is true. :class:`FilterRun` uses that to decide most sessions the moment they
finish and hold only the undecided ones until the input ends (docs/architecture.md).

Server-log diagnostics (issue 20) are the ``log`` scope: its fields read a
:class:`lyncdump.analysis.diagnostics.Diagnostic` (``log.severity == error``, ``log.result_code
== 0xC3E93D6F``, ``log.text ~ "no SRV"``). A session's :class:`Subject` carries the
diagnostics joined to it in ``logs``, so ``-Y 'log.error'`` shows the sessions a server
logged an error about; a diagnostic that names no session in the input is judged on its own
(:meth:`Filter.diagnostic`), and there the session fields it also has (``call-id``, ``user``,
``method``, ``time``) are read from the record.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .analysis.sessions import KINDS, Session
from .pipeline.events import Event, InputFinished, SessionFinished

if TYPE_CHECKING:
    from .analysis.calls import Call, Finding
    from .analysis.registration import Registration
    from .filter_syntax import Node, parse_address, parse_time, tokenize
    from .media.stats import StreamStats


class FilterError(ValueError):
    """An expression that cannot be read; ``str()`` says where and why."""

    def __init__(self, text: str, position: int, reason: str) -> None:
        self.text = text
        self.position = position
        self.reason = reason
        where = f" at column {position + 1}" if position >= 0 else ""
        super().__init__(f"{reason}{where} in {text!r}")


# -- the things an expression tests ------------------------------------------------------------

#: Scopes, most specific first: a check rule tests the most specific scope it names.
SCOPES = ("stream", "call", "registration", "log", "session", "connection", "capture")

_UNKNOWN = None  # three-valued logic: True, False, None


@dataclass(slots=True)
class Subject:
    """What one test of an expression looks at: a session with what belongs to it, or a call,
    a stream, a sign-in, a connection, a capture. ``None`` for ``call``/``streams`` means
    "not known yet" (media is final only at the end of the input); an empty list, "none"."""

    session: Session | None = None
    call: Call | None = None
    streams: list[StreamStats] | None = field(default_factory=list)
    registration: Registration | None = None
    connection: Any = None
    capture: Any = None
    #: Server-log diagnostics joined to the session (issue 20), or the record itself.
    logs: list[Any] = field(default_factory=list)
    #: A diagnostic standing alone (no session in the input): session fields it also has
    #: (``log.<name>`` exists) are read from it.
    lone: Any = None
    known_call: bool = True
    _registration_done: bool = False

    def objects(self, scope: str) -> list[Any] | None:
        """The objects of ``scope`` this subject has (None: not known yet)."""
        if scope == "session":
            return [self.session] if self.session is not None else []
        if scope == "call":
            if not self.known_call:
                return _UNKNOWN
            return [self.call] if self.call is not None else []
        if scope == "stream":
            return list(self.streams) if self.streams is not None else _UNKNOWN
        if scope == "registration":
            if self.registration is None and not self._registration_done:
                self._registration_done = True
                s = self.session
                if s is not None and s.kind == "registration":
                    from .analysis.registration import analyze_registration

                    self.registration = analyze_registration(s)
            return [self.registration] if self.registration is not None else []
        if scope == "connection":
            return [self.connection] if self.connection is not None else []
        if scope == "capture":
            return [self.capture] if self.capture is not None else _UNKNOWN
        if scope == "log":
            return list(self.logs)
        return []

    def resolve(self, f: Field) -> tuple[Field, list[Any] | None]:
        """The field to read and the objects to read it on: ``f`` on the objects of its
        scope, or, for a diagnostic standing alone, its ``log.`` twin of a session field."""
        if f.scope == "session" and self.session is None and self.lone is not None:
            twin = _table().get(f"log.{f.name}")
            return (twin, [self.lone]) if twin is not None else (f, [])
        return f, self.objects(f.scope)


# -- fields --------------------------------------------------------------------------------------

#: Value kinds: how a written value is read and compared.
TEXT, NUMBER, BOOL, TIME = "text", "number", "bool", "time"
ADDRESS, ENDPOINT = "address", "endpoint"


@dataclass(frozen=True, slots=True)
class Field:
    """One field of the language: ``scope.name``, its kind and how to read it."""

    scope: str
    name: str
    kind: str
    get: Callable[[Any], Any]
    doc: str
    #: The getter returns an iterable of values; a test matches when one of them does.
    multi: bool = False
    #: ``=`` is a case-insensitive substring (``user=alice``); else ``=`` is ``==``.
    fuzzy: bool = False
    #: Text compared case-sensitively (Call-IDs); other text ignores case.
    exact_case: bool = False
    #: Numbers: the unit a bare number is in (``s`` or ``ms``); ``3s`` / ``500ms`` convert.
    unit: str | None = None
    #: Allowed values (checked when the expression is read).
    choices: tuple[str, ...] | None = None

    @property
    def key(self) -> str:
        return f"{self.scope}.{self.name}"


# The table is filled on first use (:func:`_table`): a run without an expression never reads
# it, and its 129 fields (and the call states, from analysis/calls.py) cost a few milliseconds
# of every start-up. ``FIELDS``, ``ALIASES`` and ``PREDICATES`` stay names of this module: the
# module ``__getattr__`` below fills the table before it hands one out.
_FIELDS: dict[str, Field] = {}
_ALIASES: dict[str, str] = {}
_PREDICATES: dict[str, tuple[str, str]] = {}
_filled = False

if TYPE_CHECKING:
    #: Every field, keyed ``scope.name``.
    FIELDS: dict[str, Field]
    #: Other spellings: ``call-id`` → ``session.call_id``, ``signin.`` → ``registration.``.
    ALIASES: dict[str, str]
    #: Bare words that stand for a whole expression (the named check rules, among others).
    PREDICATES: dict[str, tuple[str, str]]


def _table() -> dict[str, Field]:
    """The fields, the table filled first if it is not yet (once: later calls return at once)."""
    global _filled
    if not _filled:
        _filled = True
        _fill()
    return _FIELDS


def register(f: Field, *aliases: str) -> Field:
    """Add a field to the language (other modules add theirs: the ``log`` scope for issue 20)."""
    _table()  # the built-in fields first, in their order
    _FIELDS[f.key] = f
    for alias in aliases:
        _ALIASES[alias if f.scope == "session" else f"{f.scope}.{alias}"] = f.key
    return f


def predicate(word: str, expression: str, doc: str) -> None:
    """A bare word that means ``expression`` (``call-failed`` means ``call.failed``)."""
    _table()
    _PREDICATES[word] = (expression, doc)


def _norm(name: str) -> str:
    return name.lower().replace("-", "_")


def lookup(name: str) -> Field | None:
    """The field a written name means (``kind``, ``session.kind``, ``call-id``, ``signin.x``)."""
    key = _norm(name)
    for prefix in ("signin.", "sign_in."):
        if key.startswith(prefix):
            key = "registration." + key[len(prefix) :]
    if key.startswith("session."):
        key = key[len("session.") :]
    fields = _table()
    key = _ALIASES.get(key, key)
    if "." not in key or key.split(".", 1)[0] not in SCOPES:
        key = "session." + key
    return fields.get(key)


# session fields ---------------------------------------------------------------------------------


def _uri_text(addr: Any) -> str | None:
    return str(addr.uri) if addr is not None and addr.uri is not None else None


def _session_users(s: Session) -> Iterator[str]:
    for m in s.messages:
        for name in ("From", "To"):
            value = m.header(name)
            if value:
                yield value


def _message_ips(s: Session) -> Iterator[str]:
    for m in s.messages:
        for ep in (m.src, m.dst):
            if ep is not None:
                yield str(ep)


def _message_ports(s: Session) -> Iterator[int]:
    for m in s.messages:
        for ep in (m.src, m.dst):
            if ep is not None:
                yield ep.port


def _diag_codes(s: Session) -> Iterator[int]:
    from .sip.ms import diagnostics_of

    for m in s.messages:
        for d in diagnostics_of(m):
            if d.code is not None:
                yield d.code


def _session_fields() -> None:
    def reg(name: str, kind: str, get: Callable[[Any], Any], doc: str, *aliases: str, **kw: Any):
        register(Field("session", name, kind, get, doc, **kw), *aliases)

    reg("call_id", TEXT, lambda s: s.call_id, "Call-ID", "call_id", "callid", exact_case=True)
    reg("kind", TEXT, lambda s: s.kind, "session kind", choices=KINDS)
    reg("method", TEXT, lambda s: (m.method for m in s.messages if m.method), "a request "
        "method in the session", multi=True)  # fmt: skip
    reg("status", NUMBER, lambda s: (m.status for m in s.messages if m.status is not None),
        "a response status in the session", multi=True)  # fmt: skip
    reg("user", TEXT, _session_users, "From or To of any message (substring)", multi=True,
        fuzzy=True)  # fmt: skip
    reg("from", TEXT, lambda s: s.from_uri, "From URI of the first request", fuzzy=True)
    reg("to", TEXT, lambda s: s.to_uri, "To URI of the first request", fuzzy=True)
    reg("outcome", TEXT, lambda s: s.outcome, "the ladder header's outcome", fuzzy=True)
    reg("time", TIME, lambda s: (m.time for m in s.messages if m.time is not None),
        "time of a message (time >= A and time <= B: the session overlaps [A, B])",
        multi=True)  # fmt: skip
    reg("start", TIME, lambda s: s.start, "time of the first message")
    reg("end", TIME, lambda s: s.end, "time of the last message")
    reg("duration", NUMBER, lambda s: s.duration, "seconds from first to last message",
        unit="s")  # fmt: skip
    reg("ip", ADDRESS, _message_ips, "source or destination of a message (IP, or CIDR)",
        "addr", "host", multi=True)  # fmt: skip
    reg("src", ENDPOINT, lambda s: (str(m.src) for m in s.messages if m.src is not None),
        "source of a message (ip, ip:port, CIDR)", multi=True)  # fmt: skip
    reg("dst", ENDPOINT, lambda s: (str(m.dst) for m in s.messages if m.dst is not None),
        "destination of a message", multi=True)  # fmt: skip
    reg("port", NUMBER, _message_ports, "source or destination port of a message", multi=True)
    reg("transport", TEXT, lambda s: (m.transport for m in s.messages if m.transport),
        "UDP, TCP, TLS, WS ...", multi=True)  # fmt: skip
    reg("part", NUMBER, lambda s: s.part, "1, or 2, 3... for a Call-ID that came back")
    reg("messages", NUMBER, lambda s: len(s.messages), "number of SIP messages")
    reg("retransmissions", NUMBER, lambda s: s.retransmissions, "retransmissions seen")
    reg("defects", NUMBER, lambda s: sum(len(m.defects) for m in s.messages),
        "defects found in its messages")  # fmt: skip
    reg("diagnostics", NUMBER, _diag_codes, "an ms-diagnostics code in the session",
        "ms_diagnostics", "diag", multi=True)  # fmt: skip


# call fields ------------------------------------------------------------------------------------


def _initial_invite(call: Call) -> Any:
    invites = [t for t in call.session.transactions if t.method == "INVITE"]
    if not invites:
        return None
    initial = invites[0]
    for t in invites[1:]:
        if initial.final_status not in (401, 407):
            break
        initial = t
    return initial


def call_status(call: Call) -> int | None:
    """The final status of the call's (authenticated) initial INVITE, or None."""
    return call.final_status


def call_failed(call: Call) -> bool:
    """Rejected (a final 4xx-6xx that is not 487 after the caller's CANCEL: the call's state
    is then ``cancelled``), or an INVITE that got no final answer at all (``no answer``). A
    3xx redirect is not a failure; neither is a call the caller cancelled."""
    if call.state == "rejected":
        status = call.final_status
        return not (status is not None and 300 <= status < 400)
    return call.state == "no answer"


def setup_ms(call: Call) -> float | None:
    """Milliseconds from the INVITE to its 2xx (None when it was not answered)."""
    if call.start is None or call.answer_time is None:
        return None
    return (call.answer_time - call.start) * 1000.0


def ring_ms(call: Call) -> float | None:
    """Milliseconds from the INVITE to its first 180/183 (post-dial delay)."""
    t = _initial_invite(call)
    if t is None or call.start is None:
        return None
    for r in t.responses:
        if r.status in (180, 181, 182, 183) and r.time is not None:
            return (r.time - call.start) * 1000.0
    return None


def one_way_audio(call: Call) -> Finding | None:
    """The call's ``one-way audio`` finding (analysis/calls.py: an answered call whose audio
    flowed one way only, a hold excepted), or None."""
    return next((f for f in call.findings if f.kind == "one-way audio"), None)


def _call_fields() -> None:
    def reg(name: str, kind: str, get: Callable[[Any], Any], doc: str, *aliases: str, **kw: Any):
        register(Field("call", name, kind, get, doc, **kw), *aliases)

    reg("call_id", TEXT, lambda c: c.call_id, "Call-ID", exact_case=True)
    from .analysis.calls import STATES

    reg("state", TEXT, lambda c: c.state, ", ".join(STATES) + " (docs/calls.md)",
        choices=tuple(x.lower() for x in STATES))  # fmt: skip
    reg("failed", BOOL, call_failed, "rejected (not a redirect, not after CANCEL) or never "
        "answered")  # fmt: skip
    reg("answered", BOOL, lambda c: c.answer_time is not None, "the INVITE got a 2xx")
    reg("cancelled", BOOL, lambda c: c.state == "cancelled", "the caller cancelled it")
    reg("status", NUMBER, call_status, "final status of the initial INVITE")
    reg("setup_ms", NUMBER, setup_ms, "INVITE to 2xx in milliseconds", unit="ms")
    reg("ring_ms", NUMBER, ring_ms, "INVITE to the first 180/183 in milliseconds", unit="ms")
    reg("duration", NUMBER, lambda c: c.duration, "seconds from INVITE to the end", unit="s")
    reg("caller", TEXT, lambda c: c.caller, "From URI", fuzzy=True)
    reg("callee", TEXT, lambda c: c.callee, "To URI", fuzzy=True)
    reg("user", TEXT, lambda c: (u for u in (c.caller, c.callee) if u), "caller or callee",
        multi=True, fuzzy=True)  # fmt: skip
    reg("codec", TEXT, lambda c: (x for m in c.media for x in (m.codecs or m.offered_codecs)),
        "a negotiated codec (PCMU/8000, SILK ...)", multi=True, fuzzy=True)  # fmt: skip
    reg("media", TEXT, lambda c: c.modalities, "a modality (audio, video, "
        "applicationsharing)", "modality", multi=True)  # fmt: skip
    reg("end_reason", TEXT, lambda c: c.end_reason, "BYE from caller, 486 Busy Here ...",
        "reason", fuzzy=True)  # fmt: skip
    reg("kind", TEXT, lambda c: c.kind, "call or conference", choices=("call", "conference"))
    reg("path", TEXT, lambda c: c.path, "direct or via Edge", fuzzy=True)
    reg("streams", NUMBER, lambda c: len(c.streams), "RTP streams joined to the call")
    reg("no_media", BOOL, lambda c: c.answer_time is not None and not c.streams,
        "answered, but no RTP stream was seen")  # fmt: skip
    reg("one_way_audio", BOOL, lambda c: one_way_audio(c) is not None,
        "answered, and audio flowed in one direction only (not on hold)")  # fmt: skip
    reg("finding", TEXT, lambda c: (f.kind for f in c.findings), "a finding of the call "
        "(one-way audio, payload type not in answer, unannounced media address, RTP where "
        "SRTP was negotiated)", "findings", multi=True, fuzzy=True)  # fmt: skip
    reg("invite_retransmissions", NUMBER, lambda c: c.invite_retransmissions,
        "retransmissions of the INVITE")  # fmt: skip
    reg("bye_retransmissions", NUMBER, lambda c: c.bye_retransmissions,
        "retransmissions of the BYE")  # fmt: skip
    reg("ambiguous_streams", NUMBER, lambda c: len(c.ambiguous),
        "streams that match this call and another equally")  # fmt: skip
    reg("held", BOOL, lambda c: any(d != "sendrecv" for _t, _side, d in c.holds),
        "a side put the audio on hold (sendonly, recvonly, inactive)")  # fmt: skip


# stream fields ----------------------------------------------------------------------------------


def _stream_fields() -> None:
    def reg(name: str, kind: str, get: Callable[[Any], Any], doc: str, *aliases: str, **kw: Any):
        register(Field("stream", name, kind, get, doc, **kw), *aliases)

    reg("call_id", TEXT, lambda s: s.call_id, "Call-ID whose SDP announced it", exact_case=True)
    reg("ssrc", NUMBER, lambda s: s.ssrc, "SSRC (decimal or 0x hex)")
    reg("src", ENDPOINT, lambda s: str(s.source), "source ip:port")
    reg("dst", ENDPOINT, lambda s: str(s.destination), "destination ip:port")
    reg("ip", ADDRESS, lambda s: (str(s.source), str(s.destination)), "either end",
        "addr", multi=True)  # fmt: skip
    reg("port", NUMBER, lambda s: (s.sport, s.dport), "either port", multi=True)
    reg("codec", TEXT, lambda s: s.payload, "payload names (g711U, SILK ...)", "payload",
        fuzzy=True)  # fmt: skip
    number = [
        ("packets", "RTP packets received", None),
        ("expected", "packets expected from sequence numbers", None),
        ("lost", "expected - received", None),
        ("lost_percent", "lost / expected x 100", None),
        ("sequence_errors", "sequence numbers that were not the next one", None),
        ("duplicates", "duplicated packets", None),
        ("out_of_order", "packets out of order", None),
        ("max_delta_ms", "largest gap between packets (ms)", "ms"),
        ("mean_delta_ms", "mean gap between packets (ms)", "ms"),
        ("max_jitter_ms", "largest RFC 3550 jitter (ms)", "ms"),
        ("mean_jitter_ms", "mean jitter (ms)", "ms"),
        ("mos", "MOS-LQ estimate (null for video)", None),
        ("bitrate_kbps", "mean IP bitrate", None),
        ("srtp_auth_failures", "SRTP packets that failed authentication", None),
        ("rtcp_rtt_ms", "round trip time from RTCP (ms)", "ms"),
        ("rtcp_jitter_ms", "jitter the far end reported in RTCP (ms)", "ms"),
    ]
    attrs = {"max_delta_ms": "max_delta", "mean_delta_ms": "mean_delta",
             "max_jitter_ms": "max_jitter", "mean_jitter_ms": "mean_jitter"}  # fmt: skip
    for name, doc, unit in number:
        attr = attrs.get(name, name)

        def get(s: Any, attr: str = attr) -> Any:
            value = getattr(s, attr)
            if attr in ("max_delta", "mean_delta", "max_jitter", "mean_jitter") and not s.packets:
                return None
            return value

        reg(name, NUMBER, get, doc, unit=unit)
    reg("rtcp_lost_percent", NUMBER,
        lambda s: s.rtcp_fraction_lost * 100 if s.rtcp_fraction_lost is not None else None,
        "loss the far end reported in RTCP (%)")  # fmt: skip
    reg("duration", NUMBER, lambda s: s.duration, "seconds from first to last packet", unit="s")
    reg("start", TIME, lambda s: s.first_time, "time of the first packet", "time")
    reg("end", TIME, lambda s: s.last_time, "time of the last packet")
    reg("problem", BOOL, lambda s: s.problem, "Wireshark's Problems? flag")
    reg("encrypted", BOOL, lambda s: s.encrypted, "SRTP")
    reg("signalled", BOOL, lambda s: s.signalled, "announced by SDP, TURN or ICE")
    reg("bye", BOOL, lambda s: s.bye, "an RTCP BYE named it")
    reg("dtmf", TEXT, lambda s: "".join(str(e[0]) for e in s.dtmf_events), "DTMF events",
        fuzzy=True)  # fmt: skip
    reg("join", TEXT, lambda s: s.join_rule, "how its call was chosen: both ends, one end, "
        "ICE/TURN/SSRC, newest SDP, B2BUA legs, by elimination, reverse of a joined stream, "
        "ambiguous (docs/calls.md)", "join_rule", fuzzy=True)  # fmt: skip
    reg("ambiguous", BOOL, lambda s: s.join_rule == "ambiguous",
        "it matches several calls equally and was given to none")  # fmt: skip
    reg("candidate_calls", TEXT, lambda s: s.candidate_calls,
        "a Call-ID that matched when more than one did", multi=True, exact_case=True)  # fmt: skip
    reg("wrong_timestamps", NUMBER, lambda s: s.wrong_timestamps,
        "packets whose RTP timestamp lies before the first packet's")  # fmt: skip


# registration fields ----------------------------------------------------------------------------


def _registration_fields() -> None:
    def reg(name: str, kind: str, get: Callable[[Any], Any], doc: str, *aliases: str, **kw: Any):
        register(Field("registration", name, kind, get, doc, **kw), *aliases)

    outcomes = ("registered", "unregistered", "failed", "redirected", "no answer",
                "in progress", "unregistering")  # fmt: skip
    reg("outcome", TEXT, lambda r: r.outcome, "registered, failed, no answer ...",
        choices=outcomes)  # fmt: skip
    reg("failed", BOOL, lambda r: r.outcome in ("failed", "no answer"),
        "the sign-in failed or got no answer")  # fmt: skip
    reg("user", TEXT, lambda r: r.user, "From URI", fuzzy=True)
    reg("scheme", TEXT, lambda r: r.scheme_chosen, "NTLM, Kerberos, TLS-DSK")
    reg("remote", BOOL, lambda r: r.remote, "signed in through the Edge")
    reg("failure", TEXT, lambda r: r.failure, "the cause in words", fuzzy=True)
    reg("expires", NUMBER, lambda r: r.expires, "seconds granted", unit="s")
    reg("round_trips", NUMBER, lambda r: len(r.round_trips), "REGISTER round trips")
    reg("identity", TEXT, lambda r: r.identity, "DOMAIN\\user (NTLM)", fuzzy=True)
    reg("workstation", TEXT, lambda r: r.workstation, "NTLM workstation", fuzzy=True)
    reg("server", TEXT, lambda r: r.server, "Server header", fuzzy=True)
    reg("user_agent", TEXT, lambda r: r.user_agent, "User-Agent header", fuzzy=True)


# connection and capture fields ------------------------------------------------------------------


def tls_undecrypted(c: Any) -> bool:
    """A TLS connection of which no record was decrypted."""
    tls = getattr(c, "tls", None)
    return tls is not None and not getattr(tls, "decrypted", False)


def _connection_fields() -> None:
    def reg(name: str, kind: str, get: Callable[[Any], Any], doc: str, *aliases: str, **kw: Any):
        register(Field("connection", name, kind, get, doc, **kw), *aliases)

    reg("id", NUMBER, lambda c: c.id, "connection number")
    reg("client", ENDPOINT, lambda c: str(c.client), "client ip:port")
    reg("server", ENDPOINT, lambda c: str(c.server), "server ip:port")
    reg("protocol", TEXT, lambda c: c.protocol, "sip, tls, websocket, stun-turn ...")
    reg("tls", BOOL, lambda c: getattr(c, "tls", None) is not None, "TLS connection")
    reg("undecrypted", BOOL, tls_undecrypted, "TLS connection not decrypted")
    reg("compressed", BOOL, lambda c: c.compressed, "MS-SIPCOMP compressed")
    reg("sip_messages", NUMBER, lambda c: c.sip_messages, "SIP messages carried")

    def cap(name: str, kind: str, get: Callable[[Any], Any], doc: str, *aliases: str, **kw: Any):
        register(Field("capture", name, kind, get, doc, **kw), *aliases)

    cap("defects", NUMBER, lambda p: len(p.defects), "defects found in the input")
    cap("frames", NUMBER, lambda p: p.stats.frames, "frames (records of a log) read")
    cap("sip_messages", NUMBER, lambda p: p.stats.sip_messages, "SIP messages")
    cap("error", BOOL, lambda p: p.error is not None, "the input ended in error (truncated ...)")
    cap("format", TEXT, lambda p: p.format, "pcap, pcapng, netmon2, lync-server-log ...")
    cap("tls_undecrypted", NUMBER,
        lambda p: sum(1 for c in p.connections if tls_undecrypted(c)),
        "TLS connections not decrypted")  # fmt: skip


def _log_host(d: Any) -> str | None:
    from .render.diagnostics import host_of

    return host_of(d)


def _log_fields() -> None:
    """Server-log diagnostics (analysis.diagnostics.Diagnostic): what the ``diagnostic``
    record carries, by the same names (docs/json.md)."""

    def reg(name: str, kind: str, get: Callable[[Any], Any], doc: str, *aliases: str, **kw: Any):
        register(Field("log", name, kind, get, doc, **kw), *aliases)

    severities = ("fatal", "error", "warning", "info", "verbose", "noise")
    reg("severity", TEXT, lambda d: d.severity, "fatal, error, warning, info, verbose, noise",
        choices=severities)  # fmt: skip
    reg("level", TEXT, lambda d: d.level, "the trace level word: ERROR of TL_ERROR, WARN, INFO")
    reg("error", BOOL, lambda d: d.is_error, "severity fatal or error", "is_error")
    reg("warning", BOOL, lambda d: d.is_warning, "severity warning")
    reg("flag", TEXT, lambda d: d.flag, "the trace flag: DIAG of TF_DIAG, PROTOCOL ...")
    reg("result_code", TEXT, lambda d: d.result_code, "Result-Code as 0x hex (0xC3E93D6F)",
        "result", "code")  # fmt: skip
    reg("result_name", TEXT, lambda d: d.result_name,
        "the result code's name (SIPPROXY_E_...)", fuzzy=True)  # fmt: skip
    reg("ms_diagnostics", NUMBER, lambda d: d.ms_diagnostics,
        "the ms-diagnostics code clients get for the same failure")  # fmt: skip
    reg("text", TEXT, lambda d: d.text, "the record's text", fuzzy=True)
    reg("component", TEXT, lambda d: d.event.component, "logging component (SIPStack ...)",
        fuzzy=True)  # fmt: skip
    reg("function", TEXT, lambda d: d.event.function, "function that logged it", fuzzy=True)
    reg("host", TEXT, _log_host, "the machine that logged it", fuzzy=True)
    reg("source", TEXT, lambda d: d.source, "the log file that holds it", fuzzy=True)
    reg("record", NUMBER, lambda d: d.record, "the record's number in its log")
    reg("call_id", TEXT, lambda d: d.call_id, "SIP-Call-ID it names", "callid",
        exact_case=True)  # fmt: skip
    reg("method", TEXT, lambda d: d.event.method, "method of its SIP-Start-Line or CSeq")
    reg("user", TEXT, lambda d: d.uris, "a URI it names (or its session's)", multi=True,
        fuzzy=True)  # fmt: skip
    reg("peer", TEXT, lambda d: d.peer, "Peer: the other side", fuzzy=True)
    reg("time", TIME, lambda d: d.time, "record time")
    reg("joined", BOOL, lambda d: d.session is not None, "joined to a session of the input")


def _fill() -> None:
    """The built-in fields and predicates (:func:`_table` calls this once)."""
    _session_fields()
    _call_fields()
    _stream_fields()
    _registration_fields()
    _connection_fields()
    _log_fields()
    _predicates()


def _predicates() -> None:
    predicate("call-failed", "call.failed", "a call was rejected or never answered")
    predicate("signin-failed", "registration.failed", "a sign-in failed or got no answer")
    predicate("one-way-audio", "call.one_way_audio", "an answered call's audio flowed one way")
    predicate("no-media", "call.no_media", "an answered call with no RTP stream")
    predicate("defects", "capture.defects > 0", "the input has defects (malformed traffic)")
    predicate("tls-undecrypted", "connection.undecrypted", "a TLS connection stayed encrypted")
    predicate("rtp-problem", "stream.problem", "a stream has sequence or timestamp errors")
    predicate("log-errors", "log.error", "a server log reported an error (severity fatal or error)")
    predicate("log-warnings", "log.severity in (fatal, error, warning)",
              "a server log reported a warning or worse")  # fmt: skip


@dataclass(slots=True)
class Filter:
    """A compiled expression (several ``--filter`` values combine with AND)."""

    text: str
    node: Node | None

    @property
    def empty(self) -> bool:
        return self.node is None

    @property
    def scopes(self) -> set[str]:
        return {f.scope for f in self.node.fields()} if self.node is not None else set()

    def test(self, subject: Subject) -> bool | None:
        """True, False or None (unknown until the media is known)."""
        return True if self.node is None else self.node.test(subject)

    def session(self, session: Session, **context: Any) -> bool | None:
        """Test a finished session; its call and streams are unknown unless given. ``logs``:
        the server-log diagnostics joined to it (default: those the run attached)."""
        if self.node is None:
            return True  # no expression: every session passes (no subject to build)
        logs = context.get("logs")
        if logs is None:
            logs = getattr(session, "diagnostics", None) or []
        subject = Subject(
            session=session,
            call=context.get("call"),
            streams=context.get("streams"),
            logs=list(logs),
            known_call="call" in context,
        )
        return self.test(subject)

    def diagnostic(self, d: Any) -> bool:
        """A server-log diagnostic that stands alone (no session of the input): ``log.``
        fields read it, session fields it also has too; the others do not match."""
        if self.node is None:
            return True
        subject = Subject(logs=[d], lone=d, known_call=True)
        return self.test(subject) is True

    def __bool__(self) -> bool:
        return self.node is not None


def compile_filter(texts: str | Iterable[str]) -> Filter:
    """Read one expression, or several that must all hold. Raises :class:`FilterError`."""
    items = [texts] if isinstance(texts, str) else [t for t in texts]
    if not any(t.strip() for t in items):
        return Filter("", None)
    from .filter_syntax import And, _Parser

    nodes = [_Parser(t).parse() for t in items if t.strip()]
    node = nodes[0] if len(nodes) == 1 else And(nodes)
    text = " and ".join(f"({t})" if len(items) > 1 else t for t in items if t.strip())
    return Filter(text, node)


def field_table() -> list[tuple[str, str, str]]:
    """(name, kind, meaning) of every field and predicate, for ``--help-filter`` and docs."""
    rows = []
    for key, f in _table().items():
        name = key[len("session.") :] if f.scope == "session" else key
        kind = f.kind + (" (any of)" if f.multi else "") + (f", {f.unit}" if f.unit else "")
        rows.append((name, kind, f.doc))
    for word, (expr, doc) in _PREDICATES.items():
        rows.append((word, "predicate", f"{doc} ({expr})"))
    return rows


# -- applying a filter to a run ------------------------------------------------------------------


class FilterRun:
    """A filter applied to a streaming run's events (see the module docstring).

    Iterate :meth:`events` in place of the run's events and give the view :meth:`matches`:
    a session the filter can decide when it finishes goes through at once; one that needs its
    call or streams is held, and passed on just before ``InputFinished`` once media is final.

    Calls are joined to their streams in a :class:`~lyncdump.analysis.call_window.CallWindow`,
    as the views join them: a call is judged when its join is final (its held session, its
    streams, ``on_call`` when its session was shown) and then let go. Memory: the held
    sessions (only those still undecided), the call window, a verdict per stream joined.
    ``shown`` is told each session shown, ``on_call`` each final call of a session shown
    (``-w`` collects frames through them).
    """

    def __init__(
        self,
        flt: Filter,
        shown: Callable[[Session], None] | None = None,
        *,
        keep_calls: bool = False,
        on_call: Callable[[Call], None] | None = None,
    ) -> None:
        self.filter = flt
        self._shown = shown
        self._on_call = on_call
        self._needs_calls = keep_calls or not flt.empty
        self._window: Any = None
        if self._needs_calls:
            from .analysis.call_window import CallWindow

            self._window = CallWindow()
        self._current: tuple[int, bool] = (0, False)
        #: Verdicts of the held sessions whose call became final (id of the session).
        self._late: dict[int, bool] = {}
        self._held_ids: set[int] = set()
        #: The call sessions shown whose join is not final yet (id of the session; the call
        #: window holds each until then): what ``on_call`` is told of, then forgotten.
        self._shown_ids: set[int] = set()
        #: Verdicts of the streams of final calls (id of the stream).
        self._stream_verdicts: dict[int, bool] = {}
        self.pipeline: Any = None

    def events(self, events: Iterable[Event]) -> Iterator[Event]:
        flt = self.filter
        held: list[SessionFinished] = []
        for event in events:
            kind = type(event)
            if kind is SessionFinished:
                session = event.session  # type: ignore[union-attr]
                verdict = flt.session(session)
                if verdict is None:
                    held.append(event)  # type: ignore[arg-type]
                    self._held_ids.add(id(session))
                    run = getattr(event, "pipeline", None)
                    if run is not None and session.kind == "call":
                        # The view's call window must wait for it as for an open session.
                        run.hold_back(session)
                if self._window is not None and session.kind == "call":
                    if verdict:
                        self._shown_ids.add(id(session))
                    pipeline = getattr(event, "pipeline", None)
                    self._final(self._window.add(session, pipeline))
                if verdict is None:
                    continue
                self._current = (id(session), verdict)
            elif kind is InputFinished:
                self.pipeline = event.pipeline  # type: ignore[union-attr]
                if self._window is not None:
                    self._final(self._window.finish(self.pipeline))
                for ev in held:
                    self._current = (id(ev.session), self._decide_late(ev.session))
                    yield ev
                held.clear()
            yield event

    def _final(self, calls: list[Call]) -> None:
        """Calls whose join is final: judge what needs them, then let them go."""
        flt = self.filter
        for call in calls:
            session = call.session
            streams = list(call.streams)
            shown = id(session) in self._shown_ids
            self._shown_ids.discard(id(session))
            if id(session) in self._held_ids:
                ok = flt.session(session, call=call, streams=streams) is True
                self._late[id(session)] = ok
                shown = shown or ok
            if not flt.empty:
                logs = list(getattr(session, "diagnostics", None) or [])
                for st in streams:
                    subject = Subject(
                        session=session, call=call, streams=[st], capture=self.pipeline, logs=logs
                    )
                    self._stream_verdicts[id(st)] = flt.test(subject) is True
            if self._on_call is not None and shown:
                self._on_call(call)

    def matches(self, session: Session) -> bool:
        """The verdict on the session the view is handling (the last one passed on)."""
        key, verdict = self._current
        ok = verdict if key == id(session) else bool(self.filter.session(session) is True)
        if ok and self._shown is not None:
            self._shown(session)
        return ok

    def _decide_late(self, session: Session) -> bool:
        self._held_ids.discard(id(session))
        late = self._late.pop(id(session), None)
        if late is not None:
            return late
        # Not a call (or no INVITE to join): its streams are those that name its Call-ID.
        streams = [st for st in self.pipeline.streams() if st.call_id == session.call_id]
        return self.filter.session(session, call=None, streams=streams) is True

    def stream_matches(self, st: StreamStats) -> bool:
        """A stream (record, or line of media without signalling) with its call and session:
        judged when its call's join was final, else (no call owns it) on its own."""
        if self.filter.empty:
            return True
        verdict = self._stream_verdicts.get(id(st))
        if verdict is not None:
            return verdict
        return self.filter.test(Subject(streams=[st], capture=self.pipeline)) is True

    def call_matches(self, call: Call) -> bool:
        """A call (``--calls``) with its session and streams."""
        if self.filter.empty:
            return True
        subject = Subject(
            session=call.session,
            call=call,
            streams=list(call.streams),
            capture=self.pipeline,
            logs=list(getattr(call.session, "diagnostics", None) or []),
        )
        ok = self.filter.test(subject) is True
        if ok and self._shown is not None:
            self._shown(call.session)
        return ok


__all__ = [
    "ALIASES",
    "FIELDS",
    "PREDICATES",
    "SCOPES",
    "Field",
    "Filter",
    "FilterError",
    "FilterRun",
    "Subject",
    "call_failed",
    "compile_filter",
    "field_table",
    "lookup",
    "one_way_audio",
    "parse_address",
    "parse_time",
    "predicate",
    "register",
    "setup_ms",
    "tokenize",
]


#: The language's syntax lives in filter_syntax.py, loaded with the first expression compiled;
#: its public names stay reachable here.
_SYNTAX = ("Token", "tokenize", "Node", "And", "Or", "Not", "Test", "parse_time", "parse_address")


_TABLES = {"FIELDS": _FIELDS, "ALIASES": _ALIASES, "PREDICATES": _PREDICATES}


def __getattr__(name: str) -> Any:
    table = _TABLES.get(name)
    if table is not None:
        _table()
        return table
    if name in _SYNTAX:
        from . import filter_syntax

        return getattr(filter_syntax, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
