"""Whole calls: one INVITE dialog joined to the media it set up.

A user asks "what happened on this call?": who called whom, what was offered and answered,
which ICE candidate pair won (direct or via the Edge), which codecs flowed and how each
stream sounded. :func:`build_calls` answers it after decoding, from what the layers already
hold, so the per-packet path does no new work:

- signalling: the session (one Call-ID) and its offer/answer exchanges (offer_answer.py);
- addresses: every SDP connection address / port / RTCP port and ICE candidate of every
  offered and answered part, both ICE versions;
- ICE sessions whose ufrag pair matches an SDP ``a=ice-ufrag``, or whose checks run between
  the call's addresses;
- TURN allocations whose relayed address is one of the call's candidates (the Edge leg);
- RTP streams the SDP already labelled with the Call-ID (the RTP tracker does it as SDP
  arrives, SRTP keys included), plus unlabelled streams touching one of the call's
  addresses while the call lasts.

Conferences are told by the focus / MCU GRUU in the Request-URI or To
(``;gruu;opaque=app:conf:focus:...``, ``app:conf:audio-video:...`` for the AV MCU,
``app:conf:applicationsharing:...``); application sharing by its m-line.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

# Imported for real (not under TYPE_CHECKING) so typing.get_type_hints(Call) resolves.
from ..media.stats import StreamStats
from ..model import Endpoint
from ..sip.message import SipMessage
from .ice import Allocation, CandidatePair, IceSession
from .offer_answer import Exchange, NegotiatedMedia, current_media, negotiate
from .sessions import Session

#: Conference GRUU markers ([MS-CONFBAS] focus, [MS-CONFAV] AV MCU, [MS-CONFAS] AS MCU).
_CONFERENCE_ROLES = (
    ("app:conf:focus:", "focus"),
    ("app:conf:audio-video:", "AV MCU"),
    ("app:conf:applicationsharing:", "AS MCU"),
    ("app:conf:data-conf:", "data MCU"),
    ("app:conf:chat:", "IM MCU"),
)


@dataclass(slots=True)
class Call:
    """One INVITE dialog with its negotiation and media."""

    call_id: str
    session: Session
    caller: str | None = None
    callee: str | None = None
    kind: str = "call"  # call | conference
    conference_role: str | None = None  # focus | AV MCU | AS MCU ... for conference legs
    start: float | None = None
    answer_time: float | None = None
    end: float | None = None
    #: setup | ringing | early media | in call | completed | cancelled | rejected
    state: str = "setup"
    end_reason: str | None = None
    exchanges: list[Exchange] = field(default_factory=list)
    media: list[NegotiatedMedia] = field(default_factory=list)
    addresses: set[Endpoint] = field(default_factory=set)
    ufrags: set[str] = field(default_factory=set)
    ice: list[IceSession] = field(default_factory=list)
    allocations: list[Allocation] = field(default_factory=list)
    #: allocation id -> the call's addresses among that allocation's TURN permissions
    permissions: dict[int, list[Endpoint]] = field(default_factory=dict)
    streams: list[StreamStats] = field(default_factory=list)
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
    def duration(self) -> float | None:
        if self.start is None or self.end is None:
            return None
        return self.end - self.start

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
    provisional = [r.status for r in initial.responses if r.status and r.status < 200]
    if provisional:
        call.state = "ringing" if any(s in (180, 182) for s in provisional) else "setup"
        if (
            any(r.status == 183 and r.status < 200 and r.body for r in initial.responses)
            and call.state != "ringing"
        ):
            call.state = "early media"
    final = initial.final
    if final is not None and final.status is not None:
        if final.status < 300:
            call.state = "in call"
            call.answer_time = final.time
        elif initial.cancelled or final.status == 487:
            call.state = "cancelled"
            call.end = final.time
            call.end_reason = "CANCEL, 487" if final.status == 487 else "CANCEL"
        else:
            call.state = "rejected"
            call.end = final.time
            reason = f"{final.status} {final.reason or ''}".rstrip()
            diag = _diagnostics(final)
            call.end_reason = reason + (f"; {diag}" if diag else "")
    elif initial.cancelled:
        call.state = "cancelled"
        call.end_reason = "CANCEL"
    for t in session.transactions:
        if t.method == "BYE" and t.request is not None and call.state == "in call":
            call.state = "completed"
            call.end = t.request.time
            by = "caller" if _uri(t.request, "from") == call.caller else "callee"
            call.end_reason = f"BYE from {by}"
            diag = _diagnostics(t.request)
            if diag:
                call.end_reason += f"; {diag}"
            break
    if call.end is None and session.end is not None and call.state not in ("in call",):
        call.end = session.end


def _uri(m: SipMessage, which: str) -> str | None:
    addr = m.from_ if which == "from" else m.to
    if addr is None or addr.uri is None:
        return None
    return str(addr.uri)


def _addresses(call: Call) -> tuple[set[Endpoint], set[str]]:
    """Every media address and ICE ufrag named by any SDP of the call."""
    addrs: set[Endpoint] = set()
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
                conn = sd.media_connection(m)
                if conn is not None and m.port:
                    addrs.add(Endpoint(_norm(conn.address), m.port))
                    addrs.add(Endpoint(_norm(conn.address), m.rtcp_port))
                if m.ice_ufrag:
                    ufrags.add(m.ice_ufrag)
                for c in m.candidates():
                    addrs.add(Endpoint(_norm(c.address), c.port))
    return addrs, ufrags


def _norm(address: str) -> str:
    """Addresses as Endpoint.from_raw writes them (IPv6 compressed), names kept."""
    import ipaddress

    try:
        return str(ipaddress.ip_address(address))
    except ValueError:
        return address


def build_calls(
    sessions: Iterable[Session],
    streams: Iterable[StreamStats] = (),
    ice_sessions: Iterable[IceSession] = (),
    allocations: Iterable[Allocation] = (),
    stun_times: dict[int, float] | None = None,
) -> list[Call]:
    """Every session of kind ``call`` as a :class:`Call` joined to its media; ``stun_times``
    (frame → time of STUN messages) dates each ICE pair's first check."""
    calls: list[Call] = []
    for s in sessions:
        if s.kind != "call":
            continue
        call = Call(s.call_id, s)
        _signalling(call)
        call.exchanges = negotiate(s.messages)
        call.media = current_media(call.exchanges)
        call.addresses, call.ufrags = _addresses(call)
        calls.append(call)
    by_id = {c.call_id: c for c in calls}
    _join_ice(calls, list(ice_sessions))
    _join_allocations(calls, list(allocations))
    _join_streams(calls, by_id, list(streams))
    if stun_times:
        for call in calls:
            for ice in call.ice:
                for p in ice.pairs:
                    t = stun_times.get(p.first_frame or 0)
                    if t is not None:
                        call.check_times[p.first_frame or 0] = t
    return calls


