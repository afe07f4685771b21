"""Many inputs into one dataset: on this process, on N processes, or on a Dask cluster.

:func:`find_inputs` turns paths and folders into :class:`Job` s (one per capture or trace
log, or one per continuous set), skipping what is not a capture with one line each.
:func:`export_job` runs one job: the input streams through the pipeline
(``lyncdump.stream``) into the NDJSON records of ``--json`` and from them into table rows
(export/rows.py), written in batches (export/dataset.py), so a worker's memory follows what
is open in the capture, not its size. :func:`run_jobs` runs the jobs here, on a process
pool, or as one Dask task each; every way writes the same files.
"""

from __future__ import annotations

import os
import resource
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from typing import Any

from ..errors import CaptureError, LyncdumpError
from .dataset import BATCH_ROWS, DatasetWriter


@dataclass(frozen=True)
class Job:
    """One unit of work: a capture or trace log (``files`` is ``(source,)``), or a
    continuous set of captures read as one (``source`` names the set)."""

    source: str
    files: tuple[str, ...]
    continuous: bool = False


@dataclass
class JobResult:
    """What one job did: rows per table, the input's totals, and what went wrong."""

    source: str
    files: list[str]
    rows: dict[str, int] = field(default_factory=dict)
    format: str | None = None
    frames: int = 0
    seconds: float = 0.0
    #: Peak resident memory of the process that ran the job, in bytes (the worker's).
    peak_rss: int = 0
    #: Why the input could not be read to its end (what came before is exported), or why
    #: it could not be read at all (nothing exported).
    error: str | None = None
    worker: int = 0


def _peak_rss() -> int:
    """Peak resident memory of this process image. On Linux that is VmHWM: ``ru_maxrss``
    survives exec, so a worker started by spawn (or ``python -c``) would report its parent's
    peak at the fork when that was higher."""
    try:
        with open("/proc/self/status", "rb") as status:
            for line in status:
                if line.startswith(b"VmHWM:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024


def _walk(path: str, skip: str | None) -> Iterator[str]:
    """Files under a folder, sorted, hidden ones and the output folder left out."""
    for folder, dirs, files in os.walk(path):
        dirs[:] = sorted(
            d
            for d in dirs
            if not d.startswith(".")
            and (skip is None or os.path.abspath(os.path.join(folder, d)) != skip)
        )
        for name in sorted(files):
            if not name.startswith("."):
                yield os.path.join(folder, name)


def find_inputs(
    paths: Iterable[str],
    *,
    continuous: bool = False,
    skip: Callable[[str, str], None] | None = None,
    exclude: str | None = None,
) -> list[Job]:
    """The jobs for some files and folders (folders walked, in name order).

    A file that is neither a capture nor a trace log is passed to ``skip(path, why)`` and
    left out. With ``continuous``, captures are grouped into sets, each read as one capture:
    a ``dumpcap -b`` ring buffer (``dir/prefix_NNNNN_YYYYmmddHHMMSS.ext``) per prefix, other
    captures per folder (capture/continuous.py); trace logs stay on their own. ``exclude``:
    a folder never walked (the export's own output).
    """
    from ..capture import is_trace_log, open_input
    from ..capture.continuous import ring_set_name

    excluded = os.path.abspath(exclude) if exclude else None
    found: list[str] = []
    for path in paths:
        if os.path.isdir(path):
            found.extend(_walk(path, excluded))
        else:
            found.append(path)
    jobs: list[Job] = []
    sets: dict[str, list[str]] = {}
    seen: set[str] = set()
    for path in found:
        if path in seen:
            continue
        seen.add(path)
        try:
            reader = open_input(path)
        except CaptureError as exc:
            if skip is not None:
                skip(path, str(exc))
            continue
        except OSError as exc:
            if skip is not None:
                skip(path, exc.strerror or str(exc))
            continue
        is_log = is_trace_log(reader)
        reader.close()
        if continuous and not is_log and path != "-":
            sets.setdefault(ring_set_name(path), []).append(path)
        else:
            jobs.append(Job(path, (path,)))
    for name, members in sets.items():
        jobs.append(Job(name, tuple(members), continuous=True))
    return jobs


def export_job(
    job: Job,
    out: str,
    fmt: str = "parquet",
    options: dict[str, Any] | None = None,
    batch_rows: int = BATCH_ROWS,
) -> JobResult:
    """Export one job into ``out`` (see the module docstring); never raises for bad input:
    the result says what went wrong."""
    from ..api import stream
    from ..render.json import input_to_dict
    from ..render.views import ndjson_records
    from .rows import RowBuilder

    started = time.perf_counter()
    result = JobResult(job.source, list(job.files), worker=os.getpid())
    try:
        if job.continuous:
            from ..capture.continuous import ContinuousReader

            source: Any = ContinuousReader(job.files, name=job.source)
        else:
            source = job.source
        events = stream(source, messages=True, **(options or {}))
    except (LyncdumpError, OSError) as exc:
        result.error = str(exc) if isinstance(exc, LyncdumpError) else f"{job.source}: {exc}"
        result.seconds = time.perf_counter() - started
        return result
    writer = DatasetWriter(out, job.source, fmt, batch_rows)
    builder = RowBuilder(writer.emit, job.source)
    try:
        builder.add(input_to_dict(job.source, files=list(job.files)))
        records = ndjson_records(events, source=job.source)
        next(records)  # its own input record: the one above names the set's files
        while True:
            try:
                builder.add(next(records))
            except StopIteration as end:
                pipeline = end.value
                break
    except BaseException:
        writer.abort()
        raise
    result.rows = writer.close()
    result.format = pipeline.format
    result.frames = pipeline.stats.frames
    problems = [str(pipeline.error)] if pipeline.error is not None else []
    problems.extend(getattr(source, "problems", []))
    result.error = "; ".join(problems) or None
    result.seconds = time.perf_counter() - started
    result.peak_rss = _peak_rss()
    return result


def run_jobs(
    jobs: Sequence[Job],
    out: str,
    *,
    fmt: str = "parquet",
    options: dict[str, Any] | None = None,
    processes: int = 1,
    client: Any = None,
    batch_rows: int = BATCH_ROWS,
) -> Iterator[JobResult]:
    """Run the jobs and yield each result as it finishes: here (``processes`` 1), on a pool
    of ``processes`` processes, or on a Dask ``client`` (one task per job; the workers must
    see the inputs and ``out`` at the same paths)."""
    if client is not None:
        from .tables import require

        distributed = require("distributed", "dask")
        futures = client.map(
            export_job,
            list(jobs),
            out=out,
            fmt=fmt,
            options=options,
            batch_rows=batch_rows,
            pure=False,
        )
        for future in distributed.as_completed(futures):
            yield future.result()
        return
    if processes <= 1 or len(jobs) <= 1:
        for job in jobs:
            yield export_job(job, out, fmt, options, batch_rows)
        return
    import multiprocessing

    # spawn: a fresh interpreter per worker, safe whatever threads the caller runs.
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=processes, mp_context=context) as pool:
        pending: list[Future[JobResult]] = [
            pool.submit(export_job, job, out, fmt, options, batch_rows) for job in jobs
        ]
        for future in as_completed(pending):
            yield future.result()


__all__ = ["Job", "JobResult", "export_job", "find_inputs", "run_jobs"]
