"""The audit log: who viewed, exported and erased whose data.

Written by ``nurture leads show``, ``leads export``, ``leads export-person``, ``leads forget``
and the web app's lead card, in the transaction of what it records. A person is named by
lead id and by the salted hash of their e-mail (``subject``), never by the address: the
entries of a person are found again after their lead is erased (``nurture leads audit
--email``), and the log itself gives nothing away.
"""

from __future__ import annotations

import getpass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from nurture.db.base import utcnow
from nurture.db.privacy import AuditEntry
from nurture.errors import InputError
from nurture.privacy.hashing import Salt, current_salt
from nurture.privacy.person import subject_of

__all__ = ["ACTIONS", "audit_entries", "cli_actor", "record_access"]

ACTIONS = ("viewed", "exported", "erased")
CHANNELS = ("cli", "web")


def cli_actor(by: str | None = None) -> str:
    """Who runs a command: ``--by``, else the login name (``$USER``); the entry's ``channel``
    says it was the CLI."""
    if by and by.strip():
        return by.strip()
    try:
        return getpass.getuser()  # $LOGNAME, $USER, ..., else the passwd entry
    except (KeyError, OSError):  # no variable and no passwd entry (some containers)
        return "unknown"


def record_access(
    session: Session,
    *,
    actor: str,
    action: str,
    via: str,
    channel: str = "cli",
    lead_id: int | None = None,
    email: str | None = None,
    subject: str | None = None,
    detail: dict[str, Any] | None = None,
    now: datetime | None = None,
    salt: Salt | None = None,
) -> None:
    """Add one entry. ``email`` is hashed here (pass ``subject`` when it is known)."""
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    if channel not in CHANNELS:
        raise ValueError(f"unknown audit channel {channel!r}")
    if subject is None and email:
        subject = subject_of(email, salt or current_salt())
    session.add(
        AuditEntry(
            at=now or utcnow(),
            actor=actor[:320],
            channel=channel,
            action=action,
            via=via,
            lead_id=lead_id,
            subject=subject,
            detail=detail,
        )
    )
    session.flush()


def audit_entries(
    session: Session,
    *,
    lead_id: int | None = None,
    email: str | None = None,
    limit: int | None = None,
) -> list[dict[str, Any]]:
    """Entries, newest first; of one lead and/or of one person (by e-mail), if given."""
    stmt = select(AuditEntry).order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
    if lead_id is not None:
        stmt = stmt.where(AuditEntry.lead_id == lead_id)
    if email is not None:
        subject = subject_of(email, current_salt())
        if subject is None:
            raise InputError(f"{email.strip()!r} is not an e-mail address", field="email")
        stmt = stmt.where(AuditEntry.subject == subject)
    if limit is not None:
        stmt = stmt.limit(limit)
    return [
        {
            "id": e.id,
            "at": e.at,
            "actor": e.actor,
            "channel": e.channel,
            "action": e.action,
            "via": e.via,
            "lead_id": e.lead_id,
            "subject": e.subject,
            "detail": e.detail,
        }
        for e in session.scalars(stmt)
    ]
