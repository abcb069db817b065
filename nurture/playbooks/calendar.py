"""Business time of one person: deadlines, reminders and escalations in business hours or
business days of the assignee's calendar (pure functions on aware datetimes).

A calendar is the person's zone, work hours, the public holidays of their country (the
``holidays`` package, as the cadence send windows use) and their absences. Working days are
Monday to Friday that are neither holidays nor absences. ``N business hours`` counts only
working time; ``N business days`` moves N working days on at the same local time of day (a
start outside work hours first moves to the next working moment). Durations without
"business" are plain calendar time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from importlib import resources
from zoneinfo import ZoneInfo

from nurture.cadence.windows import is_holiday, zone
from nurture.routing.calendar import parse_hhmm

DURATION = re.compile(
    r"^\s*(\d+(?:\.\d+)?)\s*(business\s+|working\s+)?"
    r"(minute|minutes|min|hour|hours|h|day|days|d|week|weeks)\s*$",
    re.IGNORECASE,
)
MAX_DAYS_SEARCHED = 800  # a calendar with no working day at all never loops forever


@dataclass(frozen=True)
class Duration:
    """``2 business days``, ``4 business hours``, ``3 days``, ``30 minutes``."""

    amount: float
    unit: str  # minutes|hours|days
    business: bool

    @classmethod
    def parse(cls, text: str | int | float) -> Duration:
        """Parse a duration; raises ValueError with the accepted forms."""
        if isinstance(text, int | float) and not isinstance(text, bool):
            return cls(float(text), "days", True)
        m = DURATION.match(str(text))
        if m is None:
            raise ValueError(
                f"{text!r} is not a duration like '2 business days', '4 business hours', "
                "'3 days' or '30 minutes'"
            )
        amount = float(m.group(1))
        unit = m.group(3).lower()
        business = m.group(2) is not None
        if unit in ("week", "weeks"):
            amount, unit = amount * (5 if business else 7), "days"
        unit = {"min": "minutes", "minute": "minutes", "h": "hours", "hour": "hours"}.get(
            unit, unit
        )
        unit = {"d": "days", "day": "days"}.get(unit, unit)
        if business and unit == "minutes":
            amount, unit = amount / 60, "hours"
        return cls(amount, unit, business)

    def __str__(self) -> str:
        amount = f"{self.amount:g}"
        return f"{amount} {'business ' if self.business else ''}{self.unit}"

    def plain(self) -> timedelta:
        """The calendar length (business durations counted as if every hour worked)."""
        return timedelta(**{self.unit: self.amount})


@dataclass(frozen=True)
class BusinessCalendar:
    """One person's working time."""

    tz: str = "Europe/Moscow"
    work_start: str = "09:00"
    work_end: str = "18:00"
    country: str | None = None
    absences: tuple[tuple[date, date], ...] = ()

    @property
    def zone(self) -> ZoneInfo:
        return zone(self.tz, "UTC")

    @property
    def _start(self) -> time:
        return parse_hhmm(self.work_start)

    @property
    def _end(self) -> time:
        return parse_hhmm(self.work_end)

    def is_working_day(self, day: date) -> bool:
        if day.weekday() >= 5 or is_holiday(self.country, day):
            return False
        return not any(a <= day <= b for a, b in self.absences)

    def _at(self, day: date, t: time) -> datetime:
        return datetime.combine(day, t).replace(tzinfo=self.zone)

    def next_working_moment(self, moment: datetime) -> datetime:
        """``moment`` if it is working time, else the start of the next working period."""
        local = moment.astimezone(self.zone)
        day = local.date()
        for _ in range(MAX_DAYS_SEARCHED):
            if self.is_working_day(day):
                opens, closes = self._at(day, self._start), self._at(day, self._end)
                if local < opens:
                    return opens.astimezone(UTC)
                if local < closes:
                    return local.astimezone(UTC)
            day += timedelta(days=1)
            local = self._at(day, time(0, 0))
        return moment.astimezone(UTC)

    def previous_working_moment(self, moment: datetime) -> datetime:
        """``moment`` if it is working time (or a day's close), else the end of the previous
        working period."""
        local = moment.astimezone(self.zone)
        day = local.date()
        for _ in range(MAX_DAYS_SEARCHED):
            if self.is_working_day(day):
                opens, closes = self._at(day, self._start), self._at(day, self._end)
                if local > closes:
                    return closes.astimezone(UTC)
                if local > opens:
                    return local.astimezone(UTC)
            day -= timedelta(days=1)
            local = self._at(day, time(23, 59, 59))
        return moment.astimezone(UTC)

    def add_hours(self, start: datetime, hours: float) -> datetime:
        """``start`` plus ``hours`` of working time."""
        remaining = timedelta(hours=hours)
        cursor = self.next_working_moment(start).astimezone(self.zone)
        for _ in range(MAX_DAYS_SEARCHED):
            closes = self._at(cursor.date(), self._end)
            if remaining <= closes - cursor:
                return (cursor + remaining).astimezone(UTC)
            remaining -= closes - cursor
            nxt = self._at(cursor.date() + timedelta(days=1), time(0, 0))
            cursor = self.next_working_moment(nxt).astimezone(self.zone)
        return cursor.astimezone(UTC)

    def subtract_hours(self, end: datetime, hours: float) -> datetime:
        """The moment ``hours`` of working time before ``end``."""
        remaining = timedelta(hours=hours)
        cursor = self.previous_working_moment(end).astimezone(self.zone)
        for _ in range(MAX_DAYS_SEARCHED):
            opens = self._at(cursor.date(), self._start)
            if remaining <= cursor - opens:
                return (cursor - remaining).astimezone(UTC)
            remaining -= cursor - opens
            prev = self._at(cursor.date() - timedelta(days=1), time(23, 59, 59))
            cursor = self.previous_working_moment(prev).astimezone(self.zone)
        return cursor.astimezone(UTC)

    def add_days(self, start: datetime, days: float) -> datetime:
        """``days`` working days after ``start`` at the same local time of day (fractions
        of a day are working hours of a full day)."""
        whole = int(days)
        cursor = self.next_working_moment(start).astimezone(self.zone)
        day = cursor.date()
        for _ in range(whole):
            day += timedelta(days=1)
            for _ in range(MAX_DAYS_SEARCHED):
                if self.is_working_day(day):
                    break
                day += timedelta(days=1)
        moved = self._at(day, cursor.timetz().replace(tzinfo=None))
        rest = days - whole
        if rest:
            length = datetime.combine(day, self._end) - datetime.combine(day, self._start)
            return self.add_hours(moved, rest * length.total_seconds() / 3600)
        return moved.astimezone(UTC)

    def subtract_days(self, end: datetime, days: float) -> datetime:
        """``days`` working days before ``end`` at the same local time of day."""
        cursor = self.previous_working_moment(end).astimezone(self.zone)
        day = cursor.date()
        for _ in range(round(days)):
            day -= timedelta(days=1)
            for _ in range(MAX_DAYS_SEARCHED):
                if self.is_working_day(day):
                    break
                day -= timedelta(days=1)
        return self._at(day, cursor.timetz().replace(tzinfo=None)).astimezone(UTC)

    def add(self, start: datetime, duration: Duration) -> datetime:
        """``start`` plus a duration (business time in this calendar, or plain time)."""
        if not duration.business:
            return start + duration.plain()
        if duration.unit == "days":
            return self.add_days(start, duration.amount)
        return self.add_hours(start, duration.amount)

    def subtract(self, end: datetime, duration: Duration) -> datetime:
        """The moment a duration before ``end``."""
        if not duration.business:
            return end - duration.plain()
        if duration.unit == "days":
            return self.subtract_days(end, duration.amount)
        return self.subtract_hours(end, duration.amount)

    def local_date(self, moment: datetime) -> date:
        return moment.astimezone(self.zone).date()

    def day_bounds(self, day: date) -> tuple[datetime, datetime]:
        """The start and end of working hours on ``day`` (UTC)."""
        return (
            self._at(day, self._start).astimezone(UTC),
            self._at(day, self._end).astimezone(UTC),
        )


@lru_cache(maxsize=1)
def _zone_countries() -> dict[str, str]:
    """IANA zone -> ISO country from tzdata's zone.tab (Europe/London -> GB)."""
    out: dict[str, str] = {}
    try:
        text = (resources.files("tzdata") / "zoneinfo" / "zone.tab").read_text(encoding="utf-8")
    except (ModuleNotFoundError, FileNotFoundError, OSError):
        return out
    for line in text.splitlines():
        if line and not line.startswith("#"):
            parts = line.split("\t")
            if len(parts) >= 3:
                out[parts[2]] = parts[0]
    return out


def country_of_zone(tz: str | None, default: str | None) -> str | None:
    """The country whose public holidays a person in zone ``tz`` keeps (else ``default``)."""
    return _zone_countries().get(tz or "", default)
