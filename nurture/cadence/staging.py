"""Staging and deciding one pass of a campaign's plan in ``cadence_plan``.

:func:`stage` copies every due enrolment of the campaign into the scratch table with what
decides its touch: the lead's zone, country and slot hour, whether the step's condition
holds (evaluated once per row), the touch key, the address and the owner. :func:`decide`
then gives each staged row its send slot and its state in place: ``planned``, ``skipped``
(the step's condition is false) or ``shifted`` (the frequency cap refuses it).

Per-step constants (channel, conditions) are ``CASE position`` expressions inside one
statement, with the steps grouped by what decides whether they run, so a campaign's pass
is the same few statements whatever its number of steps.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    String,
    and_,
    case,
    exists,
    func,
    insert,
    literal,
    not_,
    null,
    select,
    true,
    update,
)
from sqlalchemy.orm import Session, aliased

from nurture.cadence.campaigns import CampaignSpec, Step
from nurture.cadence.filters import compile_filter
from nurture.cadence.scratch import PLAN, analyse_staged
from nurture.cadence.shards import Shard, shard_clause
from nurture.cadence.slots import SlotMap
from nurture.cadence.sqlfuncs import epoch_hour, touch_key
from nurture.cadence.statements import affected, int_literal, ts
from nurture.config import get_settings
from nurture.db.cadence import CadenceSlot, Campaign, Engagement, Enrollment, Touch
from nurture.db.leads import Lead
from nurture.db.mail import Suppression

#: Channels the frequency cap counts (a reminder is the owner's, not a touch of the lead).
CAPPED_CHANNELS = ("email", "call")

# Every pass of a campaign runs the same statements: each is built (and keyed for
# SQLAlchemy's compiled cache) once per campaign, not once per pass.
Memo = dict[str, Any]


def built(memo: Memo, key: str, build: Callable[[], Any]) -> Any:
    """The statement ``key`` of this campaign, built on first use."""
    if key not in memo:
        memo[key] = build()
    return memo[key]


def by_position(position: Any, values: list[Any], type_: Any = String) -> Any:
    """``CASE position WHEN 0 THEN values[0] ...``: a per-step constant inside one statement."""
    whens = {i: literal(v, type_) if v is not None else null() for i, v in enumerate(values)}
    return case(whens, value=position, else_=null())


def step_runs(spec: CampaignSpec, step: Step) -> ColumnElement[bool]:
    """Whether the step really happens for the joined lead (else it is skipped)."""
    parts: list[ColumnElement[bool]] = []
    if step.when:
        parts.append(compile_filter(step.when))
    if step.opened_previous is not None:
        opened = exists(
            select(Engagement.id).where(
                Engagement.lead_id == Lead.id,
                Engagement.kind == "open",
                Engagement.campaign_slug == spec.slug,
                Engagement.occurred_at >= Enrollment.enrolled_at,
            )
        )
        parts.append(opened if step.opened_previous else not_(opened))
    if step.channel == "email":
        parts += [
            Lead.email.is_not(None),
            Lead.email_status == "ok",
            Lead.unsubscribed_at.is_(None),
            Lead.do_not_contact.is_(False),
            not_(
                exists(
                    select(Suppression.id).where(
                        Suppression.email == Lead.email, Suppression.scope.in_(["*", spec.slug])
                    )
                )
            ),
        ]
    elif step.channel == "call":
        parts.append(Lead.do_not_contact.is_(False))
    return and_(true(), *parts)


def step_groups(spec: CampaignSpec) -> list[tuple[Step, list[int]]]:
    """Positions of the campaign grouped by what decides whether the step runs (channel,
    ``when``, ``opened_previous``): one SQL condition per group, not per step."""
    groups: dict[tuple[str, str | None, bool | None], list[int]] = {}
    for pos, step in enumerate(spec.steps):
        groups.setdefault((step.channel, step.when, step.opened_previous), []).append(pos)
    return [(spec.steps[positions[0]], positions) for positions in groups.values()]


def stage(
    session: Session,
    campaign: Campaign,
    spec: CampaignSpec,
    *,
    now: datetime,
    horizon: datetime,
    memo: Memo,
    shard: Shard | None = None,
) -> int:
    """Stage every due enrolment of ``campaign`` into ``cadence_plan`` (one statement): the
    lead's zone, country and slot hour, and whether the step's condition holds (evaluated
    once per row; NULL counts as false); with ``shard``, only the enrolments of its leads.
    Returns how many rows were staged."""

    def build() -> Any:
        settings = get_settings()
        pos = Enrollment.next_position
        now_hour = int(now.timestamp()) // 3600
        slot_hour = case(
            (Enrollment.next_due_at < ts(now), literal(now_hour)),
            else_=epoch_hour(Enrollment.next_due_at),
        )
        branches = [
            (
                pos.in_(positions),
                case((step_runs(spec, step), int_literal(1)), else_=int_literal(0)),
            )
            for step, positions in step_groups(spec)
        ]
        query = (
            select(
                Enrollment.id,
                Enrollment.lead_id,
                pos,
                by_position(pos, [s.channel for s in spec.steps]),
                Enrollment.next_due_at,
                Enrollment.next_due_at,
                literal("shifted"),
                case(*branches, else_=int_literal(0)),
                func.coalesce(Lead.timezone, literal(settings.timezone)),
                func.coalesce(Lead.country, literal(settings.default_region)),
                slot_hour,
                touch_key(spec.slug, Enrollment.lead_id, pos, Enrollment.cycle),
                Lead.email,
                Lead.owner_id,
            )
            .select_from(Enrollment)
            .join(Lead, Lead.id == Enrollment.lead_id)
            .where(
                Enrollment.campaign_id == campaign.id,
                Enrollment.status == "active",
                pos.between(0, len(spec.steps) - 1),  # one comparison, not an IN list
                Enrollment.next_due_at < horizon,
                *([shard_clause(Enrollment.lead_id, shard)] if shard else []),
            )
        )
        return insert(PLAN).from_select([c.name for c in PLAN.columns], query)

    n = affected(session, built(memo, "stage", build))
    if n:
        analyse_staged(session)
    return n


def decide(session: Session, spec: CampaignSpec, slots: SlotMap, memo: Memo) -> None:
    """Give each staged row its send slot in the lead's zone (written first for the zones
    the slot map lacks) and its state: ``skipped`` (the step's condition is false),
    ``shifted`` (the cap refuses it) or ``planned``. A row without a slot stays shifted."""
    p = PLAN.c
    window = spec.window.to_window()
    zones = session.execute(select(p.tz, p.country).distinct()).all()
    slots.add(session, window, [(tz, country) for tz, country in zones])

    def build() -> Any:
        t2 = aliased(Touch)
        near = (
            select(func.count(t2.id))
            .where(
                t2.lead_id == p.lead_id,
                t2.status.in_(["planned", "done"]),
                t2.channel.in_(CAPPED_CHANNELS),
                t2.scheduled_at > CadenceSlot.cap_from,
                t2.scheduled_at < CadenceSlot.cap_to,
            )
            .scalar_subquery()
        )
        state = case(
            (p.runs == 0, literal("skipped")),
            (and_(p.channel.in_(CAPPED_CHANNELS), near >= slots.cap.limit), literal("shifted")),
            else_=literal("planned"),
        )
        return (
            update(PLAN)
            .where(
                CadenceSlot.run_id == slots.run_id,
                CadenceSlot.window_key == window.key,
                CadenceSlot.tz == p.tz,
                CadenceSlot.country == p.country,
                CadenceSlot.hour == p.hour,
            )
            .values(scheduled_at=CadenceSlot.scheduled_at, state=state)
        )

    session.execute(built(memo, "decide", build))
