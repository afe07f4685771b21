"""Shared test helpers: where the corpus and the sample captures are, and the tools/ builders."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CAPTURES = ROOT / "captures"
TOOLS = ROOT / "tools"

if str(TOOLS) not in sys.path:
    sys.path.insert(0, str(TOOLS))


def corpus_dir() -> Path | None:
    """../shared/corpus beside the project, or $LYNCDUMP_CORPUS; None when neither exists."""
    env = os.environ.get("LYNCDUMP_CORPUS")
    candidates = [Path(env)] if env else []
    candidates.append(ROOT.parent / "shared" / "corpus")
    for c in candidates:
        if c.is_dir():
            return c
    return None


@pytest.fixture(scope="session")
def corpus() -> Path:
    path = corpus_dir()
    if path is None:
        pytest.skip("corpus not found (../shared/corpus or $LYNCDUMP_CORPUS)")
    return path
