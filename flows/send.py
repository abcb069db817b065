"""Prefect flow: send what is due from the outbox.

The outbox table is the send ledger, not Prefect's task state: the task is idempotent (it
claims rows atomically and records every outcome), so retrying it after a temporary failure
(database or SMTP server unreachable) can never send a message twice. Per-message temporary
failures are not task failures: they are rescheduled in the outbox with backoff.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.tasks import exponential_backoff

from nurture.errors import retry_transient


@task(
    retries=3,
    retry_delay_seconds=exponential_backoff(backoff_factor=10),
    retry_jitter_factor=0.5,
    retry_condition_fn=retry_transient,
    cache_policy=NO_CACHE,
)
def send_batch(limit: int | None, now: datetime | None = None) -> dict[str, Any]:
    """Send up to ``limit`` due messages (as of ``now``: default the clock); returns the
    summary counts."""
    from nurture.mail import clock_from, send_due

    if now is None:
        return send_due(limit).as_dict()
    return send_due(limit, now=clock_from(now)).as_dict()


@flow(name="send-outbox", log_prints=True)
def send_outbox(limit: int | None = None, now: datetime | None = None) -> dict[str, Any]:
    """Send every due e-mail (or ``limit`` of them) and report the counts.

    Refuses to run in production with the default signing key (one clear error), and warns
    loudly elsewhere. ``now`` pretends it is that time (tests, simulations)."""
    from nurture.config import secret_key_warning

    logger = get_run_logger()
    warning = secret_key_warning("nurture send")
    if warning:
        logger.warning(warning)
    summary = send_batch(limit, now)
    logger.info(
        "sent %s, retry later %s, failed %s, suppressed %s, unknown %s",
        summary["sent"],
        summary["failed_temp"],
        summary["failed_perm"],
        summary["suppressed"],
        summary["unknown"],
    )
    if summary["unknown_total"]:
        logger.warning(
            "%s message(s) in state 'unknown': check the mail log", summary["unknown_total"]
        )
    return summary


if __name__ == "__main__":
    send_outbox()
