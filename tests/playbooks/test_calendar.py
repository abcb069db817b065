"""Business time (pure): hours and days across a weekend, a public holiday and an absence,
backwards for reminders, durations parsed and refused."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from nurture.playbooks.calendar import BusinessCalendar, Duration, country_of_zone

MOSCOW = BusinessCalendar(tz="Europe/Moscow", work_start="09:00", work_end="18:00", country="RU")


def msk(y: int, m: int, d: int, hh: int, mm: int = 0) -> datetime:
    from zoneinfo import ZoneInfo

    return datetime(y, m, d, hh, mm, tzinfo=ZoneInfo("Europe/Moscow")).astimezone(UTC)


def test_business_hours_skip_the_weekend_and_a_holiday() -> None:
    # Friday 2026-05-08 16:00; Saturday-Sunday off, Monday 11 May is Victory Day (observed)
    start = msk(2026, 5, 8, 16)
    assert not MOSCOW.is_working_day(date(2026, 5, 11))
    # 2 h left on Friday, then 4 more on Tuesday 12 May from 09:00
    assert MOSCOW.add_hours(start, 6) == msk(2026, 5, 12, 13)
    assert MOSCOW.add(start, Duration.parse("6 business hours")) == msk(2026, 5, 12, 13)
    # two business days from Friday 16:00: Tuesday, Wednesday 16:00
    assert MOSCOW.add(start, Duration.parse("2 business days")) == msk(2026, 5, 13, 16)
    # calendar time ignores all that
    assert MOSCOW.add(start, Duration.parse("2 days")) == msk(2026, 5, 10, 16)


def test_outside_hours_starts_at_the_next_working_moment_and_reminders_go_back() -> None:
    assert MOSCOW.add_hours(msk(2026, 3, 27, 20), 1) == msk(2026, 3, 30, 10)  # Fri night -> Mon
    due = msk(2026, 3, 30, 11)  # Monday 11:00
    assert MOSCOW.subtract_hours(due, 3) == msk(2026, 3, 27, 17)  # back into Friday
    assert MOSCOW.subtract(due, Duration.parse("1 business day")) == msk(2026, 3, 27, 11)


def test_absences_are_not_working_days() -> None:
    away = BusinessCalendar(
        tz="Europe/Moscow", country="RU", absences=((date(2026, 3, 30), date(2026, 4, 1)),)
    )
    # Friday 17:00 + 2 business hours: 1 h on Friday, Mon-Wed away, Thursday 10:00
    assert away.add_hours(msk(2026, 3, 27, 17), 2) == msk(2026, 4, 2, 10)


def test_a_london_manager_keeps_british_holidays() -> None:
    assert country_of_zone("Europe/London", "RU") == "GB"
    assert country_of_zone("Mars/Olympus", "RU") == "RU"
    london = BusinessCalendar(tz="Europe/London", country="GB")
    assert not london.is_working_day(date(2026, 12, 28))  # Boxing Day (substitute)


@pytest.mark.parametrize("text", ["soon", "2 fortnights", "business 3 days", ""])
def test_bad_durations_are_refused_with_the_accepted_forms(text: str) -> None:
    with pytest.raises(ValueError, match="business days"):
        Duration.parse(text)


def test_durations_read_as_written() -> None:
    assert str(Duration.parse("4 business hours")) == "4 business hours"
    assert Duration.parse("1 week") == Duration(7, "days", False)
    assert Duration.parse("2 business weeks") == Duration(10, "days", True)
    assert Duration.parse("30 minutes").plain().total_seconds() == 1800
