"""How the Microsoft-specific decoding shows up: ladder facts, sign-in and IM summaries, JSON.

:func:`ms_facts` adds to each ladder line what an expert would note (NTLM user, Kerberos
service, the first IM line, an XML body in one line, RemoteUser, signature verdicts);
:func:`diagnostics_fact` is the ms-diagnostics fact with the meaning of its code.
:func:`session_extra_lines` / :func:`session_extra_fields` add the registration and IM
summaries under a session, in text and JSON.
"""

from __future__ import annotations

from typing import Any

from ..analysis.im import Conversation, ImEvent, analyze_conversation, im_text
from ..analysis.registration import (
    FollowUps,
    Registration,
    analyze_registration,
    auth_check,
    decoded_tokens,
)
from ..analysis.sessions import Session
from ..sip.auth import TlsDskToken, signature_kind
from ..sip.kerberos import GssToken
from ..sip.message import SipMessage
from ..sip.ms import (
    diagnostics_of,
    endpoint_list,
    epid_to_instance,
    instance_from_gruu_opaque,
    ms_header_summary,
    parse_conversation_id,
    text_formats,
)
from ..sip.ntlm import NtlmAuthenticate, NtlmChallenge, NtlmNegotiate
from ..sip.xmlbody import summarize_xml

__all__ = [
    "conversation_lines",
    "conversation_to_dict",
    "diagnostics_fact",
    "im_event_to_dict",
    "ms_facts",
    "registration_lines",
    "registration_to_dict",
    "session_extra_fields",
    "session_extra_lines",
    "verbose_lines",
]

_QUOTE_LIMIT = 50


def _quote(text: str) -> str:
    text = " ".join(text.split())
    if len(text) > _QUOTE_LIMIT:
        text = text[: _QUOTE_LIMIT - 1] + "…"
    return f'"{text}"'


def token_fact(scheme: str, token: object) -> str | None:
    """One phrase for a decoded gssapi-data token."""
    if isinstance(token, NtlmChallenge):
        server = token.av("DnsComputerName") or token.av("NbComputerName") or token.target_name
        domain = token.av("NbDomainName") or token.target_name
        extra = ", ".join(
            x for x in (domain, f"Windows {token.version}" if token.version else "") if x
        )
        return f"NTLM CHALLENGE from {server}" + (f" ({extra})" if extra else "")
    if isinstance(token, NtlmAuthenticate):
        text = f"NTLM AUTHENTICATE {token.identity or '(anonymous)'}"
        if token.workstation:
            text += f" on {token.workstation}"
        return text + f" ({token.ntlm_version})"
    if isinstance(token, NtlmNegotiate):
        return "NTLM NEGOTIATE"
    if isinstance(token, GssToken):
        text = f"{scheme} {token.message}"
        if token.service:
            text += f" {token.service}" + (f"@{token.realm}" if token.realm else "")
        if token.ticket_etype_name:
            text += f", ticket {token.ticket_etype_name}"
        if token.error_code is not None:
            text += f", error {token.error_code}"
        return text
    if isinstance(token, TlsDskToken):
        text = "TLS-DSK " + "+".join(token.messages[:6])
        if token.certificates:
            text += f", cert {token.certificates[0]}"
        return text
    return None


def diagnostics_fact(m: SipMessage) -> str | None:
    """``ms-diagnostics 1000 "Final handshake failed" (SIP stack: ...)`` for the first one."""
    diags = diagnostics_of(m)
    return diags[0].short() if diags else None


def ms_facts(m: SipMessage) -> list[str]:
    """Microsoft-specific notes for a ladder line, most telling first."""
    facts: list[str] = []
    for auth, token, problem in decoded_tokens(m):
        if token is not None:
            fact = token_fact(auth.scheme, token)
            if fact:
                facts.append(fact)
        elif problem:
            facts.append(f"{auth.scheme} token unreadable: {problem}")
    check = auth_check(m)
    if check is not None:
        if check.proof is True:
            facts.append("NTLMv2 proof valid (password matches)")
        elif check.proof is False:
            facts.append("NTLMv2 proof INVALID (password does not match)")
        elif check.note:
            facts.append(check.note)
        if check.signature is True:
            facts.append("signature valid")
        elif check.signature is False:
            facts.append("signature INVALID")
    logon = m.header("ms-user-logon-data")
    if logon:
        facts.append("remote user (via Edge)" if "remoteuser" in logon.lower() else logon.strip())
    said = im_text(m)
    if said is not None:
        label = "first IM" if m.method == "INVITE" else "IM"
        facts.append(f"{label} {_quote(said[1])}" if said[1] else f"{label} (text redacted)")
    elif m.body and m.content_type != "application/sdp":
        if (m.content_type or "").startswith("multipart/"):
            summaries = [
                s for s in (summarize_xml(p.content_type, p.body) for p in m.body_parts()[:8]) if s
            ]
            if summaries:
                facts.append(" | ".join(summaries[:4]) + (" | …" if len(summaries) > 4 else ""))
        else:
            summary = summarize_xml(m.content_type, m.body)
            if summary:
                facts.append(summary)
    return facts


