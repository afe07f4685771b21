"""--redact on every output path (issue 16, item 7): the text ladder with -v, --json -v,
--calls, --streams-csv, --summary, the trace-log views and --merge, on one capture that holds
every kind of secret a decoder recognises, and on the same messages as trace logs."""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from hostile import CLIENT, SERVER, pcap, sip, udp

import lyncdump
from lyncdump.cli import command
from lyncdump.render.redact import REDACTED, REDACTED_DTMF, redact_message
from lyncdump.sip.message import parse_message

from ..conftest import CAPTURES

KEYS = [base64.b64encode(bytes([c]) * 30).decode() for c in b"KQZY"]
BASIC = base64.b64encode(b"alice:BasicPassw0rd!").decode()
IM = {
    "multipart": "Multipart IM secret text",
    "message": "Plain MESSAGE secret words",
    "xml": "XML body carries an IM secret",
    "first": "Embedded first IM secret",
    "html": "Rich HTML alternative secret",
    "cpim": "CPIM wrapped secret sentence",
}
SECRETS = [
    *KEYS,
    BASIC,
    "IcePwdSecret0123456789ab",
    "CandPwdSecretXYZ0123456789",
    "MsKeySecret123456",
    "KLineSecretPass",
    "BearerTokenSecret.abc.def",
    "d1g35tr35p0n5e00000000000000ffee",
    "CnonceSecret42",
    "TlRMTVNTUAADAAAAGAAYAEgAAAAYABgAYAAAA",
    "YIIFakeKerberosTokenSecretAAAA",
    "FgMBAFakeTlsDskTokenSecretAAAA",
    "MrasPasswordSecret+xyz",
    "YIIMoreToken",
    "My personal note secret",
    "Signal=7",
    'digits="4321"',
    *IM.values(),
    base64.b64encode(IM["first"].encode()).decode(),
]

_HEAD = (
    "Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK{n}\nFrom: <sip:alice@contoso.com>;tag=a{n}\n"
    "To: <sip:bob@contoso.com>\nCall-ID: {call}\nCSeq: {n} {method}\n"
)


def _request(method: str, n: int, call: str, extra: str = "", body: str = "") -> bytes:
    head = f"{method} sip:bob@contoso.com SIP/2.0\n" + _HEAD.format(n=n, call=call, method=method)
    return sip(head + extra + "\n" + body)


def _sdp() -> str:
    return (
        "v=0\no=- 0 0 IN IP4 10.0.0.1\ns=-\nc=IN IP4 10.0.0.1\nt=0 0\n"
        "k=clear:KLineSecretPass\n"
        "m=audio 5004 RTP/SAVP 0 101\n"
        "a=ice-pwd:IcePwdSecret0123456789ab\n"
        "a=candidate:3SNRBRVlg9RdRvKYW2S1aM5YUIbOSlxk 1 CandPwdSecretXYZ0123456789 UDP 0.830 "
        "10.0.0.1 5004\n"
        f"a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:{KEYS[0]}|2^31|1:1;inline:{KEYS[1]}|2^31|2:1\n"
        f"a=crypto:2 AES_CM_128_HMAC_SHA1_32 INLINE:{KEYS[2]}|2^31\n"
        f"a=cryptoscale:1 client AES_CM_128_HMAC_SHA1_80 inline:{KEYS[3]}|2^31|1:1\n"
        "a=x-ms-mediakey:MsKeySecret123456\n"
        "a=rtpmap:101 telephone-event/8000\n"
    )


