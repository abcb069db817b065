"""The Prefect flow is thin: its task runs the library cycle in its own transaction."""

from __future__ import annotations

import pytest

from nurture.flowfiles import load_flow_file


@pytest.mark.slow
def test_flow_task_runs_one_idempotent_cycle(fresh_db: str) -> None:
    flow = load_flow_file("nurture_cycle")
    assert flow.nurture_cycle.name == "nurture-cycle"
    first = flow.run_one_cycle.fn("2026-03-25T05:00:00")
    second = flow.run_one_cycle.fn("2026-03-25T05:00:00")
    assert first["now"] == second["now"] == "2026-03-25T05:00:00+00:00"
    assert second["planned"] == second["emails_queued"] == 0
    from nurture.cadence.cycle import summary_markdown

    assert "| open leads | 0 |" in summary_markdown(first)
