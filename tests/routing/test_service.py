"""route_unassigned and rebalance on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from nurture.db import Assignment, Lead, OutboxMessage, Task
from nurture.routing import route_unassigned


def test_routes_by_rule_and_weight(
    session: Session, team: dict[str, Any], leads: Any, now: datetime
) -> None:
    moscow = leads(30, city="Москва")
    other = leads(5, city="Berlin", country="DE")
    summary = route_unassigned(session, now=now)
    assert summary.assigned == 35
    assert summary.unassigned == 0
    owners = dict(session.execute(select(Lead.id, Lead.owner_id)).all())
    olga, ivan, john = team["olga"].id, team["ivan"].id, team["john"].id
    got = [owners[i] for i in moscow]
    assert got.count(olga) == 20 and got.count(ivan) == 10
    assert {owners[i] for i in other} == {john}  # Maria is on leave
    assert summary.digests == 3 and summary.tasks == 35
    reasons = session.execute(select(Assignment.reason).where(Assignment.lead_id == moscow[0]))
    assert 'rule "Moscow" -> team Moscow ->' in reasons.scalar_one()
    digest = session.execute(
        select(OutboxMessage).where(OutboxMessage.manager_id == olga)
    ).scalar_one()
    assert digest.kind == "digest" and digest.context is not None
    assert digest.context["total"] == 20
    again = route_unassigned(session, now=now)
    assert again.assigned == 0 and again.digests == 0
    assert session.execute(select(func.count()).select_from(Task)).scalar_one() == 35
