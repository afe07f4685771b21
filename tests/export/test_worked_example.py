"""The worked example of docs/export.md runs as written: the DuckDB query and its pandas
equivalent, over an exported tree of captures, give the calls the library finds."""

from __future__ import annotations

import re
import shutil
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

import lyncdump
from lyncdump.export import export

from ..conftest import CAPTURES, ROOT, corpus_dir

duckdb = pytest.importorskip("duckdb")
pd = pytest.importorskip("pandas")
pytest.importorskip("pyarrow")

DOC = (ROOT / "docs" / "export.md").read_text(encoding="utf-8")


def _block(marker: str, language: str) -> str:
    match = re.search(rf"<!-- {marker} -->\n```{language}\n(.*?)```", DOC, re.S)
    assert match, marker
    return match.group(1)


def _tree(root: Path) -> dict[str, list[Path]]:
    """captures/<site>/<day>/: samples, and the corpus call with a poor stream (MOS 1.41)."""
    corpus = corpus_dir()
    poor = corpus / "Asterisk_ZFONE_XLITE.pcap" if corpus else None
    layout = {
        "site-a/2026-01-01": [CAPTURES / "lync-av-call.pcapng", CAPTURES / "sip-udp-call.pcap"],
        "site-a/2026-01-02": [CAPTURES / "lync-call-srtp.pcap", *([poor] if poor else [])],
        "site-b/2026-01-01": [CAPTURES / "lync-turn-tcp443.pcap", *([poor] if poor else [])],
    }
    copied: dict[str, list[Path]] = {}
    for folder, files in layout.items():
        target = root / "captures" / folder
        target.mkdir(parents=True)
        for f in files:
            shutil.copy(f, target)
            copied.setdefault(folder.split("/")[0], []).append(target / f.name)
    return copied


def _expected(copied: dict[str, list[Path]]) -> Counter[tuple[str, Any]]:
    want: Counter[tuple[str, Any]] = Counter()
    for site, files in copied.items():
        for f in files:
            for call in lyncdump.open(f).calls():
                if any(s.mos is not None and s.mos < 3.5 for s in call.streams):
                    day = datetime.fromtimestamp(call.start, timezone.utc).date()
                    want[(site, day)] += 1
    return want


def test_the_documented_duckdb_query_and_pandas_code(tmp_path: Path, monkeypatch: Any) -> None:
    copied = _tree(tmp_path)
    monkeypatch.chdir(tmp_path)
    results = export(["captures"], "exports")
    assert len(results) == sum(len(v) for v in copied.values())
    want = _expected(copied)
    if corpus_dir() is not None:
        assert sum(want.values()) == 2  # the poor corpus call, at both sites
    con = duckdb.connect()
    statements = [s for s in _block("worked-example:sql", "sql").split(";") if s.strip()]
    for statement in statements[:-1]:
        con.execute(statement)
    rows = con.execute(statements[-1]).fetchall()
    got = Counter({(site, day): n for site, day, n in rows})
    assert got == want
    namespace: dict[str, Any] = {}
    exec(_block("worked-example:python", "python"), namespace)  # noqa: S102 - the doc's code
    per_day = namespace["per_day"]
    assert Counter(per_day.to_dict()) == want
