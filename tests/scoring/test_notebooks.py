"""The notebooks draw their charts when run, and their defaults are the ones docs/scoring.md
states (CI runs them at those defaults with `pytest --nbmake notebooks/`; here on a smaller
sample, to look at what they output)."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from nurture.config import PROJECT_ROOT

NOTEBOOKS = sorted((PROJECT_ROOT / "notebooks").glob("1.*.ipynb"))
DOC = " ".join((PROJECT_ROOT / "docs" / "scoring.md").read_text(encoding="utf-8").split())


def _code(path: Path) -> str:
    notebook = nbformat.read(path, as_version=4)
    return "\n".join(c.source for c in notebook.cells if c.cell_type == "code")


def _default(code: str, variable: str) -> str:
    found = re.findall(rf'os\.environ\.get\("{variable}", "([^"]+)"\)', code)
    assert len(found) == 1, f"{variable} default not found once"
    return found[0]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_defaults_match_the_docs(path: Path) -> None:
    code = _code(path)
    customers = int(_default(code, "NURTURE_NB_CUSTOMERS"))
    boot = int(_default(code, "NURTURE_NB_BOOT"))
    assert f"`NURTURE_NB_CUSTOMERS` (default {customers:,}" in DOC
    assert f"`NURTURE_NB_BOOT` (default {boot}" in DOC
    notebook = nbformat.read(path, as_version=4)
    assert f"default {customers:,}" in notebook.cells[0].source  # the notebook's own intro
    assert 'matplotlib.use("Agg")' not in code  # Agg draws nothing a reader can see


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_charts_are_shown_when_run(
    path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NURTURE_NB_CUSTOMERS", "600")
    monkeypatch.setenv("NURTURE_NB_BOOT", "10")
    monkeypatch.setenv("NURTURE_NB_PUBLISH_DIR", str(tmp_path / "models"))
    monkeypatch.setenv("MPLBACKEND", "Agg")  # as on a headless CI machine
    notebook = nbformat.read(path, as_version=4)
    NotebookClient(
        notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": tmp_path}}
    ).execute()
    charts = [
        cell
        for cell in notebook.cells
        if cell.cell_type == "code"
        and any("image/png" in out.get("data", {}) for out in cell.get("outputs", []))
    ]
    plotting = [
        c for c in notebook.cells if c.cell_type == "code" and "calibration_chart(" in c.source
    ]
    assert plotting and all(cell in charts for cell in plotting)
    for cell in notebook.cells:
        for out in cell.get("outputs", []):
            assert out.get("output_type") != "error"
