"""SIP at Front End scale: lyncdump against tshark on Lync sign-in, presence and IM traffic.

    python benchmarks/bench_sip.py [--messages 50024] [--repeat 3] [--variants plain,tls,sipcomp]
                                   [--views summary,ladder,json] [--keep DIR]

Builds the captures with tools/make_bulk_sip.py (many users signing in with NTLM/Kerberos,
subscribing, publishing presence, receiving BENOTIFYs and chatting, one TCP connection each),
in three variants: plain TCP, TLS 1.3 with a key log, and MS-SIPCOMP compression. Then, in the
same run, times each lyncdump view as a real process of the installed CLI (start-up included)
and the tshark command that does the same job:

    lyncdump --summary       tshark -q -z sip,stat        (TLS: with -o tls.keylog_file:...)
    lyncdump (the ladder)    tshark -Y sip -V
    lyncdump --json          tshark -Y sip -T json

and prints the best CPU time (user + system) of ``--repeat`` runs, microseconds per SIP message,
the ratio (tshark time / lyncdump time: above 1, lyncdump is faster), the goal of issue 14 and
the peak RSS of every lyncdump run. MS-SIPCOMP has no tshark peer: its ratio is against
lyncdump on the plain capture, timed again for that row with the two captures run in turn
(plain, MS-SIPCOMP, plain, ...), so that both bests come from the same stretch of machine load.
Both tools must count the same number of SIP messages.

``--keep DIR`` keeps the captures in DIR and reuses them on the next run (same --messages).
The lyncdump processes run without PYTHONDONTWRITEBYTECODE, as an installed package does.

``--layer`` times the SIP layer alone, in this process, on the plain capture's TCP streams
(read beforehand): framing, parsing, and the fields the pipeline, the sessions and the counts
read (Call-ID, CSeq, top Via branch, To tag, Content-Type, start line); microseconds per
message, best of ``--repeat``, with the garbage collector off (it is counted in the views).
"""

from __future__ import annotations

import argparse
import inspect
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_MESSAGES = 50_024  # tools/make_bulk_sip.py's default

VIEWS = {"summary": ["--summary"], "ladder": [], "json": ["--json"]}
PEERS = {"summary": ["-q", "-z", "sip,stat"], "ladder": ["-Y", "sip", "-V"],
         "json": ["-Y", "sip", "-T", "json"]}  # fmt: skip
#: issue 14: lyncdump / peer speed ratio wanted (tshark time over lyncdump time)
GOALS = {("plain", "summary"): 2.0, ("tls", "summary"): 1.0, ("plain", "ladder"): 1.0,
         ("plain", "json"): 1.0, ("tls", "ladder"): 1.0, ("tls", "json"): 1.0}  # fmt: skip
SIPCOMP_GOAL = 1 / 1.3  # MS-SIPCOMP may cost at most 1.3x plain
MEMORY_GOAL_MB = 150  # --summary and --json


#: Runs the CLI as ``python -m lyncdump.cli`` does, and writes the peak resident memory of the
#: process image (VmHWM: not what the process inherited at fork, which ru_maxrss counts) to
#: the file named by LYNCDUMP_BENCH_PEAK when it exits.
_LYNCDUMP = (
    "import atexit, os, runpy\n"
    "def _peak():\n"
    "    for line in open('/proc/self/status'):\n"
    "        if line.startswith('VmHWM:'):\n"
    "            open(os.environ['LYNCDUMP_BENCH_PEAK'], 'w').write(line.split()[1])\n"
    "atexit.register(_peak)\n"
    "runpy.run_module('lyncdump.cli', run_name='__main__', alter_sys=True)\n"
)


def run(cmd: list[str], env: dict[str, str] | None = None) -> tuple[float, float, str]:
    """CPU seconds (user + system) of one process, its peak RSS in MB (lyncdump only, else 0)
    and its output when short (long outputs go to /dev/null: writing them is part of the cost,
    keeping them is not)."""
    keep = "-z" in cmd or "--summary" in cmd
    with tempfile.TemporaryFile() as out, tempfile.NamedTemporaryFile() as peak:
        if env is not None:
            env = dict(env, LYNCDUMP_BENCH_PEAK=peak.name)
        proc = subprocess.Popen(
            cmd, stdout=out if keep else subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env
        )
        _, status, usage = os.wait4(proc.pid, 0)
        if status != 0:
            raise SystemExit(f"failed ({status}): {' '.join(cmd)}")
        out.seek(0)
        text = out.read().decode("utf-8", "replace") if keep else ""
        kb = peak.read().strip()
    return usage.ru_utime + usage.ru_stime, int(kb or 0) / 1024, text


