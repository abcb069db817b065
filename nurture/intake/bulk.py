"""Bulk writes of intake straight through the database driver, a few statements per chunk.

SQLAlchemy's per-row result and type machinery costs more than the database itself at a
million rows, so the chunk transaction talks to the DBAPI cursor of its connection:

* SQLite: ``executemany`` of ``INSERT ... ON CONFLICT DO NOTHING`` (new ids read back by
  rowid range: the transaction holds SQLite's single write lock);
* PostgreSQL: ``COPY`` into the table (new leads with ids drawn from its sequence first,
  under a savepoint), or into a session-local staging table followed by one
  ``INSERT ... SELECT ... ON CONFLICT DO NOTHING RETURNING`` or ``UPDATE ... FROM``.
  ``COPY`` is several times faster than ``executemany`` and sends no SQL text per row.

Values are converted here the way the ORM column types would store them (dates, times,
JSON), so rows written this way read back through the ORM unchanged.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection


def is_pg(conn: Connection) -> bool:
    return conn.dialect.name == "postgresql"


def driver_cursor(conn: Connection) -> Any:
    """The DBAPI cursor of ``conn``'s current connection (same transaction)."""
    return conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]


def to_db(pg: bool, value: Any) -> Any:
    """A Python value as the driver should receive it (the ORM's storage format)."""
    if isinstance(value, datetime):
        if pg:
            return value
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return f"{value:%Y-%m-%d %H:%M:%S.%f}"
    if isinstance(value, date):
        return value if pg else value.isoformat()
    if isinstance(value, dict | list):
        return dumps(value)
    return value


# Built once: ``json.dumps`` with a keyword argument builds a new encoder per call (a
# quarter of the time it takes to serialise a raw row).
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


def _with_defaults(
    pg: bool, table: str, columns: tuple[str, ...]
) -> tuple[tuple[str, ...], tuple[Any, ...]]:
    extra = python_defaults(table, columns)
    return (*columns, *extra), tuple(to_db(pg, v) for v in extra.values())


def insert_rows(
    conn: Connection, table: str, columns: tuple[str, ...], rows: Sequence[tuple[Any, ...]]
) -> None:
    """Insert ``rows`` (values already as :func:`to_db` makes them).

    SQLite skips rows that hit a unique key (``ON CONFLICT DO NOTHING``); PostgreSQL uses
    ``COPY``, where such a row fails the chunk's transaction instead: the callers only
    write rows their chunk lock says are new, so the unique keys are a last guard."""
    if not rows:
        return
    pg = is_pg(conn)
    cols, tail = _with_defaults(pg, table, columns)
    cur = driver_cursor(conn)
    if pg:
        with cur.copy(f"COPY {table} ({', '.join(cols)}) FROM STDIN") as copy:
            if tail:
                for r in rows:
                    copy.write_row((*r, *tail))
            else:
                for r in rows:
                    copy.write_row(r)
        return
    _sqlite_insert(cur, table, cols, rows, tail)


def _sqlite_insert(
    cur: Any,
    table: str,
    cols: tuple[str, ...],
    rows: Sequence[tuple[Any, ...]],
    tail: tuple[Any, ...],
) -> None:
    """``executemany`` of ``INSERT ... ON CONFLICT DO NOTHING``, ``tail`` after each row."""
    marks = ",".join("?" * len(cols))
    sql = f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({marks}) ON CONFLICT DO NOTHING"
    cur.executemany(sql, [(*r, *tail) for r in rows] if tail else rows)


def _pg_stage(cur: Any, name: str, columns: dict[str, str]) -> None:
    """A session-local staging table, emptied at every commit."""
    cols = ", ".join(f"{c} {t}" for c, t in columns.items())
    cur.execute(f"CREATE TEMP TABLE IF NOT EXISTS {name} ({cols}) ON COMMIT DELETE ROWS")


def insert_returning(
    conn: Connection,
    table: str,
    columns: tuple[str, ...],
    rows: Sequence[tuple[str | None, ...]],
    returning: tuple[str, ...],
    constants: dict[str, Any],
) -> list[tuple[Any, ...]]:
    """Insert text-valued ``rows`` (plus ``constants``, the same for every row), skipping
    those that hit a unique key; the inserted rows' ``returning`` columns come back.

    On SQLite the caller's transaction must already hold the write lock (have written
    something): the new rows are found by rowid range."""
    if not rows:
        return []
    pg = is_pg(conn)
    cols, tail = _with_defaults(pg, table, (*columns, *constants))
    tail = tuple(to_db(pg, v) for v in constants.values()) + tail
    cur = driver_cursor(conn)
    ret = ", ".join(returning)
    if pg:
        fast = _pg_copy_new(cur, table, columns, cols, tail, rows, returning)
        if fast is not None:
            return fast
        stage = f"nurture_stage_{table}"
        _pg_stage(cur, stage, {"ord": "integer", **{c: "text" for c in columns}})
        cur.execute(f"DELETE FROM {stage}")
        with cur.copy(f"COPY {stage} (ord, {', '.join(columns)}) FROM STDIN") as copy:
            for i, r in enumerate(rows):
                copy.write_row((i, *r))
        fixed = ", ".join(["%s"] * len(tail))
        cur.execute(  # ids in row order, as one multi-row VALUES would give them
            f"INSERT INTO {table} ({', '.join(cols)}) "
            f"SELECT {', '.join(columns)}, {fixed} FROM {stage} "
            f"ORDER BY ord ON CONFLICT DO NOTHING RETURNING {ret}",
            tail,
        )
        return [tuple(r) for r in cur.fetchall()]
    # SQLite: the chunk's transaction holds the database's only write lock, so the rows
    # inserted now are exactly those with a rowid above the largest one before. One
    # executemany and one range read cost half of multi-row ``VALUES ... RETURNING``.
    before = cur.execute(f"SELECT coalesce(max(id), 0) FROM {table}").fetchone()[0]
    _sqlite_insert(cur, table, cols, rows, tail)
    cur.execute(f"SELECT {ret} FROM {table} WHERE id > ? ORDER BY id", (before,))
    rows_back: list[tuple[Any, ...]] = cur.fetchall()
    return rows_back


