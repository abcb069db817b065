"""Fixtures of the playbooks tests: a small sales team and leads, tasks written the way the
set-based writers write them, and a clock that tests move by hand."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from nurture.config import PROJECT_ROOT
from nurture.db.cadence import Task
from nurture.db.leads import Event, ImportBatch, Lead, LeadSource
from nurture.db.sql import TASK_INSERT_COLUMNS
from nurture.db.team import Manager, Team

EXAMPLES = PROJECT_ROOT / "examples"
PLAYBOOKS = EXAMPLES / "playbooks"
# Wednesday 2026-03-25 07:00 UTC = 10:00 in Moscow (inside work hours)
NOW = datetime(2026, 3, 25, 7, 0, tzinfo=UTC)


@dataclass
class World:
    session: Session
    teams: dict[str, Team] = field(default_factory=dict)
    people: dict[str, Manager] = field(default_factory=dict)
    _n: int = 0

    def staff(self) -> dict[str, Manager]:
        """Team Sales (supervisor boss@, managers olga@ and ivan@) and team Export (supervisor
        chief@ in London, manager emily@), the fallback."""
        if self.people:
            return self.people
        s = self.session
        sales = Team(name="Sales", supervisor_email="boss@example.com")
        export = Team(name="Export", supervisor_email="chief@example.com", is_fallback=True)
        s.add_all([sales, export])
        s.flush()
        self.teams = {"Sales": sales, "Export": export}
        rows = [
            ("boss@example.com", "Boris Bossov", sales, "supervisor", "Europe/Moscow", ["ru"]),
            ("olga@example.com", "Olga Petrova", sales, "manager", "Europe/Moscow", ["ru"]),
            ("ivan@example.com", "Ivan Ivanov", sales, "manager", "Europe/Moscow", ["ru"]),
            ("chief@example.com", "Charles Chief", export, "supervisor", "Europe/London", ["en"]),
            ("emily@example.com", "Emily Clark", export, "manager", "Europe/London", ["en"]),
        ]
        for email, name, team, role, tz, langs in rows:
            m = Manager(
                email=email,
                name=name,
                team_id=team.id,
                role=role,
                timezone=tz,
                languages=langs,
                weight=0.0 if role == "supervisor" else 1.0,
            )
            s.add(m)
            self.people[email.split("@")[0]] = m
        s.flush()
        return self.people

    def lead(self, owner: str | None = "olga", **fields: Any) -> Lead:
        self._n += 1
        values: dict[str, Any] = {
            "email": f"lead{self._n}@client.example",
            "first_name": "Anna",
            "last_name": f"Client{self._n}",
            "company": "ACME",
            "country": "RU",
            "timezone": "Europe/Moscow",
            "language": "ru",
            "created_at": NOW - timedelta(days=3),
        }
        if owner is not None:
            values["owner_id"] = self.staff()[owner].id
        values.update(fields)
        lead = Lead(**values)
        self.session.add(lead)
        self.session.flush()
        return lead

    def source(self, lead: Lead, kind: str = "exhibition", name: str = "Innoprom") -> None:
        ev = self.session.scalars(select(Event).where(Event.key == f"{kind}:{name}")).first()
        if ev is None:
            ev = Event(key=f"{kind}:{name}", name=name, kind=kind)
            self.session.add(ev)
            self.session.flush()
        batch = ImportBatch(file_name="badges.csv", file_sha256=f"{lead.id:064d}", event_id=ev.id)
        self.session.add(batch)
        self.session.flush()
        self.session.add(
            LeadSource(
                lead_id=lead.id,
                event_id=ev.id,
                batch_id=batch.id,
                row_number=7,
                file_name="badges.csv",
                outcome="created",
                created_at=lead.created_at,
            )
        )
        self.session.flush()

    def task(
        self,
        lead: Lead,
        *,
        kind: str = "call",
        due: datetime = NOW,
        hard: bool = True,
        key: str | None = None,
        title: str = "Call after the exhibition",
    ) -> Task:
        """A task inserted with exactly the columns the set-based writers fill."""
        self._n += 1
        values = [
            key or f"test.{kind}.{lead.id}.{self._n}",
            lead.id,
            lead.owner_id,
            kind,
            title,
            "Ask about the project.",
            due,
            "hard" if hard else "recommended",
            "open",
            NOW - timedelta(days=1),
        ]
        task_id = self.session.execute(
            insert(Task)
            .values(dict(zip(TASK_INSERT_COLUMNS, values, strict=True)))
            .returning(Task.id)
        ).scalar_one()
        task = self.session.get(Task, task_id)
        assert task is not None
        return task


@pytest.fixture()
def world(session: Session) -> World:
    return World(session)


@pytest.fixture()
def playbooks_dir() -> Path:
    return PLAYBOOKS


def load_playbook(
    session: Session, name: str, *, now: datetime = NOW, text: str | None = None
) -> int:
    """Load ``examples/playbooks/<name>.yaml`` (or ``text``); returns the version number."""
    from nurture.playbooks import parse_playbook, save_version

    source = text if text is not None else (PLAYBOOKS / f"{name}.yaml").read_text(encoding="utf-8")
    spec = parse_playbook(source, file=f"{name}.yaml", templates_dir=PROJECT_ROOT / "templates")
    row, _ = save_version(session, spec, source, file_name=f"{name}.yaml", now=now)
    return row.version


@pytest.fixture()
def sales(world: World) -> World:
    """The world with both example playbooks loaded and role pools: engineer = ivan,
    head_of_sales = chief."""
    from nurture.playbooks import load_roles

    world.staff()
    load_playbook(world.session, "b2b-sale")
    load_playbook(world.session, "event-invitation")
    load_roles(
        world.session, {"engineer": ["ivan@example.com"], "head_of_sales": ["chief@example.com"]}
    )
    return world


@pytest.fixture()
def loader() -> Any:
    """:func:`load_playbook` for tests that load a changed playbook."""
    return load_playbook


@pytest.fixture(autouse=True)
def _fresh_playbook_settings() -> Any:
    """Each test reads ``NURTURE_REQUESTS_*`` afresh (as the house fixture does for the rest)."""
    from nurture.playbooks.settings import get_playbook_settings

    get_playbook_settings.cache_clear()
    yield
    get_playbook_settings.cache_clear()


@pytest.fixture()
def cli_db(fresh_db: str) -> Any:
    """``fresh_db`` for tests that go through the CLI or a flow (the process-wide engine):
    its connections are closed before the database goes, so none is left to the garbage
    collector (a ResourceWarning under ``filterwarnings = error``)."""
    yield fresh_db
    from nurture.db.session import get_engine

    get_engine().dispose()
