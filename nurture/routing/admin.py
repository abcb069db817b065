"""Writing the team configuration into the database (idempotent upserts)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from nurture.db.team import Absence, Manager, RoutingRule, Team
from nurture.errors import InputError, NotFoundError
from nurture.routing.config import ManagerSpec, PersonSpec, TeamFile
from nurture.routing.yamlfile import storable


@dataclass
class LoadSummary:
    teams: int = 0
    managers: int = 0
    supervisors: int = 0
    created: int = 0
    updated: int = 0
    departed: int = 0
    absences_added: int = 0
    rules: int = 0


def _hours(spec: PersonSpec, default: str) -> tuple[str, str]:
    start, _, end = (spec.work_hours or default).partition("-")
    return start, end


def apply_team_file(session: Session, spec: TeamFile) -> LoadSummary:
    """Upsert teams, managers, supervisors, absences and rules from a validated team file.

    Managers missing from the file are marked departed (``active`` False; history kept);
    absences are only added (``team absent`` ones are never removed by a reload); rules are
    replaced as a whole, in file order. A manager moved to another team starts there with
    round-robin credit 0.
    """
    out = LoadSummary(rules=len(spec.rules))
    fallback = spec.fallback_team().name
    teams = {t.name: t for t in session.execute(select(Team)).scalars()}
    for t in teams.values():
        t.is_fallback = False
    session.flush()
    team_ids: dict[str, int] = {}
    for ts in spec.teams:
        team = teams.get(ts.name)
        if team is None:
            team = Team(name=ts.name)
            session.add(team)
        team.supervisor_email = ts.supervisor.email if ts.supervisor else None
        team.is_fallback = ts.name == fallback
        session.flush()
        team_ids[ts.name] = team.id
        out.teams += 1
    existing = {m.email: m for m in session.execute(select(Manager)).scalars()}
    seen: set[str] = set()
    absences: list[tuple[int, date, date, str | None]] = []
    d = spec.defaults
    for ts in spec.teams:
        people: list[tuple[PersonSpec, str]] = [(m, "manager") for m in ts.managers]
        if ts.supervisor is not None:
            people.append((ts.supervisor, "supervisor"))
        for person, role in people:
            m = existing.get(person.email)
            if m is None:
                m = Manager(email=person.email, rr_credit=0.0)
                session.add(m)
                existing[person.email] = m
                out.created += 1
            else:
                out.updated += 1
            if m.team_id is not None and m.team_id != team_ids[ts.name]:
                m.rr_credit = 0.0
            m.team_id = team_ids[ts.name]
            m.name = person.name
            m.role = role
            m.timezone = person.timezone or d.timezone
            m.work_start, m.work_end = _hours(person, d.work_hours)
            m.languages = list(person.languages) or None
            if isinstance(person, ManagerSpec):
                m.weight = person.weight
                m.weekly_capacity = (
                    person.weekly_capacity
                    if person.weekly_capacity is not None
                    else d.weekly_capacity
                )
                m.countries = person.countries or None
                m.cities = person.cities or None
                m.products = person.products or None
                m.segments = person.segments or None
                m.active = person.active
                out.managers += 1
            else:
                m.weight = 0.0
                m.weekly_capacity = 0
                m.active = True
                out.supervisors += 1
            seen.add(person.email)
            session.flush()
            if isinstance(person, ManagerSpec):
                absences.extend((m.id, a.starts_on, a.ends_on, a.reason) for a in person.absences)
    for email, m in existing.items():
        if email not in seen and m.active:
            m.active = False
            out.departed += 1
    session.flush()
    for manager_id, start, end, reason in absences:
        out.absences_added += add_absence_row(session, manager_id, start, end, reason)
    session.execute(delete(RoutingRule))
    rules: list[dict[str, Any]] = []
    for i, r in enumerate(spec.rules, start=1):
        rules.append(
            {
                "position": i,
                "name": r.name,
                "conditions": r.when.as_json(),
                "team_id": team_ids[r.team] if r.team else None,
                "manager_id": existing[r.manager].id if r.manager else None,
            }
        )
    if rules:
        session.execute(RoutingRule.__table__.insert(), rules)  # type: ignore[attr-defined]
    session.flush()
    return out


def add_absence_row(
    session: Session, manager_id: int, start: date, end: date, reason: str | None
) -> int:
    """Insert one absence unless the same one exists; returns 1 when added."""
    found = session.execute(
        select(Absence.id).where(
            Absence.manager_id == manager_id, Absence.starts_on == start, Absence.ends_on == end
        )
    ).first()
    if found:
        return 0
    session.add(Absence(manager_id=manager_id, starts_on=start, ends_on=end, reason=reason))
    session.flush()
    return 1


def find_manager(session: Session, email: str) -> Manager:
    m = session.execute(
        select(Manager).where(Manager.email == email.strip().lower())
    ).scalar_one_or_none()
    if m is None:
        raise NotFoundError(f"no manager with e-mail {email!r} (load the team file first)")
    return m


def add_absence(
    session: Session, *, email: str, start: date, end: date, reason: str | None = None
) -> tuple[Manager, bool]:
    """Record that a manager is away from ``start`` to ``end`` (inclusive)."""
    if end < start:
        raise InputError(f"--to {end} is before --from {start}")
    if reason is not None and (len(reason) > 200 or not storable(reason)):
        raise InputError("--reason: at most 200 characters of text")
    if len(email) > 320 or not storable(email):
        raise InputError(f"{email!r} is not an e-mail address")
    m = find_manager(session, email)
    return m, bool(add_absence_row(session, m.id, start, end, reason))
