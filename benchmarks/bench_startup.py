"""How long does ``lyncdump`` take to start, next to tshark?

    python benchmarks/bench_startup.py [--repeat 10] [--keep FILE]

Builds a tiny capture (one SIP call over UDP with a few RTP packets), then times fresh
processes in the same run, best of ``--repeat`` each, wall clock and CPU (user + system):
  - ``python -c pass``: the interpreter alone, the floor under every Python program;
  - ``python -c "import lyncdump"``: the library's import;
  - ``lyncdump --version`` and ``lyncdump --summary tiny.pcap``: the command's start-up;
  - ``tshark -v`` and ``tshark -n -r tiny.pcap -q``: the peer's (it loads its dissectors).
It also counts the modules each lyncdump run imports (``sys.modules`` at exit), so a module
that starts loading again on every run shows here before it shows in the times.

The lyncdump processes run without PYTHONDONTWRITEBYTECODE, as an installed package does
(its modules compiled once); a warm-up run before the timed ones writes the .pyc files.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_read import build  # noqa: E402

#: Prints how many modules the run imported, and how many of them are lyncdump's, at exit.
_COUNT = (
    "import atexit, runpy, sys\n"
    "def _count():\n"
    "    names = list(sys.modules)\n"
    "    ours = sum(1 for n in names if n == 'lyncdump' or n.startswith('lyncdump.'))\n"
    "    sys.stderr.write(f'\\nMODULES {len(names)} {ours}\\n')\n"
    "atexit.register(_count)\n"
    "sys.argv = ['lyncdump'] + sys.argv[1:]\n"
    "runpy.run_module('lyncdump.cli', run_name='__main__', alter_sys=True)\n"
)


def timed(cmd: list[str], env: dict[str, str] | None = None) -> tuple[float, float]:
    """Wall-clock seconds and CPU seconds (user + system) of one child process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True, env=env)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime


def best(cmd: list[str], repeat: int, env: dict[str, str] | None = None) -> tuple[float, float]:
    """Best wall and best CPU over ``repeat`` fresh processes (each minimum on its own)."""
    runs = [timed(cmd, env) for _ in range(repeat)]
    return min(r[0] for r in runs), min(r[1] for r in runs)


def modules(args: list[str], env: dict[str, str]) -> tuple[int, int]:
    """(all modules, lyncdump modules) in ``sys.modules`` at the end of ``lyncdump ARGS``."""
    done = subprocess.run(
        [sys.executable, "-c", _COUNT, *args], capture_output=True, text=True, env=env
    )
    line = next(x for x in done.stderr.splitlines() if x.startswith("MODULES "))
    _, total, ours = line.split()
    return int(total), int(ours)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--keep", help="also copy the generated capture here")
    args = parser.parse_args()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "tiny.pcap"
        packets = build(path, 1, 10)
        if args.keep:
            shutil.copy(path, args.keep)
        print(f"capture: {packets} packets, {path.stat().st_size:,} bytes (one call)")
        py = sys.executable
        ours = {
            "python -c pass": [py, "-c", "pass"],
            "python -c 'import lyncdump'": [py, "-c", "import lyncdump"],
            "lyncdump --version": [py, "-m", "lyncdump.cli", "--version"],
            "lyncdump --summary tiny.pcap": [py, "-m", "lyncdump.cli", "--summary", str(path)],
        }
        for cmd in ours.values():  # warm-up: writes the .pyc files, fills the page cache
            subprocess.run(cmd, check=True, capture_output=True, env=env)
        results = {name: best(cmd, args.repeat, env) for name, cmd in ours.items()}
        counts = {
            "lyncdump --version": modules(["--version"], env),
            "lyncdump --summary tiny.pcap": modules(["--summary", str(path)], env),
        }
        tshark = shutil.which("tshark")
        peers: dict[str, tuple[float, float]] = {}
        if tshark is None:
            print("tshark not installed: no ratio")
        else:
            tenv = dict(os.environ, LC_ALL="C")
            for name, cmd in {
                "tshark -v": [tshark, "-v"],
                "tshark -n -r tiny.pcap -q": [tshark, "-n", "-r", str(path), "-q"],
            }.items():
                subprocess.run(cmd, check=True, capture_output=True, env=tenv)
                peers[name] = best(cmd, args.repeat, tenv)

    print(f"best of {args.repeat} fresh processes:")
    print(f"{'command':<32} {'wall s':>8} {'CPU s':>8}  modules (lyncdump's)")
    for name, (wall, cpu) in {**results, **peers}.items():
        count = f"  {counts[name][0]} ({counts[name][1]})" if name in counts else ""
        print(f"{name:<32} {wall:8.3f} {cpu:8.3f}{count}")
    floor_wall, floor_cpu = results["python -c pass"]
    for name in ("lyncdump --version", "lyncdump --summary tiny.pcap"):
        wall, cpu = results[name]
        print(f"{name}: {wall - floor_wall:.3f} s wall, {cpu - floor_cpu:.3f} s CPU "
              "above the bare interpreter")  # fmt: skip
    if peers:
        pairs = (
            ("lyncdump --version", "tshark -v"),
            ("lyncdump --summary tiny.pcap", "tshark -n -r tiny.pcap -q"),
        )
        for mine, theirs in pairs:
            (w, c), (tw, tc) = results[mine], peers[theirs]
            print(f"ratio: {mine} starts {tw / w:.2f}x as fast as {theirs} "
                  f"(CPU time: {tc / c:.2f}x)")  # fmt: skip


if __name__ == "__main__":
    main()
