"""Handshake summaries of the real TLS in the corpus (teams.pcap: 40 connections to Microsoft
365 / Teams on 443) against tshark 4.0.17's decode of the same file. tshark's values below:
`-Y tls.handshake.type==1 -e tcp.srcport -e tls.handshake.extensions_server_name`,
`type==2 -e tcp.dstport -e tls.handshake.ciphersuite`, `type==11 -e x509ce.dNSName` (first).
Where tshark lost a ServerHello to out-of-order segments (60534, 60538, ...) lyncdump may see
more; every value tshark shows must be the same."""

from __future__ import annotations

from pathlib import Path

import lyncdump

SNI = {
    50014: "52.114.250.152", 50018: "euaz.tr.teams.microsoft.com",
    50021: "euaz.tr.teams.microsoft.com", 50036: "52.114.250.153",
    60532: "mobile.pipe.aria.microsoft.com", 60533: "teams.microsoft.com",
    60534: "login.microsoftonline.com", 60535: "mobile.pipe.aria.microsoft.com",
    60536: "teams.microsoft.com", 60537: "mobile.pipe.aria.microsoft.com",
    60538: "eu-prod.asyncgw.teams.microsoft.com", 60539: "eu-api.asm.skype.com",
    60540: "eu-prod.asyncgw.teams.microsoft.com", 60541: "eu-api.asm.skype.com",
    60542: "config.teams.microsoft.com", 60543: "mobile.pipe.aria.microsoft.com",
    60544: "northeurope.notifications.teams.microsoft.com",
    60545: "presence.teams.microsoft.com", 60546: "dati.ntop.org",
    60547: "chatsvcagg.teams.microsoft.com", 60548: "mobile.pipe.aria.microsoft.com",
    60549: "substrate.office.com", 60551: "trouter2-asse-a.trouter.teams.microsoft.com",
    60552: "mobile.pipe.aria.microsoft.com", 60554: "config.teams.microsoft.com",
    60555: "mobile.pipe.aria.microsoft.com", 60556: "login.microsoftonline.com",
    60557: "teams.microsoft.com", 60559: "mobile.pipe.aria.microsoft.com",
    60560: "login.microsoftonline.com", 60561: "mobile.pipe.aria.microsoft.com",
    60562: "api.microsoftstream.com", 60563: "euno-1.api.microsoftstream.com",
    60564: "gate.hockeyapp.net", 60565: "emea.ng.msg.teams.microsoft.com",
    60566: "dati.ntop.org", 60567: "api.flightproxy.teams.microsoft.com",
    60568: "gate.hockeyapp.net",
}  # fmt: skip
SUITE_C030 = [
    50014, 50036, 60532, 60533, 60536, 60537, 60541, 60542, 60543, 60546, 60548, 60549,
    60551, 60552, 60554, 60555, 60557, 60560, 60561, 60562, 60563, 60566,
]  # fmt: skip
FIRST_SAN = {
    50014: "tr.teams.microsoft.com", 60532: "*.events.data.microsoft.com",
    60533: "teams.microsoft.com", 60541: "*.asm.skype.com",
    60542: "*.config.teams.microsoft.com", 60549: "Outlook.office.com",
    60551: "*.trouter.teams.microsoft.com", 60560: "login.microsoftonline.com",
    60562: "*.api.microsoftstream.com",
}  # fmt: skip


def test_teams_handshakes_match_tshark(corpus: Path) -> None:
    capture = lyncdump.open(corpus / "teams.pcap").run()
    by_port = {c.client.port: c.tls for c in capture.connections if c.tls is not None}
    assert {port: by_port[port].sni for port in SNI} == SNI  # type: ignore[union-attr]
    for port in SUITE_C030:
        tls = by_port[port]
        assert tls is not None and tls.version == "TLS 1.2"
        assert tls.cipher_suite == "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"
    for port, san in FIRST_SAN.items():
        cert = by_port[port].certificate  # type: ignore[union-attr]
        assert cert is not None and cert.san[0] == f"DNS:{san}"
    assert not any(d.layer == "tls" for d in capture.defects)
    began_before = {c.id for c in capture.connections if c.tls and c.tls.handshake_missing}
    assert began_before == {8, 17}  # their handshakes are not in the capture
    for c in capture.connections:
        if c.tls is None:
            continue
        assert not c.tls.decrypted
        if c.id in began_before:
            # No key can help: keys are matched by the client random of the handshake.
            assert c.tls.needs is None and c.tls.version is None
            assert c.tls.note is not None and "no key log or RSA key can" in c.tls.note
        else:
            assert c.tls.needs is not None and not c.tls.handshake_missing


def test_teams_data_after_a_reset_is_read_as_tshark_reads_it(corpus: Path) -> None:
    """Connection 8: the client resets, the server's 1,090 bytes in flight still arrive; tshark
    shows them as one more TLS record (application data, 1,085 bytes)."""
    capture = lyncdump.open(corpus / "teams.pcap").run()
    (conn,) = [c for c in capture.connections if c.id == 8]
    assert conn.tls is not None
    assert (conn.tls.records, conn.tls.encrypted_bytes) == (2, 31 + 1085)
