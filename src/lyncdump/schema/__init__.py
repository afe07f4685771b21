"""The JSON Schema (draft 2020-12) of every NDJSON record lyncdump writes, shipped with the
package (``ndjson.schema.json``; ``lyncdump schema`` prints it; docs/json.md).

One document: ``$defs`` holds a schema per record type (``input``, ``session``, ``diagnostic``,
``capture``, ``stun``, ``turn_allocation``, ``ice_session``, ``stream``, ``call``,
``violation``, ``check``) and the top level applies the one a record's ``record`` names. It
requires the fields every record of that type has, declares every field lyncdump writes
(tests/render/test_schema.py holds it to that) and allows more (new fields and record types
are not breaking changes; the ``schema`` number changes only when a field changes meaning or
disappears).
"""

from __future__ import annotations

import copy
import json
from functools import lru_cache
from importlib import resources
from typing import Any

SCHEMA_FILE = "ndjson.schema.json"


@lru_cache(maxsize=1)
def _load() -> dict[str, Any]:
    text = resources.files(__package__).joinpath(SCHEMA_FILE).read_text(encoding="utf-8")
    document: dict[str, Any] = json.loads(text)
    return document


def load_schema() -> dict[str, Any]:
    """The whole schema document (a copy: change it freely)."""
    return copy.deepcopy(_load())


def record_types() -> list[str]:
    """The record types the schema describes."""
    return list(_load()["x-lyncdump-records"])


def record_schema(record: str) -> dict[str, Any]:
    """A standalone schema for one record type (its ``$defs`` kept for references)."""
    document = _load()
    if record not in document["x-lyncdump-records"]:
        raise KeyError(f"no record type {record!r}: one of {', '.join(record_types())}")
    out = copy.deepcopy(document["$defs"][record])
    out["$schema"] = document["$schema"]
    out["$id"] = f"{document['$id']}:{record}"
    out["$defs"] = copy.deepcopy(document["$defs"])
    return out


__all__ = ["SCHEMA_FILE", "load_schema", "record_schema", "record_types"]
