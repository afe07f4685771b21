"""render.json.ndjson_line: a record whose list is deferred is the same line as json.dumps of
the whole record (the capture record's connections are written that way, docs/performance.md)."""

from __future__ import annotations

import json
from typing import Any

from lyncdump.render.json import Deferred, ndjson_line


def _dumps(record: dict[str, Any]) -> str:
    return json.dumps(record, ensure_ascii=False, separators=(",", ":"))


def test_a_deferred_list_gives_the_line_json_dumps_gives() -> None:
    items = [
        {"id": n, "client": f"10.0.0.{n}:5060", "ratio": n / 3, "name": 'ü"x'} for n in range(5)
    ]
    record = {"record": "capture", "a": 1.5, "connections": items, "b": None, "c": {"x": [1]}}
    deferred = {**record, "connections": Deferred(iter(items), dict)}
    assert ndjson_line(deferred) == _dumps(record)
    assert ndjson_line({**record, "connections": Deferred([], dict)}) == _dumps(
        {**record, "connections": []}
    )
    assert ndjson_line({"connections": Deferred(["a"], str.upper)}) == '{"connections":["A"]}'
    assert ndjson_line(record) == _dumps(record)
