"""What routing reads of the leads it routes, by field name.

A batch is read as rows of :data:`BATCH_COLUMNS`: the lead's id, owner and previous owner,
then the facts rules test (:data:`nurture.db.leads.ROUTING_FIELDS`). Values are taken
from a row by getters built once from those names, so adding a routing field to
``LEAD_FIELDS`` (and to :class:`~nurture.routing.rules.LeadFacts`) is all it takes.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from operator import itemgetter
from typing import Any

from sqlalchemy import ColumnElement, and_, func, select
from sqlalchemy.orm import Session

from nurture.db.leads import ROUTING_FIELDS, Event, Lead, LeadSource
from nurture.db.scoring import LeadScore
from nurture.db.team import Assignment
from nurture.routing.engine import Router
from nurture.routing.rules import LeadFacts

#: Columns of a batch row, by name: identity and ownership first, then the routing facts.
COLUMNS: tuple[str, ...] = ("id", "owner_id", "previous_owner_id", *ROUTING_FIELDS)
BATCH_COLUMNS = tuple(getattr(Lead, name) for name in COLUMNS)
_AT = {name: i for i, name in enumerate(COLUMNS)}

lead_id_of = itemgetter(_AT["id"])
owner_of = itemgetter(_AT["owner_id"])
previous_owner_of = itemgetter(_AT["previous_owner_id"])
_facts_of = itemgetter(*(_AT[name] for name in ROUTING_FIELDS))


def open_leads() -> ColumnElement[bool]:
    """Leads routing may own: open and not merged."""
    return and_(Lead.status == "open", Lead.merged_into_id.is_(None))


def lead_facts(session: Session, router: Router, rows: Sequence[Any]) -> dict[int, LeadFacts]:
    """The facts of each lead of a batch, with event kinds and the latest score when a rule
    tests them (one query each for the batch)."""
    ids = [lead_id_of(r) for r in rows]
    kinds: dict[int, set[str]] = defaultdict(set)
    if router.needs_event_kind:
        for lead_id, kind in session.execute(
            select(LeadSource.lead_id, Event.kind)
            .join(Event, Event.id == LeadSource.event_id)
            .where(LeadSource.lead_id.in_(ids))
        ):
            kinds[lead_id].add(kind)
    scores: dict[int, tuple[datetime, float]] = {}
    if router.needs_score:
        for lead_id, p, at in session.execute(
            select(LeadScore.lead_id, LeadScore.p_purchase, LeadScore.scored_at).where(
                LeadScore.lead_id.in_(ids)
            )
        ):
            if lead_id not in scores or at > scores[lead_id][0]:
                scores[lead_id] = (at, p)
    no_kinds: frozenset[str] = frozenset()
    out: dict[int, LeadFacts] = {}
    for r, lead_id in zip(rows, ids, strict=True):
        out[lead_id] = LeadFacts(
            lead_id,
            event_kinds=frozenset(kinds[lead_id]) if lead_id in kinds else no_kinds,
            score=scores[lead_id][1] if lead_id in scores else None,
            **dict(zip(ROUTING_FIELDS, _facts_of(r), strict=True)),
        )
    return out


def last_owners(session: Session, ids: Sequence[int]) -> dict[int, int]:
    """Previous owner per lead from the assignment log (latest assignment)."""
    if not ids:
        return {}
    latest = (
        select(func.max(Assignment.id))
        .where(Assignment.lead_id.in_(ids))
        .group_by(Assignment.lead_id)
        .scalar_subquery()
    )
    return {
        lead_id: manager_id
        for lead_id, manager_id in session.execute(
            select(Assignment.lead_id, Assignment.manager_id).where(Assignment.id.in_(latest))
        )
    }
