"""The analytics notebook is committed with its charts, so they show when it is opened
(CI also runs it: `pytest --nbmake notebooks`)."""

from __future__ import annotations

import nbformat

from nurture.config import PROJECT_ROOT

NOTEBOOK = PROJECT_ROOT / "notebooks" / "2.0-campaign-analytics.ipynb"


def test_every_chart_cell_has_its_picture() -> None:
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    code = [c for c in notebook.cells if c.cell_type == "code"]
    charts = [c for c in code if c.source.startswith("draw(")]
    assert len(charts) >= 7
    for cell in charts:
        kinds = {k for out in cell.get("outputs", []) for k in out.get("data", {})}
        assert "image/png" in kinds, cell.source
    assert not any(out.get("output_type") == "error" for c in code for out in c.get("outputs", []))
    assert 'matplotlib.use("Agg")' not in "\n".join(c.source for c in code)
