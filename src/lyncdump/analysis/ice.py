"""What STUN/TURN messages add up to: transactions, TURN allocations and ICE sessions.

:class:`IceAnalyzer` is fed every decoded :class:`StunMessage` in capture order (the media
pipeline does it) and keeps three views:

- transactions: request matched to its responses by transaction ID (and the address pair),
  with round-trip time, error code and retransmissions;
- allocations (TURN, RFC 5766 or MS-TURN): client, server, relayed and reflexive addresses,
  lifetime, bandwidth, permissions, channels, Set Active Destination, and the media that went
  through them per peer;
- ICE sessions: connectivity checks grouped by their ufrag pair, each candidate pair with its
  checks and result, and the nominated pair ("direct" or "via Edge").

It also checks FINGERPRINT and MESSAGE-INTEGRITY (keys from ``a=ice-pwd`` / MS-ICE draft-6
candidate passwords found in SDP, or the user's ``--stun-password``).
"""

from __future__ import annotations

import re
from collections import Counter, OrderedDict
from dataclasses import dataclass, field
from typing import Any

from ..fastpath import RELAY_FIELDS, RelayCore, reduce_fields
from ..media import stun as s
from ..model import Endpoint
from ..resultclass import result_dataclass

Addr = tuple[bytes, int]

#: Bound on remembered passwords (a hostile capture could offer millions of SDP bodies).
MAX_PASSWORDS = 256
#: Bound on the transactions kept for matching responses (each holds its request and
#: responses); past it the oldest are forgotten in batches.
MAX_TRANSACTIONS = 200_000
#: Capture seconds a transaction is kept for matching: a STUN client gives up after 39.5 s
#: (RFC 8489 6.2.1: Rc = 7, RTO = 500 ms), so later answers are not to this request.
TRANSACTION_LIFETIME = 120.0
#: Requests between two looks for transactions past their lifetime.
_PRUNE_EVERY = 1024


def _ep(addr: Addr | None) -> Endpoint | None:
    return Endpoint.from_raw(*addr) if addr is not None else None


@dataclass(slots=True)
class StunTransaction:
    """A request and what answered it."""

    request: s.StunMessage | None
    responses: list[s.StunMessage] = field(default_factory=list)
    retransmissions: int = 0

    @property
    def rtt(self) -> float | None:
        """Seconds from the first request to the first response."""
        if self.request is None or not self.responses:
            return None
        if self.request.time is None or self.responses[0].time is None:
            return None
        return self.responses[0].time - self.request.time

    @property
    def error(self) -> tuple[int, str] | None:
        for r in self.responses:
            err = r.error()
            if err is not None:
                return err
        return None

    @property
    def outcome(self) -> str:
        if not self.responses:
            return "no response"
        last = self.responses[-1]
        if last.cls == 2:
            return "success"
        err = last.error()
        return f"error {err[0]} {err[1]}".rstrip() if err else "error"


@result_dataclass(
    {
        "packets_to_peer": "int",
        "bytes_to_peer": "int",
        "packets_from_peer": "int",
        "bytes_from_peer": "int",
        "kinds": "dict[str, int]",
    }
)
class PeerTraffic(RelayCore):
    """Media relayed between an allocation and one peer.

    The four counts live in :class:`~lyncdump.fastpath.RelayCore`, which the compiled fast
    path updates too for relayed RTP; ``kinds`` counts what was relayed by RFC 7983 class.
    """

    __slots__ = ("_kinds",)

    def __init__(self) -> None:
        self.packets_to_peer = 0
        self.bytes_to_peer = 0
        self.packets_from_peer = 0
        self.bytes_from_peer = 0
        self._fast_rtp = 0  # RTP packets the fast path counted
        self._kinds: Counter[str] = Counter()

    @property
    def kinds(self) -> dict[str, int]:
        """Packets by kind ("rtp", "rtcp", "stun", ...), both paths included, sorted by kind.

        A plain dict, not the Counter kept inside: ``dataclasses.asdict`` rebuilds a Counter
        from its (kind, count) pairs and so would count the pairs."""
        kinds = Counter(self._kinds)
        if self._fast_rtp:
            kinds["rtp"] += self._fast_rtp
        return dict(sorted(kinds.items()))

    def __reduce__(self) -> tuple[Any, ...]:
        return reduce_fields(self, RELAY_FIELDS + ("_kinds",))

    def _values(self) -> tuple[int, int, int, int, dict[str, int]]:
        return (
            self.packets_to_peer,
            self.bytes_to_peer,
            self.packets_from_peer,
            self.bytes_from_peer,
            self.kinds,
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, PeerTraffic):
            return NotImplemented
        return self._values() == other._values()

    __hash__ = None  # type: ignore[assignment]  # mutable, compared by value

    def __repr__(self) -> str:
        return (
            f"PeerTraffic(packets_to_peer={self.packets_to_peer}, "
            f"bytes_to_peer={self.bytes_to_peer}, packets_from_peer={self.packets_from_peer}, "
            f"bytes_from_peer={self.bytes_from_peer}, kinds={dict(self.kinds)})"
        )


