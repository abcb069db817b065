"""The driver-level lookups of intake on both backends."""

from __future__ import annotations

from sqlalchemy import Engine

from nurture.intake.bulk import insert_returning, select_in

# Values a JSON array parameter must carry exactly: quotes, backslashes, non-ASCII,
# characters outside the BMP, and a JSON look-alike.
ODD = ['o"brien@x.ru', "back\\slash@x.ru", "иван@почта.рф", "emoji😀@x.ru", '["a"]@x.ru']


def test_select_in_matches_text_and_ids_exactly(db: Engine) -> None:
    with db.begin() as conn:
        rows = [(email, f"+7900000000{i}") for i, email in enumerate(ODD)]
        made = insert_returning(conn, "leads", ("email", "phone"), rows, ("id", "email"), {})
        ids = {email: lead_id for lead_id, email in made}
        assert set(ids) == set(ODD)

        wanted = [*ODD, "nobody@x.ru", 'O"BRIEN@X.RU']  # a miss, and a case that differs
        by_email = select_in(
            conn,
            "leads",
            ("id", "email"),
            "leads.merged_into_id IS NULL",
            "email",
            sorted(wanted),
            sqlite_index="uq_leads_email_active",
            page=2,  # SQLite: several IN pages
        )
        assert sorted(by_email) == sorted((ids[e], e) for e in ODD)

        some = [ids[ODD[0]], ids[ODD[3]], 10**12]  # ids, one of no lead
        by_id = select_in(conn, "leads", ("id", "phone"), "1 = 1", "id", some, sqlite_index=None)
        assert sorted(by_id) == [(ids[ODD[0]], "+79000000000"), (ids[ODD[3]], "+79000000003")]
        assert select_in(conn, "leads", ("id",), "1 = 1", "id", [], sqlite_index=None) == []
