"""The sample TLS flights of tools/scenario_tls.py as (direction, record bytes), for tests."""

from __future__ import annotations

import scenario_tls


def sample_flights() -> tuple[list[tuple[int, bytes]], scenario_tls.TlsWriter]:
    """The Lync sample's handshake and first application data, record by record."""
    sent: list[tuple[int, bytes]] = []
    key, cert = scenario_tls.sample_identity()
    tls = scenario_tls.TlsWriter(
        scenario_tls.ECDHE_RSA_AES256_GCM_SHA384,
        0x0303,
        scenario_tls._hash("master secret", 48),
        "lync",
        lambda d, data: sent.append((d, data)),
    )
    tls.client_hello(scenario_tls.POOL_NAME)
    tls.server_flight(cert, key, scenario_tls._hash("session id"))
    tls.client_flight()
    tls.application_data(0, scenario_tls.NEGOTIATE)
    tls.application_data(1, scenario_tls.NEGOTIATE_OK)
    return sent, tls


def handshake_body(record: bytes) -> bytes:
    """The body of the one handshake message in a plaintext handshake record."""
    return record[9:]
