"""The forgotten list in the database: adding an erased person's hashes, and the two checks
that keep them out: the importer's (:func:`quarantine_forgotten`) and the sender's
(:func:`forgotten_addresses`).

Both checks are one indexed ``IN`` query per chunk of contacts, and none at all while the
list is empty (the common case: most installations forget nobody for months).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Table, bindparam, func, select
from sqlalchemy.orm import Session

from nurture.db.privacy import ForgottenContact
from nurture.db.sql import dialect_insert
from nurture.privacy.hashing import Salt, contact_digest, current_salt, normal_contact

if TYPE_CHECKING:
    from nurture.intake.normalize import NormalizedRow

__all__ = [
    "FORGOTTEN_REASON",
    "add_forgotten",
    "forgotten_addresses",
    "forgotten_among",
    "quarantine_forgotten",
    "stale_entries",
]

#: The quarantine reason of a forgotten person's row (scripts look for "forgotten").
FORGOTTEN_REASON = (
    "forgotten: this person's data was erased on request (nurture leads forget); "
    "the row is not imported and its cells are not kept"
)

_TABLE: Table = ForgottenContact.__table__  # type: ignore[assignment]
_ANY = select(_TABLE.c.id).limit(1)
_AMONG = select(_TABLE.c.digest).where(_TABLE.c.digest.in_(bindparam("d", expanding=True)))
_CHUNK = 1000


def _empty(bind: Session | Connection) -> bool:
    return bind.execute(_ANY).first() is None


def forgotten_among(bind: Session | Connection, digests: Iterable[str]) -> set[str]:
    """The ``digests`` that are on the forgotten list."""
    wanted = sorted(set(digests))
    found: set[str] = set()
    for i in range(0, len(wanted), _CHUNK):
        found.update(bind.execute(_AMONG, {"d": wanted[i : i + _CHUNK]}).scalars())
    return found


def add_forgotten(
    session: Session, contacts: Iterable[tuple[str, str]], *, salt: Salt, now: datetime
) -> int:
    """Put ``(kind, normalised value)`` contacts on the list; returns how many were new."""
    rows = {contact_digest(kind, value, salt): kind for kind, value in contacts if value}
    if not rows:
        return 0
    known = forgotten_among(session, rows)
    new = [
        {"kind": kind, "digest": d, "salt_id": salt.salt_id, "forgotten_at": now}
        for d, kind in rows.items()
        if d not in known
    ]
    if new:
        session.execute(dialect_insert(session, ForgottenContact).on_conflict_do_nothing(), new)
    return len(new)


def quarantine_forgotten(conn: Connection, rows: Sequence[NormalizedRow]) -> int:
    """The importer's check: every row whose e-mail or phone is on the forgotten list is
    turned into a quarantined row with :data:`FORGOTTEN_REASON` and nothing of its cells
    (never a lead, never mailed). Returns how many rows it turned."""
    if not rows or _empty(conn):
        return 0
    salt = current_salt()
    by_digest: dict[str, list[NormalizedRow]] = {}
    for row in rows:
        for kind in ("email", "phone"):
            value = row.fields.get(kind)
            if value:
                by_digest.setdefault(contact_digest(kind, value, salt), []).append(row)
    turned: dict[int, NormalizedRow] = {}
    for digest in forgotten_among(conn, by_digest):
        for row in by_digest[digest]:
            turned[row.row_number] = row
    for row in turned.values():
        row.reasons = [FORGOTTEN_REASON]
        row.warnings = []
        row.fields = {}
        row.raw = {}
        row.raw_json = None
    return len(turned)


def forgotten_addresses(session: Session, addresses: Iterable[str]) -> set[str]:
    """The sender's check: which of ``addresses`` (as written) belong to a forgotten person."""
    if _empty(session):
        return set()
    salt = current_salt()
    digest_of: dict[str, list[str]] = {}
    for address in set(addresses):
        normal = normal_contact("email", address)
        if normal:
            digest_of.setdefault(contact_digest("email", normal, salt), []).append(address)
    out: set[str] = set()
    for digest in forgotten_among(session, digest_of):
        out.update(digest_of[digest])
    return out


def stale_entries(session: Session, salt: Salt) -> int:
    """Entries made with another salt (the key was rotated): they match nothing any more."""
    count: Any = session.scalar(
        select(func.count()).select_from(_TABLE).where(_TABLE.c.salt_id != salt.salt_id)
    )
    return int(count or 0)
