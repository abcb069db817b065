"""Loading the team file into the database: idempotent, departures, no credit reset."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from nurture.db import Absence, Lead, Manager, RoutingRule, Team
from nurture.routing import route_unassigned
from nurture.routing.admin import apply_team_file
from nurture.routing.config import load_team_file, parse_team_file

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "team.yaml"


def _credits(session: Session) -> dict[str, float]:
    return dict(session.execute(select(Manager.email, Manager.rr_credit)).all())


def test_load_twice_is_a_no_op(session: Session) -> None:
    spec = load_team_file(EXAMPLE)
    first = apply_team_file(session, spec)
    second = apply_team_file(session, spec)
    assert first.created == 11 and second.created == 0 and second.absences_added == 0
    assert session.execute(select(func.count()).select_from(Team)).scalar_one() == 3
    assert session.execute(select(func.count()).select_from(Absence)).scalar_one() == 1
    assert session.execute(select(func.count()).select_from(RoutingRule)).scalar_one() == 6
    fallback = session.execute(select(Team.name).where(Team.is_fallback)).scalars().all()
    assert fallback == ["St Petersburg & International"]
    supervisors = session.execute(
        select(Manager.email).where(Manager.role == "supervisor")
    ).scalars()
    assert set(supervisors) == {
        "anna.smirnova@example.ru",
        "sergey.kuznetsov@example.ru",
        "marina.lebedeva@example.ru",
    }


def test_adding_a_member_keeps_everyone_elses_credit(session: Session, now: datetime) -> None:
    text = EXAMPLE.read_text(encoding="utf-8")
    apply_team_file(session, parse_team_file(text))
    session.execute(insert(Lead), [{"email": f"x{i}@ex.ru", "city": "Москва"} for i in range(7)])
    route_unassigned(session, now=now)
    before = _credits(session)
    grown = text.replace(
        "      - name: Dmitry Volkov\n",
        "      - name: Maxim Belov\n        email: maxim.belov@example.ru\n"
        "        weight: 1\n      - name: Dmitry Volkov\n",
    )
    apply_team_file(session, parse_team_file(grown))
    after = _credits(session)
    assert after["maxim.belov@example.ru"] == 0.0
    assert {k: v for k, v in after.items() if k in before} == before
    assert any(v != 0 for v in before.values())


def test_manager_missing_from_the_file_is_departed(session: Session) -> None:
    text = EXAMPLE.read_text(encoding="utf-8")
    apply_team_file(session, parse_team_file(text))
    shrunk = text.replace(
        "      - name: James Walker\n        email: james.walker@example.com\n",
        "      - name: X\n        email: james.walker2@example.com\n",
    )
    out = apply_team_file(session, parse_team_file(shrunk))
    assert out.departed == 1
    gone: Any = session.execute(
        select(Manager).where(Manager.email == "james.walker@example.com")
    ).scalar_one()
    assert gone.active is False
