"""Where rows go: one dataset per table at ``OUT/<table>/``, one part file per input.

A part is named after its input (``<file name>-<hash of the path as given>``), so exporting
the same input again replaces its part and an export run on a Dask cluster writes the same
files as one on this machine. Each part is written beside its final name under a dotted name
and renamed when complete: readers (pyarrow datasets, DuckDB, Spark skip dotted files) never
see half a file. Rows are buffered per table and written in batches, so memory holds at most
``batch_rows`` rows per table, whatever the size of the input.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import re
from typing import Any

from .rows import Row, text_row
from .schema import TABLES, column_names
from .tables import require

FORMATS = ("parquet", "csv", "ndjson")
EXTENSIONS = {"parquet": ".parquet", "csv": ".csv", "ndjson": ".ndjson"}

#: Rows per table held before they are written (a Parquet row group, or lines of text). A
#: held row is a dict of 30-40 values: about 4 kB for a message with its decoded form, more
#: for a session with its transactions. At 20,000 the batches alone took 90 MiB more than at
#: 4,096 on a 50,000-message capture (benchmarks/bench_export.py measures the peak).
BATCH_ROWS = 4_096


def part_name(source: str) -> str:
    """``<file name>-<10 hex of the path's SHA-1>``: readable, and unique per path as given."""
    base = os.path.basename(source.rstrip("/\\")) or "input"
    base = re.sub(r"[^A-Za-z0-9._-]+", "_", base)[:80]
    digest = hashlib.sha1(source.encode("utf-8", "surrogateescape")).hexdigest()[:10]
    return f"{base}-{digest}"


class _Part:
    """One table's part file of one input, written in batches."""

    def __init__(self, out: str, table: str, name: str, fmt: str, batch_rows: int) -> None:
        folder = os.path.join(out, table)
        os.makedirs(folder, exist_ok=True)
        self.table = table
        self.fmt = fmt
        self.final = os.path.join(folder, name + EXTENSIONS[fmt])
        self.temporary = os.path.join(folder, "." + name + EXTENSIONS[fmt] + ".tmp")
        self.batch_rows = batch_rows
        self.rows: list[Row] = []
        self.count = 0
        self._writer: Any = None
        self._handle: Any = None

    def add(self, row: Row) -> None:
        self.rows.append(row)
        if len(self.rows) >= self.batch_rows:
            self.flush()

    def flush(self) -> None:
        rows, self.rows = self.rows, []
        self.count += len(rows)
        if self.fmt == "parquet":
            from .tables import arrow_table

            batch = arrow_table(self.table, rows)
            if self._writer is None:
                pq = require("pyarrow.parquet")
                self._writer = pq.ParquetWriter(self.temporary, batch.schema)
            if rows:
                self._writer.write_table(batch)
            return
        if self._handle is None:
            self._handle = open(self.temporary, "w", encoding="utf-8", newline="")  # noqa: SIM115
            if self.fmt == "csv":
                self._csv = csv.DictWriter(self._handle, fieldnames=column_names(self.table))
                self._csv.writeheader()
        for row in rows:
            text = text_row(self.table, row)
            if self.fmt == "csv":
                self._csv.writerow(
                    {
                        k: json.dumps(v, ensure_ascii=False)
                        if isinstance(v, (list, dict))
                        else ("" if v is None else v)
                        for k, v in text.items()
                    }
                )
            else:
                self._handle.write(json.dumps(text, ensure_ascii=False) + "\n")

    def close(self) -> None:
        self.flush()
        if self._writer is not None:
            self._writer.close()
        if self._handle is not None:
            self._handle.close()
        os.replace(self.temporary, self.final)

    def abort(self) -> None:
        for closer in (self._writer, self._handle):
            if closer is not None:
                try:
                    closer.close()
                except Exception:  # noqa: BLE001, S110 - the file is removed anyway
                    pass
        if os.path.exists(self.temporary):
            os.unlink(self.temporary)


class DatasetWriter:
    """The parts of one input, one per table (every table gets its part, even an empty one,
    so each table's schema is always there to read)."""

    def __init__(
        self, out: str, source: str, fmt: str = "parquet", batch_rows: int = BATCH_ROWS
    ) -> None:
        if fmt not in FORMATS:
            raise ValueError(f"unknown format {fmt!r}: one of {', '.join(FORMATS)}")
        if fmt == "parquet":
            require("pyarrow.parquet")
        name = part_name(source)
        self.parts = {t: _Part(out, t, name, fmt, batch_rows) for t in TABLES}

    def emit(self, table: str, row: Row) -> None:
        self.parts[table].add(row)

    def close(self) -> dict[str, int]:
        """Write what is left and put the parts in place; rows written per table."""
        for part in self.parts.values():
            part.close()
        return {t: p.count for t, p in self.parts.items()}

    def abort(self) -> None:
        for part in self.parts.values():
            part.abort()


__all__ = ["BATCH_ROWS", "EXTENSIONS", "FORMATS", "DatasetWriter", "part_name"]
