"""Prefect flow: one nurture cycle (route, stop, enrol, plan touches, queue e-mails, create
owner tasks, escalate missed hard deadlines, repair coverage).

The cycle is one database transaction, idempotent at the same ``now`` and serialised
between workers (see nurture/cadence/cycle.py), so an overlapping or retried run plans
nothing twice. A campaign that fails is rolled back and skipped while the others run: the
run logs a warning and the artifact lists it. ``prefect.yaml`` schedules it; ``now`` (ISO
date-time) makes a run replay a given moment; ``shard`` ("K/N") plans only shard K of N,
so N runs at the same ``now`` on N workers share one large cycle (docs/cadence.md).
"""

from __future__ import annotations

from typing import Any

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE


@task(cache_policy=NO_CACHE)
def run_one_cycle(now: str | None, shard: str | None = None) -> dict[str, Any]:
    """Run the cycle (or one shard of it) committed, and return its summary."""
    from nurture.cadence.cycle import run_configured_cycle
    from nurture.cadence.shards import parse_shard
    from nurture.cli_support import parse_now

    part = parse_shard(shard) if shard is not None else None
    return run_configured_cycle(now=parse_now(now), shard=part).as_dict()


@task(cache_policy=NO_CACHE)
def publish_summary(summary: dict[str, Any]) -> str:
    """Publish the cycle's summary as a Prefect Markdown artifact."""
    from nurture.cadence import summary_markdown

    markdown = summary_markdown(summary)
    create_markdown_artifact(key="nurture-cycle", markdown=markdown, description="Nurture cycle")
    return markdown


@flow(name="nurture-cycle", log_prints=True)
def nurture_cycle(now: str | None = None, shard: str | None = None) -> dict[str, Any]:
    """One nurture cycle at ``now`` (default: the current time); with ``shard`` ("K/N",
    K from 1 to N), only shard K of N plans its leads."""
    summary = run_one_cycle(now, shard)
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
