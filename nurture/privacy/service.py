"""``forget``: erase a person everywhere and keep them out, in one transaction; then remove
their e-mail files and take the old row versions out of the database files.

1. find the person (:func:`~nurture.privacy.person.find_person`): their merge tree;
2. refuse a member of staff (a manager or a web account has the address): Nurture forgets
   leads; staff records are kept for the history of everyone else's leads;
3. erase their rows (:mod:`~nurture.privacy.erase`) and redact mentions of them in other
   rows (:mod:`~nurture.privacy.scrub`), on a connection with ``secure_delete`` (SQLite);
4. put the salted hashes of their contacts on the forgotten list, write the audit entry,
   commit;
5. remove the ``.eml`` files of the erased and redacted outbox rows (the file outbox);
6. checkpoint and truncate the WAL (SQLite) or VACUUM the touched tables (PostgreSQL).

A person already forgotten (nothing left, their hash on the list) gives a report with zero
counts and ``already_forgotten``; an address or lead Nurture never had is a
:class:`~nurture.errors.NotFoundError`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from nurture.config import get_settings
from nurture.db.privacy import AuditEntry
from nurture.db.team import Manager
from nurture.db.web import WebUser
from nurture.errors import InputError, NotFoundError
from nurture.privacy.audit import record_access
from nurture.privacy.erase import ERASED_TABLES, erase_rows
from nurture.privacy.forgotten import add_forgotten, forgotten_among
from nurture.privacy.hashing import contact_digest, current_salt
from nurture.privacy.person import Person, find_person
from nurture.privacy.scrub import SCRUBBED, scrub_mentions
from nurture.privacy.sqlfuncs import erasing_connection, settle_storage

__all__ = ["ForgetReport", "forget"]


@dataclass
class ForgetReport:
    """What ``nurture leads forget --json`` prints."""

    asked: str
    subject: str | None
    lead_ids: list[int]
    erased: dict[str, int]
    redacted: dict[str, int]
    files_removed: int = 0
    forgotten_contacts: int = 0
    already_forgotten: bool = False
    storage: dict[str, Any] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.erased.values()) + sum(self.redacted.values())

    def as_json(self) -> dict[str, Any]:
        """The report with each table's erased count also at the top level (``"leads": 2``),
        so a script reads the rows erased per table without knowing the grouping."""
        return {**self.erased, **asdict(self)}


def _refuse_staff(session: Session, person: Person) -> None:
    emails = list(person.emails)
    staff = (
        session.scalars(select(Manager.email).where(func.lower(Manager.email).in_(emails))).first()
        or session.scalars(
            select(WebUser.email).where(func.lower(WebUser.email).in_(emails))
        ).first()
    )
    if staff:
        raise InputError(
            f"{staff} is the address of a member of staff (the team file or a web account): "
            "`nurture leads forget` erases leads; remove the person from the team and "
            "`nurture users disable` the account instead"
        )


def _erased_before(session: Session, lead_id: int) -> datetime | None:
    return session.scalar(
        select(AuditEntry.at).where(AuditEntry.lead_id == lead_id, AuditEntry.action == "erased")
    )


def _remove_files(keys: set[str]) -> int:
    from nurture.mail.transport import FileConnection

    files = FileConnection(Path(get_settings().outbox_dir))
    removed = 0
    for key in sorted(keys):
        path = files.path_for(key)
        if path.is_file():
            path.unlink()
            removed += 1
    return removed


def forget(
    *,
    email: str | None = None,
    lead_id: int | None = None,
    actor: str,
    channel: str = "cli",
    now: datetime,
    engine: Engine | None = None,
) -> ForgetReport:
    """Erase the person named by ``email`` or ``lead_id`` (see the module doc)."""
    from nurture.db.session import get_engine

    engine = engine or get_engine()
    salt = current_salt()
    with erasing_connection(engine) as conn, conn.begin():
        session = Session(bind=conn)
        try:
            person = find_person(session, email=email, lead_id=lead_id)
        except NotFoundError:
            when = _erased_before(session, lead_id) if lead_id is not None else None
            if when is None:
                raise
            raise NotFoundError(
                f"lead {lead_id} does not exist: it was erased on {when:%Y-%m-%d %H:%M} UTC"
            ) from None
        _refuse_staff(session, person)
        erasure = erase_rows(session, person, now=now)
        scrub_mentions(session, person.needles(), erasure)
        report = ForgetReport(
            asked=person.asked,
            subject=person.subject(salt),
            lead_ids=list(person.lead_ids),
            erased={t: erasure.erased[t] for t in ERASED_TABLES},
            redacted={t: erasure.redacted[t] for t in ("event_log", *SCRUBBED)},
        )
        if report.total == 0:
            digests = [contact_digest(k, v, salt) for k, v in person.contacts()]
            if not forgotten_among(session, digests):
                raise NotFoundError(f"no lead and no data of {person.asked}: nothing to erase")
            report.already_forgotten = True
        report.forgotten_contacts = add_forgotten(session, person.contacts(), salt=salt, now=now)
        record_access(
            session,
            actor=actor,
            channel=channel,
            action="erased",
            via="leads forget",
            lead_id=person.root_id,
            subject=report.subject,
            detail={
                "lead_ids": report.lead_ids,
                "rows": report.total,
                "already_forgotten": report.already_forgotten,
            },
            now=now,
        )
        session.close()
    report.files_removed = _remove_files(erasure.outbox_keys)
    report.storage = settle_storage(engine, erasure.tables | {"forgotten_contacts"})
    return report
