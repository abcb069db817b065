"""The driver-level operations of intake on both backends, through the one interface."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from nurture.intake.bulk import bulk_for

# Values a JSON array parameter must carry exactly: quotes, backslashes, non-ASCII,
# characters outside the BMP, and a JSON look-alike.
ODD = ['o"brien@x.ru', "back\\slash@x.ru", "иван@почта.рф", "emoji😀@x.ru", '["a"]@x.ru']


def test_select_in_matches_text_and_ids_exactly(db: Engine) -> None:
    bulk = bulk_for(db)
    with db.begin() as conn:
        rows = [(email, f"+7900000000{i}") for i, email in enumerate(ODD)]
        made = bulk.insert_leads(conn, ("email", "phone"), rows, {})
        ids = {new.email: new.id for new in made}
        assert set(ids) == set(ODD)

        wanted = [*ODD, "nobody@x.ru", 'O"BRIEN@X.RU']  # a miss, and a case that differs
        by_email = bulk.select_in(
            conn,
            "leads",
            ("id", "email"),
            "leads.merged_into_id IS NULL",
            "email",
            sorted(wanted),
            index="uq_leads_email_active",
        )
        assert sorted((r["id"], r["email"]) for r in by_email) == sorted((ids[e], e) for e in ODD)

        some = [ids[ODD[0]], ids[ODD[3]], 10**12]  # ids, one of no lead
        by_id = bulk.select_in(conn, "leads", ("id", "phone"), "1 = 1", "id", some, index=None)
        assert sorted((r["id"], r["phone"]) for r in by_id) == [
            (ids[ODD[0]], "+79000000000"),
            (ids[ODD[3]], "+79000000003"),
        ]
        assert bulk.select_in(conn, "leads", ("id",), "1 = 1", "id", [], index=None) == []
        assert bulk.max_id(conn, "leads") == max(ids.values())
        # a contact a live lead holds is skipped, the others inserted
        again = bulk.insert_leads(conn, ("email", "phone"), [(ODD[0], None), ("n@x.ru", None)], {})
        assert [new.email for new in again] == ["n@x.ru"]


def test_select_in_pages_on_sqlite(db: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    from nurture.intake import bulk_sqlite

    bulk = bulk_for(db)
    with db.begin() as conn:
        made = bulk.insert_leads(conn, ("email",), [(f"p{i}@x.ru",) for i in range(7)], {})
        setattr_ = monkeypatch.setattr
        setattr_(bulk_sqlite, "PAGE", 2)
        found = bulk.select_in(
            conn, "leads", ("id",), "1 = 1", "id", [n.id for n in made], index=None
        )
        assert sorted(r["id"] for r in found) == sorted(n.id for n in made)
