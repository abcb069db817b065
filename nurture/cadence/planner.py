"""The set-based planner: enrol, stop, plan due touches, queue e-mails, create owner tasks.

Every operation is one SQL statement over a whole set of rows (INSERT ... SELECT with
ON CONFLICT DO NOTHING, or UPDATE ... WHERE), never one round trip per lead: planning a
campaign is eight statements per pass whatever its number of steps (see ``plan_campaign``).
There is no Python per-row work: send windows are computed per (window, zone, country, UTC
hour) of the staged rows into the scratch table ``cadence_slots`` and joined.

Safety: a touch is unique per (enrollment, position); an outbox row per dedupe key
``touch.<lead>.<campaign>.<position>.<cycle>``; a task per ``source_key``. Two workers, a
crash between statements, or a second run at the same ``now`` therefore plan nothing twice.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    ColumnElement,
    Integer,
    MetaData,
    String,
    Table,
    and_,
    case,
    cast,
    delete,
    exists,
    func,
    insert,
    literal,
    literal_column,
    not_,
    null,
    or_,
    select,
    text,
    true,
    update,
)
from sqlalchemy.orm import Session, aliased
from sqlalchemy.schema import CreateTable

from nurture.cadence.campaigns import CampaignSpec, Step, text_for
from nurture.cadence.caps import Cap
from nurture.cadence.filters import compile_filter
from nurture.cadence.sqlfuncs import add_days, epoch_hour, greatest
from nurture.cadence.windows import Window, next_send_time, zone
from nurture.config import get_settings
from nurture.db.base import UTCDateTime
from nurture.db.cadence import (
    CadenceSlot,
    Campaign,
    Engagement,
    Enrollment,
    Purchase,
    Task,
    Touch,
)
from nurture.db.leads import Event, Lead, LeadSource
from nurture.db.mail import OutboxMessage, Suppression
from nurture.db.sql import TASK_INSERT_COLUMNS, dialect_insert

CAPPED_CHANNELS = ("email", "call")
LOOKAHEAD = timedelta(hours=24)


def affected(session: Session, stmt: Any) -> int:
    """Execute ``stmt`` and return how many rows it inserted or updated (both backends)."""
    # as an option of this execution, not a copy of the statement: a copy would lose the
    # cache key SQLAlchemy computed for it (statements are reused across passes)
    return rowcount(session.execute(stmt, execution_options={"preserve_rowcount": True}))


def rowcount(result: Any) -> int:
    n = getattr(result, "rowcount", 0)
    return int(n) if n and n > 0 else 0


def ts(value: datetime) -> Any:
    """A UTC datetime as a bound SQL literal of the UTCDateTime type."""
    return literal(value, UTCDateTime())


def _int(n: int) -> Any:
    return literal_column(str(int(n)), Integer())


@dataclass
class PlanSummary:
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


# ---- enrolment ---------------------------------------------------------------------------


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
    session: Session, specs: Iterable[tuple[Campaign, CampaignSpec]], *, now: datetime
) -> dict[str, int]:
    """Enrol leads into the campaigns bound to their events' kinds (or sources)."""
    out: dict[str, int] = {}
    for campaign, spec in specs:
        aud = spec.audience
        if not aud.auto_enroll or spec.dormant is not None:
            continue
        if not (aud.event_kinds or aud.sources):
            continue
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


# ---- stop rules --------------------------------------------------------------------------


