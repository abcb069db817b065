"""The coverage watchdog: every open lead must have a next step, and nobody is forgotten.

An *open lead* is status ``open``, not merged, not do-not-contact and not unsubscribed.
It is *covered* when it has an active enrolment with a next due step, a planned touch still
to come, or an open task. It is *touched* by a touch (e-mail or call) scheduled in the past
that was not skipped, a completed task, or a recorded activity. The report gives:

- ``open_leads``;
- ``first_touch_24h_share``: of open leads older than 24 h, the share whose first touch was
  scheduled (or first task created) within 24 h of their intake;
- ``next_step_share``: the share of open leads that are covered;
- ``untouched_over_30d``: ids of open leads older than 30 days not touched in the last 30.

:func:`repair` fixes both kinds of gap by giving the owner a task with a hard deadline (so
a missed one escalates to the supervisor); the cycle reports how many it created.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    String,
    and_,
    case,
    cast,
    exists,
    func,
    literal,
    literal_column,
    not_,
    or_,
    select,
)
from sqlalchemy.orm import Session

from nurture.cadence.planner import affected, dialect_insert, ts
from nurture.cadence.sqlfuncs import add_days
from nurture.db.cadence import Enrollment, Task, Touch
from nurture.db.leads import Lead

UNTOUCHED_DAYS = 30


@dataclass
class CoverageReport:
    now: datetime
    open_leads: int
    covered: int
    next_step_share: float
    first_touch_24h_share: float
    first_touch_eligible: int
    untouched_over_30d: list[int] = field(default_factory=list)
    uncovered: list[int] = field(default_factory=list)

    def as_dict(self, *, limit: int | None = None) -> dict[str, Any]:
        return {
            "now": self.now.isoformat(),
            "open_leads": self.open_leads,
            "covered": self.covered,
            "next_step_share": self.next_step_share,
            "first_touch_24h_share": self.first_touch_24h_share,
            "first_touch_eligible": self.first_touch_eligible,
            "uncovered_count": len(self.uncovered),
            "uncovered": self.uncovered[:limit] if limit else self.uncovered,
            "untouched_over_30d_count": len(self.untouched_over_30d),
            "untouched_over_30d": self.untouched_over_30d,
        }


def open_lead() -> ColumnElement[bool]:
    return and_(
        Lead.status == "open",
        Lead.merged_into_id.is_(None),
        Lead.do_not_contact.is_(False),
        Lead.unsubscribed_at.is_(None),
    )


def has_next_step(now: datetime) -> ColumnElement[bool]:
    return or_(
        exists(
            select(Enrollment.id).where(
                Enrollment.lead_id == Lead.id,
                Enrollment.status == "active",
                Enrollment.next_due_at.is_not(None),
            )
        ),
        exists(
            select(Touch.id).where(
                Touch.lead_id == Lead.id,
                Touch.status == "planned",
                Touch.scheduled_at >= ts(now),
            )
        ),
        exists(select(Task.id).where(Task.lead_id == Lead.id, Task.status == "open")),
    )


def touched_since(since: datetime, now: datetime) -> ColumnElement[bool]:
    return or_(
        exists(
            select(Touch.id).where(
                Touch.lead_id == Lead.id,
                or_(
                    and_(Touch.channel == "email", Touch.status.in_(["planned", "done"])),
                    and_(Touch.channel == "call", Touch.status == "done"),
                ),
                Touch.scheduled_at >= ts(since),
                Touch.scheduled_at <= ts(now),
            )
        ),
        exists(
            select(Task.id).where(
                Task.lead_id == Lead.id,
                Task.status == "done",
                Task.completed_at >= ts(since),
            )
        ),
        Lead.last_touch_at >= ts(since),
        Lead.last_activity_at >= ts(since),
    )


def first_touch_within_day() -> ColumnElement[bool]:
    day_after = add_days(Lead.created_at, literal_column("1"))
    return or_(
        exists(
            select(Touch.id).where(
                Touch.lead_id == Lead.id,
                Touch.status.in_(["planned", "done"]),
                Touch.scheduled_at <= day_after,
            )
        ),
        exists(select(Task.id).where(Task.lead_id == Lead.id, Task.created_at <= day_after)),
    )


def untouched_condition(now: datetime) -> ColumnElement[bool]:
    since = now - timedelta(days=UNTOUCHED_DAYS)
    return and_(open_lead(), Lead.created_at < ts(since), not_(touched_since(since, now)))


def report(session: Session, *, now: datetime) -> CoverageReport:
    """Measure coverage at ``now`` (read-only)."""
    day_ago = now - timedelta(days=1)
    eligible = Lead.created_at <= ts(day_ago)
    row = session.execute(
        select(
            func.count(Lead.id),
            func.coalesce(func.sum(case((has_next_step(now), 1), else_=0)), 0),
            func.coalesce(func.sum(case((eligible, 1), else_=0)), 0),
            func.coalesce(
                func.sum(case((and_(eligible, first_touch_within_day()), 1), else_=0)), 0
            ),
        ).where(open_lead(), Lead.created_at <= ts(now))
    ).one()
    open_leads, covered, eligible_n, fast = (int(x or 0) for x in row)
    uncovered = list(
        session.scalars(
            select(Lead.id)
            .where(open_lead(), Lead.created_at <= ts(now), not_(has_next_step(now)))
            .order_by(Lead.id)
        )
    )
    untouched = list(
        session.scalars(select(Lead.id).where(untouched_condition(now)).order_by(Lead.id))
    )
    return CoverageReport(
        now=now,
        open_leads=open_leads,
        covered=covered,
        next_step_share=round(covered / open_leads, 6) if open_leads else 1.0,
        first_touch_24h_share=round(fast / eligible_n, 6) if eligible_n else 1.0,
        first_touch_eligible=eligible_n,
        untouched_over_30d=untouched,
        uncovered=uncovered,
    )


def repair(session: Session, *, now: datetime) -> dict[str, int]:
    """Give the owner of every uncovered or forgotten open lead a hard-deadline task.

    Idempotent: keys are per lead and day, and a lead with an open follow-up gets no other.
    """
    day = int(now.timestamp()) // 86400
    out: dict[str, int] = {}
    open_follow_up = exists(
        select(Task.id).where(
            Task.lead_id == Lead.id, Task.status == "open", Task.kind == "follow_up"
        )
    )
    cases = {
        "no_next_step": (
            and_(open_lead(), Lead.created_at <= ts(now), not_(has_next_step(now))),
            "Нет следующего шага: решите, что дальше",
            "No next step planned: decide what comes next",
        ),
        "untouched_30d": (
            and_(untouched_condition(now), not_(open_follow_up)),
            "Нет контакта 30 дней: свяжитесь",
            "Untouched for 30 days: get in touch",
        ),
    }
    for reason, (condition, ru, en) in cases.items():
        key = literal(f"coverage.{reason}.") + cast(Lead.id, String) + literal(f".{day}")
        query = select(
            key,
            Lead.id,
            Lead.owner_id,
            literal("follow_up"),
            case((Lead.language == "ru", literal(ru)), else_=literal(en)),
            literal(f"coverage watchdog: {reason}"),
            ts(now + timedelta(days=1)),
            literal("hard"),
            literal("open"),
            ts(now),
        ).where(condition)
        stmt = (
            dialect_insert(session, Task)
            .from_select(
                [
                    "source_key",
                    "lead_id",
                    "manager_id",
                    "kind",
                    "title",
                    "instructions",
                    "due_at",
                    "deadline",
                    "status",
                    "created_at",
                ],
                query,
            )
            .on_conflict_do_nothing()
        )
        n = affected(session, stmt)
        if n:
            out[reason] = n
    return out
