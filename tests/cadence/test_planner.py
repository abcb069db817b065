"""The set-based planner itself: touches linked to what they queued, steps falling due
within the horizon planned in the same cycle, two planners at once advancing nothing twice."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from nurture.cadence import planner, scratch
from nurture.cadence.campaigns import load_specs, parse_campaign, save_campaign
from nurture.cadence.cycle import run_cycle
from nurture.db.cadence import Enrollment, Task, Touch
from nurture.db.leads import Lead
from nurture.db.mail import OutboxMessage
from nurture.db.session import make_engine

NOW = datetime(2026, 3, 27, 6, 0, tzinfo=UTC)  # a Friday, before 10:00 in Moscow
World = Any  # tests/cadence/conftest.py: World

CHAINED = """
slug: chained
name: Chained
priority: 5
audience: {event_kinds: [seminar]}
window: {start: "10:00", end: "18:00", days: [mon-fri], holidays: false}
steps:
  - {name: hello, day: 0, channel: email}
  - {name: call, after: 0, channel: call}
  - {name: note, after: 0, channel: reminder}
  - {name: later, day: 30, channel: email}
"""


def test_planned_touches_point_at_their_outbox_rows_and_tasks(
    world: World, simple_campaign: Callable[..., str]
) -> None:
    world.load_text(simple_campaign("simple", kind="seminar"))
    leads = [world.lead(kind="seminar") for _ in range(3)]
    for day in range(5):
        run_cycle(world.session, now=NOW + timedelta(days=day))
    touches = list(world.session.scalars(select(Touch).where(Touch.status == "planned")))
    assert {t.channel for t in touches} == {"email", "call"}
    assert len(touches) == 2 * len(leads)  # the third waits for the cap (2 a week)
    for t in touches:
        cycle = world.session.get(Enrollment, t.enrollment_id).cycle
        key = f"touch.{t.lead_id}.simple.{t.position}.{cycle}"
        if t.channel == "email":
            msg = world.session.get(OutboxMessage, t.outbox_id)
            assert msg is not None and msg.dedupe_key == key and t.task_id is None
            assert msg.next_attempt_at == t.scheduled_at
        else:
            task = world.session.get(Task, t.task_id)
            assert task is not None and task.source_key == key and t.outbox_id is None
            assert task.due_at == t.scheduled_at


def test_steps_due_right_after_the_previous_are_planned_in_the_same_cycle(
    world: World,
) -> None:
    world.load_text(CHAINED)
    lead = world.lead(kind="seminar")
    summary = run_cycle(world.session, now=NOW)
    touches = list(
        world.session.scalars(
            select(Touch).where(Touch.lead_id == lead.id).order_by(Touch.position)
        )
    )
    assert [(t.position, t.channel) for t in touches] == [
        (0, "email"),
        (1, "call"),
        (2, "reminder"),
    ]
    assert len({t.scheduled_at for t in touches}) == 1  # "after: 0": the same send time
    enrolment = world.session.scalars(select(Enrollment).where(Enrollment.lead_id == lead.id)).one()
    assert enrolment.next_position == 3
    assert enrolment.next_due_at == enrolment.enrolled_at + timedelta(days=30)
    assert (summary.planned, summary.emails_queued, summary.tasks_created) == (3, 1, 2)
    again = run_cycle(world.session, now=NOW)
    assert not again.did_anything


BEHIND = """
slug: behind
name: Behind
priority: 5
audience: {event_kinds: [seminar]}
window: {start: "00:00", end: "23:59", days: [mon-sun], holidays: false}
steps:
  - {name: hello, day: 0, channel: email}
  - {name: call, day: 1, channel: reminder}
  - {name: note, day: 2, channel: reminder}
  - {name: same-day, day: 2, channel: reminder}
