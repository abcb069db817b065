"""The mail commands, end to end on the configured database (file outbox)."""

from __future__ import annotations

import email
import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from email import policy
from pathlib import Path

import pytest
from mail_support import add_leads, queue_messages
from sqlalchemy import select
from typer.testing import CliRunner

from nurture.cli import app
from nurture.config import PROJECT_ROOT, get_settings
from nurture.db.mail import OutboxMessage
from nurture.db.session import session_scope

runner = CliRunner()


def _run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_send_suppress_and_outbox_commands(fresh_db: str, tmp_path: Path) -> None:
    emails = ["a@example.com", "b@example.com", "c@example.com"]
    with session_scope() as s:
        ids = add_leads(s, emails)
        queue_messages(s, ids, emails)
    code, out, _ = _run("suppress", "add", "B@example.com", "--campaign", "sample")
    assert code == 0 and "b@example.com" in out
    listing = tmp_path / "list.csv"
    listing.write_text("email,campaign,reason\nc@example.com,,complaint\n")
    code, out, _ = _run("suppress", "import", str(listing), "--json")
    assert code == 0 and json.loads(out)["new"] == 1
    code, out, _ = _run("suppress", "list", "--json")
    assert {(r["email"], r["scope"]) for r in json.loads(out)["suppressions"]} == {
        ("b@example.com", "sample"),
        ("c@example.com", "*"),
    }
    code, out, _ = _run("send", "--limit", "10", "--json")
    summary = json.loads(out)
    assert code == 0 and (summary["sent"], summary["suppressed"]) == (1, 2)
    files = sorted(Path(get_settings().outbox_dir).glob("*.eml"))
    assert [f.name for f in files] == [f"touch.{ids[0]}.sample.1.0.eml"]
    msg = email.message_from_bytes(files[0].read_bytes(), policy=policy.default)
    assert msg["To"] == "a@example.com" and msg["List-Unsubscribe-Post"]
    code, out, _ = _run("send")  # nothing twice
    assert code == 0 and out.startswith("sent 0")
    code, out, _ = _run("outbox", "status", "--json")
    status = json.loads(out)
    assert status["counts"] == {"sent": 1, "suppressed": 2} and status["due"] == 0
    assert status["server"]["transport"] == "files" and status["server"]["reachable"]
    code, _, err = _run("suppress", "add", "not-an-address")
    assert code == 2 and "not an e-mail address" in err


def test_send_now_sends_what_is_due_by_then(fresh_db: str) -> None:
    """`nurture send --now T` (issue 22: every time-dependent command takes --now)."""
    t0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    emails = ["n1@example.com", "n2@example.com"]
    with session_scope() as s:
        ids = add_leads(s, emails)
        queue_messages(s, ids, emails, due=t0 + timedelta(hours=1))
    code, out, err = _run("send", "--json", "--now", t0.isoformat())
    assert code == 0 and json.loads(out)["claimed"] == 0, err
    code, out, _ = _run("outbox", "status", "--json", "--now", "2026-03-02T10:00:00")  # naive: UTC
    assert json.loads(out)["due"] == 2
    code, out, err = _run("send", "--json", "--now", "2026-03-02T11:00:00+00:00")
    assert code == 0 and json.loads(out)["sent"] == 2, err
    with session_scope() as s:
        for row in s.scalars(select(OutboxMessage)):
            assert row.sent_at is not None
            assert t0 + timedelta(hours=2) <= row.sent_at < t0 + timedelta(hours=2, minutes=5)
    code, _, err = _run("send", "--now", "yesterday")
    assert code == 2 and "yesterday" in err


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_template_preview_and_check(fresh_db: str, tmp_path: Path) -> None:
    with session_scope() as s:
        (lead_id,) = add_leads(s, ["ivan@example.ru"], language="ru", first_name="Иван")
    out_file = tmp_path / "p.eml"
    code, out, err = _run(
        "template", "preview", "sample/welcome", "--lead", str(lead_id), "--out", str(out_file)
    )
    assert code == 0, err
    msg = email.message_from_bytes(out_file.read_bytes(), policy=policy.default)
    assert msg["Subject"].startswith("Иван")
    code, _, err = _run("template", "preview", "sample/welcome", "--lead", "999", "--out", "x")
    assert code != 0 and "999" in err
    code, out, _ = _run("template", "check", "--json")
    report = json.loads(out)
    assert report["checked"] >= 6
    assert code == (1 if report["errors"] else 0)


def test_template_check_exit_code_on_errors(tmp_path: Path, monkeypatch) -> None:
    root = tmp_path / "templates"
    (root / "email" / "c").mkdir(parents=True)
    for base in ("base.html", "base.txt"):
        (root / "email" / base).write_text((PROJECT_ROOT / "templates/email" / base).read_text())
    (root / "email" / "c" / "s.en.txt").write_text(
        '{% extends "email/base.txt" %}{% block subject %}{{ oops }}{% endblock %}'
    )
    (root / "email" / "c" / "s.en.html").write_text('{% extends "email/base.html" %}')
    monkeypatch.setenv("NURTURE_TEMPLATES_DIR", str(root))
    get_settings.cache_clear()
    code, out, err = _run("template", "check")
    assert code == 1
    assert "s.en.txt:1: UndefinedError" in err and "'oops' is undefined" in err
    assert "2 templates checked" in out


def test_bounces_import_command(fresh_db: str, tmp_path: Path) -> None:
    with session_scope() as s:
        add_leads(s, ["gone@example.com"])
    f = tmp_path / "b.csv"
    f.write_text("email,type\ngone@example.com,hard\n")
    code, out, _ = _run("bounces", "import", str(f), "--json")
    assert code == 0 and json.loads(out)["leads_marked_undeliverable"] == 1
    code, _, err = _run("bounces", "import", str(tmp_path / "missing.csv"))
    assert code == 2 and "missing.csv" in err


@pytest.mark.slow
def test_bench_smoke() -> None:
    """The benchmark runs (tiny size, no timing assertion) so it cannot rot."""
    done = subprocess.run(
        [sys.executable, str(PROJECT_ROOT / "bench" / "send.py"), "--rows", "40", "--json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["rows"][1]["msgs_per_s"] > 0 and "warning" not in done.stderr
