"""The CLI on every sample capture gives exactly the output kept beside it, also for the runs
with options a capture's .args file names (tools/update_expected.py).

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
RUNS = update_expected.runs()


def _run_id(run: tuple[Path, str | None, list[str]]) -> str:
    capture, label, _options = run
    return capture.name + (f"[{label}]" if label else "")


@pytest.mark.parametrize("run", RUNS, ids=_run_id)
@pytest.mark.parametrize("suffix", sorted(update_expected.VIEWS))
def test_output_matches_expected(run: tuple[Path, str | None, list[str]], suffix: str) -> None:
    capture, label, options = run
    expected = update_expected.expected_path(capture, suffix, label)
    assert expected.exists(), f"run tools/update_expected.py: {expected.name} is missing"
    actual = update_expected.render(capture, [*options, *update_expected.VIEWS[suffix]])
    assert actual == expected.read_text(encoding="utf-8")


def test_samples_exist() -> None:
    names = {p.name for p in SAMPLES}
    assert {"sip-udp-call.pcap", "lync-signin-tcp.pcapng"} <= names
    assert CAPTURES.is_dir()


def test_every_expected_output_belongs_to_a_run() -> None:
    """No expected file is left over from a capture or an .args line that is gone."""
    kept = {
        update_expected.expected_path(capture, suffix, label).name
        for capture, label, _options in RUNS
        for suffix in update_expected.VIEWS
    }
    found = {p.name for p in CAPTURES.iterdir() if p.name.endswith((".txt", ".ndjson"))}
    assert found - kept == set()


def test_args_files_are_read_as_label_and_options(tmp_path: Path) -> None:
    capture = tmp_path / "x.pcap"
    (tmp_path / "x.pcap.args").write_text(
        "# with keys\nkeys: --srtp-key 'AAAA BBBB' --summary  # two words\n\n"
        "verify: --verify-checksums\n"
    )
    assert update_expected.variants(capture) == [
        ("keys", ["--srtp-key", "AAAA BBBB", "--summary"]),
        ("verify", ["--verify-checksums"]),
    ]
    (tmp_path / "x.pcap.args").write_text("--verify-checksums\n")
    with pytest.raises(ValueError, match="LABEL: OPTIONS"):
        update_expected.variants(capture)
