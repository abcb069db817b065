"""Prefect flow: retrain the lead-value model on the database and publish a new version.

Training reads purchases, leads and engagement up to ``as_of`` and writes
``models/lead-value/<version>/`` (skops artifact + model card); ``current`` then names it.
Publishing is atomic (a temporary directory renamed into place), so a failed run leaves
the previous version in use. No retries: a retrain is cheap to start again by hand.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE


@task(cache_policy=NO_CACHE)
def train_and_publish(
    as_of: date | None, models_dir: Path, horizon_days: int, n_boot: int = 100
) -> dict[str, Any]:
    """Fit on the database and publish; returns the version and the backtest verdict."""
    from nurture.db.session import session_scope
    from nurture.scoring import train_from_database

    with session_scope() as session:
        published, card = train_from_database(
            session=session,
            models_dir=models_dir,
            as_of=as_of,
            horizon_days=horizon_days,
            n_boot=n_boot,
        )
    return {
        "version": published.version,
        "path": str(published.path),
        "verdict": card.get("evaluation", {}).get("verdict", []),
        "notes": card.get("notes", []),
    }


@flow(name="train-scorer", log_prints=True)
def train_scorer(
    as_of: str | None = None, horizon_days: int = 182, now: str | None = None, n_boot: int = 100
) -> dict[str, Any]:
    """Retrain the lead-value model and publish it.

    Learns from the data up to ``as_of`` (ISO date; default: the day of ``now``, an ISO
    date-time, default the current time) and predicts ``horizon_days`` ahead; the model
    card's backtest intervals come from ``n_boot`` bootstrap resamples."""
    from nurture.cli_support import parse_now
    from nurture.config import get_settings

    when = date.fromisoformat(as_of) if as_of else parse_now(now).date()
    result = train_and_publish(when, Path(get_settings().models_dir), horizon_days, n_boot)
    logger = get_run_logger()
    logger.info("published lead-value %s", result["version"])
    for line in result["verdict"] + result["notes"]:
        logger.info(line)
    return result


if __name__ == "__main__":
    train_scorer()
