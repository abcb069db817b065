"""The suppression list (global ``*`` or per campaign) and the per-message send decision.

Checked at claim time, for every message, seconds before it goes out: an unsubscribe takes
effect before the next send, never days later.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Table, bindparam, func, select, update
from sqlalchemy.orm import Session

from nurture.db.leads import Lead
from nurture.db.mail import OutboxMessage, Suppression
from nurture.db.sql import dialect_insert
from nurture.errors import InputError
from nurture.mail.blocking import FORGOTTEN, GLOBAL, LeadFlags, block_reason
from nurture.mail.tokens import UnsubscribeToken
from nurture.privacy.forgotten import forgotten_addresses

__all__ = [
    "GLOBAL",
    "LeadFlags",
    "add_suppressions",
    "block_reason",
    "mark_undeliverable",
    "read_suppression_file",
    "recipient_of",
    "scopes_for",
    "unsubscribe",
]

REASONS = ("unsubscribe", "bounce", "complaint", "manual")

_SUPPRESSIONS: Table = Suppression.__table__  # type: ignore[assignment]
#: Built once, addresses bound at execution (table columns: plain rows, no ORM loading).
_SCOPES_QUERY = select(_SUPPRESSIONS.c.email, _SUPPRESSIONS.c.scope, _SUPPRESSIONS.c.reason).where(
    _SUPPRESSIONS.c.email.in_(bindparam("emails", expanding=True))
)


def scopes_for(session: Session, emails: Iterable[str]) -> dict[str, dict[str, str]]:
    """email (lower case) -> {scope: reason} for the given addresses, one query; a forgotten
    person's address (``nurture leads forget``) is suppressed everywhere as ``forgotten``."""
    wanted = sorted({e.strip().lower() for e in emails})
    out: dict[str, dict[str, str]] = defaultdict(dict)
    for i in range(0, len(wanted), 1000):
        chunk = wanted[i : i + 1000]
        rows = session.execute(_SCOPES_QUERY, {"emails": chunk})
        for email, scope, reason in rows:
            out[email][scope] = reason
    for email in forgotten_addresses(session, wanted):  # an erased person: never again
        out[email][GLOBAL] = FORGOTTEN
    return out


def add_suppressions(session: Session, rows: Sequence[dict[str, Any]], *, now: datetime) -> int:
    """Insert suppressions (email, scope, reason, detail); existing ones are kept as they are.

    Returns how many were new.
    """
    clean = []
    seen: set[tuple[str, str]] = set()
    for r in rows:
        email = str(r["email"]).strip().lower()
        scope = str(r.get("scope") or GLOBAL)
        if (email, scope) in seen:
            continue
        seen.add((email, scope))
        clean.append(
            {
                "email": email,
                "scope": scope,
                "reason": str(r.get("reason") or "manual"),
                "detail": r.get("detail"),
                "created_at": now,
            }
        )
    if not clean:
        return 0
    before = session.scalar(select(func.count()).select_from(Suppression)) or 0
    stmt = dialect_insert(session, Suppression).on_conflict_do_nothing(
        index_elements=["email", "scope"]
    )
    for i in range(0, len(clean), 1000):
        session.execute(stmt, clean[i : i + 1000])
    after = session.scalar(select(func.count()).select_from(Suppression)) or 0
    return int(after - before)


def mark_undeliverable(session: Session, emails: Sequence[str]) -> int:
    """``lead.email_status = 'undeliverable'`` for leads with these addresses."""
    lowered = sorted({e.strip().lower() for e in emails})
    if not lowered:
        return 0
    result = session.execute(
        update(Lead)
        .where(func.lower(Lead.email).in_(lowered), Lead.email_status != "undeliverable")
        .values(email_status="undeliverable")
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def read_suppression_file(path: Path) -> list[dict[str, Any]]:
    """Rows of a CSV (``email[,campaign][,reason]``, header optional) or one address a line.

    A line without an ``@`` raises :class:`InputError` naming the file and row.
    """
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read: {exc}", file=str(path)) from exc
    reader = csv.reader(text.splitlines())
    rows: list[dict[str, Any]] = []
    header: list[str] | None = None
    for number, record in enumerate(reader, start=1):
        cells = [c.strip() for c in record]
        if not cells or not any(cells):
            continue
        if number == 1 and "@" not in cells[0]:
            header = [c.lower() for c in cells]
            if "email" not in header:
                raise InputError("no 'email' column in the header", file=str(path), row=1)
            continue
        values = dict(zip(header, cells, strict=False)) if header else {}
        email = values.get("email", cells[0]) if header else cells[0]
        if "@" not in email:
            raise InputError(
                f"{email!r} is not an e-mail address", file=str(path), row=number, field="email"
            )
        campaign = values.get("campaign") if header else (cells[1] if len(cells) > 1 else None)
        reason = values.get("reason") if header else (cells[2] if len(cells) > 2 else None)
        rows.append(
            {
                "email": email,
                "scope": campaign or GLOBAL,
                "reason": reason if reason in REASONS else "manual",
                "detail": f"imported from {path.name}",
            }
        )
    return rows


def recipient_of(session: Session, token: UnsubscribeToken) -> UnsubscribeToken | None:
    """Whom a verified token unsubscribes: the address, lead and campaign of the message it
    came in (None when that message is gone), or what an old-format token says itself."""
    if token.outbox_id is None:
        return token if token.email else None
    row = session.execute(
        select(OutboxMessage.to_addr, OutboxMessage.lead_id, OutboxMessage.campaign_slug).where(
            OutboxMessage.id == token.outbox_id
        )
    ).first()
    if row is None:
        return None
    return UnsubscribeToken(
        outbox_id=token.outbox_id,
        email=row.to_addr.strip().lower(),
        lead_id=row.lead_id,
        campaign=row.campaign_slug,
    )


def unsubscribe(session: Session, token: UnsubscribeToken, *, now: datetime) -> int:
    """Apply an unsubscribe (a token resolved by :func:`recipient_of`): a global suppression
    and ``unsubscribed_at`` on the lead(s) with that address. Idempotent; returns the number
    of leads newly marked."""
    if not token.email:
        raise ValueError("unsubscribe() needs a token resolved by recipient_of()")
    email = token.email.strip().lower()
    campaign = token.campaign
    add_suppressions(
        session,
        [
            {
                "email": email,
                "scope": GLOBAL,
                "reason": "unsubscribe",
                "detail": f"link in campaign {campaign}" if campaign else "link",
            }
        ],
        now=now,
    )
    match = func.lower(Lead.email) == email
    if token.lead_id is not None:
        match = match | (Lead.id == token.lead_id)
    result = session.execute(
        update(Lead)
        .where(match, Lead.unsubscribed_at.is_(None))
        .values(unsubscribed_at=now)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
