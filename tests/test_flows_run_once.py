"""Every deployed flow runs once, for real, on the Prefect test harness and on both databases.

A tiny world: the example team, two example event lists dropped into an inbox, the webinar
and dormant campaigns, the example purchases. Each flow of prefect.yaml is then called the
way its schedule would, in the order of a day, at an explicit ``now`` (a Friday morning in
Moscow, inside the campaigns' send windows), and its summary is checked against what that
world must give.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from nurture.config import PROJECT_ROOT, get_settings
from nurture.db.session import session_scope
from nurture.flowfiles import load_flow_file

EXAMPLES = PROJECT_ROOT / "examples"
#: 2026-10-02 is a Friday: 10:00 in Moscow, the day after the webinar
NOW = "2026-10-02T07:00:00+00:00"
WEBINAR = "webinar-2026-10-01-attendees.csv"
EVENTS = (
    WEBINAR,
    "innoprom-2026-badges.csv",
    "seminar-2026-09-15-signups.xlsx",
    "webform-2026-10.jsonl",
)


@pytest.fixture()
def quick_flow_runs(prefect_harness: None) -> Iterator[None]:
    """No flow-run heartbeats: their thread sleeps in whole seconds, and joining it costs
    every flow run about a second at its end (crashed runs are not what is tested here)."""
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

    with temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
        yield


@cache
def flow_of(entrypoint: str) -> Any:
    """The flow object at ``flows/<file>.py:<name>``, its file loaded once per process."""
    path, _, name = entrypoint.partition(":")
    assert path.startswith("flows/") and path.endswith(".py"), path
    return getattr(load_flow_file(Path(path).stem), name)


def deployed() -> dict[str, str]:
    """Deployment name -> entrypoint, from prefect.yaml."""
    data = yaml.safe_load((PROJECT_ROOT / "prefect.yaml").read_text(encoding="utf-8"))
    return {d["name"]: d["entrypoint"] for d in data["deployments"]}


def seed(inbox: Path) -> None:
    """The team and two campaigns in the database; two event lists in the inbox."""
    from nurture.cadence import read_campaign_file, save_campaign
    from nurture.routing import apply_team_file, load_team_file

    with session_scope() as session:
        apply_team_file(session, load_team_file(EXAMPLES / "team.yaml"))
        for name in ("webinar.yaml", "dormant.yaml"):
            save_campaign(session, read_campaign_file(EXAMPLES / "campaigns" / name))
    inbox.mkdir()
    for name in EVENTS:
        for path in (EXAMPLES / "events").glob(f"{name}*"):  # the list and its .event.yaml
            shutil.copy(path, inbox / path.name)


def webinar_emails(text: str) -> set[str]:
    return {cell for line in text.splitlines() for cell in line.split(",") if "@" in cell}


def import_purchases(folder: Path) -> None:
    """The example purchases, and orders every quarter since 2024 of the leads met at the
    exhibition, the seminar and the web form (half of them stop in mid-2025, so they are
    dormant by now): enough history for the lead-value model, which the examples alone
    are not. The webinar's attendees stay prospects (a buyer is converted, never enrolled)."""
    from sqlalchemy import select

    from nurture.cadence import import_purchases
    from nurture.db.leads import Lead

    examples = EXAMPLES / "purchases.csv"
    buyers = {line.split(",")[0] for line in examples.read_text(encoding="utf-8").splitlines()}
    webinar = (EXAMPLES / "events" / WEBINAR).read_text(encoding="utf-8-sig").lower()
    with session_scope() as session:
        emails = sorted(
            e
            for e in session.scalars(select(Lead.email))
            if e and e not in buyers | webinar_emails(webinar)
        )
    lines = ["email,date,amount,product,quantity,order_id"]
    for i, email in enumerate(emails):
        for month in range(i % 3, 33 if i % 2 else 18, 3):
            day = f"{2024 + month // 12}-{month % 12 + 1:02d}-{10 + i % 15:02d}"
            lines.append(f"{email},{day},{1000 * (i + 1) + 10 * month},Service,1,H-{i}-{month}")
    history = folder / "history.csv"
    history.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with session_scope() as session:
        for path in (examples, history):
            assert import_purchases(session, path).imported > 0


def reengage_again(now: str) -> dict[str, Any]:
    """A second run, without another flow run (the flow adds nothing to the library's)."""
    from nurture.cadence.dormant import run_reengagement
    from nurture.cli_support import parse_now

    with session_scope() as session:
        return run_reengagement(session, now=parse_now(now))


def test_each_deployed_flow_runs_once(
    fresh_db: str, quick_flow_runs: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NURTURE_MODELS_DIR", str(tmp_path / "models"))  # training publishes
    get_settings.cache_clear()
    inbox = tmp_path / "inbox"
    seed(inbox)
    entry = deployed()
    ran: list[str] = []

    def run(name: str, **params: Any) -> Any:
        ran.append(name)
        return flow_of(entry[name])(**params)

    # 1. intake: both lists imported and filed away, the new leads routed
    results = run("intake-inbox", inbox=str(inbox), now=NOW)
    assert sorted(r["file"] for r in results) == sorted(EVENTS)
    assert all(r["ok"] for r in results)
    created = sum(r["summary"]["created"] for r in results)
    assert created > 0
    assert sorted(p.name for p in (inbox / "done").iterdir() if p.suffix != ".yaml") == sorted(
        EVENTS
    )
    import_purchases(tmp_path)

    # 2. re-engagement: the customers silent for 180 days, then (same week) no one again
    again = run("reengage-dormant", now=NOW)
    assert again["campaigns"] == 1 and again["failed_campaigns"] == {}
    assert again["reengaged"] > 0
    assert reengage_again(NOW)["reengaged"] == 0

    # 3. the cycle enrols the webinar's attendees and queues their first e-mail at once
    cycle = run("nurture-cycle", now=NOW)
    assert cycle["failed_campaigns"] == {}
    assert cycle["enrolled"].get("webinar", 0) > 0
    assert cycle["emails_queued"] > 0

    # 4. sending: every queued e-mail lands in the file outbox, once
    sent = run("send-outbox", now=NOW)
    assert sent["sent"] == len(list(get_settings().outbox_dir.glob("*.eml"))) > 0
    assert sent["unknown"] == 0

    # 5. escalations a week on: the re-engagement calls due after 3 days are overdue
    escalated = run("escalations", now="2026-10-09T07:00:00+00:00")
    assert set(escalated) >= {"escalated", "digests", "daily_digests", "fallback_emails"}

    # 6. scoring: training publishes a version into models/, scoring uses it for every lead
    trained = run("train-scorer", now=NOW, n_boot=10)  # few resamples: a test, not a card
    assert (tmp_path / "models" / "lead-value" / trained["version"]).is_dir()
    scored = run("score-leads", now=NOW)
    assert scored["scored"] >= created

    # 7. the next morning, the report of the week before: every lead met
    report = run("weekly-report", now="2026-10-03T07:00:00Z", html_dir=str(tmp_path / "r"))
    assert report["leads"] == created
    assert "analytics-summary" in report["artifacts"]
    assert (tmp_path / "r" / "report-2026-10-03.html").is_file()

    assert set(ran) == set(entry), "every deployment of prefect.yaml runs here"
