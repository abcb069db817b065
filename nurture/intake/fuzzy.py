"""Possible duplicates of a chunk's leads: contact conflicts and fuzzy name-and-company twins.

An import keeps what it has read of the name blocks across its chunks (:class:`FuzzyState`
around :class:`~nurture.intake.dedup.BlockIndex`): a block is read from the database the
first time a chunk meets it, then grows with the leads created since (by id range: under
the intake lock every other importer's leads have smaller ids than this chunk's own) and
with the chunk's own new leads, which come from memory. Reading every block again for
every chunk was the quadratic part of a big import.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Connection

from nurture.db.leads import PossibleDuplicate
from nurture.db.sql import dialect_insert
from nurture.intake.bulk import Bulk
from nurture.intake.dedup import BlockIndex, ChunkPlan, Person

PERSON_COLUMNS = tuple(f.name for f in dataclasses.fields(Person))
POOL = "leads.merged_into_id IS NULL AND leads.company IS NOT NULL AND leads.name_key IS NOT NULL"


@dataclass
class FuzzyState:
    """What one import knows of the name blocks across its chunks: leads up to
    ``seen_upto`` reached the index while their block was open; newer ones are read by id
    range at the next chunk. Leads that writers other than importers (which take the intake
    lock) create during an import may be missed as candidates."""

    index: BlockIndex = field(default_factory=BlockIndex)
    seen_upto: int = 0


def flag_duplicates(
    conn: Connection,
    bulk: Bulk,
    plan: ChunkPlan,
    new_ids: list[int],
    lost: set[int],
    now: datetime,
    fuzzy: FuzzyState,
) -> int:
    """Insert the chunk's possible duplicates; returns how many are new."""

    def lead_id(ref: tuple[str, int]) -> int:
        return new_ids[ref[1]] if ref[0] == "new" else ref[1]

    pairs: list[tuple[int, int, float, str]] = []
    for a, b, reason in plan.conflicts:
        x, y = lead_id(a), lead_id(b)
        if x != y:
            pairs.append((max(x, y), min(x, y), 1.0, reason))
    people = [  # this chunk's new leads that can have a fuzzy twin
        Person(
            id=new_ids[i],
            first_name=lead.get("first_name"),
            last_name=lead.get("last_name"),
            company=lead["company"],
            name_key=lead["name_key"],
            email=lead.get("email"),
            phone=lead.get("phone"),
        )
        for i, lead in enumerate(plan.new_leads)
        if lead.get("name_key") and lead.get("company") and i not in lost
    ]
    index = fuzzy.index
    # The open blocks take the leads others created since the last chunk, this chunk's
    # own (from memory), and known leads this chunk gave a name key...
    top = bulk.max_id(conn, "leads")
    ours = [new_ids[i] for i in range(len(plan.new_leads)) if i not in lost]
    others_upto = min(ours) - 1 if ours else top
    if index and others_upto > fuzzy.seen_upto:
        found = bulk.select_id_range(
            conn, "leads", PERSON_COLUMNS, POOL, fuzzy.seen_upto, others_upto
        )
        index.add(Person(**rec) for rec in found)
    index.add(people)
    fuzzy.seen_upto = top
    filled = sorted(i for i, f in plan.fills.items() if "name_key" in f)
    if filled:
        found = bulk.select_in(conn, "leads", PERSON_COLUMNS, POOL, "id", filled, index=None)
        index.add(Person(**rec) for rec in found)
    # ... and blocks met for the first time are read whole, but for this chunk's own
    # leads (about half of what such a read would return), which come from memory.
    missing = sorted({str(p.name_key) for p in people if p.name_key not in index})
    if missing:
        index.open_blocks(missing)
        found = bulk.select_in(
            conn,
            "leads",
            PERSON_COLUMNS,
            f"{POOL} AND leads.id <= {int(others_upto)}",
            "name_key",
            missing,
            index="ix_leads_name_key",
        )
        index.add(sorted((Person(**rec) for rec in found), key=lambda p: p.id))
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
