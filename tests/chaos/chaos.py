"""Seeded chaos: run the real CLI in a subprocess, ``kill -9`` it at a seeded random moment,
rerun it to completion and check the target's invariants against a clean run.

    python tests/chaos/chaos.py --trials 50 --target intake --backend sqlite [--rows 400]
    python tests/chaos/chaos.py --trials 50 --target all --backend both --json

Each target starts from the same database state (a copy of a template: a SQLite file, or a
PostgreSQL ``CREATE DATABASE ... TEMPLATE``). A clean run on one copy gives the expected
fingerprint and the length of the command's working window: the time from the moment the
command's modules are imported (the wrapper prints ``chaos: ready``) to its exit. Trial
``i`` draws its kill delay uniformly over that window from ``Random(seed * 1000 + i)``, so a
failing trial is reproduced by its seed and number. After the kill the database is
classified (``before``: nothing written yet, ``mid``: part written, ``after``: the killed
run had finished), the command runs again to exit 0, and the target's checks run
(tests/chaos/targets.py). The SMTP target talks to aiosmtpd on loopback, which slows each
DATA answer a little so that kills land while messages are on the wire.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import signal
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from aiosmtpd.controller import Controller
from sqlalchemy import create_engine, text
from targets import (
    CYCLE_NOW,
    EXAMPLES,
    TARGETS,
    Fingerprint,
    Target,
    add_overdue_tasks,
    import_args,
    send_check,
    write_leads_csv,
    write_other_lists,
)

from nurture.db.session import init_db, make_engine

PG_BASE_URL = os.environ.get(
    "NURTURE_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
SECRET_KEY = "chaos-driver-signing-key-0123456789abcdef"
CONNECTIONS = 2
MID = re.compile(rb"^Message-ID:\s*(<[^>]+>)", re.MULTILINE | re.IGNORECASE)


# -- databases -------------------------------------------------------------------------------


class Databases:
    """New and copied databases of one backend, all dropped by :meth:`close`."""

    def __init__(self, backend: str, folder: Path, pg_base_url: str = PG_BASE_URL) -> None:
        self.backend = backend
        self.folder = folder
        self.base = pg_base_url
        self._pg: list[str] = []
        # drops run beside the next trial: half a second each on PostgreSQL
        self._dropper = ThreadPoolExecutor(max_workers=1)

    def _pg_url(self, name: str) -> str:
        base, _, query = self.base.partition("?")
        return f"{base.rsplit('/', 1)[0]}/{name}" + (f"?{query}" if query else "")

    def _admin(self, statement: str) -> None:
        admin = create_engine(self.base, isolation_level="AUTOCOMMIT")
        try:
            with admin.connect() as conn:
                conn.execute(text(statement))
        finally:
            admin.dispose()

    def new(self) -> str:
        """A migrated, empty database."""
        if self.backend == "sqlite":
            url = f"sqlite:///{self.folder / f'chaos-{uuid.uuid4().hex[:8]}.db'}"
        else:
            name = f"chaos_{os.getpid()}_{uuid.uuid4().hex[:8]}"
            self._admin(f'CREATE DATABASE "{name}"')
            self._pg.append(name)
            url = self._pg_url(name)
        engine = make_engine(url)
        init_db(engine)
        engine.dispose()
        return url

    def copy(self, url: str) -> str:
        if self.backend == "sqlite":
            source = Path(url.removeprefix("sqlite:///"))
            target = self.folder / f"chaos-{uuid.uuid4().hex[:8]}.db"
            shutil.copyfile(source, target)
            return f"sqlite:///{target}"
        name = f"chaos_{os.getpid()}_{uuid.uuid4().hex[:8]}"
        template = url.rsplit("/", 1)[1].partition("?")[0]
        self._admin(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        self._pg.append(name)
        return self._pg_url(name)

    def drop(self, url: str) -> None:
        if self.backend == "sqlite":
            path = Path(url.removeprefix("sqlite:///"))
            for suffix in ("", "-wal", "-shm", "-journal"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
            return
        name = url.rsplit("/", 1)[1].partition("?")[0]
        if name in self._pg:
            self._pg.remove(name)
        self._dropper.submit(self._admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def close(self) -> None:
        self._dropper.shutdown(wait=True)
        for name in list(self._pg):
            self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self._pg.clear()


# -- the SMTP server -------------------------------------------------------------------------


@dataclass
class CountingHandler:
    """Counts what arrives by Message-ID; answers DATA after ``delay`` seconds."""

    delay: float = 0.004
    arrived: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        import asyncio

        match = MID.search(bytes(envelope.original_content or envelope.content))
        with self.lock:  # the content is here: it may be delivered from now on
            self.arrived[match.group(1).decode() if match else ""] += len(envelope.rcpt_tos)
        await asyncio.sleep(self.delay)
        return "250 OK queued"

    def take(self) -> Counter[str]:
        with self.lock:
            got, self.arrived = self.arrived, Counter()
        return got


@contextmanager
def smtp_server() -> Iterator[tuple[CountingHandler, str]]:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    handler = CountingHandler()
    controller = Controller(handler, hostname="127.0.0.1", port=port, ready_timeout=10)
    controller.start()
    try:
        yield handler, f"smtp://127.0.0.1:{port}?connections={CONNECTIONS}&timeout=10"
    finally:
        controller.stop()


# -- running the CLI -------------------------------------------------------------------------


def cli_env(url: str, outbox: Path, smtp_url: str | None) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        NURTURE_DATABASE_URL=url,
        NURTURE_OUTBOX_DIR=str(outbox),
        NURTURE_SECRET_KEY=SECRET_KEY,
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
    )
    env.pop("NURTURE_SMTP_URL", None)
    if smtp_url:
        env["NURTURE_SMTP_URL"] = smtp_url
    return env


@dataclass
class Finished:
    code: int
    out: str
    err: str
    seconds: float  # from the start to the exit
    activity: tuple[float, float] | None = None  # first and last database activity seen


class Runner:
    """Runs the CLI in child processes that a fork server forks (see runner.py)."""

    def __init__(self, folder: Path, fresh_interpreter: bool = False) -> None:
        from runner import ForkServer, Interpreter

        self.folder = folder
        self.impl = Interpreter() if fresh_interpreter else ForkServer()
        self._n = 0
        self._files: dict[int, tuple[Path, Path]] = {}

    def start(self, args: list[str], env: dict[str, str]) -> tuple[int, float]:
        self._n += 1
        out, err = self.folder / f"run-{self._n}.out", self.folder / f"run-{self._n}.err"
        started = time.monotonic()
        pid = self.impl.start(["nurture", *args], env, out, err)
        self._files[pid] = (out, err)
        return pid, started

    def kill(self, pid: int) -> None:
        try:
            os.killpg(pid, signal.SIGKILL)  # its workers too
        except ProcessLookupError:
            os.kill(pid, signal.SIGKILL)  # not yet its own group leader

    def wait(self, pid: int, started: float) -> Finished:
        code = self.impl.wait(pid)
        took = time.monotonic() - started
        out, err = self._files.pop(pid)
        return Finished(code, _read(out), _read(err), took)

    def run_to_end(self, args: list[str], env: dict[str, str], watch: str = "") -> Finished:
        """Run to exit 0 (else raise with the output); ``watch``: a database URL whose
        activity is sampled, so kills can be drawn over the window where it works."""
        pid, started = self.start(args, env)
        watcher = Activity(watch, started) if watch else None
        done = self.wait(pid, started)
        if watcher is not None:
            done.activity = watcher.stop()
        if done.code != 0 or "Traceback" in done.err:
            raise RuntimeError(f"nurture {' '.join(args)} exited {done.code}: {done.err[-2000:]}")
        return done

    def close(self) -> None:
        self.impl.close()


def _read(path: Path) -> str:
    """A run's output; none when it was killed before it opened its files."""
    try:
        return path.read_text(errors="replace")
    except FileNotFoundError:
        return ""


