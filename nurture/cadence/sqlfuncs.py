"""Three date functions the set-based planner needs, compiled per dialect.

Datetimes are UTC everywhere (SQLite stores them naive as ``YYYY-MM-DD HH:MM:SS.ffffff``),
so plain 24-hour arithmetic is right; local days are handled in Python (windows.py).
"""

from __future__ import annotations

import sqlite3
from typing import Any

from sqlalchemy import BigInteger
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from nurture.db.base import UTCDateTime


class epoch_hour(FunctionElement[int]):
    """Whole hours since 1970-01-01 UTC."""

    type = BigInteger()
    inherit_cache = True


class add_days(FunctionElement[Any]):
    """``add_days(ts, n)``: ``ts`` plus ``n`` times 24 hours (``n`` a literal integer)."""

    type = UTCDateTime()
    inherit_cache = True


class greatest(FunctionElement[Any]):
    """The later of two UTC datetimes (NULL if either is NULL on SQLite)."""

    type = UTCDateTime()
    inherit_cache = True


# unixepoch() (SQLite 3.38+) parses without formatting: a third of strftime('%s')'s cost
_UNIXEPOCH = sqlite3.sqlite_version_info >= (3, 38, 0)


@compiles(epoch_hour, "sqlite")
def _eh_sqlite(element: epoch_hour, compiler: Any, **kw: Any) -> str:
    # whole seconds only: SQLite rounds fractions to milliseconds, so 10:59:59.9999 would
    # count as 11:00
    arg = f"substr({compiler.process(element.clauses, **kw)}, 1, 19)"
    if _UNIXEPOCH:
        return f"(unixepoch({arg}) / 3600)"
    return f"(CAST(strftime('%s', {arg}) AS INTEGER) / 3600)"


@compiles(epoch_hour, "postgresql")
def _eh_pg(element: epoch_hour, compiler: Any, **kw: Any) -> str:
    arg = compiler.process(element.clauses, **kw)
    return f"CAST(floor(extract(epoch from {arg}) / 3600) AS BIGINT)"


def _two(element: Any, compiler: Any, **kw: Any) -> tuple[str, str]:
    a, b = list(element.clauses)
    return compiler.process(a, **kw), compiler.process(b, **kw)


@compiles(add_days, "sqlite")
def _ad_sqlite(element: add_days, compiler: Any, **kw: Any) -> str:
    ts, n = _two(element, compiler, **kw)
    # whole UTC days move the date only: the new date, then the stored time of day as it
    # was (microseconds included, so string comparisons stay exact). Only the date part is
    # parsed: SQLite rounds fractions to milliseconds, and 23:59:59.9999 would move a day
    # too far. date() formats far less than strftime(), paid per moved enrolment.
    days = f"'+{n} days'" if n.isdigit() else f"'+' || ({n}) || ' days'"
    return f"(date(substr({ts}, 1, 10), {days}) || substr({ts}, 11))"


@compiles(add_days, "postgresql")
def _ad_pg(element: add_days, compiler: Any, **kw: Any) -> str:
    ts, n = _two(element, compiler, **kw)
    return f"({ts} + ({n}) * interval '24 hours')"


@compiles(greatest, "sqlite")
def _gr_sqlite(element: greatest, compiler: Any, **kw: Any) -> str:
    a, b = _two(element, compiler, **kw)
    return f"max({a}, {b})"


@compiles(greatest, "postgresql")
def _gr_pg(element: greatest, compiler: Any, **kw: Any) -> str:
    a, b = _two(element, compiler, **kw)
    return f"greatest({a}, {b})"
