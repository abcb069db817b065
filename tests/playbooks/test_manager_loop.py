"""The manager's loop on both databases: list, complete, reschedule, reassign; reply,
convert, lose, close; what the cadence stop rules then do; the lead's story."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from nurture.cadence.campaigns import read_campaign_file, save_campaign
from nurture.cadence.cycle import run_cycle
from nurture.config import PROJECT_ROOT
from nurture.db.cadence import Engagement, Enrollment, Purchase, Task
from nurture.db.leads import Lead
from nurture.db.playbooks import ProcessEvent
from nurture.playbooks import (
    ConflictError,
    UnknownRecordError,
    close_lead,
    complete_task,
    convert_lead,
    lead_story,
    list_tasks,
    lose_lead,
    reassign_task,
    record_reply,
    reschedule_task,
)
from nurture.playbooks.errors import InputError

NOW = datetime(2026, 3, 25, 7, 0, tzinfo=UTC)  # as in conftest: Wednesday 10:00 Moscow
World = Any  # tests/playbooks/conftest.py: World (fixtures only: importlib import mode)


def events_of(world: World, type_: str, **where: Any) -> list[ProcessEvent]:
    q = select(ProcessEvent).where(ProcessEvent.type == type_)
    for key, value in where.items():
        q = q.where(getattr(ProcessEvent, key) == value)
    return list(world.session.scalars(q.order_by(ProcessEvent.id)))


def test_list_filters_by_assignee_lead_overdue_and_due_time(world: World) -> None:
    staff = world.staff()
    a, b = world.lead(), world.lead(owner="ivan")
    late = world.task(a, due=NOW - timedelta(hours=2))
    soon = world.task(a, due=NOW + timedelta(hours=3), hard=False)
    other = world.task(b, due=NOW + timedelta(days=2))
    s = world.session
    ids = lambda views: [v.id for v in views]  # noqa: E731
    assert ids(list_tasks(s, now=NOW)) == [late.id, soon.id, other.id]
    assert ids(list_tasks(s, now=NOW, assignee="OLGA@example.com")) == [late.id, soon.id]
    assert ids(list_tasks(s, now=NOW, lead_id=b.id)) == [other.id]
    assert ids(list_tasks(s, now=NOW, overdue=True)) == [late.id]
    assert ids(list_tasks(s, now=NOW, due_before=NOW + timedelta(days=1))) == [late.id, soon.id]
    [view] = list_tasks(s, now=NOW, overdue=True)
    assert view.hard and view.overdue and view.assignee == staff["olga"].email
    assert view.lead_name == f"Anna {a.last_name} (ACME)"
    with pytest.raises(UnknownRecordError, match="no manager with e-mail"):
        list_tasks(s, now=NOW, assignee="nobody@example.com")


def test_complete_records_the_outcome_once_and_twice_is_an_error(world: World) -> None:
    lead = world.lead()
    task = world.task(lead)
    s = world.session
    done = complete_task(
        s,
        task.id,
        now=NOW,
        actor="olga@example.com",
        outcome={"reached": "yes", "next": "send proposal"},
        note="Interested in 20 licences",
    )
    assert done.status == "done" and done.completed_by == "olga@example.com"
    assert done.outcome == {"reached": True, "next": "send proposal"}
    assert s.get(Lead, lead.id).last_activity_at == NOW  # type: ignore[union-attr]
    with pytest.raises(ConflictError, match=f"task {task.id} is already done"):
        complete_task(s, task.id, now=NOW + timedelta(minutes=1), actor="ivan@example.com")
    [ev] = events_of(world, "task.done", task_id=task.id)
    assert ev.actor == "olga@example.com" and ev.data["note"] == "Interested in 20 licences"
    assert ev.data["outcome"] == {"reached": True, "next": "send proposal"}
    with pytest.raises(UnknownRecordError, match="no task with id 999999"):
        complete_task(s, 999999, now=NOW, actor="x")
    with pytest.raises(InputError, match="use lower-case"):
        complete_task(s, world.task(lead).id, now=NOW, actor="x", outcome={"Bad Key": "1"})


def test_reschedule_needs_a_reason_and_a_future_time_and_rearms_escalation(
    world: World,
) -> None:
    lead = world.lead()
    task = world.task(lead, due=NOW - timedelta(days=1))
    task.overdue_at = NOW - timedelta(hours=20)
    task.escalate_at = NOW + timedelta(hours=1)
    s = world.session
    with pytest.raises(InputError, match="reason is required"):
        reschedule_task(s, task.id, to=NOW + timedelta(days=1), reason=" ", now=NOW, actor="x")
    with pytest.raises(InputError, match="is not in the future"):
        reschedule_task(s, task.id, to=NOW - timedelta(hours=1), reason="later", now=NOW, actor="x")
    view = reschedule_task(
        s, task.id, to=NOW + timedelta(days=2), reason="client on holiday", now=NOW, actor="olga"
    )
    assert view.due_at == NOW + timedelta(days=2) and not view.overdue
    s.refresh(task)
    assert task.overdue_at is None and task.escalate_at is None
    [ev] = events_of(world, "task.rescheduled", task_id=task.id)
    assert ev.data["reason"] == "client on holiday"
    assert ev.data["to"] == (NOW + timedelta(days=2)).isoformat()


def test_reassign_validates_the_new_assignee(world: World) -> None:
    staff = world.staff()
    lead = world.lead()
    task = world.task(lead)
    s = world.session
    with pytest.raises(UnknownRecordError, match="no manager with e-mail"):
        reassign_task(s, task.id, to="ghost@example.com", now=NOW, actor="boss")
    with pytest.raises(ConflictError, match="already assigned to olga@"):
        reassign_task(s, task.id, to="olga@example.com", now=NOW, actor="boss")
    staff["ivan"].active = False
    with pytest.raises(ConflictError, match="has left the team"):
        reassign_task(s, task.id, to="ivan@example.com", now=NOW, actor="boss")
    view = reassign_task(s, task.id, to="emily@example.com", now=NOW, actor="boss", reason="EN")
    assert view.assignee == "emily@example.com"
    [ev] = events_of(world, "task.reassigned")
    assert ev.data == {"from": "olga@example.com", "to": "emily@example.com", "reason": "EN"}


def test_convert_cancels_open_tasks_records_a_purchase_and_stops_nurture(
    world: World,
) -> None:
    world.staff()
    s = world.session
    spec = read_campaign_file(PROJECT_ROOT / "examples" / "campaigns" / "exhibition.yaml")
    save_campaign(s, spec)
    lead = world.lead(created_at=NOW - timedelta(hours=1))
    world.source(lead)
    run_cycle(s, now=NOW)
    run_cycle(s, now=NOW + timedelta(days=2))  # the exhibition's call step: a task
    open_before = list_tasks(s, now=NOW, lead_id=lead.id)
    assert open_before, "the campaign gives the owner a task"
    change = convert_lead(s, lead.id, now=NOW + timedelta(days=2), actor="olga", amount=125000)
    assert change.status == "converted"
    assert change.cancelled_tasks == [t.id for t in open_before]
    assert list_tasks(s, now=NOW, lead_id=lead.id) == []
    [purchase] = s.scalars(select(Purchase).where(Purchase.lead_id == lead.id))
    assert purchase.amount == 125000
    with pytest.raises(ConflictError, match="already converted"):
        convert_lead(s, lead.id, now=NOW + timedelta(days=2), actor="olga")
    summary = run_cycle(s, now=NOW + timedelta(days=3))
    assert summary.stopped.get("converted") == 1
    [enrolment] = s.scalars(select(Enrollment).where(Enrollment.lead_id == lead.id))
    assert enrolment.stop_reason == "converted"
    cancelled = s.scalars(select(Task).where(Task.lead_id == lead.id)).all()
    assert {t.status for t in cancelled} == {"cancelled"}
    assert all(t.cancel_reason and "converted" in t.cancel_reason for t in cancelled)


def test_reply_is_what_the_replied_stop_rule_reads(world: World) -> None:
    world.staff()
    s = world.session
    save_campaign(s, read_campaign_file(PROJECT_ROOT / "examples" / "campaigns" / "seminar.yaml"))
    lead = world.lead(created_at=NOW - timedelta(hours=1))
    world.source(lead, kind="seminar", name="Seminar")
    run_cycle(s, now=NOW)
    record_reply(s, lead.id, at=NOW + timedelta(hours=5), actor="olga", note="call me Monday")
    [g] = s.scalars(select(Engagement).where(Engagement.lead_id == lead.id))
    assert g.kind == "reply" and g.detail == "call me Monday"
    assert run_cycle(s, now=NOW + timedelta(hours=6)).stopped.get("replied") == 1


def test_lose_needs_a_reason_and_merged_or_missing_leads_are_refused(world: World) -> None:
    s = world.session
    survivor, merged = world.lead(), world.lead()
    merged.merged_into_id = survivor.id
    s.flush()
    with pytest.raises(InputError, match="reason is required"):
        lose_lead(s, survivor.id, now=NOW, actor="olga", reason="")
    with pytest.raises(ConflictError, match=f"merged into lead {survivor.id}"):
        record_reply(s, merged.id, at=NOW, actor="olga")
    with pytest.raises(UnknownRecordError, match="no lead with id 987654"):
        close_lead(s, 987654, now=NOW, actor="olga")
    world.task(survivor)
    change = lose_lead(s, survivor.id, now=NOW, actor="olga", reason="went with a competitor")
    assert change.status == "lost" and len(change.cancelled_tasks) == 1
    [ev] = events_of(world, "lead.lost", lead_id=survivor.id)
    assert ev.data == {"reason": "went with a competitor"}


def test_story_tells_everything_in_time_order(world: World) -> None:
    s = world.session
    lead = world.lead()
    world.source(lead)
    task = world.task(lead, due=NOW)
    complete_task(s, task.id, now=NOW + timedelta(hours=1), actor="olga", outcome={"reached": "no"})
    record_reply(s, lead.id, at=NOW + timedelta(hours=2), actor="olga")
    convert_lead(s, lead.id, now=NOW + timedelta(hours=3), actor="olga", amount=10)
    story = lead_story(s, lead.id)
    types = [e["type"] for e in story["story"]]
    assert types == [
        "lead.created",
        "source",
        "task.created",
        "task.done",
        "lead.replied",
        "lead.converted",
        "purchase",
    ]
    assert [e["at"] for e in story["story"]] == sorted(e["at"] for e in story["story"])
    assert "name_key" not in story["lead"] and story["lead"]["status"] == "converted"
    assert story["owner"] == {"name": "Olga Petrova", "email": "olga@example.com"}
    assert story["sources"][0]["file"] == "badges.csv"
    assert s.scalar(select(func.count()).select_from(ProcessEvent)) == 3


def test_notes_and_several_assignees_and_a_due_window(world: World) -> None:
    from nurture.playbooks import add_note

    s = world.session
    a, b, c = world.lead(), world.lead(owner="ivan"), world.lead(owner="emily")
    ta = world.task(a, due=NOW + timedelta(hours=1))
    tb = world.task(b, due=NOW + timedelta(days=2))
    world.task(c, due=NOW + timedelta(hours=2))
    views = list_tasks(s, now=NOW, assignees=["olga@example.com", "ivan@example.com"])
    assert [v.id for v in views] == [ta.id, tb.id]
    window = list_tasks(
        s, now=NOW, due_from=NOW + timedelta(days=1), due_before=NOW + timedelta(days=3)
    )
    assert [v.id for v in window] == [tb.id]
    with pytest.raises(InputError, match="empty"):
        add_note(s, a.id, "  ", now=NOW, actor="olga")
    add_note(s, a.id, "prefers e-mail", now=NOW, actor="olga")
    complete_task(s, ta.id, now=NOW, actor="olga", outcome={"reached": "yes"})
    texts = [e["text"] for e in lead_story(s, a.id)["story"]]
    assert "note: prefers e-mail" in texts and "done: reached=yes" in texts
