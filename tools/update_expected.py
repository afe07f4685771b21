"""Refresh the expected outputs kept beside each sample capture (captures/NAME.txt, .ndjson,
.summary.txt). Review the diff before committing: these files are what the e2e tests hold us to.

    python tools/update_expected.py [NAME...]   # all captures, or those named

A capture may also be shown with options: ``captures/NAME.args`` has one run per line,
``LABEL: OPTIONS`` (``#`` starts a comment; options split as a shell would, paths relative to
captures/), and each run's outputs are NAME.LABEL.txt, NAME.LABEL.ndjson and
NAME.LABEL.summary.txt beside the plain ones. For instance
``verify: --verify-checksums`` gives tcp-checksums.pcap.verify.txt.
"""

from __future__ import annotations

import shlex
import subprocess
import sys
from pathlib import Path

CAPTURES = Path(__file__).resolve().parent.parent / "captures"
VIEWS = {".txt": [], ".ndjson": ["--json"], ".summary.txt": ["--summary"]}


def expected_path(capture: Path, suffix: str, label: str | None = None) -> Path:
    middle = f".{label}" if label else ""
    return capture.with_name(capture.name + middle + suffix)


def captures() -> list[Path]:
    inputs = (".pcap", ".pcapng", ".cap", ".gz", ".log", ".uccapilog")  # .log: Lync trace logs
    return sorted(p for p in CAPTURES.iterdir() if p.suffix in inputs)


def variants(capture: Path) -> list[tuple[str, list[str]]]:
    """The (label, options) runs of ``capture``'s .args file, none when it has no such file."""
    path = capture.with_name(capture.name + ".args")
    if not path.exists():
        return []
    runs = []
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        label, _, options = line.partition(":")
        if not label.strip().isidentifier():
            raise ValueError(f"{path.name}: {line!r} is not LABEL: OPTIONS")
        runs.append((label.strip(), shlex.split(options)))
    return runs


def runs() -> list[tuple[Path, str | None, list[str]]]:
    """Every (capture, label, options) the expected outputs are kept for: each capture on its
    own (label None), then with the options of each line of its .args file."""
    out: list[tuple[Path, str | None, list[str]]] = []
    for capture in captures():
        out.append((capture, None, []))
        out.extend((capture, label, options) for label, options in variants(capture))
    return out


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
    for capture, label, options in runs():
        if wanted and capture.name not in wanted:
            continue
        for suffix, args in VIEWS.items():
            path = expected_path(capture, suffix, label)
            path.write_text(render(capture, [*options, *args]), encoding="utf-8")
            print(f"wrote {path.relative_to(CAPTURES.parent)}")


if __name__ == "__main__":
    main()
