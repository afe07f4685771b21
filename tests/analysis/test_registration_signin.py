"""Sign-in analysis on the sample captures (tools/scenario_ms.py), and NTLM verification with
the password, on the samples and on the real OCS 2007 R2 exchange."""

from __future__ import annotations

import json

from click.testing import CliRunner

import lyncdump
from lyncdump.analysis.registration import auth_check, verify_signatures
from lyncdump.cli import command
from lyncdump.sip.message import parse_message

from ..conftest import CAPTURES
from ..sip import ms_sipe_vectors as v


def _regs(name: str, **options: object) -> list:
    return lyncdump.open(str(CAPTURES / name), **options).registrations()


def test_remote_ntlm_six_message_flow() -> None:
    (reg,) = _regs("lync-remote-ntlm.pcapng")
    assert reg.outcome == "registered"
    assert reg.schemes_offered == ["NTLM", "TLS-DSK"]
    assert reg.scheme_chosen == "NTLM"
    assert [(t.cseq, t.sent, t.status, t.answer) for t in reg.round_trips] == [
        (1, "no credentials", 401, "401 offers NTLM, TLS-DSK"),
        (2, "NTLM start", 401, "401 NTLM CHALLENGE"),
        (3, "NTLM AUTHENTICATE CONTOSO\\alice", 200, "200 OK"),
    ]
    assert reg.remote is True
    assert (reg.identity, reg.workstation) == ("CONTOSO\\alice", "ALICE-LAPTOP")
    assert reg.epid == "9f3c6a1d07"
    assert reg.instance == "9e5f4a0e-3692-5b51-90e2-471500d48b37"
    assert reg.gruu == "sip:alice@contoso.com;opaque=user:epid:DkpfnpI2UVuQ4kcVANSLNwAA;gruu"
    assert reg.identity_consistent is True
    assert reg.expires == 7200
    assert reg.failure is None
    assert reg.follow_ups == [
        "SUBSCRIBE vnd-microsoft-provisioning-v2 → 200",
        "SUBSCRIBE vnd-microsoft-roaming-self → 200",
    ]
    assert reg.signatures is None  # no password given


def test_remote_ntlm_signatures_with_password() -> None:
    cap = lyncdump.open(str(CAPTURES / "lync-remote-ntlm.pcapng"), ntlm_password="Pa55w.rd")
    (reg,) = cap.registrations()
    assert reg.signatures == "2 valid"  # in the REGISTER session itself
    checks = [(m.frame, auth_check(m)) for m in cap.messages()]
    verdicts = [(f, c.proof, c.signature) for f, c in checks if c is not None]
    assert verdicts == [
        (8, True, True),
        (9, None, True),
        (10, None, True),
        (11, None, True),
        (12, None, True),
        (13, None, True),
    ]
    wrong = lyncdump.open(str(CAPTURES / "lync-remote-ntlm.pcapng"), ntlm_password="nope")
    (reg,) = wrong.registrations()
    assert reg.signatures == "1 invalid"
    assert "nope" not in repr(wrong.options)


def test_internal_kerberos() -> None:
    (reg,) = _regs("lync-internal-kerberos.pcapng")
    assert reg.outcome == "registered"
    assert reg.schemes_offered == ["NTLM", "Kerberos", "TLS-DSK"]
    assert reg.scheme_chosen == "Kerberos"
    assert [t.sent for t in reg.round_trips] == [
        "no credentials",
        "Kerberos AP-REQ for sip/fe01.contoso.com",
    ]
    assert reg.service == "sip/fe01.contoso.com@CONTOSO.COM"
    assert reg.identity is None
    assert reg.remote is False
    assert reg.identity_consistent is True
    assert reg.expires == 3600


def test_failed_signins_in_words() -> None:
    regs = _regs("lync-signin-failed.pcapng")
    assert [r.outcome for r in regs] == ["failed", "failed", "failed"]
    assert [r.failure for r in regs] == [
        "401 after AUTHENTICATE: wrong password or clock skew",
        "401: clock skew between client and server "
        '(ms-diagnostics 1013 "Significant time skew detected during authentication")',
        '404: SIP stack: user does not exist (ms-diagnostics 1003 "User does not exist")',
    ]
    checked = _regs("lync-signin-failed.pcapng", ntlm_password="Pa55w.rd")
    assert checked[0].signatures == "1 invalid"


