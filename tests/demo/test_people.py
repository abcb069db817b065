"""The demo's simulated people act through the real functions and leave real traces."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

from sqlalchemy import func, select

from nurture.cadence import run_cycle
from nurture.db.cadence import Task
from nurture.db.playbooks import Deal, ProcessEvent
from nurture.db.session import session_scope
from nurture.db.team import Manager
from nurture.demo.people import Habits, act, fill_outcome
from nurture.demo.workspace import Workspace, load_examples, reset
from nurture.intake import claim, pending_files, process_file
from nurture.playbooks.outcomes import OutcomeField, validate

FORM = {
    "interested": OutcomeField(type="yesno", required=True),
    "stage": OutcomeField(type="choice", options=["a", "b"], required=True),
    "budget": OutcomeField(type="number", min=10, max=20, required=True),
    "when": OutcomeField(type="date", required=True),
    "notes": OutcomeField(type="text", required=True),
    "extra": OutcomeField(type="text"),
}


def test_outcomes_fill_every_form_field_the_form_accepts() -> None:
    rng = random.Random(1)
    for _ in range(50):
        values = fill_outcome(FORM, "action", rng, Habits(), date(2026, 10, 5))
        checked = validate(FORM, values)  # raises on anything the form refuses
        assert 10 <= checked["budget"] <= 20 and checked["when"] == "2026-10-05"
        assert "extra" not in checked


def test_calls_outside_playbooks_say_whether_the_lead_is_interested() -> None:
    rng = random.Random(2)
    said = [
        fill_outcome(None, "call", rng, Habits(interested=0.5), date(2026, 10, 5))["interested"]
        for _ in range(200)
    ]
    assert set(said) == {"yes", "no"} and 60 < said.count("yes") < 140
    assert fill_outcome(None, "reminder", rng, Habits(), date(2026, 10, 5)) == {}


def test_managers_work_tasks_open_deals_and_leave_some_overdue(
    fresh_db: str, tmp_path: Path
) -> None:
    space = reset(tmp_path / "demo")
    start = datetime.combine(date(2026, 10, 5), time(6), UTC)
    load_examples(Workspace(space.root), now=start)
    for path in pending_files(space.inbox):
        claimed = claim(path, space.inbox)
        assert claimed is not None
        assert process_file(claimed, space.inbox, now=start).ok
    habits = Habits(task_done=0.7, interested=0.9)
    waiting = 0
    for step in range(12):
        now = start + timedelta(hours=12 * step)
        with session_scope() as session:
            waiting += act(session, now=now, seed=7, habits=habits).tasks_waiting
            run_cycle(session, now=now)
    with session_scope() as session:
        done = session.execute(
            select(Task.completed_by, Manager.email)
            .join(Manager, Manager.id == Task.manager_id)
            .where(Task.status == "done")
        ).all()
        assert done and all(by == email for by, email in done)  # each by the task's owner
        logged = session.scalar(select(func.count()).where(ProcessEvent.type == "task.done"))
        assert logged == len(done)
        assert session.scalar(select(func.count()).select_from(Deal)) > 0  # "interested" calls
        assert waiting > 0  # some due tasks were left for later
