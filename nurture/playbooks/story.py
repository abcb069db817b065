"""A lead's whole story in time order: where it came from, who got it and why, every touch
and e-mail, tasks and their outcomes, enrolments, merges, purchases, scores, deals and the
event log. ``nurture leads show`` prints it; the web app's lead card shows it.

Each kind of entry is read by the lead's own index (sources, assignments, enrolments,
touches, tasks, purchases, engagements, scores, merges, deals, event log); e-mails are read
through their touches by primary key. Entries the event log already records (a task done
with its outcome, a cancellation) are not repeated from the tables.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime, time
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from nurture.db.cadence import (
    Campaign,
    CampaignStep,
    Engagement,
    Enrollment,
    Purchase,
    Task,
    Touch,
)
from nurture.db.leads import LEAD_FIELDS, Lead, LeadMerge
from nurture.db.mail import OutboxMessage
from nurture.db.playbooks import Deal, ProcessEvent
from nurture.db.scoring import LeadScore
from nurture.db.team import Assignment, Manager
from nurture.playbooks.errors import UnknownRecordError
from nurture.playbooks.outcomes import summary

Entry = dict[str, Any]


def _entry(at: Any, type_: str, text: str, **extra: Any) -> Entry | None:
    if at is None:
        return None
    if not isinstance(at, datetime):
        at = datetime.combine(at, time(0, 0), UTC)
    return {"at": at, "type": type_, "text": text, **extra}


def lead_story(session: Session, lead_id: int) -> dict[str, Any]:
    """The lead's fields, owner, status, sources, assignments and ``story`` (time order)."""
    lead = session.get(Lead, lead_id)
    if lead is None:
        raise UnknownRecordError(f"no lead with id {lead_id}")
    managers = {m.id: m for m in session.scalars(select(Manager))}
    fields: dict[str, Any] = {"id": lead.id}
    fields.update({f.name: getattr(lead, f.name) for f in LEAD_FIELDS})
    for name in ("status", "email_status", "do_not_contact", "unsubscribed_at", "created_at"):
        fields[name] = getattr(lead, name)
    fields["merged_into_id"] = lead.merged_into_id
    fields["last_touch_at"] = lead.last_touch_at
    fields["last_activity_at"] = lead.last_activity_at
    owner = managers.get(lead.owner_id) if lead.owner_id is not None else None
    from nurture.intake.provenance import lead_sources

    sources = lead_sources(session, lead_id)
    assignments = [
        {
            "at": a.assigned_at,
            "kind": a.kind,
            "manager": managers[a.manager_id].name if a.manager_id in managers else None,
            "manager_email": managers[a.manager_id].email if a.manager_id in managers else None,
            "rule": a.rule_name,
            "reason": a.reason,
        }
        for a in session.scalars(
            select(Assignment).where(Assignment.lead_id == lead_id).order_by(Assignment.id)
        )
    ]
    logged = _event_log(session, lead_id, managers)
    seen = {(e["type"], e.get("task_id")) for e in logged}
    entries: list[Entry | None] = [_entry(lead.created_at, "lead.created", "lead created")]
    for s in sources:
        entries.append(
            _entry(
                s["at"],
                "source",
                f"{s['outcome']} from {s['event']} ({s['event_kind']}), {s['file']} row {s['row']}",
                event=s["event"],
                file=s["file"],
                row=s["row"],
            )
        )
    for a in assignments:
        entries.append(
            _entry(
                a["at"],
                f"assignment.{a['kind']}",
                f"assigned to {a['manager']}: {a['reason']}",
                manager=a["manager_email"],
            )
        )
    entries += _enrolments(session, lead_id)
    entries += _touches(session, lead_id)
    entries += _tasks(session, lead_id, managers, seen)
    entries += _others(session, lead_id, seen)
    entries += logged
    # ties (several things at one ``--now``) keep the order they happened in: the event log
    # by id, then what the tables add (a conversion's purchase after the conversion)
    story = sorted(
        (e for e in entries if e is not None),
        key=lambda e: (e["at"], e.pop("_seq", float("inf"))),
    )
    deals = [
        {
            "id": d.id,
            "playbook": d.playbook,
            "version": d.version,
            "stage": d.stage,
            "status": d.status,
            "amount": d.amount,
            "currency": d.currency,
            "opened_at": d.opened_at,
        }
        for d in session.scalars(select(Deal).where(Deal.lead_id == lead_id).order_by(Deal.id))
    ]
    return {
        "lead": fields,
        "owner": {"name": owner.name, "email": owner.email} if owner else None,
        "sources": sources,
        "assignments": assignments,
        "deals": deals,
        "story": story,
    }


