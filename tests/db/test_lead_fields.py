"""The one list of lead fields names real columns, and the derived lists agree with it."""

from __future__ import annotations

from nurture.db.leads import (
    CONTACT_FIELDS,
    EXPORTED_FIELDS,
    FILLABLE_FIELDS,
    LEAD_FIELDS,
    Lead,
    field_label,
)


def test_every_declared_field_is_a_column_of_leads() -> None:
    columns = set(Lead.__table__.columns.keys())
    assert {f.name for f in LEAD_FIELDS} <= columns
    assert set(FILLABLE_FIELDS) <= columns
    assert len({f.name for f in LEAD_FIELDS}) == len(LEAD_FIELDS)


def test_contacts_are_never_filled_and_always_exported() -> None:
    assert not set(CONTACT_FIELDS) & set(FILLABLE_FIELDS)
    assert set(CONTACT_FIELDS) <= set(EXPORTED_FIELDS)
    assert field_label("company", "ru") == "Компания" and field_label("nosuch") == "nosuch"
