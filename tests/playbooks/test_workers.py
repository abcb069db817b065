"""Two workers escalating at once, with real commits on both databases: every level fires
once and each supervisor gets one digest, whichever worker wins."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, insert, select

from nurture.db.cadence import Task
from nurture.db.leads import Lead
from nurture.db.mail import OutboxMessage
from nurture.db.playbooks import Escalation
from nurture.db.session import make_engine, session_scope
from nurture.db.sql import TASK_INSERT_COLUMNS
from nurture.db.team import Manager, Team
from nurture.playbooks import EscalationSummary, run_escalations

NOW = datetime(2026, 3, 25, 7, 0, tzinfo=UTC)


def test_two_workers_fire_each_level_once(fresh_db: str) -> None:
    engine = make_engine(fresh_db)
    with session_scope(engine) as s:
        teams = [Team(name=n, supervisor_email=f"{n.lower()}@example.com") for n in ("A", "B")]
        s.add_all(teams)
        s.flush()
        people = [
            Manager(email=f"m{i}@example.com", name=f"M{i}", team_id=teams[i % 2].id)
            for i in range(4)
        ]
        s.add_all(people)
        s.flush()
        lead_ids = s.scalars(
            insert(Lead).returning(Lead.id),
            [{"email": f"l{i}@x.example", "owner_id": people[i % 4].id} for i in range(300)],
        ).all()
        rows = [
            dict(
                zip(
                    TASK_INSERT_COLUMNS,
                    [
                        f"t.{lid}",
                        lid,
                        people[i % 4].id,
                        "call",
                        "Call",
                        None,
                        NOW - timedelta(days=3, minutes=i),
                        "hard",
                        "open",
                        NOW - timedelta(days=5),
                    ],
                    strict=True,
                )
            )
            for i, lid in enumerate(lead_ids)
        ]
        s.execute(insert(Task), rows)
    results: list[EscalationSummary] = []
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def worker() -> None:
        try:
            start.wait()
            with session_scope(engine) as s:
                results.append(run_escalations(s, now=NOW))
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == []
    assert sorted(r.escalated for r in results) == [0, 300]
    with session_scope(engine) as s:
        assert s.scalar(select(func.count()).select_from(Escalation)) == 300
        digests = s.scalars(
            select(OutboxMessage.to_addr).where(
                OutboxMessage.template == "system/escalation_digest"
            )
        ).all()
        assert sorted(digests) == ["a@example.com", "b@example.com"]
    engine.dispose()
