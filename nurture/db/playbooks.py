"""Sales playbooks: versions, deals, escalations, documents and approvals, automated step
runs, requests to other systems, role pools and the append-only event log.

Foreign keys (see docs/playbooks.md, "Foreign keys"): rows that people write one at a time
(deals, documents, approvals, step runs, requests, role members) reference their parents with
constraints; the checks cost nothing at that pace and catch a wrong id at once. The
high-volume rows written by set-based statements (``tasks``, ``escalations``, ``event_log``)
carry plain integer ids, like ``touches`` and ``outbox`` since 0008: every writer derives them
from the parent row in the same statement, or validates them first (the library functions in
``nurture.playbooks`` do, and tests show it).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from nurture.db.base import Base, utcnow

#: Event-log ids outgrow 32 bits in a long-lived installation; SQLite needs INTEGER for its
#: rowid alias (autoincrement), where 64 bits is the storage size anyway.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class PlaybookVersion(Base):
    """One loaded version of a playbook file; a deal keeps the version it started on."""

    __tablename__ = "playbook_versions"
    __table_args__ = (UniqueConstraint("name", "version"), UniqueConstraint("name", "sha256"))

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    version: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    file_name: Mapped[str] = mapped_column(String(500))
    definition: Mapped[dict[str, Any]] = mapped_column()  # the validated document
    source: Mapped[str] = mapped_column(Text)  # the YAML as loaded
    loaded_at: Mapped[datetime] = mapped_column(default=utcnow)


class Deal(Base):
    """An opportunity of one lead, running one playbook version, stage by stage."""

    __tablename__ = "deals"
    __table_args__ = (Index("ix_deals_status_last_progress_at", "status", "last_progress_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id"), index=True)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("managers.id"), index=True)
    playbook: Mapped[str] = mapped_column(String(100))
    version_id: Mapped[int] = mapped_column(ForeignKey("playbook_versions.id"))
    version: Mapped[int] = mapped_column(Integer)
    stage: Mapped[str] = mapped_column(String(100))
    stage_entered_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(20), default="open")  # open|won|lost|closed
    amount: Mapped[float | None] = mapped_column(Float)
    currency: Mapped[str | None] = mapped_column(String(3))
    # deal fields: set by people, automated steps (price, delivery date) and the playbook
    fields: Mapped[dict[str, Any] | None] = mapped_column()
    opened_at: Mapped[datetime] = mapped_column(default=utcnow)
    opened_by: Mapped[str | None] = mapped_column(String(320))
    closed_at: Mapped[datetime | None]
    close_reason: Mapped[str | None] = mapped_column(Text)
    last_progress_at: Mapped[datetime] = mapped_column(default=utcnow)
    stalled_reported_at: Mapped[datetime | None]


class Escalation(Base):
    """One level of one task's escalation chain, fired once (unique per task and level)."""

    __tablename__ = "escalations"
    __table_args__ = (UniqueConstraint("task_id", "level"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    task_id: Mapped[int] = mapped_column(Integer)  # tasks.id (no FK: see the module doc)
    level: Mapped[int] = mapped_column(Integer)
    fired_at: Mapped[datetime]
    lead_id: Mapped[int] = mapped_column(Integer)
    deal_id: Mapped[int | None] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(20))  # notify|reassign
    recipient: Mapped[str | None] = mapped_column(String(320))  # who was told
    from_manager_id: Mapped[int | None] = mapped_column(Integer)
    to_manager_id: Mapped[int | None] = mapped_column(Integer)  # a reassignment's new owner
    overdue_seconds: Mapped[int] = mapped_column(Integer, default=0)


class Document(Base):
    """A document of a deal rendered from a template (HTML and PDF), with its approvals."""

    __tablename__ = "documents"
    __table_args__ = (UniqueConstraint("deal_id", "key"), UniqueConstraint("public_token"))

    id: Mapped[int] = mapped_column(primary_key=True)
    deal_id: Mapped[int] = mapped_column(ForeignKey("deals.id"))
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id"), index=True)
    key: Mapped[str] = mapped_column(String(100))  # the playbook's document key
    template: Mapped[str] = mapped_column(String(200))
    title: Mapped[str] = mapped_column(String(300))
    revision: Mapped[int] = mapped_column(Integer, default=1)
    # draft (needs approvals) | approved | rejected | sent
    status: Mapped[str] = mapped_column(String(20), default="draft")
    approvals_required: Mapped[list[str] | None] = mapped_column()  # roles, in order
    html: Mapped[str] = mapped_column(Text)
    pdf: Mapped[bytes | None] = mapped_column(LargeBinary)
    sha256: Mapped[str] = mapped_column(String(64))
    context: Mapped[dict[str, Any] | None] = mapped_column()  # the values it was rendered from
    public_token: Mapped[str] = mapped_column(String(64))  # the client's download link
    rendered_at: Mapped[datetime]
    rendered_by: Mapped[str | None] = mapped_column(String(320))
    sent_at: Mapped[datetime | None]
    sent_by: Mapped[str | None] = mapped_column(String(320))


class Approval(Base):
    """One role's decision on one revision of a document (approvals go in order)."""

    __tablename__ = "approvals"
    __table_args__ = (UniqueConstraint("document_id", "revision", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id"))
    revision: Mapped[int] = mapped_column(Integer)
    position: Mapped[int] = mapped_column(Integer)  # 0-based place in approvals_required
    role: Mapped[str] = mapped_column(String(50))
    decision: Mapped[str] = mapped_column(String(20))  # approved|rejected
    actor: Mapped[str] = mapped_column(String(320))
    comment: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime]


class StepRun(Base):
    """An automated step of a deal (entry point or webhook): retried with backoff, exactly
    one result per idempotency key; a failure is visible on the deal and blocks no other."""

    __tablename__ = "step_runs"
    __table_args__ = (
        UniqueConstraint("idempotency_key"),
        Index("ix_step_runs_status_next_attempt_at", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    deal_id: Mapped[int] = mapped_column(ForeignKey("deals.id"), index=True)
    stage: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(20))  # entry_point|webhook
    target: Mapped[str] = mapped_column(String(500))  # package.module:function or URL
    idempotency_key: Mapped[str] = mapped_column(String(200))
    # pending|running|succeeded|failed (will retry)|dead (gave up)|cancelled
    status: Mapped[str] = mapped_column(String(20), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=3)
    timeout_s: Mapped[float] = mapped_column(Float, default=10.0)
    backoff_s: Mapped[float] = mapped_column(Float, default=60.0)
    next_attempt_at: Mapped[datetime]
    claimed_by: Mapped[str | None] = mapped_column(String(100))
    claimed_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    result: Mapped[dict[str, Any] | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]


class OutboundRequest(Base):
    """A request to another system (invoice to finance, work order to production...),
    delivered to a configured webhook through this outbox: retries, then a dead letter."""

    __tablename__ = "outbound_requests"
    __table_args__ = (
        UniqueConstraint("idempotency_key"),
        Index("ix_outbound_requests_status_next_attempt_at", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    deal_id: Mapped[int | None] = mapped_column(ForeignKey("deals.id"), index=True)
    lead_id: Mapped[int | None] = mapped_column(ForeignKey("leads.id"))
    kind: Mapped[str] = mapped_column(String(100))  # invoice_request, work_order, ...
    target: Mapped[str] = mapped_column(String(100))  # finance, production, support
    idempotency_key: Mapped[str] = mapped_column(String(200))
    payload: Mapped[dict[str, Any]] = mapped_column()
    # queued|sending|delivered|failed (will retry)|dead (dead letter)
    status: Mapped[str] = mapped_column(String(20), default="queued")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    claimed_by: Mapped[str | None] = mapped_column(String(100))
    claimed_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    response_status: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    delivered_at: Mapped[datetime | None]


class RoleMember(Base):
    """A person in a role pool (``engineer``, ``head_of_sales``) that playbooks assign to."""

    __tablename__ = "role_members"
    __table_args__ = (UniqueConstraint("role", "manager_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    role: Mapped[str] = mapped_column(String(50))
    manager_id: Mapped[int] = mapped_column(ForeignKey("managers.id"))


class ProcessEvent(Base):
    """The append-only event log of the sales process (analytics reads it with window
    functions): never updated or deleted by Nurture. ``type`` is one of
    :data:`nurture.playbooks.events.EVENT_TYPES`; ``data`` holds the details."""

    __tablename__ = "event_log"
    __table_args__ = (
        Index("ix_event_log_lead_id_at", "lead_id", "at"),
        Index("ix_event_log_type_at", "type", "at"),
        Index("ix_event_log_deal_id_at", "deal_id", "at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    at: Mapped[datetime]
    type: Mapped[str] = mapped_column(String(40))
    lead_id: Mapped[int | None] = mapped_column(Integer)
    deal_id: Mapped[int | None] = mapped_column(Integer)
    task_id: Mapped[int | None] = mapped_column(Integer)
    actor: Mapped[str | None] = mapped_column(String(320))
    level: Mapped[int | None] = mapped_column(Integer)
    data: Mapped[dict[str, Any] | None] = mapped_column()
