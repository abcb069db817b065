"""Benchmark: find and escalate the overdue ones among N open actions, against a raw count.

    .venv/bin/python bench/escalations.py [--rows 1000000] [--backend sqlite|postgresql|both]
                                          [--overdue-share 0.02] [--json]

Setup (not timed): 4 teams of 10 managers and a supervisor; N/10 leads; N open tasks with a
hard deadline (the default chain: level 1 tells the supervisor at the deadline), their due
times spread evenly from one day before ``now`` to the days after, so that
``--overdue-share`` of them (2%: what an hourly run meets after a day's pause) are overdue
and not yet seen. Then, in the same run and on the same data, each in a transaction that is
rolled back (best of three, taking turns; PostgreSQL vacuumed between, as autovacuum would):

- floor: ``SELECT count(*) FROM tasks WHERE status = 'open' AND due_at <= now``, the raw
  count of overdue rows (index range);
- escalate: ``mark_overdue`` + firing + the escalation digests, i.e. every overdue row gets
  its ``task.overdue`` event, its level-1 escalation row, its ``task.escalated`` event and
  its task update, and one digest per supervisor is queued;
- full run: ``run_escalations`` as ``nurture escalate`` runs it (also stalled deals, daily
  digests with reminders, fallback e-mails).

The goal is escalate/floor within 3x.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from common import Report, drop_pg_schema, new_pg_schema, timed

from nurture.db.session import init_db, make_engine
from nurture.playbooks.escalation import EscalationSummary, _Run, mark_overdue, run_escalations

NOW = datetime(2026, 3, 25, 7, 30, tzinfo=UTC)  # a Wednesday, 10:30 in Moscow
TABLES = ("leads", "tasks", "escalations", "event_log", "outbox", "managers", "teams")


def _ts(dialect: str, seconds_expr: str) -> str:
    base = NOW.strftime("%Y-%m-%d %H:%M:%S")
    if dialect == "sqlite":
        return f"strftime('%Y-%m-%d %H:%M:%S.000000', '{base}', ({seconds_expr}) || ' seconds')"
    return f"(TIMESTAMPTZ '{base}+00' + ({seconds_expr}) * interval '1 second')"


def populate(engine: Engine, rows: int, overdue_share: float) -> None:
    dialect = engine.dialect.name
    leads = max(1, rows // 10)
    with engine.begin() as conn:
        for t in range(4):
            conn.execute(
                text(
                    "INSERT INTO teams (id, name, supervisor_email, is_fallback) "
                    "VALUES (:i, :n, :e, :f)"
                ),
                {"i": t + 1, "n": f"Team {t}", "e": f"sup{t}@bench.example", "f": t == 3},
            )
            conn.execute(
                text(
                    "INSERT INTO managers (email, name, team_id, role, timezone, work_start, "
                    "work_end, active, weight, weekly_capacity, rr_credit, languages) VALUES "
                    "(:e, :n, :t, 'supervisor', 'Europe/Moscow', '09:00', '18:00', "
                    "true, 0, 0, 0, NULL)"
                ),
                {"e": f"sup{t}@bench.example", "n": f"Supervisor {t}", "t": t + 1},
            )
            for m in range(10):
                conn.execute(
                    text(
                        "INSERT INTO managers (email, name, team_id, role, timezone, work_start, "
                        "work_end, active, weight, weekly_capacity, rr_credit, languages) VALUES "
                        "(:e, :n, :t, 'manager', 'Europe/Moscow', '09:00', '18:00', "
                        "true, 1, 50, 0, NULL)"
                    ),
                    {"e": f"m{t}.{m}@bench.example", "n": f"Manager {t}.{m}", "t": t + 1},
                )
        manager_ids = [
            r[0]
            for r in conn.execute(
                text("SELECT id FROM managers WHERE role = 'manager' ORDER BY id")
            )
        ]
        conn.execute(text("CREATE TABLE bench_people (k INTEGER PRIMARY KEY, id INTEGER)"))
        conn.execute(
            text("INSERT INTO bench_people VALUES (:k, :i)"),
            [{"k": k, "i": i} for k, i in enumerate(manager_ids)],
        )
        n = len(manager_ids)

        def series(count: int) -> tuple[str, str]:
            if dialect == "sqlite":
                return (
                    "WITH RECURSIVE g(i) AS "
                    f"(SELECT 1 UNION ALL SELECT i + 1 FROM g WHERE i < {count}) ",
                    "g",
                )
            return "", f"generate_series(1, {count}) AS g(i)"

        pre, src = series(leads)
        created = _ts(dialect, "-86400 * 30")
        conn.execute(
            text(
                f"{pre}INSERT INTO leads (id, email, first_name, company, status, email_status, "
                "do_not_contact, owner_id, created_at, updated_at) "
                "SELECT i, 'lead' || i || '@bench.example', 'Lead', 'Company ' || i, "
                "'open', 'ok', "
                f"false, p.id, {created}, {created} FROM {src} JOIN bench_people p ON p.k = i % {n}"
            )
        )
        # due times: evenly over [now - span*share, now + span*(1 - share)], span = 50 days
        span = 50 * 86400
        pre, src = series(rows)
        due = _ts(dialect, f"(CAST(i AS BIGINT) * {span}) / {rows} - {int(span * overdue_share)}")
        conn.execute(
            text(
                f"{pre}INSERT INTO tasks (source_key, lead_id, manager_id, kind, title, due_at, "
                "deadline, status, created_at, escalation_level) "
                f"SELECT 'bench.' || i, 1 + i % {leads}, p.id, 'call', 'Call the client', {due}, "
                f"'hard', 'open', {created}, 0 FROM {src} JOIN bench_people p ON p.k = i % {n}"
            )
        )
        if dialect == "postgresql":
            conn.execute(text("SELECT setval('leads_id_seq', (SELECT max(id) FROM leads))"))
        else:
            conn.execute(text("ANALYZE"))
    if dialect == "sqlite":
        with engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    else:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text(f"VACUUM ANALYZE {', '.join(TABLES)}"))


def settle(engine: Engine) -> None:
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text(f"VACUUM {', '.join(TABLES)}"))


def floor(session: Session) -> int:
    return int(
        session.execute(
            text("SELECT count(*) FROM tasks WHERE status = 'open' AND due_at <= :now"),
            {
                "now": NOW
                if session.get_bind().dialect.name == "postgresql"
                else NOW.strftime("%Y-%m-%d %H:%M:%S.%f")
            },
        ).scalar_one()
    )


def escalate_only(session: Session) -> int:
    summary = EscalationSummary(now=NOW)
    mark_overdue(session, now=NOW)
    run = _Run(session, NOW)
    run.fire(summary)
    run.queue_digests()
    return summary.escalated


def full_run(session: Session) -> int:
    return run_escalations(session, now=NOW).escalated


def measure(engine: Engine, repeat: int) -> dict[str, Any]:
    out: dict[str, Any] = {"backend": engine.dialect.name}
    best: dict[str, float] = {}
    counts: dict[str, int] = {}
    for _ in range(repeat):
        for name, fn in (("floor", floor), ("escalate", escalate_only), ("full", full_run)):
            with Session(engine) as s:
                with timed() as t:
                    counts[name] = fn(s)
                s.rollback()
            best[name] = min(best.get(name, float("inf")), t.seconds)
            settle(engine)
    out["overdue_rows"] = counts["floor"]
    out["escalated"] = counts["escalate"]
    out["floor_s"] = best["floor"]
    out["escalate_s"] = best["escalate"]
    out["full_run_s"] = best["full"]
    out["escalate/floor"] = round(best["escalate"] / best["floor"], 1)
    out["per_escalation_us"] = round(1e6 * best["escalate"] / max(1, counts["escalate"]), 1)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--overdue-share", type=float, default=0.02)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    report = Report(f"Escalations: {args.rows:,} open actions, {args.overdue_share:.0%} overdue")
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    for backend in backends:
        schema = None
        with tempfile.TemporaryDirectory() as tmp:
            if backend == "sqlite":
                url = f"sqlite:///{tmp}/bench.db"
            else:
                url, schema = new_pg_schema("bench_esc")
            engine = make_engine(url)
            try:
                init_db(engine)
                with timed() as setup:
                    populate(engine, args.rows, args.overdue_share)
                row = measure(engine, args.repeat)
                row["setup_s"] = setup.seconds
                report.add(**row)
            finally:
                engine.dispose()
                if schema:
                    drop_pg_schema(schema)
    report.print()


if __name__ == "__main__":
    main()
