"""The manager's loop on tasks: list, complete with an outcome, reschedule, reassign.

Every function works inside the caller's transaction (never commits), validates the ids it
is given (tasks have no foreign keys: see docs/playbooks.md), appends its events to the log
and returns plain data (:class:`TaskView`). Completing is one conditional ``UPDATE ... WHERE
status = 'open'``: two people completing the same task at once get one ``done`` and one
clear error, never two events.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from nurture.db.cadence import Task
from nurture.db.leads import Lead
from nurture.db.team import Manager
from nurture.playbooks import events, outcomes
from nurture.playbooks.errors import ConflictError, InputError, UnknownRecordError

OPEN, DONE, CANCELLED = "open", "done", "cancelled"


@dataclass(frozen=True)
class TaskView:
    """A task as people and scripts see it (``as_json`` is the CLI's and web's shape)."""

    id: int
    lead_id: int
    deal_id: int | None
    kind: str
    title: str
    instructions: str | None
    assignee: str | None  # the assignee's e-mail
    assignee_name: str | None
    due_at: datetime
    hard: bool
    status: str
    overdue: bool
    lead_name: str | None
    stage: str | None
    action: str | None
    role: str | None
    outcome: dict[str, Any] | None
    note: str | None
    completed_at: datetime | None
    completed_by: str | None
    cancel_reason: str | None
    escalation_level: int
    created_at: datetime

    def as_json(self) -> dict[str, Any]:
        out = asdict(self)
        for key in ("due_at", "completed_at", "created_at"):
            if out[key] is not None:
                out[key] = out[key].isoformat()
        return out


_COLUMNS = (
    Task,
    Manager.email,
    Manager.name,
    Lead.first_name,
    Lead.last_name,
    Lead.company,
    Lead.email.label("lead_email"),
)


def _query() -> Any:
    return (
        select(*_COLUMNS)
        .outerjoin(Manager, Manager.id == Task.manager_id)
        .outerjoin(Lead, Lead.id == Task.lead_id)
    )


def lead_label(first: str | None, last: str | None, company: str | None, email: str | None) -> str:
    name = " ".join(p for p in (first, last) if p)
    if name and company:
        return f"{name} ({company})"
    return name or company or email or ""


def _view(row: Any, now: datetime) -> TaskView:
    t: Task = row[0]
    return TaskView(
        id=t.id,
        lead_id=t.lead_id,
        deal_id=t.deal_id,
        kind=t.kind,
        title=t.title,
        instructions=t.instructions,
        assignee=row.email,
        assignee_name=row.name,
        due_at=t.due_at,
        hard=t.deadline == "hard",
        status=t.status,
        overdue=t.status == OPEN and t.due_at < now,
        lead_name=lead_label(row.first_name, row.last_name, row.company, row.lead_email) or None,
        stage=t.stage,
        action=t.action,
        role=t.role,
        outcome=t.outcome_values,
        note=t.note,
        completed_at=t.completed_at,
        completed_by=t.completed_by,
        cancel_reason=t.cancel_reason or (t.outcome if t.status == CANCELLED else None),
        escalation_level=t.escalation_level,
        created_at=t.created_at,
    )


def manager_by_email(session: Session, email: str, *, field: str = "--assignee") -> Manager:
    """The manager (or supervisor) with this e-mail; a clear error when there is none."""
    found = session.scalars(select(Manager).where(Manager.email == email.strip().lower())).first()
    if found is None:
        raise UnknownRecordError(f"{field}: no manager with e-mail {email!r} (see the team file)")
    return found


def get_task(session: Session, task_id: int, *, now: datetime) -> TaskView:
    row = session.execute(_query().where(Task.id == task_id)).first()
    if row is None:
        raise UnknownRecordError(f"no task with id {task_id}")
    return _view(row, now)


def list_tasks(
    session: Session,
    *,
    now: datetime,
    assignee: str | None = None,
    assignees: Sequence[str] | None = None,
    lead_id: int | None = None,
    deal_id: int | None = None,
    overdue: bool = False,
    due_from: datetime | None = None,
    due_before: datetime | None = None,
    include_closed: bool = False,
    limit: int | None = None,
) -> list[TaskView]:
    """Tasks by due time: open ones unless ``include_closed``; filtered by assignee (e-mail)
    or several, lead, deal, overdue at ``now``, or due in ``[due_from, due_before)``."""
    query = _query()
    if assignee is not None:
        query = query.where(Task.manager_id == manager_by_email(session, assignee).id)
    if assignees is not None:
        ids = [manager_by_email(session, email).id for email in assignees]
        query = query.where(Task.manager_id.in_(ids))
    if due_from is not None:
        query = query.where(Task.due_at >= due_from)
    if lead_id is not None:
        query = query.where(Task.lead_id == lead_id)
    if deal_id is not None:
        query = query.where(Task.deal_id == deal_id)
    if not include_closed or overdue:
        query = query.where(Task.status == OPEN)
    if overdue:
        query = query.where(Task.due_at < now)
    if due_before is not None:
        query = query.where(Task.due_at < due_before)
    query = query.order_by(Task.due_at, Task.id)
    if limit is not None:
        query = query.limit(limit)
    return [_view(row, now) for row in session.execute(query)]


def _load_for_change(session: Session, task_id: int) -> Task:
    task = session.get(Task, task_id, populate_existing=True)
    if task is None:
        raise UnknownRecordError(f"no task with id {task_id}")
    return task


def _closed_message(task: Task) -> str:
    when = f" at {task.completed_at:%Y-%m-%d %H:%M} UTC" if task.completed_at else ""
    who = f" by {task.completed_by}" if task.completed_by else ""
    if task.status == DONE:
        return f"task {task.id} is already done{when}{who}"
    reason = task.cancel_reason or task.outcome or "no reason given"
    return f"task {task.id} was cancelled{when} ({reason})"


def complete_task(
    session: Session,
    task_id: int,
    *,
    now: datetime,
    actor: str,
    outcome: Mapping[str, Any] | None = None,
    note: str | None = None,
) -> TaskView:
    """Mark an open task done with its outcome (validated against the action's outcome form)
    and a note; the lead's last activity moves to ``now``; a deal moves on when its stage is
    complete. Completing a task that is not open raises :class:`ConflictError`."""
    from nurture.playbooks import progress

    task = _load_for_change(session, task_id)
    if task.status != OPEN:
        raise ConflictError(_closed_message(task))
    progress.check_ready(session, task)
    values = outcomes.validate(progress.outcome_form(session, task), dict(outcome or {}))
    if note is not None and len(note) > outcomes.TEXT_LIMIT:
        raise InputError(f"--note is longer than {outcomes.TEXT_LIMIT} characters")
    won = session.execute(
        update(Task)
        .where(Task.id == task_id, Task.status == OPEN)
        .values(
            status=DONE,
            completed_at=now,
            completed_by=actor,
            outcome_values=values or None,
            outcome=outcomes.summary(values),
            note=note,
            escalate_at=None,
            remind_at=None,
        )
        .returning(Task.id)
        .execution_options(synchronize_session=False)
    ).first()
    session.refresh(task)
    if won is None:  # someone else completed or cancelled it since we read it
        raise ConflictError(_closed_message(task))
    lead = session.get(Lead, task.lead_id)
    if lead is not None and (lead.last_activity_at is None or lead.last_activity_at < now):
        lead.last_activity_at = now
        session.flush()
    late = max(0, int((now - task.due_at).total_seconds()))
    events.append(
        session,
        [
            events.event(
                "task.done",
                now,
                lead_id=task.lead_id,
                deal_id=task.deal_id,
                task_id=task.id,
                actor=actor,
                outcome=values,
                note=note,
                late_seconds=late,
            )
        ],
    )
    progress.after_task_done(session, task, now=now, actor=actor)
    return get_task(session, task_id, now=now)


def reschedule_task(
    session: Session, task_id: int, *, to: datetime, reason: str, now: datetime, actor: str
) -> TaskView:
    """Move an open task's due time (a reason is required). The escalation chain continues
    from the next level not yet fired, counted from the new due time."""
    if to.tzinfo is None:
        raise InputError("--to needs a time zone or is taken as UTC; pass an aware time")
    if not reason.strip():
        raise InputError("a reason is required to reschedule", field="--reason")
    task = _load_for_change(session, task_id)
    if task.status != OPEN:
        raise ConflictError(_closed_message(task))
    if to <= now:
        raise InputError(f"--to {to.isoformat()} is not in the future", field="--to")
    old = task.due_at
    task.due_at = to
    task.overdue_at = None
    task.escalate_at = None
    task.remind_at = None
    session.flush()
    if task.deal_id is not None:
        from nurture.playbooks.deals import rearm

        rearm(session, task, now=now)
    events.append(
        session,
        [
            events.event(
                "task.rescheduled",
                now,
                lead_id=task.lead_id,
                deal_id=task.deal_id,
                task_id=task.id,
                actor=actor,
                reason=reason.strip(),
                data={"from": old, "to": to},
            )
        ],
    )
    return get_task(session, task_id, now=now)


def reassign_task(
    session: Session,
    task_id: int,
    *,
    to: str,
    now: datetime,
    actor: str,
    reason: str | None = None,
) -> TaskView:
    """Give an open task to another active manager (by e-mail)."""
    task = _load_for_change(session, task_id)
    if task.status != OPEN:
        raise ConflictError(_closed_message(task))
    target = manager_by_email(session, to, field="--to")
    if not target.active:
        raise ConflictError(f"{target.email} has left the team (inactive): choose someone else")
    if target.id == task.manager_id:
        raise ConflictError(f"task {task.id} is already assigned to {target.email}")
    previous = session.get(Manager, task.manager_id) if task.manager_id is not None else None
    task.manager_id = target.id
    session.flush()
    events.append(
        session,
        [
            events.event(
                "task.reassigned",
                now,
                lead_id=task.lead_id,
                deal_id=task.deal_id,
                task_id=task.id,
                actor=actor,
                reason=reason,
                data={"from": previous.email if previous else None, "to": target.email},
            )
        ],
    )
    return get_task(session, task_id, now=now)


def cancel_open_tasks(
    session: Session,
    *,
    now: datetime,
    actor: str,
    reason: str,
    lead_id: int | None = None,
    deal_id: int | None = None,
    task_ids: Sequence[int] | None = None,
) -> list[int]:
    """Cancel the open tasks of a lead, of a deal, or with the given ids (set-based), each
    with a ``task.cancelled`` event; returns their ids. Cancelled tasks never escalate."""
    conditions = [Task.status == OPEN]
    if lead_id is not None:
        conditions.append(Task.lead_id == lead_id)
    if deal_id is not None:
        conditions.append(Task.deal_id == deal_id)
    if task_ids is not None:
        conditions.append(Task.id.in_(list(task_ids)))
    if len(conditions) == 1:
        raise ValueError("cancel_open_tasks needs a lead, a deal or task ids")
    rows = session.execute(
        update(Task)
        .where(*conditions)
        .values(
            status=CANCELLED,
            completed_at=now,
            completed_by=actor,
            cancel_reason=reason,
            outcome=reason,
            escalate_at=None,
            remind_at=None,
        )
        .returning(Task.id, Task.lead_id, Task.deal_id)
        .execution_options(synchronize_session=False)
    ).all()
    events.append(
        session,
        (
            events.event(
                "task.cancelled",
                now,
                lead_id=r.lead_id,
                deal_id=r.deal_id,
                task_id=r.id,
                actor=actor,
                reason=reason,
            )
            for r in rows
        ),
    )
    return sorted(r.id for r in rows)


def count_open(session: Session, *, lead_id: int) -> int:
    return int(
        session.scalar(
            select(func.count(Task.id)).where(Task.lead_id == lead_id, Task.status == OPEN)
        )
        or 0
    )
