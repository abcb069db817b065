"""The set-based planner: every touch due in the next day, campaign by campaign.

``plan_due`` plans campaigns in priority order (so the higher priority wins under the
frequency cap). Each campaign is planned pass after pass until nothing of it is due (a step
may fall due within the horizon right after the previous one); a pass is the same few
statements over whole sets of rows, never a round trip per lead:

1. stage the due enrolments in ``cadence_plan`` (:mod:`nurture.cadence.staging`);
2. decide each staged row's send slot and state: planned, skipped or shifted by the cap;
3. count, queue the planned e-mails, create the owner's tasks, insert the touches and move
   the enrolments on (:mod:`nurture.cadence.plan_writes`).

Send windows are computed in Python once per (window, zone, country, UTC hour) of the
horizon (:mod:`nurture.cadence.slots`) and joined. Backend differences (scratch table,
statistics, connection settings) live in :mod:`nurture.cadence.scratch`, SQL functions that
differ in :mod:`nurture.cadence.sqlfuncs`.

Safety: a touch is unique per (enrolment, position); an outbox row per dedupe key
``touch.<lead>.<campaign>.<position>.<cycle>``; a task per ``source_key``; an enrolment
moves only from where it was staged. Two workers, a crash between statements, or a second
run at the same ``now`` therefore plan nothing twice. Under a :class:`CampaignGuard` each
campaign is planned in its own savepoint: one that fails leaves nothing behind.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from nurture.cadence.campaigns import CampaignSpec
from nurture.cadence.caps import Cap
from nurture.cadence.guard import CampaignGuard
from nurture.cadence.plan_writes import (
    PlanSummary,
    advance,
    count_plan,
    create_planned_tasks,
    queue_planned,
    write_touches,
)
from nurture.cadence.scratch import clear_plan, planning_connection
from nurture.cadence.shards import Shard, shard_clause
from nurture.cadence.slots import SlotMap, drop_slots
from nurture.cadence.staging import Memo, decide, stage
from nurture.config import get_settings
from nurture.db.cadence import Campaign, Enrollment

#: How far ahead a cycle plans: touches due before ``now + LOOKAHEAD``.
LOOKAHEAD = timedelta(hours=24)


def plan_campaign(
    session: Session,
    campaign: Campaign,
    spec: CampaignSpec,
    *,
    now: datetime,
    horizon: datetime,
    slots: SlotMap,
    queue: bool = True,
    shard: Shard | None = None,
) -> PlanSummary:
    """Plan every due touch of one campaign (of ``shard``'s leads only, when given), pass
    after pass until none is due. Each pass: stage, decide (slots, cap), count, queue
    e-mails, create tasks, insert touches, advance enrolments."""
    total = PlanSummary()
    memo: Memo = {}
    for _ in range(len(spec.steps) + 1):
        if not stage(session, campaign, spec, now=now, horizon=horizon, memo=memo, shard=shard):
            break
        decide(session, spec, slots, memo)
        part = count_plan(session, spec)
        part.passes = 1
        if queue:
            part.emails_queued = queue_planned(session, spec, now=now, memo=memo)
            part.tasks_created = create_planned_tasks(session, spec, now=now, memo=memo)
        write_touches(session, campaign, now=now, linked=queue, memo=memo)
        advance(session, spec, now=now, memo=memo)
        clear_plan(session)
        total.add(part)
    if total.planned:
        total.by_campaign[spec.slug] = total.planned
    return total


def plan_due(
    session: Session,
    specs: list[tuple[Campaign, CampaignSpec]],
    *,
    now: datetime,
    cap: Cap | None = None,
    lookahead: timedelta = LOOKAHEAD,
    queue: bool = True,
    guard: CampaignGuard | None = None,
    shard: Shard | None = None,
) -> PlanSummary:
    """Plan every touch due before ``now + lookahead``, campaign by campaign in priority
    order, and queue the e-mails and create the owner tasks of the planned touches
    (``queue=False``: touches only, for the benchmark). Each campaign runs under ``guard``
    (by default none: an error propagates; the cycle's guard records and skips a failed
    campaign). With ``shard``, only the touches of that shard's leads (a lead's campaigns
    all fall in one shard, so the frequency cap sees all of its touches)."""
    settings = get_settings()
    cap = cap or Cap(settings.frequency_cap, settings.frequency_cap_days)
    guard = guard or CampaignGuard(session, isolate=False)
    horizon = now + lookahead
    total = PlanSummary()
    due = select(Enrollment.id).where(
        Enrollment.status == "active", Enrollment.next_due_at < horizon
    )
    if shard is not None:
        due = due.where(shard_clause(Enrollment.lead_id, shard))
    if session.execute(due.limit(1)).first() is None:
        return total  # nothing due
    # sharded: other workers write slots at the same time (see SlotMap.shared)
    slots = SlotMap(now=now, horizon=horizon, cap=cap, shared=shard is not None)
    with planning_connection(session):
        for campaign, spec in guard.live(specs):  # specs come priority-first
            written = set(slots.built)
            with guard.campaign(spec.slug):
                total.add(
                    plan_campaign(
                        session,
                        campaign,
                        spec,
                        now=now,
                        horizon=horizon,
                        slots=slots,
                        queue=queue,
                        shard=shard,
                    )
                )
            if spec.slug in guard.failed:
                slots.forget_since(written)
        drop_slots(session, slots.run_id)
    return total


__all__ = ["LOOKAHEAD", "PlanSummary", "plan_campaign", "plan_due"]
