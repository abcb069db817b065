"""Routing benchmark: route N unassigned leads (default 1,000,000) in set-based batches.

Leads are generated with one bulk INSERT ... SELECT (recursive CTE on SQLite,
generate_series on PostgreSQL) against the team of examples/team.yaml (capacities raised so
that nobody overflows). Routing writes owners, the assignment log and one first-contact task
per lead. Printed: leads/s and the RATIO to an "intake floor"
measured in the same run on the same machine: pandas.read_csv of an equivalent CSV plus a raw
sqlite3 executemany of its rows (the least any importer of those rows must spend).

    .venv/bin/python bench/routing.py [--rows N] [--backend sqlite|postgresql] [--json]
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
from sqlalchemy import func, select, text

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from common import Report, drop_pg_schema, new_pg_schema, peak_rss_mb, timed

from nurture.db import Assignment, Lead, Task
from nurture.db.session import init_db, make_engine, session_scope
from nurture.routing import apply_team_file, load_team_file, route_unassigned

ROOT = Path(__file__).resolve().parent.parent
NOW = datetime(2026, 11, 25, 7, 0, tzinfo=UTC)
CITIES = ["Москва", "Санкт-Петербург", "Казань", "Berlin", "Moscow", "Новосибирск", "London"]
COMPANIES = ["ООО Ромашка", "Газпром нефть", "Acme Ltd", "АО Вектор", "Northwind"]
INTERESTS = ["CRM", "Analytics", "CRM, Analytics", "Support", ""]
LANGS = ["ru", "ru", "en", "ru", "en", "ru", "en"]
COLUMNS = ["email", "first_name", "last_name", "company", "city", "language", "interest"]


def _case(expr: str, values: list[str]) -> str:
    whens = " ".join(
        f"WHEN {i} THEN {'NULL' if v == '' else repr(v)}" for i, v in enumerate(values)
    )
    return f"CASE ({expr}) % {len(values)} {whens} END"


def generate_leads(engine, rows: int) -> None:  # type: ignore[no-untyped-def]
    """All leads in one INSERT ... SELECT (no Python loop)."""
    pg = engine.dialect.name == "postgresql"
    source = (
        f"generate_series(1, {rows}) AS seq(x)"
        if pg
        else f"(WITH RECURSIVE s(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM s WHERE x < {rows})"
        " SELECT x FROM s) AS seq"
    )
    cat = "||"
    now = "now()" if pg else "CURRENT_TIMESTAMP"
    sql = f"""
        INSERT INTO leads (email, first_name, last_name, company, city, language, interest,
                           status, email_status, do_not_contact, created_at, updated_at)
        SELECT 'lead' {cat} x {cat} '@example.org', 'Имя' {cat} x, 'Фамилия' {cat} x,
               {_case("x", COMPANIES)}, {_case("x / 3", CITIES)}, {_case("x / 3", LANGS)},
               {_case("x / 7", INTERESTS)},
               'open', 'ok', {"false" if pg else "0"}, {now}, {now}
        FROM {source}
    """
    with engine.begin() as conn:
        conn.execute(text(sql))


def intake_floor(rows: int, workdir: Path) -> float:
    """Seconds for pandas.read_csv + raw sqlite3.executemany of an equivalent CSV."""
    csv_path = workdir / "floor.csv"
    with csv_path.open("w", encoding="utf-8") as fh:
        fh.write(",".join(COLUMNS) + "\n")
        for x in range(1, rows + 1):
            fh.write(
                f"lead{x}@example.org,Имя{x},Фамилия{x},{COMPANIES[x % 5]},"
                f'{CITIES[(x // 3) % 7]},{LANGS[(x // 3) % 7]},"{INTERESTS[(x // 7) % 5]}"\n'
            )
    db = workdir / "floor.db"
    with timed() as t:
        frame = pd.read_csv(csv_path, dtype=str, keep_default_na=False)
        conn = sqlite3.connect(db)
        conn.execute(f"CREATE TABLE leads (id INTEGER PRIMARY KEY, {', '.join(COLUMNS)})")
        conn.executemany(
            f"INSERT INTO leads ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})",
            frame.itertuples(index=False, name=None),
        )
        conn.commit()
        conn.close()
    return t.seconds


def database_url(backend: str, workdir: Path) -> tuple[str, str | None]:
    if backend == "sqlite":
        return f"sqlite:///{workdir / 'bench.db'}", None
    return new_pg_schema("bench_routing")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--batch", type=int, default=5000, help="Leads per batch.")
    parser.add_argument("--json", action="store_true", help="One JSON object on stdout.")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-routing-") as tmp:
        workdir = Path(tmp)
        url, schema = database_url(args.backend, workdir)
        engine = make_engine(url)
        try:
            init_db(engine)
            spec = load_team_file(ROOT / "examples" / "team.yaml")
            for team in spec.teams:
                for m in team.managers:
                    m.weekly_capacity = 10**9
            with session_scope(engine) as s:
                apply_team_file(s, spec)
            with timed() as gen:
                generate_leads(engine, args.rows)
            with timed() as routing, session_scope(engine) as s:
                summary = route_unassigned(s, now=NOW, batch_size=args.batch)
            with session_scope(engine) as s:
                owned = s.execute(
                    select(func.count()).where(Lead.owner_id.is_not(None))
                ).scalar_one()
                logged = s.execute(select(func.count()).select_from(Assignment)).scalar_one()
                tasks = s.execute(select(func.count()).select_from(Task)).scalar_one()
            assert owned == logged == tasks == summary.assigned == args.rows, (
                owned,
                logged,
                tasks,
                summary,
            )
            floor_s = intake_floor(args.rows, workdir)
        finally:
            engine.dispose()
            if schema:
                drop_pg_schema(schema)
    route_rate = args.rows / routing.seconds
    floor_rate = args.rows / floor_s
    report = Report(f"routing {args.rows:,} leads ({args.backend}, batch {args.batch})")
    report.add(step="generate leads (INSERT ... SELECT)", seconds=gen.seconds)
    report.add(
        step="route_unassigned",
        seconds=routing.seconds,
        leads_per_s=route_rate,
        max_per_manager=max(summary.by_manager.values()),
    )
    report.add(
        step="intake floor (read_csv + executemany)", seconds=floor_s, leads_per_s=floor_rate
    )
    report.add(
        step="ratio routing / floor", ratio=route_rate / floor_rate, peak_rss_mb=peak_rss_mb()
    )
    report.print()


if __name__ == "__main__":
    main()
