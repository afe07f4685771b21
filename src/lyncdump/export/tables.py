"""A decoded capture as tables: rows, Arrow tables and pandas DataFrames (docs/export.md).

``Capture.to_arrow(table)`` and ``Capture.to_pandas(table)`` land here. The rows are built
from the same records ``lyncdump --json`` writes (export/rows.py), so a table says exactly
what the JSON says, typed: UTC timestamps, addresses as ip and port, nullable integers.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from ..errors import LyncdumpError
from .rows import Row, RowBuilder
from .schema import TABLES

if TYPE_CHECKING:
    from ..api import Capture

_MISSING = {
    "pandas": "pandas is not installed: pip install 'lyncdump[data]'",
    "pyarrow": "pyarrow is not installed: pip install 'lyncdump[data]'",
}


class MissingExtraError(ImportError, LyncdumpError):
    """An optional dependency (``lyncdump[data]``, ``lyncdump[dask]``) is not installed;
    the message says what to install."""


def require(module: str, extra: str = "data") -> Any:
    """Import an optional dependency, or raise one clear line naming the extra to install."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        top = module.split(".")[0]
        message = _MISSING.get(top, f"{top} is not installed: pip install 'lyncdump[{extra}]'")
        raise MissingExtraError(message) from None


def check_table(table: str) -> None:
    """A table name, or ValueError listing the tables."""
    if table not in TABLES:
        raise ValueError(f"unknown table {table!r}: one of {', '.join(TABLES)}")


def capture_records(cap: Capture) -> Iterator[dict[str, Any]]:
    """The records ``lyncdump --json`` writes for a whole capture (one session per Call-ID),
    each with ``source``: the input record first, the capture totals last."""
    from ..render import calls as render_calls
    from ..render import json as render_json
    from ..render import msview
    from ..render import streams as render_streams
    from ..render.stun_json import stun_records

    source = cap.name
    sessions = cap.sessions()
    yield render_json.input_to_dict(source)
    for s in sessions:
        record = msview.session_extra_fields(render_json.session_to_dict(s), s, sessions)
        yield render_json.with_source(record, source)
    rest: list[dict[str, Any]] = stun_records(cap)
    rest.extend(render_streams.stream_to_dict(st) for st in cap.streams())
    rest.extend(render_calls.call_to_dict(c) for c in cap.calls())
    rest.append(render_json.capture_to_dict(cap))
    for record in rest:
        yield render_json.with_source(record, source)


def capture_rows(cap: Capture, table: str) -> list[Row]:
    """One table's rows of a capture (plain dicts; times in microseconds since the epoch)."""
    check_table(table)
    rows: list[Row] = []

    def emit(name: str, row: Row) -> None:
        if name == table:
            rows.append(row)

    builder = RowBuilder(emit)
    for record in capture_records(cap):
        builder.add(record)
    return rows


def arrow_table(table: str, rows: list[Row]) -> Any:
    """Rows as a pyarrow Table with the table's documented schema."""
    pa = require("pyarrow")
    from .schema import arrow_schema

    return pa.Table.from_pylist(rows, schema=arrow_schema(table))


def pandas_types(pa: Any, pd: Any) -> Any:
    """The pandas dtypes of Arrow types: nullable integers and booleans, strings."""
    mapping = {
        pa.int64(): pd.Int64Dtype(),
        pa.int32(): pd.Int32Dtype(),
        pa.bool_(): pd.BooleanDtype(),
        pa.float64(): pd.Float64Dtype(),
        pa.string(): pd.StringDtype(),
    }
    return mapping.get


def to_pandas(arrow: Any) -> Any:
    """A pyarrow Table as a DataFrame with nullable dtypes (``Int64``, ``boolean``,
    ``string``, ``Float64``) and ``datetime64[us, UTC]`` times; lists and structs as Python
    lists and dicts."""
    pa = require("pyarrow")
    pd = require("pandas")
    return arrow.to_pandas(types_mapper=pandas_types(pa, pd), maps_as_pydicts="strict")


__all__ = [
    "MissingExtraError",
    "arrow_table",
    "capture_records",
    "capture_rows",
    "check_table",
    "require",
    "to_pandas",
]
