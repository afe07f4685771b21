"""What a TLS connection's summary says: a public result type every run names.

:class:`TlsSummary` is a field of :class:`~lyncdump.pipeline.ConnectionSummary`, so the
pipeline imports it on every run (``typing.get_type_hints`` resolves it); the handshake
parser and the record decryption (:mod:`.handshake`, :mod:`.decrypt`, cryptography) load with
the first TLS connection. Both modules re-export what moved here.
"""

from __future__ import annotations

from dataclasses import dataclass, field

KEYLOG_HINT = "a key log (--keylog, SSLKEYLOGFILE, pcapng Decryption Secrets)"
RSA_HINT = KEYLOG_HINT + " or the server's RSA private key (--rsa-key)"


@dataclass(frozen=True, slots=True)
class CertificateSummary:
    """What users check first in a server certificate."""

    subject: str
    issuer: str
    san: tuple[str, ...]
    not_before: str
    not_after: str
    #: The certificate's SubjectPublicKeyInfo (DER), to tell whether a given RSA key is this
    #: server's. Bytes, not a key object: the summary pickles and ``dataclasses.asdict``-s.
    public_key: bytes | None = field(default=None, compare=False, repr=False)

    def to_dict(self) -> dict[str, object]:
        return {
            "subject": self.subject,
            "issuer": self.issuer,
            "san": list(self.san),
            "not_before": self.not_before,
            "not_after": self.not_after,
        }


@dataclass(slots=True)
class TlsSummary:
    """The handshake of one TLS connection and how far decryption got."""

    version: str | None = None
    cipher_suite: str | None = None
    sni: str | None = None
    offered_suites: int = 0
    certificate: CertificateSummary | None = None
    resumed: bool = False
    renegotiations: int = 0
    decrypted: bool = False
    key_source: str | None = None
    rsa_key_exchange: bool = False
    note: str | None = None
    alerts: list[str] = field(default_factory=list)
    records: int = 0
    decrypted_records: int = 0
    failed_records: int = 0
    encrypted_bytes: int = 0
    plaintext_bytes: int = 0
    application: str | None = None
    #: The handshake (or the hello that carries the client random) is not in the capture: no
    #: key can open the connection, whatever is given (``note`` says which part is missing).
    handshake_missing: bool = field(default=False, repr=False)
    #: TLS 1.3 KeyUpdate messages read (both directions).
    key_updates: int = 0

    @property
    def needs(self) -> str | None:
        """Which kind of key would let lyncdump decode this connection (None when decrypted,
        and when no key could: the handshake is not in the capture)."""
        if (self.decrypted and not self.failed_records) or self.handshake_missing:
            return None
        if self.version == "TLS 1.3":
            return "a key log with the TLS 1.3 traffic secrets (--keylog, SSLKEYLOGFILE)"
        return RSA_HINT if self.rsa_key_exchange else KEYLOG_HINT

    def to_dict(self) -> dict[str, object]:
        return {
            "version": self.version,
            "cipher_suite": self.cipher_suite,
            "sni": self.sni,
            "certificate": self.certificate.to_dict() if self.certificate else None,
            "resumed": self.resumed,
            "renegotiations": self.renegotiations,
            "decrypted": self.decrypted,
            "key_source": self.key_source,
            "needs": self.needs,
            "note": self.note,
            "alerts": list(self.alerts),
            "records": self.records,
            "decrypted_records": self.decrypted_records,
            "failed_records": self.failed_records,
            "encrypted_bytes": self.encrypted_bytes,
            "plaintext_bytes": self.plaintext_bytes,
            "application": self.application,
            **({"key_updates": self.key_updates} if self.key_updates else {}),
        }


__all__ = ["KEYLOG_HINT", "RSA_HINT", "CertificateSummary", "TlsSummary"]
