"""Properties of the weighted round-robin (pure, no database)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from nurture.routing.roundrobin import CREDIT_BOUND, Member, normalise, pick

weights = st.sampled_from([0.5, 1.0, 1.5, 2.0, 3.0, 5.0])


@st.composite
def teams(draw: st.DrawFn, min_size: int = 1, max_size: int = 6) -> list[Member]:
    n = draw(st.integers(min_size, max_size))
    ids = draw(st.lists(st.integers(1, 10_000), min_size=n, max_size=n, unique=True))
    return [
        Member(
            id=i,
            weight=draw(st.sampled_from([0.0, 1.0, 2.0, 3.0])),
            capacity=draw(st.integers(0, 5)),
            load=draw(st.integers(0, 5)),
            credit=draw(st.floats(-CREDIT_BOUND, CREDIT_BOUND)),
            available=draw(st.booleans()),
        )
        for i in ids
    ]


@given(teams(), st.integers(1, 60), st.integers(0, 10**6))
def test_no_lead_unassigned_while_someone_eligible(
    members: list[Member], n: int, salt: int
) -> None:
    present = any(m.available and m.weight > 0 for m in members)
    for i in range(n):
        p = pick(members, salt=salt + i)
        assert (p is not None) == present


@given(teams(), st.integers(1, 60))
def test_nobody_absent_or_weightless_gets_a_lead(members: list[Member], n: int) -> None:
    before = {m.id: m.load for m in members}
    for i in range(n):
        pick(members, salt=i)
    for m in members:
        if not m.available or m.weight == 0:
            assert m.load == before[m.id]


@given(teams(), st.integers(1, 60))
def test_capacity_respected_while_anyone_has_room(members: list[Member], n: int) -> None:
    for i in range(n):
        room = any(m.present and m.has_room for m in members)
        p = pick(members, salt=i)
        if p is None:
            continue
        assert p.overflow == (not room)
        if room:
            assert p.member.load <= p.member.capacity


def _fresh(ws: list[float]) -> list[Member]:
    return [Member(id=100 + i, weight=w, capacity=10**9) for i, w in enumerate(ws)]


@settings(max_examples=300, deadline=None)  # CPU-bound: a loaded machine is no failure
@given(st.lists(weights, min_size=1, max_size=7), st.integers(1, 300))
def test_per_weight_fairness_within_one_lead(ws: list[float], n: int) -> None:
    members = _fresh(ws)
    total = sum(ws)
    for i in range(1, n + 1):
        pick(members, salt=i)
        for m in members:
            assert abs(m.load - i * m.weight / total) < 1.0


@settings(max_examples=300, deadline=None)  # CPU-bound: a loaded machine is no failure
@given(
    st.lists(weights, min_size=2, max_size=6),
    st.integers(0, 200),
    st.booleans(),
    weights,
    st.integers(1, 200),
    st.data(),
)
def test_stable_when_members_join_or_leave(
    ws: list[float], before: int, join: bool, new_weight: float, after: int, data: st.DataObject
) -> None:
    members = _fresh(ws)
    for i in range(before):
        pick(members, salt=i)
    if join:
        members.append(Member(id=999, weight=new_weight, capacity=10**9))
    else:
        members.pop(data.draw(st.integers(0, len(members) - 1)))
    normalise(members)
    for m in members:
        m.load = 0
    total = sum(m.weight for m in members)
    for i in range(1, after + 1):
        pick(members, salt=before + i)
        for m in members:
            # no reset and no catch-up burst: within two leads of the new share at all times
            assert abs(m.load - i * m.weight / total) < 2.0


def test_ties_are_not_broken_by_seniority() -> None:
    winners = set()
    for lead_id in range(50):
        a, b = Member(id=1, weight=1, capacity=9), Member(id=2, weight=1, capacity=9)
        p = pick([a, b], salt=lead_id)
        assert p is not None
        winners.add(p.member.id)
    assert winners == {1, 2}


def test_pick_is_deterministic() -> None:
    def run() -> list[int]:
        members = _fresh([2, 1, 1])
        return [p.member.id for i in range(20) if (p := pick(members, salt=i)) is not None]

    assert run() == run()


def test_returning_member_gets_no_backlog() -> None:
    a, b = Member(id=1, weight=1, capacity=10**9), Member(id=2, weight=1, capacity=10**9)
    b.available = False
    for i in range(20):
        pick([a, b], salt=i)
    b.available = True
    a.load = b.load = 0
    for i in range(20):
        pick([a, b], salt=100 + i)
    assert abs(a.load - b.load) <= 1
