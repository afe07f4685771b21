"""CI rules: ``lyncdump check CAPTURES --fail-on RULES``, JUnit XML, and the library's
:func:`check_capture` (lyncdump.testing builds on it).

A rule is a named predicate or any filter expression (lyncdump/filters.py, the same language
as ``--filter``): ``call-failed``, ``signin-failed``, ``one-way-audio``, ``no-media``,
``defects``, ``tls-undecrypted``, ``rtp-problem``, ``log-errors``, ``log-warnings``, or
comparisons such as ``stream.mos<3.5``,
``stream.lost_percent>1``, ``call.setup_ms>3000``, combined with and/or/not. Rules are given
comma-separated (commas inside parentheses or quotes belong to the rule) or repeated.

Each rule tests one kind of thing, the most specific its fields name: a stream rule every
stream (with its call and session), a call rule every call, a registration rule every
sign-in, a log rule every server-log diagnostic (with the session it is about, if any), a
session rule every session, a connection rule every TCP connection, a capture rule the input
as a whole. A *violation* is a thing a rule is true for; it names the file,
the rule, the Call-ID or stream, a frame, and why in words.

The run streams (``lyncdump.stream``): sign-ins, sessions and the diagnostics joined to
them are judged as they finish and forgotten; calls as their join to their streams is final
(the call window of analysis/call_window.py, as the views join them); diagnostics that stand
alone and streams once the input is read (their statistics are final then). Violations kept
per capture are bounded (:data:`MAX_VIOLATIONS`, the rest counted), and JUnit test cases go to
a spool file as they are decided, so a long capture is checked in bounded memory.
"""

from __future__ import annotations

import datetime as _dt
import os
import socket
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import IO, Any, ClassVar
from xml.sax.saxutils import escape, quoteattr

from .analysis.sessions import Session
from .errors import LyncdumpError
from .filters import (
    PREDICATES,
    SCOPES,
    Filter,
    FilterError,
    Subject,
    compile_filter,
    one_way_audio,
    tls_undecrypted,
)
from .pipeline.events import InputFinished, SessionFinished

#: Violations kept per capture (the rest are counted in ``CaptureCheck.dropped``).
MAX_VIOLATIONS = 10_000

#: What a test case in the JUnit report stands for, by the scope of the rules.
CASE_SCOPES = ("registration", "call", "stream")


class RuleError(ValueError):
    """A rule that cannot be read (the message says where)."""


@dataclass(frozen=True, slots=True)
class Rule:
    """One rule as written, compiled, with the kind of thing it tests."""

    text: str
    filter: Filter
    scope: str

    def holds(self, subject: Subject) -> bool:
        return self.filter.test(subject) is True


def split_rules(values: Iterable[str]) -> list[str]:
    """``a,b`` and repeated values as one list; commas in parentheses or quotes stay."""
    out: list[str] = []
    for value in values:
        depth = 0
        quote = ""
        start = 0
        for i, c in enumerate(value):
            if quote:
                if c == quote:
                    quote = ""
            elif c in "\"'":
                quote = c
            elif c == "(":
                depth += 1
            elif c == ")":
                depth = max(depth - 1, 0)
            elif c == "," and depth == 0:
                out.append(value[start:i])
                start = i + 1
        out.append(value[start:])
    return [r.strip() for r in out if r.strip()]


_COMPATIBLE = {
    "stream": {"stream", "call", "session"},
    "call": {"call", "stream", "session"},
    "registration": {"registration", "session"},
    "log": {"log", "session"},
    "session": {"session"},
    "connection": {"connection"},
    "capture": {"capture"},
}