def _join_ice(calls: list[Call], ice_sessions: list[IceSession]) -> None:
    for ice in ice_sessions:
        best: Call | None = None
        if ice.ufrags:
            for call in calls:
                if set(ice.ufrags) & call.ufrags:
                    best = call
        if best is None:
            for call in calls:
                if any(p.local in call.addresses or p.remote in call.addresses for p in ice.pairs):
                    best = call
        if best is not None:
            best.ice.append(ice)
            for p in ice.pairs:
                best.addresses.add(p.local)
                best.addresses.add(p.remote)


def _join_allocations(calls: list[Call], allocations: list[Allocation]) -> None:
    """An allocation relays a call when its relayed address is one of the call's candidates,
    its Set Active Destination or one of its permissions (CreatePermission / Send peers) is
    one of the call's addresses."""
    for a in allocations:
        for call in calls:
            permitted = [p for p in a.permissions if p in call.addresses]
            if (
                any(r in call.addresses for r in a.relayed)
                or (a.active_destination is not None and a.active_destination in call.addresses)
                or permitted
            ):
                call.allocations.append(a)
                call.addresses.update(a.relayed)
                if permitted:
                    call.permissions[a.id] = permitted
                break


def _join_streams(calls: list[Call], by_id: dict[str, Call], streams: list[StreamStats]) -> None:
    for st in streams:
        if st.call_id is not None:
            owner = by_id.get(st.call_id)
            if owner is not None:
                owner.streams.append(st)
            continue
        src, dst = st.source, st.destination
        chosen: Call | None = None
        for call in calls:
            if src not in call.addresses and dst not in call.addresses:
                continue
            if call.start is not None and st.first_time < call.start:
                continue
            if call.end is not None and st.first_time > call.end:
                continue
            chosen = call  # the latest call that could own it
        if chosen is not None:
            chosen.streams.append(st)


__all__ = ["Call", "build_calls", "conference_role"]
