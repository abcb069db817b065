"""The work the pages and the calendar feed show: tasks, read for a set of managers.

One indexed query per page (``ix_tasks_manager_id_status_due_at``), bounded by ``limit``;
the lead's name comes with the task in the same query.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from nurture.db.cadence import Task
from nurture.db.leads import Lead

__all__ = ["PlannedTouch", "WorkItem", "open_work", "planned_touches"]


@dataclass(frozen=True)
class WorkItem:
    id: int
    lead_id: int
    manager_id: int | None
    kind: str
    title: str
    instructions: str | None
    due_at: datetime
    hard: bool
    lead_name: str


def _name(first: str | None, last: str | None, company: str | None, lead_id: int) -> str:
    person = " ".join(p for p in (first, last) if p) or f"#{lead_id}"
    return f"{person} ({company})" if company else person


def open_work(
    session: Session,
    manager_ids: Sequence[int] | None,
    *,
    due_from: datetime | None = None,
    due_before: datetime | None = None,
    limit: int = 500,
) -> list[WorkItem]:
    """Open tasks of ``manager_ids`` (``None``: everyone's), soonest first."""
    query = (
        select(
            Task.id,
            Task.lead_id,
            Task.manager_id,
            Task.kind,
            Task.title,
            Task.instructions,
            Task.due_at,
            Task.deadline,
            Lead.first_name,
            Lead.last_name,
            Lead.company,
        )
        .join(Lead, Lead.id == Task.lead_id)
        .where(Task.status == "open")
        .order_by(Task.due_at, Task.id)
        .limit(limit)
    )
    if manager_ids is not None:
        query = query.where(Task.manager_id.in_(list(manager_ids)))
    if due_from is not None:
        query = query.where(Task.due_at >= due_from)
    if due_before is not None:
        query = query.where(Task.due_at < due_before)
    return [
        WorkItem(
            id=r.id,
            lead_id=r.lead_id,
            manager_id=r.manager_id,
            kind=r.kind,
            title=r.title,
            instructions=r.instructions,
            due_at=r.due_at,
            hard=r.deadline == "hard",
            lead_name=_name(r.first_name, r.last_name, r.company, r.lead_id),
        )
        for r in session.execute(query)
    ]


@dataclass(frozen=True)
class PlannedTouch:
    lead_id: int
    campaign: str
    channel: str
    scheduled_at: datetime
    lead_name: str


def planned_touches(
    session: Session,
    manager_ids: Sequence[int] | None,
    *,
    due_from: datetime,
    due_before: datetime,
    limit: int = 500,
) -> list[PlannedTouch]:
    """Touches the cadence planned for the managers' leads in ``[due_from, due_before)``."""
    from nurture.db.cadence import Campaign, Touch

    query = (
        select(
            Touch.lead_id,
            Campaign.slug,
            Touch.channel,
            Touch.scheduled_at,
            Lead.first_name,
            Lead.last_name,
            Lead.company,
        )
        .join(Lead, Lead.id == Touch.lead_id)
        .join(Campaign, Campaign.id == Touch.campaign_id)
        .where(
            Touch.status == "planned",
            Touch.scheduled_at >= due_from,
            Touch.scheduled_at < due_before,
        )
        .order_by(Touch.scheduled_at)
        .limit(limit)
    )
    if manager_ids is not None:
        query = query.where(Lead.owner_id.in_(list(manager_ids)))
    return [
        PlannedTouch(
            lead_id=r.lead_id,
            campaign=r.slug,
            channel=r.channel,
            scheduled_at=r.scheduled_at,
            lead_name=_name(r.first_name, r.last_name, r.company, r.lead_id),
        )
        for r in session.execute(query)
    ]
