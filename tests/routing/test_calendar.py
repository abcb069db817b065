"""Business hours in the manager's time zone."""

from __future__ import annotations

from datetime import UTC, datetime

from nurture.routing.calendar import add_business_hours, next_working_moment, week_start

MSK = {"tz": "Europe/Moscow", "work_start": "09:00", "work_end": "18:00"}


def test_four_hours_from_friday_afternoon_is_monday_noon() -> None:
    friday_17_msk = datetime(2026, 11, 27, 14, 0, tzinfo=UTC)
    due = add_business_hours(friday_17_msk, 4, **MSK)
    assert due == datetime(2026, 11, 30, 9, 0, tzinfo=UTC)  # Monday 12:00 MSK


def test_inside_the_day_and_before_opening() -> None:
    tue_10 = datetime(2026, 12, 1, 7, 0, tzinfo=UTC)
    assert add_business_hours(tue_10, 2, **MSK) == datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    tue_03 = datetime(2026, 12, 1, 0, 0, tzinfo=UTC)
    assert next_working_moment(tue_03, **MSK) == datetime(2026, 12, 1, 6, 0, tzinfo=UTC)


def test_public_holidays_are_skipped() -> None:
    dec31 = datetime(2026, 12, 31, 12, 0, tzinfo=UTC)  # Thursday 15:00 MSK
    due = add_business_hours(dec31, 4, **MSK, country="RU")
    assert due.astimezone(UTC).date() > datetime(2027, 1, 8).date()


def test_week_starts_monday_in_the_manager_zone() -> None:
    sunday_late_utc = datetime(2026, 11, 29, 22, 0, tzinfo=UTC)  # Monday 01:00 in Moscow
    assert week_start(sunday_late_utc, "Europe/Moscow") == datetime(2026, 11, 29, 21, 0, tzinfo=UTC)
    assert week_start(sunday_late_utc, "Europe/London") == datetime(2026, 11, 23, 0, 0, tzinfo=UTC)
