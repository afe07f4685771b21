"""What a run loads (issue 14, start-up): a plain capture's ``--summary`` imports neither the
trace-log parsers, the merge, NTLM/Kerberos, TLS, MS-SIPCOMP nor the optional layers (report,
export, pyasn1, scapy, pandas...), ``--version`` and ``--help`` load no analyzer, and
``import lyncdump`` loads nothing until a name is used.

Each check runs a fresh interpreter and reads its ``sys.modules`` at exit: no timing, so the
test holds on a busy machine; benchmarks/bench_startup.py prints the times.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import lyncdump

from .conftest import CAPTURES

SRC = str(Path(lyncdump.__file__).resolve().parent.parent)

#: Runs ``lyncdump ARGS`` as the console script does (cli.main) and writes the names in
#: ``sys.modules`` at exit to the file named by the first argument.
_RUN_COMMAND = """
import atexit, json, sys
out = sys.argv[1]
atexit.register(lambda: open(out, "w").write(json.dumps(sorted(sys.modules))))
sys.argv = ["lyncdump", *sys.argv[2:]]
from lyncdump.cli import main
main()
"""

#: A plain pcap: SIP over UDP (REGISTER with Digest, calls, IM, presence) and RTP; no NTLM,
#: Kerberos, TLS, MS-SIPCOMP, RTCP or trace log.
PLAIN = CAPTURES / "sip-udp-call.pcap"

#: Modules a plain capture's run has no use for, each loaded where it is first needed.
NOT_FOR_A_PLAIN_CAPTURE = [
    "lyncdump.capture.tracelog",  # the trace-log parsers: an input that is a log
    "lyncdump.analysis.merge",  # several inputs merged
    "lyncdump.render.merged",
    "lyncdump.sip.ntlm",  # the first NTLM token
    "lyncdump.sip.kerberos",  # the first Kerberos token
    "lyncdump.sip._kerberos_asn1",
    "lyncdump.tls.decrypt",  # the first TLS connection
    "lyncdump.tls.handshake",
    "lyncdump.sipcomp.stream",  # a NEGOTIATE, or a TCP direction that is no known protocol
    "lyncdump.sipcomp.mppc",
    "lyncdump.media.srtp",  # SDES keys
    "lyncdump.media.rtcp",  # the first RTCP packet (this capture has none)
    "lyncdump.media.rtp",  # a stream with DTMF (render/streams.py)
    "lyncdump.filter_syntax",  # the first --filter expression
    "defusedxml",  # the first XML body parsed (--summary parses none)
    "lyncdump.capture.live",
    "lyncdump.capture.writer",  # -w
    "lyncdump.check",
    "gzip",  # a .gz input (capture/source.py)
    "lyncdump.report",
    "lyncdump.export",
    "lyncdump.render.msview",
    "lyncdump.render.redact",
    "pyasn1",
    "cryptography",
    "scapy",
    "dpkt",
    "jinja2",
    "pandas",
    "pyarrow",
]


def _modules_after(
    tmp_path: Path, script: str, *args: str, cwd: Path | None = None
) -> tuple[list[str], str]:
    """(modules loaded at exit, standard output) of ``python -c SCRIPT OUT ARGS``."""
    out = tmp_path / "modules.json"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([SRC, os.environ.get("PYTHONPATH", "")]))
    done = subprocess.run(
        [sys.executable, "-c", script, str(out), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        cwd=cwd,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(out.read_text()), done.stdout


def _loaded(modules: list[str], name: str) -> bool:
    return any(m == name or m.startswith(name + ".") for m in modules)


def test_a_plain_capture_summary_loads_only_what_it_uses(tmp_path: Path) -> None:
    modules, stdout = _modules_after(tmp_path, _RUN_COMMAND, "--summary", str(PLAIN))
    assert "SIP messages 27" in stdout and "RTP streams 2" in stdout  # the run did decode
    assert "lyncdump.pipeline.core" in modules and "lyncdump.analysis.calls" in modules
    loaded = [name for name in NOT_FOR_A_PLAIN_CAPTURE if _loaded(modules, name)]
    assert loaded == [], f"a plain --summary run imported {loaded}"


@pytest.mark.parametrize(
    ("args", "expected", "shown"),
    [
        (["--summary", "quirks.server.log"], "lyncdump.capture.tracelog", "(lync-server-log)"),
        (["lync-remote-ntlm.pcapng"], "lyncdump.sip.ntlm", "NTLM"),  # the ladder reads tokens
        (["--summary", "lync-compressed-tcp.pcap"], "lyncdump.sipcomp.stream", "compressed"),
        (["--summary", "lync-tls-nokeys.pcap"], "lyncdump.tls.decrypt", "TLS"),
        (["--json", "-Y", "kind=call", "sip-udp-call.pcap"], "lyncdump.filter_syntax", "INVITE"),
    ],
    ids=["trace-log", "ntlm", "sipcomp", "tls", "filter"],
)
def test_a_layer_loads_when_the_input_needs_it(
    tmp_path: Path, args: list[str], expected: str, shown: str
) -> None:
    """The other side: what was made lazy still loads, and works, for the input that uses it
    (the expected outputs of these samples are compared by tests/e2e/test_samples.py)."""
    args = [str(CAPTURES / a) if (CAPTURES / a).is_file() else a for a in args]
    modules, stdout = _modules_after(tmp_path, _RUN_COMMAND, *args)
    assert expected in modules
    assert shown in stdout


#: A capture of sign-ins only (SIP over TCP, NTLM): no call, no STUN/TURN, no RTP.
SIGNIN = CAPTURES / "lync-signin-tcp.pcapng"

#: Modules a capture without calls, STUN/TURN or an expression has no use for (the second
#: round of issue 14): the STUN/TURN/ICE analyzers start with the first packet or SDP that
#: needs them, the call analysis with the first call, the filter table with the first
#: expression, and the command line streams without lyncdump.api (whose result types bring
#: the call and IM analyzers).
NOT_WITHOUT_CALLS_OR_STUN = [
    "lyncdump.api",
    "lyncdump.analysis.calls",
    "lyncdump.analysis.media_join",
    "lyncdump.analysis.offer_answer",
    "lyncdump.analysis.im",
    "lyncdump.media.stun_pipeline",
    "lyncdump.media.demux",
    "lyncdump.render.calls",
    "lyncdump.render.stun_json",
]

_FILTER_TABLE = """
import json, sys
import lyncdump.filters as f
filled = bool(f._FIELDS)
n = len(f.FIELDS)  # the module __getattr__ fills the table
json.dump([filled, n, "lyncdump.analysis.calls" in sys.modules], open(sys.argv[1], "w"))
"""


def test_a_capture_without_calls_or_stun_loads_neither(tmp_path: Path) -> None:
    modules, stdout = _modules_after(tmp_path, _RUN_COMMAND, "--summary", SIGNIN.name, cwd=CAPTURES)
    assert stdout == (CAPTURES / (SIGNIN.name + ".summary.txt")).read_text(encoding="utf-8")
    loaded = [n for n in NOT_WITHOUT_CALLS_OR_STUN + NOT_FOR_A_PLAIN_CAPTURE if _loaded(modules, n)]
    assert loaded == [], f"a sign-in capture's --summary imported {loaded}"


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--summary", "lync-turn-udp.pcap"], "lyncdump.media.stun_pipeline"),  # TURN over UDP
        (["--summary", "ice-tcp-oc2007.pcap"], "lyncdump.media.stun_pipeline"),  # over TCP
        (["--json", "lync-turn-udp.pcap"], "lyncdump.render.stun_json"),
        (["--summary", "sip-udp-call.pcap"], "lyncdump.analysis.calls"),
        (["--summary", "sip-udp-call.pcap"], "lyncdump.render.calls"),
    ],
    ids=["turn-udp", "ice-tcp", "stun-json", "call", "call-summary"],
)
def test_stun_and_calls_load_when_the_input_has_them(
    tmp_path: Path, args: list[str], expected: str
) -> None:
    """What the second round made lazy still loads, and its output is the expected one."""
    view = {"--summary": ".summary.txt", "--json": ".ndjson"}[args[0]]
    modules, stdout = _modules_after(tmp_path, _RUN_COMMAND, *args, cwd=CAPTURES)
    assert expected in modules
    assert stdout == (CAPTURES / (args[1] + view)).read_text(encoding="utf-8")


def test_the_filter_table_is_filled_on_first_use(tmp_path: Path) -> None:
    """``lyncdump.filters`` alone builds no field (nor loads the call analysis for the call
    states); ``FIELDS`` read from outside is the whole table."""
    (filled, count, calls), _ = _modules_after(tmp_path, _FILTER_TABLE)
    assert not filled and count > 100 and calls


@pytest.mark.parametrize("args", [["--version"], ["--help"]], ids=["version", "help"])
def test_version_and_help_load_no_analyzer(tmp_path: Path, args: list[str]) -> None:
    modules, stdout = _modules_after(tmp_path, _RUN_COMMAND, *args)
    assert "lyncdump" in stdout
    analyzer = [
        m
        for m in modules
        if m.startswith(("lyncdump.api", "lyncdump.pipeline", "lyncdump.analysis"))
        or m.startswith(("lyncdump.sip", "lyncdump.media", "lyncdump.filters"))
    ]
    assert analyzer == []
    # Nor the capture readers, nor dataclasses (the command's view is a plain class).
    assert not [m for m in modules if m.startswith("lyncdump.capture") or m == "dataclasses"]


#: What a pcap's run without calls, STUN/TURN, TLS, WebSocket or an expression no longer loads
#: (the third round of issue 14, session 30): each loads with what first needs it, given here.
NOT_AT_START = [
    "lyncdump.filters",  # the filter language: the first -Y expression
    "lyncdump.analysis.registration",  # sign-in follow-ups: the ladder, --json
    "lyncdump.sip.auth",
    "lyncdump.sip.ms",
    "lyncdump.render.json",  # the JSON writer: --json, a call's lines
    "csv",  # --streams-csv
    "urllib.parse",  # the first %-escape in a URI
    "lyncdump.analysis.ice",  # ICE/TURN results: the first STUN message, or their type hints
    "lyncdump.media.stun",
    "lyncdump.media.stun_spool",
    "lyncdump.media.turn_tcp",  # the first TCP direction that is not SIP
    "lyncdump.tls.summary",  # the first TLS connection
    "lyncdump.sip.websocket",  # the first TCP direction that starts as HTTP
]


def test_an_empty_capture_loads_only_the_run(tmp_path: Path) -> None:
    """The fixed cost of a run: a pcap with no packet (its 24-byte header) loads the pipeline
    and the summary's renderers, and none of the layers that wait for their input."""
    empty = tmp_path / "empty.pcap"
    empty.write_bytes(PLAIN.read_bytes()[:24])
    modules, stdout = _modules_after(tmp_path, _RUN_COMMAND, "--summary", str(empty))
    assert "SIP messages 0" in stdout and "lyncdump.pipeline.core" in modules
    loaded = [
        n
        for n in NOT_AT_START + NOT_WITHOUT_CALLS_OR_STUN + NOT_FOR_A_PLAIN_CAPTURE
        if _loaded(modules, n)
    ]
    assert loaded == [], f"an empty capture's --summary imported {loaded}"


