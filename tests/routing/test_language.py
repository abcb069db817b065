"""Inside a team, a manager who speaks the lead's language comes first; the routing
explanation says so; the example team routes Russian-speaking regional leads to Russian
speakers; and the fairness report expects of each manager only the leads they were
eligible for."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from nurture.db import Lead, Manager, Team
from nurture.routing import apply_team_file, fairness_report, load_team_file, route_unassigned
from nurture.routing.engine import ManagerInfo, Router, TeamInfo
from nurture.routing.rules import LeadFacts

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "team.yaml"


def spb_and_international(capacity: int = 40) -> Router:
    """The fallback team of the example file: one Russian speaker bound to St Petersburg,
    two English speakers."""
    alexei = ManagerInfo(
        1,
        "alexei@x.ru",
        "Alexei Ivanov",
        "Intl",
        weight=1.5,
        capacity=capacity,
        profile={"languages": ["ru"], "cities": ["Saint Petersburg"]},
    )
    emily = ManagerInfo(
        2, "emily@x.com", "Emily Clark", "Intl", capacity=capacity, profile={"languages": ["en"]}
    )
    james = ManagerInfo(
        3,
        "james@x.com",
        "James Walker",
        "Intl",
        capacity=capacity,
        profile={"languages": ["en", "de"]},
    )
    return Router([TeamInfo(10, "Intl", fallback=True, managers=[alexei, emily, james])], [])


def test_a_speaker_of_the_leads_language_comes_first_and_the_reason_says_so() -> None:
    router = spb_and_international()
    for i, city in enumerate(["Yekaterinburg", "Novosibirsk"] * 10):
        d = router.decide(LeadFacts(i, city=city, country="RU", language="ru"))
        assert d is not None and d.manager_id == 1, d
        assert d.reason.startswith(
            "no rule matched -> team Intl (fallback) -> speaks ru -> Alexei Ivanov (weight 1.5, "
        ), d.reason


def test_without_a_free_speaker_the_lead_still_goes_and_the_reason_says_why() -> None:
    router = spb_and_international(capacity=1)
    first = router.decide(LeadFacts(1, city="Omsk", language="ru"))
    assert first is not None and first.manager_id == 1
    second = router.decide(LeadFacts(2, city="Omsk", language="ru"))
    assert second is not None and second.manager_id in (2, 3)
    assert "-> no one free speaks ru -> " in second.reason


def test_the_language_goes_unsaid_when_everyone_speaks_it() -> None:
    router = spb_and_international()
    d = router.decide(LeadFacts(1, city="Berlin"))  # no language: nothing to prefer
    assert d is not None and "speaks" not in d.reason


def test_example_team_routes_russian_regions_to_russian_speakers(
    session: Session, now: datetime
) -> None:
    apply_team_file(session, load_team_file(EXAMPLE))
    rows = [
        {"email": f"r{i}@example.ru", "city": city, "country": "RU", "language": "ru"}
        for i, city in enumerate(["Екатеринбург", "Yekaterinburg", "Новосибирск", "Omsk", None] * 4)
    ]
    ids = list(session.execute(insert(Lead).returning(Lead.id), rows).scalars())
    route_unassigned(session, now=now)
    owners = session.execute(
        select(Lead.city, Manager.name, Manager.languages)
        .join(Manager, Manager.id == Lead.owner_id)
        .where(Lead.id.in_(ids))
    ).all()
    assert len(owners) == len(ids)
    assert all("ru" in (languages or []) for _city, _name, languages in owners), owners
    by_city = {(city, name) for city, name, _ in owners}
    assert ("Екатеринбург", "Irina Sokolova") in by_city
    assert ("Новосибирск", "Pavel Morozov") in by_city


def _team(session: Session, people: list[dict[str, Any]]) -> Team:
    team = Team(name="Solo", is_fallback=True)
    session.add(team)
    session.flush()
    session.add_all([Manager(team_id=team.id, weekly_capacity=1000, **p) for p in people])
    session.flush()
    return team


def test_report_expects_of_each_manager_only_the_leads_they_could_get(
    session: Session, now: datetime
) -> None:
    _team(
        session,
        [
            {"email": "olga@x.ru", "name": "Olga", "languages": ["ru", "en"]},
            {"email": "ivan@x.ru", "name": "Ivan", "languages": ["ru"]},
            {"email": "john@x.com", "name": "John", "languages": ["en"]},
        ],
    )
    session.execute(
        insert(Lead),
        [{"email": f"ru{i}@x.ru", "language": "ru"} for i in range(30)]
        + [{"email": f"en{i}@x.com", "language": "en"} for i in range(12)],
    )
    route_unassigned(session, now=now)
    report = fairness_report(session, now=now)
    rows = {r.email: r for r in report.managers}
    # Russian leads: Olga or Ivan (15 each); English ones: Olga or John (6 each)
    assert rows["olga@x.ru"].expected == 21.0
    assert rows["ivan@x.ru"].expected == 15.0
    assert rows["john@x.com"].expected == 6.0
    assert sum(r.assigned for r in rows.values()) == 42
    assert report.max_deviation <= 1.0, [(r.email, r.assigned, r.expected) for r in rows.values()]
