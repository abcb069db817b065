"""PostgreSQL restarted (``pg_ctl restart -m fast``) in the middle of a nurture cycle and of
a send, on a private cluster (tests/chaos/pgcluster.py): the run either finishes or stops
with one clear line (no traceback), and the next run completes with the chaos invariants
(tests/chaos/targets.py) held against a run that was never disturbed."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from chaos import (
    CONNECTIONS,
    Databases,
    Finished,
    Runner,
    Start,
    build_starts,
    cli_env,
    smtp_server,
)
from pgcluster import Cluster, new_cluster, remove
from sqlalchemy import create_engine, text
from targets import TARGETS, send_check

pytestmark = [pytest.mark.postgres, pytest.mark.slow]
ROWS = 300


@pytest.fixture(scope="module")
def private_pg() -> Iterator[Cluster]:
    try:
        cluster = new_cluster()
    except (RuntimeError, OSError) as exc:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"cannot start a private PostgreSQL cluster: {exc}")
        pytest.skip(f"cannot start a private PostgreSQL cluster: {exc}")
    if cluster is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("PostgreSQL's programs (initdb, pg_ctl) are not installed")
        pytest.skip("PostgreSQL's programs (initdb, pg_ctl) are not installed")
    try:
        yield cluster
    finally:
        remove(cluster)


@dataclass
class Lab:
    dbs: Databases
    runner: Runner
    starts: dict[str, Start]


@pytest.fixture(scope="module")
def lab(private_pg: Cluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """The chaos targets' starting databases on the private cluster, made once."""
    folder = tmp_path_factory.mktemp("restart")
    dbs = Databases("postgresql", folder, private_pg.url)
    runner = Runner(folder)
    try:
        yield Lab(dbs, runner, build_starts(dbs, folder, ROWS, seed=7))
    finally:
        runner.close()
        dbs.close()


def _running(pid: int) -> bool:
    try:  # the fork server reaps its children only when asked: an exited one is a zombie
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0] != "Z"
    except OSError:
        return False


def _until_busy(url: str, pid: int) -> None:
    """Until a session of the run is working in ``url``'s database."""
    name = url.rsplit("/", 1)[1]
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            query = text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = :d "
                "AND pid <> pg_backend_pid() AND state IS NOT NULL AND state <> 'idle'"
            )
            deadline = time.monotonic() + 60
            while not conn.execute(query, {"d": name}).scalar_one():
                assert _running(pid), "the run ended before it was seen working"
                assert time.monotonic() < deadline, "the run never reached the database"
                time.sleep(0.002)
    finally:
        engine.dispose()


def _assert_finished_or_one_line(done: Finished) -> str:
    if done.code == 0:
        return "finished"
    assert "Traceback" not in done.err, done.err[-3000:]
    line = done.err.strip()
    assert line.startswith("nurture: ") and "\n" not in line, done.err[-3000:]
    return f"stopped: {line}"


def test_restart_in_the_middle_of_a_cycle(private_pg: Cluster, lab: Lab, tmp_path: Path) -> None:
    dbs, runner, start = lab.dbs, lab.runner, lab.starts["cycle"]
    target = TARGETS["cycle"]
    args = target.args(start.files)
    clean_url = dbs.copy(start.url)
    runner.run_to_end(args, cli_env(clean_url, tmp_path / "clean", None))
    clean = target.fingerprint(clean_url)

    url = dbs.copy(start.url)
    env = cli_env(url, tmp_path / "outbox", None)
    pid, started = runner.start(args, env)
    _until_busy(url, pid)
    private_pg.restart()
    outcome = _assert_finished_or_one_line(runner.wait(pid, started))
    runner.run_to_end(args, env)
    assert target.check(clean, target.fingerprint(url), start.input_rows) == []
    print(f"cycle under a restart: {outcome}")


def test_restart_in_the_middle_of_a_send(private_pg: Cluster, lab: Lab, tmp_path: Path) -> None:
    dbs, runner, start = lab.dbs, lab.runner, lab.starts["send"]
    target = TARGETS["send"]
    args = target.args(start.files)
    with smtp_server() as (handler, smtp_url):
        handler.delay = 0.01  # a run of ~3 s: the restart lands while messages go out
        clean_url = dbs.copy(start.url)
        runner.run_to_end(args, cli_env(clean_url, tmp_path / "clean", smtp_url))
        clean = target.fingerprint(clean_url)
        total = sum(handler.take().values())
        assert total >= 100

        url = dbs.copy(start.url)
        env = cli_env(url, tmp_path / "outbox", smtp_url)
        pid, started = runner.start(args, env)
        deadline = time.monotonic() + 60
        while sum(handler.arrived.values()) < 20:
            assert _running(pid) and time.monotonic() < deadline, "no message went out"
            time.sleep(0.002)
        private_pg.restart()
        assert sum(handler.arrived.values()) < total, "the send ended before the restart"
        outcome = _assert_finished_or_one_line(runner.wait(pid, started))
        runner.run_to_end(args, env)
        problems, unknown = send_check(
            clean, target.fingerprint(url), handler.take(), 1, CONNECTIONS
        )
    assert problems == []
    print(f"send under a restart: {outcome}; {unknown} unknown")
