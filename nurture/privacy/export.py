"""Everything stored about one person, as one JSON document: the answer to a request under
GDPR article 15 or 152-FZ article 14 (the right of access).

The document has one section per kind of record, each a list of rows with their columns as
stored (times in ISO 8601 UTC), and an ``about`` section saying in English and Russian what
it is. Large binary content (documents' PDFs) is listed, not included: the documents can be
sent to the person with ``nurture doc pdf``.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Table, func, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from nurture.db import (
    Assignment,
    Deal,
    Document,
    Engagement,
    Enrollment,
    Event,
    Lead,
    LeadMerge,
    LeadScore,
    LeadSource,
    Manager,
    OutboundRequest,
    OutboxMessage,
    ProcessEvent,
    Purchase,
    QuarantineRow,
    Suppression,
    Task,
    Touch,
)
from nurture.db.leads import LEAD_FIELDS
from nurture.errors import NotFoundError
from nurture.privacy.forgotten import forgotten_among
from nurture.privacy.hashing import contact_digest, current_salt
from nurture.privacy.person import Person
from nurture.privacy.redact import mentions
from nurture.privacy.sqlfuncs import mentioned_in

__all__ = ["FORMAT", "export_person"]

FORMAT = "nurture.person-export/1"
ABOUT = {
    "en": (
        "Everything Nurture stores about you: your contact data, where we met you, the "
        "e-mails we sent and planned, the tasks of our staff about you, your deals, "
        "documents, purchases, scores and your consent state. Sent on your request "
        "(GDPR art. 15; 152-FZ art. 14)."
    ),
    "ru": (
        "Все данные о вас, которые хранит Nurture: контактные данные, где мы с вами "
        "познакомились, отправленные и запланированные письма, задачи сотрудников по вам, "
        "сделки, документы, покупки, оценки и согласия. Предоставлено по вашему запросу "
        "(ст. 14 152-ФЗ; ст. 15 GDPR)."
    ),
}
#: Columns never exported: binary content and internal bookkeeping of other systems.
SKIPPED = {"pdf", "html", "claimed_by", "claimed_at", "public_token"}


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, bytes):
        return None
    return value


def _rows(session: Session, model: Any, where: ColumnElement[bool]) -> list[dict[str, Any]]:
    table: Table = model.__table__
    cols = [c for c in table.c if c.name not in SKIPPED]
    key = table.c.id if "id" in table.c else cols[0]
    return [
        {k: _plain(v) for k, v in row._mapping.items()}
        for row in session.execute(select(*cols).where(where).order_by(key))
    ]


def _sources(session: Session, ids: list[int]) -> list[dict[str, Any]]:
    out = []
    for src in _rows(session, LeadSource, LeadSource.lead_id.in_(ids)):
        event = session.get(Event, src["event_id"])
        if event is not None:
            src["event"] = {
                "name": event.name,
                "kind": event.kind,
                "date": _plain(event.event_date),
            }
        out.append(src)
    return out


def _quarantine(session: Session, person: Person) -> list[dict[str, Any]]:
    needles = person.needles()
    if not needles:
        return []
    rows = _rows(session, QuarantineRow, mentioned_in([QuarantineRow.raw], needles.like_patterns()))
    return [r for r in rows if mentions(r["raw"], needles)]


def _assignments(session: Session, ids: list[int]) -> list[dict[str, Any]]:
    rows = _rows(session, Assignment, Assignment.lead_id.in_(ids))
    managers = {
        m.id: m
        for m in session.scalars(
            select(Manager).where(Manager.id.in_({r["manager_id"] for r in rows}))
        )
    }
    for r in rows:
        m = managers.get(r["manager_id"])
        r["manager"] = {"name": m.name, "email": m.email} if m else None
    return rows


def export_person(session: Session, person: Person, *, now: datetime) -> dict[str, Any]:
    """The person's document. Raises :class:`NotFoundError` when nothing is stored."""
    ids = list(person.lead_ids)
    emails = list(person.emails)
    quarantine = _quarantine(session, person)
    suppressions = _rows(session, Suppression, func.lower(Suppression.email).in_(emails))
    salt = current_salt()
    forgotten = bool(
        forgotten_among(session, [contact_digest(k, v, salt) for k, v in person.contacts()])
    )
    if not ids and not quarantine and not suppressions:
        raise NotFoundError(
            f"nothing is stored about {person.asked}"
            + (" (the person was forgotten)" if forgotten else "")
        )
    deals = [int(i) for i in session.scalars(select(Deal.id).where(Deal.lead_id.in_(ids)))]
    tasks = Task.lead_id.in_(ids) | Task.deal_id.in_(deals)
    outbox = OutboxMessage.lead_id.in_(ids) | func.lower(OutboxMessage.to_addr).in_(emails)
    return {
        "format": FORMAT,
        "generated_at": now.isoformat(),
        "about": ABOUT,
        "asked_for": person.asked,
        "labels": {f.name: {"en": f.en, "ru": f.ru} for f in LEAD_FIELDS},
        "leads": _rows(session, Lead, Lead.id.in_(ids)),
        "merges": _rows(
            session, LeadMerge, or_(LeadMerge.survivor_id.in_(ids), LeadMerge.merged_id.in_(ids))
        ),
        "sources": _sources(session, ids),
        "quarantine": quarantine,
        "enrolments": _rows(session, Enrollment, Enrollment.lead_id.in_(ids)),
        "touches": _rows(session, Touch, Touch.lead_id.in_(ids)),
        "emails": _rows(session, OutboxMessage, outbox),
        "engagements": _rows(session, Engagement, Engagement.lead_id.in_(ids)),
        "tasks": _rows(session, Task, tasks),
        "deals": _rows(session, Deal, Deal.id.in_(deals)),
        "documents": _rows(
            session, Document, Document.lead_id.in_(ids) | Document.deal_id.in_(deals)
        ),
        "requests": _rows(
            session,
            OutboundRequest,
            OutboundRequest.lead_id.in_(ids) | OutboundRequest.deal_id.in_(deals),
        ),
        "events": _rows(
            session, ProcessEvent, ProcessEvent.lead_id.in_(ids) | ProcessEvent.deal_id.in_(deals)
        ),
        "scores": _rows(session, LeadScore, LeadScore.lead_id.in_(ids)),
        "assignments": _assignments(session, ids),
        "purchases": _rows(session, Purchase, Purchase.lead_id.in_(ids)),
        "consent": {
            "suppressions": suppressions,
            "leads": [
                {
                    "lead_id": lead.id,
                    "do_not_contact": lead.do_not_contact,
                    "unsubscribed_at": _plain(lead.unsubscribed_at),
                    "email_status": lead.email_status,
                }
                for lead in session.scalars(select(Lead).where(Lead.id.in_(ids)).order_by(Lead.id))
            ],
            "forgotten": forgotten,
        },
    }
