"""Fixtures of the cadence tests: campaigns from examples/, a small world of leads."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session

from nurture.cadence.campaigns import (
    CampaignSpec,
    parse_campaign,
    read_campaign_file,
    save_campaign,
)
from nurture.config import PROJECT_ROOT
from nurture.db.cadence import Campaign
from nurture.db.leads import Event, ImportBatch, Lead, LeadSource
from nurture.db.team import Manager, Team

CAMPAIGNS = PROJECT_ROOT / "examples" / "campaigns"
# Friday 2026-03-27 06:00 UTC: before the window opens in Moscow (10:00 = 07:00 UTC)
NOW = datetime(2026, 3, 27, 6, 0, tzinfo=UTC)


@dataclass
class World:
    session: Session
    campaigns: dict[str, Campaign] = field(default_factory=dict)
    events: dict[str, Event] = field(default_factory=dict)
    team: Team | None = None
    managers: list[Manager] = field(default_factory=list)
    _rows: int = 0
    _batches: int = 0

    def load(self, path: Path | str) -> Campaign:
        spec = read_campaign_file(Path(path))
        campaign, _ = save_campaign(self.session, spec)
        self.campaigns[spec.slug] = campaign
        return campaign

    def load_text(self, text: str) -> tuple[Campaign, CampaignSpec]:
        spec = parse_campaign(text, file="test.yaml")
        campaign, _ = save_campaign(self.session, spec)
        self.campaigns[spec.slug] = campaign
        return campaign, spec

    def event(self, kind: str, name: str = "Expo") -> Event:
        key = f"{kind}:{name}"
        if key not in self.events:
            ev = Event(key=key, name=name, kind=kind)
            self.session.add(ev)
            self.session.flush()
            self.events[key] = ev
        return self.events[key]

    def staff(self) -> list[Manager]:
        if not self.managers:
            self.team = Team(name="Sales", supervisor_email="boss@example.com")
            self.session.add(self.team)
            self.session.flush()
            self.managers = [
                Manager(email=f"m{i}@example.com", name=f"M{i}", team_id=self.team.id)
                for i in range(2)
            ]
            self.session.add_all(self.managers)
            self.session.flush()
        return self.managers

    def lead(self, kind: str | None = "exhibition", **fields: Any) -> Lead:
        self._rows += 1
        values: dict[str, Any] = {
            "email": f"lead{self._rows}@example.com",
            "first_name": "Anna",
            "last_name": "Petrova",
            "country": "RU",
            "timezone": "Europe/Moscow",
            "language": "ru",
            "created_at": NOW - timedelta(hours=12),
        }
        values.update(fields)
        lead = Lead(**values)
        self.session.add(lead)
        self.session.flush()
        if kind is not None:
            self.met_at(lead, kind)
        return lead

    def met_at(self, lead: Lead, kind: str, file_name: str = "x.csv") -> None:
        """Record that ``lead`` came from an event of ``kind`` (a one-row import)."""
        self._batches += 1
        ev = self.event(kind)
        batch = ImportBatch(
            file_name=file_name, file_sha256=f"{self._batches:064d}", event_id=ev.id
        )
        self.session.add(batch)
        self.session.flush()
        self.session.add(
            LeadSource(
                lead_id=lead.id,
                event_id=ev.id,
                batch_id=batch.id,
                row_number=2,
                file_name=file_name,
                outcome="created",
            )
        )
        self.session.flush()


@pytest.fixture()
def world(session: Session) -> World:
    return World(session)


@pytest.fixture()
def exhibition(world: World) -> Campaign:
    return world.load(CAMPAIGNS / "exhibition.yaml")


SIMPLE = """
slug: {slug}
name: {name}
priority: {priority}
audience: {{event_kinds: [{kind}]}}
window: {{start: "10:00", end: "18:00", days: [mon-fri], holidays: true}}
steps:
  - {{name: hello, day: 0, channel: email}}
  - {{name: call, day: 1, channel: call, deadline: hard}}
  - {{name: again, day: 2, channel: email}}
"""


@pytest.fixture()
def simple_campaign() -> Callable[..., str]:
    def make(slug: str = "simple", kind: str = "seminar", priority: int = 0) -> str:
        return SIMPLE.format(slug=slug, name=slug.title(), priority=priority, kind=kind)

    return make
