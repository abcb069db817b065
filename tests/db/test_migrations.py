"""The migrations are the schema: upgrading twice is a no-op and matches the models."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect

from nurture.db import Base
from nurture.db.session import init_db


def test_init_is_idempotent_and_matches_models(engine: Engine) -> None:
    first = init_db(engine)
    second = init_db(engine)
    assert first == second != ""
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(ctx, Base.metadata)
    assert diff == [], f"models and migrations disagree: {diff}"
    tables = set(inspect(engine).get_table_names())
    assert {"leads", "lead_sources", "outbox", "enrollments", "managers"} <= tables