@dataclass(slots=True)
class Allocation:
    """One TURN allocation as the client asked for it and the server granted it."""

    id: int
    client: Endpoint
    server: Endpoint
    transport: str
    flavor: str
    start: float | None = None
    end: float | None = None
    first_frame: int | None = None
    state: str = "requested"  # requested | challenged | allocated | failed | released
    relayed: list[Endpoint] = field(default_factory=list)
    relayed_raw: Addr | None = field(default=None, repr=False)
    mapped: Endpoint | None = None
    lifetime: int | None = None
    bandwidth: int | None = None
    ms_version: int | None = None
    realm: str | None = None
    alternate_server: Endpoint | None = None
    session_id: str | None = None
    errors: list[tuple[int, str]] = field(default_factory=list)
    permissions: list[Endpoint] = field(default_factory=list)
    channels: dict[int, Endpoint] = field(default_factory=dict)
    active_destination: Endpoint | None = None
    active_destination_raw: Addr | None = field(default=None, repr=False)
    channel_peers: dict[int, Addr] = field(default_factory=dict, repr=False)
    requests: int = 0
    refreshes: int = 0
    #: Relayed traffic per peer, keyed by the peer's ``ip:port`` text (as JSON shows it):
    #: text keys keep ``dataclasses.asdict`` working, which cannot key a dict by a dict.
    peers: dict[str, PeerTraffic] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The ``turn_allocation`` record of docs/json.md."""
        from ..render.stun_json import allocation_to_dict

        return allocation_to_dict(self)


@dataclass(slots=True)
class CandidatePair:
    """Checks from ``local`` to ``remote`` (as the checking agent sees them)."""

    local: Endpoint
    remote: Endpoint
    transport: str
    via_turn: bool = False
    checks: int = 0
    succeeded: int = 0
    failed: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)
    rtt: float | None = None
    use_candidate: bool = False
    nominated: bool = False
    role: str | None = None  # controlling | controlled
    first_frame: int | None = None
    #: Capture time of the first check, when the pair was first seen in a request (what a
    #: call's ladder dates the pair by; None when its first message was an answer).
    first_time: float | None = None
    local_type: str = "host"
    remote_type: str = "host"

    @property
    def state(self) -> str:
        if self.succeeded:
            return "succeeded"
        if self.failed:
            return "failed"
        return "no response"

    def to_dict(self) -> dict[str, Any]:
        """A pair object of an ``ice_session`` record (docs/json.md)."""
        from ..render.stun_json import pair_to_dict

        return pair_to_dict(self)


@dataclass(slots=True)
class IceSession:
    """Connectivity checks between two agents (one ufrag pair)."""

    id: int
    ufrags: tuple[str, ...]
    start: float | None = None
    end: float | None = None
    pairs: list[CandidatePair] = field(default_factory=list)
    implementation_version: int | None = None

    @property
    def nominated(self) -> CandidatePair | None:
        for p in self.pairs:
            if p.nominated:
                return p
        return None

    @property
    def path(self) -> str | None:
        """``direct`` or ``via Edge`` for the nominated pair (None when none is nominated)."""
        p = self.nominated
        if p is None:
            return None
        relayed = p.via_turn or p.local_type == "relay" or p.remote_type == "relay"
        return "via Edge" if relayed else "direct"

    def to_dict(self) -> dict[str, Any]:
        """The ``ice_session`` record of docs/json.md."""
        from ..render.stun_json import ice_session_to_dict

        return ice_session_to_dict(self)


_ICE_PWD = re.compile(rb"^a=ice-pwd:(\S+)", re.MULTILINE)
_ICE_UFRAG = re.compile(rb"^a=ice-ufrag:(\S+)", re.MULTILINE)
_CANDIDATE = re.compile(rb"^a=(?:x-)?candidate(?:-ipv6)?:([^\r\n]+)", re.MULTILINE)


class IceAnalyzer:
    """Fed STUN messages and relayed payloads in capture order; see the module docstring."""

    def __init__(self, passwords: list[bytes] | None = None) -> None:
        self.passwords: list[bytes] = list(passwords or [])
        self.ufrag_passwords: dict[bytes, bytes] = {}
        self.candidate_types: dict[Addr, str] = {}
        #: Transactions of the last :data:`TRANSACTION_LIFETIME` seconds (at most
        #: :data:`MAX_TRANSACTIONS`), oldest first, for matching; ``transaction_count``
        #: counts every one (answers with no request seen included).
        self.transactions: OrderedDict[tuple[bytes, Addr, Addr], StunTransaction] = OrderedDict()
        self.transaction_count = 0
        self._until_prune = _PRUNE_EVERY
        #: By transaction field only: a response may come from another address than the
        #: request went to (Teams' Edge answers from a sibling address).
        self._by_tid: dict[bytes, StunTransaction] = {}
        self._allocations: dict[tuple[Addr, Addr, str], Allocation] = {}
        self._by_relayed: dict[Addr, Allocation] = {}
        self._by_session: dict[bytes, Allocation] = {}
        self._sessions: dict[object, IceSession] = {}
        self._pairs: dict[tuple[object, Addr, Addr], CandidatePair] = {}
        self.relayed_addresses: set[Addr] = set()
        self.reflexive_addresses: set[Addr] = set()
        self.requests = 0
        self.responses = 0
        self.retransmissions = 0

    # -- credentials -----------------------------------------------------------------------
    def add_password(self, password: bytes) -> None:
        if password and password not in self.passwords and len(self.passwords) < MAX_PASSWORDS:
            self.passwords.append(password)

    def learn_sdp(self, body: bytes) -> None:
        """ICE credentials and candidate types from an SDP body (both ICE versions)."""
        if b"a=" not in body:
            return
        ufrags = _ICE_UFRAG.findall(body)
        pwds = _ICE_PWD.findall(body)
        for ufrag, pwd in zip(ufrags, pwds, strict=False):
            self.ufrag_passwords.setdefault(ufrag, pwd)
        for pwd in pwds:
            self.add_password(pwd)
        for line in _CANDIDATE.findall(body):
            parts = line.split()
            if len(parts) >= 8 and parts[6] == b"typ":
                try:
                    addr = _text_addr(parts[4], int(parts[5]))
                except ValueError:
                    continue
                if addr is not None:
                    self.candidate_types.setdefault(addr, parts[7].decode("ascii", "replace"))
            elif len(parts) >= 7:
                # MS-ICE draft 6: username component password transport qvalue ip port.
                self.add_password(parts[2])
                self.ufrag_passwords.setdefault(parts[0], parts[2])

    # -- messages --------------------------------------------------------------------------
    def message(self, msg: s.StunMessage) -> None:
        """One decoded message (src/dst/time/frame set)."""
        msg.fingerprint = s.check_fingerprint(msg)
        cls = msg.cls
        src = msg.src or (b"", 0)
        dst = msg.dst or (b"", 0)
        if cls == 0:
            self.requests += 1
            key = (msg.transaction, src, dst)
            t = self.transactions.get(key)
            if t is None:
                t = StunTransaction(msg)
                self.transaction_count += 1
                self.transactions[key] = t
                self._by_tid[msg.transaction] = t
                self._until_prune -= 1
                if self._until_prune <= 0 or len(self.transactions) > MAX_TRANSACTIONS:
                    self._until_prune = _PRUNE_EVERY
                    self._forget_transactions(msg.time)
            else:
                t.retransmissions += 1
                msg.retransmission = True
                self.retransmissions += 1
        elif cls >= 2:
            self.responses += 1
            t = self.transactions.get((msg.transaction, dst, src))
            if t is None:
                t = self._by_tid.get(msg.transaction)
                if t is not None and t.request is not None and t.request.dst is not None:
                    # Answered from another address: only accepted towards the requester.
                    if t.request.src != dst:
                        t = None
            if t is None:
                t = StunTransaction(None, [msg])
                self.transaction_count += 1
            else:
                if any(r.raw == msg.raw for r in t.responses):
                    msg.retransmission = True
                    self.retransmissions += 1
                t.responses.append(msg)
                if t.request is not None and t.request.time is not None and msg.time is not None:
                    msg.rtt = msg.time - t.request.time
        else:
            t = None
        self._check_integrity(msg, t)
        if msg.retransmission:
            return
        method = msg.method
        if msg.msg_type in s.DATA_INDICATION_TYPES or (method == 6 and msg.flavor == s.MS_TURN):
            self._turn_data_message(msg)
        elif method in (3, 4, 8, 9) or (method == 6 and cls == 1) or (method == 7 and cls == 1):
            self._turn_message(msg, t)
        elif method == 1:
            self._ice_check(msg, t)

    def _forget_transactions(self, now: float | None) -> None:
        """Drop the transactions past their lifetime, and the oldest beyond the bound."""
        table = self.transactions
        by_tid = self._by_tid
        limit = now - TRANSACTION_LIFETIME if now is not None else None
        excess = len(table) - MAX_TRANSACTIONS
        if excess > 0:
            excess += MAX_TRANSACTIONS // 16  # a batch, not one per request
        while table:
            key, t = next(iter(table.items()))
            if excess <= 0:
                first = t.request.time if t.request is not None else None
                if limit is None or first is None or first >= limit:
                    break
            table.popitem(last=False)
            excess -= 1
            if by_tid.get(key[0]) is t:
                del by_tid[key[0]]

    def _check_integrity(self, msg: s.StunMessage, t: StunTransaction | None) -> None:
        request = t.request if t is not None and t.request is not None else msg
        self._check_integrity_of(msg, request)

    def _check_integrity_of(self, msg: s.StunMessage, request: s.StunMessage) -> None:
        if not msg.has(s.A_MESSAGE_INTEGRITY):
            msg.integrity = "absent"
            return
        keys: list[bytes] = []
        pair = ufrag_pair(request.get(s.A_USERNAME))
        if pair is not None:
            pwd = self.ufrag_passwords.get(pair[0])
            if pwd is not None:
                keys.append(pwd)
        keys.extend(k for k in s.integrity_keys(request, self.passwords) if k not in keys)
        msg.integrity = s.check_integrity(msg, keys)

    def recheck_integrity(self, msg: s.StunMessage, request: s.StunMessage | None = None) -> None:
        """Check again once more keys are known (SDP that arrived after the checks);
        ``request``: the request a response answers, when its transaction may be forgotten."""
        if request is None and msg.cls >= 2 and msg.src is not None and msg.dst is not None:
            t = self.transactions.get((msg.transaction, msg.dst, msg.src))
            if t is not None:
                request = t.request
        self._check_integrity_of(msg, request or msg)

    # -- TURN ------------------------------------------------------------------------------
    def _allocation(
        self, msg: s.StunMessage, *, create: bool, t: StunTransaction | None = None
    ) -> Allocation | None:
        if t is not None and t.request is not None and msg.cls >= 2:
            msg = t.request  # the allocation is where the request went
        src = msg.src or (b"", 0)
        dst = msg.dst or (b"", 0)
        client, server = (src, dst) if msg.cls <= 1 else (dst, src)
        key = (client, server, msg.transport)
        alloc = self._allocations.get(key)
        if alloc is None and create:
            alloc = Allocation(
                id=len(self._allocations) + 1,
                client=Endpoint.from_raw(*client),
                server=Endpoint.from_raw(*server),
                transport=msg.transport,
                flavor=msg.flavor,
                start=msg.time,
                first_frame=msg.frame,
            )
            self._allocations[key] = alloc
        return alloc

    def _turn_message(self, msg: s.StunMessage, t: StunTransaction | None) -> None:
        if msg.depth:
            return
        method, cls = msg.method, msg.cls
        alloc = self._allocation(msg, create=method == 3 and cls == 0, t=t)
        if alloc is None:
            return
        alloc.end = msg.time
        session = msg.get(s.A_MS_MUX_SESSION)
        if session is not None and alloc.session_id is None:
            alloc.session_id = session.hex()
            self._by_session[session] = alloc
        version = msg.u32(s.A_MS_VERSION)
        if version is not None:
            alloc.ms_version = version
        if cls == 0:
            alloc.requests += 1
            bandwidth = msg.u32(s.A_BANDWIDTH)
            if bandwidth is not None and msg.flavor == s.MS_TURN:
                alloc.bandwidth = bandwidth
            if method == 3 and alloc.state == "allocated":
                alloc.refreshes += 1
            if method in (3, 4) and msg.u32(s.A_LIFETIME) == 0 and alloc.state == "allocated":
                alloc.state = "released"
            if method in (8, 9):
                peer = msg.peer_address()
                if peer is not None:
                    ep = Endpoint.from_raw(*peer)
                    if ep not in alloc.permissions:
                        alloc.permissions.append(ep)
                    if method == 9:
                        channel = msg.get(s.A_CHANNEL_NUMBER)
                        if channel is not None and len(channel) >= 2:
                            number = (channel[0] << 8) | channel[1]
                            alloc.channels[number] = ep
                            alloc.channel_peers[number] = peer
            return
        if cls == 3:
            err = msg.error()
            if err is not None:
                alloc.errors.append(err)
                if method == 3:
                    alloc.state = "challenged" if err[0] in (401, 438) else "failed"
            if msg.flavor == s.MS_TURN:
                realm = msg.get(s.A_MS_REALM)
            else:
                realm = msg.get(0x0014)
            if realm is not None:
                alloc.realm = realm.decode("utf-8", "replace").strip('"')
            alt = msg.address(0x000E) or msg.address(0x8023)
            if alt is not None:
                alloc.alternate_server = Endpoint.from_raw(*alt)
            mapped = msg.address(s.A_MS_XOR_MAPPED) or msg.address(s.A_XOR_MAPPED)
            if mapped is not None:
                alloc.mapped = Endpoint.from_raw(*mapped)
            return
        if cls == 2 and method == 3:
            if alloc.state != "released":
                alloc.state = "allocated"
            lifetime = msg.u32(s.A_LIFETIME)
            if lifetime is not None:
                alloc.lifetime = lifetime
                if lifetime == 0:
                    alloc.state = "released"
            bandwidth = msg.u32(s.A_BANDWIDTH)
            if bandwidth is not None:
                alloc.bandwidth = bandwidth
            relayed = [msg.address(s.A_RELAYED)]
            if msg.flavor == s.MS_TURN:
                relayed = [msg.address(s.A_MAPPED), msg.address(s.A_MS_ALT_MAPPED)]
            for addr in relayed:
                if addr is None:
                    continue
                ep = Endpoint.from_raw(*addr)
                if ep not in alloc.relayed:
                    alloc.relayed.append(ep)
                if alloc.relayed_raw is None:
                    alloc.relayed_raw = addr
                self._by_relayed[addr] = alloc
                self.relayed_addresses.add(addr)
            mapped = msg.address(s.A_MS_XOR_MAPPED) or msg.address(s.A_XOR_MAPPED)
            if mapped is not None:
                alloc.mapped = Endpoint.from_raw(*mapped)
                self.reflexive_addresses.add(mapped)
        elif cls == 2 and method == 6 and msg.flavor == s.MS_TURN:
            pass

    def _turn_data_message(self, msg: s.StunMessage) -> None:
        """Send request / Set Active Destination (MS-TURN) and Data indications: bookkeeping
        of peers (the DATA itself is relayed through :meth:`relayed`)."""
        if msg.depth:
            return
        alloc = self._allocation(msg, create=False)
        if alloc is None:
            return
        alloc.end = msg.time
        if msg.msg_type == 0x0006:
            dest = msg.address(s.A_DESTINATION)
            if dest is not None:
                alloc.active_destination = Endpoint.from_raw(*dest)
                alloc.active_destination_raw = dest

    def allocation_for(self, client: Addr, server: Addr, transport: str) -> Allocation | None:
        return self._allocations.get((client, server, transport))

    def allocation_for_session(self, session: bytes) -> Allocation | None:
        """The allocation an MS-TURN multiplexed session ID (MS-MULTIPLEXED-TURN-SESSION-ID,
        repeated in 0xFF10 frames) belongs to, or None."""
        return self._by_session.get(session)

    def relayed_address(self, client: Addr, server: Addr, transport: str) -> Addr | None:
        """The allocation's relayed address, for re-injecting relayed data as its own flow."""
        alloc = self._allocations.get((client, server, transport))
        if alloc is None or not alloc.relayed:
            return None
        return alloc.relayed_raw

    def channel_peer(self, client: Addr, server: Addr, transport: str, channel: int) -> Addr | None:
        """The peer a channel is bound to on an allocation (raw address), or None."""
        alloc = self._allocations.get((client, server, transport))
        if alloc is None:
            return None
        return alloc.channel_peers.get(channel)

    def relayed(
        self,
        client: Addr,
        server: Addr,
        transport: str,
        peer: Addr,
        to_peer: bool,
        size: int,
        kind: str,
    ) -> PeerTraffic | None:
        """Count one relayed packet between an allocation and a peer; the counts it went to."""
        alloc = self._allocations.get((client, server, transport))
        if alloc is None:
            return None
        ep = s.format_address(peer)
        traffic = alloc.peers.get(ep)
        if traffic is None:
            if len(alloc.peers) >= 1024:
                return None
            traffic = alloc.peers[ep] = PeerTraffic()
        if to_peer:
            traffic.packets_to_peer += 1
            traffic.bytes_to_peer += size
        else:
            traffic.packets_from_peer += 1
            traffic.bytes_from_peer += size
        traffic._kinds[kind] += 1
        return traffic

    # -- ICE -------------------------------------------------------------------------------
    def _ice_check(self, msg: s.StunMessage, t: StunTransaction | None) -> None:
        cls = msg.cls
        if cls == 0:
            username = msg.get(s.A_USERNAME)
            is_ice = username is not None or msg.has(s.A_PRIORITY) or msg.has(s.A_ICE_CONTROLLING)
            if not is_ice or msg.src is None or msg.dst is None:
                return
            session = self._session_for(msg, username)
            pair = self._pair(session, msg, msg.src, msg.dst)
            pair.checks += 1
            if msg.has(s.A_USE_CANDIDATE):
                pair.use_candidate = True
            if msg.has(s.A_ICE_CONTROLLING):
                pair.role = "controlling"
            elif msg.has(s.A_ICE_CONTROLLED):
                pair.role = "controlled"
            version = msg.u32(0x8070)
            if version is not None:
                session.implementation_version = version
            session.end = msg.time
            return
        if cls < 2 or t is None or t.request is None:
            return
        request = t.request
        if request.src is None or request.dst is None:
            return
        key = self._session_key(request, request.get(s.A_USERNAME))
        found = self._sessions.get(key)
        checked = self._pairs.get((key, request.src, request.dst))
        if found is None or checked is None:
            return
        found.end = msg.time
        pair = checked
        if cls == 2:
            pair.succeeded += 1
            if pair.rtt is None:
                pair.rtt = t.rtt
            if request.has(s.A_USE_CANDIDATE):
                pair.nominated = True
            mapped = msg.address(s.A_XOR_MAPPED) or msg.address(s.A_MS_XOR_MAPPED)
            if mapped is not None and mapped != request.src:
                self.reflexive_addresses.add(mapped)
        else:
            pair.failed += 1
            err = msg.error()
            if err is not None:
                pair.errors.append(err)

    def _session_key(self, msg: s.StunMessage, username: bytes | None) -> object:
        """One key per ufrag pair, whichever side checks (``a:b`` and ``b:a`` are one session)."""
        if username is not None and s.is_draft6_username(username) and msg.src and msg.dst:
            # MS-ICE draft 6 names candidates, not agents: one session per pair of hosts.
            return ("hosts", frozenset((msg.src[0], msg.dst[0])))
        pair = ufrag_pair(username)
        if pair is not None:
            return ("ufrag", frozenset(pair))
        return ("addr", frozenset((msg.src, msg.dst)))

    def _session_for(self, msg: s.StunMessage, username: bytes | None) -> IceSession:
        key = self._session_key(msg, username)
        session = self._sessions.get(key)
        if session is None:
            pair = ufrag_pair(username) if key[0] == "ufrag" else None  # type: ignore[index]
            if pair is not None:
                # USERNAME is "remote:local" as the checking agent writes it: local first here.
                ufrags = tuple(x.decode("utf-8", "replace") for x in (pair[1], pair[0]))
            else:
                ufrags = ()
            session = IceSession(len(self._sessions) + 1, ufrags, start=msg.time)
            self._sessions[key] = session
        return session

    def _pair(self, session: IceSession, msg: s.StunMessage, src: Addr, dst: Addr) -> CandidatePair:
        key = self._session_key(msg, msg.get(s.A_USERNAME))
        pair = self._pairs.get((key, src, dst))
        if pair is None:
            pair = CandidatePair(
                Endpoint.from_raw(*src),
                Endpoint.from_raw(*dst),
                msg.transport,
                via_turn=msg.depth > 0,
                first_frame=msg.frame,
                first_time=msg.time if msg.cls == 0 else None,
            )
            self._pairs[(key, src, dst)] = pair
            session.pairs.append(pair)
        return pair

    # -- results ---------------------------------------------------------------------------
    def allocations(self) -> list[Allocation]:
        return list(self._allocations.values())

    def sessions(self) -> list[IceSession]:
        """ICE sessions with candidate types filled in from what TURN and SDP revealed."""
        relayed = {Endpoint.from_raw(*a) for a in self.relayed_addresses}
        reflexive = {Endpoint.from_raw(*a) for a in self.reflexive_addresses}
        typed = {Endpoint.from_raw(*a): t for a, t in self.candidate_types.items()}
        for session in self._sessions.values():
            for p in session.pairs:
                p.local_type = _candidate_type(p.local, relayed, reflexive, typed, False)
                p.remote_type = _candidate_type(p.remote, relayed, reflexive, typed, False)
        return list(self._sessions.values())

    def nominated_addresses(self) -> list[tuple[Addr, Addr]]:
        """(local, remote) raw addresses of every nominated pair."""
        out = []
        for (_key, src, dst), pair in self._pairs.items():
            if pair.nominated:
                out.append((src, dst))
        return out


