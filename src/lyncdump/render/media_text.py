"""Text sections for TURN allocations and ICE sessions, and the STUN lines of ``--summary``.

Nothing is printed for a capture without STUN, so SIP-only output is unchanged.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # a capture without STUN prints nothing here, nor loads the ICE analyzer
    from ..analysis.ice import Allocation, IceSession


def _size(n: int) -> str:
    return f"{n} B" if n < 1000 else f"{n / 1000:.1f} kB"


def allocation_lines(a: Allocation) -> Iterator[str]:
    flavor = "MS-TURN" if a.flavor == "ms-turn" else "TURN"
    if a.ms_version is not None:
        flavor += f" v{a.ms_version}"
    head = f"  #{a.id} {a.transport} {a.client} → {a.server}  {flavor}  {a.state}"
    if a.errors:
        code, reason = a.errors[-1]
        head += f" (last error {code} {reason})".rstrip()
    yield head
    facts = []
    if a.relayed:
        facts.append("relayed " + ", ".join(str(r) for r in a.relayed))
    if a.mapped:
        facts.append(f"mapped {a.mapped}")
    if a.lifetime is not None:
        facts.append(f"lifetime {a.lifetime}s")
    if a.bandwidth is not None:
        facts.append(f"bandwidth {a.bandwidth} kbps")
    if a.realm:
        facts.append(f"realm {a.realm}")
    if a.alternate_server:
        facts.append(f"alternate server {a.alternate_server}")
    if a.refreshes:
        facts.append(f"{a.refreshes} refreshes")
    if facts:
        yield "      " + ", ".join(facts)
    if a.permissions:
        yield "      permissions " + ", ".join(str(p) for p in a.permissions)
    if a.channels:
        yield "      channels " + ", ".join(
            f"0x{n:04x} → {p}" for n, p in sorted(a.channels.items())
        )
    if a.active_destination:
        yield f"      active destination {a.active_destination}"
    for peer, t in a.peers.items():
        kinds = ", ".join(f"{k} {v}" for k, v in sorted(t.kinds.items()))
        yield (
            f"      peer {peer}: to peer {t.packets_to_peer} ({_size(t.bytes_to_peer)}), "
            f"from peer {t.packets_from_peer} ({_size(t.bytes_from_peer)})  [{kinds}]"
        )


def ice_lines(x: IceSession) -> Iterator[str]:
    ufrags = " / ".join(x.ufrags) if x.ufrags else "no ufrags (MS-ICE draft 6 or plain STUN)"
    head = f"  #{x.id} {ufrags}"
    if x.implementation_version is not None:
        head += f"  MS-ICE2 implementation version {x.implementation_version}"
    nominated = x.nominated
    if nominated is not None:
        head += (
            f"  nominated {nominated.local} → {nominated.remote} "
            f"({nominated.local_type} → {nominated.remote_type}, {x.path})"
        )
    else:
        head += "  no nominated pair seen"
    yield head
    width = max((len(f"{p.local} → {p.remote}") for p in x.pairs), default=0)
    for p in x.pairs:
        ends = f"{p.local} → {p.remote}".ljust(width)
        line = (
            f"      {ends}  {p.transport} {p.local_type} → {p.remote_type}  "
            f"{p.checks} check{'s' if p.checks != 1 else ''}, {p.state}"
        )
        if p.rtt is not None:
            line += f", rtt {p.rtt * 1000:.1f} ms"
        if p.errors:
            code, reason = p.errors[-1]
            line += f", error {code} {reason}".rstrip()
        if p.nominated:
            line += ", nominated"
        elif p.use_candidate:
            line += ", USE-CANDIDATE"
        if p.role:
            line += f" ({p.role})"
        if p.via_turn:
            line += " via TURN"
        yield line


def section_lines(capture: Any) -> Iterator[str]:
    """``TURN allocations`` and ``ICE sessions`` blocks (empty when there are none)."""
    allocations = capture.allocations()
    sessions = capture.ice_sessions()
    if allocations:
        yield f"TURN allocations ({len(allocations)})"
        for a in allocations:
            yield from allocation_lines(a)
        yield ""
    if sessions:
        yield f"ICE sessions ({len(sessions)})"
        for x in sessions:
            yield from ice_lines(x)
        yield ""


def summary_lines(capture: Any) -> Iterator[str]:
    """STUN/TURN counts for ``--summary`` (nothing when the capture has none)."""
    media = getattr(capture, "media", None)
    pipe = getattr(media, "stun_started", None)  # None: no STUN seen, nothing started
    if pipe is None or not pipe.total:
        return
    # Every message seen, kept or not (past the kept bound, or a view that lists none).
    line = f"  STUN/TURN messages {pipe.total}"
    if pipe.relayed:
        line += f" ({pipe.relayed} relayed inside TURN)"
    yield line
    yield "    " + ", ".join(f"{k} {v}" for k, v in sorted(pipe.names.items()))
    extra = []
    if pipe.counts.get("channel-data"):
        extra.append(f"ChannelData {pipe.counts['channel-data']}")
    if pipe.counts.get("multiplexed"):
        extra.append(f"multiplexed TURN frames {pipe.counts['multiplexed']}")
    if pipe.analyzer.retransmissions:
        extra.append(f"retransmissions {pipe.analyzer.retransmissions}")
    if extra:
        yield "    " + ", ".join(extra)
    yield (
        f"  TURN allocations {len(capture.allocations())}, "
        f"ICE sessions {len(capture.ice_sessions())}"
    )
