"""The demo's driver flow on the Prefect harness: the main job over a few simulated days,
everything inside its workspace, and the same numbers on a second run."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest

from nurture.config import get_settings
from nurture.db.session import get_engine
from nurture.demo.workspace import reset
from nurture.flowfiles import load_flow_file


def run_demo(root: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    space = reset(root)
    for key, value in space.environment().items():
        if key.startswith("NURTURE_") and value:
            monkeypatch.setenv(key, value)
    get_settings.cache_clear()
    get_engine.cache_clear()
    try:
        return load_flow_file("demo").nurture_demo(  # type: ignore[no-any-return]
            workspace=str(space.root), start=date(2026, 10, 5), days=6, visitors=30, cdnow=False
        )
    finally:
        get_engine.cache_clear()


def test_the_demo_runs_the_main_job_and_repeats_itself(
    prefect_harness: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = run_demo(tmp_path / "demo", monkeypatch)
    f = first["figures"]
    rows = sum(r["summary"]["rows"] for r in first["intake"])
    assert len(first["intake"]) == 5 and all(r["ok"] for r in first["intake"])
    assert rows == f["rows_created"] + f["rows_merged"] + f["rows_quarantined"]
    assert f["leads"] == f["rows_created"] > 30
    sent = sum(f["emails"].values())
    assert sent == first["send"]["sent"] == first["eml_files"] > 0
    assert f["emails"]["marketing"] > 0 and f["tasks"]["done"] > 0
    assert f["escalation_levels"] > 0 and sum(f["deals"].values()) > 0
    assert first["scoring_runs"] == 1 and 0 < first["scored"] < f["leads"]  # before the list
    root = tmp_path / "demo"
    for name in ("nurture.db", "report.html", "leads-export.csv"):
        assert (root / name).stat().st_size > 0
    assert first["exported"] == f["leads"]

    second = run_demo(root, monkeypatch)  # the same folder, emptied and run again
    assert second["figures"] == f
    assert second["cycle"] == first["cycle"] and second["people"] == first["people"]
