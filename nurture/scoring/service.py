"""What the CLI, the flows and the notebooks share: train and publish, score, evaluate."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy.orm import Session

from nurture.errors import InputError, ModelError
from nurture.scoring import registry
from nurture.scoring.data import CDNOW_AS_OF, CDNOW_HORIZON_DAYS, data_hash, to_timestamp
from nurture.scoring.evaluation import evaluate
from nurture.scoring.model import LeadValueModel
from nurture.scoring.store import load_lead_data, load_transactions, score_leads


def data_summary(tx: pd.DataFrame, source: str) -> dict[str, Any]:
    return {
        "source": source,
        "sha256": data_hash(tx),
        "transactions": len(tx),
        "customers": int(tx["customer_id"].nunique()),
        "first_date": tx["date"].min().date().isoformat() if len(tx) else None,
        "last_date": tx["date"].max().date().isoformat() if len(tx) else None,
    }


def evaluation_card(report: dict[str, Any], description: str) -> dict[str, Any]:
    """The part of an evaluation report that goes into the model card (no decile rows of
    the baselines, to keep the card readable)."""
    keep = (
        "customers",
        "actual_total",
        "predicted_total",
        "n_boot",
        "level",
        "methods",
        "versus",
        "verdict",
        "as_of",
        "horizon_days",
        "notes",
        "mean_p_purchase",
        "buyers_share",
        "fit_seconds",
    )
    card = {k: report[k] for k in keep if k in report}
    card["description"] = description
    card["model_deciles"] = report.get("deciles", {}).get("model", [])
    return card


def evaluate_and_publish(
    tx: pd.DataFrame,
    *,
    as_of: pd.Timestamp = CDNOW_AS_OF,
    horizon_days: int = CDNOW_HORIZON_DAYS,
    source: str,
    models_dir: Path,
    n_boot: int = 200,
    make_current: bool = True,
    model: LeadValueModel | None = None,
) -> tuple[registry.Published, dict[str, Any]]:
    """Out-of-time evaluation, then publish the evaluated model with its card."""
    fitted, report = evaluate(tx, as_of, horizon_days, n_boot=n_boot, model=model)
    history = tx[tx["date"] <= as_of]
    card = {
        "data": data_summary(history, source),
        "evaluation": evaluation_card(
            report,
            f"Out-of-time test: fitted on {source} up to {as_of.date()}, value over the"
            f" next {horizon_days} days for every customer seen up to then.",
        ),
    }
    published = registry.publish(fitted, card, models_dir, make_current=make_current)
    return published, report


def train_from_database(
    *,
    session: Session,
    models_dir: Path,
    as_of: date | None = None,
    horizon_days: int = 182,
    n_boot: int = 100,
    make_current: bool = True,
) -> tuple[registry.Published, dict[str, Any]]:
    """Fit on the database's purchases, leads and engagement up to ``as_of`` (default:
    today) and publish a new version. When the history is long enough, the card also holds
    an out-of-time backtest one horizon earlier (purchase history only)."""
    as_of_ts = to_timestamp(as_of or datetime.now(UTC).date())
    tx = load_transactions(session=session)
    tx = tx[tx["date"] <= as_of_ts]
    if tx.empty:
        raise ModelError("no purchases in the database: nothing to learn lead value from")
    leads = load_lead_data(session=session)
    model = LeadValueModel(horizon_days=horizon_days).fit(tx, as_of_ts, leads)
    card: dict[str, Any] = {"data": data_summary(tx, "database purchases and leads")}
    notes = []
    backtest_at = as_of_ts - pd.Timedelta(days=horizon_days)
    try:
        _, report = evaluate(tx, backtest_at, horizon_days, n_boot=n_boot)
        card["evaluation"] = evaluation_card(
            report,
            f"Backtest: the same model fitted on purchases up to {backtest_at.date()},"
            f" judged on the {horizon_days} days after (purchase history only).",
        )
    except (ModelError, InputError) as exc:
        notes.append(f"no backtest: {exc}")
    card["notes"] = notes
    published = registry.publish(model, card, models_dir, make_current=make_current)
    return published, card


def score_database(
    *,
    session: Session,
    models_dir: Path,
    as_of: date | None = None,
    batch_size: int = 50_000,
    version: str | None = None,
) -> dict[str, Any]:
    """Score every lead with the current (or the given) version and store the scores."""
    model, published = registry.load(models_dir, version)
    return score_leads(
        session=session,
        model=model,
        model_version=published.version,
        as_of=as_of,
        batch_size=batch_size,
    )
