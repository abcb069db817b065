"""Escalations with time travel on both databases: each level of a chain once (notify,
reassign, the head of sales), one digest per supervisor per run even after a clock jump,
nothing for done or cancelled tasks, stalled deals reported once, the daily digest once a
day at the start of work hours with the reminders it carries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from nurture.db.cadence import Task
from nurture.db.mail import OutboxMessage
from nurture.db.playbooks import Deal, Escalation, ProcessEvent
from nurture.playbooks import complete_task, convert_lead, open_deal, run_escalations
from nurture.playbooks.escalation import fired_levels

NOW = datetime(2026, 3, 25, 7, 0, tzinfo=UTC)  # Wednesday 10:00 in Moscow
World = Any


def msk(day: int, hour: int, month: int = 3) -> datetime:
    """A moment of 2026 in Moscow (UTC+3) as aware UTC."""
    return datetime(2026, month, day, hour - 3, 0, tzinfo=UTC)


def mails(world: World, template: str) -> list[OutboxMessage]:
    return list(
        world.session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.template == template)
            .order_by(OutboxMessage.id)
        )
    )


def test_each_level_fires_once_notify_reassign_head_of_sales(sales: World) -> None:
    s = sales.session
    lead = sales.lead()
    deal = open_deal(s, lead.id, playbook="b2b-sale", now=NOW, actor="olga")
    card = s.scalars(select(Task).where(Task.deal_id == deal.id)).one()
    complete_task(s, card.id, now=NOW, actor="olga", outcome={"source_ok": True})
    qualify = s.scalars(select(Task).where(Task.deal_id == deal.id, Task.status == "open")).one()
    assert qualify.due_at == msk(27, 10)  # Friday 10:00: 2 business days
    assert qualify.escalate_at == msk(30, 10)  # level 1: one business day after
    runs = {}
    for when in (
        msk(27, 11),
        msk(30, 10),
        msk(30, 11),
        msk(1, 10, 4),
        msk(3, 10, 4),
        msk(7, 10, 4),
    ):
        runs[when] = run_escalations(s, now=when).escalated
    # Fri 10:00 + 1 business day = Mon 10:00; + 3 = Wed 1 Apr; + 5 = Fri 3 Apr
    assert list(runs.values()) == [0, 1, 0, 1, 1, 0]
    assert fired_levels(s, qualify.id) == [1, 2, 3]
    s.refresh(qualify)
    assert qualify.escalation_level == 3 and qualify.escalate_at is None
    assert qualify.manager_id == sales.people["ivan"].id  # level 2 reassigned it
    assert qualify.escalated_to == "boss@example.com"
    digests = mails(sales, "system/escalation_digest")
    assert [m.to_addr for m in digests] == [
        "boss@example.com",
        "boss@example.com",
        "chief@example.com",
    ]
    level2 = digests[1].context["items"][0]  # type: ignore[index]
    assert level2["action"] == "reassign" and level2["reassigned_to"] == "Ivan Ivanov"
    assert level2["url"].endswith(f"/leads/{lead.id}") and level2["due_local"].endswith("MSK")
    assert digests[0].kind == "digest" and digests[0].context["manager"] is None  # type: ignore[index]
    kinds = [
        (e.type, e.level)
        for e in s.scalars(
            select(ProcessEvent).where(ProcessEvent.task_id == qualify.id).order_by(ProcessEvent.id)
        )
    ]
    assert ("task.overdue", None) in kinds
    assert [lv for t, lv in kinds if t == "task.escalated"] == [1, 2, 3]
    assert ("task.reassigned", None) in kinds


def test_a_clock_jump_gives_one_digest_per_supervisor(sales: World) -> None:
    s = sales.session
    long_ago = NOW - timedelta(days=40)
    for i in range(45):
        sales.task(
            sales.lead(owner="olga" if i % 3 else "emily"), due=long_ago + timedelta(hours=i)
        )
    sales.task(sales.lead(owner="ivan"), due=long_ago, hard=False)  # recommended: no escalation
    summary = run_escalations(s, now=NOW)
    assert summary.escalated == 45 and summary.overdue == 46
    digests = mails(sales, "system/escalation_digest")
    assert sorted(m.to_addr for m in digests) == ["boss@example.com", "chief@example.com"]
    by = {m.to_addr: m.context for m in digests}
    assert by["boss@example.com"]["total"] == 30 and by["chief@example.com"]["total"] == 15  # type: ignore[index]
    assert by["chief@example.com"]["language"] == "en"  # type: ignore[index]
    assert by["chief@example.com"]["items"][0]["due_local"].endswith(("GMT", "BST"))  # type: ignore[index]
    assert by["boss@example.com"]["items"][0]["late"] == "39 дней 23 часа"  # type: ignore[index]
    again = run_escalations(s, now=NOW + timedelta(hours=1))
    assert again.escalated == 0 and len(mails(sales, "system/escalation_digest")) == 2
    assert s.scalar(select(func.count()).select_from(Escalation)) == 45


def test_done_cancelled_and_converted_leads_tasks_never_escalate(sales: World) -> None:
    s = sales.session
    done = sales.task(sales.lead(), due=NOW + timedelta(hours=1))
    complete_task(s, done.id, now=NOW, actor="olga")
    lead = sales.lead()
    late = sales.task(lead, due=NOW - timedelta(hours=5))
    run_escalations(s, now=NOW - timedelta(hours=4))  # seen overdue and armed, not yet due...
    convert_lead(s, lead.id, now=NOW - timedelta(hours=3), actor="olga")
    assert run_escalations(s, now=NOW + timedelta(days=3)).escalated == 0
    s.refresh(late)
    assert late.status == "cancelled" and late.escalation_level in (0, 1)
    assert fired_levels(s, done.id) == []


def test_stalled_deals_are_reported_once(sales: World) -> None:
    s = sales.session
    deal = open_deal(s, sales.lead().id, playbook="event-invitation", now=NOW, actor="olga")
    assert deal.stage == "confirm"  # the invitation e-mail went at once
    # 5 business days without progress (the playbook's stall_after): Wed 25 Mar -> Wed 1 Apr
    assert run_escalations(s, now=msk(1, 9, 4)).stalled == 0
    assert run_escalations(s, now=msk(1, 11, 4)).stalled == 1
    assert run_escalations(s, now=msk(2, 11, 4)).stalled == 0
    s.refresh(deal)
    assert deal.stalled_reported_at == msk(1, 11, 4)
    digest = mails(sales, "system/escalation_digest")[-1]
    assert digest.to_addr == "boss@example.com"
    assert [i["action"] for i in digest.context["items"]] == ["stalled"]  # type: ignore[index]


def test_daily_digest_once_a_day_at_the_start_of_work_hours(sales: World) -> None:
    s = sales.session
    lead = sales.lead()
    overdue = sales.task(lead, due=msk(24, 12), hard=False)
    today = sales.task(lead, due=msk(25, 16))
    deal = open_deal(s, sales.lead().id, playbook="b2b-sale", now=msk(23, 10), actor="olga")
    card = s.scalars(select(Task).where(Task.deal_id == deal.id)).one()
    complete_task(s, card.id, now=msk(24, 10), actor="olga", outcome={"source_ok": True})
    qualify = s.scalars(select(Task).where(Task.deal_id == deal.id, Task.status == "open")).one()
    assert qualify.due_at == msk(26, 10) and qualify.remind_at == msk(25, 15)  # 4 h before
    assert run_escalations(s, now=msk(25, 8)).daily_digests == 0  # before work hours
    first = run_escalations(s, now=msk(25, 9))
    assert first.daily_digests == 1 and first.reminded == 1
    [daily] = mails(sales, "system/daily_digest")
    assert daily.to_addr == "olga@example.com" and daily.dedupe_key.endswith(".20260325")
    ctx = daily.context
    assert [t["task_id"] for t in ctx["overdue"]] == [overdue.id]  # type: ignore[index]
    assert [t["task_id"] for t in ctx["today"]] == [today.id]  # type: ignore[index]
    assert [t["task_id"] for t in ctx["reminders"]] == [qualify.id]  # type: ignore[index]
    s.refresh(qualify)
    assert qualify.reminded_at == msk(25, 9) and qualify.remind_at is None
    assert run_escalations(s, now=msk(25, 15)).daily_digests == 0  # at most one a day
    assert run_escalations(s, now=msk(26, 9)).daily_digests == 1  # the next day's
    assert run_escalations(s, now=msk(28, 10)).daily_digests == 0  # Saturday: none


def test_reschedule_rearms_and_escalates_from_the_new_deadline(sales: World) -> None:
    from nurture.playbooks import reschedule_task

    s = sales.session
    task = sales.task(sales.lead(), due=NOW - timedelta(hours=2))
    assert run_escalations(s, now=NOW).escalated == 1
    reschedule_task(
        s, task.id, to=NOW + timedelta(days=1), reason="client asked", now=NOW, actor="olga"
    )
    assert run_escalations(s, now=NOW + timedelta(days=2)).escalated == 0  # level 1 fired already
    assert fired_levels(s, task.id) == [1]
    assert s.scalar(select(func.count()).select_from(Deal)) == 0
