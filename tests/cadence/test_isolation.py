"""One campaign's failure in a nurture cycle affects that campaign only: it is rolled back
(nothing half-written), reported (summary, --json, the flow's artifact) and skipped, and the
other campaigns still run. SQLite and PostgreSQL (where a failed statement aborts the
transaction unless a savepoint catches it)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from nurture.cadence import plan_writes, planner, run_cycle, summary_markdown
from nurture.cadence.campaigns import parse_campaign, save_campaign
from nurture.cli import app
from nurture.db.cadence import Campaign, Enrollment, Task, Touch
from nurture.db.mail import OutboxMessage
from nurture.db.session import make_engine, session_scope

NOW = datetime(2026, 3, 27, 6, 0, tzinfo=UTC)  # a Friday, before 10:00 in Moscow
World = Any  # tests/cadence/conftest.py: World (fixtures only: importlib import mode)

# The issue's campaign: 1,200 'or' terms, which SQLite cannot run ("Expression tree is too
# large"); today it cannot be loaded, but a database may hold one loaded before.
TOO_BIG = " or ".join(f"city = 'c{i}'" for i in range(1200))


def store_unchecked(session: Session, campaign: Campaign, **audience: Any) -> None:
    """Change a stored definition as an older version, without today's checks, stored it."""
    definition = dict(campaign.definition)
    definition["audience"] = {**definition["audience"], **audience}
    campaign.definition = definition
    session.flush()


def counts(session: Session, slug: str, campaign: Campaign) -> tuple[int, int, int]:
    touches = session.scalar(
        select(func.count()).select_from(Touch).where(Touch.campaign_id == campaign.id)
    )
    mails = session.scalar(
        select(func.count()).select_from(OutboxMessage).where(OutboxMessage.campaign_slug == slug)
    )
    tasks = session.scalar(
        select(func.count()).select_from(Task).where(Task.source_key.like(f"touch.%.{slug}.%"))
    )
    return int(touches or 0), int(mails or 0), int(tasks or 0)


def test_a_campaign_stored_before_the_bounds_is_skipped_and_the_others_run(
    world: World, simple_campaign: Callable[..., str]
) -> None:
    bad, _ = world.load_text(simple_campaign("bad", kind="seminar", priority=10))
    good, _ = world.load_text(simple_campaign("good", kind="seminar"))
    store_unchecked(world.session, bad, where=TOO_BIG)
    for _ in range(3):
        world.lead(kind="seminar", city="c7")
    summary = run_cycle(world.session, now=NOW)
    assert set(summary.failed_campaigns) == {"bad"}
    why = summary.failed_campaigns["bad"]
    assert "more than 256 conditions" in why and "nurture campaign load" in why
    assert "\n" not in why
    assert summary.enrolled == {"good": 3} and summary.emails_queued == 3
    assert counts(world.session, "bad", bad) == (0, 0, 0)
    assert counts(world.session, "good", good) == (3, 3, 0)
    assert summary.as_dict()["failed_campaigns"] == {"bad": why}
    markdown = summary_markdown(summary.as_dict())
    assert "| failed campaigns (rolled back, skipped) | 1 |" in markdown
    assert f"| bad | {why} |" in markdown


def test_a_campaign_the_database_refuses_leaves_nothing_half_written(
    world: World, simple_campaign: Callable[..., str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The failure comes after the campaign's e-mails, tasks and touches were written in the
    pass: all of them go, its enrolments stay where they were, the other campaign plans."""
    bad, _ = world.load_text(simple_campaign("bad", kind="seminar", priority=10))
    good, _ = world.load_text(simple_campaign("good", kind="seminar"))
    leads = [world.lead(kind="seminar") for _ in range(4)]
    real_advance = plan_writes.advance

    def advance(session: Session, spec: Any, **kw: Any) -> None:
        if spec.slug == "bad":  # a statement the database refuses, mid-pass
            session.execute(text("UPDATE no_such_table SET x = 1"))
        real_advance(session, spec, **kw)

    monkeypatch.setattr(planner, "advance", advance)
    summary = run_cycle(world.session, now=NOW)
    assert set(summary.failed_campaigns) == {"bad"}
    assert "the database refused it" in summary.failed_campaigns["bad"]
    # enrolled (its own step, which succeeded), but nothing of its planning is left
    assert summary.enrolled == {"bad": 4, "good": 4}
    assert counts(world.session, "bad", bad) == (0, 0, 0)
    assert counts(world.session, "good", good) == (4, 4, 0)
    positions = world.session.execute(
        select(Enrollment.next_position, Enrollment.status).where(Enrollment.campaign_id == bad.id)
    ).all()
    assert positions == [(0, "active")] * len(leads)
    # the next cycle tries it again, and with the fault gone it plans as usual
    monkeypatch.setattr(planner, "advance", real_advance)
    again = run_cycle(world.session, now=NOW)
    assert again.failed_campaigns == {} and counts(world.session, "bad", bad)[:2] == (4, 4)


def test_cli_reports_a_failed_campaign_and_exits_0(fresh_db: str) -> None:
    engine = make_engine(fresh_db)
    with session_scope(engine) as s:
        text_ = "slug: bad\nname: Bad\nsteps:\n  - {name: hello, day: 0, channel: email}\n"
        campaign, _ = save_campaign(s, parse_campaign(text_, file="bad.yaml"))
        store_unchecked(s, campaign, where=TOO_BIG)
    engine.dispose()
    runner = CliRunner()
    result = runner.invoke(app, ["run", "--now", "2026-03-27T06:00:00", "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert list(doc["failed_campaigns"]) == ["bad"]
    result = runner.invoke(app, ["run", "--now", "2026-03-27T06:00:00"])
    assert result.exit_code == 0
    assert "failed:      bad (rolled back and skipped; the others ran)" in result.stdout
    [line] = result.stderr.splitlines()
    assert line.startswith("nurture: campaign 'bad' skipped in this cycle: ")
    # enrolling into it by hand names the problem instead of a traceback
    result = runner.invoke(app, ["campaign", "enroll", "bad", "--where", "city = 'X'"])
    assert result.exit_code == 2
    [line] = result.stderr.splitlines()
    assert line.startswith("nurture: campaign 'bad' as stored is not valid: audience.where: ")