def verbose_lines(m: SipMessage) -> list[str]:
    """What ``-v`` adds under a message's text: its Microsoft headers and tokens decoded."""
    out: list[str] = []
    for auth, token, problem in decoded_tokens(m):
        kind = signature_kind(auth.signature)
        head = f"{auth.header}: {auth.scheme}"
        if auth.version is not None:
            head += f" version {auth.version}"
        if auth.opaque:
            head += f", SA {auth.opaque}"
        if kind:
            head += f", {kind} (num {auth.num})"
        out.append(head)
        if problem:
            out.append(f"  token unreadable: {problem}")
        if isinstance(token, (NtlmChallenge, NtlmAuthenticate, NtlmNegotiate)):
            out.append(f"  NTLM flags 0x{token.flags:08x}: {' '.join(token.flag_names)}")
            if token.version is not None:
                out.append(f"  Windows {token.version} (NTLM revision {token.version.revision})")
        if isinstance(token, NtlmChallenge):
            out.append(f"  server challenge {token.server_challenge.hex()}")
            for pair in token.target_info:
                out.append(f"  {pair.name}: {pair.text}")
        elif isinstance(token, NtlmAuthenticate):
            out.append(
                f"  domain {token.domain!r} user {token.user!r} workstation {token.workstation!r}"
            )
            lm, nt = len(token.lm_response), len(token.nt_response)
            out.append(f"  {token.ntlm_version}: LM response {lm} B, NT response {nt} B")
            if token.ntlmv2 is not None and token.ntlmv2.timestamp is not None:
                out.append(f"  client time {token.ntlmv2.timestamp.isoformat()}")
            if token.mic is not None:
                out.append("  MIC present")
        elif isinstance(token, GssToken):
            out.append(f"  {token.mechanism} {token.message}")
            if token.service:
                out.append(f"  service {token.service} (name type {token.name_type})")
            if token.realm:
                out.append(f"  realm {token.realm}")
            if token.ticket_etype is not None:
                out.append(
                    f"  ticket v{token.ticket_version} {token.ticket_etype_name}"
                    + (f" kvno {token.ticket_kvno}" if token.ticket_kvno is not None else "")
                )
            if token.authenticator_etype is not None:
                out.append(f"  authenticator etype {token.authenticator_etype}")
            if token.ap_options:
                out.append("  ap-options " + ", ".join(token.ap_options))
        elif isinstance(token, TlsDskToken):
            out.append(f"  TLS records: {', '.join(token.messages)}")
            if token.cipher_suite is not None:
                out.append(f"  cipher suite 0x{token.cipher_suite:04x}")
            for cert in token.certificates:
                out.append(f"  certificate {cert}")
    for d in diagnostics_of(m):
        extras = "".join(f"; {k}={v}" for k, v in d.extras.items())
        source = f"; source {d.source}" if d.source else ""
        out.append(d.short() + source + extras)
    cid = m.header("Ms-Conversation-ID")
    if cid:
        decoded = parse_conversation_id(cid)
        if decoded is not None:
            when = decoded.time.isoformat() if decoded.time else "?"
            out.append(f"Ms-Conversation-ID: started {when}, GUID {decoded.guid}")
    for fmt in text_formats(m):
        if fmt.font:
            out.append(f"{fmt.content_type} font: {fmt.font}")
    endpoints = endpoint_list(m)
    if endpoints:
        out.append(
            "EndPoints: "
            + ", ".join(f"{uri}" + (f" (epid {epid})" if epid else "") for uri, epid in endpoints)
        )
    for addr in m.contact:
        gruu = addr.params.get("gruu")
        inst = addr.params.get("+sip.instance")
        if gruu and "opaque=" in gruu:
            opaque = gruu.split("opaque=", 1)[1].split(";", 1)[0]
            out.append(f"GRUU {opaque} names instance {instance_from_gruu_opaque(opaque)}")
        if inst and m.from_ is not None and m.from_.epid:
            derived = epid_to_instance(m.from_.epid)
            same = derived == inst.strip("<>").removeprefix("urn:uuid:").lower()
            out.append(
                f"+sip.instance {'is' if same else 'is NOT'} derived from epid {m.from_.epid}"
            )
    out.extend(ms_header_summary(m))
    return out


# -- registration ------------------------------------------------------------------------------


