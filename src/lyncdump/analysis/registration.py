"""Sign-in analysis: what happened in each REGISTER session, in an expert's words.

From a registration :class:`~lyncdump.analysis.sessions.Session` (and the other sessions, for
the provisioning and roaming subscriptions that follow a sign-in) :func:`analyze_registration`
finds the schemes the server offered and the one the client chose, each REGISTER round trip,
remote vs internal (``ms-user-logon-data: RemoteUser``), the endpoint identity (epid,
``+sip.instance``, GRUU, checked against each other), expiry, and the cause of a failure.

:func:`verify_signatures` is the optional step that needs the user's password: it rebuilds
each NTLM security association from CHALLENGE + AUTHENTICATE and marks every message as
validly signed or not. Results are kept on the messages (``auth_check``) for the renderers.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from ..errors import MalformedError
from ..recent import RecentKeys, drop_oldest, text_key
from ..sip.auth import AuthParams, auth_headers, decode_token, signature_buffer
from ..sip.message import SipMessage
from ..sip.ms import diagnostics_of, epid_to_instance, instance_from_gruu_opaque
from .sessions import Session

# The token types load with the first token decoded (sip/auth.py decode_token imports their
# parsers then): a capture without NTLM or Kerberos never loads them.
if TYPE_CHECKING:
    from ..sip.ntlm import NtlmChallenge, NtlmContext

__all__ = [
    "AuthCheck",
    "FollowUps",
    "Registration",
    "RoundTrip",
    "SignatureVerifier",
    "analyze_registration",
    "auth_check",
    "decoded_tokens",
    "registrations",
    "verify_signatures",
]

_FOLLOW_EVENTS = (
    "vnd-microsoft-provisioning-v2",
    "vnd-microsoft-provisioning",
    "vnd-microsoft-roaming-self",
    "vnd-microsoft-roaming-contacts",
    "vnd-microsoft-roaming-acl",
    "presence.wpending",
    "registration-notify",
)


def decoded_tokens(m: SipMessage) -> list[tuple[AuthParams, object | None, str | None]]:
    """(header, decoded gssapi-data or None, problem or None) for every auth header; cached."""
    cache = m._cache
    found = cache.get("ms.tokens")
    if found is None:
        result: list[tuple[AuthParams, object | None, str | None]] = []
        for auth in auth_headers(m):
            try:
                token = decode_token(auth)
                problem = None
            except MalformedError as exc:
                token, problem = None, exc.reason
            result.append((auth, token, problem))
        cache["ms.tokens"] = found = result
    return found  # type: ignore[return-value]


@dataclass(slots=True)
class AuthCheck:
    """What checking a message with the password found (set by :func:`verify_signatures`)."""

    proof: bool | None = None  # NTLMv2 proof in an AUTHENTICATE: password right?
    signature: bool | None = None  # response / rspauth
    note: str = ""


def auth_check(m: SipMessage) -> AuthCheck | None:
    value = m._cache.get("ms.check")
    return value if isinstance(value, AuthCheck) else None


class SignatureVerifier:
    """Checks NTLMv2 proofs and NTLM signatures message by message, in capture order.

    The security association a REGISTER exchange sets up signs later messages of any session,
    so the state (challenges, contexts) spans the whole capture. The password is used only
    here and never stored outside the NTLM contexts derived from it.
    """

    __slots__ = ("_password", "_challenges", "_contexts", "_latest", "checked")

    def __init__(self, password: str) -> None:
        self._password = password
        self._challenges: dict[tuple[str, str, str, str], tuple[NtlmChallenge, int | None]] = {}
        self._contexts: dict[tuple[str, str, str, str], tuple[NtlmContext, int | None]] = {}
        self._latest: dict[tuple[str, str, str], tuple[NtlmContext, int | None]] = {}
        #: Messages that got a verdict so far.
        self.checked = 0

    def check(self, m: SipMessage) -> None:
        """Verify one message's proofs and signatures (its verdict goes to ``ms.check``)."""
        from ..sip.ntlm import NtlmAuthenticate, NtlmChallenge, NtlmContext

        check: AuthCheck | None = None
        for auth, token, _problem in decoded_tokens(m):
            if auth.scheme.lower() != "ntlm":
                continue
            key = auth.sa_key
            if isinstance(token, NtlmChallenge):
                self._challenges[key] = (token, auth.version)
            elif isinstance(token, NtlmAuthenticate):
                found = self._challenges.get(key)
                check = check or AuthCheck()
                if found is None:
                    check.note = "no CHALLENGE seen for this AUTHENTICATE"
                    continue
                ctx = NtlmContext.from_exchange(found[0], token, self._password)
                check.proof = ctx.proof_valid
                check.note = ctx.reason
                version = auth.version or found[1]
                self._contexts[key] = (ctx, version)
                self._latest[key[:3]] = (ctx, version)
            signature = auth.signature
            if signature and auth.kind != "challenge":
                sa = self._contexts.get(key) or self._latest.get(key[:3])
                if sa is None:
                    continue
                ctx, version = sa
                text = signature_buffer(m, auth, version).encode("utf-8")
                verdict = ctx.check(text, signature, from_client=auth.kind == "credentials")
                if verdict is not None:
                    check = check or AuthCheck()
                    check.signature = verdict
        if check is not None:
            m._cache["ms.check"] = check
            self.checked += 1


