"""``nurture report`` end to end on a fresh database (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from sqlalchemy.orm import Session
from typer.testing import CliRunner

from nurture.analytics import history
from nurture.analytics.report import REPORT_KEYS
from nurture.cli import app
from nurture.db.session import make_engine

runner = CliRunner()


def invoke(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def seeded(url: str) -> history.History:
    planted = history.generate(600, seed=5)
    engine = make_engine(url)
    with Session(engine) as s, s.begin():
        history.write(s, planted)
    engine.dispose()
    return planted


def test_json_and_html(fresh_db: str, tmp_path: Path) -> None:
    planted = seeded(fresh_db)
    since, until = planted.start.date().isoformat(), planted.until.date().isoformat()
    out = tmp_path / "report.html"
    code, stdout, stderr = invoke(
        "report", "--since", since, "--until", until, "--json", "--html", str(out), "--lang", "ru"
    )
    assert code == 0, stderr
    report = json.loads(stdout)  # exactly one JSON document
    assert set(REPORT_KEYS) <= set(report)
    assert report["leads"] == 600
    for pattern in report["sequences"]["patterns"]:
        assert set(pattern) >= {"steps", "support", "conversion", "lift", "ci_low", "ci_high"}
    page = out.read_text(encoding="utf-8")
    assert page.count("<svg") == 8
    assert "Аналитика продаж" in page and planted.truth.silent_event in page
    # self-contained: nothing is fetched (SVG namespaces are names, not requests)
    fetched = re.findall(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", page)
    assert fetched == [] and "<script" not in page and "@import" not in page


def test_text_summary_names_what_needs_attention(fresh_db: str) -> None:
    planted = seeded(fresh_db)
    code, stdout, stderr = invoke("report", "--now", planted.until.isoformat())
    assert code == 0, stderr
    assert f"below industry: {planted.truth.silent_event}" in stdout
    assert f"most overdue: {planted.truth.late_manager}" in stdout


def test_an_empty_period_is_a_report_of_nothing(fresh_db: str, tmp_path: Path) -> None:
    out = tmp_path / "empty.html"
    code, stdout, stderr = invoke("report", "--json", "--html", str(out))
    assert code == 0, stderr
    report = json.loads(stdout)
    assert report["leads"] == 0 and report["sequences"]["patterns"] == []
    assert report["coverage"]["events"] == [] and report["revenue"]["total"] == 0
    assert out.read_text(encoding="utf-8").count("<svg") == 7  # no deals: no deal chart


def test_bad_input_is_one_line_and_exit_2(fresh_db: str, tmp_path: Path) -> None:
    for args, needle in [
        (["--since", "2026-13-01"], "--since '2026-13-01' is not a date"),
        (["--since", "2026-05-01", "--until", "2026-04-01"], "is not before --until"),
        (["--lang", "de"], "--lang 'de'"),
        (["--html", str(tmp_path / "missing" / "r.html")], "cannot write"),
    ]:
        code, stdout, stderr = invoke("report", *args)
        assert code == 2, (args, stdout, stderr)
        assert stderr.startswith("nurture: ") and needle in stderr
        assert len(stderr.strip().splitlines()) == 1 and "Traceback" not in stderr
