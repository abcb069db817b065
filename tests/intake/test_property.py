"""Property: whatever the rows look like, every one ends created, merged, quarantined or
blank, exactly once (pure pipeline stages, no database)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from nurture.intake.dedup import KnownLead, plan_chunk
from nurture.intake.normalize import RowContext
from nurture.intake.prepare import prepare_rows

HEADER = ["Name", "Email", "Phone", "Company"]
emails = st.sampled_from(["", "a@x.ru", "A@X.RU ", "b@y.com", "bad@@", "c@z.org", "=cmd|x"])
phones = st.sampled_from(["", "+79001234567", "8 900 123-45-67", "12", "+4930123456", "007"])
texts = st.text(max_size=12)
cells = st.lists(st.one_of(texts, emails, phones), min_size=0, max_size=6)
rows = st.lists(st.one_of(st.tuples(texts, emails, phones, texts).map(list), cells), max_size=40)


@settings(max_examples=200, deadline=None)
@given(rows, st.lists(st.sampled_from(["a@x.ru", "c@z.org"]), unique=True))
def test_no_row_is_ever_lost(data: list[list[str]], known_emails: list[str]) -> None:
    numbered = list(enumerate(data, start=2))
    prepared = prepare_rows(
        numbered,
        header=HEADER,
        columns={"full_name": 0, "email": 1, "phone": 2, "company": 3},
        ctx=RowContext(),
        file_name="f.csv",
    )
    known = [KnownLead(i + 1, {"email": e}) for i, e in enumerate(known_emails)]
    plan = plan_chunk(prepared.rows, known)
    quarantined = [r.row_number for r in prepared.rows if not r.ok]
    linked = [link.row.row_number for link in plan.links]
    assert len(prepared.blank_rows) + len(prepared.rows) == len(data)
    assert sorted(quarantined + linked) == [r.row_number for r in prepared.rows]
    assert all(r.reasons for r in prepared.rows if r.row_number in quarantined)
    created = sum(1 for link in plan.links if link.outcome == "created")
    assert created == len(plan.new_leads)
    # One new lead per distinct contact group, never one for a known contact.
    new_emails = [lead.get("email") for lead in plan.new_leads if lead.get("email")]
    assert len(new_emails) == len(set(new_emails))
    assert not set(new_emails) & set(known_emails)
