"""Dormancy counts from the last sign of life, whatever the import date, in `score rank`
and in the cadence's re-engagement (one definition, nurture.scoring.dormancy)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from nurture.cadence.campaigns import read_campaign_file, save_campaign
from nurture.cadence.dormant import candidates
from nurture.cli import app
from nurture.config import PROJECT_ROOT
from nurture.db.cadence import Engagement, Purchase
from nurture.db.leads import Event, ImportBatch, Lead, LeadSource
from nurture.db.scoring import LeadScore
from nurture.db.session import make_engine, session_scope
from nurture.scoring.dormancy import dormant_at, last_signs
from nurture.scoring.ranking import rank_dormant, why_none_dormant

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
YEAR_AGO = NOW - timedelta(days=400)
RECENT = NOW - timedelta(days=10)


class People:
    """Leads with purchases, engagement, events and scores, written through ``session``."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.n = 0

    def lead(self, **fields: Any) -> Lead:
        self.n += 1
        values: dict[str, Any] = {
            "email": f"p{self.n}@example.com",
            "first_name": f"P{self.n}",
            "created_at": NOW,  # imported today
            "status": "open",
        }
        values.update(fields)
        lead = Lead(**values)
        self.session.add(lead)
        self.session.flush()
        return lead

    def bought(self, lead: Lead, when: datetime, amount: float = 1000.0) -> None:
        self.session.add(
            Purchase(
                source_key=f"k{self.n}-{lead.id}-{when.isoformat()}",
                lead_id=lead.id,
                purchased_at=when,
                amount=amount,
            )
        )
        if lead.last_activity_at is None or lead.last_activity_at < when:
            lead.last_activity_at = when  # what `purchases import` records
        lead.status = "converted" if lead.status == "open" else lead.status
        self.session.flush()

    def engaged(self, lead: Lead, kind: str, when: datetime) -> None:
        self.session.add(Engagement(lead_id=lead.id, kind=kind, occurred_at=when))
        self.session.flush()

    def met(self, lead: Lead, on: date | None, name: str = "Expo") -> None:
        event = Event(key=f"exhibition:{name}:{on}:{self.n}", name=name, kind="exhibition")
        event.event_date = on
        self.session.add(event)
        self.session.flush()
        batch = ImportBatch(file_name="x.csv", file_sha256=f"{lead.id:064d}", event_id=event.id)
        self.session.add(batch)
        self.session.flush()
        self.session.add(
            LeadSource(
                lead_id=lead.id,
                event_id=event.id,
                batch_id=batch.id,
                row_number=2,
                file_name="x.csv",
                outcome="created",
            )
        )
        self.session.flush()

    def score(self, lead: Lead, value: float) -> None:
        self.session.add(
            LeadScore(
                lead_id=lead.id,
                model_version="local:rfm",
                as_of=NOW.date(),
                predicted_value=value,
                p_purchase=0.5,
                scored_at=NOW,
            )
        )
        self.session.flush()

    def dormant_ids(self, days: int = 180) -> set[int]:
        cutoff = NOW - timedelta(days=days)
        return set(self.session.scalars(select(Lead.id).where(dormant_at(cutoff))))


@pytest.fixture()
def people(session: Session) -> People:
    return People(session)


def test_customer_imported_today_with_last_years_purchases_is_dormant_now(
    people: People, session: Session
) -> None:
    customer = people.lead(company="Romashka")
    people.bought(customer, YEAR_AGO, 450_000.0)
    people.score(customer, 1234.0)
    ranked = rank_dormant(session=session, dormant_days=180, now=NOW)
    assert [r["lead_id"] for r in ranked] == [customer.id]
    assert ranked[0]["status"] == "converted"  # customers are re-engaged, not only prospects
    assert ranked[0]["silent_days"] == 400
    # The cadence's re-engagement campaign sees the same customer.
    spec = read_campaign_file(PROJECT_ROOT / "examples" / "campaigns" / "dormant.yaml")
    campaign, _ = save_campaign(session, spec)
    assert [c.lead_id for c in candidates(session, campaign, spec, now=NOW)] == [customer.id]


