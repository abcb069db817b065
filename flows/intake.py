"""Prefect flow: import every new lead list dropped into an inbox folder.

Files are claimed by an atomic rename, imported by the same library as ``nurture import``
(idempotent and resumable, so a retried or overlapping run doubles nothing), then moved to
``done/`` or ``failed/``; the run's summary is published as a Markdown artifact. Event
metadata: a sidecar ``<file>.event.yaml`` or the name ``<kind>--<date>--<event>.<ext>``
(see nurture/intake/inbox.py and docs/intake.md).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE


@task(cache_policy=NO_CACHE)
def find_new_files(inbox: str) -> list[str]:
    """Lead lists waiting in the inbox (including ones a crashed run left in processing/)."""
    from nurture.intake import pending_files

    return [str(p) for p in pending_files(Path(inbox))]


@task(cache_policy=NO_CACHE)
def import_inbox_file(path: str, inbox: str, now: str | None = None) -> dict[str, Any] | None:
    """Claim, import and file away one lead list; ``None`` if another run claimed it."""
    from dataclasses import asdict

    from nurture.cli_support import parse_now
    from nurture.intake import claim, process_file

    claimed = claim(Path(path), Path(inbox))
    if claimed is None:
        return None
    return asdict(process_file(claimed, Path(inbox), now=parse_now(now)))


@task(cache_policy=NO_CACHE)
def publish_summary(results: list[dict[str, Any]]) -> str:
    """Publish the run's summary as a Prefect Markdown artifact."""
    from nurture.intake import InboxResult, summary_markdown

    markdown = summary_markdown([InboxResult(**r) for r in results])
    create_markdown_artifact(key="intake-summary", markdown=markdown, description="Intake run")
    return markdown


@task(cache_policy=NO_CACHE, retries=2, retry_delay_seconds=5)
def route_new_leads(now: str | None = None) -> int:
    """Routing runs right after intake (idempotent, so a retry assigns nobody twice)."""
    from nurture.cli_support import parse_now
    from nurture.db.session import session_scope
    from nurture.routing import route_unassigned

    with session_scope() as session:
        return route_unassigned(session, now=parse_now(now)).assigned


@flow(name="intake-inbox", log_prints=True)
def intake_inbox(inbox: str, now: str | None = None) -> list[dict[str, Any]]:
    """Import new files from ``inbox``, move them to done/ or failed/, publish a summary.

    ``now`` (ISO date-time, default: the current time) is when the leads are taken in."""
    Path(inbox).mkdir(parents=True, exist_ok=True)
    results = []
    for path in find_new_files(inbox):
        try:
            result = import_inbox_file(path, inbox, now)
        except Exception as exc:  # one file's failure never holds up the files behind it
            get_run_logger().exception("importing %s failed", path)
            result = {"file": Path(path).name, "ok": False, "summary": {}, "error": repr(exc)}
        if result is not None:
            results.append(result)
    publish_summary(results)
    get_run_logger().info(
        "%d files imported, %d failed",
        sum(1 for r in results if r["ok"]),
        sum(1 for r in results if not r["ok"]),
    )
    if any(r["ok"] for r in results):
        route_new_leads(now)
    return results


if __name__ == "__main__":
    import sys

    intake_inbox(sys.argv[1] if len(sys.argv) > 1 else "inbox")