"""


def test_a_lead_behind_its_schedule_catches_up_a_step_a_day_not_in_a_burst(
    world: World,
) -> None:
    """Enrolled ten days ago and never planned: every step is overdue. The cycle sends one
    step per day (a day after the touch just sent), except steps the campaign itself puts on
    the same day, which go out together."""
    campaign, _ = world.load_text(BEHIND)
    lead = world.lead(kind="seminar")
    long_ago = NOW - timedelta(days=10)
    world.session.add(
        Enrollment(
            lead_id=lead.id,
            campaign_id=campaign.id,
            cycle=1,
            status="active",
            next_position=0,
            next_due_at=long_ago,
            enrolled_at=long_ago,
        )
    )
    world.session.flush()
    planned_by_day = []
    for day in range(4):
        summary = run_cycle(world.session, now=NOW + timedelta(days=day))
        planned_by_day.append(summary.planned)
    assert planned_by_day == [1, 1, 2, 0]
    touches = list(
        world.session.scalars(
            select(Touch).where(Touch.lead_id == lead.id).order_by(Touch.position)
        )
    )
    at = [t.scheduled_at for t in touches]
    assert [t.position for t in touches] == [0, 1, 2, 3]
    assert at[1] - at[0] >= timedelta(days=1) and at[2] - at[1] >= timedelta(days=1)
    assert at[3] == at[2]  # "day: 2" twice: the same send time


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)  # SQLite: one writer
def test_two_planners_at_once_plan_and_advance_nothing_twice(
    backend: str, fresh_db: str, simple_campaign: Callable[..., str]
) -> None:
    """Two planners over the same due rows, the first still uncommitted when the second
    starts (no advisory lock: ``plan_due`` directly): every touch, e-mail and step once."""
    engine = make_engine(fresh_db)
    with Session(engine) as s, s.begin():
        campaign, _ = save_campaign(s, parse_campaign(simple_campaign(), file="t.yaml"))
        for i in range(20):
            lead = Lead(
                email=f"l{i}@example.com",
                country="RU",
                timezone="Europe/Moscow",
                language="ru",
                status="open",
            )
            s.add(lead)
            s.flush()
            s.add(
                Enrollment(
                    lead_id=lead.id,
                    campaign_id=campaign.id,
                    cycle=1,
                    status="active",
                    next_position=0,
                    next_due_at=NOW,
                    enrolled_at=NOW,
                )
            )
    first_done = threading.Event()
    b_started = threading.Event()
    release = threading.Event()
    results: dict[str, planner.PlanSummary] = {}
    errors: list[BaseException] = []
    pids: dict[str, int] = {}

    def worker(name: str, hold: bool) -> None:
        try:
            with Session(engine) as s, s.begin():
                pids[name] = s.execute(text("SELECT pg_backend_pid()")).scalar_one()
                if not hold:
                    b_started.set()
                results[name] = planner.plan_due(s, load_specs(s), now=NOW)
                if hold:
                    first_done.set()
                    release.wait(30)
        except BaseException as exc:
            errors.append(exc)
            first_done.set()

    a = threading.Thread(target=worker, args=("a", True))
    a.start()
    assert first_done.wait(60)
    b = threading.Thread(target=worker, args=("b", False))
    b.start()
    assert b_started.wait(60)
    # b runs into a's uncommitted rows and waits for a's lock: seen by the server, not slept on
    waiting = "SELECT wait_event_type FROM pg_stat_activity WHERE pid = :pid"
    deadline = time.monotonic() + 60
    with engine.connect() as monitor:
        while monitor.execute(text(waiting), {"pid": pids["b"]}).scalar() != "Lock":
            assert b.is_alive(), "the second planner finished without waiting for the first"
            assert time.monotonic() < deadline, "the second planner never waited for a lock"
            b.join(0.01)
    release.set()
    a.join(60)
    b.join(60)
    engine.dispose()
    assert not errors, errors
    engine = make_engine(fresh_db)
    with Session(engine) as s:
        touches = s.scalar(select(func.count(Touch.id)))
        queued = s.scalar(select(func.count(OutboxMessage.id)))
        positions = set(s.scalars(select(Enrollment.next_position)))
        linked = s.scalar(select(func.count(Touch.id)).where(Touch.outbox_id.is_not(None)))
    engine.dispose()
    assert results["a"].planned == 20
    assert (touches, queued, linked, positions) == (20, 20, 20, {1})


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_the_sqlite_page_cache_is_restored_after_planning(
    backend: str, world: World, simple_campaign: Callable[..., str]
) -> None:
    world.load_text(simple_campaign("simple", kind="seminar"))
    world.lead(kind="seminar")
    conn = world.session.connection()
    conn.exec_driver_sql("PRAGMA cache_size = -3000")
    with scratch.page_cache(world.session):
        assert conn.exec_driver_sql("PRAGMA cache_size").scalar_one() == -scratch.SQLITE_CACHE_KIB
    assert run_cycle(world.session, now=NOW).planned == 1
    assert conn.exec_driver_sql("PRAGMA cache_size").scalar_one() == -3000
    assert conn.exec_driver_sql("PRAGMA temp.cache_size").scalar_one() != -scratch.SQLITE_CACHE_KIB