def verify_signatures(messages: list[SipMessage], password: str) -> int:
    """Check NTLMv2 proofs and NTLM signatures of all messages (capture order); returns how
    many messages got a verdict. The password is used only here and never stored."""
    verifier = SignatureVerifier(password)
    for m in messages:
        verifier.check(m)
    return verifier.checked


@dataclass(slots=True)
class RoundTrip:
    """One REGISTER and its final answer, described."""

    cseq: int
    request_frame: int | None
    sent: str  # "no credentials", "NTLM start", "NTLM AUTHENTICATE CONTOSO\\alice", ...
    status: int | None
    answer: str  # "401 offers NTLM, Kerberos", "401 NTLM CHALLENGE", "200 OK"


@dataclass(slots=True)
class Registration:
    """One sign-in (a REGISTER Call-ID) summarised."""

    call_id: str
    user: str | None
    outcome: str  # registered | unregistered | failed | redirected | no answer | in progress
    schemes_offered: list[str] = field(default_factory=list)
    scheme_chosen: str | None = None
    round_trips: list[RoundTrip] = field(default_factory=list)
    remote: bool | None = None
    epid: str | None = None
    instance: str | None = None
    gruu: str | None = None
    identity_consistent: bool | None = None
    expires: int | None = None
    identity: str | None = None  # DOMAIN\\user from the NTLM AUTHENTICATE
    service: str | None = None  # Kerberos ticket's service principal@realm
    workstation: str | None = None
    server: str | None = None
    user_agent: str | None = None
    failure: str | None = None
    follow_ups: list[str] = field(default_factory=list)
    signatures: str | None = None  # "3 valid", "1 invalid" (with --ntlm-password)

    @property
    def round_trip_count(self) -> int:
        return len(self.round_trips)

    def to_dict(self) -> dict[str, Any]:
        """The ``registration`` object of a session record (docs/json.md)."""
        from ..render.msview import registration_to_dict

        return registration_to_dict(self)


def _schemes(m: SipMessage) -> list[str]:
    out: list[str] = []
    for auth in auth_headers(m):
        if auth.kind == "challenge" and auth.scheme and auth.scheme not in out:
            out.append(auth.scheme)
    return out


def _describe_sent(m: SipMessage) -> tuple[str, str | None, object | None]:
    """(words, scheme, decoded token) for what a REGISTER carried."""
    for auth, token, problem in decoded_tokens(m):
        if auth.kind != "credentials":
            continue
        scheme = auth.scheme
        if token is not None:
            from ..sip.kerberos import GssToken
            from ..sip.ntlm import NtlmAuthenticate

            if isinstance(token, NtlmAuthenticate):
                return f"{scheme} AUTHENTICATE {token.identity}", scheme, token
            if isinstance(token, GssToken):
                what = f"{scheme} {token.message}"
                if token.service:
                    what += f" for {token.service}"
                return what, scheme, token
            return f"{scheme} handshake", scheme, token
        if problem:
            return f"{scheme} (unreadable token)", scheme, None
        if auth.gssapi_data is not None:
            return f"{scheme} start", scheme, None
        if auth.signature:
            return f"{scheme} signed", scheme, None
        return scheme, scheme, None
    return "no credentials", None, None


