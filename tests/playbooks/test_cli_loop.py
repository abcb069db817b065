"""``nurture task ...`` and ``nurture leads reply|convert|lose|close|show``: one JSON object
with ``--json``, one line on stderr and exit 2 for a user's mistake."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import insert, select
from typer.testing import CliRunner

from nurture.cli import app
from nurture.config import PROJECT_ROOT
from nurture.db.cadence import Task
from nurture.db.leads import Lead
from nurture.db.session import make_engine, session_scope
from nurture.db.sql import TASK_INSERT_COLUMNS
from nurture.db.team import Manager

NOW = "2026-03-25T07:00:00"


def run(*args: str, code: int = 0) -> Any:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == code, (result.stdout, result.stderr)
    if code == 2:
        assert result.stderr.startswith("nurture: ") and result.stderr.count("\n") == 1
        assert "Traceback" not in result.stderr
    return result


def js(*args: str) -> Any:
    return json.loads(run(*args, "--json").stdout)


def _seed(url: str) -> tuple[int, list[int]]:
    engine = make_engine(url)
    with session_scope(engine) as s:
        olga = s.scalars(select(Manager).where(Manager.email == "olga.petrova@example.ru")).one()
        lead_id = s.execute(
            insert(Lead)
            .values(email="anna@client.example", first_name="Anna", owner_id=olga.id)
            .returning(Lead.id)
        ).scalar_one()
        rows = [
            [
                f"t.{i}",
                lead_id,
                olga.id,
                "call",
                f"Call {i}",
                "Ask",
                f"2026-03-2{4 + i}T07:00:00+00:00",
            ]
            for i in range(2)
        ]
        ids = []
        for key, lid, mid, kind, title, instr, due in rows:
            from datetime import datetime

            values = [
                key,
                lid,
                mid,
                kind,
                title,
                instr,
                datetime.fromisoformat(due),
                "hard",
                "open",
            ]
            values.append(datetime.fromisoformat("2026-03-20T07:00:00+00:00"))
            ids.append(
                s.execute(
                    insert(Task)
                    .values(dict(zip(TASK_INSERT_COLUMNS, values, strict=True)))
                    .returning(Task.id)
                ).scalar_one()
            )
    engine.dispose()
    return lead_id, ids


def test_the_managers_loop_from_the_command_line(cli_db: str) -> None:
    run("team", "load", str(PROJECT_ROOT / "examples" / "team.yaml"))
    lead_id, (late, later) = _seed(cli_db)
    listed = js("task", "list", "--assignee", "olga.petrova@example.ru", "--now", NOW)
    assert [t["id"] for t in listed["tasks"]] == [late, later]
    first = listed["tasks"][0]
    assert {"id", "lead_id", "deal_id", "title", "instructions", "assignee", "due_at"} <= set(first)
    assert first["hard"] is True and first["status"] == "open" and first["lead_id"] == lead_id
    overdue = js("task", "list", "--overdue", "--now", NOW)
    assert [t["id"] for t in overdue["tasks"]] == [late]
    done = js("task", "done", str(late), "--outcome", "reached=yes", "--note", "ok", "--now", NOW)
    assert done["status"] == "done" and done["outcome"] == {"reached": True}
    again = run("task", "done", str(late), "--outcome", "reached=yes", "--json", code=2)
    assert f"task {late} is already done" in again.stderr and again.stdout == ""
    run("task", "done", str(later), "--outcome", "noequals", code=2)
    run("task", "reassign", str(later), "--to", "ghost@example.ru", code=2)
    run("task", "reschedule", str(later), "--to", "soon", "--reason", "x", code=2)
    moved = js(
        "task",
        "reschedule",
        str(later),
        "--to",
        "2026-04-01T09:00:00",
        "--reason",
        "asked",
        "--now",
        NOW,
    )
    assert moved["due_at"] == "2026-04-01T09:00:00+00:00"
    given = js("task", "reassign", str(later), "--to", "dmitry.volkov@example.ru", "--now", NOW)
    assert given["assignee"] == "dmitry.volkov@example.ru"
    replied = run("leads", "reply", str(lead_id), "--note", "hi", "--at", NOW)
    assert "reply recorded" in replied.stdout
    converted = js("lead", "convert", str(lead_id), "--amount", "99000", "--now", NOW)
    assert converted["status"] == "converted" and converted["cancelled_tasks"] == [later]
    assert js("task", "list", "--lead", str(lead_id))["tasks"] == []
    everything = js("task", "list", "--lead", str(lead_id), "--all")["tasks"]
    assert [t["status"] for t in everything] == ["done", "cancelled"]
    run("lead", "convert", str(lead_id), code=2)
    run("lead", "lose", str(lead_id), "--reason", "x", code=2)
    shown = js("leads", "show", str(lead_id))
    assert shown["lead"]["status"] == "converted" and "name_key" not in shown["lead"]
    types = [e["type"] for e in shown["story"]]
    assert types.index("task.done") < types.index("lead.replied") < types.index("lead.converted")
    assert "task.reassigned" in types and "task.rescheduled" in types
    text = run("lead", "show", str(lead_id)).stdout
    assert "story:" in text and "converted" in text
    assert "no lead with id 999" in run("leads", "show", "999", code=2).stderr
    assert "no task with id 999" in run("task", "done", "999", code=2).stderr