def parse_rules(values: Iterable[str]) -> list[Rule]:
    """Rules from ``--fail-on`` values; raises :class:`RuleError` for a bad one."""
    rules = []
    for text in split_rules(values):
        try:
            flt = compile_filter(text)
        except FilterError as exc:
            raise RuleError(f"rule {text!r}: {exc.reason}" + _column(exc)) from None
        scopes = flt.scopes
        scope = next((s for s in SCOPES if s in scopes), "session")
        if not scopes <= _COMPATIBLE[scope] | {scope}:
            other = ", ".join(sorted(scopes - _COMPATIBLE[scope]))
            raise RuleError(
                f"rule {text!r} mixes {scope} fields with {other} fields: a rule tests one "
                "kind of thing (a stream with its call and session, a call, a sign-in, a "
                "session, a connection, or the capture)"
            )
        rules.append(Rule(text, flt, scope))
    if not rules:
        raise RuleError("no rule given: --fail-on call-failed,signin-failed,stream.mos<3.5 ...")
    return rules


def _column(exc: FilterError) -> str:
    return f" (column {exc.position + 1})" if exc.position >= 0 else ""


@dataclass(slots=True)
class Violation:
    """One thing a rule is true for."""

    file: str
    rule: str
    scope: str
    subject: str
    message: str
    call_id: str | None = None
    stream: str | None = None
    frame: int | None = None
    values: dict[str, Any] = field(default_factory=dict)

    def line(self) -> str:
        """``FILE#FRAME: RULE: subject: why`` (what ``lyncdump check`` prints)."""
        where = f"{self.file}#{self.frame}" if self.frame is not None else self.file
        return f"{where}: {self.rule}: {self.subject}: {self.message}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "record": "violation",
            "schema": 1,
            "file": self.file,
            "rule": self.rule,
            "scope": self.scope,
            "subject": self.subject,
            "call_id": self.call_id,
            "stream": self.stream,
            "frame": self.frame,
            "message": self.message,
            "values": self.values,
        }


@dataclass(slots=True)
class TestCase:
    """One JUnit test case: a call, a sign-in, a stream, or the capture itself."""

    __test__: ClassVar[bool] = False  # not a pytest class

    name: str
    classname: str
    seconds: float = 0.0
    failures: list[Violation] = field(default_factory=list)
    error: str | None = None


@dataclass(slots=True)
class CaptureCheck:
    """What checking one input found."""

    file: str
    violations: list[Violation] = field(default_factory=list)
    #: Violations found beyond MAX_VIOLATIONS (counted, not kept).
    dropped: int = 0
    #: Why the input could not be read (to its end), or None.
    error: str | None = None
    checked: dict[str, int] = field(default_factory=dict)
    cases: int = 0
    failed_cases: int = 0
    seconds: float = 0.0

    @property
    def total(self) -> int:
        return len(self.violations) + self.dropped

    def to_dict(self) -> dict[str, Any]:
        return {
            "record": "check",
            "schema": 1,
            "file": self.file,
            "checked": dict(self.checked),
            "violations": self.total,
            "error": self.error,
            "status": "error" if self.error else ("fail" if self.total else "pass"),
        }


# -- words for a violation -------------------------------------------------------------------


def _short(text: str | None, limit: int = 40) -> str:
    text = text or "?"
    return text if len(text) <= limit else text[: limit - 1] + "…"


def stream_name(st: Any) -> str:
    """``10.0.0.1:5000 → 10.0.0.2:6000 SSRC 0x00001234``."""
    return f"{st.source} → {st.destination} SSRC 0x{st.ssrc:08X}"


def _values(rule: Rule, subject: Subject) -> dict[str, Any]:
    """The value of each field the rule names, on this subject (what made it true)."""
    out: dict[str, Any] = {}
    assert rule.filter.node is not None
    from .filters import Test

    def walk(node: Any) -> Iterator[Test]:
        if isinstance(node, Test):
            yield node
        for child in getattr(node, "parts", ()):
            yield from walk(child)
        part = getattr(node, "part", None)
        if part is not None:
            yield from walk(part)

    for test in walk(rule.filter.node):
        f, objects = subject.resolve(test.field)
        values: list[Any] = []
        for obj in objects or []:
            values.extend(test.values_of(obj, f))
        key = test.field.key.removeprefix("session.")
        if key in out or (test.field.multi and len(values) > 8):
            continue
        value: Any = values if test.field.multi else (values[0] if values else None)
        if isinstance(value, float):
            value = round(value, 3)
        if isinstance(value, (str, int, float, bool, list)) or value is None:
            out[key] = value
    return out