def best(
    cmd: list[str], repeat: int, env: dict[str, str] | None = None
) -> tuple[float, float, str]:
    runs = [run(cmd, env) for _ in range(repeat)]
    return min(r[0] for r in runs), max(r[1] for r in runs), runs[0][2]


def best_interleaved(
    cmds: list[list[str]], repeat: int, env: dict[str, str] | None = None
) -> list[tuple[float, float, str]]:
    """best() of each command, the commands run in turn (a, b, a, b, ...): a ratio of two
    lyncdump runs then compares times taken under the same load, not a batch of one against a
    later batch of the other."""
    runs: list[list[tuple[float, float, str]]] = [[] for _ in cmds]
    for _ in range(repeat):
        for cmd, kept in zip(cmds, runs, strict=True):
            kept.append(run(cmd, env))
    return [(min(r[0] for r in kept), max(r[1] for r in kept), kept[0][2]) for kept in runs]


def tcp_streams(path: Path) -> list[tuple[int, bytes, int]]:
    """Every in-order TCP payload of a capture as (direction key, bytes, frame)."""
    from lyncdump.capture import open_capture
    from lyncdump.model import DefectLog
    from lyncdump.net.decode import PacketDecoder
    from lyncdump.net.tcp import StreamData, TcpReassembler

    defects = DefectLog()
    decoder = PacketDecoder(defects)
    tcp = TcpReassembler(defects)
    out = []
    reader = open_capture(str(path))
    try:
        for frame, (ts, linktype, data) in enumerate(reader.frames(), start=1):
            decoded = decoder.decode(frame, ts, linktype, data)
            if decoded is None or decoded[0] != 6:
                continue
            _, src, sport, dst, dport, payload, seq, flags = decoded
            for event in tcp.segment(frame, ts, src, sport, dst, dport, seq, flags, payload):
                if isinstance(event, StreamData):
                    out.append((2 * event.conn.id + event.direction, event.data, event.frame))
    finally:
        reader.close()
    return out


def sip_layer(path: Path, repeat: int) -> tuple[float, int]:
    """Best seconds and message count of framing + parsing + the fields everyone reads."""
    import gc

    from lyncdump.sip.framing import SipStreamFramer
    from lyncdump.sip.message import parse_message

    streams = tcp_streams(path)
    handover = "header_end" in inspect.signature(parse_message).parameters  # since issue 14

    def once() -> int:
        framers: dict[int, SipStreamFramer] = {}
        count = 0
        for key, data, frame in streams:
            framer = framers.get(key)
            if framer is None:
                framer = framers[key] = SipStreamFramer()
            framer.receive_data(data, frame, 0.0)
            while (framed := framer.next_message()) is not None:
                if handover:
                    m = parse_message(
                        framed.data,
                        header_end=framed.header_end,
                        content_length=framed.content_length,
                    )
                else:
                    m = parse_message(framed.data)
                vias = m.via
                _ = (m.call_id, m.cseq, m.method, m.status, vias[0].branch if vias else None)
                _ = (m.to.tag if m.status is not None and m.to else None, m.content_type)
                count += 1
        return count

    gc.disable()
    try:
        times = []
        count = 0
        for _ in range(repeat):
            started = time.process_time()
            count = once()
            times.append(time.process_time() - started)
    finally:
        gc.enable()
    return min(times), count