def test_a_signin_capture_summary_loads_none_of_the_third_round(tmp_path: Path) -> None:
    modules, stdout = _modules_after(tmp_path, _RUN_COMMAND, "--summary", SIGNIN.name, cwd=CAPTURES)
    assert stdout == (CAPTURES / (SIGNIN.name + ".summary.txt")).read_text(encoding="utf-8")
    loaded = [n for n in NOT_AT_START if _loaded(modules, n)]
    assert loaded == [], f"a sign-in capture's --summary imported {loaded}"


@pytest.mark.parametrize(
    ("args", "expected", "view"),
    [
        ([SIGNIN.name], "lyncdump.analysis.registration", ".txt"),  # the ladder
        (["--json", SIGNIN.name], "lyncdump.render.json", ".ndjson"),
        (["--summary", "lync-tls-nokeys.pcap"], "lyncdump.tls.summary", ".summary.txt"),
        (["--summary", "sip-websocket.pcapng"], "lyncdump.sip.websocket", ".summary.txt"),
        (["--summary", "lync-turn-tcp443.pcap"], "lyncdump.media.turn_tcp", ".summary.txt"),
        (["--summary", "lync-turn-udp.pcap"], "lyncdump.analysis.ice", ".summary.txt"),
    ],
    ids=["ladder", "json", "tls", "websocket", "turn-tcp", "turn-udp"],
)
def test_the_third_round_loads_what_the_input_needs(
    tmp_path: Path, args: list[str], expected: str, view: str
) -> None:
    """What the third round made lazy loads for the input or view that uses it, and the
    output is the expected one."""
    modules, stdout = _modules_after(tmp_path, _RUN_COMMAND, *args, cwd=CAPTURES)
    assert expected in modules
    assert stdout == (CAPTURES / (args[-1] + view)).read_text(encoding="utf-8")


