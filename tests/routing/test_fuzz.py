"""Property-based bad input (issue 23) for team files: whatever the file, clear one-line
errors naming the file and the line, or a team that loads and routes on SQLite and
PostgreSQL (never a traceback, never a database refusal). Each example runs in a savepoint
that is rolled back."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import insert
from sqlalchemy.orm import Session

from nurture.db import Lead
from nurture.errors import ConfigError
from nurture.routing import apply_team_file, fairness_report, parse_team_file, route_unassigned
from nurture.routing.yamlfile import problems_of

NOW = datetime(2026, 11, 25, 7, 0, tzinfo=UTC)
FUZZ = settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(),
    st.text(max_size=20),
    st.sampled_from(["NO", "ru", "Europe/Londn", "25:00-26:00", "x" * 400, "a@b", "*"]),
)
_any = st.recursive(
    _scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.sampled_from(["name", "email", "x", "from", "to"]), inner, max_size=3)
    ),
    max_leaves=12,
)
_words = st.text(min_size=1, max_size=30).filter(lambda t: t.strip() != "")
_values = st.lists(st.one_of(_words, st.sampled_from(["Москва", "Moscow", "*burg", "ru", "en"])))


@st.composite
def valid_teams(draw: st.DrawFn) -> dict[str, Any]:
    """Team files a sales manager could write."""
    emails = iter(f"m{i}@example.ru" for i in range(100))
    teams = []
    names = draw(st.lists(_words, min_size=1, max_size=3, unique=True))
    for t, name in enumerate(names):
        managers = []
        for _ in range(draw(st.integers(1, 3))):
            manager: dict[str, Any] = {"name": draw(_words), "email": next(emails)}
            if draw(st.booleans()):
                manager["weight"] = draw(st.floats(0, 1000))
                manager["weekly_capacity"] = draw(st.integers(0, 1_000_000))
            if draw(st.booleans()):
                manager["languages"] = draw(st.lists(st.sampled_from(["ru", "en", "de"])))
                manager["cities"] = draw(_values)
                manager["countries"] = draw(st.lists(st.sampled_from(["RU", "DE", "NO"])))
            if draw(st.booleans()):
                manager["timezone"] = draw(st.sampled_from(["Asia/Omsk", "UTC", "Europe/Berlin"]))
                manager["work_hours"] = draw(st.sampled_from(["08:00-17:00", "10:00-19:30"]))
            if draw(st.booleans()):
                manager["absences"] = [{"from": "2026-11-20", "to": "2026-11-26"}]
            managers.append(manager)
        team: dict[str, Any] = {"name": name, "managers": managers, "fallback": t == 0}
        if draw(st.booleans()):
            team["supervisor"] = {"name": draw(_words), "email": next(emails)}
        teams.append(team)
    rules = [
        {
            "name": draw(_words),
            "when": {
                draw(st.sampled_from(["city", "language", "company", "country"])): draw(_values)
            },
            "team": draw(st.sampled_from(names)),
        }
        for _ in range(draw(st.integers(0, 3)))
    ]
    return {
        "defaults": {"weekly_capacity": draw(st.integers(0, 100))},
        "teams": teams,
        "rules": rules,
    }


@st.composite
def team_files(draw: st.DrawFn) -> str:
    kind = draw(st.sampled_from(["valid", "valid", "spoiled", "spoiled", "cut", "nested", "any"]))
    data: Any = draw(_any) if kind == "any" else draw(valid_teams())
    if kind == "spoiled":
        team = draw(st.sampled_from(data["teams"]))
        target = draw(st.sampled_from([data, team, draw(st.sampled_from(team["managers"]))]))
        target[draw(st.sampled_from([*target, "extra"]))] = draw(_any)
    text = yaml.safe_dump(data, allow_unicode=True, sort_keys=False)
    if kind == "cut":
        at = draw(st.integers(0, len(text)))
        text = text[:at] + draw(st.text(max_size=4)) + text[at + draw(st.integers(0, 4)) :]
    elif kind == "nested":
        n = draw(st.integers(20, 3000))
        text += "deep: " + "{a: " * n + "1" + "}" * n + "\n"
    return text


@FUZZ
@given(text=team_files())
def test_any_team_file_is_clear_errors_or_loads_and_routes(session: Session, text: str) -> None:
    try:
        spec = parse_team_file(text, file="fuzz.yaml")
    except ConfigError as exc:
        for problem in problems_of(exc):
            message = problem.format_message()
            assert message.startswith("fuzz.yaml") and "\n" not in message, message
        return
    with session.begin_nested() as savepoint:
        apply_team_file(session, spec)
        session.execute(
            insert(Lead),
            [
                {"email": "f1@example.ru", "city": "Москва", "language": "ru", "country": "RU"},
                {"email": "f2@example.com", "language": "en", "company": "Acme"},
            ],
        )
        route_unassigned(session, now=NOW)
        fairness_report(session, now=NOW)
        savepoint.rollback()