def _why(rule: Rule, subject: Subject, values: dict[str, Any]) -> str:
    """A sentence for the named rules, else ``field is value`` for each field."""
    word = rule.text.lower()
    call = subject.call
    if word == "call-failed" and call is not None:
        return f"call {call.state}" + (f": {call.end_reason}" if call.end_reason else "")
    if word == "signin-failed" and subject.registration is not None:
        reg = subject.registration
        return f"sign-in {reg.outcome}" + (f": {reg.failure}" if reg.failure else "")
    if word == "one-way-audio" and call is not None:
        finding = one_way_audio(call)
        if finding is not None:
            return f"one-way audio: {finding.detail}"
    if word == "no-media" and call is not None:
        return "answered, but no RTP stream was seen"
    if word == "tls-undecrypted" and subject.connection is not None:
        tls = subject.connection.tls
        needs = getattr(tls, "needs", None) or getattr(tls, "note", None)
        return "TLS not decrypted" + (f": {needs}" if needs else "")
    if rule.scope == "log" and subject.logs:
        d = subject.logs[0]
        code = " ".join(x for x in (d.result_code, d.result_name) if x)
        text = " ".join((d.text or "").split())
        return (
            f"{d.severity or 'record'}"
            + (f" {code}" if code else "")
            + (f": {_short(text, 120)}" if text else "")
        )
    if word == "defects" and subject.capture is not None:
        defects = subject.capture.defects
        first = next(iter(defects), None)
        return f"{len(defects)} defects" + (f" (first: {first})" if first is not None else "")
    return ", ".join(f"{k} is {_fmt(v)}" for k, v in values.items()) or "matches"


def _fmt(value: Any) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(_fmt(v) for v in value) + "]"
    if value is None:
        return "unknown"
    return str(value)


# -- the checker ------------------------------------------------------------------------------


