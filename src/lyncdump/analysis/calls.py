"""Whole calls: one INVITE dialog joined to the media it set up, its outcome and its findings.

A user asks "what happened on this call?": who called whom, how it ended, what was offered
and answered, which ICE candidate pair won (direct or via the Edge), which streams were its
media, how each sounded, and what looks wrong. :func:`build_calls` answers it after decoding,
from what the layers already hold, so the per-packet path does no new work:

- signalling: the session (one Call-ID), its offer/answer exchanges (offer_answer.py), and
  its outcome as signalling says it (answered and completed, rejected with the final status
  and ``ms-diagnostics``, cancelled, INVITE never answered, BYE never answered, no BYE before
  the capture ends);
- ICE sessions whose ufrag pair matches an SDP ``a=ice-ufrag``, or whose checks run between
  the call's addresses; TURN allocations whose relayed address is one of the call's
  candidates (the Edge leg);
- RTP streams, given to the call whose negotiated media was in force when the stream began
  and matches it best (media_join.py has the rules; docs/calls.md explains them);
- findings: one-way audio, RTP payload types the answer did not accept, media from an address
  no SDP announced, RTP where SRTP was negotiated.

Conferences are told by the focus / MCU GRUU in the Request-URI or To
(``;gruu;opaque=app:conf:focus:...``, ``app:conf:audio-video:...`` for the AV MCU,
``app:conf:applicationsharing:...``); application sharing by its m-line.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

# Imported for real (not under TYPE_CHECKING) so typing.get_type_hints(Call) resolves.
from ..media.stats import StreamStats
from ..model import Endpoint
from ..sip.message import SipMessage
from .ice import Allocation, CandidatePair, IceSession
from .media_join import MediaAnnouncement, announcements, join_streams, normalise
from .offer_answer import Exchange, NegotiatedMedia, current_media, negotiate, parts_by_message
from .sessions import Session, Transaction

#: Conference GRUU markers ([MS-CONFBAS] focus, [MS-CONFAV] AV MCU, [MS-CONFAS] AS MCU).
_CONFERENCE_ROLES = (
    ("app:conf:focus:", "focus"),
    ("app:conf:audio-video:", "AV MCU"),
    ("app:conf:applicationsharing:", "AS MCU"),
    ("app:conf:data-conf:", "data MCU"),
    ("app:conf:chat:", "IM MCU"),
)


#: What a call's findings are about (``Finding.kind``), in the order ``--summary`` counts them.
FINDING_KINDS = (
    "one-way audio",
    "payload type not in answer",
    "unannounced media address",
    "RTP where SRTP was negotiated",
)

#: Call states, as signalling says them.
STATES = (
    "completed",  # answered, BYE sent and answered
    "BYE unanswered",  # answered, BYE sent, no response to it
    "in call",  # answered, no BYE before the capture ends
    "rejected",  # a final failure response (486, 408, 5xx, 6xx ...)
    "cancelled",  # CANCEL, 487
    "no answer",  # INVITE never got a final response
    "setup",  # no INVITE transaction seen (a capture that begins mid-call)
)


@dataclass(slots=True)
class Finding:
    """Something engineers look for on a call: ``kind`` (one of :data:`FINDING_KINDS`),
    a sentence saying what was seen, and the stream it is about (None for the whole call)."""

    kind: str
    detail: str
    stream: StreamStats | None = None


@dataclass(slots=True)
class Call:
    """One INVITE dialog with its negotiation, media, outcome and findings."""

    call_id: str
    session: Session
    caller: str | None = None
    callee: str | None = None
    kind: str = "call"  # call | conference
    conference_role: str | None = None  # focus | AV MCU | AS MCU ... for conference legs
    start: float | None = None
    answer_time: float | None = None
    end: float | None = None
    #: One of :data:`STATES`.
    state: str = "setup"
    end_reason: str | None = None
    #: The final status of the INVITE (None without one).
    final_status: int | None = None
    #: Retransmissions of the INVITE and of the BYE that ended the call.
    invite_retransmissions: int = 0
    bye_retransmissions: int = 0
    exchanges: list[Exchange] = field(default_factory=list)
    media: list[NegotiatedMedia] = field(default_factory=list)
    #: Every SDP of the call, as it put media addresses in force for one side (media_join.py).
    announcements: list[MediaAnnouncement] = field(default_factory=list)
    #: (time, side, direction) each time a side's audio direction changed: hold and resume.
    holds: list[tuple[float, str, str]] = field(default_factory=list)
    addresses: set[Endpoint] = field(default_factory=set)
    ufrags: set[str] = field(default_factory=set)
    ice: list[IceSession] = field(default_factory=list)
    allocations: list[Allocation] = field(default_factory=list)
    #: allocation id -> the call's addresses among that allocation's TURN permissions
    permissions: dict[int, list[Endpoint]] = field(default_factory=dict)
    #: The streams this call owns (a stream shared by B2BUA legs is in each leg's list).
    streams: list[StreamStats] = field(default_factory=list)
    #: Streams that match this call as well as another one: they belong to neither.
    ambiguous: list[StreamStats] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    #: Capture time of the first check of each ICE pair, by that check's frame.
    check_times: dict[int, float] = field(default_factory=dict)

    @property
    def messages(self) -> list[SipMessage]:
        return self.session.messages

    @property
    def modalities(self) -> list[str]:
        """Media kinds the call negotiated (``audio``, ``video``, ``applicationsharing``)."""
        return list(dict.fromkeys(m.media for m in self.media if m.state != "rejected"))

    @property
    def application_sharing(self) -> bool:
        return "applicationsharing" in self.modalities

    @property
    def nominated(self) -> CandidatePair | None:
        """The nominated ICE pair of the first matched ICE session that has one."""
        for s in self.ice:
            pair = s.nominated
            if pair is not None:
                return pair
        return None

    @property
    def path(self) -> str | None:
        """``direct`` or ``via Edge`` for the nominated pair; None without ICE."""
        for s in self.ice:
            if s.path is not None:
                return s.path
        return None

    @property
    def last_activity(self) -> float | None:
        """The last SIP message or RTP packet of the call."""
        times = [t for t in (self.session.end, *(st.last_time for st in self.streams)) if t]
        return max(times) if times else None

    @property
    def duration(self) -> float | None:
        """Talk time: from the answer (2xx) to the BYE, or to the last SIP message or RTP
        packet when the capture ends without one; None for a call never answered."""
        if self.answer_time is None:
            return None
        end = self.end if self.end is not None else self.last_activity
        return max(0.0, end - self.answer_time) if end is not None else None

    @property
    def setup_time(self) -> float | None:
        """From the INVITE to its final response (answer or failure)."""
        if self.start is None:
            return None
        final = (
            self.answer_time
            if self.answer_time is not None
            else (self.end if self.state in ("rejected", "cancelled") else None)
        )
        return final - self.start if final is not None else None

    @property
    def ice_version(self) -> str | None:
        """ICE version of the part the (last) answer chose."""
        for e in reversed(self.exchanges):
            part = e.chosen_part
            if part is not None and part.ice_version is not None:
                return part.ice_version
        return None

    def to_dict(self) -> dict[str, Any]:
        """The ``call`` record of docs/json.md (its streams as ``stream`` objects)."""
        from ..render.calls import call_to_dict

        return call_to_dict(self)


def conference_role(uri: str | None) -> str | None:
    if not uri:
        return None
    lower = uri.lower()
    for marker, role in _CONFERENCE_ROLES:
        if marker in lower:
            return role
    return None


def _diagnostics(msg: SipMessage) -> str | None:
    value = msg.header("ms-diagnostics") or msg.header("ms-diagnostics-public")
    if not value:
        return None
    code, _, rest = value.partition(";")
    reason = ""
    for param in rest.split(";"):
        name, _, v = param.strip().partition("=")
        if name.lower() == "reason":
            reason = v.strip().strip('"')
    return f"ms-diagnostics {code.strip()}" + (f" {reason}" if reason else "")


def _signalling(call: Call) -> None:
    """Times, state and end reason from the INVITE transactions and BYE/CANCEL."""
    session = call.session
    first = session.first_request
    if first is not None:
        call.caller = _uri(first, "from")
        call.callee = _uri(first, "to")
        call.start = first.time
        role = conference_role(first.request_uri) or conference_role(call.callee)
        if role is not None:
            call.kind = "conference"
            call.conference_role = role
    invites = [t for t in session.transactions if t.method == "INVITE"]
    if not invites:
        return
    # A 401/407 challenge is answered by the same INVITE with credentials: that one counts.
    initial = invites[0]
    for t in invites[1:]:
        if initial.final_status not in (401, 407):
            break
        initial = t
    call.invite_retransmissions = initial.request_retransmissions
    final = initial.final
    if final is None or final.status is None:
        call.state = "cancelled" if initial.cancelled else "no answer"
        call.end_reason = ("CANCEL, no final response" if initial.cancelled
                           else "INVITE never answered" + _progress(initial))  # fmt: skip
        return
    call.final_status = final.status
    if final.status < 300:
        call.answer_time = final.time
        _ending(call, session)
        return
    call.end = final.time
    reason = f"{final.status} {final.reason or ''}".rstrip()
    diag = _diagnostics(final)
    if initial.cancelled or final.status == 487:
        call.state = "cancelled"
        call.end_reason = ("CANCEL, " if initial.cancelled else "") + reason
    else:
        call.state = "rejected"
        call.end_reason = reason + (f"; {diag}" if diag else "")


def _progress(invite: Transaction) -> str:
    """How far an unanswered INVITE got: ``; last 180 Ringing`` (and its retransmissions)."""
    parts = []
    provisional = [r for r in invite.responses if r.status is not None and r.status > 100]
    if provisional:
        last = provisional[-1]
        text = f"last {last.status} {last.reason or ''}".rstrip()
        if any(r.body for r in provisional):
            text += " with early media"
        parts.append(text)
    elif not invite.responses:
        parts.append("no response at all")
    if invite.request_retransmissions:
        parts.append(f"{invite.request_retransmissions} retransmissions")
    return "; " + ", ".join(parts) if parts else ""


def _ending(call: Call, session: Session) -> None:
    """An answered call: completed by an answered BYE, BYE unanswered, or still up."""
    for t in session.transactions:
        if t.method != "BYE" or t.request is None:
            continue
        call.end = t.request.time
        call.bye_retransmissions = t.request_retransmissions
        by = "caller" if _uri(t.request, "from") == call.caller else "callee"
        reason = f"BYE from {by}"
        diag = _diagnostics(t.request)
        if diag:
            reason += f"; {diag}"
        final = t.final
        if final is None:
            call.state = "BYE unanswered"
            n = t.request_retransmissions
            reason += f", never answered ({n} retransmission{'s' if n != 1 else ''})"
        else:
            call.state = "completed"
            if final.status is not None and final.status >= 300:
                reason += f", answered {final.status} {final.reason or ''}".rstrip()
        call.end_reason = reason
        return
    call.state = "in call"
    call.end_reason = "no BYE before the capture ends"


def _uri(m: SipMessage, which: str) -> str | None:
    addr = m.from_ if which == "from" else m.to
    if addr is None or addr.uri is None:
        return None
    return str(addr.uri)


def _addresses(call: Call) -> tuple[set[Endpoint], set[str]]:
    """Every media address and ICE ufrag named by any SDP of the call."""
    addrs: set[Endpoint] = set()
    for a in call.announcements:
        addrs |= a.addresses
    ufrags: set[str] = set()
    for e in call.exchanges:
        parts = list(e.offer_parts)
        if e.answer_part is not None:
            parts.append(e.answer_part)
        for part in parts:
            sd = part.sdp
            session_ufrag = sd.attribute("ice-ufrag")
            if session_ufrag:
                ufrags.add(session_ufrag)
            for m in sd.media:
                if m.ice_ufrag:
                    ufrags.add(m.ice_ufrag)
    return addrs, ufrags


def _holds(call: Call) -> list[tuple[float, str, str]]:
    """When each side's audio direction changed after the first answer: hold, resume."""
    out: list[tuple[float, str, str]] = []
    current: dict[str, str] = {}
    for a in call.announcements:
        if not a.directions:
            continue
        direction = a.directions[0]
        before = current.get(a.side)
        current[a.side] = direction
        if before is None:
            if direction != "sendrecv":
                out.append((a.time, a.side, direction))
        elif direction != before:
            out.append((a.time, a.side, direction))
    return out


