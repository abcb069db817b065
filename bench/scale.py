"""Benchmark: one day of a large database (cycle + send) with one worker and with two, and
Prefect's own overhead, on PostgreSQL.

    .venv/bin/python bench/scale.py [--rows 200000] [--repeat 2] [--server auto|sink|aiosmtpd]

Setup (not timed): ``--rows`` leads in nine time zones, enrolled in the example exhibition
campaign at steps spread over it, due times spread over 30 days (``bench/cycle.py``'s data:
about 1/30 of them plus the 24-hour look-ahead are due), in a template database that each
run copies (``CREATE DATABASE ... TEMPLATE``), so every run starts from the same state. The
SMTP server is postfix's ``smtp-sink`` when installed, else aiosmtpd in a child process
(``bench/send.py``'s ``start_server``).

The day is the cycle at 03:00 UTC, then sending everything it queued (``--now`` two days
on: a touch due at night in its lead's zone is sent when the window opens next morning).
Variants, on fresh copies, taking turns, best of ``--repeat``:

- ``1 worker``: one process ``nurture run``, then one ``nurture send``;
- ``2 workers``: two at once, each ``nurture run --shard K/2`` then ``nurture send`` (what
  two Prefect workers do with the sharded deployment). Goal: at least 0.9x the speed of one
  worker (the machine has two cores, shared with PostgreSQL and the SMTP sink);
- ``library``: the same day in this process, calling ``run_configured_cycle`` and
  ``send_due`` directly;
- ``flows``: the same calls through the flows ``nurture_cycle`` and ``send_outbox`` on a
  Prefect test harness started beforehand (not timed). Prefect's overhead is
  ``(flows - library) / flows``; goal under 5%.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from common import PG_URL, Report, timed  # this script's folder is on sys.path
from cycle import NOW, populate
from send import start_server
from sqlalchemy import create_engine, text

from nurture.db.session import init_db, make_engine

# a day's plan sends up to the next morning (a touch due at night waits for the window)
SEND_AT = NOW + timedelta(days=2)
SECRET = "scale-bench-signing-key-0123456789abcdef"


def _admin(statement: str) -> None:
    eng = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    try:
        with eng.connect() as conn:
            conn.execute(text(statement))
    finally:
        eng.dispose()


def _url(database: str) -> str:
    base, _, query = PG_URL.partition("?")
    return f"{base.rsplit('/', 1)[0]}/{database}" + (f"?{query}" if query else "")


def make_template(rows: int) -> str:
    name = f"scale_tpl_{uuid.uuid4().hex[:8]}"
    _admin(f'CREATE DATABASE "{name}"')
    engine = make_engine(_url(name))
    try:
        init_db(engine)
        populate(engine, rows)
    finally:
        engine.dispose()
    return name


@contextmanager
def copy_of(template: str) -> Iterator[str]:
    name = f"scale_{uuid.uuid4().hex[:8]}"
    _admin(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    try:
        yield _url(name)
    finally:
        _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def outcome(url: str) -> dict[str, int]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            row = conn.execute(
                text(
                    "SELECT (SELECT count(*) FROM touches WHERE status = 'planned'),"
                    " (SELECT count(*) FROM outbox),"
                    " (SELECT count(*) FROM outbox WHERE status = 'sent'),"
                    " (SELECT count(*) FROM tasks)"
                )
            ).one()
    finally:
        engine.dispose()
    return {"planned": row[0], "emails": row[1], "sent": row[2], "tasks": row[3]}


def _env(url: str, smtp: str, outbox: Path) -> dict[str, str]:
    return {
        "NURTURE_DATABASE_URL": url,
        "NURTURE_SMTP_URL": smtp,
        "NURTURE_SECRET_KEY": SECRET,
        "NURTURE_OUTBOX_DIR": str(outbox),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "DO_NOT_TRACK": "1",
    }


def worker(env: dict[str, str], shard: str | None) -> None:
    """One worker's day: the cycle (of its shard), then sending, as two processes."""
    run = [sys.executable, "-m", "nurture.cli", "run", "--now", NOW.isoformat(), "--json"]
    if shard:
        run += ["--shard", shard]
    send = [sys.executable, "-m", "nurture.cli", "send", "--now", SEND_AT.isoformat(), "--json"]
    for cmd in (run, send):
        done = subprocess.run(cmd, env={**os.environ, **env}, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd[2:5])} failed: {done.stderr[-2000:]}")


