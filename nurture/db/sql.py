"""SQL that SQLite and PostgreSQL spell differently but Nurture uses the same way."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

# The columns every ``INSERT INTO tasks ... SELECT`` fills (first-contact, call, follow-up
# tasks); the rest take their defaults.
TASK_INSERT_COLUMNS = [
    "source_key",
    "lead_id",
    "manager_id",
    "kind",
    "title",
    "instructions",
    "due_at",
    "deadline",
    "status",
    "created_at",
]


def dialect_insert(bind: Session | Connection, table: Any) -> Any:
    """``INSERT`` of the backend in use, so callers can add ``ON CONFLICT DO NOTHING/UPDATE``
    (idempotent writes: a re-run or a second worker inserts nothing twice)."""
    dialect = bind.get_bind().dialect if isinstance(bind, Session) else bind.dialect
    return (postgresql.insert if dialect.name == "postgresql" else sqlite.insert)(table)
