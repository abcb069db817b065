"""What the imports pages do, through the same intake as ``nurture import``.

An uploaded file is written to a private temporary folder under its own (cleaned) name and
handed to :func:`nurture.intake.pipeline.import_file` with the event's name, kind and date,
then new leads are routed (:func:`nurture.routing.route_unassigned`), exactly as the CLI
does; the file is deleted afterwards. The same file uploaded again for the same event is
recognised by its SHA-256 and changes nothing.
"""

from __future__ import annotations

import csv
import io
import re
import tempfile
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import IO, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from nurture.db.leads import Event, ImportBatch, QuarantineRow
from nurture.errors import InputError

__all__ = [
    "KINDS",
    "BatchRow",
    "batch_row",
    "import_upload",
    "quarantine_csv",
    "quarantine_of",
    "recent_batches",
]

KINDS = ("exhibition", "seminar", "webinar", "mailing", "webform")
SUFFIXES = (".csv", ".txt", ".tsv", ".xlsx", ".jsonl", ".json", ".ndjson")


@dataclass(frozen=True)
class BatchRow:
    id: int
    file_name: str
    event: str
    kind: str
    event_date: date | None
    status: str
    rows: int
    created: int
    merged: int
    quarantined: int
    possible_duplicates: int
    started_at: datetime


def clean_name(name: str | None) -> str:
    """A safe file name that keeps the user's name and suffix (``../x.csv`` -> ``x.csv``)."""
    base = re.split(r"[\\/]", name or "")[-1]
    base = re.sub(r"[^\w.\- ]+", "_", base).strip(" .") or "upload"
    if not base.lower().endswith(SUFFIXES):
        raise InputError(
            "upload a CSV, XLSX or JSON Lines file (.csv, .xlsx, .jsonl)", file=base[:100]
        )
    return base[-150:]


def import_upload(
    stream: IO[bytes],
    *,
    file_name: str | None,
    event: str,
    kind: str,
    event_date: date | None,
    max_bytes: int,
) -> dict[str, Any]:
    """Import an uploaded lead list; the summary as ``nurture import --json`` prints it."""
    from nurture.db.session import session_scope
    from nurture.intake import import_file
    from nurture.routing import route_unassigned

    name = clean_name(file_name)
    if kind not in KINDS:
        raise InputError(f"unknown event kind {kind!r}", field="kind")
    with tempfile.TemporaryDirectory(prefix="nurture-upload-") as folder:
        path = Path(folder) / name
        size = 0
        with path.open("wb") as out:
            while block := stream.read(1 << 20):
                size += len(block)
                if size > max_bytes:
                    raise InputError(
                        f"the file is larger than {max_bytes // (1024 * 1024)} MB: "
                        "import it with `nurture import`",
                        file=name,
                    )
                out.write(block)
        if size == 0:
            raise InputError("the file is empty", file=name)
        summary = import_file(path, event=event, kind=kind, event_date=event_date)
    data = summary.as_json()
    routed = 0
    if not summary.already_imported:
        with session_scope() as session:
            routed = route_unassigned(session, now=datetime.now(UTC)).assigned
    data["routed"] = routed
    return data


def _batch_query() -> Any:
    return select(ImportBatch, Event).join(Event, Event.id == ImportBatch.event_id)


def _row(b: ImportBatch, e: Event) -> BatchRow:
    return BatchRow(
        id=b.id,
        file_name=b.file_name,
        event=e.name,
        kind=e.kind,
        event_date=e.event_date,
        status=b.status,
        rows=b.rows,
        created=b.created,
        merged=b.merged,
        quarantined=b.quarantined,
        possible_duplicates=b.possible_duplicates,
        started_at=b.started_at,
    )


def recent_batches(session: Session, limit: int = 30) -> list[BatchRow]:
    rows = session.execute(_batch_query().order_by(ImportBatch.id.desc()).limit(limit))
    return [_row(b, e) for b, e in rows]


def batch_row(session: Session, batch_id: int) -> BatchRow | None:
    found = session.execute(_batch_query().where(ImportBatch.id == batch_id)).first()
    return _row(*found) if found is not None else None


def quarantine_of(session: Session, batch_id: int, limit: int | None = None) -> list[QuarantineRow]:
    query = (
        select(QuarantineRow)
        .where(QuarantineRow.batch_id == batch_id)
        .order_by(QuarantineRow.row_number)
    )
    if limit is not None:
        query = query.limit(limit)
    return list(session.scalars(query))


def quarantine_csv(session: Session, batch_id: int) -> str:
    """The batch's quarantined rows as CSV (UTF-8 with BOM, for Excel): the original columns
    plus ``_reasons`` and ``_row``, cells made safe like every Nurture export."""
    from nurture.intake import safe_cell

    rows = quarantine_of(session, batch_id)
    columns: dict[str, None] = {}
    for r in rows:
        for k in r.raw or {}:
            columns.setdefault(k)
    buffer = io.StringIO()
    buffer.write("\ufeff")
    writer = csv.writer(buffer)
    writer.writerow([*columns, "_reasons", "_row"])
    for r in rows:
        raw = r.raw or {}
        writer.writerow(
            [safe_cell(raw.get(k, "")) for k in columns]
            + [safe_cell("; ".join(r.reasons or [])), r.row_number]
        )
    return buffer.getvalue()
