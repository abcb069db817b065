"""Commands that date what they write take ``--now``: ``nurture import`` takes leads in and
routes them then, ``nurture reengage`` re-engages as of then (and a second run adds no
one), so a replay or a simulated day gives the same database on any day of the week."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from sqlalchemy import select
from typer.testing import CliRunner

from nurture.cli import app
from nurture.config import PROJECT_ROOT
from nurture.db.leads import Lead
from nurture.db.session import session_scope
from nurture.db.team import Assignment

EXAMPLES = PROJECT_ROOT / "examples"
WEBINAR = EXAMPLES / "events" / "webinar-2026-10-01-attendees.csv"
AT = datetime(2026, 10, 2, 7, 0, tzinfo=UTC)


def invoke(*args: str) -> dict[str, object]:
    result = CliRunner().invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    out: dict[str, object] = json.loads(result.stdout)
    return out


def test_import_and_reengage_run_at_the_given_now(fresh_db: str) -> None:
    invoke("team", "load", str(EXAMPLES / "team.yaml"))
    invoke("campaign", "load", str(EXAMPLES / "campaigns" / "dormant.yaml"))
    done = invoke("import", str(WEBINAR), "--now", "2026-10-02T07:00:00")  # naive: UTC
    assert done["created"] and done["routed"] == done["created"]
    with session_scope() as s:
        stamps = set(s.scalars(select(Lead.created_at))) | set(
            s.scalars(select(Assignment.assigned_at))
        )
    assert {t.astimezone(UTC) if t.tzinfo else t.replace(tzinfo=UTC) for t in stamps} == {AT}

    invoke("purchases", "import", str(EXAMPLES / "purchases.csv"))
    # in June 2025 everyone had bought within 180 days: no one is dormant yet
    assert invoke("reengage", "--now", "2025-06-01T07:00:00Z")["reengaged"] == 0
    first = invoke("reengage", "--now", AT.isoformat())
    # of the webinar's attendees, Ivan Ivanov (May 2025) and John Smith (March 2025) last
    # bought over 180 days before; Sergey Orlov buys later in October 2026
    assert (first["reengaged"], first["campaigns"], first["failed_campaigns"]) == (2, 1, {})
    assert invoke("reengage", "--now", AT.isoformat())["reengaged"] == 0  # the same week


def test_purchases_and_scores_are_stamped_at_the_given_now(fresh_db: str) -> None:
    from nurture.db.cadence import Purchase
    from nurture.db.scoring import LeadScore

    invoke("import", str(WEBINAR), "--now", "2026-10-02T07:00:00")
    assert invoke("purchases", "import", str(EXAMPLES / "purchases.csv"), "--now", AT.isoformat())[
        "imported"
    ]
    with session_scope() as s:
        taken = set(s.scalars(select(Purchase.created_at)))
    assert {t.astimezone(UTC) if t.tzinfo else t.replace(tzinfo=UTC) for t in taken} == {AT}
    done = invoke("score", "leads", "--now", "2027-01-04T05:00:00Z")
    assert done["scored"] and done["as_of"] == "2027-01-04"  # --as-of: the day of --now
    with session_scope() as s:
        stamps = set(s.scalars(select(LeadScore.scored_at)))
    when = datetime(2027, 1, 4, 5, 0, tzinfo=UTC)
    assert {t.astimezone(UTC) if t.tzinfo else t.replace(tzinfo=UTC) for t in stamps} == {when}
