"""Three date functions the set-based planner needs, compiled per dialect.

Datetimes are UTC everywhere (SQLite stores them naive as ``YYYY-MM-DD HH:MM:SS.ffffff``),
so plain 24-hour arithmetic is right; local days are handled in Python (windows.py).
"""

from __future__ import annotations

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


@compiles(epoch_hour, "sqlite")
def _eh_sqlite(element: epoch_hour, compiler: Any, **kw: Any) -> str:
    return f"(CAST(strftime('%s', {compiler.process(element.clauses, **kw)}) AS INTEGER) / 3600)"


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
    # keep the stored format (microseconds included) so string comparisons stay exact
    return (
        f"(strftime('%Y-%m-%d %H:%M:%S', {ts}, '+' || ({n}) || ' days') "
        f"|| coalesce(substr({ts}, 20), ''))"
    )


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
