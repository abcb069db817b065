"""Frequency cap across campaigns: property tests on the reference allocation."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from nurture.cadence.caps import Cap, Proposal, allocate, allows, respects

T0 = datetime(2026, 3, 1, tzinfo=UTC)
moments = st.integers(min_value=0, max_value=60 * 24).map(lambda m: T0 + timedelta(hours=m / 4))
proposals = st.lists(
    st.builds(
        Proposal,
        lead_id=st.integers(1, 4),
        campaign=st.sampled_from(["a", "b", "c"]),
        priority=st.integers(0, 3),
        at=moments,
    ),
    max_size=40,
)
caps = st.builds(Cap, limit=st.integers(1, 3), days=st.integers(1, 10))


@settings(max_examples=300, deadline=None)
@given(
    props=proposals, cap=caps, existing=st.lists(st.tuples(st.integers(1, 4), moments), max_size=6)
)
def test_allocation_respects_the_cap_and_drops_nothing(
    props: list[Proposal], cap: Cap, existing: list[tuple[int, datetime]]
) -> None:
    booked: dict[int, list[datetime]] = defaultdict(list)
    for lead, at in existing:
        if allows(sorted(booked[lead]), at, cap):
            booked[lead].append(at)
    placed, shifted = allocate(props, booked, cap)
    assert sorted(placed + shifted, key=repr) == sorted(props, key=repr)  # none dropped
    per_lead: dict[int, list[datetime]] = defaultdict(list, {k: list(v) for k, v in booked.items()})
    for p in placed:
        per_lead[p.lead_id].append(p.at)
    for times in per_lead.values():
        assert respects(times, cap)
    # a shifted proposal really did not fit at its time
    for p in shifted:
        assert not allows(sorted(per_lead[p.lead_id]), p.at, cap)


@settings(max_examples=200, deadline=None)
@given(at=moments, low=st.integers(0, 5), high=st.integers(6, 10))
def test_higher_priority_wins_a_collision(at: datetime, low: int, high: int) -> None:
    cap = Cap(limit=1, days=7)
    a = Proposal(1, "newsletter", low, at)
    b = Proposal(1, "exhibition", high, at + timedelta(hours=1))
    placed, shifted = allocate([a, b], {}, cap)
    assert placed == [b] and shifted == [a]


def test_respects_counts_rolling_windows() -> None:
    cap = Cap(limit=2, days=7)
    t = [T0, T0 + timedelta(days=3), T0 + timedelta(days=6, hours=23)]
    assert not respects(t, cap)
    assert respects([T0, T0 + timedelta(days=3), T0 + timedelta(days=7)], cap)
