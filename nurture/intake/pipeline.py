"""``import_file``: stream a lead list into the database in chunks, every row accounted for.

Each chunk's rows become leads (``created``), join known leads (``merged``) or land in
quarantine with reasons, and the batch's counters and high-water mark
(``import_batches.last_row``) move in the same transaction. A transaction holds a few
chunks (``NURTURE_IMPORT_COMMIT_ROWS`` input rows; see ``Settings.import_commit_rows``).
A run killed half-way loses nothing and doubles nothing: the next run of the same file for
the same event resumes after the committed ``last_row``; a finished file is recognised by
its SHA-256 and not imported again.

Two importers at once: lead creation is serialised per transaction (a PostgreSQL advisory
lock; SQLite's single writer lock taken by the first statement), and the partial unique indexes
on live leads' e-mail and phone make a second lead for the same contact impossible anyway
(``INSERT ... ON CONFLICT DO NOTHING`` then re-select).
"""

from __future__ import annotations

import functools
import gc
import hashlib
import os
import pickle
from collections.abc import Callable, Generator, Iterator
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, cast

from sqlalchemy import Connection, Engine, Table, select, text, update

from nurture.config import get_settings
from nurture.db.base import utcnow
from nurture.db.leads import (
    Event,
    ImportBatch,
    Lead,
    PossibleDuplicate,
)
from nurture.db.sql import dialect_insert
from nurture.errors import InputError, NotALeadListError
from nurture.intake.bulk import (
    driver_cursor,
    dumps,
    fill_empty,
    insert_returning,
    insert_rows,
    is_pg,
    select_in,
    to_db,
)
from nurture.intake.dedup import (
    FILLABLE,
    BlockIndex,
    KnownLead,
    Person,
    plan_chunk,
)
from nurture.intake.headers import (
    ColumnMapping,
    has_contact_columns,
    recogniser,
    resolve_columns,
)
from nurture.intake.normalize import NormalizedRow, RowContext, normalize_row
from nurture.intake.reading import Table as InputTable
from nurture.intake.reading import is_broken_json, open_table
from nurture.privacy.forgotten import quarantine_forgotten

KINDS = ("exhibition", "seminar", "webinar", "mailing", "webform")
LOCK_KEY = 7_270_001  # pg_advisory_xact_lock key for lead creation
# SQLite's default page cache (2 MiB) makes every index insert of a big import a read from
# the OS; the importer's connection keeps the hot index pages in memory instead.
SQLITE_CACHE_KIB = 256 * 1024
# WAL pages between checkpoints on the importer's connection (default 1,000, i.e. 4 MiB: a
# checkpoint, with its fsyncs, every chunk or two). Pages a later transaction writes again
# are then copied back once; readers see a longer WAL meanwhile. (1M rows: 16,384 pages
# 92 s, 100,000 pages 82 s.) After a checkpoint the WAL file is cut back to
# SQLITE_WAL_KEEP_BYTES so a big import leaves no ~400 MiB file behind.
SQLITE_CHECKPOINT_PAGES = 100_000
SQLITE_WAL_KEEP_BYTES = 64 * 1024 * 1024
LEAD_COLUMNS = ("email", "phone", *FILLABLE)
SOURCE_COLUMNS = (
    "lead_id",
    "event_id",
    "batch_id",
    "row_number",
    "file_name",
    "outcome",
    "met_on",
    "filled",
    "raw",
    "warnings",
    "created_at",
)
BATCHES = cast(Table, ImportBatch.__table__)
LEADS = cast(Table, Lead.__table__)


@dataclass
class ImportSummary:
    """What happened to a file; ``created + merged + quarantined == rows`` always."""

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
    format: str = ""
    encoding: str | None = None
    delimiter: str | None = None
    columns: dict[str, str] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


# --- helpers -------------------------------------------------------------------------------


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def event_key(kind: str, name: str, event_date: date | None) -> str:
    return (
        f"{kind}:{' '.join(name.split()).casefold()}:{event_date.isoformat() if event_date else ''}"
    )


