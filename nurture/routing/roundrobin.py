"""Weighted round-robin inside a team, on plain data.

Each manager carries a persistent *credit*: how many leads they are owed (their deficit, in
leads). For each lead every eligible member earns ``weight / total eligible weight``; among
members owed at least ``c = 1 / (2 (k - 1))`` the one whose next turn falls earliest,
``(1 - c - credit) / share``, gets the lead and pays one lead back. This is Tijdeman's
solution of the "chairman assignment problem" (1980): with a fixed list of k members, after
any number n of leads each member's count is within ``1 - 1/(2(k-1))`` of
``n * weight / total`` -- always less than one lead off. Consequences:

* credits are conserved (the sum earned equals the one lead paid), so nothing "resets" when
  the list changes: a new member starts at 0 (no catch-up burst), a member who leaves simply
  stops earning, a member back from an absence continues where they stopped (they earned
  nothing while away, so they get no backlog either);
* absent and departed members are never eligible; members at their weekly capacity are
  skipped while anyone else has room, and only when *everyone* present is full is the lead
  given anyway (``overflow``), so no lead waits while someone eligible is present;
* ties go to the member with the lower load per weight, then to a deterministic mix of
  member id and lead id: never to the oldest member.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass


@dataclass
class Member:
    """A manager as the round-robin sees them. ``load`` is this week's count."""

    id: int
    weight: float
    capacity: int
    load: int = 0
    credit: float = 0.0
    available: bool = True  # active (not departed) and not absent today
    name: str = ""

    @property
    def present(self) -> bool:
        return self.available and self.weight > 0

    @property
    def has_room(self) -> bool:
        return self.load < self.capacity


@dataclass(frozen=True)
class Pick:
    member: Member
    overflow: bool  # everyone present was at capacity


def _mix(member_id: int, salt: int) -> int:
    """A deterministic tie-breaker that depends on the lead (``salt``), so equal members win
    ties in turn, never by id order (seniority). 32-bit integer hash (lowbias32)."""
    x = (member_id * 0x9E3779B1 + salt * 0x85EBCA77) & 0xFFFFFFFF
    x ^= x >> 16
    x = (x * 0x7FEB352D) & 0xFFFFFFFF
    x ^= x >> 15
    x = (x * 0x846CA68B) & 0xFFFFFFFF
    return x ^ (x >> 16)


def pick(members: Sequence[Member], *, salt: int = 0, allow_overflow: bool = True) -> Pick | None:
    """Choose one member for one lead and update credits and load in place.

    ``members`` are the candidates (already filtered by team and, if wanted, by profile).
    Returns None only when nobody is present (all absent, departed or weight 0), or when
    everyone present is full and ``allow_overflow`` is False.
    """
    eligible = [m for m in members if m.available and m.weight > 0 and m.load < m.capacity]
    overflow = False
    if not eligible:
        if not allow_overflow:
            return None
        eligible = [m for m in members if m.available and m.weight > 0]
        if not eligible:
            return None
        overflow = True
    total = 0.0
    for m in eligible:
        total += m.weight
    k = len(eligible)
    c = 1.0 / (2 * (k - 1)) if k > 1 else 0.0
    chosen = eligible[0]
    if k > 1:
        best: tuple[float, float, int] | None = None
        for m in eligible:
            m.credit += m.weight / total
        owed = [m for m in eligible if m.credit >= c - 1e-9] or eligible
        for m in owed:
            # earliest next turn first; then lower load per weight; then a per-lead hash
            key = (round((1.0 - c - m.credit) * total / m.weight, 9), m.load / m.weight, 0)
            if best is None or key[:2] < best[:2]:
                best, chosen = key, m
            elif key[:2] == best[:2] and _mix(m.id, salt) > _mix(chosen.id, salt):
                chosen = m
    else:
        chosen.credit += 1.0
    chosen.credit -= 1.0
    chosen.load += 1
    return Pick(chosen, overflow)


CREDIT_BOUND = 2.0


def normalise(members: Iterable[Member]) -> None:
    """Keep credits within +-2 leads (guards against drift after many list or weight
    changes); inside the bound credits are left alone, so nobody is reset."""
    for m in members:
        m.credit = max(-CREDIT_BOUND, min(CREDIT_BOUND, m.credit))


def expected_shares(weights: dict[int, float], total: int) -> dict[int, float]:
    """How many of ``total`` leads each member should have had by weight."""
    w = sum(v for v in weights.values() if v > 0)
    if w <= 0:
        return dict.fromkeys(weights, 0.0)
    return {k: total * max(v, 0.0) / w for k, v in weights.items()}
