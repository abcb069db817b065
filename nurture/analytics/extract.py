"""What analytics reads from the database: a few set-based queries, each returning a
DataFrame of plain numbers (times as epoch seconds).

The report covers a *period* ``[since, until)`` and is *as of* ``until``: nothing that
happened after ``until`` is counted, so last month's report reads the same next month.

- :func:`lead_facts`: one row per lead met in the period (the cohort), with its event,
  source file, first campaign, owner, first assignment, first touch, first reply or click,
  conversion, revenue and deals won. Funnel, speed to lead, coverage and money are computed from it.
- :func:`task_facts`: every task created in the period (the work done in it).
- :func:`sequence_counts`: each distinct sequence of actions, outcomes and touches in the
  first days of a lead, with how many converted and not converted leads had it.
- :func:`reassignment_counts`, :func:`directory`: small lookups.

Each query reads every table once with ``GROUP BY`` (hash or index aggregates on both
backends); pandas never sees more than a row per lead or per task.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pandas as pd
from sqlalchemy import String, and_, case, cast, func, literal, null, or_, select, union_all
from sqlalchemy.orm import Session

from nurture.analytics.business import Calendar
from nurture.analytics.sqlfuncs import epoch_seconds, ordered_tokens, whole_scan
from nurture.db.base import UTCDateTime
from nurture.db.cadence import Campaign, CampaignStep, Engagement, Enrollment, Purchase, Task, Touch
from nurture.db.leads import Event, Lead, LeadSource
from nurture.db.mail import OutboxMessage
from nurture.db.playbooks import Deal
from nurture.db.team import Assignment, Manager, Team

#: Engagements that show a lead's own interest (opens are pixels that scanners fire too).
ENGAGED_KINDS = ("reply", "click")


def ts(value: datetime) -> Any:
    return literal(value, UTCDateTime())


@dataclass(frozen=True)
class Period:
    """The report's period ``[since, until)``; everything is counted as of ``until``."""

    since: datetime
    until: datetime

    @property
    def since_s(self) -> int:
        return int(self.since.timestamp())

    @property
    def until_s(self) -> int:
        return int(self.until.timestamp())


#: Rows read from the cursor at a time.
CHUNK_ROWS = 100_000


def _frame(session: Session, stmt: Any, columns: list[str]) -> pd.DataFrame:
    """Run ``stmt`` and read its rows straight from the driver's cursor into a DataFrame.

    Every column the analytics queries return is a number or a string (times are epoch
    seconds), so SQLAlchemy's per-row result processing has nothing to do; skipping it and
    its Row objects halves the cost of a million rows. Parameters still go through
    SQLAlchemy (``UTCDateTime`` binds)."""
    result = session.connection().execute(stmt)
    chunks = []
    try:
        cursor = result.cursor
        while cursor is not None:
            # a chunk at a time: a million rows as Python tuples would take gigabytes
            rows = cursor.fetchmany(CHUNK_ROWS)
            if not rows:
                break
            chunks.append(pd.DataFrame.from_records(rows, columns=columns, coerce_float=True))
    finally:
        result.close()
    if not chunks:
        return pd.DataFrame({c: pd.Series(dtype="float64") for c in columns})
    return pd.concat(chunks, ignore_index=True) if len(chunks) > 1 else chunks[0]


def _reached(until: datetime) -> Any:
    """Every moment someone or something reached out to a lead: an e-mail sent, a task
    done (a call, a first contact), a touch done (``lead_id``, ``at``)."""
    return union_all(
        select(OutboxMessage.lead_id.label("lead_id"), OutboxMessage.sent_at.label("at")).where(
            whole_scan(OutboxMessage.status) == "sent",
            OutboxMessage.kind == "marketing",
            OutboxMessage.lead_id.is_not(None),
            OutboxMessage.sent_at < ts(until),
        ),
        select(Task.lead_id, Task.completed_at).where(
            whole_scan(Task.status) == "done", Task.completed_at < ts(until)
        ),
        select(Touch.lead_id, Touch.scheduled_at).where(
            whole_scan(Touch.status) == "done", Touch.scheduled_at < ts(until)
        ),
    )


