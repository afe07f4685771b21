"""The CLI on every sample capture gives exactly the output kept beside it.

Refresh with tools/update_expected.py, and review the diff.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from ..conftest import CAPTURES, TOOLS

sys.path.insert(0, str(TOOLS))
import update_expected  # noqa: E402

SAMPLES = update_expected.captures()


@pytest.mark.parametrize("capture", SAMPLES, ids=lambda p: p.name)
@pytest.mark.parametrize("suffix", sorted(update_expected.VIEWS))
def test_output_matches_expected(capture: Path, suffix: str) -> None:
    expected = update_expected.expected_path(capture, suffix)
    assert expected.exists(), f"run tools/update_expected.py: {expected.name} is missing"
    actual = update_expected.render(capture, update_expected.VIEWS[suffix])
    assert actual == expected.read_text(encoding="utf-8")


def test_samples_exist() -> None:
    names = {p.name for p in SAMPLES}
    assert {"sip-udp-call.pcap", "lync-signin-tcp.pcapng"} <= names
    assert CAPTURES.is_dir()