def _enrolments(session: Session, lead_id: int) -> Iterable[Entry | None]:
    rows = session.execute(
        select(Enrollment, Campaign.slug)
        .join(Campaign, Campaign.id == Enrollment.campaign_id)
        .where(Enrollment.lead_id == lead_id)
        .order_by(Enrollment.id)
    )
    for e, slug in rows:
        yield _entry(e.enrolled_at, "enrolment", f"enrolled in {slug}", campaign=slug)
        if e.finished_at is not None:
            why = f" ({e.stop_reason})" if e.stop_reason else ""
            yield _entry(
                e.finished_at, f"enrolment.{e.status}", f"{slug} {e.status}{why}", campaign=slug
            )


def _touches(session: Session, lead_id: int) -> Iterable[Entry | None]:
    rows = session.execute(
        select(Touch, Campaign.slug, CampaignStep.name, OutboxMessage.status, OutboxMessage.sent_at)
        .join(Campaign, Campaign.id == Touch.campaign_id)
        .outerjoin(
            CampaignStep,
            (CampaignStep.campaign_id == Touch.campaign_id)
            & (CampaignStep.position == Touch.position),
        )
        .outerjoin(OutboxMessage, OutboxMessage.id == Touch.outbox_id)
        .where(Touch.lead_id == lead_id)
        .order_by(Touch.scheduled_at, Touch.id)
    )
    for t, slug, step, mail_status, sent_at in rows:
        what = f"{slug}/{step or t.position}"
        if t.channel == "email":
            state = mail_status or t.status
            yield _entry(
                sent_at or t.scheduled_at,
                "email",
                f"e-mail {what}: {state}",
                campaign=slug,
                step=step,
                status=state,
            )
        else:
            yield _entry(
                t.scheduled_at,
                f"touch.{t.channel}",
                f"{t.channel} {what}: {t.status}",
                campaign=slug,
                step=step,
                status=t.status,
                task_id=t.task_id,
            )


def _tasks(
    session: Session, lead_id: int, managers: dict[int, Manager], seen: set[tuple[str, Any]]
) -> Iterable[Entry | None]:
    for t in session.scalars(select(Task).where(Task.lead_id == lead_id).order_by(Task.id)):
        who = managers[t.manager_id].email if t.manager_id in managers else None
        if ("task.created", t.id) not in seen:
            yield _entry(
                t.created_at,
                "task.created",
                f"task: {t.title} (due {t.due_at:%Y-%m-%d %H:%M} UTC, {t.deadline})",
                task_id=t.id,
                assignee=who,
                due_at=t.due_at,
            )
        if t.status == "done" and ("task.done", t.id) not in seen:
            yield _entry(
                t.completed_at,
                "task.done",
                f"done: {t.title}" + (f" ({t.outcome})" if t.outcome else ""),
                task_id=t.id,
                outcome=t.outcome_values,
            )
        if t.status == "cancelled" and ("task.cancelled", t.id) not in seen:
            yield _entry(
                t.completed_at,
                "task.cancelled",
                f"cancelled: {t.title} ({t.cancel_reason or t.outcome or 'no reason'})",
                task_id=t.id,
            )