def _purchases(until: datetime) -> Any:
    return (
        select(
            Purchase.lead_id,
            func.min(Purchase.purchased_at).label("first_at"),
            func.sum(Purchase.amount).label("revenue"),
            func.count().label("purchases"),
        )
        .where(Purchase.purchased_at < ts(until))
        .group_by(Purchase.lead_id)
        .subquery("bought")
    )


def _converted_at(bought: Any) -> Any:
    """When a lead converted: its first purchase, else (marked converted by hand) its last
    recorded activity; NULL for leads that have not converted."""
    return case(
        (bought.c.first_at.is_not(None), bought.c.first_at),
        (
            Lead.status == "converted",
            func.coalesce(Lead.last_activity_at, Lead.updated_at),
        ),
        else_=null(),
    )


LEAD_COLUMNS = [
    "lead_id",
    "created",
    "status",
    "owner_id",
    "event_id",
    "source",
    "campaign_id",
    "assigned",
    "first_touch",
    "engaged",
    "converted",
    "revenue",
    "purchases",
    "deals_won",
    "deal_amount",
]


def lead_facts(session: Session, period: Period) -> pd.DataFrame:
    """One row per live lead created in the period (columns :data:`LEAD_COLUMNS`; times in
    epoch seconds, NaN when it has not happened by ``until``).

    One query for the cohort's own columns, then one ``GROUP BY lead_id`` per fact over the
    cohort's range of lead ids, joined in pandas on the lead id. One statement joining the
    seven grouped subqueries would say the same, but SQLite materialises each and indexes
    it on the fly, several times slower at a million leads; an ``IN (cohort)`` filter made
    it walk the leads by index, row by row."""
    until = period.until
    marked = case(
        (Lead.status == "converted", func.coalesce(Lead.last_activity_at, Lead.updated_at)),
        else_=null(),
    )
    base = _frame(
        session,
        select(
            Lead.id,
            epoch_seconds(Lead.created_at),
            Lead.status,
            Lead.owner_id,
            epoch_seconds(marked),
        ).where(
            Lead.merged_into_id.is_(None),
            whole_scan(Lead.created_at) >= ts(period.since),
            whole_scan(Lead.created_at) < ts(until),
        ),
        ["lead_id", "created", "status", "owner_id", "marked"],
    ).set_index("lead_id")
    if base.empty:
        return pd.DataFrame({c: pd.Series(dtype="float64") for c in LEAD_COLUMNS})
    # ids grow with intake, so the cohort's ids lie in one range: each fact query reads
    # that range (the pandas join below keeps the cohort's own rows)
    low, high = int(base.index.min()), int(base.index.max())

    def in_cohort(column: Any) -> Any:
        return column.between(low, high)

    first = (
        select(LeadSource.lead_id, func.min(LeadSource.id).label("sid"))
        .where(in_cohort(LeadSource.lead_id))
        .group_by(LeadSource.lead_id)
        .subquery("first_sid")
    )
    enrolled = (
        select(Enrollment.lead_id, func.min(Enrollment.id).label("eid"))
        .where(in_cohort(Enrollment.lead_id))
        .group_by(Enrollment.lead_id)
        .subquery("first_eid")
    )
    reached = _reached(until).subquery("reached")
    parts: list[tuple[Any, list[str]]] = [
        (
            select(first.c.lead_id, LeadSource.event_id, LeadSource.file_name).join(
                LeadSource, LeadSource.id == first.c.sid
            ),
            ["event_id", "source"],
        ),
        (
            select(enrolled.c.lead_id, Enrollment.campaign_id).join(
                Enrollment, Enrollment.id == enrolled.c.eid
            ),
            ["campaign_id"],
        ),
        (
            select(Assignment.lead_id, epoch_seconds(func.min(Assignment.assigned_at)))
            .where(Assignment.assigned_at < ts(until), in_cohort(Assignment.lead_id))
            .group_by(Assignment.lead_id),
            ["assigned"],
        ),
        (
            select(reached.c.lead_id, epoch_seconds(func.min(reached.c.at)))
            .where(in_cohort(reached.c.lead_id))
            .group_by(reached.c.lead_id),
            ["first_touch"],
        ),
        (
            select(Engagement.lead_id, epoch_seconds(func.min(Engagement.occurred_at)))
            .where(
                Engagement.kind.in_(ENGAGED_KINDS),
                Engagement.occurred_at < ts(until),
                in_cohort(Engagement.lead_id),
            )
            .group_by(Engagement.lead_id),
            ["engaged"],
        ),
        (
            select(
                Purchase.lead_id,
                epoch_seconds(func.min(Purchase.purchased_at)),
                func.sum(Purchase.amount),
                func.count(),
            )
            .where(Purchase.purchased_at < ts(until), in_cohort(Purchase.lead_id))
            .group_by(Purchase.lead_id),
            ["first_purchase", "revenue", "purchases"],
        ),
        (
            select(Deal.lead_id, func.count(), func.sum(func.coalesce(Deal.amount, 0.0)))
            .where(Deal.status == "won", Deal.closed_at < ts(until), in_cohort(Deal.lead_id))
            .group_by(Deal.lead_id),
            ["deals_won", "deal_amount"],
        ),
    ]
    frame = base
    for stmt, columns in parts:
        fact = _frame(session, stmt, ["lead_id", *columns]).set_index("lead_id")
        frame = frame.join(fact, how="left")
    frame = frame.reset_index()
    for column in ("revenue", "purchases", "deals_won", "deal_amount"):
        frame[column] = frame[column].fillna(0)
    # a purchase is the conversion; a lead marked converted by hand converted at its last
    # recorded activity; neither counts after the period's end (as of ``until``)
    # (``marked`` is an object column of None when no lead was marked: as numbers first)
    converted = frame["first_purchase"].fillna(frame["marked"].astype("float64"))
    frame["converted"] = converted.where(converted < period.until_s)
    return frame[LEAD_COLUMNS]


