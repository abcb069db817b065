"""Engine settings Nurture relies on, checked on real connections."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from nurture.db.session import SQLITE_PAGE_SIZE, init_db, make_engine


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_postgres_plans_each_statement_for_the_tables_as_they_are(engine: Engine) -> None:
    """No generic plan kept from when a table was small (see _postgres_session)."""
    with engine.connect() as conn:
        conn.rollback()  # the setting is the session's, not a transaction's
        assert conn.execute(text("SHOW plan_cache_mode")).scalar() == "force_custom_plan"


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_sqlite_pragmas(engine: Engine) -> None:
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert conn.execute(text("PRAGMA busy_timeout")).scalar() == 30000
        assert conn.execute(text("PRAGMA page_size")).scalar() == SQLITE_PAGE_SIZE != 4096


def test_an_existing_sqlite_file_keeps_its_page_size(tmp_path: Path) -> None:
    """The page size applies to files Nurture creates; an older database opens as it is."""
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as con:
        con.execute("CREATE TABLE t (x)")
    engine = make_engine(f"sqlite:///{path}")
    init_db(engine)
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA page_size")).scalar() == 4096
        assert conn.execute(text("SELECT count(*) FROM leads")).scalar() == 0
    engine.dispose()
