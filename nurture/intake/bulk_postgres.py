"""Intake's bulk operations on PostgreSQL (see :mod:`nurture.intake.bulk` for the interface).

* Inserts: ``COPY`` (several times faster than ``executemany``, and no SQL text per row).
  New leads get ids drawn from the ``leads`` sequence and are copied straight into
  ``leads`` under a savepoint; when one hits a unique key (someone else created that person
  meanwhile) the copy is rolled back and the rows go through a session-local staging table
  and one ``INSERT ... SELECT ... ON CONFLICT DO NOTHING RETURNING`` (the speculative
  insertion of ``ON CONFLICT`` costs every row, so it is only the fallback).
* Fills: staging table + one ``UPDATE ... FROM``.
* Lookups: the wanted values as one JSON array parameter joined through
  ``json_array_elements_text``: psycopg dumps a ``text[]`` parameter element by element in
  Python, a JSON text in C.
* After each commit the importer refreshes the planner's statistics of ``leads`` and
  ``lead_sources`` once they have grown by a quarter: autovacuum does it too, but late, and
  meanwhile a big import into a fresh table is planned as if the table were empty.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, Engine

from nurture.db.sql import refresh_statistics
from nurture.intake.bulk import NewLead, as_mappings, driver_cursor, dumps, python_defaults

GROWN_SHARE = 0.25
STATISTICS_OF = ("leads", "lead_sources")


class PostgresBulk:
    def to_db(self, value: Any) -> Any:
        if isinstance(value, datetime | date):
            return value
        if isinstance(value, dict | list):
            return dumps(value)
        return value

    @contextmanager
    def tuned(self, conn: Connection) -> Iterator[None]:
        yield  # nothing to change on the connection

    def after_commit(self, engine: Engine) -> None:
        with engine.begin() as conn:
            refresh_statistics(conn, STATISTICS_OF, grown_share=GROWN_SHARE)

    def _with_defaults(
        self, table: str, columns: tuple[str, ...]
    ) -> tuple[tuple[str, ...], tuple[Any, ...]]:
        extra = python_defaults(table, columns)
        return (*columns, *extra), tuple(self.to_db(v) for v in extra.values())

    def insert_rows(
        self,
        conn: Connection,
        table: str,
        columns: tuple[str, ...],
        rows: Sequence[tuple[Any, ...]],
    ) -> None:
        if not rows:
            return
        cols, tail = self._with_defaults(table, columns)
        cur = driver_cursor(conn)
        with cur.copy(f"COPY {table} ({', '.join(cols)}) FROM STDIN") as copy:
            if tail:
                for r in rows:
                    copy.write_row((*r, *tail))
            else:
                for r in rows:
                    copy.write_row(r)

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
        fast = self._copy_new(cur, columns, cols, tail, rows)
        if fast is not None:
            return fast
        _stage(cur, "nurture_stage_leads", {"ord": "integer", **{c: "text" for c in columns}})
        cur.execute("DELETE FROM nurture_stage_leads")
        with cur.copy(f"COPY nurture_stage_leads (ord, {', '.join(columns)}) FROM STDIN") as copy:
            for i, r in enumerate(rows):
                copy.write_row((i, *r))
        fixed = ", ".join(["%s"] * len(tail))
        cur.execute(  # ids in row order, as one multi-row VALUES would give them
            f"INSERT INTO leads ({', '.join(cols)}) "
            f"SELECT {', '.join(columns)}, {fixed} FROM nurture_stage_leads "
            "ORDER BY ord ON CONFLICT DO NOTHING RETURNING id, email, phone",
            tail,
        )
        return [NewLead(*r) for r in cur.fetchall()]

    def _copy_new(
        self,
        cur: Any,
        columns: tuple[str, ...],
        cols: tuple[str, ...],
        tail: tuple[Any, ...],
        rows: Sequence[tuple[str | None, ...]],
    ) -> list[NewLead] | None:
        """Ids from the sequence, one ``COPY`` into ``leads``; ``None`` when a row hit a
        unique key (rolled back to the savepoint: the caller takes the path that skips)."""
        from psycopg.errors import UniqueViolation

        cur.execute(
            "SELECT nextval(pg_get_serial_sequence('leads', 'id')) AS id "
            "FROM generate_series(1, %s)",
            (len(rows),),
        )
        ids = [m["id"] for m in as_mappings(cur, cur.fetchall())]
        cur.execute("SAVEPOINT nurture_copy_new")
        try:
            with cur.copy(f"COPY leads (id, {', '.join(cols)}) FROM STDIN") as copy:
                for lead_id, r in zip(ids, rows, strict=True):
                    copy.write_row((lead_id, *r, *tail))
        except UniqueViolation:
            cur.execute("ROLLBACK TO SAVEPOINT nurture_copy_new")
            return None
        cur.execute("RELEASE SAVEPOINT nurture_copy_new")
        named = [dict(zip(columns, r, strict=True)) for r in rows]
        return [NewLead(i, r.get("email"), r.get("phone")) for i, r in zip(ids, named, strict=True)]

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
        cur = driver_cursor(conn)
        stage = f"nurture_stage_{table}_fill"
        _stage(cur, stage, {"id": "bigint", **{c: "text" for c in columns}})
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
        cast = "::bigint" if isinstance(values[0], int) else ""
        cur.execute(
            f"SELECT {cols} FROM json_array_elements_text(%s::json) AS wanted(v) "
            f"JOIN {table} ON {table}.{column} = wanted.v{cast} WHERE {where}",
            (dumps(list(values)),),
        )
        return as_mappings(cur, cur.fetchall())

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
            f"SELECT {', '.join(columns)} FROM {table} WHERE {where} AND id > %s AND id <= %s",
            (above, upto),
        )
        return as_mappings(cur, cur.fetchall())

    def max_id(self, conn: Connection, table: str) -> int:
        cur = driver_cursor(conn)
        cur.execute(f"SELECT coalesce(max(id), 0) AS top FROM {table}")
        return int(as_mappings(cur, cur.fetchall())[0]["top"])


def _stage(cur: Any, name: str, columns: dict[str, str]) -> None:
    """A session-local staging table, emptied at every commit."""
    cols = ", ".join(f"{c} {t}" for c, t in columns.items())
    cur.execute(f"CREATE TEMP TABLE IF NOT EXISTS {name} ({cols}) ON COMMIT DELETE ROWS")


POSTGRES = PostgresBulk()