def _messages() -> list[bytes]:
    boundary = "b0und4ry"
    multipart = (
        f"--{boundary}\nContent-Type: application/sdp\n\n{_sdp()}\n"
        f"--{boundary}\nContent-Type: text/plain; charset=UTF-8\n\n{IM['multipart']}\n"
        f"--{boundary}--\n"
    )
    alternative = (
        f"--{boundary}\nContent-Type: text/plain\n\nshort\n"
        f"--{boundary}\nContent-Type: text/html\n\n<p>{IM['html']}</p>\n--{boundary}--\n"
    )
    first = base64.b64encode(IM["first"].encode()).decode()
    note = (
        '<publish xmlns="http://schemas.microsoft.com/2006/09/sip/rich-presence">'
        '<publications uri="sip:alice@contoso.com"><publication categoryName="note">'
        '<category name="note"><note><body type="personal">My personal note secret</body>'
        "</note></category></publication></publications></publish>"
    )
    mras = (
        '<response xmlns="http://schemas.microsoft.com/2006/09/sip/mrasp"><credentialsResponse>'
        "<credentials><username>mrasuser</username><password>MrasPasswordSecret+xyz</password>"
        "</credentials></credentialsResponse></response>"
    )
    return [
        _request(
            "REGISTER",
            1,
            "reg-1",
            'Authorization: Digest username="alice", realm="contoso.com", nonce="n1", '
            'uri="sip:contoso.com", response="d1g35tr35p0n5e00000000000000ffee", '
            'cnonce="CnonceSecret42", qop=auth\n'
            'Proxy-Authorization: NTLM qop="auth", realm="SIP Communications Service", '
            'targetname="fe.contoso.com", gssapi-data="TlRMTVNTUAADAAAAGAAYAEgAAAAYABgAYAAAA"\n',
        ),
        _request(
            "REGISTER",
            2,
            "reg-2",
            'Authorization: Kerberos qop="auth", realm="SIP Communications Service", '
            'targetname="sip/fe.contoso.com", gssapi-data="YIIFakeKerberosTokenSecretAAAA"\n',
        ),
        _request(
            "REGISTER",
            3,
            "reg-3",
            'Authorization: TLS-DSK qop="auth", realm="SIP Communications Service", '
            'targetname="fe.contoso.com", gssapi-data="FgMBAFakeTlsDskTokenSecretAAAA"\n',
        ),
        _request(
            "INVITE",
            1,
            "call-1",
            f"Authorization: Basic {BASIC}\nProxy-Authorization: Bearer BearerTokenSecret.abc.def\n"
            "Content-Type: application/sdp\n",
            _sdp(),
        ),
        _request(
            "INVITE",
            1,
            "im-2",
            f"ms-text-format: text/plain; charset=UTF-8; ms-body={first}\n"
            f'Content-Type: multipart/mixed; boundary="{boundary}"\n',
            multipart,
        ),
        sip(
            "SIP/2.0 200 OK\n"
            + _HEAD.format(n=1, call="call-1", method="INVITE").replace(">\nCall", ">;tag=b1\nCall")
            + "Contact: <sip:bob@10.0.0.2>\nContent-Type: application/sdp\n\n"
            + _sdp().replace("10.0.0.1", "10.0.0.2")
        ),
        _request("MESSAGE", 2, "im-1", "Content-Type: text/plain\n", IM["message"]),
        _request(
            "MESSAGE",
            3,
            "im-1",
            "Content-Type: application/xml\n",
            f"<im><text>{IM['xml']}</text></im>",
        ),
        _request(
            "MESSAGE",
            4,
            "im-1",
            f"Content-Type: multipart/alternative; boundary={boundary}\n",
            alternative,
        ),
        _request(
            "MESSAGE",
            5,
            "im-1",
            "Content-Type: message/cpim\n",
            f"From: <sip:a@b>\nContent-Type: text/plain\n\n{IM['cpim']}",
        ),
        _request(
            "SERVICE",
            1,
            "pres-1",
            "Content-Type: application/msrtc-category-publish+xml\n",
            note,
        ),
        sip(
            "SIP/2.0 200 OK\n"
            + _HEAD.format(n=1, call="mras-1", method="SERVICE")
            + "Content-Type: application/msrtc-media-relay-auth+xml\n\n"
            + mras
        ),
        _request("INFO", 2, "call-1", "Content-Type: application/dtmf-relay\n", "Signal=7\n"),
        _request(
            "INFO",
            3,
            "call-1",
            "Content-Type: application/kpml-response+xml\n",
            '<kpml-response version="1.0" code="200" text="OK" digits="4321"/>',
        ),
    ]


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> dict[str, Path]:
    """The secrets capture, and the same messages as a server log and a client log."""
    from make_tracelogs import server_log, uccapi_log

    folder = tmp_path_factory.mktemp("secrets")
    frames = [
        udp(m, src=CLIENT, dst=SERVER) if i % 3 else udp(m, 5060, 5060, SERVER, CLIENT)
        for i, m in enumerate(_messages())
    ]
    capture = folder / "secrets.pcap"
    capture.write_bytes(pcap(frames))
    messages = lyncdump.open(str(capture)).messages()
    assert len(messages) == len(frames)
    local = messages[1].src
    assert local is not None
    server = folder / "secrets.server.log"
    diag = (
        "TL_WARN(TF_DIAG) [fe01]0584.0A44::01/01/2026-00:00:01.000.00007730 "
        "(SIPStack,SIPAdminLog::WriteDiagnosticEvent:SIPAdminLog.cpp(830))$$begin_record\n"
        "LogType: diagnostic\nSeverity: warning\n"
        f"Text: could not deliver '{IM['message']}' (gssapi-data=\"YIIMoreToken\")\n"
        "$$end_record\n"
    )
    server.write_text(server_log(messages, local, "fe01") + diag)
    client = folder / "secrets.uccapilog"
    client.write_text(uccapi_log(messages, local, "1F68:C14"))
    return {"capture": capture, "server": server, "client": client}


def _outputs(args: list[str], tmp_path: Path) -> str:
    """Everything one command line writes (stdout, and the CSV file when asked)."""
    csv = tmp_path / "streams.csv"
    extra = ["--streams-csv", str(csv)] if "--csv" in args else []
    args = [a for a in args if a != "--csv"]
    result = CliRunner().invoke(command, ["--redact", *extra, *args])
    assert result.exit_code == 0, result.output
    text = result.output
    if extra:
        text += csv.read_text()
    return text