def prepare_call(session: Session) -> Call:
    """The part of a call its own session decides: outcome, offer/answer, the media
    announcements and addresses; no ICE, TURN, streams or findings yet (:func:`build_calls`
    adds them)."""
    call = Call(session.call_id, session)
    _signalling(call)
    parts = parts_by_message(session.messages)
    call.exchanges = negotiate(session.messages, parts)
    call.media = current_media(call.exchanges)
    call.announcements = announcements(call, parts)
    call.holds = _holds(call)
    call.addresses, call.ufrags = _addresses(call)
    return call


def unjoined_copy(prepared: Call) -> Call:
    """A new call with ``prepared``'s signalling (shared: the join only reads it) and
    empty join results, for joining the same session again (a long run's call window
    joins a held call with each group, and reads its SDP once)."""
    call = copy.copy(prepared)
    call.addresses = set(prepared.addresses)
    call.ufrags = set(prepared.ufrags)
    call.ice = []
    call.allocations = []
    call.permissions = {}
    call.streams = []
    call.ambiguous = []
    call.findings = []
    call.check_times = {}
    return call


def build_calls(
    sessions: Iterable[Session],
    streams: Iterable[StreamStats] = (),
    ice_sessions: Iterable[IceSession] = (),
    allocations: Iterable[Allocation] = (),
    *,
    prepare: Callable[[Session], Call] = prepare_call,
) -> list[Call]:
    """Every session of kind ``call`` as a :class:`Call` joined to its media, each ICE
    pair's first check dated (``check_times``, from the pair's ``first_time``). ``prepare`` gives
    each session's call before the join (:func:`prepare_call`, or a copy of one made
    earlier: it must return a call no other join holds).

    Each stream's ``call_id``, ``join_rule`` and ``candidate_calls`` are set to the join's
    result (the call that owns it, or None), whatever the RTP tracker guessed from the SDP.
    """
    calls = [prepare(s) for s in sessions if s.kind == "call"]
    _join_ice(calls, list(ice_sessions))
    _join_allocations(calls, list(allocations))
    join_streams(calls, streams)
    for call in calls:
        call.findings = findings(call)
    for call in calls:
        for ice in call.ice:
            for p in ice.pairs:
                if p.first_time is not None:
                    call.check_times[p.first_frame or 0] = p.first_time
    return calls


