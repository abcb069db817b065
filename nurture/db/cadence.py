"""Campaigns, enrolments, planned touches, owner tasks, purchases and engagement events."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from nurture.db.base import Base, utcnow

# open tasks the escalation run has not yet seen overdue
UNSEEN = text("status = 'open' AND overdue_at IS NULL")


class Campaign(Base):
    """A nurture campaign loaded from YAML; ``definition`` keeps the validated document."""

    __tablename__ = "campaigns"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(100), unique=True)
    name: Mapped[str] = mapped_column(String(300))
    priority: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(default=True)
    definition: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class CampaignStep(Base):
    __tablename__ = "campaign_steps"
    __table_args__ = (UniqueConstraint("campaign_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"))
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(100))
    delay_days: Mapped[int] = mapped_column(Integer)
    anchor: Mapped[str] = mapped_column(String(20), default="enrolment")  # enrolment|previous
    channel: Mapped[str] = mapped_column(String(20))  # email|call|reminder
    template: Mapped[str | None] = mapped_column(String(300))
    conditions: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class Enrollment(Base):
    __tablename__ = "enrollments"
    __table_args__ = (
        UniqueConstraint("lead_id", "campaign_id", "cycle"),
        # the planner's due rows; every index here is rewritten when an enrolment moves on,
        # so there are no others (0007 dropped the per-step and the lead_id ones)
        Index("ix_enrollments_status_next_due_at", "status", "next_due_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id"))  # indexed by the unique key
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"))
    cycle: Mapped[int] = mapped_column(Integer, default=1)  # re-engagement may enrol again
    status: Mapped[str] = mapped_column(String(20), default="active")  # active|completed|stopped
    stop_reason: Mapped[str | None] = mapped_column(String(100))
    next_position: Mapped[int] = mapped_column(Integer, default=0)
    next_due_at: Mapped[datetime | None]
    enrolled_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]


class Touch(Base):
    """A planned or done touch of one lead; unique per enrolment and step."""

    __tablename__ = "touches"
    __table_args__ = (
        UniqueConstraint("enrollment_id", "position"),
        Index("ix_touches_lead_id_scheduled_at", "lead_id", "scheduled_at"),
        Index("ix_touches_status_scheduled_at", "status", "scheduled_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    enrollment_id: Mapped[int] = mapped_column(ForeignKey("enrollments.id"))
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id"))
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"))
    position: Mapped[int] = mapped_column(Integer)
    channel: Mapped[str] = mapped_column(String(20))
    due_at: Mapped[datetime]
    scheduled_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(20), default="planned")  # planned|done|skipped
    # no foreign keys (0008): ids come from the rows' keys in the same transaction, and
    # outbox rows and tasks are never deleted; a check per planned touch guarded nothing
    outbox_id: Mapped[int | None] = mapped_column(Integer)
    task_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class CadenceSlot(Base):
    """Scratch lookup written by one planning run (``run_id``) and deleted at its end.

    For each send window, lead zone, lead country and UTC hour of the planning horizon it
    holds the first allowed send time and the frequency-cap interval around it, computed in
    Python (zoneinfo, holidays) so that the planner itself stays one INSERT ... SELECT per step.
    """

    __tablename__ = "cadence_slots"

    run_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    window_key: Mapped[str] = mapped_column(String(200), primary_key=True)
    tz: Mapped[str] = mapped_column(String(64), primary_key=True)
    country: Mapped[str] = mapped_column(String(8), primary_key=True)
    hour: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    scheduled_at: Mapped[datetime]
    cap_from: Mapped[datetime]
    cap_to: Mapped[datetime]


class Task(Base):
    """One piece of human work: a cadence call or reminder, a first contact, a follow-up, a
    re-engagement, or a playbook action of a deal. Each has instructions, an assignee, a due
    time (``deadline`` hard or recommended) and, once done, an outcome.

    Set-based writers (cadence planner, routing, coverage, dormant re-engagement) fill the
    columns of :data:`nurture.db.sql.TASK_INSERT_COLUMNS`; everything else has a default.
    The playbooks capability completes, reschedules, reassigns, reminds and escalates
    (``nurture.playbooks``); its bookkeeping columns are described below.
    """

    __tablename__ = "tasks"
    __table_args__ = (
        UniqueConstraint("source_key"),
        Index("ix_tasks_manager_id_status_due_at", "manager_id", "status", "due_at"),
        # cadence (0005): open tasks past due, coverage sets
        Index("ix_tasks_status_due_at", "status", "due_at"),
        Index("ix_tasks_deal_id", "deal_id"),
        # playbooks (0014): the escalation run's three set-based finds stay small: open tasks
        # not yet seen overdue, armed escalations, pending reminders
        Index(
            "ix_tasks_due_at_unseen",
            "due_at",
            sqlite_where=UNSEEN,
            postgresql_where=UNSEEN,
        ),
        Index(
            "ix_tasks_escalate_at",
            "escalate_at",
            sqlite_where=text("escalate_at IS NOT NULL"),
            postgresql_where=text("escalate_at IS NOT NULL"),
        ),
        Index(
            "ix_tasks_remind_at",
            "remind_at",
            sqlite_where=text("remind_at IS NOT NULL"),
            postgresql_where=text("remind_at IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    source_key: Mapped[str] = mapped_column(String(300))  # idempotency key
    # no foreign keys (0008): written from the lead row and its owner, never deleted; the
    # checks cost a probe per created task. Writers validate ids (docs/playbooks.md).
    lead_id: Mapped[int] = mapped_column(Integer, index=True)
    manager_id: Mapped[int | None] = mapped_column(Integer)
    # first_contact|call|reminder|follow_up|reengage|action (a playbook action)
    kind: Mapped[str] = mapped_column(String(30))
    title: Mapped[str] = mapped_column(String(300))
    instructions: Mapped[str | None] = mapped_column(Text)  # Markdown
    due_at: Mapped[datetime]
    deadline: Mapped[str] = mapped_column(String(20), default="recommended")  # hard|recommended
    status: Mapped[str] = mapped_column(String(20), default="open")  # open|done|cancelled
    # a one-line account of how it ended (set-based writers put their cancel reason here)
    outcome: Mapped[str | None] = mapped_column(Text)
    escalated_at: Mapped[datetime | None]  # first escalation (level 1)
    escalated_to: Mapped[str | None] = mapped_column(String(320))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    completed_at: Mapped[datetime | None]
    # --- playbooks (0014)
    deal_id: Mapped[int | None] = mapped_column(Integer)  # deals.id of a playbook action
    stage: Mapped[str | None] = mapped_column(String(100))  # the deal stage's key
    action: Mapped[str | None] = mapped_column(String(100))  # the action's key in the stage
    role: Mapped[str | None] = mapped_column(String(50))  # the role pool it was assigned from
    outcome_values: Mapped[dict[str, Any] | None] = mapped_column()  # the outcome form's values
    note: Mapped[str | None] = mapped_column(Text)
    completed_by: Mapped[str | None] = mapped_column(String(320))
    cancel_reason: Mapped[str | None] = mapped_column(String(300))
    # next reminder before the deadline (delivered in the assignee's daily digest)
    remind_at: Mapped[datetime | None]
    reminded_at: Mapped[datetime | None]
    overdue_at: Mapped[datetime | None]  # when the escalation run first saw it overdue
    escalation_level: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    escalate_at: Mapped[datetime | None]  # when the next level of its chain is due
    fallback_at: Mapped[datetime | None]  # when a fallback e-mail went to the lead instead


class Purchase(Base):
    __tablename__ = "purchases"
    __table_args__ = (UniqueConstraint("source_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    source_key: Mapped[str] = mapped_column(String(300))
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id"), index=True)
    purchased_at: Mapped[datetime]
    amount: Mapped[float] = mapped_column(Float)
    quantity: Mapped[int] = mapped_column(Integer, default=1)
    product: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Engagement(Base):
    """Opens, clicks, replies, bounces: signals for stop rules and scoring."""

    __tablename__ = "engagements"
    __table_args__ = (Index("ix_engagements_lead_id_kind", "lead_id", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id"))
    kind: Mapped[str] = mapped_column(String(20))  # open|click|reply|bounce|unsubscribe
    campaign_slug: Mapped[str | None] = mapped_column(String(100))
    detail: Mapped[str | None] = mapped_column(Text)
    occurred_at: Mapped[datetime] = mapped_column(default=utcnow)


class CycleMark(Base):
    """A part of a sharded cycle done for one ``now`` (0019): the shards of a cycle share its
    global part, so the first to take the ``cycle`` lock runs it and the others skip it."""

    __tablename__ = "cycle_marks"

    at: Mapped[datetime] = mapped_column(primary_key=True)
    part: Mapped[str] = mapped_column(String(40), primary_key=True)
    done_at: Mapped[datetime] = mapped_column(default=utcnow)
