"""Benchmark: plan one day's touches for N enrolled leads, against a raw INSERT ... SELECT.

    .venv/bin/python bench/cycle.py [--rows 1000000] [--backend sqlite|postgresql|both] [--json]

Setup (not timed): N leads in nine time zones, all enrolled in the example exhibition
campaign at steps spread over the campaign, next due times spread over 30 days (so about
1/30 of them, plus the 24-hour look-ahead, are due). Then, in the same run and on the same
data, each in a transaction that is rolled back:

- baseline: ONE raw ``INSERT INTO touches ... SELECT`` of the due rows (no windows, no cap,
  no advancing, no outbox): the floor for "write one row per due touch", on a connection
  set up as the planner sets up its own (SQLite: the same page cache size);
- plan: ``nurture.cadence.planner.plan_due`` (send windows per zone, frequency cap,
  priorities, shifting, advancing enrolments) without queueing (``queue=False``), then the
  whole day as ``nurture run`` does it: plus the e-mails queued and the owner tasks created.

Each figure is the best of three runs (``--repeat``), the variants taking turns; on
PostgreSQL the tables are vacuumed (not timed) after each rolled-back variant, as autovacuum
would, so that no variant pays for the dead rows of the ones before it. The goal is
plan/baseline within 3x.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from common import Report, drop_pg_schema, new_pg_schema, timed

from nurture.cadence import planner, scratch
from nurture.cadence.campaigns import load_specs, read_campaign_file, save_campaign
from nurture.config import PROJECT_ROOT
from nurture.db.session import init_db, make_engine

NOW = datetime(2026, 3, 25, 3, 0, tzinfo=UTC)  # a Wednesday
ZONES = [
    ("Europe/Moscow", "RU"),
    ("Asia/Yekaterinburg", "RU"),
    ("Asia/Vladivostok", "RU"),
    ("Asia/Almaty", "KZ"),
    ("Europe/Berlin", "DE"),
    ("Europe/London", "GB"),
    ("America/New_York", "US"),
    ("America/Los_Angeles", "US"),
    ("Asia/Tokyo", "JP"),
]


def _ts(dialect: str, seconds_expr: str) -> str:
    """SQL for NOW + seconds, in the stored format of each backend."""
    base = NOW.strftime("%Y-%m-%d %H:%M:%S")
    if dialect == "sqlite":
        return f"strftime('%Y-%m-%d %H:%M:%S.000000', '{base}', ({seconds_expr}) || ' seconds')"
    return f"(TIMESTAMPTZ '{base}+00' + ({seconds_expr}) * interval '1 second')"


BENCH_TABLES = ("campaigns", "campaign_steps", "leads", "enrollments", "touches", "outbox", "tasks")


def populate(engine: Engine, rows: int) -> None:
    dialect = engine.dialect.name
    with Session(engine) as s, s.begin():
        save_campaign(s, read_campaign_file(PROJECT_ROOT / "examples/campaigns/exhibition.yaml"))
    with engine.begin() as conn:
        cid = conn.execute(text("SELECT id FROM campaigns WHERE slug = 'exhibition'")).scalar_one()
        steps = conn.execute(
            text("SELECT count(*) FROM campaign_steps WHERE campaign_id = :c"), {"c": cid}
        ).scalar_one()
        conn.execute(text("CREATE TABLE bench_zones (k INTEGER PRIMARY KEY, tz TEXT, cc TEXT)"))
        conn.execute(
            text("INSERT INTO bench_zones VALUES (:k, :tz, :cc)"),
            [{"k": k, "tz": tz, "cc": cc} for k, (tz, cc) in enumerate(ZONES)],
        )
        if dialect == "sqlite":
            series = (
                f"WITH RECURSIVE g(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM g WHERE i < {rows}) "
            )
            src = "g"
        else:
            series = ""
            src = f"generate_series(1, {rows}) AS g(i)"
        created = _ts(dialect, "-86400 * 20")
        conn.execute(
            text(
                f"{series}INSERT INTO leads (id, email, first_name, country, language, timezone, "
                "status, email_status, do_not_contact, created_at, updated_at) "
                f"SELECT i, 'lead' || i || '@bench.example', 'Lead', z.cc, "
                f"CASE WHEN z.cc = 'RU' THEN 'ru' ELSE 'en' END, z.tz, 'open', 'ok', false, "
                f"{created}, {created} FROM {src} JOIN bench_zones z ON z.k = i % {len(ZONES)}"
            )
        )
        enrolled = _ts(dialect, "-86400 * 20")
        due = _ts(dialect, "((CAST(i AS BIGINT) * 7919) % 2592000)")
        conn.execute(
            text(
                f"{series}INSERT INTO enrollments (id, lead_id, campaign_id, cycle, status, "
                "next_position, next_due_at, enrolled_at) "
                f"SELECT i, i, {cid}, 1, 'active', i % {steps}, {due}, {enrolled} FROM {src}"
            )
        )
        if dialect == "postgresql":
            conn.execute(text("SELECT setval('leads_id_seq', (SELECT max(id) FROM leads))"))
            conn.execute(
                text("SELECT setval('enrollments_id_seq', (SELECT max(id) FROM enrollments))")
            )
        else:
            conn.execute(text("ANALYZE"))
    if dialect == "sqlite":
        # a live database is checkpointed (every 1,000 pages by default); without this the
        # populating transaction stays in the WAL, nothing the bench does restarts it (every
        # variant rolls back), and each page read of every variant goes through the WAL
        # index, and the ratio wanders from one run to the next
        with engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    if dialect == "postgresql":
        # the steady state autovacuum keeps: hint bits set and the visibility map built, so
        # the baseline's join can read leads by index only (a fresh table would slow it down)
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text(f"VACUUM ANALYZE {', '.join(BENCH_TABLES)}"))


BASELINE = """
INSERT INTO touches (enrollment_id, lead_id, campaign_id, position, channel, due_at,
                     scheduled_at, status, created_at)
