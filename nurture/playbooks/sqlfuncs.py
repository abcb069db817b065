"""SQL that SQLite and PostgreSQL spell differently, for the playbooks capability (one
function per difference, as ``nurture.cadence.sqlfuncs``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Integer, any_, bindparam
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from nurture.db.sql import is_postgres


def id_in(session: Session, column: Any, ids: Sequence[int]) -> ColumnElement[bool]:
    """``column IN (ids)``. PostgreSQL: ``= ANY(:ids)`` with one array parameter (a list of
    thousands of parameters costs more to send and parse than the update itself); SQLite:
    an expanded ``IN`` list."""
    if is_postgres(session):
        found: ColumnElement[bool] = column == any_(
            bindparam("ids", list(ids), type_=ARRAY(Integer))
        )
        return found
    listed: ColumnElement[bool] = column.in_(list(ids))
    return listed
