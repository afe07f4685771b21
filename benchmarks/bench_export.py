"""How fast does ``lyncdump export`` turn a folder of captures into Parquet tables, and how
much memory does a worker take?

    python benchmarks/bench_export.py [--files 100] [--messages 2000] [--skip-dask]

Writes ``--files`` Front-End-shaped captures (tests/pipeline/_bulk.py: sign-ins,
subscriptions, IMs and calls over UDP), the i-th with ``messages * (1 + i % 8)`` SIP
messages, so the largest are eight times the smallest. In the same run it exports them
with one process, with two, and on a local Dask cluster (a scheduler and two worker
processes), and runs tshark over the same files as the peer (``tshark -Y sip -T fields``:
reading and dissecting SIP, printing a few fields; no tables). It prints files per second
and the ratio to tshark, and each worker's peak resident memory (VmHWM of the worker's own
process image). Streaming keeps the peak to what is open in a capture plus one batch of rows
per table, so past the traffic's steady state it must not grow with the file size. The check
exports, each in a fresh process, the smallest file, the largest and one of the same traffic
four times the largest: the last two peaks must be within 10% of each other (the smallest
shows the warm-up: sessions, calls and batches filling).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests" / "pipeline"))
from _bulk import write_bulk_pcap  # noqa: E402

from lyncdump.export import JobResult, export  # noqa: E402
from lyncdump.fastpath import describe  # noqa: E402


def build(folder: Path, files: int, messages: int) -> list[Path]:
    paths = []
    for i in range(files):
        path = folder / f"fe_{i:05d}.pcap"
        write_bulk_pcap(path, messages * (1 + i % 8))
        paths.append(path)
    return paths


def report(name: str, seconds: float, results: list[JobResult], peer: float | None) -> None:
    rate = len(results) / seconds
    ratio = f", {peer / seconds:.2f}x tshark's time" if peer else ""
    print(f"{name:>22}: {len(results)} files in {seconds:6.1f} s = {rate:6.2f} files/s{ratio}")
    by_worker: dict[int, list[JobResult]] = {}
    for r in results:
        by_worker.setdefault(r.worker, []).append(r)
    for pid, done in sorted(by_worker.items()):
        peak = max(r.peak_rss for r in done) / 2**20
        print(f"{'':>24}worker {pid}: {len(done)} files, peak RSS {peak:6.1f} MiB")
    errors = [r for r in results if r.error]
    if errors:
        print(f"{'':>24}{len(errors)} files with errors, e.g. {errors[0].error}")


def tshark_seconds(paths: list[Path]) -> float | None:
    if shutil.which("tshark") is None:
        return None
    started = time.perf_counter()
    for path in paths:
        subprocess.run(
            ["tshark", "-n", "-r", str(path), "-Y", "sip", "-T", "fields", "-e", "frame.number",
             "-e", "sip.Call-ID"],
            check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
    return time.perf_counter() - started


def memory_is_flat(paths: list[Path], out: Path, largest_messages: int) -> None:
    """The peak resident memory of a fresh process exporting the smallest file, the largest
    (``largest_messages`` SIP messages), and a file of the same traffic four times as long."""
    sizes = sorted(paths, key=lambda p: p.stat().st_size)
    largest = sizes[-1]
    bigger = out / "four_times_the_largest.pcap"
    write_bulk_pcap(bigger, 4 * largest_messages)
    peaks = []
    for path in (sizes[0], largest, bigger):
        code = (
            "import sys; from lyncdump.export import export; "
            "(r,) = export([sys.argv[1]], sys.argv[2]); print(r.peak_rss)"
        )
        done = subprocess.run(
            [sys.executable, "-c", code, str(path), str(out / path.stem)],
            check=True,
            capture_output=True,
            text=True,
        )
        peaks.append((path.stat().st_size, int(done.stdout.strip())))
    print("peak RSS of one export process: " + ", ".join(
        f"{size / 2**20:.1f} MiB file {peak / 2**20:.1f} MiB" for size, peak in peaks))  # fmt: skip
    if peaks[2][1] > peaks[1][1] * 1.10:
        print("WARNING: peak memory grows with the file size")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=100)
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--skip-dask", action="store_true")
    args = parser.parse_args()
    print(f"lyncdump export, {describe()}, {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        inputs = root / "captures"
        inputs.mkdir()
        paths = build(inputs, args.files, args.messages)
        total = sum(p.stat().st_size for p in paths)
        print(f"{len(paths)} captures, {total / 2**20:.1f} MiB, largest "
              f"{max(p.stat().st_size for p in paths) / 2**20:.1f} MiB")  # fmt: skip
        peer = tshark_seconds(paths)
        if peer is not None:
            print(f"{'tshark (peer)':>22}: {len(paths)} files in {peer:6.1f} s = "
                  f"{len(paths) / peer:6.2f} files/s")  # fmt: skip
        for processes in (1, 2):
            started = time.perf_counter()
            results = export([str(inputs)], str(root / f"out{processes}"), processes=processes)
            report(f"{processes} process{'es' if processes > 1 else ''}",
                   time.perf_counter() - started, results, peer)  # fmt: skip
        if not args.skip_dask:
            import distributed

            with (
                distributed.LocalCluster(
                    n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
                ) as cluster,
                distributed.Client(cluster) as client,
            ):
                started = time.perf_counter()
                results = export([str(inputs)], str(root / "dask"), client=client)
                report("Dask, 2 workers", time.perf_counter() - started, results, peer)
        single = root / "single"
        single.mkdir()
        memory_is_flat(paths, single, args.messages * min(8, args.files))


if __name__ == "__main__":
    main()
