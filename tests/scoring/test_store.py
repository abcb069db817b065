"""The database edge on SQLite and PostgreSQL: load, score in batches, upsert, rank."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import Engine, func, insert, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from nurture.cli import app
from nurture.db.cadence import Engagement, Purchase
from nurture.db.leads import Lead
from nurture.db.scoring import LeadScore
from nurture.db.session import make_engine, session_scope
from nurture.scoring.data import synthetic_transactions
from nurture.scoring.model import LeadValueModel
from nurture.scoring.ranking import rank_dormant
from nurture.scoring.store import (
    latest_scores_subquery,
    load_lead_data,
    load_transactions,
    score_leads,
    write_scores,
)

CREATED = datetime(2021, 12, 1, tzinfo=UTC)
AS_OF = date(2023, 12, 31)


def populate(session: Session, n_buyers: int = 250, n_new: int = 40) -> dict[str, int]:
    """Leads with synthetic purchase histories, some leads without purchases, engagement."""
    tx = synthetic_transactions(n_buyers, start="2022-01-01", days=730, seed=3)
    rows = [
        {
            "email": f"lead{i}@example.com",
            "first_name": f"L{i}",
            "created_at": CREATED,
            "segment": "student" if i % 3 == 0 else "smb",
            "title": "Student" if i % 3 == 0 else "Owner",
            "do_not_contact": i == 1,
        }
        for i in range(n_buyers + n_new)
    ]
    ids = list(session.scalars(insert(Lead).returning(Lead.id), rows))
    session.flush()
    by_customer = {f"c{i}": ids[i] for i in range(n_buyers)}
    session.execute(
        insert(Purchase),
        [
            {
                "source_key": f"p{k}",
                "lead_id": by_customer[r.customer_id],
                "purchased_at": r.date.to_pydatetime().replace(tzinfo=UTC),
                "amount": float(r.amount),
                "quantity": int(r.quantity),
            }
            for k, r in enumerate(tx.itertuples())
        ],
    )
    session.execute(
        insert(Engagement),
        [
            {
                "lead_id": ids[n_buyers + j],
                "kind": "click",
                "occurred_at": datetime(2023, 5, 1, tzinfo=UTC),
            }
            for j in range(0, n_new, 2)
        ],
    )
    session.flush()
    return {"first": ids[0], "dnc": ids[1], "purchases": len(tx), "leads": len(ids)}


def test_load_and_score_round_trip(session: Session) -> None:
    info = populate(session)
    tx = load_transactions(session=session)
    assert len(tx) == info["purchases"]
    leads = load_lead_data(session=session, batch_size=37)  # several partitions
    assert len(leads.leads) == info["leads"]
    assert set(leads.engagements["kind"]) == {"click"}
    model = LeadValueModel(max_iter=20, horizon_days=120).fit(tx, AS_OF, leads)
    result = score_leads(
        session=session, model=model, model_version="vtest", as_of=AS_OF, batch_size=100
    )
    assert result["scored"] == info["leads"]
    stored = session.scalar(select(func.count()).select_from(LeadScore))
    assert stored == info["leads"]
    # Scoring again updates in place: still one row per lead and version.
    score_leads(session=session, model=model, model_version="vtest", as_of=AS_OF, batch_size=1000)
    assert session.scalar(select(func.count()).select_from(LeadScore)) == info["leads"]


def test_latest_score_wins_and_rank_excludes_uncontactable(session: Session) -> None:
    info = populate(session, n_buyers=30, n_new=4)
    first, dnc = info["first"], info["dnc"]
    lead_ids = [first, dnc, first + 2, first + 3]
    old = pd.DataFrame(
        {
            "lead_id": lead_ids,
            "predicted_value": [500.0, 900.0, 10.0, 20.0],
            "p_purchase": [0.5, 0.9, 0.1, 0.2],
        }
    )
    write_scores(
        session=session,
        scores=old,
        model_version="v1",
        as_of=AS_OF,
        scored_at=datetime(2024, 1, 1, tzinfo=UTC),
    )
    new = old.assign(predicted_value=[1.0, 900.0, 300.0, 200.0])
    write_scores(
        session=session,
        scores=new,
        model_version="v2",
        as_of=AS_OF,
        scored_at=datetime(2024, 2, 1, tzinfo=UTC),
    )
    latest = (
        session.execute(select(latest_scores_subquery().c.model_version).distinct()).scalars().all()
    )
    assert latest == ["v2"]
    ranked = rank_dormant(
        session=session, dormant_days=180, top=10, now=datetime(2026, 6, 30, tzinfo=UTC)
    )
    ids = [r["lead_id"] for r in ranked]
    assert dnc not in ids  # do-not-contact is never re-engaged
    assert ids[:3] == [first + 2, first + 3, first]  # latest version's values, descending
    assert [r["rank"] for r in ranked] == list(range(1, len(ranked) + 1))
    # Not dormant yet: a purchase within the window keeps a lead out of the list.
    recent = rank_dormant(
        session=session, dormant_days=3000, top=10, now=datetime(2026, 6, 30, tzinfo=UTC)
    )
    assert recent == []


@pytest.mark.slow
def test_cli_train_score_rank(
    fresh_db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from nurture.config import get_settings

    monkeypatch.setenv("NURTURE_MODELS_DIR", str(tmp_path / "models"))
    get_settings.cache_clear()
    engine: Engine = make_engine(fresh_db)
    with session_scope(engine) as session:
        populate(session, n_buyers=250, n_new=20)
    engine.dispose()
    runner = CliRunner()
    trained = runner.invoke(
        app,
        [
            "score",
            "train",
            "--as-of",
            "2023-12-31",
            "--horizon-days",
            "120",
            "--n-boot",
            "10",
            "--json",
        ],
    )
    assert trained.exit_code == 0, trained.output
    version = json.loads(trained.stdout)["version"]
    published = tmp_path / "models" / "lead-value" / version
    assert (published / "model.skops").is_file()
    card = json.loads((published / "card.json").read_text())
    assert len(card["data"]["database_fingerprint"]) == 64
    assert "Nurture scores with it only the database it was trained on" in card["intended_use"]
    scored = runner.invoke(
        app, ["score", "leads", "--as-of", "2023-12-31", "--batch-size", "100", "--json"]
    )
    assert scored.exit_code == 0, scored.output
    result = json.loads(scored.stdout)
    assert result["scored"] == 270 and result["model_version"] == version
    # Trained on this very database: the model scores, and nothing needs saying.
    assert result["method"] == "model" and result["model_trained_here"] is True
    assert result["note"] is None
    ranked = runner.invoke(
        app,
        ["score", "rank", "--top", "5", "--now", "2024-12-31", "--dormant-days", "300", "--json"],
    )
    assert ranked.exit_code == 0, ranked.output
    payload = json.loads(ranked.stdout)
    assert payload["method"] == "model" and payload["note"] is None
    leads = payload["leads"]
    assert len(leads) == 5
    values = [r["predicted_value"] for r in leads]
    assert values == sorted(values, reverse=True)
    human = runner.invoke(app, ["score", "rank", "--top", "3", "--now", "2024-12-31"])
    assert human.exit_code == 0 and "lead" in human.stdout
