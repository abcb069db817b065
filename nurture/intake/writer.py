"""The chunk transaction: plan who each row is, then write it all in a few statements.

Each chunk's rows become leads (``created``), join known leads (``merged``) or land in
quarantine with reasons, and the batch's counters and high-water mark
(``import_batches.last_row``) move in the same transaction, so a killed import resumes
after the last committed chunk and never doubles a row.

Two importers at once: the resolve-and-insert step is serialised per transaction
(:func:`nurture.db.sql.advisory_xact_lock` on PostgreSQL; on SQLite the batch update below
is the transaction's first write and takes the database's write lock), and the partial
unique indexes on live leads' e-mail and phone make a second lead for the same contact
impossible anyway (inserts skip a taken contact, and the lead is looked up again).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, NamedTuple

from sqlalchemy import Connection, Table, select, update

from nurture.db.base import utcnow
from nurture.db.leads import CONTACT_FIELDS, FILLABLE_FIELDS, ImportBatch
from nurture.db.sql import advisory_xact_lock
from nurture.intake.bulk import Bulk, dumps
from nurture.intake.dedup import ChunkPlan, KnownLead, plan_chunk
from nurture.intake.fuzzy import FuzzyState, flag_duplicates
from nurture.intake.normalize import NormalizedRow
from nurture.intake.prepare import Chunk
from nurture.privacy.forgotten import quarantine_forgotten

#: The lead columns intake writes from a row: its contacts and the fields it may fill.
LEAD_COLUMNS: tuple[str, ...] = (*CONTACT_FIELDS, *FILLABLE_FIELDS)
LIVE = "leads.merged_into_id IS NULL"
BATCHES: Table = ImportBatch.__table__  # type: ignore[assignment]


class SourceRow(NamedTuple):
    """One ``lead_sources`` row as the bulk insert takes it (field names are the columns)."""

    lead_id: int
    event_id: int
    batch_id: int
    row_number: int
    file_name: str
    outcome: str
    met_on: Any
    filled: str | None
    raw: str | None
    warnings: str | None
    created_at: Any


class QuarantineEntry(NamedTuple):
    """One ``quarantine`` row as the bulk insert takes it."""

    batch_id: int
    row_number: int
    file_name: str
    raw: str | None
    reasons: str
    created_at: Any


@dataclass
class ChunkResult:
    created: int = 0
    merged: int = 0
    quarantined: int = 0
    possible_duplicates: int = 0
    warnings: int = 0
    skipped: bool = False


def write_chunk(
    conn: Connection,
    bulk: Bulk,
    chunk: Chunk,
    *,
    batch_id: int,
    event_id: int,
    file_name: str,
    event_date: date | None,
    fuzzy: FuzzyState,
    now: datetime | None = None,
) -> ChunkResult:
    """Write one normalised chunk inside the caller's transaction (see module doc)."""
    res = ChunkResult()
    advisory_xact_lock(conn, "intake")
    conn.execute(update(BATCHES).where(BATCHES.c.id == batch_id).values(status="running"))
    done_upto = int(
        conn.execute(select(BATCHES.c.last_row).where(BATCHES.c.id == batch_id)).scalar_one()
    )
    if chunk.last_row <= done_upto:
        res.skipped = True
        return res
    rows = [r for r in chunk.rows if r.row_number > done_upto]
    quarantine_forgotten(conn, rows)  # erased people stay out (docs/privacy.md)
    blank = sum(1 for n in chunk.blank_rows if n > done_upto)
    now = now or utcnow()
    now_db = bulk.to_db(now)

    bad = [r for r in rows if not r.ok]
    entries = [
        QuarantineEntry(batch_id, r.row_number, file_name, r.raw_json, dumps(r.reasons), now_db)
        for r in bad
    ]
    bulk.insert_rows(conn, "quarantine", QuarantineEntry._fields, entries)
    res.quarantined = len(bad)
    good = [r for r in rows if r.ok]
    res.warnings = sum(1 for r in good if r.warnings)

    plan = plan_chunk(good, known_leads(conn, bulk, good))
    new_ids, lost = resolve_new(conn, bulk, plan.new_leads, now)

    def lead_id(ref: tuple[str, int]) -> int:
        return new_ids[ref[1]] if ref[0] == "new" else ref[1]

    bulk.fill_empty(
        conn,
        "leads",
        LEAD_COLUMNS,
        [(lid, *map(f.get, LEAD_COLUMNS)) for lid, f in plan.fills.items()],
        updated_at=now,
    )
    sources = _sources(bulk, plan, lead_id, lost, event_id, batch_id, file_name, event_date, now)
    bulk.insert_rows(conn, "lead_sources", SourceRow._fields, sources)
    res.created = sum(1 for s in sources if s.outcome == "created")
    res.merged = len(sources) - res.created
    res.possible_duplicates = flag_duplicates(conn, bulk, plan, new_ids, lost, now, fuzzy)

    conn.execute(
        update(BATCHES)
        .where(BATCHES.c.id == batch_id)
        .values(
            rows=BATCHES.c.rows + len(rows),
            blank=BATCHES.c.blank + blank,
            created=BATCHES.c.created + res.created,
            merged=BATCHES.c.merged + res.merged,
            quarantined=BATCHES.c.quarantined + res.quarantined,
            possible_duplicates=BATCHES.c.possible_duplicates + res.possible_duplicates,
            warnings=BATCHES.c.warnings + res.warnings,
            last_row=chunk.last_row,
        )
    )
    return res


