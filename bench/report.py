"""Benchmark: the full analytics report against a raw SQL aggregation of the same events.

    .venv/bin/python bench/report.py [--leads 1000000] [--backend sqlite|postgresql|both]
                                     [--keep DIR] [--json]

Setup (not timed, in its own process): a simulated history (``nurture.analytics.history``)
of N leads, about 12.6 rows a lead in the event tables (lead sources, assignments,
enrolments, touches, tasks, engagements, purchases, deals, the event log, escalations:
about 12.6 million at a million leads), written with the driver's bulk path (PostgreSQL:
``COPY`` with foreign-key triggers off for the load) and analysed.

Then, each in a fresh process (so its peak memory is its own), the variants taking turns,
best of ``--repeat``:

- floor: one raw ``SELECT lead_id, count(*), min(<time>) ... GROUP BY lead_id`` per event
  table and the leads' own columns, every row fetched through the DB-API cursor: the least
  any report must do to read the same events;
- report: ``nurture.analytics.build_report`` for the whole period (funnel, time in stage
  and per action in business hours, speed to lead, coverage, sequence mining, revenue).

The goal is report/floor within 3x and the report under 2 GB.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from common import Report, drop_pg_schema, new_pg_schema, peak_rss_mb, timed

START = datetime(2026, 1, 5, tzinfo=UTC)
DAYS = 180

#: (table, lead column, time column) of every event table the report reads.
FLOOR_TABLES = (
    ("lead_sources", "lead_id", "created_at"),
    ("assignments", "lead_id", "assigned_at"),
    ("enrollments", "lead_id", "enrolled_at"),
    ("touches", "lead_id", "scheduled_at"),
    ("tasks", "lead_id", "created_at"),
    ("engagements", "lead_id", "occurred_at"),
    ("purchases", "lead_id", "purchased_at"),
    ("deals", "lead_id", "opened_at"),
    ("event_log", "lead_id", "at"),
    ("escalations", "lead_id", "fired_at"),
)


def setup(url: str, leads: int) -> dict[str, int]:
    """Generate and store the history (child process: its memory goes with it)."""
    from sqlalchemy import text
    from sqlalchemy.orm import Session

    from nurture.analytics import history
    from nurture.db.session import init_db, make_engine
    from nurture.db.sql import is_postgres

    engine = make_engine(url)
    init_db(engine)
    sim = history.generate(leads, seed=1, start=START, days=DAYS)
    with Session(engine) as session, session.begin():
        if is_postgres(session):
            # a bulk load: no per-row foreign-key trigger (the generator's ids are consistent)
            session.execute(text("SET LOCAL session_replication_role = replica"))
        counts = history.write(session, sim)
    if not url.startswith("sqlite"):
        with engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("VACUUM ANALYZE"))
    else:
        with engine.begin() as conn:
            conn.execute(text("ANALYZE"))
    engine.dispose()
    return {"leads": leads, "events": sim.events, "rows": sum(counts.values())}


def floor(url: str) -> dict[str, float]:
    from nurture.db.session import make_engine

    engine = make_engine(url)
    rows = 0
    with engine.connect() as conn, timed() as t:
        cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        cursor.execute("SELECT id, created_at, status, owner_id FROM leads")
        rows += len(cursor.fetchall())
        for table, lead, at in FLOOR_TABLES:
            cursor.execute(f"SELECT {lead}, count(*), min({at}) FROM {table} GROUP BY {lead}")
            rows += len(cursor.fetchall())
    engine.dispose()
    return {"seconds": t.seconds, "peak_mb": peak_rss_mb(), "rows": rows}


def report(url: str) -> dict[str, float]:
    from sqlalchemy.orm import Session

    from nurture.analytics import build_report
    from nurture.db.session import make_engine

    engine = make_engine(url)
    until = START.timestamp() + DAYS * 86400
    with Session(engine) as session, timed() as t:
        result = build_report(session, since=START, until=datetime.fromtimestamp(until, UTC))
    engine.dispose()
    return {
        "seconds": t.seconds,
        "peak_mb": peak_rss_mb(),
        "leads": result["leads"],
        "patterns": len(result["sequences"]["patterns"]),
    }


def _child(kind: str, url: str, leads: int) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", kind, "--url", url, "--leads", str(leads)],
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)},
    )
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--leads", type=int, default=1_000_000)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--keep", help="keep (and reuse) the SQLite file in this folder")
    parser.add_argument("--child", choices=["setup", "floor", "report"])
    parser.add_argument("--url")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if args.child:
        fn = {"setup": lambda u: setup(u, args.leads), "floor": floor, "report": report}
        print(json.dumps(fn[args.child](args.url)))
        return
    out = Report(f"analytics report: {args.leads:,} leads")
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    for backend in backends:
        schema = None
        if backend == "sqlite":
            folder = Path(args.keep or tempfile.mkdtemp(prefix="bench-report-"))
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / f"report-{args.leads}.db"
            url = f"sqlite:///{path}"
            fresh = not path.exists()
        else:
            url, schema = new_pg_schema("bench_report")
            fresh = True
        try:
            with timed() as t:
                made = _child("setup", url, args.leads) if fresh else {"leads": args.leads}
            print(f"{backend}: setup {t.seconds:.0f} s {made}", file=sys.stderr)
            best: dict[str, dict[str, float]] = {}
            for _ in range(args.repeat):
                for kind in ("floor", "report"):
                    got = _child(kind, url, args.leads)
                    print(f"{backend}: {kind} {got}", file=sys.stderr)
                    if kind not in best or got["seconds"] < best[kind]["seconds"]:
                        best[kind] = got
            out.add(
                backend=backend,
                leads=args.leads,
                events=made.get("events"),
                floor_s=best["floor"]["seconds"],
                report_s=best["report"]["seconds"],
                ratio=best["report"]["seconds"] / best["floor"]["seconds"],
                floor_mb=best["floor"]["peak_mb"],
                report_mb=best["report"]["peak_mb"],
            )
        finally:
            if schema:
                drop_pg_schema(schema)
            elif not args.keep and backend == "sqlite":
                path.unlink(missing_ok=True)
    out.print()


if __name__ == "__main__":
    main()
