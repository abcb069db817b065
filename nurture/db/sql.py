"""SQL that SQLite and PostgreSQL spell differently but Nurture uses the same way."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Engine, bindparam, text
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


def backend_of(bind: Session | Connection | Engine) -> str:
    """``"postgresql"`` or ``"sqlite"``: the one place that asks a connection its dialect."""
    if isinstance(bind, Session):
        return str(bind.get_bind().dialect.name)
    return str(bind.dialect.name)


def is_postgres(bind: Session | Connection | Engine) -> bool:
    return backend_of(bind) == "postgresql"


def advisory_xact_lock(bind: Session | Connection, name: str) -> None:
    """Serialise one kind of work (``name``: ``"cycle"``, ``"routing"``, ``"intake"``, ...)
    until the caller's transaction ends.

    PostgreSQL: a transaction-scoped advisory lock keyed by the name and the current
    schema, so two Nurture databases in one PostgreSQL database never block each other.
    SQLite: nothing to do here; the database has one writer at a time, and callers that
    must hold the write lock from their first statement make a write first.
    """
    if is_postgres(bind):
        bind.execute(
            text(
                "SELECT pg_advisory_xact_lock("
                "hashtextextended(:name || '.' || current_schema(), 0))"
            ),
            {"name": name},
        )


def refresh_statistics(
    bind: Session | Connection,
    tables: tuple[str, ...],
    *,
    grown_share: float = 0.2,
    grown_rows: int = 5000,
    always: bool = False,
) -> list[str]:
    """PostgreSQL: ``ANALYZE`` each of ``tables`` whose rows changed by more than
    ``grown_share`` of its size plus ``grown_rows`` since its statistics were taken (or every
    one, with ``always``, for scratch tables filled just now). Returns the tables analysed.

    Autovacuum analyses too, but a minute late: a statement run right after a big import
    would be planned as if the table were still empty (full scans, nested loops). ANALYZE is
    allowed inside a transaction and blocks no reader or writer. SQLite: nothing to do.
    """
    if not is_postgres(bind) or not tables:
        return []
    if always:
        stale = list(tables)
    else:
        rows = bind.execute(
            text(
                "SELECT s.relname FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid "
                "WHERE s.schemaname = current_schema() AND s.relname IN :names "
                "AND s.n_mod_since_analyze > :share * greatest(c.reltuples, 0) + :rows"
            ).bindparams(bindparam("names", expanding=True)),
            {"names": list(tables), "share": grown_share, "rows": grown_rows},
        ).all()
        stale = [str(r.relname) for r in rows]
    for name in stale:
        bind.execute(text(f"ANALYZE {quoted_name(name)}"))
    return stale


def quoted_name(name: str) -> str:
    """A table name from our own schema, checked before it is spliced into SQL."""
    if not name.replace("_", "").isalnum():
        raise ValueError(f"not a table name: {name!r}")
    return f'"{name}"'
