"""Taking an erased person out of rows that belong to someone else: a manager's digest or
escalation e-mail that lists them, another client's task note or deal field that names them,
an event of someone else's deal that mentions their address.

:data:`SCRUBBED` lists every column where free text or JSON about people lands. Each table
is searched once, in SQL, for any of the person's :class:`~nurture.privacy.redact.Needles`
(a ``LIKE`` per needle on the lower-cased text of the columns); the rows found are redacted
in Python (:func:`~nurture.privacy.redact.redact`) and written back in one executemany
``UPDATE``. A document whose HTML is redacted loses its PDF (the PDF cannot be edited: render
the document again).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.orm import Session

from nurture.db.base import Base
from nurture.privacy.erase import Erasure
from nurture.privacy.redact import Needles, redact
from nurture.privacy.sqlfuncs import mentioned_in

__all__ = ["SCRUBBED", "scrub_mentions"]

#: table -> the columns that may mention a person (text or JSON).
SCRUBBED: dict[str, tuple[str, ...]] = {
    "leads": ("extra",),
    "lead_sources": ("raw",),
    "lead_merges": ("reason", "snapshot"),
    "possible_duplicates": ("reason",),
    "tasks": ("title", "instructions", "note", "outcome", "outcome_values", "cancel_reason"),
    "outbox": ("context", "last_error"),
    "event_log": ("data", "actor"),
    "deals": ("fields", "close_reason"),
    "documents": ("html", "context", "title"),
    "approvals": ("comment",),
    "step_runs": ("result", "last_error"),
    "outbound_requests": ("payload", "last_error"),
    "engagements": ("detail",),
    "suppressions": ("detail",),
    "quarantine": ("reasons",),
    "api_requests": ("response",),
}


def _table(name: str) -> Table:
    return Base.metadata.tables[name]


def scrub_mentions(session: Session, needles: Needles, out: Erasure) -> None:
    """Redact every mention of the person in :data:`SCRUBBED` (caller's transaction)."""
    if not needles:
        return
    patterns = needles.like_patterns()
    for name, columns in SCRUBBED.items():
        table = _table(name)
        cols = [table.c[c] for c in columns]
        extra = [table.c.dedupe_key] if name == "outbox" else []
        found = mentioned_in(cols, patterns)
        changes: list[dict[str, Any]] = []
        for row in session.execute(select(table.c.id, *cols, *extra).where(found)):
            values = {c: getattr(row, c) for c in columns}
            cleaned = {c: redact(v, needles) for c, v in values.items()}
            if cleaned == values:
                continue
            change = {"b_id": row.id, **{f"b_{c}": v for c, v in cleaned.items()}}
            if name == "documents":
                change["b_pdf"] = None
            changes.append(change)
            if name == "outbox":
                out.outbox_keys.add(row.dedupe_key)
        if not changes:
            continue
        targets: dict[str, Any] = {c: bindparam(f"b_{c}") for c in columns}
        if name == "documents":
            targets["pdf"] = bindparam("b_pdf")
        session.execute(
            update(table).where(table.c.id == bindparam("b_id")).values(targets), changes
        )
        out.redacted[name] += len(changes)
