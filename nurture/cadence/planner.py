"""The set-based planner: enrol, stop, plan due touches, queue e-mails, create owner tasks.

Every operation is one SQL statement over a whole set of rows (INSERT ... SELECT with
ON CONFLICT DO NOTHING, or UPDATE ... WHERE), one per campaign step at most, never one
round trip per lead. The only Python per-row work is none: send windows are computed per
(window, zone, country, UTC hour) into the scratch table ``cadence_slots`` and joined.

Safety: a touch is unique per (enrollment, position); an outbox row per dedupe key
``touch.<lead>.<campaign>.<position>.<cycle>``; a task per ``source_key``. Two workers, a
crash between statements, or a second run at the same ``now`` therefore plan nothing twice.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    String,
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
    return rowcount(session.execute(stmt.execution_options(preserve_rowcount=True)))


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
                .join(Suppression, Suppression.email == Lead.email)
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
    for campaign, spec in specs:
        for rule in ["merged", *spec.stop_on]:
            res = session.execute(
                update(Enrollment)
                .where(
                    Enrollment.campaign_id == campaign.id,
                    Enrollment.status == "active",
                    _stop_condition(rule, spec.slug),
                )
                .values(status="stopped", stop_reason=rule, finished_at=now, next_due_at=None)
                .execution_options(synchronize_session=False, preserve_rowcount=True)
            )
            n = rowcount(res)
            if n:
                counts[rule] = counts.get(rule, 0) + n
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


def _lead_tz() -> Any:
    return func.coalesce(Lead.timezone, literal(get_settings().timezone))


def _lead_country() -> Any:
    return func.coalesce(Lead.country, literal(get_settings().default_region))


def build_slots(
    session: Session,
    windows: dict[str, Window],
    *,
    now: datetime,
    horizon: datetime,
    cap: Cap,
) -> str:
    """Write the slot map for this run; returns its ``run_id``."""
    run_id = uuid.uuid4().hex
    settings = get_settings()
    zones = session.execute(
        select(_lead_tz(), _lead_country())
        .select_from(Enrollment)
        .join(Lead, Lead.id == Enrollment.lead_id)
        .where(Enrollment.status == "active", Enrollment.next_due_at < horizon)
        .distinct()
    ).all()
    first_hour = int(now.timestamp()) // 3600
    last_hour = int(horizon.timestamp()) // 3600
    rows: list[dict[str, Any]] = []
    for key, window in windows.items():
        for tz_name, country in zones:
            tz = zone(tz_name, settings.timezone)
            for hour in range(first_hour, last_hour + 1):
                start = max(now, datetime.fromtimestamp(hour * 3600, UTC))
                at = next_send_time(start, tz, country, window)
                rows.append(
                    {
                        "run_id": run_id,
                        "window_key": key,
                        "tz": tz_name,
                        "country": country,
                        "hour": hour,
                        "scheduled_at": at,
                        "cap_from": at - cap.span,
                        "cap_to": at + cap.span,
                    }
                )
    for i in range(0, len(rows), 5000):
        session.execute(insert(CadenceSlot), rows[i : i + 5000])
    # fresh statistics: without them PostgreSQL guesses one slot row and nests a loop over
    # the due enrolments per slot instead of hashing the (small) slot map once
    session.execute(text("ANALYZE cadence_slots"))
    return run_id


def drop_slots(session: Session, run_id: str) -> None:
    session.execute(delete(CadenceSlot).where(CadenceSlot.run_id == run_id))


# ---- planning one step -------------------------------------------------------------------


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


def plan_step(
    session: Session,
    campaign: Campaign,
    spec: CampaignSpec,
    position: int,
    *,
    now: datetime,
    horizon: datetime,
    run_id: str,
    cap: Cap,
) -> PlanSummary:
    """Plan every due touch of one campaign step: insert touches (or skips), shift the
    ones the frequency cap refuses, then advance the enrolments to their next step."""
    step = spec.steps[position]
    summary = PlanSummary()
    settings = get_settings()
    due_here = and_(
        Enrollment.campaign_id == campaign.id,
        Enrollment.status == "active",
        Enrollment.next_position == position,
        Enrollment.next_due_at < horizon,
    )
    now_hour = int(now.timestamp()) // 3600
    slot_hour = case(
        (Enrollment.next_due_at < ts(now), literal(now_hour)),
        else_=epoch_hour(Enrollment.next_due_at),
    )
    runs = case((_step_runs(spec, step), 1), else_=0)
    t2 = aliased(Touch)
    near = (
        select(func.count(t2.id))
        .where(
            t2.lead_id == Enrollment.lead_id,
            t2.status.in_(["planned", "done"]),
            t2.channel.in_(CAPPED_CHANNELS),
            t2.scheduled_at > CadenceSlot.cap_from,
            t2.scheduled_at < CadenceSlot.cap_to,
        )
        .scalar_subquery()
    )
    allowed = or_(runs == 0, near < cap.limit) if step.channel in CAPPED_CHANNELS else true()
    query = (
        select(
            Enrollment.id,
            Enrollment.lead_id,
            Enrollment.campaign_id,
            literal(position),
            literal(step.channel),
            Enrollment.next_due_at,
            CadenceSlot.scheduled_at,
            case((runs == 1, literal("planned")), else_=literal("skipped")),
            ts(now),
        )
        .select_from(Enrollment)
        .join(Lead, Lead.id == Enrollment.lead_id)
        .join(
            CadenceSlot,
            and_(
                CadenceSlot.run_id == run_id,
                CadenceSlot.window_key == spec.window.to_window().key,
                CadenceSlot.tz == func.coalesce(Lead.timezone, literal(settings.timezone)),
                CadenceSlot.country
                == func.coalesce(Lead.country, literal(settings.default_region)),
                CadenceSlot.hour == slot_hour,
            ),
        )
        .where(due_here, allowed)
    )
    stmt = (
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
            ],
            query,
        )
        .on_conflict_do_nothing()
    )
    inserted = affected(session, stmt)
    if inserted:
        summary.skipped = session.execute(
            select(func.count(Touch.id)).where(
                Touch.campaign_id == campaign.id,
                Touch.position == position,
                Touch.status == "skipped",
                Touch.created_at == ts(now),
            )
        ).scalar_one()
    summary.planned = inserted - summary.skipped

    has_touch = exists(
        select(Touch.id).where(Touch.enrollment_id == Enrollment.id, Touch.position == position)
    )
    # refused by the cap: shifted by a day, never dropped
    res = session.execute(
        update(Enrollment)
        .where(due_here, not_(has_touch))
        .values(next_due_at=add_days(greatest(Enrollment.next_due_at, ts(now)), _int(1)))
        .execution_options(synchronize_session=False, preserve_rowcount=True)
    )
    summary.shifted = rowcount(res)

    # advance to the next step
    this_touch = (
        select(Touch.scheduled_at)
        .where(Touch.enrollment_id == Enrollment.id, Touch.position == position)
        .scalar_subquery()
    )
    advance = and_(
        due_here,  # only due rows can have got a touch: the index range stays small
        has_touch,
    )
    if position + 1 >= len(spec.steps):
        values: dict[str, Any] = {
            "next_position": position + 1,
            "next_due_at": None,
            "status": "completed",
            "finished_at": ts(now),
        }
    else:
        nxt = spec.steps[position + 1]
        if nxt.anchor == "enrolment":
            due: Any = greatest(add_days(Enrollment.enrolled_at, _int(nxt.delay_days)), this_touch)
        else:
            due = add_days(this_touch, _int(nxt.delay_days))
        values = {"next_position": position + 1, "next_due_at": due}
    res = session.execute(
        update(Enrollment)
        .where(advance)
        .values(**values)
        .execution_options(synchronize_session=False, preserve_rowcount=True)
    )
    if position + 1 >= len(spec.steps):
        summary.completed = rowcount(res)
    return summary


def _touch_key(slug: str, position: int, cycle: Any) -> Any:
    return (
        literal("touch.")
        + cast(Touch.lead_id, String)
        + literal(f".{slug}.{position}.")
        + cast(cycle, String)
    )


def queue_step(
    session: Session, campaign: Campaign, spec: CampaignSpec, position: int, *, now: datetime
) -> int:
    """Queue the planned e-mails of one step in the outbox (contract: dedupe key, message id,
    status 'queued', next_attempt_at = scheduled send time) and link them to their touches."""
    step = spec.steps[position]
    domain = get_settings().message_id_domain
    key = _touch_key(spec.slug, position, Enrollment.cycle)
    pending = and_(
        Touch.campaign_id == campaign.id,
        Touch.position == position,
        Touch.status == "planned",
        Touch.outbox_id.is_(None),
    )
    query = (
        select(
            key,
            literal("<") + key + literal(f"@{domain}>"),
            literal("marketing"),
            Touch.lead_id,
            Lead.owner_id,
            literal(spec.slug),
            literal(step.name),
            literal(spec.template_for(step)),
            Lead.email,
            null(),
            literal("queued"),
            literal(0),
            Touch.scheduled_at,
            ts(now),
        )
        .select_from(Touch)
        .join(Enrollment, Enrollment.id == Touch.enrollment_id)
        .join(Lead, Lead.id == Touch.lead_id)
        .where(pending, Lead.email.is_not(None))
    )
    stmt = (
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
    queued = affected(session, stmt)
    link = (Touch.outbox_id, OutboxMessage.id, OutboxMessage.dedupe_key)
    _link_touches(session, pending, spec, position, *link)
    return queued


def _link_touches(
    session: Session,
    pending: Any,
    spec: CampaignSpec,
    position: int,
    link: Any,
    target_id: Any,
    target_key: Any,
) -> None:
    """Point the pending touches of a step at the outbox rows or tasks just inserted for
    them (found by the touch key, so rows a re-run inserted earlier are linked too)."""
    cycle = (
        select(Enrollment.cycle)
        .where(Enrollment.id == Touch.enrollment_id)
        .correlate(Touch)
        .scalar_subquery()
    )
    session.execute(
        update(Touch)
        .where(pending)
        .values(
            {
                link: select(target_id)
                .where(target_key == _touch_key(spec.slug, position, cycle))
                .scalar_subquery()
            }
        )
        .execution_options(synchronize_session=False, preserve_rowcount=True)
    )


def task_step(
    session: Session, campaign: Campaign, spec: CampaignSpec, position: int, *, now: datetime
) -> int:
    """Create the owner's call/reminder tasks for the planned touches of one step."""
    step = spec.steps[position]
    key = _touch_key(spec.slug, position, Enrollment.cycle)
    pending = and_(
        Touch.campaign_id == campaign.id,
        Touch.position == position,
        Touch.status == "planned",
        Touch.task_id.is_(None),
    )
    default_title = {"call": {"ru": "Позвонить", "en": "Call"}}.get(
        step.channel, {"ru": "Напоминание", "en": "Reminder"}
    )
    title_ru = text_for(step.title, "ru") or default_title["ru"]
    title_en = text_for(step.title, "en") or default_title["en"]
    who = func.coalesce(
        Lead.first_name + literal(" ") + Lead.last_name,
        Lead.company,
        Lead.email,
        Lead.phone,
        literal("#") + cast(Lead.id, String),
    )
    title = case((Lead.language == "ru", literal(title_ru)), else_=literal(title_en))
    instructions = case(
        (Lead.language == "ru", literal(text_for(step.instructions, "ru") or None, String)),
        else_=literal(text_for(step.instructions, "en") or None, String),
    )
    query = (
        select(
            key,
            Touch.lead_id,
            Lead.owner_id,
            literal(step.channel),
            func.substr(title + literal(": ") + who, 1, 300),
            instructions,
            Touch.scheduled_at,
            literal(step.deadline),
            literal("open"),
            ts(now),
        )
        .select_from(Touch)
        .join(Enrollment, Enrollment.id == Touch.enrollment_id)
        .join(Lead, Lead.id == Touch.lead_id)
        .where(pending)
    )
    stmt = (
        dialect_insert(session, Task)
        .from_select(TASK_INSERT_COLUMNS, query)
        .on_conflict_do_nothing()
    )
    created = affected(session, stmt)
    _link_touches(session, pending, spec, position, Touch.task_id, Task.id, Task.source_key)
    return created


