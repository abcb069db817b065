"""Speed to lead and the 30-day coverage, per event: the number the business cares about.

Industry surveys find that only 30-40% of the leads met at exhibitions, seminars and
mailings are worked within 30 days. For each event the report gives:

- ``median_hours`` / ``p90_hours``: intake to first touch in business hours of the lead
  owner's calendar (leads touched by ``until``);
- ``within_24bh``: the share touched within 24 business hours, of the leads that had 24
  business hours before ``until``;
- ``within_30d``: the share touched within 30 calendar days, of the leads met at least
  30 days before ``until`` (set against :data:`INDUSTRY_30D`);
- ``never``: the share of all the event's leads not touched at all by ``until``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from nurture.analytics.business import Calendar, business_hours_by
from nurture.analytics.funnel import labels

#: Share of event leads worked within 30 days, as industry surveys report it.
INDUSTRY_30D: tuple[float, float] = (0.30, 0.40)
DAY = 86400


def _share(hits: pd.Series, eligible: pd.Series) -> float | None:
    n = int(eligible.sum())
    return round(float((hits & eligible).sum()) / n, 4) if n else None


def _quantile(values: pd.Series, q: float) -> float | None:
    values = values.dropna()
    return round(float(np.quantile(values, q)), 2) if len(values) else None


def speed_and_coverage(
    leads: pd.DataFrame,
    *,
    until_s: int,
    calendars: dict[int, Calendar],
    default: Calendar,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """``(speed_to_lead, coverage)``: one row per event each (``leads`` has the lead facts
    with ``event`` and ``kind`` named), worst coverage first."""
    if leads.empty:
        return [], []
    frame = leads[["created", "first_touch", "owner_id"]].copy()
    frame["until"] = float(until_s)
    hours = business_hours_by(frame, "created", "first_touch", "owner_id", calendars, default)
    age_bh = business_hours_by(frame, "created", "until", "owner_id", calendars, default)
    days = (leads["first_touch"] - leads["created"]) / DAY
    touched = leads["first_touch"].notna()
    scratch = pd.DataFrame(
        {
            "event": labels(leads["event"]),
            "kind": labels(leads["kind"]),
            "hours": hours,
            "days": days,
            "touched": touched,
            "in_24bh": touched & (hours <= 24),
            "eligible_24bh": (age_bh >= 24) | (touched & (hours <= 24)),
            "in_30d": touched & (days <= 30),
            "eligible_30d": (until_s - leads["created"]) >= 30 * DAY,
        }
    )
    speed, coverage = [], []
    for (event, kind), g in scratch.groupby(["event", "kind"], sort=True):
        speed.append(
            {
                "event": event,
                "kind": kind,
                "leads": len(g),
                "touched": int(g["touched"].sum()),
                "median_hours": _quantile(g["hours"], 0.5),
                "p90_hours": _quantile(g["hours"], 0.9),
                "median_days": _quantile(g["days"], 0.5),
            }
        )
        within_30d = _share(g["in_30d"], g["eligible_30d"])
        coverage.append(
            {
                "event": event,
                "kind": kind,
                "leads": len(g),
                "within_24bh": _share(g["in_24bh"], g["eligible_24bh"]),
                "within_30d": within_30d,
                "eligible_30d": int(g["eligible_30d"].sum()),
                "never": round(1 - float(g["touched"].mean()), 4),
                "never_leads": int((~g["touched"]).sum()),
                "industry_30d": list(INDUSTRY_30D),
                "versus_industry": _versus(within_30d),
            }
        )
    speed.sort(key=lambda r: (r["median_hours"] is None, -(r["median_hours"] or 0), r["event"]))
    coverage.sort(key=lambda r: (-r["never"], r["event"]))
    return speed, coverage


def _versus(share: float | None) -> str | None:
    if share is None:
        return None
    low, high = INDUSTRY_30D
    return "below" if share < low else "within" if share <= high else "above"