def _describe_answer(r: SipMessage) -> str:
    status = f"{r.status} {r.reason}".strip()
    if r.status in (401, 407):
        for auth, token, _problem in decoded_tokens(r):
            if token is None:
                continue
            from ..sip.ntlm import NtlmChallenge

            if isinstance(token, NtlmChallenge):
                return f"{r.status} NTLM CHALLENGE"
            if auth.kind == "challenge":
                return f"{r.status} {auth.scheme} handshake"
        schemes = _schemes(r)
        if schemes:
            return f"{r.status} offers " + ", ".join(schemes)
    if r.status == 301 or r.status == 302:
        contact = r.contact
        if contact:
            return f"{status} to {contact[0].uri_text}"
    return status


def _failure(final: SipMessage | None, last_sent: str, trips: list[RoundTrip]) -> str | None:
    if final is None:
        return "no answer from the registrar"
    status = final.status or 0
    if status < 300:
        return None
    diags = diagnostics_of(final)
    detail = ""
    if diags:
        d = diags[0]
        detail = f" (ms-diagnostics {d.code}" + (f' "{d.reason}"' if d.reason else "") + ")"
        meaning = d.meaning
        if d.code == 1013:
            return f"{status}: clock skew between client and server{detail}"
        if meaning and status not in (401, 407):
            return f"{status}: {meaning}{detail}"
    if status in (401, 407):
        if "AUTHENTICATE" in last_sent:
            return f"{status} after AUTHENTICATE: wrong password or clock skew{detail}"
        if "AP-REQ" in last_sent:
            return f"{status} after Kerberos ticket: ticket rejected (SPN, clock or keys){detail}"
        if last_sent == "no credentials":
            return f"{status}: the client never answered the challenge{detail}"
        return f"{status} while authenticating{detail}"
    words = {
        403: "forbidden: user not enabled for SIP or not allowed here",
        404: "user not found",
        408: "request timed out",
        480: "temporarily unavailable (home pool unreachable?)",
        500: "server error",
        503: "service unavailable (server busy or pool down)",
        504: "server timeout (next hop unreachable)",
    }.get(status, f"rejected with {status} {final.reason or ''}".rstrip())
    return f"{status}: {words}{detail}" if not words.startswith("rejected") else words + detail


def analyze_registration(
    session: Session, others: list[Session] | FollowUps | None = None
) -> Registration:
    """Summarise one registration session (``others``: every session, or a
    :class:`FollowUps` index of them, for the subscriptions that follow a sign-in)."""
    reg = Registration(call_id=session.call_id, user=session.from_uri, outcome="in progress")
    final_msg: SipMessage | None = None
    last_sent = "no credentials"
    for t in session.transactions:
        if t.method != "REGISTER" or t.request is None:
            continue
        req = t.request
        sent, scheme, _token = _describe_sent(req)
        last_sent = sent
        if scheme and reg.scheme_chosen is None:
            reg.scheme_chosen = scheme
        elif scheme:
            reg.scheme_chosen = scheme
        for _auth, token, _p in decoded_tokens(req):
            if token is None:
                continue
            from ..sip.kerberos import GssToken
            from ..sip.ntlm import NtlmAuthenticate

            if isinstance(token, NtlmAuthenticate):
                reg.identity = token.identity
                reg.workstation = token.workstation or None
            elif isinstance(token, GssToken) and token.service:
                reg.service = f"{token.service}@{token.realm}" if token.realm else token.service
        from_ = req.from_
        if from_ is not None and from_.epid:
            reg.epid = from_.epid
        for contact in req.contact:
            inst = contact.params.get("+sip.instance")
            if inst:
                reg.instance = inst.strip("<>").removeprefix("urn:uuid:").lower()
        if reg.user_agent is None:
            reg.user_agent = req.header("User-Agent")
        if req.expires == 0:
            reg.outcome = "unregistering"
        final = t.final
        answer = _describe_answer(final) if final is not None else "no answer"
        reg.round_trips.append(
            RoundTrip(t.cseq, req.frame, sent, final.status if final is not None else None, answer)
        )
        if final is None:
            final_msg = None
            continue
        final_msg = final
        for s in _schemes(final):
            if s not in reg.schemes_offered:
                reg.schemes_offered.append(s)
        if final.header("Server"):
            reg.server = final.header("Server")
        logon = final.header("ms-user-logon-data")
        if logon is not None:
            reg.remote = "remoteuser" in logon.lower()
        if final.status is not None and 200 <= final.status < 300:
            if reg.remote is None:
                reg.remote = False
            for contact in final.contact:
                gruu = contact.params.get("gruu")
                if gruu:
                    reg.gruu = gruu
                inst = contact.params.get("+sip.instance")
                if inst and reg.instance is None:
                    reg.instance = inst.strip("<>").removeprefix("urn:uuid:").lower()
                if contact.expires is not None:
                    reg.expires = contact.expires
            if reg.expires is None:
                reg.expires = final.expires
    if final_msg is None:
        reg.outcome = "no answer" if reg.round_trips else "in progress"
    else:
        status = final_msg.status or 0
        if 200 <= status < 300:
            reg.outcome = (
                "unregistered"
                if reg.outcome == "unregistering" or reg.expires == 0
                else "registered"
            )
        elif status in (301, 302):
            reg.outcome = "redirected"
        else:
            reg.outcome = "failed"
    if reg.outcome in ("failed", "no answer"):
        reg.failure = _failure(final_msg, last_sent, reg.round_trips)
    reg.identity_consistent = _identity_consistent(reg)
    reg.signatures = _signature_tally(session.messages)
    if others is not None and reg.outcome == "registered":
        reg.follow_ups = _follow_ups(session, others)
    return reg


