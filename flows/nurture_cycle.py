"""Prefect flow: one nurture cycle (route, stop, enrol, plan touches, queue e-mails, create
owner tasks, escalate missed hard deadlines, repair coverage).

The cycle is one database transaction, idempotent at the same ``now`` and serialised
between workers (see nurture/cadence/cycle.py), so an overlapping or retried run plans
nothing twice. A campaign that fails is rolled back and skipped while the others run: the
run logs a warning and the artifact lists it. ``prefect.yaml`` schedules it; ``now`` (ISO
date-time) makes a run replay a given moment.
"""

from __future__ import annotations

from typing import Any

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE


@task(cache_policy=NO_CACHE)
def run_one_cycle(now: str | None) -> dict[str, Any]:
    """Run the cycle in its own transaction and return its summary."""
    from nurture.cadence import run_cycle
    from nurture.cli_support import parse_now
    from nurture.db.session import session_scope

    with session_scope() as session:
        return run_cycle(session, now=parse_now(now)).as_dict()


@task(cache_policy=NO_CACHE)
def publish_summary(summary: dict[str, Any]) -> str:
    """Publish the cycle's summary as a Prefect Markdown artifact."""
    from nurture.cadence import summary_markdown

    markdown = summary_markdown(summary)
    create_markdown_artifact(key="nurture-cycle", markdown=markdown, description="Nurture cycle")
    return markdown


@flow(name="nurture-cycle", log_prints=True)
def nurture_cycle(now: str | None = None) -> dict[str, Any]:
    """One nurture cycle at ``now`` (default: the current time)."""
    summary = run_one_cycle(now)
    logger = get_run_logger()
    for slug, why in sorted(summary["failed_campaigns"].items()):
        logger.warning("campaign %s rolled back and skipped in this cycle: %s", slug, why)
    logger.info(
        "planned %s touches, queued %s e-mails, %s tasks, %s escalations; next step %.1f%%",
        summary["planned"],
        summary["emails_queued"],
        summary["tasks_created"],
        summary["escalations"],
        100 * summary["next_step_share"],
    )
    publish_summary(summary)
    return summary


if __name__ == "__main__":
    nurture_cycle()
