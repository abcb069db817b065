"""Send windows in the lead's zone: business days, quiet hours, holidays, DST."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from nurture.cadence.windows import (
    Window,
    in_window,
    is_holiday,
    next_send_time,
    parse_days,
    parse_hhmm,
    zone,
)

ZONES = [
    ("Europe/Moscow", "RU"),
    ("Europe/Berlin", "DE"),
    ("Europe/London", "GB"),
    ("America/New_York", "US"),
    ("America/Los_Angeles", "US"),
    ("Asia/Vladivostok", "RU"),
    ("Australia/Sydney", "AU"),
    ("UTC", None),
]
WINDOWS = [
    Window(),
    Window(start=time(9, 0), end=time(19, 0)),
    Window(start=time(8, 30), end=time(12, 15), days=(0, 2, 4)),
    Window(start=time(1, 30), end=time(3, 30)),  # overlaps the 02:00-03:00 DST switch
    Window(days=(5, 6), skip_holidays=False),
]
# whole 2026, denser around the DST weeks (late March, late October, early November)
instants = st.one_of(
    st.datetimes(datetime(2026, 1, 1), datetime(2026, 12, 31)),
    st.datetimes(datetime(2026, 3, 6), datetime(2026, 4, 2)),
    st.datetimes(datetime(2026, 10, 20), datetime(2026, 11, 5)),
).map(lambda d: d.replace(tzinfo=UTC))


@settings(max_examples=400, deadline=None)
@given(due=instants, where=st.sampled_from(ZONES), window=st.sampled_from(WINDOWS))
def test_next_send_time_is_the_first_allowed_moment(
    due: datetime, where: tuple[str, str | None], window: Window
) -> None:
    tz = ZoneInfo(where[0])
    at = next_send_time(due, tz, where[1], window)
    assert at >= due
    assert in_window(at, tz, where[1], window), (due, at.astimezone(tz))
    local = at.astimezone(tz)
    assert local.weekday() in window.days
    assert not (window.skip_holidays and is_holiday(where[1], local.date()))
    assert window.start <= local.time().replace(tzinfo=None) < window.end
    if at > due:
        # nothing earlier was allowed: probe every 15 minutes between due and the result
        probe = due
        while probe < at - timedelta(minutes=1):
            assert not in_window(probe, tz, where[1], window), (due, probe, at)
            probe += timedelta(minutes=15)


def test_dst_spring_forward_keeps_local_opening_time() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    # Friday 27 March 2026 evening -> Monday 30 March, after the switch on Sunday 29th
    due = datetime(2026, 3, 27, 18, 0, tzinfo=UTC)
    at = next_send_time(due, berlin, "DE", Window())
    assert at == datetime(2026, 3, 30, 8, 0, tzinfo=UTC)  # 10:00 CEST = 08:00 UTC
    before = next_send_time(datetime(2026, 3, 20, 18, 0, tzinfo=UTC), berlin, "DE", Window())
    assert before == datetime(2026, 3, 23, 9, 0, tzinfo=UTC)  # 10:00 CET = 09:00 UTC


def test_dst_fall_back_in_new_york() -> None:
    ny = ZoneInfo("America/New_York")
    at = next_send_time(datetime(2026, 10, 30, 23, 0, tzinfo=UTC), ny, "US", Window())
    assert at == datetime(2026, 11, 2, 15, 0, tzinfo=UTC)  # 10:00 EST after 1 November


def test_public_holidays_per_country() -> None:
    moscow = ZoneInfo("Europe/Moscow")
    # Russian New Year holidays: 1-8 January 2026 (9-11 is Fri-Sun? 9th is a Friday holiday)
    at = next_send_time(datetime(2025, 12, 31, 12, 0, tzinfo=UTC), moscow, "RU", Window())
    local = at.astimezone(moscow)
    assert local.date() >= date(2026, 1, 9)
    assert not is_holiday("RU", local.date())
    # the same instant for a German lead: 2 January is a working day there
    berlin = next_send_time(
        datetime(2026, 1, 1, 12, 0, tzinfo=UTC), ZoneInfo("Europe/Berlin"), "DE", Window()
    )
    assert berlin.astimezone(ZoneInfo("Europe/Berlin")).date() == date(2026, 1, 2)


def test_inside_the_window_sends_at_once() -> None:
    due = datetime(2026, 3, 25, 9, 0, tzinfo=UTC)  # Wednesday 12:00 in Moscow
    assert next_send_time(due, ZoneInfo("Europe/Moscow"), "RU", Window()) == due


def test_unknown_zone_and_country_fall_back() -> None:
    assert zone("Mars/Olympus", "Europe/Moscow") == ZoneInfo("Europe/Moscow")
    assert zone(None, "Nowhere/Else") == ZoneInfo("UTC")
    assert not is_holiday("XX", date(2026, 1, 1))


def test_parsers() -> None:
    assert parse_days(["mon-fri"]) == (0, 1, 2, 3, 4)
    assert parse_days(["sat", "Sunday"]) == (5, 6)
    assert parse_hhmm("09:30") == time(9, 30)