def _stop_condition(rule: str, slug: str) -> ColumnElement[bool]:
    """Rule condition over the enrolment row. Uncorrelated ``lead_id IN (...)`` filters come
    first (evaluated once per statement); timing checks are correlated only for those."""

    def leads_where(*cond: ColumnElement[bool]) -> ColumnElement[bool]:
        return Enrollment.lead_id.in_(select(Lead.id).where(*cond))

    def engaged(kind: str, *, since_enrolment: bool) -> ColumnElement[bool]:
        found = Enrollment.lead_id.in_(select(Engagement.lead_id).where(Engagement.kind == kind))
        if not since_enrolment:
            return found
        return and_(
            found,
            exists(
                select(Engagement.id).where(
                    Engagement.lead_id == Enrollment.lead_id,
                    Engagement.kind == kind,
                    Engagement.occurred_at >= Enrollment.enrolled_at,
                )
            ),
        )

    if rule == "converted":
        return leads_where(Lead.status == "converted")
    if rule == "purchased":
        return and_(
            Enrollment.lead_id.in_(select(Purchase.lead_id)),
            exists(
                select(Purchase.id).where(
                    Purchase.lead_id == Enrollment.lead_id,
                    Purchase.purchased_at >= Enrollment.enrolled_at,
                )
            ),
        )
    if rule == "replied":
        return engaged("reply", since_enrolment=True)
    if rule == "unsubscribed":
        return or_(
            leads_where(or_(Lead.unsubscribed_at.is_not(None), Lead.do_not_contact.is_(True))),
            engaged("unsubscribe", since_enrolment=False),
            Enrollment.lead_id.in_(
                select(Lead.id)
                # live leads only (merged ones stop anyway): the lookup by e-mail is then
                # the partial unique index, the only e-mail index leads has
                .join(
                    Suppression,
                    and_(Suppression.email == Lead.email, Lead.merged_into_id.is_(None)),
                )
                .where(
                    Suppression.scope.in_(["*", slug]),
                    Suppression.reason.in_(["unsubscribe", "complaint"]),
                )
            ),
        )
    if rule == "bounced":
        return or_(
            leads_where(Lead.email_status == "undeliverable"),
            engaged("bounce", since_enrolment=True),
        )
    if rule == "owner_closed":
        return leads_where(Lead.status.in_(["lost", "closed"]))
    if rule == "merged":
        return leads_where(Lead.merged_into_id.is_not(None))
    raise ValueError(f"unknown stop rule {rule!r}")


def apply_stop_rules(
    session: Session, specs: Iterable[tuple[Campaign, CampaignSpec]], *, now: datetime
) -> dict[str, int]:
    """Stop active enrolments whose lead converted, replied, unsubscribed, bounced, was
    closed or merged; cancel their queued e-mails and open tasks. Returns counts by rule."""
    counts: dict[str, int] = {}
    table: Table = Enrollment.__table__  # type: ignore[assignment]
    for campaign, spec in specs:
        # one pass over the campaign's active enrolments for all its rules; the first rule
        # that holds (in the campaign's order, merged first) is the recorded reason
        rules = [(rule, _stop_condition(rule, spec.slug)) for rule in ["merged", *spec.stop_on]]
        reason = case(*[(cond, literal(rule)) for rule, cond in rules], else_=literal("merged"))
        stopped = session.scalars(
            update(table)
            .where(
                table.c.campaign_id == campaign.id,
                table.c.status == "active",
                or_(*[cond for _rule, cond in rules]),
            )
            .values(status="stopped", stop_reason=reason, finished_at=now, next_due_at=None)
            .returning(table.c.stop_reason)
        ).all()
        for rule in stopped:
            counts[rule] = counts.get(rule, 0) + 1
    if counts:
        cancel_pending(session)
    return counts


def cancel_pending(session: Session) -> int:
    """Queued e-mails and open tasks of stopped enrolments are cancelled (not yet sent)."""
    stopped_touch = (
        select(Touch.id)
        .join(Enrollment, Enrollment.id == Touch.enrollment_id)
        .where(Enrollment.status == "stopped", Touch.status == "planned")
    )
    session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.status == "queued",
            OutboxMessage.id.in_(
                select(Touch.outbox_id).where(
                    Touch.id.in_(stopped_touch), Touch.outbox_id.is_not(None)
                )
            ),
        )
        .values(status="cancelled", last_error="cadence: enrolment stopped")
        .execution_options(synchronize_session=False, preserve_rowcount=True)
    )
    session.execute(
        update(Task)
        .where(
            Task.status == "open",
            Task.id.in_(
                select(Touch.task_id).where(Touch.id.in_(stopped_touch), Touch.task_id.is_not(None))
            ),
        )
        .values(status="cancelled", outcome="cadence: enrolment stopped")
        .execution_options(synchronize_session=False, preserve_rowcount=True)
    )
    sent = exists(
        select(OutboxMessage.id).where(
            OutboxMessage.id == Touch.outbox_id,
            OutboxMessage.status.not_in(["cancelled", "queued"]),
        )
    )
    res = session.execute(
        update(Touch)
        .where(Touch.id.in_(stopped_touch), not_(sent))
        .values(status="skipped")
        .execution_options(synchronize_session=False, preserve_rowcount=True)
    )
    return rowcount(res)


