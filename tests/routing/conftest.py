"""Fixtures for routing: a small two-team configuration seeded straight into the database."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import insert
from sqlalchemy.orm import Session

from nurture.db import Absence, Lead, Manager, RoutingRule, Team

_SEQ = itertools.count(1)

# Wednesday 10:00 Moscow time
NOW = datetime(2026, 11, 25, 7, 0, tzinfo=UTC)


def seed_team(session: Session) -> dict[str, Any]:
    """Moscow (Olga w2, Ivan w1, supervisor Anna) and International (fallback: John, Maria on
    leave). Rules: Moscow city -> Moscow; VIP company -> Olga directly."""
    moscow = Team(name="Moscow", supervisor_email="anna.smirnova@example.ru")
    intl = Team(name="International", supervisor_email="kate.brown@example.com", is_fallback=True)
    session.add_all([moscow, intl])
    session.flush()
    people = {
        "olga": Manager(
            email="olga.petrova@example.ru",
            name="Olga Petrova",
            team_id=moscow.id,
            weight=2,
            weekly_capacity=40,
            languages=["ru"],
        ),
        "ivan": Manager(
            email="ivan.sidorov@example.ru",
            name="Ivan Sidorov",
            team_id=moscow.id,
            weight=1,
            weekly_capacity=40,
            languages=["ru"],
        ),
        "anna": Manager(
            email="anna.smirnova@example.ru",
            name="Anna Smirnova",
            team_id=moscow.id,
            role="supervisor",
        ),
        "john": Manager(
            email="john.smith@example.com",
            name="John Smith",
            team_id=intl.id,
            weight=1,
            weekly_capacity=40,
            timezone="Europe/London",
            languages=["en"],
        ),
        "maria": Manager(
            email="maria.garcia@example.com",
            name="Maria Garcia",
            team_id=intl.id,
            weight=1,
            weekly_capacity=40,
            languages=["en"],
        ),
    }
    session.add_all(people.values())
    session.flush()
    session.add(
        Absence(
            manager_id=people["maria"].id,
            starts_on=date(2026, 11, 16),
            ends_on=date(2026, 12, 4),
            reason="vacation",
        )
    )
    session.add_all(
        [
            RoutingRule(
                position=1,
                name="VIP",
                conditions={"company": ["*Gazprom*"]},
                manager_id=people["olga"].id,
            ),
            RoutingRule(
                position=2,
                name="Moscow",
                conditions={"city": ["Moscow", "Москва"]},
                team_id=moscow.id,
            ),
        ]
    )
    session.flush()
    return {"teams": {"moscow": moscow, "intl": intl}, **people}


def add_leads(session: Session, n: int, **fields: Any) -> list[int]:
    rows = [
        {"first_name": f"Lead{i}", "email": f"lead{next(_SEQ)}@example.org", **fields}
        for i in range(n)
    ]
    return list(session.execute(insert(Lead).returning(Lead.id), rows).scalars())


@pytest.fixture()
def team(session: Session) -> dict[str, Any]:
    return seed_team(session)


@pytest.fixture()
def now() -> datetime:
    return NOW


@pytest.fixture()
def leads(session: Session) -> Any:
    """``leads(n, city=...)`` inserts n open unassigned leads and returns their ids."""

    def make(n: int, **fields: Any) -> list[int]:
        return add_leads(session, n, **fields)

    return make


@pytest.fixture()
def seed() -> Any:
    """``seed(session)`` writes the two-team configuration (for tests with real commits)."""
    return seed_team
