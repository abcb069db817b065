"""Undo an import-time link: split one source row off the lead it was matched to.

At intake a row whose e-mail or phone is already known is *linked* to that lead (outcome
``merged``) and fills the lead's empty fields. When a human decides the row was somebody
else (a shared office phone, a colleague's mailbox), ``detach_source`` reverses that:

* the fields the row filled in are cleared from the lead, unless somebody changed them since;
* the row becomes its own lead, normalised again from its raw cells with the file's mapping;
  a contact another live lead still holds stays with that lead (a contact belongs to one
  live person) and is kept on the new lead as ``extra.shared_contacts``;
* the source row moves to the new lead (outcome ``detached``), and a ``lead_merges`` entry,
  created at import time and undone now, logs the whole change.

The new lead is routed and enrolled by the next cycle like any new lead.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from nurture.db.base import utcnow
from nurture.db.leads import CONTACT_FIELDS, ImportBatch, Lead, LeadMerge, LeadSource
from nurture.errors import InputError, NotFoundError
from nurture.intake.headers import ColumnMapping, resolve_columns
from nurture.intake.merges import MERGE_FIELDS
from nurture.intake.normalize import normalize_row
from nurture.intake.prepare import header_locale, row_context


@dataclass(frozen=True)
class Detached:
    """What ``detach_source`` did."""

    source_id: int
    lead_id: int  # the new lead
    from_lead_id: int
    merge_id: int  # the lead_merges entry that logs it
    cleared: dict[str, Any]
    shared_contacts: dict[str, str]


def source_fields(raw: dict[str, str], mapping: dict[str, Any] | None) -> dict[str, Any]:
    """The lead fields one stored raw row normalises to (the same rules as at intake)."""
    cells = {k: v for k, v in raw.items() if k != "_extra"}
    header = list(cells)
    cm = ColumnMapping.from_dict(mapping) if mapping else None
    columns = resolve_columns(header, cm)
    ctx = row_context(cm, header_locale(header))
    values = {f: cells[header[i]] for f, i in columns.items()}
    row = normalize_row(0, values, cells, ctx)
    if not row.ok:
        raise InputError("the stored row no longer normalises to a lead: " + "; ".join(row.reasons))
    return {k: v for k, v in row.fields.items() if k in MERGE_FIELDS}


def _holder(session: Session, column: str, value: str) -> int | None:
    col = getattr(Lead, column)
    return session.scalar(
        select(Lead.id).where(col == value, Lead.merged_into_id.is_(None)).limit(1)
    )


def detach_source(session: Session, *, source_id: int, now: datetime | None = None) -> Detached:
    """Split source row ``source_id`` (linked at intake) off into a lead of its own."""
    now = now or utcnow()
    src = session.get(LeadSource, source_id)
    if src is None:
        raise NotFoundError(f"source {source_id} does not exist")
    if src.outcome != "merged":
        raise InputError(
            f"source {source_id} is {src.outcome!r}, not a row linked to a lead it matched; "
            "only linked rows can be detached (use `leads unmerge` for a merge of two leads)"
        )
    lead = session.get(Lead, src.lead_id)
    if lead is None or lead.merged_into_id is not None:
        raise InputError(f"source {source_id} belongs to lead {src.lead_id}, which is not live")
    others = session.scalar(
        select(func.count())
        .select_from(LeadSource)
        .where(LeadSource.lead_id == lead.id, LeadSource.id != source_id)
    )
    if not others:
        raise InputError(f"source {source_id} is lead {lead.id}'s only source; nothing to split")
    batch = session.get(ImportBatch, src.batch_id)
    fields = source_fields(src.raw or {}, batch.mapping if batch else None)

    filled = dict(src.filled or {})
    cleared: dict[str, Any] = {}
    for name, value in filled.items():
        if getattr(lead, name) is not None and str(getattr(lead, name)) == str(value):
            setattr(lead, name, None)
            cleared[name] = value
    lead.updated_at = now
    session.flush()  # contacts the row gave the lead are free again

    shared: dict[str, str] = {}
    for contact in CONTACT_FIELDS:
        value = fields.get(contact)
        if value and _holder(session, contact, value) is not None:
            shared[contact] = value
            fields[contact] = None
    extra: dict[str, Any] = {"detached_from": lead.id, "source_id": source_id}
    if shared:
        extra["shared_contacts"] = shared
    new = Lead(**fields, status="open", extra=extra, created_at=now, updated_at=now)
    session.add(new)
    session.flush()

    src.lead_id = new.id
    src.outcome = "detached"
    entry = LeadMerge(
        survivor_id=lead.id,
        merged_id=new.id,
        reason=f"intake link of {src.file_name} row {src.row_number} undone",
        snapshot={
            "kind": "import_link",
            "source_id": source_id,
            "filled": filled,
            "cleared": cleared,
            "shared_contacts": shared,
        },
        created_at=src.created_at,
        undone_at=now,
    )
    session.add(entry)
    session.flush()
    return Detached(source_id, new.id, lead.id, entry.id, cleared, shared)
