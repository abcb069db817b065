"""Helpers shared by the set-based statements of the cadence capability."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Integer, literal, literal_column
from sqlalchemy.orm import Session

from nurture.db.base import UTCDateTime


def affected(session: Session, stmt: Any) -> int:
    """Execute ``stmt`` and return how many rows it inserted or updated (both backends)."""
    # an option of this execution, not a copy of the statement: a copy would lose the
    # cache key SQLAlchemy computed for it (statements are reused across passes)
    return rowcount(session.execute(stmt, execution_options={"preserve_rowcount": True}))


def rowcount(result: Any) -> int:
    """A result's row count, 0 when the driver does not know it."""
    n = getattr(result, "rowcount", 0)
    return int(n) if n and n > 0 else 0


def ts(value: datetime) -> Any:
    """A UTC datetime as a bound SQL literal of the UTCDateTime type."""
    return literal(value, UTCDateTime())


def int_literal(n: int) -> Any:
    """An integer written into the SQL text: the date functions of ``sqlfuncs`` need a
    literal day count to build their interval."""
    return literal_column(str(int(n)), Integer())
