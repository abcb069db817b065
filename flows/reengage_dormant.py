"""Prefect flow: dormant re-engagement on its own, every morning.

Customers silent for months are enrolled into each campaign with a ``dormant:`` block,
best predicted value first, within each owner's weekly capacity, and the owner gets a
``reengage`` task with a suggested letter (see nurture/cadence/dormant.py). Running it in
the morning puts the day's win-back calls on the managers' lists before they start, after
the nightly scoring has refreshed the values it ranks by.

The run is one transaction, serialised with the nurture cycle, and idempotent: the leads it
enrolled are no longer candidates and the owners' capacity for the 7-day window is spent, so
a retried or second run the same week does nothing more. A campaign that fails is rolled
back and skipped while the others run. ``now`` (ISO date-time) replays a given moment.
"""

from __future__ import annotations

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
def reengage_once(now: str | None) -> dict[str, Any]:
    """Re-engagement at ``now`` in its own transaction; returns its counts."""
    from nurture.cadence.dormant import run_reengagement
    from nurture.cli_support import parse_now
    from nurture.db.session import session_scope

    with session_scope() as session:
        return run_reengagement(session, now=parse_now(now))


@flow(name="reengage-dormant", log_prints=True)
def reengage_dormant(now: str | None = None) -> dict[str, Any]:
    """Re-engage dormant customers at ``now`` (ISO date-time; default: the current time).

    Returns ``reengaged`` (enrolled, each with a task for the owner), ``waiting`` (dormant
    but over their owner's capacity this week), ``campaigns`` and ``failed_campaigns``."""
    summary = reengage_once(now)
    logger = get_run_logger()
    for slug, why in sorted(summary["failed_campaigns"].items()):
        logger.warning("campaign %s rolled back and skipped: %s", slug, why)
    logger.info(
        "re-engaged %s dormant customers in %s campaigns; %s wait for capacity",
        summary["reengaged"],
        summary["campaigns"],
        summary["waiting"],
    )
    return summary


if __name__ == "__main__":
    reengage_dormant()
