"""Assertions for a user's own test suite, and a pytest plugin (loaded automatically where
lyncdump is installed: ``pytest11`` entry point).

    from lyncdump.testing import assert_no_failed_calls, assert_stream_quality

    def test_sbc_calls():
        assert_no_failed_calls("captures/sbc.pcapng")
        assert_stream_quality("captures/sbc.pcapng", min_mos=3.8, max_lost_percent=1)

    def test_rules(lyncdump_check):            # the fixture: any rules of lyncdump check
        lyncdump_check("captures/edge.pcap", "signin-failed, stream.max_jitter_ms>30")

Each helper decodes the capture with the streaming pipeline (as ``lyncdump check`` does) and
raises ``AssertionError`` listing every violation — file, frame, Call-ID or stream, and why —
so a failing test says what went wrong without opening Wireshark. Keyword options are those
of :func:`lyncdump.open` (``keylog=``, ``srtp_keys=``, ``ntlm_password=``...). An input that
cannot be read fails the assertion too. docs/check.md has a worked example.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # imported when first used: the plugin loads in every pytest run
    from .check import CaptureCheck, Violation

#: Violations listed in one assertion message (the rest are counted).
SHOWN = 20

Source = str | os.PathLike[str]


class CaptureCheckFailed(AssertionError):
    """A capture broke its rules; ``violations`` has them all (up to the check's bound)."""

    def __init__(self, message: str, result: CaptureCheck) -> None:
        super().__init__(message)
        self.result = result
        self.violations: list[Violation] = result.violations


def check(source: Source, rules: str | Iterable[str], **options: Any) -> CaptureCheck:
    """Run rules (the ``lyncdump check --fail-on`` language) over one capture, without
    asserting: the result lists violations, counts what was checked, and says ``error``."""
    from .check import check_capture, parse_rules

    return check_capture(
        source, parse_rules([rules] if isinstance(rules, str) else rules), **options
    )


def assert_rules(source: Source, rules: str | Iterable[str], **options: Any) -> CaptureCheck:
    """Fail when any rule matches (or the input cannot be read); returns the result."""
    result = check(source, rules, **options)
    if result.error or result.total:
        raise CaptureCheckFailed(_message(source, rules, result), result)
    return result


def assert_no_failed_calls(source: Source, **options: Any) -> CaptureCheck:
    """Every call was answered (or cancelled by the caller, or redirected)."""
    return assert_rules(source, "call-failed", **options)


def assert_no_failed_signins(source: Source, **options: Any) -> CaptureCheck:
    """Every sign-in (REGISTER) got through."""
    return assert_rules(source, "signin-failed", **options)


def assert_no_one_way_audio(source: Source, **options: Any) -> CaptureCheck:
    """Every answered call had audio both ways."""
    return assert_rules(source, "one-way-audio", **options)


def assert_no_defects(source: Source, **options: Any) -> CaptureCheck:
    """The capture holds no malformed traffic (and was read to its end)."""
    return assert_rules(source, "defects", **options)


def assert_no_log_errors(source: Source, **options: Any) -> CaptureCheck:
    """A Lync server log reported no error (no diagnostic of severity error or fatal)."""
    return assert_rules(source, "log-errors", **options)


def assert_stream_quality(
    source: Source,
    *,
    min_mos: float | None = None,
    max_lost_percent: float | None = None,
    max_jitter_ms: float | None = None,
    max_delta_ms: float | None = None,
    **options: Any,
) -> CaptureCheck:
    """Every RTP stream meets the given bounds (MOS only where it applies: audio)."""
    rules = []
    if min_mos is not None:
        rules.append(f"stream.mos<{min_mos}")
    if max_lost_percent is not None:
        rules.append(f"stream.lost_percent>{max_lost_percent}")
    if max_jitter_ms is not None:
        rules.append(f"stream.max_jitter_ms>{max_jitter_ms}")
    if max_delta_ms is not None:
        rules.append(f"stream.max_delta_ms>{max_delta_ms}")
    if not rules:
        raise ValueError("assert_stream_quality: give at least one bound (min_mos=...)")
    return assert_rules(source, rules, **options)


def _message(source: Source, rules: str | Iterable[str], result: CaptureCheck) -> str:
    text = rules if isinstance(rules, str) else ", ".join(rules)
    name = os.fspath(source)
    if result.error:
        head = f"{name} could not be read: {result.error}"
    else:
        head = f"{name}: {result.total} violation{'s' if result.total != 1 else ''} of {text}"
    lines = [head]
    for v in result.violations[:SHOWN]:
        lines.append("  " + v.line())
    if result.total > SHOWN:
        lines.append(f"  ... and {result.total - SHOWN} more")
    return "\n".join(lines)


# -- the pytest plugin ----------------------------------------------------------------------------

try:
    import pytest
except ImportError:  # pragma: no cover - the helpers work without pytest
    pytest = None  # type: ignore[assignment]

if pytest is not None:

    @pytest.fixture
    def lyncdump_check() -> Callable[..., CaptureCheck]:
        """``lyncdump_check(path, "rules", **options)``: assert the capture breaks none of
        the rules (``lyncdump check --fail-on`` language); returns what was checked."""
        return assert_rules

    @pytest.fixture
    def lyncdump_capture() -> Callable[..., Any]:
        """``lyncdump_capture(path, **options)``: the decoded :class:`lyncdump.Capture`, for
        assertions of your own (``cap.calls()``, ``cap.streams()``...)."""
        from .api import analyze

        return analyze


__all__ = [
    "CaptureCheckFailed",
    "assert_no_defects",
    "assert_no_failed_calls",
    "assert_no_failed_signins",
    "assert_no_log_errors",
    "assert_no_one_way_audio",
    "assert_rules",
    "assert_stream_quality",
    "check",
    "lyncdump_capture",
    "lyncdump_check",
]