def _pg_copy_new(
    cur: Any,
    table: str,
    columns: tuple[str, ...],
    cols: tuple[str, ...],
    tail: tuple[Any, ...],
    rows: Sequence[tuple[str | None, ...]],
    returning: tuple[str, ...],
) -> list[tuple[Any, ...]] | None:
    """PostgreSQL's fast path: ids drawn from the table's sequence, then one ``COPY`` into
    the table itself (a fifth less than staging plus ``INSERT ... ON CONFLICT``, whose
    speculative insertion costs every row). ``None`` when a row hit a unique key (someone
    else made that person meanwhile): the copy is rolled back to its savepoint and the
    caller takes the path that skips such rows."""
    if returning[0] != "id" or not set(returning[1:]) <= set(columns):
        return None
    from psycopg.errors import UniqueViolation

    cur.execute(
        "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
        (table, len(rows)),
    )
    ids = [r[0] for r in cur.fetchall()]
    cur.execute("SAVEPOINT nurture_copy_new")
    try:
        with cur.copy(f"COPY {table} (id, {', '.join(cols)}) FROM STDIN") as copy:
            for lead_id, r in zip(ids, rows, strict=True):
                copy.write_row((lead_id, *r, *tail))
    except UniqueViolation:
        cur.execute("ROLLBACK TO SAVEPOINT nurture_copy_new")
        return None
    cur.execute("RELEASE SAVEPOINT nurture_copy_new")
    at = [columns.index(c) for c in returning[1:]]
    return [(lead_id, *(r[i] for i in at)) for lead_id, r in zip(ids, rows, strict=True)]


def fill_empty(
    conn: Connection,
    table: str,
    columns: tuple[str, ...],
    rows: Sequence[tuple[Any, ...]],
    *,
    updated_at: datetime,
) -> None:
    """``SET column = COALESCE(column, value)`` for each ``(id, *values)`` row: a value
    only lands where the record has none (``None`` values change nothing)."""
    if not rows:
        return
    pg = is_pg(conn)
    cur = driver_cursor(conn)
    if pg:
        stage = f"nurture_stage_{table}_fill"
        _pg_stage(cur, stage, {"id": "bigint", **{c: "text" for c in columns}})
        cur.execute(f"DELETE FROM {stage}")
        with cur.copy(f"COPY {stage} (id, {', '.join(columns)}) FROM STDIN") as copy:
            for r in rows:
                copy.write_row(r)
        cur.execute(f"ANALYZE {stage}")  # temp tables get no statistics otherwise
        sets = ", ".join(f"{c} = COALESCE(t.{c}, f.{c})" for c in columns)
        cur.execute(
            f"UPDATE {table} AS t SET {sets}, updated_at = %s FROM {stage} AS f WHERE t.id = f.id",
            (updated_at,),
        )
        return
    sets = ", ".join(f"{c} = COALESCE({c}, ?)" for c in columns)
    cur.executemany(
        f"UPDATE {table} SET {sets}, updated_at = ? WHERE id = ?",
        [(*r[1:], to_db(False, updated_at), r[0]) for r in rows],
    )


def select_in(
    conn: Connection,
    table: str,
    columns: tuple[str, ...],
    where: str,
    column: str,
    values: Sequence[Any],
    *,
    sqlite_index: str | None,
    page: int = 5000,
) -> list[tuple[Any, ...]]:
    """``columns`` of the ``table`` rows matching ``where`` whose ``column`` is one of
    ``values``. PostgreSQL joins the elements of one JSON array parameter; SQLite takes
    ``IN (...)`` pages through ``sqlite_index`` (an index on ``column``): left to itself
    it walks ``ix_leads_merged_into_id`` for ``merged_into_id IS NULL``, i.e. every live
    lead per lookup, which made a big import quadratic. ``None`` for the primary key (a
    rowid lookup needs no hint)."""
    if not values:
        return []
    cur = driver_cursor(conn)
    cols = ", ".join(f"{table}.{c}" for c in columns)
    if is_pg(conn):
        # One JSON text, not a ``text[]``/``bigint[]`` parameter: psycopg dumps an array
        # element by element in Python, the JSON encoder in C (200,000 e-mails looked up
        # in chunks of 5,000: 1.74 s as an array, 1.11 s as JSON, server time included).
        cast = "::bigint" if isinstance(values[0], int) else ""
        cur.execute(
            f"SELECT {cols} FROM json_array_elements_text(%s::json) AS wanted(v) "
            f"JOIN {table} ON {table}.{column} = wanted.v{cast} WHERE {where}",
            (dumps(values),),  # a list or tuple: both encode as a JSON array
        )
        return [tuple(r) for r in cur.fetchall()]
    out: list[tuple[Any, ...]] = []
    for i in range(0, len(values), page):
        part = values[i : i + page]
        marks = ",".join("?" * len(part))
        cur.execute(
            f"SELECT {cols} FROM {table}{f' INDEXED BY {sqlite_index}' if sqlite_index else ''} "
            f"WHERE {where} AND {column} IN ({marks})",
            part,
        )
        out.extend(cur.fetchall())
    return out
