"""The committed CDNOW model (US dollars, 1997) does not rank a rouble database: `score leads`
and `score rank` say so and use a method fitted on the database until one is trained here."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from nurture.cadence.purchases import import_purchases
from nurture.cli import app
from nurture.config import PROJECT_ROOT, get_settings
from nurture.db.leads import Lead
from nurture.db.session import make_engine, session_scope
from nurture.scoring import registry

NOW = "2026-12-06T12:00:00"
runner = CliRunner()


def invoke(*args: str) -> dict[str, object]:
    result = runner.invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    payload: dict[str, object] = json.loads(result.stdout)
    return payload


@pytest.fixture()
def rouble_database(fresh_db: str) -> dict[str, int]:
    """The demo's customers, imported today, with their purchases (examples/purchases.csv)."""
    names = {
        "ivan.ivanov@romashka.ru": "Ivanov",
        "a.petrova@uralmash.ru": "Petrova",  # 1,250,000 in July
        "m.kuznetsova@tehno.ru": "Kuznetsova",
        "s.orlov@neftegaz.ru": "Orlov",  # 15,000 in October
        "john.smith@acme.com": "Smith",
    }
    engine = make_engine(fresh_db)
    ids = {}
    with session_scope(engine) as session:
        for email, name in names.items():
            lead = Lead(email=email, last_name=name, created_at=datetime.now(UTC))
            session.add(lead)
            session.flush()
            ids[name] = lead.id
        result = import_purchases(session, PROJECT_ROOT / "examples" / "purchases.csv")
        assert result.imported == 6
    engine.dispose()
    return ids


@pytest.mark.slow
def test_rouble_customers_ranked_by_a_method_fitted_here(
    rouble_database: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    committed = PROJECT_ROOT / "models"
    monkeypatch.setenv("NURTURE_MODELS_DIR", str(committed))  # only read, never written
    get_settings.cache_clear()
    cdnow = registry.current_version(committed)
    scored = invoke("score", "leads", "--as-of", NOW[:10])
    assert scored["method"] == "rfm" and scored["model_version"] == "local:rfm"
    assert scored["current_model"] == cdnow and scored["model_trained_here"] is False
    assert f"lead-value {cdnow} was trained on cdnow.csv (USD), not on this database" in str(
        scored["note"]
    )
    ranked = invoke("score", "rank", "--now", NOW, "--dormant-days", "30")
    order = [row["lead_id"] for row in ranked["leads"]]  # type: ignore[union-attr]
    ids = rouble_database
    assert order.index(ids["Petrova"]) < order.index(ids["Orlov"])  # 1,250,000 over 15,000
    assert order[0] == ids["Petrova"]
    assert ranked["method"] == "rfm" and ranked["model_trained_here"] is False
    assert "not on this database" in str(ranked["note"])
    human = runner.invoke(app, ["score", "rank", "--now", NOW, "--dormant-days", "30"])
    lines = human.stdout.splitlines()
    assert lines[0].startswith(f"note: lead-value {cdnow} was trained on cdnow.csv (USD)")
    assert "Petrova" in lines[2]
    # Asked for explicitly, the CDNOW model still scores, and the note says what it is.
    forced = invoke("score", "leads", "--as-of", NOW[:10], "--method", "model")
    assert forced["method"] == "model" and "another scale" in str(forced["note"])
    ranked = invoke("score", "rank", "--now", NOW, "--dormant-days", "30")
    assert ranked["method"] == "model" and "`nurture score leads`" in str(ranked["note"])


@pytest.mark.slow
def test_no_model_at_all_still_ranks(
    rouble_database: dict[str, int], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NURTURE_MODELS_DIR", str(tmp_path / "empty"))
    get_settings.cache_clear()
    scored = invoke("score", "leads", "--as-of", NOW[:10])
    assert scored["method"] == "rfm" and scored["current_model"] is None
    assert str(scored["note"]).startswith("no lead-value model is published")
    model = runner.invoke(app, ["score", "leads", "--method", "model"])
    assert model.exit_code != 0 and "run `nurture score train`" in model.stderr
    assert len(model.stderr.splitlines()) == 1
