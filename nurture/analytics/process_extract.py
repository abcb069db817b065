"""What analytics reads from the playbooks' event log and escalations (the sales process):
deal stage visits, escalations by level and task reassignments. Set-based, as
:mod:`nurture.analytics.extract`; times in epoch seconds."""

from __future__ import annotations

from typing import Any

import pandas as pd
from sqlalchemy import func, literal, select, union_all
from sqlalchemy.orm import Session

from nurture.analytics.extract import Period, _frame, ts
from nurture.analytics.sqlfuncs import epoch_seconds
from nurture.db.playbooks import Deal, Escalation, ProcessEvent

#: How a deal ends: the terminal "stages" of the funnel.
DEAL_ENDS: dict[str, str] = {"deal.won": "(won)", "deal.lost": "(lost)", "deal.closed": "(closed)"}

VISIT_COLUMNS = ["deal_id", "playbook", "owner_id", "lead_id", "stage", "start", "end"]


def deal_stage_visits(session: Session, period: Period) -> pd.DataFrame:
    """Every stage each deal opened in the period went through, as of ``until``: one row
    per visit with its start and the start of the next (NaN while the deal is still in
    it). A deal's end (won, lost, closed) is a last visit named ``(won)`` etc."""
    E = ProcessEvent
    before = E.at < ts(period.until)
    marks = union_all(
        select(E.deal_id, E.at, E.id, E.data["stage"].as_string().label("stage")).where(
            E.type == "deal.opened", before
        ),
        select(E.deal_id, E.at, E.id, E.data["to"].as_string()).where(
            E.type == "deal.stage_changed", before
        ),
        *(
            select(E.deal_id, E.at, E.id, literal(name)).where(E.type == kind, before)
            for kind, name in DEAL_ENDS.items()
        ),
    ).subquery("marks")
    start = epoch_seconds(marks.c.at)
    visits = (
        select(
            marks.c.deal_id,
            marks.c.stage,
            start.label("start"),
            func.lead(start)
            .over(partition_by=marks.c.deal_id, order_by=(marks.c.at, marks.c.id))
            .label("end"),
        )
        .join(Deal, Deal.id == marks.c.deal_id)
        .where(Deal.opened_at >= ts(period.since), Deal.opened_at < ts(period.until))
        .subquery("visits")
    )
    stmt = select(
        visits.c.deal_id,
        Deal.playbook,
        Deal.owner_id,
        Deal.lead_id,
        visits.c.stage,
        visits.c.start,
        visits.c.end,
    ).join(Deal, Deal.id == visits.c.deal_id)
    return _frame(session, stmt, VISIT_COLUMNS)


def escalation_facts(session: Session, period: Period) -> pd.DataFrame:
    """Every escalation fired in the period: level, action (notify, reassign), the manager
    who missed the deadline, how late (seconds), task and lead."""
    stmt = select(
        Escalation.level,
        Escalation.action,
        Escalation.from_manager_id,
        Escalation.overdue_seconds,
        Escalation.task_id,
        Escalation.lead_id,
    ).where(Escalation.fired_at >= ts(period.since), Escalation.fired_at < ts(period.until))
    return _frame(
        session, stmt, ["level", "action", "manager_id", "overdue_seconds", "task_id", "lead_id"]
    )


def task_reassignments(session: Session, period: Period) -> pd.DataFrame:
    """Tasks moved from one person to another in the period (by hand or by an escalation),
    counted by both e-mails."""
    E = ProcessEvent
    who_from, who_to = E.data["from"].as_string(), E.data["to"].as_string()
    stmt: Any = (
        select(who_from, who_to, func.count())
        .where(E.type == "task.reassigned", E.at >= ts(period.since), E.at < ts(period.until))
        .group_by(who_from, who_to)
    )
    return _frame(session, stmt, ["from_email", "to_email", "tasks"])
