"""The manager's daily digest: at most one e-mail a day per manager, sent by the first
escalation run inside their working hours on a working day (their zone, holidays,
absences), listing overdue work, today's work and the reminders that fall due before their
day ends. Reminders it carries are marked delivered (``task.reminded``) and move on to the
action's next reminder. Nothing to tell: no e-mail.

This replaces one e-mail per import or per routing run: routing and the cadence planner
create tasks; the digest tells people about them, once a day.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, time, timedelta
from typing import Any

from sqlalchemy import Table, bindparam, or_, select, update
from sqlalchemy.orm import Session

from nurture.config import get_settings
from nurture.db.cadence import Task
from nurture.db.leads import Lead
from nurture.db.mail import OutboxMessage
from nurture.db.playbooks import Deal
from nurture.db.team import Manager
from nurture.playbooks import engine, events, people
from nurture.playbooks.calendar import BusinessCalendar
from nurture.playbooks.digests import DailyItem, Recipient, daily_key, daily_row
from nurture.playbooks.notices import insert_outbox, staff_language
from nurture.playbooks.settings import get_playbook_settings
from nurture.playbooks.versions import spec_of

_TASKS: Table = Task.__table__  # type: ignore[assignment]


def _due_today(cal: BusinessCalendar, now: datetime) -> tuple[datetime, datetime] | None:
    """(start of work, end of the local day) when ``now`` is inside today's working hours."""
    day = cal.local_date(now)
    if not cal.is_working_day(day):
        return None
    opens, closes = cal.day_bounds(day)
    if not opens <= now < closes:
        return None
    midnight = datetime.combine(day + timedelta(days=1), time(0, 0)).replace(tzinfo=cal.zone)
    return opens, midnight


def send_daily_digests(session: Session, *, now: datetime) -> tuple[int, int]:
    """Queue today's digest for each manager now in working hours who has none yet;
    returns (digests queued, reminders delivered)."""
    managers = [m for m in session.scalars(select(Manager).where(Manager.active.is_(True)))]
    if not managers:
        return 0, 0
    calendars = people.load_calendars(session, [m.id for m in managers], around=now)
    due: dict[int, tuple[Manager, BusinessCalendar, datetime]] = {}
    for m in managers:
        window = _due_today(calendars[m.id], now)
        if window is not None:
            due[m.id] = (m, calendars[m.id], window[1])
    if not due:
        return 0, 0
    keys = {daily_key(mid, cal.local_date(now)): mid for mid, (_m, cal, _e) in due.items()}
    sent = set(
        session.scalars(
            select(OutboxMessage.dedupe_key).where(OutboxMessage.dedupe_key.in_(list(keys)))
        )
    )
    for key in sent:
        due.pop(keys[key], None)
    if not due:
        return 0, 0
    horizon = max(end for _m, _c, end in due.values())
    t = _TASKS.c
    rows = session.execute(
        select(
            t.id,
            t.lead_id,
            t.deal_id,
            t.stage,
            t.action,
            t.manager_id,
            t.title,
            t.due_at,
            t.deadline,
            t.remind_at,
            Lead.first_name,
            Lead.last_name,
            Lead.company,
            Lead.email,
        )
        .select_from(_TASKS)
        .outerjoin(Lead, Lead.id == t.lead_id)
        .where(
            t.status == "open",
            t.manager_id.in_(list(due)),
            or_(t.due_at < horizon, (t.remind_at.is_not(None)) & (t.remind_at < horizon)),
        )
        .order_by(t.due_at, t.id)
    ).all()
    items: dict[int, list[DailyItem]] = defaultdict(list)
    reminded: list[tuple[Any, BusinessCalendar, datetime]] = []
    for r in rows:
        m, cal, end = due[r.manager_id]
        if r.due_at < now:
            section = "overdue"
        elif r.due_at < end:
            section = "today"
        elif r.remind_at is not None and r.remind_at < end:
            section = "reminder"
        else:
            continue
        if r.remind_at is not None and r.remind_at < end:
            reminded.append((r, cal, end))
        name = " ".join(p for p in (r.first_name, r.last_name) if p)
        items[r.manager_id].append(
            DailyItem(
                task_id=r.id,
                lead_id=r.lead_id,
                lead_name=(
                    f"{name} ({r.company})"
                    if name and r.company
                    else name or r.company or r.email or ""
                ),
                title=r.title,
                due_at=r.due_at,
                hard=r.deadline == "hard",
                deal_id=r.deal_id,
                section=section,
            )
        )
    settings, pb = get_settings(), get_playbook_settings()
    out_rows = []
    for manager_id, found in items.items():
        m, cal, _end = due[manager_id]
        recipient = Recipient(
            email=m.email, name=m.name, tz=m.timezone, language=staff_language(m), manager_id=m.id
        )
        out_rows.append(
            daily_row(
                recipient,
                found,
                day=cal.local_date(now),
                now=now,
                public_url=settings.public_url.rstrip("/"),
                shown=pb.escalation_items_shown,
                domain=settings.message_id_domain,
            )
        )
    queued = insert_outbox(session, out_rows)
    _mark_reminded(session, reminded, now=now)
    events.append(
        session,
        (
            events.event(
                "digest.queued",
                now,
                actor=events.SYSTEM,
                kind="daily",
                recipient=row["to_addr"],
                items=row["context"]["total"],
            )
            for row in out_rows
        ),
    )
    return len(queued), len(reminded)


def _mark_reminded(
    session: Session, reminded: list[tuple[Any, BusinessCalendar, datetime]], *, now: datetime
) -> None:
    """Reminders delivered by a digest move to the action's next reminder (after the day)."""
    if not reminded:
        return
    updates = []
    log = []
    for r, cal, end in reminded:
        nxt = None
        if r.deal_id is not None and r.action is not None:
            deal = session.get(Deal, r.deal_id)
            action = spec_of(session, deal.version_id).action(r.stage, r.action) if deal else None
            if action is not None:
                nxt = engine.next_reminder(cal, r.due_at, action.remind, end)
        updates.append({"tid": r.id, "nxt": nxt})
        log.append(
            events.event(
                "task.reminded",
                now,
                lead_id=r.lead_id,
                deal_id=r.deal_id,
                task_id=r.id,
                actor=events.SYSTEM,
                due_at=r.due_at,
            )
        )
    t = _TASKS.c
    session.execute(
        update(_TASKS)
        .where(t.id == bindparam("tid"))
        .values(remind_at=bindparam("nxt", type_=t.remind_at.type), reminded_at=now)
        .execution_options(synchronize_session=False),
        updates,
    )
    events.append(session, log)
