"""Send windows in the lead's own time zone (pure: no database).

A touch that is due at some instant is sent at the first moment, at or after it, that is
inside the campaign's window *in the lead's zone*: a business day, not a public holiday of
the lead's country (the ``holidays`` package), between ``start`` and ``end`` local time
(quiet hours are everything outside). Local wall-clock times are turned into instants with
``zoneinfo`` one day at a time, so DST changes never shift a window by an hour.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

if TYPE_CHECKING:
    import holidays

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True)
class Window:
    """When e-mails and calls may go out, in the lead's local time."""

    start: time = time(10, 0)
    end: time = time(18, 0)
    days: tuple[int, ...] = (0, 1, 2, 3, 4)  # Monday = 0
    skip_holidays: bool = True

    @property
    def key(self) -> str:
        """A stable text key (used to join planner rows to their slot map)."""
        days = "".join(str(d) for d in self.days)
        return f"{self.start:%H%M}-{self.end:%H%M}-{days}-{int(self.skip_holidays)}"


def zone(name: str | None, default: str) -> ZoneInfo:
    """The IANA zone ``name``, or ``default`` when it is empty or unknown."""
    for candidate in (name, default, "UTC"):
        if candidate:
            try:
                return _zone(candidate)
            except (ZoneInfoNotFoundError, ValueError):
                continue
    return _zone("UTC")


@lru_cache(maxsize=512)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


@lru_cache(maxsize=4096)
def is_holiday(country: str | None, day: date) -> bool:
    """Whether ``day`` is a public holiday in ``country`` (unknown countries: never)."""
    cal = _calendar(country or "", day.year)
    return cal is not None and day in cal


@lru_cache(maxsize=1024)
def _calendar(country: str, year: int) -> holidays.HolidayBase | None:
    if not country:
        return None
    import holidays  # here, not at the top: commands that never plan need not load it

    try:
        return holidays.country_holidays(country.upper(), years=year)
    except (NotImplementedError, KeyError):
        return None


def is_open_day(day: date, country: str | None, window: Window) -> bool:
    """A business day of the window that is not a public holiday of ``country``."""
    if day.weekday() not in window.days:
        return False
    return not (window.skip_holidays and is_holiday(country, day))


def in_window(moment: datetime, tz: ZoneInfo, country: str | None, window: Window) -> bool:
    """Whether an aware ``moment`` falls inside the window in zone ``tz``."""
    local = moment.astimezone(tz)
    if not is_open_day(local.date(), country, window):
        return False
    return window.start <= local.time().replace(tzinfo=None) < window.end


def _local_instant(day: date, at: time, tz: ZoneInfo) -> datetime:
    """The UTC instant of local wall-clock ``day at``.

    PEP 495: with ``fold=0`` a wall time inside a spring-forward gap is read with the offset
    before the change, i.e. it lands after the gap (02:30 becomes 03:30), never before.
    """
    return datetime.combine(day, at).replace(tzinfo=tz).astimezone(UTC)


def next_send_time(
    due: datetime, tz: ZoneInfo, country: str | None, window: Window, *, max_days: int = 60
) -> datetime:
    """The first instant at or after ``due`` inside the window (UTC, aware).

    ``max_days`` bounds the search (a window with no open day at all would loop forever);
    beyond it the due time itself is returned, which never loses a touch.
    """
    if due.tzinfo is None:
        raise ValueError("due must be an aware datetime")
    due = due.astimezone(UTC)
    if in_window(due, tz, country, window):
        return due
    local_day = due.astimezone(tz).date()
    for offset in range(max_days + 1):
        day = local_day + timedelta(days=offset)
        if not is_open_day(day, country, window):
            continue
        opens = _local_instant(day, window.start, tz)
        closes = _local_instant(day, window.end, tz)
        if due < opens:
            return opens
        if opens <= due < closes:
            return due
    return due


def parse_hhmm(text: str) -> time:
    """``"09:30"`` as a time; raises ValueError for anything else."""
    hh, _, mm = text.partition(":")
    return time(int(hh), int(mm or 0))


def parse_days(names: list[str]) -> tuple[int, ...]:
    """``["mon", "tue"]`` (or ``["mon-fri"]``) as weekday numbers."""
    out: set[int] = set()
    for raw in names:
        name = raw.strip().lower()[:7]
        if "-" in name:
            a, b = (DAY_NAMES.index(p[:3]) for p in name.split("-", 1))
            out.update(range(a, b + 1))
        else:
            out.add(DAY_NAMES.index(name[:3]))
    return tuple(sorted(out))
