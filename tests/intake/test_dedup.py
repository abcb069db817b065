"""Dedup decisions on plain data (no database)."""

from __future__ import annotations

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
