"""Who each host is: client, Front End, Edge, AV MCU, peer, from what the decoders learned.

A ladder reads far better with columns named "client 10.0.1.20" and "Edge 198.51.100.10"
than with bare addresses. Nothing in the traffic says a host's role outright, but the
decoders know enough to infer it ([I] in docs/report.md):

- a REGISTER's sender is a **client**, the host it is sent to the **Front End** (the
  registrar, or the Director / Edge access proxy in front of it: the first hop is what the
  capture sees);
- a TURN allocation's server, and its relayed addresses, are the **Edge** (A/V Edge);
- the answer of a conference leg to the AV MCU (``app:conf:audio-video:`` GRUU) comes from the
  **AV MCU**; to the focus, from the **focus** (analysis/calls.py tells the leg);
- in a call, the offerer's media addresses are the **client**'s and the answerer's the
  **peer**'s, unless something above named them; the host the first INVITE is sent to, when
  it is not the answerer, is the **Front End** (the client's SIP server);
- a host that relays SIP between two others (receives a request from one and sends it, or
  answers for it, to another) is a **proxy**; when it is also the registrar it stays Front End.

Roles are per host (IP address), so one column holds a client's signalling and media. When
two rules name a host, the stronger wins (:data:`STRENGTH`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from ..model import Endpoint

if TYPE_CHECKING:
    from ..analysis.calls import Call
    from ..analysis.ice import Allocation
    from ..analysis.sessions import Session

#: Which role wins when two rules name one host (higher wins).
STRENGTH = {
    "Edge": 60,
    "AV MCU": 50,
    "AS MCU": 50,
    "focus": 45,
    "Front End": 40,
    "proxy": 30,
    "client": 20,
    "peer": 10,
}


def host_of(address: object) -> str | None:
    """The host part of an endpoint or an ``ip:port`` string (``[v6]`` kept bracketed)."""
    if address is None:
        return None
    if isinstance(address, Endpoint):
        return f"[{address.ip}]" if ":" in address.ip else address.ip
    text = str(address)
    if text.startswith("["):
        end = text.find("]")
        return text[: end + 1] if end > 0 else text
    host, sep, port = text.rpartition(":")
    return host if sep and port.isdigit() and host else text


class RoleBook:
    """Collects evidence about hosts as sessions, calls and allocations are seen."""

    def __init__(self) -> None:
        self._roles: dict[str, str] = {}
        # host -> hosts it received requests from / sent requests to (proxy detection)
        self._received_from: dict[str, set[str]] = {}
        self._sent_to: dict[str, set[str]] = {}

    def _name(self, host: str | None, role: str) -> None:
        if not host or host == "?":
            return
        current = self._roles.get(host)
        if current is None or STRENGTH[role] > STRENGTH[current]:
            self._roles[host] = role

    def session(self, session: Session) -> None:
        """REGISTER senders and registrars; who sends requests to whom (for proxies)."""
        limit = 64  # a long session says nothing new after its first requests
        for m in session.messages:
            if not m.is_request or getattr(m, "retransmission", False):
                continue
            src, dst = host_of(m.src), host_of(m.dst)
            if m.method == "REGISTER":
                self._name(src, "client")
                self._name(dst, "Front End")
            if src and dst and src != dst and len(self._sent_to) < 100_000:
                self._sent_to.setdefault(src, set()).add(dst)
                self._received_from.setdefault(dst, set()).add(src)
            limit -= 1
            if not limit:
                break

    def allocation(self, a: Allocation) -> None:
        """The TURN server and its relayed addresses are the Edge; its client a client."""
        self._name(host_of(a.server), "Edge")
        for r in a.relayed:
            self._name(host_of(r), "Edge")
        self._name(host_of(a.client), "client")

    def call(self, call: Call) -> None:
        """Offerer's media hosts are the client's, the answerer's the peer's (or the MCU's)."""
        answer_role = "peer"
        if call.conference_role in ("AV MCU", "AS MCU", "focus"):
            answer_role = call.conference_role
        for m in call.media:
            if m.offer_address is not None:
                self._name(host_of(m.offer_address), "client")
            if m.answer_address is not None:
                self._name(host_of(m.answer_address), answer_role)
        first = call.session.first_request
        if first is not None:
            self._name(host_of(first.src), "client")
            # The first hop of the INVITE, when it is not the answerer itself, is the SIP
            # server the client talks to (Front End, or the Director / Edge in front of it).
            answerers = {host_of(m.answer_address) for m in call.media if m.answer_address}
            target = host_of(first.dst)
            if target not in answerers and target != host_of(first.src):
                self._name(target, "Front End")

    def roles(self) -> dict[str, str]:
        """Host -> role, proxies included (a host with no evidence is left out)."""
        out = dict(self._roles)
        for host, senders in self._received_from.items():
            onward = self._sent_to.get(host, set()) - senders
            if senders and onward and host not in out:
                out[host] = "proxy"
        return out


def endpoint_roles(
    sessions: Iterable[Session] = (),
    calls: Iterable[Call] = (),
    allocations: Iterable[Allocation] = (),
) -> dict[str, str]:
    """Host -> role for whole lists (see :class:`RoleBook`)."""
    book = RoleBook()
    for s in sessions:
        book.session(s)
    for a in allocations:
        book.allocation(a)
    for c in calls:
        book.call(c)
    return book.roles()


__all__ = ["STRENGTH", "RoleBook", "endpoint_roles", "host_of"]