TASK_COLUMNS = [
    "task_id",
    "lead_id",
    "manager_id",
    "kind",
    "hard",
    "status",
    "created",
    "due",
    "completed",
    "escalated",
    "action",
    "role",
    "deal_id",
    "stage",
    "escalation_level",
]


def task_facts(session: Session, period: Period) -> pd.DataFrame:
    """Every task created in the period (columns :data:`TASK_COLUMNS`), as of ``until``."""
    until = period.until
    done_by_then = and_(whole_scan(Task.status) == "done", Task.completed_at < ts(until))
    stmt = select(
        Task.id,
        Task.lead_id,
        Task.manager_id,
        Task.kind,
        case((Task.deadline == "hard", 1), else_=0),
        case((done_by_then, "done"), (Task.status == "cancelled", "cancelled"), else_="open"),
        epoch_seconds(Task.created_at),
        epoch_seconds(Task.due_at),
        epoch_seconds(case((done_by_then, Task.completed_at), else_=null())),
        epoch_seconds(case((Task.escalated_at < ts(until), Task.escalated_at), else_=null())),
        func.coalesce(Task.action, Task.kind),
        Task.role,
        Task.deal_id,
        Task.stage,
        Task.escalation_level,
    ).where(Task.created_at >= ts(period.since), Task.created_at < ts(until))
    return _frame(session, stmt, TASK_COLUMNS)


def reassignment_counts(session: Session, period: Period) -> pd.DataFrame:
    """Leads moved from one manager to another in the period, by kind and both managers."""
    stmt = (
        select(
            Assignment.kind,
            Assignment.previous_manager_id,
            Assignment.manager_id,
            func.count(),
        )
        .where(
            Assignment.kind != "initial",
            Assignment.assigned_at >= ts(period.since),
            Assignment.assigned_at < ts(period.until),
        )
        .group_by(Assignment.kind, Assignment.previous_manager_id, Assignment.manager_id)
    )
    return _frame(session, stmt, ["kind", "from_id", "to_id", "leads"])