class Activity:
    """Samples a database every few milliseconds from another thread: SQLite, the sizes and
    times of the file and its WAL; PostgreSQL, the other sessions' non-idle states."""

    def __init__(self, url: str, since: float) -> None:
        self.url, self.since = url, since
        self.first: float | None = None
        self.last: float | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self._thread.start()

    def _poll(self) -> None:
        if self.url.startswith("sqlite"):
            path = self.url.removeprefix("sqlite:///")

            def probe() -> object:
                out = []
                for suffix in ("", "-wal"):
                    try:
                        st = os.stat(path + suffix)
                        out.append((st.st_size, st.st_mtime_ns))
                    except FileNotFoundError:
                        out.append(None)
                return out

            before = probe()
            while not self._stop.wait(0.003):
                now = probe()
                if now != before:
                    self._seen()
                    before = now
            return
        name = self.url.rsplit("/", 1)[1].partition("?")[0]
        engine = create_engine(self.url, isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as conn:
                query = text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = :d "
                    "AND pid <> pg_backend_pid() AND state IS NOT NULL AND state <> 'idle'"
                )
                while not self._stop.wait(0.003):
                    if conn.execute(query, {"d": name}).scalar_one():
                        self._seen()
        finally:
            engine.dispose()

    def _seen(self) -> None:
        at = time.monotonic() - self.since
        if self.first is None:
            self.first = at
        self.last = at

    def stop(self) -> tuple[float, float] | None:
        self._stop.set()
        self._thread.join()
        if self.first is None or self.last is None:
            return None
        return self.first, self.last


