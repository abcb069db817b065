"""Personal data: the forgotten list (salted hashes of erased people's contacts) and the
audit log of who viewed, exported and erased what.

Neither table holds an e-mail address or a phone number in clear: both store the
installation's salted HMAC of the normalised contact (``nurture.privacy.hashing``), so the
importer and the sender can recognise an erased person without keeping their data.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from nurture.db.base import Base, utcnow


class ForgottenContact(Base):
    """One contact of an erased person: ``kind`` ``email`` or ``phone``, ``digest`` the salted
    HMAC-SHA256 (hex) of the normalised value. ``salt_id`` names the salt it was made with (a
    fingerprint, not the salt): after a salt change the old entries no longer match."""

    __tablename__ = "forgotten_contacts"
    __table_args__ = (UniqueConstraint("digest"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))  # email|phone
    digest: Mapped[str] = mapped_column(String(64))
    salt_id: Mapped[str] = mapped_column(String(16))
    forgotten_at: Mapped[datetime] = mapped_column(default=utcnow)


class AuditEntry(Base):
    """Who viewed, exported or erased which person's data, when and through what.

    ``lead_id`` has no foreign key (an erased lead's entries stay); ``subject`` is the
    salted hash of the person's e-mail (never the address), so the entries of a person can be
    found again after their lead is gone. ``via`` is the command or page (``leads show``,
    ``web lead card``); ``detail`` holds counts and file names, never personal data."""

    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_log_lead_id_at", "lead_id", "at"),
        Index("ix_audit_log_subject_at", "subject", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(320))  # a CLI user name or a web account
    channel: Mapped[str] = mapped_column(String(10))  # cli|web
    action: Mapped[str] = mapped_column(String(20))  # viewed|exported|erased
    via: Mapped[str] = mapped_column(String(50))
    lead_id: Mapped[int | None] = mapped_column(Integer)
    subject: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON)