def _identity_consistent(reg: Registration) -> bool | None:
    """epid → +sip.instance → GRUU must name one endpoint ([MS-SIPAE] 3.3.5.2)."""
    verdicts = []
    if reg.epid and reg.instance:
        verdicts.append(epid_to_instance(reg.epid) == reg.instance)
    if reg.instance and reg.gruu and "opaque=" in reg.gruu:
        opaque = reg.gruu.split("opaque=", 1)[1].split(";", 1)[0]
        from_gruu = instance_from_gruu_opaque(opaque)
        if from_gruu is not None:
            verdicts.append(from_gruu == reg.instance)
    if not verdicts:
        return None
    return all(verdicts)


def _signature_tally(messages: list[SipMessage]) -> str | None:
    valid = invalid = 0
    for m in messages:
        check = auth_check(m)
        if check is None:
            continue
        if check.signature is True:
            valid += 1
        elif check.signature is False:
            invalid += 1
        if check.proof is False:
            invalid += 1
    if not valid and not invalid:
        return None
    parts = []
    if valid:
        parts.append(f"{valid} valid")
    if invalid:
        parts.append(f"{invalid} invalid")
    return ", ".join(parts)


class FollowUps:
    """The subscriptions each user made (provisioning, roaming, ...), to list under a sign-in.

    Filled session by session (:meth:`add`), so a streaming run keeps one short line per
    subscription session instead of the sessions themselves.
    """

    __slots__ = ("_by_user", "_firsts", "_waiting", "_finished")

    #: Subscriptions kept per user (the first ones), a bound against hostile captures.
    MAX_PER_USER = 1000

    #: A streaming run forgets the subscriptions no session still to come can list every
    #: this many finished sessions (:meth:`finished`)...
    FORGET_EVERY = 1000
    #: ... keeping this many seconds more than it must (TCP hands a message over up to 3 s
    #: late, so a session's first message may be a little older than the first one seen).
    FORGET_MARGIN = 60.0

    def __init__(self, sessions: Iterable[Session] = ()) -> None:
        # From URI -> [start, event, final status] of each follow-up subscription.
        self._by_user: dict[str | None, list[list[Any]]] = {}
        # Call-IDs whose first request was seen (message), by recent.text_key: the table is
        # the largest of a streaming run's, and the Call-IDs' text would be kept alive by it.
        self._firsts = RecentKeys(_MAX_FIRSTS, values=False)
        self._waiting: dict[tuple[str, int], list[Any]] = {}  # SUBSCRIBEs not answered yet
        self._finished = 0
        for s in sessions:
            self.add(s)

    def finished(self, run: _Run | None) -> None:
        """A streaming run handed a session over (call it before that session is shown):
        now and then, forget the subscriptions made before every session still to come
        started. A sign-in lists only subscriptions made after it started, so the index then
        holds what the open sessions' time span needs instead of a line per subscription of
        the whole run (a Front End's users subscribe again at every sign-in)."""
        self._finished += 1
        if run is None or self._finished % self.FORGET_EVERY:
            return
        self.forget_before(run.unseen_since() - self.FORGET_MARGIN)

    def forget_before(self, when: float) -> None:
        """Drop the subscriptions made before ``when`` (a user with none left is dropped)."""
        by_user = self._by_user
        for user in list(by_user):
            kept = [entry for entry in by_user[user] if entry[0] >= when]
            if kept:
                by_user[user] = kept
            else:
                del by_user[user]

    def __len__(self) -> int:
        """Subscriptions held (for tests and bounds)."""
        return sum(len(found) for found in self._by_user.values())

    def add(self, s: Session) -> None:
        """Note the session if it is a follow-up subscription."""
        first = s.first_request
        if first is None or first.method != "SUBSCRIBE":
            return
        event = (first.header("Event") or "").split(";", 1)[0].strip()
        if event.lower() not in _FOLLOW_EVENTS:
            return
        status = next((t.final_status for t in s.transactions if t.request is first), None)
        found = self._by_user.setdefault(s.from_uri, [])
        if len(found) < self.MAX_PER_USER:
            found.append([s.start or 0.0, event, status])

    def message(self, m: SipMessage) -> None:
        """Note one message as it is decoded (a streaming run, where the subscription's
        session may still be open when the sign-in is shown): a Call-ID's first request, if a
        follow-up SUBSCRIBE, and the final answer to it.

        A response matters only while a SUBSCRIBE waits for one: with none waiting (most of
        the time), its Call-ID and CSeq are not read (the CSeq was read when it was parsed,
        so no defect waits for this read either)."""
        if m.is_request:
            call_id = m.call_id
            if call_id is None or not self._firsts.add(text_key(call_id)):
                return
            cseq = m.cseq
            if m.method != "SUBSCRIBE" or cseq is None:
                return
            event = (m.header("Event") or "").split(";", 1)[0].strip()
            if event.lower() not in _FOLLOW_EVENTS:
                return
            found = self._by_user.setdefault(_uri_of(m.from_), [])
            if len(found) < self.MAX_PER_USER:
                entry: list[Any] = [m.time or 0.0, event, None]
                found.append(entry)
                self._waiting[(call_id, cseq[0])] = entry
                if len(self._waiting) > _MAX_FIRSTS:
                    drop_oldest(self._waiting, _MAX_FIRSTS)
        elif self._waiting:
            call_id = m.call_id
            cseq = m.cseq
            status = m.status
            if call_id is not None and cseq is not None and status is not None and status >= 200:
                answered = self._waiting.pop((call_id, cseq[0]), None)
                if answered is not None:
                    answered[2] = status

    def after(self, session: Session) -> list[str]:
        """Subscriptions the same user made after this sign-in started (the first ten)."""
        start = session.start or 0.0
        found = sorted(self._by_user.get(session.from_uri, []), key=_when)
        return [
            f"SUBSCRIBE {event} → {status if status is not None else 'no answer'}"
            for when, event, status in found
            if when >= start
        ][:10]


