"""Tasks as the pages show them, read and changed through :mod:`nurture.playbooks` (the one
task model): who may touch which task, the outcome form to offer, the order of My day."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fastapi import HTTPException
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from nurture.db.cadence import Task
from nurture.db.leads import Lead
from nurture.db.scoring import LeadScore
from nurture.db.team import Manager
from nurture.playbooks import TaskView, get_task, list_tasks
from nurture.playbooks.outcomes import OutcomeField
from nurture.web.access import manager_scope
from nurture.web.sessions import Current

__all__ = [
    "FormField",
    "outcome_fields",
    "predicted_values",
    "task_for",
    "tasks_of",
    "values_from_form",
]

#: The one field of a task without an outcome form (cadence calls, first contacts).
FREE_FIELD = "result"


@dataclass(frozen=True)
class FormField:
    name: str
    type: str  # yesno|choice|number|date|text
    label: str
    required: bool
    options: tuple[str, ...] = ()


def _label(name: str, spec: OutcomeField, lang: str) -> str:
    label = spec.label
    if isinstance(label, dict):
        return str(label.get(lang) or label.get("en") or next(iter(label.values()), name))
    return label or name.replace("_", " ")


def outcome_fields(session: Session, task_id: int, lang: str) -> list[FormField]:
    """The fields to fill in when completing the task: its action's outcome form, or one
    free text field."""
    from nurture.playbooks.progress import outcome_form

    task = session.get(Task, task_id)
    form = outcome_form(session, task) if task is not None else None
    if not form:
        return [FormField(FREE_FIELD, "text", "", False)]
    return [
        FormField(name, spec.type, _label(name, spec, lang), spec.required, tuple(spec.options))
        for name, spec in form.items()
    ]


def values_from_form(form: Any, fields: Iterable[FormField]) -> dict[str, Any]:
    """The outcome values posted as ``outcome__<name>`` (empty ones left out; the playbooks
    library validates and converts them)."""
    values: dict[str, Any] = {}
    for f in fields:
        raw = form.get(f"outcome__{f.name}")
        if isinstance(raw, str) and raw.strip():
            values[f.name] = raw.strip()
    return values


def task_for(session: Session, user: Current, task_id: int, *, now: datetime) -> TaskView:
    """The task if ``user`` may see it (assigned to, or about a lead of, someone in their
    scope); else 404."""
    row = session.execute(
        select(Task.manager_id, Lead.owner_id)
        .outerjoin(Lead, Lead.id == Task.lead_id)
        .where(Task.id == task_id)
    ).first()
    if row is None:
        raise HTTPException(status_code=404)
    scope = manager_scope(session, user)
    if scope is not None and row.manager_id not in scope and row.owner_id not in scope:
        raise HTTPException(status_code=404)
    return get_task(session, task_id, now=now)


def tasks_of(
    session: Session,
    manager_ids: Sequence[int] | None,
    *,
    now: datetime,
    due_before: datetime | None = None,
    limit: int = 300,
) -> list[TaskView]:
    """Open tasks of these managers (``None``: everyone's) through ``list_tasks``."""
    if manager_ids is None:
        return list_tasks(session, now=now, due_before=due_before, limit=limit)
    emails = session.scalars(select(Manager.email).where(Manager.id.in_(list(manager_ids))))
    out: list[TaskView] = []
    for email in emails:
        out += list_tasks(session, now=now, assignee=email, due_before=due_before, limit=limit)
    out.sort(key=lambda t: (t.due_at, t.id))
    return out[:limit]


def predicted_values(session: Session, lead_ids: Iterable[int]) -> dict[int, float]:
    """Each lead's latest predicted value (absent: not scored)."""
    ids = sorted(set(lead_ids))
    if not ids:
        return {}
    latest = (
        select(LeadScore.lead_id, func.max(LeadScore.scored_at).label("at"))
        .where(LeadScore.lead_id.in_(ids))
        .group_by(LeadScore.lead_id)
        .subquery()
    )
    rows = session.execute(
        select(LeadScore.lead_id, LeadScore.predicted_value).join(
            latest,
            (latest.c.lead_id == LeadScore.lead_id) & (latest.c.at == LeadScore.scored_at),
        )
    )
    return {int(lead_id): float(value) for lead_id, value in rows}