def sync_touch_status(session: Session) -> None:
    """Planned touches become done when their e-mail was sent or their task completed, and
    skipped when the e-mail was suppressed, cancelled or failed for good. Only planned
    touches are visited (index on status), each with a primary-key probe."""

    def outbox_in(*statuses: str) -> ColumnElement[bool]:
        return exists(
            select(OutboxMessage.id).where(
                OutboxMessage.id == Touch.outbox_id, OutboxMessage.status.in_(statuses)
            )
        )

    for condition, status in (
        (outbox_in("sent"), "done"),
        (outbox_in("failed_perm", "suppressed", "cancelled"), "skipped"),
        (exists(select(Task.id).where(Task.id == Touch.task_id, Task.status == "done")), "done"),
    ):
        session.execute(
            update(Touch)
            .where(Touch.status == "planned", condition)
            .values(status=status)
            .execution_options(synchronize_session=False, preserve_rowcount=True)
        )


# ---- send-time slots ---------------------------------------------------------------------


@dataclass
class SlotMap:
    """The send-time slots of one planning run (rows of ``cadence_slots`` under ``run_id``),
    written for each (window, zone, country) the first time a staged row needs it."""

    now: datetime
    horizon: datetime
    cap: Cap
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    built: set[tuple[str, str, str]] = field(default_factory=set)

    def add(self, session: Session, window: Window, zones: Iterable[tuple[str, str]]) -> int:
        """Write the slots of ``window`` for the ``(zone, country)`` pairs not written yet:
        for each UTC hour of the horizon, the first send time at or after it inside the
        window in that zone (zoneinfo, holidays), and the cap interval around it."""
        settings = get_settings()
        todo = [z for z in zones if (window.key, *z) not in self.built]
        if not todo:
            return 0
        first_hour = int(self.now.timestamp()) // 3600
        last_hour = int(self.horizon.timestamp()) // 3600
        rows: list[dict[str, Any]] = []
        for tz_name, country in todo:
            self.built.add((window.key, tz_name, country))
            tz = zone(tz_name, settings.timezone)
            for hour in range(first_hour, last_hour + 1):
                start = max(self.now, datetime.fromtimestamp(hour * 3600, UTC))
                at = next_send_time(start, tz, country, window)
                rows.append(
                    {
                        "run_id": self.run_id,
                        "window_key": window.key,
                        "tz": tz_name,
                        "country": country,
                        "hour": hour,
                        "scheduled_at": at,
                        "cap_from": at - self.cap.span,
                        "cap_to": at + self.cap.span,
                    }
                )
        for i in range(0, len(rows), 5000):
            session.execute(insert(CadenceSlot), rows[i : i + 5000])
        # fresh statistics: without them PostgreSQL guesses one slot row and nests a loop
        # over the staged rows per slot instead of hashing the (small) slot map once
        session.execute(text("ANALYZE cadence_slots"))
        return len(rows)


def drop_slots(session: Session, run_id: str) -> None:
    session.execute(delete(CadenceSlot).where(CadenceSlot.run_id == run_id))


# ---- planning a campaign -----------------------------------------------------------------

# Per-connection scratch table: one row per due enrolment of the campaign being planned. The
# plan is decided once (window slot, step conditions, cap) and every write of the pass
# (outbox, tasks, touches, enrolments) reads it instead of re-deriving it. TEMPORARY:
# private to the connection, so two workers never see each other's rows, and not part of
# the schema.
_SCRATCH = MetaData()
PLAN = Table(
    "cadence_plan",
    _SCRATCH,
    Column("enrollment_id", Integer, primary_key=True, autoincrement=False),
    Column("lead_id", Integer, nullable=False),
    Column("position", Integer, nullable=False),
    Column("channel", String(20), nullable=False),
    Column("due_at", UTCDateTime(), nullable=False),
    # staged as due_at and 'shifted' (the values of a row without a slot), then decided in
    # place: the same widths, so SQLite rewrites each row where it is
    Column("scheduled_at", UTCDateTime()),
    Column("state", String(10), nullable=False),  # planned | skipped | shifted
    Column("runs", Integer, nullable=False),  # 1: the step's condition holds for the lead
    Column("tz", String(64), nullable=False),  # the lead's zone and country, and the UTC
    Column("country", String(8), nullable=False),  # hour its slot is looked up by
    Column("hour", BigInteger, nullable=False),
    Column("dkey", String(300), nullable=False),  # touch.<lead>.<slug>.<position>.<cycle>
    Column("to_addr", String(320)),
    Column("owner_id", Integer),
    prefixes=["TEMPORARY"],
)


