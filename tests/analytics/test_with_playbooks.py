"""The report reads what the real playbook engine writes (deals, stage changes, outcome
forms), not only what the simulated history plants."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from nurture.analytics import build_report
from nurture.db.cadence import Task
from nurture.playbooks import complete_task, convert_lead, open_deal
from tests.playbooks.conftest import NOW, World, load_playbook


def test_deal_stages_and_outcomes_from_the_engine(session: Session) -> None:
    world = World(session)
    world.staff()
    load_playbook(session, "b2b-sale")
    lead = world.lead()
    deal = open_deal(session, lead.id, playbook="b2b-sale", now=NOW, actor="olga@example.com")
    card = session.scalars(
        select(Task).where(Task.deal_id == deal.id, Task.action == "check-card")
    ).one()
    # Thursday 10:00 Moscow: one business day after the deal opened
    done_at = NOW + timedelta(days=1)
    complete_task(session, card.id, now=done_at, actor="olga", outcome={"source_ok": "yes"})
    convert_lead(session, lead.id, now=done_at + timedelta(hours=2), actor="olga", amount=1000)
    report = build_report(session, since=NOW - timedelta(days=10), until=NOW + timedelta(days=5))
    stages = {s["stage"]: s for s in report["time_in_stage"]["deal_stages"]}
    assert stages["introduction"]["left"] == 1
    assert stages["introduction"]["median_hours"] == 9.0  # one 9-hour business day
    funnel = report["funnel"]["deals"]["overall"]
    assert funnel["deals"] == 1 and funnel["won"] == 1
    assert funnel["reached"]["introduction"] == 1 and funnel["reached"]["qualification"] == 1
    actions = {a["action"]: a for a in report["time_in_stage"]["actions"]}
    assert actions["check-card"]["done"] == 1
    assert report["revenue"]["total"] == 1000.0 and report["revenue"]["deals_won"] == 1
