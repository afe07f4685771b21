"""What the Result-Code of a Lync / Skype for Business diagnostic record means.

A Result-Code is an HRESULT: ``0xC3E93D6F`` with a name (``SIPPROXY_E_...``). The codes below
are the ones Microsoft's and Cisco's troubleshooting articles explain, in our own words, each
with where the fact comes from; where a published response shows which ``ms-diagnostics``
ErrorId the same failure gives the client, that link is kept (``ms_diagnostics``) with its
source. Anything else is described from its parts: the name's prefix (``SIPPROXY_E_`` SIP
proxy, ``SEC_E_`` Windows security / TLS, ``WSAE`` sockets, ``CRYPT_E_`` certificates) and
the HRESULT layout (severity bit, facility; facility 7 wraps a Win32 error number).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..sip.ms import diagnostic_meaning

_MS_TESTFED = "Microsoft support: Test-CsFederatedPartner fails (OCS 2007 R2 Edge SipStack log)"
_CISCO = "Cisco TAC 212383 (Skype for Business Edge log and the client's 504)"
_MS_32263 = "Microsoft support: Event 32263 error 0xC3E93C2F on Front-End servers"
_MS_12330 = "Microsoft support: Skype for Business Server front end fails to start (event 12330)"
_MS_SPLIT = "Microsoft support: Call Queue agent transfers to other tenant users fail"
_WINERROR = "Windows SDK winerror.h"


@dataclass(frozen=True, slots=True)
class KnownResult:
    """One explained Result-Code."""

    name: str
    meaning: str
    source: str
    #: The ms-diagnostics ErrorId clients get for the same failure, where a published
    #: response shows it, and where.
    ms_diagnostics: int | None = None
    link_source: str | None = None


#: By value. Meanings are ours; the facts are from the articles named.
KNOWN: dict[int, KnownResult] = {
    0xC3E93C5E: KnownResult(
        "SIPPROXY_E_ROUTING",
        "Route headers refused: they came from a source the server does not trust, or the "
        "first Route does not match the connection the request arrived on (an OCS 2007 R2 "
        "Edge given Lync's ms-edge-route, e.g. by Test-CsFederatedPartner -ProxyFqdn)",
        _MS_TESTFED,
    ),
    0xC3E93D6F: KnownResult(
        "SIPPROXY_E_EPROUTING_MSG_ALLOWED_DOMAIN_NO_SRV_MATCH",
        "federation: the domain's _sipfederationtls._tcp SRV record points to FQDNs outside "
        "that domain (the FQDN must be in exactly that domain), so the Edge will not route there",
        _CISCO,
        1009,
        _CISCO + ": 504 with ms-diagnostics 1009 and the same domain/fqdn1 parameters",
    ),
    0xC3E93D67: KnownResult(
        "SIPPROXY_E_ROUTING_MSG_CERT_MISMATCH",
        "the next hop's TLS certificate does not contain the FQDN it was reached by (check the "
        "certificate's subject and SAN list against the SRV record's target)",
        _CISCO,
        1010,
        _CISCO + ": 504 with ms-diagnostics 1010, HRESULT 0x80090322 SEC_E_WRONG_PRINCIPAL",
    ),
    0xC3E93C2F: KnownResult(
        "SIPPROXY_E_UNKNOWN_USER_OR_EPID",
        "no user or endpoint for a subscription being notified: a stale subscription left by a "
        "client that did not disconnect cleanly; Microsoft says it can be ignored",
        _MS_32263,
    ),
    0xC3E8302D: KnownResult(
        "SIPPROXY_E_WORKER_PROCESS_SLOW_INITIALIZING",
        "a server worker process (RtcHost) started too slowly: low resources or missing privileges",
        _MS_12330,
    ),
    # Windows security (Schannel / SSPI) and socket errors servers report on connections.
    0x80090322: KnownResult(
        "SEC_E_WRONG_PRINCIPAL",
        "TLS: the peer's certificate names another server than the one connected to",
        _WINERROR,
        1010,
        _CISCO + ": inside ms-diagnostics 1010 as HRESULT",
    ),
    0x80090324: KnownResult(
        "SEC_E_TIME_SKEW", "clocks of client and server differ too much (Kerberos)", _WINERROR
    ),
    0x80090325: KnownResult(
        "SEC_E_UNTRUSTED_ROOT",
        "TLS: the peer's certificate chain ends in a root this server does not trust",
        _WINERROR,
    ),
    0x80090326: KnownResult(
        "SEC_E_ILLEGAL_MESSAGE",
        "TLS: the handshake failed (a message could not be processed, often a rejected "
        "certificate or no common protocol version / cipher)",
        _WINERROR,
    ),
    0x80090327: KnownResult(
        "SEC_E_CERT_UNKNOWN", "TLS: unknown error processing the certificate", _WINERROR
    ),
    0x80090328: KnownResult("SEC_E_CERT_EXPIRED", "TLS: the certificate has expired", _WINERROR),
    0x80090308: KnownResult(
        "SEC_E_INVALID_TOKEN", "the authentication token given was not valid", _WINERROR
    ),
    0x8009030C: KnownResult(
        "SEC_E_LOGON_DENIED", "the logon attempt failed (wrong credentials)", _WINERROR
    ),
    0x8009030E: KnownResult("SEC_E_NO_CREDENTIALS", "no credentials are available", _WINERROR),
    0x80090311: KnownResult(
        "SEC_E_NO_AUTHENTICATING_AUTHORITY",
        "no authority could be contacted for authentication (domain controller / KDC)",
        _WINERROR,
    ),
    0x80090317: KnownResult("SEC_E_CONTEXT_EXPIRED", "the security context has expired", _WINERROR),
    0x80092012: KnownResult(
        "CRYPT_E_NO_REVOCATION_CHECK",
        "the certificate's revocation could not be checked",
        _WINERROR,
    ),
    0x80092013: KnownResult(
        "CRYPT_E_REVOCATION_OFFLINE",
        "the revocation server (CRL / OCSP) could not be reached",
        _WINERROR,
    ),
    0x80072743: KnownResult("WSAENETUNREACH", "network unreachable", _WINERROR),
    0x80072746: KnownResult("WSAECONNRESET", "the connection was reset by the peer", _WINERROR),
    0x8007274C: KnownResult(
        "WSAETIMEDOUT", "connecting timed out: the peer did not answer", _WINERROR
    ),
    0x8007274D: KnownResult(
        "WSAECONNREFUSED", "connection refused: nothing listens on that port", _WINERROR
    ),
    0x80072751: KnownResult("WSAEHOSTUNREACH", "host unreachable", _WINERROR),
    0x80072AF9: KnownResult("WSAHOST_NOT_FOUND", "DNS: host name not found", _WINERROR),
}

#: By name, for records that give a name Microsoft explains without its value.
KNOWN_BY_NAME: dict[str, KnownResult] = {k.name: k for k in KNOWN.values()}
KNOWN_BY_NAME["SIPPROXY_E_EPROUTING_MSG_INVALID_EXT_SPLIT_DOMAIN"] = KnownResult(
    "SIPPROXY_E_EPROUTING_MSG_INVALID_EXT_SPLIT_DOMAIN",
    "split domain (hybrid): the domain is shared with Office 365 and its federation DNS "
    "records lead on-premises, which is not configured for it",
    _MS_SPLIT,
)

_PREFIXES = (
    ("SIPPROXY_E_EPROUTING", "SIP proxy: routing to an external (federated / public) domain"),
    ("SIPPROXY_E_ROUTING", "SIP proxy: routing"),
    ("SIPPROXY_E_CONNECTION", "SIP proxy: connection"),
    ("SIPPROXY_E_", "SIP proxy (SIPStack) error"),
    ("SEC_E_", "Windows security (TLS / authentication) error"),
    ("SEC_I_", "Windows security (TLS / authentication) status"),
    ("CRYPT_E_", "certificate / cryptography error"),
    ("CERT_E_", "certificate error"),
    ("WSAE", "socket error"),
    ("WSA", "socket error"),
    ("RTC_E_", "Lync / OCS error"),
    ("E_", "generic Windows error"),
)


def lookup(value: int | None, name: str | None = None) -> KnownResult | None:
    """The explained code for a value (else for the name), or None."""
    if value is not None and value in KNOWN:
        return KNOWN[value]
    if name:
        return KNOWN_BY_NAME.get(name.upper())
    return None


def describe(value: int | None, name: str | None = None) -> str | None:
    """One line for a reader: the known meaning, else what the name and layout tell.

    ``describe(0xC3E93D67)`` → ``the next hop's TLS certificate ...; the client gets
    ms-diagnostics 1010 (SIP stack: certificate not trusted)``.
    """
    known = lookup(value, name)
    if known is not None:
        text = known.meaning
        if known.ms_diagnostics is not None:
            meaning = diagnostic_meaning(known.ms_diagnostics)
            text += f"; the client gets ms-diagnostics {known.ms_diagnostics}" + (
                f" ({meaning})" if meaning else ""
            )
        return text
    parts = []
    if name:
        upper = name.upper()
        for prefix, what in _PREFIXES:
            if upper.startswith(prefix):
                parts.append(what)
                break
    if value is not None:
        facility = (value >> 16) & 0x7FF
        if value & 0x80000000 and facility == 7:
            parts.append(f"Win32 error {value & 0xFFFF}")
        elif value & 0x80000000 and facility in (0x3E8, 0x3E9):
            parts.append("Lync / Skype for Business server code")
        elif not value & 0x80000000:
            parts.append("success code")
    return "; ".join(parts) if parts else None


__all__ = ["KNOWN", "KNOWN_BY_NAME", "KnownResult", "describe", "lookup"]
