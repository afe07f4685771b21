"""RFC 3264 offer/answer over the life of one SIP dialog: what was negotiated, per m-line, when.

A Lync INVITE offers two SDP versions in ``multipart/alternative`` ([MS-SIPRE] 3.15.4.1): an
ICE draft-6 part marked ``Content-Disposition: ...; ms-proxy-2007fallback`` for old clients,
then the ICE v19 part. The answer carries one SDP; which offered part it answers is told by
its ICE version (v19 answers carry ``a=ice-ufrag`` or ``typ`` candidates), falling back to the
last part (the one [MS-SIPRE] says is preferred).

The exchange rules followed (RFC 3261 13.2.1, RFC 3311, RFC 3262): an INVITE or UPDATE with
SDP is an offer answered by the first reliable non-failure response with SDP (a 18x with SDP
is early media); an INVITE without SDP gets the offer in its 2xx (or 18x) and the answer in
the ACK (or PRACK). A failure final response rejects the pending offer; the previous
negotiation stays in force, which is how a refused re-INVITE looks on the wire.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import MalformedError
from ..model import Endpoint
from ..sdp import MediaDescription, SessionDescription, parse_sdp
from ..sip.message import SipMessage

#: Static RTP payload types (RFC 3551) for m-lines that have no ``a=rtpmap`` for them.
STATIC_PAYLOADS = {
    0: ("PCMU", 8000), 3: ("GSM", 8000), 4: ("G723", 8000), 8: ("PCMA", 8000),
    9: ("G722", 8000), 13: ("CN", 8000), 18: ("G729", 8000), 34: ("H263", 90000),
}  # fmt: skip


@dataclass(slots=True)
class SdpPart:
    """One SDP body of a message: the body itself, or one part of a multipart body."""

    sdp: SessionDescription
    fallback: bool = False  # Content-Disposition carried ms-proxy-2007fallback (ICE draft-6)
    index: int = 0

    @property
    def ice_version(self) -> str | None:
        return self.sdp.ice_version


def sdp_parts(msg: SipMessage) -> list[SdpPart]:
    """Every SDP body of a message, multipart nesting followed (bounded), in body order."""
    ctype = msg.content_type
    if not msg.body or ctype is None:
        return []
    found: list[tuple[bytes, bool]] = []
    if ctype == "application/sdp":
        found.append((msg.body, False))
    elif ctype.startswith("multipart/"):
        pending = list(msg.body_parts())
        seen = 0
        while pending and seen < 64:
            part = pending.pop(0)
            seen += 1
            if part.content_type == "application/sdp":
                disposition = (part.header("Content-Disposition") or "").lower()
                found.append((part.body, "ms-proxy-2007fallback" in disposition))
            elif part.content_type and part.content_type.startswith("multipart/"):
                pending[0:0] = part.body_parts()
    out: list[SdpPart] = []
    for body, fallback in found:
        try:
            sd = parse_sdp(body)
        except MalformedError:
            continue
        out.append(SdpPart(sd, fallback, len(out)))
    return out


@dataclass(slots=True)
class NegotiatedMedia:
    """One m-line as offered and answered."""

    index: int
    media: str
    proto: str
    offer_address: Endpoint | None
    answer_address: Endpoint | None = None
    offered_codecs: list[str] = field(default_factory=list)
    codecs: list[str] = field(default_factory=list)  # what the answer accepted, in its order
    label: str | None = None
    direction: str = "sendrecv"
    crypto_suite: str | None = None
    offer_ufrag: str | None = None
    answer_ufrag: str | None = None
    offer_candidates: int = 0
    answer_candidates: int = 0
    state: str = "offered"  # offered | active | rejected

    @property
    def encrypted(self) -> bool:
        return "SAVP" in self.proto.upper() or self.crypto_suite is not None


@dataclass(slots=True)
class Exchange:
    """One offer and its answer (or rejection)."""

    kind: str  # initial | re-INVITE | UPDATE | offer-in-answer
    offer: SipMessage
    offer_parts: list[SdpPart]
    answer: SipMessage | None = None
    answer_part: SdpPart | None = None
    chosen: int | None = None  # index into offer_parts that the answer answered
    early: bool = False  # answered by a provisional (18x) response
    rejected: int | None = None  # status of the failure response that refused the offer
    rejected_time: float | None = None  # when that response was seen
    media: list[NegotiatedMedia] = field(default_factory=list)

    @property
    def chosen_part(self) -> SdpPart | None:
        if self.chosen is None or not 0 <= self.chosen < len(self.offer_parts):
            return None
        return self.offer_parts[self.chosen]

    @property
    def state(self) -> str:
        if self.rejected is not None:
            return f"rejected ({self.rejected})"
        if self.answer is None:
            return "no answer"
        return "early" if self.early else "answered"


def codec_names(m: MediaDescription) -> list[str]:
    """``PCMA/8000`` per format of the m-line, rtpmap first, then the static table."""
    rtpmap = m.rtpmap()
    out = []
    for fmt in m.formats:
        try:
            pt = int(fmt)
        except ValueError:
            out.append(fmt)
            continue
        name = rtpmap.get(pt) or STATIC_PAYLOADS.get(pt)
        out.append(f"{name[0]}/{name[1]}" if name else str(pt))
    return out


def _address(sd: SessionDescription, m: MediaDescription) -> Endpoint | None:
    conn = sd.media_connection(m)
    if conn is None:
        return None
    return Endpoint(conn.address, m.port)


def choose_part(parts: list[SdpPart], answer: SdpPart) -> int:
    """Which offered part an answer answers: same ICE version, else the last (preferred)."""
    version = answer.ice_version
    if version is not None:
        for p in reversed(parts):
            if p.ice_version == version:
                return p.index
    for p in reversed(parts):
        if not p.fallback:
            return p.index
    return len(parts) - 1


def _describe(exchange: Exchange) -> None:
    part = exchange.chosen_part or (exchange.offer_parts[-1] if exchange.offer_parts else None)
    if part is None:
        return
    offer = part.sdp
    answer = exchange.answer_part.sdp if exchange.answer_part is not None else None
    media = []
    for i, m in enumerate(offer.media):
        offered = codec_names(m)
        nm = NegotiatedMedia(
            i, m.media, m.proto, _address(offer, m), offered_codecs=offered, label=m.label,
            direction=m.direction, offer_ufrag=m.ice_ufrag or offer.attribute("ice-ufrag"),
            offer_candidates=len(m.candidates()),
        )  # fmt: skip
        cryptos = m.cryptos()
        if answer is not None and i < len(answer.media):
            a = answer.media[i]
            nm.answer_address = _address(answer, a)
            nm.answer_ufrag = a.ice_ufrag or answer.attribute("ice-ufrag")
            nm.answer_candidates = len(a.candidates())
            nm.direction = a.direction
            if a.port == 0:
                nm.state = "rejected"
            else:
                nm.state = "active"
                answered = codec_names(a)
                accepted = [c for c in answered if c in offered]
                nm.codecs = accepted or answered
            answer_cryptos = a.cryptos()
            if answer_cryptos:
                nm.crypto_suite = answer_cryptos[0].suite
        elif answer is not None:
            nm.state = "rejected"
        elif cryptos:
            nm.crypto_suite = cryptos[0].suite
        media.append(nm)
    exchange.media = media


def parts_by_message(messages: list[SipMessage]) -> dict[int, list[SdpPart]]:
    """``id(message)`` → its SDP parts, for the messages that have a body: parse once, read
    many times (offer/answer and the media join both need them)."""
    return {id(m): sdp_parts(m) for m in messages if m.body}


def negotiate(
    messages: list[SipMessage], parts: dict[int, list[SdpPart]] | None = None
) -> list[Exchange]:
    """The offer/answer exchanges of one session's messages (capture order, retransmissions
    skipped), each with its per-m-line result; ``parts`` is :func:`parts_by_message`'s."""
    exchanges: list[Exchange] = []
    pending: Exchange | None = None
    for msg in messages:
        if getattr(msg, "retransmission", False):
            continue
        cseq = msg.cseq
        cseq_method = cseq[1] if cseq else None
        if parts is None:
            msg_parts = sdp_parts(msg)
        else:
            msg_parts = parts.get(id(msg), []) if msg.body else []
        if msg.is_request:
            method = msg.method or ""
            if (
                msg_parts
                and pending is not None
                and pending.kind == "offer-in-answer"
                and (method in ("ACK", "PRACK"))
            ):
                _answer(pending, msg, msg_parts[-1], early=False)
                pending = None
                continue
            if msg_parts and method in ("INVITE", "UPDATE"):
                answered_before = any(e.answer is not None for e in exchanges)
                kind = (
                    "UPDATE"
                    if method == "UPDATE"
                    else ("re-INVITE" if answered_before else "initial")
                )
                pending = Exchange(kind, msg, msg_parts)
                exchanges.append(pending)
            elif method == "INVITE":
                pending = None  # offer will come in the response
            continue
        status = msg.status or 0
        if pending is not None and pending.offer.is_request and pending.kind != "offer-in-answer":
            if cseq_method != pending.offer.method:
                continue
            if status >= 300:
                pending.rejected = status
                pending.rejected_time = msg.time
                _describe(pending)
                pending = None
            elif msg_parts and (100 < status < 300):
                if pending.answer is None:  # a 2xx after an early answer repeats it
                    _answer(pending, msg, msg_parts[-1], early=status < 200)
                if status >= 200:
                    pending = None
            elif status >= 200:
                pending = None  # 2xx without SDP after an early answer: nothing new
            continue
        if pending is None and msg_parts and cseq_method == "INVITE" and 100 < status < 300:
            if exchanges and not exchanges[-1].offer.is_request and exchanges[-1].answer is None:
                continue  # 2xx retransmitted with new Via; the offer is already known
            pending = Exchange("offer-in-answer", msg, msg_parts)
            exchanges.append(pending)
            _describe(pending)
    for e in exchanges:
        if not e.media:
            _describe(e)
    return exchanges


def _answer(exchange: Exchange, msg: SipMessage, part: SdpPart, *, early: bool) -> None:
    exchange.answer = msg
    exchange.answer_part = part
    exchange.early = early
    exchange.chosen = choose_part(exchange.offer_parts, part)
    _describe(exchange)


def current_media(exchanges: list[Exchange]) -> list[NegotiatedMedia]:
    """The negotiation in force at the end: the last answered exchange's m-lines (or the last
    offer's when nothing was ever answered)."""
    for e in reversed(exchanges):
        if e.answer is not None:
            return e.media
    return exchanges[-1].media if exchanges else []


__all__ = [
    "Exchange",
    "NegotiatedMedia",
    "SdpPart",
    "choose_part",
    "codec_names",
    "current_media",
    "negotiate",
    "parts_by_message",
    "sdp_parts",
]
