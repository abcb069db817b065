"""The interface scripts rely on: ``playbook load``, ``deal open|show|advance|list``, ``task
list|done``, ``escalate``, ``doc render|approve|send``, ``requests list``, ``lead convert``,
each printing exactly one JSON object with ``--json``; a mistake is one line and exit 2."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select
from typer.testing import CliRunner

from nurture.cli import app
from nurture.config import PROJECT_ROOT
from nurture.db.leads import Lead
from nurture.db.session import make_engine, session_scope
from nurture.db.team import Manager

EXAMPLES = PROJECT_ROOT / "examples"
NOW = "2026-03-25T07:00:00"  # Wednesday 10:00 in Moscow


def run(*args: str, code: int = 0) -> Any:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == code, (result.stdout, result.stderr)
    if code == 2:
        assert result.stderr.startswith("nurture: ") and "Traceback" not in result.stderr
    return result


def js(*args: str) -> Any:
    out = run(*args, "--json").stdout
    assert out.count("\n") == 1  # exactly one JSON object
    return json.loads(out)


def test_the_sales_process_from_the_command_line(cli_db: str, tmp_path: Path) -> None:
    run("team", "load", str(EXAMPLES / "team.yaml"))
    assert js("playbook", "roles", str(EXAMPLES / "playbooks" / "roles" / "sales.yaml"))[
        "roles"
    ] == {
        "engineer": 2,
        "head_of_sales": 1,
    }
    loaded = js("playbook", "load", str(EXAMPLES / "playbooks" / "b2b-sale.yaml"))
    assert loaded == {"name": "b2b-sale", "version": 1, "stages": 6, "created": True}
    assert js("playbook", "load", str(EXAMPLES / "playbooks" / "b2b-sale.yaml"))["version"] == 1
    engine = make_engine(cli_db)
    with session_scope(engine) as s:
        olga = s.scalars(select(Manager.id).where(Manager.email == "olga.petrova@example.ru")).one()
        lead_id = s.execute(
            insert(Lead)
            .values(
                email="anna@client.example",
                first_name="Anna",
                company="ACME",
                owner_id=olga,
                language="en",
            )
            .returning(Lead.id)
        ).scalar_one()
    engine.dispose()
    deal = js("deal", "open", str(lead_id), "--playbook", "b2b-sale", "--now", NOW)
    assert {k: deal[k] for k in ("lead_id", "playbook", "version", "stage")} == {
        "lead_id": lead_id,
        "playbook": "b2b-sale",
        "version": 1,
        "stage": "introduction",
    }
    run("deal", "open", str(lead_id), "--playbook", "nosuch", code=2)
    tasks = js("task", "list", "--lead", str(lead_id))["tasks"]
    assert [t["title"].split(":")[0] for t in tasks] == ["Check the client card"]
    assert {
        "id",
        "lead_id",
        "deal_id",
        "title",
        "instructions",
        "assignee",
        "due_at",
        "hard",
        "status",
    } <= set(tasks[0])
    card = tasks[0]["id"]
    run("task", "done", str(card), "--outcome", "source_ok=maybe", code=2)
    run("task", "done", str(card), "--outcome", "colour=red", code=2)
    done = js("task", "done", str(card), "--outcome", "source_ok=yes", "--now", NOW)
    assert done["status"] == "done" and done["outcome"] == {"source_ok": True}
    run("task", "done", str(card), "--outcome", "source_ok=yes", code=2)
    shown = js("deal", "show", str(deal["id"]), "--now", NOW)
    assert shown["stage"] == "qualification"
    [qualify] = [a for a in shown["open_actions"] if a.get("action") == "qualify"]
    assert qualify["instructions"] and qualify["hard"]
    # nobody calls: four business days later the chain has fired levels 1 and 2
    escalated = js("escalate", "--now", "2026-04-01T08:00:00")
    assert {"escalated", "reminded", "stalled"} <= set(escalated)
    assert escalated["escalated"] == 2 and escalated["reassigned"] == 1
    timeline = js("deal", "show", str(deal["id"]))["timeline"]
    assert [e["level"] for e in timeline if "escalat" in e["type"]] == [1, 2]
    assert js("deal", "list")["count"] == 1
    assert js("deal", "list", "--stalled", "--now", NOW)["count"] == 0
    assert js("requests", "list", "--failed") == {"requests": [], "count": 0}
    notes = js("doc", "render", str(deal["id"]), "meeting_notes", "--out", str(tmp_path / "n.pdf"))
    assert notes["status"] == "approved" and (tmp_path / "n.pdf").read_bytes()[:5] == b"%PDF-"
    run("doc", "send", str(notes["id"]), code=2)  # internal: never sent
    run("doc", "render", str(deal["id"]), "proposal", code=2)  # no price yet: one clear line
    moved = js("deal", "advance", str(deal["id"]), "--to", "sale", "--reason", "fast track")
    assert moved["stage"] == "sale"
    run("deal", "advance", str(deal["id"]), "--to", "nowhere", code=2)
    converted = js("lead", "convert", str(lead_id), "--amount", "100000", "--now", NOW)
    assert converted["settled_deals"] == [deal["id"]]
    assert js("task", "list", "--lead", str(lead_id))["tasks"] == []
    assert js("deal", "show", str(deal["id"]))["status"] == "won"


def test_validate_lists_every_problem_and_exits_2(cli_db: str, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    text = (EXAMPLES / "playbooks" / "event-invitation.yaml").read_text()
    bad.write_text(
        text.replace("to: attend,", "to: atend,").replace("system/event-thanks", "system/nope")
    )
    out = run("playbook", "validate", str(bad), "--json", code=2)
    problems = json.loads(out.stdout)["files"][0]["problems"]
    assert len(problems) == 4 and all(p["line"] for p in problems)  # 2 now unreachable
    result = run("playbook", "load", str(bad), code=2)
    lines = result.stderr.splitlines()
    assert len(lines) == 4 and "no stage 'atend'" in lines[0] and "(4 problems)" in lines[0]
    assert any("unknown template 'system/nope'" in line for line in lines)
    assert js("playbook", "validate", str(EXAMPLES / "playbooks" / "event-invitation.yaml"))[
        "valid"
    ]
