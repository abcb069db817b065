"""Dedup decisions on plain data (no database)."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from nurture.intake.dedup import KnownLead, Person, plan_chunk, possible_duplicates
from nurture.intake.normalize import NormalizedRow


def row(n: int, **fields: object) -> NormalizedRow:
    return NormalizedRow(row_number=n, fields=dict(fields))


def test_same_email_or_phone_within_file_is_one_lead() -> None:
    plan = plan_chunk(
        [
            row(1, email="a@x.ru", first_name="Ann"),
            row(2, email="a@x.ru", phone="+79001234567", company="X"),
            row(3, phone="+79001234567", title="CEO"),
            row(4, email="b@x.ru"),
        ],
        [],
    )
    assert len(plan.new_leads) == 2
    assert [link.outcome for link in plan.links] == ["created", "merged", "merged", "created"]
    lead = plan.new_leads[0]
    assert lead["phone"] == "+79001234567" and lead["company"] == "X" and lead["title"] == "CEO"


def test_known_lead_is_joined_and_only_empty_fields_filled() -> None:
    known = [KnownLead(7, {"email": "a@x.ru", "phone": None, "company": "Old", "title": None})]
    plan = plan_chunk(
        [row(1, email="a@x.ru", phone="+79001234567", company="New", title="CTO")], known
    )
    assert plan.new_leads == []
    assert plan.links[0].target == ("lead", 7) and plan.links[0].outcome == "merged"
    assert plan.fills == {7: {"phone": "+79001234567", "title": "CTO"}}
    assert plan.links[0].filled == plan.fills[7]


def test_contact_bridging_two_leads_is_flagged_not_merged() -> None:
    known = [
        KnownLead(1, {"email": "a@x.ru", "phone": None}),
        KnownLead(2, {"email": None, "phone": "+79001234567"}),
    ]
    plan = plan_chunk([row(1, email="a@x.ru", phone="+79001234567")], known)
    assert plan.links[0].target == ("lead", 1)
    assert "phone" not in plan.fills.get(1, {})  # the phone stays with lead 2
    assert plan.conflicts == [(("lead", 1), ("lead", 2), plan.conflicts[0][2])]


def test_quarantined_rows_are_not_planned() -> None:
    bad = NormalizedRow(1, reasons=["no e-mail or phone"])
    assert plan_chunk([bad], []).links == []


def test_fuzzy_possible_duplicates() -> None:
    a = Person(1, "Олег", "Фёдоров", "ООО Ромашка", "федоров|о|рома", "o@r.ru")
    b = Person(2, "Олег", "Федоров", "Ромашка", "федоров|о|рома", "oleg@gmail.com")
    c = Person(3, "Ольга", "Федорова", "Лютик", "федорова|о|люти", "olga@l.ru")
    d = Person(4, "Олег", "Федоров", "Газпром", "федоров|о|рома", "og@gazprom.ru")  # same block
    pairs = possible_duplicates([b], [a, b, c, d])
    assert [(p[0], p[1]) for p in pairs] == [(2, 1)]
    # Same contact would have been merged, never flagged.
    e = Person(5, "Олег", "Федоров", "Ромашка", "федоров|о|рома", "o@r.ru")
    assert possible_duplicates([e], [a, e]) == []


# --- the block index against the plain definition ------------------------------------------

_FIRSTS = ["Олег", "Ольга", "Anna", "Ann", "Иван", "Ivan"]
_LASTS = ["Федоров", "Фёдоров", "Smith", "Smyth", "Иванов"]
_COMPANIES = ["ООО Ромашка", "Ромашка", "Ромашки", "Завод 1", "Завод 2", "Acme Inc", None]


def _reference(new: list[Person], pool: list[Person]) -> set[tuple[int, int, float, str]]:
    """Every pair the definition asks for: same block, newest MAX_BLOCK of it, alike."""
    from nurture.intake.dedup import MAX_BLOCK, similarity

    new_ids = {p.id for p in new}
    everyone = {p.id: p for p in [*pool, *new]}
    out = set()
    for p in new:
        block = sorted(
            (q for q in everyone.values() if q.name_key == p.name_key),
            key=lambda q: -q.id,
        )[:MAX_BLOCK]
        for q in block:
            if q.id == p.id or (q.id in new_ids and q.id > p.id):
                continue
            hit = similarity(p, q)
            if hit:
                out.add((p.id, q.id, *hit))
    return out


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(_FIRSTS),
            st.sampled_from(_LASTS),
            st.sampled_from(_COMPANIES),
            st.sampled_from(["a@x.ru", "b@x.ru", None]),
            st.sampled_from(["+79001234567", None]),
            st.sampled_from(["k1", "k2"]),
            st.booleans(),
        ),
        max_size=40,
    )
)
def test_block_index_finds_exactly_the_defined_pairs(people: list[tuple[Any, ...]]) -> None:
    pool: list[Person] = []
    new: list[Person] = []
    for i, (first, last, company, email, phone, key, is_new) in enumerate(people, 1):
        p = Person(i, first, last, company, key, email, phone)
        (new if is_new else pool).append(p)
    got = possible_duplicates(new, pool)
    assert len(got) == len(set(got))
    assert set(got) == _reference(new, pool)


def test_block_index_keeps_blocks_between_chunks_and_cuts_big_ones() -> None:
    from nurture.intake.dedup import MAX_BLOCK, BlockIndex

    index = BlockIndex()
    index.open_blocks(["smith|a|acme"])
    old = [Person(i, "Anna", "Smith", "Acme", "smith|a|acme") for i in range(1, MAX_BLOCK + 3)]
    index.add(old)
    index.add([Person(10_000, "Someone", "Else", "Acme", "else|s|acme")])  # block not open
    fresh = Person(20_000, "Anna", "Smith", "ACME Inc.", "smith|a|acme", "new@x.ru")
    index.add([fresh])
    found = index.matches([fresh])
    # The newest MAX_BLOCK - 1 others of the block (the lead itself is one of the newest).
    assert sorted(q for _, q, _, _ in found) == [p.id for p in old][-(MAX_BLOCK - 1) :]
    assert "else|s|acme" not in index