class Checker:
    """Rules run over one input's events; see the module docstring."""

    def __init__(
        self,
        rules: list[Rule],
        file: str,
        *,
        on_violation: Callable[[Violation], None] | None = None,
        on_case: Callable[[TestCase], None] | None = None,
    ) -> None:
        self.rules = rules
        self.file = file
        self.result = CaptureCheck(file)
        self._on_violation = on_violation
        self._on_case = on_case
        self._by_scope: dict[str, list[Rule]] = {}
        for r in rules:
            self._by_scope.setdefault(r.scope, []).append(r)
        self._wants_calls = bool(self._by_scope.keys() & {"call", "stream"})
        self._window: Any = None
        if self._wants_calls:
            from .analysis.call_window import CallWindow

            self._window = CallWindow()
        # A stream rule that names its call, session or log records keeps the stream's call
        # (until the end, when streams are judged); a rule on the stream alone keeps none.
        stream_scopes = {sc for r in self._by_scope.get("stream", ()) for sc in r.filter.scopes}
        self._keep_stream_calls = bool(stream_scopes - {"stream"})
        self._stream_calls: dict[int, Any] = {}
        base = os.path.basename(file)
        self._class = base.replace(".", "_")

    # -- reporting --
    def _violation(self, v: Violation) -> None:
        res = self.result
        if len(res.violations) < MAX_VIOLATIONS:
            res.violations.append(v)
        else:
            res.dropped += 1
        if self._on_violation is not None:
            self._on_violation(v)

    def _case(self, case: TestCase) -> None:
        self.result.cases += 1
        if case.failures or case.error:
            self.result.failed_cases += 1
        if self._on_case is not None:
            self._on_case(case)

    def _judge(
        self,
        scope: str,
        subject: Subject,
        name: str,
        *,
        call_id: str | None = None,
        stream: str | None = None,
        frame: int | None = None,
    ) -> list[Violation]:
        found = []
        self.result.checked[scope] = self.result.checked.get(scope, 0) + 1
        for rule in self._by_scope.get(scope, ()):
            if rule.holds(subject):
                values = _values(rule, subject)
                v = Violation(
                    self.file,
                    rule.text,
                    scope,
                    name,
                    _why(rule, subject, values),
                    call_id=call_id,
                    stream=stream,
                    frame=frame,
                    values=values,
                )
                self._violation(v)
                found.append(v)
        return found

    # -- the run --
    def run(self, events: Iterable[Any]) -> CaptureCheck:
        """Consume a run's events (lyncdump.stream) and judge everything."""
        started = time.monotonic()
        capture_failures: list[Violation] = []
        pipeline = None
        for event in events:
            kind = type(event)
            if kind is SessionFinished:
                session = event.session
                capture_failures.extend(self._session(session))
                if self._window is not None and session.kind == "call":
                    final = self._window.add(session, getattr(event, "pipeline", None))
                    self._calls(final, getattr(event, "pipeline", None))
                if "log" in self._by_scope:
                    for d in session.diagnostics or ():
                        capture_failures.extend(self._log(d))
            elif kind is InputFinished:
                pipeline = event.pipeline
        if pipeline is not None:
            if "log" in self._by_scope:
                for d in pipeline.diagnostics().standalone:
                    capture_failures.extend(self._log(d))
            capture_failures.extend(self._end(pipeline))
        self.result.seconds = time.monotonic() - started
        if pipeline is not None and pipeline.error is not None:
            self.result.error = str(pipeline.error)
        self._case(
            TestCase(
                "capture",
                self._class,
                self.result.seconds,
                capture_failures,
                self.result.error,
            )
        )
        return self.result

    def _session(self, session: Session) -> list[Violation]:
        first = session.messages[0].frame if session.messages else None
        out: list[Violation] = []
        if "session" in self._by_scope:
            subject = Subject(session=session, streams=None, known_call=False)
            out = self._judge(
                "session",
                subject,
                f"{session.kind} {_short(session.call_id)}",
                call_id=session.call_id,
                frame=first,
            )
        if "registration" in self._by_scope and session.kind == "registration":
            from .analysis.registration import analyze_registration

            reg = analyze_registration(session)
            subject = Subject(session=session, registration=reg, known_call=False)
            final = None
            for t in session.transactions:
                if t.method == "REGISTER" and t.final is not None:
                    final = t.final.frame
            name = f"sign-in {reg.user or '?'} [Call-ID {_short(session.call_id)}]"
            found = self._judge(
                "registration", subject, name, call_id=session.call_id, frame=final or first
            )
            self._case(
                TestCase(
                    f"sign-in {reg.user or '?'} {session.call_id}"
                    + (f" part {session.part}" if session.part > 1 else ""),
                    f"{self._class}.sign-ins",
                    round(session.duration, 6),
                    found,
                )
            )
        return out

    def _log(self, d: Any) -> list[Violation]:
        """One server-log diagnostic, with its session when it is joined to one."""
        if d.session is not None:
            subject = Subject(session=d.session, logs=[d], streams=None, known_call=False)
        else:
            subject = Subject(logs=[d], lone=d)
        from .render.diagnostics import host_of

        name = f"diagnostic by {host_of(d)}"
        if d.call_id:
            name += f" [Call-ID {_short(d.call_id)}]"
        return self._judge("log", subject, name, call_id=d.call_id, frame=d.record)

    def _calls(self, calls: list[Any], pipeline: Any) -> None:
        """Calls whose join to their streams is final (the call window): judged, then let go
        (a stream rule that needs its call keeps it until the streams are judged)."""
        if self._keep_stream_calls:
            for call in calls:
                for st in call.streams:
                    self._stream_calls[id(st)] = call
        if "call" in self._by_scope:
            for call in calls:
                frame = self._call_frame(call)
                subject = Subject(
                    session=call.session, call=call, streams=list(call.streams), capture=pipeline
                )
                name = f"call {_short(call.caller)} → {_short(call.callee)} [Call-ID " + (
                    f"{_short(call.call_id)}]"
                )
                found = self._judge("call", subject, name, call_id=call.call_id, frame=frame)
                self._case(
                    TestCase(
                        f"call {call.call_id}",
                        f"{self._class}.calls",
                        round(call.duration or 0.0, 6),
                        found,
                    )
                )

    def _end(self, pipeline: Any) -> list[Violation]:
        out: list[Violation] = []
        if self._window is not None:
            self._calls(self._window.finish(pipeline), pipeline)
        if "stream" in self._by_scope:
            of = self._stream_calls
            for st in pipeline.streams():
                call = of.get(id(st))
                subject = Subject(
                    session=call.session if call is not None else None,
                    call=call,
                    streams=[st],
                    capture=pipeline,
                )
                name = stream_name(st)
                found = self._judge(
                    "stream",
                    subject,
                    f"stream {name}" + (f" [Call-ID {_short(st.call_id)}]" if st.call_id else ""),
                    call_id=st.call_id,
                    stream=name,
                    frame=st.first_frame or None,
                )
                self._case(TestCase(f"stream {name}", f"{self._class}.streams", st.duration, found))
        if "connection" in self._by_scope:
            for c in pipeline.connections:
                subject = Subject(connection=c, capture=pipeline)
                name = f"TCP connection #{c.id} {c.client} → {c.server}"
                out.extend(self._judge("connection", subject, name))
        if "capture" in self._by_scope:
            subject = Subject(capture=pipeline)
            first = next(iter(pipeline.defects), None)
            frame = first.frame if first is not None and self._by_scope else None
            out.extend(self._judge("capture", subject, "capture", frame=frame))
        return out

    @staticmethod
    def _call_frame(call: Any) -> int | None:
        """The frame that says why: the final answer of a failed call, else the INVITE."""
        from .filters import _initial_invite

        t = _initial_invite(call)
        if t is not None and t.final is not None and (t.final.status or 0) >= 300:
            return t.final.frame
        first = call.session.first_request
        return first.frame if first is not None else None


