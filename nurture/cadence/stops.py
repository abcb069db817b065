"""Stop rules and touch states, set-based.

Each cycle first brings planned touches up to date with what happened to their e-mail or
task (:func:`sync_touch_status`), then stops the active enrolments whose lead converted,
bought, replied, unsubscribed, bounced, was closed or merged (:func:`apply_stop_rules`),
and cancels what those enrolments still had queued (:func:`cancel_pending`).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import ColumnElement, Table, and_, case, exists, literal, not_, or_, select, update
from sqlalchemy.orm import Session

from nurture.cadence.campaigns import CampaignSpec
from nurture.cadence.guard import CampaignGuard
from nurture.cadence.statements import rowcount
from nurture.db.cadence import Campaign, Engagement, Enrollment, Purchase, Task, Touch
from nurture.db.leads import Lead
from nurture.db.mail import OutboxMessage, Suppression


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
    session: Session,
    specs: Iterable[tuple[Campaign, CampaignSpec]],
    *,
    now: datetime,
    guard: CampaignGuard | None = None,
) -> dict[str, int]:
    """Stop active enrolments whose lead converted, replied, unsubscribed, bounced, was
    closed or merged; cancel their queued e-mails and open tasks. Returns counts by rule.
    Each campaign runs under ``guard`` (by default: errors propagate)."""
    guard = guard or CampaignGuard(session, isolate=False)
    counts: dict[str, int] = {}
    table: Table = Enrollment.__table__  # type: ignore[assignment]
    for campaign, spec in guard.live(specs):
        # one pass over the campaign's active enrolments for all its rules; the first rule
        # that holds (in the campaign's order, merged first) is the recorded reason
        with guard.campaign(spec.slug):
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
