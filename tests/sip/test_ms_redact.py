"""--redact on every sample capture: no IM text, token, signature or key survives in any output."""

from __future__ import annotations

import base64
import json

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

import lyncdump
from lyncdump.cli import command
from lyncdump.render.redact import redact_message
from lyncdump.sip.message import parse_message

from ..conftest import CAPTURES

SAMPLES = sorted(p for p in CAPTURES.iterdir() if p.suffix in (".pcap", ".pcapng", ".cap", ".gz"))


def _secrets(path: str) -> set[str]:
    """Every secret the unredacted capture shows: IM text, tokens, signatures, SDP keys."""
    found: set[str] = set()
    for m in lyncdump.open(path).messages():
        for name, value in m.headers:
            low = name.lower()
            if low in (
                "authorization",
                "proxy-authorization",
                "authentication-info",
                "proxy-authentication-info",
                "www-authenticate",
                "proxy-authenticate",
            ):
                for key in ('gssapi-data="', 'response="', 'rspauth="'):
                    i = value.find(key)
                    if i >= 0:
                        secret = value[i + len(key) : value.find('"', i + len(key))]
                        if len(secret) >= 8:
                            found.add(secret[:40])
            if low in ("ms-text-format", "ms-im-format") and "ms-body=" in value:
                b64 = value.split("ms-body=", 1)[1].split(";", 1)[0]
                found.add(base64.b64decode(b64 + "=" * (-len(b64) % 4)).decode()[:20])
                found.add(b64[:20])
        if m.method == "MESSAGE" and m.body:
            found.add(m.body.decode("utf-8", "replace")[:12])
        for line in m.body.decode("utf-8", "replace").split("\n"):
            if line.startswith("a=ice-pwd:"):
                found.add(line.rstrip("\r")[10:30])
            elif line.startswith("a=crypto:") and "inline:" in line:
                found.add(line.split("inline:", 1)[1].split("|", 1)[0][:20])
    return {s for s in found if len(s.strip()) >= 5}


@pytest.mark.parametrize("capture", SAMPLES, ids=lambda p: p.name)
def test_redact_every_output(capture) -> None:
    secrets = _secrets(str(capture))
    runner = CliRunner()
    for args in (
        ["--redact"],
        ["--redact", "-v"],
        ["--redact", "--json"],
        ["--redact", "--json", "-v"],
    ):
        out = runner.invoke(command, [*args, str(capture)]).output
        for secret in secrets:
            assert secret not in out, (args, secret)
        # the JSON stays valid
        if "--json" in args:
            for line in out.splitlines():
                json.loads(line)


def test_secret_samples_are_not_trivially_empty() -> None:
    assert "hello" in _secrets(str(CAPTURES / "lync-signin-tcp.pcapng"))
    found = _secrets(str(CAPTURES / "lync-im-conversation.pcapng"))
    assert "Hi Bob, got a minute" in found and "Sure - call " in found


def test_redacted_facts_keep_identity_but_not_text() -> None:
    out = (
        CliRunner().invoke(command, ["--redact", str(CAPTURES / "lync-remote-ntlm.pcapng")]).output
    )
    assert "NTLM AUTHENTICATE CONTOSO\\alice on ALICE-LAPTOP (NTLMv2)" in out
    im = (
        CliRunner()
        .invoke(command, ["--redact", str(CAPTURES / "lync-im-conversation.pcapng")])
        .output
    )
    assert "first IM (text redacted)" in im
    assert "sip:bob@contoso.com: (text redacted)  delivered 200" in im


def test_redact_sdp_keys_and_digest() -> None:
    sdp = (
        "v=0\r\no=- 0 0 IN IP4 1.2.3.4\r\ns=-\r\nc=IN IP4 1.2.3.4\r\nt=0 0\r\nm=audio 5000 RTP/SAVP 0\r\n"  # noqa: E501
        "a=ice-pwd:SECRETPASSWORD1234567890\r\n"
        "a=candidate:3SNRBRVlg9RdRvKYW2S1aM5YUIbOSlxk 1 W2qMcjSo8lLK1blKWN6QOZmIv5Md2X4q UDP 0.830 1.2.3.4 5000\r\n"  # noqa: E501
        "a=crypto:2 AES_CM_128_HMAC_SHA1_80 inline:d0RmdmcmVCspeEc3QGZiNWpVLFJhQX1cfHAwJSoj|2^31|1:1\r\n"  # noqa: E501
    )
    raw = (
        "INVITE sip:b@c SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:a@c>;tag=1\r\n"
        "To: <sip:b@c>\r\nCall-ID: x\r\nCSeq: 1 INVITE\r\n"
        'Authorization: Digest username="a", response="bf57e4e0d0bffc0fbaedce64d59add5e", cnonce="0a4f113b"\r\n'  # noqa: E501
        f"Content-Type: application/sdp\r\nContent-Length: {len(sdp)}\r\n\r\n{sdp}"
    ).encode()
    m = parse_message(raw)
    redact_message(m)
    text = m.raw.decode()
    for secret in (
        "SECRETPASSWORD",
        "W2qMcjSo8lLK1blKWN6QOZmIv5Md2X4q",
        "d0RmdmcmVCspeEc3",
        "bf57e4e0d0bffc0f",
        "0a4f113b",
    ):
        assert secret not in text
    assert 'username="a"' in text
    assert (
        "a=candidate:3SNRBRVlg9RdRvKYW2S1aM5YUIbOSlxk 1 <redacted> UDP 0.830 1.2.3.4 5000" in text
    )
    assert f"Content-Length: {len(m.body)}" in text


@settings(max_examples=200, deadline=None)
@given(
    st.text(alphabet=st.characters(blacklist_characters="\r\n\x00"), max_size=120),
    st.binary(max_size=200),
    st.sampled_from(["text/plain", "application/sdp", "application/xml", "multipart/alternative"]),
)
def test_redact_random_messages(auth: str, body: bytes, ctype: str) -> None:
    raw = (
        "MESSAGE sip:b@c SIP/2.0\r\nVia: SIP/2.0/TLS h;branch=z9hG4bK1\r\nFrom: <sip:a@c>;tag=1\r\n"
        f"To: <sip:b@c>\r\nCall-ID: x\r\nCSeq: 1 MESSAGE\r\n"
        f'Authorization: NTLM gssapi-data="SECRETTOKEN{auth}", {auth}\r\n'
        f"ms-text-format: text/plain; ms-body={auth}\r\n"
        f"Content-Type: {ctype}\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode("utf-8", "replace") + body
    m = parse_message(raw)
    redact_message(m)
    assert b"SECRETTOKEN" not in m.raw
    assert m.body.startswith(b"[<redacted>") or not body
