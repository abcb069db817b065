"""Enrolment: which open leads a campaign takes, set-based.

A campaign's audience (event kinds or sources, segments, the ``where`` filter) becomes one
SQL condition over ``leads``; :func:`enrol` inserts an enrolment for every matching open
lead in one ``INSERT ... SELECT ... ON CONFLICT DO NOTHING`` (unique per lead, campaign and
cycle), so a second run or a second worker enrols nobody twice.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, exists, func, literal, not_, or_, select, true
from sqlalchemy.orm import Session, aliased

from nurture.cadence.campaigns import CampaignSpec
from nurture.cadence.filters import compile_filter
from nurture.cadence.guard import CampaignGuard
from nurture.cadence.statements import affected, ts
from nurture.db.cadence import Campaign, Enrollment
from nurture.db.leads import Event, Lead, LeadSource
from nurture.db.sql import dialect_insert


def audience_condition(spec: CampaignSpec) -> ColumnElement[bool]:
    """Which leads a campaign's audience selects (event kinds/sources, segments, filter)."""
    aud = spec.audience
    parts: list[ColumnElement[bool]] = []
    if aud.event_kinds or aud.sources:
        ev: list[ColumnElement[bool]] = []
        if aud.event_kinds:
            ev.append(Event.kind.in_(aud.event_kinds))
        if aud.sources:
            ev.append(or_(Event.key.in_(aud.sources), Event.name.in_(aud.sources)))
        parts.append(
            exists(
                select(LeadSource.id)
                .join(Event, Event.id == LeadSource.event_id)
                .where(LeadSource.lead_id == Lead.id, or_(*ev))
            )
        )
    if aud.segments:
        parts.append(Lead.segment.in_(aud.segments))
    if aud.where:
        parts.append(compile_filter(aud.where))
    return and_(true(), *parts)


def contactable() -> ColumnElement[bool]:
    return and_(
        Lead.merged_into_id.is_(None),
        Lead.status == "open",
        Lead.do_not_contact.is_(False),
    )


def enrol(
    session: Session,
    campaign: Campaign,
    spec: CampaignSpec,
    *,
    now: datetime,
    condition: ColumnElement[bool],
    first_time_only: bool,
) -> int:
    """Enrol every matching open lead without an active enrolment in ``campaign``.

    ``first_time_only``: only leads never enrolled in it (automatic enrolment); otherwise a
    lead whose earlier enrolment finished starts a new cycle (manual enrolment).
    """
    first = spec.steps[0]
    prior = aliased(Enrollment)
    max_cycle = (
        select(func.coalesce(func.max(prior.cycle), 0))
        .where(prior.lead_id == Lead.id, prior.campaign_id == campaign.id)
        .scalar_subquery()
    )
    busy = Lead.id.in_(
        select(prior.lead_id).where(
            prior.campaign_id == campaign.id,
            *([] if first_time_only else [prior.status == "active"]),
        )
    )
    due = ts(now + timedelta(days=first.delay_days))
    query = select(
        Lead.id,
        literal(campaign.id),
        literal(1) if first_time_only else max_cycle + 1,
        literal("active"),
        literal(0),
        due,
        ts(now),
    ).where(contactable(), condition, not_(busy))
    stmt = (
        dialect_insert(session, Enrollment)
        .from_select(
            [
                "lead_id",
                "campaign_id",
                "cycle",
                "status",
                "next_position",
                "next_due_at",
                "enrolled_at",
            ],
            query,
        )
        .on_conflict_do_nothing()
    )
    return affected(session, stmt)


def enrol_automatic(
    session: Session,
    specs: Iterable[tuple[Campaign, CampaignSpec]],
    *,
    now: datetime,
    guard: CampaignGuard | None = None,
) -> dict[str, int]:
    """Enrol leads into the campaigns bound to their events' kinds (or sources), each
    campaign under ``guard`` (by default: errors propagate)."""
    guard = guard or CampaignGuard(session, isolate=False)
    out: dict[str, int] = {}
    for campaign, spec in guard.live(specs):
        aud = spec.audience
        if not aud.auto_enroll or spec.dormant is not None:
            continue
        if not (aud.event_kinds or aud.sources):
            continue
        with guard.campaign(spec.slug):
            n = enrol(
                session,
                campaign,
                spec,
                now=now,
                condition=audience_condition(spec),
                first_time_only=True,
            )
            if n:
                out[spec.slug] = n
    return out