def check_capture(
    source: Any,
    rules: str | Iterable[str] | list[Rule],
    *,
    on_violation: Callable[[Violation], None] | None = None,
    on_case: Callable[[TestCase], None] | None = None,
    progress: Any = None,
    **options: Any,
) -> CaptureCheck:
    """Check one input against rules (texts or parsed); an input that cannot be opened comes
    back with ``error`` set (never raises for bad input; a bad rule raises RuleError)."""
    from .api import stream

    if isinstance(rules, str):
        rules = [rules]
    parsed = [r for r in rules if isinstance(r, Rule)]
    if len(parsed) != len(list(rules)):
        parsed = parse_rules([r for r in rules if isinstance(r, str)])
    name = os.fspath(source) if isinstance(source, (str, os.PathLike)) else str(source)
    checker = Checker(parsed, name, on_violation=on_violation, on_case=on_case)
    try:
        if progress is not None:
            options["progress"] = progress
        events = stream(source, **options)
        return checker.run(events)
    except LyncdumpError as exc:
        checker.result.error = str(exc)
        checker._case(TestCase("capture", checker._class, 0.0, [], str(exc)))
        return checker.result


# -- JUnit ----------------------------------------------------------------------------------------


class JUnitWriter:
    """JUnit XML as Jenkins, GitLab, GitHub and Azure show it: ``<testsuites>``, one
    ``<testsuite>`` per input, one ``<testcase>`` per call, sign-in and stream checked (and
    one for the capture itself: input errors and capture-wide rules), a ``<failure>`` per
    violation, an ``<error>`` for an input that could not be read. Test cases are spooled to
    a temporary file as they are decided: the counts the suite element carries come first."""

    def __init__(self, rules: list[Rule]) -> None:
        self.rules = rules
        self._suites: list[tuple[CaptureCheck, IO[str], str]] = []
        self._spool: IO[str] | None = None
        self._counts = [0, 0, 0]  # tests, failures, errors of the suite being written
        self._started = ""

    def start(self, file: str) -> None:
        self._spool = tempfile.TemporaryFile("w+", encoding="utf-8")
        self._counts = [0, 0, 0]
        self._started = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")

    def case(self, case: TestCase) -> None:
        assert self._spool is not None
        self._counts[0] += 1
        if case.error:
            self._counts[2] += 1
        elif case.failures:
            self._counts[1] += 1
        w = self._spool.write
        w(
            f"    <testcase name={quoteattr(_xml_text(case.name))} "
            f'classname={quoteattr(_xml_text(case.classname))} time="{case.seconds:.3f}"'
        )
        if not case.failures and not case.error:
            w("/>\n")
            return
        w(">\n")
        for v in case.failures:
            w(
                f"      <failure message={quoteattr(_xml_text(f'{v.rule}: {v.message}'))} "
                f"type={quoteattr(_xml_text(v.rule))}>{escape(_xml_text(v.line()))}</failure>\n"
            )
        if case.error:
            w(
                f'      <error message={quoteattr(_xml_text(case.error))} type="input">'
                f"{escape(_xml_text(case.error))}</error>\n"
            )
        w("    </testcase>\n")

    def finish(self, result: CaptureCheck) -> None:
        assert self._spool is not None
        self._suites.append((result, self._spool, self._started + "|" + ",".join(
            str(c) for c in self._counts)))  # fmt: skip
        self._spool = None

    def write(self, out: IO[str]) -> None:
        tests = failures = errors = 0
        seconds = 0.0
        for result, _spool, meta in self._suites:
            counts = [int(x) for x in meta.split("|")[1].split(",")]
            tests += counts[0]
            failures += counts[1]
            errors += counts[2]
            seconds += result.seconds
        out.write('<?xml version="1.0" encoding="UTF-8"?>\n')
        out.write(
            f'<testsuites name="lyncdump check" tests="{tests}" failures="{failures}" '
            f'errors="{errors}" time="{seconds:.3f}">\n'
        )
        host = _xml_text(socket.gethostname())
        rules = ", ".join(r.text for r in self.rules)
        for i, (result, spool, meta) in enumerate(self._suites):
            stamp, counts_text = meta.split("|")
            counts = [int(x) for x in counts_text.split(",")]
            out.write(
                f'  <testsuite name={quoteattr(_xml_text(result.file))} id="{i}" '
                f'tests="{counts[0]}" failures="{counts[1]}" errors="{counts[2]}" '
                f'skipped="0" time="{result.seconds:.3f}" timestamp="{stamp}" '
                f"hostname={quoteattr(host)}>\n"
            )
            out.write("    <properties>\n")
            out.write(f'      <property name="rules" value={quoteattr(_xml_text(rules))}/>\n')
            out.write("    </properties>\n")
            spool.seek(0)
            while True:
                chunk = spool.read(1 << 16)
                if not chunk:
                    break
                out.write(chunk)
            spool.close()
            out.write("  </testsuite>\n")
        out.write("</testsuites>\n")
        self._suites.clear()


def _xml_text(text: str) -> str:
    """Only characters XML 1.0 allows (hostile captures carry control bytes)."""
    return "".join(
        c if c in "\t\n\r" or (" " <= c <= "\ud7ff") or ("\ue000" <= c <= "\ufffd") else "?"
        for c in text
    )


def named_rules() -> list[tuple[str, str, str]]:
    """(name, meaning, expression) of the named rules."""
    return [(w, doc, expr) for w, (expr, doc) in PREDICATES.items()]


__all__ = [
    "CASE_SCOPES",
    "MAX_VIOLATIONS",
    "CaptureCheck",
    "Checker",
    "JUnitWriter",
    "Rule",
    "RuleError",
    "TestCase",
    "Violation",
    "check_capture",
    "named_rules",
    "parse_rules",
    "split_rules",
    "stream_name",
    "tls_undecrypted",
]
