"""E-mails the playbooks capability queues into the mail outbox (the mail capability renders
and sends them, exactly once per dedupe key): an automated action's e-mail, a document to
the client."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from nurture.cadence.windows import Window, next_send_time, zone
from nurture.config import get_settings
from nurture.db.leads import Lead
from nurture.db.mail import OutboxMessage
from nurture.db.playbooks import Deal
from nurture.db.sql import dialect_insert
from nurture.db.team import Manager
from nurture.playbooks import people
from nurture.playbooks.spec import ActionSpec, text_for

#: Client mail from a deal goes out in the lead's business hours (as campaign mail does).
CLIENT_WINDOW = Window()


def outbox_row(
    *,
    key: str,
    kind: str,
    template: str,
    to_addr: str,
    context: dict[str, Any],
    send_at: datetime,
    now: datetime,
    lead_id: int | None = None,
    manager_id: int | None = None,
    campaign_slug: str | None = None,
    step: str | None = None,
) -> dict[str, Any]:
    """One outbox row (``key`` is its dedupe key: ``[A-Za-z0-9._-]``)."""
    return {
        "dedupe_key": key,
        "message_id": f"<{key}@{get_settings().message_id_domain}>",
        "kind": kind,
        "lead_id": lead_id,
        "manager_id": manager_id,
        "campaign_slug": campaign_slug,
        "step": step,
        "template": template,
        "to_addr": to_addr,
        "context": context,
        "status": "queued",
        "attempts": 0,
        "next_attempt_at": send_at,
        "created_at": now,
    }


def insert_outbox(session: Session, rows: list[dict[str, Any]]) -> list[int]:
    """Insert outbox rows once per dedupe key; the ids of those inserted now."""
    if not rows:
        return []
    stmt = (
        dialect_insert(session, OutboxMessage)
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
        .returning(OutboxMessage.id)
    )
    return [row.id for row in session.execute(stmt, rows)]


def client_send_time(lead: Lead, now: datetime) -> datetime:
    """The first moment inside business hours in the lead's own zone."""
    tz = zone(lead.timezone, get_settings().timezone)
    return next_send_time(now, tz, lead.country, CLIENT_WINDOW)


def staff_language(person: Manager) -> str:
    """The language of mail to a manager: their first of ru/en (else ru, as routing does)."""
    return next((lg for lg in person.languages or [] if lg in ("ru", "en")), "ru")


def lead_summary(lead: Lead | None) -> dict[str, Any]:
    """What staff mail says about a lead (the template's ``lead``)."""
    if lead is None:
        return {"id": None, "full_name": "", "email": None, "phone": None, "company": None}
    from nurture.db.leads import TEMPLATE_FIELDS

    out: dict[str, Any] = {"id": lead.id, **{f: getattr(lead, f) for f in TEMPLATE_FIELDS}}
    out["full_name"] = " ".join(p for p in (lead.first_name, lead.last_name) if p)
    return out


def deal_context(deal: Deal) -> dict[str, Any]:
    return {
        "id": deal.id,
        "playbook": deal.playbook,
        "stage": deal.stage,
        "amount": deal.amount,
        "currency": deal.currency,
        "fields": dict(deal.fields or {}),
        "url": f"{get_settings().public_url.rstrip('/')}/leads/{deal.lead_id}",
    }


def queue_deal_email(
    session: Session, deal: Deal, action: ActionSpec, *, key: str, now: datetime
) -> int | None:
    """An automated action's e-mail: to the lead (in their business hours, signed by the
    deal's owner, with an unsubscribe link) or to the owner or supervisor (signed by
    Nurture). Returns the outbox id, or None when there is no address to send to."""
    assert action.email is not None
    lead = session.get(Lead, deal.lead_id)
    owner = session.get(Manager, deal.owner_id) if deal.owner_id is not None else None
    language = lead.language if lead is not None else None
    context: dict[str, Any] = {
        "deal": deal_context(deal),
        "action": {"key": action.key, "title": text_for(action.title, language)},
    }
    if action.email.to == "lead":
        if lead is None or not lead.email or lead.do_not_contact:
            return None
        row = outbox_row(
            key=key,
            kind="marketing",
            template=action.email.template,
            to_addr=lead.email,
            context=context,
            send_at=client_send_time(lead, now),
            now=now,
            lead_id=lead.id,
            manager_id=owner.id if owner is not None else None,
            campaign_slug=deal.playbook,
            step=action.key,
        )
    else:
        person = owner if action.email.to == "owner" else people.supervisor_of(session, owner)
        if person is None:
            return None
        # no lead_id on the row: the mail is about the lead, to staff, in the staff's language
        context.update(
            manager=None,
            language=staff_language(person),
            recipient_name=person.name,
            lead=lead_summary(lead),
        )
        row = outbox_row(
            key=key,
            kind="system",
            template=action.email.template,
            to_addr=person.email,
            context=context,
            send_at=now,
            now=now,
        )
    ids = insert_outbox(session, [row])
    return ids[0] if ids else None
