"""Logged, reversible merges of two lead records, and the duplicate review queue.

``merge_leads`` moves the merged record's sources to the survivor, fills the survivor's
empty fields from it and marks it ``merged_into_id``; the ``lead_merges`` row keeps a
snapshot of both records and the moved source ids. ``unmerge`` puts everything back
(fields the survivor got from the merge are cleared only if nobody changed them since).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from nurture.db.base import utcnow
from nurture.db.leads import (
    CONTACT_FIELDS,
    FILLABLE_FIELDS,
    Lead,
    LeadMerge,
    LeadSource,
    PossibleDuplicate,
)
from nurture.errors import InputError, NotFoundError

#: What a merge moves from the merged record to the survivor (where the survivor has none).
MERGE_FIELDS: tuple[str, ...] = (*CONTACT_FIELDS, *FILLABLE_FIELDS)
#: What the duplicate review shows of each record.
REVIEW_FIELDS = ("id", "first_name", "last_name", "company", "email", "phone")


def _live(session: Session, lead_id: int) -> Lead:
    lead = session.get(Lead, lead_id)
    if lead is None:
        raise NotFoundError(f"lead {lead_id} does not exist")
    if lead.merged_into_id is not None:
        raise InputError(f"lead {lead_id} is already merged into lead {lead.merged_into_id}")
    return lead


def merge_leads(
    session: Session, *, survivor_id: int, merged_id: int, reason: str, now: datetime | None = None
) -> LeadMerge:
    """Merge ``merged_id`` into ``survivor_id`` (both live); returns the log entry."""
    if survivor_id == merged_id:
        raise InputError("a lead cannot be merged into itself")
    survivor = _live(session, survivor_id)
    merged = _live(session, merged_id)
    now = now or utcnow()
    before = {f: getattr(survivor, f) for f in MERGE_FIELDS}
    merged_before = {f: getattr(merged, f) for f in MERGE_FIELDS}
    moved = list(
        session.scalars(select(LeadSource.id).where(LeadSource.lead_id == merged_id)).all()
    )
    # The merged record leaves the live set first, so its contacts become free.
    merged.merged_into_id = survivor_id
    merged.updated_at = now
    session.flush()
    filled: dict[str, Any] = {}
    for f in MERGE_FIELDS:
        if getattr(survivor, f) is None and merged_before[f] is not None:
            setattr(survivor, f, merged_before[f])
            filled[f] = merged_before[f]
    survivor.updated_at = now
    if moved:
        session.execute(
            update(LeadSource).where(LeadSource.id.in_(moved)).values(lead_id=survivor_id)
        )
    session.execute(
        update(PossibleDuplicate)
        .where(
            (
                (PossibleDuplicate.lead_id == merged_id)
                & (PossibleDuplicate.candidate_id == survivor_id)
            )
            | (
                (PossibleDuplicate.lead_id == survivor_id)
                & (PossibleDuplicate.candidate_id == merged_id)
            )
        )
        .values(status="merged")
    )
    entry = LeadMerge(
        survivor_id=survivor_id,
        merged_id=merged_id,
        reason=reason,
        snapshot={
            "survivor_before": _jsonable(before),
            "merged_before": _jsonable(merged_before),
            "filled": _jsonable(filled),
            "moved_sources": moved,
        },
        created_at=now,
    )
    session.add(entry)
    session.flush()
    return entry


def unmerge(session: Session, *, merge_or_lead_id: int, now: datetime | None = None) -> LeadMerge:
    """Undo a merge given its id, or the id of the lead that was merged away."""
    entry = session.get(LeadMerge, merge_or_lead_id)
    if entry is None or entry.undone_at is not None:
        entry = session.scalars(
            select(LeadMerge)
            .where(LeadMerge.merged_id == merge_or_lead_id, LeadMerge.undone_at.is_(None))
            .order_by(LeadMerge.id.desc())
        ).first()
    if entry is None:
        raise NotFoundError(
            f"no active merge with id {merge_or_lead_id} or of lead {merge_or_lead_id}"
        )
    now = now or utcnow()
    survivor = session.get(Lead, entry.survivor_id)
    merged = session.get(Lead, entry.merged_id)
    if survivor is None or merged is None:
        raise NotFoundError(f"merge {entry.id} refers to a lead that no longer exists")
    if merged.merged_into_id != survivor.id:
        raise InputError(f"lead {merged.id} is no longer merged into lead {survivor.id}")
    for f, value in (entry.snapshot.get("filled") or {}).items():
        if str(getattr(survivor, f)) == str(value):
            setattr(survivor, f, None)
    survivor.updated_at = now
    session.flush()  # free the contacts before the merged record comes back to life
    merged.merged_into_id = None
    merged.updated_at = now
    moved = entry.snapshot.get("moved_sources") or []
    if moved:
        session.execute(
            update(LeadSource).where(LeadSource.id.in_(moved)).values(lead_id=merged.id)
        )
    session.execute(
        update(PossibleDuplicate)
        .where(PossibleDuplicate.status == "merged")
        .where(
            PossibleDuplicate.lead_id.in_([survivor.id, merged.id]),
            PossibleDuplicate.candidate_id.in_([survivor.id, merged.id]),
        )
        .values(status="open")
    )
    entry.undone_at = now
    session.flush()
    return entry


def list_duplicates(session: Session, *, status: str = "open") -> list[dict[str, Any]]:
    """Possible duplicates for review, both records side by side."""
    a = Lead.__table__.alias("a")
    b = Lead.__table__.alias("b")
    stmt = (
        select(
            PossibleDuplicate.id,
            PossibleDuplicate.similarity,
            PossibleDuplicate.reason,
            *(a.c[f].label(f"lead_{f}") for f in REVIEW_FIELDS),
            *(b.c[f].label(f"candidate_{f}") for f in REVIEW_FIELDS),
        )
        .join(a, a.c.id == PossibleDuplicate.lead_id)
        .join(b, b.c.id == PossibleDuplicate.candidate_id)
        .where(
            PossibleDuplicate.status == status,
            a.c.merged_into_id.is_(None),
            b.c.merged_into_id.is_(None),
        )
        .order_by(PossibleDuplicate.similarity.desc(), PossibleDuplicate.id)
    )
    out = []
    for r in session.execute(stmt):
        m = r._mapping
        out.append(
            {
                "id": m["id"],
                "similarity": m["similarity"],
                "reason": m["reason"],
                "lead": {f: m[f"lead_{f}"] for f in REVIEW_FIELDS},
                "candidate": {f: m[f"candidate_{f}"] for f in REVIEW_FIELDS},
            }
        )
    return out


def dismiss_duplicate(session: Session, *, duplicate_id: int) -> None:
    dup = session.get(PossibleDuplicate, duplicate_id)
    if dup is None:
        raise NotFoundError(f"possible duplicate {duplicate_id} does not exist")
    dup.status = "dismissed"


def _jsonable(d: dict[str, Any]) -> dict[str, Any]:
    return {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in d.items()}
