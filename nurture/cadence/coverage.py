"""The coverage watchdog: every open lead must have a next step, and nobody is forgotten.

An *open lead* is status ``open``, not merged, not do-not-contact and not unsubscribed.
It is *covered* when it has an active enrolment with a next due step, a planned touch still
to come, or an open task. It is *touched* by a touch (e-mail or call) scheduled in the past
that was not skipped, a completed task, or a recorded activity. The report gives:

- ``open_leads``;
- ``first_touch_24h_share``: of open leads older than 24 h, the share whose first touch was
  scheduled (or first task created) within 24 h of their intake (None while no open lead is
  a day old);
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
    literal,
    literal_column,
    not_,
    or_,
    select,
)
from sqlalchemy.orm import Session, aliased

from nurture.cadence.sqlfuncs import add_days
from nurture.cadence.statements import affected, ts
from nurture.db.cadence import Enrollment, Task, Touch
from nurture.db.leads import Lead
from nurture.db.sql import TASK_INSERT_COLUMNS, dialect_insert

UNTOUCHED_DAYS = 30
# the repair acts earlier than the report's threshold, so a lead whose owner does the
# follow-up task never reaches 30 days untouched
REPAIR_UNTOUCHED_DAYS = 21


@dataclass
class CoverageReport:
    now: datetime
    open_leads: int
    covered: int
    next_step_share: float
    first_touch_24h_share: float | None
    first_touch_eligible: int
    untouched_over_30d: list[int] = field(default_factory=list)
    uncovered: list[int] = field(default_factory=list)
    stale: list[int] = field(default_factory=list)  # untouched for REPAIR_UNTOUCHED_DAYS

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


# Conditions are uncorrelated ``lead id IN (...)`` sets: each is computed once per
# statement (a hash or index probe per lead afterwards) on SQLite and PostgreSQL alike,
# instead of a correlated subquery per lead whose index choice the planner may get wrong.


def has_next_step(now: datetime) -> ColumnElement[bool]:
    return or_(
        Lead.id.in_(
            select(Enrollment.lead_id).where(
                Enrollment.status == "active", Enrollment.next_due_at.is_not(None)
            )
        ),
        Lead.id.in_(
            select(Touch.lead_id).where(Touch.status == "planned", Touch.scheduled_at >= ts(now))
        ),
        Lead.id.in_(select(Task.lead_id).where(Task.status == "open")),
    )


def touched_since(since: datetime, now: datetime) -> ColumnElement[bool]:
    return or_(
        Lead.id.in_(
            select(Touch.lead_id).where(
                or_(
                    and_(Touch.channel == "email", Touch.status.in_(["planned", "done"])),
                    and_(Touch.channel == "call", Touch.status == "done"),
                ),
                Touch.scheduled_at >= ts(since),
                Touch.scheduled_at <= ts(now),
            )
        ),
        Lead.id.in_(
            select(Task.lead_id).where(Task.status == "done", Task.completed_at >= ts(since))
        ),
        # NULL-safe: NOT (... OR NULL) would be NULL, i.e. never "untouched"
        and_(Lead.last_touch_at.is_not(None), Lead.last_touch_at >= ts(since)),
        and_(Lead.last_activity_at.is_not(None), Lead.last_activity_at >= ts(since)),
    )


def first_touch_within_day() -> ColumnElement[bool]:
    who = aliased(Lead)
    day_after = add_days(who.created_at, literal_column("1"))
    return or_(
        Lead.id.in_(
            select(Touch.lead_id)
            .join(who, who.id == Touch.lead_id)
            .where(Touch.status.in_(["planned", "done"]), Touch.scheduled_at <= day_after)
        ),
        Lead.id.in_(
            select(Task.lead_id)
            .join(who, who.id == Task.lead_id)
            .where(Task.created_at <= day_after)
        ),
    )


def untouched_condition(now: datetime, days: int = UNTOUCHED_DAYS) -> ColumnElement[bool]:
    since = now - timedelta(days=days)
    return and_(open_lead(), Lead.created_at < ts(since), not_(touched_since(since, now)))


def report(session: Session, *, now: datetime, first_touch: bool = True) -> CoverageReport:
    """Measure coverage at ``now`` (read-only): one statement, one row of flags per lead.

    ``first_touch=False`` skips the first-touch share (a join of all touches with their
    leads, the costly part); the cycle does, ``nurture coverage`` does not.
    """
    eligible = Lead.created_at <= ts(now - timedelta(days=1))

    def flag(cond: Any) -> Any:
        return case((cond, 1), else_=0)

    rows = session.execute(
        select(
            Lead.id,
            flag(has_next_step(now)),
            flag(eligible),
            flag(and_(eligible, first_touch_within_day())) if first_touch else literal(0),
            flag(untouched_condition(now)),
            flag(untouched_condition(now, REPAIR_UNTOUCHED_DAYS)),
        )
        .where(open_lead(), Lead.created_at <= ts(now))
        .order_by(Lead.id)
    ).all()
    open_leads = len(rows)
    covered = sum(r[1] for r in rows)
    eligible_n = sum(r[2] for r in rows)
    fast = sum(r[3] for r in rows)
    return CoverageReport(
        now=now,
        open_leads=open_leads,
        covered=covered,
        next_step_share=round(covered / open_leads, 6) if open_leads else 1.0,
        # no lead a day old yet: no share to give (None, "n/a"), not 100% of nothing
        first_touch_24h_share=round(fast / eligible_n, 6) if first_touch and eligible_n else None,
        first_touch_eligible=eligible_n,
        untouched_over_30d=[int(r[0]) for r in rows if r[4]],
        uncovered=[int(r[0]) for r in rows if not r[1]],
        stale=[int(r[0]) for r in rows if r[5]],
    )


def repair(
    session: Session, *, now: datetime, found: CoverageReport | None = None
) -> dict[str, int]:
    """Give the owner of every uncovered open lead, and of every open lead untouched for
    ``REPAIR_UNTOUCHED_DAYS``, a hard-deadline follow-up task.

    Idempotent: keys are per lead and day, and a lead with an open follow-up gets no other.
    """
    day = int(now.timestamp()) // 86400
    out: dict[str, int] = {}
    open_follow_up = Lead.id.in_(
        select(Task.lead_id).where(Task.status == "open", Task.kind == "follow_up")
    )
    cases = {
        "no_next_step": (
            Lead.id.in_(found.uncovered)
            if found is not None and len(found.uncovered) <= 5000
            else and_(open_lead(), Lead.created_at <= ts(now), not_(has_next_step(now))),
            "Нет следующего шага: решите, что дальше",
            "No next step planned: decide what comes next",
        ),
        "untouched": (
            and_(
                Lead.id.in_(found.stale)
                if found is not None and len(found.stale) <= 5000
                else untouched_condition(now, REPAIR_UNTOUCHED_DAYS),
                not_(open_follow_up),
            ),
            "Давно не было контакта: свяжитесь",
            "No contact for three weeks: get in touch",
        ),
    }
    for reason, (condition, ru, en) in cases.items():
        if found is not None and not (found.uncovered if reason == "no_next_step" else found.stale):
            continue
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
                TASK_INSERT_COLUMNS,
                query,
            )
            .on_conflict_do_nothing()
        )
        n = affected(session, stmt)
        if n:
            out[reason] = n
    return out
