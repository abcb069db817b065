"""Deals as people see them: ``deal show`` (stage, open actions with instructions and
deadlines, automated steps and their failures, documents, requests, timeline) and ``deal
list`` (with ``--stalled``: no progress for the stage's ``stall_after``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from nurture.db.leads import Lead
from nurture.db.playbooks import Deal, Document, ProcessEvent, StepRun
from nurture.db.team import Manager
from nurture.playbooks import people
from nurture.playbooks.calendar import Duration
from nurture.playbooks.deals import get_deal
from nurture.playbooks.documents import document_view
from nurture.playbooks.outbound import list_requests
from nurture.playbooks.spec import text_for
from nurture.playbooks.story import describe_event
from nurture.playbooks.tasks import list_tasks
from nurture.playbooks.versions import spec_of


def stalled_since(session: Session, deal: Deal, now: datetime) -> bool:
    """Whether an open deal has made no progress for its stage's ``stall_after``."""
    if deal.status != "open":
        return False
    spec = spec_of(session, deal.version_id)
    stage = spec.stage(deal.stage)
    limit = Duration.parse((stage.stall_after if stage else None) or spec.stall_after)
    cals = people.load_calendars(session, [deal.owner_id] if deal.owner_id else [], around=now)
    cal = cals.get(deal.owner_id or -1) or people.default_calendar()
    return cal.add(deal.last_progress_at, limit) <= now


def deal_summary(session: Session, deal: Deal, now: datetime) -> dict[str, Any]:
    lead = session.get(Lead, deal.lead_id)
    owner = session.get(Manager, deal.owner_id) if deal.owner_id is not None else None
    name = " ".join(p for p in (lead.first_name, lead.last_name) if p) if lead else ""
    return {
        "id": deal.id,
        "lead_id": deal.lead_id,
        "lead": name or (lead.company or lead.email if lead else None),
        "company": lead.company if lead else None,
        "playbook": deal.playbook,
        "version": deal.version,
        "stage": deal.stage,
        "status": deal.status,
        "amount": deal.amount,
        "currency": deal.currency,
        "owner": owner.email if owner else None,
        "opened_at": deal.opened_at.isoformat(),
        "stage_entered_at": deal.stage_entered_at.isoformat(),
        "last_progress_at": deal.last_progress_at.isoformat(),
        "closed_at": deal.closed_at.isoformat() if deal.closed_at else None,
        "stalled": stalled_since(session, deal, now),
    }


def show_deal(session: Session, deal_id: int, *, now: datetime) -> dict[str, Any]:
    """Everything about one deal (the ``deal show --json`` object)."""
    deal = get_deal(session, deal_id)
    spec = spec_of(session, deal.version_id)
    lead = session.get(Lead, deal.lead_id)
    language = lead.language if lead is not None else None
    out = deal_summary(session, deal, now)
    stage = spec.stage(deal.stage)
    out["stage_title"] = text_for(stage.title, language) if stage and stage.title else deal.stage
    out["stages"] = [s.key for s in spec.stages]
    out["fields"] = dict(deal.fields or {})
    out["close_reason"] = deal.close_reason
    out["open_actions"] = [t.as_json() for t in list_tasks(session, now=now, deal_id=deal.id)]
    out["steps"] = [
        {
            "id": r.id,
            "stage": r.stage,
            "action": r.action,
            "kind": r.kind,
            "target": r.target,
            "status": r.status,
            "attempts": r.attempts,
            "max_attempts": r.max_attempts,
            "next_attempt_at": r.next_attempt_at.isoformat()
            if r.status in ("pending", "failed")
            else None,
            "last_error": r.last_error,
            "result": r.result,
        }
        for r in session.scalars(
            select(StepRun).where(StepRun.deal_id == deal.id).order_by(StepRun.id)
        )
    ]
    out["open_actions"] += [
        {
            "kind": "automated",
            "action": s["action"],
            "status": s["status"],
            "error": s["last_error"],
        }
        for s in out["steps"]
        if s["stage"] == deal.stage and s["status"] in ("pending", "running", "failed", "dead")
    ]
    out["documents"] = [
        document_view(session, d)
        for d in session.scalars(
            select(Document).where(Document.deal_id == deal.id).order_by(Document.id)
        )
    ]
    out["requests"] = list_requests(session, deal_id=deal.id)
    out["timeline"] = [
        {
            "at": e.at.isoformat(),
            "type": e.type,
            "text": describe_event(e.type, e.data or {}, e.level),
            "task_id": e.task_id,
            "level": e.level,
            "actor": e.actor,
            "data": e.data,
        }
        for e in session.scalars(
            select(ProcessEvent)
            .where(ProcessEvent.deal_id == deal.id)
            .order_by(ProcessEvent.at, ProcessEvent.id)
        )
    ]
    return out


def list_deals(
    session: Session,
    *,
    now: datetime,
    stalled: bool = False,
    status: str | None = "open",
    owner: str | None = None,
    lead_id: int | None = None,
) -> list[dict[str, Any]]:
    """Deals (open ones by default), newest first; ``stalled``: only those idle too long."""
    query = select(Deal).order_by(Deal.id.desc())
    if status is not None:
        query = query.where(Deal.status == status)
    if lead_id is not None:
        query = query.where(Deal.lead_id == lead_id)
    if owner is not None:
        from nurture.playbooks.tasks import manager_by_email

        query = query.where(Deal.owner_id == manager_by_email(session, owner, field="--owner").id)
    rows = [deal_summary(session, d, now) for d in session.scalars(query.limit(5000))]
    return [r for r in rows if r["stalled"]] if stalled else rows
