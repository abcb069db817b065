"""Alembic environment: the engine comes from the caller (``init_db``) or from settings."""

from __future__ import annotations

from alembic import context

import nurture.db  # noqa: F401  (registers every table)
from nurture.config import get_settings
from nurture.db.base import Base
from nurture.db.session import make_engine

config = context.config
engine = config.attributes.get("engine") or make_engine(get_settings().database_url)

with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        compare_type=True,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
