"""The writes of one pass of a campaign's plan, each one statement over the staged rows.

After :mod:`nurture.cadence.staging` has decided the staged rows: count them (the summary),
queue the planned e-mails in the outbox, create the owner's call and reminder tasks, insert
the touches (already linked to their outbox rows or tasks), and move the enrolments on.

Every insert is ``ON CONFLICT DO NOTHING`` on a key derived from the touch key
``touch.<lead>.<slug>.<position>.<cycle>`` (outbox dedupe key, task source key, touch per
enrolment and position), and an enrolment moves only from where it was staged: a crash
between statements, a retry or a second worker plans nothing twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import String, and_, case, cast, func, literal, not_, null, select, update
from sqlalchemy.orm import Session

from nurture.cadence.campaigns import CampaignSpec, text_for
from nurture.cadence.scratch import PLAN
from nurture.cadence.sqlfuncs import add_days, greatest
from nurture.cadence.staging import Memo, built, by_position
from nurture.cadence.statements import affected, int_literal, ts
from nurture.config import get_settings
from nurture.db.cadence import Campaign, Enrollment, Task, Touch
from nurture.db.leads import Lead
from nurture.db.mail import OutboxMessage
from nurture.db.sql import TASK_INSERT_COLUMNS, dialect_insert


@dataclass
class PlanSummary:
    """What planning did: touches by state, what was queued, and per campaign."""

    planned: int = 0
    skipped: int = 0
    shifted: int = 0
    completed: int = 0
    emails_queued: int = 0
    tasks_created: int = 0
    passes: int = 0
    by_campaign: dict[str, int] = field(default_factory=dict)

    def add(self, other: PlanSummary) -> None:
        for name in ("planned", "skipped", "shifted", "completed", "emails_queued"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.tasks_created += other.tasks_created
        self.passes += other.passes
        for k, v in other.by_campaign.items():
            self.by_campaign[k] = self.by_campaign.get(k, 0) + v


def count_plan(session: Session, spec: CampaignSpec) -> PlanSummary:
    """The summary of the staged rows, in one scan with filtered counts (a GROUP BY would
    sort every staged row)."""
    p = PLAN.c
    moved = p.state != "shifted"
    planned, skipped, shifted, completed = session.execute(
        select(
            func.count().filter(p.state == "planned"),
            func.count().filter(p.state == "skipped"),
            func.count().filter(not_(moved)),
            func.count().filter(moved, p.position == len(spec.steps) - 1),
        )
    ).one()
    return PlanSummary(planned=planned, skipped=skipped, shifted=shifted, completed=completed)


def queue_planned(session: Session, spec: CampaignSpec, *, now: datetime, memo: Memo) -> int:
    """Queue the planned e-mails of the staged rows in the outbox (contract: dedupe key,
    message id, status 'queued', next_attempt_at = scheduled send time)."""

    def build() -> Any:
        domain = get_settings().message_id_domain
        p = PLAN.c
        query = select(
            p.dkey,
            literal("<") + p.dkey + literal(f"@{domain}>"),
            literal("marketing"),
            p.lead_id,
            p.owner_id,
            literal(spec.slug),
            by_position(p.position, [s.name for s in spec.steps]),
            by_position(p.position, [spec.template_for(s) for s in spec.steps]),
            p.to_addr,
            null(),
            literal("queued"),
            literal(0),
            p.scheduled_at,
            ts(now),
        ).where(p.state == "planned", p.channel == "email", p.to_addr.is_not(None))
        return (
            dialect_insert(session, OutboxMessage)
            .from_select(
                [
                    "dedupe_key",
                    "message_id",
                    "kind",
                    "lead_id",
                    "manager_id",
                    "campaign_slug",
                    "step",
                    "template",
                    "to_addr",
                    "context",
                    "status",
                    "attempts",
                    "next_attempt_at",
                    "created_at",
                ],
                query,
            )
            .on_conflict_do_nothing()
        )

    return affected(session, built(memo, "outbox", build))


def create_planned_tasks(session: Session, spec: CampaignSpec, *, now: datetime, memo: Memo) -> int:
    """Create the owner's call/reminder tasks for the staged planned rows."""

    def build() -> Any:
        p = PLAN.c
        defaults = {"call": {"ru": "Позвонить", "en": "Call"}}
        fallback = {"ru": "Напоминание", "en": "Reminder"}

        def titles(lang: str) -> Any:
            return by_position(
                p.position,
                [
                    text_for(s.title, lang) or defaults.get(s.channel, fallback)[lang]
                    for s in spec.steps
                ],
            )

        def instructions(lang: str) -> Any:
            return by_position(
                p.position, [text_for(s.instructions, lang) or None for s in spec.steps]
            )

        who = func.coalesce(
            Lead.first_name + literal(" ") + Lead.last_name,
            Lead.company,
            Lead.email,
            Lead.phone,
            literal("#") + cast(Lead.id, String),
        )
        ru = Lead.language == "ru"
        title = case((ru, titles("ru")), else_=titles("en"))
        query = (
            select(
                p.dkey,
                p.lead_id,
                Lead.owner_id,
                p.channel,
                func.substr(title + literal(": ") + who, 1, 300),
                case((ru, instructions("ru")), else_=instructions("en")),
                p.scheduled_at,
                by_position(p.position, [s.deadline for s in spec.steps]),
                literal("open"),
                ts(now),
            )
            .select_from(PLAN)
            .join(Lead, Lead.id == p.lead_id)
            .where(p.state == "planned", p.channel != "email")
        )
        return (
            dialect_insert(session, Task)
            .from_select(TASK_INSERT_COLUMNS, query)
            .on_conflict_do_nothing()
        )

    return affected(session, built(memo, "tasks", build))