#: A capture of presence only (SIP over TCP): no call, stream or STUN.
PRESENCE = CAPTURES / "lync-presence.pcapng"


@pytest.mark.parametrize("view", [[], ["--json"]], ids=["ladder", "json"])
def test_the_ladder_and_json_without_calls_or_stun_load_neither(
    tmp_path: Path, view: list[str]
) -> None:
    """The ladder and ``--json`` load the call renderers and analysis with the first call or
    stream to join, the STUN records with the first STUN message: a presence capture's
    needs none."""
    modules, stdout = _modules_after(tmp_path, _RUN_COMMAND, *view, PRESENCE.name, cwd=CAPTURES)
    expected = CAPTURES / (PRESENCE.name + (".ndjson" if view else ".txt"))
    assert stdout == expected.read_text(encoding="utf-8")
    never = [
        "lyncdump.render.calls",
        "lyncdump.analysis.calls",
        "lyncdump.analysis.media_join",
        "lyncdump.analysis.offer_answer",
        "lyncdump.render.stun_json",
        "lyncdump.media.stun",
        "lyncdump.analysis.ice",
    ]
    loaded = [n for n in never if _loaded(modules, n)]
    assert loaded == [], f"a presence capture's {view or 'ladder'} imported {loaded}"


@pytest.mark.parametrize("view", [[], ["--json"]], ids=["ladder", "json"])
def test_the_ladder_and_json_of_a_call_load_the_call_renderers(
    tmp_path: Path, view: list[str]
) -> None:
    modules, stdout = _modules_after(tmp_path, _RUN_COMMAND, *view, PLAIN.name, cwd=CAPTURES)
    expected = CAPTURES / (PLAIN.name + (".ndjson" if view else ".txt"))
    assert stdout == expected.read_text(encoding="utf-8")
    assert "lyncdump.render.calls" in modules and "lyncdump.analysis.calls" in modules