def sequence_counts(
    session: Session, period: Period, *, days: int, max_steps: int = 12
) -> pd.DataFrame:
    """Distinct sequences of a lead's first ``days`` days, counted by outcome.

    The cohort: live leads created in the period at least ``days`` before ``until`` (each
    had the whole window). A lead's steps, in time order: e-mails sent (``email:<step>``),
    tasks done (``task:<action or kind>``, or ``outcome:<action>:<answers>`` for a playbook
    action's outcome form), tasks escalated (``escalated:<kind>``), replies and clicks
    (deal stages are not steps: they follow from the outcomes, so they would only restate
    the conversion);
    only those inside its first ``days`` days and before it converted, a repeat of the step
    just before dropped, at most ``max_steps``. Columns ``seq`` (steps joined by spaces,
    ``""`` for none), ``converted`` (0/1), ``leads``.
    """
    window_end = period.until_s - days * 86400
    bought = _purchases(period.until)
    conv = _converted_at(bought)
    cohort = (
        select(
            Lead.id.label("lead_id"),
            epoch_seconds(Lead.created_at).label("created"),
            epoch_seconds(conv).label("conv_at"),
        )
        .outerjoin(bought, bought.c.lead_id == Lead.id)
        .where(
            Lead.merged_into_id.is_(None),
            whole_scan(Lead.created_at) >= ts(period.since),
            epoch_seconds(Lead.created_at) < window_end,
        )
        .subquery("cohort")
    )
    low, high = session.execute(
        select(func.min(cohort.c.lead_id), func.max(cohort.c.lead_id))
    ).one()
    if low is None:
        return pd.DataFrame({"seq": [], "converted": [], "leads": []}).astype(
            {"seq": "object", "converted": "int64", "leads": "int64"}
        )
    sep = literal(":")
    steps = union_all(
        select(
            Touch.lead_id.label("lead_id"),
            Touch.scheduled_at.label("at"),
            (literal("email") + sep + CampaignStep.name).label("tok"),
        )
        .join(
            CampaignStep,
            and_(
                CampaignStep.campaign_id == Touch.campaign_id,
                CampaignStep.position == Touch.position,
            ),
        )
        .where(
            whole_scan(Touch.status) == "done",
            Touch.channel == "email",
            whole_scan(Touch.lead_id).between(low, high),
        ),
        select(Task.lead_id, Task.completed_at, _done_token(sep)).where(
            whole_scan(Task.status) == "done", whole_scan(Task.lead_id).between(low, high)
        ),
        select(Task.lead_id, Task.escalated_at, literal("escalated") + sep + Task.kind).where(
            Task.escalated_at.is_not(None), whole_scan(Task.lead_id).between(low, high)
        ),
        select(Engagement.lead_id, Engagement.occurred_at, cast(Engagement.kind, String)).where(
            Engagement.kind.in_(ENGAGED_KINDS), whole_scan(Engagement.lead_id).between(low, high)
        ),
    ).subquery("steps")
    at = epoch_seconds(steps.c.at)
    converted = case((cohort.c.conv_at.is_not(None), 1), else_=0)
    inside = (
        select(steps.c.lead_id, converted.label("won"), at.label("at"), steps.c.tok)
        .join(cohort, cohort.c.lead_id == steps.c.lead_id)
        .where(
            at >= cohort.c.created,
            at < cohort.c.created + days * 86400,
            or_(cohort.c.conv_at.is_(None), at < cohort.c.conv_at),
        )
        .subquery("inside")
    )
    seqs = ordered_tokens(session, inside).subquery("seqs")
    with_steps = _frame(
        session,
        select(seqs.c.seq, seqs.c.won, func.count()).group_by(seqs.c.seq, seqs.c.won),
        ["seq", "converted", "leads"],
    )
    # leads with no step in their window: the cohort's count less those with steps
    totals = _frame(
        session,
        select(converted, func.count()).group_by(converted),
        ["converted", "leads"],
    )
    stepped = with_steps.groupby("converted")["leads"].sum()
    empty = totals.assign(
        seq="", leads=totals["leads"] - totals["converted"].map(stepped).fillna(0)
    )
    # consecutive repeats dropped and the length capped on the distinct sequences (a few
    # thousand), not per lead in SQL
    with_steps["seq"] = with_steps["seq"].map(lambda s: _tidy(s, max_steps))
    with_steps = with_steps.groupby(["seq", "converted"], as_index=False)["leads"].sum()
    frame = pd.concat([with_steps, empty[empty["leads"] > 0]], ignore_index=True)
    return frame.astype({"seq": "object", "converted": "int64", "leads": "int64"})