def _open_plan(session: Session) -> None:
    session.execute(CreateTable(PLAN, if_not_exists=True))
    if session.get_bind().dialect.name == "postgresql":
        # each pass ANALYZEs the staged rows (row counts, so the writes probe by key instead
        # of hashing whole tables); a sample of 300 rows tells that as well as the default
        # 30,000, which read every staged row again (0.1-0.2 s per day at a million leads)
        session.execute(
            text(
                "ALTER TABLE cadence_plan "
                + ", ".join(f"ALTER COLUMN {c.name} SET STATISTICS 1" for c in PLAN.columns)
            )
        )
    _clear_plan(session)


def _clear_plan(session: Session) -> None:
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("TRUNCATE cadence_plan"))
    else:
        session.execute(delete(PLAN))


def _step_runs(spec: CampaignSpec, step: Step) -> ColumnElement[bool]:
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


def by_position(position: Any, values: list[Any], type_: Any = String) -> Any:
    """``CASE position WHEN 0 THEN values[0] ...``: a per-step constant inside one statement."""
    whens = {i: literal(v, type_) if v is not None else null() for i, v in enumerate(values)}
    return case(whens, value=position, else_=null())


# Every pass of a campaign runs the same statements: each is built (and keyed for
# SQLAlchemy's compiled cache) once per campaign, not once per pass.
Memo = dict[str, Any]


def _built(memo: Memo, key: str, build: Callable[[], Any]) -> Any:
    if key not in memo:
        memo[key] = build()
    return memo[key]


def stage(
    session: Session,
    campaign: Campaign,
    spec: CampaignSpec,
    *,
    now: datetime,
    horizon: datetime,
    memo: Memo,
) -> int:
    """Stage every due enrolment of ``campaign`` into ``cadence_plan`` (one statement): the
    lead's zone, country and slot hour, and whether the step's condition holds (evaluated
    once per row; NULL counts as false). Returns how many rows were staged."""

    def build() -> Any:
        settings = get_settings()
        pos = Enrollment.next_position
        now_hour = int(now.timestamp()) // 3600
        slot_hour = case(
            (Enrollment.next_due_at < ts(now), literal(now_hour)),
            else_=epoch_hour(Enrollment.next_due_at),
        )
        branches = [
            (pos.in_(positions), case((_step_runs(spec, step), _int(1)), else_=_int(0)))
            for step, positions in step_groups(spec)
        ]
        dkey: Any
        if session.get_bind().dialect.name == "sqlite":
            # printf formats the integers in one call: a third less than five || on SQLite
            # (the slug is [a-z0-9-], no % in it)
            dkey = func.printf(
                literal(f"touch.%d.{spec.slug}.%d.%d"), Enrollment.lead_id, pos, Enrollment.cycle
            )
        else:
            dkey = (
                literal("touch.")
                .concat(cast(Enrollment.lead_id, String))
                .concat(literal(f".{spec.slug}."))
                .concat(cast(pos, String))
                .concat(literal("."))
                .concat(cast(Enrollment.cycle, String))
            )
        query = (
            select(
                Enrollment.id,
                Enrollment.lead_id,
                pos,
                by_position(pos, [s.channel for s in spec.steps]),
                Enrollment.next_due_at,
                Enrollment.next_due_at,
                literal("shifted"),
                case(*branches, else_=_int(0)),
                func.coalesce(Lead.timezone, literal(settings.timezone)),
                func.coalesce(Lead.country, literal(settings.default_region)),
                slot_hour,
                dkey,
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
            )
        )
        return insert(PLAN).from_select([c.name for c in PLAN.columns], query)

    n = affected(session, _built(memo, "stage", build))
    if n and session.get_bind().dialect.name == "postgresql":
        session.execute(text("ANALYZE cadence_plan"))  # else it guesses, and hashes 1M rows
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

    session.execute(_built(memo, "decide", build))