def _join_ice(calls: list[Call], ice_sessions: list[IceSession]) -> None:
    """Each ICE session goes to the last call (in ``calls`` order) one of whose SDP ufrags it
    checks with, else to the last call that has one of its pairs' addresses (counting the
    addresses earlier ICE sessions gave their calls). Indexes by ufrag and by address, so the
    cost follows the ICE sessions and addresses, not their product with the calls."""
    by_ufrag: dict[str, int] = {}  # ufrag -> index of the last call with it
    by_address: dict[Endpoint, int] = {}  # address -> index of the last call with it
    for i, call in enumerate(calls):
        for u in call.ufrags:
            by_ufrag[u] = i
        for ep in call.addresses:
            by_address[ep] = i
    for ice in ice_sessions:
        best = -1
        for u in ice.ufrags or ():
            best = max(best, by_ufrag.get(u, -1))
        if best < 0:
            for p in ice.pairs:
                best = max(best, by_address.get(p.local, -1), by_address.get(p.remote, -1))
        if best < 0:
            continue
        call = calls[best]
        call.ice.append(ice)
        for p in ice.pairs:
            for ep in (p.local, p.remote):
                call.addresses.add(ep)
                if by_address.get(ep, -1) < best:
                    by_address[ep] = best


def _join_allocations(calls: list[Call], allocations: list[Allocation]) -> None:
    """An allocation relays a call when its relayed address is one of the call's candidates,
    its Set Active Destination or one of its permissions (CreatePermission / Send peers) is
    one of the call's addresses: the first such call (in ``calls`` order), found through an
    index of the calls' addresses (kept up to date as allocations add theirs)."""
    first: dict[Endpoint, int] = {}  # address -> index of the first call with it
    for i in range(len(calls) - 1, -1, -1):
        for ep in calls[i].addresses:
            first[ep] = i
    none = len(calls)
    for a in allocations:
        named = [*a.relayed, *a.permissions]
        if a.active_destination is not None:
            named.append(a.active_destination)
        best = min((first.get(ep, none) for ep in named), default=none)
        if best == none:
            continue
        call = calls[best]
        permitted = [p for p in a.permissions if p in call.addresses]
        call.allocations.append(a)
        call.addresses.update(a.relayed)
        for ep in a.relayed:
            if first.get(ep, none) > best:
                first[ep] = best
        if permitted:
            call.permissions[a.id] = permitted


