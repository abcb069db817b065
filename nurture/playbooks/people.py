"""Who does the work and when they work: calendars, supervisors, role pools, the next
manager for a reassignment. Reads the team tables (``nurture team load``) and the role pools
(``nurture playbook roles``)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime, timedelta

from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from nurture.config import get_settings
from nurture.db.cadence import Task
from nurture.db.playbooks import RoleMember
from nurture.db.team import Absence, Manager, Team
from nurture.playbooks.calendar import BusinessCalendar, country_of_zone
from nurture.playbooks.errors import InputError, UnknownRecordError


def default_calendar() -> BusinessCalendar:
    """The calendar of work nobody is assigned to: the installation's zone, 09:00-18:00."""
    s = get_settings()
    return BusinessCalendar(tz=s.timezone, country=country_of_zone(s.timezone, s.default_region))


def calendar_of(m: Manager, absences: Iterable[tuple[date, date]] = ()) -> BusinessCalendar:
    region = get_settings().default_region
    return BusinessCalendar(
        tz=m.timezone,
        work_start=m.work_start,
        work_end=m.work_end,
        country=country_of_zone(m.timezone, region),
        absences=tuple(sorted(absences)),
    )


def load_calendars(
    session: Session, manager_ids: Iterable[int], *, around: datetime | None = None
) -> dict[int, BusinessCalendar]:
    """Calendars of these managers with their absences (those ending after ``around`` minus a
    year, when given: enough for any deadline, without reading all history)."""
    ids = sorted({i for i in manager_ids if i is not None})
    if not ids:
        return {}
    people = {m.id: m for m in session.scalars(select(Manager).where(Manager.id.in_(ids)))}
    away: dict[int, list[tuple[date, date]]] = {i: [] for i in people}
    query = select(Absence.manager_id, Absence.starts_on, Absence.ends_on).where(
        Absence.manager_id.in_(ids)
    )
    if around is not None:
        query = query.where(Absence.ends_on >= (around - timedelta(days=366)).date())
    for manager_id, start, end in session.execute(query):
        away[manager_id].append((start, end))
    return {i: calendar_of(m, away[i]) for i, m in people.items()}


def supervisors(session: Session) -> dict[int, Manager]:
    """Team id -> its supervisor's manager row (the fallback team's under key ``-1``)."""
    teams = session.scalars(select(Team)).all()
    emails = {t.supervisor_email for t in teams if t.supervisor_email}
    people = {m.email: m for m in session.scalars(select(Manager).where(Manager.email.in_(emails)))}
    out: dict[int, Manager] = {}
    for t in teams:
        found = people.get(t.supervisor_email or "")
        if found is not None:
            out[t.id] = found
            if t.is_fallback:
                out[-1] = found
    return out


def supervisor_emails(session: Session) -> dict[int, str]:
    """Team id -> its supervisor's address (the fallback team's under key ``-1``), whether or
    not the supervisor has a row of their own."""
    out: dict[int, str] = {}
    for t in session.scalars(select(Team).order_by(Team.id)):
        if t.supervisor_email:
            out[t.id] = t.supervisor_email
            if t.is_fallback and -1 not in out:
                out[-1] = t.supervisor_email
    return out


def supervisor_of(session: Session, manager: Manager | None) -> Manager | None:
    """The supervisor of a manager's team, else the fallback team's."""
    sups = supervisors(session)
    if manager is not None and manager.team_id in sups:
        return sups[manager.team_id]
    return sups.get(-1)


def _absent(session: Session, ids: list[int], day: date) -> set[int]:
    if not ids:
        return set()
    return set(
        session.scalars(
            select(Absence.manager_id).where(
                Absence.manager_id.in_(ids), Absence.starts_on <= day, Absence.ends_on >= day
            )
        )
    )


def least_loaded(session: Session, candidates: list[Manager], now: datetime) -> Manager | None:
    """The active, present candidate with the fewest open tasks (ties: lowest id)."""
    ids = [m.id for m in candidates if m.active]
    away = _absent(session, ids, now.date())
    present = [m for m in candidates if m.active and m.id not in away]
    if not present:
        return None
    load = dict(
        session.execute(
            select(Task.manager_id, func.count(Task.id))
            .where(Task.manager_id.in_([m.id for m in present]), Task.status == "open")
            .group_by(Task.manager_id)
        ).all()
    )
    return min(present, key=lambda m: (load.get(m.id, 0), m.id))


def role_members(session: Session, role: str) -> list[Manager]:
    return list(
        session.scalars(
            select(Manager)
            .join(RoleMember, RoleMember.manager_id == Manager.id)
            .where(RoleMember.role == role)
            .order_by(Manager.id)
        )
    )


def pick_from_role(session: Session, role: str, now: datetime) -> Manager | None:
    """A role pool's member to book (present, least loaded); None when the pool is empty."""
    return least_loaded(session, role_members(session, role), now)


def next_manager(session: Session, current: Manager | None, now: datetime) -> Manager | None:
    """Who takes over a task at a ``reassign: next_manager`` level: another present manager
    of the same team with the fewest open tasks (else of any team)."""
    query = select(Manager).where(Manager.role == "manager", Manager.active.is_(True))
    others = [m for m in session.scalars(query) if current is None or m.id != current.id]
    same = [m for m in others if current is not None and m.team_id == current.team_id]
    return least_loaded(session, same, now) or least_loaded(session, others, now)


def load_roles(
    session: Session, roles: Mapping[str, list[str]], *, replace: bool = True
) -> dict[str, int]:
    """Set role pools from ``{role: [e-mail, ...]}`` (every e-mail must be in the team).
    ``replace``: a role's members are exactly these. Returns members per role."""
    wanted = {e.strip().lower() for emails in roles.values() for e in emails}
    people = {m.email: m for m in session.scalars(select(Manager).where(Manager.email.in_(wanted)))}
    for role, emails in roles.items():
        for email in emails:
            if email.strip().lower() not in people:
                raise UnknownRecordError(
                    f"role {role!r}: no manager with e-mail {email!r} (load the team file first)"
                )
    out: dict[str, int] = {}
    for role, emails in roles.items():
        if replace:
            session.execute(delete(RoleMember).where(RoleMember.role == role))
        ids = sorted({people[e.strip().lower()].id for e in emails})
        existing = set(
            session.scalars(select(RoleMember.manager_id).where(RoleMember.role == role))
        )
        rows = [{"role": role, "manager_id": i} for i in ids if i not in existing]
        if rows:
            session.execute(insert(RoleMember), rows)
        out[role] = len(ids)
    return out


def parse_roles(data: object, *, file: str) -> dict[str, list[str]]:
    """The ``roles:`` mapping of a roles or team file: ``{role: [e-mail, ...]}``."""
    roles = data.get("roles") if isinstance(data, dict) else None
    if not isinstance(roles, dict) or not roles:
        raise InputError("expected a 'roles:' mapping of role -> list of e-mails", file=file)
    out: dict[str, list[str]] = {}
    for role, emails in roles.items():
        if not isinstance(role, str) or not isinstance(emails, list) or not emails:
            raise InputError(f"roles.{role}: a list of e-mails", file=file)
        out[role] = [str(e) for e in emails]
    return out
