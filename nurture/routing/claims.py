"""Routing's SQL where SQLite and PostgreSQL differ: reading a batch, claiming its leads,
logging the assignments.

Two workers never assign a lead twice:

* a batch is read in id order after the last one (keyset); on PostgreSQL with ``FOR UPDATE
  SKIP LOCKED``, so a second worker skips the rows the first one holds;
* a lead is claimed with a conditional ``UPDATE ... WHERE owner_id IS NULL`` (or, when it
  moves, ``= old owner``) ``RETURNING id``, one statement per (new owner, old owner) in the
  batch: only what the statement returns was claimed, and only that is logged and tasked.

PostgreSQL gets one array parameter per statement instead of thousands of scalars, and the
assignment log in one ``INSERT ... SELECT FROM unnest(...)``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Table, and_, bindparam, insert, text, update
from sqlalchemy.orm import Session

from nurture.db.base import UTCDateTime
from nurture.db.leads import Lead
from nurture.db.sql import is_postgres
from nurture.db.team import Assignment
from nurture.routing.engine import Decision
from nurture.routing.facts import lead_id_of, open_leads


def batches(session: Session, base: Any, batch_size: int) -> Iterator[Sequence[Any]]:
    """Rows of ``base`` (a SELECT over leads) in batches of ``batch_size``, in id order."""
    last = 0
    lock = is_postgres(session)
    while True:
        stmt = base.where(Lead.id > last).order_by(Lead.id).limit(batch_size)
        if lock:
            stmt = stmt.with_for_update(skip_locked=True, of=Lead)
        rows = session.execute(stmt).all()
        if not rows:
            return
        yield rows
        last = lead_id_of(rows[-1])


def _groups(
    decisions: Sequence[Decision], olds: Sequence[int | None]
) -> dict[tuple[int, int | None], list[int]]:
    groups: dict[tuple[int, int | None], list[int]] = defaultdict(list)
    for d, old in zip(decisions, olds, strict=True):
        groups[(d.manager_id, old)].append(d.lead_id)
    return groups


def claim(
    session: Session,
    decisions: Sequence[Decision],
    olds: Sequence[int | None],
    *,
    now: datetime,
) -> set[int]:
    """Give each decided lead its new owner where it still has the owner it was read with
    (``olds``: None for an unowned lead). Returns the ids claimed."""
    if is_postgres(session):
        return _claim_pg(session, decisions, olds, now)
    claimed: set[int] = set()
    for (manager_id, old), ids in _groups(decisions, olds).items():
        if old is None:
            where = and_(Lead.id.in_(ids), Lead.owner_id.is_(None), open_leads())
            values: dict[str, Any] = {"owner_id": manager_id, "updated_at": now}
        else:
            where = and_(Lead.id.in_(ids), Lead.owner_id == old, open_leads())
            values = {"owner_id": manager_id, "previous_owner_id": old, "updated_at": now}
        claimed.update(
            session.execute(update(Lead).where(where).values(**values).returning(Lead.id)).scalars()
        )
    return claimed


# "+ 0" keeps PostgreSQL on the primary key. Without statistics (right after a big import)
# it would scan ix_leads_owner_status and test every row against the whole array: quadratic
# in the batch. Status and merge were checked by the batch's SELECT ... FOR UPDATE, whose
# row locks this transaction holds.
_CLAIM_UNOWNED = text(
    """
    UPDATE leads SET owner_id = :mid, updated_at = :now
    WHERE id = ANY(CAST(:ids AS integer[])) AND (owner_id + 0) IS NULL
    RETURNING id
    """
).bindparams(bindparam("now", type_=UTCDateTime()))
_CLAIM_MOVED = text(
    """
    UPDATE leads SET owner_id = :mid, previous_owner_id = :old, updated_at = :now
    WHERE id = ANY(CAST(:ids AS integer[])) AND (owner_id + 0) = :old
    RETURNING id
    """
).bindparams(bindparam("now", type_=UTCDateTime()))


def _claim_pg(
    session: Session, decisions: Sequence[Decision], olds: Sequence[int | None], now: datetime
) -> set[int]:
    claimed: set[int] = set()
    for (manager_id, old), ids in _groups(decisions, olds).items():
        params: dict[str, Any] = {"mid": manager_id, "ids": ids, "now": now}
        if old is None:
            claimed.update(session.execute(_CLAIM_UNOWNED, params).scalars())
        else:
            claimed.update(session.execute(_CLAIM_MOVED, {**params, "old": old}).scalars())
    return claimed


#: Columns of the assignment log a batch writes (``assigned_at`` is the run's ``now``).
LOG_COLUMNS = (
    "lead_id",
    "manager_id",
    "team_id",
    "kind",
    "rule_name",
    "reason",
    "round_robin",
    "previous_manager_id",
)

_LOG_PG = text(
    """
    INSERT INTO assignments (lead_id, manager_id, team_id, kind, rule_name, reason,
                             round_robin, previous_manager_id, assigned_at)
    SELECT u.*, :now FROM unnest(
        CAST(:lead_id AS integer[]), CAST(:manager_id AS integer[]),
        CAST(:team_id AS integer[]), CAST(:kind AS varchar[]),
        CAST(:rule_name AS varchar[]), CAST(:reason AS text[]),
        CAST(:round_robin AS boolean[]), CAST(:previous_manager_id AS integer[])
    ) AS u
    """
).bindparams(bindparam("now", type_=UTCDateTime()))


def log_assignments(session: Session, log: dict[str, list[Any]], *, now: datetime) -> None:
    """Append a batch to the assignment log: ``log`` holds one list per
    :data:`LOG_COLUMNS` name, all of the same length."""
    if is_postgres(session):
        session.execute(_LOG_PG, {**log, "now": now})
        return
    table: Table = Assignment.__table__  # type: ignore[assignment]
    names = (*LOG_COLUMNS, "assigned_at")
    columns = [log[name] for name in LOG_COLUMNS]
    session.execute(
        insert(table),
        [dict(zip(names, (*row, now), strict=True)) for row in zip(*columns, strict=True)],
    )