def ufrag_pair(username: bytes | None) -> tuple[bytes, bytes] | None:
    """The two ufrags of an ICE check's USERNAME (``RFRAG:LFRAG``), or None.

    MS-ICE2 agents (Lync, libnice's OC2007R2 mode) count the attribute's padding in its length,
    so the value may end in NUL bytes: they are not part of the ufrag, or the two directions
    of one ICE session would look like two sessions.
    """
    if username is None:
        return None
    a, sep, b = username.rstrip(b"\x00 ").partition(b":")
    a, b = a.strip(b"\x00 "), b.strip(b"\x00 ")
    if not sep or not a or not b:
        return None
    return a, b


def _candidate_type(
    ep: Endpoint,
    relayed: set[Endpoint],
    reflexive: set[Endpoint],
    typed: dict[Endpoint, str],
    via_turn: bool,
) -> str:
    if ep in typed:
        return typed[ep]
    if via_turn or ep in relayed:
        return "relay"
    if ep in reflexive:
        return "srflx"
    return "host"


def _text_addr(ip: bytes, port: int) -> Addr | None:
    import ipaddress

    try:
        return ipaddress.ip_address(ip.decode("ascii")).packed, port
    except (ValueError, UnicodeDecodeError):
        return None


__all__ = [
    "Allocation",
    "CandidatePair",
    "IceAnalyzer",
    "IceSession",
    "PeerTraffic",
    "StunTransaction",
    "ufrag_pair",
]