VIEWS = [
    [],
    ["-v"],
    ["--json"],
    ["--json", "-v"],
    ["--summary"],
    ["--summary", "--json"],
    ["--calls"],
    ["--calls", "--json"],
    ["--calls", "-v"],
    ["--csv"],
]


@pytest.mark.parametrize("which", ["capture", "server", "client"])
@pytest.mark.parametrize("view", VIEWS, ids=lambda v: " ".join(v) or "ladder")
def test_no_secret_in_any_view(inputs, tmp_path, which: str, view: list[str]) -> None:
    out = _outputs([*view, str(inputs[which])], tmp_path)
    leaks = [s for s in [*SECRETS, "BasicPassw0rd!"] if s in out]
    assert not leaks, leaks
    if "--json" in view:
        for line in out.splitlines():
            json.loads(line)


@pytest.mark.parametrize("view", [[], ["-v"], ["--json", "-v"]], ids=str)
def test_no_secret_when_merged(inputs, tmp_path, view: list[str]) -> None:
    paths = [str(inputs["capture"]), str(inputs["server"]), str(inputs["client"])]
    out = _outputs([*view, "--merge", *paths], tmp_path)
    assert not [s for s in SECRETS if s in out]


def test_the_secrets_are_there_without_redact(inputs) -> None:
    """The test above would prove nothing if the views did not show these texts at all."""
    runner = CliRunner()
    out = ""
    for path in inputs.values():
        for view in (["-v"], ["--json", "-v"]):
            out += runner.invoke(command, [*view, str(path)]).output
    missing = [s for s in SECRETS if s not in out]
    assert not missing, missing


def test_what_stays_readable(inputs) -> None:
    out = CliRunner().invoke(command, ["--redact", "-v", str(inputs["capture"])]).output
    assert 'username="alice"' in out and 'targetname="sip/fe.contoso.com"' in out
    assert f"inline:{REDACTED}|2^31|1:1;inline:{REDACTED}|2^31|2:1" in out
    assert f"INLINE:{REDACTED}|2^31" in out
    assert f"a=cryptoscale:1 client AES_CM_128_HMAC_SHA1_80 inline:{REDACTED}|2^31|1:1" in out
    assert f"Authorization: Basic {REDACTED}" in out
    assert f"Proxy-Authorization: Bearer {REDACTED}" in out
    assert "<username>mrasuser</username>" in out
    calls = CliRunner().invoke(command, ["--redact", "--calls", str(inputs["capture"])]).output
    assert "RTP/SAVP  active, SRTP AES_CM_128_HMAC_SHA1_80" in calls  # the suite is no secret


def test_dtmf_digits_leave_the_streams(tmp_path) -> None:
    path = str(CAPTURES / "lync-call-srtp.pcap")
    plain = CliRunner().invoke(command, ["--calls", path]).output
    assert "DTMF 1#" in plain
    out = _outputs(["--calls", path], tmp_path) + _outputs(["--csv", path], tmp_path)
    assert "DTMF 1#" not in out and "DTMF ??" in out
    assert ",??," in out and ",1#," not in out  # the CSV's dtmf column (relay_* follow it)
    records = [json.loads(x) for x in _outputs(["--json", path], tmp_path).splitlines()]
    events = [e for r in records if r.get("record") == "stream" for e in r["dtmf_events"]]
    assert events and {e["event"] for e in events} == {REDACTED_DTMF}
    assert all(r["dtmf"] in ("", "??") for r in records if r.get("record") == "stream")


def test_library_redact_keeps_a_message_consistent() -> None:
    raw = _messages()[4]
    m = parse_message(raw)
    redact_message(m)
    assert m.raw == m.raw.split(b"\r\n\r\n", 1)[0] + b"\r\n\r\n" + m.body
    assert f"Content-Length: {len(m.body)}".encode() in m.raw
    reparsed = parse_message(m.raw)
    assert reparsed.body == m.body
    parts = reparsed.body_parts()
    assert [p.content_type for p in parts] == ["application/sdp", "text/plain"]
    assert parts[1].body == f"[{REDACTED} {len(IM['multipart']) + 0} bytes]".encode()
    assert redact_message(m) == set()  # once only


def test_api_redact_option(inputs) -> None:
    cap = lyncdump.open(io.BytesIO(inputs["capture"].read_bytes()), redact=True)
    text = b"".join(m.raw for m in cap.messages())
    assert not [s for s in SECRETS if s.encode() in text]


def test_content_length_follows_every_replacement() -> None:
    """Found by tools/fuzz.py: an ICE password also written elsewhere in the SDP is removed by
    the second pass, after Content-Length had been computed from the body before it."""
    body = _sdp() + "a=x-note:IcePwdSecret0123456789ab\n"
    raw = _request("INVITE", 1, "cl-1", "Content-Type: application/sdp\n", body)
    m = parse_message(raw)
    redact_message(m)
    assert b"IcePwdSecret" not in m.raw
    assert m.header("content-length") == str(len(m.body))
    assert parse_message(m.raw).body == m.body