@pytest.mark.parametrize(
    "recent_sign",
    ["purchase", "click", "reply", "activity", "merged duplicate's purchase"],
)
def test_a_sign_of_life_after_the_cutoff_keeps_a_lead_awake(
    people: People, recent_sign: str
) -> None:
    lead = people.lead()
    people.bought(lead, YEAR_AGO)
    if recent_sign == "purchase":
        people.bought(lead, RECENT)
    elif recent_sign in ("click", "reply"):
        people.engaged(lead, recent_sign, RECENT)
    elif recent_sign == "activity":
        lead.last_activity_at = RECENT  # an outcome recorded by a manager
    else:
        duplicate = people.lead(merged_into_id=lead.id)
        people.session.add(
            Purchase(source_key="dup", lead_id=duplicate.id, purchased_at=RECENT, amount=5.0)
        )
    people.session.flush()
    assert lead.id not in people.dormant_ids()
    assert last_signs(people.session, [lead.id])[lead.id] == RECENT


def test_opens_and_old_signs_do_not_wake_a_lead(people: People) -> None:
    lead = people.lead()
    people.engaged(lead, "reply", YEAR_AGO)
    people.engaged(lead, "open", RECENT)  # a mail client fetching images proves nothing
    assert lead.id in people.dormant_ids()
    assert last_signs(people.session, [lead.id])[lead.id] == YEAR_AGO


def test_without_any_sign_a_lead_counts_from_where_it_was_met_else_its_creation(
    people: People,
) -> None:
    old_list = people.lead()  # imported today from last year's exhibition
    people.met(old_list, YEAR_AGO.date())
    new_list = people.lead()  # imported today from last week's
    people.met(new_list, RECENT.date())
    undated = people.lead()  # a web form: no event date, created today
    people.met(undated, None, name="Website")
    old_lead = people.lead(created_at=YEAR_AGO)
    dormant = people.dormant_ids()
    assert old_list.id in dormant and old_lead.id in dormant
    assert new_list.id not in dormant and undated.id not in dormant
    # A purchase is a sign of life: it outweighs the date the customer was met.
    customer = people.lead()
    people.met(customer, RECENT.date())
    people.bought(customer, YEAR_AGO)
    assert customer.id in people.dormant_ids()
    signs = last_signs(people.session, [old_list.id, undated.id, customer.id])
    assert signs == {old_list.id: YEAR_AGO.replace(hour=0), undated.id: NOW, customer.id: YEAR_AGO}


def test_who_cannot_be_reengaged_is_never_ranked(people: People, session: Session) -> None:
    kept = []
    for fields in (
        {},
        {"status": "lost"},
        {"status": "closed"},
        {"do_not_contact": True},
        {"unsubscribed_at": YEAR_AGO},
    ):
        lead = people.lead(**fields)
        people.bought(lead, YEAR_AGO)
        people.score(lead, 10.0)
        kept.append(lead)
    ranked = {r["lead_id"] for r in rank_dormant(session=session, dormant_days=180, now=NOW)}
    assert ranked == {kept[0].id, kept[1].id}


def test_why_the_ranking_is_empty(people: People, session: Session) -> None:
    def why() -> str:
        return why_none_dormant(session=session, dormant_days=180, now=NOW)

    assert "no leads yet" in why() and "nurture import" in why()
    lead = people.lead()
    people.bought(lead, NOW - timedelta(days=150))
    assert "no lead has a score yet (1 lead in the database): run `nurture score leads`" in why()
    people.score(lead, 10.0)
    assert why() == (
        "no lead that can be re-engaged has been silent for 180 days (1 scored lead checked):"
        f" the longest silence is 150 days (lead {lead.id}); try --dormant-days 150"
    )
    lead.status = "closed"
    session.flush()
    assert why().startswith("no scored lead can be re-engaged (1 scored lead, each closed")


@pytest.mark.slow
def test_score_rank_says_the_real_cause_in_one_line(fresh_db: str) -> None:
    engine = make_engine(fresh_db)
    with session_scope(engine) as session:
        people = People(session)
        lead = people.lead()
        people.bought(lead, NOW - timedelta(days=100))
        people.score(lead, 10.0)
    engine.dispose()
    runner = CliRunner()
    args = ["score", "rank", "--now", NOW.isoformat()]
    human = runner.invoke(app, args)
    assert human.exit_code == 0, human.output
    assert human.stdout.strip() == (
        "no dormant leads to rank: no lead that can be re-engaged has been silent for 180 days"
        " (1 scored lead checked): the longest silence is 100 days (lead 1);"
        " try --dormant-days 100"
    )
    payload = json.loads(runner.invoke(app, [*args, "--json"]).stdout)
    assert payload["leads"] == [] and "longest silence is 100 days" in payload["reason"]
    ranked = json.loads(runner.invoke(app, [*args, "--dormant-days", "90", "--json"]).stdout)
    assert [r["lead_id"] for r in ranked["leads"]] == [1] and ranked["reason"] is None
