"""SQL functions the set-based planner needs that SQLite and PostgreSQL spell differently.

One function per difference, compiled per dialect and tested against Python
(``tests/cadence/test_sqlfuncs.py``): three date functions and the touch key.

Datetimes are UTC everywhere (SQLite stores them naive as ``YYYY-MM-DD HH:MM:SS.ffffff``),
so plain 24-hour arithmetic is right; local days are handled in Python (windows.py).
"""

from __future__ import annotations

import sqlite3
from typing import Any

from sqlalchemy import BigInteger, String, literal
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


class _touch_key(FunctionElement[str]):
    type = String()
    inherit_cache = True


def touch_key(slug: str, lead_id: Any, position: Any, cycle: Any) -> Any:
    """``touch.<lead>.<slug>.<position>.<cycle>``: the dedupe key of a planned touch (and of
    its outbox row or task), from integer columns and a campaign slug."""
    return _touch_key(lead_id, literal(slug, String()), position, cycle)


# unixepoch() (SQLite 3.38+) parses without formatting anything, unlike strftime('%s')
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


@compiles(_touch_key, "sqlite")
def _tk_sqlite(element: _touch_key, compiler: Any, **kw: Any) -> str:
    # one printf call instead of five concatenations: this runs for every staged row
    lead, slug, position, cycle = (compiler.process(c, **kw) for c in element.clauses)
    return f"printf('touch.%d.%s.%d.%d', {lead}, {slug}, {position}, {cycle})"


@compiles(_touch_key, "postgresql")
def _tk_pg(element: _touch_key, compiler: Any, **kw: Any) -> str:
    lead, slug, position, cycle = (compiler.process(c, **kw) for c in element.clauses)
    parts = [f"CAST({lead} AS VARCHAR)", slug, f"CAST({position} AS VARCHAR)"]
    parts.append(f"CAST({cycle} AS VARCHAR)")
    return "('touch.' || " + " || '.' || ".join(parts) + ")"
