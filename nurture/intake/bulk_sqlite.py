"""Intake's bulk operations on SQLite (see :mod:`nurture.intake.bulk` for the interface).

* Inserts: ``executemany`` of ``INSERT ... ON CONFLICT DO NOTHING``. New leads are read
  back by rowid range: the chunk's transaction holds the database's only write lock, so the
  rows inserted now are exactly those above the largest id before. (Multi-row
  ``VALUES ... RETURNING`` costs about twice as much.)
* Lookups: ``IN (...)`` pages through a named index (``INDEXED BY``). Left to itself the
  planner walks ``ix_leads_merged_into_id`` for ``merged_into_id IS NULL``, i.e. every live
  lead for each lookup, which made a big import quadratic.
* The importer's connection (:meth:`SqliteBulk.tuned`) gets a large page cache, so the index
  inserts of a big import do not keep re-reading pages from the OS, and checkpoints the WAL
  rarely (each commit of a big import dirties thousands of index pages that the next one
  writes again; a checkpoint copies them back once for several commits), cutting the WAL
  file back afterwards. The connection is pooled: the settings are put back when the import
  ends.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Connection, Engine

from nurture.intake.bulk import NewLead, as_mappings, driver_cursor, dumps, pages, python_defaults

#: The importer's connection settings: page cache (KiB), WAL pages between checkpoints, and
#: the size the WAL file is cut back to after a checkpoint.
CACHE_KIB = 256 * 1024
CHECKPOINT_PAGES = 100_000
WAL_KEEP_BYTES = 64 * 1024 * 1024
IMPORT_PRAGMAS = {
    "cache_size": -CACHE_KIB,
    "wal_autocheckpoint": CHECKPOINT_PAGES,
    "journal_size_limit": WAL_KEEP_BYTES,
}
PAGE = 5000  # values per IN (...) page


class SqliteBulk:
    def to_db(self, value: Any) -> Any:
        if isinstance(value, datetime):
            if value.tzinfo is not None:
                value = value.astimezone(UTC).replace(tzinfo=None)
            return f"{value:%Y-%m-%d %H:%M:%S.%f}"
        if isinstance(value, date):
            return value.isoformat()
        if isinstance(value, dict | list):
            return dumps(value)
        return value

    @contextmanager
    def tuned(self, conn: Connection) -> Iterator[None]:
        cur = driver_cursor(conn)
        before = {name: _pragma(cur, name) for name in IMPORT_PRAGMAS}
        try:
            for name, value in IMPORT_PRAGMAS.items():
                cur.execute(f"PRAGMA {name} = {int(value)}")
            yield
        finally:
            cur = driver_cursor(conn)
            for name, value in before.items():
                cur.execute(f"PRAGMA {name} = {int(value)}")

    def after_commit(self, engine: Engine) -> None:
        return None

    def _with_defaults(
        self, table: str, columns: tuple[str, ...]
    ) -> tuple[tuple[str, ...], tuple[Any, ...]]:
        extra = python_defaults(table, columns)
        return (*columns, *extra), tuple(self.to_db(v) for v in extra.values())

    def _insert(
        self,
        cur: Any,
        table: str,
        cols: tuple[str, ...],
        rows: Sequence[tuple[Any, ...]],
        tail: tuple[Any, ...],
    ) -> None:
        marks = ",".join("?" * len(cols))
        sql = f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({marks}) ON CONFLICT DO NOTHING"
        cur.executemany(sql, [(*r, *tail) for r in rows] if tail else rows)

    def insert_rows(
        self,
        conn: Connection,
        table: str,
        columns: tuple[str, ...],
        rows: Sequence[tuple[Any, ...]],
    ) -> None:
        if rows:
            cols, tail = self._with_defaults(table, columns)
            self._insert(driver_cursor(conn), table, cols, rows, tail)

    def insert_leads(
        self,
        conn: Connection,
        columns: tuple[str, ...],
        rows: Sequence[tuple[str | None, ...]],
        constants: dict[str, Any],
    ) -> list[NewLead]:
        if not rows:
            return []
        cols, tail = self._with_defaults("leads", (*columns, *constants))
        tail = tuple(self.to_db(v) for v in constants.values()) + tail
        cur = driver_cursor(conn)
        before = self.max_id(conn, "leads")
        self._insert(cur, "leads", cols, rows, tail)
        cur.execute("SELECT id, email, phone FROM leads WHERE id > ? ORDER BY id", (before,))
        return [NewLead(*r) for r in cur.fetchall()]

    def fill_empty(
        self,
        conn: Connection,
        table: str,
        columns: tuple[str, ...],
        rows: Sequence[tuple[Any, ...]],
        *,
        updated_at: datetime,
    ) -> None:
        if not rows:
            return
        sets = ", ".join(f"{c} = COALESCE({c}, ?)" for c in columns)
        stamp = self.to_db(updated_at)
        driver_cursor(conn).executemany(
            f"UPDATE {table} SET {sets}, updated_at = ? WHERE id = ?",
            [(*values, stamp, lead_id) for lead_id, *values in rows],
        )

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
        if not values:
            return []
        cur = driver_cursor(conn)
        cols = ", ".join(f"{table}.{c}" for c in columns)
        hint = f" INDEXED BY {index}" if index else ""
        out: list[dict[str, Any]] = []
        for part in pages(values, PAGE):
            marks = ",".join("?" * len(part))
            cur.execute(
                f"SELECT {cols} FROM {table}{hint} WHERE {where} AND {column} IN ({marks})",
                part,
            )
            out.extend(as_mappings(cur, cur.fetchall()))
        return out

    def select_id_range(
        self,
        conn: Connection,
        table: str,
        columns: tuple[str, ...],
        where: str,
        above: int,
        upto: int,
    ) -> list[dict[str, Any]]:
        cur = driver_cursor(conn)
        cur.execute(
            f"SELECT {', '.join(columns)} FROM {table} WHERE {where} AND id > ? AND id <= ?",
            (above, upto),
        )
        return as_mappings(cur, cur.fetchall())

    def max_id(self, conn: Connection, table: str) -> int:
        cur = driver_cursor(conn)
        cur.execute(f"SELECT coalesce(max(id), 0) AS top FROM {table}")
        return int(as_mappings(cur, cur.fetchall())[0]["top"])


def _pragma(cur: Any, name: str) -> int:
    """The connection's current value of PRAGMA ``name``."""
    cur.execute(f"PRAGMA {name}")
    return int(as_mappings(cur, cur.fetchall())[0][name])


SQLITE = SqliteBulk()
