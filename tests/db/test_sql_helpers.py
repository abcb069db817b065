"""The shared backend helpers: advisory locks and statistics refresh, on both backends."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import Engine, text

from nurture.db.sql import advisory_xact_lock, is_postgres, quoted_name, refresh_statistics


def test_an_advisory_lock_makes_a_second_transaction_wait(engine: Engine) -> None:
    if not is_postgres(engine):
        with engine.begin() as conn:
            advisory_xact_lock(conn, "cycle")  # SQLite: the single writer serialises
        return
    done: list[str] = []
    with engine.connect() as first:
        first.begin()
        advisory_xact_lock(first, "cycle")

        def second() -> None:
            with engine.begin() as conn:
                advisory_xact_lock(conn, "cycle")
                done.append("second")

        t = threading.Thread(target=second)
        t.start()
        waiting = 0
        deadline = time.monotonic() + 20
        while not waiting and time.monotonic() < deadline:
            waiting = first.execute(
                text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")
            ).scalar_one()
        assert waiting == 1 and done == []  # the second transaction waits for the first
        first.commit()
        t.join(20)
    assert done == ["second"]


def test_other_lock_names_do_not_block(engine: Engine) -> None:
    with engine.begin() as a, engine.begin() as b:
        advisory_xact_lock(a, "routing")
        advisory_xact_lock(b, "intake")  # would hang if the names shared a key


def test_statistics_are_refreshed_only_when_a_table_grew(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE stats_probe (id integer primary key, v integer)"))
    try:
        with engine.begin() as conn:
            assert refresh_statistics(conn, ("stats_probe",), always=True) == (
                ["stats_probe"] if is_postgres(engine) else []
            )
            conn.execute(
                text("INSERT INTO stats_probe (id, v) VALUES (:i, :i)"),
                [{"i": i} for i in range(50)],
            )
        with engine.begin() as conn:
            # 50 new rows on a tiny table: below the 5,000-row floor, nothing to do
            assert refresh_statistics(conn, ("stats_probe",)) == []
    finally:
        with engine.begin() as conn:
            conn.execute(text("DROP TABLE stats_probe"))


def test_table_names_are_checked_before_reaching_sql() -> None:
    assert quoted_name("lead_sources") == '"lead_sources"'
    with pytest.raises(ValueError):
        quoted_name("leads; DROP TABLE leads")
