"""Who a request is about: the lead it names, every lead merged into it, their contacts and
names, and the contacts as they were typed in the source files.

A request names a person by e-mail or by lead id. An e-mail that belongs to a merged lead
names the lead it was merged into: one person is the whole merge tree, from its live lead
down through every lead merged into it (at any depth).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from nurture.config import get_settings
from nurture.db.leads import Lead, LeadSource
from nurture.errors import InputError, NotFoundError
from nurture.privacy.hashing import Salt, contact_digest, normal_contact
from nurture.privacy.redact import Needles

__all__ = ["Person", "find_person", "subject_of"]


@dataclass(frozen=True)
class Person:
    """One person's leads and marks. ``lead_ids`` is empty when no lead has the e-mail (their
    data may still sit in quarantine, the suppression list or the outbox)."""

    asked: str  # the e-mail or "lead <id>" the request named
    root_id: int | None
    lead_ids: tuple[int, ...]
    emails: tuple[str, ...]
    phones: tuple[str, ...]
    names: tuple[tuple[str | None, str | None, str | None], ...]
    typed: tuple[str, ...]

    def contacts(self) -> list[tuple[str, str]]:
        return [("email", e) for e in self.emails] + [("phone", p) for p in self.phones]

    def needles(self) -> Needles:
        return Needles.of(
            emails=self.emails,
            phones=self.phones,
            names=self.names,
            typed=self.typed,
            lead_ids=self.lead_ids,
        )

    def subject(self, salt: Salt) -> str | None:
        """The audit log's name for this person: the hash of their first e-mail."""
        return subject_of(self.emails[0] if self.emails else None, salt)


def subject_of(email: str | None, salt: Salt) -> str | None:
    normal = normal_contact("email", email) if email else None
    return contact_digest("email", normal, salt) if normal else None


def _root(session: Session, lead: Lead) -> int:
    seen = {lead.id}
    current = lead
    while current.merged_into_id is not None and current.merged_into_id not in seen:
        parent = session.get(Lead, current.merged_into_id)
        if parent is None:
            break
        seen.add(parent.id)
        current = parent
    return current.id


def _tree(session: Session, root: int) -> list[int]:
    ids = [root]
    frontier = [root]
    while frontier:
        frontier = [
            i
            for i in session.scalars(select(Lead.id).where(Lead.merged_into_id.in_(frontier)))
            if i not in ids
        ]
        ids.extend(frontier)
    return ids


def _typed(raws: Iterable[dict[str, str] | None], emails: set[str], phones: set[str]) -> set[str]:
    """Cells that hold one of the person's contacts, as they were typed."""
    region = get_settings().default_region
    out: set[str] = set()
    for raw in raws:
        for cell in (raw or {}).values():
            value = str(cell).strip()
            if not value or len(value) > 100:
                continue
            if "@" in value:
                if normal_contact("email", value) in emails:
                    out.add(value)
            elif (
                any(ch.isdigit() for ch in value)
                and normal_contact("phone", value, region=region) in phones
            ):
                out.add(value)
    return out


def find_person(
    session: Session, *, email: str | None = None, lead_id: int | None = None
) -> Person:
    """The person an e-mail or a lead id names (see the module doc). An unknown lead id is a
    :class:`NotFoundError`; an e-mail no lead has gives a :class:`Person` without leads."""
    if (email is None) == (lead_id is None):
        raise InputError("name the person by e-mail or by --lead ID (one of them)")
    if email is not None:
        normal = normal_contact("email", email)
        if normal is None:
            raise InputError(f"{email.strip()!r} is not an e-mail address", field="email")
        lead = session.scalars(
            select(Lead).where(func.lower(Lead.email) == normal).order_by(Lead.id)
        ).first()
        if lead is None:
            return Person(normal, None, (), (normal,), (), (), ())
        asked = normal
    else:
        lead = session.get(Lead, lead_id)
        if lead is None:
            raise NotFoundError(f"lead {lead_id} does not exist")
        asked = f"lead {lead_id}"
    root = _root(session, lead)
    ids = _tree(session, root)
    rows = session.execute(
        select(Lead.email, Lead.phone, Lead.first_name, Lead.last_name, Lead.middle_name)
        .where(Lead.id.in_(ids))
        .order_by(Lead.id != root, Lead.id)
    ).all()
    emails = list(dict.fromkeys(r.email.lower() for r in rows if r.email))
    if email is not None and asked not in emails:
        emails.insert(0, asked)
    phones = list(dict.fromkeys(r.phone for r in rows if r.phone))
    names = tuple(
        dict.fromkeys(
            (r.first_name, r.last_name, r.middle_name) for r in rows if r.first_name or r.last_name
        )
    )
    raws = session.scalars(select(LeadSource.raw).where(LeadSource.lead_id.in_(ids)))
    typed = _typed(raws, set(emails), set(phones))
    return Person(
        asked, root, tuple(ids), tuple(emails), tuple(phones), names, tuple(sorted(typed))
    )