def workers(n: int) -> Callable[[dict[str, str]], None]:
    def day(env: dict[str, str]) -> None:
        shards = [None] if n == 1 else [f"{k}/{n}" for k in range(1, n + 1)]
        errors: list[BaseException] = []

        def one(shard: str | None) -> None:
            try:
                worker(env, shard)
            except BaseException as exc:  # reported after the join
                errors.append(exc)

        threads = [threading.Thread(target=one, args=(s,)) for s in shards]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if errors:
            raise errors[0]

    return day


@contextmanager
def settings_of(env: dict[str, str]) -> Iterator[None]:
    """This process's settings pointed at ``env`` (for the in-process variants)."""
    from nurture.config import get_settings
    from nurture.db.session import get_engine

    before = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    get_settings.cache_clear()
    get_engine.cache_clear()
    try:
        yield
    finally:
        get_engine.cache_clear()
        for k, v in before.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        get_settings.cache_clear()


def library(env: dict[str, str]) -> None:
    from nurture.cadence.cycle import run_configured_cycle
    from nurture.mail import clock_from, send_due

    with settings_of(env):
        run_configured_cycle(now=NOW)
        send_due(None, now=clock_from(SEND_AT))


def flows(env: dict[str, str]) -> None:
    from flows.nurture_cycle import nurture_cycle
    from flows.send import send_outbox

    with settings_of(env):
        nurture_cycle(now=NOW.isoformat())
        send_outbox(now=SEND_AT)


def measure(
    template: str,
    variants: dict[str, Callable[[dict[str, str]], None]],
    smtp: str,
    repeat: int,
    tmp: Path,
) -> dict[str, dict[str, Any]]:
    best: dict[str, dict[str, Any]] = {}
    for round_ in range(repeat):
        for name, day in variants.items():
            with copy_of(template) as url:
                env = _env(url, smtp, tmp / f"outbox-{name}-{round_}")
                with timed() as t:
                    day(env)
                got = outcome(url)
            if got["sent"] != got["emails"]:
                raise RuntimeError(f"{name}: {got['sent']} of {got['emails']} e-mails sent")
            print(f"  {name} round {round_ + 1}: {t.seconds:.1f} s {got}", file=sys.stderr)
            if name not in best or t.seconds < best[name]["seconds"]:
                best[name] = {"seconds": t.seconds, **got}
    return best


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rows", type=int, default=200_000, help="Enrolled leads.")
    parser.add_argument("--repeat", type=int, default=2, help="Runs of each variant (best).")
    parser.add_argument("--server", choices=["auto", "sink", "aiosmtpd"], default="auto")
    parser.add_argument("--no-prefect", action="store_true", help="Skip library and flows.")
    parser.add_argument("--json", action="store_true", help="One JSON document on stdout.")
    args = parser.parse_args(argv)
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    server, port, server_name = start_server(args.server)
    smtp = f"smtp://127.0.0.1:{port}"
    template = make_template(args.rows)
    try:
        with tempfile.TemporaryDirectory(prefix="nurture-scale-") as tmp:
            variants: dict[str, Callable[[dict[str, str]], None]] = {
                "1 worker": workers(1),
                "2 workers": workers(2),
            }
            harness = None
            if not args.no_prefect:
                from prefect.testing.utilities import prefect_test_harness

                harness = prefect_test_harness(server_startup_timeout=120)
                harness.__enter__()
                variants |= {"library": library, "flows": flows}
            try:
                best = measure(template, variants, smtp, args.repeat, Path(tmp))
            finally:
                if harness is not None:
                    harness.__exit__(None, None, None)
    finally:
        _admin(f'DROP DATABASE IF EXISTS "{template}" WITH (FORCE)')
        if server.stdin:
            server.stdin.close()
        server.terminate()
        server.wait(timeout=10)
    one, two = best["1 worker"], best["2 workers"]
    result: dict[str, Any] = {
        "rows": args.rows,
        "server": server_name,
        "emails": one["emails"],
        "planned": one["planned"],
        "one_worker_s": one["seconds"],
        "two_workers_s": two["seconds"],
        "two_vs_one_speed": one["seconds"] / two["seconds"],
        "leads_per_s_one": args.rows / one["seconds"],
        "loadavg": Path("/proc/loadavg").read_text().split()[0],
    }
    if "flows" in best:
        lib, fl = best["library"]["seconds"], best["flows"]["seconds"]
        result |= {"library_s": lib, "flows_s": fl, "prefect_share": (fl - lib) / fl}
    report = Report(f"scale: one day of {args.rows:,} leads, one worker vs two, Prefect overhead")
    report.add(**result)
    report.print()
    if args.json:
        return result
    print(json.dumps(result, default=str), file=sys.stderr)
    return result


if __name__ == "__main__":
    main()
