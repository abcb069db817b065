"""Prefect flow: the weekly sales analytics report, published as Prefect artifacts.

Builds the same report as ``nurture report`` for the last ``days`` days (read-only, one
transaction) and publishes a Markdown summary (key ``analytics-summary``) and tables
(coverage, speed to lead, time in stage, managers, sequences, revenue); with ``html_dir``
it also writes the HTML report there as ``report-<until>.html``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
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
def build(since: datetime, until: datetime) -> dict[str, Any]:
    """The report for ``[since, until)`` (read-only)."""
    from nurture.analytics import build_report
    from nurture.db.session import session_scope

    with session_scope() as session:
        return build_report(session, since=since, until=until)


@task(cache_policy=NO_CACHE)
def publish(
    report: dict[str, Any], html_dir: str | None, lang: str, generated: datetime
) -> list[str]:
    """Markdown and table artifacts (and the HTML file, stamped ``generated``); returns
    the artifact keys."""
    from nurture.analytics.html import render_html
    from nurture.analytics.summary import artifact_tables, summary_markdown

    create_markdown_artifact(
        key="analytics-summary",
        markdown=summary_markdown(report),
        description="Sales analytics: coverage, slowest stage, overdue work, best sequences",
    )
    keys = ["analytics-summary"]
    for key, rows in artifact_tables(report).items():
        create_table_artifact(key=key, table=rows)
        keys.append(key)
    if html_dir:
        folder = Path(html_dir)
        folder.mkdir(parents=True, exist_ok=True)
        name = f"report-{report['period']['until'][:10]}.html"
        (folder / name).write_text(
            render_html(report, lang=lang, generated=generated), encoding="utf-8"
        )
    return keys


@flow(name="weekly-report", log_prints=True)
def weekly_report(
    days: int = 7,
    until: str | None = None,
    html_dir: str | None = None,
    lang: str = "en",
    now: str | None = None,
) -> dict[str, Any]:
    """Report the ``days`` days before ``until`` as Prefect artifacts.

    ``until`` (ISO date-time) defaults to ``now`` (ISO date-time, default: the current
    time); with ``html_dir`` the HTML report is written there too, in ``lang`` (en, ru)."""
    from nurture.cli_support import parse_now

    moment = parse_now(now)
    end = datetime.fromisoformat(until) if until else moment
    end = end.replace(tzinfo=UTC) if end.tzinfo is None else end
    report = build(end - timedelta(days=days), end)
    keys = publish(report, html_dir, lang, moment)
    coverage = report["coverage"]["overall"]
    get_run_logger().info(
        "%s leads met; within 30 days %s; never touched %s; artifacts %s",
        report["leads"],
        coverage["within_30d"],
        coverage["never"],
        ", ".join(keys),
    )
    return {"leads": report["leads"], "artifacts": keys}


if __name__ == "__main__":
    weekly_report()