def captures(folder: Path, variants: list[str], messages: int) -> dict[str, Path]:
    out = {}
    for variant in variants:
        path = folder / f"bulk-{variant}-{messages}.pcap"
        if not path.exists() or (variant == "tls" and not path.with_suffix(".keys").exists()):
            # Imported only to build: the tools put the source tree first on sys.path.
            sys.path.insert(0, str(ROOT / "tools"))
            import make_bulk_sip

            started = time.perf_counter()
            counts = make_bulk_sip.build(path, variant, messages)
            print(
                f"made {path.name}: {counts.messages} SIP messages, {counts.connections} TCP "
                f"connections, {counts.frames} frames, {path.stat().st_size / 1e6:.1f} MB "
                f"in {time.perf_counter() - started:.0f} s"
            )
        out[variant] = path
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=DEFAULT_MESSAGES)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--variants", default="plain,tls,sipcomp")
    parser.add_argument("--views", default="summary,ladder,json")
    parser.add_argument("--keep", type=Path, help="keep (and reuse) the captures in this folder")
    parser.add_argument("--layer", action="store_true", help="time the SIP layer alone")
    args = parser.parse_args()
    variants = args.variants.split(",")
    views = args.views.split(",")
    folder = args.keep or Path(tempfile.mkdtemp(prefix="bench-sip-"))
    folder.mkdir(parents=True, exist_ok=True)
    try:
        if args.layer:
            path = captures(folder, ["plain"], args.messages)["plain"]
            seconds, count = sip_layer(path, args.repeat)
            print(
                "SIP layer (framing, parsing, the fields sessions and counts read): "
                f"{count} messages in {seconds:.2f} s CPU, {seconds / count * 1e6:.1f} us/message"
            )
            return
        paths = captures(folder, variants, args.messages)
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        tshark = shutil.which("tshark")
        n = args.messages
        print(f"{n} SIP messages per capture; best CPU time of {args.repeat} runs; ratio = "
              "tshark / lyncdump (above 1: lyncdump faster)")  # fmt: skip
        print(f"{'capture':8} {'view':8} {'lyncdump':>9} {'us/msg':>7} {'peak RSS':>9}   "
              f"{'peer':34} {'time':>7} {'ratio':>6} {'goal':>6}")  # fmt: skip
        for variant, path in paths.items():
            keys = path.with_suffix(".keys")
            key_args = ["--keylog", str(keys)] if variant == "tls" else []
            for view in views:
                cmd = [sys.executable, "-c", _LYNCDUMP, *VIEWS[view], *key_args, str(path)]
                plain_again = None
                if variant == "sipcomp" and "plain" in paths:
                    # against the plain capture timed again, in turn with this one
                    plain_cmd = [sys.executable, "-c", _LYNCDUMP, *VIEWS[view], str(paths["plain"])]
                    pair = best_interleaved([plain_cmd, cmd], args.repeat, env)
                    plain_again = pair[0][0]
                    ours, rss, text = pair[1]
                else:
                    ours, rss, text = best(cmd, args.repeat, env)
                if view == "summary":
                    found = re.search(r"SIP messages (\d+)", text)
                    counted = int(found.group(1)) if found else -1
                    if counted != n:
                        print(f"  lyncdump counted {counted} SIP messages, not {n}")
                peer_label, theirs, goal = "", None, None
                if plain_again is not None:
                    peer_label, theirs, goal = (
                        "lyncdump, plain (run in turn)",
                        plain_again,
                        SIPCOMP_GOAL,
                    )
                elif variant != "sipcomp" and tshark is not None:
                    opts = ["-o", f"tls.keylog_file:{keys}"] if variant == "tls" else []
                    peer = [tshark, "-n", "-r", str(path), *opts, *PEERS[view]]
                    theirs, _, peer_text = best(peer, args.repeat)
                    peer_label = "tshark " + " ".join(PEERS[view])
                    goal = GOALS.get((variant, view))
                    if view == "summary":
                        found = re.search(r"Number of SIP messages: (\d+)", peer_text)
                        if found is None or int(found.group(1)) != n:
                            print(
                                f"  tshark counted {found.group(1) if found else '?'} SIP messages"
                            )
                ratio = f"{theirs / ours:6.2f}" if theirs else "     -"
                met = (
                    ""
                    if goal is None or not theirs
                    else ("ok" if theirs / ours >= goal else "NOT MET")
                )
                mem = (
                    "" if view == "ladder" else (" (ok)" if rss < MEMORY_GOAL_MB else " (over 150)")
                )
                print(
                    f"{variant:8} {view:8} {ours:8.2f}s {ours / n * 1e6:7.0f} {rss:7.0f} MB{mem:11}"
                    f"{peer_label:34} {f'{theirs:.2f}s' if theirs else '-':>7} {ratio} "
                    f"{'' if goal is None else f'{goal:.2f}':>6} {met}"
                )
    finally:
        if args.keep is None:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
