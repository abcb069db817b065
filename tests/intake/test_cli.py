"""The command line, as a user runs it (subprocesses for exit codes and stderr)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from conftest import HEADER_RU, ROWS_RU, write_csv

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
