"""Engine settings Nurture relies on, checked on real connections."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, text


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
