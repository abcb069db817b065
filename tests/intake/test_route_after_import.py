"""Routing runs right after intake: every lead an import creates has an owner at once."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import func, select
from typer.testing import CliRunner

from nurture.cli import app
from nurture.db.leads import Lead
from nurture.db.session import session_scope
from nurture.db.team import Assignment

ROOT = Path(__file__).resolve().parents[2]


def test_import_routes_new_leads(fresh_db: str) -> None:
    runner = CliRunner()
    loaded = runner.invoke(app, ["team", "load", str(ROOT / "examples/team.yaml")])
    assert loaded.exit_code == 0, loaded.output
    result = runner.invoke(
        app,
        [
            "import",
            str(ROOT / "examples/events/webinar-2026-10-01-attendees.csv"),
            "--event",
            "Industry 4.0 Webinar",
            "--kind",
            "webinar",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["created"] > 0
    assert summary["routed"] == summary["created"]
    with session_scope() as session:  # the engine of NURTURE_DATABASE_URL, closed by fresh_db
        live = Lead.merged_into_id.is_(None)
        unowned = session.scalar(select(func.count()).where(live, Lead.owner_id.is_(None)))
        logged = session.scalar(select(func.count(func.distinct(Assignment.lead_id))))
    assert unowned == 0
    assert logged == summary["created"]

    again = runner.invoke(
        app,
        [
            "import",
            str(ROOT / "examples/events/webinar-2026-10-01-attendees.csv"),
            "--event",
            "Industry 4.0 Webinar",
            "--kind",
            "webinar",
            "--json",
        ],
    )
    assert json.loads(again.stdout)["routed"] == 0
