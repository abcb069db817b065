"""Nobody is forgotten even when their owner does nothing: webinar and exhibition leads run
for 120 days with the example campaigns and no task completed; the overdue call and
reminder tasks send the lead the campaign's fallback e-mail, so no e-mailable lead is ever
untouched for 30 days (without it, the webinar's day-98 call after a 21-day gap left its
leads untouched for 42 days)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from nurture.cadence import coverage
from nurture.cadence.campaigns import read_campaign_file, save_campaign
from nurture.cadence.cycle import run_cycle
from nurture.config import PROJECT_ROOT
from nurture.db.cadence import Task
from nurture.db.mail import OutboxMessage

START = datetime(2026, 3, 23, 7, 0, tzinfo=UTC)  # a Monday, 10:00 in Moscow
World = Any


@pytest.mark.slow
def test_no_emailable_lead_goes_30_days_untouched(world: World) -> None:
    s = world.session
    world.staff()
    for slug in ("webinar", "exhibition"):
        save_campaign(
            s, read_campaign_file(PROJECT_ROOT / "examples" / "campaigns" / f"{slug}.yaml")
        )
    leads = []
    for i, kind in enumerate(("webinar", "webinar", "exhibition")):
        lead = world.lead(created_at=START - timedelta(hours=1 + i))
        world.source(lead, kind=kind, name=kind.title())
        leads.append(lead)
    no_email = world.lead(email=None, phone="+79161234567", created_at=START - timedelta(hours=1))
    world.source(no_email, kind="webinar", name="Webinar")
    forgotten: dict[int, list[int]] = {}
    for day in range(121):
        now = START + timedelta(days=day)
        run_cycle(s, now=now)
        if day >= 31:
            found = coverage.report(s, now=now, first_touch=False).untouched_over_30d
            for lead in leads:
                if lead.id in found:
                    forgotten.setdefault(lead.id, []).append(day)
    assert forgotten == {}
    fallbacks = s.scalars(select(OutboxMessage).where(OutboxMessage.step == "fallback")).all()
    assert {m.template for m in fallbacks} == {"webinar/fallback", "exhibition/fallback"}
    assert all(m.kind == "marketing" and m.dedupe_key.startswith("fallback.") for m in fallbacks)
    assert no_email.id not in {m.lead_id for m in fallbacks}
    tasks = {t.id: t for t in s.scalars(select(Task).where(Task.fallback_at.is_not(None)))}
    assert {int(m.dedupe_key.split(".")[1]) for m in fallbacks} == set(tasks)
    for m in fallbacks:  # 5 business days after the task fell due, not before
        task = tasks[int(m.dedupe_key.split(".")[1])]
        assert task.fallback_at is not None and task.fallback_at >= task.due_at + timedelta(days=7)
