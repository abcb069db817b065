"""The demo's workspace: emptied only when it is one, and everything in it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from nurture.demo.workspace import MARKER, Workspace, reset
from nurture.errors import InputError


def test_reset_empties_a_demo_workspace_and_refuses_any_other_folder(tmp_path: Path) -> None:
    space = reset(tmp_path / "demo")
    (space.outbox / "old.eml").write_text("x", encoding="utf-8")
    again = reset(tmp_path / "demo")
    assert (again.root / MARKER).exists() and not any(again.outbox.iterdir())
    precious = tmp_path / "work"
    precious.mkdir()
    (precious / "thesis.txt").write_text("keep me", encoding="utf-8")
    with pytest.raises(InputError, match="not a demo workspace"):
        reset(precious)
    assert (precious / "thesis.txt").read_text(encoding="utf-8") == "keep me"


def test_its_settings_point_everything_inside_the_workspace(tmp_path: Path) -> None:
    space = Workspace(tmp_path / "demo")
    env = space.environment()
    assert env["NURTURE_DATABASE_URL"] == f"sqlite:///{tmp_path / 'demo' / 'nurture.db'}"
    for key in ("NURTURE_OUTBOX_DIR", "PREFECT_HOME"):
        assert Path(env[key]).is_relative_to(tmp_path / "demo")


def test_a_bad_day_count_is_one_clear_line_and_exit_2(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "nurture.demo", "--days", "0", "--workspace", str(tmp_path)],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip() == "python -m nurture.demo: --days must be at least 1"
