"""Erasing one person's rows, table by table, in set-based statements (the caller's
transaction; never commits).

What happens to each table, and why, is the table in docs/privacy.md: the person's own rows
are deleted; an input row they came from stays accounted for as a quarantined placeholder
without its cells (``forgotten``), so the import's counts still add up; the event log keeps
a skeleton of their events (type, time, ids, stages and amounts) for the process analytics.
Rows of other people that mention them are handled by :mod:`nurture.privacy.scrub`.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Table, bindparam, delete, func, or_, select, update
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from nurture.db import (
    ApiRequest,
    Approval,
    Assignment,
    Deal,
    Document,
    Engagement,
    Enrollment,
    Escalation,
    ImportBatch,
    Lead,
    LeadMerge,
    LeadScore,
    LeadSource,
    LoginFailure,
    OutboundRequest,
    OutboxMessage,
    PossibleDuplicate,
    ProcessEvent,
    Purchase,
    QuarantineRow,
    StepRun,
    Suppression,
    Task,
    Touch,
)
from nurture.privacy.forgotten import FORGOTTEN_REASON
from nurture.privacy.person import Person
from nurture.privacy.redact import Needles, event_skeleton, mentions
from nurture.privacy.sqlfuncs import json_int, mentioned_in

__all__ = ["ERASED_TABLES", "Erasure", "erase_rows"]

#: The tables an erasure deletes from (or, for ``quarantine``, turns rows into placeholders
#: in), in the order of the report.
ERASED_TABLES: tuple[str, ...] = (
    "leads",
    "lead_sources",
    "quarantine",
    "lead_merges",
    "possible_duplicates",
    "enrollments",
    "touches",
    "outbox",
    "engagements",
    "suppressions",
    "tasks",
    "escalations",
    "deals",
    "documents",
    "approvals",
    "step_runs",
    "outbound_requests",
    "lead_scores",
    "assignments",
    "purchases",
    "api_requests",
    "web_login_failures",
)


def _t(model: Any) -> Table:
    table: Table = model.__table__
    return table


@dataclass
class Erasure:
    """What an erasure did: rows erased (deleted, or turned into a placeholder) and rows
    redacted (kept, the person taken out) per table, and the outbox keys whose ``.eml``
    files are to be removed once the transaction has committed."""

    erased: Counter[str] = field(default_factory=Counter)
    redacted: Counter[str] = field(default_factory=Counter)
    outbox_keys: set[str] = field(default_factory=set)

    @property
    def tables(self) -> set[str]:
        return {t for t, n in (self.erased + self.redacted).items() if n}


def _ids(session: Session, column: Any, where: ColumnElement[bool]) -> list[int]:
    return [int(i) for i in session.scalars(select(column).where(where))]


def _delete(session: Session, out: Erasure, model: Any, where: ColumnElement[bool]) -> None:
    table = _t(model)
    result = session.execute(delete(table).where(where))
    out.erased[table.name] += int(result.rowcount or 0)  # type: ignore[attr-defined]


def _placeholders(session: Session, out: Erasure, ids: list[int], now: datetime) -> None:
    """The person's input rows become quarantined placeholders without their cells."""
    sources = _t(LeadSource)
    rows = session.execute(
        select(
            sources.c.id,
            sources.c.batch_id,
            sources.c.row_number,
            sources.c.file_name,
            sources.c.outcome,
        ).where(sources.c.lead_id.in_(ids))
    ).all()
    if not rows:
        return
    session.execute(
        _t(QuarantineRow).insert(),
        [
            {
                "batch_id": r.batch_id,
                "row_number": r.row_number,
                "file_name": r.file_name,
                "raw": None,
                "reasons": [FORGOTTEN_REASON],
                "created_at": now,
                "resolved_at": None,
            }
            for r in rows
        ],
    )
    moved: Counter[tuple[int, str]] = Counter((r.batch_id, r.outcome) for r in rows)
    batches = _t(ImportBatch)
    for (batch_id, outcome), n in sorted(moved.items()):
        counter = batches.c.created if outcome == "created" else batches.c.merged
        session.execute(
            update(batches)
            .where(batches.c.id == batch_id)
            .values({counter: counter - n, batches.c.quarantined: batches.c.quarantined + n})
        )
    _delete(session, out, LeadSource, sources.c.id.in_([r.id for r in rows]))


