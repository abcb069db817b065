"""What the CLI, the flows and the notebooks share: train and publish, score, evaluate.

Scoring a database uses the published model only when it was trained on that database
(:mod:`nurture.scoring.provenance`); otherwise a method fitted on the database's own
purchases (:mod:`nurture.scoring.local`), and the result says so.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy.orm import Session

from nurture.errors import InputError, ModelError, NotFoundError
from nurture.scoring import registry
from nurture.scoring.card import DATABASE_SOURCE
from nurture.scoring.data import CDNOW_AS_OF, CDNOW_HORIZON_DAYS, data_hash, to_timestamp
from nurture.scoring.evaluation import evaluate
from nurture.scoring.local import fit_local, is_local_version
from nurture.scoring.model import LeadValueModel
from nurture.scoring.provenance import FINGERPRINT_SIZE, ScoringPlan, plan, same_database
from nurture.scoring.store import (
    database_fingerprint,
    load_lead_data,
    load_transactions,
    score_leads,
)


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
    currency: str | None = None,
    description: str | None = None,
) -> tuple[registry.Published, dict[str, Any]]:
    """Out-of-time evaluation, then publish the evaluated model with its card
    (``currency`` and ``description``: the money of the amounts and what the data are)."""
    fitted, report = evaluate(tx, as_of, horizon_days, n_boot=n_boot, model=model)
    history = tx[tx["date"] <= as_of]
    card: dict[str, Any] = {
        "data": data_summary(history, source),
        "evaluation": evaluation_card(
            report,
            f"Out-of-time test: fitted on {source} up to {as_of.date()}, value over the"
            f" next {horizon_days} days for every customer seen up to then.",
        ),
    }
    if currency:
        card["currency"] = currency
    if description:
        card["data"]["description"] = description
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
    currency: str | None = None,
) -> tuple[registry.Published, dict[str, Any]]:
    """Fit on the database's purchases, leads and engagement up to ``as_of`` (default:
    today) and publish a new version. When the history is long enough, the card also holds
    an out-of-time backtest one horizon earlier (purchase history only). The card keeps
    the database's fingerprint, so scoring knows the model was trained here."""
    as_of_ts = to_timestamp(as_of or datetime.now(UTC).date())
    tx = load_transactions(session=session)
    tx = tx[tx["date"] <= as_of_ts]
    if tx.empty:
        raise ModelError("no purchases in the database: nothing to learn lead value from")
    leads = load_lead_data(session=session)
    model = LeadValueModel(horizon_days=horizon_days).fit(tx, as_of_ts, leads)
    card: dict[str, Any] = {"data": data_summary(tx, DATABASE_SOURCE)}
    card["data"]["database_fingerprint"] = database_fingerprint(
        session=session, size=FINGERPRINT_SIZE
    )
    if currency:
        card["currency"] = currency
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


def predict_values(tx: pd.DataFrame, *, as_of: date, horizon_days: int) -> pd.DataFrame:
    """Each customer's predicted value over ``horizon_days`` after ``as_of``, from a model
    fitted on the transactions up to then (``score predict``); rows after it are never read.
    Raises InputError when there is no transaction on or before ``as_of``."""
    history = tx[tx["date"] <= str(as_of)]
    if history.empty:
        raise InputError(f"no transactions on or before {as_of}", field="date")
    model = LeadValueModel(horizon_days=horizon_days).fit(history, str(as_of))
    return model.predict(history, str(as_of))


def plan_scoring(
    *, session: Session, models_dir: Path, version: str | None = None, method: str = "auto"
) -> ScoringPlan:
    """Whether to score with the published model (``version``, default current) or with a
    method fitted on this database; a missing model is an error only when asked for."""
    try:
        published: registry.Published | None = registry.read_card(models_dir, version)
    except NotFoundError:
        if version is not None or method == "model":
            raise
        published = None
    prints = database_fingerprint(session=session, size=2 * FINGERPRINT_SIZE) if published else []
    return plan(
        published.card if published else None,
        published.version if published else None,
        prints,
        method,
    )


def score_database(
    *,
    session: Session,
    models_dir: Path,
    as_of: date | None = None,
    batch_size: int = 50_000,
    version: str | None = None,
    method: str = "auto",
    scored_at: datetime | None = None,
) -> dict[str, Any]:
    """Score every lead and store the scores: with the published model (current, or
    ``version``) when it was trained on this database or ``method="model"`` asks for it,
    else with a method fitted here. The result says which (``method``, ``note``).
    ``scored_at`` stamps the scores (default: the clock; re-engagement reads the latest)."""
    choice = plan_scoring(session=session, models_dir=models_dir, version=version, method=method)
    if choice.use_model:
        model, published = registry.load(models_dir, choice.version)
        result = score_leads(
            session=session,
            model=model,
            model_version=published.version,
            as_of=as_of,
            batch_size=batch_size,
            scored_at=scored_at,
        )
        used = "model"
    else:
        horizon = 182
        if choice.version is not None:
            card = registry.read_card(models_dir, choice.version).card
            horizon = int(card.get("parameters", {}).get("horizon_days") or horizon)
        when = as_of or datetime.now(UTC).date()
        tx = load_transactions(session=session, batch_size=batch_size)
        scorer = fit_local(tx, when, horizon_days=horizon)
        result = score_leads(
            session=session,
            model=scorer,
            model_version=scorer.version,
            as_of=when,
            batch_size=batch_size,
            transactions=tx,
            scored_at=scored_at,
        )
        used = scorer.method
    return {**result, "method": used, **choice.as_dict(), "note": choice.note(used)}


def describe_scores(*, session: Session, models_dir: Path, versions: set[str]) -> dict[str, Any]:
    """Where ranked scores come from (``versions``: their ``model_version`` values), for
    ``score rank``: ``method`` (``model``, ``probabilistic``, ``rfm`` or ``mixed``),
    ``model_trained_here`` and a one-line ``note`` (None when every score comes from a model
    trained on this database, or there is none)."""
    local = sorted(v.split(":", 1)[1] for v in versions if is_local_version(v))
    published = sorted(v for v in versions if not is_local_version(v))
    prints = database_fingerprint(session=session, size=2 * FINGERPRINT_SIZE)
    elsewhere = []
    for name in published:
        try:
            card = registry.read_card(models_dir, name).card
        except NotFoundError:
            card = {}
        if not same_database(card.get("data", {}).get("database_fingerprint") or [], prints):
            elsewhere.append(name)
    methods = (["model"] if published else []) + local
    note = None
    if elsewhere:
        note = (
            f"values from lead-value {', '.join(elsewhere)}, not trained on this database:"
            " run `nurture score leads` to score with a method fitted here"
        )
    elif local:
        try:
            choice = plan_scoring(session=session, models_dir=models_dir)
            note = choice.note(local[0])
            if choice.use_model:
                note = (
                    f"values from a method fitted on this database; lead-value {choice.version}"
                    " was trained here since: run `nurture score leads` to use it"
                )
        except (NotFoundError, ModelError):
            note = None
    return {
        "method": None if not methods else methods[0] if len(methods) == 1 else "mixed",
        "model_versions": sorted(versions),
        "model_trained_here": bool(published) and not elsewhere and not local,
        "note": note,
    }
