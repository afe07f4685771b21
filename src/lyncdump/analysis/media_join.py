"""Which call owns which RTP stream: the rules of docs/calls.md ("The join"), in code.

Many calls can name the same media address: every call through an SBC, a media relay, an AV
MCU or an Edge is answered with the relay's one address, and one phone reuses its ports call
after call. So a stream is not given to "the call whose SDP names one of its ends", but to the
call whose negotiated media was in force when the stream's first packet was seen and matches
it best:

1. **Time**: never before the call's INVITE, never later than its end plus
   :data:`END_GRACE`.
2. **Ends**: source in one side's SDP and destination in the other side's (both ends) beats
   one end. The SDP of a side at time *t* is its latest announcement at or before *t* (plus
   :data:`ANSWER_SKEW`: an answer and the first packet can cross on the wire), one per dialog
   of a forked INVITE; an offer refused by a failure response stops counting when refused.
3. **In force**: a match through the SDP in force (the call is up, no later SDP of its own
   moved the media) beats a match through an older SDP or an ended call.
4. **Evidence**: the call's nominated ICE pair is the stream's address pair, its TURN
   allocations relay or permit one of the stream's addresses, its SDP announced the stream's
   SSRC (``a=ssrc``, ``a=x-ssrc-range``).

Where the best calls tie: both ends, and the calls announced those addresses within
:data:`LEG_WINDOW` of each other: the calls are legs of one conversation through a B2BUA that
left the media path, and the stream belongs to every leg; both ends, announced far apart: the
newest SDP wins (Wireshark's rule; a phone reused its ports, the old call's BYE was not
captured). One end: the calls that already have their media on that address at that time
(a both-ends stream in the same direction, overlapping in time) are set aside; one left is the
owner ("by elimination": the caller behind a NAT among many calls through one relay). Still
unresolved, a stream whose reverse stream has one owner goes with it (symmetric RTP:
latching). Anything else is **ambiguous**: it belongs to no call, and lists the calls it
could belong to. A stream already joined is never relabelled by a later SDP.

The work is one pass over the calls' SDP and one lookup per stream by address (an index of
every announced address), so it stays linear in the number of streams.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING

from ..model import Endpoint
from .offer_answer import Exchange, SdpPart, sdp_parts

if TYPE_CHECKING:
    from ..media.stats import StreamStats
    from .calls import Call

#: A stream may start this long after its call ended (the last packets of a direction).
END_GRACE = 2.0
#: SDP seen this long after a stream's first packet still counts for it (an answer and the
#: first media packet can cross on the wire, or be captured in the other order).
ANSWER_SKEW = 1.0
#: Calls tied on both ends whose SDP named those addresses this close in time are legs of one
#: conversation (a B2BUA re-INVITEs its legs within moments); farther apart, the newest wins.
LEG_WINDOW = 5.0

_INF = float("inf")

#: Join rules as shown in text and JSON (``join`` of a stream).
BOTH_ENDS = "both ends"
ONE_END = "one end"
EVIDENCE = "ICE/TURN/SSRC"
NEWEST_SDP = "newest SDP"
LEGS = "B2BUA legs"
ELIMINATION = "by elimination"
REVERSE = "reverse of a joined stream"
AMBIGUOUS = "ambiguous"


@dataclass(slots=True)
class MediaAnnouncement:
    """One SDP body of a call, as it put media addresses in force for one side."""

    time: float
    frame: int
    side: str  # caller | callee
    dialog: str  # the callee's dialog tag for responses of a forked INVITE, else ""
    addresses: frozenset[Endpoint]
    #: (first, last) SSRC ranges the SDP announced (a=ssrc, a=x-ssrc-range).
    ssrcs: tuple[tuple[int, int], ...] = ()
    #: Direction of each m-line (``sendrecv``, ``sendonly``, ``recvonly``, ``inactive``), with
    #: ``inactive`` for an m-line on hold the old way (c=0.0.0.0).
    directions: tuple[str, ...] = ()
    #: Refused by a failure response at this time: the announcement counts until then.
    until: float = _INF


@dataclass(slots=True)
class _Candidate:
    call: Call
    ends: int  # 2: both ends, 1: one end, 0: evidence only
    current: bool  # through the SDP in force
    evidence: int
    newest: float  # when the call last announced one of the stream's addresses
    #: The stream's addresses the call announced, by role: source, destination.
    src_known: bool = False
    dst_known: bool = False

    @property
    def rank(self) -> tuple[int, bool, int]:
        return (self.ends, self.current, self.evidence)


@dataclass(slots=True)
class _Pending:
    stream: StreamStats
    candidates: list[_Candidate] = field(default_factory=list)


@lru_cache(maxsize=4096)
def normalise(address: str) -> str:
    """Addresses as Endpoint.from_raw writes them (IPv6 compressed), names kept."""
    try:
        return str(ipaddress.ip_address(address))
    except ValueError:
        return address


def announcements(
    call: Call, parts: dict[int, list[SdpPart]] | None = None
) -> list[MediaAnnouncement]:
    """Every SDP of the call's messages as a :class:`MediaAnnouncement`, in capture order
    (``parts``: the messages' SDP already parsed, offer_answer.parts_by_message).

    The side is told by the From tag: a request with the caller's tag comes from the caller,
    a response to it from the callee (and the other way round for requests the callee sends).
    """
    messages = call.messages
    first = call.session.first_request
    caller_tag = first.from_.tag if first is not None and first.from_ is not None else None
    refused = _refusals(call.exchanges)
    out: list[MediaAnnouncement] = []
    for msg in messages:
        if msg.time is None or getattr(msg, "retransmission", False) or not msg.body:
            continue
        msg_parts = parts.get(id(msg), []) if parts is not None else sdp_parts(msg)
        if not msg_parts:
            continue
        from_tag = msg.from_.tag if msg.from_ is not None else None
        ours = caller_tag is None or from_tag == caller_tag
        side = "caller" if ours == msg.is_request else "callee"
        dialog = ""
        if side == "callee":
            tag_header = msg.to if msg.is_request is False else msg.from_
            dialog = (tag_header.tag if tag_header is not None else None) or ""
        addresses: set[Endpoint] = set()
        ssrcs: list[tuple[int, int]] = []
        directions: list[str] = []
        for part in msg_parts:
            sd = part.sdp
            for m in sd.media:
                conn = sd.media_connection(m)
                held = conn is None or conn.address in ("0.0.0.0", "::")
                directions.append("inactive" if held and m.port else m.direction)
                if m.port == 0:
                    continue
                if not held:
                    ip = normalise(conn.address)  # type: ignore[union-attr]
                    addresses.add(Endpoint(ip, m.port))
                    addresses.add(Endpoint(ip, m.rtcp_port))
                for c in m.candidates():
                    addresses.add(Endpoint(normalise(c.address), c.port))
                ssrcs.extend(m.ssrcs())
        out.append(
            MediaAnnouncement(
                msg.time, msg.frame or 0, side, dialog, frozenset(addresses), tuple(ssrcs),
                tuple(directions), refused.get(id(msg), _INF),
            )
        )  # fmt: skip
    return out


def _refusals(exchanges: Sequence[Exchange]) -> dict[int, float]:
    """id(message) → time its offer (and early answer) was refused by a failure response."""
    out: dict[int, float] = {}
    for e in exchanges:
        if e.rejected is None:
            continue
        when = e.rejected_time if e.rejected_time is not None else e.offer.time
        if when is None:
            continue
        out[id(e.offer)] = when
        if e.answer is not None and e.early:
            out[id(e.answer)] = when
    return out


def in_force(call: Call, t: float) -> dict[str, set[Endpoint]]:
    """The addresses each side's SDP had in force at time ``t`` (latest per dialog)."""
    latest: dict[tuple[str, str], MediaAnnouncement] = {}
    for a in call.announcements:
        if a.time > t + ANSWER_SKEW:
            continue  # (capture order is nearly time order; merged captures may differ)
        if a.until <= t:
            continue
        key = (a.side, a.dialog)
        before = latest.get(key)
        if before is None or a.time >= before.time:
            latest[key] = a
    out: dict[str, set[Endpoint]] = {"caller": set(), "callee": set()}
    for (side, _dialog), a in latest.items():
        out[side] |= a.addresses
    return out


def _ever(call: Call, t: float) -> dict[str, set[Endpoint]]:
    """Every address each side's SDP named up to ``t`` (superseded ones included)."""
    out: dict[str, set[Endpoint]] = {"caller": set(), "callee": set()}
    for a in call.announcements:
        if a.time > t + ANSWER_SKEW:
            continue  # (capture order is nearly time order; merged captures may differ)
        out[a.side] |= a.addresses
    return out


def _ends(src: Endpoint, dst: Endpoint, sides: dict[str, set[Endpoint]]) -> tuple[int, bool, bool]:
    caller, callee = sides["caller"], sides["callee"]
    both = (src in caller and dst in callee) or (src in callee and dst in caller)
    src_known = src in caller or src in callee
    dst_known = dst in caller or dst in callee
    return (2 if both else int(src_known or dst_known)), src_known, dst_known


def _evidence(call: Call, st: StreamStats, src: Endpoint, dst: Endpoint) -> int:
    score = 0
    pair = {src, dst}
    for ice in call.ice:
        nominated = ice.nominated
        if nominated is not None and {nominated.local, nominated.remote} == pair:
            score += 1
            break
    for a in call.allocations:
        relayed = set(a.relayed) | set(a.permissions) | set(a.channels.values())
        if a.active_destination is not None:
            relayed.add(a.active_destination)
        if pair & relayed:
            score += 1
            break
    for ann in call.announcements:
        if any(lo <= st.ssrc <= hi for lo, hi in ann.ssrcs):
            score += 1
            break
    return score


def _newest(call: Call, src: Endpoint, dst: Endpoint, t: float) -> float:
    best = -_INF
    for a in call.announcements:
        if a.time > t + ANSWER_SKEW:
            continue  # (capture order is nearly time order; merged captures may differ)
        if (src in a.addresses or dst in a.addresses) and a.time > best:
            best = a.time
    return best


def _candidate(call: Call, st: StreamStats, src: Endpoint, dst: Endpoint) -> _Candidate | None:
    t = st.first_time
    if call.start is None or t < call.start:
        return None
    ended = call.end is not None and t > call.end
    if ended and t > call.end + END_GRACE:  # type: ignore[operator]
        return None
    ends, src_known, dst_known = _ends(src, dst, in_force(call, t))
    current = not ended and ends > 0
    if ends < 2:
        old, old_src, old_dst = _ends(src, dst, _ever(call, t))
        if old > ends:
            ends, src_known, dst_known, current = old, old_src, old_dst, False
    evidence = _evidence(call, st, src, dst)
    if ends == 0 and evidence == 0:
        return None
    return _Candidate(call, ends, current, evidence, _newest(call, src, dst, t),
                      src_known, dst_known)  # fmt: skip


def _index(calls: Iterable[Call]) -> dict[Endpoint, list[Call]]:
    """Every address a call's SDP, ICE or TURN named → those calls (once each, in order)."""
    index: dict[Endpoint, list[Call]] = {}
    for call in calls:
        seen: set[Endpoint] = set()
        for a in call.announcements:
            seen |= a.addresses
        for ice in call.ice:
            for p in ice.pairs:
                seen.add(p.local)
                seen.add(p.remote)
        for alloc in call.allocations:
            seen.update(alloc.relayed)
            seen.update(alloc.permissions)
            seen.update(alloc.channels.values())
            if alloc.active_destination is not None:
                seen.add(alloc.active_destination)
        for ep in seen:
            index.setdefault(ep, []).append(call)
    return index


def join_streams(calls: Sequence[Call], streams: Iterable[StreamStats]) -> None:
    """Give each stream to the call that owns it (``Call.streams``), or mark it ambiguous
    (``Call.ambiguous`` of every candidate); sets each stream's ``call_id``, ``join_rule``
    and ``candidate_calls``."""
    index = _index(calls)
    pending: list[_Pending] = []
    for st in streams:
        src, dst = st.source, st.destination
        found: dict[int, Call] = {}
        for ep in (src, dst):
            for call in index.get(ep, ()):
                found.setdefault(id(call), call)
        p = _Pending(st)
        for call in found.values():
            c = _candidate(call, st, src, dst)
            if c is not None:
                p.candidates.append(c)
        _assign(st, None, None, ())
        if p.candidates:
            pending.append(p)

    unresolved: list[_Pending] = []
    for p in pending:
        best = _best(p.candidates)
        if len(best) == 1:
            c = best[0]
            rule = BOTH_ENDS if c.ends == 2 else (ONE_END if c.ends == 1 else EVIDENCE)
            _join(p.stream, [c.call], rule, ())
        elif best[0].ends == 2:
            _tie_on_both_ends(p.stream, best)
        else:
            p.candidates = best
            unresolved.append(p)

    still: list[_Pending] = []
    for p in unresolved:
        left = [c for c in p.candidates if not _has_media_there(c, p.stream)]
        if len(left) == 1:
            _join(p.stream, [left[0].call], ELIMINATION, _ids(p.candidates))
        else:
            still.append(p)

    owners: dict[tuple[Endpoint, Endpoint], set[int]] = {}
    by_id: dict[int, Call] = {}
    for call in calls:
        by_id[id(call)] = call
        for st in call.streams:
            owners.setdefault((st.source, st.destination), set()).add(id(call))
    for p in still:
        st = p.stream
        reverse = owners.get((st.destination, st.source), set())
        mine = [c for c in p.candidates if id(c.call) in reverse]
        if len(reverse) == 1 and len(mine) == 1:
            _join(st, [mine[0].call], REVERSE, _ids(p.candidates))
            continue
        ids = _ids(p.candidates)
        _assign(st, None, AMBIGUOUS, ids)
        for c in p.candidates:
            c.call.ambiguous.append(st)
    for call in calls:
        call.streams.sort(key=lambda s: (s.first_frame, s.first_time))
        call.ambiguous.sort(key=lambda s: (s.first_frame, s.first_time))


def _best(candidates: list[_Candidate]) -> list[_Candidate]:
    top = max(c.rank for c in candidates)
    return [c for c in candidates if c.rank == top]


def _tie_on_both_ends(st: StreamStats, tied: list[_Candidate]) -> None:
    times = [c.newest for c in tied]
    if max(times) - min(times) <= LEG_WINDOW:
        legs = sorted(tied, key=lambda c: (c.call.start or 0.0, c.call.call_id))
        _join(st, [c.call for c in legs], LEGS, _ids(legs))
        return
    newest = max(tied, key=lambda c: c.newest)
    _join(st, [newest.call], NEWEST_SDP, _ids(tied))


def _has_media_there(c: _Candidate, st: StreamStats) -> bool:
    """Whether the call already has a both-ends stream using the stream's known address in
    the same role (into it or out of it), overlapping the stream in time."""
    for other in c.call.streams:
        if other.join_rule not in (BOTH_ENDS, NEWEST_SDP, LEGS):
            continue
        if other.last_time < st.first_time or other.first_time > st.last_time:
            continue
        if c.dst_known and other.destination == st.destination:
            return True
        if c.src_known and other.source == st.source:
            return True
    return False


def _ids(candidates: Iterable[_Candidate]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(c.call.call_id for c in candidates))


def _join(st: StreamStats, owners: list[Call], rule: str, candidates: tuple[str, ...]) -> None:
    _assign(st, owners[0].call_id, rule, candidates if len(candidates) > 1 else ())
    for call in owners:
        call.streams.append(st)


def _assign(st: StreamStats, call_id: str | None, rule: str | None,
            candidates: tuple[str, ...]) -> None:  # fmt: skip
    st.call_id = call_id
    st.join_rule = rule
    st.candidate_calls = candidates


__all__ = [
    "AMBIGUOUS",
    "ANSWER_SKEW",
    "BOTH_ENDS",
    "ELIMINATION",
    "END_GRACE",
    "EVIDENCE",
    "LEGS",
    "LEG_WINDOW",
    "MediaAnnouncement",
    "NEWEST_SDP",
    "ONE_END",
    "REVERSE",
    "announcements",
    "in_force",
    "join_streams",
    "normalise",
]
