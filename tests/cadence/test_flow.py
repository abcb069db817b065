"""The Prefect flow is thin: its task runs the library cycle in its own transaction."""

from __future__ import annotations

import importlib.util
from types import ModuleType

import pytest

from nurture.config import PROJECT_ROOT


def load_flow() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "nurture_cycle_flow", PROJECT_ROOT / "flows" / "nurture_cycle.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_flow_task_runs_one_idempotent_cycle(fresh_db: str) -> None:
    flow = load_flow()
    assert flow.nurture_cycle.name == "nurture-cycle"
    first = flow.run_one_cycle.fn("2026-03-25T05:00:00")
    second = flow.run_one_cycle.fn("2026-03-25T05:00:00")
    assert first["now"] == second["now"] == "2026-03-25T05:00:00+00:00"
    assert second["planned"] == second["emails_queued"] == 0
    from nurture.cadence.cycle import summary_markdown

    assert "| open leads | 0 |" in summary_markdown(first)
