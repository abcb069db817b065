"""A lead's outcome from the manager's side: a reply, a conversion, a loss, a close.

Each writes what the cadence stop rules read in the next cycle (an ``engagements`` row of
kind ``reply``; ``leads.status`` ``converted``/``lost``/``closed``; a ``purchases`` row for a
conversion with an amount), so nurture stops by itself, and it cancels the lead's open tasks
(a closed lead's tasks are never escalated) and settles its open deals.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from nurture.db.cadence import Engagement, Purchase
from nurture.db.leads import Lead
from nurture.db.playbooks import Deal
from nurture.playbooks import events
from nurture.playbooks.errors import ConflictError, InputError, UnknownRecordError
from nurture.playbooks.tasks import cancel_open_tasks

#: What each closing verb sets: lead status, deal status, event type.
OUTCOMES = {
    "convert": ("converted", "won", "lead.converted"),
    "lose": ("lost", "lost", "lead.lost"),
    "close": ("closed", "closed", "lead.closed"),
}


@dataclass
class LeadChange:
    """What a reply, conversion, loss or close did (``as_json`` for ``--json``)."""

    lead_id: int
    status: str
    at: datetime
    cancelled_tasks: list[int] = field(default_factory=list)
    settled_deals: list[int] = field(default_factory=list)
    purchase_id: int | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "lead_id": self.lead_id,
            "status": self.status,
            "at": self.at.isoformat(),
            "cancelled_tasks": self.cancelled_tasks,
            "settled_deals": self.settled_deals,
            "purchase_id": self.purchase_id,
        }


def live_lead(session: Session, lead_id: int) -> Lead:
    """The lead, refusing ids that do not exist or were merged into another lead."""
    lead = session.get(Lead, lead_id)
    if lead is None:
        raise UnknownRecordError(f"no lead with id {lead_id}")
    if lead.merged_into_id is not None:
        raise ConflictError(
            f"lead {lead_id} was merged into lead {lead.merged_into_id}: use that id"
        )
    return lead


def record_reply(
    session: Session, lead_id: int, *, at: datetime, actor: str, note: str | None = None
) -> LeadChange:
    """The lead replied (by e-mail, phone, in person): a ``reply`` engagement, which the
    ``replied`` stop rule reads, and the lead's last activity."""
    lead = live_lead(session, lead_id)
    session.add(Engagement(lead_id=lead.id, kind="reply", detail=note, occurred_at=at))
    if lead.last_activity_at is None or lead.last_activity_at < at:
        lead.last_activity_at = at
    session.flush()
    events.append(
        session, [events.event("lead.replied", at, lead_id=lead.id, actor=actor, note=note)]
    )
    return LeadChange(lead_id=lead.id, status=lead.status, at=at)


def add_note(session: Session, lead_id: int, text: str, *, now: datetime, actor: str) -> None:
    """A note on the lead's story (``lead.note``), e.g. from the web lead card."""
    from nurture.playbooks.outcomes import TEXT_LIMIT

    note = (text or "").strip()
    if not note:
        raise InputError("the note is empty", field="note")
    if len(note) > TEXT_LIMIT:
        raise InputError(f"the note is longer than {TEXT_LIMIT} characters", field="note")
    lead = live_lead(session, lead_id)
    events.append(
        session, [events.event("lead.note", now, lead_id=lead.id, actor=actor, note=note)]
    )