def _quarantine(session: Session, out: Erasure, needles: Needles) -> None:
    """Quarantined rows that hold the person's cells: placeholders too."""
    if not needles:
        return
    q = _t(QuarantineRow)
    hits = session.execute(
        select(q.c.id, q.c.raw).where(mentioned_in([q.c.raw], needles.like_patterns()))
    ).all()
    ids = [r.id for r in hits if mentions(r.raw, needles)]
    if ids:
        session.execute(
            update(q).where(q.c.id.in_(ids)).values(raw=None, reasons=[FORGOTTEN_REASON])
        )
        out.erased[q.name] += len(ids)


def _events(session: Session, out: Erasure, where: ColumnElement[bool], needles: Needles) -> None:
    """The person's event-log rows keep their skeleton (see the module doc)."""
    log = _t(ProcessEvent)
    rows = session.execute(select(log.c.id, log.c.data, log.c.actor).where(where)).all()
    changes = []
    for r in rows:
        data = event_skeleton(r.data, needles)
        actor = needles.scrub(r.actor) if r.actor else r.actor
        if data != r.data or actor != r.actor:
            changes.append({"b_id": r.id, "b_data": data, "b_actor": actor})
    if changes:
        session.execute(
            update(log)
            .where(log.c.id == bindparam("b_id"))
            .values(data=bindparam("b_data"), actor=bindparam("b_actor")),
            changes,
        )
        out.redacted[log.name] += len(changes)


def erase_rows(session: Session, person: Person, *, now: datetime) -> Erasure:
    """Delete or neutralise every row of ``person`` (see the module doc)."""
    out = Erasure()
    ids = list(person.lead_ids)
    emails = list(person.emails)
    needles = person.needles()
    deals = _ids(session, Deal.id, Deal.lead_id.in_(ids))
    tasks = _ids(session, Task.id, or_(Task.lead_id.in_(ids), Task.deal_id.in_(deals)))
    docs = _ids(session, Document.id, or_(Document.lead_id.in_(ids), Document.deal_id.in_(deals)))
    enrolments = _ids(session, Enrollment.id, Enrollment.lead_id.in_(ids))
    outbox = _t(OutboxMessage)
    mail_of_person = or_(outbox.c.lead_id.in_(ids), func.lower(outbox.c.to_addr).in_(emails))
    out.outbox_keys.update(session.scalars(select(outbox.c.dedupe_key).where(mail_of_person)))

    log = _t(ProcessEvent)
    _events(
        session,
        out,
        or_(log.c.lead_id.in_(ids), log.c.deal_id.in_(deals), log.c.task_id.in_(tasks)),
        needles,
    )
    _delete(session, out, Approval, Approval.document_id.in_(docs))
    _delete(session, out, Document, Document.id.in_(docs))
    _delete(session, out, StepRun, StepRun.deal_id.in_(deals))
    _delete(
        session,
        out,
        OutboundRequest,
        or_(OutboundRequest.deal_id.in_(deals), OutboundRequest.lead_id.in_(ids)),
    )
    _delete(
        session,
        out,
        Escalation,
        or_(
            Escalation.task_id.in_(tasks),
            Escalation.lead_id.in_(ids),
            Escalation.deal_id.in_(deals),
        ),
    )
    _delete(session, out, Task, Task.id.in_(tasks))
    _delete(session, out, Touch, or_(Touch.lead_id.in_(ids), Touch.enrollment_id.in_(enrolments)))
    _delete(session, out, Enrollment, Enrollment.id.in_(enrolments))
    _delete(session, out, OutboxMessage, mail_of_person)
    for model in (Engagement, Purchase, LeadScore, Assignment):
        _delete(session, out, model, model.lead_id.in_(ids))
    _delete(session, out, Deal, Deal.id.in_(deals))
    _delete(
        session,
        out,
        PossibleDuplicate,
        or_(PossibleDuplicate.lead_id.in_(ids), PossibleDuplicate.candidate_id.in_(ids)),
    )
    _delete(
        session, out, LeadMerge, or_(LeadMerge.survivor_id.in_(ids), LeadMerge.merged_id.in_(ids))
    )
    _placeholders(session, out, ids, now)
    _quarantine(session, out, needles)
    _delete(session, out, Suppression, func.lower(Suppression.email).in_(emails))
    if ids:
        requests = _t(ApiRequest)
        bind = session.connection()
        _delete(session, out, ApiRequest, json_int(bind, requests.c.response, "lead_id").in_(ids))
    _delete(session, out, LoginFailure, LoginFailure.key.in_([f"email:{e}" for e in emails]))
    if ids:
        leads = _t(Lead)
        session.execute(update(leads).where(leads.c.id.in_(ids)).values(merged_into_id=None))
        _delete(session, out, Lead, leads.c.id.in_(ids))
    return out
