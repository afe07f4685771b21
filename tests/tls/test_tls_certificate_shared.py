"""A server certificate seen on many connections is read once (its summary is frozen, shared)."""

from __future__ import annotations

from cryptography.hazmat.primitives import serialization

from lyncdump.tls import handshake

from . import tls_recorder as rec


def test_the_same_certificate_is_summarised_once_and_the_table_is_bounded() -> None:
    der = rec.server_identity().cert.public_bytes(serialization.Encoding.DER)
    first = handshake.summarize_certificate(der)
    assert handshake.summarize_certificate(bytes(der)) is first
    assert first == handshake._summarize_certificate(der)
    assert first.subject == "O=Contoso,CN=pool01.contoso.com"
    handshake._RECENT_CERTS.clear()
    for i in range(handshake._RECENT_CERTS_MAX):
        handshake._RECENT_CERTS[bytes([i])] = first
    other = rec.server_identity("edge.contoso.com").cert.public_bytes(serialization.Encoding.DER)
    assert handshake.summarize_certificate(other).subject == "O=Contoso,CN=edge.contoso.com"
    assert len(handshake._RECENT_CERTS) == handshake._RECENT_CERTS_MAX
    assert bytes([0]) not in handshake._RECENT_CERTS and other in handshake._RECENT_CERTS