def _others(session: Session, lead_id: int, seen: set[tuple[str, Any]]) -> Iterable[Entry | None]:
    for p in session.scalars(select(Purchase).where(Purchase.lead_id == lead_id)):
        yield _entry(
            p.purchased_at,
            "purchase",
            f"purchase {p.amount:g}" + (f" ({p.product})" if p.product else ""),
            amount=p.amount,
            product=p.product,
        )
    replied = ("lead.replied", None) in seen
    for g in session.scalars(select(Engagement).where(Engagement.lead_id == lead_id)):
        if g.kind == "reply" and replied:
            continue
        yield _entry(
            g.occurred_at,
            f"engagement.{g.kind}",
            g.kind + (f" ({g.campaign_slug})" if g.campaign_slug else ""),
        )
    for s in session.scalars(select(LeadScore).where(LeadScore.lead_id == lead_id)):
        yield _entry(
            s.scored_at,
            "score",
            f"predicted value {s.predicted_value:,.0f}, purchase probability "
            f"{s.p_purchase:.0%} ({s.model_version})",
            model=s.model_version,
            predicted_value=s.predicted_value,
        )
    merges = session.scalars(
        select(LeadMerge).where(
            or_(LeadMerge.survivor_id == lead_id, LeadMerge.merged_id == lead_id)
        )
    )
    for m in merges:
        other = m.merged_id if m.survivor_id == lead_id else m.survivor_id
        verb = "merged lead" if m.survivor_id == lead_id else "merged into lead"
        yield _entry(m.created_at, "merge", f"{verb} {other}: {m.reason}", other_lead_id=other)
        if m.undone_at is not None:
            yield _entry(m.undone_at, "merge.undone", f"merge with lead {other} undone")


def _event_log(session: Session, lead_id: int, managers: dict[int, Manager]) -> list[Entry]:
    out: list[Entry] = []
    rows = session.scalars(
        select(ProcessEvent)
        .where(ProcessEvent.lead_id == lead_id)
        .order_by(ProcessEvent.at, ProcessEvent.id)
    )
    for ev in rows:
        data = ev.data or {}
        out.append(
            {
                "at": ev.at,
                "type": ev.type,
                "text": describe_event(ev.type, data, ev.level),
                "task_id": ev.task_id,
                "deal_id": ev.deal_id,
                "actor": ev.actor,
                "level": ev.level,
                "data": data,
                "_seq": ev.id,
            }
        )
    return out


def describe_event(type_: str, data: dict[str, Any], level: int | None = None) -> str:
    """One line for a human about one event-log entry."""
    d = data
    texts: dict[str, Callable[[], str]] = {
        "task.done": lambda: (
            "done" + (f": {summary(d.get('outcome'))}" if d.get("outcome") else "")
        ),
        "task.cancelled": lambda: f"task cancelled ({d.get('reason')})",
        "task.escalated": lambda: (
            f"escalated, level {level}: {d.get('action')} {d.get('recipient') or ''}".rstrip()
        ),
        "task.reassigned": lambda: f"reassigned from {d.get('from')} to {d.get('to')}",
        "task.rescheduled": lambda: f"rescheduled to {d.get('to')}: {d.get('reason')}",
        "task.overdue": lambda: "overdue",
        "task.reminded": lambda: f"reminded (due {d.get('due_at')})",
        "task.created": lambda: f"task: {d.get('title')} (due {d.get('due_at')})",
        "lead.replied": lambda: "replied" + (f": {d.get('note')}" if d.get("note") else ""),
        "lead.note": lambda: f"note: {d.get('note')}",
        "lead.converted": lambda: (
            "converted" + (f", amount {d.get('amount')}" if d.get("amount") is not None else "")
        ),
        "lead.lost": lambda: f"lost: {d.get('reason')}",
        "lead.closed": lambda: "closed" + (f": {d.get('reason')}" if d.get("reason") else ""),
        "deal.opened": lambda: f"deal opened: {d.get('playbook')} v{d.get('version')}",
        "deal.stage_changed": lambda: f"stage {d.get('from')} -> {d.get('to')}",
    }
    make = texts.get(type_)
    return make() if make else type_.replace(".", " ").replace("_", " ")
