"""Fairness report: leads each manager got by round-robin over the rolling window against
what they should have got, and the unassigned count.

A lead's round-robin is among the managers of its team eligible for it: those whose
profile fits the lead, else those who speak its language, else everyone in rotation (the
tiers of :func:`~nurture.routing.rules.preference_tiers`). So each round-robin lead of the
window adds to each eligible manager's ``expected`` their share of that pool: weight x
share of the window's days available, over the pool's. The deviation then measures
fairness, not profiles: a manager who is the only Russian speaker is expected to get the
Russian leads. Eligibility is judged from today's profiles and the leads' current fields.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from nurture.config import get_settings
from nurture.db.leads import ROUTING_FIELDS, Lead
from nurture.db.team import Absence, Assignment, Manager, Team
from nurture.routing.calendar import local_date, week_start
from nurture.routing.rules import LeadFacts, preference_tiers
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
    expected = expected_shares(session, by_team, since=since, until=now)
    for team_id, members in by_team.items():
        for m, frac, until in members:
            week = session.execute(
                select(func.count())
                .select_from(Assignment)
                .where(
                    Assignment.manager_id == m.id,
                    Assignment.assigned_at >= week_start(now, m.timezone),
                )
            ).scalar_one()
            owed = expected.get(m.id, 0.0)
            rows.append(
                ManagerRow(
                    email=m.email,
                    name=m.name,
                    team=teams[team_id].name if team_id in teams else "",
                    weight=m.weight,
                    assigned=rr[m.id],
                    expected=round(owed, 2),
                    deviation=round(rr[m.id] - owed, 2),
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


def _profile(m: Manager) -> dict[str, list[str] | None]:
    return {
        "languages": m.languages,
        "countries": m.countries,
        "cities": m.cities,
        "products": m.products,
        "segments": m.segments,
    }


def expected_shares(
    session: Session,
    by_team: dict[int | None, list[tuple[Manager, float, Any]]],
    *,
    since: datetime,
    until: datetime,
) -> dict[int, float]:
    """Leads each manager should have got by round-robin in the window: every round-robin
    lead shared among the managers of its team eligible for it, by weight x availability.
    Leads are read grouped by their routing facts (a few thousand groups at most)."""
    fields = [getattr(Lead, name) for name in ROUTING_FIELDS]
    groups = session.execute(
        select(Assignment.team_id, *fields, func.count())
        .join(Lead, Lead.id == Assignment.lead_id)
        .where(
            Assignment.round_robin.is_(True),
            Assignment.assigned_at >= since,
            Assignment.assigned_at <= until,
        )
        .group_by(Assignment.team_id, *fields)
    ).all()
    out: dict[int, float] = defaultdict(float)
    for team_id, *facts, n in groups:
        rotation = [(m, frac) for m, frac, _ in by_team.get(team_id, []) if m.weight > 0]
        lead = LeadFacts(0, **dict(zip(ROUTING_FIELDS, facts, strict=True)))
        # the first tier with anyone available in the window is whom routing chose among
        for tier in preference_tiers(rotation, lambda mf: _profile(mf[0]), lead):
            shares = {m.id: m.weight * frac for m, frac in tier}
            whole = sum(shares.values())
            if whole > 0:
                for manager_id, share in shares.items():
                    out[manager_id] += n * share / whole
                break
    return out


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
