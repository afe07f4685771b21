"""The shipped JSON Schema holds every record lyncdump writes, and rejects a broken one."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from lyncdump.cli import command
from lyncdump.cli_check import check_command, schema_command
from lyncdump.schema import load_schema, record_schema, record_types

from ..conftest import CAPTURES, corpus_dir

jsonschema = pytest.importorskip("jsonschema")


@pytest.fixture(scope="module")
def validator():  # type: ignore[no-untyped-def]
    schema = load_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def _errors(validator, records: list[dict]) -> list[str]:  # type: ignore[no-untyped-def]
    out = []
    for r in records:
        for e in validator.iter_errors(r):
            out.append(f"{r.get('record')}: {list(e.absolute_path)[:6]}: {e.message[:200]}")
    return out


def _ndjson(*args: str) -> list[dict]:
    result = CliRunner().invoke(command, list(args))
    return [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]


def _inputs() -> list[Path]:
    suffixes = (".pcap", ".pcapng", ".cap", ".gz", ".log", ".uccapilog")
    return sorted(p for p in CAPTURES.iterdir() if p.suffix in suffixes)


@pytest.mark.parametrize("capture", _inputs(), ids=lambda p: p.name)
def test_every_sample_record_validates(validator, capture: Path) -> None:  # type: ignore[no-untyped-def]
    records = _ndjson("--json", str(capture))
    records += _ndjson("--json", "--calls", str(capture))
    records += _ndjson("--json", "-v", str(capture))
    assert records and not _errors(validator, records)
    kept = [json.loads(line) for line in Path(f"{capture}.ndjson").read_text().splitlines()]
    assert not _errors(validator, kept)


def test_merged_and_check_records_validate(validator) -> None:  # type: ignore[no-untyped-def]
    merged = _ndjson(
        "--json", str(CAPTURES / "sip-udp-call.pcap"), str(CAPTURES / "sip-udp-call.server.log")
    )
    assert merged[-1]["format"] == "merged"
    result = CliRunner().invoke(
        check_command,
        ["--json", "--fail-on", "signin-failed,stream.mos<4.5,defects",
         str(CAPTURES / "lync-signin-failed.pcapng"), str(CAPTURES / "lync-av-call.pcapng")],
    )  # fmt: skip
    checks = [json.loads(line) for line in result.stdout.splitlines()]
    assert {r["record"] for r in checks} == {"violation", "check"}
    assert not _errors(validator, merged + checks)


def test_every_corpus_record_validates(validator) -> None:  # type: ignore[no-untyped-def]
    corpus = corpus_dir()
    if corpus is None:
        pytest.skip("no corpus")
    files = [p for p in sorted(corpus.iterdir()) if p.suffix in (".pcap", ".pcapng", ".cap")]
    files += [p for p in sorted(corpus.iterdir()) if p.is_file() and not p.suffix]
    problems = []
    for path in files:
        records = _ndjson("--json", str(path))
        problems += [f"{path.name}: {e}" for e in _errors(validator, records)]
    assert not problems, problems[:10]


def test_schema_rejects_missing_required_fields(validator) -> None:  # type: ignore[no-untyped-def]
    lines = (CAPTURES / "lync-av-call.pcapng.ndjson").read_text().splitlines()
    records = {}
    for line in lines:
        r = json.loads(line)
        records.setdefault(r["record"], r)
    for kind, field in [("session", "call_id"), ("capture", "frames"), ("stream", "mos"),
                        ("call", "state"), ("stun", "transaction_id")]:  # fmt: skip
        broken = dict(records[kind])
        del broken[field]
        assert any(f"'{field}' is a required property" in e.message
                   for e in validator.iter_errors(broken)), kind  # fmt: skip
    session = json.loads(json.dumps(records["session"]))
    del session["messages"][0]["frame"]
    assert list(validator.iter_errors(session))
    wrong = dict(records["stream"], packets="many")
    assert list(validator.iter_errors(wrong))


def test_new_fields_and_record_types_are_not_breaking(validator) -> None:  # type: ignore[no-untyped-def]
    line = (CAPTURES / "sip-udp-call.pcap.ndjson").read_text().splitlines()[0]
    record = json.loads(line)
    record["findings"] = ["one-way audio"]
    assert not list(validator.iter_errors(record))
    assert not list(validator.iter_errors({"record": "future_kind", "schema": 1, "file": "x"}))
    assert list(validator.iter_errors({"record": "session"}))  # schema number missing


def test_input_and_diagnostic_records_are_strict(validator) -> None:  # type: ignore[no-untyped-def]
    lines = (CAPTURES / "quirks.server.log.ndjson").read_text().splitlines()
    records = [json.loads(line) for line in lines]
    first = records[0]
    assert first["record"] == "input" and not list(validator.iter_errors(first))
    for field in ("source", "index", "inputs", "files"):
        broken = {k: v for k, v in first.items() if k != field}
        assert any(f"'{field}' is a required property" in e.message
                   for e in validator.iter_errors(broken)), field  # fmt: skip
    diagnostic = next(r for r in records if r["record"] == "diagnostic")
    for field in ("severity", "result_code", "session", "joined_by", "record_number"):
        broken = {k: v for k, v in diagnostic.items() if k != field}
        assert list(validator.iter_errors(broken)), field
    assert list(validator.iter_errors(dict(diagnostic, cseq="one")))
    joined = next(r for r in records if r["record"] == "session" and r.get("diagnostics"))
    del joined["diagnostics"][0]["text"]
    assert list(validator.iter_errors(joined))


def _undeclared(schema: dict, value: object, node: dict, path: str, out: set[str]) -> None:
    """Every key of ``value`` that ``node`` (a schema) does not name (nor a map allows)."""
    defs = schema["$defs"]

    def resolve(n: dict) -> list[dict]:
        while "$ref" in n:
            n = defs[n["$ref"].rsplit("/", 1)[-1]]
        return [n] + [m for key in ("anyOf", "oneOf") for x in n.get(key, []) for m in resolve(x)]

    nodes = resolve(node)
    if isinstance(value, dict):
        for key, inner in value.items():
            named = [n["properties"][key] for n in nodes if key in n.get("properties", {})]
            maps = [n["additionalProperties"] for n in nodes if isinstance(
                n.get("additionalProperties"), dict)]  # fmt: skip
            found = (named or maps or [None])[0]
            if found is None:
                out.add(f"{path}.{key}")
            else:
                _undeclared(schema, inner, found, f"{path}.{key}", out)
    elif isinstance(value, list):
        items = next((n["items"] for n in nodes if "items" in n), None)
        for inner in value:
            if items is not None:
                _undeclared(schema, inner, items, f"{path}[]", out)


def test_every_field_written_is_declared() -> None:
    """New fields stay allowed for consumers, but the schema we ship names every field we
    write: a field added to the output without its schema entry fails here."""
    schema = load_schema()
    records = []
    for capture in _inputs():
        records += [json.loads(x) for x in Path(f"{capture}.ndjson").read_text().splitlines()]
    records += _ndjson("--json", "--calls", str(CAPTURES / "sipp-calls.pcapng"))
    records += _ndjson("--json", "-v", str(CAPTURES / "lync-signin-tcp.pcapng"))
    records += _ndjson(
        "--json", str(CAPTURES / "sip-udp-call.pcap"), str(CAPTURES / "sip-udp-call.server.log")
    )
    result = CliRunner().invoke(
        check_command,
        ["--json", "--fail-on", "signin-failed,log-errors,stream.mos<4.5,defects",
         str(CAPTURES / "lync-signin-failed.pcapng"), str(CAPTURES / "quirks.server.log")],
    )  # fmt: skip
    records += [json.loads(line) for line in result.stdout.splitlines()]
    assert set(record_types()) == {r["record"] for r in records}
    missing: set[str] = set()
    for r in records:
        _undeclared(schema, r, schema["$defs"][r["record"]], r["record"], missing)
    assert not missing, sorted(missing)


def test_schema_command_prints_the_shipped_document() -> None:
    result = CliRunner().invoke(schema_command, [])
    assert result.exit_code == 0
    document = json.loads(result.stdout)
    assert document["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert set(document["x-lyncdump-records"]) == set(record_types())
    one = json.loads(CliRunner().invoke(schema_command, ["--record", "stream"]).stdout)
    assert one == record_schema("stream") and "mos" in one["required"]
    bad = CliRunner().invoke(schema_command, ["--record", "nope"])
    assert bad.exit_code == 2 and "one of input, session, diagnostic" in bad.stderr
