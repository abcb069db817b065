"""A year of nurture over simulated time: nobody forgotten, caps and windows kept in every
lead's zone (DST weeks included), stop rules honoured, the cycle idempotent.

CI size is the issue's full size on SQLite: 10,000 leads from 12 events, 365 days; on
PostgreSQL 10,000 leads over 90 days (January to April, both March DST changes).
``NURTURE_SIM_LEADS`` and ``NURTURE_SIM_DAYS`` change it (docs/cadence.md has the times).
"""

from __future__ import annotations

import os
from collections import defaultdict
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from nurture.cadence.campaigns import load_specs
from nurture.cadence.caps import Cap, respects
from nurture.cadence.coverage import report
from nurture.cadence.cycle import run_cycle
from nurture.cadence.simulate import simulate
from nurture.cadence.windows import in_window, zone
from nurture.config import get_settings
from nurture.db.cadence import Engagement, Enrollment, Touch
from nurture.db.leads import Lead
from nurture.db.mail import OutboxMessage
from nurture.db.session import make_engine

pytestmark = pytest.mark.slow


@pytest.fixture()
def sizes(backend: str) -> tuple[int, int]:
    leads = int(os.environ.get("NURTURE_SIM_LEADS", "10000"))
    days = int(os.environ.get("NURTURE_SIM_DAYS", "365" if backend == "sqlite" else "90"))
    return leads, days


def test_a_year_of_nurture(fresh_db: str, sizes: tuple[int, int], tmp_path: Path) -> None:
    leads, days = sizes
    engine = make_engine(fresh_db)
    weekly: list[tuple[datetime, int, int]] = []
    idempotent: list[bool] = []

    def check(session: Session, now: datetime) -> None:
        if now.weekday() != 2:  # every Wednesday: full coverage check, idempotency
            return
        rep = report(session, now=now)
        weekly.append((now, len(rep.uncovered), len(rep.untouched_over_30d)))
        idempotent.append(not run_cycle(session, now=now).did_anything)

    # 2026-01-05: the year covers both DST changes in Europe and North America
    result = simulate(engine, start=date(2026, 1, 5), days=days, leads=leads, check=check)
    assert result.leads == leads and result.events == 12
    assert weekly and all(unc == 0 and old == 0 for _, unc, old in weekly), weekly
    assert all(idempotent)

    settings = get_settings()
    cap = Cap(settings.frequency_cap, settings.frequency_cap_days)
    with Session(engine) as s:
        windows = {c.id: spec.window.to_window() for c, spec in load_specs(s, active_only=False)}
        zones = {
            lid: (tz, cc) for lid, tz, cc in s.execute(select(Lead.id, Lead.timezone, Lead.country))
        }
        per_lead: dict[int, list[datetime]] = defaultdict(list)
        checked = dst_weeks = 0
        for lead_id, campaign_id, channel, at in s.execute(
            select(Touch.lead_id, Touch.campaign_id, Touch.channel, Touch.scheduled_at).where(
                Touch.status.in_(["planned", "done"])
            )
        ):
            tz_name, country = zones[lead_id]
            tz = zone(tz_name, settings.timezone)
            assert in_window(at, tz, country or settings.default_region, windows[campaign_id]), (
                lead_id,
                at.astimezone(tz),
            )
            if channel != "reminder":
                per_lead[lead_id].append(at)
            checked += 1
            local = at.astimezone(tz)
            if (local.month, local.day // 8) in ((3, 3), (3, 4), (10, 3), (10, 4), (11, 0)):
                dst_weeks += 1
        assert checked > leads
        assert dst_weeks > 0 or days < 90
        assert all(respects(times, cap) for times in per_lead.values())

        # stop rules: after a reply, nothing more is queued or sent to that lead
        replies: dict[int, datetime] = {}
        for lead_id, at in s.execute(
            select(Engagement.lead_id, Engagement.occurred_at).where(Engagement.kind == "reply")
        ):
            replies[lead_id] = min(at, replies.get(lead_id, at))
        assert replies
        for lead_id, at in replies.items():
            later = s.scalars(
                select(OutboxMessage.id).where(
                    OutboxMessage.lead_id == lead_id,
                    OutboxMessage.kind == "marketing",
                    OutboxMessage.status == "sent",
                    OutboxMessage.next_attempt_at > at,
                    OutboxMessage.created_at <= at + timedelta(days=180),
                )
            ).all()
            assert later == [], (lead_id, at)
        stopped = set(
            s.scalars(select(Enrollment.stop_reason).where(Enrollment.status == "stopped"))
        )
        assert {"replied", "unsubscribed"} <= stopped
    engine.dispose()
