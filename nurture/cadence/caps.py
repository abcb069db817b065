"""Frequency cap across campaigns (pure: no database).

Rule: a touch at instant ``t`` may be placed only if fewer than ``limit`` touches of the
same lead lie in the open interval ``(t - days, t + days)``. Placing touches one by one
under that rule guarantees that *every* rolling window of ``days`` holds at most ``limit``
touches (the last one placed in any window saw all the others in its interval).

Collisions are resolved by priority: proposals are taken highest priority first, so the
higher-priority campaign wins; a losing proposal is *shifted* (tried again later), never
dropped. The SQL planner (:mod:`nurture.cadence.planner`) applies exactly this rule, one
campaign at a time in priority order; this module is its reference and its test oracle.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right, insort
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class Cap:
    limit: int = 2
    days: int = 7

    @property
    def span(self) -> timedelta:
        return timedelta(days=self.days)


@dataclass(frozen=True)
class Proposal:
    lead_id: int
    campaign: str
    priority: int
    at: datetime


def count_near(times: list[datetime], at: datetime, cap: Cap) -> int:
    """Touches of a sorted list strictly within ``(at - days, at + days)``."""
    lo = bisect_right(times, at - cap.span)
    hi = bisect_left(times, at + cap.span)
    return max(0, hi - lo)


def allows(times: list[datetime], at: datetime, cap: Cap) -> bool:
    return count_near(times, at, cap) < cap.limit


def allocate(
    proposals: Iterable[Proposal],
    existing: Mapping[int, Iterable[datetime]],
    cap: Cap,
) -> tuple[list[Proposal], list[Proposal]]:
    """Split proposals into (placed, shifted), higher priority first, ties by campaign."""
    booked: dict[int, list[datetime]] = defaultdict(list)
    for lead, times in existing.items():
        booked[lead] = sorted(times)
    placed: list[Proposal] = []
    shifted: list[Proposal] = []
    for p in sorted(proposals, key=lambda p: (-p.priority, p.campaign, p.lead_id, p.at)):
        times = booked[p.lead_id]
        if allows(times, p.at, cap):
            insort(times, p.at)
            placed.append(p)
        else:
            shifted.append(p)
    return placed, shifted


def respects(times: Iterable[datetime], cap: Cap) -> bool:
    """Whether no rolling window of ``cap.days`` holds more than ``cap.limit`` touches."""
    ordered = sorted(times)
    n = cap.limit
    return all(ordered[i + n] - ordered[i] >= cap.span for i in range(len(ordered) - n))
