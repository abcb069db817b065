"""Two workers routing at the same moment never assign a lead twice (real commits)."""

from __future__ import annotations

import threading
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from nurture.db import Assignment, Lead, Task
from nurture.db.session import make_engine, session_scope
from nurture.routing import RoutingSummary, route_unassigned


def test_two_concurrent_runs_never_double_assign(fresh_db: str, now: Any, seed: Any) -> None:
    engine = make_engine(fresh_db)
    with session_scope(engine) as s:
        seed(s)
        s.execute(
            insert(Lead),
            [
                {"email": f"c{i}@example.org", "city": "Moscow" if i % 2 else "Berlin"}
                for i in range(400)
            ],
        )
    results: list[RoutingSummary] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(2)

    def worker() -> None:
        eng = make_engine(fresh_db)
        try:
            barrier.wait()
            with session_scope(eng) as s:
                results.append(route_unassigned(s, now=now, batch_size=50))
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            eng.dispose()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert sum(r.assigned for r in results) == 400
    with Session(engine) as s:
        per_lead = s.execute(
            select(Assignment.lead_id, func.count()).group_by(Assignment.lead_id)
        ).all()
        assert len(per_lead) == 400 and {n for _, n in per_lead} == {1}
        assert s.execute(select(func.count()).select_from(Task)).scalar_one() == 400
        unowned = s.execute(select(func.count()).where(Lead.owner_id.is_(None))).scalar_one()
        assert unowned == 0
        assert sum(r.tasks for r in results) == 400
    engine.dispose()
