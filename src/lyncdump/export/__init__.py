"""Tables for analysis scripts, and captures by the thousand (docs/export.md).

- ``Capture.to_pandas(table)`` / ``Capture.to_arrow(table)``: one capture's tables;
- :func:`export` / :func:`to_parquet`: many captures (files, folders, ring-buffer sets) into
  one dataset per table at ``OUT/<table>/``, on this machine's cores or on a Dask cluster;
- ``lyncdump export``: the same from the command line (cli_export.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from .dataset import FORMATS, part_name
from .runner import Job, JobResult, export_job, find_inputs, run_jobs
from .schema import TABLES
from .tables import MissingExtraError, capture_records, capture_rows


def export(
    paths: str | Iterable[str],
    out: str,
    *,
    format: str = "parquet",  # noqa: A002 - the word users know from the command line
    continuous: bool = False,
    processes: int = 1,
    client: Any = None,
    skip: Callable[[str, str], None] | None = None,
    **options: Any,
) -> list[JobResult]:
    """Export captures, trace logs and folders of them into ``out`` (one dataset per table,
    ``out/<table>/``, one part per input) and return what each input gave.

    ``continuous`` reads ring-buffer sets as one capture each; ``processes`` decodes on that
    many processes; ``client`` (a ``distributed.Client``) runs one task per input on a Dask
    cluster instead. ``skip(path, why)`` hears of files that are not captures. Keyword
    options are those of :class:`lyncdump.Options` (keys, ``redact`` ...).
    """
    if format not in FORMATS:
        raise ValueError(f"unknown format {format!r}: one of {', '.join(FORMATS)}")
    if isinstance(paths, str):
        paths = [paths]
    jobs = find_inputs(paths, continuous=continuous, skip=skip, exclude=out)
    return list(
        run_jobs(jobs, out, fmt=format, options=options, processes=processes, client=client)
    )


def to_parquet(
    paths: str | Iterable[str], out: str, *, client: Any = None, **kwargs: Any
) -> list[JobResult]:
    """:func:`export` as Parquet: ``pyarrow.dataset.dataset(out + "/calls")`` reads it back."""
    return export(paths, out, format="parquet", client=client, **kwargs)


__all__ = [
    "FORMATS",
    "TABLES",
    "Job",
    "JobResult",
    "MissingExtraError",
    "capture_records",
    "capture_rows",
    "export",
    "export_job",
    "find_inputs",
    "part_name",
    "run_jobs",
    "to_parquet",
]
