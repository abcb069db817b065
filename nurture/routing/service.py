"""Routing runs: every open lead without an owner gets one, and the open leads of absent or
departed managers move on.

Everything here runs inside the caller's transaction (never commits). A run is a loop over
keyset batches of leads: read the batch and the facts rules test
(:mod:`nurture.routing.facts`), decide on plain data (:mod:`nurture.routing.engine`), then
claim, log and task (:mod:`nurture.routing.writer`, backend SQL in
:mod:`nurture.routing.claims`).

Two workers are safe: a run first takes the routing lock (a transaction-scoped advisory
lock on PostgreSQL; on SQLite its first statement is a write, which takes the database's
write lock), and a lead is claimed only where it still has the owner it was read with, so
a lead is never assigned twice.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from nurture.config import get_settings
from nurture.db.leads import Lead
from nurture.db.sql import advisory_xact_lock, refresh_statistics
from nurture.db.team import Team
from nurture.routing.claims import batches
from nurture.routing.engine import Decision
from nurture.routing.facts import (
    BATCH_COLUMNS,
    last_owners,
    lead_facts,
    lead_id_of,
    open_leads,
    owner_of,
    previous_owner_of,
)
from nurture.routing.roster import load_router
from nurture.routing.summary import RoutingSummary
from nurture.routing.writer import AssignmentWriter


def take_lock(session: Session) -> None:
    """Serialise routing runs (two workers: the second waits, then finds nothing to do)."""
    advisory_xact_lock(session, "routing")
    # SQLite: a write as the first statement holds the write lock for the transaction
    # (PostgreSQL: a no-op)
    session.execute(update(Team).where(Team.id < 0).values(name=Team.name))


def refresh_lead_statistics(session: Session) -> None:
    """PostgreSQL: analyse ``leads`` when much of it changed since its statistics were taken
    (e.g. right after a big import), so batch statements probe by primary key instead of
    scanning."""
    refresh_statistics(session, (Lead.__tablename__,), grown_share=0.2, grown_rows=10_000)


def count_unassigned(session: Session) -> int:
    """Open, unmerged leads without an owner."""
    return int(
        session.execute(
            select(func.count()).select_from(Lead).where(Lead.owner_id.is_(None), open_leads())
        ).scalar_one()
    )


def route_unassigned(
    session: Session, *, now: datetime, batch_size: int | None = None
) -> RoutingSummary:
    """Assign every open, non-merged lead without an owner and create first-contact tasks.
    Idempotent; safe with two workers at once."""
    if now.tzinfo is None:
        raise ValueError("now must be an aware datetime")
    summary = RoutingSummary()
    take_lock(session)
    router = load_router(session, now=now)
    if router is None:
        summary.unassigned = count_unassigned(session)
        return summary
    refresh_lead_statistics(session)
    size = batch_size or get_settings().batch_size
    writer = AssignmentWriter(session, router, now, summary)
    base = select(*BATCH_COLUMNS).where(Lead.owner_id.is_(None), open_leads())
    for rows in batches(session, base, size):
        facts = lead_facts(session, router, rows)
        history = last_owners(
            session, [lead_id_of(r) for r in rows if previous_owner_of(r) is None]
        )
        decisions: list[Decision] = []
        for r in rows:
            lead_id = lead_id_of(r)
            previous = previous_owner_of(r) or history.get(lead_id)
            d = router.decide(facts[lead_id], previous_owner_id=previous)
            if d is not None:
                decisions.append(d)
        writer.apply(decisions)
    writer.save_credits()
    summary.unassigned = count_unassigned(session)
    return summary


def rebalance(session: Session, *, now: datetime, batch_size: int | None = None) -> RoutingSummary:
    """Redistribute the open leads of absent and departed managers by the same rules."""
    summary = RoutingSummary()
    take_lock(session)
    router = load_router(session, now=now)
    if router is None:
        return summary
    away = {m.id: m for m in router.managers.values() if not m.available}
    if not away:
        summary.unassigned = count_unassigned(session)
        return summary
    size = batch_size or get_settings().batch_size
    writer = AssignmentWriter(session, router, now, summary)
    base = select(*BATCH_COLUMNS).where(Lead.owner_id.in_(list(away)), open_leads())
    for rows in batches(session, base, size):
        facts = lead_facts(session, router, rows)
        decisions = []
        for r in rows:
            old = away[owner_of(r)]
            prefix = f"rebalance from {old.name} ({old.unavailable_reason()}): "
            d = router.decide(facts[lead_id_of(r)], kind="rebalance", prefix=prefix)
            if d is not None:
                decisions.append(d)
        writer.apply(decisions, from_owner={lead_id_of(r): owner_of(r) for r in rows})
    writer.save_credits()
    summary.unassigned = count_unassigned(session)
    return summary
