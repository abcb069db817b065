"""Prefect flow: score every lead with the current lead-value model, or with a method fitted
on this database while the current model was trained elsewhere (the run log says which).

The work is set-based: features for all leads are built in one pass over purchases,
leads and engagement, and ``lead_scores`` rows are upserted ``batch_size`` at a time
(one statement per batch, never one task per lead). Re-running is safe: the key is
(lead, model version) and a re-score updates the row and its ``scored_at``; the cadence's
re-engagement reads the latest ``scored_at`` per lead.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.tasks import exponential_backoff

from nurture.errors import retry_transient


@task(
    retries=2,
    retry_delay_seconds=exponential_backoff(backoff_factor=10),
    retry_jitter_factor=0.5,
    retry_condition_fn=retry_transient,
    cache_policy=NO_CACHE,
)
def score_all(
    models_dir: Path, batch_size: int, as_of: date | None, now: datetime | None = None
) -> dict[str, Any]:
    """Load the current model, score all leads and store the scores (idempotent upsert),
    stamped ``now`` (default: the clock)."""
    from nurture.db.session import session_scope
    from nurture.scoring import score_database

    with session_scope() as session:
        return score_database(
            session=session,
            models_dir=models_dir,
            as_of=as_of,
            batch_size=batch_size,
            scored_at=now,
        )


@flow(name="score-leads", log_prints=True)
def score_leads(
    batch_size: int = 50000, as_of: str | None = None, now: str | None = None
) -> dict[str, Any]:
    """Score all leads in batches of ``batch_size`` with ``models/lead-value/current``.

    ``as_of`` (ISO date) is the last day of data the scores see; by default the day of
    ``now`` (ISO date-time, default: the current time)."""
    from nurture.cli_support import parse_now
    from nurture.config import get_settings

    moment = parse_now(now)
    when = date.fromisoformat(as_of) if as_of else moment.date()
    result = score_all(Path(get_settings().models_dir), batch_size, when, moment)
    logger = get_run_logger()
    logger.info(
        "scored %s leads with %s (predicted total %s)",
        result["scored"],
        result["model_version"],
        result["predicted_total"],
    )
    if result.get("note"):
        logger.warning(result["note"])  # no model trained on this database yet
    return result


if __name__ == "__main__":
    score_leads()
