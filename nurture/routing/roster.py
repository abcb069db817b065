"""The team as routing sees it, read from the database: teams, managers with their
round-robin credit, this week's load and today's absence, and the ordered rules."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from nurture.db.team import Absence, Assignment, Manager, RoutingRule, Team
from nurture.routing.calendar import local_date, week_start
from nurture.routing.engine import ManagerInfo, Router, TeamInfo
from nurture.routing.roundrobin import normalise
from nurture.routing.rules import Rule


def load_router(session: Session, *, now: datetime) -> Router | None:
    """The configured teams, managers (with credit, weekly load, absence) and rules, or None
    when no team is configured."""
    teams = session.execute(select(Team).order_by(Team.id)).scalars().all()
    if not teams:
        return None
    team_by_id = {t.id: TeamInfo(t.id, t.name, t.is_fallback, t.supervisor_email) for t in teams}
    managers = session.execute(select(Manager).order_by(Manager.id)).scalars().all()
    # the earliest "today" of any zone, a day early: every absence still running somewhere
    today_min = local_date(now, "Etc/GMT+12") - timedelta(days=1)
    absences = session.execute(select(Absence).where(Absence.ends_on >= today_min)).scalars().all()
    absent: dict[int, list[Absence]] = defaultdict(list)
    for a in absences:
        absent[a.manager_id].append(a)
    infos: list[ManagerInfo] = []
    for m in managers:
        today = local_date(now, m.timezone)
        until = max(
            (a.ends_on for a in absent.get(m.id, []) if a.starts_on <= today <= a.ends_on),
            default=None,
        )
        load = session.execute(
            select(func.count())
            .select_from(Assignment)
            .where(
                Assignment.manager_id == m.id, Assignment.assigned_at >= week_start(now, m.timezone)
            )
        ).scalar_one()
        team = team_by_id.get(m.team_id) if m.team_id is not None else None
        info = ManagerInfo(
            id=m.id,
            email=m.email,
            name=m.name,
            team=team.name if team else None,
            role=m.role,
            weight=m.weight,
            capacity=m.weekly_capacity,
            timezone=m.timezone,
            work_start=m.work_start,
            work_end=m.work_end,
            active=m.active,
            absent_until=until,
            profile={
                "languages": m.languages,
                "countries": m.countries,
                "cities": m.cities,
                "products": m.products,
                "segments": m.segments,
            },
            languages=tuple(m.languages or ()),
            credit=m.rr_credit,
            load=int(load),
        )
        infos.append(info)
        if team is not None and m.active:
            team.managers.append(info)
    for t in team_by_id.values():
        normalise(m.member for m in t.managers)
    rules = [
        Rule(
            name=r.name,
            conditions=r.conditions or {},
            team=team_by_id[r.team_id].name if r.team_id in team_by_id else None,
            manager=next((i.email for i in infos if i.id == r.manager_id), None),
            position=r.position,
        )
        for r in session.execute(select(RoutingRule).order_by(RoutingRule.position)).scalars()
    ]
    router = Router(list(team_by_id.values()), rules)
    for info in infos:
        router.add_manager(info)
    return router
