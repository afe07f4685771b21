"""Text for TLS connections: a note on each ``--summary`` connection line, a short TLS section,
and one footer line when something stayed encrypted. No key material ever reaches these."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..tls.summary import TlsSummary

_APPLICATIONS = {"sip": "SIP", "sipcomp": "SIP"}


def connection_note(tls: TlsSummary) -> str:
    """What follows the protocol on a connection line: ``(TLS 1.2, suite, decrypted ...)``."""
    parts = [p for p in (tls.version, tls.cipher_suite) if p]
    if tls.sni:
        parts.append(f"SNI {tls.sni}")
    if tls.decrypted:
        parts.append(f"decrypted with {tls.key_source}" if tls.key_source else "decrypted")
    elif tls.version is not None or tls.encrypted_bytes:
        parts.append("not decrypted")
    return f"({', '.join(parts)})" if parts else ""


def section_lines(capture: Any) -> Iterator[str]:
    """The ``--summary`` TLS section: handshake and certificate per connection, and for what
    stayed encrypted, why and which key would open it."""
    conns = [c for c in capture.connections if getattr(c, "tls", None) is not None]
    if not conns:
        return
    yield f"  TLS connections {len(conns)}"
    for c in conns:
        tls: TlsSummary = c.tls
        head = f"    #{c.id} {tls.version or 'handshake not seen'}"
        if tls.cipher_suite:
            head += f" {tls.cipher_suite}"
        if tls.resumed:
            head += ", resumed"
        if tls.renegotiations:
            head += f", renegotiated {tls.renegotiations}x"
        updates = getattr(tls, "key_updates", 0)
        if updates:
            head += f", {updates} key update{'s' if updates > 1 else ''}"
        yield head
        if tls.sni:
            yield f"       server name {tls.sni}"
        cert = tls.certificate
        if cert is not None:
            yield f"       certificate {cert.subject} (issuer {cert.issuer})"
            if cert.san:
                yield f"         SAN {', '.join(cert.san)}"
            yield f"         valid {cert.not_before} to {cert.not_after}"
        if tls.decrypted:
            yield (
                f"       decrypted with {tls.key_source or 'keys given'}: "
                f"{tls.decrypted_records} records, {tls.plaintext_bytes} B of "
                f"{_APPLICATIONS.get(tls.application or '', 'application data')}"
            )
        if tls.failed_records:
            yield f"       {tls.failed_records} records failed their MAC/tag check"
        needs = tls.needs
        if needs is not None and not tls.decrypted:
            why = f"{tls.note}; " if tls.note else ""
            yield f"       not decrypted: {why}{needs} would let lyncdump decode it"
        elif tls.note and not tls.decrypted:  # no key can help (the handshake is missing)
            yield f"       not decrypted: {tls.note}"
        for alert in tls.alerts:
            yield f"       alert: {alert}"


def footer_note(capture: Any) -> str | None:
    """One line for the default view when TLS connections stayed encrypted."""
    hidden = [
        c
        for c in capture.connections
        if getattr(c, "tls", None) is not None and not c.tls.decrypted
    ]
    if not hidden:
        return None
    # Those whose handshake is not in the capture: no key can open them.
    unopenable = sum(1 for c in hidden if getattr(c.tls, "handshake_missing", False))
    hidden = [c for c in hidden if not getattr(c.tls, "handshake_missing", False)]
    if not hidden:
        them = "them" if unopenable > 1 else "it"
        return (
            f"{unopenable} TLS connection{'s' if unopenable > 1 else ''} not decrypted: "
            f"{'they' if unopenable > 1 else 'it'} began before the capture, and without the "
            f"handshake no key can open {them}"
        )
    rsa = any(c.tls.rsa_key_exchange for c in hidden)
    keys = "--keylog" + (" or --rsa-key" if rsa else "")
    n = len(hidden)
    return (
        f"{n} TLS connection{'s' if n > 1 else ''} not decrypted: {keys} would let lyncdump "
        "decode the SIP inside (--summary says which key)"
        + (
            f"; {unopenable} more began before the capture (no key can open those)"
            if unopenable
            else ""
        )
    )