def count_plan(session: Session, spec: CampaignSpec) -> PlanSummary:
    """The summary of the staged rows: one scan with filtered counts (a GROUP BY state and
    step sorted every staged row: twice the time on SQLite)."""
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

    return affected(session, _built(memo, "outbox", build))


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

    return affected(session, _built(memo, "tasks", build))


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

    return affected(session, _built(memo, "touches", build))


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
                earliest = case((sent, add_days(scheduled_at, _int(gap))), else_=scheduled_at)
            whens[k] = greatest(add_days(Enrollment.enrolled_at, _int(nxt.delay_days)), earliest)
        else:
            whens[k] = add_days(scheduled_at, _int(nxt.delay_days))
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
                    else_=add_days(greatest(p.due_at, ts(now)), _int(1)),
                ),
                status=case((finished, literal("completed")), else_=literal("active")),
                finished_at=case((finished, ts(now)), else_=Enrollment.finished_at),
            )
            .execution_options(synchronize_session=False)
        )

    session.execute(_built(memo, "advance", build))


def plan_campaign(
    session: Session,
    campaign: Campaign,
    spec: CampaignSpec,
    *,
    now: datetime,
    horizon: datetime,
    slots: SlotMap,
    queue: bool = True,
) -> PlanSummary:
    """Plan every due touch of one campaign, pass after pass until none is due (a step may
    fall due within the horizon right after the previous one). Each pass: stage, decide
    (slots, cap), count, queue e-mails, create tasks, insert touches, advance enrolments."""
    total = PlanSummary()
    memo: Memo = {}
    for _ in range(len(spec.steps) + 1):
        if not stage(session, campaign, spec, now=now, horizon=horizon, memo=memo):
            break
        decide(session, spec, slots, memo)
        part = count_plan(session, spec)
        part.passes = 1
        if queue:
            part.emails_queued = queue_planned(session, spec, now=now, memo=memo)
            part.tasks_created = create_planned_tasks(session, spec, now=now, memo=memo)
        write_touches(session, campaign, now=now, linked=queue, memo=memo)
        advance(session, spec, now=now, memo=memo)
        _clear_plan(session)
        total.add(part)
    if total.planned:
        total.by_campaign[spec.slug] = total.planned
    return total


# ---- one planning run --------------------------------------------------------------------

SQLITE_CACHE_KIB = 64 * 1024


@contextmanager
def sqlite_cache(session: Session, kib: int = SQLITE_CACHE_KIB) -> Iterator[None]:
    """SQLite only: a page cache of ``kib`` for the main and temp databases while planning,
    restored afterwards. Each pass reads the due enrolments and their leads, then writes
    them back; SQLite's default 2 MiB cache re-reads those pages from the OS every time."""
    if session.get_bind().dialect.name != "sqlite":
        yield
        return
    conn = session.connection()
    before = {
        schema: int(conn.exec_driver_sql(f"PRAGMA {schema}.cache_size").scalar_one())
        for schema in ("main", "temp")
    }
    for schema in before:
        conn.exec_driver_sql(f"PRAGMA {schema}.cache_size = -{int(kib)}")
    try:
        yield
    finally:
        for schema, size in before.items():
            conn.exec_driver_sql(f"PRAGMA {schema}.cache_size = {size}")


def plan_due(
    session: Session,
    specs: list[tuple[Campaign, CampaignSpec]],
    *,
    now: datetime,
    cap: Cap | None = None,
    lookahead: timedelta = LOOKAHEAD,
    queue: bool = True,
) -> PlanSummary:
    """Plan every touch due before ``now + lookahead``, campaign by campaign in priority
    order (so the higher priority wins under the cap), and queue the e-mails and create the
    owner tasks of the planned touches (``queue=False``: touches only, for the benchmark)."""
    settings = get_settings()
    cap = cap or Cap(settings.frequency_cap, settings.frequency_cap_days)
    horizon = now + lookahead
    total = PlanSummary()
    due = session.execute(
        select(Enrollment.id)
        .where(Enrollment.status == "active", Enrollment.next_due_at < horizon)
        .limit(1)
    ).first()
    if due is None:
        return total  # nothing due
    slots = SlotMap(now=now, horizon=horizon, cap=cap)
    with sqlite_cache(session):
        _open_plan(session)
        if session.get_bind().dialect.name == "postgresql":
            # many short index probes: compiling them (JIT, on by default) costs more than
            # it saves, up to half a second per statement once the estimates grow
            session.execute(text("SET LOCAL jit = off"))
        try:
            for campaign, spec in specs:  # specs come priority-first
                part = plan_campaign(
                    session,
                    campaign,
                    spec,
                    now=now,
                    horizon=horizon,
                    slots=slots,
                    queue=queue,
                )
                total.add(part)
        finally:
            drop_slots(session, slots.run_id)
    return total
