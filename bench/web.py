"""Web app benchmark: p50/p95 of My day, the lead card and the calendar feed under 20
concurrent clients, against a floor route doing one indexed SELECT in the same run.

PostgreSQL with 100,000 leads and 1,000,000 tasks (5% open, due from 10 days ago to 80 days
ahead) owned by 100 managers; each client is one manager with a signed-in session, its feed
URL and its leads. The app runs in its own process (uvicorn, ``--workers`` processes); the
clients are asyncio tasks (httpx) in this process, each looping over the four routes in turn
for ``--seconds`` on loopback, so every route is measured under the same load. The floor is
``GET /bench/floor``, added to the same app: one ``SELECT`` by primary key through the same
engine, with no session check and no template: what any route of this server costs at least.
Goal: p95 under 200 ms and within 3x of the floor's p95.

    .venv/bin/python bench/web.py [--small] [--clients 20] [--seconds 30] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from common import Report, drop_pg_schema, new_pg_schema

ROOT = Path(__file__).resolve().parent.parent
ROUTES = ("my_day", "lead_card", "feed", "floor")


def bench_app() -> Any:
    """The real app plus the floor route (used by ``--serve``)."""
    from random import randint

    from sqlalchemy import text

    from nurture.db.session import get_engine
    from nurture.web.app import create_app

    app = create_app()
    engine = get_engine()
    top = int(os.environ.get("BENCH_MAX_TASK_ID", "1"))

    @app.get("/bench/floor", include_in_schema=False)
    def floor() -> dict[str, Any]:
        with engine.connect() as conn:
            title = conn.execute(
                text("SELECT title FROM tasks WHERE id = :id"), {"id": randint(1, top)}
            ).scalar()
        return {"title": title}

    return app


def _team_yaml(managers: int) -> str:
    lines = ["teams:"]
    per_team = 10
    for t in range(max(1, managers // per_team)):
        lines += [
            f"  - name: Team {t}",
            *(["    fallback: true"] if t == 0 else []),
            f"    supervisor: {{name: Super {t}, email: super{t}@bench.example}}",
            "    managers:",
        ]
        for m in range(per_team):
            i = t * per_team + m
            lines.append(f"      - {{name: Manager {i}, email: m{i}@bench.example}}")
    return "\n".join(lines) + "\n"


def populate(url: str, *, leads: int, tasks: int, managers: int) -> dict[str, Any]:
    """Team, accounts with sessions, leads and tasks; returns what the clients need."""
    from sqlalchemy import select, text

    from nurture.db.session import init_db, make_engine, session_scope
    from nurture.db.sql import TASK_INSERT_COLUMNS, refresh_statistics
    from nurture.db.team import Manager
    from nurture.db.web import WebUser
    from nurture.routing.admin import apply_team_file
    from nurture.routing.config import parse_team_file
    from nurture.web import accounts, sessions
    from nurture.web.access import now

    engine = make_engine(url)
    init_db(engine)
    with session_scope(engine) as s:
        apply_team_file(s, parse_team_file(_team_yaml(managers)))
        ids = sorted(s.scalars(select(Manager.id).where(Manager.role == "manager")))
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO leads (email, first_name, last_name, company, status, owner_id, "
                "email_status, do_not_contact, created_at, updated_at) "
                "SELECT 'lead' || x || '@example.org', 'Имя' || x, 'Фамилия' || x, "
                "'Компания ' || (x % 997), 'open', (CAST(:ids AS integer[]))[1 + x % :n], "
                "'ok', false, "
                "now(), now() "
                "FROM generate_series(1, :rows) AS x"
            ),
            {"ids": ids, "n": len(ids), "rows": leads},
        )
        lead_min = conn.execute(text("SELECT min(id) FROM leads")).scalar_one()
        columns = ", ".join(TASK_INSERT_COLUMNS)
        # 1 in 20 open, due from -10 to +80 days; the rest done long ago
        conn.execute(
            text(
                f"INSERT INTO tasks ({columns}) "
                "SELECT 'bench.' || x, l.id, l.owner_id, 'call', 'Call about offer ' || x, "
                "'Ask about the budget and the timeline.', "
                "now() + ((x % 90) - 10) * interval '1 day' + (x % 24) * interval '1 hour', "
                "CASE WHEN x % 7 = 0 THEN 'hard' ELSE 'recommended' END, "
                "CASE WHEN x % 20 = 0 THEN 'open' ELSE 'done' END, now() "
                "FROM generate_series(0, :rows - 1) AS x "
                "JOIN leads l ON l.id = :lead_min + (x % :leads)"
            ),
            {"rows": tasks, "lead_min": lead_min, "leads": leads},
        )
        top = conn.execute(text("SELECT max(id) FROM tasks")).scalar_one()
        refresh_statistics(conn, ("leads", "tasks"), always=True)
    clients = []
    with session_scope(engine) as s:
        for i, manager_id in enumerate(ids):
            user = WebUser(
                email=f"m{i}@bench.example",
                role="manager",
                manager_id=manager_id,
                password_hash=None,
                active=True,
                feed_nonce=f"bench-{i}",
            )
            s.add(user)
            s.flush()
            cookie, _csrf = sessions.start(s, user, now=now())
            lead_ids = list(
                s.execute(
                    text("SELECT id FROM leads WHERE owner_id = :m ORDER BY id LIMIT 50"),
                    {"m": manager_id},
                ).scalars()
            )
            clients.append({"cookie": cookie, "feed": accounts.feed_path(user), "leads": lead_ids})
    engine.dispose()
    return {"clients": clients, "top": top}


async def run_clients(
    base: str, clients: list[dict[str, Any]], *, n: int, seconds: float
) -> dict[str, list[float]]:
    import httpx

    samples: dict[str, list[float]] = {r: [] for r in ROUTES}
    errors: dict[str, int] = {r: 0 for r in ROUTES}
    deadline = time.perf_counter() + seconds

    async def one(k: int) -> None:
        me = clients[k % len(clients)]
        rng = random.Random(k)
        paths: dict[str, Callable[[], str]] = {
            "my_day": lambda: "/",
            "lead_card": lambda: f"/leads/{rng.choice(me['leads'])}",
            "feed": lambda: me["feed"],
            "floor": lambda: "/bench/floor",
        }
        order = list(ROUTES)
        rng.shuffle(order)
        async with httpx.AsyncClient(
            base_url=base, cookies={"nurture_session": me["cookie"]}, timeout=60
        ) as client:
            i = 0
            while time.perf_counter() < deadline:
                route = order[i % len(order)]
                i += 1
                start = time.perf_counter()
                response = await client.get(paths[route]())
                elapsed = time.perf_counter() - start
                if response.status_code != 200:
                    errors[route] += 1
                    continue
                samples[route].append(elapsed)

    await asyncio.gather(*(one(k) for k in range(n)))
    samples["_errors"] = [float(errors[r]) for r in ROUTES]
    return samples


def _quantile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(q * 100) - 1]


def _wait_up(base: str, proc: subprocess.Popen[bytes]) -> None:
    import httpx

    for _ in range(300):
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited with {proc.returncode}")
        try:
            if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError("the server did not start")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="Smoke test: small data, 5 s.")
    parser.add_argument("--leads", type=int, default=100_000)
    parser.add_argument("--tasks", type=int, default=1_000_000)
    parser.add_argument("--managers", type=int, default=100)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--workers", type=int, default=1, help="Server processes.")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--json", action="store_true", help="One JSON object on stdout.")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        import uvicorn

        uvicorn.run(
            "web:bench_app",
            factory=True,
            host="127.0.0.1",
            port=args.port,
            workers=args.workers,
            log_level="warning",
            access_log=False,
            app_dir=str(Path(__file__).resolve().parent),
        )
        return
    if args.small:
        args.leads, args.tasks, args.managers = 2_000, 20_000, 20
        args.seconds, args.clients = min(args.seconds, 5.0), min(args.clients, 5)
    url, schema = new_pg_schema("bench_web")
    proc: subprocess.Popen[bytes] | None = None
    try:
        started = time.perf_counter()
        data = populate(url, leads=args.leads, tasks=args.tasks, managers=args.managers)
        setup = time.perf_counter() - started
        env = {
            **os.environ,
            "NURTURE_DATABASE_URL": url,
            "NURTURE_SECRET_KEY": os.environ.get("NURTURE_SECRET_KEY", "change-me-in-production"),
            "BENCH_MAX_TASK_ID": str(data["top"]),
            "PYTHONPATH": str(ROOT),
        }
        command = [sys.executable, __file__, "--serve", "--port", str(args.port)]
        command += ["--workers", str(args.workers)]
        proc = subprocess.Popen(command, env=env, cwd=str(ROOT))
        base = f"http://127.0.0.1:{args.port}"
        _wait_up(base, proc)
        asyncio.run(run_clients(base, data["clients"], n=args.clients, seconds=2.0))  # warm-up
        samples = asyncio.run(
            run_clients(base, data["clients"], n=args.clients, seconds=args.seconds)
        )
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=30)
        drop_pg_schema(schema)
    errors = dict(zip(ROUTES, samples.pop("_errors"), strict=True))
    floor_p95 = _quantile(samples["floor"], 0.95)
    report = Report(
        f"web: {args.leads:,} leads, {args.tasks:,} tasks, {args.clients} clients, "
        f"{args.seconds:.0f} s, {args.workers} worker(s), setup {setup:.0f} s"
    )
    for route in ROUTES:
        values = samples[route]
        p95 = _quantile(values, 0.95)
        report.add(
            route=route,
            requests=len(values),
            errors=int(errors[route]),
            p50_ms=_quantile(values, 0.50) * 1000,
            p95_ms=p95 * 1000,
            x_floor_p95=p95 / floor_p95 if floor_p95 else None,
            goal=""
            if route == "floor"
            else ("met" if p95 < 0.2 and p95 <= 3 * floor_p95 else "missed"),
        )
    report.print()


if __name__ == "__main__":
    main()