# ---- one planning run --------------------------------------------------------------------


def due_groups(session: Session, *, horizon: datetime) -> list[tuple[int, int]]:
    """(campaign id, step position) pairs with due active enrolments."""
    rows = session.execute(
        select(Enrollment.campaign_id, Enrollment.next_position)
        .where(Enrollment.status == "active", Enrollment.next_due_at < horizon)
        .distinct()
    ).all()
    return [(int(c), int(p)) for c, p in rows]


def plan_due(
    session: Session,
    specs: list[tuple[Campaign, CampaignSpec]],
    *,
    now: datetime,
    cap: Cap | None = None,
    lookahead: timedelta = LOOKAHEAD,
) -> PlanSummary:
    """Plan every touch due before ``now + lookahead``, campaign by campaign in priority
    order (so the higher priority wins under the cap), repeating until nothing is due."""
    settings = get_settings()
    cap = cap or Cap(settings.frequency_cap, settings.frequency_cap_days)
    horizon = now + lookahead
    by_id = {c.id: (c, s) for c, s in specs}
    order = {c.id: i for i, (c, _s) in enumerate(specs)}  # specs come priority-first
    total = PlanSummary()
    groups = [g for g in due_groups(session, horizon=horizon) if g[0] in by_id]
    if not groups:
        return total
    windows = {s.window.to_window().key: s.window.to_window() for _c, s in specs}
    run_id = build_slots(session, windows, now=now, horizon=horizon, cap=cap)
    touched: set[tuple[int, int]] = set()
    max_steps = max(len(s.steps) for _c, s in specs)
    try:
        for _ in range(max_steps + 1):
            if not groups:
                break
            total.passes += 1
            for cid, pos in sorted(groups, key=lambda g: (order[g[0]], g[1])):
                campaign, spec = by_id[cid]
                if pos >= len(spec.steps):
                    continue
                part = plan_step(
                    session, campaign, spec, pos, now=now, horizon=horizon, run_id=run_id, cap=cap
                )
                total.add(part)
                if part.planned or part.skipped:
                    total.by_campaign[spec.slug] = (
                        total.by_campaign.get(spec.slug, 0) + part.planned
                    )
                    touched.add((cid, pos))
            groups = [g for g in due_groups(session, horizon=horizon) if g[0] in by_id]
    finally:
        drop_slots(session, run_id)
    for cid, pos in sorted(touched):
        campaign, spec = by_id[cid]
        channel = spec.steps[pos].channel
        if channel == "email":
            total.emails_queued += queue_step(session, campaign, spec, pos, now=now)
        else:
            total.tasks_created += task_step(session, campaign, spec, pos, now=now)
    return total
