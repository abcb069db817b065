"""The SQL that SQLite and PostgreSQL spell differently in the analytics queries.

Two differences, one function each:

- :class:`epoch_seconds`: a stored UTC datetime as whole seconds since 1970 (an integer, so
  a million rows cross the driver without datetime parsing);
- :func:`ordered_tokens`: one row per lead with its tokens joined by spaces in time order
  (PostgreSQL ``string_agg(... ORDER BY ...)``; SQLite 3.40 has no ordered aggregate, so a
  window ``group_concat`` over the ordered frame, the last row of each lead).

- :class:`whole_scan`: a column whose index must not drive the query. The report reads
  nearly every row of ``touches`` and ``tasks``; without statistics SQLite walks the
  ``(status, ...)`` index and fetches each row at random, many times slower than reading
  the table in order (``+column`` is SQLite's way to say so; PostgreSQL plans it itself).

The first two are checked against Python in ``tests/analytics/test_sqlfuncs.py`` on both backends.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from sqlalchemy import BigInteger, Select, func, literal_column, select
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.functions import FunctionElement

from nurture.db.sql import is_postgres

_UNIXEPOCH = sqlite3.sqlite_version_info >= (3, 38, 0)


class epoch_seconds(FunctionElement[int]):
    """``epoch_seconds(ts)``: whole seconds since 1970-01-01 UTC (NULL stays NULL)."""

    type = BigInteger()
    inherit_cache = True


@compiles(epoch_seconds, "sqlite")
def _es_sqlite(element: epoch_seconds, compiler: Any, **kw: Any) -> str:
    # stored as 'YYYY-MM-DD HH:MM:SS.ffffff' (naive UTC): the first 19 characters are enough
    arg = f"substr({compiler.process(element.clauses, **kw)}, 1, 19)"
    if _UNIXEPOCH:
        return f"unixepoch({arg})"
    return f"CAST(strftime('%s', {arg}) AS INTEGER)"


@compiles(epoch_seconds, "postgresql")
def _es_pg(element: epoch_seconds, compiler: Any, **kw: Any) -> str:
    return f"CAST(floor(extract(epoch from {compiler.process(element.clauses, **kw)})) AS BIGINT)"


class whole_scan(FunctionElement[Any]):
    """``whole_scan(column)``: the column, not usable as an index key (SQLite ``+column``)."""

    inherit_cache = True

    def __init__(self, column: Any) -> None:
        super().__init__(column)
        self.type = column.type


@compiles(whole_scan, "sqlite")
def _ws_sqlite(element: whole_scan, compiler: Any, **kw: Any) -> str:
    return f"+{compiler.process(element.clauses, **kw)}"


@compiles(whole_scan, "postgresql")
def _ws_pg(element: whole_scan, compiler: Any, **kw: Any) -> str:
    return f"({compiler.process(element.clauses, **kw)})"


def ordered_tokens(session: Session, rows: Any) -> Select[Any]:
    """``SELECT lead_id, won, seq`` from ``rows`` (a subquery with ``lead_id``, ``won``
    (the same on every row of a lead), ``at``, ``tok``): each lead's tokens in order of
    ``at`` (then ``tok``), joined by single spaces."""
    if is_postgres(session):
        return select(
            rows.c.lead_id,
            rows.c.won,
            func.string_agg(
                rows.c.tok, aggregate_order_by(literal_column("' '"), rows.c.at, rows.c.tok)
            ).label("seq"),
        ).group_by(rows.c.lead_id, rows.c.won)
    # one window (one sort): the running concatenation, its row number and the lead's
    # count of rows; the row whose number is the count holds the whole sequence
    order = (rows.c.at, rows.c.tok)
    running = select(
        rows.c.lead_id,
        rows.c.won,
        func.group_concat(rows.c.tok, " ")
        .over(partition_by=rows.c.lead_id, order_by=order)
        .label("seq"),
        func.row_number().over(partition_by=rows.c.lead_id, order_by=order).label("n"),
        func.count()
        .over(partition_by=rows.c.lead_id, order_by=order, range_=(None, None))
        .label("total"),
    ).subquery("running")
    return select(running.c.lead_id, running.c.won, running.c.seq).where(
        running.c.n == running.c.total
    )
