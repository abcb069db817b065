"""Who is the same person: pure decisions on plain data, no database.

* Same normalised e-mail, or same E.164 phone: the same person. The row is linked to the
  lead already known (or created earlier in the same file) and fills its empty fields.
* A row whose e-mail points to one lead and whose phone points to another does not merge
  the two records: that is flagged as a possible duplicate for a human (two existing
  records may carry owners and history).
* Similar name and company with different contacts: a possible duplicate, never merged
  automatically. Candidates are found by a blocking key (surname + first initial), then
  scored with rapidfuzz.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from rapidfuzz import fuzz, process

from nurture.db.leads import FILLABLE_FIELDS
from nurture.intake.normalize import NormalizedRow, company_key

FILLABLE = FILLABLE_FIELDS  # the fields a later row fills on a lead that lacks them
_DIGITS = re.compile(r"\d+")
NAME_THRESHOLD = 88.0
COMPANY_THRESHOLD = 80.0


@dataclass
class KnownLead:
    """A lead already in the database: its id and current contact + fillable fields."""

    id: int
    fields: dict[str, Any]


@dataclass
class Link:
    """One accepted row and the lead it belongs to: ``("lead", id)`` or ``("new", index)``."""

    row: NormalizedRow
    target: tuple[str, int]
    outcome: str  # created | merged
    filled: dict[str, Any] = field(default_factory=dict)  # fields this row gave the lead


@dataclass
class ChunkPlan:
    new_leads: list[dict[str, Any]] = field(default_factory=list)
    links: list[Link] = field(default_factory=list)
    fills: dict[int, dict[str, Any]] = field(default_factory=dict)  # existing id -> fields
    # (row's e-mail lead, row's phone lead, reason): two records, one person? for review
    conflicts: list[tuple[tuple[str, int], tuple[str, int], str]] = field(default_factory=list)


def plan_chunk(rows: Iterable[NormalizedRow], known: Iterable[KnownLead]) -> ChunkPlan:
    """Decide, for each valid row in file order, which lead it becomes or joins.

    ``known`` must hold every live lead sharing an e-mail or phone with these rows.
    """
    plan = ChunkPlan()
    by_email: dict[str, tuple[str, int]] = {}
    by_phone: dict[str, tuple[str, int]] = {}
    current: dict[tuple[str, int], dict[str, Any]] = {}
    for k in known:
        ref = ("lead", k.id)
        current[ref] = dict(k.fields)
        if k.fields.get("email"):
            by_email.setdefault(k.fields["email"], ref)
        if k.fields.get("phone"):
            by_phone.setdefault(k.fields["phone"], ref)

    for row in rows:
        if not row.ok:
            continue
        f = row.fields
        email, phone = f.get("email"), f.get("phone")
        e_ref = by_email.get(email) if email else None
        p_ref = by_phone.get(phone) if phone else None
        target = e_ref or p_ref
        if target is None:
            ref = ("new", len(plan.new_leads))
            lead = dict(f)
            plan.new_leads.append(lead)
            current[ref] = lead
            if email:
                by_email[email] = ref
            if phone:
                by_phone[phone] = ref
            plan.links.append(Link(row, ref, "created"))
            continue
        link = Link(row, target, "merged")
        plan.links.append(link)
        if e_ref and p_ref and e_ref != p_ref:
            plan.conflicts.append((e_ref, p_ref, f"e-mail of one lead, phone {phone} of another"))
        # Fill what the lead lacks; a contact only when no other lead holds it.
        have = current[target]
        if email and not have.get("email") and email not in by_email:
            link.filled["email"] = have["email"] = email
            by_email[email] = target
        if phone and not have.get("phone") and phone not in by_phone:
            link.filled["phone"] = have["phone"] = phone
            by_phone[phone] = target
        for key in FILLABLE:
            if f.get(key) is not None and have.get(key) is None:
                link.filled[key] = have[key] = f[key]
        if target[0] == "lead" and link.filled:
            plan.fills.setdefault(target[1], {}).update(link.filled)
    return plan


@dataclass(slots=True)
class Person:
    """A lead as seen by the fuzzy matcher."""

    id: int
    first_name: str | None
    last_name: str | None
    company: str | None
    name_key: str | None
    email: str | None = None
    phone: str | None = None


MAX_BLOCK = 500  # comparisons per new lead; a huge block ("Иванов|и") is cut, newest first


@dataclass(slots=True)
class _Key:
    """What comparing a person needs (and no more: a block index holds one per lead)."""

    id: int
    email: str | None
    phone: str | None
    name: str
    company: str
    digits: tuple[str, ...]


def _key(p: Person) -> _Key:
    company = company_key(p.company)
    name = f"{p.first_name or ''} {p.last_name or ''}".casefold().replace("ё", "е")
    return _Key(p.id, p.email, p.phone, name, company, tuple(_DIGITS.findall(company)))


def _comparable(a: _Key, b: _Key) -> bool:
    """Both have a company, the same numbers in it ("Завод 1" and "Завод 2" are different
    companies), and no shared contact (that would be the same person, not a possible one)."""
    if not a.company or not b.company or a.digits != b.digits:
        return False
    return not ((a.email and a.email == b.email) or (a.phone and a.phone == b.phone))


def _similar(a: _Key, b: _Key) -> tuple[float, str] | None:
    if not _comparable(a, b):
        return None
    name_score = fuzz.token_sort_ratio(a.name, b.name, score_cutoff=NAME_THRESHOLD)
    if not name_score:
        return None
    return _scored(a, b, name_score)


def _scored(a: _Key, b: _Key, name_score: float) -> tuple[float, str] | None:
    company_score = fuzz.token_set_ratio(a.company, b.company, score_cutoff=COMPANY_THRESHOLD)
    if not company_score:
        return None
    score = round((name_score + company_score) / 200, 3)
    return score, (
        f"similar name ({name_score:.0f}%) and company ({company_score:.0f}%), "
        "different e-mail/phone"
    )


def similarity(a: Person, b: Person) -> tuple[float, str] | None:
    """Score two people with different contacts; ``None`` when not alike enough."""
    return _similar(_key(a), _key(b))


@dataclass
class _Block:
    keys: list[_Key] = field(default_factory=list)  # ascending id
    names: list[str] = field(default_factory=list)  # keys[i].name, for rapidfuzz


class BlockIndex:
    """The leads of every name block seen so far, with their comparison keys.

    An import keeps one for all its chunks: a block ("anna|s|omeg") is read from the
    database once and then grows with the leads created since, instead of being read and
    re-keyed for every chunk that touches it (at a million rows some blocks hold hundreds
    of people, and every chunk touched them all). Names are compared in one rapidfuzz call
    per new lead and block; the company, digit and contact checks run only on name hits."""

    def __init__(self) -> None:
        self._blocks: dict[str, _Block] = {}
        self._keys: dict[int, _Key] = {}

    def __contains__(self, name_key: object) -> bool:
        return name_key in self._blocks

    def __bool__(self) -> bool:
        return bool(self._blocks)

    def open_blocks(self, name_keys: Iterable[str]) -> None:
        """Mark blocks as loaded (possibly empty): their members arrive through :meth:`add`."""
        for k in name_keys:
            self._blocks.setdefault(k, _Block())

    def add(self, people: Iterable[Person]) -> None:
        """Add people of open blocks (others, and ones already here, are ignored)."""
        touched: set[str] = set()
        for p in people:
            block = self._blocks.get(p.name_key or "")
            if block is None or p.id in self._keys:
                continue
            k = self._keys[p.id] = _key(p)
            if block.keys and block.keys[-1].id > p.id:
                touched.add(p.name_key or "")
            block.keys.append(k)
            block.names.append(k.name)
        for name_key in touched:  # rare: someone else's older lead arrived late
            block = self._blocks[name_key]
            block.keys.sort(key=lambda k: k.id)
            block.names = [k.name for k in block.keys]

    def matches(self, new: list[Person]) -> list[tuple[int, int, float, str]]:
        """``(lead_id, candidate_id, similarity, reason)`` for each of ``new`` (already
        added) against the newest :data:`MAX_BLOCK` others of its block."""
        out: list[tuple[int, int, float, str]] = []
        new_ids = {p.id for p in new}
        for p in new:
            block = self._blocks.get(p.name_key or "")
            if block is None:
                continue
            if len(block.keys) == 1 and block.keys[0].id == p.id:
                continue  # alone in its block (most leads: name keys are nearly unique)
            start = max(0, len(block.keys) - MAX_BLOCK)
            keys = block.keys[start:]
            kp = self._keys.get(p.id) or _key(p)
            if not kp.company:
                continue
            hits = process.extract(
                kp.name,
                block.names[start:],
                scorer=fuzz.token_sort_ratio,
                processor=None,
                score_cutoff=NAME_THRESHOLD,
                limit=None,
            )
            for _, name_score, i in sorted(hits, key=lambda h: -h[2]):  # newest first
                q = keys[i]
                # A pair of two new leads is reported once, newer -> older.
                if q.id == p.id or (q.id in new_ids and q.id > p.id):
                    continue
                if not _comparable(kp, q):
                    continue
                hit = _scored(kp, q, name_score)
                if hit:
                    out.append((p.id, q.id, hit[0], hit[1]))
        return out


def possible_duplicates(new: list[Person], pool: list[Person]) -> list[tuple[int, int, float, str]]:
    """``(lead_id, candidate_id, similarity, reason)`` for each new lead against every
    other lead of the same block (``pool`` may contain the new leads themselves)."""
    index = BlockIndex()
    index.open_blocks(p.name_key for p in new if p.name_key)
    index.add(sorted([*pool, *new], key=lambda p: p.id))
    return index.matches([p for p in new if p.name_key])