_HINTS = """
import json, sys, typing
from lyncdump.pipeline import ConnectionSummary, Pipeline
lazy = ("lyncdump.analysis.ice", "lyncdump.tls.summary", "lyncdump.media.stun",
        "lyncdump.media.stun_spool")
before = [m for m in lazy if m in sys.modules]
hints = [typing.get_type_hints(Pipeline.allocations)["return"],
         typing.get_type_hints(Pipeline.ice_sessions)["return"],
         typing.get_type_hints(Pipeline.stun_messages)["return"],
         typing.get_type_hints(ConnectionSummary)["tls"]]
from lyncdump.analysis.ice import Allocation, IceSession
from lyncdump.media.stun import StunMessage
from lyncdump.media.stun_spool import StunMessages
from lyncdump.tls.summary import TlsSummary
want = [list[Allocation], list[IceSession], list[StunMessage] | StunMessages, TlsSummary | None]
json.dump([before, [h == w for h, w in zip(hints, want)]], open(sys.argv[1], "w"))
"""


def test_hints_named_through_a_package_resolve_to_the_real_types(tmp_path: Path) -> None:
    """``Pipeline`` and ``ConnectionSummary`` name the ICE, STUN and TLS result types through
    their package (``analysis.ice.Allocation``): importing the pipeline loads none of them,
    ``typing.get_type_hints`` loads them and gives the classes themselves."""
    (before, same), _ = _modules_after(tmp_path, _HINTS)
    assert before == []
    assert same == [True, True, True, True]


