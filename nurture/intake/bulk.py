"""Bulk reads and writes of intake through the database driver: the interface.

SQLAlchemy's per-row result and type machinery costs more than the database itself at a
million rows, so a chunk's transaction talks to the DBAPI cursor of its connection, a few
statements per chunk and never one per row. SQLite and PostgreSQL do that differently
(``executemany`` against ``COPY``, ``IN (...)`` pages against one JSON array parameter,
``PRAGMA`` against ``ANALYZE``); each backend's way lives in its own module
(:mod:`nurture.intake.bulk_sqlite`, :mod:`nurture.intake.bulk_postgres`), behind the small
interface :class:`Bulk` that :func:`bulk_for` returns. Nothing else in intake asks which
backend it talks to.

Values are converted the way the ORM column types would store them (dates, times, JSON), so
rows written this way read back through the ORM unchanged. Table and column names are
always our own schema's (constants of intake), never user input.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from functools import lru_cache
from typing import Any, NamedTuple, Protocol

from sqlalchemy import Connection, Engine

from nurture.db.sql import is_postgres


class NewLead(NamedTuple):
    """A lead row inserted now: its id and the contacts that say which planned lead it is."""

    id: int
    email: str | None
    phone: str | None


class Bulk(Protocol):
    """What intake's chunk transaction needs from a backend."""

    def to_db(self, value: Any) -> Any:
        """A Python value as the driver takes it (the ORM's storage format)."""

    def tuned(self, conn: Connection) -> AbstractContextManager[None]:
        """The importer's settings on ``conn`` for the import, put back when it ends."""

    def after_commit(self, engine: Engine) -> None:
        """Keep the planner's view of the tables current after a big commit."""

    def insert_rows(
        self,
        conn: Connection,
        table: str,
        columns: tuple[str, ...],
        rows: Sequence[tuple[Any, ...]],
    ) -> None:
        """Insert ``rows`` (values as :meth:`to_db` makes them); a row whose unique key
        exists is skipped (SQLite) or fails the transaction (PostgreSQL): the callers only
        write rows their chunk lock says are new, the unique keys are a last guard."""

    def insert_leads(
        self,
        conn: Connection,
        columns: tuple[str, ...],
        rows: Sequence[tuple[str | None, ...]],
        constants: dict[str, Any],
    ) -> list[NewLead]:
        """Insert text-valued lead ``rows`` (plus ``constants``, the same for each), skipping
        those whose e-mail or phone a live lead holds; the inserted ones come back."""

    def fill_empty(
        self,
        conn: Connection,
        table: str,
        columns: tuple[str, ...],
        rows: Sequence[tuple[Any, ...]],
        *,
        updated_at: datetime,
    ) -> None:
        """``SET column = COALESCE(column, value)`` for each ``(id, *values)`` row."""

    def select_in(
        self,
        conn: Connection,
        table: str,
        columns: tuple[str, ...],
        where: str,
        column: str,
        values: Sequence[Any],
        *,
        index: str | None,
    ) -> list[dict[str, Any]]:
        """``columns`` of the ``table`` rows matching ``where`` whose ``column`` is one of
        ``values``, as mappings by column name. ``index`` names the index on ``column``
        (``None`` for the primary key)."""

    def select_id_range(
        self,
        conn: Connection,
        table: str,
        columns: tuple[str, ...],
        where: str,
        above: int,
        upto: int,
    ) -> list[dict[str, Any]]:
        """``columns`` of the rows matching ``where`` with ``above < id <= upto``."""

    def max_id(self, conn: Connection, table: str) -> int:
        """The largest id of ``table`` (0 when empty)."""


def bulk_for(bind: Connection | Engine) -> Bulk:
    """The bulk operations of ``bind``'s backend."""
    if is_postgres(bind):
        from nurture.intake.bulk_postgres import POSTGRES

        return POSTGRES
    from nurture.intake.bulk_sqlite import SQLITE

    return SQLITE


def driver_cursor(conn: Connection) -> Any:
    """The DBAPI cursor of ``conn``'s current connection (same transaction)."""
    return conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]


def as_mappings(cur: Any, rows: Sequence[Sequence[Any]]) -> list[dict[str, Any]]:
    """Cursor rows as mappings by column name (the cursor's own description)."""
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r, strict=True)) for r in rows]


# Built once: ``json.dumps`` with a keyword argument builds a new encoder per call.
_ENCODE = json.JSONEncoder(ensure_ascii=False).encode


def dumps(value: Any) -> str:
    """JSON as stored in the JSON columns (UTF-8 text, not ``\\u`` escapes)."""
    return _ENCODE(value)


@lru_cache(maxsize=64)
def _defaulted(table: str, columns: tuple[str, ...]) -> tuple[tuple[str, Any, bool], ...]:
    from nurture.db.base import Base

    out: list[tuple[str, Any, bool]] = []
    for col in Base.metadata.tables[table].columns:
        if col.name in columns or col.primary_key or col.default is None:
            continue
        default: Any = col.default
        if getattr(default, "is_scalar", False):
            out.append((col.name, default.arg, False))
        elif getattr(default, "is_callable", False):
            out.append((col.name, default.arg, True))
    return tuple(out)


def python_defaults(table: str, columns: tuple[str, ...]) -> dict[str, Any]:
    """Columns of ``table`` that ``columns`` leaves out but whose ORM default is set in
    Python (other capabilities add such columns), with their values now."""
    return {name: arg(None) if call else arg for name, arg, call in _defaulted(table, columns)}


def pages(values: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for i in range(0, len(values), size):
        yield values[i : i + size]
