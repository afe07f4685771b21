"""The same export on a real Dask cluster: a scheduler and worker processes on this machine
(``distributed.LocalCluster(processes=True)``), one task per input, the same dataset."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from lyncdump.cli_export import export_command
from lyncdump.export import export, part_name, to_parquet

from ..conftest import CAPTURES

distributed = pytest.importorskip("distributed")
pq = pytest.importorskip("pyarrow.parquet")

INPUTS = [
    str(CAPTURES / n)
    for n in (
        "sip-udp-call.pcap",
        "lync-av-call.pcapng",
        "lync-im-conversation.pcapng",
        "lync-remote-ntlm.pcapng",
        "lync-signin-tcp.server.log",
    )
]
TABLES = ("messages", "sessions", "calls", "streams", "stun", "registrations", "im", "captures")


def _rows(out: Path, table: str) -> list[str]:
    return sorted(
        json.dumps(r, sort_keys=True, default=str) for r in pq.read_table(out / table).to_pylist()
    )


@pytest.fixture(scope="module")
def cluster() -> Any:
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as local:
        yield local


def test_a_dask_cluster_writes_the_rows_of_a_local_export(cluster: Any, tmp_path: Path) -> None:
    local = export(INPUTS, str(tmp_path / "local"))
    with distributed.Client(cluster) as client:
        remote = to_parquet(INPUTS, str(tmp_path / "dask"), client=client)
        workers = set(client.scheduler_info()["workers"])
    assert len(workers) == 2
    assert sorted(r.source for r in remote) == sorted(INPUTS)
    assert {r.worker for r in remote}.isdisjoint({r.worker for r in local})  # other processes
    assert all(r.peak_rss > 0 and r.error is None for r in remote)
    for table in TABLES:
        assert _rows(tmp_path / "dask", table) == _rows(tmp_path / "local", table), table
        names = sorted(p.name for p in (tmp_path / "dask" / table).iterdir())
        assert names == sorted(part_name(i) + ".parquet" for i in INPUTS)


def test_the_command_runs_on_a_scheduler(cluster: Any, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = CliRunner().invoke(
        export_command, ["-o", str(out), "--scheduler", cluster.scheduler_address, *INPUTS[:2]]
    )
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines()[-1].startswith("exported 2 inputs to ")
    assert len(pq.read_table(out / "captures")) == 2


def test_an_unreachable_scheduler_is_one_line(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        export_command,
        ["-o", str(tmp_path), "--scheduler", "tcp://127.0.0.1:9", INPUTS[0]],
    )
    assert result.exit_code == 2
    assert result.stderr.startswith(
        "lyncdump: cannot reach the Dask scheduler at tcp://127.0.0.1:9"
    )
    assert len(result.stderr.splitlines()) == 1