def ensure_event(conn: Connection, *, name: str, kind: str, event_date: date | None) -> int:
    key = event_key(kind, name, event_date)
    conn.execute(
        dialect_insert(conn, Event)
        .values(key=key, name=name.strip(), kind=kind, event_date=event_date, created_at=utcnow())
        .on_conflict_do_nothing()
    )
    return int(conn.execute(select(Event.id).where(Event.key == key)).scalar_one())


def _chunks(it: Iterator[Any], size: int, first: int | None = None) -> Iterator[list[Any]]:
    """Lists of ``size`` items; given ``first``, the first list has that many and the next
    ones grow by half until they reach ``size``."""
    buf: list[Any] = []
    want = min(first or size, size)
    for item in it:
        buf.append(item)
        if len(buf) >= want:
            yield buf
            buf, want = [], min(size, want + want // 2 + 1)
    if buf:
        yield buf


def _raw_keys(header: list[str]) -> list[str]:
    keys: list[str] = []
    seen: dict[str, int] = {}
    for i, h in enumerate(header):
        k = h.strip() or f"column {i + 1}"
        if k in seen:
            seen[k] += 1
            k = f"{k} ({seen[k]})"
        else:
            seen[k] = 1
        keys.append(k)
    return keys


@dataclass
class _Prepared:
    """One chunk, read and normalised outside any transaction."""

    first_row: int
    last_row: int
    blank_rows: list[int]
    rows: list[NormalizedRow]

    @property
    def count(self) -> int:
        return len(self.blank_rows) + len(self.rows)

    # Chunks cross from the normalising helper to the importer as one pickle of plain tuples
    # and dicts per chunk (see ``to_wire``), written to a pipe: pickling a dataclass per row
    # (through copyreg, with its raw cells) cost the helper ~30 us a row, as much as
    # normalising it; a ``multiprocessing.Queue`` added a feeder thread contending for the
    # helper's GIL. (``marshal`` was slower both ways: 7 ms against 5 ms a 5,000-row chunk
    # to write, 11 against 9 to read.) The importer needs every field but not the raw
    # cells (``raw_json`` carries them).
    def to_wire(self) -> bytes:
        rows = [
            (
                r.row_number,
                r.fields,
                r.warnings or None,
                r.reasons or None,
                r.met_on.toordinal() if r.met_on else None,
                r.raw_json,
            )
            for r in self.rows
        ]
        return pickle.dumps((self.first_row, self.last_row, self.blank_rows, rows), protocol=5)

    @classmethod
    def from_wire(cls, data: bytes | memoryview) -> _Prepared:
        first_row, last_row, blank_rows, wire = pickle.loads(data)
        from_ordinal = date.fromordinal
        rows = [
            NormalizedRow(
                number,
                fields,
                {},
                warnings or [],
                reasons or [],
                from_ordinal(met_on) if met_on else None,
                raw_json,
            )
            for number, fields, warnings, reasons, met_on, raw_json in wire
        ]
        return cls(first_row, last_row, blank_rows, rows)


def prepare_rows(
    numbered: list[tuple[int, list[str]]],
    *,
    header: list[str],
    columns: dict[str, int],
    ctx: RowContext,
    file_name: str,
) -> _Prepared:
    """Normalise a chunk of ``(row_number, cells)``; blank rows are only counted."""
    keys = _raw_keys(header)
    width = len(header)
    out: list[NormalizedRow] = []
    blank: list[int] = []
    for number, cells in numbered:
        if not any(c.strip() for c in cells):
            blank.append(number)
            continue
        if is_broken_json(cells):
            out.append(
                NormalizedRow(number, reasons=[f"{file_name} line {number}: not a JSON object"])
            )
            continue
        raw = {keys[i]: c for i, c in enumerate(cells[:width]) if c.strip()}
        extra = [c for c in cells[width:] if c.strip()]
        if extra:
            raw["_extra"] = "|".join(extra)
            out.append(
                NormalizedRow(
                    number,
                    raw=raw,
                    reasons=[
                        f"row has {width + len(cells[width:])} fields but the header has "
                        f"{width} (a stray delimiter or unquoted text?)"
                    ],
                )
            )
            continue
        values = {f: cells[i] for f, i in columns.items() if i < len(cells)}
        out.append(normalize_row(number, values, raw, ctx))
    for r in out:  # serialised here: in the helper process when there is one
        if r.raw:
            r.raw_json = dumps(r.raw)
    first = numbered[0][0] if numbered else 0
    last = numbered[-1][0] if numbered else 0
    return _Prepared(first, last, blank, out)


# --- the chunk transaction -----------------------------------------------------------------

_KNOWN_COLUMNS = ("id", *LEAD_COLUMNS)


def _known_leads(conn: Connection, rows: list[NormalizedRow]) -> list[KnownLead]:
    """The live leads that share an e-mail or a phone with ``rows``. A phone that a lead
    found by e-mail already holds is not looked up again: the unique index on live phones
    says no other lead has it (at a million rows with ~30% duplicates: 6.6 -> 5.7 s)."""
    found: dict[int, KnownLead] = {}

    def look_up(column: str, values: set[str]) -> None:
        for rec in select_in(
            conn,
            "leads",
            _KNOWN_COLUMNS,
            "leads.merged_into_id IS NULL",
            column,
            sorted(values),
            sqlite_index=f"uq_leads_{column}_active",
        ):
            if rec[0] not in found:
                found[rec[0]] = KnownLead(rec[0], dict(zip(LEAD_COLUMNS, rec[1:], strict=True)))

    look_up("email", {e for r in rows if (e := r.fields.get("email"))})
    held = {lead.fields["phone"] for lead in found.values()}
    look_up("phone", {p for r in rows if (p := r.fields.get("phone")) and p not in held})
    return list(found.values())


def _resolve_new(
    conn: Connection, leads: list[dict[str, Any]], now: datetime
) -> tuple[list[int], set[int]]:
    """Lead id for each planned new lead: inserted now, or (index in the returned set) the
    one another worker made meanwhile."""
    payload = [tuple(map(lead.get, LEAD_COLUMNS)) for lead in leads]  # 2x a generator's speed
    ids_by_email: dict[str, int] = {}
    ids_by_phone: dict[str, int] = {}
    constants = {"status": "open", "created_at": now, "updated_at": now}
    for lead_id, email, phone in insert_returning(
        conn, "leads", LEAD_COLUMNS, payload, ("id", "email", "phone"), constants
    ):
        if email:
            ids_by_email[email] = lead_id
        if phone:
            ids_by_phone[phone] = lead_id
    out: list[int] = []
    missing: list[int] = []
    for i, lead in enumerate(leads):
        got = ids_by_email.get(lead.get("email") or "") or ids_by_phone.get(lead.get("phone") or "")
        out.append(got or 0)
        if not got:
            missing.append(i)
    # Lost a race: someone else created these people meanwhile; theirs are the leads.
    found: dict[str, dict[str, int]] = {}
    for column in ("email", "phone"):
        wanted = sorted({leads[i][column] for i in missing if leads[i].get(column)})
        hits = select_in(
            conn,
            "leads",
            ("id", column),
            "leads.merged_into_id IS NULL",
            column,
            wanted,
            sqlite_index=f"uq_leads_{column}_active",
        )
        found[column] = {value: int(lead_id) for lead_id, value in hits}
    for i in missing:
        lead = leads[i]
        hit = found["email"].get(lead.get("email") or "") or found["phone"].get(
            lead.get("phone") or ""
        )
        if not hit:
            raise RuntimeError(f"lead for {lead.get('email') or lead.get('phone')} vanished")
        out[i] = hit
    return out, set(missing)


@dataclass
class _ChunkResult:
    created: int = 0
    merged: int = 0
    quarantined: int = 0
    possible_duplicates: int = 0
    warnings: int = 0
    skipped: bool = False


def process_chunk(
    conn: Connection,
    prepared: _Prepared,
    *,
    batch_id: int,
    event_id: int,
    file_name: str,
    event_date: date | None,
    fuzzy: FuzzyState,
) -> _ChunkResult:
    """Write one normalised chunk inside the caller's transaction (see module doc)."""
    res = _ChunkResult()
    batch = BATCHES
    pg = is_pg(conn)
    # Take the write lock first (SQLite), or the intake lock (PostgreSQL).
    if pg:
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": LOCK_KEY})
    else:
        conn.exec_driver_sql(f"PRAGMA cache_size = -{SQLITE_CACHE_KIB}")
        conn.exec_driver_sql(f"PRAGMA wal_autocheckpoint = {SQLITE_CHECKPOINT_PAGES}")
        conn.exec_driver_sql(f"PRAGMA journal_size_limit = {SQLITE_WAL_KEEP_BYTES}")
        conn.execute(update(batch).where(batch.c.id == batch_id).values(status="running"))
    done_upto = int(
        conn.execute(select(batch.c.last_row).where(batch.c.id == batch_id)).scalar_one()
    )
    if prepared.last_row <= done_upto:
        res.skipped = True
        return res
    rows = [r for r in prepared.rows if r.row_number > done_upto]
    quarantine_forgotten(conn, rows)  # erased people stay out (docs/privacy.md)
    blank = sum(1 for n in prepared.blank_rows if n > done_upto)
    now = utcnow()
    now_db = to_db(pg, now)

    bad = [r for r in rows if not r.ok]
    insert_rows(
        conn,
        "quarantine",
        ("batch_id", "row_number", "file_name", "raw", "reasons", "created_at"),
        [(batch_id, r.row_number, file_name, r.raw_json, dumps(r.reasons), now_db) for r in bad],
    )
    res.quarantined = len(bad)
    good = [r for r in rows if r.ok]
    res.warnings = sum(1 for r in good if r.warnings)

    plan = plan_chunk(good, _known_leads(conn, good))
    new_ids, lost = _resolve_new(conn, plan.new_leads, now)

    def lead_id(ref: tuple[str, int]) -> int:
        return new_ids[ref[1]] if ref[0] == "new" else ref[1]

    fill_empty(
        conn,
        "leads",
        LEAD_COLUMNS,
        [(lid, *map(f.get, LEAD_COLUMNS)) for lid, f in plan.fills.items()],
        updated_at=now,
    )

    sources = []
    dates: dict[date | None, Any] = {}
    created = 0
    for link in plan.links:
        r = link.row
        outcome = link.outcome
        if outcome == "created":
            if link.target[1] in lost:
                outcome = "merged"  # another importer created this person first
            else:
                created += 1
        met_on = r.met_on or event_date
        if met_on not in dates:
            dates[met_on] = to_db(pg, met_on)
        sources.append(
            (
                lead_id(link.target),
                event_id,
                batch_id,
                r.row_number,
                file_name,
                outcome,
                dates[met_on],
                dumps(link.filled) if link.filled else None,
                r.raw_json,
                dumps(r.warnings) if r.warnings else None,
                now_db,
            )
        )
    insert_rows(conn, "lead_sources", SOURCE_COLUMNS, sources)
    res.created = created
    res.merged = len(sources) - created

    res.possible_duplicates = _flag_duplicates(conn, plan, new_ids, lead_id, now, lost, fuzzy)

    conn.execute(
        update(batch)
        .where(batch.c.id == batch_id)
        .values(
            rows=batch.c.rows + len(rows),
            blank=batch.c.blank + blank,
            created=batch.c.created + res.created,
            merged=batch.c.merged + res.merged,
            quarantined=batch.c.quarantined + res.quarantined,
            possible_duplicates=batch.c.possible_duplicates + res.possible_duplicates,
            warnings=batch.c.warnings + res.warnings,
            last_row=prepared.last_row,
        )
    )
    return res


_PERSON = ("id", "first_name", "last_name", "company", "name_key", "email", "phone")
_FUZZY_POOL = (
    "leads.merged_into_id IS NULL AND leads.company IS NOT NULL AND leads.name_key IS NOT NULL"
)


_BY_NAME_KEY = "ix_leads_name_key"


@dataclass
class FuzzyState:
    """What one import knows of the name blocks across its chunks (see ``BlockIndex``):
    leads up to ``seen_upto`` have reached the index when their block was open; newer
    ones are read by id range at the next chunk. Leads that other writers than importers
    (which take the intake lock) create during an import may be missed as candidates."""

    index: BlockIndex = field(default_factory=BlockIndex)
    seen_upto: int = 0


def _persons(conn: Connection, where: str, params: tuple[Any, ...]) -> list[Person]:
    cur = driver_cursor(conn)
    mark = "%s" if is_pg(conn) else "?"
    cur.execute(
        f"SELECT {', '.join(_PERSON)} FROM leads WHERE {_FUZZY_POOL} AND "
        + where.replace("?", mark),
        params,
    )
    return [Person(*rec) for rec in cur.fetchall()]


def _flag_duplicates(
    conn: Connection,
    plan: Any,
    new_ids: list[int],
    lead_id: Callable[[tuple[str, int]], int],
    now: datetime,
    lost: set[int],
    fuzzy: FuzzyState,
) -> int:
    pairs: list[tuple[int, int, float, str]] = []
    for a, b, reason in plan.conflicts:
        x, y = lead_id(a), lead_id(b)
        if x != y:
            pairs.append((max(x, y), min(x, y), 1.0, reason))
    people = [  # this chunk's new leads that can have a fuzzy twin
        Person(
            new_ids[i],
            lead.get("first_name"),
            lead.get("last_name"),
            lead["company"],
            lead["name_key"],
            lead.get("email"),
            lead.get("phone"),
        )
        for i, lead in enumerate(plan.new_leads)
        if lead.get("name_key") and lead.get("company") and i not in lost
    ]
    index = fuzzy.index
    # The open blocks take the leads others created since the last chunk (read by id
    # range: under the intake lock theirs all have smaller ids than this chunk's), this
    # chunk's own (from memory), and known leads this chunk gave a name key...
    cur = driver_cursor(conn)
    top = int(cur.execute("SELECT coalesce(max(id), 0) FROM leads").fetchone()[0])
    ours = [new_ids[i] for i in range(len(plan.new_leads)) if i not in lost]
    others_upto = min(ours) - 1 if ours else top
    if index and others_upto > fuzzy.seen_upto:
        index.add(_persons(conn, "leads.id > ? AND leads.id <= ?", (fuzzy.seen_upto, others_upto)))
    index.add(people)
    fuzzy.seen_upto = top
    filled = sorted(i for i, f in plan.fills.items() if "name_key" in f)
    if filled:
        found = select_in(conn, "leads", _PERSON, _FUZZY_POOL, "id", filled, sqlite_index=None)
        index.add(Person(*rec) for rec in found)
    # ... and blocks seen for the first time are read whole, but for this chunk's own
    # leads (about half of what such a read would return), which come from memory.
    missing = sorted({str(p.name_key) for p in people if p.name_key not in index})
    if missing:
        index.open_blocks(missing)
        found = select_in(
            conn,
            "leads",
            _PERSON,
            f"{_FUZZY_POOL} AND leads.id <= {int(others_upto)}",
            "name_key",
            missing,
            sqlite_index=_BY_NAME_KEY,
        )
        index.add(sorted((Person(*rec) for rec in found), key=lambda p: p.id))
        index.add(people)
    pairs.extend(index.matches(people))
    if not pairs:
        return 0
    result = conn.execute(
        dialect_insert(conn, PossibleDuplicate)
        .on_conflict_do_nothing()
        .returning(PossibleDuplicate.id),
        [
            {
                "lead_id": a,
                "candidate_id": b,
                "similarity": s,
                "reason": reason,
                "status": "open",
                "created_at": now,
            }
            for a, b, s, reason in pairs
        ],
    )
    return len(result.all())


# --- the file ------------------------------------------------------------------------------


PARALLEL_FROM_BYTES = 4_000_000  # XLSX: a quarter of that (it is compressed)
# The helper's first chunk is small and the next ones grow by half up to the chunk size:
# the importer waits for the first with nothing else to do, and for each next one while
# the helper normalises it (a 5,000-row first chunk kept it idle 0.1-0.25 s per file;
# 500 then 5,000 moved the wait to the second chunk).
FIRST_CHUNK = 500


def _prepared_chunks(
    table: InputTable,
    chunk_size: int,
    prepare: Callable[[list[tuple[int, list[str]]]], _Prepared],
    parallel: bool,
) -> Generator[_Prepared, None, None]:
    """Normalised chunks in file order. For big files a forked helper process reads and
    normalises the file while this one writes to the database (two cores, two stages),
    starting with chunks that grow from ``FIRST_CHUNK`` rows.
    The helper blocks on the pipe while the importer is busy: at most the chunk in the
    pipe and the one being normalised wait in between, so memory stays bounded."""
    if not parallel:
        for numbered in _chunks(table.rows(), chunk_size):
            yield prepare(numbered)
        return
    import multiprocessing as mp

    ctx = mp.get_context("fork")
    reader, writer = ctx.Pipe(duplex=False)

    def helper() -> None:
        reader.close()  # the importer's end: once it is gone, a send fails and we stop
        gc.disable()  # see _young_gc_only
        gone = (BrokenPipeError, ConnectionResetError)  # the importer is gone (killed)
        try:
            for numbered in _chunks(table.rows(), chunk_size, first=FIRST_CHUNK):
                writer.send_bytes(b"c" + prepare(numbered).to_wire())
                gc.collect(1)
            writer.send_bytes(b"x")
        except gone:
            return
        except Exception as exc:  # handed to the importer, which raises it
            state = (type(exc), exc.args, dict(vars(exc)))
            with suppress(*gone):
                writer.send_bytes(b"e" + pickle.dumps(state))

    proc = ctx.Process(target=helper, name="nurture-intake-normalise", daemon=True)
    proc.start()
    writer.close()  # the helper's end: once the helper is gone, a receive ends
    try:
        while True:
            try:
                data = reader.recv_bytes()
            except EOFError:
                proc.join()
                raise RuntimeError(
                    f"the normalising helper process died (exit code {proc.exitcode})"
                ) from None
            kind, payload = data[:1], memoryview(data)[1:]
            if kind == b"x":
                return
            if kind == b"e":
                cls, args, attrs = pickle.loads(payload)
                exc = cls.__new__(cls)
                exc.args = args
                exc.__dict__.update(attrs)
                raise exc
            yield _Prepared.from_wire(payload)
    finally:
        if proc.is_alive():
            proc.terminate()
        proc.join()
        reader.close()


_GROWN = "n_mod_since_analyze > 0.25 * greatest(c.reltuples, 0) + 5000"


def refresh_statistics(engine: Engine) -> None:
    """``ANALYZE`` the tables a chunk reads once they have grown by a quarter since their
    statistics were taken. Autovacuum does it too, but a minute late: a big import into a
    fresh table would meanwhile be planned as if the table were empty (full scans)."""
    with engine.connect() as conn:
        grown = conn.exec_driver_sql(
            "SELECT s.relname FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid "
            f"WHERE s.relid IN ('leads'::regclass, 'lead_sources'::regclass) AND {_GROWN}"
        ).all()
        for (name,) in grown:
            conn.exec_driver_sql(f"ANALYZE {name}")
        conn.commit()


@contextmanager
def _young_gc_only() -> Iterator[None]:
    """Automatic garbage collection off while a file is imported, young generations
    collected by hand after each chunk. A chunk allocates hundreds of thousands of small
    objects, nearly all freed by reference counting; the automatic collector kept scanning
    the long-lived heap (caches, SQLAlchemy) because of them: 40% of the CPU time."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def detect_locale(table: InputTable) -> str:
    return header_locale(table.header, table.encoding)


def header_locale(header: list[str], encoding: str | None = None) -> str:
    """ "ru" for a file with Cyrillic column names (or read as cp1251), else "en"."""
    text_ = " ".join(header)
    if encoding == "cp1251" or any("а" <= ch.lower() <= "я" for ch in text_):
        return "ru"
    return "en"


def row_context(mapping: ColumnMapping | None, locale: str) -> RowContext:
    """How a file's rows are normalised: settings, the file's locale, its ``--mapping``."""
    settings = get_settings()
    return RowContext(
        region=settings.default_region,
        default_timezone=settings.timezone,
        dayfirst=mapping.dayfirst if mapping and mapping.dayfirst is not None else locale == "ru",
        locale=mapping.language if mapping and mapping.language else locale,
        country=mapping.country if mapping else None,
        language=mapping.language if mapping else None,
    )


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
) -> ImportSummary:
    """Import ``path`` as the lead list of an event. Raises :class:`NotALeadListError`
    (nothing written) when the file cannot be a lead list.

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
    chunk_size = chunk_size or settings.batch_size
    name = path.name

    table = open_table(path, recogniser(mapping))
    columns = resolve_columns(table.header, mapping)
    if not has_contact_columns(columns):
        raise NotALeadListError(
            "no e-mail or phone column among "
            + ", ".join(repr(h) for h in table.header[:12] if h)
            + " (use --mapping to name them)",
            file=name,
        )
    ctx = row_context(mapping, detect_locale(table))
    digest = file_sha256(path)
    with engine.begin() as conn:
        event_id = ensure_event(conn, name=event, kind=kind, event_date=event_date)
        conn.execute(
            dialect_insert(conn, ImportBatch)
            .values(
                file_name=name,
                file_sha256=digest,
                event_id=event_id,
                status="running",
                rows=0,
                blank=0,
                created=0,
                merged=0,
                quarantined=0,
                possible_duplicates=0,
                warnings=0,
                last_row=0,
                mapping=mapping.as_dict() if mapping else None,
                started_at=utcnow(),
            )
            .on_conflict_do_nothing()
        )
        batch = conn.execute(
            select(ImportBatch.id, ImportBatch.status).where(
                ImportBatch.file_sha256 == digest, ImportBatch.event_id == event_id
            )
        ).one()
    batch_id = int(batch.id)
    summary_base = {
        "format": table.format,
        "encoding": table.encoding,
        "delimiter": table.delimiter,
        "columns": {f: table.header[i] for f, i in columns.items()},
    }
    if batch.status == "done":
        return _summary(engine, batch_id, event_id, name, already=True, **summary_base)

    prepare = functools.partial(
        prepare_rows, header=table.header, columns=columns, ctx=ctx, file_name=name
    )
    pg = engine.dialect.name == "postgresql"
    big = PARALLEL_FROM_BYTES // (4 if table.format == "xlsx" else 1)
    parallel = path.stat().st_size > big and os.cpu_count() != 1
    commit_rows = commit_rows or settings.import_commit_rows
    fuzzy = FuzzyState()
    with _young_gc_only(), ExitStack() as transaction:
        chunks = _prepared_chunks(table, chunk_size, prepare, parallel)
        open_txn: Connection | None = None
        held = 0  # input rows the open transaction holds
        for done, prepared in enumerate(chunks, 1):
            if open_txn is None:
                open_txn = transaction.enter_context(engine.begin())
            process_chunk(
                open_txn,
                prepared,
                batch_id=batch_id,
                event_id=event_id,
                file_name=name,
                event_date=event_date,
                fuzzy=fuzzy,
            )
            held += prepared.count
            stop = stop_after_chunks is not None and done >= stop_after_chunks
            if held >= commit_rows or stop:
                transaction.close()  # commit
                open_txn, held = None, 0
                if pg:
                    refresh_statistics(engine)
            gc.collect(1)
            if progress:
                progress(prepared.count)
            if stop:
                chunks.close()
                return _summary(engine, batch_id, event_id, name, already=False, **summary_base)
    with engine.begin() as conn:
        conn.execute(
            update(BATCHES)
            .where(BATCHES.c.id == batch_id)
            .values(status="done", finished_at=utcnow())
        )
    return _summary(engine, batch_id, event_id, name, already=False, **summary_base)


def _summary(
    engine: Engine, batch_id: int, event_id: int, name: str, *, already: bool, **extra: Any
) -> ImportSummary:
    with engine.connect() as conn:
        b = conn.execute(select(ImportBatch).where(ImportBatch.id == batch_id)).one()
    return ImportSummary(
        file=name,
        batch_id=batch_id,
        event_id=event_id,
        rows=b.rows,
        blank=b.blank,
        created=b.created,
        merged=b.merged,
        quarantined=b.quarantined,
        possible_duplicates=b.possible_duplicates,
        warnings=b.warnings,
        already_imported=already,
        **extra,
    )
