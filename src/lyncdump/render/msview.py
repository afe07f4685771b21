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
    AuthCheck,
    FollowUps,
    Registration,
    analyze_registration,
    auth_check,
    decoded_tokens,
)
from ..analysis.sessions import Session
from ..sip.auth import AUTH_HEADERS, TlsDskToken, signature_kind
from ..sip.kerberos import GssToken
from ..sip.message import SipMessage, parse_body_part
from ..sip.ms import (
    diagnostics_of,
    endpoint_list,
    epid_to_instance,
    instance_from_gruu_opaque,
    ms_header_summary,
    parse_conversation_id,
    parse_diagnostics,
    text_formats,
)
from ..sip.ntlm import NtlmAuthenticate, NtlmChallenge, NtlmNegotiate
from ..sip.xmlbody import summarize_xml
from .facts import ViewIndex

__all__ = [
    "auth_to_dicts",
    "conversation_id_to_dict",
    "conversation_lines",
    "conversation_to_dict",
    "diagnostics_to_dicts",
    "ms_decoded",
    "token_to_dict",
    "xml_to_dicts",
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

#: What ``sip/ms.py``'s ``diagnostics_of`` reads, in its order.
_DIAGNOSTICS_HEADERS = ("ms-diagnostics", "ms-diagnostics-public", "ms-client-diagnostics")


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
    """``ms-diagnostics 1000 "Final handshake failed" (SIP stack: ...)`` for the first one
    (as ``diagnostics_of(m)[0]``: the headers after it are not parsed)."""
    return _diagnostics_fact(m, m._view_index())


def _diagnostics_fact(m: SipMessage, index: ViewIndex) -> str | None:
    """:func:`diagnostics_fact` with ``m._view_index()`` read already (the facts read it
    once for every view header they look at)."""
    for name in _DIAGNOSTICS_HEADERS:  # the names are canonical already
        found = index.get(name) if index is not None else m._values(name)
        if found and found[0]:
            return parse_diagnostics(found[0], name).short()
    return None


def _may_hold_token(m: SipMessage) -> bool:
    """False when no auth header of ``m`` names ``gssapi-data`` (so none holds a token).

    Most Lync messages carry a signed ``Proxy-Authorization`` or ``Authentication-Info`` but
    no token: looking for the parameter's name in the raw values spares parsing every header
    (a parameter is named by a part of its value, so the test never misses one)."""
    return _may_hold(m, m._view_index())


def _may_hold(m: SipMessage, index: ViewIndex) -> bool:
    """:func:`_may_hold_token` with ``m._view_index()`` read already."""
    if "ms.tokens" in m._cache:
        return True  # decoded already (a sign-in's analysis, -p checks): use it
    for key in AUTH_HEADERS:
        for value in index.get(key) or () if index is not None else m._values(key):
            if "gssapi-data" in value.lower():
                return True
    return False


def ms_facts(m: SipMessage) -> list[str]:
    """Microsoft-specific notes for a ladder line, most telling first."""
    return _ms_facts(m, m._view_index())


def _ms_facts(m: SipMessage, index: ViewIndex) -> list[str]:
    """:func:`ms_facts` with ``m._view_index()`` read already."""
    facts: list[str] = []
    for auth, token, problem in decoded_tokens(m) if _may_hold(m, index) else ():
        if token is not None:
            fact = token_fact(auth.scheme, token)
            if fact:
                facts.append(fact)
        elif problem:
            facts.append(f"{auth.scheme} token unreadable: {problem}")
    check = m._cache.get("ms.check")  # auth_check(m), without the call
    if isinstance(check, AuthCheck):
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
    found = (
        index.get("ms-user-logon-data") if index is not None else m._values("ms-user-logon-data")
    )  # m.header() of the canonical name, without its lookup
    logon = found[0] if found else None
    if logon:
        facts.append("remote user (via Edge)" if "remoteuser" in logon.lower() else logon.strip())
    method = m.method
    # im_text() gives None for any other method: not called for them.
    said = im_text(m) if method == "INVITE" or method == "MESSAGE" else None
    if said is not None:
        label = "first IM" if method == "INVITE" else "IM"
        facts.append(f"{label} {_quote(said[1])}" if said[1] else f"{label} (text redacted)")
    elif m.body and m.content_type != "application/sdp":
        if (m.content_type or "").startswith("multipart/"):
            # Four summaries are shown and a fifth only says there are more: the parts after
            # it are not parsed (most of the cost of a roaming or presence multipart).
            # Each part is cut and read when reached (as body_parts() reads it), not all of
            # them first: a roaming multipart holds about ten.
            summaries: list[str] = []
            parts = m._cache.get("parts")
            body = m.body
            for part in (
                parts[:8]  # type: ignore[index]
                if parts is not None
                else (parse_body_part(body[a:b]) for a, b in m.part_spans()[:8])
            ):
                summary = summarize_xml(part.content_type, part.body)
                if summary:
                    summaries.append(summary)
                    if len(summaries) > 4:
                        break
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


# -- structured fields (JSON ``decoded``; docs/json.md) ------------------------------------------

#: Bytes of a value never shown: key material, hashes, proofs. Their size and layout are.
_HIDDEN = "(not shown)"


def _version_dict(v: Any) -> dict[str, Any] | None:
    if v is None:
        return None
    return {
        "major": v.major,
        "minor": v.minor,
        "build": v.build,
        "revision": v.revision,
        "text": str(v),
    }


def _av_pairs(pairs: list[Any]) -> list[dict[str, Any]]:
    return [{"id": p.av_id, "name": p.name, "value": p.text, "length": len(p.value)} for p in pairs]


def token_to_dict(token: object) -> dict[str, Any] | None:
    """A decoded gssapi-data token as named fields (NTLM, Kerberos/GSS, TLS-DSK). Responses,
    proofs, session keys and MICs are described by size, never shown."""
    if isinstance(token, (NtlmNegotiate, NtlmChallenge, NtlmAuthenticate)):
        out: dict[str, Any] = {
            "mechanism": "NTLM",
            "message_type": {1: "NEGOTIATE", 2: "CHALLENGE", 3: "AUTHENTICATE"}[token.message_type],
            "flags": f"0x{token.flags:08x}",
            "flag_names": token.flag_names,
            "version": _version_dict(token.version),
        }
        if isinstance(token, NtlmNegotiate):
            out.update(domain=token.domain or None, workstation=token.workstation or None)
        elif isinstance(token, NtlmChallenge):
            stamp = token.timestamp
            out.update(
                target_name=token.target_name,
                server_challenge=token.server_challenge.hex(),
                timestamp=stamp.isoformat() if stamp is not None else None,
                target_info=_av_pairs(token.target_info),
            )
        else:
            v2 = token.ntlmv2
            out.update(
                domain=token.domain,
                user=token.user,
                workstation=token.workstation,
                identity=token.identity,
                ntlm_version=token.ntlm_version,
                lm_response_length=len(token.lm_response),
                nt_response_length=len(token.nt_response),
                session_key_length=len(token.encrypted_session_key),
                mic=token.mic is not None,
                ntlmv2=(
                    {
                        "nt_proof_length": len(v2.nt_proof),
                        "blob_length": len(v2.blob),
                        "client_challenge_length": len(v2.client_challenge),
                        "timestamp": v2.timestamp.isoformat() if v2.timestamp else None,
                        "av_pairs": _av_pairs(v2.av_pairs),
                    }
                    if v2 is not None
                    else None
                ),
            )
        return out
    if isinstance(token, GssToken):
        return {
            "mechanism": token.mechanism,
            "message_type": token.message,
            "realm": token.realm,
            "service": token.service,
            "name_type": token.name_type,
            "ticket_version": token.ticket_version,
            "ticket_etype": token.ticket_etype,
            "ticket_etype_name": token.ticket_etype_name,
            "ticket_kvno": token.ticket_kvno,
            "authenticator_etype": token.authenticator_etype,
            "ap_options": list(token.ap_options),
            "error_code": token.error_code,
            "error_text": token.error_text,
        }
    if isinstance(token, TlsDskToken):
        return {
            "mechanism": "TLS-DSK",
            "message_type": "+".join(token.messages) or None,
            "tls_messages": list(token.messages),
            "cipher_suite": f"0x{token.cipher_suite:04x}"
            if token.cipher_suite is not None
            else None,
            "tls_version": token.tls_version,
            "certificates": list(token.certificates),
        }
    return None


def auth_to_dicts(m: SipMessage) -> list[dict[str, Any]]:
    """Every auth header of a message: its parameters by name and its token decoded."""
    out = []
    check = auth_check(m)
    for auth, token, problem in decoded_tokens(m):
        entry: dict[str, Any] = {
            "header": auth.header,
            "scheme": auth.scheme,
            "kind": auth.kind,
            "realm": auth.realm,
            "targetname": auth.targetname,
            "opaque": auth.opaque,
            "version": auth.version,
            "num": auth.num,
            "signature": signature_kind(auth.signature) if auth.signature else None,
            "token": token_to_dict(token) if token is not None else None,
            "token_problem": problem,
        }
        out.append(entry)
    if check is not None and out:
        out[-1]["check"] = {"proof": check.proof, "signature": check.signature, "note": check.note}
    return out


def diagnostics_to_dicts(m: SipMessage) -> list[dict[str, Any]]:
    """ms-diagnostics, ms-diagnostics-public and ms-client-diagnostics, by field."""
    return [
        {
            "header": d.header,
            "code": d.code,
            "subcode": d.subcode,
            "reason": d.reason,
            "source": d.source,
            "meaning": d.meaning,
            "extras": dict(d.extras),
        }
        for d in diagnostics_of(m)
    ]


def conversation_id_to_dict(m: SipMessage) -> dict[str, Any] | None:
    value = m.header("Ms-Conversation-ID")
    if not value:
        return None
    decoded = parse_conversation_id(value)
    return {
        "value": value.strip(),
        "guid": decoded.guid if decoded is not None else None,
        "started": decoded.time.isoformat() if decoded is not None and decoded.time else None,
    }


def xml_to_dicts(m: SipMessage) -> list[dict[str, Any]]:
    """XML bodies (whole, or multipart parts): media type, root element, one-line summary."""
    from ..sip.xmlbody import xml_summary_and_root

    bodies: list[tuple[str | None, bytes]] = []
    if (m.content_type or "").startswith("multipart/"):
        bodies = [(p.content_type, p.body) for p in m.body_parts()[:16]]
    elif m.body:
        bodies = [(m.content_type, m.body)]
    out = []
    for ctype, body in bodies:
        summary, root = xml_summary_and_root(ctype, body)
        if summary is None and "xml" not in (ctype or ""):
            continue
        tag = root if summary not in (None, "XML not well-formed") else None
        namespace = tag[1:].split("}", 1)[0] if tag and tag.startswith("{") else None
        out.append(
            {
                "content_type": ctype,
                "root": tag.split("}", 1)[-1] if tag else None,
                "namespace": namespace,
                "size": len(body),
                "summary": summary,
            }
        )
    return out


def ms_decoded(m: SipMessage) -> dict[str, Any]:
    """The Microsoft layers of one message as fields: ``auth``, ``diagnostics``,
    ``conversation_id``, ``xml`` (each only when present)."""
    out: dict[str, Any] = {}
    auth = auth_to_dicts(m)
    if auth:
        out["auth"] = auth
    diags = diagnostics_to_dicts(m)
    if diags:
        out["diagnostics"] = diags
    conv = conversation_id_to_dict(m)
    if conv is not None:
        out["conversation_id"] = conv
    xml = xml_to_dicts(m)
    if xml:
        out["xml"] = xml
    return out
