"""Business hours between two moments, for a whole column at once.

The routing calendar (:mod:`nurture.routing.calendar`) moves one moment forward by business
hours; analytics measures millions of intervals, so it uses the same rules (working days
Monday to Friday minus the public holidays of the region, working hours in the assignee's
own zone, wall-clock time) in vectorised form:

``W(t)`` = working seconds from 1970-01-01 to ``t`` in the calendar's zone, i.e. whole
working days before ``t``'s local date times the day's length (``numpy.busday_count`` with
the holidays) plus the part of ``t``'s own day inside working hours. The business time
between ``a`` and ``b`` is ``W(b) - W(a)``. ``tests/analytics/test_business.py`` checks
it against :func:`nurture.routing.calendar.add_business_hours`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd

from nurture.routing.calendar import parse_hhmm, public_holidays


@dataclass(frozen=True)
class Calendar:
    """Working hours of one assignee (or of the team's default)."""

    tz: str = "Europe/Moscow"
    work_start: str = "09:00"
    work_end: str = "18:00"
    country: str | None = "RU"

    @property
    def day_seconds(self) -> int:
        start, end = parse_hhmm(self.work_start), parse_hhmm(self.work_end)
        return max(0, (end.hour * 60 + end.minute - start.hour * 60 - start.minute) * 60)


def _holidays(country: str | None, years: np.ndarray) -> np.ndarray:
    if not country or len(years) == 0:
        return np.array([], dtype="datetime64[D]")
    return _holiday_days(country, int(years.min()), int(years.max()))


@lru_cache(maxsize=64)
def _holiday_days(country: str, first: int, last: int) -> np.ndarray:
    days = sorted(d for y in range(first, last + 1) for d in public_holidays(country, y))
    return np.array(days, dtype="datetime64[D]")


def working_seconds(epoch: np.ndarray, cal: Calendar) -> np.ndarray:
    """``W(t)`` for each epoch second in ``epoch`` (float array; NaN stays NaN)."""
    values = np.asarray(epoch, dtype="float64")
    out = np.full(values.shape, np.nan)
    ok = ~np.isnan(values)
    if not ok.any():
        return out
    local = (
        pd.to_datetime(values[ok].astype("int64"), unit="s", utc=True)
        .tz_convert(cal.tz)
        .tz_localize(None)
    )
    stamps = local.to_numpy()
    days = stamps.astype("datetime64[D]")
    seconds_of_day = (stamps - days).astype("timedelta64[s]").astype("int64")
    years = days.astype("datetime64[Y]").astype("int64") + 1970
    hol = _holidays(cal.country, np.unique(years))
    start = parse_hhmm(cal.work_start)
    start_s = start.hour * 3600 + start.minute * 60
    length = cal.day_seconds
    before = np.busday_count(np.datetime64("1970-01-01"), days, holidays=hol)
    today = np.clip(seconds_of_day - start_s, 0, length) * np.is_busday(days, holidays=hol)
    out[ok] = before.astype("float64") * length + today
    return out


def business_hours(start: np.ndarray, end: np.ndarray, cal: Calendar) -> np.ndarray:
    """Business hours of ``cal`` from each ``start`` to its ``end`` (epoch seconds; NaN where
    either is missing; 0 where ``end`` is not after ``start``)."""
    hours = (working_seconds(end, cal) - working_seconds(start, cal)) / 3600.0
    return np.where(np.isnan(hours), np.nan, np.maximum(hours, 0.0))


def business_hours_by(
    frame: pd.DataFrame,
    start: str,
    end: str,
    who: str,
    calendars: dict[int, Calendar],
    default: Calendar,
) -> pd.Series:
    """Business hours from column ``start`` to ``end`` of ``frame``, each row in the calendar
    of the assignee in column ``who`` (``default`` when unknown): one vectorised pass per
    distinct calendar, however many rows."""
    out = np.full(len(frame), np.nan)
    if frame.empty:
        return pd.Series(out, index=frame.index, dtype="float64")
    distinct = sorted({default, *calendars.values()}, key=repr)
    code_of = {cal: n for n, cal in enumerate(distinct)}
    codes = (
        frame[who]
        .map({i: code_of[c] for i, c in calendars.items()})
        .fillna(code_of[default])
        .to_numpy(dtype="int64")
    )
    starts = frame[start].to_numpy(dtype="float64")
    ends = frame[end].to_numpy(dtype="float64")
    for code in np.unique(codes):
        rows = np.flatnonzero(codes == code)
        out[rows] = business_hours(starts[rows], ends[rows], distinct[code])
    return pd.Series(out, index=frame.index, dtype="float64")
