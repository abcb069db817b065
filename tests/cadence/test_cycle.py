"""The nurture cycle on SQLite and PostgreSQL: enrol, plan, queue, tasks, stop, cap,
escalate, repair; idempotent at the same ``now``."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from nurture.cadence.campaigns import load_specs
from nurture.cadence.caps import Cap, respects
from nurture.cadence.cycle import run_cycle
from nurture.cadence.enrolment import enrol
from nurture.cadence.filters import compile_filter
from nurture.config import get_settings
from nurture.db.cadence import Campaign, Engagement, Enrollment, Task, Touch
from nurture.db.leads import Lead
from nurture.db.mail import OutboxMessage, Suppression

NOW = datetime(2026, 3, 27, 6, 0, tzinfo=UTC)  # a Friday, before 10:00 in Moscow
World = Any  # tests/cadence/conftest.py: World (fixtures only: importlib import mode)


def outbox(session: Session, lead: Lead) -> list[OutboxMessage]:
    return list(
        session.scalars(
            select(OutboxMessage).where(OutboxMessage.lead_id == lead.id).order_by(OutboxMessage.id)
        )
    )


def test_event_leads_are_enrolled_and_first_email_queued_by_contract(
    world: World, exhibition: Campaign
) -> None:
    moscow = world.lead()
    new_york = world.lead(country="US", timezone="America/New_York", language="en")
    world.lead(kind="webinar")  # another kind: not enrolled here
    summary = run_cycle(world.session, now=NOW)
    assert summary.enrolled == {"exhibition": 2}
    assert summary.emails_queued == 2
    [m] = outbox(world.session, moscow)
    assert m.dedupe_key == f"touch.{moscow.id}.exhibition.0.1"
    assert m.message_id == f"<touch.{moscow.id}.exhibition.0.1@nurture.local>"
    assert (m.status, m.kind, m.template, m.step) == (
        "queued",
        "marketing",
        "exhibition/welcome",
        "welcome",
    )
    assert m.campaign_slug == "exhibition" and m.to_addr == moscow.email
    # Friday 10:00 in each lead's own zone
    assert m.next_attempt_at == datetime(2026, 3, 27, 7, 0, tzinfo=UTC)
    [n] = outbox(world.session, new_york)
    assert n.next_attempt_at.astimezone(ZoneInfo("America/New_York")).hour == 10


def test_two_runs_at_the_same_now_do_nothing_more(world: World, exhibition: Campaign) -> None:
    for _ in range(5):
        world.lead()
    s = world.session

    def counts() -> tuple[int, ...]:
        return tuple(
            s.scalar(select(func.count()).select_from(t)) or 0
            for t in (Enrollment, Touch, OutboxMessage, Task)
        )

    for day in (0, 1, 3, 7):
        now = NOW + timedelta(days=day)
        first = run_cycle(s, now=now)
        after_first = counts()
        second = run_cycle(s, now=now)
        assert not second.did_anything, second
        assert counts() == after_first
        assert first.now == second.now


def test_call_step_creates_an_owner_task_after_the_weekend(
    world: World, exhibition: Campaign
) -> None:
    owner = world.staff()[0]
    lead = world.lead(owner_id=owner.id)
    run_cycle(world.session, now=NOW)
    run_cycle(world.session, now=NOW + timedelta(days=1))  # Saturday: due, planned for Monday
    [task] = world.session.scalars(select(Task).where(Task.lead_id == lead.id))
    assert task.kind == "call" and task.deadline == "hard" and task.manager_id == owner.id
    assert task.title.startswith("Позвонить после выставки")
    assert task.source_key == f"touch.{lead.id}.exhibition.1.1"
    assert task.due_at == datetime(2026, 3, 30, 7, 0, tzinfo=UTC)  # Monday 10:00 Moscow


def test_email_steps_skip_unreachable_leads(world: World, exhibition: Campaign) -> None:
    no_email = world.lead(email=None, phone="+79160000000")
    bounced = world.lead(email_status="undeliverable")
    suppressed = world.lead()
    world.session.add(Suppression(email=suppressed.email, scope="exhibition", reason="manual"))
    world.session.flush()
    summary = run_cycle(world.session, now=NOW)
    assert summary.emails_queued == 0
    for lead in (no_email, suppressed):
        [t] = world.session.scalars(select(Touch).where(Touch.lead_id == lead.id))
        assert t.status == "skipped" and t.outbox_id is None
    # bounced is a stop rule of the campaign: never planned at all
    assert summary.stopped.get("bounced", 0) == 0  # enrolled after stop rules ran
    run_cycle(world.session, now=NOW + timedelta(hours=1))
    enr = world.session.scalars(select(Enrollment).where(Enrollment.lead_id == bounced.id)).one()
    assert (enr.status, enr.stop_reason) == ("stopped", "bounced")


def test_reply_stops_the_campaign_and_cancels_queued_mail(
    world: World, simple_campaign: Callable[..., str]
) -> None:
    world.load_text(simple_campaign())
    lead = world.lead(kind="seminar")
    run_cycle(world.session, now=NOW)  # queues "hello" for 10:00
    [m] = outbox(world.session, lead)
    assert m.status == "queued"
    world.session.add(
        Engagement(lead_id=lead.id, kind="reply", occurred_at=NOW + timedelta(minutes=30))
    )
    world.session.flush()
    summary = run_cycle(world.session, now=NOW + timedelta(hours=1))
    assert summary.stopped == {"replied": 1}
    world.session.refresh(m)
    assert m.status == "cancelled"
    for day in range(1, 10):
        run_cycle(world.session, now=NOW + timedelta(days=day))
    assert [x.status for x in outbox(world.session, lead)] == ["cancelled"]


def test_purchase_and_owner_closing_stop_campaigns(world: World, exhibition: Campaign) -> None:
    buyer = world.lead()
    lost = world.lead()
    run_cycle(world.session, now=NOW)
    world.session.execute(update(Lead).where(Lead.id == buyer.id).values(status="converted"))
    world.session.execute(update(Lead).where(Lead.id == lost.id).values(status="lost"))
    summary = run_cycle(world.session, now=NOW + timedelta(days=1))
    assert summary.stopped == {"converted": 1, "owner_closed": 1}


def test_cap_higher_priority_wins_and_the_other_is_shifted(
    world: World, simple_campaign: Callable[..., str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NURTURE_FREQUENCY_CAP", "1")  # one touch per 3 days: pairs collide
    monkeypatch.setenv("NURTURE_FREQUENCY_CAP_DAYS", "3")
    get_settings.cache_clear()
    world.load_text(simple_campaign("low", kind="seminar", priority=1))
    world.load_text(simple_campaign("high", kind="webinar", priority=9))
    lead = world.lead(kind="seminar")
    world.lead(kind=None)
    world.met_at(lead, "webinar", "w.csv")  # the same lead also came from a webinar
    seen_shift = 0
    for hours in range(0, 24 * 26, 24):
        seen_shift += run_cycle(world.session, now=NOW + timedelta(hours=hours)).shifted
    touches = list(
        world.session.scalars(
            select(Touch).where(Touch.lead_id == lead.id, Touch.status == "planned")
        )
    )
    by_campaign = {c.id: c.slug for c in world.session.scalars(select(Campaign))}
    slugs = [by_campaign[t.campaign_id] for t in sorted(touches, key=lambda t: t.scheduled_at)]
    assert seen_shift > 0
    assert slugs[0] == "high"  # both were due in the first cycle: the higher priority won
    assert sorted(slugs) == ["high"] * 3 + ["low"] * 3  # the low one was shifted, not dropped
    assert respects([t.scheduled_at for t in touches], Cap(1, 3))


def test_steps_follow_the_lead_zone_window(world: World, exhibition: Campaign) -> None:
    leads = [
        world.lead(country=c, timezone=z, language="en")
        for c, z in [
            ("RU", "Asia/Vladivostok"),
            ("DE", "Europe/Berlin"),
            ("US", "America/Los_Angeles"),
            (None, None),
        ]
    ]
    for day in range(0, 16):
        run_cycle(world.session, now=NOW + timedelta(days=day, hours=day % 5))
    specs = dict((c.id, s) for c, s in load_specs(world.session))
    for lead in leads:
        tz = ZoneInfo(lead.timezone or "Europe/Moscow")
        for t in world.session.scalars(select(Touch).where(Touch.lead_id == lead.id)):
            window = specs[t.campaign_id].window.to_window()
            local = t.scheduled_at.astimezone(tz)
            assert local.weekday() < 5 and window.start <= local.time() < window.end, (
                lead.timezone,
                local,
            )


def test_manual_enrolment_by_filter(world: World, simple_campaign: Callable[..., str]) -> None:
    campaign, spec = world.load_text(simple_campaign("manual", kind="none"))
    a = world.lead(kind=None, city="Kazan")
    world.lead(kind=None, city="Omsk")
    where = compile_filter("city in ('Kazan', 'Moscow')")
    assert (
        enrol(world.session, campaign, spec, now=NOW, condition=where, first_time_only=False) == 1
    )
    assert (
        enrol(world.session, campaign, spec, now=NOW, condition=where, first_time_only=False) == 0
    )
    [e] = world.session.scalars(select(Enrollment).where(Enrollment.campaign_id == campaign.id))
    assert e.lead_id == a.id and e.cycle == 1


def test_escalation_of_missed_hard_deadline_is_sent_once(
    world: World, exhibition: Campaign
) -> None:
    owner = world.staff()[0]
    lead = world.lead(owner_id=owner.id)
    run_cycle(world.session, now=NOW)
    run_cycle(world.session, now=NOW + timedelta(days=1))
    later = NOW + timedelta(days=4)  # Tuesday: Monday's call was not made
    assert run_cycle(world.session, now=later).escalations == 1
    assert run_cycle(world.session, now=later + timedelta(hours=1)).escalations == 0
    [task] = world.session.scalars(select(Task).where(Task.lead_id == lead.id, Task.kind == "call"))
    assert task.escalated_to == "boss@example.com" and task.escalated_at == later
    # one digest per supervisor and run, not one e-mail per missed task
    [mail] = world.session.scalars(
        select(OutboxMessage).where(OutboxMessage.template == "system/escalation_digest")
    )
    assert mail.to_addr == "boss@example.com" and mail.kind == "digest"
    assert mail.status == "queued"
    assert mail.context and mail.context["items"][0]["task_id"] == task.id


def test_coverage_repair_gives_owners_a_task(world: World, exhibition: Campaign) -> None:
    owner = world.staff()[1]
    orphan = world.lead(kind=None, owner_id=owner.id, created_at=NOW - timedelta(days=40))
    summary = run_cycle(world.session, now=NOW)
    assert summary.uncovered_found == 1 and summary.untouched_over_30d_found == 1
    assert sum(summary.repaired.values()) >= 1
    [task] = world.session.scalars(select(Task).where(Task.lead_id == orphan.id))
    assert (task.kind, task.deadline, task.manager_id) == ("follow_up", "hard", owner.id)
    again = run_cycle(world.session, now=NOW)
    assert again.repaired == {} and again.uncovered_found == 0
