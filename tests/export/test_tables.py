"""The tables say what ``lyncdump --json`` says, typed (docs/export.md).

Every sample and corpus file is exported as Parquet, read back through pyarrow and turned
back into JSON values by the documented rules (``_ip`` + ``_port`` → ``ip:port``, UTC
timestamps → epoch seconds, JSON text → values); row counts and every value must equal the
NDJSON records the command writes for the same file.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import lyncdump
from lyncdump.cli import command
from lyncdump.export import TABLES, export
from lyncdump.export.schema import (
    COUNTS,
    ENDPOINT,
    JSON,
    TIME,
    Column,
    ListOf,
    Struct,
    arrow_schema,
)

from ..conftest import CAPTURES, corpus_dir

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

SAMPLES = sorted(
    p for p in CAPTURES.iterdir() if p.suffix in (".pcap", ".pcapng", ".log", ".uccapilog")
)
_CORPUS = corpus_dir()
CORPUS = (
    sorted(p for p in _CORPUS.iterdir() if p.is_file() and p.suffix != ".md") if _CORPUS else []
)
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def ndjson(path: Path) -> list[dict[str, Any]]:
    result = CliRunner().invoke(command, ["--json", str(path)])
    assert result.exit_code in (0, 2), result.output
    return [json.loads(line) for line in result.output.splitlines()]


def read_table(out: Path, table: str) -> Any:
    return pq.read_table(out / table, schema=arrow_schema(table))


def _endpoint(ip: str | None, port: int | None) -> str | None:
    if ip is None:
        return None
    if port is None:  # a trace log names a host without its port
        return ip
    return f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}"


def back(value: Any, t: Any) -> Any:
    """A table value as the JSON had it (the documented rules, applied backwards)."""
    if value is None:
        return None
    if t == TIME:
        return (value - _EPOCH).total_seconds()
    if t == JSON:
        return json.loads(value)
    if t == COUNTS:
        return dict(value)
    if isinstance(t, ListOf):
        if t.item == ENDPOINT:
            return [_endpoint(v["ip"], v["port"]) for v in value]
        return [back(v, t.item) for v in value]
    if isinstance(t, Struct):
        return back_row(value, t.fields)
    return value


def back_row(row: dict[str, Any], columns: tuple[Column, ...]) -> dict[str, Any]:
    out = {}
    for c in columns:
        if c.type == ENDPOINT:
            out[c.json_key] = _endpoint(row[f"{c.name}_ip"], row[f"{c.name}_port"])
        else:
            out[c.json_key] = back(row[c.name], c.type)
    return out


def same(a: Any, b: Any) -> bool:
    """Equal, times to the microsecond (the tables' unit)."""
    if isinstance(a, float) and isinstance(b, float):
        return abs(a - b) <= 1e-6
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return a == b and type(a) is type(b) or (isinstance(a, int) and isinstance(b, float) and a == b)


# Row-level columns that are not fields of the JSON item (checked on their own), per table.
_OWN = {"source", "frame", "part", "message_count", "files", "connections"}
_OWN_BY_TABLE = {"registrations": {"call_id", "start", "end"}, "im": {"call_id", "start", "end"}}
#: JSON fields a table leaves out, and where they are instead (docs/export.md).
DROPPED = {"record", "schema", "messages", "registration", "conversation", "defects", "file"}


def expected_items(records: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """The JSON items each table holds one row per."""
    items: dict[str, list[dict[str, Any]]] = {t: [] for t in TABLES}
    for r in records:
        kind = r["record"]
        if kind == "session":
            items["sessions"].append(r)
            items["messages"].extend(r["messages"])
            if r["registration"] is not None:
                items["registrations"].append(r["registration"])
            if r["conversation"] is not None:
                items["im"].append(r["conversation"])
        elif kind in ("stun", "call"):
            items["stun" if kind == "stun" else "calls"].append(r)
        elif kind == "stream":
            items["streams"].append(r)
        elif kind == "capture":
            items["captures"].append(r)
            items["defects"].extend(r["defects"])
            items["connections"].extend(r["connections"])
    return items


def _key(item: dict[str, Any]) -> str:
    return json.dumps(item, sort_keys=True, default=str)


def _project_value(value: Any, t: Any) -> Any:
    if value is None:
        return None
    if isinstance(t, Struct):
        return _project(value, t.fields, ())
    if isinstance(t, ListOf):
        return [_project_value(v, t.item) for v in value]
    return value


def _project(item: dict[str, Any], columns: tuple[Column, ...], own: Any = _OWN) -> dict[str, Any]:
    """The item's fields the columns hold (nested structs too), every one of them: a JSON
    field no column holds fails, so a table cannot drop a field silently."""
    names = {c.json_key for c in columns}
    lost = set(item) - names - DROPPED - {"source"}
    assert not lost, lost
    return {
        c.json_key: _project_value(item.get(c.json_key), c.type)
        for c in columns
        if c.name not in own
    }


def check_tables(path: Path, out: Path) -> None:
    records = ndjson(path)
    (result,) = export([str(path)], str(out))
    items = expected_items(records)
    for table, columns in TABLES.items():
        arrow = read_table(out, table)
        assert arrow.schema == arrow_schema(table), table  # the documented types round-trip
        rows = arrow.to_pylist()
        assert len(rows) == len(items[table]) == result.rows[table], table
        assert {r["source"] for r in rows} <= {str(path)}, table
        own = _OWN | _OWN_BY_TABLE.get(table, set())
        got = sorted((_project(back_row(r, columns), columns, own) for r in rows), key=_key)
        want = sorted((_project(i, columns, own) for i in items[table]), key=_key)
        for g, w in zip(got, want, strict=True):
            assert same(g, w), (table, {k: (g[k], w[k]) for k in g if not same(g[k], w[k])})
    # Row-level columns: the frame that locates each row, the session part, the counts.
    sessions = read_table(out, "sessions").to_pylist()
    by_session = {(s["call_id"], s["part"]): s for s in sessions}
    for r in items["sessions"]:
        row = by_session[(r["call_id"], r["part"])]
        assert row["message_count"] == len(r["messages"])
        assert row["frame"] == (r["messages"][0]["frame"] if r["messages"] else None)
    for m in read_table(out, "messages").to_pylist():
        assert (m["call_id"], m["part"]) in by_session
    streams = read_table(out, "streams").to_pylist()
    assert all(s["frame"] == s["first_frame"] for s in streams)
    (capture,) = read_table(out, "captures").to_pylist()
    assert capture["files"] == [str(path)] and capture["connections"] == len(items["connections"])


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.name)
def test_tables_equal_the_ndjson_on_samples(path: Path, tmp_path: Path) -> None:
    check_tables(path, tmp_path)


@pytest.mark.parametrize("path", CORPUS, ids=lambda p: p.name)
def test_tables_equal_the_ndjson_on_the_corpus(path: Path, tmp_path: Path) -> None:
    check_tables(path, tmp_path)


def test_capture_tables_in_pandas_are_typed() -> None:
    pd = pytest.importorskip("pandas")
    cap = lyncdump.open(CAPTURES / "lync-av-call.pcapng")
    streams = cap.to_pandas("streams")
    assert len(streams) == len(cap.streams()) == 4
    assert str(streams["first_time"].dtype) == "datetime64[us, UTC]"
    assert streams["ssrc"].dtype == pd.Int64Dtype() and streams["src_port"].dtype == pd.Int32Dtype()
    assert streams["mos"].isna().sum() == sum(st.mos is None for st in cap.streams())
    first = cap.streams()[0]
    assert (
        streams.loc[0, "src_ip"] == first.source.ip
        and streams.loc[0, "src_port"] == first.source.port
    )
    assert streams.loc[0, "first_time"] == pd.Timestamp(
        round(first.first_time * 1e6), unit="us", tz="UTC"
    )
    calls = cap.to_pandas("calls")
    assert calls.loc[0, "call_id"] == cap.calls()[0].call_id
    assert [s["ssrc"] for s in calls.loc[0, "streams"]] == [s.ssrc for s in cap.calls()[0].streams]
    messages = cap.to_pandas("messages")
    assert messages["status"].dtype == pd.Int64Dtype() and messages["status"].isna().any()
    assert list(messages["frame"]) == [m.frame for m in cap.messages()]
    assert cap.to_arrow("calls").schema == arrow_schema("calls")


def test_unknown_table_and_missing_extra_say_so() -> None:
    from lyncdump.export.tables import MissingExtraError, require

    cap = lyncdump.open(CAPTURES / "sip-udp-call.pcap")
    with pytest.raises(ValueError, match="unknown table 'rtp': one of messages, sessions"):
        cap.to_arrow("rtp")
    with pytest.raises(MissingExtraError, match=r"pip install 'lyncdump\[dask\]'"):
        require("no_such_module_here", "dask")
    assert issubclass(MissingExtraError, lyncdump.LyncdumpError)


def test_csv_and_ndjson_datasets_hold_the_same_rows(tmp_path: Path) -> None:
    path = str(CAPTURES / "sip-udp-call.pcap")
    (parquet,) = export([path], str(tmp_path / "p"))
    (csv_result,) = export([path], str(tmp_path / "c"), format="csv")
    (nd,) = export([path], str(tmp_path / "n"), format="ndjson")
    assert parquet.rows == csv_result.rows == nd.rows
    lines = next((tmp_path / "n" / "messages").glob("*.ndjson")).read_text().splitlines()
    first = json.loads(lines[0])
    assert first["time"] == "2026-01-01T00:00:00.000000Z" and first["src_port"] == 5060
    text = next((tmp_path / "c" / "streams").glob("*.csv")).read_text().splitlines()
    assert text[0].startswith("source,frame,call_id,ssrc,ssrc_hex,src_ip,src_port,")
    assert len(text) == 1 + parquet.rows["streams"]


def test_docs_list_every_table_and_column() -> None:
    from lyncdump.export.schema import column_names

    doc = (CAPTURES.parent / "docs" / "export.md").read_text(encoding="utf-8")
    for table in TABLES:
        section = doc.split(f"### `{table}`", 1)[1].split("###", 1)[0]
        for name in column_names(table):
            assert f"`{name}`" in section, (table, name)
