"""Helpers of the web tests: the small world they run in, signing in, CSRF tokens."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient

PASSWORD = "correct horse battery"
TEAM_YAML = """
defaults:
  timezone: Europe/Moscow
  work_hours: "09:00-18:00"
teams:
  - name: North
    supervisor: {name: Sonia Super, email: sonia@example.ru}
    managers:
      - {name: Maria Manager, email: maria@example.ru, languages: [ru]}
      - {name: Mark Other, email: mark@example.ru, languages: [en]}
  - name: South
    fallback: true
    supervisor: {name: Sam Super, email: sam@example.ru}
    managers:
      - {name: Stan South, email: stan@example.ru, timezone: Europe/London}
"""
#: role -> account e-mail
ACCOUNTS = {
    "manager": "maria@example.ru",
    "supervisor": "sonia@example.ru",
    "marketing": "mia@example.ru",
    "admin": "adam@example.ru",
}


@dataclass
class World:
    managers: dict[str, int] = field(default_factory=dict)  # e-mail -> managers.id
    leads: dict[str, int] = field(default_factory=dict)  # name -> leads.id
    tasks: dict[str, int] = field(default_factory=dict)  # name -> tasks.id
    now: datetime = field(default_factory=lambda: datetime.now(UTC))
    campaign: str = ""
    batch: int = 0
    deals: dict[str, int] = field(default_factory=dict)  # owner name -> deals.id


def add_lead(session: Any, name: str, owner: int | None, email: str) -> int:
    from nurture.db.leads import Lead

    first, last = name.split()
    lead = Lead(first_name=first, last_name=last, email=email, owner_id=owner, company="ACME")
    session.add(lead)
    session.flush()
    return lead.id


def add_task(
    session: Any,
    key: str,
    lead_id: int,
    manager_id: int,
    title: str,
    due: datetime,
    hard: bool = False,
) -> int:
    from nurture.db.cadence import Task

    task = Task(
        source_key=key,
        lead_id=lead_id,
        manager_id=manager_id,
        kind="call",
        title=title,
        instructions="Ask about the budget.",
        due_at=due,
        deadline="hard" if hard else "recommended",
    )
    session.add(task)
    session.flush()
    return task.id


def add_deals(session: Any, w: World) -> None:
    """A stored playbook version and an open deal for Maria's and Stan's leads (written as
    rows: the playbook engine that opens deals is the playbooks capability's)."""
    from nurture.db.playbooks import Deal, PlaybookVersion

    version = PlaybookVersion(
        name="b2b-sale",
        version=1,
        sha256="0" * 64,
        file_name="b2b-sale.yaml",
        definition={},
        source="",
    )
    session.add(version)
    session.flush()
    for who in ("maria", "stan"):
        deal = Deal(
            lead_id=w.leads[who],
            owner_id=w.managers[f"{who}@example.ru"],
            playbook="b2b-sale",
            version_id=version.id,
            version=1,
            stage="qualification",
            stage_entered_at=w.now,
            amount=150000.0,
            currency="RUB",
        )
        session.add(deal)
        session.flush()
        w.deals[who] = deal.id


def make_world() -> World:
    """Team North (supervisor Sonia; managers Maria, Mark), team South (Sam; Stan); one web
    account per role; a lead per manager with an overdue, a today and an upcoming task."""
    from sqlalchemy import select

    from nurture.db.session import session_scope
    from nurture.db.team import Manager
    from nurture.routing.admin import apply_team_file
    from nurture.routing.config import parse_team_file
    from nurture.web.accounts import add_user

    w = World()
    with session_scope() as s:
        apply_team_file(s, parse_team_file(TEAM_YAML))
        w.managers = {m.email: m.id for m in s.scalars(select(Manager))}
        for role, email in ACCOUNTS.items():
            add_user(s, email, role=role, password=PASSWORD)
        w.leads["maria"] = add_lead(
            s, "Ivan Petrov", w.managers["maria@example.ru"], "ivan@client.ru"
        )
        w.leads["mark"] = add_lead(
            s, "John Smith", w.managers["mark@example.ru"], "john@client.com"
        )
        w.leads["stan"] = add_lead(
            s, "Olga Sidorova", w.managers["stan@example.ru"], "olga@client.ru"
        )
        w.leads["nobody"] = add_lead(s, "Free Lead", None, "free@client.ru")
        for who in ("maria", "mark", "stan"):
            mid = w.managers[f"{who}@example.ru"]
            lead = w.leads[who]
            w.tasks[f"{who}-overdue"] = add_task(
                s,
                f"t.{who}.1",
                lead,
                mid,
                f"Call back {who} overdue",
                w.now - timedelta(hours=30),
                hard=True,
            )
            w.tasks[f"{who}-upcoming"] = add_task(
                s, f"t.{who}.2", lead, mid, f"Send offer {who} later", w.now + timedelta(days=3)
            )
        add_deals(s, w)
    return w


CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    match = CSRF.search(html)
    assert match, "no csrf_token in the page"
    return match.group(1)


def sign_in(client: TestClient, email: str, password: str = PASSWORD) -> TestClient:
    page = client.get("/login")
    response = client.post(
        "/login",
        data={"email": email, "password": password, "csrf_token": csrf_of(page.text)},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    return client


def add_campaign_and_import(world: World, tmp: Any) -> None:
    """The exhibition campaign (one enrolled lead) and one imported list with a bad row."""
    from pathlib import Path

    from nurture.cadence.campaigns import read_campaign_file, save_campaign
    from nurture.config import PROJECT_ROOT
    from nurture.db.cadence import Enrollment
    from nurture.db.session import session_scope
    from nurture.intake.pipeline import import_file

    with session_scope() as s:
        spec = read_campaign_file(PROJECT_ROOT / "examples/campaigns/exhibition.yaml")
        campaign, _ = save_campaign(s, spec)
        s.add(Enrollment(lead_id=world.leads["maria"], campaign_id=campaign.id))
        world.campaign = campaign.slug
    path = Path(tmp) / "expo.csv"
    path.write_text(
        "email,first_name,last_name,company\n"
        "anna@new.ru,Anna,New,Gamma\n"
        "not-an-address,Bad,Row,Delta\n",
        encoding="utf-8",
    )
    summary = import_file(path, event="Expo", kind="exhibition")
    world.batch = summary.batch_id


#: The analytics world's accounts: key -> (e-mail, role). ``west`` supervises a second team,
#: into which :data:`MOVED` (a manager of the planted history) moved.
ANALYTICS_USERS = {
    "marketing": ("mia@example.com", "marketing"),
    "admin": ("adam@example.com", "admin"),
    "supervisor": ("head@example.com", "supervisor"),
    "west": ("west@example.com", "supervisor"),
    "manager": ("m1@example.com", "manager"),
    "russian": ("olga@example.com", "marketing"),
}
MOVED = "Fiona Clarke"


def plant_history(url: str, leads: int = 600) -> Any:
    """A planted sales history (:mod:`nurture.analytics.history`) on the fresh database
    ``url``, a second team West with :data:`MOVED` in it, and the
    :data:`ANALYTICS_USERS`; returns the history."""
    from sqlalchemy import update
    from sqlalchemy.orm import Session

    from nurture.analytics import history
    from nurture.db.session import make_engine, session_scope
    from nurture.db.team import Manager, Team
    from nurture.web.accounts import add_user

    sim = history.generate(leads, seed=5)
    engine = make_engine(url)
    with Session(engine) as s, s.begin():
        history.write(s, sim)
    engine.dispose()
    with session_scope() as s:
        west = Team(name="West", supervisor_email="west@example.com")
        s.add(west)
        s.flush()
        s.add(
            Manager(email="west@example.com", name="Wanda West", team_id=west.id, role="supervisor")
        )
        s.execute(update(Manager).where(Manager.name == MOVED).values(team_id=west.id))
        for key, (email, role) in ANALYTICS_USERS.items():
            language = "ru" if key == "russian" else "en"
            add_user(s, email, role=role, password=PASSWORD, language=language)
    return sim
