"""Calls as people and programs read them: a block per call (``--calls``), a short "Calls"
section for the default output, counts for ``--summary``, and ``record: "call"`` JSON objects
(docs/json.md).

The block is in the spirit of Wireshark's VoIP Calls + Flow Sequence, in a terminal: who
called whom and how it ended, the media lines as negotiated, the ICE result and Edge
allocations, what looks wrong (findings, ambiguous streams), then one ladder mixing SIP
messages with media events ("RTP g711A 548 pkts, jitter 2.5 ms"), each stream's quality line
under it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from typing import Any

from ..analysis.call_window import CallTally
from ..analysis.calls import FINDING_KINDS, STATES, Call, Finding
from ..analysis.media_join import BOTH_ENDS
from ..analysis.offer_answer import Exchange, NegotiatedMedia
from ..media.stats import StreamStats
from .json import SCHEMA_VERSION
from .streams import stream_line, stream_to_dict
from .text import format_time, shorten, what


def _codecs(m: NegotiatedMedia) -> str:
    names = m.codecs or m.offered_codecs
    return ", ".join(names[:6]) + (f" (+{len(names) - 6})" if len(names) > 6 else "")


def header(call: Call) -> str:
    """``CALL <call-id>  caller → callee  start  setup 0.120s  talk 2.500s  state (reason)``."""
    kind = "CONFERENCE" if call.kind == "conference" else "CALL"
    parts = [kind, call.call_id, f"{call.caller or '?'} → {call.callee or '?'}"]
    parts.append(format_time(call.start))
    if call.setup_time is not None:
        parts.append(f"setup {call.setup_time:.3f}s")
    if call.duration is not None:
        parts.append(f"talk {call.duration:.3f}s")
    state = call.state + (f" ({call.end_reason})" if call.end_reason else "")
    parts.append(state)
    return "  ".join(shorten(p, 200) for p in parts)


def finding_line(f: Finding) -> str:
    """``! one-way audio: RTP from the caller only (40 packets); nothing from the callee``."""
    return f"! {f.kind}: {f.detail}"


def _stream_ref(st: StreamStats) -> str:
    return f"{st.source} → {st.destination} 0x{st.ssrc:08X}"


def _calls_text(ids: tuple[str, ...]) -> str:
    shown = ", ".join(ids[:4])
    return f"{len(ids)} calls ({shown}{', …' if len(ids) > 4 else ''})"


def _join_note(call: Call, st: StreamStats) -> str:
    """Why this stream is on this call, when it is not the plain both-ends match."""
    others = [c for c in st.candidate_calls if c != call.call_id]
    if st in call.ambiguous:
        return f"ambiguous: matches {_calls_text(st.candidate_calls)} equally"
    if st.join_rule in (None, BOTH_ENDS):
        return ""
    note = st.join_rule
    if st.join_rule == "B2BUA legs":
        return f"{note}: also on {', '.join(others)}"
    if len(others) > 3:
        return f"{note} among {len(st.candidate_calls)} calls"
    if others:
        note += f"; also matched {', '.join(others)}"
    return note


def media_line(m: NegotiatedMedia) -> str:
    """``audio  10.0.0.1:5000 ⇄ 10.0.0.2:6000  PCMU/8000  RTP/SAVP AES_CM_... active``."""
    offer = str(m.offer_address) if m.offer_address is not None else "?"
    answer = str(m.answer_address) if m.answer_address is not None else "-"
    line = f"{m.media}  {offer} ⇄ {answer}  {_codecs(m) or '-'}  {m.proto}"
    extras = [m.state]
    if m.label:
        extras.append(m.label)
    if m.direction != "sendrecv":
        extras.append(m.direction)
    if m.crypto_suite:
        extras.append(f"SRTP {m.crypto_suite}")
    if m.offer_candidates or m.answer_candidates:
        extras.append(f"candidates {m.offer_candidates}/{m.answer_candidates}")
    return line + "  " + ", ".join(extras)


def _exchange_note(e: Exchange, is_offer: bool) -> str:
    if is_offer:
        note = "offer"
        if len(e.offer_parts) > 1:
            versions = "+".join(
                f"ICE v{p.ice_version}" if p.ice_version else "no ICE" for p in e.offer_parts
            )
            note += f" ({len(e.offer_parts)} SDP parts: {versions})"
        if e.kind != "initial":
            note += f", {e.kind}"
        return note
    note = "early answer" if e.early else "answer"
    part = e.chosen_part
    if len(e.offer_parts) > 1 and part is not None:
        which = "ms-proxy-2007fallback part" if part.fallback else f"part {part.index + 1}"
        version = f" (ICE v{part.ice_version})" if part.ice_version else ""
        note += f" chose {which}{version}"
    return note


def summary_lines(call: Call) -> Iterator[str]:
    """Header, media lines and the ICE/Edge result (what the default output shows)."""
    yield header(call)
    if call.conference_role:
        yield f"  conference leg to the {call.conference_role}"
    for m in call.media:
        yield "  " + media_line(m)
    version = f" v{call.ice_version}" if call.ice_version else ""
    for ice in call.ice:
        ufrags = "/".join(ice.ufrags) or "by address"
        pair = ice.nominated
        if pair is None:
            yield f"  ICE{version} {ufrags}: {len(ice.pairs)} pairs checked, none nominated"
            continue
        yield (
            f"  ICE{version} {ufrags}: nominated {pair.local} → {pair.remote} {pair.transport} "
            f"{pair.local_type} → {pair.remote_type} ({ice.path})"
        )
    for a in call.allocations:
        relayed = ", ".join(str(r) for r in a.relayed) or "-"
        line = f"  Edge: {a.transport} {a.client} → {a.server} relayed {relayed}, {a.state}"
        permitted = call.permissions.get(a.id)
        if permitted:
            line += ", permissions for " + ", ".join(str(p) for p in permitted)
        yield line
    for t, side, direction in call.holds:
        rel = t - (call.start or t)
        what = "resumed (sendrecv)" if direction == "sendrecv" else f"on hold ({direction})"
        yield f"  {side} {what} at {rel:+.3f}s"
    if call.streams or call.ambiguous:
        packets = sum(st.packets for st in call.streams)
        line = f"  streams {len(call.streams)}, {packets} RTP packets"
        if call.ambiguous:
            line += f"; {len(call.ambiguous)} ambiguous"
        yield line
    for st in call.ambiguous:
        yield f"  ambiguous: {_stream_ref(st)} matches {_calls_text(st.candidate_calls)}"
    for f in call.findings:
        yield "  " + finding_line(f)


def call_lines(call: Call) -> Iterator[str]:
    """The whole block: summary, then a ladder of SIP messages and media events."""
    yield from summary_lines(call)
    start = call.start or 0.0
    notes: dict[int, str] = {}
    for e in call.exchanges:
        notes[id(e.offer)] = _exchange_note(e, True)
        if e.answer is not None:
            notes[id(e.answer)] = _exchange_note(e, False)
        elif e.rejected is not None:
            pass
    events: list[tuple[float, int, str]] = []
    for m in call.messages:
        if getattr(m, "retransmission", False):
            continue
        rel = (m.time - start) if m.time is not None else 0.0
        line = f"#{m.frame} {rel:+11.6f}  {m.src} → {m.dst}  {what(m)}"
        note = notes.get(id(m))
        if note:
            line += f"  · {note}"
        events.append((m.time or 0.0, m.frame or 0, line))
    for st in [*call.streams, *call.ambiguous]:
        rel = st.first_time - start
        jitter = f", jitter {st.mean_jitter:.1f} ms" if st.has_jitter else ""
        note = _join_note(call, st)
        text = (
            f"#{st.first_frame} {rel:+11.6f}  {st.source} → {st.destination}  RTP "
            f"{st.payload} {st.packets} pkts{jitter}" + (f" ({note})" if note else "")
        )
        events.append((st.first_time, st.first_frame, text))
        events.append((st.first_time, st.first_frame, "    " + stream_line(st)))
    for a in call.allocations:
        if a.start is not None:
            events.append(
                (a.start, a.first_frame or 0,
                 f"#{a.first_frame} {a.start - start:+11.6f}  {a.client} → {a.server}  "
                 f"TURN allocate {a.transport} ({a.flavor}), {a.state}")
            )  # fmt: skip
    for s in call.ice:
        for p in s.pairs:
            frame = p.first_frame or 0
            t = call.check_times.get(frame, s.start if s.start is not None else start)
            events.append(
                (t, frame,
                 f"#{frame} {t - start:+11.6f}  {p.local} → {p.remote}  ICE check "
                 f"{p.transport} {p.local_type} → {p.remote_type}, {p.state}"
                 + (", nominated" if p.nominated else ""))
            )  # fmt: skip
    events.sort(key=lambda e: (e[0], e[1]))
    width = max((len(str(f)) for _t, f, _x in events), default=1)
    for _t, _f, text in events:
        if text.startswith("#"):
            number, _, rest = text.partition(" ")
            text = number.ljust(width + 1) + rest
        yield "  " + text


def section_lines(calls: Iterable[Call], shown: Iterable[Any] | None = None) -> Iterator[str]:
    """The "Calls" section of the default output (nothing when there are no calls); with
    ``shown`` (the sessions the filters let through) only their calls."""
    if shown is not None:
        keep = {id(s) for s in shown}
        calls = [c for c in calls if id(c.session) in keep]
    calls = list(calls)
    if not calls:
        return
    yield f"Calls ({len(calls)})"
    for call in calls:
        for line in summary_lines(call):
            yield "  " + line
    yield ""


def _tally(calls: Iterable[Call] | CallTally) -> CallTally:
    return calls if isinstance(calls, CallTally) else CallTally.of(calls)


def summary_count_lines(
    calls: Iterable[Call] | CallTally, streams: Iterable[StreamStats] = ()
) -> Iterator[str]:
    """``--summary``: calls by state, findings by kind, how streams were joined."""
    tally = _tally(calls)
    if not tally.total:
        return
    states = tally.states
    order = {s: i for i, s in enumerate(STATES)}
    by_state = ", ".join(
        f"{k} {v}" for k, v in sorted(states.items(), key=lambda kv: order.get(kv[0], 99))
    )
    yield f"  calls {tally.total} ({by_state})"
    kinds = tally.findings
    if kinds:
        yield "    findings: " + ", ".join(f"{k} {kinds[k]}" for k in FINDING_KINDS if kinds[k])
    streams = list(streams)
    if streams:
        rules = Counter(st.join_rule or "no call" for st in streams)
        yield "    streams by join: " + ", ".join(f"{k} {v}" for k, v in sorted(rules.items()))


def calls_summary(
    calls: Iterable[Call] | CallTally, streams: Iterable[StreamStats] = ()
) -> dict[str, Any]:
    """The ``calls`` object of the ``capture`` record (only when the capture has calls)."""
    tally = _tally(calls)
    if not tally.total:
        return {}
    streams = list(streams)
    return {
        "calls": {
            "total": tally.total,
            "states": dict(sorted(tally.states.items())),
            "findings": dict(sorted(tally.findings.items())),
            "streams_by_join": dict(
                sorted(Counter(st.join_rule or "no call" for st in streams).items())
            ),
        }
    }


def call_records(calls: Iterable[Call], shown: Iterable[Any]) -> list[dict[str, Any]]:
    """``record: "call"`` objects for the calls of the sessions shown."""
    keep = {id(s) for s in shown}
    return [call_to_dict(c) for c in calls if id(c.session) in keep]


def _media_dict(m: NegotiatedMedia) -> dict[str, Any]:
    return {
        "index": m.index,
        "media": m.media,
        "proto": m.proto,
        "state": m.state,
        "offer_address": str(m.offer_address) if m.offer_address else None,
        "answer_address": str(m.answer_address) if m.answer_address else None,
        "codecs": m.codecs,
        "offered_codecs": m.offered_codecs,
        "label": m.label,
        "direction": m.direction,
        "crypto_suite": m.crypto_suite,
        "offer_ufrag": m.offer_ufrag,
        "answer_ufrag": m.answer_ufrag,
        "offer_candidates": m.offer_candidates,
        "answer_candidates": m.answer_candidates,
    }


def _exchange_dict(e: Exchange) -> dict[str, Any]:
    part = e.chosen_part
    return {
        "kind": e.kind,
        "state": e.state,
        "offer_frame": e.offer.frame,
        "answer_frame": e.answer.frame if e.answer is not None else None,
        "early": e.early,
        "rejected": e.rejected,
        "offer_parts": [
            {"ice_version": p.ice_version, "fallback": p.fallback} for p in e.offer_parts
        ],
        "chosen_part": part.index if part is not None else None,
        "media": [_media_dict(m) for m in e.media],
    }


def _finding_dict(f: Finding) -> dict[str, Any]:
    st = f.stream
    return {
        "kind": f.kind,
        "detail": f.detail,
        "stream": (
            {"src": str(st.source), "dst": str(st.destination), "ssrc": st.ssrc}
            if st is not None
            else None
        ),
    }


def call_to_dict(call: Call) -> dict[str, Any]:
    """A call as JSON (``record: "call"``)."""
    pair = call.nominated
    return {
        "record": "call",
        "schema": SCHEMA_VERSION,
        "call_id": call.call_id,
        "kind": call.kind,
        "conference_role": call.conference_role,
        "caller": call.caller,
        "callee": call.callee,
        "start": call.start,
        "answer_time": call.answer_time,
        "end": call.end,
        "duration": round(call.duration, 6) if call.duration is not None else None,
        "setup_time": round(call.setup_time, 6) if call.setup_time is not None else None,
        "state": call.state,
        "end_reason": call.end_reason,
        "final_status": call.final_status,
        "invite_retransmissions": call.invite_retransmissions,
        "bye_retransmissions": call.bye_retransmissions,
        "holds": [{"time": t, "side": side, "direction": d} for t, side, d in call.holds],
        "modalities": call.modalities,
        "ice_version": call.ice_version,
        "media": [_media_dict(m) for m in call.media],
        "exchanges": [_exchange_dict(e) for e in call.exchanges],
        "nominated_pair": (
            {
                "local": str(pair.local),
                "remote": str(pair.remote),
                "transport": pair.transport,
                "local_type": pair.local_type,
                "remote_type": pair.remote_type,
                "path": call.path,
            }
            if pair is not None
            else None
        ),
        "allocations": [
            {
                "id": a.id,
                "transport": a.transport,
                "client": str(a.client),
                "server": str(a.server),
                "relayed": [str(r) for r in a.relayed],
                "state": a.state,
                "permissions": [str(p) for p in a.permissions],
                "call_permissions": [str(p) for p in call.permissions.get(a.id, [])],
            }
            for a in call.allocations
        ],
        "streams": [stream_to_dict(st) for st in call.streams],
        "ambiguous_streams": [
            {
                "src": str(st.source),
                "dst": str(st.destination),
                "ssrc": st.ssrc,
                "candidate_calls": list(st.candidate_calls),
            }
            for st in call.ambiguous
        ],  # fmt: skip
        "findings": [_finding_dict(f) for f in call.findings],
    }


__all__ = [
    "call_lines",
    "call_records",
    "call_to_dict",
    "calls_summary",
    "finding_line",
    "header",
    "section_lines",
    "summary_count_lines",
    "summary_lines",
]
