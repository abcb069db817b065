"""Vectorised business hours against the routing calendar (the oracle)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd

from nurture.analytics.business import Calendar, business_hours, business_hours_by
from nurture.routing.calendar import add_business_hours

CALENDARS = [
    Calendar("Europe/Moscow", "09:00", "18:00", "RU"),
    Calendar("America/New_York", "08:30", "17:00", "US"),
    Calendar("Asia/Vladivostok", "10:00", "19:00", None),
]


def test_matches_add_business_hours_across_weekends_holidays_and_dst() -> None:
    rng = random.Random(7)
    for cal in CALENDARS:
        starts, ends, wanted = [], [], []
        for _ in range(150):
            start = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=rng.randrange(0, 525600))
            hours = rng.choice([0.5, 1, 4, 9, 24, 40, 100]) + rng.random()
            end = add_business_hours(
                start,
                hours,
                tz=cal.tz,
                work_start=cal.work_start,
                work_end=cal.work_end,
                country=cal.country,
            )
            starts.append(start.timestamp())
            ends.append(end.timestamp())
            wanted.append(hours)
        got = business_hours(np.array(starts), np.array(ends), cal)
        # epoch seconds are whole: within one second of the oracle
        np.testing.assert_allclose(got, wanted, atol=1.001 / 3600)


def test_friday_evening_to_monday_noon_is_three_hours() -> None:
    cal = CALENDARS[0]
    friday_17 = datetime(2026, 11, 27, 14, 0, tzinfo=UTC).timestamp()
    monday_12 = datetime(2026, 11, 30, 9, 0, tzinfo=UTC).timestamp()
    assert business_hours(np.array([friday_17]), np.array([monday_12]), cal)[0] == 4.0
    # missing end stays missing; an end before the start counts as nothing
    got = business_hours(np.array([friday_17, monday_12]), np.array([np.nan, friday_17]), cal)
    assert np.isnan(got[0]) and got[1] == 0.0


def test_each_row_in_its_assignees_calendar() -> None:
    moscow, new_york = CALENDARS[0], CALENDARS[1]
    # Tuesday 2026-12-01 06:00 UTC to 18:00 UTC: Moscow 09-21 (9 h), New York 01-13 (4.5 h)
    a = datetime(2026, 12, 1, 6, 0, tzinfo=UTC).timestamp()
    b = datetime(2026, 12, 1, 18, 0, tzinfo=UTC).timestamp()
    frame = pd.DataFrame({"s": [a, a, a], "e": [b, b, b], "m": [1, 2, None]})
    got = business_hours_by(frame, "s", "e", "m", {1: moscow, 2: new_york}, moscow)
    assert got.tolist() == [9.0, 4.5, 9.0]
