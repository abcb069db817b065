"""The cadence commands end to end on a fresh database (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import insert
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from nurture.cli import app
from nurture.config import PROJECT_ROOT
from nurture.db.leads import Event, ImportBatch, Lead, LeadSource
from nurture.db.session import make_engine

runner = CliRunner()
PURCHASES = str(PROJECT_ROOT / "examples" / "purchases.csv")
CAMPAIGNS = sorted(str(p) for p in (PROJECT_ROOT / "examples" / "campaigns").glob("*.yaml"))


def invoke(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def seed(url: str) -> list[int]:
    engine = make_engine(url)
    with Session(engine) as s, s.begin():
        ev = Event(key="exhibition:expo", name="Expo", kind="exhibition")
        s.add(ev)
        s.flush()
        batch = ImportBatch(file_name="e.csv", file_sha256="e" * 64, event_id=ev.id)
        s.add(batch)
        s.flush()
        ids = list(
            s.scalars(
                insert(Lead).returning(Lead.id),
                [
                    {"email": "ivan.ivanov@romashka.ru", "city": "Kazan", "country": "RU"},
                    {"email": "a.petrova@uralmash.ru", "city": "Omsk", "country": "RU"},
                ],
            )
        )
        for i, lead_id in enumerate(ids):
            s.add(
                LeadSource(
                    lead_id=lead_id,
                    event_id=ev.id,
                    batch_id=batch.id,
                    row_number=i + 2,
                    file_name="e.csv",
                    outcome="created",
                )
            )
    engine.dispose()
    return ids


def test_commands_end_to_end(fresh_db: str, tmp_path: Path) -> None:
    code, out, _ = invoke("campaign", "load", *CAMPAIGNS, "--json")
    assert code == 0, out
    assert {c["slug"] for c in json.loads(out)["loaded"]} == {
        "exhibition",
        "seminar",
        "webinar",
        "dormant",
    }
    code, out, _ = invoke("campaign", "list", "--json")
    assert code == 0 and len(json.loads(out)["campaigns"]) == 4

    ids = seed(fresh_db)
    now = "2026-03-25T05:00:00"
    code, out, _ = invoke("run", "--now", now, "--json")
    assert code == 0, out
    first = json.loads(out)
    assert first["enrolled"] == {"exhibition": 2} and first["emails_queued"] == 2
    code, out, _ = invoke("run", "--now", now, "--json")
    again = json.loads(out)
    assert again["planned"] == again["emails_queued"] == sum(again["enrolled"].values()) == 0

    code, out, _ = invoke(
        "campaign", "enroll", "seminar", "--where", "city in ('Kazan','Moscow')", "--json"
    )
    assert code == 0 and json.loads(out)["enrolled"] == 1
    code, _out, err = invoke("campaign", "enroll", "seminar", "--where", "city = ")
    assert code == 2 and err.startswith("nurture: ") and "\n" not in err.strip()
    code, _out, err = invoke("campaign", "enroll", "nope", "--where", "city = 'X'")
    assert code == 2 and err.strip() == "nurture: no campaign 'nope' (see `nurture campaign list`)"

    code, out, _ = invoke(
        "purchases", "import", str(PROJECT_ROOT / "examples/purchases.csv"), "--json"
    )
    assert code == 0, out
    imported = json.loads(out)
    assert imported["imported"] == 3 and imported["leads_converted"] == 2
    code, out, _ = invoke(
        "purchases", "import", str(PROJECT_ROOT / "examples/purchases.csv"), "--json"
    )
    assert json.loads(out)["imported"] == 0

    code, out, _ = invoke("coverage", "--now", now, "--json")
    assert code == 0
    cov = json.loads(out)
    for key in ("open_leads", "first_touch_24h_share", "next_step_share", "untouched_over_30d"):
        assert key in cov
    assert 0 <= cov["next_step_share"] <= 1 and isinstance(cov["untouched_over_30d"], list)
    assert ids


def test_bad_campaign_file_is_one_line(fresh_db: str, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("slug: x\nname: X\nsteps:\n  - {name: a, day: 0, channel: pigeon}\n")
    code, out, err = invoke("campaign", "load", str(bad), CAMPAIGNS[0])
    assert code == 2
    assert err.strip() == (
        f"nurture: {bad} line 4: steps.0.channel: Input should be 'email', 'call' or 'reminder'"
    )
    assert "created" in out  # the good file still loaded


@pytest.mark.slow
def test_simulate_prints_a_day_by_day_table(tmp_path: Path) -> None:
    code, out, _ = invoke(
        "simulate", "--start", "2026-03-23", "--days", "3", "--leads", "24", "--json"
    )
    assert code == 0, out
    doc = json.loads(out)
    assert [d["day"] for d in doc["days"]] == ["2026-03-23", "2026-03-24", "2026-03-25"]
    assert doc["leads"] > 0
    code, out, _ = invoke("simulate", "--start", "2026-03-23", "--days", "2", "--leads", "24")
    assert code == 0 and "2026-03-24" in out


@pytest.mark.slow
def test_bench_smoke(tmp_path: Path) -> None:
    proc = subprocess.run(
        [
            sys.executable,
            str(PROJECT_ROOT / "bench" / "cycle.py"),
            "--rows",
            "300",
            "--backend",
            "sqlite",
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout.strip().splitlines()[-1])
    [row] = doc["rows"]
    assert row["rows"] == 300 and row["due_rows"] > 0 and row["ratio_plan"] > 0


def test_a_file_with_several_problems_lists_them_all(fresh_db: str, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "slug: x\nname: X\npriority: high\nsteps:\n"
        "  - {name: a, day: 0, channel: pigeon}\n"
        "  - {name: b, day: 1, channel: call, deadline: soon}\n"
    )
    code, _out, err = invoke("campaign", "load", str(bad), CAMPAIGNS[0], "--json")
    assert code == 2
    doc = json.loads(_out)
    assert [e.split(":")[0] for e in doc["errors"]] == [
        f"{bad} line 3",
        f"{bad} line 5",
        f"{bad} line 6",
    ]
    assert [row["slug"] for row in doc["loaded"]] == ["dormant"]  # the good file loaded
    code, _out, err = invoke("campaign", "load", str(bad))
    assert code == 2 and len(err.strip().splitlines()) == 3
    assert all(line.startswith(f"nurture: {bad} line ") for line in err.strip().splitlines())


def test_user_mistakes_name_the_option(tmp_path: Path) -> None:
    """Issue 20 item 2: an option's bad value is named as the option, not as a column."""
    code, _out, err = invoke("simulate", "--start", "bad", "--days", "2")
    assert (code, err) == (2, "nurture: --start 'bad' is not a date: use YYYY-MM-DD\n")
    code, _out, err = invoke("simulate", "--start", "2026-03-23", "--days", "2", "--step", "0d")
    assert (code, err) == (2, "nurture: --step '0d' is not a duration: use e.g. 1d or 6h\n")


