"""The mail capability's SQL that PostgreSQL and SQLite spell differently: one function per
difference, each used the same way by the outbox whatever the backend.

Like :mod:`nurture.cadence.sqlfuncs`, this is the only module of ``nurture.mail`` that asks
which backend it talks to (through :func:`nurture.db.sql.is_postgres`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, Select, Table, select, union_all
from sqlalchemy.orm import Session

from nurture.db.sql import is_postgres

__all__ = ["due_ids", "is_process_local"]


def due_ids(
    session: Session, table: Table, *, statuses: Sequence[str], now: datetime, limit: int
) -> tuple[Select[Any], bool]:
    """``SELECT id`` of up to ``limit`` due rows (``status`` in ``statuses``,
    ``next_attempt_at <= now``), oldest first, for a claiming ``UPDATE ... WHERE id IN (...)``.

    Returns the query and whether the ``UPDATE`` must check the status again.

    PostgreSQL: ``FOR UPDATE SKIP LOCKED``, so two senders never get the same row (a row
    another sender has just claimed may still match the subquery's snapshot: the ``UPDATE``
    checks the status again). SQLite has one writer at a time, so the statement alone is
    atomic; its subquery reads each status along the ``(status, next_attempt_at)`` index and
    stops after ``limit`` rows, then merges: one ``status IN (...)`` would sort every due row
    on each claim, which grows with the square of a big send.
    """
    t = table
    if is_postgres(session):
        query = (
            select(t.c.id)
            .where(t.c.status.in_(statuses), t.c.next_attempt_at <= now)
            .order_by(t.c.next_attempt_at, t.c.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return query, True
    per_status = [
        select(t.c.id, t.c.next_attempt_at)
        .where(t.c.status == status, t.c.next_attempt_at <= now)
        .order_by(t.c.next_attempt_at, t.c.id)
        .limit(limit)
        .subquery()
        for status in statuses
    ]
    merged = union_all(*(select(q.c.id, q.c.next_attempt_at) for q in per_status)).subquery()
    query = select(merged.c.id).order_by(merged.c.next_attempt_at, merged.c.id).limit(limit)
    return query, False


def is_process_local(engine: Engine) -> bool:
    """Whether the database lives only in this process (in-memory SQLite): another process
    (a render worker) cannot open it."""
    url = engine.url
    return not is_postgres(engine) and url.database in (None, "", ":memory:")