# -- findings ----------------------------------------------------------------------------------


def findings(call: Call) -> list[Finding]:
    """What the call's streams show against its signalling (see :data:`FINDING_KINDS`)."""
    out: list[Finding] = []
    if not call.streams:
        return out
    known = set(call.addresses)
    for a in call.allocations:
        known.update(a.relayed)
        known.update(a.permissions)
    sides = _sides(call)
    answers = _answered_mlines(call)
    for st in call.streams:
        if st.source not in known:
            out.append(Finding(
                "unannounced media address",
                f"RTP from {st.source}, which no SDP of the call announced (a NAT, a latching "
                f"relay?); {st.packets} packets to {st.destination}",
                st,
            ))  # fmt: skip
        found = _answer_mline(answers, st)
        bad = _payload_not_in_answer(found, st)
        if bad:
            out.append(Finding("payload type not in answer", bad, st))
        negotiated = (
            found[0].media[found[1]].encrypted
            if found is not None
            else any(m.encrypted for m in call.media)
        )
        if st.srtp_auth_failures and not st.srtp_decrypted and negotiated:
            out.append(Finding(
                "RTP where SRTP was negotiated",
                f"none of the {st.packets} packets {st.source} → {st.destination} "
                "authenticated with the SDP's keys: plain RTP (or keys the capture does not show)",
                st,
            ))  # fmt: skip
    one_way = _one_way_audio(call, sides)
    if one_way:
        out.append(Finding("one-way audio", one_way))
    return out