def in_process(url: str, outbox: Path, *args: str) -> str:
    """One CLI command in this process (the setup: cheaper than a new interpreter)."""
    from typer.testing import CliRunner

    from nurture.cli import app
    from nurture.config import get_settings
    from nurture.db.session import get_engine

    saved = dict(os.environ)
    os.environ.update(cli_env(url, outbox, None))
    os.environ.pop("NURTURE_SMTP_URL", None)
    get_settings.cache_clear()
    get_engine.cache_clear()
    try:
        result = CliRunner().invoke(app, list(args))
    finally:
        get_engine.cache_clear()
        get_settings.cache_clear()
        os.environ.clear()
        os.environ.update(saved)
    if result.exit_code != 0:
        raise RuntimeError(f"setup `nurture {' '.join(args)}` failed: {result.output[-2000:]}")
    return result.stdout


# -- templates -------------------------------------------------------------------------------


@dataclass
class Start:
    """A target's starting database and inputs."""

    url: str
    files: Path
    input_rows: int


def build_starts(dbs: Databases, folder: Path, rows: int, seed: int) -> dict[str, Start]:
    files = folder / "files"
    files.mkdir(parents=True, exist_ok=True)
    input_rows = write_leads_csv(files / "leads.csv", rows, seed)
    outbox = folder / "setup-outbox"
    base = dbs.new()
    in_process(base, outbox, "team", "load", str(EXAMPLES / "team.yaml"))
    in_process(base, outbox, "campaign", "load", *map(str, sorted(EXAMPLES.glob("campaigns/*"))))
    imported = dbs.copy(base)
    in_process(imported, outbox, *import_args(files))
    for args in write_other_lists(files, rows, seed):  # several campaigns for the cycle
        in_process(imported, outbox, *args)
    planned = dbs.copy(imported)
    in_process(planned, outbox, "run", "--now", CYCLE_NOW)
    # after the cycle: routing's first-contact tasks of the three events' leads (taken in at
    # IMPORT_NOW, overdue by the escalation run), beside tasks added directly
    escalations = dbs.copy(planned)
    add_overdue_tasks(escalations, max(20, rows // 2))
    return {
        "intake": Start(base, files, input_rows),
        "cycle": Start(imported, files, input_rows),
        "escalations": Start(escalations, files, input_rows),
        "send": Start(planned, files, input_rows),
    }


# -- trials ----------------------------------------------------------------------------------


@dataclass
class Trial:
    target: str
    backend: str
    seed: int
    trial: int
    delay: float
    phase: str = ""
    unknown: int = 0
    problems: list[str] = field(default_factory=list)


@dataclass
class TargetRun:
    target: str
    backend: str
    window: tuple[float, float]  # where kills were drawn, seconds after the start
    clean_seconds: float
    trials: list[Trial]
    #: Campaigns with enrolments after the clean run (the cycle target's reach).
    campaigns: list[str] = field(default_factory=list)
    #: Where the escalated tasks came from (their source keys' first part), after the clean run.
    escalated_from: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        phases = Counter(t.phase for t in self.trials)
        return {
            "target": self.target,
            "backend": self.backend,
            "trials": len(self.trials),
            "clean_s": round(self.clean_seconds, 2),
            "kill_window_s": [round(w, 2) for w in self.window],
            "before": phases["before"],
            "mid": phases["mid"],
            "after": phases["after"],
            "failed": sum(1 for t in self.trials if t.problems),
            "unknown": sum(t.unknown for t in self.trials),
            "campaigns": self.campaigns,
            "escalated_from": self.escalated_from,
        }


def _phase(start: Fingerprint, clean: Fingerprint, now: Fingerprint) -> str:
    if now == start:
        return "before"
    return "after" if now == clean else "mid"


def run_target(
    target: Target,
    dbs: Databases,
    runner: Runner,
    start_state: Start,
    folder: Path,
    trials: int,
    seed: int,
) -> TargetRun:
    with _maybe_smtp(target) as (handler, smtp_url):
        initial = target.fingerprint(start_state.url)
        clean_url = dbs.copy(start_state.url)
        args = target.args(start_state.files)
        env = cli_env(clean_url, folder / "clean-outbox", smtp_url)
        clean_run = runner.run_to_end(args, env, watch=clean_url)
        clean = target.fingerprint(clean_url)
        campaigns = sorted({str(key[1]) for key in clean.get("enrollments", ())})
        escalated = sorted({_origin(str(key[0])) for key in clean.get("escalations", ())})
        dbs.drop(clean_url)
        if handler is not None:
            handler.take()
        if clean == initial:
            raise RuntimeError(f"a clean `nurture {args[0]}` changed nothing: no target")
        # kills are drawn over the window where the clean run touched the database (with a
        # margin either side), else over the whole run
        low, high = clean_run.activity or (0.0, clean_run.seconds)
        low, high = max(0.0, low - 0.05), min(clean_run.seconds, high + 0.05)
        results = []
        for i in range(trials):
            rng = random.Random(seed * 1000 + i)
            trial = Trial(target.name, dbs.backend, seed, i, round(rng.uniform(low, high), 4))
            url = dbs.copy(start_state.url)
            env = cli_env(url, folder / f"outbox-{target.name}-{i}", smtp_url)
            try:
                pid, started = runner.start(args, env)
                time.sleep(max(0.0, started + trial.delay - time.monotonic()))
                runner.kill(pid)
                runner.wait(pid, started)
                trial.phase = _phase(initial, clean, target.fingerprint(url))
                runner.run_to_end(args, env)
                got = target.fingerprint(url)
                if handler is not None:
                    trial.problems, trial.unknown = send_check(
                        clean, got, handler.take(), 1, CONNECTIONS
                    )
                else:
                    trial.problems = target.check(clean, got, start_state.input_rows)
            except RuntimeError as exc:
                trial.problems = [str(exc)]
            finally:
                dbs.drop(url)
            results.append(trial)
        return TargetRun(
            target.name, dbs.backend, (low, high), clean_run.seconds, results, campaigns, escalated
        )


def _origin(source_key: str) -> str:
    """A task's source key's first part: ``chaos``, ``route``, ``touch`` ..."""
    return source_key.replace(":", ".").split(".", 1)[0]


@contextmanager
def _maybe_smtp(target: Target) -> Iterator[tuple[CountingHandler | None, str | None]]:
    if not target.smtp:
        yield None, None
        return
    with smtp_server() as (handler, url):
        yield handler, url


def run_chaos(
    targets: list[str],
    backend: str,
    trials: int,
    seed: int,
    rows: int,
    folder: Path,
    fresh_interpreter: bool = False,
) -> list[TargetRun]:
    dbs = Databases(backend, folder)
    runner = Runner(folder, fresh_interpreter)
    try:
        starts = build_starts(dbs, folder, rows, seed)
        return [
            run_target(TARGETS[name], dbs, runner, starts[name], folder, trials, seed)
            for name in targets
        ]
    finally:
        runner.close()
        dbs.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--trials", type=int, default=50)
    parser.add_argument("--target", choices=[*TARGETS, "all"], default="all")
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="sqlite")
    parser.add_argument("--rows", type=int, default=400, help="rows of the lead list")
    parser.add_argument("--seed", type=int, default=23)
    parser.add_argument("--json", action="store_true", help="one JSON object per trial too")
    parser.add_argument(
        "--fresh-interpreter", action="store_true", help="a new interpreter per run (slower)"
    )
    opts = parser.parse_args(argv)
    names = list(TARGETS) if opts.target == "all" else [opts.target]
    backends = ["sqlite", "postgresql"] if opts.backend == "both" else [opts.backend]
    failed = 0
    for backend in backends:
        with tempfile.TemporaryDirectory(prefix="nurture-chaos-") as tmp:
            for run in run_chaos(
                names,
                backend,
                opts.trials,
                opts.seed,
                opts.rows,
                Path(tmp),
                opts.fresh_interpreter,
            ):
                for t in run.trials:
                    if opts.json:
                        print(json.dumps(asdict(t)))
                    for p in t.problems:
                        print(f"FAIL {t.target}/{t.backend} seed {t.seed} trial {t.trial}: {p}")
                summary = run.summary()
                failed += summary["failed"]
                print(json.dumps(summary), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
