"""The outbox (the only truth about what was sent) and the suppression list."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from nurture.db.base import Base, utcnow


class OutboxMessage(Base):
    """One e-mail to send, exactly once.

    ``dedupe_key`` is unique (characters ``[A-Za-z0-9._-]``): the cadence planner writes e.g.
    ``touch.<lead>.<campaign>.<position>.<cycle>`` and a re-run inserts nothing. ``kind``,
    ``status`` and ``attempts`` have server defaults for plain-SQL inserts. States: queued,
    sending, sent, failed_temp, failed_perm, unknown (cut after DATA: never blindly re-sent),
    suppressed, cancelled (see nurture.mail.outbox).
    """

    __tablename__ = "outbox"
    __table_args__ = (
        UniqueConstraint("dedupe_key"),
        UniqueConstraint("message_id"),
        Index("ix_outbox_status_next_attempt_at", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    dedupe_key: Mapped[str] = mapped_column(String(300))
    message_id: Mapped[str] = mapped_column(String(300))
    kind: Mapped[str] = mapped_column(  # marketing|digest|system
        String(20), default="marketing", server_default=text("'marketing'")
    )
    # no foreign keys and no lead index (0008): written from the lead row, never deleted,
    # never read by lead; the checks cost the cadence planner a probe per queued e-mail
    lead_id: Mapped[int | None] = mapped_column(Integer)
    manager_id: Mapped[int | None] = mapped_column(Integer)
    campaign_slug: Mapped[str | None] = mapped_column(String(100))
    step: Mapped[str | None] = mapped_column(String(100))
    template: Mapped[str] = mapped_column(String(300))  # e.g. "exhibition/welcome"
    to_addr: Mapped[str] = mapped_column(String(320))
    context: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(
        String(20), default="queued", server_default=text("'queued'")
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    claimed_by: Mapped[str | None] = mapped_column(String(100))
    claimed_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Suppression(Base):
    """Do not e-mail this address: ``scope`` is ``*`` (global) or a campaign slug."""

    __tablename__ = "suppressions"
    __table_args__ = (UniqueConstraint("email", "scope"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), index=True)
    scope: Mapped[str] = mapped_column(String(100), default="*")
    reason: Mapped[str] = mapped_column(String(50))  # unsubscribe|bounce|complaint|manual
    detail: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class MailServerState(Base):
    """Whether a mail destination could be reached lately, kept across runs for
    ``nurture outbox status``: ``server`` is ``host:port`` of an SMTP server, or
    ``files:<directory>`` of the file outbox. A row exists once a send has failed to reach it;
    ``unreachable_since`` is cleared by the first send that reaches it again."""

    __tablename__ = "mail_server_state"

    server: Mapped[str] = mapped_column(String(300), primary_key=True)
    unreachable_since: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    last_failure_at: Mapped[datetime | None]
    #: Failed connection attempts (or writes) since it was last reached.
    failures: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    recovered_at: Mapped[datetime | None]
