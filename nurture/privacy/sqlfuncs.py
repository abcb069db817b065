"""What erasure needs that SQLite and PostgreSQL do differently: reading an integer out of a
JSON column, a connection whose deletes overwrite the bytes, and the clean-up after the
commit that takes old row versions out of the database files.

SQLite keeps a deleted row's bytes in free space of its page, in free pages and in the WAL
until told otherwise: the erasing connection runs with ``PRAGMA secure_delete=ON`` (freed
space and pages are overwritten with zeros; the previous setting is restored afterwards),
and after the commit ``PRAGMA wal_checkpoint(TRUNCATE)`` copies the clean pages into the
database file and empties the WAL, in which earlier versions of the pages still were.

PostgreSQL keeps deleted tuples in the table until VACUUM: after the commit each touched
table gets ``VACUUM (ANALYZE)`` (outside a transaction), which removes them and refreshes
the planner statistics (whose most-common-value lists could hold an address). What it
cannot promise is in docs/privacy.md: WAL segments until recycled, backups, replicas.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine, Integer, Text, cast, func, or_
from sqlalchemy.sql.elements import ColumnElement

from nurture.db.sql import is_postgres, quoted_name

__all__ = ["erasing_connection", "json_int", "mentioned_in", "settle_storage"]


def mentioned_in(columns: Iterable[Any], patterns: Iterable[str]) -> ColumnElement[bool]:
    """Any of ``columns`` (text or JSON), lower-cased, is ``LIKE`` any of ``patterns``
    (:meth:`~nurture.privacy.redact.Needles.like_patterns`, escape ``\\``). Both backends
    spell it alike; a JSON column is compared as its text."""
    return or_(
        *(func.lower(cast(col, Text)).like(p, escape="\\") for col in columns for p in patterns)
    )


def json_int(bind: Connection, column: Any, key: str) -> ColumnElement[Any]:
    """``column -> key`` as an integer (``key``: a plain name)."""
    if is_postgres(bind):
        return cast(column.op("->>")(key), Integer)
    return func.json_extract(column, f"$.{key}")


@contextmanager
def erasing_connection(engine: Engine) -> Iterator[Connection]:
    """A connection whose deletes and updates leave no old bytes in the file (SQLite)."""
    with engine.connect() as conn:
        if is_postgres(conn):
            yield conn
            return
        before = conn.exec_driver_sql("PRAGMA secure_delete").scalar()
        conn.exec_driver_sql("PRAGMA secure_delete = ON")
        conn.commit()
        try:
            yield conn
        finally:
            conn.rollback()
            conn.exec_driver_sql(f"PRAGMA secure_delete = {int(before or 0)}")
            conn.commit()


def settle_storage(engine: Engine, tables: Iterable[str]) -> dict[str, Any]:
    """After the erasing commit: take old row versions out of the database files.

    Returns what was done: SQLite ``{"wal": "truncated"}`` (or ``"busy"`` when a reader kept
    part of the WAL; run the command again once it is gone); PostgreSQL ``{"vacuumed":
    [tables]}``."""
    names = sorted(set(tables))
    with engine.connect() as conn:
        if is_postgres(conn):
            auto = conn.execution_options(isolation_level="AUTOCOMMIT")
            for name in names:
                auto.exec_driver_sql(f"VACUUM (ANALYZE) {quoted_name(name)}")
            return {"vacuumed": names}
        busy, _log, _done = conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)").one()
        conn.commit()
        return {"wal": "busy" if busy else "truncated"}