def _sides(call: Call) -> dict[str, set[Endpoint]]:
    out: dict[str, set[Endpoint]] = {"caller": set(), "callee": set()}
    for a in call.announcements:
        out[a.side] |= a.addresses
    return out


def _direction(st: StreamStats, sides: dict[str, set[Endpoint]]) -> str | None:
    """``to callee`` or ``to caller`` by whichever end an SDP of the call named."""
    if st.destination in sides["callee"] or st.source in sides["caller"]:
        return "to callee"
    if st.destination in sides["caller"] or st.source in sides["callee"]:
        return "to caller"
    return None


def _one_way_audio(call: Call, sides: dict[str, set[Endpoint]]) -> str | None:
    if call.answer_time is None or not call.streams:
        return None
    if any(m.media == "audio" and m.state == "active" and m.direction != "sendrecv"
           for m in call.media) or any(d != "sendrecv" for _t, _s, d in call.holds):  # fmt: skip
        return None  # on hold, or negotiated one way: one direction is what was agreed
    audio = [st for st in call.streams if st.clock_rate != 90000 and st.packets]
    directions: dict[str, list[StreamStats]] = {}
    for st in audio:
        d = _direction(st, sides)
        if d is not None:
            directions.setdefault(d, []).append(st)
    if len(directions) != 1:
        return None
    # Between two different hosts, RTP each way is two-way audio whatever the SDP says (a PBX
    # answering for both legs names its own ports on both sides).
    hosts = {(st.source.ip, st.destination.ip) for st in audio}
    if any(a != b and (b, a) in hosts for a, b in hosts):
        return None
    ((where, streams),) = directions.items()
    sender, silent = ("caller", "callee") if where == "to callee" else ("callee", "caller")
    packets = sum(st.packets for st in streams)
    return f"RTP from the {sender} only ({packets} packets); nothing from the {silent}"


#: (answer time, exchange, [(m-line index, addresses the m-line named)]) per answered exchange.
_Answers = list[tuple[float, Exchange, list[tuple[int, set[Endpoint]]]]]


def _answered_mlines(call: Call) -> _Answers:
    out: _Answers = []
    for e in call.exchanges:
        if e.answer is None or e.answer_part is None or e.answer.time is None:
            continue
        count = len(e.answer_part.sdp.media)
        lines = []
        for i, m in enumerate(e.media):
            if i >= count or m.state != "active":
                continue
            named = {Endpoint(normalise(a.ip), a.port)
                     for a in (m.offer_address, m.answer_address) if a is not None}  # fmt: skip
            lines.append((i, named))
        out.append((e.answer.time, e, lines))
    return out


def _answer_mline(answers: _Answers, st: StreamStats) -> tuple[Exchange, int] | None:
    """The answered m-line in force for a stream: the last exchange answered before the
    stream ended whose m-line names one of its addresses (the only m-line otherwise)."""
    ends = {st.source, st.destination}
    chosen: tuple[Exchange, int] | None = None
    for when, e, lines in answers:
        if when > st.last_time:
            continue
        hit = next((i for i, named in lines if named & ends), None)
        if hit is None and len(lines) == 1 and len(e.answer_part.sdp.media) == 1:  # type: ignore[union-attr]
            hit = lines[0][0]
        if hit is not None:
            chosen = (e, hit)
    return chosen


def _payload_not_in_answer(found: tuple[Exchange, int] | None, st: StreamStats) -> str | None:
    if found is None:
        return None
    e, i = found
    assert e.answer_part is not None
    m = e.answer_part.sdp.media[i]
    accepted = {int(f) for f in m.formats if f.isdigit()}
    bad = [pt for pt in sorted(st.payload_types) if pt not in accepted]
    if not bad:
        return None
    from ..media.codecs import payload_name

    names = ", ".join(f"{pt} ({payload_name(pt, st._rtpmap)})" for pt in bad)
    answer = ", ".join(e.media[i].codecs) or " ".join(m.formats)
    return (
        f"{st.source} → {st.destination} sends payload type{'s' if len(bad) > 1 else ''} "
        f"{names}, not in the answer ({answer})"
    )


__all__ = ["FINDING_KINDS", "STATES", "Call", "Finding", "build_calls", "conference_role",
           "findings", "prepare_call", "unjoined_copy"]  # fmt: skip
