"""Prefect flow: the playbooks' hourly run (due automated steps and requests to other
systems, then escalations of missed deadlines, stalled deals, daily digests with reminders,
fallback e-mails).

Every part claims its work in the database and is idempotent (each escalation level fires
once per task, each digest once per recipient and run or day), so a retried or overlapping
run does nothing twice; retries are only for a database that is briefly unreachable.
``prefect.yaml`` schedules it hourly; ``now`` (ISO date-time) replays a given moment.
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
def run_playbooks(now: str | None) -> dict[str, Any]:
    """Steps, requests and the escalation run at ``now``; returns their counts."""
    from nurture.cli_support import parse_now
    from nurture.db.session import get_engine
    from nurture.playbooks import run_all

    return run_all(get_engine(), now=parse_now(now))


@flow(name="escalations", log_prints=True)
def escalations(now: str | None = None) -> dict[str, Any]:
    """One playbooks run at ``now`` (default: the current time)."""
    summary = run_playbooks(now)
    get_run_logger().info(
        "escalated %s levels (%s digests), %s stalled deals, %s daily digests, "
        "%s reminders, %s fallback e-mails",
        summary["escalated"],
        summary["digests"],
        summary["stalled"],
        summary["daily_digests"],
        summary["reminded"],
        summary["fallback_emails"],
    )
    return summary


if __name__ == "__main__":
    escalations()