def test_a_package_gives_its_submodules_as_attributes() -> None:
    from lyncdump import analysis, media, tls

    assert analysis.ice.__name__ == "lyncdump.analysis.ice"
    assert media.stun.__name__ == "lyncdump.media.stun"
    assert tls.summary.__name__ == "lyncdump.tls.summary"
    with pytest.raises(AttributeError, match="no attribute 'no_such_module'"):
        _ = tls.no_such_module
    with pytest.raises(AttributeError):
        _ = analysis._private


_IMPORT_ONLY = """
import json, sys
import lyncdump
loaded = sorted(m for m in sys.modules if m == "lyncdump" or m.startswith("lyncdump."))
from lyncdump import *  # every name of __all__ resolves (module __getattr__)
import typing
typing.get_type_hints(lyncdump.open)
typing.get_type_hints(lyncdump.Capture.calls)
import builtins
builtins.open(sys.argv[1], "w").write(json.dumps(loaded))  # lyncdump.open was star-imported
"""


def test_import_lyncdump_loads_nothing_until_a_name_is_used(tmp_path: Path) -> None:
    loaded, _ = _modules_after(tmp_path, _IMPORT_ONLY)
    assert loaded == ["lyncdump"]


def test_every_public_name_and_submodule_is_an_attribute() -> None:
    for name in lyncdump.__all__:
        assert getattr(lyncdump, name) is not None, name
    assert set(lyncdump.__all__) <= set(dir(lyncdump))
    assert lyncdump.Capture is lyncdump.api.Capture  # a submodule as an attribute, as before
    assert lyncdump.SipMessage.__module__ == "lyncdump.sip.message"
    with pytest.raises(AttributeError, match="no attribute 'no_such_name'"):
        _ = lyncdump.no_such_name  # type: ignore[attr-defined]


def test_moved_names_are_still_where_they_were() -> None:
    """Names moved out of the modules that load on demand are re-exported there."""
    from lyncdump.capture import logtypes, open_input, tracelog
    from lyncdump.tls import decrypt, handshake, summary

    assert tracelog.open_input is open_input
    for name in logtypes.__all__:
        assert getattr(tracelog, name) is getattr(logtypes, name), name
    assert decrypt.TlsSummary is summary.TlsSummary
    assert handshake.CertificateSummary is summary.CertificateSummary
    assert decrypt.KEYLOG_HINT is summary.KEYLOG_HINT

    from lyncdump import sipcomp
    from lyncdump.sipcomp import stream

    assert sipcomp.SipcompStreamDecoder is stream.SipcompStreamDecoder
    assert set(sipcomp.__all__) <= set(dir(sipcomp))


def test_finding_export_jobs_loads_no_trace_log_parser_for_captures(tmp_path: Path) -> None:
    """``export`` tells logs from captures by the reader ``open_input`` gives: a folder of
    captures does not load the trace-log parsers; a log among them does, and stays a job of
    its own."""
    script = (
        "import json, sys\n"
        "from lyncdump.export.runner import find_inputs\n"
        "jobs = find_inputs(sys.argv[2:], continuous=True)\n"
        "print(len(jobs))\n"
        "json.dump(sorted(sys.modules), open(sys.argv[1], 'w'))\n"
    )
    modules, stdout = _modules_after(tmp_path, script, str(PLAIN))
    assert stdout.strip() == "1"
    assert not _loaded(modules, "lyncdump.capture.tracelog")
    log = str(CAPTURES / "quirks.server.log")
    modules, stdout = _modules_after(tmp_path, script, str(PLAIN), log)
    assert stdout.strip() == "2"
    assert _loaded(modules, "lyncdump.capture.tracelog")
