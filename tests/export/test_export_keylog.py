"""``lyncdump export --keylog F`` applies the key log to every input (issue 18), on one
process and on two: two TLS captures whose keys are only in the one key log file, both
decrypted in one run."""

from __future__ import annotations

from pathlib import Path

import dpkt
import pytest
from click.testing import CliRunner

from lyncdump.capture import open_capture
from lyncdump.cli_export import export_command

from ..conftest import CAPTURES

pq = pytest.importorskip("pyarrow.parquet")

#: (sample, SIP messages it holds once decrypted)
TLS_SAMPLES = {"lync-tls-sipcomp.pcapng": 8, "lync-tls13-keyupdate.pcapng": 6}


def without_secrets(sample: Path, out: Path) -> bytes:
    """The sample's frames as a plain pcap (its embedded key log left out), and that key log."""
    with open_capture(str(sample)) as reader:
        frames = list(reader.frames())
        secrets = b"".join(data for _type, data in reader.secrets)
    with open(out, "wb") as handle:
        writer = dpkt.pcap.Writer(handle, linktype=frames[0][1], nano=True)
        for ts, _lt, data in frames:
            writer.writepkt(data, ts=ts)
    assert secrets
    return secrets


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[Path], Path]:
    folder = tmp_path_factory.mktemp("tls")
    keylog = folder / "all.keys"
    paths, keys = [], b""
    for name in TLS_SAMPLES:
        path = folder / name.replace(".pcapng", ".pcap")
        keys += without_secrets(CAPTURES / name, path) + b"\n"
        paths.append(path)
    keylog.write_bytes(keys)
    return paths, keylog


def messages_by_source(out: Path) -> dict[str, int]:
    table = pq.read_table(out / "messages").to_pylist()
    counts: dict[str, int] = {}
    for row in table:
        counts[row["source"]] = counts.get(row["source"], 0) + 1
    return counts


def tls_of(out: Path) -> dict[str, list[bool]]:
    rows = pq.read_table(out / "connections").to_pylist()
    found: dict[str, list[bool]] = {}
    for row in rows:
        if row["tls"] is not None:
            found.setdefault(row["source"], []).append(row["tls"]["decrypted"])
    return found


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_the_key_log_opens_every_input(
    inputs: tuple[list[Path], Path], tmp_path: Path, jobs: str
) -> None:
    paths, keylog = inputs
    out = tmp_path / "out"
    args = ["-o", str(out), "-j", jobs, "--keylog", str(keylog), *map(str, paths)]
    result = CliRunner().invoke(export_command, args)
    assert result.exit_code == 0, result.output
    expected = {str(p): n for p, n in zip(paths, TLS_SAMPLES.values(), strict=True)}
    assert messages_by_source(out) == expected
    assert tls_of(out) == {str(p): [True] for p in paths}


def test_without_the_key_log_neither_input_is_opened(
    inputs: tuple[list[Path], Path], tmp_path: Path
) -> None:
    paths, _keylog = inputs
    out = tmp_path / "out"
    result = CliRunner().invoke(export_command, ["-o", str(out), *map(str, paths)])
    assert result.exit_code == 0, result.output
    assert messages_by_source(out) == {}
    assert tls_of(out) == {str(p): [False] for p in paths}