def registration_lines(reg: Registration) -> list[str]:
    """The sign-in summary printed under a registration session's ladder."""
    lines = []
    head = f"  sign-in: {reg.outcome}"
    if reg.scheme_chosen:
        head += f" with {reg.scheme_chosen}"
    if reg.schemes_offered:
        head += f" (offered {', '.join(reg.schemes_offered)})"
    head += f", {reg.round_trip_count} round trip{'s' if reg.round_trip_count != 1 else ''}"
    if reg.remote is not None:
        head += ", remote user via Edge" if reg.remote else ", internal user"
    lines.append(head)
    for trip in reg.round_trips:
        lines.append(f"    REGISTER {trip.cseq} {trip.sent} → {trip.answer}")
    who = []
    if reg.identity:
        who.append(f"as {reg.identity}")
    if reg.service:
        who.append(f"Kerberos ticket for {reg.service}")
    if reg.workstation:
        who.append(f"on {reg.workstation}")
    if reg.user_agent:
        who.append(f"client {reg.user_agent}")
    if reg.server:
        who.append(f"server {reg.server}")
    if who:
        lines.append("    " + ", ".join(who))
    ident = []
    if reg.epid:
        ident.append(f"epid {reg.epid}")
    if reg.instance:
        ident.append(f"instance {reg.instance}")
    if reg.gruu:
        ident.append(f"GRUU {reg.gruu}")
    if ident:
        verdict = ""
        if reg.identity_consistent is True:
            verdict = " (consistent)"
        elif reg.identity_consistent is False:
            verdict = " (MISMATCH: not derived from one epid)"
        lines.append("    endpoint " + ", ".join(ident) + verdict)
    if reg.expires is not None:
        lines.append(f"    expires {reg.expires}s")
    if reg.signatures:
        lines.append(f"    signatures: {reg.signatures}")
    if reg.failure:
        lines.append(f"    cause: {reg.failure}")
    for follow in reg.follow_ups:
        lines.append(f"    then {follow}")
    return lines


def registration_to_dict(reg: Registration) -> dict[str, Any]:
    return {
        "outcome": reg.outcome,
        "user": reg.user,
        "schemes_offered": reg.schemes_offered,
        "scheme_chosen": reg.scheme_chosen,
        "round_trips": [
            {
                "cseq": t.cseq,
                "frame": t.request_frame,
                "sent": t.sent,
                "status": t.status,
                "answer": t.answer,
            }
            for t in reg.round_trips
        ],
        "remote": reg.remote,
        "identity": reg.identity,
        "service": reg.service,
        "workstation": reg.workstation,
        "epid": reg.epid,
        "instance": reg.instance,
        "gruu": reg.gruu,
        "identity_consistent": reg.identity_consistent,
        "expires": reg.expires,
        "server": reg.server,
        "user_agent": reg.user_agent,
        "failure": reg.failure,
        "follow_ups": reg.follow_ups,
        "signatures": reg.signatures,
    }


# -- IM ------------------------------------------------------------------------------------------


def conversation_lines(conv: Conversation, start: float | None) -> list[str]:
    """The conversation printed under an IM session's ladder."""
    who = ", ".join(conv.participants) or "?"
    count = conv.message_count
    head = f"  conversation: {who}, {count} message{'s' if count != 1 else ''}"
    if conv.conversation_id:
        head += f", id {conv.conversation_id}"
        if conv.conversation_started:
            head += f" (started {conv.conversation_started})"
    lines = [head]
    if conv.endpoints:
        lines.append("    endpoints " + ", ".join(conv.endpoints))
    if conv.roster_manager:
        lines.append(f"    roster manager {conv.roster_manager}")
    base = start or 0.0
    for e in conv.events:
        rel = (e.time - base) if e.time is not None else 0.0
        sender = e.sender or "?"
        if e.kind == "message":
            text = _quote(e.text) if e.text else "(text redacted)"
            line = f"    {rel:+10.6f}  {sender}: {text}"
            if e.content_type and e.content_type != "text/plain":
                line += f" [{e.content_type}]"
            if e.status:
                line += f"  {e.status}"
        elif e.kind == "delivery":
            line = f"    {rel:+10.6f}  {e.text}"
        else:
            line = f"    {rel:+10.6f}  {sender} {e.kind}"
        lines.append(line)
    return lines


def conversation_to_dict(conv: Conversation) -> dict[str, Any]:
    return {
        "participants": conv.participants,
        "conversation_id": conv.conversation_id,
        "conversation_started": conv.conversation_started,
        "endpoints": conv.endpoints,
        "roster_manager": conv.roster_manager,
        "messages": conv.message_count,
        "events": [im_event_to_dict(e) for e in conv.events],
    }


def im_event_to_dict(e: ImEvent) -> dict[str, Any]:
    """One event of a conversation: a message, typing, or a delivery report."""
    return {
        "time": e.time,
        "frame": e.frame,
        "sender": e.sender,
        "kind": e.kind,
        "text": e.text,
        "content_type": e.content_type,
        "status": e.status,
    }


# -- per session ---------------------------------------------------------------------------------


def session_extra_lines(session: Session, sessions: list[Session] | FollowUps) -> list[str]:
    """Summary lines under a session (sign-in for registrations, the conversation for IMs)."""
    if session.kind == "registration":
        return registration_lines(analyze_registration(session, sessions))
    if session.kind == "im":
        return conversation_lines(analyze_conversation(session), session.start)
    return []


def session_extra_fields(
    record: dict[str, Any], session: Session, sessions: list[Session] | FollowUps
) -> dict[str, Any]:
    """Add ``registration`` and ``conversation`` to a JSON session record (in place, returned);
    each is null unless the session is of that kind, so every record has the same fields."""
    record["registration"] = (
        registration_to_dict(analyze_registration(session, sessions))
        if session.kind == "registration"
        else None
    )
    record["conversation"] = (
        conversation_to_dict(analyze_conversation(session)) if session.kind == "im" else None
    )
    return record