def _sources(
    bulk: Bulk,
    plan: ChunkPlan,
    lead_id: Any,
    lost: set[int],
    event_id: int,
    batch_id: int,
    file_name: str,
    event_date: date | None,
    now: datetime,
) -> list[SourceRow]:
    """A provenance row per accepted row; a planned new lead that another importer made
    first (``lost``) makes its row ``merged``."""
    now_db = bulk.to_db(now)
    dates: dict[date | None, Any] = {}
    out = []
    for link in plan.links:
        r: NormalizedRow = link.row
        outcome = link.outcome
        if outcome == "created" and link.target[1] in lost:
            outcome = "merged"
        met_on = r.met_on or event_date
        if met_on not in dates:
            dates[met_on] = bulk.to_db(met_on)
        out.append(
            SourceRow(
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
    return out


def known_leads(conn: Connection, bulk: Bulk, rows: list[NormalizedRow]) -> list[KnownLead]:
    """The live leads that share an e-mail or a phone with ``rows``. A phone that a lead
    found by e-mail already holds is not looked up again: the unique index on live phones
    says no other lead has it."""
    found: dict[int, KnownLead] = {}
    columns = ("id", *LEAD_COLUMNS)

    def look_up(column: str, values: set[str]) -> None:
        for rec in bulk.select_in(
            conn, "leads", columns, LIVE, column, sorted(values), index=f"uq_leads_{column}_active"
        ):
            lead = rec.pop("id")
            found.setdefault(lead, KnownLead(lead, rec))

    look_up("email", {e for r in rows if (e := r.fields.get("email"))})
    held = {lead.fields["phone"] for lead in found.values()}
    look_up("phone", {p for r in rows if (p := r.fields.get("phone")) and p not in held})
    return list(found.values())


def resolve_new(
    conn: Connection, bulk: Bulk, leads: list[dict[str, Any]], now: datetime
) -> tuple[list[int], set[int]]:
    """Lead id for each planned new lead: inserted now, or (index in the returned set) the
    one another worker made meanwhile."""
    payload = [tuple(map(lead.get, LEAD_COLUMNS)) for lead in leads]
    constants = {"status": "open", "created_at": now, "updated_at": now}
    ids_by: dict[str, dict[str, int]] = {"email": {}, "phone": {}}
    for new in bulk.insert_leads(conn, LEAD_COLUMNS, payload, constants):
        if new.email:
            ids_by["email"][new.email] = new.id
        if new.phone:
            ids_by["phone"][new.phone] = new.id

    def holder(lead: dict[str, Any]) -> int | None:
        return ids_by["email"].get(lead.get("email") or "") or ids_by["phone"].get(
            lead.get("phone") or ""
        )

    out = [holder(lead) or 0 for lead in leads]
    missing = [i for i, got in enumerate(out) if not got]
    # Lost a race: someone else created these people meanwhile; theirs are the leads.
    for column in CONTACT_FIELDS:
        wanted = sorted({leads[i][column] for i in missing if leads[i].get(column)})
        for hit in bulk.select_in(
            conn, "leads", ("id", column), LIVE, column, wanted, index=f"uq_leads_{column}_active"
        ):
            ids_by[column][hit[column]] = int(hit["id"])
    for i in missing:
        got = holder(leads[i])
        if not got:
            who = leads[i].get("email") or leads[i].get("phone")
            raise RuntimeError(f"lead for {who} vanished")
        out[i] = got
    return out, set(missing)
