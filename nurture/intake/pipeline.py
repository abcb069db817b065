"""``import_file``: a lead list into the database, every row accounted for.

Top-down, the import is four steps:

1. **read**: open the file, find its header and columns (:mod:`~nurture.intake.reading`);
   a file that cannot be a lead list is refused here, before anything is written;
2. **normalise**: chunk by chunk, in this process or, for a big file, in a helper process
   beside the writes (:mod:`~nurture.intake.prepare`, :mod:`~nurture.intake.helper`);
3. **plan**: who each row is (:mod:`~nurture.intake.dedup`), and
4. **write**: the chunk's leads, links, fills, provenance, quarantine, possible duplicates
   and the batch's counters in one transaction (:mod:`~nurture.intake.writer`, through the
   backend's bulk operations of :mod:`~nurture.intake.bulk`).

A transaction holds whole chunks until they add up to ``NURTURE_IMPORT_COMMIT_ROWS`` input
rows. A run killed half-way loses nothing and doubles nothing: the next run of the same file
for the same event resumes after the committed ``import_batches.last_row``; a finished file
is recognised by its SHA-256 and not imported again (its summary says what this run did,
nothing, and what the first import did).
"""

from __future__ import annotations

import functools
import gc
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine

from nurture.config import get_settings
from nurture.errors import InputError, NotALeadListError
from nurture.intake.batches import Batch, counts, file_sha256, open_batch, set_status
from nurture.intake.bulk import Bulk, bulk_for
from nurture.intake.fuzzy import FuzzyState
from nurture.intake.headers import ColumnMapping, has_contact_columns, recogniser, resolve_columns
from nurture.intake.helper import normalised_chunks, wants_helper, young_gc_only
from nurture.intake.prepare import Chunk, detect_locale, prepare_rows, row_context
from nurture.intake.reading import Limits, open_table
from nurture.intake.writer import write_chunk

KINDS = ("exhibition", "seminar", "webinar", "mailing", "webform")


@dataclass
class ImportSummary:
    """What this run did to a file; ``created + merged + quarantined == rows`` always.

    On a re-import of a finished file every count is 0 (this run changed nothing) and
    ``first_import`` holds the counts of the import that did the work."""

    file: str
    batch_id: int
    event_id: int
    rows: int = 0
    blank: int = 0
    created: int = 0
    merged: int = 0
    quarantined: int = 0
    possible_duplicates: int = 0
    warnings: int = 0
    already_imported: bool = False
    first_import: dict[str, int] | None = None
    format: str = ""
    encoding: str | None = None
    delimiter: str | None = None
    columns: dict[str, str] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def import_file(
    path: Path,
    *,
    event: str,
    kind: str = "exhibition",
    event_date: date | None = None,
    mapping: ColumnMapping | None = None,
    engine: Engine | None = None,
    chunk_size: int | None = None,
    commit_rows: int | None = None,
    progress: Callable[[int], None] | None = None,
    stop_after_chunks: int | None = None,
    now: datetime | None = None,
) -> ImportSummary:
    """Import ``path`` as the lead list of an event. Raises :class:`NotALeadListError`
    (nothing written) when the file cannot be a lead list. ``now`` is when the leads are
    taken in (default: the current time; the demo and replays pass a simulated clock).

    Chunks of ``chunk_size`` rows are committed together once they hold ``commit_rows``
    input rows (default ``NURTURE_IMPORT_COMMIT_ROWS``). ``stop_after_chunks`` is for tests
    of interrupted imports.
    """
    from nurture.db.session import get_engine

    if kind not in KINDS:
        raise InputError(f"unknown event kind {kind!r} (one of {', '.join(KINDS)})")
    if not event.strip():
        raise InputError("the event needs a name (--event)")
    settings = get_settings()
    engine = engine or get_engine()
    limits = Limits.from_settings()
    name = path.name

    # 1. Read: the header and the columns, or a one-line refusal.
    table = open_table(path, recogniser(mapping), limits)
    columns = resolve_columns(table.header, mapping)
    if not has_contact_columns(columns):
        raise NotALeadListError(
            "no e-mail or phone column among "
            + ", ".join(repr(h) for h in table.header[:12] if h)
            + " (use --mapping to name them)",
            file=name,
        )
    batch = open_batch(
        engine,
        file_name=name,
        digest=file_sha256(path),
        event=event,
        kind=kind,
        event_date=event_date,
        mapping=mapping.as_dict() if mapping else None,
    )
    summary = ImportSummary(
        file=name,
        batch_id=batch.id,
        event_id=batch.event_id,
        format=table.format,
        encoding=table.encoding,
        delimiter=table.delimiter,
        columns={f: table.header[i] for f, i in columns.items()},
    )
    if batch.status == "done":
        summary.already_imported = True
        summary.first_import = counts(engine, batch.id)
        return summary

    # 2. Normalise, here or in the helper process, chunk by chunk.
    prepare = functools.partial(
        prepare_rows,
        header=table.header,
        columns=columns,
        ctx=row_context(mapping, detect_locale(table)),
        file_name=name,
        max_cell_chars=limits.max_cell_chars,
    )
    chunks = normalised_chunks(
        table, chunk_size or settings.batch_size, prepare, helper=wants_helper(path, table)
    )
    # 3 and 4. Plan and write each chunk; commit every ``commit_rows`` input rows.
    try:
        finished = _write_all(
            engine,
            chunks,
            batch,
            file_name=name,
            event_date=event_date,
            commit_rows=commit_rows or settings.import_commit_rows,
            progress=progress,
            stop_after_chunks=stop_after_chunks,
            now=now,
        )
    except BaseException:
        with suppress(Exception):  # the error itself is what the caller needs to see
            set_status(engine, batch.id, "failed")
        raise
    if finished:
        set_status(engine, batch.id, "done")
    for key, value in counts(engine, batch.id).items():
        setattr(summary, key, value)
    return summary


def _write_all(
    engine: Engine,
    chunks: Iterator[Chunk],
    batch: Batch,
    *,
    file_name: str,
    event_date: date | None,
    commit_rows: int,
    progress: Callable[[int], None] | None,
    stop_after_chunks: int | None,
    now: datetime | None = None,
) -> bool:
    """Write every chunk; ``False`` when stopped early (``stop_after_chunks``)."""
    bulk = bulk_for(engine)
    fuzzy = FuzzyState()
    with young_gc_only(), _importer_connection(engine, bulk) as conn:
        held = 0  # input rows the open transaction holds
        txn = None
        for done, chunk in enumerate(chunks, 1):
            if txn is None:
                txn = conn.begin()
            write_chunk(
                conn,
                bulk,
                chunk,
                batch_id=batch.id,
                event_id=batch.event_id,
                file_name=file_name,
                event_date=event_date,
                fuzzy=fuzzy,
                now=now,
            )
            held += chunk.count
            stop = stop_after_chunks is not None and done >= stop_after_chunks
            if held >= commit_rows or stop:
                txn.commit()
                txn, held = None, 0
                bulk.after_commit(engine)
            gc.collect(1)
            if progress:
                progress(chunk.count)
            if stop:
                close = getattr(chunks, "close", None)
                if close:
                    close()
                return False
        if txn is not None:
            txn.commit()
    return True


@contextmanager
def _importer_connection(engine: Engine, bulk: Bulk) -> Iterator[Connection]:
    """One pooled connection for the whole import, tuned for it and put back as it was."""
    with engine.connect() as conn, bulk.tuned(conn):
        try:
            yield conn
        finally:
            conn.rollback()  # what was not committed goes before the settings are put back
