"""CSV exports for Excel: UTF-8 with BOM, text as text, formula injection neutralised.

A cell that begins with ``=``, ``+``, ``-``, ``@`` (or a tab / carriage return) is prefixed
with an apostrophe so a spreadsheet shows it as text instead of running it; phone numbers
in E.164 (``+7...``) are exported the same way, which Excel displays as ``+7...``. Nothing
else changes: a CSV is not HTML, so ``Smith & Co`` and ``<script>`` are written as typed
(HTML pages escape them when they render, through the templates' autoescaping). The
importer reads a guarded cell back without its apostrophe, so a quarantined row exported,
fixed and imported again keeps its text.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from nurture.db.leads import EXPORTED_FIELDS, Event, ImportBatch, Lead, LeadSource, QuarantineRow
from nurture.db.team import Manager

DANGEROUS = ("=", "+", "-", "@", "\t", "\r")
LEAD_HEADER = ["id", *EXPORTED_FIELDS, "sources", "owner_email"]


def safe_cell(value: Any) -> str:
    """Text for one CSV cell: the value as text, never a formula."""
    if value is None:
        return ""
    s = str(value)
    if s.startswith(DANGEROUS):
        s = "'" + s
    return s


def _sources(session: Session, lead_ids: list[int]) -> dict[int, str]:
    stmt = (
        select(
            LeadSource.lead_id,
            Event.name,
            Event.kind,
            Event.event_date,
            LeadSource.file_name,
            LeadSource.row_number,
        )
        .join(Event, Event.id == LeadSource.event_id)
        .where(LeadSource.lead_id.in_(lead_ids))
        .order_by(LeadSource.lead_id, LeadSource.id)
    )
    out: dict[int, list[str]] = {}
    for r in session.execute(stmt):
        when = f" {r.event_date.isoformat()}" if r.event_date else ""
        out.setdefault(r.lead_id, []).append(
            f"{r.kind}: {r.name}{when} ({r.file_name} row {r.row_number})"
        )
    return {k: "; ".join(v) for k, v in out.items()}


def iter_lead_rows(session: Session, *, page: int = 5000) -> Iterator[list[str]]:
    """Rows of the leads export (live leads only), in id order, page by page."""
    last = 0
    while True:
        stmt = (
            select(
                Lead.id,
                *(getattr(Lead, f) for f in EXPORTED_FIELDS),
                Manager.email.label("owner_email"),
            )
            .outerjoin(Manager, Manager.id == Lead.owner_id)
            .where(Lead.merged_into_id.is_(None), Lead.id > last)
            .order_by(Lead.id)
            .limit(page)
        )
        batch = [r._mapping for r in session.execute(stmt)]
        if not batch:
            return
        sources = _sources(session, [r["id"] for r in batch])
        for r in batch:
            yield [
                str(r["id"]),
                *(safe_cell(r[f]) for f in EXPORTED_FIELDS),
                safe_cell(sources.get(r["id"], "")),
                safe_cell(r["owner_email"]),
            ]
        last = batch[-1]["id"]


def export_leads(session: Session, *, out: Path) -> int:
    """Write the leads CSV; returns the number of leads written."""
    n = 0
    with out.open("w", encoding="utf-8-sig", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(LEAD_HEADER)
        for row in iter_lead_rows(session):
            w.writerow(row)
            n += 1
    return n


def quarantine_rows(session: Session, *, include_resolved: bool = False) -> list[dict[str, Any]]:
    stmt = (
        select(QuarantineRow, Event.name)
        .join(ImportBatch, ImportBatch.id == QuarantineRow.batch_id)
        .join(Event, Event.id == ImportBatch.event_id)
        .order_by(QuarantineRow.id)
    )
    if not include_resolved:
        stmt = stmt.where(QuarantineRow.resolved_at.is_(None))
    return [
        {
            "id": q.id,
            "batch_id": q.batch_id,
            "event": event,
            "file": q.file_name,
            "row": q.row_number,
            "reasons": list(q.reasons or []),
            "raw": dict(q.raw or {}),
        }
        for q, event in session.execute(stmt)
    ]


def export_quarantine(session: Session, *, out: Path) -> int:
    """Quarantined rows with their original columns plus ``_reasons``/``_file``/``_row``,
    ready to fix in a spreadsheet and import again."""
    rows = quarantine_rows(session)
    columns: dict[str, None] = {}
    for r in rows:
        for k in r["raw"]:
            columns.setdefault(k)
    header = [*columns, "_reasons", "_file", "_row", "_event"]
    with out.open("w", encoding="utf-8-sig", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        for r in rows:
            w.writerow(
                [safe_cell(r["raw"].get(k, "")) for k in columns]
                + [safe_cell("; ".join(r["reasons"])), r["file"], r["row"], safe_cell(r["event"])]
            )
    return len(rows)


def count_live_leads(session: Session) -> int:
    return int(session.scalar(select(func.count()).where(Lead.merged_into_id.is_(None))) or 0)
