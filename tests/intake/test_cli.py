"""The command line, as a user runs it (subprocesses for exit codes and stderr)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from intake_support import HEADER_RU, ROWS_RU, write_csv

REPO = Path(__file__).resolve().parents[2]
NURTURE = [sys.executable, "-m", "nurture.cli"]


def run(*args: str, url: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NURTURE_DATABASE_URL": url}
    return subprocess.run(
        [*NURTURE, *args], env=env, cwd=REPO, capture_output=True, text=True, timeout=120
    )


def test_cli_import_json_not_a_lead_list_and_exports(fresh_db: str, tmp_path: Path) -> None:
    junk = tmp_path / "scan.csv"
    junk.write_bytes(os.urandom(2048))
    r = run("import", str(junk), "--event", "Expo", url=fresh_db)
    assert r.returncode == 2
    assert r.stdout == ""
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "scan.csv" in lines[0] and "Traceback" not in r.stderr

    p = write_csv(tmp_path / "expo.csv", HEADER_RU, ROWS_RU, encoding="cp1251", delimiter=";")
    r = run("import", str(p), "--event", "Expo", "--date", "2026-07-07", "--json", url=fresh_db)
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    keys = {"rows", "blank", "created", "merged", "quarantined", "possible_duplicates", "batch_id"}
    assert keys <= set(data)
    assert data["created"] + data["merged"] + data["quarantined"] == data["rows"] == 5


def test_cli_in_process(fresh_db: str, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from nurture.cli import app

    cli = CliRunner()
    p = write_csv(tmp_path / "expo.csv", HEADER_RU, ROWS_RU, encoding="cp1251", delimiter=";")
    r = cli.invoke(app, ["import", str(p), "--event", "Expo"])
    assert r.exit_code == 0 and "3 new leads" in r.output, r.output
    r = cli.invoke(app, ["import", str(p), "--event", "Expo"])
    assert r.exit_code == 0 and "already imported" in r.output
    r = cli.invoke(app, ["quarantine", "list", "--json"])
    assert json.loads(r.output)["count"] == 1
    out = tmp_path / "leads.csv"
    r = cli.invoke(app, ["leads", "export", "--out", str(out)])
    assert r.exit_code == 0 and out.read_bytes().startswith(b"\xef\xbb\xbf")
    qout = tmp_path / "q.csv"
    r = cli.invoke(app, ["quarantine", "export", "--out", str(qout)])
    assert r.exit_code == 0 and "bad@@x" in qout.read_text(encoding="utf-8-sig")
    r = cli.invoke(app, ["leads", "duplicates", "--json"])
    assert r.exit_code == 0 and "count" in json.loads(r.output)
    r = cli.invoke(app, ["import", str(p), "--event", "Expo", "--date", "07.07.2026"])
    assert r.exit_code == 2 and "--date" in r.output
    r = cli.invoke(app, ["import", str(p), "--event", "Expo", "--kind", "party"])
    assert r.exit_code == 2 and "party" in r.output
    r = cli.invoke(app, ["import", str(tmp_path), "--event", "Expo"])  # a folder
    assert r.exit_code == 2 and "is a folder" in r.output and str(tmp_path) in r.output
    r = cli.invoke(app, ["import", str(tmp_path / "gone.csv"), "--event", "Expo"])
    assert r.exit_code == 2 and "gone.csv: no such file" in r.output
    r = cli.invoke(app, ["leads", "unmerge", "999"])
    assert r.exit_code == 2 and "999" in r.output


def test_a_reimport_reports_this_run_and_the_first_import_apart(
    fresh_db: str, tmp_path: Path
) -> None:
    """A re-import used to repeat the first import's counts beside already_imported."""
    p = write_csv(tmp_path / "expo.csv", HEADER_RU, ROWS_RU, encoding="cp1251", delimiter=";")
    first = json.loads(run("import", str(p), "--event", "Expo", "--json", url=fresh_db).stdout)
    assert first["created"] == 3 and first["first_import"] is None
    r = run("import", str(p), "--event", "Expo", "--json", url=fresh_db)
    again = json.loads(r.stdout)
    assert again["already_imported"] is True
    assert (again["created"], again["merged"], again["quarantined"], again["rows"]) == (0, 0, 0, 0)
    assert again["first_import"] == {
        k: first[k]
        for k in ("rows", "blank", "created", "merged", "quarantined", "possible_duplicates")
    } | {"warnings": first["warnings"]}
    r = run("import", str(p), "--event", "Expo", url=fresh_db)
    assert "already imported" in r.stdout
    assert "this run created, merged and quarantined nothing" in r.stdout
    assert "The first import read 5 rows: 3 created, 1 merged, 1 quarantined." in r.stdout


def test_cli_reads_the_event_sidecar_and_flags_win(fresh_db: str, tmp_path: Path) -> None:
    p = write_csv(tmp_path / "badges.csv", HEADER_RU, ROWS_RU)
    (tmp_path / "badges.csv.event.yaml").write_text(
        "name: Иннопром-2026\nkind: seminar\ndate: 2026-07-07\n", encoding="utf-8"
    )
    r = run("import", str(p), "--json", url=fresh_db)
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    from sqlalchemy import create_engine, text

    engine = create_engine(fresh_db)
    with engine.connect() as c:
        event = c.execute(text("select name, kind, event_date from events")).one()
    assert (event.name, event.kind, str(event.event_date)) == (
        "Иннопром-2026",
        "seminar",
        "2026-07-07",
    )
    # flags given on the command line win over the sidecar
    q = write_csv(tmp_path / "other.csv", HEADER_RU, ROWS_RU[:2])
    (tmp_path / "other.csv.event.yaml").write_text("name: Sidecar\nkind: seminar\n")
    r = run("import", str(q), "--event", "Flag", "--kind", "webinar", "--json", url=fresh_db)
    assert r.returncode == 0, r.stderr
    with engine.connect() as c:
        names = set(c.execute(text("select name || ':' || kind from events")).scalars())
    engine.dispose()
    assert "Flag:webinar" in names and "Sidecar:seminar" not in names
    assert data["event_id"] == 1


def test_a_broken_sidecar_is_one_line_naming_the_file_and_field(
    fresh_db: str, tmp_path: Path
) -> None:
    p = write_csv(tmp_path / "b.csv", HEADER_RU, ROWS_RU)
    sidecar = tmp_path / "b.csv.event.yaml"
    for content, field in [
        ("name: X\ndate: 07.07.2026\n", "'date'"),
        ("name: X\nkind: party\n", "'kind'"),
        ("kind: seminar\n", "'name'"),
        ("name: X\nwhen: today\n", "'when'"),
        ("name: [unclosed\n", "not valid YAML"),
    ]:
        sidecar.write_text(content, encoding="utf-8")
        r = run("import", str(p), url=fresh_db)
        lines = r.stderr.strip().splitlines()
        assert r.returncode == 2 and len(lines) == 1, r.stderr
        assert "b.csv.event.yaml" in lines[0] and field in lines[0] and "Traceback" not in r.stderr
    sidecar.unlink()
    r = run("import", str(p), url=fresh_db)  # no sidecar, no --event
    assert r.returncode == 2 and "--event" in r.stderr
