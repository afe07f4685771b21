"""lyncdump.testing: the helpers, and the pytest plugin run by pytest on a user's test file."""

from __future__ import annotations

import pytest

from lyncdump.testing import (
    CaptureCheckFailed,
    assert_no_failed_calls,
    assert_no_failed_signins,
    assert_no_log_errors,
    assert_rules,
    assert_stream_quality,
    check,
)

from ..conftest import CAPTURES

pytest_plugins = ["pytester"]

SIGNIN = CAPTURES / "lync-signin-failed.pcapng"
AV = CAPTURES / "lync-av-call.pcapng"


def test_helpers_pass_on_clean_captures() -> None:
    result = assert_no_failed_calls(CAPTURES / "sip-udp-call.pcap")
    assert result.checked == {"call": 2}
    assert_stream_quality(AV, min_mos=4.0, max_lost_percent=1, max_jitter_ms=30)


def test_failures_list_every_violation() -> None:
    with pytest.raises(CaptureCheckFailed) as info:
        assert_no_failed_signins(SIGNIN)
    text = str(info.value)
    assert text.splitlines()[0] == f"{SIGNIN}: 3 violations of signin-failed"
    assert f"{SIGNIN}#9: signin-failed: sign-in sip:alice@contoso.com" in text
    assert len(info.value.violations) == 3
    with pytest.raises(AssertionError, match="stream.mos<4.5"):
        assert_stream_quality(AV, min_mos=4.5)
    with pytest.raises(ValueError):
        assert_stream_quality(AV)


def test_server_log_errors() -> None:
    assert_no_log_errors(CAPTURES / "sip-udp-call.server.log")
    with pytest.raises(CaptureCheckFailed, match="WSAECONNREFUSED") as info:
        assert_no_log_errors(CAPTURES / "federation-edge.server.log")
    assert [v.frame for v in info.value.violations] == [21, 24]


def test_unreadable_capture_fails(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(AssertionError, match="could not be read"):
        assert_rules(tmp_path / "missing.pcap", "call-failed")
    assert check(tmp_path / "missing.pcap", "call-failed").error


USER_TESTS = f"""
from lyncdump.testing import assert_no_failed_calls, assert_no_failed_signins

def test_calls_ok():
    assert_no_failed_calls({str(CAPTURES / "sip-udp-call.pcap")!r})

def test_signins_fail():
    assert_no_failed_signins({str(SIGNIN)!r})

def test_fixture(lyncdump_check):
    lyncdump_check({str(AV)!r}, "stream.mos<4, call-failed")

def test_fixture_fails(lyncdump_check):
    lyncdump_check({str(AV)!r}, "stream.mos<4.5")

def test_capture_fixture(lyncdump_capture):
    cap = lyncdump_capture({str(AV)!r})
    assert len(cap.calls()) == 1
"""


def test_plugin_in_a_users_suite(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_user=USER_TESTS)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-q")
    result.assert_outcomes(passed=3, failed=2)
    result.stdout.fnmatch_lines(
        [
            "*3 violations of signin-failed*",
            "*lync-signin-failed.pcapng#23: signin-failed: sign-in sip:dave@contoso.com*",
            "*2 violations of stream.mos<4.5*",
        ]
    )