def settle_lead(
    session: Session,
    lead_id: int,
    verb: str,
    *,
    now: datetime,
    actor: str,
    reason: str | None = None,
    amount: float | None = None,
    currency: str | None = None,
) -> LeadChange:
    """``convert``, ``lose`` or ``close`` an open lead: its status, its open tasks cancelled,
    its open deals won/lost/closed (their pending automated steps cancelled), and for a
    conversion with an amount a purchase (the ``purchased`` stop rule and dormancy read it)."""
    status, deal_status, event_type = OUTCOMES[verb]
    lead = live_lead(session, lead_id)
    if lead.status != "open":
        raise ConflictError(f"lead {lead.id} is already {lead.status}")
    if verb == "lose" and not (reason or "").strip():
        raise InputError("a reason is required to lose a lead", field="--reason")
    if amount is not None and not (amount >= 0):
        raise InputError(f"--amount must be a positive number (got {amount})", field="--amount")
    claimed = session.execute(
        update(Lead)
        .where(Lead.id == lead.id, Lead.status == "open")
        .values(status=status, updated_at=now, last_activity_at=now)
        .returning(Lead.id)
        .execution_options(synchronize_session=False)
    ).first()
    session.refresh(lead)
    if claimed is None:
        raise ConflictError(f"lead {lead.id} is already {lead.status}")
    change = LeadChange(lead_id=lead.id, status=status, at=now)
    why = reason or f"lead {status}"
    change.cancelled_tasks = cancel_open_tasks(
        session, lead_id=lead.id, now=now, actor=actor, reason=f"lead {status}: {why}"
    )
    if verb == "convert" and amount is not None:
        purchase = Purchase(
            source_key=f"convert.{lead.id}.{now:%Y%m%dT%H%M%S}",
            lead_id=lead.id,
            purchased_at=now,
            amount=float(amount),
            product=None,
        )
        session.add(purchase)
        session.flush()
        change.purchase_id = purchase.id
    change.settled_deals = _settle_deals(
        session, lead.id, deal_status, now=now, actor=actor, reason=why, amount=amount
    )
    data: dict[str, Any] = {"reason": reason} if verb != "convert" else {"amount": amount}
    if verb == "convert":
        data["currency"] = currency
    events.append(session, [events.event(event_type, now, lead_id=lead.id, actor=actor, **data)])
    return change


def _settle_deals(
    session: Session,
    lead_id: int,
    status: str,
    *,
    now: datetime,
    actor: str,
    reason: str,
    amount: float | None,
) -> list[int]:
    deals = session.scalars(
        select(Deal).where(Deal.lead_id == lead_id, Deal.status == "open").order_by(Deal.id)
    ).all()
    if not deals:
        return []
    from nurture.playbooks.steps import cancel_pending_steps

    rows = []
    for deal in deals:
        deal.status = status
        deal.closed_at = now
        deal.close_reason = reason
        deal.last_progress_at = now
        if status == "won" and amount is not None and deal.amount is None:
            deal.amount = float(amount)
        cancel_pending_steps(session, deal.id, now=now)
        data: dict[str, Any] = (
            {"amount": deal.amount, "currency": deal.currency}
            if status == "won"
            else {"reason": reason}
        )
        rows.append(
            events.event(
                f"deal.{status}", now, lead_id=lead_id, deal_id=deal.id, actor=actor, **data
            )
        )
    session.flush()
    events.append(session, rows)
    return [d.id for d in deals]


def open_deal_count(session: Session, lead_id: int) -> int:
    return int(
        session.scalar(
            select(func.count(Deal.id)).where(Deal.lead_id == lead_id, Deal.status == "open")
        )
        or 0
    )


def convert_lead(
    session: Session,
    lead_id: int,
    *,
    now: datetime,
    actor: str,
    amount: float | None = None,
    currency: str | None = None,
) -> LeadChange:
    """The lead became a customer (see :func:`settle_lead`)."""
    return settle_lead(
        session, lead_id, "convert", now=now, actor=actor, amount=amount, currency=currency
    )


def lose_lead(
    session: Session, lead_id: int, *, now: datetime, actor: str, reason: str
) -> LeadChange:
    """The lead is lost, with a reason (see :func:`settle_lead`)."""
    return settle_lead(session, lead_id, "lose", now=now, actor=actor, reason=reason)


def close_lead(
    session: Session, lead_id: int, *, now: datetime, actor: str, reason: str | None = None
) -> LeadChange:
    """The lead is closed without a sale (see :func:`settle_lead`)."""
    return settle_lead(session, lead_id, "close", now=now, actor=actor, reason=reason)
