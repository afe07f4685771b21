"""A mutation campaign against lyncdump: long runs, outside CI.

    python tools/fuzz.py --minutes 20                 # captures/ and ../shared/corpus
    python tools/fuzz.py --minutes 5 --jobs 2 --out fuzz-findings --seed 7
    python tools/fuzz.py --in-process --minutes 10    # the parsers themselves, many per second
    python tools/fuzz.py --replay fuzz-findings/internal-error-1a2b3c4d/minimized.bin

Each CLI run takes a sample capture or trace log and mutates it (tools/fuzz_mutations.py: bit
flips, truncation, splices of other captures' frames, length-field tweaks, and structure-aware
mutation of the SIP, STUN, RTP and MS-SIPCOMP payloads inside the frames), or draws a hostile
capture from one of the families of tools/hostile.py (decompression bombs, floods of half-open
connections or fragments, bad MS-SIPCOMP packets, oversized SIP; ``--hostile`` of the runs),
and runs the CLI on it in a subprocess with a time and an address-space limit, in one of its
views (ladder, -v, --json -v, --summary, --calls, --redact). A run is a *finding* when:

* it exits with anything but 0 or 2 (3 is an internal error), or prints a traceback;
* it is killed by the time limit or runs out of memory;
* it costs more than the input justifies: over ``--slow`` seconds, or a peak RSS over
  ``--max-rss`` MB plus 200 times the input size;
* the compiled fast path and the pure-Python path (``LYNCDUMP_PURE_PYTHON=1``) disagree on
  the exit status or the ``--json`` output (checked on ``--parity`` of the runs);
* ``--redact`` output still holds a secret that the same input shows without it (a key after
  ``inline:``, a ``gssapi-data``/``response`` value, ``Basic`` credentials, an ``ms-body``, an
  ICE password; checked on ``--redact-check`` of the runs).

``--in-process`` runs the parser targets of tools/fuzz_targets.py instead (the ones CI runs
briefly), thousands of inputs per second per job: anything raised but ``LyncdumpError`` is a
finding, written with the target's name and a minimised input.

Each finding goes to its own folder under ``--out`` with the mutated input, a smaller input
that still shows it (delta debugging: whole frames first, then byte ranges), the command line
and what was seen. Findings are grouped by a signature (kind + the last lines of stderr) so a
campaign reports each problem once.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import re
import resource
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import asdict, dataclass, field
from pathlib import Path

import fuzz_mutations as fm
import hostile

ROOT = Path(__file__).resolve().parent.parent
VIEWS: list[list[str]] = [
    [],
    ["-v"],
    ["--json", "-v"],
    ["--summary"],
    ["--calls"],
    ["--redact", "-v"],
    ["--redact", "--json", "-v"],
]


@dataclass
class Outcome:
    """What one CLI run did."""

    status: int  # exit status, or -signal
    seconds: float
    max_rss_mb: float
    stdout_hash: str
    stderr_tail: str
    timed_out: bool = False


@dataclass
class Finding:
    kind: str
    signature: str
    source: str
    view: list[str]
    seed: int
    outcome: dict[str, object]
    input_size: int
    minimized_size: int | None = None
    extra: dict[str, object] = field(default_factory=dict)


# -- running the CLI ----------------------------------------------------------------------------


def _limits(max_as_mb: int) -> Callable[[], None]:
    def apply() -> None:
        os.setsid()
        limit = max_as_mb << 20
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))

    return apply


def run_cli(path: Path, view: list[str], *, pure: bool, timeout: float, max_as_mb: int) -> Outcome:
    """Run ``python -m lyncdump.cli VIEW PATH`` with limits; never raises."""
    env = dict(os.environ)
    env.pop("LYNCDUMP_DEBUG", None)
    env["LYNCDUMP_PURE_PYTHON"] = "1" if pure else "0"
    env.setdefault("PYTHONHASHSEED", "0")
    cmd = [sys.executable, "-m", "lyncdump.cli", *view, str(path)]
    start = time.monotonic()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(
            cmd,
            stdout=out,
            stderr=err,
            stdin=subprocess.DEVNULL,
            env=env,
            preexec_fn=_limits(max_as_mb),  # noqa: PLW1509 - limits must be set in the child
        )
        timed_out = False
        deadline = start + timeout
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() > deadline:
                timed_out = True
                os.killpg(proc.pid, signal.SIGKILL)
                pid, status, usage = os.wait4(proc.pid, 0)
                break
            time.sleep(0.01)
        proc.returncode = os.waitstatus_to_exitcode(status)
        seconds = time.monotonic() - start
        out.seek(0)
        err.seek(0)
        stdout = out.read()
        stderr = err.read().decode("utf-8", "replace")
    return Outcome(
        status=proc.returncode,
        seconds=round(seconds, 3),
        max_rss_mb=round(usage.ru_maxrss / 1024, 1),
        stdout_hash=hashlib.sha256(stdout).hexdigest()[:16],
        stderr_tail="\n".join(stderr.strip().splitlines()[-3:])[-600:],
        timed_out=timed_out,
    )


# -- judging a run --------------------------------------------------------------------------------


def judge(outcome: Outcome, size: int, args: argparse.Namespace) -> str | None:
    """The kind of finding a run is, or None when it behaved."""
    if outcome.timed_out:
        return "timeout"
    if "MemoryError" in outcome.stderr_tail or outcome.status in (-signal.SIGKILL, -9):
        return "out-of-memory"
    if outcome.status < 0:
        return f"signal-{-outcome.status}"
    if "Traceback" in outcome.stderr_tail:
        return "traceback"
    if outcome.status == 3:
        return "internal-error"
    if outcome.status not in (0, 2):
        return f"exit-{outcome.status}"
    if outcome.seconds > args.slow:
        return "slow"
    if outcome.max_rss_mb > args.max_rss + 200 * size / (1 << 20):
        return "memory"
    return None


def signature(kind: str, outcome: Outcome) -> str:
    """Findings with the same kind and the same error text are one problem."""
    text = re.sub(r"\d+", "N", outcome.stderr_tail.splitlines()[-1] if outcome.stderr_tail else "")
    if kind in ("slow", "memory", "timeout", "out-of-memory"):
        text = ""
    return kind + ":" + hashlib.sha1(text.encode()).hexdigest()[:8]


# -- shrinking ------------------------------------------------------------------------------------


def _ddmin(items: list[bytes], still_fails: Callable[[list[bytes]], bool], budget: int) -> list:
    """Zeller's delta debugging over a list (frames or byte chunks), within ``budget`` tries."""
    n = 2
    tries = 0
    while len(items) >= 2 and tries < budget:
        chunk = max(1, len(items) // n)
        subsets = [items[i : i + chunk] for i in range(0, len(items), chunk)]
        reduced = False
        for i in range(len(subsets)):
            complement = [x for j, s in enumerate(subsets) if j != i for x in s]
            tries += 1
            if complement and still_fails(complement):
                items = complement
                n = max(n - 1, 2)
                reduced = True
                break
            if tries >= budget:
                break
        if not reduced:
            if n >= len(items):
                break
            n = min(len(items), n * 2)
    return items


def minimize(data: bytes, reproduces: Callable[[bytes], bool], budget: int = 120) -> bytes:
    """The smallest input found that still reproduces: frames of a capture first (it stays a
    capture), then byte ranges of what is left."""
    frames = fm.read_frames(data)
    best = data
    if len(frames) > 1:
        kept = _ddmin(
            [fm.write_pcap([f]) for f in frames],
            lambda subset: reproduces(_join_pcaps(subset)),
            budget // 2,
        )
        candidate = _join_pcaps(kept)
        if reproduces(candidate):
            best = candidate
    chunks = [
        best[i : i + max(1, len(best) // 32)] for i in range(0, len(best), max(1, len(best) // 32))
    ]
    kept_chunks = _ddmin(chunks, lambda subset: reproduces(b"".join(subset)), budget // 2)
    candidate = b"".join(kept_chunks)
    if len(candidate) < len(best) and reproduces(candidate):
        best = candidate
    return best


def _join_pcaps(pcaps: list[bytes]) -> bytes:
    """One pcap from single-frame pcaps made by ``write_pcap`` (same header)."""
    if not pcaps:
        return b""
    return pcaps[0][:24] + b"".join(p[24:] for p in pcaps)


# -- one iteration (in a worker process) ----------------------------------------------------------


def iteration(task: dict[str, object]) -> dict[str, object]:
    """Mutate one input, run the CLI on it, judge; returns a plain dict (picklable)."""
    seed = int(task["seed"])  # type: ignore[arg-type]
    rng = random.Random(seed)
    args = argparse.Namespace(**task["limits"])  # type: ignore[arg-type]
    sources = [Path(p) for p in task["sources"]]  # type: ignore[attr-defined]
    is_log = False
    if rng.random() < args.hostile:
        family = rng.choice(sorted(hostile.FAMILIES))
        name = f"hostile:{family}"
        mutated = hostile.FAMILIES[family](rng)
    else:
        source = sources[rng.randrange(len(sources))]
        name = source.name
        data = source.read_bytes()
        is_log = source.suffix in fm.LOG_SUFFIXES
        if is_log:
            mutated = fm.mutate_text_log(data, rng)
        else:
            other = sources[rng.randrange(len(sources))]
            mutated = fm.mutate_capture(
                data, rng, other.read_bytes() if other.suffix in fm.CAPTURE_SUFFIXES else None
            )
    view = VIEWS[rng.randrange(len(VIEWS))]
    workdir = Path(str(task["workdir"]))
    path = workdir / f"input-{seed}{'.log' if is_log else '.pcap'}"
    path.write_bytes(mutated)
    try:
        outcome = run_cli(path, view, pure=False, timeout=args.timeout, max_as_mb=args.max_as)
        kind = judge(outcome, len(mutated), args)
        result: dict[str, object] = {
            "seed": seed,
            "source": name,
            "view": view,
            "size": len(mutated),
            "outcome": asdict(outcome),
            "kind": kind,
        }
        if kind is None and rng.random() < args.redact_check:
            leaked = redaction_leaks(path, args)
            result["redact_checked"] = True
            if leaked:
                result["kind"] = "redaction"
                result["view"] = ["--redact", "-v"]
                result["extra"] = {"leaked": leaked[:5]}
        if result["kind"] is None and rng.random() < args.parity:
            json_view = ["--json", "-v"]
            a = run_cli(path, json_view, pure=False, timeout=args.timeout, max_as_mb=args.max_as)
            b = run_cli(path, json_view, pure=True, timeout=args.timeout, max_as_mb=args.max_as)
            result["parity_checked"] = True
            if (a.status, a.stdout_hash) != (b.status, b.stdout_hash):
                result["kind"] = "parity"
                result["view"] = json_view
                result["outcome"] = asdict(a)
                result["extra"] = {"pure": asdict(b)}
        if result["kind"] is not None:
            result["input"] = mutated
        return result
    finally:
        path.unlink(missing_ok=True)


_SECRET_PATTERNS = [
    re.compile(rb"(?i)\binline:([A-Za-z0-9+/]{16,}={0,2})"),
    re.compile(rb'(?i)\b(?:gssapi-data|response|rspauth|cnonce)\s*=\s*"?([^",\s]{8,})'),
    re.compile(rb"(?i)\bBasic ([A-Za-z0-9+/]{8,}={0,2})"),
    re.compile(rb"(?i)\bms-body=([A-Za-z0-9+/]{8,}={0,2})"),
    re.compile(rb"(?m)^a=ice-pwd:(\S{8,})"),
]


def _capture_output(path: Path, view: list[str], args: argparse.Namespace) -> bytes:
    env = dict(os.environ, LYNCDUMP_PURE_PYTHON="0")
    try:
        done = subprocess.run(
            [sys.executable, "-m", "lyncdump.cli", *view, str(path)],
            capture_output=True,
            timeout=args.timeout,
            env=env,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return b""
    return done.stdout


def redaction_leaks(path: Path, args: argparse.Namespace) -> list[str]:
    """Secrets the plain ``-v`` output shows that the ``--redact`` outputs still show."""
    plain = _capture_output(path, ["-v"], args)
    secrets = {m.group(1) for p in _SECRET_PATTERNS for m in p.finditer(plain)}
    secrets = {s for s in secrets if b"redacted" not in s}
    if not secrets:
        return []
    leaked: set[bytes] = set()
    for view in (["--redact", "-v"], ["--redact", "--json", "-v"]):
        out = _capture_output(path, view, args)
        leaked |= {s for s in secrets if s in out}
    return sorted(s.decode("latin-1") for s in leaked)


def reproduce(data: bytes, finding: dict[str, object], args: argparse.Namespace) -> bool:
    """Does ``data`` show the same finding (same kind and signature)?"""
    with tempfile.NamedTemporaryFile(suffix=".pcap", dir=args.workdir) as f:
        f.write(data)
        f.flush()
        path = Path(f.name)
        view = list(finding["view"])  # type: ignore[call-overload]
        if finding["kind"] == "redaction":
            return bool(redaction_leaks(path, args))
        if finding["kind"] == "parity":
            a = run_cli(path, view, pure=False, timeout=args.timeout, max_as_mb=args.max_as)
            b = run_cli(path, view, pure=True, timeout=args.timeout, max_as_mb=args.max_as)
            return (a.status, a.stdout_hash) != (b.status, b.stdout_hash)
        outcome = run_cli(path, view, pure=False, timeout=args.timeout, max_as_mb=args.max_as)
        kind = judge(outcome, len(data), args)
        return kind == finding["kind"] and signature(kind, outcome) == finding["signature"]


def record(result: dict[str, object], args: argparse.Namespace) -> Path:
    """Write a finding's folder: input, minimized input, info.json."""
    kind = str(result["kind"])
    outcome = Outcome(**result["outcome"])  # type: ignore[arg-type]
    sig = signature(kind, outcome)
    result["signature"] = sig
    folder = args.out / f"{kind}-{sig.split(':')[1]}"
    folder.mkdir(parents=True, exist_ok=True)
    data = bytes(result["input"])  # type: ignore[arg-type]
    (folder / "input.bin").write_bytes(data)
    small = None
    if args.minimize and kind not in ("slow", "memory", "timeout"):
        small = minimize(data, lambda d: reproduce(d, result, args), args.minimize_budget)
        (folder / "minimized.bin").write_bytes(small)
    finding = Finding(
        kind=kind,
        signature=sig,
        source=str(result["source"]),
        view=list(result["view"]),  # type: ignore[call-overload]
        seed=int(result["seed"]),  # type: ignore[call-overload]
        outcome=dict(result["outcome"]),  # type: ignore[call-overload]
        input_size=len(data),
        minimized_size=len(small) if small is not None else None,
        extra=dict(result.get("extra") or {}),  # type: ignore[call-overload]
    )
    info = asdict(finding)
    info["command"] = ["lyncdump", *finding.view, "minimized.bin" if small else "input.bin"]
    (folder / "info.json").write_text(json.dumps(info, indent=2) + "\n")
    return folder


# -- the campaign ----------------------------------------------------------------------------------


def campaign(args: argparse.Namespace) -> int:
    corpus = Path(args.corpus) if args.corpus else _default_corpus()
    sources = [str(p) for p in fm.inputs(corpus) if p.stat().st_size <= args.max_input]
    args.out.mkdir(parents=True, exist_ok=True)
    names = ("timeout", "max_as", "slow", "max_rss", "parity", "hostile", "redact_check")
    limits = {k: getattr(args, k) for k in names}
    deadline = time.monotonic() + args.minutes * 60
    rng = random.Random(args.seed)
    runs = 0
    parity = 0
    redact = 0
    families: Counter[str] = Counter()
    kinds: Counter[str] = Counter()
    seen: dict[str, Path] = {}
    slowest: list[tuple[float, str]] = []
    biggest: list[tuple[float, str]] = []
    started = time.monotonic()
    cpu0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    with tempfile.TemporaryDirectory() as workdir, ProcessPoolExecutor(args.jobs) as pool:
        args.workdir = workdir

        def submit() -> Future[dict[str, object]]:
            task = {
                "seed": rng.getrandbits(48),
                "sources": sources,
                "limits": limits,
                "workdir": workdir,
            }
            return pool.submit(iteration, task)

        pending = {submit() for _ in range(args.jobs * 2)}
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for fut in done:
                result = fut.result()
                runs += 1
                parity += bool(result.get("parity_checked"))
                redact += bool(result.get("redact_checked"))
                if str(result["source"]).startswith("hostile:"):
                    families[str(result["source"])] += 1
                outcome = result["outcome"]
                name = f"{result['source']} seed {result['seed']}"
                slowest = sorted([*slowest, (outcome["seconds"], name)], reverse=True)[:3]  # type: ignore[index]
                biggest = sorted([*biggest, (outcome["max_rss_mb"], name)], reverse=True)[:3]  # type: ignore[index]
                kind = result["kind"]
                if kind is not None:
                    kinds[str(kind)] += 1
                    sig = signature(str(kind), Outcome(**outcome))  # type: ignore[arg-type]
                    if sig not in seen:
                        seen[sig] = record(result, args)
                        print(f"[{runs}] {kind}: {seen[sig]}", flush=True)
                if time.monotonic() < deadline and (
                    args.runs == 0 or runs + len(pending) < args.runs
                ):
                    pending.add(submit())
            if runs % 100 == 0:
                print(f"[{runs}] {runs / (time.monotonic() - started):.1f} runs/s", flush=True)
    cpu1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (cpu1.ru_utime + cpu1.ru_stime) - (cpu0.ru_utime + cpu0.ru_stime)
    summary = {
        "runs": runs,
        "parity_checks": parity,
        "redaction_checks": redact,
        "hostile_runs": dict(sorted(families.items())),
        "wall_seconds": round(time.monotonic() - started, 1),
        "cpu_seconds": round(cpu, 1),
        "sources": len(sources),
        "findings": dict(kinds),
        "distinct": {sig: str(path) for sig, path in seen.items()},
        "slowest": slowest,
        "largest_rss_mb": biggest,
    }
    (args.out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(json.dumps(summary, indent=2))
    return 1 if seen else 0


# -- in-process: the parsers themselves ---------------------------------------------------------


def _in_process_worker(task: dict[str, object]) -> dict[str, object]:
    """Mutate seeds and call parser targets until the deadline; report the first new crashes."""
    import traceback

    import fuzz_targets as ft

    from lyncdump.errors import LyncdumpError

    rng = random.Random(int(task["seed"]))  # type: ignore[call-overload]
    deadline = float(task["deadline"])  # type: ignore[arg-type]
    seeds = fm.collect_seeds()
    pools = {t.name: ft.seeds_for(t, seeds) for t in ft.TARGETS}
    inputs = 0
    crashes: dict[str, dict[str, object]] = {}
    while time.time() < deadline:
        target = ft.TARGETS[rng.randrange(len(ft.TARGETS))]
        pool = pools[target.name]
        if not pool:
            continue
        data = pool[rng.randrange(len(pool))]
        if rng.random() < 0.1:
            data = fm.splice(data, pool[rng.randrange(len(pool))], rng.getrandbits(32))
        count = rng.randint(1, 8)
        ops = [(rng.choice(sorted(target.table)), rng.getrandbits(32)) for _ in range(count)]
        data = fm.apply(data, ops, target.table)
        inputs += 1
        try:
            target.run(data)
        except LyncdumpError:
            pass
        except Exception as exc:  # noqa: BLE001 - what we are looking for
            where = traceback.extract_tb(exc.__traceback__)[-1]
            sig = f"{target.name}:{type(exc).__name__}:{Path(where.filename).name}:{where.lineno}"
            if sig not in crashes:
                crashes[sig] = {
                    "target": target.name,
                    "error": f"{type(exc).__name__}: {exc}"[:300],
                    "traceback": traceback.format_exc()[-2000:],
                    "input": data,
                }
    return {"inputs": inputs, "crashes": crashes}


def in_process_campaign(args: argparse.Namespace) -> int:
    """Parser targets in worker processes until the time is up; findings written as files."""
    import fuzz_targets as ft

    from lyncdump.errors import LyncdumpError

    args.out.mkdir(parents=True, exist_ok=True)
    deadline = time.time() + args.minutes * 60
    rng = random.Random(args.seed)
    started = time.monotonic()
    with ProcessPoolExecutor(args.jobs) as pool:
        futures = [
            pool.submit(_in_process_worker, {"seed": rng.getrandbits(48), "deadline": deadline})
            for _ in range(args.jobs)
        ]
        results = [f.result() for f in futures]
    inputs = sum(int(r["inputs"]) for r in results)  # type: ignore[call-overload]
    crashes: dict[str, dict[str, object]] = {}
    for r in results:
        crashes.update(r["crashes"])  # type: ignore[arg-type]
    targets = {t.name: t for t in ft.TARGETS}
    for sig, crash in crashes.items():
        folder = args.out / ("crash-" + hashlib.sha1(sig.encode()).hexdigest()[:8])
        folder.mkdir(parents=True, exist_ok=True)
        data = bytes(crash["input"])  # type: ignore[arg-type]
        target = targets[str(crash["target"])]

        def still(d: bytes, target: ft.Target = target, sig: str = sig) -> bool:
            try:
                target.run(d)
            except LyncdumpError:
                return False
            except Exception as exc:  # noqa: BLE001
                return f":{type(exc).__name__}:" in sig
            return False

        (folder / "input.bin").write_bytes(data)
        (folder / "minimized.bin").write_bytes(minimize(data, still, args.minimize_budget))
        info = {k: v for k, v in crash.items() if k != "input"}
        info["signature"] = sig
        (folder / "info.json").write_text(json.dumps(info, indent=2) + "\n")
        print(f"{sig}: {folder}")
    summary = {
        "mode": "in-process",
        "inputs": inputs,
        "wall_seconds": round(time.monotonic() - started, 1),
        "jobs": args.jobs,
        "findings": sorted(crashes),
    }
    (args.out / "summary-in-process.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(json.dumps(summary, indent=2))
    return 1 if crashes else 0


def _default_corpus() -> Path | None:
    env = os.environ.get("LYNCDUMP_CORPUS")
    path = Path(env) if env else ROOT.parent / "shared" / "corpus"
    return path if path.is_dir() else None


def replay(args: argparse.Namespace, path: Path) -> int:
    """Run every view on one input and print what each did."""
    data = path.read_bytes()
    worst = 0
    for view in VIEWS:
        for pure in (False, True):
            outcome = run_cli(path, view, pure=pure, timeout=args.timeout, max_as_mb=args.max_as)
            kind = judge(outcome, len(data), args)
            worst = max(worst, 1 if kind else 0)
            label = " ".join(view) or "(ladder)"
            print(
                f"{label:28} {'pure' if pure else 'fast'}  exit {outcome.status}  "
                f"{outcome.seconds:6.2f}s  {outcome.max_rss_mb:7.1f} MB  {kind or 'ok'}"
            )
            if kind and outcome.stderr_tail:
                print("    " + outcome.stderr_tail.replace("\n", "\n    "))
    return worst


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="campaign length (wall)")
    parser.add_argument("--runs", type=int, default=0, help="stop after this many runs")
    parser.add_argument("--jobs", type=int, default=max(1, (os.cpu_count() or 2) - 1))
    parser.add_argument("--seed", type=int, default=int(time.time()))
    parser.add_argument("--out", type=Path, default=Path("fuzz-findings"))
    parser.add_argument("--corpus", help="folder of more captures (default ../shared/corpus)")
    parser.add_argument("--max-input", type=int, default=2 << 20, help="skip bigger sources")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds per run")
    parser.add_argument("--max-as", type=int, default=2048, help="address space per run, MB")
    parser.add_argument("--slow", type=float, default=20.0, help="a run over this is a finding")
    parser.add_argument("--max-rss", type=float, default=400.0, help="MB before input scaling")
    parser.add_argument("--parity", type=float, default=0.2, help="share of runs compared")
    parser.add_argument("--hostile", type=float, default=0.15, help="share of hostile families")
    parser.add_argument("--redact-check", type=float, default=0.1, help="share checked")
    parser.add_argument("--in-process", action="store_true", help="fuzz the parsers in-process")
    parser.add_argument("--no-minimize", dest="minimize", action="store_false")
    parser.add_argument("--minimize-budget", type=int, default=120, help="runs per shrink")
    parser.add_argument("--replay", type=Path, help="run every view on one input and stop")
    args = parser.parse_args(argv)
    if args.replay:
        return replay(args, args.replay)
    if args.in_process:
        return in_process_campaign(args)
    return campaign(args)


if __name__ == "__main__":
    sys.exit(main())