def _when(entry: list[Any]) -> float:
    return float(entry[0])


def _uri_of(addr: Any) -> str | None:
    return str(addr.uri) if addr is not None and addr.uri is not None else None


class _Run(Protocol):
    """What :meth:`FollowUps.finished` asks of a run (a :class:`lyncdump.pipeline.Pipeline`)."""

    def unseen_since(self) -> float: ...


#: Call-IDs remembered by FollowUps.message (oldest forgotten first).
_MAX_FIRSTS = 200_000


_FOLLOW_CACHE: dict[int, tuple[list[Session], FollowUps]] = {}


def _follow_index(others: list[Session]) -> FollowUps:
    """The follow-ups of a session list, built once per list (analysing each registration
    must not rescan every session)."""
    cached = _FOLLOW_CACHE.get(id(others))
    if cached is not None and cached[0] is others:
        return cached[1]
    index = FollowUps(others)
    _FOLLOW_CACHE.clear()  # one list at a time: keeps the cache from growing
    _FOLLOW_CACHE[id(others)] = (others, index)
    return index


def _follow_ups(session: Session, others: list[Session] | FollowUps) -> list[str]:
    """Subscriptions the same user makes after signing in (provisioning, roaming, ...)."""
    index = others if isinstance(others, FollowUps) else _follow_index(others)
    return index.after(session)


def registrations(sessions: list[Session]) -> list[Registration]:
    """Every registration session analysed, in capture order."""
    return [analyze_registration(s, sessions) for s in sessions if s.kind == "registration"]
