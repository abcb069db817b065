"""The weekly flow publishes the report as Prefect artifacts (a real flow run)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey
from prefect.client.schemas.sorting import ArtifactSort
from sqlalchemy.orm import Session

from nurture.analytics import history
from nurture.db.session import make_engine
from nurture.flowfiles import load_flow_file

ROOT = Path(__file__).resolve().parents[2]


def _flow() -> Any:
    return load_flow_file("weekly_report").weekly_report


def _artifact(key: str) -> Any:
    """The newest artifact under ``key``, read with a client that is closed afterwards
    (Prefect's own ``Artifact.get`` leaves its client's sockets open)."""
    with get_client(sync_client=True) as client:
        found = client.read_artifacts(
            limit=1,
            sort=ArtifactSort.UPDATED_DESC,
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key])),
        )
    return found[0] if found else None


# the flow is a thin wrapper: one backend is enough (the report is tested on both)
@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_weekly_flow_publishes_artifacts(
    fresh_db: str, prefect_harness: None, tmp_path: Path
) -> None:
    planted = history.generate(400, seed=3)
    engine = make_engine(fresh_db)
    with Session(engine) as s, s.begin():
        history.write(s, planted)
    engine.dispose()
    flow = _flow()
    assert flow.name == "weekly-report"
    result = flow(days=200, until=planted.until.isoformat(), html_dir=str(tmp_path))
    assert result["leads"] == 400
    summary = _artifact("analytics-summary")
    assert summary is not None and planted.truth.silent_event in str(summary.data)
    coverage = _artifact("analytics-coverage")
    assert coverage is not None
    rows = coverage.data if isinstance(coverage.data, list) else json.loads(str(coverage.data))
    assert {r["event"] for r in rows} == set(planted.tables["events"]["name"])
    html = tmp_path / f"report-{planted.until.date().isoformat()}.html"
    assert "<svg" in html.read_text(encoding="utf-8")
