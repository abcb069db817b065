"""What the analytics page shows of the report, on plain data: the period it asks for, the
rows about people a viewer may see, and the charts as images.

Every number comes from :func:`nurture.analytics.build_report`; this module computes none.
It only leaves out rows about people (a manager's funnel, overdue rate, deal stages; a
team's) that are not the viewer's to see (numbers are written by :mod:`nurture.web.i18n`).
"""

from __future__ import annotations

import base64
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from nurture.errors import InputError
from nurture.web.i18n import number, percent

__all__ = [
    "DEFAULT_DAYS",
    "Audience",
    "chart_images",
    "for_audience",
    "number",
    "parse_period",
    "percent",
]

#: The period the page shows when none is asked for, as ``nurture report`` does.
DEFAULT_DAYS = 90


def _day(value: str | None, field: str) -> datetime | None:
    if value is None or not value.strip():
        return None
    try:
        return datetime.combine(date.fromisoformat(value.strip()), time(), UTC)
    except ValueError:
        raise InputError(f"{value!r} is not a date (YYYY-MM-DD)", field=field) from None


def parse_period(
    since: str | None, until: str | None, *, now: datetime
) -> tuple[datetime, datetime]:
    """``[since, until)`` from the page's two dates (midnight UTC, like ``nurture report
    --since/--until``, so the page and the command agree): ``until`` defaults to now,
    ``since`` to :data:`DEFAULT_DAYS` before ``until``."""
    end = _day(until, "until") or now
    start = _day(since, "since") or end - timedelta(days=DEFAULT_DAYS)
    if start >= end:
        raise InputError(f"{start.date()} is not before {end.date()}", field="since")
    return start, end


@dataclass(frozen=True)
class Audience:
    """Whose rows a viewer sees: ``None`` for everyone's (admin), else the names of the
    managers and teams (empty: aggregates only)."""

    managers: frozenset[str] | None
    teams: frozenset[str] | None

    @classmethod
    def everyone(cls) -> Audience:
        return cls(None, None)

    @classmethod
    def nobody(cls) -> Audience:
        return cls(frozenset(), frozenset())

    @classmethod
    def of(cls, managers: Iterable[str], teams: Iterable[str]) -> Audience:
        return cls(frozenset(managers), frozenset(teams))

    @property
    def sees_people(self) -> bool:
        return self.managers is None or bool(self.managers)

    def keeps(self, row: dict[str, Any]) -> bool:
        if "manager" in row and self.managers is not None:
            return row["manager"] in self.managers
        if "team" in row and self.teams is not None:
            return row["team"] in self.teams
        return True


def for_audience(report: dict[str, Any], audience: Audience) -> dict[str, Any]:
    """``report`` without the rows about people ``audience`` may not see (a new list or
    dict wherever something was left out; the report itself is not changed).

    A row is about a person when it names a ``manager`` (else a ``team``); a mapping named
    ``by_manager`` counts per person."""
    if audience.managers is None and audience.teams is None:
        return report
    kept: dict[str, Any] = _filtered(report, audience)
    return kept


def _filtered(value: Any, audience: Audience, key: str = "") -> Any:
    if isinstance(value, dict):
        if key == "by_manager" and audience.managers is not None:
            return {k: v for k, v in value.items() if k in audience.managers}
        return {k: _filtered(v, audience, k) for k, v in value.items()}
    if isinstance(value, list):
        return [
            _filtered(v, audience) for v in value if not isinstance(v, dict) or audience.keeps(v)
        ]
    return value


def chart_images(fragments: dict[str, str]) -> dict[str, str]:
    """Each chart's ``<svg>`` as a ``data:`` URL for an ``<img>``: the page's
    Content-Security-Policy allows no inline styles (which matplotlib's SVG uses), images
    from ``data:`` it does; and each chart keeps its own ids."""
    return {
        name: "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")
        for name, svg in fragments.items()
    }
