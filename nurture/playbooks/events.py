"""The append-only event log of the sales process: what happened, when, to which lead, deal
and task, by whom.

Every change the playbooks capability makes is appended here in the same transaction as the
change itself, so the log and the tables never disagree. Analytics reads it with window
functions (indexes: lead and time, type and time, deal and time). Nothing updates or deletes
a row. Types are a closed vocabulary (:data:`EVENT_TYPES`); ``level`` is the escalation level
of ``task.escalated``; ``data`` carries the details named in each type's description.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Table, insert
from sqlalchemy.orm import Session

from nurture.db.playbooks import ProcessEvent

#: Actor of what Nurture itself does (escalations, reminders, automated steps).
SYSTEM = "nurture"

#: Every event type, with what its ``data`` holds.
EVENT_TYPES: dict[str, str] = {
    "task.created": "kind, title, due_at, deadline, assignee, stage, action",
    "task.reminded": "due_at, assignee",
    "task.done": "outcome (the form's values), note, late_seconds",
    "task.cancelled": "reason",
    "task.overdue": "due_at, assignee, deadline",
    "task.escalated": "level, action (notify|reassign), recipient, late_seconds",
    "task.reassigned": "from, to (e-mails), reason",
    "task.rescheduled": "from, to (due times), reason",
    "lead.replied": "note",
    "lead.note": "note",
    "lead.converted": "amount, currency",
    "lead.lost": "reason",
    "lead.closed": "reason",
    "lead.fallback_email": "task_id, campaign, template",
    "deal.opened": "playbook, version, stage, amount, currency, trigger",
    "deal.stage_changed": "from, to, reason (exit condition or manual)",
    "deal.won": "amount, currency",
    "deal.lost": "reason",
    "deal.closed": "reason",
    "deal.stalled": "stage, idle_seconds, recipient",
    "step.succeeded": "action, attempts, result",
    "step.failed": "action, attempts, error, retry_at",
    "step.dead": "action, attempts, error",
    "document.rendered": "document_id, key, revision",
    "document.approved": "document_id, revision, role, position",
    "document.rejected": "document_id, revision, role, comment",
    "document.sent": "document_id, revision, to",
    "request.queued": "request_id, kind, target",
    "request.delivered": "request_id, kind, target, attempts, status",
    "request.failed": "request_id, kind, target, attempts, error, retry_at",
    "request.dead": "request_id, kind, target, attempts, error",
    "digest.queued": "kind (daily|escalations), recipient, items",
}

_TABLE: Table = ProcessEvent.__table__  # type: ignore[assignment]


def event(
    type_: str,
    at: datetime,
    *,
    lead_id: int | None = None,
    deal_id: int | None = None,
    task_id: int | None = None,
    actor: str | None = None,
    level: int | None = None,
    data: Mapping[str, Any] | None = None,
    **fields: Any,
) -> dict[str, Any]:
    """One event-log row as plain data (``type_`` must be in :data:`EVENT_TYPES`); its
    details are ``data`` and the other keyword arguments."""
    data = {**(data or {}), **fields}
    if type_ not in EVENT_TYPES:
        raise ValueError(f"unknown event type {type_!r}")
    return {
        "at": at,
        "type": type_,
        "lead_id": lead_id,
        "deal_id": deal_id,
        "task_id": task_id,
        "actor": actor,
        "level": level,
        "data": _jsonable(data) if data else None,
    }


#: With RETURNING, SQLAlchemy sends many rows per statement ("insertmanyvalues") instead of
#: one statement per row, which PostgreSQL would plan one by one.
_INSERT = insert(_TABLE).returning(_TABLE.c.id)


def append(session: Session, rows: Iterable[Mapping[str, Any]]) -> int:
    """Append event rows (from :func:`event`) in batches; returns how many."""
    batch: list[Mapping[str, Any]] = []
    total = 0
    for row in rows:
        batch.append(row)
        if len(batch) == 5000:
            total += len(session.execute(_INSERT, batch).all())
            batch = []
    if batch:
        total += len(session.execute(_INSERT, batch).all())
    return total


def _jsonable(value: Any) -> Any:
    """Datetimes as ISO text (the column is JSON), containers recursively."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value
