"""RC4, 3DES with TLS 1.0's chained IVs, TLS 1.1 CBC, renegotiation and session-ID
resumption, on connections written by tls_synthetic.py. The frame numbers asserted are those
tshark 4.0.17 showed SIP in when decrypting the same files with the same keys (key log, and
the RSA key through `-o uat:rsa_keys`)."""

from __future__ import annotations

from pathlib import Path

import pytest
import scenario_tls

import lyncdump

from . import tls_synthetic as syn

SIP = scenario_tls.conversation()


def _frames(capture: lyncdump.Capture) -> list[int | None]:
    return [m.frame for m in capture.messages()]


@pytest.fixture()
def sample_key(tmp_path: Path) -> Path:
    path = tmp_path / "sample.key"
    path.write_text(scenario_tls.SAMPLE_SERVER_KEY)
    return path


@pytest.mark.parametrize(
    "suite, version, name",
    [
        (syn.RC4_SHA, 0x0303, "TLS_RSA_WITH_RC4_128_SHA"),
        (syn.DES3_SHA, 0x0301, "TLS_RSA_WITH_3DES_EDE_CBC_SHA"),
        (syn.AES128_SHA, 0x0302, "TLS_RSA_WITH_AES_128_CBC_SHA"),
    ],
)
def test_old_suites_with_key_log_and_with_rsa_key(
    tmp_path: Path, sample_key: Path, suite: tuple, version: int, name: str
) -> None:
    pcap = tmp_path / "old.pcap"
    keylog = tmp_path / "old.keys"
    keylog.write_text(syn.write(pcap, suite, version, SIP, rsa=True))
    for options in ({"keylog": keylog}, {"rsa_key": sample_key}):
        capture = lyncdump.open(pcap, **options).run()  # type: ignore[arg-type]
        assert [m.raw for m in capture.messages()] == [m for _, m in SIP]
        assert _frames(capture) == [14, 15, 16, 17, 18, 19]  # tshark: frames with SIP
        tls = capture.connections[0].tls
        assert tls is not None and tls.cipher_suite == name and tls.failed_records == 0
        assert len(capture.defects) == 0


def test_renegotiation_switches_to_the_new_keys(tmp_path: Path) -> None:
    pcap = tmp_path / "reneg.pcap"
    keylog = tmp_path / "reneg.keys"
    keylog.write_text(syn.write(pcap, syn.AES256_GCM, 0x0303, SIP, renegotiate_after=2))
    capture = lyncdump.open(pcap, keylog=keylog).run()
    assert [m.raw for m in capture.messages()] == [m for _, m in SIP]
    # tshark: SIP in 14, 15, then the encrypted second handshake (16-25), SIP again from 26
    assert _frames(capture) == [14, 15, 26, 27, 28, 29]
    tls = capture.connections[0].tls
    assert tls is not None and tls.renegotiations == 1 and len(capture.defects) == 0


def test_session_id_resumption_uses_the_first_connection_keys(
    tmp_path: Path, sample_key: Path
) -> None:
    pcap = tmp_path / "resume.pcap"
    keylog = tmp_path / "resume.keys"
    keylog.write_text(syn.write(pcap, syn.AES128_SHA, 0x0303, SIP, resume=True, rsa=True))
    assert keylog.read_text().count("CLIENT_RANDOM") == 1  # nothing for the second connection
    for options in ({"keylog": keylog}, {"rsa_key": sample_key}):
        capture = lyncdump.open(pcap, **options).run()  # type: ignore[arg-type]
        assert _frames(capture) == [14, 15, 16, 17, 18, 19, 32, 33, 34, 35, 36, 37]
        first, second = (c.tls for c in capture.connections)
        assert first is not None and not first.resumed
        assert second is not None and second.resumed
        assert second.key_source == "resumed session"
