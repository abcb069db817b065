"""An import's bookkeeping: the event, the batch (one file for one event) and its counters.

A batch is keyed by the file's SHA-256 and its event, so the same file imported again for
the same event finds its batch: ``done`` means there is nothing to do, ``running`` or
``failed`` means the import resumes after the batch's committed ``last_row``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, select, update

from nurture.db.base import utcnow
from nurture.db.leads import Event, ImportBatch
from nurture.db.sql import dialect_insert

#: The counters of a batch, as ``import_batches`` keeps them and the summary reports them.
COUNTERS = ("rows", "blank", "created", "merged", "quarantined", "possible_duplicates", "warnings")


@dataclass(frozen=True)
class Batch:
    id: int
    event_id: int
    status: str


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def event_key(kind: str, name: str, event_date: date | None) -> str:
    day = event_date.isoformat() if event_date else ""
    return f"{kind}:{' '.join(name.split()).casefold()}:{day}"


def ensure_event(conn: Connection, *, name: str, kind: str, event_date: date | None) -> int:
    key = event_key(kind, name, event_date)
    conn.execute(
        dialect_insert(conn, Event)
        .values(key=key, name=name.strip(), kind=kind, event_date=event_date, created_at=utcnow())
        .on_conflict_do_nothing()
    )
    return int(conn.execute(select(Event.id).where(Event.key == key)).scalar_one())


def open_batch(
    engine: Engine,
    *,
    file_name: str,
    digest: str,
    event: str,
    kind: str,
    event_date: date | None,
    mapping: dict[str, Any] | None,
) -> Batch:
    """The batch of this file for this event, created ``running`` unless it exists."""
    with engine.begin() as conn:
        event_id = ensure_event(conn, name=event, kind=kind, event_date=event_date)
        conn.execute(
            dialect_insert(conn, ImportBatch)
            .values(
                file_name=file_name,
                file_sha256=digest,
                event_id=event_id,
                status="running",
                last_row=0,
                mapping=mapping,
                started_at=utcnow(),
                **dict.fromkeys(COUNTERS, 0),
            )
            .on_conflict_do_nothing()
        )
        found = conn.execute(
            select(ImportBatch.id, ImportBatch.status).where(
                ImportBatch.file_sha256 == digest, ImportBatch.event_id == event_id
            )
        ).one()
    return Batch(int(found.id), event_id, str(found.status))


def counts(engine: Engine, batch_id: int) -> dict[str, int]:
    """The batch's counters as committed."""
    columns = [getattr(ImportBatch, c) for c in COUNTERS]
    with engine.connect() as conn:
        row = conn.execute(select(*columns).where(ImportBatch.id == batch_id)).one()
    return {c: int(row._mapping[c]) for c in COUNTERS}


def set_status(engine: Engine, batch_id: int, status: str) -> None:
    """``done`` (with its finishing time) or ``failed``; a failed batch resumes when run again."""
    values: dict[str, Any] = {"status": status}
    if status == "done":
        values["finished_at"] = utcnow()
    with engine.begin() as conn:
        conn.execute(update(ImportBatch).where(ImportBatch.id == batch_id).values(**values))
