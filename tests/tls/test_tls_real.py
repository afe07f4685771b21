"""Real TLS made by Python's ssl module (OpenSSL) over memory BIOs, recorded into captures by
tests/tls/tls_recorder.py, decoded back through ``lyncdump.open``: every SIP message sent must
come out, byte for byte (the bytes handed to OpenSSL are the oracle)."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest
import scenario_tls
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12
from pcapgen import Builder

import lyncdump
from lyncdump.errors import KeyMaterialError
from lyncdump.sipcomp.stream import SipcompStreamEncoder

from . import tls_recorder as rec

TLS12 = {"max_version": ssl.TLSVersion.TLSv1_2}
SIP = scenario_tls.conversation()


def _record(
    tmp_path: Path, messages: list[tuple[int, bytes]] = SIP, *, segment: int = 1400, **kw: object
) -> tuple[Path, Path, rec.Recording]:
    keylog = tmp_path / "keys.log"
    server, client = rec.contexts(rec.server_identity(), tmp_path, keylog=keylog, **kw)  # type: ignore[arg-type]
    recording = rec.run(server, client, messages)
    pcap = recording.write_pcap(tmp_path / "tls.pcap", segment=segment)
    return pcap, keylog, recording


def _raw(capture: lyncdump.Capture) -> list[tuple[str, bytes]]:
    return [(str(m.src), m.raw) for m in capture.messages()]


def _sent(messages: list[tuple[int, bytes]]) -> list[tuple[str, bytes]]:
    ends = (f"{rec.CLIENT_IP}:50123", f"{rec.SERVER_IP}:5061")
    return [(ends[d], data) for d, data in messages]


def test_tls12_ecdhe_aes_gcm_with_key_log(tmp_path: Path) -> None:
    pcap, keylog, recording = _record(tmp_path, ciphers="ECDHE-RSA-AES256-GCM-SHA384", **TLS12)
    assert recording.cipher == "ECDHE-RSA-AES256-GCM-SHA384"
    capture = lyncdump.open(pcap, keylog=keylog).run()
    assert _raw(capture) == _sent(SIP)
    assert {m.transport for m in capture.messages()} == {"TLS"}
    assert len(capture.defects) == 0
    (conn,) = capture.connections
    tls = conn.tls
    assert tls is not None and conn.protocol == "tls" and conn.sip_messages == 6
    assert tls.version == "TLS 1.2"
    assert tls.cipher_suite == "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"
    assert tls.sni == rec.POOL and tls.decrypted and tls.key_source == "key log"
    assert tls.application == "sip" and tls.failed_records == 0
    assert tls.plaintext_bytes == sum(len(m) for _, m in SIP)
    assert tls.certificate is not None and tls.certificate.subject == (
        "O=Contoso,CN=pool01.contoso.com"
    )
    assert tls.needs is None


def test_tls12_rsa_key_exchange_aes_cbc_with_the_rsa_key_alone(tmp_path: Path) -> None:
    pcap, _, recording = _record(tmp_path, ciphers="AES128-SHA256", **TLS12)
    assert recording.cipher == "AES128-SHA256"
    capture = lyncdump.open(pcap, rsa_key=tmp_path / "server.key").run()
    assert _raw(capture) == _sent(SIP)
    tls = capture.connections[0].tls
    assert tls is not None
    assert tls.cipher_suite == "TLS_RSA_WITH_AES_128_CBC_SHA256"
    assert tls.key_source == "RSA key" and tls.rsa_key_exchange and tls.failed_records == 0


def test_tls13_with_key_log_and_records_split_everywhere(tmp_path: Path) -> None:
    # 7-byte TCP segments: every record header, record and handshake message is split.
    pcap, keylog, recording = _record(tmp_path, segment=7)
    assert recording.version == "TLSv1.3"
    capture = lyncdump.open(pcap, keylog=keylog).run()
    assert _raw(capture) == _sent(SIP)
    tls = capture.connections[0].tls
    assert tls is not None and tls.version == "TLS 1.3"
    assert tls.cipher_suite == "TLS_AES_256_GCM_SHA384"
    # TLS 1.3 certificates are encrypted: seen only because the handshake was decrypted
    assert tls.certificate is not None and "DNS:sip.contoso.com" in tls.certificate.san
    assert len(capture.defects) == 0


def test_compressed_sip_inside_tls(tmp_path: Path) -> None:
    encoders = (SipcompStreamEncoder(), SipcompStreamEncoder())
    wire = [(0, scenario_tls.NEGOTIATE), (1, scenario_tls.NEGOTIATE_OK)]
    wire += [(d, encoders[d].encode(m)) for d, m in SIP]
    pcap, keylog, _ = _record(tmp_path, wire, ciphers="ECDHE-RSA-AES128-GCM-SHA256", **TLS12)
    capture = lyncdump.open(pcap, keylog=keylog).run()
    plain = [(0, scenario_tls.NEGOTIATE), (1, scenario_tls.NEGOTIATE_OK), *SIP]
    assert _raw(capture) == _sent(plain)
    assert [m.compressed for m in capture.messages()] == [False, False] + [True] * len(SIP)
    conn = capture.connections[0]
    assert conn.compressed and conn.protocol == "tls"
    assert conn.tls is not None and conn.tls.application == "sip"


@pytest.mark.parametrize(
    "ciphers, versions, key",
    [
        ("ECDHE-RSA-CHACHA20-POLY1305", TLS12, "keylog"),
        ("AES128-CCM", TLS12, "rsa"),
        ("AES256-CCM8", TLS12, "rsa"),
        ("ECDHE-RSA-AES256-SHA384", TLS12, "keylog"),
        ("AES256-SHA", TLS12, "rsa"),
        (
            "AES128-SHA:@SECLEVEL=0",
            {"min_version": ssl.TLSVersion.TLSv1, "max_version": ssl.TLSVersion.TLSv1},
            "rsa",
        ),
        (
            "ECDHE-RSA-AES256-SHA:@SECLEVEL=0",
            {"min_version": ssl.TLSVersion.TLSv1_1, "max_version": ssl.TLSVersion.TLSv1_1},
            "keylog",
        ),
    ],
)
def test_more_suites_and_versions(
    tmp_path: Path, ciphers: str, versions: dict[str, ssl.TLSVersion], key: str
) -> None:
    try:
        pcap, keylog, _ = _record(tmp_path, segment=300, ciphers=ciphers, **versions)  # type: ignore[arg-type]
    except (ssl.SSLError, AssertionError) as exc:  # an OpenSSL built without it
        pytest.skip(f"{ciphers}: {exc}")
    options = {"keylog": keylog} if key == "keylog" else {"rsa_key": tmp_path / "server.key"}
    capture = lyncdump.open(pcap, **options).run()
    assert _raw(capture) == _sent(SIP)
    assert len(capture.defects) == 0


def _two_connections(tmp_path: Path, **kw: object) -> tuple[Path, Path, list[rec.Recording]]:
    keylog = tmp_path / "keys.log"
    server, client = rec.contexts(rec.server_identity(), tmp_path, keylog=keylog, **kw)  # type: ignore[arg-type]
    first = rec.run(server, client, SIP[:2])
    second = rec.run(server, client, SIP[2:], session=first.session)
    assert second.resumed
    return rec.write_capture(tmp_path / "two.pcap", [first, second]), keylog, [first, second]


def test_tls12_ticket_resumption_with_the_rsa_key_alone(tmp_path: Path) -> None:
    # The resumed handshake has no key exchange: its keys come from the first connection.
    pcap, _, _ = _two_connections(tmp_path, ciphers="AES256-GCM-SHA384", **TLS12)
    capture = lyncdump.open(pcap, rsa_key=tmp_path / "server.key").run()
    assert [m.raw for m in capture.messages()] == [m for _, m in SIP]
    first, second = (c.tls for c in capture.connections)
    assert first is not None and second is not None
    assert not first.resumed and first.key_source == "RSA key"
    assert second.resumed and second.key_source == "resumed session"


def test_tls13_resumption_with_key_log(tmp_path: Path) -> None:
    pcap, keylog, _ = _two_connections(tmp_path)
    capture = lyncdump.open(pcap, keylog=keylog).run()
    assert [m.raw for m in capture.messages()] == [m for _, m in SIP]


def test_pcapng_decryption_secrets_block_needs_no_option(tmp_path: Path) -> None:
    _, keylog, recording = _record(tmp_path)
    path = rec.write_capture(tmp_path / "dsb.pcapng", [recording], secrets=keylog.read_bytes())
    capture = lyncdump.open(path).run()
    assert _raw(capture) == _sent(SIP)
    assert capture.connections[0].tls.key_source == "pcapng secrets"  # type: ignore[union-attr]


def test_without_keys_the_handshake_is_shown_and_the_right_key_named(tmp_path: Path) -> None:
    pcap, _, _ = _record(tmp_path, ciphers="AES128-SHA256", **TLS12)
    capture = lyncdump.open(pcap).run()
    assert capture.messages() == []
    tls = capture.connections[0].tls
    assert tls is not None and not tls.decrypted
    assert tls.sni == rec.POOL and tls.certificate is not None
    assert tls.note == "no TLS keys given"
    assert tls.needs is not None and "RSA private key" in tls.needs
    pcap13, _, _ = _record(tmp_path)
    tls13 = lyncdump.open(pcap13).run().connections[0].tls
    assert tls13 is not None and tls13.certificate is None  # encrypted in TLS 1.3
    assert tls13.needs is not None and "TLS 1.3 traffic secrets" in tls13.needs


def test_wrong_rsa_key_is_named_not_a_traceback(tmp_path: Path) -> None:
    pcap, _, _ = _record(tmp_path, ciphers="AES128-SHA256", **TLS12)
    other = tmp_path / "other.key"
    other.write_bytes(rec.server_identity("other.contoso.com").key_pem())
    capture = lyncdump.open(pcap, rsa_key=other).run()
    tls = capture.connections[0].tls
    assert capture.messages() == [] and tls is not None and not tls.decrypted
    assert tls.note == "the RSA key given is not this server's (O=Contoso,CN=pool01.contoso.com)"


def test_rsa_key_in_pkcs12_and_encrypted_pem(tmp_path: Path) -> None:
    pcap, _, _ = _record(tmp_path, ciphers="AES128-SHA256", **TLS12)
    identity = rec.server_identity()
    p12 = tmp_path / "server.pfx"
    p12.write_bytes(
        pkcs12.serialize_key_and_certificates(
            b"pool",
            identity.key,
            identity.cert,
            None,
            serialization.BestAvailableEncryption(b"s3cret!"),
        )
    )
    pem = tmp_path / "enc.pem"
    pem.write_bytes(identity.key_pem(b"s3cret!"))
    for path in (p12, pem):
        capture = lyncdump.open(pcap, rsa_key=path, rsa_key_password="s3cret!").run()
        assert len(capture.messages()) == len(SIP)
        with pytest.raises(KeyMaterialError) as info:
            lyncdump.open(pcap, rsa_key=path, rsa_key_password="wrong-pw")
        assert "wrong-pw" not in str(info.value) and str(path) in str(info.value)
    with pytest.raises(KeyMaterialError, match="give --rsa-key-password"):
        lyncdump.open(pcap, rsa_key=pem)


def test_tampered_record_fails_its_tag_and_the_rest_goes_on(tmp_path: Path) -> None:
    pcap, keylog, recording = _record(tmp_path, ciphers="ECDHE-RSA-AES128-GCM-SHA256", **TLS12)
    index = max(i for i, (d, _) in enumerate(recording.chunks) if d == 0)
    direction, data = recording.chunks[index - 2]  # the client's second-to-last REGISTER/MESSAGE
    recording.chunks[index - 2] = (direction, data[:-1] + bytes([data[-1] ^ 1]))
    path = recording.write_pcap(tmp_path / "tampered.pcap")
    capture = lyncdump.open(path, keylog=keylog).run()
    tls = capture.connections[0].tls
    assert tls is not None and tls.failed_records == 1
    reasons = [d.reason for d in capture.defects]
    who = "client" if direction == 0 else "server"
    assert f"{who} record does not decrypt: AEAD tag check failed" in reasons
    assert len(capture.messages()) == len(SIP) - 1


def test_missing_bytes_stop_the_direction_with_a_defect(tmp_path: Path) -> None:
    _, keylog, recording = _record(tmp_path, ciphers="ECDHE-RSA-AES128-GCM-SHA256", **TLS12)
    lost = max(i for i, (d, _) in enumerate(recording.chunks) if d == 0)  # the MESSAGE record
    b = Builder()
    flow = b.tcp((rec.CLIENT_IP, 50123), (rec.SERVER_IP, 5061))
    flow.handshake(0.0)
    for i, (direction, data) in enumerate(recording.chunks):
        if i == lost:
            flow.seq[direction] += len(data)  # never captured
        else:
            flow.send(0.01 * (i + 1), direction, data)
    flow.close(1.0)
    path = tmp_path / "lost.pcap"
    b.write(str(path))
    capture = lyncdump.open(path, keylog=keylog).run()
    assert [m.raw for m in capture.messages()] == [m for i, (_, m) in enumerate(SIP) if i != 4]
    assert any("missing in the client's TLS stream" in d.reason for d in capture.defects)


def test_tls_wrapped_turn_goes_to_the_media_demultiplexer(tmp_path: Path) -> None:
    # STUN over TCP inside TLS on 443, as a client reaching a TURN server over real TLS.
    request = bytes.fromhex("0001 0000 2112a442") + bytes(range(12))
    response = bytes.fromhex("0101 0000 2112a442") + bytes(range(12))
    pcap, keylog, _ = _record(tmp_path, [(0, request), (1, response)], **TLS12)
    capture = lyncdump.open(pcap, keylog=keylog).run()
    conn = capture.connections[0]
    assert conn.protocol == "tls" and conn.tls is not None
    assert conn.tls.application == "stun-turn"
    assert [m.transaction_id for m in capture.stun_messages()] == [bytes(range(12)).hex()] * 2
