"""Fairness report: leads each manager got by round-robin over the rolling window against
their weight share (scaled by the days they were available), and the unassigned count."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from nurture.config import get_settings
from nurture.db.team import Absence, Assignment, Manager, Team
from nurture.routing.calendar import local_date, week_start
from nurture.routing.service import count_unassigned


@dataclass
class ManagerRow:
    email: str
    name: str
    team: str
    weight: float
    assigned: int  # by round-robin in the window
    expected: float
    deviation: float
    all_assigned: int  # any kind (rules to a person, returning, rebalance) in the window
    this_week: int
    capacity: int
    available_days: float
    absent_until: str | None


@dataclass
class Report:
    since: datetime
    until: datetime
    window_days: int
    unassigned: int
    max_deviation: float
    managers: list[ManagerRow] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def availability(
    absences: list[tuple[Any, Any]], since: datetime, until: datetime, tz: str
) -> tuple[float, Any]:
    """Fraction of the window's days a manager was not absent, and today's absence end."""
    first, last = local_date(since, tz), local_date(until, tz)
    days = (last - first).days + 1
    away = 0
    today_until = None
    day = first
    while day <= last:
        for start, end in absences:
            if start <= day <= end:
                away += 1
                break
        day += timedelta(days=1)
    for start, end in absences:
        if start <= last <= end:
            today_until = max(today_until or end, end)
    return (days - away) / days, today_until


def fairness_report(session: Session, *, now: datetime, window_days: int | None = None) -> Report:
    days = window_days or get_settings().routing_window_days
    since = now - timedelta(days=days)
    teams = {t.id: t for t in session.execute(select(Team)).scalars()}
    managers = (
        session.execute(
            select(Manager)
            .where(Manager.active.is_(True), Manager.role == "manager")
            .order_by(Manager.team_id, Manager.name)
        )
        .scalars()
        .all()
    )
    rr: dict[int, int] = defaultdict(int)
    total: dict[int, int] = defaultdict(int)
    for manager_id, is_rr, n in session.execute(
        select(Assignment.manager_id, Assignment.round_robin, func.count())
        .where(Assignment.assigned_at >= since, Assignment.assigned_at <= now)
        .group_by(Assignment.manager_id, Assignment.round_robin)
    ):
        total[manager_id] += n
        if is_rr:
            rr[manager_id] += n
    absences: dict[int, list[tuple[Any, Any]]] = defaultdict(list)
    for a in session.execute(select(Absence)).scalars():
        absences[a.manager_id].append((a.starts_on, a.ends_on))
    rows: list[ManagerRow] = []
    by_team: dict[int | None, list[tuple[Manager, float, Any]]] = defaultdict(list)
    for m in managers:
        frac, until = availability(absences.get(m.id, []), since, now, m.timezone)
        by_team[m.team_id].append((m, frac, until))
    for team_id, members in by_team.items():
        team_total = sum(rr[m.id] for m, _, _ in members)
        shares = {m.id: max(m.weight, 0.0) * frac for m, frac, _ in members}
        denominator = sum(shares.values())
        for m, frac, until in members:
            expected = team_total * shares[m.id] / denominator if denominator else 0.0
            week = session.execute(
                select(func.count())
                .select_from(Assignment)
                .where(
                    Assignment.manager_id == m.id,
                    Assignment.assigned_at >= week_start(now, m.timezone),
                )
            ).scalar_one()
            rows.append(
                ManagerRow(
                    email=m.email,
                    name=m.name,
                    team=teams[team_id].name if team_id in teams else "",
                    weight=m.weight,
                    assigned=rr[m.id],
                    expected=round(expected, 2),
                    deviation=round(rr[m.id] - expected, 2),
                    all_assigned=total[m.id],
                    this_week=int(week),
                    capacity=m.weekly_capacity,
                    available_days=round(frac * days, 1),
                    absent_until=until.isoformat() if until else None,
                )
            )
    return Report(
        since=since,
        until=now,
        window_days=days,
        unassigned=count_unassigned(session),
        max_deviation=max((abs(r.deviation) for r in rows), default=0.0),
        managers=rows,
    )


def lead_details(session: Session, lead_id: int) -> dict[str, Any]:
    """A lead's fields, sources, owner and assignment log (for ``nurture lead show``)."""
    from nurture.db.leads import Lead
    from nurture.errors import NotFoundError
    from nurture.intake.provenance import lead_sources

    lead = session.get(Lead, lead_id)
    if lead is None:
        raise NotFoundError(f"no lead with id {lead_id}")
    names = {m.id: m for m in session.execute(select(Manager)).scalars()}
    fields = {
        c.key: getattr(lead, c.key) for c in Lead.__table__.columns if c.key not in ("extra",)
    }
    owner = names.get(lead.owner_id) if lead.owner_id is not None else None
    sources = lead_sources(session, lead_id)
    log = [
        {
            "at": a.assigned_at,
            "kind": a.kind,
            "manager": names[a.manager_id].name if a.manager_id in names else None,
            "manager_email": names[a.manager_id].email if a.manager_id in names else None,
            "rule": a.rule_name,
            "reason": a.reason,
        }
        for a in session.execute(
            select(Assignment).where(Assignment.lead_id == lead_id).order_by(Assignment.id)
        ).scalars()
    ]
    return {
        "lead": fields,
        "owner": {"name": owner.name, "email": owner.email} if owner else None,
        "sources": sources,
        "assignments": log,
    }