def _done_token(sep: Any) -> Any:
    """A done task's step: ``task:<action or kind>``, or for a playbook action with an
    outcome form ``outcome:<action>=<the values as JSON without spaces>`` (made readable by
    :func:`_outcome_step` on the distinct sequences)."""
    values = func.replace(cast(Task.outcome_values, String), " ", "")
    return case(
        (
            and_(Task.action.is_not(None), Task.outcome_values.is_not(None)),
            literal("outcome") + sep + Task.action + literal("=") + values,
        ),
        else_=literal("task") + sep + func.coalesce(Task.action, Task.kind),
    )


def _outcome_step(step: str) -> str:
    """``outcome:qualify={"interested":"yes","budget":100}`` -> ``outcome:qualify:interested=yes``:
    the answers that branch (yes/no, a choice), not numbers, dates or notes."""
    head, _, raw = step.partition("=")
    try:
        values = json.loads(raw)
    except ValueError:
        return head
    kept = [
        f"{k}={str(v).lower() if isinstance(v, bool) else v}"
        for k, v in sorted(values.items() if isinstance(values, dict) else [])
        if isinstance(v, bool)
        or (isinstance(v, str) and 0 < len(v) <= 24 and not any(c.isdigit() for c in v))
    ]
    return f"{head}:{','.join(kept)}" if kept else head.replace("outcome:", "task:", 1)


def _tidy(seq: str, max_steps: int) -> str:
    steps: list[str] = []
    for raw in seq.split():
        step = _outcome_step(raw) if raw.startswith("outcome:") else raw
        if not steps or steps[-1] != step:
            steps.append(step)
    return " ".join(steps[:max_steps])


@dataclass
class Directory:
    """Names for the ids in the facts, and each manager's calendar."""

    events: pd.DataFrame  # event_id, event, kind, event_date
    campaigns: pd.DataFrame  # campaign_id, campaign
    managers: pd.DataFrame  # manager_id, manager, email, role, team
    calendars: dict[int, Calendar]


def directory(session: Session, *, country: str | None) -> Directory:
    events = _frame(
        session,
        select(Event.id, Event.name, Event.kind, Event.event_date),
        ["event_id", "event", "kind", "event_date"],
    )
    campaigns = _frame(session, select(Campaign.id, Campaign.slug), ["campaign_id", "campaign"])
    rows = session.execute(
        select(
            Manager.id,
            Manager.name,
            Manager.email,
            Manager.role,
            func.coalesce(Team.name, literal("")),
            Manager.timezone,
            Manager.work_start,
            Manager.work_end,
        ).outerjoin(Team, Team.id == Manager.team_id)
    ).all()
    managers = pd.DataFrame.from_records(
        [r[:5] for r in rows], columns=["manager_id", "manager", "email", "role", "team"]
    )
    if managers.empty:
        managers = pd.DataFrame(columns=["manager_id", "manager", "email", "role", "team"])
    calendars = {int(r[0]): Calendar(r[5], r[6], r[7], country) for r in rows}
    return Directory(events, campaigns, managers, calendars)
