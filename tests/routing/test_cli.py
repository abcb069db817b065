"""The ``nurture team`` and ``nurture leads show`` commands against a real database."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlalchemy import insert
from typer.testing import CliRunner

from nurture.cli import app
from nurture.db import Lead
from nurture.db.session import make_engine, session_scope

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "team.yaml"
NOW = "2026-11-25T07:00:00"  # Wednesday 10:00 in Moscow


def run(*args: str, code: int = 0) -> Any:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == code, (result.stdout, result.stderr)
    return result


def test_team_workflow(fresh_db: str) -> None:
    first = json.loads(run("team", "load", str(EXAMPLE), "--json").stdout)
    again = json.loads(run("team", "load", str(EXAMPLE), "--json").stdout)
    assert first["created"] == 11 and again["created"] == 0 and again["absences_added"] == 0
    engine = make_engine(fresh_db)
    with session_scope(engine) as s:
        s.execute(
            insert(Lead),
            [{"email": f"m{i}@example.ru", "city": "Москва"} for i in range(30)]
            + [{"email": f"s{i}@example.ru", "city": "Санкт-Петербург"} for i in range(5)]
            + [{"email": "k@gazprom.ru", "city": "Казань", "company": "Газпром"}],
        )
    engine.dispose()
    routed = json.loads(run("team", "route", "--now", NOW, "--json").stdout)
    assert routed["assigned"] == 36 and routed["unassigned"] == 0
    assert "ekaterina.orlova@example.ru" not in routed["by_manager"]  # on leave
    report = json.loads(run("team", "report", "--now", NOW, "--json").stdout)
    assert report["unassigned"] == 0
    rows = {m["email"]: m for m in report["managers"]}
    assert {"email", "weight", "assigned", "expected"} <= set(rows["olga.petrova@example.ru"])
    assert report["max_deviation"] < 1.0
    # Olga (weight 2) and Dmitry (weight 1) share the 30 Moscow leads 2:1
    assert rows["olga.petrova@example.ru"]["assigned"] == 20
    assert rows["dmitry.volkov@example.ru"]["assigned"] == 10
    text = run("team", "report", "--now", NOW).stdout
    assert "absent until 2027-08-31" in text
    shown = json.loads(run("lead", "show", "36", "--json").stdout)
    assert shown["assignments"][0]["reason"].startswith('rule "Key accounts" -> Olga Petrova')
    assert "Olga Petrova" in run("lead", "show", "36").stdout
    absent = run(
        "team", "absent", "dmitry.volkov@example.ru", "--from", "2026-11-25", "--to", "2026-11-27"
    )
    assert "recorded" in absent.stdout
    moved = json.loads(run("team", "rebalance", "--now", NOW, "--json").stdout)
    assert moved["rebalanced"] == 10 and moved["by_manager"] == {"olga.petrova@example.ru": 10}


def test_clear_errors(fresh_db: str, tmp_path: Path) -> None:
    bad = tmp_path / "team.yaml"
    bad.write_text(
        EXAMPLE.read_text().replace(
            "weight: 1.5\n        languages: [ru]\n", "weight: heavy\n        languages: [ru]\n"
        )
    )
    result = run("team", "load", str(bad), code=2)
    assert result.stderr.startswith("nurture: team.yaml line 45: teams[1].managers[0].weight")
    assert "Traceback" not in result.stderr
    # a name or id the user typed that is not there is their mistake: one line, exit 2
    result = run(
        "team", "absent", "nobody@example.ru", "--from", "2026-12-01", "--to", "2026-12-02", code=2
    )
    assert result.stderr == (
        "nurture: no manager with e-mail 'nobody@example.ru' (load the team file first)\n"
    )
    result = run(
        "team", "absent", "x@example.ru", "--from", "tomorrow", "--to", "2026-12-02", code=2
    )
    assert result.stderr == "nurture: --from 'tomorrow' is not a date: use YYYY-MM-DD\n"
    result = run(
        "team", "absent", "x@example.ru", "--from", "2026-12-02", "--to", "2026-12-01", code=2
    )
    assert result.stderr == "nurture: --to 2026-12-01 is before --from 2026-12-02\n"
    assert "no lead with id 999" in run("leads", "show", "999", code=2).stderr


def test_a_team_file_with_several_problems_lists_them_all(fresh_db: str, tmp_path: Path) -> None:
    bad = tmp_path / "team.yaml"
    bad.write_text(
        EXAMPLE.read_text()
        .replace("weight: 2 ", "weight: -2 ")
        .replace("timezone: Europe/London", "timezone: Europe/Londn")
        .replace("    team: Moscow\n  - name: Moscow\n", "    team: Moskow\n  - name: Moscow\n")
    )
    result = run("team", "load", str(bad), code=2)
    lines = result.stderr.splitlines()
    assert len(lines) == 2, lines  # the rule's team is checked once the fields are right
    assert lines[0].startswith("nurture: team.yaml line 21: teams[0].managers[0].weight: ")
    assert lines[1].startswith("nurture: team.yaml line 52: teams[1].managers[1].timezone: ")
    fixed = bad.read_text().replace("weight: -2 ", "weight: 2 ").replace("Londn", "London")
    bad.write_text(fixed.replace("email: emily.clark", "email: olga.petrova@example.ru\n#"))
    lines = run("team", "load", str(bad), code=2).stderr.splitlines()
    assert lines == [
        "nurture: team.yaml line 49: teams[1].managers[1].email: olga.petrova@example.ru "
        "appears twice (first at teams[0].managers[0].email)",
        "nurture: team.yaml line 85: rules[1].team: team 'Moskow' is not defined in teams",
    ]
