"""Connections written by tools/scenario_tls.py's TlsWriter for what OpenSSL 3 will not do any
more (RC4, 3DES) or Python's ssl cannot ask for (renegotiation, session-ID resumption).

tshark 4.0.17 decrypts each of these with the same key log (checked when the tests were
written; the values it showed are asserted in test_tls_synthetic.py)."""

from __future__ import annotations

from pathlib import Path

import scenario_tls
from pcapgen import Builder

from . import tls_recorder as rec

RC4_SHA = (0x0005, "RC4", "STREAM", 16, 0, "sha1", "sha256")
DES3_SHA = (0x000A, "3DES", "CBC", 24, 8, "sha1", "sha256")
AES128_SHA = (0x002F, "AES", "CBC", 16, 16, "sha1", "sha256")
AES256_GCM = scenario_tls.ECDHE_RSA_AES256_GCM_SHA384


def master(label: str) -> bytes:
    return scenario_tls._hash(label + " master", 48)


def write(
    path: Path,
    suite: tuple,
    version: int,
    messages: list[tuple[int, bytes]],
    *,
    renegotiate_after: int | None = None,
    resume: bool = False,
    rsa: bool = False,
) -> str:
    """Write the connection(s); returns the key log text (only the full handshakes' lines).

    ``rsa``: RSA key exchange to the sample key (scenario_tls.SAMPLE_SERVER_KEY), so the
    server's private key alone decrypts it too."""
    b = Builder()
    clock = [0.0]
    keylog = []
    session_id = scenario_tls._hash("synthetic session", 32)

    def connection(port: int) -> tuple[object, scenario_tls.TlsWriter]:
        flow = b.tcp((rec.CLIENT_IP, port), (rec.SERVER_IP, 5061))
        flow.handshake(clock[0])
        clock[0] += 0.01

        def send(direction: int, data: bytes) -> None:
            flow.send(clock[0], direction, data)
            clock[0] += 0.001

        return flow, scenario_tls.TlsWriter(suite, version, master("first"), f"s{port}", send)

    key, cert = scenario_tls.sample_identity()
    flow, tls = connection(50001)
    tls.client_hello(rec.POOL)
    tls.server_flight(cert, key, session_id)
    tls.client_flight(key.public_key() if rsa else None)  # type: ignore[attr-defined]
    keylog.append(tls.keylog_line())
    for i, (direction, message) in enumerate(messages):
        if renegotiate_after is not None and i == renegotiate_after:
            tls.renegotiate("second", master("second"))
            tls.client_hello(rec.POOL)
            tls.server_flight(cert, key, b"")
            tls.client_flight()
            keylog.append(tls.keylog_line())
        tls.application_data(direction, message)
    flow.close(clock[0])  # type: ignore[attr-defined]
    if resume:
        clock[0] += 1.0
        flow, again = connection(50002)
        again.master = tls.master
        again.abbreviated(session_id)
        for direction, message in messages:
            again.application_data(direction, message)
        flow.close(clock[0])  # type: ignore[attr-defined]
    b.write(str(path))
    return "".join(keylog)
