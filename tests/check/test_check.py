"""lyncdump check: rules, violations, exit codes and JUnit XML on the sample captures."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from click.testing import CliRunner

from lyncdump.check import RuleError, check_capture, parse_rules, split_rules
from lyncdump.cli_check import check_command

from ..conftest import CAPTURES, corpus_dir

SIGNIN_FAILED = CAPTURES / "lync-signin-failed.pcapng"
UDP_CALL = CAPTURES / "sip-udp-call.pcap"
AV = CAPTURES / "lync-av-call.pcapng"
QUIRKS = CAPTURES / "quirks.server.log"


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(check_command, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_rules_split_on_top_level_commas_only() -> None:
    assert split_rules(["a,b", "c", "(x, y) and z", "u='a,b'"]) == [
        "a",
        "b",
        "c",
        "(x, y) and z",
        "u='a,b'",
    ]


def test_rule_scopes() -> None:
    rules = parse_rules(["call-failed,signin-failed,stream.mos<3.5", "defects,tls-undecrypted"])
    assert [r.scope for r in rules] == ["call", "registration", "stream", "capture", "connection"]
    with pytest.raises(RuleError, match="mixes call fields with registration"):
        parse_rules(["signin-failed and call-failed"])
    with pytest.raises(RuleError, match="unknown field"):
        parse_rules(["stream.moss<3"])


def test_failed_signins_are_violations_with_frames() -> None:
    result = check_capture(SIGNIN_FAILED, parse_rules(["signin-failed"]))
    assert result.error is None
    assert [(v.frame, v.call_id) for v in result.violations] == [
        (9, "f1e2d3c4b5a697887766554433221100"),
        (18, "0a1b2c3d4e5f60718293a4b5c6d7e8f9"),
        (23, "99887766554433221100ffeeddccbbaa"),
    ]
    assert "wrong password or clock skew" in result.violations[0].message
    assert "clock skew" in result.violations[1].message
    assert "user does not exist" in result.violations[2].message
    assert result.checked == {"registration": 3}


def test_cli_signin_failed_exit_1_and_lines() -> None:
    code, out, _ = run("--fail-on", "signin-failed", str(SIGNIN_FAILED))
    assert code == 1
    lines = out.splitlines()
    assert lines[0].startswith(f"{SIGNIN_FAILED}#9: signin-failed: sign-in sip:alice@contoso.com")
    assert lines[-1] == f"{SIGNIN_FAILED}: 3 violations (3 sign-ins checked)"


@pytest.mark.parametrize(
    "capture",
    ["sip-udp-call.pcap", "lync-av-call.pcapng", "sipp-calls.pcapng", "lync-signin-tcp.pcapng",
     "lync-im-conversation.pcapng", "lync-conference-c3p.pcapng"],
)  # fmt: skip
def test_clean_samples_pass(capture: str) -> None:
    code, out, _ = run(
        "--fail-on", "call-failed,signin-failed,one-way-audio", str(CAPTURES / capture)
    )
    assert code == 0, out
    assert ": ok" in out


def test_cancelled_call_is_not_a_failed_call() -> None:
    result = check_capture(UDP_CALL, "call-failed")
    assert result.checked == {"call": 2} and result.total == 0
    cancelled = check_capture(UDP_CALL, "call.cancelled")
    assert [v.call_id for v in cancelled.violations] == ["call-2@192.168.1.50"]


def test_rejected_call_fails_call_failed() -> None:
    result = check_capture(QUIRKS, "call-failed")
    (v,) = result.violations
    assert v.call_id == "quirk-call-1" and v.frame == 3
    assert v.message.startswith("call rejected: 504 Server time-out; ms-diagnostics 1010")


def test_corpus_codec_reject_fails_call_failed() -> None:
    corpus = corpus_dir()
    if corpus is None:
        pytest.skip("no corpus")
    result = check_capture(corpus / "sip-488-codec-reject.pcapng", "call-failed")
    assert result.total >= 1
    assert all("488" in v.message for v in result.violations)


def test_comparisons_name_their_values() -> None:
    result = check_capture(AV, "stream.mos<4.5, call.setup_ms>1s, stream.max_jitter_ms>1000")
    by_rule = {}
    for v in result.violations:
        by_rule.setdefault(v.rule, []).append(v)
    assert sorted(by_rule) == ["call.setup_ms>1s", "stream.mos<4.5"]
    (setup,) = by_rule["call.setup_ms>1s"]
    assert setup.values == {"call.setup_ms": 1989.6} and setup.frame == 6
    assert [v.values["stream.mos"] for v in by_rule["stream.mos<4.5"]] == [4.41, 4.41]
    assert [v.frame for v in by_rule["stream.mos<4.5"]] == [28, 29]
    assert by_rule["stream.mos<4.5"][0].stream == (
        "198.51.100.10:56000 → 203.0.113.50:40000 SSRC 0x00001001"
    )


def test_tls_undecrypted_and_defects() -> None:
    result = check_capture(CAPTURES / "lync-tls-nokeys.pcap", "tls-undecrypted,defects")
    (v,) = result.violations
    assert v.rule == "tls-undecrypted" and "key log" in v.message
    assert check_capture(CAPTURES / "lync-tls-sipcomp.pcapng", "tls-undecrypted").total == 0


def test_unreadable_input_is_exit_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.pcap"
    bad.write_bytes(b"not a capture at all")
    code, out, err = run("--fail-on", "call-failed", str(bad), str(UDP_CALL))
    assert code == 2
    assert "not a pcap" in err and "could not be read" in out


def test_bad_rule_is_a_usage_error() -> None:
    code, _, err = run("--fail-on", "stream.mos<<3", str(UDP_CALL))
    assert code == 2 and "--fail-on" in err


def test_json_records() -> None:
    code, out, _ = run("--json", "--fail-on", "signin-failed", str(SIGNIN_FAILED), str(UDP_CALL))
    assert code == 1
    records = [json.loads(line) for line in out.splitlines()]
    assert [r["record"] for r in records] == ["violation"] * 3 + ["check", "check"]
    assert records[0]["frame"] == 9 and records[0]["scope"] == "registration"
    assert records[3]["status"] == "fail" and records[4]["status"] == "pass"


# -- JUnit: the shape Jenkins (junit plugin), GitLab and GitHub reporters read ------------------

_CASE_CHILDREN = {"failure", "error", "skipped", "system-out", "system-err"}


def _check_junit_shape(root: ET.Element) -> None:
    """The rules of the Jenkins/Ant JUnit schema CI tools validate against: testsuites >
    testsuite (name, tests, failures, errors; numeric counts; properties first) > testcase
    (name, classname, time as a decimal) > failure/error (message, type)."""
    assert root.tag == "testsuites"
    for attr in ("tests", "failures", "errors"):
        int(root.attrib[attr])
    float(root.attrib["time"])
    totals = [0, 0, 0]
    for suite in root:
        assert suite.tag == "testsuite"
        for attr in ("name", "tests", "failures", "errors", "time", "timestamp", "hostname"):
            assert attr in suite.attrib, attr
        children = list(suite)
        assert children[0].tag == "properties"
        for prop in children[0]:
            assert prop.tag == "property" and {"name", "value"} <= set(prop.attrib)
        cases = children[1:]
        assert all(c.tag == "testcase" for c in cases)
        failed = errored = 0
        for case in cases:
            assert {"name", "classname", "time"} <= set(case.attrib)
            float(case.attrib["time"])
            assert {child.tag for child in case} <= _CASE_CHILDREN
            for child in case:
                assert {"message", "type"} <= set(child.attrib)
            failed += any(c.tag == "failure" for c in case) and not any(
                c.tag == "error" for c in case
            )
            errored += any(c.tag == "error" for c in case)
        assert int(suite.attrib["tests"]) == len(cases)
        assert int(suite.attrib["failures"]) == failed
        assert int(suite.attrib["errors"]) == errored
        totals[0] += len(cases)
        totals[1] += failed
        totals[2] += errored
    assert [int(root.attrib[a]) for a in ("tests", "failures", "errors")] == totals


def test_junit_on_samples(tmp_path: Path) -> None:
    out = tmp_path / "report.xml"
    bad = tmp_path / "truncated.pcap"
    bad.write_bytes(UDP_CALL.read_bytes()[:3000])
    code, _, _ = run(
        "--fail-on",
        "signin-failed,call-failed,stream.mos<4.5",
        "--junit",
        str(out),
        str(SIGNIN_FAILED),
        str(UDP_CALL),
        str(AV),
        str(bad),
    )
    assert code == 2  # the truncated input outranks the violations
    root = ET.parse(out).getroot()
    _check_junit_shape(root)
    suites = {s.attrib["name"]: s for s in root}
    signin = suites[str(SIGNIN_FAILED)]
    cases = [c for c in signin if c.tag == "testcase"]
    assert [c.attrib["name"].split()[1] for c in cases[:3]] == [
        "sip:alice@contoso.com",
        "sip:carol@contoso.com",
        "sip:dave@contoso.com",
    ]
    assert all(c.find("failure").attrib["type"] == "signin-failed" for c in cases[:3])
    assert cases[-1].attrib["name"] == "capture" and cases[-1].find("failure") is None
    udp = suites[str(UDP_CALL)]
    names = [c.attrib["name"] for c in udp if c.tag == "testcase"]
    assert names[:1] == ["sign-in sip:alice@example.com reg-1@192.168.1.50"] or any(
        n.startswith("call call-1@") for n in names
    )
    assert suites[str(AV)].attrib["failures"] == "2"  # the two audio streams, MOS 4.41
    assert suites[str(bad)].attrib["errors"] == "1"


def test_junit_escapes_hostile_text(tmp_path: Path) -> None:
    from lyncdump.check import JUnitWriter, TestCase, Violation

    writer = JUnitWriter(parse_rules(["call-failed"]))
    writer.start("x<&>\x01.pcap")
    v = Violation("x<&>\x01.pcap", "call-failed", "call", 'a "<b>"\x00', "why & <because>")
    writer.case(TestCase('call <"&>\x02', "c", 0.5, [v]))
    from lyncdump.check import CaptureCheck

    writer.finish(CaptureCheck("x<&>\x01.pcap"))
    path = tmp_path / "j.xml"
    with open(path, "w", encoding="utf-8") as handle:
        writer.write(handle)
    root = ET.parse(path).getroot()
    _check_junit_shape(root)
    assert root[0][1].attrib["name"] == 'call <"&>?'


EDGE = CAPTURES / "federation-edge.server.log"


def test_log_rules_over_server_log_diagnostics(tmp_path: Path) -> None:
    """#20's diagnostics are checked: joined ones with their session, lone ones at the end."""
    rules = parse_rules(["log-errors", "log.severity=warning and kind=call"])
    assert [r.scope for r in rules] == ["log", "log"]
    result = check_capture(EDGE, rules)
    assert [(v.rule, v.frame, v.call_id) for v in result.violations] == [
        ("log.severity=warning and kind=call", 16, "fed-call-2@127.0.0.10"),
        ("log-errors", 21, "fed-call-3@127.0.0.10"),
        ("log-errors", 24, None),
    ]
    assert result.checked == {"log": 4}
    first = result.violations[1]
    assert first.scope == "log" and first.values == {"log.error": True}
    assert first.subject == "diagnostic by sfvedge [Call-ID fed-call-3@127.0.0.10]"
    assert first.message.startswith(
        "error 0xC3E93D67 SIPPROXY_E_ROUTING_MSG_CERT_MISMATCH: Message cannot be routed"
    )
    assert check_capture(CAPTURES / "sip-udp-call.server.log", rules).total == 0
    assert check_capture(UDP_CALL, rules).checked == {}  # a capture holds no diagnostics
    with pytest.raises(RuleError, match="mixes call fields with log"):
        parse_rules(["log.error and call.failed"])
    junit = tmp_path / "j.xml"
    code, out, _ = run("--fail-on", "log-errors", "--junit", str(junit), str(EDGE), str(QUIRKS))
    assert code == 1
    assert out.splitlines()[0].startswith(f"{EDGE}#21: log-errors: diagnostic by sfvedge")
    assert f"{QUIRKS}#4: log-errors: " in out and "SEC_E_UNTRUSTED_ROOT" in out
    assert f"{EDGE}: 2 violations (4 log records checked)" in out
    root = ET.parse(junit).getroot()
    _check_junit_shape(root)
    capture_case = [c for c in root[0] if c.tag == "testcase"][-1]
    assert capture_case.attrib["name"] == "capture"
    assert len(capture_case.findall("failure")) == 2


def test_log_host_names_the_server_in_violations() -> None:
    code, out, _ = run("--fail-on", "log-errors", "--log-host", "edge1.contoso.com", str(EDGE))
    assert code == 1 and "#24: log-errors: diagnostic by edge1.contoso.com: error" in out
    wrong = run("--fail-on", "log-errors", "--log-host", "other.log=h", str(EDGE))
    assert wrong[0] == 2 and "LOG is not one of the inputs" in wrong[2]
