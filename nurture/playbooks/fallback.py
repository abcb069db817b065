"""The fallback e-mail touch: when a campaign's call or reminder task of an e-mailable lead is
overdue by the campaign's grace (``fallback: {after: 5}`` business days of the task's owner),
the lead gets the campaign's fallback e-mail ("we tried to reach you, pick a time"), once per
task, besides the escalation. So a lead whose owner does nothing is still touched, and
``nurture coverage`` never finds an e-mailable lead untouched for 30 days.

Found set-based (open call/reminder tasks past the shortest grace, joined to their touch for
the campaign); the exact business-day grace is checked per candidate in the owner's calendar.
The e-mail is a campaign e-mail (unsubscribe link, suppression, the campaign's send window
in the lead's zone), dedupe key ``fallback.<task id>``; the lead's ``last_touch_at`` moves
to its send time, which the coverage watchdog reads.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path

from sqlalchemy import Table, and_, bindparam, select, update
from sqlalchemy.orm import Session

from nurture.cadence.campaigns import CampaignSpec, load_specs
from nurture.cadence.windows import next_send_time, zone
from nurture.config import get_settings
from nurture.db.cadence import Task, Touch
from nurture.db.leads import Lead
from nurture.playbooks import events, people
from nurture.playbooks.notices import insert_outbox, outbox_row

_TASKS: Table = Task.__table__  # type: ignore[assignment]
KINDS = ("call", "reminder")


@lru_cache(maxsize=256)
def template_exists(templates_dir: Path, name: str) -> bool:
    """Whether ``templates/email/<name>.<ru|en>.txt`` exists (one language is enough)."""
    return any((templates_dir / "email" / f"{name}.{lg}.txt").is_file() for lg in ("en", "ru"))


def send_fallback_emails(session: Session, *, now: datetime) -> int:
    """Queue the fallback e-mails due at ``now``; returns how many were queued."""
    specs: dict[int, CampaignSpec] = {c.id: s for c, s in load_specs(session)}
    enabled = {cid: s for cid, s in specs.items() if s.fallback.enabled}
    if not enabled:
        return 0
    shortest = min(s.fallback.after for s in enabled.values())
    t = _TASKS.c
    rows = session.execute(
        select(
            t.id,
            t.lead_id,
            t.manager_id,
            t.due_at,
            Touch.campaign_id,
            Lead.email,
            Lead.timezone,
            Lead.country,
            Lead.owner_id,
            Lead.last_touch_at,
        )
        .select_from(_TASKS)
        .join(Touch, and_(Touch.lead_id == t.lead_id, Touch.task_id == t.id))
        .join(Lead, Lead.id == t.lead_id)
        .where(
            t.status == "open",
            t.kind.in_(KINDS),
            t.fallback_at.is_(None),
            t.due_at <= now - timedelta(days=shortest),
            Lead.status == "open",
            Lead.merged_into_id.is_(None),
            Lead.email.is_not(None),
            Lead.email_status == "ok",
            Lead.do_not_contact.is_(False),
            Lead.unsubscribed_at.is_(None),
        )
        .order_by(t.id)
    ).all()
    if not rows:
        return 0
    templates = Path(get_settings().templates_dir).resolve()
    calendars = people.load_calendars(session, [r.manager_id for r in rows], around=now)
    default = get_settings().timezone
    outbox, marks, touched, log = [], [], [], []
    for r in rows:
        spec = enabled.get(r.campaign_id)
        if spec is None:
            continue
        cal = calendars.get(r.manager_id) if r.manager_id is not None else None
        cal = cal or people.default_calendar()
        if cal.add_days(r.due_at, spec.fallback.after) > now:
            continue
        template = spec.fallback_template()
        if not template_exists(templates, template):
            continue
        send_at = next_send_time(now, zone(r.timezone, default), r.country, spec.window.to_window())
        outbox.append(
            outbox_row(
                key=f"fallback.{r.id}",
                kind="marketing",
                template=template,
                to_addr=r.email,
                context={"fallback": {"task_id": r.id}},
                send_at=send_at,
                now=now,
                lead_id=r.lead_id,
                manager_id=r.manager_id or r.owner_id,
                campaign_slug=spec.slug,
                step="fallback",
            )
        )
        marks.append({"tid": r.id})
        if r.last_touch_at is None or r.last_touch_at < send_at:
            touched.append({"lid": r.lead_id, "at": send_at})
        log.append(
            events.event(
                "lead.fallback_email",
                now,
                lead_id=r.lead_id,
                task_id=r.id,
                actor=events.SYSTEM,
                campaign=spec.slug,
                template=template,
            )
        )
    queued = insert_outbox(session, outbox)
    if marks:
        session.execute(
            update(_TASKS)
            .where(t.id == bindparam("tid"))
            .values(fallback_at=now)
            .execution_options(synchronize_session=False),
            marks,
        )
    if touched:
        leads: Table = Lead.__table__  # type: ignore[assignment]
        session.execute(
            update(leads)
            .where(leads.c.id == bindparam("lid"))
            .values(last_touch_at=bindparam("at", type_=leads.c.last_touch_at.type))
            .execution_options(synchronize_session=False),
            touched,
        )
    events.append(session, log)
    return len(queued)
