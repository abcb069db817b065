"""Prefect flow: the demo's driver, Nurture's main job over simulated days (``make demo``).

It runs what the schedules in ``prefect.yaml`` would, with the clock passed as a parameter
so every run gives the same outcome on any day of the week: the ``intake-inbox`` flow over
the demo inbox once, then for each simulated step the nurture cycle (routing, enrolment,
dormant re-engagement, planning, e-mails queued, call tasks, escalations of hard deadlines),
the simulated people's work (nurture.demo.people), the playbooks' escalation run and the
sender; the scorer once a simulated week. The steps call the deployed flows' own tasks
(loaded from their files beside this one), so what runs here is what runs in production;
only the people are simulated. Prefect sees a few tasks per simulated step, never one per
lead. ``nurture.demo.run`` sets up the workspace and prints the summary.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from nurture.flowfiles import load_flow_file

#: UTC hours of the simulated steps: 09:00 and 15:00 in Moscow, where the team works.
STEP_HOURS = (6, 12)


intake, cycle, playbooks, send, scoring, report = (
    load_flow_file(n)
    for n in ("intake", "nurture_cycle", "escalations", "send", "score_leads", "weekly_report")
)


@task(cache_policy=NO_CACHE)
def load_examples(workspace: str, now: datetime) -> dict[str, Any]:
    """Schema, team, role pools, playbooks, campaigns, purchases; event files into the inbox."""
    from nurture.demo.workspace import Workspace, load_examples

    return load_examples(Workspace(Path(workspace)), now=now)


@task(cache_policy=NO_CACHE)
def write_visitors(workspace: str, visitors: int, seed: int) -> dict[str, Any]:
    """The second exhibition's visitor list and its customers' purchases, set aside."""
    from nurture.demo.workspace import Workspace, write_visitors

    return write_visitors(Workspace(Path(workspace)), visitors=visitors, seed=seed)


@task(cache_policy=NO_CACHE)
def deliver_visitors(workspace: str) -> list[str]:
    """The visitor list dropped into the inbox, as a scanner's upload would be."""
    from nurture.demo.workspace import Workspace, deliver_visitors

    return deliver_visitors(Workspace(Path(workspace)))


@task(cache_policy=NO_CACHE)
def import_old_purchases(workspace: str, now: datetime) -> int:
    """The visitors' past purchases, taken in at ``now`` (after their list)."""
    from nurture.demo.workspace import Workspace, import_old_purchases

    return import_old_purchases(Workspace(Path(workspace)), now=now)


@task(cache_policy=NO_CACHE)
def people_work(now: datetime, seed: int) -> dict[str, Any]:
    """The simulated managers', supervisors' and leads' step (see nurture.demo.people)."""
    from nurture.db.session import session_scope
    from nurture.demo.people import act

    with session_scope() as session:
        return act(session, now=now, seed=seed).as_dict()


@task(cache_policy=NO_CACHE)
def finish(
    workspace: str, start: datetime, end: datetime, lang: str, cdnow: bool
) -> dict[str, Any]:
    """The HTML report of the whole period, the leads export, the CDNOW predictions and the
    figures of the summary."""
    from nurture.demo.summary import finish_workspace
    from nurture.demo.workspace import Workspace

    return finish_workspace(
        Workspace(Path(workspace)), start=start, end=end, lang=lang, cdnow=cdnow
    )


def steps(start: date, days: int) -> list[datetime]:
    """The simulated moments: ``STEP_HOURS`` of each day from ``start``."""
    return [
        datetime.combine(start + timedelta(days=d), time(hour), UTC)
        for d in range(days)
        for hour in STEP_HOURS
    ]


@flow(name="nurture-demo")
def nurture_demo(
    workspace: str = "demo",
    start: date = date(2026, 10, 5),
    days: int = 120,
    seed: int = 7,
    lang: str = "en",
    visitors: int = 200,
    cdnow: bool = True,
) -> dict[str, Any]:
    """``days`` of Nurture from ``start`` on the workspace's database (the clock is simulated):
    the example event files at once, ``visitors`` more from a second exhibition on its
    ninth day; ``cdnow``: also write the CDNOW reference predictions."""
    from nurture.config import get_settings
    from nurture.demo.summary import Totals

    moments = steps(start, days)
    first = moments[0]
    totals = Totals()
    totals.loaded = load_examples(workspace, first)
    inbox = str(Path(workspace) / "inbox")
    totals.add_intake(intake.intake_inbox(inbox, first.isoformat()))
    arrival = moments[min(len(moments) - 1, 8 * len(STEP_HOURS))] if visitors else None
    if arrival is not None:
        write_visitors(workspace, visitors, seed)
    models = Path(get_settings().models_dir)
    for i, now in enumerate(moments):
        stamp = now.isoformat()
        if now == arrival:
            deliver_visitors(workspace)
            totals.add_intake(intake.intake_inbox(inbox, stamp))
            import_old_purchases(workspace, now)
        # people work through the day before the cycle escalates what is still overdue
        totals.add_people(people_work(now, seed))
        totals.add_cycle(cycle.run_one_cycle(stamp))
        totals.add_playbooks(playbooks.run_playbooks(stamp))
        totals.add_send(send.send_batch(None, now))
        if i % (7 * len(STEP_HOURS)) == len(STEP_HOURS) - 1:  # nightly in production
            totals.add_scoring(scoring.score_all(models, 50_000, now.date(), now))
        if now.hour == STEP_HOURS[-1] and now.weekday() == 6:
            print(f"  {now.date()}: {totals.progress_line()}", flush=True)
    end = moments[-1] + timedelta(hours=1)
    totals.finished = finish(workspace, start=first, end=end, lang=lang, cdnow=cdnow)
    return totals.as_dict()


if __name__ == "__main__":
    nurture_demo()