SELECT e.id, e.lead_id, e.campaign_id, e.next_position, 'email', e.next_due_at,
       e.next_due_at, 'planned', :now
FROM enrollments e JOIN leads l ON l.id = e.lead_id
WHERE e.status = 'active' AND e.next_due_at < :horizon
"""


VACUUM_BETWEEN = True


def settle(engine: Engine) -> None:
    """After each rolled-back variant, on PostgreSQL: VACUUM the tables it wrote, as
    autovacuum would (this server runs with it off). Otherwise every later variant pays for
    the dead rows and index entries of the earlier ones (the baseline ran first, on clean
    tables). Not timed; SQLite's rollback leaves the file as it was."""
    if engine.dialect.name != "postgresql" or not VACUUM_BETWEEN:
        return
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f"VACUUM {', '.join(BENCH_TABLES)}"))


def measure(engine: Engine, repeat: int = 3) -> dict[str, float | int | str]:
    horizon = NOW + planner.LOOKAHEAD
    out: dict[str, float | int | str] = {"backend": engine.dialect.name}
    with Session(engine) as s:  # warm-up: zoneinfo and holiday calendars load once per process
        planner.plan_due(s, load_specs(s), now=NOW)
        s.rollback()
    settle(engine)
    # each figure is the best of ``repeat`` runs (the machine is shared); the variants take
    # turns, so a change of load between them hits each one
    baselines, plans, fulls = [], [], []
    for _ in range(repeat):
        # the same connection settings the planner uses (on SQLite its page cache size):
        # the floor must not be handicapped
        with Session(engine) as s:
            with scratch.page_cache(s), timed() as t:
                res = s.execute(text(BASELINE), {"now": NOW, "horizon": horizon})
            out["due_rows"] = int(res.rowcount or 0)  # type: ignore[attr-defined]
            baselines.append(t.seconds)
            s.rollback()
        settle(engine)
        with Session(engine) as s:
            specs = load_specs(s)
            with timed() as t:
                summary = _plan_without_outbox(s, specs)
            plans.append(t.seconds)
            out["planned"] = summary.planned + summary.skipped
            out["shifted"] = summary.shifted
            s.rollback()
        settle(engine)
        with Session(engine) as s:
            specs = load_specs(s)
            with timed() as t:
                full = planner.plan_due(s, specs, now=NOW)
            fulls.append(t.seconds)
            out["queued"] = full.emails_queued + full.tasks_created
            s.rollback()
        settle(engine)
    out["baseline_s"] = min(baselines)
    out["plan_s"] = min(plans)
    out["plan_and_queue_s"] = min(fulls)
    out["ratio_plan"] = float(out["plan_s"]) / max(float(out["baseline_s"]), 1e-9)
    out["ratio_plan_and_queue"] = float(out["plan_and_queue_s"]) / max(
        float(out["baseline_s"]), 1e-9
    )
    out["loadavg"] = (
        Path("/proc/loadavg").read_text().split()[0] if Path("/proc/loadavg").exists() else ""
    )
    return out


def _plan_without_outbox(s: Session, specs: list) -> planner.PlanSummary:  # type: ignore[type-arg]
    return planner.plan_due(s, specs, now=NOW, queue=False)


def run_backend(
    backend: str, rows: int, tmp: Path, repeat: int = 3
) -> dict[str, float | int | str]:
    schema = None
    if backend == "sqlite":
        url = f"sqlite:///{tmp / 'bench.db'}"
    else:
        url, schema = new_pg_schema("bench_cycle")
    engine = make_engine(url)
    try:
        init_db(engine)
        with timed() as setup:
            populate(engine, rows)
        result = measure(engine, repeat)
        result["rows"] = rows
        result["setup_s"] = setup.seconds
        return result
    finally:
        engine.dispose()
        if schema:
            drop_pg_schema(schema)


def main(argv: list[str] | None = None) -> list[dict[str, float | int | str]]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rows", type=int, default=1_000_000, help="Enrolled leads.")
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--json", action="store_true", help="One JSON document on stdout.")
    parser.add_argument(
        "--repeat", type=int, default=3, help="Runs of each variant; the best one counts."
    )
    parser.add_argument(
        "--no-vacuum",
        action="store_true",
        help="PostgreSQL: do not vacuum between variants (each then pays for the dead rows "
        "of the rolled-back ones before it).",
    )
    args = parser.parse_args(argv)
    global VACUUM_BETWEEN
    VACUUM_BETWEEN = not args.no_vacuum
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    report = Report(f"cadence planner: one day's touches for {args.rows:,} enrolled leads")
    results = []
    with tempfile.TemporaryDirectory(prefix="nurture-bench-") as tmp:
        for backend in backends:
            result = run_backend(backend, args.rows, Path(tmp), args.repeat)
            results.append(result)
            report.add(**result)
    report.print()
    return results


if __name__ == "__main__":
    main()