def test_real_ocs_exchange_verifies() -> None:
    """The SIPE data has no CHALLENGE message in a 401; feed one, then the signed pair."""
    import base64

    challenge = (
        "SIP/2.0 401 Unauthorized\r\nVia: SIP/2.0/TLS 192.168.172.6:12723\r\n"
        "From: <sip:user@cosmo.local>;tag=3e49177a52;epid=c8ca638a15\r\n"
        "To: <sip:user@cosmo.local>;tag=5E61CCD925D17E043D9A74835A88F664\r\n"
        "Call-ID: 4037df9284354df39065195bd57a4b14\r\nCSeq: 2 REGISTER\r\n"
        'WWW-Authenticate: NTLM opaque="2BDBAC9D", gssapi-data="'
        + base64.b64encode(v.TYPE2).decode()
        + '", targetname="cosmo-ocs-r2.cosmo.local", realm="SIP Communications Service", version=4\r\n'  # noqa: E501
        "Content-Length: 0\r\n\r\n"
    ).encode()
    msgs = [parse_message(challenge), parse_message(v.REQUEST), parse_message(v.RESPONSE)]
    assert verify_signatures(msgs, v.PASSWORD) == 2
    req, resp = auth_check(msgs[1]), auth_check(msgs[2])
    assert req is not None and (req.proof, req.signature) == (True, True)
    assert resp is not None and resp.signature is True


def test_cli_text_and_json() -> None:
    runner = CliRunner()
    result = runner.invoke(
        command, ["--ntlm-password", "Pa55w.rd", str(CAPTURES / "lync-remote-ntlm.pcapng")]
    )
    assert result.exit_code == 0
    assert "Pa55w.rd" not in result.output
    assert (
        "  sign-in: registered with NTLM (offered NTLM, TLS-DSK), 3 round trips, remote user via Edge"  # noqa: E501
        in result.output
    )
    assert "NTLMv2 proof valid (password matches); signature valid" in result.output
    assert "    signatures: 2 valid" in result.output
    out = runner.invoke(command, ["--json", str(CAPTURES / "lync-signin-failed.pcapng")]).output
    records = [json.loads(line) for line in out.splitlines()]
    regs = [r["registration"] for r in records if r.get("record") == "session"]
    assert [r["outcome"] for r in regs] == ["failed", "failed", "failed"]
    assert regs[0]["round_trips"][2]["sent"] == "NTLM AUTHENTICATE CONTOSO\\alice"
    assert all(r.get("conversation") is None for r in records if r.get("record") == "session")


def _subscribe(n: int, user: str, t: float, event: str = "vnd-microsoft-provisioning-v2"):
    m = parse_message(
        (
            f"SUBSCRIBE sip:{user}@contoso.com SIP/2.0\r\n"
            f"Via: SIP/2.0/TLS 10.0.0.1;branch=z9hG4bK{n}\r\n"
            f"From: <sip:{user}@contoso.com>;tag={n}\r\nTo: <sip:{user}@contoso.com>\r\n"
            f"Call-ID: sub-{n}\r\nCSeq: 1 SUBSCRIBE\r\nEvent: {event}\r\nContent-Length: 0\r\n\r\n"
        ).encode()
    )
    m.time = t
    return m


class _Run:
    def __init__(self, since: float) -> None:
        self.since = since
        self.asked = 0

    def unseen_since(self) -> float:
        self.asked += 1
        return self.since


def test_follow_ups_forget_what_no_session_to_come_can_list() -> None:
    from lyncdump.analysis.registration import FollowUps

    follow = FollowUps()
    for n, (user, t) in enumerate([("ann", 10.0), ("ann", 200.0), ("bob", 50.0), ("cy", 300.0)]):
        follow.message(_subscribe(n, user, t))
    assert len(follow) == 4
    run = _Run(since=260.0)  # every session still to come starts at 260 s or later
    for _ in range(FollowUps.FORGET_EVERY - 1):
        follow.finished(run)
    assert run.asked == 0 and len(follow) == 4  # only every FORGET_EVERY sessions
    follow.finished(run)
    assert run.asked == 1
    # The margin keeps ann's subscription at 200 s; ann's at 10 s and bob's are forgotten.
    assert len(follow) == 2
    follow.forget_before(250.0)
    assert len(follow) == 1
    follow.finished(None)  # a run that cannot say (the library's keep-all lists): no-op
    assert len(follow) == 1
