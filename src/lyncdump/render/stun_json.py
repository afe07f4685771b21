"""NDJSON records for STUN/TURN/ICE (contract: docs/json.md, records ``stun``,
``turn_allocation`` and ``ice_session``), and the STUN counts of the ``capture`` record."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ..analysis.ice import Allocation, CandidatePair, IceSession
from ..media import stun as s
from ..media.demux import classify

SCHEMA_VERSION = 1


def _addr(a: tuple[bytes, int] | None) -> str | None:
    return s.format_address(a) if a is not None else None


def attribute_to_dict(msg: s.StunMessage, attr: s.StunAttribute) -> dict[str, Any]:
    """``type`` (hex), ``name``, ``length``, then the attribute's own named fields."""
    out: dict[str, Any] = {
        "type": f"0x{attr.type:04x}",
        "name": msg.attribute_name(attr.type),
        "length": len(attr.value),
    }
    fields = s.attribute_fields(msg, attr)
    out.update(fields)
    if "text" in fields and "hex" not in fields:
        out["hex"] = attr.value.hex()  # the raw form beside the text (docs/json.md)
        if attr.type == s.A_USERNAME and ":" in str(fields["text"]):
            out["ufrags"] = str(fields["text"]).split(":", 1)  # ICE: "theirs:ours"
    if attr.type == s.A_DATA and attr.value:
        out["carries"] = classify(attr.value)
    return out


def stun_to_dict(msg: s.StunMessage) -> dict[str, Any]:
    """One STUN/TURN message with every attribute decoded."""
    err = msg.error()
    return {
        "record": "stun",
        "schema": SCHEMA_VERSION,
        "frame": msg.frame,
        "time": msg.time,
        "src": _addr(msg.src),
        "dst": _addr(msg.dst),
        "transport": msg.transport,
        "relayed_depth": msg.depth,
        "flavor": msg.flavor,
        "type": f"0x{msg.msg_type:04x}",
        "name": msg.name,
        "class": ("request", "indication", "success response", "error response")[msg.cls],
        "transaction_id": msg.transaction_id,
        "length": len(msg.raw) - s.HEADER_SIZE,
        "retransmission": msg.retransmission,
        "rtt": round(msg.rtt, 6) if msg.rtt is not None else None,
        "error": {"code": err[0], "reason": err[1]} if err else None,
        "fingerprint": msg.fingerprint,
        "integrity": msg.integrity,
        "attributes": [attribute_to_dict(msg, a) for a in msg.attributes],
    }


def allocation_to_dict(a: Allocation) -> dict[str, Any]:
    return {
        "record": "turn_allocation",
        "schema": SCHEMA_VERSION,
        "id": a.id,
        "client": str(a.client),
        "server": str(a.server),
        "transport": a.transport,
        "flavor": a.flavor,
        "ms_version": a.ms_version,
        "state": a.state,
        "first_frame": a.first_frame,
        "start": a.start,
        "end": a.end,
        "relayed": [str(r) for r in a.relayed],
        "mapped": str(a.mapped) if a.mapped else None,
        "lifetime": a.lifetime,
        "bandwidth_kbps": a.bandwidth,
        "realm": a.realm,
        "alternate_server": str(a.alternate_server) if a.alternate_server else None,
        "multiplexed_session_id": a.session_id,
        "requests": a.requests,
        "refreshes": a.refreshes,
        "errors": [{"code": c, "reason": r} for c, r in a.errors],
        "permissions": [str(p) for p in a.permissions],
        "channels": {f"0x{n:04x}": str(p) for n, p in sorted(a.channels.items())},
        "active_destination": str(a.active_destination) if a.active_destination else None,
        "peers": [
            {
                "peer": str(peer),
                "packets_to_peer": t.packets_to_peer,
                "bytes_to_peer": t.bytes_to_peer,
                "packets_from_peer": t.packets_from_peer,
                "bytes_from_peer": t.bytes_from_peer,
                "kinds": dict(sorted(t.kinds.items())),
            }
            for peer, t in a.peers.items()
        ],
    }


def pair_to_dict(p: CandidatePair) -> dict[str, Any]:
    return {
        "local": str(p.local),
        "remote": str(p.remote),
        "local_type": p.local_type,
        "remote_type": p.remote_type,
        "transport": p.transport,
        "via_turn": p.via_turn,
        "role": p.role,
        "checks": p.checks,
        "succeeded": p.succeeded,
        "failed": p.failed,
        "state": p.state,
        "rtt": round(p.rtt, 6) if p.rtt is not None else None,
        "use_candidate": p.use_candidate,
        "nominated": p.nominated,
        "errors": [{"code": c, "reason": r} for c, r in p.errors],
        "first_frame": p.first_frame,
    }


def ice_session_to_dict(session: IceSession) -> dict[str, Any]:
    nominated = session.nominated
    return {
        "record": "ice_session",
        "schema": SCHEMA_VERSION,
        "id": session.id,
        "ufrags": list(session.ufrags),
        "start": session.start,
        "end": session.end,
        "implementation_version": session.implementation_version,
        "nominated": pair_to_dict(nominated) if nominated is not None else None,
        "path": session.path,
        "pairs": [pair_to_dict(p) for p in session.pairs],
    }


def stun_records(capture: Any) -> list[dict[str, Any]]:
    """Every STUN message, then allocations, then ICE sessions (all before ``capture``)."""
    return list(iter_stun_records(capture))


def iter_stun_records(capture: Any) -> Iterator[dict[str, Any]]:
    """:func:`stun_records` one at a time (a streaming run's messages come from its spool)."""
    for m in capture.stun_messages():
        yield stun_to_dict(m)
    for a in capture.allocations():
        yield allocation_to_dict(a)
    for x in capture.ice_sessions():
        yield ice_session_to_dict(x)


def stun_summary(capture: Any) -> dict[str, Any]:
    """``{"stun": {...}}`` for the ``capture`` record: counts by message name; ``{}`` when the
    capture holds no STUN, so SIP-only records keep their shape."""
    media = getattr(capture, "media", None)
    pipe = getattr(media, "stun_started", None)  # None: no STUN seen, nothing started
    if pipe is None or not (pipe.messages or pipe.counts):
        return {}
    return {
        "stun": {
            "messages": pipe.total,
            "by_name": dict(sorted(pipe.names.items())),  # past the kept bound too
            "channel_data": pipe.counts.get("channel-data", 0),
            "multiplexed_frames": pipe.counts.get("multiplexed", 0),
            "transactions": pipe.analyzer.transaction_count,
            "retransmissions": pipe.analyzer.retransmissions,
            "allocations": len(pipe.analyzer.allocations()),
            "ice_sessions": len(pipe.analyzer.sessions()),
        }
    }
