"""Where a lead was met: its source rows, for `leads sources`, `lead show` and the web."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from nurture.db.leads import Event, Lead, LeadSource
from nurture.errors import NotFoundError


def lead_sources(session: Session, lead_id: int) -> list[dict[str, Any]]:
    """One entry per source row, oldest first (``source_id`` for `leads unmerge --source`)."""
    if session.get(Lead, lead_id) is None:
        raise NotFoundError(f"no lead with id {lead_id}")
    rows = session.execute(
        select(LeadSource, Event)
        .join(Event, Event.id == LeadSource.event_id)
        .where(LeadSource.lead_id == lead_id)
        .order_by(LeadSource.id)
    )
    return [
        {
            "source_id": src.id,
            "event": ev.name,
            "event_kind": ev.kind,
            "event_date": ev.event_date,
            "file": src.file_name,
            "row": src.row_number,
            "outcome": src.outcome,
            "met_on": src.met_on,
            "filled": src.filled or {},
            "at": src.created_at,
        }
        for src, ev in rows
    ]
