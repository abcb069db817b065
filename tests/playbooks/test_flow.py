"""The escalations flow is thin: its task runs the library's steps, requests and escalation
run; run twice at the same moment, the second does nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import insert

from nurture.db.cadence import Task
from nurture.db.leads import Lead
from nurture.db.session import make_engine, session_scope
from nurture.db.sql import TASK_INSERT_COLUMNS
from nurture.db.team import Manager, Team
from nurture.flowfiles import load_flow_file


def test_flow_task_runs_the_playbooks_once(cli_db: str) -> None:
    now = datetime(2026, 3, 25, 7, 0, tzinfo=UTC)
    engine = make_engine(cli_db)
    with session_scope(engine) as s:
        team = Team(name="Sales", supervisor_email="boss@example.com")
        s.add(team)
        s.flush()
        m = Manager(email="olga@example.com", name="Olga", team_id=team.id)
        s.add(m)
        s.flush()
        lead = s.execute(
            insert(Lead).values(email="a@x.example", owner_id=m.id).returning(Lead.id)
        ).scalar_one()
        values = [
            "t.1",
            lead,
            m.id,
            "call",
            "Call",
            None,
            now - timedelta(days=1),
            "hard",
            "open",
            now,
        ]
        s.execute(insert(Task).values(dict(zip(TASK_INSERT_COLUMNS, values, strict=True))))
    engine.dispose()
    flow = load_flow_file("escalations")
    assert flow.escalations.name == "escalations"
    first = flow.run_playbooks.fn("2026-03-25T07:00:00")
    second = flow.run_playbooks.fn("2026-03-25T07:00:00")
    assert (first["escalated"], first["digests"]) == (1, 1)
    assert (second["escalated"], second["digests"], second["daily_digests"]) == (0, 0, 0)
    assert first["steps"]["succeeded"] == 0 and first["requests"]["delivered"] == 0