def test_coverage_with_no_lead_a_day_old_says_n_a(fresh_db: str) -> None:
    """Issue 20 item 6: not "100.0% (of 0 older than a day)"."""
    seed(fresh_db)  # two leads created just now
    code, out, _ = invoke("coverage")
    assert code == 0
    assert "first touch within 24 h:   n/a (no lead is a day old yet)" in out
    assert "100.0% (of 0" not in out
    code, out, _ = invoke("coverage", "--json")
    assert json.loads(out)["first_touch_24h_share"] is None
    code, out, _ = invoke("coverage", "--now", "2099-01-01T00:00:00")
    assert "first touch within 24 h:   0.0% (of 2 leads older than a day)" in out


def test_simulate_refuses_what_it_cannot_simulate_in(fresh_db: str, tmp_path: Path) -> None:
    """A bad --campaigns or --database is one line (they were tracebacks), and a database
    with leads is never written to by the simulation."""
    args = ("simulate", "--start", "2026-03-23", "--days", "1", "--leads", "12")
    code, _out, err = invoke(*args, "--campaigns", str(tmp_path / "none"))
    assert code == 2 and "is not a folder of campaign files" in err
    code, _out, err = invoke(*args, "--database", "not a url")
    assert (code, err) == (2, "nurture: --database is not a database URL (e.g. sqlite:///sim.db)\n")
    seed(fresh_db)
    code, _out, err = invoke(*args, "--database", fresh_db)
    assert code == 2 and err.endswith("holds 2 leads: simulate needs an empty one\n"), err
    assert "\n" not in err.strip()
