"""The planner's date functions in SQL agree with Python on both backends (the SQLite forms
are string tricks on the stored format: date() plus the stored time of day, unixepoch())."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import literal, literal_column, select
from sqlalchemy.orm import Session

from nurture.cadence.sqlfuncs import add_days, epoch_hour, greatest
from nurture.db.base import UTCDateTime

MOMENTS = [
    datetime(2026, 3, 25, 3, 0, tzinfo=UTC),
    datetime(2026, 3, 28, 23, 59, 59, 999999, tzinfo=UTC),  # before a DST Sunday in Europe
    datetime(2028, 2, 28, 12, 30, 15, 250000, tzinfo=UTC),  # leap year
    datetime(2026, 12, 31, 23, 0, 0, 1, tzinfo=UTC),  # year boundary
    datetime(2026, 10, 25, 0, 59, 59, tzinfo=UTC),
]


@pytest.mark.parametrize("moment", MOMENTS)
@pytest.mark.parametrize("days", [0, 1, 14, 350])
def test_add_days_and_greatest(session: Session, moment: datetime, days: int) -> None:
    ts = literal(moment, UTCDateTime())
    later = session.execute(select(add_days(ts, literal_column(str(days))))).scalar_one()
    assert later == moment + timedelta(days=days)
    other = moment + timedelta(hours=5)
    both = session.execute(
        select(greatest(add_days(ts, literal_column(str(days))), literal(other, UTCDateTime())))
    ).scalar_one()
    assert both == max(moment + timedelta(days=days), other)


@pytest.mark.parametrize("moment", MOMENTS)
def test_epoch_hour(session: Session, moment: datetime) -> None:
    hour = session.execute(select(epoch_hour(literal(moment, UTCDateTime())))).scalar_one()
    assert hour == int(moment.timestamp()) // 3600
