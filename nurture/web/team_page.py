"""The team board (``/team``, supervisors and admins): open and overdue work per manager,
escalations, load against weekly capacity, stalled deals, and overdue tasks to reassign with
a reason. Numbers come from grouped queries over the team's managers (the tasks index by
manager, status and due time), whatever the size of the team."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from nurture.db.cadence import Task
from nurture.db.leads import Lead
from nurture.db.playbooks import Deal
from nurture.db.team import Assignment, Manager
from nurture.web.access import ADMIN, DB, SUPERVISOR, allow, manager_scope, now
from nurture.web.pages import render
from nurture.web.people import zone_of
from nurture.web.sessions import Current
from nurture.web.tasks_view import tasks_of

__all__ = ["STALLED_AFTER", "MemberLoad", "router", "team_choices", "team_load"]

router = APIRouter(include_in_schema=False)
#: An open deal without progress for this long is shown as stalled (until playbooks say
#: otherwise per stage).
STALLED_AFTER = timedelta(days=14)


@dataclass
class MemberLoad:
    id: int
    name: str
    email: str
    active: bool
    capacity: int
    open: int = 0
    overdue: int = 0
    escalated: int = 0
    new_this_week: int = 0

    @property
    def load_pct(self) -> int:
        return round(100 * self.new_this_week / self.capacity) if self.capacity else 0


def team_choices(session: Session, user: Current) -> list[tuple[str, str]]:
    """(e-mail, name) of the active people a supervisor (admin: anyone) may give work to."""
    scope = manager_scope(session, user)
    query = select(Manager.email, Manager.name).where(Manager.active.is_(True))
    if scope is not None:
        query = query.where(Manager.id.in_(scope))
    return [(str(e), str(n)) for e, n in session.execute(query.order_by(Manager.name))]


def team_load(session: Session, user: Current) -> list[MemberLoad]:
    scope = manager_scope(session, user)
    moment = now()
    query = select(Manager).where(Manager.role == "manager")
    if scope is not None:
        query = query.where(Manager.id.in_(scope))
    members = {
        m.id: MemberLoad(m.id, m.name, m.email, m.active, m.weekly_capacity)
        for m in session.scalars(query.order_by(Manager.name))
    }
    if not members:
        return []
    ids = list(members)
    for manager_id, open_, overdue, escalated in session.execute(
        select(
            Task.manager_id,
            func.count(),
            func.sum(case((Task.due_at < moment, 1), else_=0)),
            func.sum(case((Task.escalation_level > 0, 1), else_=0)),
        )
        .where(Task.manager_id.in_(ids), Task.status == "open")
        .group_by(Task.manager_id)
    ):
        m = members[manager_id]
        m.open, m.overdue, m.escalated = int(open_), int(overdue or 0), int(escalated or 0)
    for manager_id, n in session.execute(
        select(Assignment.manager_id, func.count())
        .where(Assignment.manager_id.in_(ids), Assignment.assigned_at >= moment - timedelta(days=7))
        .group_by(Assignment.manager_id)
    ):
        members[manager_id].new_this_week = int(n)
    return list(members.values())


def stalled_deals(session: Session, user: Current) -> list[dict[str, object]]:
    scope = manager_scope(session, user)
    moment = now()
    query = (
        select(Deal, Lead.first_name, Lead.last_name, Lead.company, Manager.name)
        .join(Lead, Lead.id == Deal.lead_id)
        .outerjoin(Manager, Manager.id == Deal.owner_id)
        .where(
            Deal.status == "open",
            (Deal.last_progress_at < moment - STALLED_AFTER)
            | Deal.stalled_reported_at.is_not(None),
        )
        .order_by(Deal.last_progress_at)
        .limit(100)
    )
    if scope is not None:
        query = query.where(Deal.owner_id.in_(scope))
    out = []
    for deal, first, last, company, owner in session.execute(query):
        name = " ".join(p for p in (first, last) if p) or f"#{deal.lead_id}"
        out.append(
            {
                "id": deal.id,
                "lead_id": deal.lead_id,
                "lead": f"{name} ({company})" if company else name,
                "playbook": deal.playbook,
                "stage": deal.stage,
                "owner": owner,
                "idle_days": (moment - deal.last_progress_at).days,
            }
        )
    return out


@router.get("/team")
def team(
    request: Request, session: DB, user: Annotated[Current, allow(SUPERVISOR, ADMIN)]
) -> Response:
    moment = now()
    scope = manager_scope(session, user)
    overdue = [t for t in tasks_of(session, scope, now=moment, due_before=moment, limit=100)]
    return render(
        request,
        "team.html",
        {
            "members": team_load(session, user),
            "stalled": stalled_deals(session, user),
            "overdue": overdue,
            "people": team_choices(session, user),
            "local": moment.astimezone(zone_of(session, user)),
        },
    )
