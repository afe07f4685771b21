"""Refresh the expected outputs kept beside each sample capture (captures/NAME.txt, .ndjson,
.summary.txt). Review the diff before committing: these files are what the e2e tests hold us to.

    python tools/update_expected.py [NAME...]   # all captures, or those named
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

CAPTURES = Path(__file__).resolve().parent.parent / "captures"
VIEWS = {".txt": [], ".ndjson": ["--json"], ".summary.txt": ["--summary"]}


def expected_path(capture: Path, suffix: str) -> Path:
    return capture.with_name(capture.name + suffix)


def captures() -> list[Path]:
    inputs = (".pcap", ".pcapng", ".cap", ".gz", ".log", ".uccapilog")  # .log: Lync trace logs
    return sorted(p for p in CAPTURES.iterdir() if p.suffix in inputs)


def render(capture: Path, args: list[str]) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "lyncdump.cli", *args, capture.name],
        cwd=CAPTURES,
        capture_output=True,
        text=True,
        check=False,
    )
    return result.stdout


def main() -> None:
    wanted = set(sys.argv[1:])
    for capture in captures():
        if wanted and capture.name not in wanted:
            continue
        for suffix, args in VIEWS.items():
            expected_path(capture, suffix).write_text(render(capture, args), encoding="utf-8")
            print(f"wrote {expected_path(capture, suffix).relative_to(CAPTURES.parent)}")


if __name__ == "__main__":
    main()
