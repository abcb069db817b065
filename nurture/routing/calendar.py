"""Business hours of one manager: working days (Mon-Fri minus public holidays) and working
hours in the manager's own time zone. Pure functions on aware datetimes."""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo


def parse_hhmm(value: str) -> time:
    hh, mm = value.split(":")
    return time(int(hh), int(mm))


@lru_cache(maxsize=16)
def public_holidays(country: str, year: int) -> frozenset[date]:
    import holidays as holidays_lib  # here, not at the top: `leads show` never needs it

    try:
        return frozenset(holidays_lib.country_holidays(country, years=year).keys())
    except (KeyError, NotImplementedError):
        return frozenset()


def _is_working_day(day: date, holiday_dates: Collection[date]) -> bool:
    return day.weekday() < 5 and day not in holiday_dates


def _holidays_for(day: date, country: str | None) -> frozenset[date]:
    return public_holidays(country, day.year) if country else frozenset()


def next_working_moment(
    moment: datetime, *, tz: str, work_start: str, work_end: str, country: str | None = None
) -> datetime:
    """``moment`` if it is inside working hours, else the start of the next working period
    (aware UTC)."""
    zone = ZoneInfo(tz)
    local = moment.astimezone(zone)
    start_t, end_t = parse_hhmm(work_start), parse_hhmm(work_end)
    for _ in range(400):
        day = local.date()
        day_start = datetime.combine(day, start_t, zone)
        day_end = datetime.combine(day, end_t, zone)
        if _is_working_day(day, _holidays_for(day, country)):
            if local < day_start:
                return day_start.astimezone(UTC)
            if local < day_end:
                return local.astimezone(UTC)
        local = datetime.combine(day + timedelta(days=1), time(0, 0), zone)
    return moment.astimezone(UTC)


def add_business_hours(
    start: datetime,
    hours: float,
    *,
    tz: str,
    work_start: str,
    work_end: str,
    country: str | None = None,
) -> datetime:
    """``start`` plus ``hours`` of working time of a manager (aware UTC).

    Example: 4 business hours from Friday 17:00 with hours 09:00-18:00 is Monday 12:00.
    """
    zone = ZoneInfo(tz)
    start_t, end_t = parse_hhmm(work_start), parse_hhmm(work_end)
    remaining = timedelta(hours=hours)
    cursor = next_working_moment(
        start, tz=tz, work_start=work_start, work_end=work_end, country=country
    ).astimezone(zone)
    for _ in range(2000):
        day_end = datetime.combine(cursor.date(), end_t, zone)
        available = day_end - cursor
        if remaining <= available:
            return (cursor + remaining).astimezone(UTC)
        remaining -= available
        cursor = next_working_moment(
            datetime.combine(cursor.date() + timedelta(days=1), start_t, zone),
            tz=tz,
            work_start=work_start,
            work_end=work_end,
            country=country,
        ).astimezone(zone)
    return cursor.astimezone(UTC)


def week_start(moment: datetime, tz: str) -> datetime:
    """Monday 00:00 of ``moment``'s week in zone ``tz``, as aware UTC."""
    zone = ZoneInfo(tz)
    local = moment.astimezone(zone)
    monday = local.date() - timedelta(days=local.weekday())
    return datetime.combine(monday, time(0, 0), zone).astimezone(UTC)


def local_date(moment: datetime, tz: str) -> date:
    return moment.astimezone(ZoneInfo(tz)).date()
