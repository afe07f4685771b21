"""NDJSON records in, table rows out: one source of truth for the tables (docs/export.md).

:class:`RowBuilder` takes the records ``lyncdump --json`` writes (``input``, ``session``,
``stun``, ``stream``, ``call``, ``capture``; render/views.ndjson_records) and hands each table
its rows, converted by the schema's rules (export/schema.py): a session record gives a
``sessions`` row, a ``messages`` row per message, and a ``registrations`` or ``im`` row;
the ``capture`` record gives the ``captures`` row and the ``defects`` and ``connections``
rows. Rows are plain dicts whose times are integer microseconds since the epoch (UTC).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

from .schema import COUNTS, ENDPOINT, JSON, TABLES, TIME, Column, ListOf, Struct

Row = dict[str, Any]
Emit = Callable[[str, Row], None]

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def split_endpoint(text: str | None) -> tuple[str | None, int | None]:
    """``"10.0.0.1:5060"`` → ``("10.0.0.1", 5060)``; ``"[2001:db8::1]:5061"`` too."""
    if not text:
        return None, None
    host, sep, port = text.rpartition(":")
    if not sep:
        return text, None
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    try:
        return host, int(port)
    except ValueError:
        return text, None


def micros(seconds: float | None) -> int | None:
    """Epoch seconds → integer microseconds (the tables' timestamp unit)."""
    return None if seconds is None else round(seconds * 1_000_000)


def iso(us: int | None) -> str | None:
    """Integer microseconds → ``2026-01-01T00:00:00.041000Z`` (CSV and NDJSON tables)."""
    if us is None:
        return None
    return (_EPOCH + timedelta(microseconds=us)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def convert(value: Any, t: Any) -> Any:
    """A JSON value as the column type holds it (endpoints inside lists become structs)."""
    if value is None:
        return None
    if t == TIME:
        return micros(value)
    if t == JSON:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    if t == COUNTS:
        return list(value.items())
    if t == ENDPOINT:  # only inside a list: a struct of ip and port
        ip, port = split_endpoint(value)
        return {"ip": ip, "port": port}
    if isinstance(t, ListOf):
        return [convert(v, t.item) for v in value]
    if isinstance(t, Struct):
        return fill({}, value, t.fields)
    return value


def fill(row: Row, record: dict[str, Any], columns: tuple[Column, ...]) -> Row:
    """Put ``record``'s fields into ``row`` by the columns' rules; returns ``row``."""
    for c in columns:
        if c.name in row:
            continue  # set by the caller (source, frame, part ...)
        value = record.get(c.json_key)
        if c.type == ENDPOINT:
            row[f"{c.name}_ip"], row[f"{c.name}_port"] = split_endpoint(value)
        else:
            row[c.name] = convert(value, c.type)
    return row


def to_text(value: Any, t: Any) -> Any:
    """A row value for CSV and NDJSON tables: timestamps as ISO 8601 UTC text, the rest as
    JSON values (a CSV cell holds a list or struct as JSON text)."""
    if value is None:
        return None
    if t == TIME:
        return iso(value)
    if t == COUNTS:
        return dict(value)
    if isinstance(t, ListOf):
        if t.item == ENDPOINT:
            return value
        return [to_text(v, t.item) for v in value]
    if isinstance(t, Struct):
        out = {}
        for c in t.fields:
            if c.type == ENDPOINT:
                out[f"{c.name}_ip"] = value.get(f"{c.name}_ip")
                out[f"{c.name}_port"] = value.get(f"{c.name}_port")
            else:
                out[c.name] = to_text(value.get(c.name), c.type)
        return out
    return value


def text_row(table: str, row: Row) -> Row:
    """A whole row for CSV and NDJSON tables (see :func:`to_text`)."""
    out: Row = {}
    for c in TABLES[table]:
        if c.type == ENDPOINT:
            out[f"{c.name}_ip"] = row.get(f"{c.name}_ip")
            out[f"{c.name}_port"] = row.get(f"{c.name}_port")
        else:
            out[c.name] = to_text(row.get(c.name), c.type)
    return out


class RowBuilder:
    """Records in (in the order ``--json`` writes them), rows out through ``emit(table, row)``.

    Keeps only the first frame of each call session (calls come last and their records
    carry no frame) and the ``input`` record's file list.
    """

    def __init__(self, emit: Emit, source: str | None = None) -> None:
        self.emit = emit
        self.source = source
        self.files: list[str] | None = None
        self._call_frames: dict[str, int | None] = {}

    def add(self, record: dict[str, Any]) -> None:
        """One record; records of shapes that have no table (allocations, ICE) are skipped."""
        kind = record["record"]
        source = record.get("source", self.source)
        if kind == "session":
            self._session(record, source)
        elif kind == "stun":
            self._row("stun", record, source, record.get("frame"))
        elif kind == "stream":
            self._row("streams", record, source, record.get("first_frame"))
        elif kind == "call":
            self._row("calls", record, source, self._call_frames.get(record["call_id"]))
        elif kind == "capture":
            self._capture(record, source)
        elif kind == "input":
            self.files = record.get("files")

    def _row(self, table: str, record: dict[str, Any], source: str | None, frame: Any) -> None:
        self.emit(table, fill({"source": source, "frame": frame}, record, TABLES[table]))

    def _session(self, record: dict[str, Any], source: str | None) -> None:
        messages = record["messages"]
        frame = messages[0]["frame"] if messages else None
        part = record["part"]
        if record["kind"] == "call":
            self._call_frames.setdefault(record["call_id"], frame)
        head = {"source": source, "frame": frame, "message_count": len(messages)}
        self.emit("sessions", fill(head, record, TABLES["sessions"]))
        columns = TABLES["messages"]
        for m in messages:
            self.emit("messages", fill({"source": source, "part": part}, m, columns))
        span = {"call_id": record["call_id"], "start": record["start"], "end": record["end"]}
        for table, key in (("registrations", "registration"), ("im", "conversation")):
            inner = record.get(key)
            if inner is not None:
                row = {"source": source, "frame": frame, "part": part}
                self.emit(table, fill(row, {**span, **inner}, TABLES[table]))

    def _capture(self, record: dict[str, Any], source: str | None) -> None:
        row = {
            "source": source,
            "frame": None,
            "files": self.files if self.files is not None else [source],
            "connections": len(record["connections"]),
        }
        self.emit("captures", fill(row, record, TABLES["captures"]))
        for d in record["defects"]:
            self.emit("defects", fill({"source": source}, d, TABLES["defects"]))
        for c in record["connections"]:
            self.emit(
                "connections", fill({"source": source, "frame": None}, c, TABLES["connections"])
            )


__all__ = [
    "RowBuilder",
    "convert",
    "fill",
    "iso",
    "micros",
    "split_endpoint",
    "text_row",
    "to_text",
]