def write_touches(
    session: Session,
    campaign: Campaign,
    *,
    now: datetime,
    linked: bool,
    memo: Memo,
) -> int:
    """Insert the planned and skipped touches, already pointing at their outbox rows or
    tasks (found by key, so rows an earlier run inserted are linked too): no second pass."""

    def build() -> Any:
        p = PLAN.c
        planned = p.state == "planned"
        outbox_id: Any = null()
        task_id: Any = null()
        if linked:
            outbox_id = case(
                (
                    and_(planned, p.channel == "email"),
                    select(OutboxMessage.id)
                    .where(OutboxMessage.dedupe_key == p.dkey)
                    .scalar_subquery(),
                ),
                else_=null(),
            )
            task_id = case(
                (
                    and_(planned, p.channel != "email"),
                    select(Task.id).where(Task.source_key == p.dkey).scalar_subquery(),
                ),
                else_=null(),
            )
        query = select(
            p.enrollment_id,
            p.lead_id,
            literal(campaign.id),
            p.position,
            p.channel,
            p.due_at,
            p.scheduled_at,
            p.state,
            ts(now),
            outbox_id,
            task_id,
        ).where(p.state.in_(["planned", "skipped"]))
        return (
            dialect_insert(session, Touch)
            .from_select(
                [
                    "enrollment_id",
                    "lead_id",
                    "campaign_id",
                    "position",
                    "channel",
                    "due_at",
                    "scheduled_at",
                    "status",
                    "created_at",
                    "outbox_id",
                    "task_id",
                ],
                query,
            )
            .on_conflict_do_nothing()
        )

    return affected(session, built(memo, "touches", build))


# A lead behind its schedule (enrolled while the planner was stopped, a shifted step) catches
# up one step at a time: ``day: N`` never falls sooner than this many days after the touch
# just sent, unless the campaign itself puts the two steps closer. Without it, every overdue
# step went out in the same cycle, at the same moment, until the frequency cap stopped them.
CATCH_UP_GAP_DAYS = 1


def next_due(spec: CampaignSpec, position: Any, scheduled_at: Any, sent: Any) -> Any:
    """When the step after ``position`` falls due, given this step's send time: ``day: N``
    counts from enrolment (never before this touch, nor within CATCH_UP_GAP_DAYS of it when
    ``sent``), ``after: N`` from this touch."""
    nominal = spec.nominal_days()
    whens: dict[int, Any] = {}
    for k, nxt in enumerate(spec.steps[1:]):
        if nxt.anchor == "enrolment":
            gap = min(CATCH_UP_GAP_DAYS, nominal[k + 1] - nominal[k])
            earliest = scheduled_at
            if gap > 0:
                earliest = case(
                    (sent, add_days(scheduled_at, int_literal(gap))), else_=scheduled_at
                )
            whens[k] = greatest(
                add_days(Enrollment.enrolled_at, int_literal(nxt.delay_days)), earliest
            )
        else:
            whens[k] = add_days(scheduled_at, int_literal(nxt.delay_days))
    if not whens:
        return null()
    return case(whens, value=position, else_=null())


def advance(session: Session, spec: CampaignSpec, *, now: datetime, memo: Memo) -> None:
    """Move the staged enrolments on: to the next step (completed after the last), or, when
    the cap refused them, a day later (shifted, never dropped). Values come from the staged
    row, and only an enrolment still where it was staged moves: a second worker that staged
    the same rows changes nothing."""

    def build() -> Any:
        p = PLAN.c
        moved = p.state != "shifted"
        finished = and_(moved, p.position == len(spec.steps) - 1)
        return (
            update(Enrollment)
            .where(
                Enrollment.id == p.enrollment_id,
                # lets SQLite probe enrolments by rowid from the staged rows, not scan them all
                Enrollment.id.in_(select(p.enrollment_id)),
                Enrollment.status == "active",
                Enrollment.next_position == p.position,
                Enrollment.next_due_at == p.due_at,
            )
            .values(
                next_position=case((moved, p.position + 1), else_=p.position),
                next_due_at=case(
                    (finished, null()),
                    (moved, next_due(spec, p.position, p.scheduled_at, p.state == "planned")),
                    else_=add_days(greatest(p.due_at, ts(now)), int_literal(1)),
                ),
                status=case((finished, literal("completed")), else_=literal("active")),
                finished_at=case((finished, ts(now)), else_=Enrollment.finished_at),
            )
            .execution_options(synchronize_session=False)
        )

    session.execute(built(memo, "advance", build))
